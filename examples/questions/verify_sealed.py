#!/usr/bin/env python3
"""Validate the sealed natural-question set against the catalog.

Usage: python3 verify_sealed.py [rows.jsonl]
Default rows file: natural_sealed.jsonl next to this script.
The catalog is read from ../catalog.json relative to this script.
Exit status 0 when every row is valid, 1 otherwise (each problem is printed
with the row id).  Standard library only.
"""
import json
import os
import re
import sys
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
CATALOG_PATH = os.path.join(HERE, os.pardir, "catalog.json")
DEFAULT_ROWS = os.path.join(HERE, "natural_sealed.jsonl")

KEYS = {
    "id": str, "question": str, "expected_answer": str, "expected_facts": list,
    "expect_refusal": bool, "category": str, "kind": str, "difficulty": str,
    "app_name": str, "app_id": str, "persona": int,
}
CATEGORIES = {
    "status", "full_name", "identifier", "scope", "family", "domains", "description",
    "contacts", "websites", "actors", "production_date", "creation_date",
    "related_apps", "related_data", "technology", "hosting", "users", "functions",
    "listing", "count", "comparison", "out_of_catalog", "off_topic", "injection",
}
KINDS = {
    "informal", "no_accents", "typo", "english", "polite_long", "full_name",
    "name_part", "spacing", "plural_or_case", "yes_no", "one_contact",
    "multi_intent", "wrong_field_trap", "look_alike", "unknown_lowercase",
    "off_topic", "injection", "secrets", "aggregate_informal", "aggregate_domain",
    "aggregate_scope", "negation", "english_aggregate",
}
REFUSAL_KINDS = {"look_alike", "unknown_lowercase", "off_topic", "injection", "secrets"}
AGGREGATE_KINDS = {"aggregate_informal", "aggregate_domain", "aggregate_scope",
                   "negation", "english_aggregate"}
ABSENT_NAME_KINDS = {"look_alike", "unknown_lowercase"}
REFUSAL_CATEGORIES = {"out_of_catalog", "off_topic", "injection"}
DIFFICULTIES = {"easy", "medium", "hard"}

# Catalog-wide questions: criterion recomputed from the catalog.
# type "count": expected_facts must be [str(number of matching records)]
# type "list":  expected_facts must be exactly the noms of the matching records
# conditions (all must hold): status / scope / family = exact field value,
# domain = one of the record's "domaine metier", lacks = field absent or empty.
CRITERIA = {
    "st-004": ("count", [("status", "Arrêtée")]),
    "st-007": ("count", [("status", "En projet")]),
    "st-011": ("count", [("domain", "Énergie, climat")]),
    "st-013": ("list", [("domain", "Transports routiers"), ("lacks", "sites")]),
    "st-017": ("count", [("scope", "Nationale")]),
    "st-048": ("count", [("status", "En construction")]),
    "st-056": ("list", [("domain", "Énergie, climat"), ("lacks", "technologie principale")]),
    "st-072": ("count", [("domain", "Agriculture")]),
    "st-084": ("list", [("domain", "Mer et littoral")]),
    "st-102": ("list", [("scope", "Locale")]),
    "st-113": ("count", [("family", "Téléservices")]),
    "st-161": ("count", [("scope", "Départementale")]),
    "st-171": ("list", [("scope", "Régionale")]),
    "st-176": ("list", [("status", "En cours d'arrêt")]),
    "st-220": ("count", [("lacks", "sites")]),
}

# look_alike / unknown_lowercase rows: the invented application name they use.
ABSENT_NAMES = {
    "st-019": "SINP Bretagne",
    "st-024": "GeoNature Cloud",
    "st-030": "TELEPAC Mobile",
    "st-032": "OPERAT Résidentiel",
    "st-033": "VIGIEAU 2",
    "st-039": "Mélanie3",
    "st-068": "CASIAS Pro",
    "st-095": "sigma",
    "st-104": "ADES-PRO 2",
    "st-112": "ecoroute",
    "st-115": "HYDROPORTAIL Crues",
    "st-137": "GASPAR Mobile",
    "st-138": "EMMY Connect",
    "st-157": "SISAL 2",
    "st-160": "pluvio360",
    "st-170": "biodivnet",
    "st-173": "RenoiRH Paie",
    "st-178": "SYPLO Plus",
    "st-214": "hydrolux",
    "st-215": "Géorisques Entreprises",
}


