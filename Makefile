# specfit: two commands on a fresh machine -- `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,dask,jcamp,wdf,fast,xlsx]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/specfit demo --out demo-output

test: $(STAMP)
	$(BIN)/ruff check specfit tests benchmarks
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_batch_vs_lmfit.py
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) demo-output build dist *.egg-info
