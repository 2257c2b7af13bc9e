# The CRM: `make run` starts everything on 127.0.0.1, `make test` runs every test.
SHELL := /bin/bash
PY := .venv/bin/python
PIP := .venv/bin/pip
PACKAGES := -e protos/gen/python $(patsubst %,-e %,$(wildcard services/*)) -e gateway $(patsubst %,-e %,$(wildcard simulators/*))

.PHONY: help venv run test test-unit test-e2e protos lint env clean

help:
	@echo "make run     start the whole system (gateway on http://127.0.0.1:8080)"
	@echo "make test    create the virtualenv, install, run every test"
	@echo "make protos  regenerate the gRPC/protobuf package from protos/"

.venv/.installed: requirements.txt $(wildcard services/*/pyproject.toml simulators/*/pyproject.toml) gateway/pyproject.toml protos/gen/python/pyproject.toml .tools/package.json
	test -x $(PY) || python3 -m venv .venv
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements.txt
	$(PIP) install --quiet --no-deps $(PACKAGES)
	cd .tools && npm ci --no-audit --no-fund --loglevel=error
	touch $@

venv: .venv/.installed

env: venv
	$(PY) tools/stack.py env

run: venv
	$(PY) tools/stack.py run

test: venv
	$(PY) -m pytest

test-unit: venv
	$(PY) -m pytest -m "not e2e"

test-e2e: venv
	$(PY) -m pytest tests/e2e

protos: venv
	$(PY) protos/generate.py
	cd protos && ../.tools/node_modules/.bin/buf lint

lint: venv
	cd protos && ../.tools/node_modules/.bin/buf lint

clean:
	rm -rf var .env
