# event-feedback: `make run` runs the whole system locally; `make test` runs every test, browser included.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)
SCAN_VENV := .venv-scan
SCAN_STAMP := $(SCAN_VENV)/.installed-$(shell cat requirements-scan.txt | sha1sum | cut -c1-12)
CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test bench venv scan-venv system-deps lint typecheck scan unit integration e2e i18n package clean \
	deploy deploy-rehearsal destroy user revoke

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

venv: $(STAMP)

# checkov cannot share .venv (it pins an older boto3), so it gets a venv of its own, which ignores itself in git.
$(SCAN_STAMP): requirements-scan.txt
	@test -x $(SCAN_VENV)/bin/python || $(PYTHON) -m venv $(SCAN_VENV)
	@echo '*' > $(SCAN_VENV)/.gitignore
	$(SCAN_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-scan.txt
	@rm -f $(SCAN_VENV)/.installed-*
	@touch $@

scan-venv: $(SCAN_STAMP)

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

# IaC scan of the infra stack (skips and their reasons: .checkov.yaml). The `chalice package` template is
# scanned by tests/integration/test_package.py, which packages anyway; EF_REQUIRE_SCANNERS makes it fail,
# not skip, when checkov is missing.
scan: $(SCAN_STAMP)
	$(SCAN_VENV)/bin/checkov -f infra/template.json

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit -q -n 2

integration: $(STAMP) $(SCAN_STAMP)
	EF_REQUIRE_SCANNERS=1 PYTHONDONTWRITEBYTECODE=1 $(BIN)/python -m pytest tests/integration -q -n 2

e2e: $(STAMP) system-deps
	PYTHONDONTWRITEBYTECODE=1 $(BIN)/python -m pytest tests/e2e -q

# Fast checks first, so a broken build fails in seconds.
test: $(STAMP) $(SCAN_STAMP) system-deps
	$(MAKE) --no-print-directory lint typecheck scan
	EF_REQUIRE_SCANNERS=1 PYTHONDONTWRITEBYTECODE=1 $(BIN)/python -m pytest tests/unit tests/integration -q -n 2
	$(MAKE) --no-print-directory deploy-rehearsal
	PYTHONDONTWRITEBYTECODE=1 $(BIN)/python -m pytest tests/e2e -q

bench: $(STAMP)
	PYTHONDONTWRITEBYTECODE=1 $(BIN)/python -m bench

i18n: $(STAMP)
	bash tools/i18n.sh

# Deploy a stage into the account of the current AWS credentials (README, "Deploy runbook").
# First time: make deploy STAGE=prod SENDER=surveys@example.org [PUBLIC_BASE_URL=https://...] [ALARM_EMAIL=...]
deploy: $(STAMP)
	@test -n "$(STAGE)" || { echo "usage: make deploy STAGE=dev|prod [SENDER=...] [PUBLIC_BASE_URL=...] [ALARM_EMAIL=...]"; exit 2; }
	$(BIN)/python -m deploy deploy --stage "$(STAGE)" $(if $(REGION),--region "$(REGION)") \
		$(if $(SENDER),--sender "$(SENDER)") $(if $(PUBLIC_BASE_URL),--public-base-url "$(PUBLIC_BASE_URL)") \
		$(if $(ALARM_EMAIL),--alarm-email "$(ALARM_EMAIL)")

# The same deploy against a fresh embedded AWS, checked, updated and torn down; make test runs it.
deploy-rehearsal: $(STAMP)
	PYTHONDONTWRITEBYTECODE=1 $(BIN)/python -m deploy rehearse

# Tear a stage down; DATA=delete also deletes its tables, user pool and secrets.
destroy: $(STAMP)
	@test -n "$(STAGE)" || { echo "usage: make destroy STAGE=dev|prod CONFIRM=event-feedback-<stage> [DATA=delete]"; exit 2; }
	$(BIN)/python -m deploy destroy --stage "$(STAGE)" --confirm "$(CONFIRM)" $(if $(REGION),--region "$(REGION)") \
		$(if $(filter delete,$(DATA)),--delete-data)

# Invite a dashboard user: make user STAGE=prod EMAIL=someone@example.org ROLE=admin|viewer [EVENTS=all|ev_…,ev_…]
user: $(STAMP)
	$(BIN)/python -m deploy user --stage "$(STAGE)" --email "$(EMAIL)" --role "$(ROLE)" --events "$(or $(EVENTS),all)" $(if $(REGION),--region "$(REGION)")

# End a dashboard user's access at once (every session, every route): make revoke STAGE=prod EMAIL=someone@example.org
revoke: $(STAMP)
	$(BIN)/python -m deploy revoke --stage "$(STAGE)" --email "$(EMAIL)" $(if $(REGION),--region "$(REGION)")

# chalice package of a stage for a CloudFormation pipeline, rendered as make deploy renders it (here from the
# template built in an in-process moto; a pipeline renders from its own stack's outputs the same way).
package: $(STAMP)
	$(BIN)/python -m bench.package_sizes $(or $(STAGE),prod) build/package-$(or $(STAGE),prod)

clean:
	rm -rf $(VENV) $(SCAN_VENV) .local build test-artifacts .pytest_cache .mypy_cache .ruff_cache
