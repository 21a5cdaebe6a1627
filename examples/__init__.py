"""The example catalog and question sets, installed with Dyag (``importlib.resources``-free paths:
the files sit beside this module in a source checkout and in an installed wheel alike)."""

from pathlib import Path

FOLDER = Path(__file__).resolve().parent
CATALOG = FOLDER / "catalog.json"
DISPLAY_KEYS_CATALOG = FOLDER / "catalog_display_keys.json"
QUESTIONS = FOLDER / "questions"
TEST_QUESTIONS = QUESTIONS / "test.jsonl"
EDGE_CASES = QUESTIONS / "edge_cases.jsonl"
NATURAL_QUESTIONS = QUESTIONS / "natural.jsonl"
# Written by other people after the router was tuned on natural.jsonl; natural_final.jsonl was
# kept unseen until the last measurement.
NATURAL_HOLDOUT = QUESTIONS / "natural_holdout.jsonl"
NATURAL_FINAL = QUESTIONS / "natural_final.jsonl"
# A fourth set by a fifth author (session 4): its odd-numbered rows were used to mend the router,
# its even-numbered rows were measured only before and after (bench/bench_understanding.py --fresh).
NATURAL_FRESH = QUESTIONS / "natural_fresh.jsonl"
# A fifth set by a sixth author (session 5), written before the classifier's paraphrases were used:
# split by id the same way (bench/bench_understanding.py --blind).
NATURAL_BLIND = QUESTIONS / "natural_blind.jsonl"
# A sixth set by a seventh author (session 6), who saw only the catalog: split by id the same way
# (bench/bench_understanding.py --sealed); its dev half was measured before it was read.
NATURAL_SEALED = QUESTIONS / "natural_sealed.jsonl"
# A seventh set by a ninth author (session 7), who saw only the catalog: split by id the same way
# (bench/bench_understanding.py --ninth); both halves were measured before any was read.
NATURAL_NINTH = QUESTIONS / "natural_ninth.jsonl"
# Questions naming an application by a part or paraphrase of its name, its full name, or a look-alike
# (session 7, a tenth author who saw only the catalog): read and used to mend entity linking
# (bench/bench_understanding.py --names).
NATURAL_NAMES = QUESTIONS / "natural_names.jsonl"
