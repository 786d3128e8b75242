"""The command line as operators and scripts call it (see operations.md)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from orderdesk.cli import cli
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
    assert "dry run" in dry.output
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
        ("ORDERDESK_NO_SUCH_SETTING", "1"),
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


@pytest.mark.processes
@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_serve_demo_answers_every_printed_curl_line(tmp_path: Path) -> None:
    """``serve --demo`` prints ready-to-paste lines; each one must get a successful answer."""
    Image.new("RGB", (64, 48), "white").save(tmp_path / "receipt.jpg")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERDESK_")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "orderdesk",
            "serve",
            "--demo",
            "--port",
            str(port),
            "--database-url",
            _sqlite(tmp_path),
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        printed: list[str] = []
        for line in proc.stdout:
            printed.append(line)
            if "Application startup complete" in line:
                break
        commands = [line.strip() for line in printed if re.match(r"  (curl|echo|[A-Z]+=)", line)]
        assert len(commands) >= 30, "".join(printed)
        script = "set -e\n" + "\n".join(f"{c}\necho" for c in commands)
        out = subprocess.run(
            ["bash", "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=120
        )
        assert out.returncode == 0, out.stdout + out.stderr
        answers = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
        printing = [c for c in commands if not re.match(r"[A-Z]+=", c)]
        assert len(answers) == len(printing), out.stdout + out.stderr
        for command, answer in zip(printing, answers, strict=True):
            assert (
                answer.get("status") == "ok"
                or answer.get("success") is True
                or "access_token" in answer
            ), (command, answer)
        partner_cancel = answers[next(i for i, c in enumerate(printing) if "/cancel" in c)]
        assert partner_cancel["data"]["_status"] == "cancelled"
        assert answers[-1]["order"]["confirmation"]["closed"] is True
    finally:
        proc.terminate()
        proc.wait(timeout=30)
