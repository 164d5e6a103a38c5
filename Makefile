# CareCue: `make run` starts the whole system on this machine; `make test` checks it. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
LINE := 120

.PHONY: run test lint typecheck unit clean

$(INSTALLED): requirements.txt requirements-dev.txt requirements-lock.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt -c requirements-lock.txt
	touch $(INSTALLED)

run: $(INSTALLED)
	$(BIN)/python -m infra.local

test: lint typecheck
	$(BIN)/python -m pytest -p no:cacheprovider -q tests

lint: $(INSTALLED)
	$(BIN)/ruff check --line-length $(LINE) --select E,F,W,I,B,UP,S --ignore S101,S311 --per-file-ignores 'tests/*:S105,S106,S108,S603' app.py chalicelib infra tests

typecheck: $(INSTALLED)
	$(BIN)/mypy --strict --allow-untyped-decorators --ignore-missing-imports app.py chalicelib infra

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .hypothesis
