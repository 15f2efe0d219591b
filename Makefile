# Encore — see README.md. Every target installs what it needs into .venv first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/encore

.PHONY: install run serve serve-scaled bench profile soak test lint format

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $(STAMP)

install: $(STAMP)

# Embedded default: SQLite, debug on, web + django-q2 cluster + admission ticker
# in the foreground; Ctrl-C stops them all.
run: install
	$(BIN)/python -m tools.dbcheck --if-postgres
	$(BIN)/python manage.py migrate --noinput -v0
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py setup_schedules
	$(BIN)/python manage.py demo_staff --url http://127.0.0.1:$(PORT)
	@echo "Encore on http://127.0.0.1:$(PORT)/  (Ctrl-C stops everything)"
	DJANGO_DEBUG=$${DJANGO_DEBUG:-1} $(BIN)/python -m tools.stack \
		worker="$(BIN)/python manage.py qcluster" \
		ticker="$(BIN)/python manage.py queue_ticker" \
		web="$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)"

# Production-style: granian (WSGI, measured fastest here: see docs/benchmarks.md) with
# WEB_WORKERS processes x WEB_THREADS threads, plus the django-q2 cluster and the
# admission ticker. Debug off: SECRET_KEY must be set. Static files via whitenoise.
WEB_WORKERS ?= 2
WEB_THREADS ?= 4
HOST ?= 127.0.0.1
GRANIAN = $(BIN)/granian --interface wsgi config.wsgi:application --host $(HOST) \
	--workers $(WEB_WORKERS) --blocking-threads $(WEB_THREADS) --backlog 2048 --log-level warning

# What every production start does first (debug off unless DJANGO_DEBUG says otherwise).
PREPARE = export DJANGO_DEBUG=$${DJANGO_DEBUG:-0}; \
	$(BIN)/python -m tools.dbcheck --if-postgres && \
	$(BIN)/python manage.py migrate --noinput && \
	$(BIN)/python manage.py collectstatic --noinput -v0 && \
	$(BIN)/python manage.py setup_schedules

serve: install
	$(PREPARE) && exec $(BIN)/python -m tools.stack \
		web="$(GRANIAN) --port $(PORT)" \
		worker="$(BIN)/python manage.py qcluster" \
		ticker="$(BIN)/python manage.py queue_ticker"

# Scale-out on one machine: two web servers (PORT, PORT+1), two django-q2 clusters
# and two admission tickers on one PostgreSQL (and Redis, when REDIS_URL is set).
serve-scaled: install
	$(PREPARE) && exec $(BIN)/python -m tools.stack \
		web1="$(GRANIAN) --port $(PORT)" \
		web2="$(GRANIAN) --port $$(($(PORT) + 1))" \
		worker1="$(BIN)/python manage.py qcluster" \
		worker2="$(BIN)/python manage.py qcluster" \
		ticker1="$(BIN)/python manage.py queue_ticker" \
		ticker2="$(BIN)/python manage.py queue_ticker"

# Benchmarks (never part of make test): see docs/benchmarks.md.
bench: install
	@command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
	$(BIN)/python -m bench $(BENCH_ARGS)

# Where a request's time goes, in-process (CPU per request, optionally a cProfile): docs/benchmarks.md.
profile: install
	$(BIN)/python -m bench.inprocess $(PROFILE_ARGS)

# A mixed workload against make serve, then the books are checked (SOAK_MINUTES, default 10).
soak: install
	$(BIN)/python -m bench.soak --minutes $${SOAK_MINUTES:-10}

# The whole suite against PostgreSQL (never SQLite).
test: install
	export DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)}; \
	$(BIN)/python -m tools.dbcheck && \
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Schema fuzzing, longer than the bounded run inside `make test` (docs/reliability.md):
# every operation, anonymous / signed in / admitted, FUZZ_MAX_EXAMPLES each, coverage phase on.
fuzz: install
	export DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)}; \
	$(BIN)/python -m tools.dbcheck && \
	FUZZ_MAX_EXAMPLES=$${FUZZ_MAX_EXAMPLES:-200} FUZZ_COVERAGE=1 \
	$(BIN)/python -m pytest tests/reliability/test_fuzz.py -q -o timeout=1800 $(PYTEST_ARGS)

.PHONY: fuzz
