# The vocabulary of the project. Every target sets up what it needs (the venv) by itself.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
STAGE ?= dev
REGION ?= ap-southeast-1
PYTEST_ARGS ?=

.PHONY: venv run test unit integration e2e fuzz lint fmt package clean eval browser-deps browser screenshots bench chaos redrive

CHECKOV_VENV := $(VENV)/checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

venv: $(STAMP) $(CHECKOV_STAMP)

$(STAMP): requirements/runtime.txt requirements/dev.txt requirements/lock.txt
	@command -v $(PY) >/dev/null || { echo "need $(PY) (Python 3.11)"; exit 1; }
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q "pip<26.3"
	$(BIN)/python -m pip install -q -r requirements/dev.txt -c requirements/lock.txt
	touch $(STAMP)

# checkov pins boto3 (and more) against this project's versions: it gets a venv of its own (requirements/checkov.txt).
$(CHECKOV_STAMP): requirements/checkov.txt requirements/checkov-lock.txt $(STAMP)
	test -x $(CHECKOV_VENV)/bin/python || $(PY) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install -q "pip<26.3"
	$(CHECKOV_VENV)/bin/python -m pip install -q -r requirements/checkov.txt -c requirements/checkov-lock.txt
	touch $(CHECKOV_STAMP)

## Start the whole system locally on moto's server (Ctrl-C stops everything).
run: venv
	$(BIN)/python -m devstack run

## Headless Chromium and its driver from Debian, for the staff console's browser tests (we run as root; CI is a
## fresh machine). A CJK font so Chinese renders in the screenshots.
browser-deps:
	command -v chromium >/dev/null && command -v chromedriver >/dev/null && fc-list :lang=zh | grep -q . \
	  || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-wqy-microhei)

## Every test: lint, unit, integration (moto), end-to-end (the running local stack), browser, packaging.
test: venv browser-deps
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

unit: venv
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

integration: venv
	$(BIN)/python -m pytest tests/integration $(PYTEST_ARGS)

e2e: venv
	$(BIN)/python -m pytest tests/e2e $(PYTEST_ARGS)

## The staff console in headless Chromium against the local stack.
browser: venv browser-deps
	$(BIN)/python -m pytest tests/browser $(PYTEST_ARGS)

## Re-take the console's screenshots (docs/screenshots/*.png, shown in README.md).
screenshots: venv browser-deps
	CONSOLE_SCREENSHOTS=1 $(BIN)/python -m pytest tests/browser $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Build the CloudFormation/SAM template and artifacts for one stage in one region.
package: venv
	$(BIN)/python -m infra.package --stage $(STAGE) --region $(REGION)

clean:
	rm -rf build .pytest_cache .ruff_cache

## A longer fuzz run than the bounded one inside `make test`.
fuzz: venv
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-500} $(BIN)/python -m pytest tests/fuzz $(PYTEST_ARGS)

## Accuracy of the reply classifier on the labelled evaluation set.
eval: venv
	$(BIN)/python -m eval.evaluate

## Cost and speed figures, written to docs/PERFORMANCE.md; fails when a target of issue 7 is missed.
bench: venv
	$(BIN)/python -m bench $(BENCH_ARGS)

## The fault-injection soak of the local stack (1,000 bookings; not part of `make test`): docs/RELIABILITY.md.
chaos: venv
	$(BIN)/python -m chaos --docs

## Move a queue's dead letters back once the cause is fixed (QUEUE=journey-steps|inbound; LOCAL=.chairside
## for the local stack, else STAGE/REGION with your AWS credentials). Safe to run twice.
QUEUE ?= journey-steps
redrive: venv
	$(BIN)/python -m ops.redrive --queue $(QUEUE) $(if $(LOCAL),--local-state $(LOCAL),--stage $(STAGE) --region $(REGION))
