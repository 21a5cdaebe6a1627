#!/usr/bin/env python3
"""Check examples/questions/natural_holdout.jsonl against the raw catalog.

Standard library only.  Run from the repository root:

    python examples/questions/verify_holdout.py
    python examples/questions/verify_holdout.py --file other.jsonl --catalog other.json

Every row is checked; the script prints counts per kind and per category and
exits 1 listing every failing row.

Light cleaning applied to catalog values before comparing them with facts:
mojibake repaired (``s.encode('latin-1').decode('utf-8')``), literal ``r n``
token turned into a line break, ``**`` removed, ``SIE --> `` prefix removed,
whitespace collapsed.  Placeholder values (``***TEMPORAIRE***``) count as empty
and can never be facts.  Broken URLs (punctuation replaced by spaces) can never
be facts.

Domain aggregates count an application when *any* of its domains matches; the
script also checks that counting only the *first* domain gives the same
answer, so that only unambiguous domains are used.
"""
import argparse
import collections
import json
import os
import re
import sys
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_FILE = os.path.join(HERE, "natural_holdout.jsonl")
DEFAULT_CATALOG = os.path.join(HERE, "..", "catalog.json")

KEYS = ["id", "question", "expected_answer", "expected_facts", "expect_refusal",
        "category", "kind", "difficulty", "app_name", "app_id"]
CATEGORIES = {"status", "full_name", "identifier", "scope", "family", "domains", "description",
              "contacts", "websites", "actors", "production_date", "creation_date", "related_apps",
              "related_data", "technology", "hosting", "users", "functions", "listing", "count",
              "comparison", "out_of_catalog", "off_topic", "injection"}
TARGET_KINDS = {"informal": 16, "no_accents": 8, "typo": 12, "english": 16, "polite_long": 8,
                "full_name": 10, "name_part": 6, "spacing": 6, "plural_or_case": 5, "yes_no": 10,
                "one_contact": 8, "multi_intent": 8, "wrong_field_trap": 8, "look_alike": 6,
                "unknown_lowercase": 5, "off_topic": 6, "injection": 6, "secrets": 4,
                "aggregate_informal": 5, "aggregate_domain": 5, "aggregate_scope": 3,
                "negation": 4, "english_aggregate": 4}
KINDS = set(TARGET_KINDS)
DIFFICULTIES = {"easy", "medium", "hard"}
REFUSAL_CATEGORIES = {"out_of_catalog", "off_topic", "injection"}
REFUSAL_KINDS = {"unknown_lowercase", "off_topic", "injection", "secrets"}
AGGREGATE_CATEGORIES = {"listing", "count"}
AGGREGATE_KINDS = {"aggregate_informal", "aggregate_domain", "aggregate_scope", "negation",
                   "english_aggregate"}
NOT_FOUND = "Je ne trouve pas cette information dans le catalogue."
UNKNOWN_RE = re.compile(r"^Je ne trouve pas l'application (.+) dans le catalogue\.$")
ENGLISH_WORDS = {"what", "what's", "who", "who's", "which", "when", "where", "how", "can", "is",
                 "are", "the", "does", "list", "i", "please", "give", "me"}
MIN_APPS = 45
MIN_ROWS = 160

# ----------------------------------------------------------------------------
# cleaning


def fix_mojibake(s):
    if "Ã" in s or "Â" in s:
        for enc in ("latin-1", "cp1252"):
            try:
                return s.encode(enc).decode("utf-8")
            except (UnicodeEncodeError, UnicodeDecodeError):
                continue
    return s


def clean(s):
    if s is None:
        return ""
    if not isinstance(s, str):
        s = str(s)
    s = fix_mojibake(s)
    s = re.sub(r"(?<=\s)r n(?=\s)", "\n", s)
    s = s.replace("**", "")
    s = re.sub(r"^\s*SIE\s*-->\s*", "", s)
    if "TEMPORAIRE" in s:
        return ""
    return s.strip()


