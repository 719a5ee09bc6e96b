# Task runner. `make local` and `make test` bootstrap everything they need on a fresh machine
# (Debian, Python 3.11+, Node.js 20; no Docker, no AWS account).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
LAYER_STAMP := layers/runtime/.built
PORT ?= 8080

export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_RUNTIME_PACKAGE_CACHE_ROOT := $(CURDIR)/.venv/jsii-cache
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help install fonts layer browser console console-test local test lint audit format unit integration infra synth deploy diff destroy bench fuzz clean

help:
	@echo "make local   - start the whole service locally (embedded AWS emulation)"
	@echo "make test    - lint, type-check and run the whole test suite"
	@echo "make synth   - synthesize the CDK app into cdk.out/"
	@echo "make deploy  - deploy both stacks (AWS credentials; SENDER_EMAIL, ALARM_TOPIC_ARN: docs/operations.md)"
	@echo "make audit   - checkov over the synthesized templates (part of make test)"
	@echo "make bench   - run the benchmarks, results in docs/benchmarks.md"
	@echo "make fuzz    - the schemathesis and property tests with many more examples (docs/security.md)"

$(PY_STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade "pip>=24"
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The PDF export's fonts (Noto, OFL): npm packages from layers/fonts' own lockfile. layers/build.py
# copies them into the layer; tests and local mode read them where npm put them.
FONTS_STAMP := layers/fonts/node_modules/.installed
$(FONTS_STAMP): layers/fonts/package.json layers/fonts/package-lock.json
	cd layers/fonts && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(LAYER_STAMP): pyproject.toml layers/build.py $(FONTS_STAMP) | $(PY_STAMP)
	$(PY) layers/build.py

# The web console (console/): its own lockfile, `npm ci` when it changes, built into console/dist/
# (served at /console/) when a source changes.
CONSOLE_DEPS := console/node_modules/.installed
CONSOLE_STAMP := console/dist/.built
$(CONSOLE_DEPS): console/package.json console/package-lock.json
	cd console && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(CONSOLE_STAMP): $(CONSOLE_DEPS) console/build.mjs $(shell find console/src -type f 2>/dev/null)
	cd console && npm run --silent build
	touch $@

console: $(CONSOLE_STAMP)

# The console's own logic (filters <-> URL, date presets across DST) under node's test runner.
console-test: $(CONSOLE_DEPS)
	cd console && node --test test/

# The Swagger UI browser test drives Debian's chromium through Playwright (never `playwright install`).
CHROMIUM_STAMP := $(VENV)/.chromium
$(CHROMIUM_STAMP): | $(PY_STAMP)
	command -v chromium >/dev/null || { SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium; }
	touch $@

# The Lambda layer only for what packages it (synth, deploy, the audit, the infrastructure tests):
# local mode, unit and integration tests run the functions with the virtualenv's packages.
install: $(PY_STAMP) $(FONTS_STAMP)

fonts: $(FONTS_STAMP)

# Only for the tests that need a browser (make test, make integration): not for make local.
browser: $(CHROMIUM_STAMP)

layer: $(LAYER_STAMP)

lint: $(PY_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-logo

# checkov in its own virtualenv (its pins are not the service's); waivers: infra/checkov.py.
AUDIT_VENV := .venv-audit
AUDIT_STAMP := $(AUDIT_VENV)/.installed
$(AUDIT_STAMP): requirements-audit.txt
	test -x $(AUDIT_VENV)/bin/python || $(PYTHON) -m venv $(AUDIT_VENV)
	$(AUDIT_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-audit.txt
	touch $@

audit: install layer console $(AUDIT_STAMP)
	rm -rf .audit.out
	$(PY) -c 'from infra.app_builder import build_app; build_app(outdir=".audit.out").synth()'
	BC_SKIP_MAPPING=TRUE $(AUDIT_VENV)/bin/checkov -d .audit.out --framework cloudformation \
		--compact --quiet --skip-download

format: $(PY_STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: install layer browser console console-test lint audit
	$(BIN)/pytest

unit: install
	$(BIN)/pytest tests/unit

integration: install browser console
	$(BIN)/pytest tests/integration

infra: install layer console
	$(BIN)/pytest tests/infrastructure

local: install console
	PORT=$(PORT) $(PY) -m activitylog_ops.local

synth: install layer console $(NODE_STAMP)
	npx cdk synth --quiet

# Both go through the pre-deploy checks (ops/activitylog_ops/deploy.py): real sender, alarm topic,
# account settings; CI=true deploys without stopping for approval.
diff: install layer console $(NODE_STAMP)
	$(PY) -m activitylog_ops.deploy diff

deploy: install layer console $(NODE_STAMP)
	$(PY) -m activitylog_ops.deploy deploy

# Tables, the exports bucket and the signing secret are retained (docs/operations.md, "Tearing down").
destroy: install layer $(NODE_STAMP)
	npx cdk destroy --all

# The same fuzz and property tests as in `make test`, with FUZZ_EXAMPLES examples per operation;
# schemathesis's command line (every phase) gets FUZZ_SECONDS for its whole run (60 in make test).
FUZZ_EXAMPLES ?= 500
FUZZ_SECONDS ?= 900
fuzz: install
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_SECONDS=$(FUZZ_SECONDS) $(BIN)/pytest -p no:cacheprovider \
		tests/integration/test_fuzz_api.py tests/integration/test_schemathesis_cli.py \
		tests/integration/test_isolation_property.py

bench: install layer console browser  # cold-start imports the layer's packages; console: a browser
	$(PY) -m bench

clean:
	rm -rf cdk.out .audit.out .local layers/runtime console/dist .mypy_cache .ruff_cache .pytest_cache
