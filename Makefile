# `make run` and `make test` each create .venv and install what they need on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Reinstall whenever pyproject.toml changes.
INSTALLED := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: run test test-postgres lint demo worker clean

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

run: $(INSTALLED)
	$(BIN)/console serve

test: $(INSTALLED)
	$(BIN)/pytest

test-postgres: $(INSTALLED)
	DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/pytest

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

demo: $(INSTALLED)
	$(BIN)/console db upgrade
	$(BIN)/console demo

worker: $(INSTALLED)
	$(BIN)/console worker

clean:
	rm -rf $(VENV) console.db console.db-* archive
