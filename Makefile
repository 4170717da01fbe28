# cosim: `make run` sets up what is missing and runs the main demo (the EIE scenario);
# `make test` sets up what is missing and runs the whole test suite. Both are idempotent.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.cosim-installed
# Anything that changes the compiled extension or the dependencies triggers a rebuild.
BUILD_INPUTS := pyproject.toml CMakeLists.txt $(shell find core tlm bridges -name '*.cpp' -o -name '*.h' 2>/dev/null)
# Pinned build tools the editable install needs (it runs without build isolation so
# rebuilds are incremental): the [build-system] requirements plus cmake and ninja.
BUILD_TOOLS = $$($(VPY) -c 'import tomllib; print(" ".join(tomllib.load(open("pyproject.toml","rb"))["build-system"]["requires"]))') cmake==4.4.5 ninja==1.13.2

.PHONY: run demo test setup system-packages lint stubs bench clean

# The main demo: EIE (scenarios/eie.py) on the full system, its report and metrics.
run: setup
	$(VPY) scenarios/eie.py

# The first demo: a host, a device and memory driven by Python processes.
demo: setup
	$(VPY) -m cosim.demo

test: setup
	$(VPY) -m pytest

setup: system-packages $(STAMP)

system-packages:
	@PYTHON=$(PYTHON) tools/install_system_packages.sh

$(VPY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "cosim needs Python >= 3.11; run make with PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --upgrade pip

$(STAMP): $(VPY) $(BUILD_INPUTS) | system-packages
	$(VPY) -m pip install --quiet $(BUILD_TOOLS)
	$(VPY) -m pip install --quiet --no-build-isolation -e '.[test]'
	@touch $(STAMP)

lint: setup
	$(VENV)/bin/ruff check cosim tests bench scenarios tools
	$(VENV)/bin/ruff format --check cosim tests bench scenarios tools

# Typed stubs of the compiled extension (cosim/_core.pyi), for editors and type checkers;
# tests/test_stubs.py fails when they differ from the built extension.
stubs: setup
	$(VPY) -m nanobind.stubgen -q --exclude-values -m cosim._core -o cosim/_core.pyi

bench: setup
	@for b in bench/*.py; do echo "== $$b"; $(VPY) $$b || exit 1; done

clean:
	rm -rf build $(VENV) .pytest_cache
