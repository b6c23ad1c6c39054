# Two entry points (README quick start): `make demo` and `make test`. Both build .venv first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

WHEELHOUSE := build/wheelhouse
# Versions the packaging tests install into fresh virtualenvs: the lowest and newest supported.
SUPPORTED := poetry==2.1.4 poetry==2.5.1 pip-tools==7.4.1 pip-tools==7.6.2

.PHONY: demo test lint typecheck unit nightly-share bench clean wheelhouse

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Wheels for the tests that build and install pinwarden into fresh virtualenvs, downloaded while
# the network is there: the tests themselves run offline (see .ci/run).
$(WHEELHOUSE)/.done: $(STAMP)
	mkdir -p $(WHEELHOUSE)
	$(BIN)/pip download --quiet --dest $(WHEELHOUSE) '.[pip-tools]' 'poetry-core>=2.0' build wheel setuptools
	for spec in $(SUPPORTED); do $(BIN)/pip download --quiet --dest $(WHEELHOUSE) $$spec || exit 1; done
	$(MAKE) $(WHEELHOUSE)/.adopters
	touch $@

# What the README's adopter commands need offline (tests/test_packaging.py): pipx, and the wheels
# `poetry self add` resolves for other platforms only (Poetry locks its own environment for all).
# A stamp of its own, so that a wheelhouse made before it gets these without starting over.
PYVER := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])')
FOREIGN := --no-deps --only-binary=:all: --implementation cp --python-version $(PYVER)
$(WHEELHOUSE)/.adopters: $(STAMP)
	mkdir -p $(WHEELHOUSE)
	$(BIN)/pip download --quiet --dest $(WHEELHOUSE) pipx
	$(BIN)/pip download --quiet --dest $(WHEELHOUSE) $(FOREIGN) --platform macosx_11_0_arm64 xattr
	$(BIN)/pip download --quiet --dest $(WHEELHOUSE) $(FOREIGN) --platform win_amd64 pywin32-ctypes colorama
	touch $@

wheelhouse: $(WHEELHOUSE)/.done $(WHEELHOUSE)/.adopters

demo: $(STAMP)
	$(BIN)/python demo/run.py

lint: $(STAMP)
	$(BIN)/ruff check src tests demo benchmarks
	$(BIN)/ruff format --check src tests demo benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP) $(WHEELHOUSE)/.done $(WHEELHOUSE)/.adopters
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test: lint typecheck unit

# The share of the nightly volumes that CI runs after `make test` (.ci/run): these tests at their
# PINWARDEN_NIGHTLY=1 counts, which docs/security.md cites. 12,000 mutated documents per reader
# (malformed), 12,000 generated pages per index reader, 6,000 requirements files against pip's parser,
# 20,000 poetry.lock files against Poetry's Locker; kill trials bounded to 40 per flow and 6 killed
# `poetry lock` runs (200 and 30 in a full nightly run, PINWARDEN_NIGHTLY=1 make test, run by hand).
NIGHTLY_SHARE ?= tests/test_malformed_index.py tests/test_poetry_lock_diff.py tests/test_crash.py \
	tests/test_malformed.py::test_mutated_documents_parse_or_raise_input_error \
	tests/test_malformed.py::test_mutated_requirements_read_as_pip_reads_them

nightly-share: $(STAMP)
	PINWARDEN_NIGHTLY=1 PINWARDEN_CRASH_TRIALS=40 PINWARDEN_POETRY_CRASH_TRIALS=6 \
		$(BIN)/python -m pytest -q --durations=10 $(NIGHTLY_SHARE)

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
