from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from pm.auth import TokenVerifier
from pm.cli import main
from pm.config import load_settings

from .conftest import TEST_SECRET


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PM_JWT_SECRET", TEST_SECRET)
    return tmp_path


def test_tenants_create_list_and_migrate(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tenants", "create", "acme"]) == 0
    assert main(["tenants", "create", "beta"]) == 0
    assert main(["tenants", "create", "acme"]) == 1
    capsys.readouterr()
    assert main(["tenants", "list"]) == 0
    assert capsys.readouterr().out.split() == ["acme", "beta"]
    assert main(["tenants", "migrate"]) == 0


def test_new_tenant_is_seeded_with_llm_context(data_dir: Path) -> None:
    assert main(["tenants", "create", "acme"]) == 0
    with sqlite3.connect(data_dir / "tenants" / "acme" / "main.db") as conn:
        (count,) = conn.execute("SELECT count(*) FROM llm_context").fetchone()
    assert count >= 10


def test_create_refuses_a_hostile_id(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tenants", "create", "../evil"]) == 2
    assert "tenant_id" in capsys.readouterr().err
    assert not (data_dir / "evil").exists()


def test_migrate_continues_past_a_broken_file(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tenants", "create", "good"]) == 0
    broken = data_dir / "tenants" / "broken"
    broken.mkdir(parents=True)
    (broken / "main.db").write_bytes(b"this is not a database" * 100)
    assert main(["tenants", "migrate"]) == 1
    err = capsys.readouterr().err
    assert "broken" in err
    assert "good" not in err


def test_token_command_mints_a_verifiable_token(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["token", "--tenant", "acme", "--user", "bob", "--roles", "admin"]) == 0
    token = capsys.readouterr().out.strip()
    principal = TokenVerifier(load_settings()).verify(token)
    assert (principal.tenant_id, principal.user_id, principal.roles) == (
        "acme",
        "bob",
        frozenset({"admin"}),
    )
