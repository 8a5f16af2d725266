# audiences — run `make help` for the targets.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# Bytecode is compiled at install: every Airflow task is a new process, and
# where PYTHONDONTWRITEBYTECODE is set each one would compile its imports again.
STAMP := $(VENV)/.installed-pyc-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)
export AUDIENCES_HOME ?= $(CURDIR)/data
# pytest processes of the test targets (pytest-xdist; a module's tests run in one).
WORKERS ?= 2
PYTEST = $(BIN)/pytest -n $(WORKERS) --dist loadfile

.DEFAULT_GOAL := help
.PHONY: help install lock browser postgres java demo demo-sync bench-sync test lint format unit dbt spark e2e heavy evaluate bench-generate bench bench-identity bench-predict clean

help: ## Show the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.8
	@$(BIN)/uv pip sync --quiet --compile-bytecode --python $(BIN)/python requirements.lock
	@$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	@rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP) ## Create .venv with the locked dependencies (run by every target)

browser: ## Install Debian's Chromium and chromedriver for the report's browser test (if missing)
	@scripts/install_browser.sh

postgres: ## Install Debian's PostgreSQL for the real-scheduler test (if missing)
	@scripts/install_postgres.sh

java: ## Install Debian's Java runtime for the Spark tests (if missing)
	@scripts/install_java.sh

lock: ## Re-resolve requirements.lock from pyproject.toml
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes -o requirements.lock

demo: $(STAMP) ## Generate sample sources and run the nightly DAG through Airflow
	@scripts/demo.sh

demo-sync: $(STAMP) ## After `make demo`: sync its live audiences to local Klaviyo, Mailchimp and webhook servers (docs/activation.md)
	@$(BIN)/python scripts/demo_sync.py

lint: $(STAMP) ## ruff (Python) and sqlfluff (dbt SQL)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	tmp=$$(mktemp -d); AUDIENCES_HOME=$$tmp AUDIENCES_WAREHOUSE=$$tmp/lint.duckdb $(BIN)/sqlfluff lint dbt_project/models

format: $(STAMP) ## Apply ruff and sqlfluff fixes
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
	tmp=$$(mktemp -d); AUDIENCES_HOME=$$tmp AUDIENCES_WAREHOUSE=$$tmp/lint.duckdb $(BIN)/sqlfluff fix dbt_project/models

test: lint browser postgres java ## Every check but the heavy scenarios: lint, then pytest (unit, dbt, Spark, DAG integrity, end-to-end, scheduler, browser), its modules spread over WORKERS processes
	$(PYTEST)

unit: $(STAMP) ## The fast tier: pytest without dbt builds, Airflow runs or Spark (about a minute)
	$(PYTEST) -m "not dbt and not e2e and not spark and not heavy"

dbt: $(STAMP) ## Only the dbt builds on generated data of `make test` (incremental equals full, profiles, segments, scores, erasure)
	$(PYTEST) -m "dbt and not e2e and not spark and not heavy"

spark: $(STAMP) java ## Only the Spark tests of `make test` (`make heavy` has the DAG on Spark)
	$(PYTEST) -m "spark and not heavy"

e2e: $(STAMP) browser postgres java ## Only the end-to-end Airflow runs (the DuckDB and Spark engines)
	$(PYTEST) -m "e2e and not heavy"

heavy: $(STAMP) java ## The long scenarios left out of `make test` (the DAG on Spark and a standalone cluster, three nights on Spark, the holdout lift over five seeds, the soak of twelve nights with faults); CI runs them after it
	$(PYTEST) -m heavy

bench-sync: $(STAMP) ## Time syncing 100,000 entered and 10,000 exited records to local Klaviyo and Mailchimp servers at their documented limits
	$(BIN)/python scripts/bench_sync.py

bench-generate: $(STAMP) ## Time the generator at 1,000,000 customers (writes under /tmp)
	$(BIN)/python scripts/bench_generate.py --customers 1000000

evaluate: $(STAMP) ## dbt-project-evaluator on the dbt project, exit 1 on any warning (its packages from hub.getdbt.com; offline: PACKAGES=DIR holding dbt_project_evaluator and dbt_utils)
	$(BIN)/python scripts/evaluate_dbt_project.py $(if $(PACKAGES),--packages $(PACKAGES))

bench: $(STAMP) ## The benchmark through Airflow at SCALE=XS|S|M (default M): full + incremental night; SCHEDULER=1: under a real scheduler; ENGINE=spark
	$(BIN)/python scripts/bench.py --scale $(or $(SCALE),M) \
		$(if $(MEMORY_LIMIT),--memory-limit $(MEMORY_LIMIT)) $(if $(SCHEDULER),--scheduler) \
		$(if $(ENGINE),--engine $(ENGINE))

bench-identity: $(STAMP) ## Identity resolution against the generator's truth at XS and S (precision, recall, over-merges)
	$(BIN)/python scripts/bench_identity.py --scale XS
	$(BIN)/python scripts/bench_identity.py --scale S

bench-predict: $(STAMP) ## Time the predict step (both scores) at 1,000,000 customers
	$(BIN)/python scripts/bench_predict.py --customers 1000000

clean: ## Remove runtime data (data/) and build output
	rm -rf data dbt_project/target dbt_project/logs .pytest_cache .ruff_cache
