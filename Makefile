# Candor: `make run` to try it, `make test` to check it. Both set everything up first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 8000
CHROMIUM ?= /usr/bin/chromium

# `make format` rewrites the code in ruff's format.
.PHONY: messages venv migrate demo run serve smoke test lint format browser tools bench bench-baseline bench-faults bench-pages bench-imports diagrams clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Candor needs Python 3.11 or newer (set PYTHON=python3.12, for example).")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

# The console's translations, compiled from locale/*/LC_MESSAGES/django.po whenever one changes (Babel's
# writer: no GNU gettext needed; tests/test_translations.py checks the placeholders).
MO_FILES := $(patsubst %.po,%.mo,$(wildcard locale/*/LC_MESSAGES/django.po))
locale/%/LC_MESSAGES/django.mo: locale/%/LC_MESSAGES/django.po $(STAMP)
	$(BIN)/python -c 'import sys; from babel.messages.pofile import read_po; from babel.messages.mofile import write_mo; \
	  write_mo(open(sys.argv[2], "wb"), read_po(open(sys.argv[1], "rb")))' $< $@

# Re-extract the console's strings into the .po files after changing templates or code (needs GNU
# gettext's xgettext: apt-get install gettext); translators then fill the empty msgstr lines.
messages: venv
	$(BIN)/python manage.py makemessages --no-obsolete --no-location -l de -l es -l ja -l pt_BR --ignore '.venv/*' --ignore 'tests/*' --ignore 'bench/*'

venv: $(STAMP) $(MO_FILES)

migrate: venv
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py load_demo

# The web server and a background worker; Ctrl-C stops both. Links in messages point at the
# server started here (CANDOR_PUBLIC_URL from HOST and PORT) unless CANDOR_PUBLIC_URL is set.
run: export CANDOR_PUBLIC_URL ?= http://$(HOST):$(PORT)
run: demo
	@echo ""
	@echo "Candor is starting at http://$(HOST):$(PORT)/  (admin: http://$(HOST):$(PORT)/admin/)"
	@echo "Log in with one of the demo logins above. Messages are written to var/outbox/ and the worker log."
	@echo "Links in messages point at $$CANDOR_PUBLIC_URL (set CANDOR_PUBLIC_URL to change it)."
	@echo ""
	@trap 'kill 0' INT TERM EXIT; \
	$(BIN)/python manage.py candor_worker --queue-name '*' --interval 0.5 & \
	$(BIN)/python manage.py sweep_outbox --every 5 & \
	$(BIN)/python manage.py sweep_timers --every 30 & \
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

# The production stack from the Procfile under honcho: gunicorn, an RQ worker for every queue and
# both sweeps, on PostgreSQL and Redis (local ones by default; set DATABASE_URL and REDIS_URL).
# DEBUG stays off as in production, without the HTTPS redirect so that http://$(HOST):$(PORT) works.
SERVE_DATABASE_URL ?= $(or $(DATABASE_URL),postgres://postgres@127.0.0.1:5432/candor)
SERVE_REDIS_URL ?= $(or $(REDIS_URL),redis://127.0.0.1:6379/0)
SERVE_CACHE_URL ?= $(or $(CANDOR_CACHE_URL),redis://127.0.0.1:6379/1)
SERVE_ENV = DEBUG=0 SECRET_KEY="$$(cat var/secret_key)" ALLOWED_HOSTS=$(HOST),localhost \
	CANDOR_PUBLIC_URL=http://$(HOST):$(PORT) SECURE_SSL_REDIRECT=0 HOST=$(HOST) PORT=$(PORT) \
	DATABASE_URL=$(SERVE_DATABASE_URL) TASKS_BACKEND=rq REDIS_URL=$(SERVE_REDIS_URL) \
	CANDOR_CACHE_URL=$(SERVE_CACHE_URL) PROMETHEUS_MULTIPROC_DIR=var/prometheus PATH="$(CURDIR)/$(BIN):$$PATH"
serve: venv
	@mkdir -p var && test -s var/secret_key || $(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(64))' > var/secret_key
	@$(BIN)/python -c 'import psycopg, sys; url = sys.argv[1]; name = url.rsplit("/", 1)[1]; \
	  conn = psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True); \
	  conn.execute(f"CREATE DATABASE \"{name}\"") if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() else None' $(SERVE_DATABASE_URL)
	$(SERVE_ENV) $(BIN)/python manage.py migrate --noinput
	$(SERVE_ENV) $(BIN)/python manage.py collectstatic --noinput -v0
	@echo "Candor (production stack) at http://$(HOST):$(PORT)/  health: /health/ready/  metrics: /metrics"
	rm -rf var/prometheus
	$(SERVE_ENV) $(BIN)/honcho start

# The production stack end to end: publish through the API, see it delivered to the fake providers.
smoke: venv
	$(BIN)/python bench/smoke.py

# Debian's Chromium for the browser tests (never a browser downloaded by Playwright) and GNU
# gettext, whose xgettext the translation tests extract the marked strings with.
browser: tools
tools:
	@{ test -x $(CHROMIUM) && command -v xgettext >/dev/null; } || { \
	  echo "Installing Debian's chromium and gettext for the tests..."; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium gettext; }

test: venv tools lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# ruff: lint and format, as configured in pyproject.toml.
lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Outbox fan-out: N recipients (default 10000) on $(DATABASE_URL) (default var/bench.sqlite3; the
# figures in bench/README.md are on PostgreSQL, a database whose name ends in _bench), with the database task
# backend or TASKS=rq (RQ on $(REDIS_URL) database 11, with sweeps racing the workers); WORKERS=1,2,4
# runs one publish per number of workers per channel. Fake providers in their own processes.
N ?= 10000
TASKS ?= database
WORKERS ?= 1
bench: venv
	$(BIN)/python bench/fanout.py -n $(N) --tasks $(TASKS) --workers $(WORKERS)

# The usual Django stack (django-post-office + django-anymail, their defaults) beside Candor: the
# same N emails to the same fake SendGrid, and the ratio (PostgreSQL; installs the bench extra).
BASELINE_N ?= 5000
bench-baseline: venv
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,bench]'
	$(BIN)/python bench/baseline.py -n $(BASELINE_N)

# Kill every worker (SIGKILL) during a fan-out of FAULTS_N recipients at several points, with and
# without provider failures, restart them, and print what was missing, doubled and late (PostgreSQL).
FAULTS_N ?= 5000
FAULTS_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/candor_faults_bench
bench-faults: venv
	DATABASE_URL=$(FAULTS_DATABASE_URL) $(BIN)/python bench/faults.py -n $(FAULTS_N) $(if $(FAULTS_AT),--at $(FAULTS_AT))

# A CSV import of IMPORT_N contacts (default 100,000) run as the background job does it.
IMPORT_N ?= 100000
bench-imports: venv
	$(BIN)/python bench/imports.py -n $(IMPORT_N)

# Status pages under gunicorn on PostgreSQL, loaded from a local load generator.
bench-pages: venv
	$(BIN)/python bench/pages.py

# State diagrams for the README (needs Graphviz's dot).
diagrams: venv
	for kind in Outage Recall Compliance; do \
	  $(BIN)/python manage.py graph_transitions -o docs/$$(echo $$kind | tr A-Z a-z)-lifecycle.png playbooks.$${kind}Incident && rm -f docs/$$(echo $$kind | tr A-Z a-z)-lifecycle; \
	done

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) var .pytest_cache
