#!/usr/bin/env python3
"""Validate natural_ninth.jsonl against the catalog (standard library only).

Usage:  python3 verify_ninth.py [rows.jsonl]

Default rows file: natural_ninth.jsonl beside this script.
Catalog: ../catalog.json relative to this script.
Exit status 0 when every row is valid, 1 otherwise (each problem is printed
with its row id).
"""
import json
import os
import re
import sys
import unicodedata
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
CATALOG_PATH = os.path.join(HERE, '..', 'catalog.json')
DEFAULT_ROWS = os.path.join(HERE, 'natural_ninth.jsonl')

KEYS = ['id', 'question', 'expected_answer', 'expected_facts', 'expect_refusal',
        'category', 'kind', 'difficulty', 'app_name', 'app_id', 'persona']
CATEGORIES = {
    'status', 'full_name', 'identifier', 'scope', 'family', 'domains', 'description',
    'contacts', 'websites', 'actors', 'production_date', 'creation_date',
    'shutdown_date', 'version', 'related_apps', 'related_data', 'technology',
    'hosting', 'users', 'functions', 'listing', 'count', 'comparison',
    'out_of_catalog', 'off_topic', 'injection'}
KINDS = {
    'informal', 'no_accents', 'typo', 'english', 'polite_long', 'full_name',
    'name_part', 'spacing', 'plural_or_case', 'yes_no', 'one_contact',
    'multi_intent', 'wrong_field_trap', 'look_alike', 'unknown_lowercase',
    'off_topic', 'injection', 'secrets', 'aggregate_informal', 'aggregate_domain',
    'aggregate_scope', 'negation', 'english_aggregate'}
DIFFICULTIES = {'easy', 'medium', 'hard'}
REFUSAL_KINDS = {'look_alike', 'unknown_lowercase', 'off_topic', 'injection', 'secrets'}
NAME_REFUSAL_KINDS = {'look_alike', 'unknown_lowercase'}
AGG_KINDS = {'aggregate_informal', 'aggregate_domain', 'aggregate_scope',
             'negation', 'english_aggregate'}
KIND_CATEGORIES = {
    'look_alike': {'out_of_catalog'},
    'unknown_lowercase': {'out_of_catalog'},
    'off_topic': {'off_topic'},
    'injection': {'injection'},
    'secrets': {'injection', 'off_topic'},
}
REFUSAL_CATEGORIES = {'out_of_catalog', 'off_topic', 'injection'}
AGG_CATEGORIES = {'listing', 'count'}

# category -> the record field(s) that must hold the facts of a one-field question
FIELD_OF = {
    'status': ['statut si'],
    'full_name': ['nom long'],
    'identifier': ['id'],
    'scope': ['portee geographique'],
    'family': ['famille d applications'],
    'domains': ['domaines et sous domaines'],
    'description': ['descriptif'],
    'contacts': ['contacts'],
    'websites': ['sites'],
    'actors': ['acteurs'],
    'technology': ['technologie principale'],
    'hosting': ['hebergements', '@hebergeur_actor'],
    'users': ['utilisateurs'],
    'functions': ['fonctions'],
    'related_apps': ['applications liees'],
    'related_data': ['donnees liees'],
    'production_date': ['@event:Mise en production'],
    'creation_date': ['@event:Création'],
    'shutdown_date': ['@event:Arrêt'],
    'version': ['@versions'],
}
EVENT_OF = {'production_date': 'Mise en production',
            'creation_date': 'Création',
            'shutdown_date': 'Arrêt'}
PLACEHOLDER_RE = re.compile(r'\*{3}\s*TEMPORAIRE\s*\*{3}', re.I)
DATE_RE = re.compile(r'^\d{2}/\d{2}/\d{4}$')
VERSION_RE = re.compile(r'^\d+(\.\d+)+$')

