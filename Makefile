# Praktor — `make up` runs it, `make test` runs every test. Both bootstrap what they need.
SHELL := /bin/bash
.DEFAULT_GOAL := help

TOOLS := .tools
UV := $(shell command -v uv 2>/dev/null || echo $(TOOLS)/bin/uv)
PY_SRC := libs/praktor-common/src services/*/src agent-runner/src
PYTEST := $(UV) run --frozen pytest

.PHONY: help bootstrap sync up test lint typecheck test-unit test-integration test-e2e asyncapi fmt

help:
	@echo "make up    - install what is needed and start Praktor on embedded defaults"
	@echo "make test  - install what is needed and run lint, type checks and every test tier"
	@echo "make test-unit | test-integration | test-e2e - one tier"

$(TOOLS)/bin/uv:
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv

bootstrap: $(if $(shell command -v uv 2>/dev/null),,$(TOOLS)/bin/uv)

sync: bootstrap
	$(UV) sync --frozen

up: sync
	$(UV) run --frozen praktor up

lint: sync
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .

typecheck: sync
	$(UV) run --frozen mypy $(PY_SRC)

asyncapi: sync
	$(UV) run --frozen python -m praktor_common.asyncapi docs/asyncapi.yaml

fmt: sync
	$(UV) run --frozen ruff format .
	$(UV) run --frozen ruff check --fix .

# Unit tests run under a far-off time zone: nothing may depend on the machine's TZ.
test-unit: sync
	TZ=Pacific/Chatham $(PYTEST) -m "not integration and not e2e"

test-integration: sync
	TZ=America/St_Johns $(PYTEST) -m "integration and not e2e"

# The slowest tier: the whole suite as separate processes.
test-e2e: sync
	$(PYTEST) -m e2e tests/e2e

test: lint typecheck test-unit test-integration test-e2e
