# sagewatch: `make demo` to see it work, `make test` for every quality gate.
VENV   ?= .venv
PY     := $(VENV)/bin/python
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# checkov pins an old boto3, so it lives in a virtualenv of its own.
CHECKOV_VENV  := $(VENV)/checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-stamp
export CHECKOV = $(CURDIR)/$(CHECKOV_VENV)/bin/checkov
PYTHON ?= python3
# setuptools announces every editable install of a mapped package-dir ("Editable installation. ... folders
# with the same name as your package"): information, not a fault here (no such folder at the top), so hushed
EDITABLE := PYTHONWARNINGS="ignore:Editable installation"

export SAM_CLI_TELEMETRY = 0
export SAM = $(CURDIR)/$(BIN)/sam
# Tests and the demo never touch a real account.
export AWS_ACCESS_KEY_ID ?= testing
export AWS_SECRET_ACCESS_KEY ?= testing

.PHONY: dev test demo demo-server org-demo local bench package docs deploy

dev: $(STAMP) $(CHECKOV_STAMP)  ## create .venv with sagewatch (editable) and every dev tool

$(STAMP): pyproject.toml layers/sagewatch/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(EDITABLE) $(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# make demo needs only the package and moto: a first-time user waits for those, not for every dev tool
DEMO_STAMP := $(VENV)/.demo-stamp
$(DEMO_STAMP): pyproject.toml layers/sagewatch/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(EDITABLE) $(PY) -m pip install --quiet -e '.[demo]'
	touch $@

$(CHECKOV_STAMP): tests/security/checkov-requirements.txt | $(STAMP)
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet -r tests/security/checkov-requirements.txt
	touch $@

test: dev  ## lint, types, unit, integration and fault tests, checkov, sam validate --lint, sam build, sam local suite
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	# only 3.11 runs here: check the package against the 3.12 and 3.13 standard library too
	$(BIN)/mypy --python-version 3.12
	$(BIN)/mypy --python-version 3.13
	for f in functions/*/app.py; do $(BIN)/mypy --strict --follow-imports=silent $$f || exit 1; done
	$(BIN)/pytest tests/unit --disable-socket
	$(BIN)/pytest tests/integration --allow-hosts=127.0.0.1
	$(BIN)/pytest tests/faults --allow-hosts=127.0.0.1
	# checkov on template.yaml and on the SAM-translated template; suppressions only in resources' Metadata
	$(BIN)/pytest tests/security --disable-socket
	# exits non-zero on any cfn-lint match, warnings included
	$(BIN)/sam validate --lint
	$(BIN)/sam build
	# sam local suite: needs a container engine (skipped without one, except in CI where it fails)
	if docker info >/dev/null 2>&1; then PIP="$(PY) -m pip" tests/local/lambda-image.sh; fi
	$(BIN)/pytest tests/local

demo: $(DEMO_STAMP)  ## scan a simulated fleet in an embedded moto backend
	$(PY) -m sagewatch_testkit.demo

MINUTES ?= 60
demo-server: $(DEMO_STAMP)  ## keep the demo fleet served (moto on 127.0.0.1) and print the AWS_ENDPOINT_URL to export
	$(PY) -m sagewatch_testkit.server --fleet demo --explore --max-seconds $$(( $(MINUTES) * 60 ))

org-demo: $(DEMO_STAMP)  ## an organization on an embedded moto: its one digest (silent member included) and its cost table
	$(PY) -m sagewatch_testkit.org_demo

docs: dev  ## rewrite every example in README.md and docs/ from the code (make test checks they are current)
	$(PY) -m sagewatch_testkit.docs --write

ALERT_EMAIL ?=
deploy: dev  ## a first, read-only deploy to your account: make deploy ALERT_EMAIL=you@example.com [REGION=eu-west-1]
	@test -n "$(ALERT_EMAIL)" || { echo "usage: make deploy ALERT_EMAIL=you@example.com [REGION=us-east-1] (the address confirms its subscription by email)" >&2; exit 2; }
	$(BIN)/sam build
	$(BIN)/sam deploy $(if $(REGION),--region $(REGION)) --parameter-overrides AlertEmail=$(ALERT_EMAIL)

BUCKET ?=
PREFIX ?= sagewatch
package: dev  ## sam build, then sam package to s3://BUCKET/PREFIX: packaged.yaml, the template StackSets deploy
	@test -n "$(BUCKET)" || { echo "usage: make package BUCKET=artifact-bucket [PREFIX=sagewatch]" >&2; exit 2; }
	$(BIN)/sam build
	$(BIN)/sam package --s3-bucket $(BUCKET) --s3-prefix $(PREFIX) --output-template-file packaged.yaml

local:  ## sam build, then sam local invoke every function with its events against a seeded moto
	@docker info >/dev/null 2>&1 || { echo "make local: no Docker daemon answers (docker info failed). sam local runs each function in a container: start Docker (sudo dockerd &, sudo systemctl start docker, or Docker Desktop) and run make local again." >&2; exit 1; }
	@$(MAKE) --no-print-directory dev
	$(BIN)/sam build
	PIP="$(PY) -m pip" tests/local/lambda-image.sh
	$(PY) -m sagewatch_testkit.local

ENDPOINTS ?= 1000
bench: dev  ## scan a simulated fleet (ENDPOINTS=5000 for more): calls per endpoint cold and warm, wall time, memory
	$(PY) -m sagewatch_testkit.bench --endpoints $(ENDPOINTS)