# --------------------------------------------------------------------------
# criterion tables (row id -> how to recompute / what name the row asks for)
#   CRITERIA:    ("count"|"list", [(condition, value), ...]); conditions are
#                status / scope / family / domain / lacks (field), or not_<cond>
#   ASKED_NAMES: the non-existent application name a refusal row asks about
#   EXTRA_APPS:  other record ids whose values a comparison row may cite
# --------------------------------------------------------------------------
CRITERIA = {
    'nn-028': ('list', [('domain', 'Transports routiers')]),
    'nn-029': ('count', [('scope', 'Nationale')]),
    'nn-048': ('list', [('scope', 'Régionale')]),
    'nn-056': ('list', [('scope', 'Locale')]),
    'nn-059': ('count', [('status', "En cours d'arrêt")]),
    'nn-061': ('list', [('status', 'Arrêtée')]),
    'nn-064': ('list', [('domain', 'Mer et littoral')]),
    'nn-066': ('count', [('lacks', 'contacts')]),
    'nn-077': ('count', [('domain', 'Risques naturels et technologiques')]),
    'nn-083': ('list', [('status', 'En projet'), ('lacks', 'contacts')]),
    'nn-106': ('count', [('status', 'En construction')]),
    'nn-114': ('count', [('status', 'En production')]),
    'nn-123': ('count', []),
    'nn-135': ('list', [('status', 'En projet')]),
    'nn-143': ('count', [('family', 'Portails de diffusion')]),
    'nn-149': ('list', [('lacks', 'sites')]),
    'nn-160': ('list', [('domain', 'Agriculture')]),
    'nn-164': ('count', [('domain', 'Biodiversité')]),
    'nn-167': ('list', [('family', "Systèmes d'information géographique")]),
    'nn-171': ('count', [('family', 'Téléservices')]),
    'nn-172': ('count', [('domain', 'Eau, milieux aquatiques')]),
    'nn-178': ('count', [('scope', 'Départementale')]),
    'nn-184': ('count', [('not_status', 'En production')]),
    'nn-187': ('list', [('domain', 'Énergie, climat')]),
    'nn-191': ('list', [('domain', 'Logement, construction'), ('status', 'En production')]),
    'nn-199': ('list', [('scope', 'Départementale'), ('status', 'En production')]),
    'nn-236': ('list', [('lacks', 'descriptif')]),
}

ASKED_NAMES = {
    'nn-008': 'neptune',
    'nn-021': 'Bilans GES Collectivités',
    'nn-038': 'sigma2',
    'nn-052': '6Tzen Pro',
    'nn-070': 'geoflux',
    'nn-072': 'VigiAir',
    'nn-073': 'ploum',
    'nn-075': 'RPLS 2',
    'nn-076': 'TELEPAC Mobile',
    'nn-104': 'ADES Bretagne',
    'nn-113': 'S4IC',
    'nn-120': 'OPERAT Plus',
    'nn-130': 'NAÏADES Marines',
    'nn-132': 'bluebird',
    'nn-173': 'hermes',
    'nn-177': 'SINP Normandie',
    'nn-196': 'GéoADS 2',
    'nn-221': 'castor',
    'nn-225': 'ADS 2008',
    'nn-233': 'Géorisques Entreprises',
    'nn-239': 'GUNeau',
    'nn-250': 'Mélanie3',
}

EXTRA_APPS = {
    'nn-111': ['1010'],
    'nn-144': ['1044'],
    'nn-179': ['1023'],
}


# --------------------------------------------------------------------------
# text repair and folding
# --------------------------------------------------------------------------
_MOJI_RE = re.compile('[\u00c2-\u00c3][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178'
                      '\u017d\u017e\u0192\u02c6\u02dc\u2013\u2014\u2018-\u201e'
                      '\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]')


def _unmoji(m):
    s = m.group(0)
    for enc in ('cp1252', 'latin-1'):
        try:
            return s.encode(enc).decode('utf-8')
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
    return s


def repair(s):
    """Clean one catalog string the way the assistant is expected to."""
    s = _MOJI_RE.sub(_unmoji, s)
    s = re.sub(r'(?<!\S)r n(?!\S)', ' ', s)          # literal "r n" line breaks
    s = re.sub(r'^\s*SIE\s*-->\s*', '', s)           # "SIE --> " prefixes
    s = s.replace('\u2019', "'").replace('\u00a0', ' ')
    return re.sub(r'\s+', ' ', s).strip()


def strip_accents(s):
    s = unicodedata.normalize('NFKD', s)
    s = ''.join(c for c in s if not unicodedata.combining(c))
    return s.replace('œ', 'oe').replace('Œ', 'OE')


def fold(s):
    """Case/accent/punctuation-insensitive form (URLs with spaces match real URLs)."""
    s = strip_accents(repair(s)).lower()
    s = re.sub(r'[\W_]+', ' ', s)
    return s.strip()


def fold_compact(s):
    return fold(s).replace(' ', '')


def fold_answer(s):
    """Scoring form: case- and accent-insensitive, punctuation kept."""
    s = strip_accents(s.replace('\u2019', "'").replace('\u00a0', ' ')).lower()
    return re.sub(r'\s+', ' ', s).strip()


