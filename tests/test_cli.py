"""The command line as operators and scripts call it (see operations.md)."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from subprocess import CompletedProcess

import pytest
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from orderdesk.cli import cli
from tests.conftest import PG_ADMIN_URL, _pg_reachable
from tests.servers import free_port

runner = CliRunner()


def _sqlite(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def _document() -> dict[str, object]:
    return {
        "version": 1,
        "partners": [
            {
                "name": "clitest",
                "title": "CLI Test",
                "users": [{"login": "api@clitest.example", "password": "long enough pw"}],
                "stores": [
                    {
                        "id": "clitest-1",
                        "title": "One",
                        "timezone": "Europe/Riga",
                        "masters": {"0712": 1, "1217": 1, "1721": 1},
                    }
                ],
            }
        ],
        "items": [
            {
                "id": 501,
                "title": "Shelf",
                "category": "shelving",
                "delivery": True,
                "assembly": False,
                "delivery_price": 900,
                "currency": "EUR",
            }
        ],
    }


def test_migrate_builds_a_fresh_database(tmp_path: Path) -> None:
    result = runner.invoke(cli, ["migrate", "--database-url", _sqlite(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "cli.db").stat().st_size > 0


def test_apply_twice_creates_then_leaves_everything_alone(tmp_path: Path) -> None:
    setup = tmp_path / "setup.json"
    setup.write_text(json.dumps(_document()))
    first = runner.invoke(cli, ["apply", str(setup), "--database-url", _sqlite(tmp_path)])
    assert first.exit_code == 0, first.output
    assert first.output.startswith("Created: 1 partner, 1 user, 1 store, 1 category, 1 item")
    assert "Left alone (unchanged): nothing" in first.output
    second = runner.invoke(cli, ["apply", str(setup), "--database-url", _sqlite(tmp_path)])
    assert second.exit_code == 0, second.output
    assert second.output.startswith("Created: nothing\nUpdated: nothing\n"), second.output
    assert "Left alone (unchanged): 1 partner, 1 user, 1 store" in second.output


def test_apply_invalid_document_exits_2_lists_every_error_and_changes_nothing(
    tmp_path: Path,
) -> None:
    doc = _document()
    doc["partners"][0]["stores"][0]["timezone"] = "Mars/Olympus"  # type: ignore[index]
    doc["items"][0]["delivery_price"] = -1  # type: ignore[index]
    doc["surprise"] = True
    setup = tmp_path / "bad.json"
    setup.write_text(json.dumps(doc))
    result = runner.invoke(cli, ["apply", str(setup), "--database-url", _sqlite(tmp_path)])
    assert result.exit_code == 2
    assert "$.partners[0].stores[0].timezone" in result.output
    assert "$.items[0].delivery_price" in result.output
    assert "$.surprise" in result.output
    dry = runner.invoke(
        cli, ["apply", str(setup.with_name("missing.json")), "--database-url", _sqlite(tmp_path)]
    )
    assert dry.exit_code == 2


def test_apply_dry_run_reports_but_changes_nothing(tmp_path: Path) -> None:
    setup = tmp_path / "setup.json"
    setup.write_text(json.dumps(_document()))
    dry = runner.invoke(
        cli, ["apply", str(setup), "--dry-run", "--database-url", _sqlite(tmp_path)]
    )
    assert dry.exit_code == 0, dry.output
    assert dry.output.lower().count("dry run") == 1, dry.output
    real = runner.invoke(cli, ["apply", str(setup), "--database-url", _sqlite(tmp_path)])
    assert real.output.startswith("Created: 1 partner"), real.output


def test_invalid_json_file_exits_2(tmp_path: Path) -> None:
    setup = tmp_path / "broken.json"
    setup.write_text("{not json")
    result = runner.invoke(cli, ["apply", str(setup), "--database-url", _sqlite(tmp_path)])
    assert result.exit_code == 2
    assert "not valid JSON" in result.output


def test_demo_setup_prints_a_document_that_apply_accepts(tmp_path: Path) -> None:
    printed = runner.invoke(cli, ["demo-setup"])
    assert printed.exit_code == 0
    setup = tmp_path / "demo.json"
    setup.write_text(printed.output)
    result = runner.invoke(cli, ["apply", str(setup), "--database-url", _sqlite(tmp_path)])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ORDERDESK_TOKEN_TTL_DAYS", "soon"),
        ("ORDERDESK_DATABASE_URL", "mysql://nope"),
        ("ORDERDESK_WORKER_PROCESSES", "0"),
    ],
)
def test_bad_setting_stops_the_start_with_one_line_naming_it(
    tmp_path: Path, name: str, value: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERDESK_")}
    env[name] = value
    proc = subprocess.run(
        [sys.executable, "-m", "orderdesk", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert name in lines[0]


def _orderdesk(*args: str, cwd: Path) -> CompletedProcess[str]:
    """``orderdesk ARGS`` as a separate process, in an environment without ORDERDESK_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERDESK_")}
    return subprocess.run(
        [sys.executable, "-m", "orderdesk", *args],
        env=env,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
    )