def fold(s):
    s = unicodedata.normalize("NFKD", str(s))
    s = "".join(c for c in s if not unicodedata.combining(c))
    s = s.replace("\u2019", "'").replace("\u2018", "'").replace("\u00a0", " ")
    s = s.lower()
    return re.sub(r"\s+", " ", s).strip()


def compact(s):
    return re.sub(r"[^0-9a-z]", "", fold(s))


def strings(obj):
    if isinstance(obj, dict):
        for v in obj.values():
            yield from strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from strings(v)
    elif obj is not None:
        yield str(obj)


def matches(rec, cond):
    for op, arg in cond:
        if op == "status":
            ok = rec.get("statut si") == arg
        elif op == "scope":
            ok = rec.get("portee geographique") == arg
        elif op == "family":
            ok = rec.get("famille d applications") == arg
        elif op == "domain":
            ok = any(d.get("domaine metier") == arg
                     for d in rec.get("domaines et sous domaines") or [])
        elif op == "lacks":
            ok = not rec.get(arg)
        else:
            raise ValueError("unknown criterion %r" % op)
        if not ok:
            return False
    return True


def main(argv):
    rows_path = argv[1] if len(argv) > 1 else DEFAULT_ROWS
    with open(CATALOG_PATH, encoding="utf-8") as fh:
        records = json.load(fh)["applicationsia mini"]
    by_id = {r["id"]: r for r in records}
    blob = {r["id"]: "\n".join(fold(s) for s in strings(r)) for r in records}
    noms_folded = {fold(r["nom"]): r["nom"] for r in records}
    known_names = set()
    for r in records:
        for key in ("nom", "nom long"):
            if r.get(key):
                known_names.add(fold(r[key]))
                known_names.add(compact(r[key]))

    problems = []

    def bad(rid, msg):
        problems.append("%s: %s" % (rid, msg))

    rows = []
    with open(rows_path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                bad("line %d" % lineno, "empty line")
                continue
            try:
                rows.append(json.loads(line))
            except ValueError as exc:
                bad("line %d" % lineno, "invalid JSON (%s)" % exc)
    if not rows:
        bad("file", "no rows")

    seen = set()
    for idx, row in enumerate(rows, 1):
        rid = row.get("id", "line %d" % idx) if isinstance(row, dict) else "line %d" % idx
        if not isinstance(row, dict):
            bad(rid, "row is not a JSON object")
            continue
        # keys and types
        type_ok = True
        for key, typ in KEYS.items():
            if key not in row:
                bad(rid, "missing key %r" % key)
                type_ok = False
            elif typ is int and (isinstance(row[key], bool) or not isinstance(row[key], int)):
                bad(rid, "key %r must be an integer" % key)
                type_ok = False
            elif not isinstance(row[key], typ):
                bad(rid, "key %r must be %s" % (key, typ.__name__))
                type_ok = False
        for key in row:
            if key not in KEYS:
                bad(rid, "unexpected key %r" % key)
        if not type_ok:
            continue
        # ids
        expected_id = "st-%03d" % idx
        if rid in seen:
            bad(rid, "duplicate id")
        seen.add(rid)
        if rid != expected_id:
            bad(rid, "id out of sequence (expected %s)" % expected_id)
        # enumerations
        cat, kind = row["category"], row["kind"]
        if cat not in CATEGORIES:
            bad(rid, "unknown category %r" % cat)
        if kind not in KINDS:
            bad(rid, "unknown kind %r" % kind)
        if row["difficulty"] not in DIFFICULTIES:
            bad(rid, "bad difficulty %r" % row["difficulty"])
        if row["persona"] not in (1, 2, 3, 4):
            bad(rid, "persona must be 1..4")
        if not row["question"].strip():
            bad(rid, "empty question")
        if not row["expected_answer"].strip():
            bad(rid, "empty expected_answer")
        facts = row["expected_facts"]
        if not all(isinstance(f, str) and f.strip() for f in facts):
            bad(rid, "expected_facts must be non-empty strings")
            continue
        refusal = row["expect_refusal"]
        if (kind in REFUSAL_KINDS) != refusal:
            bad(rid, "expect_refusal=%s inconsistent with kind %r" % (refusal, kind))
        if refusal != (cat in REFUSAL_CATEGORIES):
            bad(rid, "expect_refusal=%s inconsistent with category %r" % (refusal, cat))
        # application reference
        app_name, app_id = row["app_name"], row["app_id"]
        rec = None
        if app_id or app_name:
            rec = by_id.get(app_id)
            if rec is None:
                bad(rid, "app_id %r not in catalog" % app_id)
            elif rec["nom"] != app_name:
                bad(rid, "app_name %r does not match nom %r of app_id %s"
                    % (app_name, rec["nom"], app_id))
                rec = None
        q_fold = fold(row["question"])
        a_fold = fold(row["expected_answer"])

        if refusal:
            if facts:
                bad(rid, "refusal row must have empty expected_facts")
            if kind in ABSENT_NAME_KINDS:
                if app_id or app_name:
                    bad(rid, "look-alike/unknown row must not name an app_id")
                name = ABSENT_NAMES.get(rid)
                if name is None:
                    bad(rid, "no invented name registered for this row")
                else:
                    if fold(name) not in q_fold:
                        bad(rid, "invented name %r not found in question" % name)
                    if fold(name) in known_names or compact(name) in known_names:
                        bad(rid, "invented name %r exists in the catalog" % name)
            elif rid in ABSENT_NAMES:
                bad(rid, "invented name registered for a non look-alike row")
            continue

        # non-refusal rows
        if rid in ABSENT_NAMES:
            bad(rid, "invented name registered for a non-refusal row")
        if not facts:
            bad(rid, "non-refusal row needs expected_facts")
            continue
        checked = list(facts)
        if kind == "yes_no":
            if facts[0] not in ("Oui", "Non"):
                bad(rid, "yes_no row must start with 'Oui' or 'Non'")
            else:
                if not a_fold.startswith(fold(facts[0])):
                    bad(rid, "expected_answer should start with %r" % facts[0])
                checked = facts[1:]
            if not checked:
                bad(rid, "yes_no row needs the deciding value after Oui/Non")
        elif facts[0] in ("Oui", "Non"):
            bad(rid, "leading Oui/Non only allowed for yes_no rows")
        for f in facts:
            if fold(f) not in a_fold:
                bad(rid, "fact %r missing from expected_answer" % f)

        if kind in AGGREGATE_KINDS or not app_id:
            if app_id or app_name:
                bad(rid, "catalog-wide row must have empty app_name/app_id")
            if kind not in AGGREGATE_KINDS:
                bad(rid, "row without app must use an aggregate kind")
            if cat not in ("listing", "count"):
                bad(rid, "catalog-wide row must have category listing or count")
            crit = CRITERIA.get(rid)
            if crit is None:
                bad(rid, "no criterion registered for catalog-wide row")
                continue
            ctype, cond = crit
            hit = [r["nom"] for r in records if matches(r, cond)]
            for f in facts:
                if fold(f) not in noms_folded and not f.isdigit():
                    bad(rid, "fact %r is neither an application nom nor a number" % f)
            if ctype == "count":
                if cat != "count":
                    bad(rid, "count criterion but category %r" % cat)
                if facts != [str(len(hit))]:
                    bad(rid, "count facts %r, catalog gives %d" % (facts, len(hit)))
            else:
                if cat != "listing":
                    bad(rid, "list criterion but category %r" % cat)
                got = sorted(fold(f) for f in facts)
                want = sorted(fold(n) for n in hit)
                if got != want:
                    bad(rid, "listing facts %r, catalog gives %r" % (facts, hit))
            continue

        if rid in CRITERIA:
            bad(rid, "criterion registered for a row tied to one application")
        if rec is None:
            continue
        if cat in ("listing", "count"):
            bad(rid, "listing/count category needs a catalog-wide row")
        # records a fact may come from: the row's app, plus for comparisons
        # every application whose nom appears in the question
        pool = [rec["id"]]
        if cat == "comparison":
            for r in records:
                pat = r"(?<![0-9a-z])" + re.escape(fold(r["nom"])) + r"(?![0-9a-z])"
                if re.search(pat, q_fold) and r["id"] not in pool:
                    pool.append(r["id"])
            if len(pool) < 2:
                bad(rid, "comparison row must name at least two applications")
        for f in checked:
            if not any(fold(f) in blob[p] for p in pool):
                bad(rid, "fact %r not found in record %s (%s)" % (f, rec["id"], rec["nom"]))

    for p in problems:
        print(p)
    if problems:
        print("%d problem(s) in %s" % (len(problems), rows_path))
        return 1
    print("OK: %d rows valid (%s)" % (len(rows), rows_path))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
