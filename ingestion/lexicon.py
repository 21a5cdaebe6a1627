"""How staff name the catalog's values in words of their own — French and English.

"en prod", "live", "mortes", "decommissioned": the words a question uses for a status, a
contact's role, or a yes/no form. Every phrase is folded (lowercase, no accents, punctuation as
spaces) and maps to the catalog value it means; a phrase is only used when the catalog holds
that value. Longer phrases are tried first, so "en cours d'arrêt" is not also "arrêtée".
"""

from __future__ import annotations

import re

# Folded phrase → folded status value of the catalog.
STATUS_PHRASES: dict[str, str] = {
    # being stopped
    "en cours d arret": "en cours d arret", "en train d etre arrete": "en cours d arret", "en train d etre arretee": "en cours d arret",
    "en train d etre arretees": "en cours d arret", "en fin de vie": "en cours d arret", "en voie d arret": "en cours d arret",
    "en extinction": "en cours d arret", "being retired": "en cours d arret", "being decommissioned": "en cours d arret",
    "phasing out": "en cours d arret", "being phased out": "en cours d arret",
    # stopped
    "arretee": "arretee", "arretees": "arretee", "arrete": "arretee", "arretes": "arretee", "mortes": "arretee", "morte": "arretee",
    "abandonnee": "arretee", "abandonnees": "arretee", "decommissionnee": "arretee", "decommissionnees": "arretee",
    "fermee": "arretee", "fermees": "arretee", "retiree": "arretee", "retirees": "arretee", "stoppee": "arretee", "stoppees": "arretee",
    "plus utilisee": "arretee", "plus utilisees": "arretee", "decommissioned": "arretee", "retired": "arretee", "stopped": "arretee",
    "shut down": "arretee", "discontinued": "arretee", "dead": "arretee", "debranchee": "arretee", "debranchees": "arretee",
    "debranche": "arretee", "debranches": "arretee",
    # in production
    "en production": "en production", "en prod": "en production", "en service": "en production", "en ligne": "en production",
    "actives": "en production", "active": "en production", "operationnelle": "en production", "operationnelles": "en production",
    "in production": "en production", "live": "en production", "running": "en production", "in use": "en production",
    "operational": "en production", "encore utilise": "en production", "encore utilisee": "en production",
    "toujours utilise": "en production", "toujours utilisee": "en production", "marche encore": "en production",
    "fonctionne encore": "en production", "tourne encore": "en production", "toujours en service": "en production",
    "still used": "en production", "still in use": "en production", "ouvert": "en production", "ouverte": "en production",
    "deja ouvert": "en production", "deja ouverte": "en production",
    # being built
    "en construction": "en construction", "en chantier": "en construction", "en developpement": "en construction", "en dev": "en construction",
    "en cours de developpement": "en construction", "under construction": "en construction", "being built": "en construction",
    "in development": "en construction", "under development": "en construction",
    # planned
    "en projet": "en projet", "au stade de projet": "en projet", "au stade du projet": "en projet", "prevue": "en projet", "prevues": "en projet",
    "dans les cartons": "en projet", "planned": "en projet", "project stage": "en projet", "at the project stage": "en projet",
}

# Folded phrase → folded contact role of the catalog.
ROLE_PHRASES: dict[str, str] = {
    "chef de projet": "chef de projet", "cheffe de projet": "chef de projet", "cdp": "chef de projet", "project manager": "chef de projet",
    "project lead": "chef de projet",
    "responsable d application": "responsable d application", "responsable d appli": "responsable d application",
    "resp d appli": "responsable d application", "resp appli": "responsable d application", "resp d application": "responsable d application",
    "responsable applicatif": "responsable d application", "application manager": "responsable d application",
    "application owner": "responsable d application",
    "support": "support", "assistance": "support", "helpdesk": "support", "help desk": "support", "hotline": "support",
}

# Folded phrase → folded actor role of the catalog.
ACTOR_ROLE_PHRASES: dict[str, str] = {
    "maitre d ouvrage": "moa", "maitrise d ouvrage": "moa", "moa": "moa", "project owner": "moa",
    "maitre d oeuvre": "moe", "maitrise d oeuvre": "moe", "moe": "moe", "prime contractor": "moe",
    "hebergeur": "hebergeur",
}