def _one_line(proc: CompletedProcess[str], code: int) -> str:
    """The single stderr line of a command that stopped with ``code``: no traceback."""
    assert proc.returncode == code, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_version_prints_the_package_version(tmp_path: Path) -> None:
    proc = _orderdesk("--version", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"orderdesk {version('orderdesk')}\n"


def test_bad_database_url_option_is_named_as_the_option(tmp_path: Path) -> None:
    proc = _orderdesk("migrate", "--database-url", "mysql://somewhere/db", cwd=tmp_path)
    line = _one_line(proc, 2)
    assert line.startswith("orderdesk: --database-url: "), line
    assert "ORDERDESK_DATABASE_URL" not in line


COMMANDS = [["migrate"], ["apply", "setup.json"], ["serve", "--port", "0"], ["worker"]]
COMMANDS.append(["webhooks", "list"])


@pytest.mark.parametrize("command", COMMANDS, ids=lambda command: "-".join(command[:2]))
def test_closed_port_is_one_line_naming_the_server(tmp_path: Path, command: list[str]) -> None:
    (tmp_path / "setup.json").write_text(json.dumps(_document()))
    port = free_port()  # nothing listens there once the probe socket is closed
    url = f"postgresql://orderdesk:secret-pw@127.0.0.1:{port}/orders"
    line = _one_line(_orderdesk(*command, "--database-url", url, cwd=tmp_path), 1)
    assert line == (
        f"orderdesk: cannot connect to PostgreSQL at 127.0.0.1:{port}/orders: connection refused"
    )


def _local_server() -> tuple[str, str]:
    """``(host:port, user@host:port)`` of the test PostgreSQL server; skips without one."""
    reason = asyncio.run(_pg_reachable())
    if reason:
        pytest.skip(reason)
    parsed = make_url(PG_ADMIN_URL)
    where = f"{parsed.host or 'localhost'}:{parsed.port or 5432}"
    return where, f"{parsed.username}@{where}"


@pytest.mark.postgres
def test_missing_database_is_one_line_naming_it(tmp_path: Path) -> None:
    where, login = _local_server()
    name = f"orderdesk_absent_{secrets.token_hex(4)}"
    proc = _orderdesk("migrate", "--database-url", f"postgresql://{login}/{name}", cwd=tmp_path)
    assert _one_line(proc, 1) == (
        f"orderdesk: cannot connect to PostgreSQL at {where}/{name}: "
        f'database "{name}" does not exist'
    )


@pytest.mark.postgres
def test_unknown_role_is_one_line_naming_it(tmp_path: Path) -> None:
    where, _ = _local_server()
    role = f"nobody_{secrets.token_hex(4)}"
    (tmp_path / "setup.json").write_text(json.dumps(_document()))
    url = f"postgresql://{role}:secret-pw@{where}/postgres"
    proc = _orderdesk("apply", "setup.json", "--database-url", url, cwd=tmp_path)
    assert _one_line(proc, 1) == (
        f'orderdesk: cannot connect to PostgreSQL at {where}/postgres: role "{role}" does not exist'
    )


def test_sqlite_in_a_missing_directory_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "no" / "such" / "orderdesk.db"
    proc = _orderdesk("migrate", "--database-url", f"sqlite:///{path}", cwd=tmp_path)
    assert _one_line(proc, 1) == (
        f"orderdesk: cannot open SQLite database {path}: directory {path.parent} does not exist"
    )


def test_sqlite_under_a_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "plain-file").write_text("")
    path = tmp_path / "plain-file" / "orderdesk.db"
    proc = _orderdesk("serve", "--port", "0", "--database-url", f"sqlite:///{path}", cwd=tmp_path)
    assert _one_line(proc, 1) == (
        f"orderdesk: cannot open SQLite database {path}: {path.parent} is not a directory"
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into any directory")
def test_sqlite_in_a_read_only_directory_is_one_line(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        path = locked / "orderdesk.db"
        proc = _orderdesk("migrate", "--database-url", f"sqlite:///{path}", cwd=tmp_path)
        line = _one_line(proc, 1)
        assert line.startswith(f"orderdesk: cannot open SQLite database {path}: "), line
        assert "not writable" in line
    finally:
        locked.chmod(0o700)


def test_apply_json_reports_each_entity_by_kind_and_id(tmp_path: Path) -> None:
    setup = tmp_path / "setup.json"
    setup.write_text(json.dumps(_document()))
    args = ["apply", str(setup), "--json", "--database-url", _sqlite(tmp_path)]
    dry = runner.invoke(cli, [*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    planned = json.loads(dry.output)
    assert planned["dry_run"] is True and planned["changed"] is False
    assert {"kind": "item", "id": "501"} in planned["created"]
    first = json.loads(runner.invoke(cli, args).output)
    assert first["created"] == planned["created"] and first["changed"] is True
    again = json.loads(runner.invoke(cli, args).output)
    assert again == {
        "dry_run": False,
        "changed": False,
        "created": [],
        "updated": [],
        "unchanged": first["created"],
    }


def test_apply_json_lists_the_errors_and_exits_2(tmp_path: Path) -> None:
    doc = _document()
    doc["items"][0]["delivery_price"] = -1  # type: ignore[index]
    setup = tmp_path / "bad.json"
    setup.write_text(json.dumps(doc))
    args = ["apply", str(setup), "--json", "--database-url", _sqlite(tmp_path)]
    result = runner.invoke(cli, args)
    assert result.exit_code == 2
    report = json.loads(result.stdout)
    assert report["changed"] is False
    assert [error["path"] for error in report["errors"]] == ["$.items[0].delivery_price"]


def test_webhooks_list_json_is_one_array(tmp_path: Path) -> None:
    args = ["webhooks", "list", "--json", "--database-url", _sqlite(tmp_path)]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == []
