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

# The property-based tests generate 1,000 requests per target here; .ci/run's PostgreSQL stage runs 10,000.
test: install
	SCIM_PROPERTY_EXAMPLES=$${SCIM_PROPERTY_EXAMPLES:-1000} $(BIN)/pytest

test-postgres: install
	SCIM_TEST_DATABASE_URL=$${SCIM_TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/scim_test} $(BIN)/pytest

# make bench: the server against the "ceiling" app, on SQLite, then on PostgreSQL when 127.0.0.1:5432 answers
# (~15 min per database at the defaults). Results: benchmarks/results/*.json, *.md and ratios.png; see benchmarks/README.md.
# The 100,000-user variant, with the group measured at 5,000 and at 100,000 members (~1 h per database):
#   make bench BENCH_USERS=100000 BENCH_GROUP_MEMBERS=5000,100000
BENCH_USERS         ?= 10000
BENCH_DURATION      ?= 10
BENCH_GROUP_MEMBERS ?= 5000
BENCH_ARGS          ?=
BENCH = $(BIN)/python -m benchmarks.run --users $(BENCH_USERS) --duration $(BENCH_DURATION) \
	--group-members $(BENCH_GROUP_MEMBERS) $(BENCH_ARGS)

$(VENV)/.bench-installed: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $@

bench: $(VENV)/.bench-installed
	$(BENCH) --database sqlite
	@if $(BIN)/python -c "import socket; socket.create_connection(('127.0.0.1', 5432), 2).close()" 2>/dev/null; then \
		$(BENCH) --database postgresql; \
	else \
		echo "bench: nothing answers on 127.0.0.1:5432, PostgreSQL skipped"; \
	fi

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
