# syntax=docker/dockerfile:1
# One image for every CRM process; the command picks the process type (docs/deployment.md):
#   python -m crm_<service> <role>          a service process (api, relay, consumer, ...)
#   gunicorn -c gateway/gunicorn.conf.py    the HTTP gateway
#   python -m click_simulator               the CLICK simulator (development only)
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- web: the UI (web/, Preact + Vite) built into the gateway package's web_dist/ -------------
FROM node:22-slim AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY web/ ./
RUN npm run build

# ---- build: compilers only here, in case a dependency has no wheel for the platform ----------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /app
# Third-party packages first (a cached layer): only what the running code imports
# (deploy/image-requirements.txt), at the versions requirements.txt pins; pip check proves nothing is missing.
COPY requirements.txt deploy/image-requirements.txt /tmp/
RUN pip install -r /tmp/image-requirements.txt -c /tmp/requirements.txt && pip check
# Our packages, installed in place (the services find their migrations next to their source).
COPY . /app
COPY --from=web /src/gateway/src/crm_gateway/web_dist /app/gateway/src/crm_gateway/web_dist
RUN rm -rf /app/web && set -e; for pkg in protos/gen/python services/* simulators/* gateway; do \
      if [ -f "$pkg/pyproject.toml" ]; then pip install --no-deps -e "$pkg"; fi; \
    done \
 && python -m compileall -q /app /opt/venv \
 && python -c "import crm_platform, crm_gateway, crm"

# ---- runtime: the interpreter, the virtualenv and the source; no compilers, no node, no root --
FROM ${PYTHON_IMAGE} AS runtime
# glibc memory: every argon2 hash (identity) allocates 19 MiB; glibc's adaptive mmap threshold
# then serves such blocks from the heap and keeps them: identity idled at 122-140 MB after a few
# logins instead of ~100 MB. A fixed threshold (128 KiB) maps them and gives them back on free;
# MALLOC_ARENA_MAX keeps idle threads from holding arenas of their own.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    MALLOC_ARENA_MAX=2 \
    MALLOC_MMAP_THRESHOLD_=131072
RUN groupadd --system --gid 10001 crm \
 && useradd --system --uid 10001 --gid crm --home-dir /app --shell /usr/sbin/nologin crm \
 && install -d -o crm -g crm -m 0700 /var/lib/crm/keys
COPY --from=build /opt/venv /opt/venv
COPY --from=build --chown=root:root /app /app
WORKDIR /app
USER 10001:10001
EXPOSE 8080 50051 8081
CMD ["python", "-c", "print('choose a process: python -m crm_<service> <role> | gunicorn -c gateway/gunicorn.conf.py')"]