_YES_NO = re.compile(
    r"^(est ce qu|est ce que|is|are|does|do|did|has|have|was|were|can|could)\b"
    r"|\b(est|sont|a|ont|va|vont|fonctionne|marche|tourne|existe)[ ]?(t )?(il|elle|ils|elles)\b"
    # Any verb inverted with its subject: "dispose-t-elle", "échange-t-il", "font-ils", "utilisent-elles".
    r"|\b[a-z]{2,}[ea] t (il|elle|on)\b|\b(?!dont\b)[a-z]{2,}nt (ils|elles)\b"
    r"|\bc est bien\b|\b(encore|toujours|deja|bien) (en|utilise|actif|active|disponible|en service|en ligne)\b"
    r"|\b(marche|fonctionne|tourne)(nt)? (encore|toujours)\b|\boui ou non\b|\bstill\b"
)
# A negation at most two words before a phrase: "pas le chef de projet", "pas de portée nationale".
_NEGATED = re.compile(r"\b(pas|non|not|sauf|except|hors|aren t|isn t)\b(\W+\w+){0,2}\W*$")


# Short forms staff write for the words the catalog spells out: "un site de doc ?" asks for a
# site labelled « Documentation ».
SHORT_FORMS: dict[str, str] = {
    "doc": "documentation", "docs": "documentation", "prod": "production", "preprod": "preproduction", "dev": "developpement",
    "techno": "technologie", "technos": "technologie", "infos": "informations", "info": "information",
    "pro": "professionnel",
}


def claim_stem(word: str) -> str:
    """A folded word without its plural, for yes/no claims: "notaires" tests "Notaires"."""
    return word[:-1] if len(word) > 4 and word[-1] in "sx" else word


def find_phrases(folded: str, phrases: dict[str, str]) -> list[tuple[int, int, str]]:
    """``(start, end, value)`` of each phrase found in ``folded`` (character offsets), longest first, no overlap."""
    padded = f" {folded} "
    found: list[tuple[int, int, str]] = []
    for phrase in sorted(phrases, key=len, reverse=True):
        start = padded.find(f" {phrase} ")
        while start != -1:
            span = (start, start + len(phrase))
            if not any(s < span[1] and span[0] < e for s, e, _ in found):
                found.append((*span, phrases[phrase]))
            start = padded.find(f" {phrase} ", start + 1)
    return sorted(found)


def negated(folded: str, start: int) -> bool:
    """The phrase at ``start`` follows a negation ("pas le chef de projet", "except the support")."""
    return _NEGATED.search(f" {folded} "[:start]) is not None


_WH_WORD = re.compile(
    r"\b(qui|quoi|quel|quelle|quels|quelles|ou|quand|comment|combien|pourquoi|lequel|laquelle|lesquels|lesquelles"
    r"|what|who|when|where|which|how|why)\b"
    # "que" asks only where a clause starts ("Que fait X ?", "ce que fait X"); elsewhere it joins a
    # claim ("Est-il vrai que X est arrêtée ?", "Confirmez-vous que…").
    r"|^(que|qu)\b|\bce (que|qu)\b"
)
# Forms that ask for a verdict whatever else the sentence holds ("ou" here is "or", not "où").
_VERDICT = re.compile(
    r"\b(ou pas|ou non|oui ou non|vrai ou faux|est il vrai|c est vrai que|confirme[sz]?|je me trompe|n est ce pas|c est ca|non \?$"
    r"|peut on dire|d actualite|is it true|right \?$)"
)
# An alternative between two values closing the question: one or two words after "ou"/"or".
_ALTERNATIVE = re.compile(r"\b(ou|or) (?!pas\b|non\b|not\b|no\b)\w+( \w+)?\s*$")
_VERB = re.compile(r"\b(est|sont|a|ont|c est|marche|fonctionne|tourne|existe|utilise|dispose|possede|heberge|remplace|va|peut|fait)\b")


def is_yes_no(folded: str, question: str = "") -> bool:
    """A yes/no question: its form ("est-elle…", "is it…"), or a verb, a question mark and no
    interrogative word ("GeoNature, c'est un logiciel libre ?")."""
    if _VERDICT.search(folded if not question.rstrip().endswith("?") else folded + " ?"):
        return True
    if _ALTERNATIVE.search(folded):
        return False  # "SINP est-il national ou régional ?" asks which, not whether
    if _WH_WORD.search(re.sub(r"^est ce (que|qu)\b", "", folded)):
        return False  # "Pour quels usages a-t-elle été conçue ?" asks what, not whether
    if _YES_NO.search(folded):
        return True
    return question.rstrip().endswith("?") and _VERB.search(folded) is not None
