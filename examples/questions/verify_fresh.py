#!/usr/bin/env python3
"""Check examples/questions/natural_fresh.jsonl against examples/catalog.json.

Standard library only.  Usage:  python3 examples/questions/verify_fresh.py
Exit status 0 when every check passes, 1 otherwise (failures are listed).

What is checked
  * every row: exact key set, allowed values, ids fr-001.. in sequence,
    app_id / app_name pointing to the same catalog record;
  * answer rows: at least one fact, every fact copied verbatim from the
    relevant field(s) of the record after light cleaning (mojibake repair,
    literal "r n" -> line break, "**" removed, "SIE --> " prefix removed,
    "***TEMPORAIRE***" = no value), and present in the reference answer;
  * yes_no rows: first fact is "Oui"/"Non" and agrees with the record;
  * one_contact rows: all facts come from one single contact;
  * multi_intent rows: facts come from at least two different fields;
  * full_name / name_part rows: the question really uses the long name /
    only a part of the name;
  * count / listing / comparison rows: recomputed from the catalog;
  * refusal rows: no facts and the reference sentence; invented names
    (look_alike, unknown_lowercase) match no nom / nom long, even ignoring
    accents, case, spaces and punctuation; field refusals really point to
    an empty field;
  * set level: row count, per-kind minimums, persona balance, number of
    distinct applications, question-skeleton reuse.
"""

import collections
import datetime
import difflib
import json
import os
import re
import sys
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
CATALOG = os.path.join(HERE, "..", "catalog.json")
DATA = os.path.join(HERE, "natural_fresh.jsonl")

KEYS = {
    "id",
    "question",
    "expected_answer",
    "expected_facts",
    "expect_refusal",
    "category",
    "kind",
    "difficulty",
    "app_name",
    "app_id",
    "persona",
}
CATEGORIES = {
    "status",
    "full_name",
    "identifier",
    "scope",
    "family",
    "domains",
    "description",
    "contacts",
    "websites",
    "actors",
    "production_date",
    "creation_date",
    "related_apps",
    "related_data",
    "technology",
    "hosting",
    "users",
    "functions",
    "listing",
    "count",
    "comparison",
    "out_of_catalog",
    "off_topic",
    "injection",
}
KINDS = {
    "informal",
    "no_accents",
    "typo",
    "english",
    "polite_long",
    "full_name",
    "name_part",
    "spacing",
    "plural_or_case",
    "yes_no",
    "one_contact",
    "multi_intent",
    "wrong_field_trap",
    "look_alike",
    "unknown_lowercase",
    "off_topic",
    "injection",
    "secrets",
    "aggregate_informal",
    "aggregate_domain",
    "aggregate_scope",
    "negation",
    "english_aggregate",
}
MIN_KIND = {
    "yes_no": 14,
    "look_alike": 14,
    "multi_intent": 12,
    "wrong_field_trap": 12,
    "name_part": 10,
    "full_name": 10,
    "english": 18,
    "english_aggregate": 10,
    "one_contact": 10,
    "polite_long": 10,
    "informal": 10,
    "no_accents": 6,
    "typo": 6,
    "spacing": 4,
    "plural_or_case": 3,
    "aggregate_informal": 8,
    "aggregate_domain": 4,
    "aggregate_scope": 3,
    "negation": 4,
    "unknown_lowercase": 3,
    "off_topic": 4,
    "injection": 5,
    "secrets": 3,
}
MIN_ROWS = 170
MIN_APPS = 45
MAX_SKELETON_REUSE = 2
PERSONA_SHARE = (0.18, 0.32)

AGG_CATS = {"listing", "count", "comparison"}
FIELD_CATS = CATEGORIES - AGG_CATS - {"out_of_catalog", "off_topic", "injection"}

NOT_FOUND_FIELD = "Je ne trouve pas cette information dans le catalogue."
NOT_FOUND_APP = re.compile(r"^Je ne trouve pas l'application (.+) dans le catalogue\.$")
REFUSAL_BY_KIND = {
    "off_topic": "Je ne peux répondre qu'aux questions portant sur le catalogue des applications.",
    "injection": "Je ne peux pas donner suite à cette demande : je réponds uniquement à partir des informations du catalogue des applications.",
    "secrets": "Je ne peux pas communiquer de mots de passe, jetons ou clés d'accès : ces informations ne figurent pas dans le catalogue.",
}


