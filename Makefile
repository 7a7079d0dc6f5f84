# Linli: `make demo` runs the embedded city on 127.0.0.1:8000, `make test` runs the full suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
export LINLI_HOME ?= $(CURDIR)/var
# PostgreSQL for the second half of the suite (trust auth on the local server).
export LINLI_TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/postgres

.PHONY: demo test install lint audit check-migrations test-sqlite test-postgres messages bench clean

$(BIN)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Linli needs Python 3.11"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[test]'
	touch $@

install: $(BIN)/.installed

demo: $(BIN)/.installed
	$(BIN)/linli demo

test: $(BIN)/.installed lint check-migrations audit test-sqlite test-postgres

# known vulnerabilities in the locked dependencies (pip-audit); fails on any, says so when it cannot ask
audit: $(BIN)/.installed
	$(BIN)/python scripts/audit_dependencies.py

lint: $(BIN)/.installed
	$(BIN)/ruff check .

check-migrations: $(BIN)/.installed
	LINLI_HOME=$$(mktemp -d) $(BIN)/linli makemigrations --check --dry-run

test-sqlite: $(BIN)/.installed
	LINLI_DATABASE_URL= $(BIN)/pytest -n 2 -q

test-postgres: $(BIN)/.installed
	@$(BIN)/python -c 'import psycopg, os; psycopg.connect(os.environ["LINLI_TEST_POSTGRES_URL"], connect_timeout=5).close()' \
		|| (echo "PostgreSQL is not reachable at $$LINLI_TEST_POSTGRES_URL; start it (see README) or set LINLI_TEST_POSTGRES_URL" && exit 1)
	LINLI_DATABASE_URL=$$LINLI_TEST_POSTGRES_URL $(BIN)/pytest -n 2 -q

messages: $(BIN)/.installed
	$(BIN)/python scripts/compile_messages.py

bench: $(BIN)/.installed
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) var .pytest_cache
