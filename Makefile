# Keras Workshop: every task a learner, instructor or CI needs. `make help` lists them.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml 2>/dev/null | cksum | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 8000
# SOLUTIONS=1 builds the instructor site (solution pages from the executed-notebook cache).
SOLUTIONS ?= 0
# The course track to build (course.yml): TRACK=one-day make site-learner. Empty: course.yml's own.
TRACK ?=
# Two builds, two folders: nothing serves the instructor build unless SOLUTIONS=1 asks for it.
LEARNER_SITE := site/learner
INSTRUCTOR_SITE := site/instructor
SITE_DIR := $(if $(filter 1,$(SOLUTIONS)),$(INSTRUCTOR_SITE),$(LEARNER_SITE))
MKDOCS_ENV := NO_MKDOCS_2_WARNING=1 $(if $(TRACK),WORKSHOP_TRACK=$(TRACK))
NODE_STAMP := node_modules/.installed-$(shell cat package-lock.json 2>/dev/null | cksum | cut -d' ' -f1)

.DEFAULT_GOAL := help
.PHONY: help setup data exercises site site-learner serve demo-models wheelhouse test check browser sandbox lint format clean

help: ## list the tasks
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required; $(PYTHON) is " + sys.version.split()[0] + ". Use PYTHON=python3.11 make ...")'
	@$(PYTHON) -c 'import ensurepip' 2>/dev/null || { echo "$(PYTHON) cannot create virtual environments (Debian: sudo apt-get install python3-venv)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@rm -f $(VENV)/.installed-* && touch $@

# MathJax (served by the site) and axe-core (the browser tests), pinned in package-lock.json.
$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is required (Debian: sudo apt-get install npm)"; exit 1; }
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	@rm -f node_modules/.installed-* && touch $@

setup: $(STAMP) $(NODE_STAMP) ## create .venv and node_modules with the pinned dependencies

data: setup ## fetch and verify every dataset (WORKSHOP_DATA_MIRROR=DIR to copy from a local mirror)
	$(BIN)/workshop fetch

exercises: setup ## regenerate exercises/ from solutions/
	$(BIN)/workshop exercises

site: data ## build the instructor site (with executed solutions; trains those not cached) into site/instructor/
	$(MKDOCS_ENV) WORKSHOP_SOLUTIONS=1 $(BIN)/mkdocs build --strict --site-dir $(INSTRUCTOR_SITE)

# The publishing workflow (.github/workflows/pages.yml) runs this target too.
site-learner: data ## build the learner site (no solutions, no training) into site/learner/ (TRACK=one-day: that track)
	$(MKDOCS_ENV) WORKSHOP_SOLUTIONS=0 $(BIN)/mkdocs build --strict --site-dir $(LEARNER_SITE)

serve: data ## build and serve the learner site on 127.0.0.1:8000 (HOST=0.0.0.0: the room; SOLUTIONS=1: instructor)
	$(MKDOCS_ENV) WORKSHOP_SOLUTIONS=$(SOLUTIONS) $(BIN)/mkdocs build --strict --site-dir $(SITE_DIR)
	$(BIN)/python -m workshop.room.serve --host $(HOST) --port $(PORT) $(if $(filter 1,$(SOLUTIONS)),--solutions --what "instructor site",--what "learner site") $(SITE_DIR)

# The in-page demos of a build that does not train (a fresh clone, the Pages workflow) come from here.
demo-models: data ## train the demo units' reference solutions if not cached, export them to workshop/site/demo_models/ (commit it)
	@mkdir -p .cache
	flock .cache/train.lock $(BIN)/python -m workshop.site.demos --train

WHEELHOUSE ?= wheelhouse
wheelhouse: setup ## download the learners' packages for Linux, macOS and Windows into wheelhouse/ (needs internet; WHEELHOUSE=DIR)
	$(BIN)/python -m workshop.room.wheelhouse $(WHEELHOUSE)

browser: ## install Debian's Chromium for the browser tests, if missing
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "Install Chromium (Debian: sudo apt-get install chromium) for the browser tests."; fi; }

sandbox: ## install bubblewrap (bwrap), the grader's sandbox, if missing
	@command -v bwrap >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null; \
	  else echo "Install bubblewrap (Debian/Ubuntu: sudo apt-get install bubblewrap) to grade in the sandbox."; fi; }

# Two pytest processes side by side (tests/run_suite.py): the solutions' training and the tests that
# wait for it, and beside them every other test, one per core.
test: data browser sandbox ## run every test (every tier): units train for real (two at a time), the site builds, the browser checks it
	$(BIN)/python tests/run_suite.py

# The fast tier runs two tests at a time, every TensorFlow process on one thread (no spinning thread
# pools). It leaves out the tiers of tests/conftest.py: `trains`, `browser` and `slow`.
FAST_TIER := not trains and not browser and not slow
check: lint data sandbox ## the fast tier: lint, format, exercises in sync, every test that trains nothing and takes seconds
	$(BIN)/workshop exercises --check
	TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 OMP_NUM_THREADS=1 $(BIN)/python -m pytest -m "$(FAST_TIER)" -n 2

# exercises/ is generated from solutions/ (and leaves names undefined on purpose): not linted.
LINTED := workshop tests solutions $(wildcard scripts)

lint: setup ## ruff (lint rules and formatting; make format fixes the formatting), and every unit's declaration
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/workshop units --check

format: setup ## format the code with ruff, then regenerate exercises/
	$(BIN)/ruff format $(LINTED)
	$(BIN)/workshop exercises

clean: ## remove built and cached outputs (keeps .venv and datasets)
	rm -rf site build .cache artifacts
