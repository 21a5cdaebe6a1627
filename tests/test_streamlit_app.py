"""The staff web app under streamlit.testing's AppTest: every page, the feedback file, the error states.

Questions are asked in ``auto`` mode, whose field answers need no generator; generated modes are
only asked where no model can be loaded (no fine-tuning run), to check the missing-model warning.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from core.config import Settings
from tests.conftest import EXAMPLE_CATALOG, ROOT, make_settings, write_catalog
from ui.feedback import load_feedback
from ui.state import app_settings, parse_app_args

APP = ROOT / "streamlit_app.py"
CATALOG_PAGE = "ui/catalog_page.py"
EVAL_PAGE = "ui/eval_page.py"
# A slice of the example catalog with distinct statuses, domains and scopes: cheap to embed.
UI_APP_IDS = ("1001", "1002", "1007", "1011", "1028")
# The first run loads the embedding model; later runs are fast.
TIMEOUT = 180


@pytest.fixture(scope="session")
def ui_index(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Five example applications (ADES, ADES-PRO, CASCADE, 8 SINP, 6Tzen) indexed with the real models."""
    from ingestion.ingest import ingest_catalog

    base = tmp_path_factory.mktemp("ui-index")
    records = json.loads(EXAMPLE_CATALOG.read_text(encoding="utf-8"))["applicationsia mini"]
    catalog = write_catalog(base / "catalog.json", [r for r in records if r["id"] in UI_APP_IDS])
    settings = make_settings(base / "work")
    ingest_catalog(catalog, settings)
    return settings


def start_app(monkeypatch: pytest.MonkeyPatch, workdir: Path, page: str | None = None, **query: str) -> AppTest:
    """The app on ``workdir`` (through DYAG_WORKDIR, as ``dyag app`` is not involved here), run once."""
    monkeypatch.setenv("DYAG_WORKDIR", str(workdir))
    monkeypatch.delenv("DYAG_RUN", raising=False)
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params.update(query)
    at.run()
    if page is not None:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def texts(elements) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(str(e.value) for e in elements)


# --- chat ---------------------------------------------------------------------------------------


def test_chat_answers_a_field_question_then_a_follow_up(monkeypatch: pytest.MonkeyPatch, ui_index: Settings) -> None:
    at = start_app(monkeypatch, ui_index.workdir)
    assert at.selectbox(key="mode").value == "auto"

    at.chat_input[0].set_value("Quel est le statut de 6Tzen ?").run()
    assert not at.exception
    answer = texts(at.chat_message[1].markdown)
    assert "En production" in answer
    assert "**6Tzen** (id 1028) · section overview" in answer
    assert "[fiche](./catalogue?app=1028)" in answer
    assert "https://6tzen" in answer  # the app's URL is linked
    assert "réponse exacte tirée de la fiche" in texts(at.chat_message[1].caption)

    at.chat_input[0].set_value("et son contact ?").run()
    assert not at.exception
    assert len(at.chat_message) == 4  # the first turn is still shown
    follow_up = texts(at.chat_message[3].markdown)
    assert "6Tzen" in follow_up and "Laurent Blanc" in follow_up and "section contacts" in follow_up


