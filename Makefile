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

test: lint typecheck contracts unit

lint: $(STAMP)
	$(BIN)/ruff check pm tests bench migrations
	$(BIN)/ruff format --check pm tests bench migrations

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
