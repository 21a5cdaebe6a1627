"""Each metric of eval.metrics on hand-made answer pairs, including the ones that must score 0."""

from __future__ import annotations

import numpy as np
import pytest

from eval import metrics


def test_verbatim_facts_must_match_exactly():
    answer = "Contact : yannick.mercier@developpement-durable.gouv.fr, en ligne sur https://ades.eaufrance.fr/ depuis le 07/12/2012."
    assert metrics.fact_found("yannick.mercier@developpement-durable.gouv.fr", answer)
    assert metrics.fact_found("https://ades.eaufrance.fr", answer)  # trailing slash ignored
    assert metrics.fact_found("07/12/2012", answer)
    # One wrong character and the fact is useless: no credit.
    assert not metrics.fact_found("yannick.mercie@developpement-durable.gouv.fr", answer)
    assert not metrics.fact_found("07/12/2013", answer)
    assert not metrics.fact_found("7/12/2012", answer)
    assert not metrics.fact_found("https://ades.eaufrance.com", answer)


def test_numbers_match_whole_numbers_only():
    assert metrics.fact_found("1002", "ADES-PRO a pour identifiant 1002.")
    assert not metrics.fact_found("1002", "identifiant 10021")
    assert not metrics.fact_found("5", "On dénombre 15 applications.")
    assert metrics.fact_found("5", "On dénombre 5 applications.")


def test_text_facts_are_folded_and_word_bounded():
    assert metrics.fact_found("Arrêtée", "le statut est ARRETEE.")
    assert metrics.fact_found("En cours d'arrêt", "statut « en cours d arret »")
    # Look-alike names: a hyphenated name is one word.
    assert not metrics.fact_found("ADES", "ADES-PRO est en construction.")
    assert metrics.fact_found("ADES-PRO", "ADES-PRO est en construction.")
    assert metrics.fact_found("ADES", "ADES et ADES-PRO.")
    assert not metrics.fact_found("production", "En productions")


def test_extract_facts_from_expected_answers():
    assert metrics.extract_facts("D'après le catalogue, ADES-PRO a le statut « En construction ».") == ["En construction"]
    assert metrics.extract_facts("On dénombre 9 applications au statut « En construction ».") == ["En construction", "9"]
    facts = metrics.extract_facts("Vous trouverez VigiEau à l'adresse https://vigieau.gouv.fr (Production), depuis le 19/05/2022.")
    assert facts == ["https://vigieau.gouv.fr", "19/05/2022"]
    assert metrics.extract_facts("Bonjour.") == []


def test_correctness_field_aware_and_list_coverage():
    expected = "Au statut « Arrêtée », on trouve 5 applications : DEPOBIO, BASIAS, SITRAM, GALION et ADS 2007."
    facts = ["5", "DEPOBIO", "BASIAS", "SITRAM", "GALION", "ADS 2007"]
    assert metrics.correctness(expected, expected, facts, False, False) == (1, 1.0)
    partial = "Il y a 5 applications arrêtées : DEPOBIO, BASIAS et SITRAM."
    correct, coverage = metrics.correctness(partial, expected, facts, False, False)
    assert correct == 0 and coverage == pytest.approx(4 / 6)
    # Nothing right at all.
    assert metrics.correctness("Je pense que tout est en production.", expected, facts, False, False) == (0, 0.0)


def test_correctness_refusals():
    refusal = "Je ne trouve pas l'application FOO dans le catalogue."
    assert metrics.correctness(refusal, refusal, [], expect_refusal=True, abstained=True) == (1, 1.0)
    # Answered a question it had to refuse: 0, whatever the text.
    assert metrics.correctness("FOO est en production.", refusal, [], expect_refusal=True, abstained=False) == (0, 0.0)
    # Refused a question it could answer: 0.
    assert metrics.correctness(refusal, "ADES a le statut « En production ».", ["En production"], expect_refusal=False, abstained=True) == (0, 0.0)
    assert metrics.correctness(refusal, "ADES, c'est l'accès aux données.", [], expect_refusal=False, abstained=True) == (0, 0.0)
    # "Not recorded" is an abstention on the value asked; the fact a set expects beside it still counts.
    missing = "La fiche de BNPE ne renseigne pas de date de mise en production. Son statut est « En construction »."
    assert metrics.correctness(missing, "Pas encore : BNPE est En construction.", ["En construction"], expect_refusal=False, abstained=True) == (1, 1.0)
    assert metrics.correctness(missing, "Je ne trouve pas cette information dans le catalogue.", [], expect_refusal=True, abstained=True) == (1, 1.0)
    assert metrics.refusal_ok(True, True) == 1 and metrics.refusal_ok(False, False) == 1
    assert metrics.refusal_ok(True, False) == 0 and metrics.refusal_ok(False, True) == 0