def test_feedback_is_appended_to_the_workdir_jsonl(monkeypatch: pytest.MonkeyPatch, ui_index: Settings) -> None:
    at = start_app(monkeypatch, ui_index.workdir)
    before = len(load_feedback(ui_index.workdir))
    at.chat_input[0].set_value("Quel est le statut de 6Tzen ?").run()
    at.feedback[0].set_value(0).run()  # thumbs down
    at.text_input(key="comment-0-0").set_value("Statut à vérifier")
    at.text_input(key="correction-0-0").set_value("En production depuis 2019")
    at.form_submit_button[0].click().run()
    assert not at.exception
    assert "Merci, votre avis est enregistré." in texts(at.caption)
    assert not at.feedback  # rated once, the thumbs are gone

    rows = load_feedback(ui_index.workdir)
    assert len(rows) == before + 1
    row = rows[-1]
    assert (row.question, row.rating, row.comment, row.expected_answer) == (
        "Quel est le statut de 6Tzen ?", "down", "Statut à vérifier", "En production depuis 2019",
    )
    assert row.mode == "auto" and row.mode_used == "field" and row.app_id == "1028"
    assert [s.app_id for s in row.sources] == ["1028"] and "En production" in row.answer
    # One JSON object per line, in the evaluation question format.
    last = json.loads((ui_index.workdir / "feedback.jsonl").read_text(encoding="utf-8").splitlines()[-1])
    assert {"id", "question", "expected_answer", "category", "answer", "mode", "rating", "comment", "sources", "timestamp"} <= set(last)

    # A rated follow-up keeps the questions it refers to, so evaluation can replay it.
    at.chat_input[0].set_value("et son contact ?").run()
    at.feedback[0].set_value(1).run()
    at.form_submit_button[0].click().run()
    row = load_feedback(ui_index.workdir)[-1]
    assert (row.question, row.rating, row.conversation) == ("et son contact ?", "up", ["Quel est le statut de 6Tzen ?"])
    assert row.expected_answer == row.answer and "Laurent Blanc" in row.answer


def test_side_by_side_modes_warn_for_a_missing_model_and_keep_answering(monkeypatch: pytest.MonkeyPatch, ui_index: Settings) -> None:
    at = start_app(monkeypatch, ui_index.workdir)
    at.toggle(key="compare").set_value(True).run()
    at.multiselect(key="compare_modes").set_value(["auto", "finetuned"]).run()
    at.chat_input[0].set_value("Quel est le statut de 6Tzen ?").run()
    assert not at.exception
    auto_column, finetuned_column = at.chat_message[1].columns
    assert "**auto**" in texts(auto_column.markdown) and "En production" in texts(auto_column.markdown)
    assert "ms" in texts(auto_column.caption)
    warning = texts(finetuned_column.warning)
    assert "finetuned" in warning and "dyag finetune" in warning

    # The app keeps working: the next question is answered, and both columns are still shown.
    at.chat_input[0].set_value("et son contact ?").run()
    assert not at.exception
    assert "Laurent Blanc" in texts(at.chat_message[3].columns[0].markdown)
    assert len(at.chat_message[1].columns) == 2


def test_missing_index_says_which_command_builds_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    command = f"dyag ingest examples/catalog.json --workdir {tmp_path}"
    at = start_app(monkeypatch, tmp_path)
    assert command in texts(at.error)
    at.chat_input[0].set_value("Quel est le statut de 6Tzen ?").run()
    assert not at.exception and command in texts(at.error)
    at.switch_page(CATALOG_PAGE).run()
    assert not at.exception and command in texts(at.error)


# --- catalog ------------------------------------------------------------------------------------


def _listed(at: AppTest) -> list[str]:
    return list(at.dataframe[0].value["nom"])


def test_catalog_page_filters_and_shows_the_record(monkeypatch: pytest.MonkeyPatch, ui_index: Settings) -> None:
    at = start_app(monkeypatch, ui_index.workdir, CATALOG_PAGE)
    assert sorted(_listed(at)) == ["6Tzen", "8 SINP", "ADES", "ADES-PRO", "CASCADE"]

    at.multiselect(key="catalog_status").set_value(["En construction"]).run()
    assert _listed(at) == ["ADES-PRO"]
    at.multiselect(key="catalog_status").set_value([]).run()

    at.multiselect(key="catalog_domain").set_value(["Biodiversité"]).run()
    assert _listed(at) == ["8 SINP"]
    at.multiselect(key="catalog_domain").set_value([]).run()

    at.multiselect(key="catalog_scope").set_value(["Départementale"]).run()
    assert _listed(at) == ["CASCADE"]
    at.multiselect(key="catalog_scope").set_value([]).run()

    at.text_input(key="catalog_query").set_value("piézo").run()  # accents and case ignored
    assert sorted(_listed(at)) == ["ADES", "ADES-PRO"]
    at.selectbox(key="catalog_app").set_value("1002").run()
    assert not at.exception
    assert at.subheader[0].value.startswith("ADES-PRO")
    assert "**Statut** : En construction" in texts(at.markdown)

    at.text_input(key="catalog_query").set_value("aucune application ne contient ceci").run()
    assert not at.exception and _listed(at) == [] and "0 application(s) sur 5" in texts(at.caption)


def test_catalog_link_from_a_source_opens_the_record(monkeypatch: pytest.MonkeyPatch, ui_index: Settings) -> None:
    at = start_app(monkeypatch, ui_index.workdir, CATALOG_PAGE, app="1028")
    assert at.subheader[0].value.startswith("6Tzen")
    shown = texts(at.markdown)
    assert "**Identifiant** : 1028" in shown and "https://6tzen" in shown
    assert any("Laurent Blanc" in frame.value.to_string() for frame in at.dataframe)  # the contacts table


# --- evaluation ---------------------------------------------------------------------------------


def _write_evaluation(workdir: Path) -> Path:
    """A small evaluation, as `dyag evaluate` writes it: three questions in two categories × rag and hybrid."""
    folder = workdir / "eval" / "petite"
    folder.mkdir(parents=True)
    questions = [
        ("q1", "field", "Quel est le statut de 6Tzen ?", "En production", {"rag": ("En construction", 0), "hybrid": ("En production", 1)}),
        ("q2", "field", "Qui contacter pour ADES ?", "Yannick Mercier", {"rag": ("Yannick Mercier", 1), "hybrid": ("Yannick Mercier", 1)}),
        ("q3", "retrieval", "Où consulter les nappes ?", "ADES", {"rag": ("Je ne sais pas", 0), "hybrid": ("ADES", 1)}),
    ]
    lines = []
    for qid, category, question, expected, by_mode in questions:
        for mode, (answer, correct) in by_mode.items():
            lines.append(json.dumps({
                "id": qid, "set": "petite", "question": question, "mode": mode, "mode_used": mode, "answer": answer,
                "expected": expected, "category": category, "difficulty": "easy", "expect_refusal": False,
                "latency_ms": 800.0 if mode == "rag" else 1200.0, "generated_tokens": 12, "sources": [], "abstained": False,
                "scores": {"correct": correct, "fact_coverage": float(correct), "token_f1": 0.5 * correct},
            }, ensure_ascii=False))
    (folder / "results.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "meta.json").write_text(json.dumps({"modes": ["rag", "hybrid"], "skipped_modes": {"finetuned": "no GGUF export"}}), encoding="utf-8")
    report = workdir / "reports" / "petite"
    report.mkdir(parents=True)
    (report / "report.html").write_text("<html>rapport</html>", encoding="utf-8")
    return folder


def test_eval_page_shows_recommendation_modes_categories_and_worst_errors(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _write_evaluation(tmp_path)
    at = start_app(monkeypatch, tmp_path, EVAL_PAGE)
    assert not at.error
    assert at.selectbox(key="eval_folder").value == tmp_path / "eval" / "petite"
    # eval.recommendation's verdict and its caveats (3 questions cannot separate the modes).
    assert texts(at.success).startswith("Recommendation:") and "evaluate more questions" in texts(at.markdown)
    assert "finetuned" in texts(at.warning) and "no GGUF export" in texts(at.warning)
    assert len(at.get("download_button")) == 1  # the latest report.html

    by_mode = at.dataframe[0].value  # the numbers, not their formatting
    assert by_mode.loc["hybrid", "exactitude"] == pytest.approx(1.0)
    assert by_mode.loc["rag", "exactitude"] == pytest.approx(1 / 3, abs=1e-4)  # eval rounds to 4 digits
    assert by_mode.loc["rag", "questions"] == 3 and by_mode.loc["rag", "latence p50 (ms)"] == pytest.approx(800.0)
    assert [c for image in at.image for c in image.captions] == ["Exactitude par mode", "Exactitude par catégorie", "Latence par mode", "Exactitude et latence"]

    by_category = at.dataframe[1].value
    assert by_category.loc["field", "rag"] == pytest.approx(0.5) and by_category.loc["retrieval", "hybrid"] == pytest.approx(1.0)
    at.selectbox(key="eval_category").set_value("retrieval").run()
    assert at.dataframe[2].value.loc["rag", "exactitude"] == pytest.approx(0.0)
    assert list(at.dataframe[3].value["réponse"]) == ["Je ne sais pas", "ADES"]

    worst = at.dataframe[4].value
    assert list(worst["mode"]) == ["rag", "rag"] and set(worst["question"]) == {"Quel est le statut de 6Tzen ?", "Où consulter les nappes ?"}
    assert {"attendu", "réponse"} <= set(worst.columns) and "Je ne sais pas" in set(worst["réponse"])
    at.multiselect(key="eval_worst_modes").set_value(["hybrid"]).run()
    assert not at.exception and at.dataframe[4].value.empty


def test_eval_page_without_evaluation_says_how_to_make_one(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    at = start_app(monkeypatch, tmp_path, EVAL_PAGE)
    message = texts(at.info)
    assert f"dyag demo --workdir {tmp_path}" in message and "dyag evaluate" in message and "dyag compare" in message


# --- settings and the command line ---------------------------------------------------------------


def test_workdir_comes_from_the_script_args_then_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no dyag.toml here
    monkeypatch.setenv("DYAG_WORKDIR", str(tmp_path / "from-env"))
    assert app_settings(["--workdir", str(tmp_path / "from-args")]).workdir == tmp_path / "from-args"
    assert app_settings([]).workdir == tmp_path / "from-env"
    monkeypatch.delenv("DYAG_WORKDIR")
    assert app_settings(["--server.port", "1"]).workdir == Path(".dyag")
    assert parse_app_args(["--run", "r1"])["run"] == Path("r1")


def test_dyag_app_starts_streamlit_on_localhost(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from cli import webapp
    from cli.main import app

    calls: list[list[str]] = []
    monkeypatch.setattr(webapp.subprocess, "call", lambda command: calls.append(command) or 0)
    result = CliRunner().invoke(app, ["app", "--workdir", str(tmp_path), "--port", "8599"])
    assert result.exit_code == 0, result.output
    command = calls[0]
    assert command[1:4] == ["-m", "streamlit", "run"] and Path(command[4]) == APP
    assert command[command.index("--server.address") + 1] == "127.0.0.1"
    assert command[command.index("--server.port") + 1] == "8599"
    assert command[command.index("--") + 1:] == ["--workdir", str(tmp_path.resolve())]


def test_feedback_survives_line_separators_and_a_line_cut_short(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from assistant.answering import Answer
    from eval.questions import load_questions
    from ui.feedback import FeedbackRow, feedback_path, save_feedback

    def rated(question: str) -> FeedbackRow:
        answer = Answer(question=question, answer="En production.", mode="auto", mode_used="field", linked_apps=["1028"])
        return FeedbackRow.from_answer(answer, "up")

    save_feedback(tmp_path, rated("Statut de 6Tzen\u2028et de ADES\x85 ?"))  # separators that splitlines() cuts at
    with feedback_path(tmp_path).open("a", encoding="utf-8") as handle:
        handle.write('{"id": "feedback-cut", "question": "coup')  # a write cut short by a crash
    save_feedback(tmp_path, rated("Qui contacter pour ADES ?"))

    rows = load_feedback(tmp_path)
    assert [r.question for r in rows] == ["Statut de 6Tzen\u2028et de ADES\x85 ?", "Qui contacter pour ADES ?"]
    assert [q.question for q in load_questions(feedback_path(tmp_path), skip_invalid=True)] == [r.question for r in rows]
    at = start_app(monkeypatch, tmp_path, EVAL_PAGE)
    assert "2 avis · 2 👍" in texts(at.caption)


def test_the_chat_input_holds_at_most_max_question_chars(monkeypatch: pytest.MonkeyPatch, ui_index: Settings) -> None:
    at = start_app(monkeypatch, ui_index.workdir)
    assert at.chat_input[0].max_chars == 2000
    at.chat_input[0].set_value("Quel est le statut de 6Tzen ?\x00 " * 70).run()  # 2,100 characters, NUL included
    assert not at.exception
    asked = at.session_state["turns"][-1].question
    assert len(asked) <= 2000 and "\x00" not in asked
