# `make run` and `make test` each create .venv and install what they need on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Reinstall whenever pyproject.toml changes.
INSTALLED := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/test
# Browser tests drive Debian's chromium (never a downloaded browser).
CHROMIUM := /usr/bin/chromium
# CAP signatures are checked with Debian's xmlsec1, not with the code that made them.
XMLSEC1 := /usr/bin/xmlsec1
# The conformance tests check every page with the Nu HTML Checker (vnu.jar, on Debian's Java)
# and axe-core, both pinned in tests/conformance/package-lock.json. npm runs no install
# script: vnu-jar's would download a Java of its own.
JAVA := /usr/bin/java
NPM := /usr/bin/npm
CHECKERS := tests/conformance/node_modules/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test test-fast test-postgres lint demo worker clean bench-fanout bench-load bench-social-runs bench-exports bench-subscribers bench-text bench-text-served bench-signin-flood bench-gc bench-scaling messages

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

$(CHROMIUM):
	$(SUDO) apt-get install -y chromium || ($(SUDO) apt-get update && $(SUDO) apt-get install -y chromium)

$(XMLSEC1):
	$(SUDO) apt-get install -y xmlsec1 || ($(SUDO) apt-get update && $(SUDO) apt-get install -y xmlsec1)

$(JAVA):
	$(SUDO) apt-get install -y default-jre-headless || ($(SUDO) apt-get update && $(SUDO) apt-get install -y default-jre-headless)

$(NPM):
	$(SUDO) apt-get install -y npm || ($(SUDO) apt-get update && $(SUDO) apt-get install -y npm)

$(CHECKERS): tests/conformance/package.json tests/conformance/package-lock.json | $(NPM)
	cd tests/conformance && npm ci --ignore-scripts --no-audit --no-fund
	touch $@

run: $(INSTALLED)
	$(BIN)/console serve

# Extra pytest arguments, e.g. PYTEST_ARGS=--junitxml=report.xml (as .ci/run passes).
PYTEST_ARGS ?=

test: $(INSTALLED) $(CHROMIUM) $(XMLSEC1) $(JAVA) $(CHECKERS)
	$(BIN)/pytest $(PYTEST_ARGS)

# Everything but the tests marked `slow` (subprocesses, the browser, outages, the checkers),
# spread by pytest-xdist over two workers per CPU (each worker has its own database; see
# tests/conftest.py). `make test`, which CI runs, stays one process. Idle workers take tests queued on busy ones (worksteal), so a
# long test collected late does not leave one CPU idle at the end; Python may cache compiled
# modules even where the environment says not to (each worker compiles every test file).
test-fast: $(INSTALLED)
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -m "not slow" -n auto --dist worksteal $(PYTEST_ARGS)

test-postgres: $(INSTALLED) $(CHROMIUM) $(XMLSEC1) $(JAVA) $(CHECKERS)
	DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/pytest $(PYTEST_ARGS)

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

demo: $(INSTALLED)
	$(BIN)/console db upgrade
	$(BIN)/console demo

worker: $(INSTALLED)
	$(BIN)/console worker

# Interface strings of the public pages: extract them from the templates into the template
# catalog, merge it into every console/locale/*/LC_MESSAGES/messages.po (new strings arrive
# empty, to translate), and check that every catalog compiles. The app compiles them in memory.
messages: $(INSTALLED)
	$(BIN)/pybabel extract -F pyproject.toml -k N_ --no-location --sort-output \
	  --project "Incident console" --copyright-holder "Console Engineers" -o console/locale/messages.pot .
	$(BIN)/pybabel update -i console/locale/messages.pot -d console/locale --no-fuzzy-matching --ignore-obsolete
	for po in console/locale/*/LC_MESSAGES/messages.po; do \
	  $(BIN)/pybabel compile --statistics -i $$po -o /dev/null || exit 1; done

bench-fanout: $(INSTALLED)
	$(BIN)/python bench/fanout/run.py

bench-social-runs: $(INSTALLED)
	$(BIN)/python bench/social_runs/run.py

bench-exports: $(INSTALLED)
	$(BIN)/python bench/exports/run.py

bench-subscribers: $(INSTALLED)
	$(BIN)/python bench/subscribers/run.py

bench-text: $(INSTALLED)
	$(BIN)/python bench/text/run.py

bench-text-served: $(INSTALLED)
	$(BIN)/python bench/text/served.py

bench-signin-flood: $(INSTALLED)
	$(BIN)/python bench/signin_flood/served.py

bench-gc: $(INSTALLED)
	$(BIN)/python bench/gc/run.py

# Needs the local PostgreSQL (a scratch database) and Redis (BENCH_REDIS_URL).
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/0
bench-load: $(INSTALLED)
	$(BIN)/python bench/load/run.py --broadcast-url $(BENCH_REDIS_URL)

# 1, 2 and 4 web processes on Redis and on PostgreSQL LISTEN/NOTIFY (same needs as bench-load).
bench-scaling: $(INSTALLED)
	$(BIN)/python bench/scaling/run.py --bus both --redis-url $(BENCH_REDIS_URL)

clean:
	rm -rf $(VENV) console.db console.db-* archive mail-preview signing-key.pem
