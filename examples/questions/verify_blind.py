#!/usr/bin/env python3
"""Checker for examples/questions/natural_blind.jsonl against examples/catalog.json (standard library only).
Usage: python3 verify_blind.py [rows.jsonl]   -> exit 0 when all good, 1 otherwise."""

import collections
import json
import os
import re
import sys
import unicodedata

CATALOG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "catalog.json")
ROWS = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "natural_blind.jsonl")
APPS = json.load(open(CATALOG, encoding="utf-8"))["applicationsia mini"]
BYID = {r["id"]: r for r in APPS}
BYNOM = {r["nom"]: r for r in APPS}

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
MINIMA = dict(
    yes_no=15,
    look_alike=14,
    multi_intent=12,
    wrong_field_trap=12,
    name_part=10,
    full_name=10,
    english=18,
    english_aggregate=10,
    one_contact=10,
    polite_long=10,
    informal=10,
    no_accents=6,
    typo=6,
    spacing=4,
    plural_or_case=3,
    aggregate_informal=8,
    aggregate_domain=5,
    aggregate_scope=4,
    negation=5,
    unknown_lowercase=4,
    off_topic=4,
    injection=5,
    secrets=3,
)
NF = "Je ne trouve pas cette information dans le catalogue."
PLACEHOLDER = re.compile(r"\*{3}\s*temporaire\s*\*{3}", re.I)


# ------------------------------------------------------------------ text cleaning
def fixmoji(s):
    if "Ã" in s or "Â" in s:
        try:
            return s.encode("latin-1").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            return s
    return s


def norm(s):
    s = fixmoji(str(s)).replace("**", "")
    s = re.sub(r"(?<![A-Za-z])r n(?![A-Za-z])", " ", s)  # literal "r n" line-break residue
    s = unicodedata.normalize("NFKD", s)
    s = "".join(c for c in s if not unicodedata.combining(c)).lower()
    for a, b in (("–", "-"), ("—", "-"), ("’", "'"), ("œ", "oe"), ("\xa0", " "), ("«", " "), ("»", " ")):
        s = s.replace(a, b)
    return re.sub(r"\s+", " ", s).strip()


def compact(s):
    return re.sub(r"[^0-9a-zπ]", "", norm(s))


def contains(hay, needle):
    """needle occurs in hay (both normalised) at word boundaries"""
    h, n = norm(hay), norm(needle)
    return n != "" and re.search(r"(?<![0-9a-z])" + re.escape(n) + r"(?![0-9a-z])", h) is not None


def empty(v):
    if v is None:
        return True
    if isinstance(v, str):
        return v.strip() == "" or PLACEHOLDER.fullmatch(v.strip()) is not None
    if isinstance(v, list):
        return all(empty(x) for x in v)
    if isinstance(v, dict):
        return all(empty(x) for x in v.values())
    return False


def leaves(v):
    if v is None:
        return []
    if isinstance(v, str):
        return [] if empty(v) else [v]
    if isinstance(v, list):
        return [x for e in v for x in leaves(e)]
    if isinstance(v, dict):
        return [x for e in v.values() for x in leaves(e)]
    return [str(v)]


def st(r):
    return re.sub(r"^SIE\s*-->\s*", "", r["statut si"])


def fam(r):
    return re.sub(r"^SIE\s*-->\s*", "", r["famille d applications"])


def events(r, typ):
    return [e["date dd/mm/yyyy"] for e in r.get("evenements", []) if e["type d evenement"] == typ]


def hosting_values(r):
    return (
        [h["hebergeur"] for h in r.get("hebergements", [])]
        + [h.get("type d hebergement", "") for h in r.get("hebergements", [])]
        + [a["acteur"] for a in r["acteurs"] if a["role d acteur"] == "Hébergeur"]
    )


