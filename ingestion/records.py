"""The typed, normalised application record: what every other part of Dyag reads.

Field names follow the normalised export keys (``nom long`` → ``nom_long``). Sub-records keep
their original strings; ``extra`` holds every field the inventory does not know, so nothing
from the catalog is lost, and ``placeholders`` / ``repairs`` say what was found and fixed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _SubRecord(BaseModel):
    # Sub-fields the inventory does not know are kept, never dropped.
    model_config = ConfigDict(extra="allow")


class Domain(_SubRecord):
    domaine: str | None = None
    sous_domaine: str | None = None

    @property
    def path(self) -> str:
        """``"Eau, milieux aquatiques > Police de l'eau"``."""
        return " > ".join(p for p in (self.domaine, self.sous_domaine) if p)


class Site(_SubRecord):
    nature: str | None = None
    url: str | None = None
    url_original: str | None = Field(None, description="The value as exported, when the URL had to be repaired.")
    commentaire: str | None = None


class Actor(_SubRecord):
    role: str | None = None
    acteur: str | None = None


class Contact(_SubRecord):
    role: str | None = None
    contact: str | None = None
    courriel: str | None = None


class Event(_SubRecord):
    date: dt.date | None = None
    date_raw: str | None = None
    type: str | None = None
    version: str | None = None
    commentaire: str | None = None


class Link(_SubRecord):
    """A related application or a related data set."""

    nom: str | None = None
    id: str | None = None
    type_flux: str | None = None


class AppRecord(BaseModel):
    """One application of the catalog, normalised."""

    id: str
    nom: str
    nom_long: str | None = None
    statut: str | None = None
    portee_geographique: str | None = None
    famille: str | None = None
    descriptif: str | None = None
    domaines: list[Domain] = Field(default_factory=list)
    sites: list[Site] = Field(default_factory=list)
    acteurs: list[Actor] = Field(default_factory=list)
    contacts: list[Contact] = Field(default_factory=list)
    evenements: list[Event] = Field(default_factory=list)
    hebergements: list[dict[str, str]] = Field(default_factory=list)
    technologie_principale: str | None = None
    fonctions: list[str] = Field(default_factory=list)
    utilisateurs: list[str] = Field(default_factory=list)
    applications_liees: list[Link] = Field(default_factory=list)
    donnees_liees: list[Link] = Field(default_factory=list)
    enjeux: str | None = None
    date_modification: str | None = None
    extra: dict[str, Any] = Field(default_factory=dict, description="Fields outside the inventory, kept verbatim after repair.")
    placeholders: list[str] = Field(default_factory=list, description="Fields whose value is a placeholder such as ***TEMPORAIRE***.")
    repairs: list[str] = Field(default_factory=list, description="What the loader repaired, one line each.")
    source_index: int = Field(0, description="Position of the record in the catalog file.")

    @property
    def display_name(self) -> str:
        long_name = self.fact("nom_long")
        return f"{self.nom} ({long_name})" if long_name and long_name != self.nom else self.nom

    def fact(self, field: str) -> str | None:
        """A scalar field's value unless it is a placeholder (placeholders are not facts)."""
        if field in self.placeholders:
            return None
        value = getattr(self, field, None)
        return value if value else None


# The scalar fields of the inventory, with the export keys (normalised) that map to them.
SCALAR_FIELDS: dict[str, tuple[str, ...]] = {
    "id": ("id", "identifiant", "id application"),
    "nom": ("nom", "name", "nom application"),
    "nom_long": ("nom long", "nom complet", "libelle"),
    "statut": ("statut si", "statut"),
    "portee_geographique": ("portee geographique", "portee"),
    "famille": ("famille d applications", "famille d application", "famille"),
    "descriptif": ("descriptif", "description"),
    "technologie_principale": ("technologie principale", "technologie"),
    "enjeux": ("enjeux",),
    "date_modification": ("date et heure de modification de la fiche", "date de modification de la fiche"),
}

# List-of-object fields: record key aliases, and for each sub-field the normalised export keys.
OBJECT_LIST_FIELDS: dict[str, tuple[tuple[str, ...], dict[str, tuple[str, ...]]]] = {
    "domaines": (
        ("domaines et sous domaines", "domaines", "domaine"),
        {"domaine": ("domaine metier", "domaine"), "sous_domaine": ("sous domaine metier", "sous domaine")},
    ),
    "sites": (
        ("sites", "site", "urls"),
        {"nature": ("nature de l url", "nature"), "url": ("url", "lien"), "commentaire": ("commentaire",)},
    ),
    "acteurs": (
        ("acteurs", "acteur"),
        {"role": ("role d acteur", "role"), "acteur": ("acteur", "nom")},
    ),
    "contacts": (
        ("contacts", "contact"),
        {"role": ("role de contact", "role"), "contact": ("contact", "nom"), "courriel": ("courriel", "email", "mail", "e mail")},
    ),
    "evenements": (
        ("evenements", "evenement"),
        {
            "date_raw": ("date dd/mm/yyyy", "date", "date de l evenement"),
            "type": ("type d evenement", "type"),
            "version": ("version",),
            "commentaire": ("commentaire",),
        },
    ),
    "applications_liees": (
        ("applications liees", "application liee"),
        {"nom": ("application 2", "application", "nom"), "id": ("id application 2", "id application", "id"), "type_flux": ("type de flux", "flux")},
    ),
    "donnees_liees": (
        ("donnees liees", "donnee liee"),
        {"nom": ("donnee liee", "donnee", "nom"), "id": ("id donnee liee", "id donnee", "id"), "type_flux": ("type de flux", "flux")},
    ),
}

STRING_LIST_FIELDS: dict[str, tuple[str, ...]] = {
    "fonctions": ("fonctions", "fonction"),
    "utilisateurs": ("utilisateurs", "utilisateur"),
}

FREE_OBJECT_LIST_FIELDS: dict[str, tuple[str, ...]] = {"hebergements": ("hebergements", "hebergement")}

# Human labels, in French, used by chunks, answers and `dyag inspect`.
FIELD_LABELS: dict[str, str] = {
    "id": "Identifiant",
    "nom": "Nom",
    "nom_long": "Nom long",
    "statut": "Statut",
    "portee_geographique": "Portée géographique",
    "famille": "Famille d'applications",
    "descriptif": "Descriptif",
    "domaines": "Domaines métier",
    "sites": "Sites",
    "acteurs": "Acteurs",
    "contacts": "Contacts",
    "evenements": "Événements",
    "hebergements": "Hébergements",
    "technologie_principale": "Technologie principale",
    "fonctions": "Fonctions",
    "utilisateurs": "Utilisateurs",
    "applications_liees": "Applications liées",
    "donnees_liees": "Données liées",
    "enjeux": "Enjeux",
    "date_modification": "Date de modification de la fiche",
}
