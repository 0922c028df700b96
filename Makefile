# Candor: `make run` to try it, `make test` to check it. Both set everything up first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 8000
CHROMIUM ?= /usr/bin/chromium

# `make format` rewrites the code in ruff's format.
.PHONY: venv migrate demo run test lint format browser bench bench-pages diagrams clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Candor needs Python 3.11 or newer (set PYTHON=python3.12, for example).")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP)

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
	$(BIN)/python manage.py db_worker --queue-name '*' --interval 0.5 & \
	$(BIN)/python manage.py sweep_outbox --every 30 & \
	$(BIN)/python manage.py sweep_timers --every 30 & \
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

# Debian's Chromium for the browser tests; never a browser downloaded by Playwright.
browser:
	@test -x $(CHROMIUM) || { \
	  echo "Installing Debian's chromium for the browser tests..."; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium; }

test: venv browser lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# ruff: lint and format, as configured in pyproject.toml.
lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Outbox fan-out: N recipients (default 10000) on $(DATABASE_URL) (default var/bench.sqlite3).
N ?= 10000
bench: venv
	$(BIN)/python bench/fanout.py -n $(N)

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
