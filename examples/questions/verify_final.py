#!/usr/bin/env python3
"""Check examples/questions/natural_final.jsonl against the raw catalog.

Standard library only.  From the repository root:

    python examples/questions/verify_final.py
    python examples/questions/verify_final.py --questions other.jsonl --catalog other.json

Every row is checked against examples/catalog.json after light cleaning of the
record (mojibake repaired, literal "r n" token = line break, "**" removed,
"SIE --> " prefix removed, "***TEMPORAIRE***" = no value, URLs whose
punctuation was replaced by spaces = no value):

* keys, value types and allowed values; ids fin-001... in sequence;
* app_id / app_name point to the same record;
* every expected fact is present, verbatim, in the field(s) the question is
  about (per category, or per-row overrides below); dates come from the right
  event type; e-mails, URLs and ids must match a whole value;
* yes/no rows: the first fact is "Oui"/"Non" and agrees with the claim
  recomputed from the record;
* listing and count rows: names and counts recomputed from the catalog;
* comparison rows: both records contribute facts;
* refusals: no facts, one of the two reference sentences, the field really is
  empty for "information" refusals, and invented names match no nom / nom long
  (also without accents, case, spaces or punctuation);
* each fact also appears in the reference answer;
* set-level rules: >= 150 rows, >= 40 applications, every category, a quarter
  of the rows per persona, no question skeleton used more than twice.

Exit status 1 with the list of failures, 0 when everything passes.
"""
import argparse
import collections
import json
import os
import re
import sys
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_QUESTIONS = os.path.join(HERE, 'natural_final.jsonl')
DEFAULT_CATALOG = os.path.join(HERE, '..', 'catalog.json')

KEYS = ['id', 'question', 'expected_answer', 'expected_facts', 'expect_refusal', 'category', 'kind',
        'difficulty', 'app_name', 'app_id', 'persona']
CATEGORIES = ['status', 'full_name', 'identifier', 'scope', 'family', 'domains', 'description', 'contacts',
              'websites', 'actors', 'production_date', 'creation_date', 'related_apps', 'related_data',
              'technology', 'hosting', 'users', 'functions', 'listing', 'count', 'comparison',
              'out_of_catalog', 'off_topic', 'injection']
KINDS = ['informal', 'no_accents', 'typo', 'english', 'polite_long', 'full_name', 'name_part', 'spacing',
         'plural_or_case', 'yes_no', 'one_contact', 'multi_intent', 'wrong_field_trap', 'look_alike',
         'unknown_lowercase', 'off_topic', 'injection', 'secrets', 'aggregate_informal', 'aggregate_domain',
         'aggregate_scope', 'negation', 'english_aggregate']
DIFFICULTIES = ['easy', 'medium', 'hard']

REFUSAL_INFO = "Je ne trouve pas cette information dans le catalogue."
REFUSAL_APP = re.compile(r"^Je ne trouve pas l'application (.+) dans le catalogue\.$")

# ---------------------------------------------------------------- cleaning

_RN = re.compile(r'\s*(?:(?<=\s)|^)r n(?=\s|$)\s*')
_DATE = re.compile(r'^\d{2}/\d{2}/\d{4}$')
_EMAIL = re.compile(r'^[^@\s]+@[^@\s]+\.[a-z]+$')


def clean(value):
    """Light cleaning of one raw catalog value; '' means 'no value'."""
    if value is None:
        return ''
    s = value if isinstance(value, str) else str(value)
    if 'Ã' in s or 'Â' in s:
        try:
            s = s.encode('latin-1').decode('utf-8')
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    if s.strip() == '***TEMPORAIRE***':
        return ''
    s = _RN.sub('\n', s)
    s = s.replace('**', '')
    s = s.strip()
    if s.startswith('SIE --> '):
        s = s[len('SIE --> '):]
    return s.strip()


def is_broken_url(u):
    return ('://' not in u) or (' ' in u)


def norm_name(s):
    s = unicodedata.normalize('NFKD', s)
    s = ''.join(c for c in s if not unicodedata.combining(c))
    return re.sub(r'[^0-9a-z]', '', s.lower())


