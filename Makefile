# Encore — see README.md. Every target installs what it needs into .venv first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/encore

.PHONY: install run test lint format migrate seed

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $(STAMP)

install: $(STAMP)

# Embedded default: SQLite, debug on, web + django-q2 cluster + admission ticker
# in the foreground; Ctrl-C stops them all.
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py setup_schedules
	@echo "Encore on http://127.0.0.1:$(PORT)/  (Ctrl-C stops everything)"
	DJANGO_DEBUG=$${DJANGO_DEBUG:-1} $(BIN)/python -m config.stack \
		worker="$(BIN)/python manage.py qcluster" \
		ticker="$(BIN)/python manage.py queue_ticker" \
		web="$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)"

# The whole suite against PostgreSQL (never SQLite).
test: install
	export DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)}; \
	$(BIN)/python -m config.dbcheck && \
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
