# The CRM: `make run` starts everything on 127.0.0.1, `make test` runs every test.
SHELL := /bin/bash
PY := .venv/bin/python
PIP := .venv/bin/pip
PACKAGES := -e protos/gen/python $(patsubst %,-e %,$(wildcard services/*)) -e gateway $(patsubst %,-e %,$(wildcard simulators/*))

.PHONY: help venv run test test-unit test-e2e test-faults protos lint env clean

help:
	@echo "make run     start the whole system (gateway on http://127.0.0.1:8080)"
	@echo "make test    create the virtualenv, install, run every test"
	@echo "make protos  regenerate the gRPC/protobuf package from protos/"
	@echo "make bench   performance figures against same-run floors -> docs/benchmarks.md (QUICK=1: smoke)"

.venv/.installed: requirements.txt $(wildcard services/*/pyproject.toml simulators/*/pyproject.toml) gateway/pyproject.toml protos/gen/python/pyproject.toml .tools/package.json
	test -x $(PY) || python3 -m venv .venv
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements.txt
	$(PIP) install --quiet --no-deps $(PACKAGES)
	cd .tools && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Tools of tests/test_deploy.py, each in its own virtualenv (their pins conflict with requirements.txt):
# docker-compose 1.29 (PyYAML 5 built with Cython < 3), and kustomize + kubernetes-validate.
DEPLOY_TOOLS := .tools/compose/.installed .tools/k8s/.installed .tools/openapi/.installed

.tools/compose/.installed: deploy/tools/compose.txt
	test -x .tools/compose/bin/python || python3 -m venv .tools/compose
	.tools/compose/bin/pip install --quiet Cython==0.29.37 wheel==0.48.0
	.tools/compose/bin/pip install --quiet --no-build-isolation PyYAML==5.4.1
	.tools/compose/bin/pip install --quiet -r deploy/tools/compose.txt
	touch $@

.tools/k8s/.installed: deploy/tools/k8s.txt
	test -x .tools/k8s/bin/python || python3 -m venv .tools/k8s
	.tools/k8s/bin/pip install --quiet --ignore-requires-python -r deploy/tools/k8s.txt
	touch $@

# openapi-python-client for tests/e2e/test_generated_client.py (its own pins, as the deploy tools').
.tools/openapi/.installed: tests/tools/openapi-client.txt
	test -x .tools/openapi/bin/python || python3 -m venv .tools/openapi
	.tools/openapi/bin/pip install --quiet -r tests/tools/openapi-client.txt
	touch $@

venv: .venv/.installed $(DEPLOY_TOOLS)

env: venv
	$(PY) tools/stack.py env

run: venv
	$(PY) tools/stack.py run

test: venv
	$(PY) -m pytest

test-unit: venv
	$(PY) -m pytest -m "not e2e"

fuzz: venv
	FUZZ_LONG=1 FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-100} $(PY) -m pytest tests/fuzz --timeout 3600

test-faults: venv
	$(PY) -m pytest -m faults tests/faults

test-e2e: venv
	$(PY) -m pytest tests/e2e

protos: venv
	$(PY) protos/generate.py
	cd protos && ../.tools/node_modules/.bin/buf lint

lint: venv
	cd protos && ../.tools/node_modules/.bin/buf lint

clean:
	rm -rf var .env

# The web UI (web/): built into the gateway package (git-ignored) whenever its sources change.
WEB_DIST := gateway/src/crm_gateway/web_dist/index.html
$(WEB_DIST): web/package.json web/package-lock.json web/index.html web/vite.config.ts web/tsconfig.json $(wildcard web/src/*.* web/src/*/*.*)
	cd web && npm ci --no-audit --no-fund --loglevel=error && npm run build
venv: $(WEB_DIST)

# The browser tests (tests/browser) drive Debian's headless Chromium through chromedriver.
browser:
	command -v chromedriver >/dev/null && command -v chromium >/dev/null || \
		(apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver)
test test-e2e: browser
.PHONY: browser

# Performance harness (issue 10, bench/run.py -> docs/benchmarks.md); never part of `make test`.
# `make bench QUICK=1` is a short smoke run; BENCH_ARGS passes more options (e.g. --deals 200000 --keep).
bench: venv
	command -v wrk >/dev/null || (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk)
	test -x .venv/bin/py-spy || $(PIP) install --quiet py-spy
	$(PY) bench/run.py $(if $(QUICK),--quick) $(BENCH_ARGS)
.PHONY: bench
