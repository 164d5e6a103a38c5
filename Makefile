# CareCue: `make run` starts the whole system on this machine; `make test` checks it. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
LINE := 120

.PHONY: run test lint imports typecheck unit clean bench

$(INSTALLED): requirements.txt requirements-dev.txt requirements-lock.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet pip==26.2.1  # chalice 1.34 needs pip<26.3 to build packages
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt -c requirements-lock.txt
	touch $(INSTALLED)

# Options of the local stack (`.venv/bin/python -m infra.local --help`), each optional:
# `make run PORT=8001 AWS_PORT=5001 CLOCK_START=2026-11-30T14:00:00Z FROZEN=1 DATA=dir RESET=1 ARGS='...'`;
# `FAULTS='scheduler=0.3,sns=0.3' FAULTS_SEED=7` fails a share of the app's AWS calls (docs/reliability.md).
# FROZEN and RESET take 1 (0, no or an empty value mean off); ARGS is passed as is, after the others. `exec`:
# the stack is make's own child, so a SIGTERM to make (which make passes on) reaches it.
on = $(filter-out 0 no false,$(1))
run: $(INSTALLED)
	exec $(BIN)/python -m infra.local $(if $(PORT),--port $(PORT)) $(if $(AWS_PORT),--aws-port $(AWS_PORT)) \
		$(if $(CLOCK_START),--clock-start $(CLOCK_START)) $(if $(call on,$(FROZEN)),--frozen-clock) \
		$(if $(DATA),--data '$(DATA)') $(if $(call on,$(RESET)),--reset) \
		$(if $(FAULTS),--faults '$(FAULTS)') $(if $(FAULTS_SEED),--faults-seed '$(FAULTS_SEED)') $(ARGS)

# pytest on both cores (pytest-xdist): a test file to one worker at a time, and tests/e2e, whose files share one
# local stack and its clock, all to one worker in order (tests/conftest.py). `make test WORKERS=0`: one process.
WORKERS ?= 2
PYTEST := $(BIN)/python -m pytest -p no:cacheprovider -q $(if $(filter-out 0,$(WORKERS)),-n $(WORKERS) --dist loadgroup)

test: lint imports typecheck lint-templates audit-templates browser faketime
	$(PYTEST) tests
	$(MAKE) --no-print-directory test-moved-clock

# The integration and API tiers once more with the machine's clock moved (libfaketime), so a test that leans on
# today's date fails the day it is written, not the day the calendar reaches it. Default: five years from now;
# `make test-moved-clock MOVED_CLOCK='2027-03-14 07:30:00'` for a given instant.
MOVED_CLOCK ?= $(shell date -u -d '+5 years' '+%Y-%m-%d %H:%M:%S')
.PHONY: test-moved-clock
test-moved-clock: $(INSTALLED) faketime
	TZ=UTC faketime '$(MOVED_CLOCK)' $(PYTEST) tests/integration tests/api

# Not part of `make test`: cost, log and speed figures against their targets (a few minutes on 2 cores).
bench: $(INSTALLED)
	$(BIN)/python -m infra.bench

# Not part of `make test` or `make bench`: the full chaos run under the fault switch (infra/bench/chaos.py,
# docs/reliability.md: tens of minutes, most of it botocore's back-off); `make test` runs a small one.
.PHONY: chaos
chaos: $(INSTALLED)
	$(BIN)/python -m infra.bench.chaos

# The OpenAPI document the API serves at /openapi.json, written to docs/ (a test fails when the two differ).
.PHONY: openapi
openapi: $(INSTALLED)
	$(BIN)/python -c "import json; from app import app; from chalicelib.openapi import openapi_document; \
		print(json.dumps(openapi_document(app.routes), indent=2, sort_keys=True))" > docs/openapi.json

lint: $(INSTALLED)
	$(BIN)/ruff format --check --line-length $(LINE) app.py chalicelib infra tests
	$(BIN)/ruff check --line-length $(LINE) --select E,F,W,I,B,UP,S --ignore S101,S311 --per-file-ignores 'tests/*:S105' --per-file-ignores 'tests/*:S106' --per-file-ignores 'tests/*:S603' app.py chalicelib infra tests