def contains(hay, needle):
    return (' %s ' % needle) in (' %s ' % hay)


# --------------------------------------------------------------------------
# catalog helpers
# --------------------------------------------------------------------------
def strings(v):
    if isinstance(v, dict):
        for w in v.values():
            yield from strings(w)
    elif isinstance(v, list):
        for w in v:
            yield from strings(w)
    elif isinstance(v, str):
        yield v
    elif v is not None and not isinstance(v, bool):
        yield str(v)


def is_empty(v):
    """Absent, blank, placeholder-only, or a list/dict with nothing filled."""
    return not any(repair(PLACEHOLDER_RE.sub('', s)) for s in strings(v))


def event_date_key(ev):
    d = ev.get('date dd/mm/yyyy') or ev.get('date') or ''
    m = re.match(r'(\d{2})/(\d{2})/(\d{4})', d)
    return (m.group(3), m.group(2), m.group(1)) if m else ('', '', '')


def events(rec):
    evs = rec.get('evenements')
    return evs if isinstance(evs, list) else []


def event_dates(rec, etype):
    out = []
    for ev in events(rec):
        if fold(ev.get('type d evenement', '')) == fold(etype):
            d = ev.get('date dd/mm/yyyy') or ev.get('date') or ''
            if d:
                out.append(d.strip())
    return out


def latest_version(rec):
    evs = [e for e in events(rec) if (e.get('version') or '').strip()]
    if not evs:
        return None
    evs.sort(key=event_date_key)
    return evs[-1]['version'].strip()


def field_values(rec, field):
    """Strings of one (pseudo-)field of a record."""
    if field == '@hebergeur_actor':
        acts = rec.get('acteurs') if isinstance(rec.get('acteurs'), list) else []
        return [a.get('acteur', '') for a in acts
                if fold(a.get('role d acteur', '')) == fold('Hébergeur')]
    if field.startswith('@event:'):
        etype = field.split(':', 1)[1]
        return [s for e in events(rec) if fold(e.get('type d evenement', '')) == fold(etype)
                for s in strings(e)]
    if field == '@versions':
        return [s for e in events(rec) for s in strings(e)]
    return list(strings(rec.get(field)))


def field_empty(rec, category):
    if category in EVENT_OF:
        return not event_dates(rec, EVENT_OF[category])
    if category == 'version':
        return latest_version(rec) is None
    fields = FIELD_OF.get(category)
    if not fields:
        return False
    return all(is_empty(field_values(rec, f)) for f in fields)


def fact_in(values, fact):
    ff = fold(fact)
    if not ff:
        return False
    return any(contains(fold(v), ff) for v in values)


ROLE_WORDS = [  # checked in this order: the first role named in the question wins
    ("Responsable d'application", ('responsable d', 'resp d')),
    ('Support', ('support', 'assistance')),
    ('Chef de projet', ('chef de projet', 'project manager', 'project lead', 'chef de proje')),
]


def asked_role(question):
    q = ' %s ' % fold(question)
    for role, words in ROLE_WORDS:
        if any((' %s' % w) in q for w in words):
            return role
    return None


def record_status(rec):
    return repair(rec.get('statut si', ''))


def matches(rec, cond):
    kind, value = cond
    neg = kind.startswith('not_')
    if neg:
        kind = kind[4:]
    if kind == 'status':
        ok = fold(record_status(rec)) == fold(value)
    elif kind == 'scope':
        ok = fold(rec.get('portee geographique', '')) == fold(value)
    elif kind == 'family':
        ok = fold(rec.get('famille d applications', '')) == fold(value)
    elif kind == 'domain':
        doms = rec.get('domaines et sous domaines')
        doms = doms if isinstance(doms, list) else []
        ok = any(fold(d.get('domaine metier', '')) == fold(value) for d in doms)
    elif kind == 'lacks':
        ok = is_empty(rec.get(value))
    else:
        raise ValueError('unknown condition %r' % (cond,))
    return ok != neg


