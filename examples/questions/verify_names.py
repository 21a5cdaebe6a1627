#!/usr/bin/env python3
"""Standard-library validator for natural_names.jsonl (uses natural_names_meta.json for the name form asked)."""
import json, os, re, sys, unicodedata, difflib
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
CATALOG = os.path.join(HERE, os.pardir, "catalog.json")
PROBE = os.path.join(HERE, "natural_names.jsonl")
META = os.path.join(HERE, "natural_names_meta.json")

KEYS = ["id", "question", "expected_answer", "expected_facts", "expect_refusal", "category",
        "kind", "difficulty", "app_name", "app_id", "persona"]
CATEGORIES = {"status", "full_name", "scope", "family", "domains", "description", "contacts", "websites",
              "actors", "production_date", "creation_date", "related_apps", "technology", "hosting",
              "users", "functions", "out_of_catalog"}
KIND_COUNTS = {"name_part": 35, "full_name": 20, "look_alike": 25, "unknown_lowercase": 10}
VARIANT_KINDS = {"spacing", "plural_or_case", "typo"}
DIFFICULTIES = {"easy", "medium", "hard"}
FIELD = {"status": "statut si", "full_name": "nom long", "scope": "portee geographique",
         "family": "famille d applications", "domains": "domaines et sous domaines",
         "description": "descriptif", "contacts": "contacts", "websites": "sites", "actors": "acteurs",
         "related_apps": "applications liees", "technology": "technologie principale",
         "hosting": "hebergements", "users": "utilisateurs", "functions": "fonctions"}
EVENT = {"production_date": "mise en production", "creation_date": "creation"}
PLACEHOLDER = re.compile(r"^\**\s*temporaire\s*\**$")

_MOJI = re.compile(r"[\u00c2-\u00c3][\u0080-\u00bf]|\u00e2\u0080[\u0080-\u00bf]|\u00e2\u20ac.")

def repair(s):
    try:
        return s.encode("latin-1").decode("utf-8")
    except Exception:
        pass
    try:
        return s.encode("cp1252").decode("utf-8")
    except Exception:
        pass
    def one(m):
        t = m.group(0)
        for enc in ("latin-1", "cp1252"):
            try:
                return t.encode(enc).decode("utf-8")
            except Exception:
                continue
        return t
    return _MOJI.sub(one, s)

def fold(s):
    s = unicodedata.normalize("NFKD", repair(s))
    s = "".join(c for c in s if not unicodedata.combining(c)).lower()
    s = s.replace("\u2019", "'").replace("\u2013", "-").replace("\u2014", "-").replace("\u0153", "oe")
    return re.sub(r"\s+", " ", s).strip()

def squash(s):
    return re.sub(r"[^0-9a-z\u03c0]", "", fold(s))

def strings(o):
    if isinstance(o, str):
        yield o
    elif isinstance(o, list):
        for x in o:
            yield from strings(x)
    elif isinstance(o, dict):
        for v in o.values():
            yield from strings(v)

def damerau1(a, b):
    if a == b:
        return False
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
    if len(a) > len(b):
        a, b = b, a
    return any(b[:i] + b[i + 1:] == a for i in range(len(b)))

def contains_word(hay, needle):
    return re.search(r"(?<![0-9a-z])" + re.escape(needle) + r"(?![0-9a-z])", hay) is not None

def field_values(rec, cat):
    """Strings of the asked field; [] when the record leaves it empty."""
    if cat in EVENT:
        return [e.get("date dd/mm/yyyy", "") for e in rec.get("evenements") or []
                if fold(e.get("type d evenement", "")) == EVENT[cat] and e.get("date dd/mm/yyyy")]
    v = rec.get(FIELD[cat])
    vals = [s for s in strings(v) if s.strip()]
    if cat == "description" and all(PLACEHOLDER.match(fold(s)) for s in vals):
        return []
    return vals

