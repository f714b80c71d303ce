# Set-up and checks. Needs only python3 on the machine (and network access to PyPI).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-test
# Debian's python3 lacks ensurepip unless python3-venv is installed: the venv is
# then made without pip, and pip is installed by PyPA's get-pip.py.
GET_PIP := https://bootstrap.pypa.io/get-pip.py

.PHONY: demo test test-fast bench release install clean

$(BIN)/python:
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	  echo "'$(PYTHON) -m venv' has no ensurepip here: installing pip with $(GET_PIP)" >&2; \
	  rm -rf $(VENV) && $(PYTHON) -m venv --without-pip $(VENV) && \
	  $(BIN)/python -c "import sys, urllib.request; urllib.request.urlretrieve(sys.argv[1], sys.argv[2])" \
	    $(GET_PIP) $(VENV)/get-pip.py && \
	  $(BIN)/python $(VENV)/get-pip.py --quiet && rm -f $(VENV)/get-pip.py; \
	} || { rm -rf $(VENV); echo "Error: could not create $(VENV) with '$(PYTHON) -m venv'" >&2; exit 1; }
	@$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,ssh,sim]'
	@touch $@

install: $(STAMP)

## make demo: the main job, end to end, on the built-in simulator
demo: $(STAMP)
	$(BIN)/python -m vmtk_cli.demo

## make test: the whole suite, in parallel (about 11 minutes on 2 idle cores)
test: $(STAMP)
	@echo "make test: the whole suite, about 11 minutes on 2 idle cores (20 on a busy machine) ('make test-fast': about 3)" >&2
	$(BIN)/python -m pytest -n auto --dist worksteal -q

## make test-fast: the suite without the tests marked slow (about a fifth of make test's time)
test-fast: $(STAMP)
	@echo "make test-fast: the suite without the tests marked slow, about 3 minutes on 2 cores" >&2
	$(BIN)/python -m pytest -n auto --dist worksteal -q -m "not slow"

## make bench: benchmarks against the simulator; rewrites BENCHMARKS.md
bench: $(STAMP)
	$(BIN)/python -m benchmarks

## make release: the BOSH release tarball in dist/
release: $(STAMP)
	$(BIN)/python -m release.build

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .hypothesis