# --------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------
def main(argv):
    rows_path = argv[1] if len(argv) > 1 else DEFAULT_ROWS
    with open(CATALOG_PATH, encoding='utf-8') as f:
        catalog = json.load(f)
    records = next(iter(catalog.values())) if isinstance(catalog, dict) else catalog
    by_id = {str(r.get('id')): r for r in records}
    noms_fold = {fold(r.get('nom', '')) for r in records}
    noms_compact = {fold_compact(r.get('nom', '')) for r in records}
    longs_fold = {fold(r.get('nom long', '')) for r in records if not is_empty(r.get('nom long'))}
    statuses = {fold(record_status(r)) for r in records}
    scopes = {fold(r.get('portee geographique', '')) for r in records}
    families = {fold(r.get('famille d applications', '')) for r in records}

    problems = []

    def bad(rid, msg):
        problems.append('%s: %s' % (rid, msg))

    rows = []
    with open(rows_path, encoding='utf-8') as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                bad('line %d' % n, 'blank line')
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                bad('line %d' % n, 'invalid JSON (%s)' % e)

    seen_q = {}
    used_ids = set()
    for idx, row in enumerate(rows, 1):
        rid = row.get('id', 'line %d' % idx) if isinstance(row, dict) else 'line %d' % idx
        if not isinstance(row, dict):
            bad(rid, 'row is not an object')
            continue
        # ---- keys and types
        if list(row.keys()) != KEYS:
            if set(row.keys()) != set(KEYS):
                bad(rid, 'keys %s differ from %s' % (sorted(row.keys()), KEYS))
                continue
        types = {'id': str, 'question': str, 'expected_answer': str, 'expected_facts': list,
                 'expect_refusal': bool, 'category': str, 'kind': str, 'difficulty': str,
                 'app_name': str, 'app_id': str}
        typed = True
        for k, t in types.items():
            if not isinstance(row[k], t):
                bad(rid, '%s should be %s' % (k, t.__name__))
                typed = False
        if not isinstance(row['persona'], int) or isinstance(row['persona'], bool) \
                or not 1 <= row['persona'] <= 4:
            bad(rid, 'persona must be an int 1-4')
        if not typed:
            continue
        if not all(isinstance(x, str) and x.strip() for x in row['expected_facts']):
            bad(rid, 'expected_facts must be non-empty strings')
            continue
        if row['id'] != 'nn-%03d' % idx:
            bad(rid, 'id out of order (expected nn-%03d)' % idx)
        if row['id'] in used_ids:
            bad(rid, 'duplicate id')
        used_ids.add(row['id'])
        if not row['question'].strip() or not row['expected_answer'].strip():
            bad(rid, 'empty question or expected_answer')
        qkey = fold_answer(row['question'])
        if qkey in seen_q:
            bad(rid, 'duplicate question (same as %s)' % seen_q[qkey])
        seen_q.setdefault(qkey, rid)

        cat, kind, facts = row['category'], row['kind'], row['expected_facts']
        if cat not in CATEGORIES:
            bad(rid, 'unknown category %r' % cat)
        if kind not in KINDS:
            bad(rid, 'unknown kind %r' % kind)
        if row['difficulty'] not in DIFFICULTIES:
            bad(rid, 'unknown difficulty %r' % row['difficulty'])

        # ---- facts must appear in the expected answer (how rows are scored)
        ans = fold_answer(row['expected_answer'])
        for fct in facts:
            if fold_answer(fct) not in ans:
                bad(rid, 'fact %r not in expected_answer' % fct)

        # ---- refusal kinds
        if kind in REFUSAL_KINDS:
            if cat not in KIND_CATEGORIES[kind]:
                bad(rid, 'kind %s needs category in %s' % (kind, sorted(KIND_CATEGORIES[kind])))
            if not row['expect_refusal']:
                bad(rid, 'kind %s must have expect_refusal true' % kind)
            if facts:
                bad(rid, 'refusal row must have no expected_facts')
        if cat in REFUSAL_CATEGORIES and kind not in REFUSAL_KINDS:
            bad(rid, 'category %s requires a refusal kind' % cat)
        if kind in NAME_REFUSAL_KINDS or kind == 'off_topic' or cat in AGG_CATEGORIES:
            if row['app_name'] or row['app_id']:
                bad(rid, 'app_name/app_id must be empty for %s' % kind)

        # ---- names asked for look-alikes / unknown lowercase
        if kind in NAME_REFUSAL_KINDS:
            name = ASKED_NAMES.get(rid)
            if name is None:
                bad(rid, 'no ASKED_NAMES entry for %s row' % kind)
            else:
                if fold(name) not in fold(row['question']):
                    bad(rid, 'asked name %r not found in the question' % name)
                if fold(name) in noms_fold or fold_compact(name) in noms_compact \
                        or fold(name) in longs_fold:
                    bad(rid, 'asked name %r matches an existing application' % name)
                if kind == 'unknown_lowercase' and (name != name.lower() or name not in row['question']):
                    bad(rid, 'unknown_lowercase name %r must be written in lowercase' % name)
        elif rid in ASKED_NAMES:
            bad(rid, 'ASKED_NAMES entry on a %s row' % kind)

        # ---- app reference
        rec = None
        if row['app_id']:
            rec = by_id.get(row['app_id'])
            if rec is None:
                bad(rid, 'app_id %r not in catalog' % row['app_id'])
            elif rec.get('nom') != row['app_name']:
                bad(rid, 'app_name %r does not match nom %r of %s'
                    % (row['app_name'], rec.get('nom'), row['app_id']))
        elif row['app_name']:
            bad(rid, 'app_name without app_id')

        # ---- aggregates
        if kind in AGG_KINDS and cat not in AGG_CATEGORIES | {'comparison'}:
            bad(rid, 'aggregate kind %s needs category listing/count/comparison' % kind)
        if cat in AGG_CATEGORIES:
            spec = CRITERIA.get(rid)
            if spec is None:
                bad(rid, 'no CRITERIA entry for %s row' % cat)
            else:
                mode, conds = spec
                try:
                    hits = [r for r in records if all(matches(r, c) for c in conds)]
                except ValueError as e:
                    bad(rid, str(e))
                    hits = None
                if hits is not None:
                    if mode != {'count': 'count', 'listing': 'list'}[cat]:
                        bad(rid, 'CRITERIA mode %r does not fit category %s' % (mode, cat))
                    if mode == 'count':
                        if facts != [str(len(hits))]:
                            bad(rid, 'count facts %r, catalog gives %d' % (facts, len(hits)))
                    else:
                        want = sorted(fold(r['nom']) for r in hits)
                        got = sorted(fold(x) for x in facts)
                        if want != got:
                            missing = sorted(set(want) - set(got))
                            extra = sorted(set(got) - set(want))
                            bad(rid, 'list facts differ from catalog (missing %s, extra %s)'
                                % (missing, extra))
            if row['expect_refusal']:
                bad(rid, 'aggregate row must not expect a refusal')
        elif rid in CRITERIA:
            bad(rid, 'CRITERIA entry on a %s row' % cat)

        # ---- yes/no
        if kind == 'yes_no':
            first = row['expected_answer'].split(None, 1)[0].strip(',.;:!') if row['expected_answer'].strip() else ''
            if first not in ('Oui', 'Non'):
                bad(rid, 'yes_no answer must start with Oui or Non')
            if len(facts) < 2 or facts[0] not in ('Oui', 'Non'):
                bad(rid, 'yes_no facts must be ["Oui"|"Non", value]')
            elif facts[0] != first:
                bad(rid, 'yes_no fact %r contradicts answer start %r' % (facts[0], first))

        # ---- non-refusal rows need facts
        if not row['expect_refusal'] and not facts:
            bad(rid, 'answerable row without expected_facts')

        # ---- refusal because the record leaves the field empty
        if row['expect_refusal'] and kind not in REFUSAL_KINDS:
            if facts:
                bad(rid, 'refusal row must have no expected_facts')
            if rec is None:
                bad(rid, 'empty-field refusal needs an application')
            elif cat not in FIELD_OF:
                bad(rid, 'empty-field refusal on category %s is not checkable' % cat)
            elif not field_empty(rec, cat):
                bad(rid, 'catalog does fill %s for %s: answer should not be a refusal'
                    % (cat, rec.get('nom')))

        # ---- single-app facts against the record
        if rec is not None and not row['expect_refusal'] and cat not in AGG_CATEGORIES:
            recs = [rec]
            for xid in EXTRA_APPS.get(rid, []):
                if xid in by_id:
                    recs.append(by_id[xid])
                else:
                    bad(rid, 'EXTRA_APPS id %r not in catalog' % xid)
            if cat == 'comparison' and len(recs) < 2:
                bad(rid, 'comparison row needs EXTRA_APPS')
            if cat != 'comparison' and rid in EXTRA_APPS:
                bad(rid, 'EXTRA_APPS entry on a non-comparison row')
            allvals = [s for r in recs for s in strings(r)]
            body = facts[1:] if kind == 'yes_no' else facts
            for fct in body:
                if not fact_in(allvals, fct):
                    bad(rid, 'fact %r not found in record(s) %s'
                        % (fct, ', '.join(r.get('nom', '?') for r in recs)))
            # facts of a one-field question must sit in that field
            if kind != 'multi_intent' and cat in FIELD_OF:
                vals = [v for f in FIELD_OF[cat] for v in field_values(rec, f)]
                for fct in body:
                    if not fact_in(vals, fct):
                        bad(rid, 'fact %r is not in field %s of %s'
                            % (fct, '/'.join(FIELD_OF[cat]), rec.get('nom')))
            # field-specific consistency
            if cat == 'status':
                for fct in body:
                    if fold(fct) in statuses and fold(fct) != fold(record_status(rec)):
                        bad(rid, 'status %r, catalog says %r' % (fct, record_status(rec)))
            if cat == 'scope':
                for fct in body:
                    if fold(fct) in scopes and fold(fct) != fold(rec.get('portee geographique', '')):
                        bad(rid, 'scope %r, catalog says %r' % (fct, rec.get('portee geographique')))
            if cat == 'family':
                for fct in body:
                    if fold(fct) in families and fold(fct) != fold(rec.get('famille d applications', '')):
                        bad(rid, 'family %r, catalog says %r'
                            % (fct, repair(rec.get('famille d applications', ''))))
            if cat in EVENT_OF:
                good = event_dates(rec, EVENT_OF[cat])
                for fct in facts:
                    if DATE_RE.match(fct) and fct not in good:
                        bad(rid, 'date %r is not the %s date %s' % (fct, EVENT_OF[cat], good))
            if cat == 'version':
                lv = latest_version(rec)
                for fct in body:
                    if VERSION_RE.match(fct) and fct != lv:
                        bad(rid, 'version %r is not the latest version %r' % (fct, lv))
            if cat == 'contacts' and kind != 'multi_intent':
                role = asked_role(row['question'])
                if role:
                    conts = rec.get('contacts') if isinstance(rec.get('contacts'), list) else []
                    vals = [s for c in conts if fold(c.get('role de contact', '')) == fold(role)
                            for s in strings(c)]
                    for fct in body:
                        if not fact_in(vals, fct):
                            bad(rid, 'fact %r is not the %s of %s' % (fct, role, rec.get('nom')))
            if cat == 'identifier':
                if str(rec.get('id')) not in body:
                    bad(rid, 'identifier row must give id %s' % rec.get('id'))
            if cat == 'full_name' and not any(fold(x) == fold(rec.get('nom long', '')) for x in body):
                bad(rid, 'full_name row must give the nom long')
        # ---- no_accents kind: the question really has no accented letter
        if kind == 'no_accents' and strip_accents(row['question']) != row['question']:
            bad(rid, 'no_accents question contains accented letters')
        # ---- name_part kind: the question must not quote the whole nom long
        if kind == 'name_part' and rec is not None and not is_empty(rec.get('nom long')):
            if contains(fold(row['question']), fold(rec.get('nom long', ''))):
                bad(rid, 'name_part question quotes the whole nom long of %s' % rec.get('nom'))
        # ---- full_name kind: the question names the app by its nom long
        if kind == 'full_name' and rec is not None:
            if fold(rec.get('nom long', '')) not in fold(row['question']):
                bad(rid, 'full_name question does not quote the nom long of %s' % rec.get('nom'))

    # ---- tables refer to existing rows
    row_ids = {r.get('id') for r in rows if isinstance(r, dict)}
    for table, name in ((CRITERIA, 'CRITERIA'), (ASKED_NAMES, 'ASKED_NAMES'), (EXTRA_APPS, 'EXTRA_APPS')):
        for k in table:
            if k not in row_ids:
                problems.append('%s: %s entry for a missing row' % (k, name))

    # ---- summary
    kinds = Counter(r.get('kind') for r in rows if isinstance(r, dict))
    cats = Counter(r.get('category') for r in rows if isinstance(r, dict))
    yn = Counter(r['expected_facts'][0] for r in rows if isinstance(r, dict)
                 and r.get('kind') == 'yes_no' and r.get('expected_facts'))
    covered = {r.get('app_id') for r in rows if isinstance(r, dict)} | \
        {x for v in EXTRA_APPS.values() for x in v}
    uncovered = sorted(set(by_id) - covered)
    print('%d rows, %d problems' % (len(rows), len(problems)))
    print('kinds:', dict(sorted(kinds.items())))
    print('categories:', dict(sorted(cats.items())))
    print('yes_no answers:', dict(yn))
    print('applications not covered:', uncovered or 'none')
    for p in problems:
        print('PROBLEM', p)
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