def _items(x):
    return x if isinstance(x, list) else []


def values(rec, key):
    """Cleaned values of one (pseudo-)field of a record, empty strings dropped."""
    out = []
    if key in ('id', 'nom', 'nom long', 'statut si', 'portee geographique', 'famille d applications',
               'descriptif', 'technologie principale', 'enjeux', 'nombre d utilisateurs'):
        out = [clean(rec.get(key))]
    elif key == 'domaine':
        out = [clean(d.get('domaine metier')) for d in _items(rec.get('domaines et sous domaines'))]
    elif key == 'first domaine':
        out = [clean(d.get('domaine metier')) for d in _items(rec.get('domaines et sous domaines'))][:1]
    elif key == 'sous domaine':
        out = [clean(d.get('sous domaine metier')) for d in _items(rec.get('domaines et sous domaines'))]
    elif key == 'url' or key.startswith('url:'):
        nature = key[4:] if key.startswith('url:') else None
        for s in _items(rec.get('sites')):
            u = clean(s.get('url'))
            if u and not is_broken_url(u) and (nature is None or clean(s.get('nature de l url')) == nature):
                out.append(u)
    elif key == 'site nature':
        out = [clean(s.get('nature de l url')) for s in _items(rec.get('sites'))]
    elif key == 'site commentaire':
        out = [clean(s.get('commentaire')) for s in _items(rec.get('sites'))]
    elif key == 'courriel' or key.startswith('courriel:'):
        role = key[9:] if key.startswith('courriel:') else None
        out = [clean(c.get('courriel')) for c in _items(rec.get('contacts'))
               if role is None or clean(c.get('role de contact')) == role]
    elif key == 'contact name':
        # a "name" equal to the e-mail (defect of 1034) is not a name
        out = [clean(c.get('contact')) for c in _items(rec.get('contacts'))
               if clean(c.get('contact')) != clean(c.get('courriel'))]
    elif key == 'contact role':
        out = [clean(c.get('role de contact')) for c in _items(rec.get('contacts'))]
    elif key == 'acteur' or key.startswith('acteur:'):
        role = key[7:] if key.startswith('acteur:') else None
        out = [clean(a.get('acteur')) for a in _items(rec.get('acteurs'))
               if role is None or clean(a.get('role d acteur')) == role]
    elif key == 'acteur role':
        out = [clean(a.get('role d acteur')) for a in _items(rec.get('acteurs'))]
    elif key.startswith('event:'):
        typ = key[6:]
        out = [clean(e.get('date dd/mm/yyyy')) for e in _items(rec.get('evenements'))
               if clean(e.get('type d evenement')) == typ]
    elif key == 'event version':
        out = [clean(e.get('version')) for e in _items(rec.get('evenements'))]
    elif key == 'hebergeur':
        out = [clean(h.get('hebergeur')) for h in _items(rec.get('hebergements'))]
    elif key == 'type hebergement':
        out = [clean(h.get('type d hebergement')) for h in _items(rec.get('hebergements'))]
    elif key == 'hosting':
        out = values(rec, 'hebergeur') + values(rec, 'acteur:Hébergeur') + values(rec, 'type hebergement')
    elif key == 'app liee':
        out = [clean(a.get('application 2')) for a in _items(rec.get('applications liees'))]
    elif key == 'app liee id':
        out = [clean(a.get('id application 2')) for a in _items(rec.get('applications liees'))]
    elif key == 'app liee flux':
        out = [clean(a.get('type de flux')) for a in _items(rec.get('applications liees'))]
    elif key == 'donnee':
        out = [clean(a.get('donnee liee')) for a in _items(rec.get('donnees liees'))]
    elif key == 'donnee id':
        out = [clean(a.get('id donnee liee')) for a in _items(rec.get('donnees liees'))]
    elif key == 'donnee flux':
        out = [clean(a.get('type de flux')) for a in _items(rec.get('donnees liees'))]
    elif key == 'utilisateurs':
        u = rec.get('utilisateurs')
        out = [clean(x) for x in u] if isinstance(u, list) else [clean(x) for x in clean(u).split(',')]
    elif key == 'fonctions':
        f = rec.get('fonctions')
        out = [clean(x) for x in f] if isinstance(f, list) else [clean(x) for x in clean(f).split(';')]
    else:
        raise KeyError(key)
    return [v for v in out if v]


