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


# --- hostile values (issue #15): sizes inside lists and objects, nesting, encodings, controls ---


def _rejected(tmp_path, records, **limits) -> CatalogError:  # type: ignore[no-untyped-def]
    path = tmp_path / "c.json"
    path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(CatalogError) as info:
        load_catalog(path, **limits)
    return info.value


@pytest.mark.parametrize(
    ("contact", "field"),
    [
        ({"contact": ["x" * 10_000_000]}, "contacts[0].contact[0]"),  # a list where text belongs
        ({"contact": {"nom": "x" * 300_000}}, "contacts[0].contact.nom"),  # an object where text belongs
        ({"contact": ["x" * 150_000, "y" * 150_000]}, "contacts"),  # each value fits, together they do not
    ],
)
def test_the_field_size_limit_holds_inside_lists_and_objects(tmp_path, contact, field):
    error = _rejected(tmp_path, [{"id": "1", "nom": "A"}, {"id": "2", "nom": "BIG", "contacts": [contact]}])
    assert (error.index, error.record_id, error.field) == (1, "2", field)
    assert "max_field_chars" in str(error) and len(str(error)) < 400


def test_a_list_of_200000_items_is_rejected_with_its_field(tmp_path):
    error = _rejected(tmp_path, [{"id": "7", "nom": "LONG", "contacts": [{"contact": f"p{i}"} for i in range(200_000)]}])
    assert error.field == "contacts" and "200,000 items" in str(error) and "max_list_items" in str(error)
    # The limit is a setting: a catalog within it loads.
    path = write_catalog(tmp_path / "ok.json", [{"id": "7", "nom": "LONG", "fonctions": [f"f{i}" for i in range(50)]}])
    assert len(load_catalog(path, max_list_items=50).records[0].fonctions) == 50
    with pytest.raises(CatalogError, match="50 items"):
        load_catalog(path, max_list_items=49)


def test_deep_nesting_names_the_record_and_field(tmp_path):
    deep: object = "x"
    for _ in range(900):
        deep = [deep]
    error = _rejected(tmp_path, [{"id": "1", "nom": "A"}, {"id": "9", "nom": "DEEP", "champ inconnu": deep}])
    assert (error.index, error.record_id, error.name) == (1, "9", "DEEP")
    assert error.field.startswith("champ inconnu[0]") and "nested more than" in str(error) and len(str(error)) < 400
    # Deeper than Python's JSON reader goes: the file's line is named instead.
    path = tmp_path / "deeper.json"
    path.write_text('[{"id": "1", "nom": "A"},\n{"id": "2", "nom": "B", "x": ' + "[" * 5000 + "]" * 5000 + "}]")
    with pytest.raises(CatalogError, match=r"nests values more than \d+ levels deep \(line 2\)"):
        load_catalog(path)


def test_bytes_that_are_not_utf8_are_repaired_in_their_record_and_reported(tmp_path, caplog):
    records = [
        {"id": "1", "nom": "ÉTIAGE", "descriptif": "Données d'étiage en été."},
        {"id": "2", "nom": "MIXTE", "descriptif": "Système de gestion du café"},
    ]
    raw = json.dumps(records, ensure_ascii=False).encode("utf-8").replace("café".encode(), "café".encode("cp1252"))
    path = tmp_path / "mixed.json"
    path.write_bytes(raw)
    with caplog.at_level("WARNING", logger="ingestion.catalog"):
        report = load_catalog(path)
    first, mixed = report.records
    # The UTF-8 records stay right, and so does the one saved in cp1252 (both encodings in one value).
    assert first.nom == "ÉTIAGE" and first.descriptif == "Données d'étiage en été." and not first.repairs
    assert mixed.descriptif == "Système de gestion du café"
    assert mixed.repairs == ["descriptif: bytes that are not UTF-8 read as cp1252"]
    assert report.encoding == "utf-8+cp1252"
    assert "in #1 'MIXTE'" in caplog.text


def test_control_characters_never_reach_names_or_chunks(tmp_path):
    from ingestion.chunking import chunk_records

    path = tmp_path / "c.json"
    # Written as JSON escapes: NUL, ESC, a bidi override, a lone surrogate, a line separator.
    path.write_text(
        '[{"id": "1\\u0000", "nom": "AL\\u0000PHA\\u202e", "descriptif": "ligne\\u2028suite \\u001b[31m \\ud800 fin",'
        ' "contacts": [{"contact": "Anne\\u0007 Martin"}]}]',
        encoding="utf-8",
    )
    record = load_catalog(path).records[0]
    assert (record.id, record.nom, record.contacts[0].contact) == ("1", "ALPHA", "Anne Martin")
    assert record.descriptif == "ligne\nsuite [31m \ufffd fin"
    assert any("control characters removed" in r for r in record.repairs)
    for chunk in chunk_records([record], 180):
        assert not any(ord(c) < 32 and c not in "\n\t" for c in chunk.text)
        chunk.text.encode("utf-8")  # no lone surrogate left: Chroma and SQLite can store it