def test_correctness_without_facts_uses_containment():
    assert metrics.correctness("C'est ADES, bien sûr.", "ADES", [], False, False) == (1, 1.0)
    assert metrics.correctness("C'est NAÏADES.", "ADES", [], False, False) == (0, 0.0)


def test_token_f1():
    assert metrics.token_f1("le statut est en production", "le statut est en production") == 1.0
    assert metrics.token_f1("bonjour madame", "statut en production") == 0.0
    assert metrics.token_f1("", "quelque chose") == 0.0
    # P = 2/3, R = 2/4 → F1 = 4/7.
    assert metrics.token_f1("statut production inconnu", "le statut en production") == pytest.approx(4 / 7)


def test_rouge_l():
    assert metrics.rouge_l("a b c d", "a b c d") == 1.0
    assert metrics.rouge_l("x y z", "a b c") == 0.0
    # LCS("a c d", "a b c d") = 3; P = 1, R = 3/4 → F = 6/7.
    assert metrics.rouge_l("a c d", "a b c d") == pytest.approx(6 / 7)
    # Order matters for ROUGE-L, not for token F1.
    assert metrics.rouge_l("d c b a", "a b c d") < metrics.token_f1("d c b a", "a b c d")


def test_semantic_similarity_with_the_real_embedding_model():
    from ingestion.embeddings import get_embedder

    embedder = get_embedder("multilingual-e5-small")
    vectors = embedder.embed_passages([
        "ADES est en production.", "L'application ADES est actuellement en production.",
        "ADES est en production.", "La recette de la tarte aux pommes demande du beurre.",
    ])
    sims = metrics.semantic_similarity(vectors[[0, 2]], vectors[[1, 3]])
    assert sims[0] > sims[1]
    assert metrics.semantic_similarity(vectors[:1], vectors[:1])[0] == pytest.approx(1.0, abs=1e-5)
    orthogonal = metrics.semantic_similarity(np.array([[1.0, 0.0]]), np.array([[0.0, 3.0]]))
    assert orthogonal[0] == 0.0


def test_retrieval_scores():
    sources = [{"app_id": "1002"}, {"app_id": "1002"}, {"app_id": "1001"}]
    assert metrics.retrieval_scores(sources, "1001", k=5) == (1, 0.5)
    assert metrics.retrieval_scores(sources, "1001", k=1) == (0, 0.5)
    assert metrics.retrieval_scores(sources, "1064", k=5) == (0, 0.0)
    assert metrics.retrieval_scores([], "1001") == (0, 0.0)
    assert metrics.retrieval_scores(sources, None) == (None, None)


def test_percentile_mean_and_throughput():
    values = [float(v) for v in range(1, 101)]
    assert metrics.percentile(values, 50) == 50.0
    assert metrics.percentile(values, 95) == 95.0
    assert metrics.percentile([7.0], 95) == 7.0
    assert metrics.percentile([], 50) is None
    assert metrics.mean([1, None, 3]) == 2.0 and metrics.mean([None]) is None
    # 100 tokens in 2 s; the field answer (0 tokens) does not count.
    assert metrics.tokens_per_second([50, 50, 0], [1000.0, 1000.0, 3.0]) == 50.0
    assert metrics.tokens_per_second([0], [5.0]) is None


def test_judge_verdicts():
    assert metrics.parse_verdict("OUI, c'est correct.") == 1
    assert metrics.parse_verdict("Non.") == 0
    assert metrics.parse_verdict("Peut-être") is None