SUBSTRING_KEYS = {'descriptif', 'enjeux'}  # free text: a short exact phrase is enough

CATEGORY_KEYS = {
    'status': ['statut si'],
    'full_name': ['nom long'],
    'identifier': ['id'],
    'scope': ['portee geographique'],
    'family': ['famille d applications'],
    'domains': ['domaine', 'sous domaine'],
    'description': ['descriptif'],
    'contacts': ['courriel', 'contact name', 'contact role'],
    'websites': ['url', 'site nature', 'site commentaire'],
    'actors': ['acteur', 'acteur role'],
    'production_date': ['event:Mise en production'],
    'creation_date': ['event:Création'],
    'related_apps': ['app liee', 'app liee id', 'app liee flux'],
    'related_data': ['donnee', 'donnee id', 'donnee flux'],
    'technology': ['technologie principale'],
    'hosting': ['hosting'],
    'users': ['utilisateurs', 'nombre d utilisateurs'],
    'functions': ['fonctions'],
}

# ---------------------------------------------------------------- per-row specifications

# fields a row's facts may come from, when not (only) those of its category
FIELDS = {
    'fin-043': ['portee geographique', 'famille d applications'],
    'fin-044': ['event:Mise en production'],
    'fin-046': ['hosting'],
    'fin-047': ['statut si'],
    'fin-052': ['event:Création', 'event:Nouvelle version', 'event version'],
    'fin-053': ['domaine', 'portee geographique'],
    'fin-056': ['technologie principale'],
    'fin-059': ['statut si', 'event:Mise en production'],
    'fin-061': ['statut si', 'descriptif'],
    'fin-062': ['statut si', 'app liee', 'descriptif'],
    'fin-064': ['portee geographique'],
    'fin-071': ['event:Création'],
    'fin-077': ['nom long', 'event:Mise en production'],
    'fin-078': ['acteur:MOA'],
    'fin-080': ['utilisateurs', 'enjeux'],
    'fin-099': ['portee geographique'],
    'fin-107': ['statut si'],
    'fin-109': ['event:Création', 'statut si'],
    'fin-128': ['courriel'],
    'fin-157': ['statut si'],
}

# rows asking for one element by its role / nature: every fact must be that one
RESTRICT = {
    'fin-002': 'url:Production', 'fin-010': 'url:Recette', 'fin-027': 'url:Documentation',
    'fin-083': 'url:Recette', 'fin-160': 'url:Production',
    'fin-003': 'courriel:Chef de projet', 'fin-007': 'courriel:Support',
    'fin-013': "courriel:Responsable d'application", 'fin-021': "courriel:Responsable d'application",
    'fin-034': "courriel:Responsable d'application", 'fin-042': "courriel:Responsable d'application",
    'fin-082': 'courriel:Chef de projet', 'fin-097': 'courriel:Support',
    'fin-106': "courriel:Responsable d'application", 'fin-140': "courriel:Responsable d'application",
    'fin-015': 'acteur:MOA', 'fin-038': 'acteur:MOA', 'fin-045': 'acteur:MOA', 'fin-063': 'acteur:MOE',
    'fin-090': 'acteur:MOA',
}

# rows whose answer is the application itself (its nom): no field fact needed
NAME_ANSWERS = {'fin-127', 'fin-139', 'fin-150', 'fin-152'}

# comparison rows: the second application
OTHER = {
    'fin-044': 'SYPLO', 'fin-047': 'ADES-PRO', 'fin-056': 'Georisques Pro', 'fin-064': '8 SINP',
    'fin-071': 'BASIAS', 'fin-078': 'GALION', 'fin-099': 'Géorisques',
}