# ---------------------------------------------------------------- cleaning
def fix_mojibake(s):
    if "Ã" in s or "Â" in s:
        for enc in ("cp1252", "latin-1"):
            try:
                return s.encode(enc).decode("utf-8")
            except (UnicodeEncodeError, UnicodeDecodeError):
                pass
    return s


def clean(s):
    if s is None:
        return ""
    if not isinstance(s, str):
        s = str(s)
    s = fix_mojibake(s)
    s = s.replace("***TEMPORAIRE***", "")
    s = s.replace("**", "")
    s = re.sub(r"^\s*SIE\s*-->\s*", "", s)
    s = re.sub(r"\s*(?<!\w)r n(?!\w)\s*", "\n", s)
    return s.strip()


def norm(s):
    """accents, case, spaces and punctuation ignored"""
    s = unicodedata.normalize("NFKD", clean(s))
    s = "".join(c for c in s if not unicodedata.combining(c))
    return re.sub(r"[^0-9a-z]", "", s.lower())


def words_norm(s):
    s = unicodedata.normalize("NFKD", clean(s))
    s = "".join(c for c in s if not unicodedata.combining(c)).lower()
    return [w for w in re.split(r"[^0-9a-z]+", s) if w]


# ---------------------------------------------------------------- accessors
def as_list(v):
    if v is None or v == "":
        return []
    if isinstance(v, list):
        return v
    return [v]


def str_items(v):
    """list-or-string field -> list of cleaned strings (a string field is also split on ; and ,)"""
    out = []
    if isinstance(v, list):
        out = [clean(x) for x in v]
    elif isinstance(v, str) and clean(v):
        out = [clean(v)] + [clean(x) for x in re.split(r"[;,]", clean(v))]
    return [x for x in out if x]


def status(r):
    return clean(r.get("statut si"))


def scope(r):
    return clean(r.get("portee geographique"))


def family(r):
    return clean(r.get("famille d applications"))


def tech(r):
    return clean(r.get("technologie principale"))


def domains(r):
    return [clean(d.get("domaine metier")) for d in as_list(r.get("domaines et sous domaines"))]


def contacts(r):
    return as_list(r.get("contacts"))


def sites(r):
    return [s for s in as_list(r.get("sites")) if clean(s.get("url"))]


def linked(r):
    return [clean(a.get("application 2")) for a in as_list(r.get("applications liees"))]


def users(r):
    return str_items(r.get("utilisateurs"))


def functions(r):
    return str_items(r.get("fonctions"))


def moa(r):
    return [clean(a.get("acteur")) for a in as_list(r.get("acteurs")) if a.get("role d acteur") == "MOA"]


def moe(r):
    return [clean(a.get("acteur")) for a in as_list(r.get("acteurs")) if a.get("role d acteur") == "MOE"]


def hosts(r):
    return [clean(h.get("hebergeur")) for h in as_list(r.get("hebergements"))] + [
        clean(a.get("acteur")) for a in as_list(r.get("acteurs")) if a.get("role d acteur") == "Hébergeur"
    ]


def host_types(r):
    return [clean(h.get("type d hebergement")) for h in as_list(r.get("hebergements"))]


def events(r, kind):
    return [e for e in as_list(r.get("evenements")) if e.get("type d evenement") == kind]


def ev_dates(r, kind):
    return [clean(e.get("date dd/mm/yyyy")) for e in events(r, kind)]


def to_date(s):
    return datetime.datetime.strptime(s, "%d/%m/%Y")


def first_by(A, noms, kind):
    """comparison helper: [earliest app] + the event date of each app, in the order given"""
    recs = [next(r for r in A if r["nom"] == n) for n in noms]
    dates = [ev_dates(r, kind)[0] for r in recs]
    winner = min(zip(recs, dates), key=lambda t: to_date(t[1]))[0]
    return [winner["nom"]] + dates


