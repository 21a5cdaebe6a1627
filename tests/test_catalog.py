"""The loader on every export shape and defect of ARCHITECTURE.md, with real files."""

from __future__ import annotations

import json

import pytest

from ingestion.catalog import CatalogError, load_catalog
from tests.conftest import DATA, EXAMPLE_CATALOG, ROOT, write_catalog


@pytest.fixture(scope="module")
def example():
    return {r.id: r for r in load_catalog(EXAMPLE_CATALOG).records}


def test_example_catalog_loads_every_record(example):
    assert len(example) == 64
    assert example["1028"].nom == "6Tzen"
    assert example["1028"].statut == "En production"


def test_display_keys_map_to_the_same_record():
    report = load_catalog(ROOT / "examples" / "catalog_display_keys.json")
    assert report.list_key == "applicationsIA"
    by_id = {r.id: r for r in report.records}
    tzen = by_id["1028"]
    assert tzen.nom == "6Tzen" and tzen.statut == "En production"
    assert tzen.portee_geographique and tzen.domaines and tzen.domaines[0].domaine
    assert any(e.type for e in tzen.evenements) and all(e.date is not None for e in tzen.evenements if e.date_raw)
    assert any(c.courriel for c in tzen.contacts)


def test_bare_list_bom_and_latin1_files():
    assert [r.id for r in load_catalog(DATA / "bare_list.json").records] == ["911", "912", "913"]
    bom = load_catalog(DATA / "bom.json")
    assert bom.encoding == "utf-8-sig" and len(bom.records) == 2
    latin = load_catalog(DATA / "latin1.json")
    assert latin.encoding == "cp1252"
    text = " ".join(r.descriptif or "" for r in latin.records)
    assert any(ch in text for ch in "éèàç"), text


def test_mojibake_is_repaired_and_reported(example):
    assert "Ã" not in (example["1014"].descriptif or "")
    assert "Ã" not in (example["1045"].nom_long or "")
    assert any("mojibake" in r for r in example["1014"].repairs)


def test_line_breaks_bold_prefix_and_placeholders(example):
    assert "\n" in example["1025"].descriptif and " r n " not in example["1025"].descriptif
    assert "**" not in example["1022"].descriptif
    assert example["1030"].statut == "En production"
    assert "nom_long" in example["1064"].placeholders
    assert example["1064"].nom_long == "***TEMPORAIRE***"  # kept, but marked
    assert example["1064"].fact("nom_long") is None
    assert "descriptif" in example["1046"].placeholders


def test_urls_repaired_only_when_safe_and_original_kept(example):
    site = next(s for s in example["1052"].sites if s.url_original)
    assert site.url == "https://www.geoportail.gouv.fr/carte"
    assert site.url_original.startswith("https ")
    # Ambiguous ones are kept verbatim and reported.
    assert any("not safely repairable" in r for r in example["1058"].repairs)


def test_email_repeated_in_contact_is_cleaned(example):
    contact = example["1034"].contacts[0]
    assert contact.courriel and "@" in contact.courriel
    assert contact.contact is None or "@" not in contact.contact


def test_string_or_list_fields(example):
    assert example["1038"].fonctions == ["Saisie", "Consultation", "Export"]
    assert len(example["1029"].utilisateurs) >= 1
    mixed = {r.id: r for r in load_catalog(DATA / "mixed_types.json").records}
    assert all(isinstance(r.fonctions, list) for r in mixed.values())
    assert mixed["963"].fonctions == []
    assert len(mixed["962"].contacts) == 1 and mixed["962"].contacts[0].courriel


def test_unknown_fields_are_kept(example):
    assert "licence" in example["1001"].extra
    assert "dict code sandre" in example["1003"].extra


def test_unknown_sub_fields_are_kept(tmp_path):
    path = write_catalog(tmp_path / "c.json", [
        {"id": "1", "nom": "X", "contacts": [{"courriel": "a@b.fr", "telephone": "01 02 03 04 05"}]}
    ])
    contact = load_catalog(path).records[0].contacts[0]
    assert contact.model_extra["telephone"] == "01 02 03 04 05"


def test_dates_parsed(example):
    events = [e for r in example.values() for e in r.evenements if e.date_raw]
    assert events and all(e.date is not None for e in events)
    assert example["1028"].evenements[0].date.year > 1990


@pytest.mark.parametrize(
    "name, needle",
    [
        ("not_json.json", "not valid JSON"),
        ("truncated.json", "truncated"),
        ("no_list.json", "no list of application records"),
        ("empty.json", "no application records"),
    ],
)
def test_file_level_errors(name, needle):
    with pytest.raises(CatalogError, match=needle):
        load_catalog(DATA / name)


def test_missing_name_names_the_record():
    with pytest.raises(CatalogError) as info:
        load_catalog(DATA / "missing_nom.json")
    err = info.value
    assert (err.index, err.record_id, err.field) == (1, "902", "nom")
    assert "record #1" in str(err) and "902" in str(err)


def test_duplicate_ids_name_both_records():
    with pytest.raises(CatalogError) as info:
        load_catalog(DATA / "duplicate_ids.json")
    assert info.value.index == 2 and info.value.record_id == "903"
    assert "record #0" in str(info.value)


def test_skip_invalid_keeps_valid_records_and_reports_rejects():
    report = load_catalog(DATA / "missing_nom.json", skip_invalid=True)
    assert len(report.records) == 2 and len(report.rejected) == 1
    assert report.rejected[0].record_id == "902"


def test_huge_field_is_rejected_with_the_field_named(tmp_path):
    path = write_catalog(tmp_path / "big.json", [{"id": "1", "nom": "BIG", "descriptif": "x" * 300_000}])
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    assert info.value.field == "descriptif" and "300,000" in str(info.value)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(CatalogError, match="does not exist"):
        load_catalog(tmp_path / "nope.json")
    with pytest.raises(CatalogError, match="directory"):
        load_catalog(tmp_path)


def test_record_that_is_not_an_object(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps([{"id": "1", "nom": "A"}, "oops"]))
    with pytest.raises(CatalogError, match="record #1"):
        load_catalog(path)
