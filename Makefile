# Two commands on a fresh machine: `make lab` starts the workbench, `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: lab test unit notebooks corpus lint benchmarks clean browser

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[lab,test]"
	touch $(STAMP)

lab: $(STAMP)  ## JupyterLab on notebooks/ (DuckDB needs nothing more)
	$(BIN)/jupyter lab --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root,)

test: $(STAMP)  ## lint, unit tests, the PostgreSQL suite, the browser test, every notebook under nbval
	$(BIN)/ruff check workbench tests benchmarks
	$(BIN)/pytest -m "not corpus" tests
	WORKBENCH_SCALE=ci $(BIN)/pytest --nbval notebooks --nbval-sanitize-with notebooks/sanitize.cfg -p no:cacheprovider

browser: $(STAMP)  ## JupyterLab in headless Chromium (part of test; needs Debian's chromium: apt-get install -y chromium)
	$(BIN)/pytest -ra tests/test_browser.py

corpus: $(STAMP)  ## fidelity over ../shared/corpus, compared with a real PostgreSQL catalog
	$(BIN)/pytest -m corpus tests

benchmarks: $(STAMP)
	for script in benchmarks/*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV)
