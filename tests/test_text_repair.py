from ingestion.text_repair import (
    fix_line_breaks,
    fix_mojibake,
    fold,
    is_placeholder,
    normalise_key,
    parse_french_date,
    repair_url,
    strip_markdown_bold,
    strip_system_prefix,
)


def test_mojibake_latin1_and_cp1252_are_repaired():
    original = "Télé-procédures à l'été – ’"
    assert fix_mojibake(original.encode("utf-8").decode("latin-1")) == original
    assert fix_mojibake(original.encode("utf-8").decode("cp1252")) == original


def test_mojibake_leaves_correct_text_alone():
    for text in ("Âge moyen", "Ãlvaro", "déjà vu", "plain ascii"):
        assert fix_mojibake(text) == text


def test_literal_line_break_token():
    assert fix_line_breaks("Première. r n Deuxième. r n") == "Première.\nDeuxième."
    assert fix_line_breaks("sans retour") == "sans retour"


def test_url_repair_only_when_safe():
    assert repair_url("https   www geoportail gouv fr carte") == "https://www.geoportail.gouv.fr/carte"
    assert repair_url("www ecologie gouv fr") == "https://www.ecologie.gouv.fr"
    # Two labels before the suffix: hyphen or dot? Ambiguous, so not repaired.
    assert repair_url("https www geoportail urbanisme gouv fr") is None
    assert repair_url("voir le site intranet") is None
    assert repair_url("https www a fr b c") is None


def test_markdown_placeholder_prefix_and_dates():
    assert strip_markdown_bold("un **gros** mot") == "un gros mot"
    assert is_placeholder("***TEMPORAIRE***") and not is_placeholder("**gras**")
    assert strip_system_prefix("SIE --> En production") == ("En production", "SIE")
    assert strip_system_prefix("En production") == ("En production", None)
    assert str(parse_french_date("15/03/2019")) == "2019-03-15"
    assert str(parse_french_date("12/05/2024 14:32:10")) == "2024-05-12"
    assert parse_french_date("31/02/2020") is None
    assert parse_french_date("2020-01-01") is None


def test_keys_of_both_styles_normalise_to_one_form():
    assert normalise_key("Portée géographique") == "portee geographique"
    assert normalise_key("Type d'événement") == "type d evenement"
    assert normalise_key("Date (dd/mm/yyyy)") == "date dd/mm/yyyy"
    assert normalise_key("nom_long") == normalise_key("Nom-long") == "nom long"
    assert fold("Géorisques-PRO") == "georisques pro"