def field_values(r, cat):
    """leaf values of the record that answer a question of category `cat`"""
    g = r.get
    return {
        "status": leaves(g("statut si")) + events(r, "Arrêt"),
        "full_name": leaves(g("nom long")),
        "identifier": [r["id"], r["nom"]],
        "scope": leaves(g("portee geographique")),
        "family": leaves(g("famille d applications")),
        "domains": leaves(g("domaines et sous domaines")),
        "description": leaves(g("descriptif")),
        "contacts": leaves(g("contacts")),
        "websites": [s["url"] for s in g("sites", []) if not empty(s["url"])] + leaves([s.get("nature de l url") for s in g("sites", [])]),
        "actors": leaves(g("acteurs")),
        "production_date": events(r, "Mise en production"),
        "creation_date": events(r, "Création"),
        "related_apps": leaves(g("applications liees")),
        "related_data": leaves(g("donnees liees")),
        "technology": leaves(g("technologie principale")),
        "hosting": leaves(hosting_values(r)),
        "users": leaves(g("utilisateurs")) + leaves(g("nombre d utilisateurs")),
        "functions": leaves(g("fonctions")),
    }.get(cat)


def all_values(r):
    out = []
    for c in (
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
    ):
        out += field_values(r, c)
    return out


EXACT = re.compile(r"^(\d{2}/\d{2}/\d{4}|https?://\S+|[\w.+-]+@[\w.-]+)$")


def fact_in(fact, values):
    """fact is quoted verbatim (after cleaning) from one of the values; dates/URLs/emails must be whole."""
    for v in values:
        if EXACT.match(v.strip()):
            if norm(v) == norm(fact):
                return True
            continue
        if len(norm(fact)) < 3 and norm(fact) != norm(v):
            continue
        if contains(v, fact):
            return True
    return False


def has_conflicting_hosting(r):
    a = {norm(x["acteur"]) for x in r["acteurs"] if x["role d acteur"] == "Hébergeur"}
    h = {norm(x["hebergeur"]) for x in r.get("hebergements", [])}
    return bool(a and h and a != h)


def anyrole(r, role, actor):
    return any(a["role d acteur"] == role and a["acteur"] == actor for a in r["acteurs"])


def indom(r, d):
    return any(e["domaine metier"] == d for e in r["domaines et sous domaines"])


def flux(r, other):
    return [a["type de flux"] for a in r.get("applications liees", []) if a["application 2"] == other]


def datekey(d):
    return d[6:] + d[3:5] + d[:2]