# yes/no rows: claims (app nom, key, op, value); answer "Oui" iff all claims hold
YESNO = {
    'fin-004': [('6Tzen', 'statut si', 'eq', 'En production')],
    'fin-019': [('GEOB', 'statut si', 'eq', 'En production')],
    'fin-041': [('S3IC', 'statut si', 'eq', 'En production')],
    'fin-045': [('Géorisques', 'acteur:MOA', 'eq', 'DGPR/SRT')],
    'fin-049': [('TAXREF', 'contact role', 'eq', 'Chef de projet')],
    'fin-053': [('CONCHYL', 'domaine', 'eq', 'Mer et littoral'),
                ('CONCHYL', 'portee geographique', 'eq', 'Départementale')],
    'fin-056': [('Géorisques', 'technologie principale', 'same', 'Georisques Pro')],
    'fin-057': [('CASCADE', 'hosting', 'eq', 'Cloud π Native')],
    'fin-061': [('BASIAS', 'statut si', 'eq', 'Arrêtée'), ('BASIAS', 'descriptif', 'has', 'reprises dans CASIAS')],
    'fin-066': [('SISAL', 'event:Mise en production', 'eq', '27/11/2021')],
    'fin-067': [('Sitadel', 'courriel:Chef de projet', 'eq', 'sophie.robin@developpement-durable.gouv.fr')],
    'fin-075': [('RPLS', 'url:Production', 'eq', 'https://rpls.developpement-durable.gouv.fr')],
    'fin-093': [('NITRATES', 'url:Production', 'nonempty', None)],
    'fin-105': [('GEOBS', 'url:Documentation', 'nonempty', None)],
    'fin-123': [('Bilans GES', 'statut si', 'eq', 'En production')],
    'fin-127': [('TE-Web', 'sous domaine', 'eq', 'Transports exceptionnels')],
    'fin-151': [('SYPLO', 'portee geographique', 'eq', 'Nationale')],
    'fin-152': [('Mélanie2', 'nom long', 'has', 'Messagerie')],
    'fin-157': [('GPU', 'statut si', 'eq', 'Arrêtée')],
}

# fields that must be empty (refusals about a real application, partial answers)
ABSENT = {
    'fin-020': ('ADES-PRO', 'event:Mise en production'),
    'fin-022': ('HYDROPORTAIL', 'courriel'),
    'fin-025': ('BNPE', 'descriptif'),
    'fin-039': ('PPR-Num', 'event:Mise en production'),
    'fin-046': ('ADES', 'technologie principale'),
    'fin-049': ('TAXREF', 'courriel'),
    'fin-072': ('ObsEnR', 'descriptif'),
    'fin-079': ('TEMP-CAT', 'nom long'),
    'fin-111': ('PEGASE', 'courriel'),
    'fin-112': ("PLAT'AU", 'technologie principale'),
}


def _status(r):
    return clean(r.get('statut si'))


def _in_domain(recs, dom, fails, rid):
    """Records with `dom` among their domains; the row is flagged when counting
    only the first domain would give a different set."""
    anyd = [r for r in recs if dom in values(r, 'domaine')]
    first = [r for r in recs if dom in values(r, 'first domaine')]
    if [r['id'] for r in anyd] != [r['id'] for r in first]:
        fails.append('%s: domain %r differs between any-domain and first-domain counting' % (rid, dom))
    return anyd


def _names(rs):
    return {clean(r['nom']) for r in rs}


def _count(rs):
    return {str(len(rs))}


