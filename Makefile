# Praktor — `make up` runs it, `make test` runs every test. Both bootstrap what they need.
SHELL := /bin/bash
.DEFAULT_GOAL := help

TOOLS := .tools
UV := $(shell command -v uv 2>/dev/null || echo $(TOOLS)/bin/uv)
PY_SRC := libs/praktor-common/src services/*/src agent-runner/src conftest.py bench
RUN := $(UV) run --frozen --no-sync
PYTEST := $(RUN) pytest

.PHONY: help bootstrap sync up test lint typecheck test-unit test-integration test-docker test-e2e asyncapi fmt

help:
	@echo "make up    - install what is needed and start Praktor on embedded defaults"
	@echo "make test  - install what is needed and run lint, type checks and every test tier"
	@echo "make test-unit | test-integration | test-docker | test-e2e - one tier"

$(TOOLS)/bin/uv:
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv

bootstrap: $(if $(shell command -v uv 2>/dev/null),,$(TOOLS)/bin/uv)

# Some machines set PYTHONDONTWRITEBYTECODE: compile once at install so a service
# process does not recompile all its imports at every start.
sync: bootstrap
	UV_COMPILE_BYTECODE=1 $(UV) sync --frozen --quiet
	$(RUN) python -m compileall -q libs/praktor-common/src services agent-runner/src >/dev/null
	bash scripts/browser-setup.sh >/dev/null

up: sync
	$(RUN) praktor up

lint: sync
	$(RUN) ruff check .
	$(RUN) ruff format --check .

# Test folders may each hold a conftest.py, so mypy checks the files of one folder at a time.
TEST_DIRS := $(sort $(dir $(wildcard libs/*/tests/*.py libs/*/tests/*/*.py services/*/tests/*.py services/*/tests/*/*.py agent-runner/tests/*.py agent-runner/tests/*/*.py tests/*/*.py)))
typecheck: sync
	$(RUN) mypy $(PY_SRC)
	set -e; for d in $(TEST_DIRS); do $(RUN) mypy $$d*.py; done

asyncapi: sync
	$(RUN) python -m praktor_common.asyncapi docs/asyncapi.yaml

fmt: sync
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

# Unit tests run under a far-off time zone: nothing may depend on the machine's TZ.
test-unit: sync
	TZ=Pacific/Chatham $(PYTEST) -m "not integration and not e2e"

test-integration: sync
	TZ=America/St_Johns $(PYTEST) -m "integration and not e2e and not docker"

# The docker runtime, the agent image and the suite with agents in containers, against a real
# engine: Podman's Docker API on a socket in .tools/podman (scripts/podman-setup.sh installs and
# starts it when missing). The agent image is tagged with a hash of its inputs and built only
# when that tag is missing (a cold build takes ~10 min on 2 cores and prints its progress; older
# builds are untagged so the engine's storage does not grow); the machine's own extra CAs (an
# intercepting proxy's) go into it.
AGENT_BASE_IMAGE ?= localhost/debian:bookworm
test-docker: sync
	set -e; host=$$(scripts/podman-setup.sh | tail -1); \
	export $$host CONTAINERS_CONF=$(CURDIR)/.tools/podman/containers.conf; \
	image=(--base $(AGENT_BASE_IMAGE)); for ca in /usr/local/share/ca-certificates/*.crt; do \
	  if [ -f "$$ca" ]; then image+=(--ca-cert "$$ca"); fi; done; \
	$(RUN) praktor agent-image build "$${image[@]}"; \
	tag=$$($(RUN) praktor agent-image tag "$${image[@]}"); \
	keep=$$(podman image inspect --format '{{.Id}}' "$$tag"); \
	podman images --no-trunc --filter label=praktor.image=agent --format '{{.ID}} {{.Repository}}:{{.Tag}}' \
	  | awk -v keep="sha256:$$keep" '$$1 != keep && $$2 !~ /<none>/ {print $$2}' \
	  | xargs -r podman rmi >/dev/null 2>&1 || true; \
	TZ=Asia/Kathmandu PRAKTOR_TEST_AGENT_IMAGE=$$tag $(PYTEST) -m docker

# The slowest tier: the whole suite as separate processes (agents in containers: test-docker).
test-e2e: sync
	$(PYTEST) -m "e2e and not docker" tests/e2e

test: lint typecheck test-unit test-integration test-docker test-e2e
