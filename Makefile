# Every target bootstraps .venv from pyproject.toml, so a fresh machine needs only Python 3.11 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint typecheck contracts unit bench proto clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/pm demo

test: promtool redis-server nginx lint typecheck contracts unit

lint: $(STAMP)
	$(BIN)/ruff check pm tests bench
	$(BIN)/ruff format --check pm tests bench

typecheck: $(STAMP)
	$(BIN)/mypy pm

contracts: $(STAMP)
	$(BIN)/lint-imports

unit: $(STAMP)
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python -m bench

proto: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m grpc_tools.protoc -Ipm/ws --python_out=pm/ws --mypy_out=pm/ws pm/ws/pm.proto

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache

# promtool checks deploy/prometheus in tests/test_deploy.py. It comes with Debian's prometheus
# package (installed without recommends: just promtool, the server and a few JS files, ~10 s),
# and only when absent. A failed install (not root, no apt) is not an error: the test skips and
# says why.
.PHONY: promtool
promtool:
	@command -v promtool >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null) || echo "make: promtool not installed; tests/test_deploy.py will skip its promtool checks"

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