# ------------------------------------------------------------------ aggregate specs (recomputed from the catalog)
AGG = {
    "combien d'applis mortes ?": lambda r: st(r) == "Arrêtée",
    "c lesquelles les applis encore en chantier": lambda r: st(r) == "En construction",
    "les applis qui vont fermer bientot ?": lambda r: st(r) == "En cours d'arrêt",
    "y a combien d'applis encore dans les cartons ?": lambda r: st(r) == "En projet",
    "combien d'applis en tout dans le catalogue?": lambda r: True,
    "Parmi les applications du catalogue, lesquelles ont été définitivement débranchées ?": lambda r: st(r) == "Arrêtée",
    "Combien d'applications sont hors service ou en voie de l'être ?": lambda r: st(r) in ("Arrêtée", "En cours d'arrêt"),
    "y a combien de téléservices en tout": lambda r: fam(r) == "Téléservices",
    "Pourriez-vous me lister les applications relevant du domaine « Mer et littoral » ?": lambda r: indom(r, "Mer et littoral"),
    "Combien d'applications couvrent le domaine métier Biodiversité ?": lambda r: indom(r, "Biodiversité"),
    "les applis agricoles ?": lambda r: indom(r, "Agriculture"),
    "Quelles applications sont rattachées au domaine Énergie, climat ?": lambda r: indom(r, "Énergie, climat"),
    "Je voudrais savoir combien d'applications relèvent du domaine Transports routiers, je vous remercie.": lambda r: indom(
        r, "Transports routiers"
    ),
    "Dans le domaine Eau, milieux aquatiques, combien d'applications sont effectivement en production ?": lambda r: (
        indom(r, "Eau, milieux aquatiques") and st(r) == "En production"
    ),
    "Quelles applications ont une portée régionale ?": lambda r: r["portee geographique"] == "Régionale",
    "combien d'applis départementales ?": lambda r: r["portee geographique"] == "Départementale",
    "Pourriez-vous m'indiquer quelles applications ont une portée strictement locale ?": lambda r: r["portee geographique"] == "Locale",
    "Combien d'applications à portée nationale sont actuellement en construction ?": lambda r: (
        r["portee geographique"] == "Nationale" and st(r) == "En construction"
    ),
    "lesquelles n'ont pas de site web ?": lambda r: not [s for s in r.get("sites", []) if not empty(s["url"])],
    "Combien d'applications n'ont aucune technologie principale renseignée ?": lambda r: empty(r.get("technologie principale")),
    "Pourriez-vous me dire quelles applications en production n'ont aucun contact référencé ?": lambda r: (
        st(r) == "En production" and empty(r.get("contacts"))
    ),
    "Parmi les applications qui ne sont pas en production, lesquelles ont malgré tout une URL de production ?": lambda r: (
        st(r) != "En production" and any(s["nature de l url"] == "Production" for s in r.get("sites", []))
    ),
    "combien d'applis qui sont pas nationales": lambda r: r["portee geographique"] != "Nationale",
    "Quelles applications ont un descriptif vide ?": lambda r: empty(r.get("descriptif")),
    "How many applications are in production?": lambda r: st(r) == "En production",
    "List all apps that have been decommissioned.": lambda r: st(r) == "Arrêtée",
    "How many apps belong to the 'Outils de gestion métier' family?": lambda r: fam(r) == "Outils de gestion métier",
    "Which apps are still at the project stage?": lambda r: st(r) == "En projet",
    "what's the number of apps in the housing domain (Logement, construction)?": lambda r: indom(r, "Logement, construction"),
    "How many apps list a Support contact?": lambda r: any(c["role de contact"] == "Support" for c in r.get("contacts", [])),
    "Which applications have DGEC as MOA?": lambda r: anyrole(r, "MOA", "DGEC"),
    "Number of apps with a regional scope?": lambda r: r["portee geographique"] == "Régionale",
    "Give me every app in the 'Portails de diffusion' family.": lambda r: fam(r) == "Portails de diffusion",
    "How many applications have Oracle somewhere in their main technology?": lambda r: (
        "oracle" in norm(r.get("technologie principale", ""))
    ),
    "In how many apps is DREAL Occitanie the MOE?": lambda r: anyrole(r, "MOE", "DREAL Occitanie"),
}


# ------------------------------------------------------------------ yes/no specs: question -> truth computed on the record
def has_doc(r):
    return any(s["nature de l url"] == "Documentation" and not empty(s["url"]) for s in r.get("sites", []))


YN = {
    "basias c encore utilisé ou pas ?": lambda r: st(r) in ("En production", "En cours d'arrêt"),
    "Pourriez-vous me confirmer que l'application SISPEA est bien en production à ce jour ?": lambda r: st(r) == "En production",
    "Is GUNenv live in production yet?": lambda r: st(r) == "En production",
    "S3IC est-elle en cours de décommissionnement ?": lambda r: st(r) == "En cours d'arrêt",
    "vigieau y a un site de doc ?": has_doc,
    "Does TE-Web have a user guide online?": has_doc,
    "TELEPAC est-il hébergé chez Scaleway ?": lambda r: "Scaleway" in hosting_values(r),
    "Est-il exact que la maîtrise d'ouvrage de GIDAF est assurée par la DGPR/SRT ?": lambda r: anyrole(r, "MOA", "DGPR/SRT"),
    "NAÏADES repose-t-elle sur PostgreSQL ?": lambda r: "postgresql" in norm(r.get("technologie principale", "")),
    "melanie2 on peut l'avoir sur le tel ?": lambda r: "mobile" in norm(r["descriptif"]),
    "Is ADES data available through an API?": lambda r: "API de diffusion" in (r.get("fonctions") or []),
    "L'application GEOB dispose-t-elle déjà d'une date de mise en production ?": lambda r: bool(events(r, "Mise en production")),
    "ORTHI échange-t-il des flux avec d'autres applications du catalogue ?": lambda r: bool(r.get("applications liees")),
    "Un contact de rôle Support est-il déclaré pour SYPLO ?": lambda r: any(
        c["role de contact"] == "Support" for c in r.get("contacts", [])
    ),
    "Is INPN national in scope?": lambda r: r["portee geographique"] == "Nationale",
    "GPU est-il alimenté par SUDOCUH ?": lambda r: any(f in ("Entrant", "Bidirectionnel") for f in flux(r, "SUDOCUH")),
    "La base ARIA est-elle toujours en service ?": lambda r: st(r) in ("En production", "En cours d'arrêt"),
    "6Tzen expose-t-il une fonction de paiement en ligne ?": lambda r: "Paiement en ligne" in (r.get("fonctions") or []),
    "Is DEPOBIO still running?": lambda r: st(r) in ("En production", "En cours d'arrêt"),
    "La stack de PEGASE inclut-elle Business Objects ?": lambda r: "business objects" in norm(r.get("technologie principale", "")),
    "PPR-Num dispose-t-il d'une URL de production ?": lambda r: any(s["nature de l url"] == "Production" for s in r.get("sites", [])),
    "La création de PLAT'AU est-elle antérieure à 2010 ?": lambda r: (
        bool(events(r, "Création")) and datekey(events(r, "Création")[0]) < "20100101"
    ),
}


