# Two commands matter: `make demo` runs the server with demo data, `make test` runs every test.
# Both create the virtual environment in .venv on first use; only Python 3.11+ is needed.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Spectral lints the OpenAPI document in the tests (tests/openapi/test_spectral.py); it comes from
# the npm registry, pinned by its lockfile. Without npm that one test is skipped with the reason.
SPECTRAL := tests/openapi/spectral/node_modules/.installed
$(SPECTRAL): tests/openapi/spectral/package-lock.json
	@if command -v npm >/dev/null; then \
		cd tests/openapi/spectral && npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.installed; \
	else echo "npm not found: the Spectral test will be skipped"; fi

# make demo PORT=8123 HOST=0.0.0.0 picks where it listens; set on the command line only, so a PORT
# or HOST some shells export does not move the demo. Its data stays in orderdesk-demo.db and
# media/demo until make demo-reset deletes both.
HOST = 127.0.0.1
PORT = 8000
DEMO_DB := orderdesk-demo.db
DEMO_MEDIA := media/demo

demo: $(STAMP)
	ORDERDESK_MEDIA_DIR=./$(DEMO_MEDIA) $(BIN)/orderdesk serve --demo --host $(HOST) --port $(PORT) \
		--database-url sqlite:///./$(DEMO_DB)

.PHONY: demo-reset
demo-reset:
	rm -rf $(DEMO_DB) $(DEMO_DB)-journal $(DEMO_DB)-wal $(DEMO_DB)-shm $(DEMO_MEDIA)

test: $(STAMP) $(SPECTRAL)
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

# The benchmark of docs/performance.md: PostgreSQL (BENCH_PG_URL) and SQLite under wrk, one table
# each, about 15 minutes; needs wrk (and pgbench for the PostgreSQL floor). Options go in
# BENCH_ARGS, e.g. make bench BENCH_ARGS="--smoke --database sqlite".
bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) tests/openapi/spectral/node_modules orderdesk-demo.db* media .pytest_cache .mypy_cache .ruff_cache
