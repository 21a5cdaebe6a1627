#!/usr/bin/env python3
"""Check examples/questions/natural.jsonl against the raw examples/catalog.json.

Standalone (standard library only). Run from the repository root:

    python examples/questions/verify_natural.py

Every row is checked: keys and allowed values, app_id / app_name consistency,
every expected fact of a single-application question present in that record
(after light cleaning of the catalog's deliberate defects), aggregate counts
and lists recomputed from the records, refusal rows (no facts, invented names
really absent from every `nom` / `nom long`), plus some phrasing checks per
`kind`. Prints a summary and exits 1 listing every failing row.
"""
import json
import re
import sys
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
CATALOG = HERE.parent / "catalog.json"
QUESTIONS = HERE / "natural.jsonl"

KEYS = ["id", "question", "expected_answer", "expected_facts", "expect_refusal",
        "category", "kind", "difficulty", "app_name", "app_id"]
CATEGORIES = {
    "status", "full_name", "identifier", "scope", "family", "domains", "description",
    "contacts", "websites", "actors", "production_date", "creation_date", "related_apps",
    "related_data", "technology", "hosting", "users", "functions", "listing", "count",
    "comparison", "out_of_catalog", "off_topic", "injection",
}
KINDS = {
    "informal", "no_accents", "typo", "english", "polite_long", "full_name", "name_part",
    "spacing", "plural_or_case", "yes_no", "one_contact", "multi_intent", "wrong_field_trap",
    "look_alike", "unknown_lowercase", "off_topic", "injection", "secrets",
    "aggregate_informal", "aggregate_domain", "aggregate_scope", "negation",
    "english_aggregate",
}
DIFFICULTIES = {"easy", "medium", "hard"}
REFUSAL_KINDS = {"look_alike", "unknown_lowercase", "off_topic", "injection", "secrets"}
REFUSAL_CATEGORIES = {"out_of_catalog", "off_topic", "injection"}
AGGREGATE_KINDS = {"aggregate_informal", "aggregate_domain", "aggregate_scope", "negation",
                   "english_aggregate"}
NOT_FOUND_APP = re.compile(r"^Je ne trouve pas l'application (.+) dans le catalogue\.$")
NOT_FOUND_INFO = "Je ne trouve pas cette information dans le catalogue."
# Sites whose punctuation was replaced by spaces (README): no URL fact from these records.
BROKEN_URL_IDS = {"1047", "1052", "1058"}
DATE_RE = re.compile(r"^\d{2}/\d{2}/\d{4}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]+$")

