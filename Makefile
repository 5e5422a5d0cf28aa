# Every target bootstraps .venv from pyproject.toml, so a fresh machine needs only Python 3.11 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint typecheck contracts unit bench proto clean web web-test

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

# `make run PORT=9000` (or PM_PORT, PM_HOST, PM_DATA_DIR in the environment) moves the demo; its
# data folder is the one every `pm tenants ...` reads by default (./data).
run: $(STAMP) web
	$(if $(PORT),PM_PORT=$(PORT) )$(BIN)/pm demo

# `make deploy/.env`: the secrets deploy/compose.yaml needs, fresh and 0600 (an existing file is
# kept: replacing PM_JWT_SECRET would void every token issued with it).
deploy/.env:
	umask 077 && $(PYTHON) -c 'import secrets; print(f"PM_JWT_SECRET={secrets.token_urlsafe(48)}\nGRAFANA_ADMIN_PASSWORD={secrets.token_urlsafe(18)}")' > $@.tmp
	mv $@.tmp $@

test: promtool chromium redis-server nginx lint typecheck contracts web-test unit

lint: $(STAMP)
	$(BIN)/ruff check pm tests bench docs
	$(BIN)/ruff format --check pm tests bench docs

typecheck: $(STAMP)
	$(BIN)/mypy pm tests bench docs

contracts: $(STAMP)
	$(BIN)/lint-imports

unit: $(STAMP) web
	$(BIN)/pytest

bench: $(STAMP) web chromium
	$(BIN)/python -m bench

proto: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m grpc_tools.protoc -Ipm/ws --python_out=pm/ws --mypy_out=pm/ws pm/ws/pm.proto

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache web/node_modules web/src/gen pm/board/static

# The board (web/): `npm ci` from the committed lockfile, then the protobuf types generated from
# pm/ws/pm.proto and the Vite build into pm/board/static (package data, not committed). Rebuilt
# when a source, the lockfile or the .proto changes.
WEB_DEPS := web/node_modules/.installed-stamp
WEB_BUILT := pm/board/static/index.html
WEB_SOURCES := $(shell find web/src web/index.html web/vite.config.ts web/tsconfig.json web/buf.gen.yaml web/api-docs web/scripts -type f -not -path 'web/src/gen/*' 2>/dev/null)

$(WEB_DEPS): web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	touch $(WEB_DEPS)

$(WEB_BUILT): $(WEB_DEPS) $(WEB_SOURCES) pm/ws/pm.proto
	cd web && npm run --silent build

web: $(WEB_BUILT)

web-test: $(WEB_DEPS)
	cd web && npm test --silent

# promtool checks deploy/prometheus in tests/test_deploy.py. It comes with Debian's prometheus
# package (installed without recommends: just promtool, the server and a few JS files, ~10 s),
# and only when absent. A failed install (not root, no apt) is not an error: the test skips and
# says why.
.PHONY: promtool
promtool:
	@command -v promtool >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null) || echo "make: promtool not installed; tests/test_deploy.py will skip its promtool checks"

# Browser tests (tests/board) drive Debian's Chromium with Playwright; installed when absent, like
# promtool. Without it (not root, no apt) the browser tests skip and say why.
.PHONY: chromium
chromium:
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null) || echo "make: chromium not installed; tests/board will skip its browser tests"

# redis-server and nginx are run by the scale-out tests (tests/scale, tests/daemons.py): the Redis
# bus between workers and nodes, and the proxy that routes each tenant to its node. Debian's
# packages, installed without recommends and only when absent (services are not started: the
# tests start their own on free ports). A failed install is not an error: those tests skip and
# say why.
APT_INSTALL := DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends
.PHONY: redis-server nginx
redis-server:
	@command -v redis-server >/dev/null || (apt-get update -qq && $(APT_INSTALL) redis-server >/dev/null) || echo "make: redis-server not installed; the Redis tests in tests/scale will skip"
nginx:
	@command -v nginx >/dev/null || test -x /usr/sbin/nginx || (apt-get update -qq && $(APT_INSTALL) nginx >/dev/null) || echo "make: nginx not installed; the proxy tests in tests/scale will skip"