def ws(s):
    return re.sub(r"\s+", " ", s).strip()


def strip_accents(s):
    return "".join(c for c in unicodedata.normalize("NFD", s) if unicodedata.category(c) != "Mn")


def norm(s):
    """accent-, case- and punctuation-insensitive form"""
    return re.sub(r"[^a-z0-9]", "", strip_accents(s).lower())


def loose(s):
    return ws(re.sub(r"[^a-z0-9 ]", " ", strip_accents(s).lower()))


def has_accent(s):
    return any(unicodedata.category(c) == "Mn" for c in unicodedata.normalize("NFD", s))


def as_list(v):
    if v is None:
        return []
    if isinstance(v, list):
        return v
    if isinstance(v, str):
        return [x.strip() for x in re.split(r"[;,]", v) if x.strip()]
    return [v]


# ----------------------------------------------------------------------------
# record accessors


def status(r):
    return clean(r.get("statut si"))


def family(r):
    return clean(r.get("famille d applications"))


def domains(r):
    return [clean(d.get("domaine metier")) for d in r.get("domaines et sous domaines") or []]


def first_domain(r):
    d = domains(r)
    return d[0] if d else ""


def event_dates(r, etype):
    return [clean(e.get("date dd/mm/yyyy")) for e in r.get("evenements") or []
            if clean(e.get("type d evenement")) == etype]


def contacts(r):
    return [(clean(c.get("role de contact")), clean(c.get("contact")), clean(c.get("courriel")))
            for c in r.get("contacts") or []]


def actors(r, role=None):
    return [clean(a.get("acteur")) for a in r.get("acteurs") or []
            if role is None or clean(a.get("role d acteur")) == role]


def valid_url(u):
    return bool(re.match(r"^https?://\S+$", u))


def tech(r):
    return clean(r.get("technologie principale"))


def hosting_values(r):
    vals = []
    for h in r.get("hebergements") or []:
        vals += [clean(h.get("hebergeur")), clean(h.get("type d hebergement"))]
    vals += actors(r, "Hébergeur")
    return [v for v in vals if v]


def field_values(r, cat):
    """(values, mode) for a category; mode 'exact' or 'substr'"""
    if cat == "status":
        return [status(r)], "exact"
    if cat == "full_name":
        return [clean(r.get("nom long")), clean(r.get("nom"))], "exact"
    if cat == "identifier":
        return [clean(r.get("id"))], "exact"
    if cat == "scope":
        return [clean(r.get("portee geographique"))], "exact"
    if cat == "family":
        return [family(r)], "exact"
    if cat == "domains":
        vals = []
        for d in r.get("domaines et sous domaines") or []:
            vals += [clean(d.get("domaine metier")), clean(d.get("sous domaine metier"))]
        return vals, "exact"
    if cat == "description":
        return [clean(r.get("descriptif"))], "substr"
    if cat == "contacts":
        return [c[2] for c in contacts(r)], "exact"
    if cat == "websites":
        return [clean(s.get("url")) for s in r.get("sites") or [] if valid_url(clean(s.get("url")))], "exact"
    if cat == "actors":
        return actors(r), "exact"
    if cat == "production_date":
        return event_dates(r, "Mise en production"), "exact"
    if cat == "creation_date":
        return event_dates(r, "Création"), "exact"
    if cat == "related_apps":
        vals = []
        for a in r.get("applications liees") or []:
            vals += [clean(a.get("application 2")), clean(a.get("type de flux"))]
        return vals, "exact"
    if cat == "related_data":
        vals = []
        for d in r.get("donnees liees") or []:
            vals += [clean(d.get("donnee liee")), clean(d.get("id donnee liee")), clean(d.get("type de flux"))]
        return vals, "exact"
    if cat == "technology":
        return [tech(r)], "exact"
    if cat == "hosting":
        return hosting_values(r), "exact"
    if cat == "users":
        u = r.get("utilisateurs")
        if isinstance(u, str):
            return [clean(u)], "substr"
        return [clean(x) for x in u or []], "exact"
    if cat == "functions":
        return [clean(x) for x in as_list(r.get("fonctions"))], "exact"
    return [], "exact"