def list_specs(recs, fails):
    dom = lambda d, rid: _in_domain(recs, d, fails, rid)
    st = lambda s: [r for r in recs if _status(r) == s]
    scope = lambda p: [r for r in recs if clean(r.get('portee geographique')) == p]
    fam = lambda f: [r for r in recs if clean(r.get('famille d applications')) == f]
    tech = lambda t: [r for r in recs if t in clean(r.get('technologie principale'))]
    notprod = lambda rs: [r for r in rs if _status(r) != 'En production']
    return {
        'fin-016': lambda: _count(st('Arrêtée')),
        'fin-017': lambda: _names(st("En cours d'arrêt")),
        'fin-029': lambda: _count(st('En production')),
        'fin-030': lambda: _names(notprod(dom('Transports routiers', 'fin-030'))),
        'fin-050': lambda: _count(dom('Énergie, climat', 'fin-050')) | _names(dom('Énergie, climat', 'fin-050')),
        'fin-051': lambda: _names(scope('Régionale')),
        'fin-055': lambda: _names(notprod(dom('Mer et littoral', 'fin-055'))),
        'fin-070': lambda: _count(fam('Téléservices')),
        'fin-076': lambda: _names(notprod(scope('Départementale'))),
        'fin-086': lambda: _count(dom('Biodiversité', 'fin-086')),
        'fin-087': lambda: _names(dom('Transports routiers', 'fin-087')),
        'fin-100': lambda: _count(st('En construction')),
        'fin-101': lambda: _names(st('Arrêtée')),
        'fin-110': lambda: _names(tech('PostGIS')),
        'fin-117': lambda: _names(dom('Mer et littoral', 'fin-117'))
        | {_status(r) for r in dom('Mer et littoral', 'fin-117')},
        'fin-119': lambda: _names([r for r in scope('Régionale') if _status(r) == 'En construction']),
        'fin-124': lambda: _count(scope('Départementale')),
        'fin-125': lambda: _names([r for r in recs if 'Logement social' in values(r, 'sous domaine')]),
        'fin-126': lambda: _names(fam('Portails de diffusion')),
        'fin-137': lambda: _count(dom('Mer et littoral', 'fin-137')),
        'fin-138': lambda: _names(scope('Locale')),
        'fin-141': lambda: _names(tech('MySQL')),
        'fin-148': lambda: _count(recs),
        'fin-149': lambda: _names(fam('Référentiels')),
        'fin-154': lambda: _names([r for r in recs if 'patrimoine naturel' in clean(r.get('nom long')).lower()]),
        'fin-158': lambda: _count(dom('Biodiversité', 'fin-158')) | _names(notprod(dom('Biodiversité', 'fin-158'))),
    }


# ---------------------------------------------------------------- helpers

def fact_in(fact, rec, keys):
    for k in keys:
        for v in values(rec, k):
            if fact == v:
                return True
            if k in SUBSTRING_KEYS and fact in v and not (_DATE.match(fact) or _EMAIL.match(fact)
                                                            or fact.startswith('http')):
                return True
    return False


def claim_holds(byname, app, key, op, value):
    rec = byname[app]
    vals = values(rec, key)
    if op == 'eq':
        return value in vals
    if op == 'has':
        return any(value in v for v in vals)
    if op == 'nonempty':
        return bool(vals)
    if op == 'same':
        return bool(vals) and vals == values(byname[value], key)
    raise ValueError(op)


def skeleton(q, names):
    s = unicodedata.normalize('NFKD', q.lower())
    s = ''.join(c for c in s if not unicodedata.combining(c))
    s = re.sub(r'«[^»]*»|"[^"]*"', ' Q ', s)
    for n in names:
        if len(n) >= 3:
            s = re.sub(r'(?<![0-9a-z])' + re.escape(n) + r'(?![0-9a-z])', ' APP ', s)
    s = re.sub(r'\d+', ' N ', s)
    s = re.sub(r'[^a-z A-Z]', ' ', s)
    return ' '.join(s.split())


# ---------------------------------------------------------------- main check

