"""docs/ is kept true by this file: every message and field a page names is pm.proto's, every
request and event of the Envelope is documented, the error codes are pm/errors.py's with their
HTTP statuses, settings, commands, metrics and alerts exist, links resolve, and the sample client
runs against a real server."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import yaml
from google.protobuf.descriptor import Descriptor

from pm import errors
from pm.cli import _parser
from pm.config import Settings
from pm.doorkit.statuses import HTTP_STATUS
from pm.ws import pm_pb2
from tests.conftest import LiveServer, TokenFactory

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))
MESSAGES: dict[str, Descriptor] = dict(pm_pb2.DESCRIPTOR.message_types_by_name)
# `Name{a, b?, c}`: a message and the fields a page says it has (`?`: may be left out)
NAMED_MESSAGE = re.compile(r"`([A-Z][A-Za-z]+)\{([^}`]*)\}")
# a backticked CamelCase word: a message of pm.proto, unless it names a file or a code
CAMEL_WORD = re.compile(r"`([A-Z][a-z]+(?:[A-Z][a-z]+)+)`")


def _text(name: str) -> str:
    return (DOCS / name).read_text()


def _all_docs() -> str:
    return "\n".join(page.read_text() for page in PAGES)


def _error_codes() -> dict[str, type[errors.PmError]]:
    found: dict[str, type[errors.PmError]] = {}
    pending: list[type[errors.PmError]] = [errors.PmError]
    while pending:
        cls = pending.pop()
        found[cls.code] = cls
        pending.extend(cls.__subclasses__())
    return found


def _payloads() -> list[Descriptor]:
    """The message of each field of the Envelope's ``oneof payload``, in order."""
    fields = pm_pb2.Envelope.DESCRIPTOR.oneofs_by_name["payload"].fields
    return [MESSAGES[field.message_type.name] for field in fields if field.message_type]


def _table_rows(page: str, header: str) -> list[list[str]]:
    """The rows of the Markdown table whose header line starts with ``header``."""
    lines = _text(page).splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def test_every_message_a_page_names_is_in_the_proto_with_those_fields() -> None:
    named = [(page.name, m) for page in PAGES for m in NAMED_MESSAGE.finditer(page.read_text())]
    assert len(named) > 60  # the request table, the entities, Error, Envelope...
    wrong = []
    for page, match in named:
        message, fields = match.group(1), match.group(2)
        if message not in MESSAGES:
            wrong.append(f"{page}: {message} is no message of pm.proto")
            continue
        for field in (f.split(":")[0].strip().rstrip("?") for f in fields.split(",")):
            # `Error{RESYNC_REQUIRED}` names a code; `GetChanges{since_seq: 5}` gives a value
            if field and not field.isupper() and field not in MESSAGES[message].fields_by_name:
                wrong.append(f"{page}: {message} has no field {field}")
    assert not wrong


def test_every_camel_case_name_in_the_docs_is_a_message() -> None:
    words = {m.group(1) for m in CAMEL_WORD.finditer(_all_docs())}
    words = {word for word in words if not word.startswith("Pm")}  # alert names, held below
    assert "WorkItemCreated" in words
    assert not words - MESSAGES.keys()


def test_every_payload_of_the_envelope_is_documented_with_all_its_fields() -> None:
    protocol = _text("protocol.md")
    documented: dict[str, set[str]] = {}
    for match in NAMED_MESSAGE.finditer(protocol):  # Error and GetChanges show up more than once
        fields = {f.split(":")[0].strip().rstrip("?") for f in match.group(2).split(",")}
        documented.setdefault(match.group(1), set()).update(fields)
    undocumented = []
    for message in _payloads():
        if message.name not in documented:
            undocumented.append(message.name)
            continue
        missing = {f.name for f in message.fields} - documented[message.name]
        if missing:
            undocumented.append(f"{message.name}: {sorted(missing)}")
    assert not undocumented


def test_the_payload_field_is_the_snake_case_of_the_message() -> None:
    protocol = _text("protocol.md")
    assert "`CreateWorkItem` travels as\n  `create_work_item`" in protocol
    fields = pm_pb2.Envelope.DESCRIPTOR.oneofs_by_name["payload"].fields
    for field, message in zip(fields, _payloads(), strict=True):
        assert field.name == re.sub(r"(?<!^)(?=[A-Z])", "_", message.name).lower()