def fact_in(fact, values, mode):
    f = ws(fact)
    vals = [ws(v) for v in values if v]
    if mode == "substr":
        return any(f in v for v in vals)
    return f in vals


# ----------------------------------------------------------------------------
# per-row specifications (the second, independent statement of the truth)

# multi_intent rows: the fields the facts come from; every field must give >= 1 fact
MULTI_FIELDS = {
    "hold-106": ["status", "websites"],
    "hold-107": ["contacts", "technology"],
    "hold-108": ["status", "actors"],
    "hold-109": ["production_date", "family"],
    "hold-110": ["status", "websites"],
    "hold-111": ["creation_date", "production_date"],
    "hold-112": ["actors", "related_apps"],
    "hold-113": ["actors", "technology"],
}

# comparison rows: the applications compared and the field compared
COMPARISONS = {
    "hold-004": (["1021", "1022"], "description"),
    "hold-045": (["1010", "1011"], "production_date"),
    "hold-122": (["1001", "1002"], "status"),
}

# yes/no rows on one application: predicate giving the true answer
YESNO = {
    "hold-035": lambda r: status(r) == "En production",
    "hold-064": lambda r: status(r) == "En production",
    "hold-076": lambda r: clean(r.get("portee geographique")) == "Départementale",
    "hold-088": lambda r: status(r) == "En production",
    "hold-089": lambda r: clean(r.get("portee geographique")) == "Nationale",
    "hold-090": lambda r: any(c[0] == "Support" for c in contacts(r)),
    "hold-091": lambda r: "PowerBuilder" in tech(r),
    "hold-092": lambda r: "OVHcloud" in hosting_values(r),
    "hold-093": lambda r: status(r) == "En production",
    "hold-094": lambda r: any(clean(s.get("url")) for s in r.get("sites") or []),
    "hold-095": lambda r: status(r) == "En production",
    "hold-096": lambda r: "DGPR/SRT" in actors(r, "MOA"),
    "hold-097": lambda r: any(clean(a.get("application 2")) == "S3IC" for a in r.get("applications liees") or []),
    "hold-106": lambda r: status(r) == "En production",
    "hold-110": lambda r: status(r) == "En production",
}


def names(recs, pred):
    return [clean(r["nom"]) for r in recs if pred(r)]


def count(recs, pred):
    return [str(len(names(recs, pred)))]


def has_domain(d):
    return lambda r: d in domains(r)


def has_first_domain(d):
    return lambda r: first_domain(r) == d


