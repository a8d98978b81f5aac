# specfit: two commands on a fresh machine -- `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# demo: specfit and its dependencies (numba included); test: everything the tests need as well
DEMO_STAMP := $(VENV)/.installed-demo
STAMP := $(VENV)/.installed

.PHONY: demo test install lint bench clean

$(DEMO_STAMP): pyproject.toml
	@echo "== [make demo] creating $(VENV) and installing specfit with its dependencies (numpy, scipy, numba, ...)"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	touch $(DEMO_STAMP)

$(STAMP): pyproject.toml
	@echo "== [make] creating $(VENV) and installing specfit with the test, dask, jcamp and wdf extras"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,dask,jcamp,wdf,xlsx]"
	touch $(STAMP) $(DEMO_STAMP)

install: $(STAMP)

demo: $(DEMO_STAMP)
	@echo "== [make demo] fitting the bundled synthetic examples -> demo-output/ (the first run on a machine also compiles the fast engine in the background, once)"
	$(BIN)/specfit demo --out demo-output

test: $(STAMP)
	$(BIN)/ruff check specfit tests benchmarks
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_batch_vs_lmfit.py
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) demo-output build dist *.egg-info