def main():
    errors = []
    def err(rid, msg):
        errors.append("%s: %s" % (rid, msg))

    recs = json.load(open(CATALOG, encoding="utf-8"))["applicationsia mini"]
    by_id = {r["id"]: r for r in recs}
    noms = {fold(r["nom"]): r["id"] for r in recs}
    all_names_fold = set(noms) | {fold(r.get("nom long") or "") for r in recs}
    all_names_squash = {squash(r["nom"]) for r in recs} | {squash(r.get("nom long") or "") for r in recs}
    meta = json.load(open(META, encoding="utf-8"))

    rows = []
    with open(PROBE, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                err("line %d" % n, "blank line")
                continue
            try:
                rows.append(json.loads(line))
            except ValueError as e:
                err("line %d" % n, "invalid JSON: %s" % e)

    if len(rows) != 110:
        err("file", "expected 110 rows, got %d" % len(rows))
    kinds = Counter()
    apps = set()
    for i, r in enumerate(rows, 1):
        rid = r.get("id", "row %d" % i)
        if list(r.keys()) != KEYS:
            err(rid, "keys %s" % list(r.keys()))
            continue
        if r["id"] != "np-%03d" % i:
            err(rid, "id out of order, expected np-%03d" % i)
        for k in ("question", "expected_answer", "category", "kind", "difficulty", "app_name", "app_id"):
            if not isinstance(r[k], str):
                err(rid, "%s not a string" % k)
        if not r["question"].strip() or not r["expected_answer"].strip():
            err(rid, "empty question/answer")
        if len(re.findall(r"[.!?](\s|$)", r["expected_answer"].strip())) > 1 or not r["expected_answer"].strip().endswith((".", "!", "?")):
            err(rid, "expected_answer should be one sentence")
        if not isinstance(r["expected_facts"], list) or not all(isinstance(x, str) and x.strip() for x in r["expected_facts"]):
            err(rid, "expected_facts must be a list of non-empty str")
        if not isinstance(r["expect_refusal"], bool):
            err(rid, "expect_refusal not bool")
        if r["category"] not in CATEGORIES:
            err(rid, "bad category %r" % r["category"])
        if r["difficulty"] not in DIFFICULTIES:
            err(rid, "bad difficulty %r" % r["difficulty"])
        if not isinstance(r["persona"], int) or isinstance(r["persona"], bool) or not 1 <= r["persona"] <= 4:
            err(rid, "persona must be int 1-4")
        kind = r["kind"]
        kinds[kind] += 1
        if kind not in KIND_COUNTS and kind not in VARIANT_KINDS:
            err(rid, "bad kind %r" % kind)
        form = meta.get(r["id"])
        if not form:
            err(rid, "no name form in meta")
            continue
        if form not in r["question"]:
            err(rid, "name form %r not in question" % form)
        q = fold(r["question"])

        if kind in ("look_alike", "unknown_lowercase"):
            if r["app_name"] or r["app_id"]:
                err(rid, "absent app must have empty app_name/app_id")
            if not r["expect_refusal"] or r["expected_facts"]:
                err(rid, "absent app must expect refusal with no facts")
            if r["category"] != "out_of_catalog":
                err(rid, "absent app should be out_of_catalog")
            if fold(form) in all_names_fold or squash(form) in all_names_squash:
                err(rid, "asked name %r matches a catalog nom / nom long" % form)
            if kind == "unknown_lowercase" and form != form.lower():
                err(rid, "unknown_lowercase name not lowercase")
            if kind == "look_alike":
                sim = max(difflib.SequenceMatcher(None, fold(form), n).ratio() for n in all_names_fold)
                toks = set(re.findall(r"[0-9a-z]+", fold(form)))
                shares = any(contains_word(fold(form), fold(r2["nom"])) for r2 in recs)
                if sim < 0.6 and not shares and not ({"geoportail", "portail"} & toks):
                    err(rid, "look_alike %r resembles no catalog name (best ratio %.2f)" % (form, sim))
            continue

        # rows about a real application
        rec = by_id.get(r["app_id"])
        if rec is None:
            err(rid, "app_id %r not in catalog" % r["app_id"])
            continue
        if fold(r["app_name"]) != fold(rec["nom"]) or repair(rec["nom"]) != r["app_name"]:
            err(rid, "app_name %r does not match record nom %r" % (r["app_name"], repair(rec["nom"])))
        apps.add(r["app_id"])
        if r["category"] == "out_of_catalog":
            err(rid, "catalog app cannot be out_of_catalog")
            continue
        vals = field_values(rec, r["category"])
        all_vals = " || ".join(fold(s) for s in strings(rec))
        if r["expect_refusal"]:
            if r["expected_facts"]:
                err(rid, "refusal row must have no facts")
            if vals:
                err(rid, "refusal but field %s is filled: %r" % (r["category"], vals[:2]))
        else:
            if not r["expected_facts"]:
                err(rid, "answerable row without facts")
            if not vals:
                err(rid, "field %s empty in record but refusal not expected" % r["category"])
            fv = " || ".join(fold(s) for s in vals)
            for fact in r["expected_facts"]:
                if fold(fact) not in all_vals:
                    err(rid, "fact %r not in record values" % fact)
                elif fold(fact) not in fv:
                    err(rid, "fact %r not in field %s" % (fact, r["category"]))

        nom_f = fold(rec["nom"])
        if kind in ("name_part", "full_name"):
            if contains_word(q, nom_f) or squash(rec["nom"]) in re.sub(r"[^0-9a-z]", " ", q).split():
                err(rid, "question uses the exact short name %r" % rec["nom"])
            if kind == "full_name":
                ratio = difflib.SequenceMatcher(None, fold(form), fold(rec["nom long"])).ratio()
                if ratio < 0.85:
                    err(rid, "full-name form %r too far from %r (%.2f)" % (form, repair(rec["nom long"]), ratio))
            else:
                if fold(form) == fold(rec["nom long"]):
                    err(rid, "name_part uses the exact full name")
        elif kind in VARIANT_KINDS:
            nom = repair(rec["nom"])
            if re.search(r"(?<!\w)" + re.escape(nom) + r"(?!\w)", r["question"]):
                err(rid, "question contains the exact short name %r" % nom)
            if form == nom:
                err(rid, "variant identical to nom")
            others = {fold(x["nom"]) for x in recs if x["id"] != rec["id"]} | {squash(x["nom"]) for x in recs if x["id"] != rec["id"]}
            if fold(form) in others or squash(form) in others:
                err(rid, "variant %r collides with another application" % form)
            if kind == "spacing":
                if squash(form) != squash(nom) or fold(form) == fold(nom):
                    err(rid, "spacing variant %r should differ from %r only by spaces/hyphens/punctuation" % (form, nom))
            elif kind == "plural_or_case":
                a, b = squash(form), squash(nom)
                sing = lambda x: " ".join(re.sub(r"(?<=[a-z])s$", "", t) for t in re.findall(r"[0-9a-z]+", fold(x)))
                if not (a == b or sing(form) == sing(nom)):
                    err(rid, "plural_or_case variant %r vs %r" % (form, nom))
            elif kind == "typo":
                if not damerau1(squash(form), squash(nom)):
                    err(rid, "typo variant %r is not one edit from %r" % (form, nom))

    for k, n in KIND_COUNTS.items():
        if kinds[k] != n:
            err("counts", "kind %s: %d, expected %d" % (k, kinds[k], n))
    nv = sum(kinds[k] for k in VARIANT_KINDS)
    if nv != 20:
        err("counts", "spacing+plural_or_case+typo: %d, expected 20" % nv)
    if len(apps) < 45:
        err("coverage", "only %d distinct applications" % len(apps))
    if len({r.get("question") for r in rows}) != len(rows):
        err("file", "duplicate questions")

    print("rows:", len(rows), "| distinct apps:", len(apps))
    print("kinds:", dict(sorted(kinds.items())))
    print("categories:", dict(sorted(Counter(r.get("category") for r in rows).items())))
    print("refusals:", sum(1 for r in rows if r.get("expect_refusal")),
          "| personas:", dict(sorted(Counter(r.get("persona") for r in rows).items())),
          "| difficulty:", dict(sorted(Counter(r.get("difficulty") for r in rows).items())))
    if errors:
        print("FAIL (%d problems)" % len(errors))
        for e in errors:
            print("  -", e)
        return 1
    print("PASS")
    return 0

if __name__ == "__main__":
    sys.exit(main())
