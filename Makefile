# iolab: `make lab` to learn, `make test` to run the course's own tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: lab test check demo lint stubs clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "iolab needs Python 3.11 or newer (found " + sys.version.split()[0] + "); set PYTHON=python3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,crypto]'
	@touch $(STAMP)

# Jupyter refuses to run as root unless told (containers, JupyterHub images, CI machines).
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

lab: $(STAMP)  ## start JupyterLab on the notebooks
	$(BIN)/jupyter lab --ServerApp.root_dir=. $(ROOT_FLAG) notebooks/00-start-here.ipynb

# A student copy (iolab release) has no solutions/ or bench/: lint and test what is there.
LINTED := $(wildcard solutions grader tests bench)

test: $(STAMP) lint  ## the course's whole test suite
	@if [ -d solutions ]; then $(BIN)/iolab dev stubs --check; fi
	$(BIN)/python -m pytest -n 2 --dist loadgroup --durations=25

lint: $(STAMP)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/mypy $(wildcard solutions grader)

check: $(STAMP)  ## grade your own labs, headless
	$(BIN)/iolab grade

demo: $(STAMP)  ## reference vs naive LogLens on a big log, with plots in reports/
	$(BIN)/iolab demo loglens

stubs: $(STAMP)  ## regenerate labs/ from solutions/ (course maintainers)
	$(BIN)/iolab dev stubs

clean:
	rm -rf $(VENV) reports .iolab-artifacts datasets/generated
