# Two commands do everything: `make demo` and `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
DB      ?= hearth.duckdb

.PHONY: demo test test-slow bench lint clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

## Build the warehouse from the bundled sample and open the dashboard on it.
demo: $(STAMP)
	# a fresh demo warehouse: the file, its audiences' snapshots, its state store and key
	rm -f $(DB) $(DB).wal $(DB).key $(basename $(DB)).*.published.duckdb $(basename $(DB)).state.sqlite*
	$(BIN)/hearth --db $(DB) --config data/sample/hearth.toml ingest data/sample
	$(BIN)/hearth --db $(DB) --config data/sample/hearth.toml dashboard

## Run the tests (browser tests need Debian's chromium: apt-get install -y chromium).
## Long sweeps and calibration runs (marked slow) are left out; `make test-slow` runs them, and CI
## runs both. Two workers (pytest-xdist): each test module stays on one worker and the browser
## modules share one (tests/conftest.py, pytest_xdist_make_scheduler); TEST_WORKERS=0 runs in one
## process.
TEST_WORKERS ?= 2
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile -m "not slow"

test-slow: $(STAMP)
	$(BIN)/pytest -m slow

## Benchmarks at reference scale; they print ratios against baselines run in the same process.
## benchmarks/flags.py prints the flag calibration table of docs/metrics.md (10 to 1,000 groups);
## benchmarks/cli.py times the read commands against `python -c "import duckdb"`.
bench: $(STAMP)
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/metrics.py
	$(BIN)/python benchmarks/dashboard.py
	$(BIN)/python benchmarks/flags.py
	$(BIN)/python benchmarks/cli.py

clean:
	rm -rf $(VENV) *.duckdb *.duckdb.wal tests/artifacts benchmarks/out
