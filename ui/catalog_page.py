"""Catalog page: search and filter the applications, and read a record's fields to check an answer.

A Streamlit page script (``st.Page`` runs it as ``__main__``) whose pieces are importable.
``?app=ID`` in the URL opens that record (the chat's source links use it).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ingestion.embeddings import EmbeddingModelError
from ingestion.index import IndexStateError
from ingestion.records import AppRecord
from ingestion.text_repair import fold
from ui.state import app_settings, get_records, index_error_message
from ui.text import md_escape, safe_url


def search_text(record: AppRecord) -> str:
    """Everything a search should find a record by, folded (case and accents ignored)."""
    parts = [record.id, record.nom, record.nom_long or "", record.descriptif or "", record.famille or ""]
    parts += [c.contact or "" for c in record.contacts] + [c.courriel or "" for c in record.contacts]
    parts += [a.acteur or "" for a in record.acteurs] + record.fonctions + [d.path for d in record.domaines]
    return fold(" ".join(parts))


def first_domains(record: AppRecord) -> set[str]:
    return {d.domaine for d in record.domaines if d.domaine}


def filter_records(
    records: list[AppRecord], query: str = "", statuses: list[str] | None = None,
    domains: list[str] | None = None, scopes: list[str] | None = None,
) -> list[AppRecord]:
    """Records matching every word of ``query`` and each non-empty filter."""
    words = fold(query).split()
    return [
        r for r in records
        if all(w in search_text(r) for w in words)
        and (not statuses or r.statut in statuses)
        and (not domains or first_domains(r) & set(domains))
        and (not scopes or r.portee_geographique in scopes)
    ]


def _table(records: list[AppRecord]) -> pd.DataFrame:
    rows = [
        (r.id, r.nom, r.fact("nom_long") or "", r.statut or "", r.portee_geographique or "", ", ".join(sorted(first_domains(r))))
        for r in records
    ]
    # Explicit columns: an empty result is still a table with its headers.
    return pd.DataFrame(rows, columns=["id", "nom", "nom long", "statut", "portée", "domaines"])


def _rows(items: list, exclude: set[str] | None = None) -> list[dict]:  # type: ignore[type-arg]
    return [
        {k: v for k, v in (i.model_dump(exclude_none=True, exclude=exclude) if hasattr(i, "model_dump") else i).items() if v not in ("", None)}
        for i in items
    ]


def render_record(record: AppRecord) -> None:
    st.subheader(md_escape(record.display_name))  # a header is Markdown: an image in a name would be fetched
    scalars = {
        "id": "Identifiant", "statut": "Statut", "portee_geographique": "Portée géographique", "famille": "Famille",
        "technologie_principale": "Technologie principale", "date_modification": "Dernière modification de la fiche",
    }
    # fact(): a placeholder such as ***TEMPORAIRE*** is not shown as a value (see "Qualité de la fiche").
    st.markdown("\n".join(f"- **{label}** : {md_escape(value)}" for name, label in scalars.items() if (value := record.fact(name))))
    if descriptif := record.fact("descriptif"):
        st.markdown(md_escape(descriptif))
    links = [f"- [{md_escape(s.nature or 'site')}]({url})" for s in record.sites if (url := safe_url(s.url))]
    if links:
        st.markdown("**Sites**\n" + "\n".join(links))
    sections = [
        ("Domaines", _rows(record.domaines)), ("Contacts", _rows(record.contacts)), ("Acteurs", _rows(record.acteurs)),
        ("Événements", _rows(record.evenements, exclude={"date_raw"})), ("Applications liées", _rows(record.applications_liees)),
        ("Données liées", _rows(record.donnees_liees)), ("Hébergements", _rows(record.hebergements)),
        ("Fonctions", [{"fonction": f} for f in record.fonctions]), ("Utilisateurs", [{"utilisateur": u} for u in record.utilisateurs]),
    ]
    for label, rows in sections:
        if rows:
            st.markdown(f"**{label}**")
            st.dataframe(rows, hide_index=True)
    if record.enjeux:
        st.markdown(f"**Enjeux** : {md_escape(record.enjeux)}")
    if record.extra:
        with st.expander("Autres champs de la fiche"):
            st.json(record.extra)
    if record.placeholders or record.repairs:
        with st.expander("Qualité de la fiche"):
            if record.placeholders:
                st.markdown("Valeurs provisoires : " + md_escape(", ".join(record.placeholders)))
            st.text("\n".join(record.repairs))


def render() -> None:
    settings = app_settings()
    st.title("Catalogue des applications")
    try:
        records = get_records(settings)
    except (IndexStateError, EmbeddingModelError) as exc:
        st.error(index_error_message(settings, exc))
        return
    query = st.text_input("Rechercher", placeholder="nom, sigle, description, contact, fonction…", key="catalog_query")
    statuses, domains, scopes = st.columns(3)
    chosen_statuses = statuses.multiselect("Statut", sorted({r.statut for r in records if r.statut}), key="catalog_status", placeholder="Tous")
    chosen_domains = domains.multiselect("Domaine", sorted(set().union(*map(first_domains, records))), key="catalog_domain", placeholder="Tous")
    chosen_scopes = scopes.multiselect("Portée", sorted({r.portee_geographique for r in records if r.portee_geographique}), key="catalog_scope", placeholder="Toutes")
    matches = filter_records(records, query, chosen_statuses, chosen_domains, chosen_scopes)
    st.caption(f"{len(matches)} application(s) sur {len(records)}")
    st.dataframe(_table(matches), hide_index=True)
    if not matches:
        return
    ids = [r.id for r in matches]
    wanted = st.query_params.get("app")
    by_id = {r.id: r for r in matches}
    chosen = st.selectbox(
        "Fiche", ids, index=ids.index(wanted) if wanted in ids else 0,
        format_func=lambda i: f"{by_id[i].nom} ({i})", key="catalog_app",
    )
    render_record(by_id[chosen])


if __name__ == "__main__":
    render()
