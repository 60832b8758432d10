# `make demo` and `make test` set everything up on first use (a .venv beside this file).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DATA ?=

.PHONY: setup demo lint test bench clean

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; sys.exit(0 if (3, 10) <= v <= (3, 12) else "keras-rawaudio needs Python 3.10-3.12, found %d.%d (set PYTHON=python3.x)" % v)'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

demo: $(STAMP)
	$(PY) -m keras_rawaudio.demo $(if $(DATA),--data=$(DATA))

# ruff, with the rules and line length of pyproject.toml; `make test` runs it first.
lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

# Two workers: most of the suite's time is single-threaded graph tracing. The tests of the one
# shared trained model run on one worker (tests/conftest.py), so it is trained once.
test: lint
	$(PY) -m pytest -q -n 2 --dist loadgroup --durations=10 tests

bench: $(STAMP)
	$(PY) bench/pipeline_bench.py --data=../shared/data/drums16k
	$(PY) bench/latency_bench.py

clean:
	rm -rf $(VENV) demo_run .pytest_cache
