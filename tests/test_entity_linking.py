"""Entity linking against the whole example catalog: look-alikes, typos, accents, long names."""

import pytest

from assistant.entity_linking import EntityLinker
from ingestion.catalog import load_catalog
from tests.conftest import EXAMPLE_CATALOG


@pytest.fixture(scope="module")
def linker():
    return EntityLinker(load_catalog(EXAMPLE_CATALOG).records)


@pytest.mark.parametrize(
    "question, expected",
    [
        ("Quel est le statut de SINP ?", "SINP"),
        ("Quel est le statut de 8 SINP ?", "8 SINP"),
        ("Qui contacter pour GEOBS ?", "GEOBS"),
        ("Qui contacter pour GEOB ?", "GEOB"),
        ("ADES est-elle en production ?", "ADES"),
        ("ADES-PRO est-elle en production ?", "ADES-PRO"),
        ("adespro c'est quoi ?", "ADES-PRO"),
        ("ades pro : quel statut ?", "ADES-PRO"),
        ("Quel est le statut de Georisques ?", "Géorisques"),  # missing accent
        ("statut de georisques pro", "Georisques Pro"),
        ("Quel est le statut de 6tzen ?", "6Tzen"),  # case
        ("Quel est le statut de Geo-risques ?", "Géorisques"),  # typo with hyphen
        ("Quel est le statut de Géorisque ?", "Géorisques"),  # typo
        ("Que fait Télé-procédures transport routier ?", "6Tzen"),  # long name
        ("Que fait tele procedures transport routier ?", "6Tzen"),  # long name without accents
        # A full name by its words, small words added, a short form or a plural: not the name inside it.
        ("Concernant l'espace professionnel de Géorisques, quelle URL ?", "Georisques Pro"),
        ("quel est le statut de l'espace pro géorisques", "Georisques Pro"),
        ("les plans de prévention des risques numérisés, c'est en prod ?", "PPR-Num"),
        # A shortened full name that holds a name found is that full name's application.
        ("le module pro d'ADES pour les producteurs de données, il est en recette à quelle adresse ?", "ADES-PRO"),
        # An acronym only one record's prose uses, when nothing else is named.
        ("le SIRH, il est hébergé chez qui ?", "RenoiRH"),
    ],
)
def test_links_the_right_application(linker, question, expected):
    matches = linker.link(question)
    assert matches, question
    assert matches[0].name == expected
    assert expected not in [m.name for m in matches[1:]]


def test_a_full_name_by_its_words_stops_at_punctuation_and_needs_every_word(linker):
    # The words of "Espace professionnel Géorisques" across two sentences name Géorisques (and a
    # fragment of Georisques Pro's name, which the reader ignores beside a name).
    matches = linker.link("Un espace professionnel ? Celui de Géorisques.")
    assert [(m.name, m.kind) for m in matches] == [("Géorisques", "nom"), ("Georisques Pro", "fragment")]
    assert [m.name for m in linker.link("l'espace de Géorisques")] == ["Géorisques"]
    # A fragment is matched as written: the notion "plan de prévention des risques" is no application.
    assert linker.link("Traduis « plan de prévention des risques » en allemand") == []


def test_words_of_a_full_name_before_an_acronym_are_no_unknown_product(linker):
    # "GASPAR Mobile" is another product; "la télédéclaration des aides PAC" describes TELEPAC.
    reading = linker.read("la télédéclaration des aides PAC, quelle techno ?")
    assert [m.name for m in reading.entities] == ["TELEPAC"] and reading.unknown == []


def test_look_alikes_are_not_both_linked(linker):
    assert [m.name for m in linker.link("Quel est le statut de 8 SINP ?")] == ["8 SINP"]
    assert [m.name for m in linker.link("Quel est le statut de SINP ?")] == ["SINP"]


def test_two_apps_in_one_question(linker):
    names = {m.name for m in linker.link("Compare ADES et SANDRE")}
    assert "ADES" in names


@pytest.mark.parametrize(
    "question",
    [
        "Quelle est la recette de la tarte tatin ?",
        "Quelles applications sont en construction ?",
        "Bonjour, comment ça va ?",
        "Qui a gagné la coupe du monde de football ?",  # "monde" is one edit from "ONDE"
    ],
)
def test_no_application_in_generic_questions(linker, question):
    assert linker.link(question) == []


def test_ids_link_only_with_a_cue(linker):
    assert linker.link("Quelle application a l'identifiant 1028 ?")[0].name == "6Tzen"


@pytest.mark.parametrize(
    ("question", "unknown", "near"),
    [
        # The name's own number written otherwise is another version, a year or not.
        ("L'application ADS 2008 est-elle toujours en service ?", "ADS 2008", "ADS 2007"),
        # Words of a full name whose next ones the asker replaced: another thing.
        ("Qui est la MOA de l'Observatoire national des avalanches ?", "Observatoire national des avalanches", "ONDE"),
        ("Le Guichet unique numérique de la chasse est-il en production ?", "Guichet unique numérique de la chasse", "GUNenv"),
    ],
)
def test_a_name_written_otherwise_is_an_unknown_application(linker, question, unknown, near):
    reading = linker.read(question)
    assert reading.entities == [] and [(u.name, u.near) for u in reading.unknown] == [(unknown, near)]


def test_the_exact_name_and_its_full_name_still_link(linker):
    assert [m.name for m in linker.link("ADS 2007 : quel statut ?")] == ["ADS 2007"]
    assert [m.name for m in linker.link("Qui est la MOA de l'Observatoire national des étiages ?")] == ["ONDE"]
    # A prose acronym that an organisation of the catalog also uses names nothing ("BRGM").
    assert linker.link("Quelles données du BRGM ?") == []
