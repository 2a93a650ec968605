# Fastn — the two commands that matter: `make run` and `make test`.
# Variables set in the environment win over the defaults below.

PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HTMX := static/vendor/htmx.min.js
# The workflow page's editor (CodeMirror 6) and flow-graph layout (dagre), bundled from frontend/.
BUNDLES := static/vendor/fastn-editor.js static/vendor/fastn-flow.js
ESBUILD := node_modules/.bin/esbuild --bundle --minify --format=iife --target=es2020 --log-level=warning
# The drop-in widget (GET /embed/fastn.js), built from sdk/widget by esbuild.
WIDGET := static/embed/fastn.js
SDK_PACKAGES := js widget react
PYTEST_WORKERS ?= 2
# prometheus-client's multi-process folder: emptied at each start (apps/core/metrics.py).
METRICS_DIR ?= $(CURDIR)/.run/metrics

.PHONY: run test services venv install install-test static sdk sdk-test migrate demo lint format check-migrations browser clean bench

# Another stack beside the usual one (the smoke test starts one this way):
#   make run PORT=8123 DB=fastn_other REDIS_PREFIX=fastn-other [DEMO_API_PORT=18123]
# Each is optional; unset, .env and the defaults apply.
ifdef PORT
export FASTN_BIND := 127.0.0.1:$(PORT)
export FASTN_PUBLIC_URL := http://127.0.0.1:$(PORT)
endif
ifdef DB
export FASTN_DATABASE_NAME := $(DB)
endif
ifdef DEMO_API_PORT
export FASTN_DEMO_API_BIND := 127.0.0.1:$(DEMO_API_PORT)
endif
ifdef REDIS_PREFIX
export FASTN_REDIS_PREFIX := $(REDIS_PREFIX)
endif

run: install static services  ## Install, migrate, seed the demo org, run the Procfile's processes supervised
	$(PY) manage.py ensure_database
	$(PY) manage.py migrate --noinput -v 0
	$(PY) manage.py ensure_demo
	rm -rf $(METRICS_DIR) && mkdir -p $(METRICS_DIR)
	PROMETHEUS_MULTIPROC_DIR=$(METRICS_DIR) PATH="$(abspath $(VENV))/bin:$$PATH" $(PY) -m fastn.stack run

test: install-test static sdk services browser  ## Run the whole test suite
	DJANGO_SETTINGS_MODULE=fastn.settings.test $(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest -n $(PYTEST_WORKERS) --create-db -p no:cacheprovider $(PYTEST_ARGS)

$(PY):
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "ERROR: $(PYTHON) not found: Fastn needs Python 3.11." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

venv: $(PY)

$(VENV)/.installed: $(PY) requirements/base.txt requirements/lock.txt
	$(PIP) install -q -r requirements/base.txt -c requirements/lock.txt
	@touch $@

$(VENV)/.installed-test: $(VENV)/.installed requirements/test.txt
	$(PIP) install -q -r requirements/test.txt -c requirements/lock.txt
	@touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

static: $(HTMX) $(BUNDLES) $(WIDGET)  ## Front-end libraries from the npm registry, bundled by esbuild (no CDN at run time), and the widget

$(HTMX): package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "ERROR: npm is needed once to fetch htmx (see package.json)." >&2; exit 1; }
	npm ci --ignore-scripts --no-audit --no-fund --silent
	mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js $(HTMX)

static/vendor/fastn-%.js: frontend/%.js $(HTMX)
	$(ESBUILD) $< --outfile=$@

# Each sdk/ package has its own package.json and lock; npm ci when they change.
sdk/%/node_modules/.installed: sdk/%/package.json sdk/%/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "ERROR: npm is needed to build the widget and the SDKs (sdk/)." >&2; exit 1; }
	cd sdk/$* && npm ci --ignore-scripts --no-audit --no-fund --silent
	@touch $@

$(WIDGET): sdk/widget/node_modules/.installed sdk/widget/build.mjs $(wildcard sdk/widget/src/*) $(wildcard sdk/js/src/*)
	node sdk/widget/build.mjs
	mkdir -p $(dir $(WIDGET))
	cp sdk/widget/dist/fastn.js $(WIDGET)

sdk/js/dist/index.js: sdk/js/node_modules/.installed sdk/js/build.mjs sdk/js/tsconfig.json $(wildcard sdk/js/src/*)
	node sdk/js/build.mjs

# @fastn/react links ../js (file:), so the client is built first.
sdk/react/dist/index.js: sdk/js/dist/index.js sdk/react/node_modules/.installed sdk/react/build.mjs sdk/react/tsconfig.json $(wildcard sdk/react/src/*)
	node sdk/react/build.mjs

sdk: sdk/js/dist/index.js sdk/react/dist/index.js $(WIDGET)  ## Build the SDKs in sdk/ (their tests run inside the pytest suite, against a live server)

services:  ## Start PostgreSQL and Redis when they are down
	@./.ci/ensure-services

browser:  ## Debian's chromium for the browser tests
	@test -x /usr/bin/chromium || { \
	  echo "Installing Debian's chromium for the browser tests…"; \
	  if [ "$$(id -u)" = "0" ]; then SUDO=""; else SUDO="sudo"; fi; \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium >/dev/null 2>&1 \
	  || { $$SUDO apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium >/dev/null; } \
	  || { echo "ERROR: could not install chromium (apt-get install chromium)." >&2; exit 1; }; }

lint:  ## ruff check + format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format:
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: install services  ## Benchmarks (figures printed and appended to bench/RESULTS.md)
	$(PY) bench/tenant_create.py
	$(PY) bench/quota_check.py

clean:
	rm -rf $(VENV) node_modules static/vendor static/embed staticfiles .run $(foreach p,$(SDK_PACKAGES),sdk/$(p)/node_modules sdk/$(p)/dist)