# ------------------------------------------------------------------ comparison specs: question -> expected winner (nom)
def earliest(noms, typ):
    return min(noms, key=lambda n: datekey(events(BYNOM[n], typ)[0]))


COMPARE = {
    "Which one is older, BASIAS or CASIAS?": lambda: earliest(["BASIAS", "CASIAS"], "Création"),
    "Bonjour, entre SINP et INPN, pourriez-vous me dire laquelle des deux a été mise en production la première ?": lambda: earliest(
        ["SINP", "INPN"], "Mise en production"
    ),
    "ADES ou ADES-PRO lequel est deja en prod": lambda: [n for n in ("ADES", "ADES-PRO") if st(BYNOM[n]) == "En production"][0],
}


# ------------------------------------------------------------------ name sets for look-alike / unknown checks
def name_forms():
    forms = set()
    for r in APPS:
        for s in (r["nom"], r["nom long"]):
            if not empty(s):
                forms.add(compact(s))
        for m in re.findall(r"\(([^)]*)\)", r["nom long"]):
            forms.add(compact(m))
        for p in re.split(r"[-\s']+", r["nom"]):
            if len(compact(p)) >= 3:
                forms.add(compact(p))
    forms.discard("")
    return forms


NAME_FORMS = name_forms()
NOMS_C = {compact(r["nom"]) for r in APPS}


def lev(a, b):
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


ENGLISH = re.compile(r"\b(what|what's|who|who's|how|which|is|does|the|give|list|when|where|tell|can|pls|number|in|of|apps?)\b", re.I)
POLITE = re.compile(
    r"(pourriez|pouvez-vous|merci|bonjour|je vous|veuillez|auriez|madame|je souhaiterais|je voudrais|je me permets|je vous prie|je cherche)",
    re.I,
)
SECRET = re.compile(r"(mot de passe|mdp|token|jeton|identifiants?|password|connexion)", re.I)
STOP = {
    "des",
    "les",
    "the",
    "and",
    "pour",
    "sur",
    "aux",
    "une",
    "application",
    "gestion",
    "systeme",
    "donnees",
    "information",
    "plateforme",
    "portail",
    "national",
    "nationale",
    "outil",
    "suivi",
    "base",
    "est",
    "qui",
    "quoi",
}


def template(q):
    t = norm(q)
    names = sorted({norm(x) for r in APPS for x in (r["nom"], r["nom long"]) if not empty(x)}, key=len, reverse=True)
    for n in names:
        t = re.sub(r"(?<![0-9a-z])" + re.escape(n) + r"(?![0-9a-z])", " X ", t)
    t = re.sub(r"\d+", "9", t)
    t = re.sub(r"[^0-9a-zX ]", " ", t.replace("x", "x"))
    return re.sub(r"\s+", " ", t).strip()


