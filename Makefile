# event-feedback: `make run` runs the whole system locally; `make test` runs every test, browser included.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)
CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test bench venv system-deps lint typecheck unit integration e2e i18n package clean

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

venv: $(STAMP)

# Debian packages the browser tests need. Installed only when missing.
system-deps:
	@if [ ! -x $(CHROMIUM) ]; then \
		echo "Installing Debian's chromium for the browser tests..."; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null; \
	fi

run: $(STAMP)
	PYTHONDONTWRITEBYTECODE=1 $(BIN)/python -m devstack

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check chalicelib app.py
	$(BIN)/bandit -q -c pyproject.toml -r chalicelib app.py

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit -q -n 2

integration: $(STAMP)
	PYTHONDONTWRITEBYTECODE=1 $(BIN)/python -m pytest tests/integration -q -n 2

e2e: $(STAMP) system-deps
	PYTHONDONTWRITEBYTECODE=1 $(BIN)/python -m pytest tests/e2e -q

# Fast checks first, so a broken build fails in seconds.
test: $(STAMP) system-deps
	$(MAKE) --no-print-directory lint typecheck
	PYTHONDONTWRITEBYTECODE=1 $(BIN)/python -m pytest tests/unit tests/integration -q -n 2
	PYTHONDONTWRITEBYTECODE=1 $(BIN)/python -m pytest tests/e2e -q

bench: $(STAMP)
	PYTHONDONTWRITEBYTECODE=1 $(BIN)/python -m bench

i18n: $(STAMP)
	bash tools/i18n.sh

package: $(STAMP)
	$(BIN)/chalice package --stage prod build/prod

clean:
	rm -rf $(VENV) .local build test-artifacts .pytest_cache .mypy_cache .ruff_cache