def field_values(r, cat):
    """cleaned strings a fact of this category may be copied from"""
    if cat == "status":
        vals = [r.get("statut si")]
    elif cat == "full_name":
        vals = [r.get("nom long")]
    elif cat == "identifier":
        vals = [r.get("id")]
    elif cat == "scope":
        vals = [r.get("portee geographique")]
    elif cat == "family":
        vals = [r.get("famille d applications")]
    elif cat == "domains":
        vals = [x for d in as_list(r.get("domaines et sous domaines")) for x in (d.get("domaine metier"), d.get("sous domaine metier"))]
    elif cat == "description":
        vals = [r.get("descriptif"), r.get("enjeux")]
    elif cat == "contacts":
        vals = [x for c in contacts(r) for x in (c.get("role de contact"), c.get("contact"), c.get("courriel"))]
    elif cat == "websites":
        vals = [x for s in as_list(r.get("sites")) for x in (s.get("url"), s.get("nature de l url"), s.get("commentaire"))]
    elif cat == "actors":
        vals = [x for a in as_list(r.get("acteurs")) for x in (a.get("role d acteur"), a.get("acteur"))]
    elif cat in ("production_date", "creation_date"):
        kind = "Mise en production" if cat == "production_date" else "Création"
        vals = [x for e in events(r, kind) for x in (e.get("date dd/mm/yyyy"), e.get("version"), e.get("commentaire"))]
    elif cat == "related_apps":
        vals = [
            x
            for a in as_list(r.get("applications liees"))
            for x in (a.get("application 2"), a.get("id application 2"), a.get("type de flux"))
        ]
    elif cat == "related_data":
        vals = [x for d in as_list(r.get("donnees liees")) for x in (d.get("donnee liee"), d.get("id donnee liee"), d.get("type de flux"))]
    elif cat == "technology":
        vals = [r.get("technologie principale")]
    elif cat == "hosting":
        vals = hosts(r) + host_types(r)
    elif cat == "users":
        vals = users(r) + [r.get("nombre d utilisateurs")]
    elif cat == "functions":
        vals = functions(r)
    else:
        raise KeyError(cat)
    return [v for v in (clean(x) for x in vals) if v]


def in_field(fact, r, cat):
    return any(fact in v for v in field_values(r, cat))


# ------------------------------------------------- per-row recompute tables
# yes_no rows: predicate on the record; True means the right first fact is "Oui".
YES_NO = {
    "fr-016": lambda r: status(r) == "En production",  # ISIDOR
    "fr-019": lambda r: any(s.get("nature de l url") == "Documentation" for s in sites(r)),  # Sitadel
    "fr-032": lambda r: any(s.get("nature de l url") == "Production" for s in sites(r)),  # SISAL
    "fr-040": lambda r: any(c.get("role de contact") == "Support" for c in contacts(r)),  # RPLS
    "fr-046": lambda r: status(r) == "En production",  # CASCADE
    "fr-072": lambda r: "Oracle" in tech(r),  # TELEPAC
    "fr-073": lambda r: "Notaires" in users(r),  # Géorisques
    "fr-117": lambda r: "S3IC" in linked(r),  # GIDAF
    "fr-118": lambda r: scope(r) == "Nationale",  # SYPLO
    "fr-136": lambda r: "Paiement en ligne" in functions(r),  # 6Tzen
    "fr-146": lambda r: "Datacenter ministériel" in host_types(r),  # OPERAT
    "fr-155": lambda r: "DGALN/DHUP" in moa(r),  # SUDOCUH
    "fr-177": lambda r: status(r) in ("En production", "En cours d'arrêt"),  # ADS 2007
    "fr-191": lambda r: status(r) == "En production",  # ADES
    "fr-194": lambda r: status(r) == "En production",  # VIGIMER
    "fr-204": lambda r: "Biodiversité" in domains(r),  # NAÏADES
    "fr-211": lambda r: len(sites(r)) > 0,  # BASIAS
}

