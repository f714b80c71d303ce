# Set-up and checks. Needs only python3 (with its venv module) on the machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-test

.PHONY: demo test test-fast bench release install clean

$(BIN)/python:
	@$(PYTHON) -m venv $(VENV) || { echo "Error: '$(PYTHON) -m venv' failed; install the venv module (Debian: apt-get install python3-venv)" >&2; exit 1; }
	@$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,ssh,sim]'
	@touch $@

install: $(STAMP)

## make demo: the main job, end to end, on the built-in simulator
demo: $(STAMP)
	$(BIN)/python -m toolkit.cli.demo

## make test: the whole suite, in parallel
test: $(STAMP)
	$(BIN)/python -m pytest -n auto -q

## make test-fast: the suite without the long (slow) variants
test-fast: $(STAMP)
	$(BIN)/python -m pytest -n auto -q -m "not slow"

## make bench: benchmarks against the simulator; rewrites BENCHMARKS.md
bench: $(STAMP)
	$(BIN)/python -m benchmarks

## make release: the BOSH release tarball in dist/
release: $(STAMP)
	$(BIN)/python -m release.build

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .hypothesis
