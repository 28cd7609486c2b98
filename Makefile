# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The detector reads WordLlama's tokenizer from its wheel and never imports the package, so
# its own dependencies (numpy, tokenizers, huggingface-hub: ~120 MB) are left out.
ENCODER := wordllama==0.4.0.post1
# The tools that install and lock, pinned like everything else.
PIP := pip==26.3
UV := uv==0.13.9
# requirements/*.txt: every package at one version with its hashes (dev = runtime + dev
# extras). `make lock` rewrites both from pyproject.toml, keeping the pins it can;
# `make lock UPGRADE=1` moves every package to the newest version pyproject.toml allows.
COMPILE = $(BIN)/uv pip compile pyproject.toml --quiet --universal --python-version 3.11 \
	--generate-hashes --custom-compile-command "make lock" $(if $(UPGRADE),--upgrade)

# The suite mostly waits (on sockets, child processes, Slack's Retry-After), so it runs in
# more worker processes than a 2-core machine has cores (tests/conftest.py gives each its own
# PostgreSQL database). `make test PYTEST_WORKERS=0` runs it in one process.
PYTEST_WORKERS ?= 6

.PHONY: run test lint bench train install lock clean

# Reframe itself goes in editable and --no-deps: everything it needs is in the lock,
# setuptools (the build backend, pinned in pyproject.toml) included.
$(STAMP): pyproject.toml requirements/dev.txt Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet $(PIP)
	$(BIN)/pip install --quiet --require-hashes -r requirements/dev.txt
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
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
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

## rewrite requirements/dev.txt and requirements/runtime.txt from pyproject.toml
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet $(PIP) $(UV)
	$(COMPILE) --extra dev -o requirements/dev.txt
	$(COMPILE) --constraint requirements/dev.txt -o requirements/runtime.txt

## print the detector benchmark on the frozen test split and the unseen-voices set
bench: $(STAMP)
	$(BIN)/python -m bot bench detector

## rebuild the detector head from the labelled data (seeded; about half a minute)
train: $(STAMP)
	$(BIN)/python -m bot train detector

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
