from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pm.cli import main
from pm.config import ConfigError, Settings, load_settings

from .conftest import TEST_SECRET


def test_defaults_follow_the_contract() -> None:
    settings = load_settings()
    assert (settings.host, settings.port, settings.max_open_tenants) == ("127.0.0.1", 8000, 1000)
    assert settings.ws_rate_limit == "100/10seconds"
    assert settings.rest_rate_limit == "600/minute"


def test_environment_overrides_toml_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "pm.toml"
    config.write_text('port = 9001\nhost = "0.0.0.0"\nallowed_origins = ["https://a.example"]\n')
    monkeypatch.setenv("PM_PORT", "9002")
    settings = load_settings(config)
    assert settings.port == 9002
    assert settings.host == "0.0.0.0"
    assert settings.allowed_origins == ["https://a.example"]


def test_comma_separated_lists_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PM_ALLOWED_ORIGINS", "https://a.example, https://b.example")
    assert load_settings().allowed_origins == ["https://a.example", "https://b.example"]


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"jwt_secret": "short"}, "PM_JWT_SECRET"),
        ({"port": 70000}, "PM_PORT"),
        ({"port": 0}, "PM_PORT"),
        ({"ws_rate_limit": "lots"}, "PM_WS_RATE_LIMIT"),
        ({"log_level": "loud"}, "PM_LOG_LEVEL"),
    ],
)
def test_invalid_values_name_the_setting(overrides: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(**overrides)
    assert named in str(caught.value)


def test_missing_config_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="PM_CONFIG_FILE"):
        load_settings(tmp_path / "absent.toml")


def test_serve_refuses_without_a_signing_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PM_DATA_DIR", str(tmp_path))
    assert main(["serve"]) == 2
    assert "PM_JWT_SECRET" in capsys.readouterr().err


def test_serve_refuses_a_short_secret(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PM_JWT_SECRET", "x" * 31)
    assert main(["serve"]) == 2
    assert "PM_JWT_SECRET" in capsys.readouterr().err


def test_serve_refuses_an_unwritable_data_dir(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("PM_JWT_SECRET", TEST_SECRET)
    monkeypatch.setenv("PM_DATA_DIR", str(blocker))
    assert main(["serve"]) == 2
    assert "PM_DATA_DIR" in capsys.readouterr().err


def test_serve_refuses_a_bad_port_from_the_command_line(tmp_path: Path) -> None:
    env = {**os.environ, "PM_JWT_SECRET": TEST_SECRET, "PM_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "pm.cli", "serve", "--port", "99999"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 2
    assert "PM_PORT" in result.stderr


def test_serve_refuses_both_a_secret_and_a_public_key_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An operator moving to public keys who left the secret set would keep HS256 tokens
    valid: with both, the server does not start."""
    key_file = tmp_path / "key.pem"
    key_file.write_text("not read: the start stops before")
    monkeypatch.setenv("PM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PM_JWT_SECRET", "x" * 40)
    monkeypatch.setenv("PM_JWT_PUBLIC_KEY_FILE", str(key_file))
    assert main(["serve"]) == 2
    error = capsys.readouterr().err
    assert "PM_JWT_SECRET" in error and "PM_JWT_PUBLIC_KEY_FILE" in error
    assert not (tmp_path / "data").exists()


def test_every_setting_of_the_readme_connection_rules_exists() -> None:
    """The README's table of connection rules names settings; each is one of pm/config.py's."""
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Connection rules and budgets", 1)[1].split("\n## ", 1)[0]
    rows = [line.split(" | ") for line in section.splitlines() if line.startswith("| ")][2:]
    named = {
        token
        for row in rows
        for token in re.findall(r"`([a-z_]+)`", row[1])
        if "_" in token or token in Settings.model_fields
    }
    assert len(named) >= 15
    assert named <= set(Settings.model_fields), named - set(Settings.model_fields)