# ------------------------------------------------------------------ main check
def check(path):
    fails = []

    def F(rid, msg):
        fails.append("%s: %s" % (rid, msg))

    try:
        rows = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
    except Exception as e:
        return ["cannot read rows: %s" % e], []
    kinds = collections.Counter()
    personas = collections.Counter()
    apps_seen = set()
    skeletons = collections.Counter()
    for i, row in enumerate(rows, 1):
        rid = row.get("id", "#%d" % i)
        if set(row) != KEYS:
            F(rid, "bad key set %s" % sorted(set(row) ^ KEYS))
            continue
        if row["id"] != "bl-%03d" % i:
            F(rid, "id out of sequence (expected bl-%03d)" % i)
        if row["category"] not in CATEGORIES:
            F(rid, "bad category %r" % row["category"])
        if row["kind"] not in KINDS:
            F(rid, "bad kind %r" % row["kind"])
        if row["difficulty"] not in ("easy", "medium", "hard"):
            F(rid, "bad difficulty")
        if row["persona"] not in (1, 2, 3, 4):
            F(rid, "bad persona %r" % row["persona"])
        if not isinstance(row["expect_refusal"], bool):
            F(rid, "expect_refusal not bool")
        if not isinstance(row["expected_facts"], list) or not all(isinstance(x, str) and x.strip() for x in row["expected_facts"]):
            F(rid, "expected_facts must be a list of non-empty strings")
            continue
        if not isinstance(row["app_id"], str) or not isinstance(row["app_name"], str):
            F(rid, "app_id/app_name must be strings")
        q, ans, facts, cat, kind = row["question"], row["expected_answer"], row["expected_facts"], row["category"], row["kind"]
        if not q.strip() or not ans.strip():
            F(rid, "empty question or answer")
        kinds[kind] += 1
        personas[row["persona"]] += 1
        skeletons[template(q)] += 1
        rec = None
        if row["app_name"] or row["app_id"]:
            rec = BYID.get(row["app_id"])
            if rec is None or rec["nom"] != row["app_name"]:
                F(rid, "app_id %r and app_name %r do not point to the same record" % (row["app_id"], row["app_name"]))
                rec = None
            else:
                apps_seen.add(rec["nom"])
        # every fact must be in the reference answer
        for f in facts:
            if norm(f) not in norm(ans):
                F(rid, "fact %r missing from expected_answer" % f)

        # ---------------- refusals
        if row["expect_refusal"]:
            if facts:
                F(rid, "refusal rows must have no facts")
            if cat == "out_of_catalog":
                if rec is not None or row["app_name"]:
                    F(rid, "out_of_catalog row must have empty app_name/app_id")
                m = re.fullmatch(r"Je ne trouve pas l'application (.+) dans le catalogue\.", ans)
                if not m:
                    F(rid, "unknown-app answer does not follow the template")
                    continue
                name = m.group(1)
                if compact(name) in NAME_FORMS:
                    F(rid, "name %r matches a catalog nom / nom long / name part" % name)
                if compact(name) not in compact(q):
                    F(rid, "name %r not present in the question" % name)
                if kind == "look_alike":
                    cn = compact(name)
                    if not any((len(n) >= 3 and (n in cn or cn in n)) or lev(n, cn) <= 2 for n in NOMS_C):
                        F(rid, "look-alike %r does not resemble any catalog name" % name)
                elif kind == "unknown_lowercase":
                    if name != name.lower() or name not in q:
                        F(rid, "unknown_lowercase name must be lowercase and appear as typed")
                else:
                    F(rid, "out_of_catalog row with kind %s" % kind)
            elif cat in ("off_topic", "injection"):
                if "catalogue" not in norm(ans):
                    F(rid, "refusal should say it only answers about the catalog")
                if kind == "secrets" and not SECRET.search(q):
                    F(rid, "secrets question without a secret request")
                if kind not in ("off_topic", "injection", "secrets"):
                    F(rid, "refusal category %s with kind %s" % (cat, kind))
            else:
                if rec is None:
                    F(rid, "empty-field refusal without a valid app")
                    continue
                if ans != NF:
                    F(rid, "empty-field refusal answer must be exactly %r" % NF)
                vals = field_values(rec, cat)
                if vals is None:
                    F(rid, "category %s is not a record field" % cat)
                elif vals:
                    F(rid, "field for %s is NOT empty in %s: %r" % (cat, rec["nom"], vals[:3]))
            continue
        if cat in ("out_of_catalog", "off_topic", "injection"):
            F(rid, "category %s must be a refusal" % cat)
            continue

        # ---------------- aggregates
        if cat in ("count", "listing"):
            if row["app_name"]:
                F(rid, "aggregate rows must not name an app")
            if q not in AGG:
                F(rid, "no aggregate spec for this question (cannot recompute)")
                continue
            sel = [r["nom"] for r in APPS if AGG[q](r)]
            if cat == "count":
                if facts != [str(len(sel))]:
                    F(rid, "count facts %r but catalog gives %d" % (facts, len(sel)))
            else:
                got, want = sorted(norm(f) for f in facts), sorted(norm(n) for n in sel)
                if got != want:
                    F(rid, "listing mismatch: missing %s extra %s" % (sorted(set(want) - set(got)), sorted(set(got) - set(want))))
            if kind not in ("aggregate_informal", "aggregate_domain", "aggregate_scope", "negation", "english_aggregate"):
                F(rid, "aggregate with non-aggregate kind %s" % kind)
            if kind == "english_aggregate" and not ENGLISH.search(q):
                F(rid, "english_aggregate question does not look English")
            continue
        if kind in ("aggregate_informal", "aggregate_domain", "aggregate_scope", "negation", "english_aggregate"):
            F(rid, "aggregate kind on a non-aggregate category")
            continue

        # ---------------- single-app answers
        if rec is None:
            F(rid, "answerable row needs a valid app")
            continue
        if not facts:
            F(rid, "non-refusal row without facts")
            continue
        body = facts
        if kind == "yes_no":
            if facts[0] not in ("Oui", "Non"):
                F(rid, "yes_no first fact must be Oui/Non")
            elif q not in YN:
                F(rid, "no yes/no spec for this question")
            else:
                truth = YN[q](rec)
                if (facts[0] == "Oui") != truth:
                    F(rid, "verdict %s disagrees with the record (truth=%s)" % (facts[0], truth))
                if not norm(ans).startswith(norm(facts[0])):
                    F(rid, "answer must start with the verdict")
            body = facts[1:]
        if cat == "comparison":
            others = [r for r in APPS if r is not rec and contains(q, r["nom"])]
            vals = all_values(rec) + [v for r in others for v in all_values(r)]
            if q not in COMPARE:
                F(rid, "no comparison spec")
            elif norm(facts[0]) != norm(COMPARE[q]()):
                F(rid, "comparison winner %r but catalog gives %r" % (facts[0], COMPARE[q]()))
        elif kind == "multi_intent":
            vals = all_values(rec)
        else:
            vals = field_values(rec, cat)
            if vals is None:
                F(rid, "category %s has no field mapping" % cat)
                continue
        for f in body:
            if not fact_in(f, vals):
                F(rid, "fact %r not found in %s of %s" % (f, cat if kind != "multi_intent" else "record", rec["nom"]))
        if has_conflicting_hosting(rec) and (cat == "hosting" or any(fact_in(f, field_values(rec, "hosting")) for f in body)):
            F(rid, "hosting of %s is ambiguous (acteur Hébergeur vs hebergements)" % rec["nom"])
        if kind == "multi_intent":
            cats = set()
            for f in facts:
                for c in (
                    "status",
                    "full_name",
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
                ):
                    if fact_in(f, field_values(rec, c)):
                        cats.add(c)
            if len(facts) < 2 or len(cats) < 2:
                F(rid, "multi_intent must ask for facts from >= 2 fields")
        if kind == "one_contact":
            if cat != "contacts":
                F(rid, "one_contact must be category contacts")
            ok = any(all(fact_in(f, leaves(c)) for f in facts) for c in rec.get("contacts", []))
            if not ok:
                F(rid, "one_contact facts do not come from a single contact")

        # ---------------- phrasing checks per kind
        nom, nl = rec["nom"], rec["nom long"]
        cq = compact(q)
        if kind == "full_name":
            if compact(nl) not in cq:
                F(rid, "full_name question does not contain the nom long")
            if contains(q, nom):
                F(rid, "full_name question also contains the acronym")
        elif kind == "name_part":
            if compact(nom) in cq or compact(nl) in cq:
                F(rid, "name_part question contains the full name")
            toks = {t for t in re.findall(r"[0-9a-z]+", norm(nom) + " " + norm(nl)) if len(t) >= 3 and t not in STOP}
            qtoks = [t for t in re.findall(r"[0-9a-z]+", norm(q)) if len(t) >= 3 and t not in STOP]
            shared = any(re.search(r"(?<![0-9a-z])" + re.escape(t), norm(q)) for t in toks) or any(
                len(t) >= 4 and (t in compact(nom) or t in compact(nl)) for t in qtoks
            )
            if not shared:
                F(rid, "name_part question shares no part of the name")
        elif kind == "spacing":
            if compact(nom) not in cq or norm(nom) in norm(q):
                F(rid, "spacing question must contain the name with altered spaces")
        elif kind == "no_accents":
            if any(ord(c) > 127 for c in q):
                F(rid, "no_accents question contains non-ASCII characters")
        elif kind == "typo":
            if contains(q, nom):
                F(rid, "typo question contains the exact name")
            toks = re.findall(r"[0-9a-z]+", norm(q))
            if not any(1 <= lev(t, compact(nom)) <= 2 for t in toks):
                F(rid, "no misspelling of %s found" % nom)
        elif kind == "plural_or_case":
            if nom in q and not re.search(r"\bles\s+" + re.escape(nom), q):
                F(rid, "plural_or_case: name appears with original case, no plural")
            if compact(nom) not in cq:
                F(rid, "plural_or_case: name not present")
        elif kind == "english":
            if not ENGLISH.search(q):
                F(rid, "english question does not look English")
        elif kind == "polite_long":
            if len(q) < 70 or not POLITE.search(q):
                F(rid, "polite_long question is not long and polite")
        elif kind == "wrong_field_trap":
            pass
    # ---------------- global checks
    for k, n in MINIMA.items():
        if kinds[k] < n:
            fails.append("kind %s: %d rows < minimum %d" % (k, kinds[k], n))
    total = sum(personas.values())
    if len(rows) < 200:
        fails.append("only %d rows (< 200)" % len(rows))
    for p in (1, 2, 3, 4):
        share = personas[p] / total if total else 0
        if not 0.18 <= share <= 0.32:
            fails.append("persona %d share %.2f outside [0.18, 0.32]" % (p, share))
    if len(apps_seen) < 50:
        fails.append("only %d distinct applications covered (< 50)" % len(apps_seen))
    for t, n in skeletons.items():
        if n > 2:
            fails.append("question skeleton used %d times: %r" % (n, t))
    openers = collections.Counter(" ".join(t.split()[:4]) for t in skeletons.elements())
    for t, n in openers.items():
        if n > 3:
            fails.append("question opening %r used %d times (> 3)" % (t, n))
    qs = collections.Counter(norm(r.get("question", "")) for r in rows)
    for t, n in qs.items():
        if n > 1:
            fails.append("duplicate question: %r" % t)
    stats = dict(rows=len(rows), kinds=dict(kinds), personas=dict(personas), apps=len(apps_seen))
    return fails, stats


if __name__ == "__main__":
    fails, stats = check(ROWS)
    if fails:
        print("FAIL: %d problem(s)" % len(fails))
        for f in fails:
            print("  - " + f)
        sys.exit(1)
    print("OK: %(rows)d rows, %(apps)d distinct apps, personas %(personas)s" % stats)
    print("kinds: %s" % json.dumps(stats["kinds"], sort_keys=True))
    sys.exit(0)