# ---------------------------------------------------------------------------
# Row-specific specifications (what cannot be read from the row itself).
# Aggregates: conditions are ANDed. statut = `statut si` (SIE prefix removed);
# domaine = any entry of `domaines et sous domaines[].domaine metier`;
# portee / not_portee = `portee geographique`; famille = `famille d applications`
# (SIE prefix removed); techno = `technologie principale`; missing = field absent,
# empty or placeholder.
# mode count: facts[0] is the count, any further fact is a name from the result.
# mode list: <= 4 results -> the name facts are exactly the result (a count fact is
# optional); more -> the count is a fact plus 1 to 3 names from the result.
AGGREGATES = {
    'nat-184': {'where': [['statut', 'Arrêtée']], 'mode': 'count'},
    'nat-185': {'where': [['statut', 'En construction']], 'mode': 'count'},
    'nat-186': {'where': [['statut', 'En production']], 'mode': 'count'},
    'nat-187': {'where': [['statut', "En cours d'arrêt"]], 'mode': 'list'},
    'nat-188': {'where': [['famille', 'Téléservices']], 'mode': 'count'},
    'nat-189': {'where': [['statut', 'En projet']], 'mode': 'count'},
    'nat-190': {'where': [['techno', 'Java / Oracle']], 'mode': 'list'},
    'nat-191': {'where': [['domaine', 'Biodiversité']], 'mode': 'count'},
    'nat-192': {'where': [['domaine', 'Mer et littoral']], 'mode': 'list'},
    'nat-193': {'where': [['domaine', 'Transports routiers']], 'mode': 'count'},
    'nat-194': {'where': [['domaine', 'Fonctions support']], 'mode': 'list'},
    'nat-195': {'where': [['domaine', 'Énergie, climat'], ['statut', 'En production']], 'mode': 'list'},
    'nat-196': {'where': [['domaine', 'Biodiversité'], ['statut', 'Arrêtée']], 'mode': 'list'},
    'nat-197': {'where': [['portee', 'Départementale']], 'mode': 'count'},
    'nat-198': {'where': [['portee', 'Régionale']], 'mode': 'list'},
    'nat-199': {'where': [['portee', 'Locale']], 'mode': 'list'},
    'nat-200': {'where': [['portee', 'Nationale'], ['statut', 'En production']], 'mode': 'count'},
    'nat-201': {'where': [['missing', 'sites']], 'mode': 'list'},
    'nat-202': {'where': [['missing', 'contacts']], 'mode': 'count'},
    'nat-203': {'where': [['missing', 'applications liees']], 'mode': 'list'},
    'nat-204': {'where': [['statut', 'En production'], ['missing', 'technologie principale']], 'mode': 'list'},
    'nat-205': {'where': [['not_portee', 'Nationale']], 'mode': 'count'},
    'nat-206': {'where': [['statut', 'En production']], 'mode': 'count'},
    'nat-207': {'where': [['statut', 'Arrêtée']], 'mode': 'list'},
    'nat-208': {'where': [['portee', 'Régionale']], 'mode': 'count'},
    'nat-209': {'where': [['statut', 'En projet']], 'mode': 'list'},
    'nat-210': {'where': [['famille', 'Téléservices'], ['statut', 'En production']], 'mode': 'count'},
}
# Comparisons between applications: facts are searched in the union of these records.
COMPARISONS = {
    'nat-019': ['1001', '1002'],
    'nat-043': ['1038', '1035'],
    'nat-061': ['1023', '1024'],
    'nat-073': ['1015', '1041'],
    'nat-117': ['1010', '1011'],
    'nat-138': ['1018', '1019'],
}
# Questions about a field the record does not really fill (placeholder / empty):
# expected answer says "ne renseigne pas", no facts.
UNFILLED = {
    'nat-017': 'nom long',
}


# ---------------------------------------------------------------------------
# Light cleaning of the catalog's deliberate defects.
PLACEHOLDER_RE = re.compile(r"^\s*\*{2,}\s*[A-ZÉÈ_ ]+\s*\*{2,}\s*$")
MOJIBAKE_RE = re.compile(r"[\u00c2-\u00c3][\u0080-\u00bf]")


def _fix_pair(m):
    try:
        return m.group(0).encode("latin-1").decode("utf-8")
    except UnicodeError:
        return m.group(0)


def clean(value):
    """Return the value as a human would read it ('' for a placeholder)."""
    if not isinstance(value, str):
        return value
    s = value
    if PLACEHOLDER_RE.match(s):
        return ""
    s = MOJIBAKE_RE.sub(_fix_pair, s)                 # "Ã©" -> "é"
    s = re.sub(r"\s*(?<![A-Za-z])r n(?![A-Za-z])\s*", "\n", s)  # literal "r n" = line break
    s = s.replace("**", "")                          # markdown bold
    s = re.sub(r"^\s*SIE\s*-->\s*", "", s)           # "SIE --> " prefix
    return s.strip()


