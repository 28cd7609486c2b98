# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The detector reads WordLlama's tokenizer from its wheel and never imports the package, so
# its own dependencies (numpy, tokenizers, huggingface-hub: ~120 MB) are left out.
ENCODER := wordllama==0.4.0.post1

.PHONY: run test lint bench train install clean

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/pip install --quiet --no-deps $(ENCODER)
	touch $(STAMP)

install: $(STAMP)

## run the bot (reads .env or the environment; see README)
run: $(STAMP)
	$(BIN)/python app.py

## lint, type-check bot/ (settings in pyproject.toml), then the whole test suite
## (PostgreSQL too when TEST_DATABASE_URL is set)
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

## print the detector benchmark on the frozen test split and the unseen-voices set
bench: $(STAMP)
	$(BIN)/python -m bot bench detector

## rebuild the detector head from the labelled data (seeded; about half a minute)
train: $(STAMP)
	$(BIN)/python -m bot train detector

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
