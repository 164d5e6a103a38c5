# CareCue: `make run` starts the whole system on this machine; `make test` checks it. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
LINE := 120

.PHONY: run test lint typecheck unit clean

$(INSTALLED): requirements.txt requirements-dev.txt requirements-lock.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet pip==26.2.1  # chalice 1.34 needs pip<26.3 to build packages
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt -c requirements-lock.txt
	touch $(INSTALLED)

run: $(INSTALLED)
	$(BIN)/python -m infra.local

test: lint typecheck browser
	$(BIN)/python -m pytest -p no:cacheprovider -q tests

lint: $(INSTALLED)
	$(BIN)/ruff format --check --line-length $(LINE) app.py chalicelib infra tests
	$(BIN)/ruff check --line-length $(LINE) --select E,F,W,I,B,UP,S --ignore S101,S311 --per-file-ignores 'tests/*:S105' --per-file-ignores 'tests/*:S106' --per-file-ignores 'tests/*:S603' app.py chalicelib infra tests

typecheck: $(INSTALLED)
	$(BIN)/mypy --strict --allow-untyped-decorators app.py chalicelib infra

# Headless Chromium and its WebDriver from the Debian packages, for the waiting-room board's browser test;
# installed only when missing. Without root (or apt) the test skips and says why instead of failing.
.PHONY: browser
browser:
	@test -x /usr/bin/chromium -a -x /usr/bin/chromedriver || \
		(apt-get update && apt-get install -y chromium chromium-driver) || \
		echo "chromium not installed: the board's browser test will be skipped"

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .hypothesis