def clean_record(obj):
    if isinstance(obj, dict):
        return {k: clean_record(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [clean_record(v) for v in obj]
    return clean(obj)


def string_values(obj):
    if isinstance(obj, dict):
        for v in obj.values():
            yield from string_values(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from string_values(v)
    elif isinstance(obj, str):
        if obj:
            yield obj
    elif obj is not None:
        yield str(obj)


def fold(s):
    """casefold + strip accents (for name comparisons)."""
    s = unicodedata.normalize("NFKD", s.casefold())
    return "".join(c for c in s if not unicodedata.combining(c))


def squash(s):
    """fold + remove spaces, hyphens, apostrophes."""
    return re.sub(r"[\s\-'’_]", "", fold(s))


def has_word(text, word):
    """`word` occurs in `text` as a whole token (after folding)."""
    return re.search(r"(?<![\w])" + re.escape(fold(word)) + r"(?![\w])", fold(text)) is not None


def empty(v):
    if v is None:
        return True
    if isinstance(v, str):
        return not v.strip()
    if isinstance(v, (list, dict)):
        return len(v) == 0
    return False


def as_list(v):
    """Lists that are sometimes stored as a string ("a; b; c" or "a, b, c")."""
    if isinstance(v, list):
        return v
    if isinstance(v, str) and v:
        return [p.strip() for p in re.split(r"[;,]", v) if p.strip()]
    return []


def events(rec, kind):
    return [e.get("date dd/mm/yyyy") for e in rec.get("evenements", []) or []
            if e.get("type d evenement") == kind]


# ---------------------------------------------------------------------------
def aggregate(records, where):
    out = []
    for r in records:
        ok = True
        for field, value in where:
            if field == "statut":
                ok = r.get("statut si") == value
            elif field == "domaine":
                ok = any(d.get("domaine metier") == value
                         for d in r.get("domaines et sous domaines", []) or [])
            elif field == "portee":
                ok = r.get("portee geographique") == value
            elif field == "not_portee":
                ok = r.get("portee geographique") != value
            elif field == "famille":
                ok = r.get("famille d applications") == value
            elif field == "techno":
                ok = r.get("technologie principale") == value
            elif field == "missing":
                ok = empty(r.get(value))
            else:
                raise ValueError("unknown aggregate condition " + field)
            if not ok:
                break
        if ok:
            out.append(r["nom"])
    return out


def check_fact_in(fact, recs):
    return any(fact in s for rec in recs for s in string_values(rec))


def main():
    raw = json.loads(CATALOG.read_text(encoding="utf-8"))
    raw_records = raw["applicationsia mini"]
    records = [clean_record(r) for r in raw_records]
    by_id = {r["id"]: r for r in records}
    raw_by_id = {r["id"]: r for r in raw_records}
    all_names = set()
    for r in raw_records:
        all_names.add(r["nom"])
        all_names.add(clean(r.get("nom long", "")))
    folded_names = [fold(n) for n in all_names if n]
    squashed_names = [squash(n) for n in all_names if n]
    noms = {r["nom"] for r in records}

    errors = defaultdict(list)
    rows = []
    lines = QUESTIONS.read_text(encoding="utf-8").splitlines()
    seen_ids, seen_q = set(), {}
    for n, line in enumerate(lines, 1):
        if not line.strip():
            errors[f"line {n}"].append("empty line")
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            errors[f"line {n}"].append(f"invalid JSON: {exc}")
            continue
        rows.append(row)
        rid = row.get("id", f"line {n}")
        err = errors[rid].append

        # -- keys and allowed values --------------------------------------
        if list(row.keys()) != KEYS and set(row.keys()) != set(KEYS):
            err(f"keys {sorted(row.keys())} != {KEYS}")
            continue
        if rid != f"nat-{n:03d}":
            err(f"id should be nat-{n:03d}")
        if rid in seen_ids:
            err("duplicate id")
        seen_ids.add(rid)
        q, ans, facts = row["question"], row["expected_answer"], row["expected_facts"]
        kind, cat, refusal = row["kind"], row["category"], row["expect_refusal"]
        if not isinstance(q, str) or not q.strip():
            err("empty question")
            continue
        if q.strip().casefold() in seen_q:
            err(f"same question as {seen_q[q.strip().casefold()]}")
        seen_q[q.strip().casefold()] = rid
        if not isinstance(ans, str) or not ans.strip():
            err("empty expected_answer")
        if not isinstance(facts, list) or not all(isinstance(f, str) and f.strip() for f in facts):
            err("expected_facts must be a list of non-empty strings")
            continue
        if len(set(facts)) != len(facts):
            err("duplicate fact")
        if not isinstance(refusal, bool):
            err("expect_refusal must be a boolean")
        if cat not in CATEGORIES:
            err(f"category {cat!r} not allowed")
        if kind not in KINDS:
            err(f"kind {kind!r} not allowed")
        if row["difficulty"] not in DIFFICULTIES:
            err(f"difficulty {row['difficulty']!r} not allowed")
        for f in facts:
            if "TEMPORAIRE" in f.upper() or "**" in f or "Ã" in f or "SIE -->" in f:
                err(f"fact {f!r} is a raw defect / placeholder, not a value")

        # -- application ----------------------------------------------------
        app_id, app_name = row["app_id"], row["app_name"]
        rec = None
        if (app_id is None) != (app_name is None):
            err("app_id and app_name must both be set or both be null")
        elif app_id is not None:
            if app_id not in by_id:
                err(f"app_id {app_id} not in catalog")
            else:
                rec = by_id[app_id]
                if raw_by_id[app_id]["nom"] != app_name:
                    err(f"app_name {app_name!r} != nom {raw_by_id[app_id]['nom']!r}")

        # -- refusals -------------------------------------------------------
        if kind in REFUSAL_KINDS and not refusal:
            err(f"kind {kind} must be a refusal")
        if (cat in REFUSAL_CATEGORIES) != bool(refusal):
            err(f"category {cat} and expect_refusal={refusal} disagree")
        if refusal:
            if facts:
                err("refusal with facts")
            m = NOT_FOUND_APP.match(ans)
            if m:
                name = m.group(1)
                if cat != "out_of_catalog":
                    err("'application X' refusal should be category out_of_catalog")
                if app_id is not None:
                    err("unknown application row must have app_id null")
                if fold(name) not in fold(q):
                    err(f"invented name {name!r} not in question")
                fn, sn = fold(name), squash(name)
                for full, sq in zip(folded_names, squashed_names):
                    if fn == full or fn in full or sn == sq or (len(sn) > 3 and sn in sq):
                        err(f"invented name {name!r} matches a catalog name ({full!r})")
                        break
                if kind == "unknown_lowercase" and name != name.lower():
                    err("unknown_lowercase name must be lowercase")
                if kind == "look_alike" and not any(has_word(name, nm) for nm in noms):
                    err(f"look_alike {name!r} should contain a real application name")
            elif ans != NOT_FOUND_INFO:
                err("refusal expected_answer must be one of the two refusal sentences")
            elif cat == "out_of_catalog":
                err("out_of_catalog row should name the unknown application in its answer")
            continue

        # -- aggregates -----------------------------------------------------
        if kind in AGGREGATE_KINDS and rid not in AGGREGATES:
            err("aggregate kind without an aggregate spec in verify_natural.py")
        if rid in AGGREGATES:
            spec = AGGREGATES[rid]
            if app_id is not None:
                err("aggregate row must have app_id null")
            if cat not in ("count", "listing"):
                err("aggregate row must be category count or listing")
            result = aggregate(records, spec["where"])
            count = str(len(result))
            numbers = [f for f in facts if f.isdigit()]
            names = [f for f in facts if not f.isdigit()]
            for nm in names:
                if nm not in result:
                    err(f"name {nm!r} not in recomputed result {result}")
            for num in numbers:
                if num != count:
                    err(f"count fact {num} != recomputed {count}")
            if spec["mode"] == "count":
                if not facts or facts[0] != count:
                    err(f"first fact must be the count {count}")
            else:
                if len(result) <= 4:
                    if set(names) != set(result):
                        err(f"list facts {names} != recomputed {result}")
                else:
                    if count not in numbers:
                        err(f"list of {count} results: the count must be a fact")
                    if not 1 <= len(names) <= 3:
                        err("list with many results: give 1 to 3 names")
            if count not in ans:
                err(f"expected_answer does not state the count {count}")
            continue

        # -- single-application and comparison questions --------------------
        if rid in COMPARISONS:
            ids = COMPARISONS[rid]
            if cat != "comparison":
                err("comparison spec on a non-comparison row")
            if any(i not in by_id for i in ids):
                err(f"comparison ids {ids} not all in catalog")
                continue
            recs = [by_id[i] for i in ids]
            names_in_q = [raw_by_id[i]["nom"] for i in ids]
        else:
            if cat == "comparison":
                err("comparison row without COMPARISONS spec")
            if rec is None:
                err("single-application question without app_id")
                continue
            recs = [rec]
            names_in_q = [app_name]

        check = list(facts)
        if check and check[0] in ("Oui", "Non"):
            check = check[1:]
        elif kind == "yes_no":
            err("yes_no: first fact must be 'Oui' or 'Non'")
        if rid in UNFILLED:
            field = UNFILLED[rid]
            if not empty(rec.get(field) if rec else None):
                err(f"UNFILLED field {field!r} actually has a value")
            if facts:
                err("UNFILLED row should have no facts")
            if "ne renseigne pas" not in ans:
                err("UNFILLED row: answer should say 'ne renseigne pas'")
        elif not check and kind != "yes_no":
            err("no facts")
        for f in check:
            if not check_fact_in(f, recs):
                err(f"fact {f!r} not found in record(s) {[r['id'] for r in recs]}")
            if DATE_RE.match(f) and not any(f == e.get("date dd/mm/yyyy") for r in recs
                                            for e in r.get("evenements", []) or []):
                err(f"date {f} is not an event date")
            if f.startswith("http"):
                if any(r["id"] in BROKEN_URL_IDS for r in recs):
                    err("URL fact from a record whose URLs are broken")
                if not any(f == s.get("url") for r in recs for s in r.get("sites", []) or []):
                    err(f"URL {f} is not a site url")
        for f in facts:
            if f not in ans:
                err(f"fact {f!r} not repeated in expected_answer")

        # category-specific strictness (single application)
        if rec is not None and rid not in COMPARISONS and rid not in UNFILLED:
            emails = {c.get("courriel") for c in rec.get("contacts", []) or []}
            if cat == "identifier" and rec["id"] not in check:
                err("identifier: the fact must be the record id")
            if cat == "status" and rec["statut si"] not in check:
                err(f"status: expected fact {rec['statut si']!r}")
            if cat == "scope" and rec["portee geographique"] not in check:
                err("scope: expected the portee geographique")
            if cat == "family" and rec["famille d applications"] not in check:
                err("family: expected the famille d applications")
            if cat == "technology" and rec.get("technologie principale") not in check:
                err("technology: expected the technologie principale")
            if cat == "full_name" and not ({rec["nom long"], rec["nom"]} & set(check)):
                err("full_name: expected nom long (or nom)")
            if cat == "contacts" and not (emails & set(check)):
                err("contacts: expected at least one courriel of the record")
            if cat == "production_date":
                mep = events(rec, "Mise en production")
                if mep and not set(mep) & set(check):
                    err(f"production_date: expected {mep}")
                if not mep and rec["statut si"] not in check:
                    err("production_date without MEP event: state the status")
            if cat == "creation_date" and not set(events(rec, "Création")) & set(check):
                err("creation_date: expected the Création date")
            if cat == "description":
                desc = rec.get("descriptif", "")
                src = desc if desc else rec.get("nom long", "")
                if not any(f in src for f in check) and not (check and check[0] == rec.get("licence")):
                    err("description: fact should come from descriptif (or nom long if empty)")
            if cat == "domains":
                doms = {v for d in rec.get("domaines et sous domaines", [])
                        for v in d.values()}
                if not set(check) <= doms:
                    err("domains: facts must be domaine / sous domaine values")
            if cat == "functions" and not set(check) <= set(as_list(rec.get("fonctions"))):
                err("functions: facts must be fonctions values")
            if cat == "users":
                users = as_list(rec.get("utilisateurs"))
                if not set(check) <= set(users) and not all(f in rec.get("descriptif", "") for f in check):
                    err("users: facts must be utilisateurs values (or the descriptif's phrase)")
            if cat == "related_apps":
                linked = {a.get("application 2") for a in rec.get("applications liees", []) or []}
                flux = {a.get("type de flux") for a in rec.get("applications liees", []) or []}
                if not set(check) <= (linked | flux):
                    err("related_apps: facts must be linked application names / flux types")
            if cat == "related_data":
                linked = {v for a in rec.get("donnees liees", []) or [] for v in a.values()}
                if not set(check) <= linked:
                    err("related_data: facts must be donnees liees values")
            if kind == "one_contact":
                mails = [f for f in check if EMAIL_RE.match(f)]
                if len(mails) != 1 or mails[0] not in emails:
                    err("one_contact: exactly one courriel of the record expected")
        if kind == "multi_intent" and len(facts) < 2 and rid not in COMPARISONS:
            err("multi_intent: facts of both parts expected")

        # phrasing checks per kind
        if kind == "no_accents" and any(ord(c) > 127 and c.isalpha() for c in q):
            err("no_accents question contains accented letters")
        if kind == "full_name":
            if not any(fold(r["nom long"]) in fold(q) for r in recs if r.get("nom long")):
                err("full_name: question should use the nom long")
        if kind in ("typo", "name_part"):
            if all(has_word(q, nm) for nm in names_in_q):
                err(f"{kind}: question spells the name correctly")
        if kind == "spacing":
            nm = names_in_q[0]
            if nm in q or squash(nm) not in squash(q):
                err("spacing: question should contain the name with changed spacing/hyphen")
        if kind == "plural_or_case":
            nm = names_in_q[0]
            if nm in q or fold(nm) not in fold(q):
                err("plural_or_case: name should appear with another case / plural")

    # -- global checks ------------------------------------------------------
    glob = []
    kinds = Counter(r.get("kind") for r in rows)
    cats = Counter(r.get("category") for r in rows)
    apps = {r.get("app_id") for r in rows if r.get("app_id")}
    for i in COMPARISONS.values():
        apps.update(i)
    if len(rows) < 180:
        glob.append(f"only {len(rows)} questions (< 180)")
    if len(apps) < 40:
        glob.append(f"only {len(apps)} distinct applications (< 40)")
    for k in sorted(KINDS - set(kinds)):
        glob.append(f"kind {k} unused")
    for c in sorted(CATEGORIES - set(cats)):
        glob.append(f"category {c} unused")
    for rid in list(AGGREGATES) + list(COMPARISONS) + list(UNFILLED):
        if rid not in seen_ids:
            glob.append(f"spec for {rid} but no such row")

    print(f"{len(rows)} questions, {len(apps)} distinct applications, "
          f"{sum(1 for r in rows if r.get('expect_refusal'))} refusals")
    print("\nper kind:")
    for k, v in sorted(kinds.items(), key=lambda x: (-x[1], x[0])):
        print(f"  {k:20s} {v}")
    print("\nper category:")
    for k, v in sorted(cats.items(), key=lambda x: (-x[1], x[0])):
        print(f"  {k:20s} {v}")
    print("\nper difficulty:", dict(Counter(r.get("difficulty") for r in rows)))

    failing = {k: v for k, v in errors.items() if v}
    if failing or glob:
        print(f"\nFAILED: {len(failing)} row(s)")
        for rid, errs in failing.items():
            for e in errs:
                print(f"  {rid}: {e}")
        for g in glob:
            print(f"  global: {g}")
        return 1
    print("\nOK: every row passes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
