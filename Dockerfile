# syntax=docker/dockerfile:1
# pm: one process serving many tenants, each a SQLite file under /data.
#   docker build -t pm .
#   docker run -e PM_JWT_SECRET=... -v pm-data:/data -p 8000:8000 pm
#   docker run --rm -v pm-data:/data pm tenants migrate     (any other `pm` command)
# deploy/compose.yaml runs it beside Prometheus and Grafana.

# Both Python stages use the same image so the venv's interpreter symlinks resolve in the final
# stage. The board (web/) is built in a Node stage; only its output reaches the Python build.
ARG PYTHON_IMAGE=python:3.11-slim
ARG NODE_IMAGE=node:20-slim

# ---------------------------------------------------------------- web: the board's static files
FROM ${NODE_IMAGE} AS web
# npm 11, as `make web` runs it (the lockfile is installed exactly with `npm ci`).
RUN npm install -g npm@11 --no-audit --no-fund --loglevel=error
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY web ./
# The protobuf types are generated from pm's one schema, so the page and the server agree.
COPY pm/ws/pm.proto /src/pm/ws/pm.proto
RUN npm run build

# ---------------------------------------------------------------- build: a venv, nothing else
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
WORKDIR /src
COPY pyproject.toml README.md ./
COPY pm ./pm
COPY --from=web /src/pm/board/static ./pm/board/static
# A regular (non-editable) install: pip builds the wheel (Alembic's scripts ship inside it, in
# pm/migrations) and installs it with its dependencies.
RUN /opt/venv/bin/pip install .
# Fail the build, not the first request: create and migrate a throw-away tenant with the
# installed package, from a folder with no source tree in it.
RUN cd / \
 && PM_DATA_DIR=/tmp/smoke /opt/venv/bin/pm tenants create smoke \
 && rm -rf /tmp/smoke

# ---------------------------------------------------------------- runtime: the venv and a user
FROM ${PYTHON_IMAGE}
# A fixed numeric id so orchestrators can check runAsNonRoot and volumes can be chowned ahead.
RUN groupadd --system --gid 10001 pm \
 && useradd --system --uid 10001 --gid pm --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin pm \
 && mkdir /data \
 && chown pm:pm /data
COPY --from=build /opt/venv /opt/venv
# PM_HOST: inside a container the port is reached through the container's interface, not loopback.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PM_DATA_DIR=/data \
    PM_HOST=0.0.0.0 \
    PM_PORT=8000
# Declared after the chown so a new named volume starts out owned by pm.
VOLUME /data
EXPOSE 8000
USER 10001:10001
# /ready opens a tenant database and writes, and answers 503 while draining, so "healthy" means
# "can take traffic". The slim image has no curl; urlopen raises on a refused connection, a
# timeout or any non-2xx answer, which exits 1 (unhealthy). -P: nothing from the working folder
# is importable.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-P", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/ready' % os.environ.get('PM_PORT', '8000'), timeout=4)"]
# `pm serve` by default; the entrypoint is `pm` so the same image also runs `pm tenants ...`.
# Exec form: pm is PID 1 and gets SIGTERM itself, so uvicorn drains before the container stops.
ENTRYPOINT ["pm"]
CMD ["serve"]