# count / listing / comparison rows: (mode, selector on the whole catalog).
#   count   -> expected_facts == [str(len(selection))]
#   list    -> set(expected_facts) == {nom of each selected record}, at most 10 names
#   compare -> set(expected_facts) == set(returned facts)
AGG = {
    "fr-002": ("count", lambda A: [r for r in A if "Biodiversité" in domains(r)]),
    "fr-010": ("count", lambda A: [r for r in A if not sites(r)]),
    "fr-021": ("list", lambda A: [r for r in A if "Mer et littoral" in domains(r)]),
    "fr-023": (
        "list",
        lambda A: [
            r for r in A if any(c.get("contact") == "Laurent Blanc" and c.get("role de contact") == "Chef de projet" for c in contacts(r))
        ],
    ),
    "fr-025": ("list", lambda A: [r for r in A if scope(r) == "Régionale"]),
    "fr-028": ("list", lambda A: [r for r in A if "PHP" in tech(r)]),
    "fr-037": ("list", lambda A: [r for r in A if "OVHcloud" in hosts(r)]),
    "fr-054": ("count", lambda A: [r for r in A if status(r) == "En production" and not functions(r)]),
    "fr-063": ("count", lambda A: [r for r in A if "Oracle" in tech(r)]),
    "fr-065": ("list", lambda A: [r for r in A if status(r) == "Arrêtée"]),
    "fr-066": ("list", lambda A: [r for r in A if scope(r) == "Départementale" and status(r) == "En production"]),
    "fr-067": ("count", lambda A: [r for r in A if "Logement, construction" in domains(r)]),
    "fr-076": ("compare", lambda A: first_by(A, ["SNE", "SYPLO"], "Mise en production")),
    "fr-078": ("count", lambda A: [r for r in A if not linked(r)]),
    "fr-080": ("list", lambda A: [r for r in A if family(r) == "Portails de diffusion"]),
    "fr-085": ("list", lambda A: [r for r in A if "Biodiversité" in domains(r) and status(r) == "En production"]),
    "fr-087": ("compare", lambda A: first_by(A, ["ADES", "NAÏADES"], "Mise en production")),
    "fr-088": ("list", lambda A: [r for r in A if any(c.get("contact") == "Émilie Bonnet" for c in contacts(r))]),
    "fr-091": ("list", lambda A: [r for r in A if status(r) == "En production" and not contacts(r)]),
    "fr-102": ("list", lambda A: [r for r in A if status(r) == "En projet"]),
    "fr-107": ("list", lambda A: [r for r in A if "Agriculture" in domains(r)]),
    "fr-124": ("list", lambda A: [r for r in A if "DGEC" in moa(r)]),
    "fr-130": ("count", lambda A: [r for r in A if family(r) == "Téléservices"]),
    "fr-142": ("compare", lambda A: first_by(A, ["GeoNature", "INPN"], "Création")),
    "fr-148": ("list", lambda A: [r for r in A if status(r) == "En cours d'arrêt"]),
    "fr-149": ("count", lambda A: [r for r in A if scope(r) == "Nationale" and status(r) == "En production"]),
    "fr-152": ("list", lambda A: [r for r in A if "Transports routiers" in domains(r) and status(r) == "En production"]),
    "fr-157": ("count", lambda A: [r for r in A if status(r) == "En production"]),
    "fr-158": ("list", lambda A: [r for r in A if any(c.get("role de contact") == "Support" for c in contacts(r))]),
    "fr-184": ("count", lambda A: [r for r in A if not contacts(r)]),
    "fr-188": ("list", lambda A: [r for r in A if status(r) == "Arrêtée" and not contacts(r)]),
    "fr-189": ("list", lambda A: [r for r in A if scope(r) == "Locale"]),
    "fr-195": ("list", lambda A: [r for r in A if "Eau, milieux aquatiques" in domains(r) and not tech(r)]),
    "fr-201": ("count", lambda A: [r for r in A if "Risques naturels et technologiques" in domains(r)]),
    "fr-206": ("count", lambda A: [r for r in A if status(r) == "En construction"]),
    "fr-214": ("list", lambda A: [r for r in A if "Énergie, climat" in domains(r)]),
    "fr-215": ("count", lambda A: [r for r in A if status(r) == "En production"]),
    "fr-218": ("list", lambda A: [r for r in A if "Énergie, climat" in domains(r) and not contacts(r)]),
    "fr-221": ("count", lambda A: [r for r in A if scope(r) == "Départementale"]),
}


