# The two commands of the README:
#   make demo   the console with demo data on the embedded default (SQLite, filesystem broker)
#   make test   the whole suite (lint, checks, pytest) against PostgreSQL and Redis
# Both create .venv with the machine's python3 if it is missing and install the project into it.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
.ONESHELL:

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# Defaults of the test command; the environment wins (CI and developers may point elsewhere).
TEST_DATABASE_URL := $(or $(DATABASE_URL),postgres://postgres@127.0.0.1:5432/casb)
TEST_DATABASE_URL_GEO_US := $(or $(DATABASE_URL_GEO_US),postgres://postgres@127.0.0.1:5432/casb_us)
TEST_CELERY_BROKER_URL := $(or $(CELERY_BROKER_URL),redis://127.0.0.1:6379/15)

.PHONY: help demo test lint checks deploy-check databases pytest clean-demo

help:
	@echo "make demo    run the demo console on http://127.0.0.1:$(PORT)/ (Ctrl-C stops it)"
	@echo "make test    run the whole test suite (PostgreSQL and Redis on 127.0.0.1)"

$(PY):
	$(PYTHON) -m venv $(VENV)

# Stamps: reinstall only when pyproject.toml changes.
$(VENV)/.installed-demo: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed-demo

# --- make demo -----------------------------------------------------------------------------
demo: $(VENV)/.installed-demo
	DEBUG=1 exec $(PY) manage.py rundemo --port $(PORT)

# Forget the demo's database, broker folder and beat schedule (seed_demo makes them again).
clean-demo:
	rm -rf var/db.sqlite3 var/celery-broker var/celerybeat-schedule*

# --- make test -----------------------------------------------------------------------------
test lint checks deploy-check databases pytest: export DATABASE_URL := $(TEST_DATABASE_URL)
test lint checks deploy-check databases pytest: export DATABASE_URL_GEO_US := $(TEST_DATABASE_URL_GEO_US)
test lint checks deploy-check databases pytest: export CELERY_BROKER_URL := $(TEST_CELERY_BROKER_URL)
test lint checks deploy-check databases pytest: export DJANGO_SETTINGS_MODULE := casb.test_settings

test: $(VENV)/.installed-test databases lint checks deploy-check pytest

# The databases named by the URLs (pytest-django makes its test_* copies next to them).
databases:
	command -v psql >/dev/null || { echo "psql is missing: install postgresql-client" >&2; exit 1; }
	for url in "$$DATABASE_URL" "$$DATABASE_URL_GEO_US"; do
	  name="$${url##*/}"; name="$${name%%\?*}"
	  server="$${url%/*}/postgres"
	  if [ -z "$$(psql "$$server" -tAc "SELECT 1 FROM pg_database WHERE datname = '$$name'")" ]; then
	    echo "Creating database $$name"
	    psql "$$server" -qc "CREATE DATABASE \"$$name\""
	  fi
	done

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

checks: $(VENV)/.installed-test databases
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) manage.py check

# `check --deploy` with the production values documented in .env.example, plus a fresh
# secret key and master key (.env.example leaves those blank on purpose).
deploy-check: $(VENV)/.installed-test
	set -a
	. ./.env.example
	DJANGO_SETTINGS_MODULE=casb.settings
	SECRET_KEY="$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))')"
	CASB_MASTER_KEYS="k1:$$($(PY) -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')"
	CASB_VAR_DIR="$$(mktemp -d)"
	set +a
	trap 'rm -rf "$$CASB_VAR_DIR"' EXIT
	echo "manage.py check --deploy (production values of .env.example)"
	$(PY) manage.py check --deploy --fail-level WARNING

pytest: $(VENV)/.installed-test databases
	$(VENV)/bin/pytest --durations=10