# aggregate rows: function of the records giving the exact set of facts.
# Domain rows are (any-domain function, first-domain function): both must agree.
AGGREGATES = {
    "hold-149": lambda R: count(R, lambda r: status(r) == "En production"),
    "hold-150": lambda R: names(R, lambda r: status(r) == "Arrêtée"),
    "hold-151": lambda R: count(R, lambda r: status(r) == "En construction"),
    "hold-152": lambda R: names(R, lambda r: status(r) == "En cours d'arrêt"),
    "hold-153": lambda R: names(R, lambda r: tech(r) == "Java / Oracle"),
    "hold-154": (lambda R: count(R, has_domain("Biodiversité")),
                 lambda R: count(R, has_first_domain("Biodiversité"))),
    "hold-155": (lambda R: names(R, has_domain("Mer et littoral")),
                 lambda R: names(R, has_first_domain("Mer et littoral"))),
    "hold-156": (lambda R: count(R, has_domain("Transports routiers")),
                 lambda R: count(R, has_first_domain("Transports routiers"))),
    "hold-157": (lambda R: names(R, has_domain("Énergie, climat")),
                 lambda R: names(R, has_first_domain("Énergie, climat"))),
    "hold-158": (lambda R: names(R, lambda r: has_domain("Fonctions support")(r) and status(r) == "En production"),
                 lambda R: names(R, lambda r: has_first_domain("Fonctions support")(r) and status(r) == "En production")),
    "hold-159": lambda R: count(R, lambda r: clean(r.get("portee geographique")) == "Régionale"),
    "hold-160": lambda R: names(R, lambda r: clean(r.get("portee geographique")) == "Locale"),
    "hold-161": lambda R: count(R, lambda r: clean(r.get("portee geographique")) == "Départementale"
                                and status(r) == "En production"),
    "hold-162": (lambda R: names(R, lambda r: has_domain("Transports routiers")(r) and status(r) != "En production"),
                 lambda R: names(R, lambda r: has_first_domain("Transports routiers")(r) and status(r) != "En production")),
    "hold-163": lambda R: count(R, lambda r: not contacts(r)),
    "hold-164": (lambda R: names(R, lambda r: has_domain("Énergie, climat")(r) and not tech(r)),
                 lambda R: names(R, lambda r: has_first_domain("Énergie, climat")(r) and not tech(r))),
    "hold-165": lambda R: (lambda L: (["Oui"] + L) if L else ["Non"])(
        names(R, lambda r: family(r) == "Référentiels" and status(r) != "En production")),
    "hold-166": lambda R: count(R, lambda r: status(r) == "En projet"),
    "hold-167": lambda R: names(R, lambda r: "DGEC" in actors(r, "MOA")),
    "hold-168": lambda R: count(R, lambda r: family(r) == "Téléservices"),
    "hold-169": lambda R: names(R, lambda r: family(r) == "Portails de diffusion"),
}

ROLE_PATTERNS = [
    ("Support", re.compile(r"support|suport|assistance|helpdesk", re.I)),
    ("Responsable d'application", re.compile(r"responsable|application manager", re.I)),
    ("Chef de projet", re.compile(r"chef(fe)? de projet|chef projet|project manager", re.I)),
]


def asked_roles(question):
    return [role for role, pat in ROLE_PATTERNS if pat.search(question)]


