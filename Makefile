# The vocabulary of the project. Every target sets up what it needs (the venv) by itself.
SHELL := /bin/bash
# Python 3.13, as on Lambda (python3.13 on Amazon Linux 2023, arm64). PY=/path/to/python3.13 overrides;
# otherwise the first that really runs 3.13: python3.13 on PATH (a pyenv shim without a selected version
# fails and is skipped), then pyenv's own installs (newest first), then the usual system places.
PY_VERSION := 3.13
IS_PY313 := import sys; sys.exit(sys.version_info[:2] != (3, 13))
ifndef PY
PY := $(shell for p in python$(PY_VERSION) \
	  $$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/$(PY_VERSION).*/bin/python$(PY_VERSION) 2>/dev/null | sort -rV) \
	  /usr/local/bin/python$(PY_VERSION) /usr/bin/python$(PY_VERSION); do \
	  "$$p" -c '$(IS_PY313)' >/dev/null 2>&1 \
	  && { command -v "$$p"; break; }; done)
endif
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
STAGE ?= dev
REGION ?= ap-southeast-1
# Both cores: one test file per worker at a time, so a file's session fixtures (the local stack) start once per worker.
PYTEST_ARGS ?= -n 2 --dist loadfile --no-loadscope-reorder

.PHONY: venv run test deadcode unit integration e2e fuzz lint typecheck fmt package clean eval train browser-deps browser screenshots bench chaos \
	redrive lock audit retrain cv

CHECKOV_VENV := $(VENV)/checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

venv: $(STAMP) $(CHECKOV_STAMP)

# requirements/lock.txt: runtime + dev tools, hash-pinned (`make lock` writes it); an unchanged lock installs nothing.
# A venv of another Python (e.g. the 3.11 one of earlier versions) is made anew.
$(STAMP): requirements/lock.txt
	@test -n "$(PY)" || { echo "need Python $(PY_VERSION) (none found on PATH, in pyenv or /usr): install it" \
	  "(e.g. 'pyenv install $(PY_VERSION)') or pass PY=/path/to/python$(PY_VERSION)"; exit 1; }
	@$(PY) -c '$(IS_PY313)' || { echo "PY=$(PY) is not Python $(PY_VERSION)"; exit 1; }
	$(BIN)/python -c '$(IS_PY313)' 2>/dev/null || { rm -rf $(VENV) && $(PY) -m venv $(VENV); }
	$(BIN)/python -m pip install -q "pip<26.3"
	$(BIN)/python -m pip install -q --require-hashes -r requirements/lock.txt
	touch $(STAMP)

# checkov pins boto3 (and more) against this project's versions: it gets a venv of its own (requirements/checkov.txt).
$(CHECKOV_STAMP): requirements/checkov.txt requirements/checkov-lock.txt $(STAMP)
	test -x $(CHECKOV_VENV)/bin/python || $(PY) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install -q "pip<26.3"
	$(CHECKOV_VENV)/bin/python -m pip install -q -r requirements/checkov.txt -c requirements/checkov-lock.txt
	touch $(CHECKOV_STAMP)

## Re-resolve the locks after editing requirements/runtime.txt or dev.txt (needs the package registry):
## runtime-lock.txt for the Lambda target (cp313, manylinux aarch64, wheels only) -- what the layer installs --
## then lock.txt (runtime + dev tools, for any platform, runtime versions constrained to runtime-lock.txt) --
## what the venv installs. Existing pins are kept unless a requirement changed; LOCK_ARGS=--upgrade takes the
## newest of everything.
LOCK_ARGS ?=
UV_COMPILE = UV_CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/uv pip compile -q --generate-hashes --python-version 3.13 $(LOCK_ARGS)
lock: $(STAMP)
	$(UV_COMPILE) --python-platform aarch64-manylinux_2_34 --only-binary :all: \
	  requirements/runtime.txt -o requirements/runtime-lock.txt
	$(UV_COMPILE) --universal -c requirements/runtime-lock.txt requirements/dev.txt -o requirements/lock.txt

## Known vulnerabilities in what ships to Lambda (requirements/runtime-lock.txt), from the PyPI advisory database
## (OSV: AUDIT_ARGS="-s osv"). Needs that database online: it cannot run on machines that reach only package
## registries, so it is not part of `make test`; there it fails rather than pass without having checked.
AUDIT_ARGS ?=
audit: venv
	$(BIN)/pip-audit --strict --disable-pip --progress-spinner off -r requirements/runtime-lock.txt $(AUDIT_ARGS)

## Start the whole system locally on moto's server (Ctrl-C stops everything).
run: venv
	$(BIN)/python -m devstack run

## Headless Chromium and its driver from Debian, for the staff console's browser tests (we run as root; CI is a
## fresh machine). A CJK font so Chinese renders in the screenshots.
browser-deps:
	command -v chromium >/dev/null && command -v chromedriver >/dev/null && fc-list :lang=zh | grep -q . \
	  || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-wqy-microhei)

## Every test: lint, unit, integration (moto), end-to-end (the running local stack), browser, packaging.
test: venv browser-deps lint typecheck deadcode
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## Dead code: vulture over what ships; exits non-zero on any finding. What it cannot see being used
## (frameworks, names called by name, code used from devstack/infra/ops/bench) is in vulture_whitelist.py.
VULTURE_IGNORE_DECORATORS := @*.route,@staff_route,@member_route,@*.on_sqs_message,@cached_property,@*.middleware
deadcode: venv
	$(BIN)/vulture chalicelib functions app.py vulture_whitelist.py --ignore-decorators "$(VULTURE_IGNORE_DECORATORS)"

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

## Types of chalicelib/, functions/ and app.py (settings in pyproject.toml; PynamoDB ships its own types).
typecheck: venv
	$(BIN)/mypy

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

## Accuracy of the reply classifier on the labelled evaluation set. CORRECTIONS=FILE (from `python -m ops.labels
## export`) also reports on staff corrections; `make eval --corrections` cannot work: make reads it as its own option.
eval: venv
	$(BIN)/python -m eval.evaluate $(if $(CORRECTIONS),--corrections $(CORRECTIONS))

## Retrain on a chain's staff corrections in one command (issue 16): export them (CHAIN=C; LOCAL=.chairside for the
## local stack, else STAGE/REGION with your AWS credentials), then `make train CORRECTIONS=<that file>`.
CHAIN ?=
retrain: venv
	@test -n "$(CHAIN)" || { echo "usage: make retrain CHAIN=<chain id> [LOCAL=.chairside]"; exit 2; }
	$(BIN)/python -m ops.labels export --chain $(CHAIN) --out build/corrections-$(CHAIN).jsonl \
	  $(if $(LOCAL),--local-state $(LOCAL),--stage $(STAGE) --region $(REGION))
	$(MAKE) train CORRECTIONS=build/corrections-$(CHAIN).jsonl

## Train the learned reply classifier (eval/train.py, pure Python, deterministic): rewrites
## chalicelib/understanding/model/reply_model.json (+ .weights) and TRAINING.md from eval/data/train.jsonl (never the frozen
## part). CORRECTIONS="a.jsonl b.jsonl" adds staff corrections (the eval format).
CORRECTIONS ?=
train: venv
	$(BIN)/python -m eval.train $(foreach f,$(CORRECTIONS),--corrections $(f))

## 5-fold cross-validation of rules + model on eval/data/train.jsonl (eval/cv.py; never reads the frozen part):
## where features, training settings and the policy are tuned.
cv: venv
	$(BIN)/python -m eval.cv $(CV_ARGS)

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
