# Shortlist — run `make help` for the list of targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEPS := requirements/dev.txt requirements/constraints.txt libs/pyproject.toml cli/pyproject.toml \
	$(wildcard services/*/pyproject.toml)

.DEFAULT_GOAL := help
.PHONY: help install demo up test test-fast lint format proto bench bench-ingest bench-embed bench-search bench-score \
	eval-ranking chaos

# Targets that read a folder take it as PATH=<folder> (e.g. make bench-ingest PATH=../shared/data/cv-dev).
# That replaces the shell's PATH for the recipes, so they get a plain system PATH back here.
ifeq ($(origin PATH),command line)
DATA_DIR := $(abspath $(PATH))
override PATH := $(CURDIR)/$(BIN):/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
endif
DATA_DIR ?=

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}'

install: $(STAMP) ## Create .venv and install every package (pinned by requirements/constraints.txt)

$(STAMP): $(DEPS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements/dev.txt
	touch $@

demo: install ## Start the embedded stack, screen the sample CVs in examples/ and print the ranked shortlist
	$(BIN)/shortlist demo

up: install ## Start the embedded stack (broker + four services) until Ctrl-C
	$(BIN)/shortlist up

test: install lint ## Lint, type-check and run the whole test suite
	$(BIN)/pytest

test-fast: install ## Run the tests without lint
	$(BIN)/pytest -x -q

lint: install ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy libs/shortlist/runtime services cli scripts

format: install ## Format the code with ruff
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

proto: install ## Regenerate the Python code of proto/shortlist/v1 into libs/shortlist/v1
	$(BIN)/python scripts/gen_proto.py

bench: bench-embed bench-search bench-score ## Run the benchmarks that need no data folder (figures go to docs/benchmarks.md)

bench-ingest: install ## Extraction speed on a folder of CVs: make bench-ingest PATH=<folder of PDFs>
	$(BIN)/python -m scripts.bench_ingest "$(DATA_DIR)"

bench-embed: install ## Raw model throughput vs the embed service end to end (broker included)
	$(BIN)/python -m scripts.bench_embed

bench-search: install ## 100k chunks in the embedded vector store: search latency and memory
	$(BIN)/python -m scripts.bench_search

bench-score: install ## LLM scorer throughput against a local OpenAI-compatible server answering after 1 s
	$(BIN)/python -m scripts.bench_score

eval-ranking: install ## Ranking quality on category folders of CVs: make eval-ranking PATH=<folder>
	$(BIN)/python -m scripts.eval_ranking "$(DATA_DIR)"

chaos: install ## Kill every part of the stack while 300 CVs flow; check nothing lost or done twice (docs/reliability.md)
	$(BIN)/python -m scripts.chaos $(if $(DATA_DIR),"$(DATA_DIR)",)