def test_the_error_codes_are_those_of_pm_errors_with_their_http_status() -> None:
    rows = _table_rows("errors.md", "| code | HTTP |")
    documented = {row[0].strip("`"): int(row[1]) for row in rows}
    assert documented == {code: HTTP_STATUS[code] for code in _error_codes()}


def test_every_error_code_the_docs_name_exists() -> None:
    named = set(re.findall(r"`([A-Z]+(?:_[A-Z]+)+)`", _all_docs()))
    named |= set(re.findall(r"Error\{(?:code: )?([A-Z_]+)", _all_docs()))
    settings = {word for word in named if word.startswith("PM_")}
    assert not (named - settings) - _error_codes().keys()


def test_every_setting_the_docs_name_is_in_pm_config() -> None:
    named = set(re.findall(r"\bPM_([A-Z0-9_]+)", _all_docs()))
    assert "WS_MAX_FRAME_BYTES" in named
    assert not {name.lower() for name in named} - Settings.model_fields.keys()


def test_the_connection_rules_state_the_defaults_of_pm_config() -> None:
    for row in _table_rows("protocol.md", "| rule | setting |"):
        name = row[1].strip("`").removeprefix("PM_").lower()
        default = Settings.model_fields[name].default
        shown = f"{default:g}" if isinstance(default, float) else str(default)
        assert row[2] == shown, name


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_command_the_docs_name_exists() -> None:
    commands = _subcommands(_parser())
    tenants = _subcommands(commands["tenants"])
    named = set(re.findall(r"`pm tenants ([a-z-]+)", _all_docs()))
    assert {"restore", "export", "import", "check", "evict"} <= named
    assert not named - tenants.keys()
    for name in set(re.findall(r"`pm ([a-z-]+)", _all_docs())):
        assert name in commands


def test_every_metric_and_alert_the_docs_name_exists() -> None:
    source = "\n".join(path.read_text() for path in (ROOT / "pm").rglob("*.py"))
    metrics = set(re.findall(r"`(pm_[a-z_]+)", _all_docs()))
    assert "pm_tenant_open_failures_total" in metrics
    assert not {m for m in metrics if f'"{m}"' not in source}
    rules = yaml.safe_load((ROOT / "deploy/prometheus/alerts.yml").read_text())
    alerts = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    named = set(re.findall(r"`(Pm[A-Z][A-Za-z]+)`", _all_docs()))
    assert "PmBackupStale" in named
    assert not named - alerts


def test_every_link_and_path_in_the_docs_exists() -> None:
    for page in [*PAGES, ROOT / "README.md"]:
        for target in re.findall(r"\]\(([^)#:]+)\)", page.read_text()):
            assert (page.parent / target).exists(), f"{page.name}: {target}"
    for path in re.findall(r"`((?:pm|deploy|docs|tests)/[\w./-]+)`", _all_docs()):
        assert (ROOT / path).exists(), path


def test_the_readme_points_to_docs_not_outside_the_repository() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "../shared" not in readme and "](docs/" in readme
    for page in PAGES:
        assert "../shared" not in page.read_text() and "PROTOCOL.md" not in page.read_text()


def test_the_sample_client_works_against_a_real_server(
    live_server: LiveServer, make_token: TokenFactory
) -> None:
    client = DOCS / "examples" / "client.py"
    assert len(client.read_text().splitlines()) <= 45  # the README promises a short read
    token = make_token("alice", "acme")
    env = {**os.environ, "PM_TOKEN": token}
    run = subprocess.run(
        [sys.executable, str(client), live_server.ws],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith("created Write the docs at seq ")
    assert lines[1] == "items: ['Demo', 'Write the docs']"  # the project is an item too
    # what it printed is what the server stored, read back by another door
    request = urllib.request.Request(
        f"{live_server.http}/api/v1/projects", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        projects = json.load(answer)
    assert [project["title"] for project in projects["projects"]] == ["Demo"]


def test_the_sample_client_fails_loudly_when_refused(live_server: LiveServer) -> None:
    """A bad token is refused at the handshake: the client exits non-zero naming the 401."""
    run = subprocess.run(
        [sys.executable, str(DOCS / "examples" / "client.py"), live_server.ws],
        env={**os.environ, "PM_TOKEN": "x"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode != 0 and "HTTP 401" in run.stderr