def check(rows, recs):
    fails = []
    byid = {clean(r.get('id')): r for r in recs}
    byname = {clean(r.get('nom')): r for r in recs}
    all_names = set(byname)
    norm_targets = set()
    for r in recs:
        for k in ('nom', 'nom long'):
            n = norm_name(clean(r.get(k)))
            if n:
                norm_targets.add(n)
    specs = list_specs(recs, fails)

    ids_seen = []
    for i, row in enumerate(rows, 1):
        rid = row.get('id') if isinstance(row, dict) else None
        tag = rid or ('line %d' % i)
        if not isinstance(row, dict):
            fails.append('%s: not a JSON object' % tag)
            continue
        if list(row.keys()) != KEYS and set(row.keys()) != set(KEYS):
            fails.append('%s: keys %s != %s' % (tag, sorted(row.keys()), sorted(KEYS)))
            continue
        if rid != 'fin-%03d' % i:
            fails.append('%s: id out of sequence (expected fin-%03d)' % (tag, i))
        ids_seen.append(rid)
        q, ans, facts, ref = row['question'], row['expected_answer'], row['expected_facts'], row['expect_refusal']
        cat, kind, diff, app, aid, per = (row['category'], row['kind'], row['difficulty'], row['app_name'],
                                          row['app_id'], row['persona'])
        if not isinstance(q, str) or not q.strip():
            fails.append('%s: empty question' % tag)
        if not isinstance(ans, str) or not ans.strip():
            fails.append('%s: empty expected_answer' % tag)
            ans = ''
        if not isinstance(facts, list) or not all(isinstance(f, str) and f for f in facts):
            fails.append('%s: expected_facts must be a list of non-empty strings' % tag)
            facts = []
        if len(set(facts)) != len(facts):
            fails.append('%s: duplicate facts' % tag)
        if not isinstance(ref, bool):
            fails.append('%s: expect_refusal must be a bool' % tag)
        if cat not in CATEGORIES:
            fails.append('%s: unknown category %r' % (tag, cat))
        if kind not in KINDS:
            fails.append('%s: unknown kind %r' % (tag, kind))
        if diff not in DIFFICULTIES:
            fails.append('%s: unknown difficulty %r' % (tag, diff))
        if per not in (1, 2, 3, 4) or isinstance(per, bool):
            fails.append('%s: persona must be 1-4' % tag)

        # ---- application reference
        rec = None
        if (app is None) != (aid is None):
            fails.append('%s: app_name and app_id must be both null or both set' % tag)
        elif app is not None:
            rec = byid.get(aid)
            if rec is None:
                fails.append('%s: app_id %r not in catalog' % (tag, aid))
            elif clean(rec.get('nom')) != app:
                fails.append('%s: app_name %r != nom %r of id %s' % (tag, app, clean(rec.get('nom')), aid))
                rec = None

        # ---- fact hygiene and consistency with the reference answer
        for f in facts:
            if '   ' in f or '***' in f or '**' in f or 'SIE -->' in f or 'Ã' in f or re.search(r'(?<=\s)r n(?=\s)', f):
                fails.append('%s: fact %r contains a raw defect' % (tag, f))
            if f.casefold() not in ans.casefold():
                fails.append('%s: fact %r missing from expected_answer' % (tag, f))

        # ---- refusals
        if ref is True:
            if facts:
                fails.append('%s: refusal with facts' % tag)
            m = REFUSAL_APP.match(ans)
            if ans != REFUSAL_INFO and not m:
                fails.append('%s: refusal answer is not a reference sentence' % tag)
            if cat == 'out_of_catalog':
                if not m:
                    fails.append('%s: out_of_catalog must use the "application X" sentence' % tag)
                else:
                    x = m.group(1)
                    nx = norm_name(x)
                    if x in all_names or not nx or any(nx == t or nx in t for t in norm_targets):
                        fails.append('%s: invented name %r matches a catalog nom/nom long' % (tag, x))
                    if x.lower() not in q.lower():
                        fails.append('%s: invented name %r not in question' % (tag, x))
                if app is not None:
                    fails.append('%s: out_of_catalog row must have no app' % tag)
            elif m:
                fails.append('%s: "application X" sentence used outside out_of_catalog' % tag)
            if cat in CATEGORY_KEYS:
                if rec is None or tag not in ABSENT:
                    fails.append('%s: field refusal needs an app and an ABSENT spec' % tag)
            if kind == 'secrets' and rec is not None:
                blob = json.dumps(rec, ensure_ascii=False).lower()
                if 'mot de passe' in blob or 'password' in blob or 'mdp' in blob:
                    fails.append('%s: the record does contain a secret-looking value' % tag)
            if cat in ('off_topic',) and app is not None:
                fails.append('%s: off_topic row must have no app' % tag)
        elif ref is False:
            if not facts:
                fails.append('%s: non-refusal without facts' % tag)
            if ans == REFUSAL_INFO or REFUSAL_APP.match(ans):
                fails.append('%s: refusal sentence but expect_refusal is false' % tag)
            if cat in ('out_of_catalog', 'off_topic'):
                fails.append('%s: %s row must be a refusal' % (tag, cat))

        # ---- ABSENT specs
        if tag in ABSENT:
            a_app, a_key = ABSENT[tag]
            if app != a_app:
                fails.append('%s: ABSENT spec app %r != row app %r' % (tag, a_app, app))
            if a_app in byname and values(byname[a_app], a_key):
                fails.append('%s: field %r of %s is not empty: %r' % (tag, a_key, a_app, values(byname[a_app], a_key)))

        # ---- yes/no
        yn = facts[:1] and facts[0] in ('Oui', 'Non')
        if kind == 'yes_no' and not yn:
            fails.append('%s: yes_no row must start with fact "Oui" or "Non"' % tag)
        if yn:
            if tag not in YESNO:
                fails.append('%s: Oui/Non fact without a YESNO spec' % tag)
            else:
                try:
                    truth = all(claim_holds(byname, *c) for c in YESNO[tag])
                    want = 'Oui' if truth else 'Non'
                    if facts[0] != want:
                        fails.append('%s: first fact %s but the record says %s' % (tag, facts[0], want))
                    if not ans.startswith(want):
                        fails.append('%s: expected_answer should start with %s' % (tag, want))
                except KeyError as e:
                    fails.append('%s: YESNO spec refers to unknown %s' % (tag, e))
        elif facts and tag in YESNO:
            fails.append('%s: YESNO spec but no Oui/Non fact' % tag)
        body = facts[1:] if yn else facts

        # ---- listing / count
        if cat in ('listing', 'count'):
            if tag not in specs:
                fails.append('%s: %s row without a recomputation spec' % (tag, cat))
            else:
                want = specs[tag]()
                if set(body) != want:
                    fails.append('%s: facts %s != recomputed %s' % (tag, sorted(body), sorted(want)))
            if app is not None:
                fails.append('%s: %s row must have no app' % (tag, cat))
            if cat == 'count' and not any(re.fullmatch(r'\d+', f) for f in body):
                fails.append('%s: count row without a digit fact' % tag)
            continue
        if tag in specs:
            fails.append('%s: recomputation spec on a %s row' % (tag, cat))

        # ---- field facts
        if ref is not False or rec is None:
            if ref is False and rec is None:
                fails.append('%s: non-refusal field question without an app' % tag)
            continue
        keys = FIELDS.get(tag) or CATEGORY_KEYS.get(cat)
        if keys is None:
            fails.append('%s: no field mapping for category %s' % (tag, cat))
            continue
        recs_for_row = [rec]
        if cat == 'comparison':
            if tag not in OTHER or OTHER[tag] not in byname:
                fails.append('%s: comparison without a valid OTHER spec' % tag)
                continue
            recs_for_row.append(byname[OTHER[tag]])
            if OTHER[tag] == app:
                fails.append('%s: comparison of an app with itself' % tag)
        elif tag in OTHER:
            fails.append('%s: OTHER spec on a non-comparison row' % tag)
        names_ok = {clean(r.get('nom')) for r in recs_for_row}
        field_hits = collections.Counter()
        for f in body:
            hit = False
            for r in recs_for_row:
                if fact_in(f, r, keys):
                    field_hits[r['id']] += 1
                    hit = True
            if not hit and f not in names_ok:
                fails.append('%s: fact %r not found in %s of %s' % (tag, f, keys, sorted(names_ok)))
        for r in recs_for_row:
            if not field_hits[r['id']] and tag not in NAME_ANSWERS and not (yn and not body):
                fails.append('%s: no fact taken from %s of %s' % (tag, keys, clean(r.get('nom'))))
        if kind == 'one_contact' and tag not in RESTRICT:
            fails.append('%s: one_contact row without a RESTRICT role' % tag)
        if tag in RESTRICT:
            allowed = set(values(rec, RESTRICT[tag]))
            for f in body:
                if f not in allowed and f not in names_ok:
                    fails.append('%s: fact %r is not the %s (%s)' % (tag, f, RESTRICT[tag], sorted(allowed)))
        if tag == 'fin-044':  # "laquelle est la plus ancienne" -> recompute
            def d(r):
                x = values(r, 'event:Mise en production')[0].split('/')
                return (x[2], x[1], x[0])
            oldest = min(recs_for_row, key=d)
            if clean(oldest['nom']) not in body:
                fails.append('%s: oldest application should be %s' % (tag, clean(oldest['nom'])))

    # ---- specs must point at rows
    for spec_name, spec in (('FIELDS', FIELDS), ('OTHER', OTHER), ('RESTRICT', RESTRICT), ('YESNO', YESNO), ('ABSENT', ABSENT),
                            ('LISTS', specs), ('NAME_ANSWERS', dict.fromkeys(NAME_ANSWERS))):
        for k in spec:
            if k not in ids_seen:
                fails.append('%s spec %s refers to no row' % (spec_name, k))

    # ---- set-level rules
    n = len(rows)
    if n < 150:
        fails.append('only %d rows (< 150)' % n)
    if len(set(ids_seen)) != len(ids_seen):
        fails.append('duplicate ids')
    good = [r for r in rows if isinstance(r, dict) and set(r.keys()) == set(KEYS)]
    apps = {r['app_id'] for r in good if r['app_id']}
    if len(apps) < 40:
        fails.append('only %d applications covered (< 40)' % len(apps))
    missing = set(CATEGORIES) - {r['category'] for r in good}
    if missing:
        fails.append('categories never used: %s' % sorted(missing))
    per = collections.Counter(r['persona'] for r in good)
    for p in (1, 2, 3, 4):
        if abs(per[p] - n / 4.0) > 1:
            fails.append('persona %d has %d rows, not a quarter of %d' % (p, per[p], n))
    # persona style
    en = re.compile(r"\b(what|which|who|when|where|how|is|does|can|give|tell|list|forget|ignore|anything|need|compare)\b", re.I)
    for r in good:
        q = r['question']
        if r['persona'] == 1 and (q != q.lower() or re.search(r'[àâäéèêëîïôöùûüç]', q)):
            fails.append('%s: persona 1 question should be lowercase without accents' % r['id'])
        if r['persona'] == 2 and len(q.split()) < 8:
            fails.append('%s: persona 2 question too short for a formal auditor' % r['id'])
        if r['persona'] == 3 and not en.search(q):
            fails.append('%s: persona 3 question does not look English' % r['id'])
    # skeletons
    names = sorted({clean(r.get(k)).lower() for r in recs for k in ('nom', 'nom long') if clean(r.get(k))},
                   key=len, reverse=True)
    names = [unicodedata.normalize('NFKD', x) for x in names]
    names = [''.join(c for c in x if not unicodedata.combining(c)) for x in names]
    sk = collections.Counter(skeleton(r['question'], names) for r in good)
    for s, c in sk.items():
        if c > 2:
            fails.append('question skeleton used %d times: %r' % (c, s))
    return fails


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--questions', default=DEFAULT_QUESTIONS)
    ap.add_argument('--catalog', default=DEFAULT_CATALOG)
    a = ap.parse_args()
    with open(a.catalog, encoding='utf-8') as f:
        data = json.load(f)
    recs = data['applicationsia mini'] if isinstance(data, dict) else data
    rows, fails = [], []
    with open(a.questions, encoding='utf-8') as f:
        for ln, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                fails.append('line %d: invalid JSON (%s)' % (ln, e))
                rows.append(None)
    fails += check(rows, recs)
    if fails:
        print('FAIL: %d problem(s) in %s' % (len(fails), a.questions))
        for x in fails:
            print('  - ' + x)
        return 1
    good = [r for r in rows if r]
    print('OK: %d questions, %d applications, %d categories, %d kinds, personas %s' % (
        len(good), len({r['app_id'] for r in good if r['app_id']}), len({r['category'] for r in good}),
        len({r['kind'] for r in good}), dict(sorted(collections.Counter(r['persona'] for r in good).items()))))
    return 0


if __name__ == '__main__':
    sys.exit(main())