# The layers and the AWS-import rule of docs/architecture.md, as contracts (.importlinter).
imports: $(INSTALLED)
	PYTHONPATH=. $(BIN)/lint-imports --no-cache

typecheck: $(INSTALLED)
	$(BIN)/mypy --strict --allow-untyped-decorators app.py chalicelib infra

# libfaketime (Debian's faketime), for the moved-clock run of `make test`; installed only when missing.
.PHONY: faketime
faketime:
	@test -x /usr/bin/faketime || \
		(apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y faketime)

# Headless Chromium and its WebDriver from the Debian packages, for the waiting-room board's browser test;
# installed only when missing. Without root (or apt) the test skips and says why instead of failing.
.PHONY: browser
browser:
	@test -x /usr/bin/chromium -a -x /usr/bin/chromedriver || \
		(apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver) || \
		echo "chromium not installed: the board's browser test will be skipped"

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) .mypy_cache .ruff_cache .hypothesis

# AWS: `make package` needs no AWS account (pip and PyPI only); `make deploy` needs credentials. See docs/deploy.md.
STAGE ?= dev
REGION ?=
BUILD := build/$(STAGE)

.PHONY: package deploy lint-templates package-files

# The merge template from the models and settings, Chalice's package with it, then the zips trimmed, compiled to
# bytecode for the runtime (Lambda cannot write it) and checked (infra/aws/package_contents.py).
package-files: $(INSTALLED)
	$(BIN)/python -m infra.aws.template --stage $(STAGE) --out $(BUILD)/resources.json
	rm -rf $(BUILD)/package
	find chalicelib -name __pycache__ -type d -prune -exec rm -rf {} +  # Chalice would ship stale bytecode
	PYTHONDONTWRITEBYTECODE=1 AWS_DEFAULT_REGION=$(or $(REGION),$(AWS_REGION),$(AWS_DEFAULT_REGION),us-east-1) \
		$(BIN)/chalice package --stage $(STAGE) --merge-template $(BUILD)/resources.json $(BUILD)/package
	$(BIN)/python -m infra.aws.package_contents $(BUILD)/package

package: package-files
	$(BIN)/cfn-lint $(BUILD)/package/sam.json

deploy: package
	$(BIN)/python -m infra.aws.deploy --stage $(STAGE) $(if $(REGION),--region $(REGION)) \
		$(if $(ADMIN_EMAIL),--admin-email $(ADMIN_EMAIL)) $(if $(SES_SENDER),--ses-sender $(SES_SENDER)) \
		$(if $(PUBLIC_URL),--public-url $(PUBLIC_URL)) $(if $(DEPLOY_BUCKET),--bucket $(DEPLOY_BUCKET)) \
		$(if $(WHATSAPP_PHONE_NUMBER_ARNS),--whatsapp-phone-number-arns $(WHATSAPP_PHONE_NUMBER_ARNS)) \
		$(if $(TOPICS_KEY_ARN),--topics-key-arn $(TOPICS_KEY_ARN))

# Both stages' templates, linted in one cfn-lint run (its start-up is most of its time). The dependency layer
# is cached in .chalice/deployments by the requirements' hash: only the first run on a clone downloads wheels.
lint-templates: $(INSTALLED)
	$(MAKE) --no-print-directory package-files STAGE=dev
	$(MAKE) --no-print-directory package-files STAGE=prod
	$(BIN)/cfn-lint build/dev/package/sam.json build/prod/package/sam.json

# checkov on both stages' packaged templates: 0 failed, every skip with its reason in the template's Metadata
# (infra/aws/checkov_skips.py, docs/security.md). In its own virtualenv: its pins clash with ours.
# --skip-download: no call to checkov's cloud for guidelines or extra checks.
CHECKOV_VENV := .venv-checkov
CHECKOV_INSTALLED := $(CHECKOV_VENV)/.installed

$(CHECKOV_INSTALLED): requirements-checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements-checkov.txt
	touch $(CHECKOV_INSTALLED)

.PHONY: audit-templates
audit-templates: lint-templates $(CHECKOV_INSTALLED)
	$(CHECKOV_VENV)/bin/checkov --framework cloudformation --skip-download --compact --quiet \
		-f build/dev/package/sam.json -f build/prod/package/sam.json
