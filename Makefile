# drgen: `make render` and `make test` work on a fresh machine with Python 3.11; everything lands in .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DRGEN := $(BIN)/drgen
PYTEST_WORKERS ?= auto

.PHONY: help render lint test check ruff duplicates clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(VENV)/.render-stamp: setup.cfg pyproject.toml
	PYTHON=$(PYTHON) scripts/venv.sh
	touch $@

$(VENV)/.test-stamp: setup.cfg pyproject.toml
	PYTHON=$(PYTHON) scripts/venv.sh test
	touch $@ $(VENV)/.render-stamp

render: $(VENV)/.render-stamp ## render and lint every preset into templates_out/
	$(DRGEN) render --all

lint: $(VENV)/.render-stamp ## lint the rendered bundles in templates_out/
	$(DRGEN) lint

test: $(VENV)/.test-stamp ## run ruff and the whole test suite
	$(BIN)/ruff check drgen tests
	$(BIN)/pytest -n $(PYTEST_WORKERS) -q

clean: ## remove the virtualenv and caches
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
