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

test: promtool lint typecheck contracts unit

lint: $(STAMP)
	$(BIN)/ruff check pm tests bench
	$(BIN)/ruff format --check pm tests bench

typecheck: $(STAMP)
	$(BIN)/mypy pm tests bench

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