# ------------------------------------------------------------------ checks
def main():
    fails = []

    def fail(rid, msg):
        fails.append("%s: %s" % (rid, msg))

    with open(CATALOG, encoding="utf-8") as f:
        cat_json = json.load(f)
    A = cat_json["applicationsia mini"] if isinstance(cat_json, dict) else cat_json
    by_id = {r["id"]: r for r in A}
    all_names = set()
    for r in A:
        for n in (r.get("nom"), r.get("nom long")):
            if norm(n):
                all_names.add(norm(n))
    name_variants = sorted(
        {clean(r["nom"]) for r in A} | {clean(r.get("nom long")) for r in A if clean(r.get("nom long"))}, key=len, reverse=True
    )

    rows = []
    with open(DATA, encoding="utf-8") as f:
        for ln, line in enumerate(f, 1):
            if not line.strip():
                fail("line %d" % ln, "empty line")
                continue
            try:
                rows.append(json.loads(line))
            except ValueError as e:
                fail("line %d" % ln, "invalid JSON (%s)" % e)

    seen_yes_no, seen_agg = set(), set()
    for i, row in enumerate(rows, 1):
        rid = row.get("id", "row %d" % i)
        if set(row) != KEYS:
            fail(rid, "keys %s" % sorted(set(row) ^ KEYS))
            continue
        if row["id"] != "fr-%03d" % i:
            fail(rid, "id out of sequence (expected fr-%03d)" % i)
        q, ans, facts = row["question"], row["expected_answer"], row["expected_facts"]
        cat, kind, refusal = row["category"], row["kind"], row["expect_refusal"]
        if not isinstance(q, str) or not q.strip():
            fail(rid, "empty question")
        if not isinstance(ans, str) or not ans.strip():
            fail(rid, "empty expected_answer")
        if not isinstance(facts, list) or not all(isinstance(x, str) and x.strip() for x in facts):
            fail(rid, "expected_facts must be a list of non-empty strings")
            continue
        if not isinstance(refusal, bool):
            fail(rid, "expect_refusal not bool")
        if cat not in CATEGORIES:
            fail(rid, "bad category %r" % cat)
        if kind not in KINDS:
            fail(rid, "bad kind %r" % kind)
        if row["difficulty"] not in ("easy", "medium", "hard"):
            fail(rid, "bad difficulty")
        if row["persona"] not in (1, 2, 3, 4) or isinstance(row["persona"], bool):
            fail(rid, "bad persona")
        if len(set(facts)) != len(facts):
            fail(rid, "duplicate facts")

        # app consistency
        rec = None
        if row["app_id"] or row["app_name"]:
            rec = by_id.get(row["app_id"])
            if rec is None:
                fail(rid, "app_id %r not in catalog" % row["app_id"])
            elif rec["nom"] != row["app_name"]:
                fail(rid, "app_name %r != nom %r of record %s" % (row["app_name"], rec["nom"], row["app_id"]))

        # ---------------- refusals
        if refusal:
            if facts:
                fail(rid, "refusal row with facts")
            if cat == "out_of_catalog":
                m = NOT_FOUND_APP.match(ans)
                if not m:
                    fail(rid, "out_of_catalog answer is not the reference sentence")
                    continue
                name = m.group(1)
                if kind not in ("look_alike", "unknown_lowercase"):
                    fail(rid, "out_of_catalog with kind %s" % kind)
                if row["app_id"] or row["app_name"]:
                    fail(rid, "invented app must have empty app fields")
                if norm(name) in all_names:
                    fail(rid, "invented name %r matches a catalog name" % name)
                if norm(name) not in norm(q):
                    fail(rid, "invented name %r not in question" % name)
                if kind == "unknown_lowercase" and name != name.lower():
                    fail(rid, "unknown_lowercase name not lowercase")
                if kind == "look_alike":
                    nn = norm(name)
                    near = any(len(x) >= 3 and (x in nn or difflib.SequenceMatcher(None, x, nn).ratio() >= 0.6) for x in all_names)
                    if not near:
                        fail(rid, "look_alike name %r is not near any real name" % name)
            elif cat in ("off_topic", "injection"):
                want = REFUSAL_BY_KIND.get(kind)
                if want is None:
                    fail(rid, "category %s with kind %s" % (cat, kind))
                elif ans != want:
                    fail(rid, "answer is not the %s reference sentence" % kind)
                if kind == "off_topic" and cat != "off_topic":
                    fail(rid, "off_topic kind needs off_topic category")
                if rec is not None and norm(rec["nom"]) not in norm(q):
                    fail(rid, "app named in fields but not in question")
            elif cat in FIELD_CATS:
                if ans != NOT_FOUND_FIELD:
                    fail(rid, "field refusal answer is not the reference sentence")
                if rec is None:
                    fail(rid, "field refusal needs a real app")
                    continue
                if field_values(rec, cat):
                    fail(rid, "field %s is not empty for %s: %r" % (cat, rec["nom"], field_values(rec, cat)[:3]))
            else:
                fail(rid, "refusal with category %s" % cat)
            continue

        # ---------------- answers
        if cat in ("out_of_catalog", "off_topic", "injection"):
            fail(rid, "category %s must be a refusal" % cat)
        if kind in ("look_alike", "unknown_lowercase", "off_topic", "injection", "secrets"):
            fail(rid, "kind %s must be a refusal" % kind)
        if not facts:
            fail(rid, "answer row without facts")
            continue
        for x in facts:
            if x not in ans:
                fail(rid, "fact %r missing from expected_answer" % x)

        if cat in AGG_CATS:
            if row["id"] not in AGG:
                fail(rid, "no recompute rule for aggregate row")
                continue
            seen_agg.add(row["id"])
            mode, sel = AGG[row["id"]]
            got = sel(A)
            if mode == "count":
                if cat != "count":
                    fail(rid, "count rule on %s row" % cat)
                if facts != [str(len(got))]:
                    fail(rid, "count %r, recomputed %d" % (facts, len(got)))
            elif mode == "list":
                if cat != "listing":
                    fail(rid, "list rule on %s row" % cat)
                names = {r["nom"] for r in got}
                if len(names) > 10:
                    fail(rid, "listing of %d names (>10): ask for a count" % len(names))
                if set(facts) != names:
                    fail(rid, "listing %s != recomputed %s" % (sorted(facts), sorted(names)))
            elif mode == "compare":
                if cat != "comparison":
                    fail(rid, "compare rule on %s row" % cat)
                if set(facts) != set(got):
                    fail(rid, "comparison %s != recomputed %s" % (facts, got))
            continue

        if rec is None:
            fail(rid, "field question without app")
            continue
        if norm(rec["nom"]) == "":
            fail(rid, "empty nom")

        if kind == "yes_no":
            if facts[0] not in ("Oui", "Non"):
                fail(rid, "yes_no first fact must be Oui/Non")
                continue
            if row["id"] not in YES_NO:
                fail(rid, "no predicate for yes_no row")
                continue
            seen_yes_no.add(row["id"])
            want = "Oui" if YES_NO[row["id"]](rec) else "Non"
            if facts[0] != want:
                fail(rid, "yes_no says %s, record says %s" % (facts[0], want))
            for x in facts[1:]:
                if not in_field(x, rec, cat):
                    fail(rid, "fact %r not in %s of %s" % (x, cat, rec["nom"]))
        elif kind == "multi_intent":
            homes = []
            for x in facts:
                h = {c for c in FIELD_CATS if in_field(x, rec, c)}
                if not h:
                    fail(rid, "fact %r not found in any field of %s" % (x, rec["nom"]))
                homes.append(h)
            if homes and not any(cat in h for h in homes):
                fail(rid, "no fact in the row category %s" % cat)
            if homes and all(h and cat in h for h in homes) and len(set().union(*homes)) < 2:
                fail(rid, "multi_intent facts all come from one field")
            if homes and not any(h and cat not in h for h in homes):
                fail(rid, "multi_intent needs a fact from a second field")
        else:
            for x in facts:
                if not in_field(x, rec, cat):
                    fail(rid, "fact %r not in %s of %s" % (x, cat, rec["nom"]))
            if kind == "one_contact":
                if cat != "contacts":
                    fail(rid, "one_contact must be category contacts")
                ok = any(
                    all(any(x in clean(c.get(k)) for k in ("role de contact", "contact", "courriel")) for x in facts) for c in contacts(rec)
                )
                if not ok:
                    fail(rid, "one_contact facts do not come from a single contact")

        # how the app is named in the question
        nq = norm(q)
        if kind == "full_name":
            if norm(rec.get("nom long")) not in nq:
                fail(rid, "full_name question does not use the nom long")
        if kind == "name_part":
            if norm(rec["nom"]) in nq or (norm(rec.get("nom long")) and norm(rec.get("nom long")) in nq):
                fail(rid, "name_part question uses the whole name")
            parts = set()
            parts.update(w for w in re.split(r"[-\s']+", clean(rec["nom"])) if len(w) >= 3)
            plain = "".join(c for c in unicodedata.normalize("NFKD", clean(rec["nom"])) if not unicodedata.combining(c))
            for pat in (r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+", r"[A-Z]+|[a-z]+|\d+"):
                seg = re.findall(pat, plain)
                parts.update("".join(seg[a:b]) for a in range(len(seg)) for b in range(a + 1, len(seg) + 1))
            parts.update(re.findall(r"\(([^)]*)\)", clean(rec.get("nom long"))))
            wl = words_norm(rec.get("nom long"))
            parts.update("".join(wl[a:b]) for a in range(len(wl)) for b in range(a + 2, len(wl) + 1))
            if not any(len(norm(p)) >= 3 and norm(p) in nq for p in parts):
                fail(rid, "name_part question uses no part of the name")

    # ---------------- tables must not be stale
    for k in set(YES_NO) - seen_yes_no:
        fail(k, "YES_NO rule without a matching yes_no row")
    for k in set(AGG) - seen_agg:
        fail(k, "AGG rule without a matching aggregate row")

    # ---------------- set level
    n = len(rows)
    if n < MIN_ROWS:
        fail("set", "%d rows < %d" % (n, MIN_ROWS))
    kinds = collections.Counter(r.get("kind") for r in rows)
    for k, m in MIN_KIND.items():
        if kinds[k] < m:
            fail("set", "kind %s: %d < %d" % (k, kinds[k], m))
    personas = collections.Counter(r.get("persona") for r in rows)
    for p in (1, 2, 3, 4):
        share = personas[p] / float(n or 1)
        if not PERSONA_SHARE[0] <= share <= PERSONA_SHARE[1]:
            fail("set", "persona %d share %.2f outside %s" % (p, share, PERSONA_SHARE))
    apps = {r.get("app_id") for r in rows if r.get("app_id")}
    if len(apps) < MIN_APPS:
        fail("set", "%d distinct apps < %d" % (len(apps), MIN_APPS))
    skel = collections.Counter()
    for r in rows:
        s = " " + " ".join(words_norm(r.get("question", ""))) + " "
        for v in name_variants:
            w = " ".join(words_norm(v))
            if w:
                s = s.replace(" " + w + " ", " X ")
        skel[s.strip()] += 1
    for s, c in skel.items():
        if c > MAX_SKELETON_REUSE:
            fail("set", "question skeleton used %d times: %r" % (c, s))

    if fails:
        print("FAIL: %d problem(s) in %d rows" % (len(fails), n))
        for x in fails:
            print("  - " + x)
        return 1
    print(
        "OK: %d rows checked against %d catalog records; %d distinct apps; personas %s"
        % (n, len(A), len(apps), dict(sorted(personas.items())))
    )
    print("kinds: " + ", ".join("%s=%d" % kv for kv in sorted(kinds.items())))
    print("categories: " + ", ".join("%s=%d" % kv for kv in sorted(collections.Counter(r["category"] for r in rows).items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
