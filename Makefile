# CareCue: `make run` starts the whole system on this machine; `make test` checks it. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
LINE := 120

.PHONY: run test lint typecheck unit clean bench

$(INSTALLED): requirements.txt requirements-dev.txt requirements-lock.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet pip==26.2.1  # chalice 1.34 needs pip<26.3 to build packages
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt -c requirements-lock.txt
	touch $(INSTALLED)

run: $(INSTALLED)
	$(BIN)/python -m infra.local

test: lint typecheck
	$(BIN)/python -m pytest -p no:cacheprovider -q tests

# Not part of `make test`: cost, log and speed figures against their targets (a few minutes on 2 cores).
bench: $(INSTALLED)
	$(BIN)/python -m infra.bench

lint: $(INSTALLED)
	$(BIN)/ruff format --check --line-length $(LINE) app.py chalicelib infra tests
	$(BIN)/ruff check --line-length $(LINE) --select E,F,W,I,B,UP,S --ignore S101,S311 --per-file-ignores 'tests/*:S105' --per-file-ignores 'tests/*:S106' --per-file-ignores 'tests/*:S603' app.py chalicelib infra tests

typecheck: $(INSTALLED)
	$(BIN)/mypy --strict --allow-untyped-decorators app.py chalicelib infra

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .hypothesis