# ----------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--file", default=DEFAULT_FILE)
    ap.add_argument("--catalog", default=DEFAULT_CATALOG)
    args = ap.parse_args()

    with open(args.catalog, encoding="utf-8") as fh:
        raw = json.load(fh)
    recs = raw["applicationsia mini"] if isinstance(raw, dict) else raw
    by_id = {str(r["id"]): r for r in recs}
    all_names = set()
    for r in recs:
        for v in (r.get("nom"), r.get("nom long")):
            if clean(v):
                all_names.add(norm(clean(v)))
                all_names.add(norm(v))

    errors = collections.defaultdict(list)
    rows = []
    with open(args.file, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                errors[f"line {lineno}"].append(f"invalid JSON: {exc}")

    seen_ids = set()
    apps_covered = set()   # applications a question is asked about (app_id or compared)
    apps_in_lists = set()  # applications that appear in aggregate answers
    skeletons = collections.defaultdict(list)
    by_kind = collections.Counter()
    by_cat = collections.Counter()

    # names to blank out when computing sentence skeletons
    name_list = sorted({clean(r.get(k)) for r in recs for k in ("nom", "nom long") if clean(r.get(k))},
                       key=len, reverse=True)

    for i, row in enumerate(rows, 1):
        rid = row.get("id", f"row {i}") if isinstance(row, dict) else f"row {i}"
        err = errors[rid].append
        if not isinstance(row, dict):
            err("not a JSON object")
            continue
        if list(row.keys()) != KEYS:
            missing = [k for k in KEYS if k not in row]
            extra = [k for k in row if k not in KEYS]
            if missing or extra:
                err(f"keys: missing {missing} extra {extra}")
                continue
        if rid != f"hold-{i:03d}":
            err(f"id should be hold-{i:03d}")
        if rid in seen_ids:
            err("duplicate id")
        seen_ids.add(rid)

        q, ans, facts = row["question"], row["expected_answer"], row["expected_facts"]
        kind, cat, refusal = row["kind"], row["category"], row["expect_refusal"]
        by_kind[kind] += 1
        by_cat[cat] += 1
        if not isinstance(q, str) or not q.strip():
            err("empty question")
            continue
        if not isinstance(ans, str) or not ans.strip():
            err("empty expected_answer")
        if not isinstance(facts, list) or not all(isinstance(f, str) and f.strip() for f in facts):
            err("expected_facts must be a list of non-empty strings")
            continue
        if len(set(facts)) != len(facts):
            err("duplicate facts")
        if kind not in KINDS:
            err(f"unknown kind {kind!r}")
        if cat not in CATEGORIES:
            err(f"unknown category {cat!r}")
        if row["difficulty"] not in DIFFICULTIES:
            err(f"bad difficulty {row['difficulty']!r}")
        if not isinstance(refusal, bool):
            err("expect_refusal must be a boolean")

        # application reference
        rec = None
        app_id, app_name = row["app_id"], row["app_name"]
        if (app_id is None) != (app_name is None):
            err("app_id and app_name must both be null or both set")
        if app_id is not None:
            rec = by_id.get(str(app_id))
            if rec is None:
                err(f"app_id {app_id} not in catalog")
            elif app_name != rec["nom"]:
                err(f"app_name {app_name!r} != nom {rec['nom']!r}")
            else:
                apps_covered.add(str(app_id))

        # skeleton (sentence shape without application names)
        sk = q
        for n in name_list:
            sk = re.sub(re.escape(n), " X ", sk, flags=re.I)
        skeletons[loose(sk)].append(rid)

        for f in facts:
            if "TEMPORAIRE" in f:
                err(f"placeholder used as fact: {f!r}")
            if f not in ("Oui", "Non") and ws(f) not in ws(ans):
                err(f"fact {f!r} missing from expected_answer")

        # ---------------- refusals
        if refusal is True:
            if facts:
                err("refusal row must have no facts")
            if cat not in REFUSAL_CATEGORIES:
                err(f"refusal row with non-refusal category {cat}")
            if cat == "out_of_catalog":
                m = UNKNOWN_RE.match(ans)
                if not m:
                    err("out_of_catalog answer must be \"Je ne trouve pas l'application X dans le catalogue.\"")
                else:
                    invented = m.group(1)
                    if norm(invented) in all_names:
                        err(f"invented name {invented!r} matches a catalog nom / nom long")
                    if invented.lower() not in q.lower():
                        err(f"invented name {invented!r} not in question")
                    if kind == "unknown_lowercase" and (invented != invented.lower() or invented not in q):
                        err("unknown_lowercase: name must appear in lowercase in the question")
                if app_id is not None:
                    err("out_of_catalog row must have null app")
            else:
                if ans != NOT_FOUND:
                    err(f"refusal answer must be {NOT_FOUND!r}")
            if kind not in REFUSAL_KINDS | {"look_alike"}:
                err(f"kind {kind} cannot be a refusal")
            continue
        if kind in REFUSAL_KINDS:
            err(f"kind {kind} must be a refusal")
        if cat in REFUSAL_CATEGORIES:
            err(f"category {cat} must be a refusal")
        if not facts:
            err("non-refusal row needs facts")
            continue

        # ---------------- kind-specific shape checks
        if kind == "no_accents" and has_accent(q):
            err("no_accents question contains accented characters")
        if kind in ("english", "english_aggregate"):
            words = set(re.findall(r"[a-z']+", q.lower()))
            if not words & ENGLISH_WORDS:
                err("english question does not look English")
        if rec is not None:
            nom, nom_long = clean(rec["nom"]), clean(rec.get("nom long"))
            has_nom = re.search(r"(?<![\w'])" + re.escape(nom) + r"(?![\w'])", q) is not None
            if kind == "full_name":
                if loose(nom_long) not in loose(q):
                    err("full_name question does not contain the nom long")
                if re.search(r"(?<![\w])" + re.escape(nom) + r"(?![\w])", q, re.I):
                    err("full_name question also contains the short name")
            if kind == "name_part":
                if re.search(r"(?<![\w])" + re.escape(nom) + r"(?![\w])", q, re.I):
                    err("name_part question contains the whole short name")
                words = [w for w in loose(nom_long + " " + nom).split() if len(w) >= 4]
                if not any(w in loose(q).split() or w in norm(q) for w in words):
                    err("name_part question shares no word with the name")
            if kind == "spacing":
                if nom.lower() in q.lower():
                    err("spacing question contains the exact name")
                if norm(nom) not in norm(q):
                    err("spacing question does not contain the name once spaces/punctuation removed")
            if kind == "plural_or_case":
                if has_nom:
                    err("plural_or_case question contains the name with its exact case")
                if norm(nom) not in norm(q):
                    err("plural_or_case question does not contain the name (case/accents aside)")

        # ---------------- yes/no
        yesno = facts[0] in ("Oui", "Non")
        body = facts[1:] if yesno else facts
        if any(f in ("Oui", "Non") for f in body):
            err("Oui/Non must be the first fact only")
        if kind == "yes_no" and not yesno:
            err("yes_no row: first fact must be Oui or Non")
        if yesno and rid not in YESNO and rid not in AGGREGATES:
            err("yes/no row without a predicate in YESNO")
        if rid in YESNO:
            if not yesno:
                err("YESNO spec but first fact is not Oui/Non")
            elif rec is not None:
                truth = "Oui" if YESNO[rid](rec) else "Non"
                if truth != facts[0]:
                    err(f"yes/no answer should be {truth}")

        # ---------------- aggregates
        if cat in AGGREGATE_CATEGORIES or kind in AGGREGATE_KINDS:
            if cat not in AGGREGATE_CATEGORIES:
                err(f"aggregate kind with category {cat}")
            if app_id is not None:
                err("aggregate row must have null app")
            spec = AGGREGATES.get(rid)
            if spec is None:
                err("aggregate row without a spec in AGGREGATES")
                continue
            if isinstance(spec, tuple):
                exp_any, exp_first = spec[0](recs), spec[1](recs)
                if sorted(exp_any) != sorted(exp_first):
                    err(f"domain ambiguous: any-domain {exp_any} vs first-domain {exp_first}")
                expected = exp_any
            else:
                expected = spec(recs)
            if cat == "count" and not (len(expected) == 1 and expected[0].isdigit()):
                err("count spec must give one number")
            if sorted(facts) != sorted(expected):
                err(f"aggregate facts {facts} != recomputed {expected}")
            for n in expected:
                if n not in ("Oui", "Non") and not n.isdigit():
                    apps_in_lists.update(str(r["id"]) for r in recs if clean(r["nom"]) == n)
            continue

        # ---------------- comparisons
        if cat == "comparison":
            spec = COMPARISONS.get(rid)
            if spec is None:
                err("comparison row without a spec in COMPARISONS")
                continue
            ids, field = spec
            crecs = [by_id[x] for x in ids]
            used = collections.Counter()
            for f in body:
                hit = False
                for cr in crecs:
                    vals, mode = field_values(cr, field)
                    if f == clean(cr["nom"]) or fact_in(f, vals, mode):
                        used[cr["id"]] += 1
                        hit = True
                if not hit:
                    err(f"fact {f!r} not in {field} of {[clean(c['nom']) for c in crecs]}")
            for cr in crecs:
                apps_covered.add(str(cr["id"]))
                if not used[cr["id"]]:
                    err(f"no fact for compared application {cr['nom']}")
            continue

        # ---------------- single application
        if rec is None:
            err("single-application row needs app_id")
            continue
        fields = MULTI_FIELDS.get(rid)
        if kind == "multi_intent" and not fields:
            err("multi_intent row without MULTI_FIELDS spec")
            continue
        if fields is None:
            fields = [cat]
        elif cat not in fields:
            err(f"category {cat} not among MULTI_FIELDS {fields}")
        used = collections.Counter()
        for f in body:
            if f == clean(rec["nom"]):
                continue  # naming the application itself is allowed
            found = [fl for fl in fields if fact_in(f, *field_values(rec, fl))]
            if not found:
                err(f"fact {f!r} not found in {fields} of {rec['nom']}")
            for fl in found:
                used[fl] += 1
        if len(fields) > 1:
            for fl in fields:
                if not used[fl]:
                    err(f"multi_intent: no fact for the {fl} part")
        if kind == "yes_no" and yesno and not body and cat not in ("websites",):
            err("yes/no row should give the value after Oui/Non")

        # hosting: refuse records whose two hosting sources disagree
        if "hosting" in fields:
            hosts = {clean(h.get("hebergeur")) for h in rec.get("hebergements") or []}
            host_actors = set(actors(rec, "Hébergeur"))
            if hosts and host_actors and hosts != host_actors:
                err(f"hosting ambiguous: hebergements {sorted(hosts)} vs actor Hébergeur {sorted(host_actors)}")

        # contacts: the right person(s)
        if "contacts" in fields:
            emails = [f for f in body if "@" in f]
            cts = contacts(rec)
            roles = asked_roles(q)
            if len(roles) > 1:
                err(f"question asks several roles {roles}")
            if roles:
                wanted = [c[2] for c in cts if c[0] == roles[0]]
                if not wanted:
                    err(f"no contact with role {roles[0]}")
                if sorted(emails) != sorted(wanted):
                    err(f"contact emails {emails} != {roles[0]} {wanted}")
            else:
                if kind == "one_contact":
                    err("one_contact question names no role")
                if sorted(emails) != sorted(c[2] for c in cts):
                    err(f"contact emails {emails} != all contacts {[c[2] for c in cts]}")
            if kind == "one_contact" and len(facts) != 1:
                err("one_contact row must have exactly one fact (the email)")

    # ---------------- global checks
    for sk, ids in skeletons.items():
        if len(ids) > 2:
            for rid in ids:
                errors[rid].append(f"sentence skeleton used {len(ids)} times: {ids}")
    if len(rows) < MIN_ROWS:
        errors["file"].append(f"only {len(rows)} rows (< {MIN_ROWS})")
    if len(apps_covered) < MIN_APPS:
        errors["file"].append(f"only {len(apps_covered)} applications covered (< {MIN_APPS})")
    missing_cats = CATEGORIES - set(by_cat)
    if missing_cats:
        errors["file"].append(f"categories never used: {sorted(missing_cats)}")
    for rid in list(MULTI_FIELDS) + list(COMPARISONS) + list(YESNO) + list(AGGREGATES):
        if rid not in seen_ids:
            errors["file"].append(f"spec for {rid} but no such row")

    print(f"{len(rows)} rows, {len(apps_covered)} distinct applications asked about "
          f"({len(apps_covered | apps_in_lists)} including those named in aggregate answers)")
    print("\nper kind (actual / target):")
    for k in sorted(TARGET_KINDS):
        print(f"  {k:20s} {by_kind.get(k, 0):3d} / {TARGET_KINDS[k]}")
    print("\nper category:")
    for c in sorted(CATEGORIES):
        print(f"  {c:16s} {by_cat.get(c, 0):3d}")
    print(f"\nrefusals: {sum(1 for r in rows if isinstance(r, dict) and r.get('expect_refusal') is True)}")

    failing = {k: v for k, v in errors.items() if v}
    if failing:
        print(f"\nFAILED: {len(failing)} row(s)")
        for rid in sorted(failing):
            for e in failing[rid]:
                print(f"  {rid}: {e}")
        return 1
    print("\nOK: every row passes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
