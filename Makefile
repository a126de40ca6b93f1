# The README's two commands: `make sweep` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: help setup system-deps venv sweep test probes clean

help:
	@echo "make sweep   set everything up, sweep the built-in corpus, write reports/latest/"
	@echo "make test    set everything up and run the tests"
	@echo "make probes  regenerate the built-in feature probes in corpus/probes/"

system-deps:
	@PYTHON=$(PYTHON) bash scripts/install-system-deps.sh

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

setup: system-deps venv

sweep: setup
	$(BIN)/fidelity run --corpus corpus --out reports
	@echo "open reports/latest/index.html"

test: setup
	$(BIN)/fidelity corpus validate
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest -q

probes: venv
	$(BIN)/fidelity corpus probes --out corpus/probes

clean:
	rm -rf $(VENV) reports/*/ reports/latest reports/fidelity.sqlite* .pytest_cache
