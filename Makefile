# Two commands on a fresh machine: `make run` serves on SQLite, `make test` runs every test.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: install run test test-postgres bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

run: install
	$(BIN)/scim-server serve --host $(HOST) --port $(PORT)

test: install
	$(BIN)/pytest

test-postgres: install
	SCIM_TEST_DATABASE_URL=$${SCIM_TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/scim_test} $(BIN)/pytest

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
