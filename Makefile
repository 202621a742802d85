# drgen: `make render` and `make test` work on a fresh machine with Python 3.11; everything lands in .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DRGEN := $(BIN)/drgen
PYTEST_WORKERS ?= auto

.PHONY: help render lint check test system-deps checkov clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(VENV)/.render-stamp: setup.cfg pyproject.toml
	PYTHON=$(PYTHON) scripts/venv.sh
	touch $@

$(VENV)/.test-stamp: setup.cfg pyproject.toml
	PYTHON=$(PYTHON) scripts/venv.sh test
	touch $@ $(VENV)/.render-stamp

checkov: $(VENV)/.render-stamp ## set up the pinned checkov in .venv-checkov (first time: about a minute)
	$(DRGEN) scan --setup

render: $(VENV)/.render-stamp system-deps checkov ## render, lint, scan and review every preset into templates_out/
	$(DRGEN) render --all --scan

lint: $(VENV)/.render-stamp ## lint the rendered bundles in templates_out/
	$(DRGEN) lint

.PHONY: bench
bench: $(VENV)/.test-stamp ## run the benchmarks (not part of test): bench/results.json, docs/performance.md
	$(BIN)/python -m bench

system-deps: ## install the Debian packages drgen runs for real (postgresql, graphviz, chromium), when missing
	scripts/system-deps.sh

check: $(VENV)/.test-stamp ## ruff (lint and format) and mypy, in seconds; the first step of `make test`
	$(BIN)/ruff check drgen tests lambda
	$(BIN)/ruff format --check drgen tests lambda
	$(BIN)/mypy

test: check system-deps checkov ## run `make check` and the whole test suite
	$(BIN)/pytest -n $(PYTEST_WORKERS) -q

clean: ## remove the virtualenv and caches
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
