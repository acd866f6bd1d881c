# Waypost: every entry point is a target here. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

install: $(STAMP) ## Create .venv, install Waypost and the offline model (assembled once, hash-checked)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip wheel
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]"
	$(BIN)/waypost models install
	@touch $(STAMP)

demo: $(STAMP) ## Run the main job: the retail support demo on the embedded default (SQLite, local model)
	$(BIN)/waypost demo

test: $(STAMP) ## Run the test suite (PostgreSQL tests use 127.0.0.1:5432 when reachable)
	$(BIN)/pytest -q -n 2

lint: $(STAMP) ## ruff lint + format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP) ## Apply ruff formatting and safe fixes
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: $(STAMP) ## mypy (strict on the packages, seen under their installed names)
	@rm -rf .typecheck && mkdir -p .typecheck/waypost
	@for d in waypost/*; do ln -s "../../$$d" ".typecheck/waypost/$$(basename $$d)"; done
	@for d in agents tools graphs domains retrieval runtime observability server api evals; do \
		ln -s "../../$$d" ".typecheck/waypost/$$d"; done
	$(BIN)/mypy
	cd examples/helpdesk && MYPYPATH=../../.typecheck ../../$(BIN)/mypy  # the plug-in example

bench: $(STAMP) ## Run the benchmarks and print their figures (docs/benchmarks.md)
	$(BIN)/python bench/local_model.py
	$(BIN)/python bench/tracing_overhead.py
	$(BIN)/python bench/api_throughput.py
	$(BIN)/python bench/retrieval.py --chunks 10000,100000 --db sqlite,postgres

faults: $(STAMP) ## Fault figures: flaky model, killed DB connections, killed workers, silent Langfuse
	$(BIN)/python bench/faults.py --runs 100

eval: $(STAMP) ## Golden retail evals with scripted models, gated against the stored baseline
	$(BIN)/waypost eval retail_support --dataset evals/datasets/retail_golden.jsonl \
		--model scripted:naive --baseline evals/baselines/retail_golden.naive.json --no-store

ui-compat: $(STAMP) ## Agent Chat UI from npm against waypost serve in headless Chromium (downloads ~700 MB once); records docs/ui-compat.md
	$(BIN)/python scripts/ui_compat.py

clean: ## Remove caches (keeps .venv and the database)
	rm -rf .pytest_cache .mypy_cache .ruff_cache .typecheck

.PHONY: help install demo test lint format typecheck bench faults eval ui-compat clean
