"""``orderdesk operator create|list|disable`` as an administrator runs them.

The password travels on standard input (never as an argument, which ``ps`` would show); each
refusal is one line and exit code 1 with nothing created. Whether the password on standard input
is the one stored is checked by signing in with it through the operator service.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from orderdesk.cli import cli
from orderdesk.core.operators.service import sign_in
from orderdesk.db.base import utcnow
from orderdesk.db.engine import create_engine, create_sessionmaker, transaction

runner = CliRunner()
PASSWORD = "correct horse battery"


def _document() -> dict[str, object]:
    """A partner ``opspartner`` to attach staff operators to."""
    return {
        "version": 1,
        "partners": [
            {
                "name": "opspartner",
                "title": "Ops Partner",
                "users": [{"login": "api@opspartner.example", "password": "long enough pw"}],
                "stores": [
                    {
                        "id": "opspartner-1",
                        "title": "One",
                        "timezone": "Europe/Riga",
                        "masters": {"0712": 1, "1217": 1, "1721": 1},
                    }
                ],
            }
        ],
    }


@pytest.fixture
def url(tmp_path: Path) -> str:
    """A SQLite database holding the partner ``opspartner``."""
    database = f"sqlite:///{tmp_path / 'operators.db'}"
    setup = tmp_path / "setup.json"
    setup.write_text(json.dumps(_document()))
    applied = runner.invoke(cli, ["apply", str(setup), "--database-url", database])
    assert applied.exit_code == 0, applied.output
    return database


def _run(url: str, *args: str, stdin: str | None = None) -> Result:
    return runner.invoke(cli, ["operator", *args, "--database-url", url], input=stdin)


def _create(url: str, email: str, *args: str, password: str = PASSWORD) -> Result:
    return _run(url, "create", email, *args, stdin=password + "\n")


def _listed(url: str) -> list[dict[str, object]]:
    result = _run(url, "list", "--json")
    assert result.exit_code == 0, result.output
    rows: list[dict[str, object]] = json.loads(result.stdout)
    return rows


def _signs_in(url: str, email: str, password: str) -> bool:
    async def attempt() -> bool:
        engine = create_engine(url)
        try:
            async with transaction(create_sessionmaker(engine)) as session:
                signed = await sign_in(
                    session,
                    email,
                    password,
                    now=utcnow(),
                    ttl=timedelta(hours=1),
                    max_failures=100,
                    window=timedelta(minutes=15),
                )
                return signed is not None
        finally:
            await engine.dispose()

    return asyncio.run(attempt())


def _one_error_line(result: Result) -> str:
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_create_reads_the_password_from_stdin_and_list_shows_the_operator(url: str) -> None:
    admin = _create(url, "Ada@Example.com", "--role", "admin", "--name", "Ada Lovelace")
    assert admin.exit_code == 0, admin.output
    assert admin.stdout == "operator ada@example.com created (admin)\n"
    staff = _create(url, "sam@example.com", "--role", "staff", "--org", "opspartner")
    assert staff.exit_code == 0, staff.output
    assert staff.stdout == "operator sam@example.com created (staff of opspartner)\n"

    rows = _listed(url)
    assert [(r["email"], r["name"], r["role"], r["organization"]) for r in rows] == [
        ("ada@example.com", "Ada Lovelace", "admin", None),
        ("sam@example.com", "sam", "staff", "opspartner"),
    ]
    assert all(r["disabled_at"] is None for r in rows)
    table = _run(url, "list")
    assert table.exit_code == 0, table.output
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["EMAIL", "NAME", "ROLE", "ORGANIZATION", "STATE"]
    assert lines[1].split() == ["ada@example.com", "Ada", "Lovelace", "admin", "-", "active"]
    assert lines[2].split() == ["sam@example.com", "sam", "staff", "opspartner", "active"]
    assert lines[-1] == "2 operators"

    assert _signs_in(url, "ada@example.com", PASSWORD)
    assert _signs_in(url, "sam@example.com", PASSWORD)
    assert not _signs_in(url, "ada@example.com", PASSWORD + "!")


def test_only_the_first_line_of_stdin_is_the_password(url: str) -> None:
    result = _run(url, "create", "ada@example.com", "--role", "admin", stdin=f"{PASSWORD}\nmore\n")
    assert result.exit_code == 0, result.output
    assert _signs_in(url, "ada@example.com", PASSWORD)
    assert not _signs_in(url, "ada@example.com", f"{PASSWORD}\nmore")


@pytest.mark.parametrize(
    ("args", "password", "expected"),
    [
        (
            ["--role", "boss"],
            PASSWORD,
            "orderdesk: --role: role must be one of admin, dispatcher, staff",
        ),
        (
            ["--role", "staff", "--org", "nobody"],
            PASSWORD,
            "orderdesk: --org: no organization named 'nobody'",
        ),
        (
            ["--role", "staff"],
            PASSWORD,
            "orderdesk: --org: staff operators belong to one organization",
        ),
        (
            ["--role", "admin", "--org", "opspartner"],
            PASSWORD,
            "orderdesk: --org: admin operators see every organization",
        ),
        (
            ["--role", "admin"],
            "too short",
            "orderdesk: password: a password needs at least 10 characters",
        ),
        (
            ["--role", "admin"],
            "",
            "orderdesk: no password on standard input (one line, at least 10 characters); "
            "nothing was created",
        ),
    ],
    ids=["bad-role", "unknown-org", "staff-without-org", "admin-with-org", "short", "empty"],
)
def test_each_refusal_is_one_line_and_creates_nothing(
    url: str, args: list[str], password: str, expected: str
) -> None:
    result = _create(url, "ada@example.com", *args, password=password)
    assert _one_error_line(result) == expected
    assert _listed(url) == []


def test_no_stdin_at_all_is_refused(url: str) -> None:
    result = _run(url, "create", "ada@example.com", "--role", "admin", stdin="")
    assert _one_error_line(result).startswith("orderdesk: no password on standard input")
    assert _listed(url) == []


def test_duplicate_email_is_refused_whatever_its_case(url: str) -> None:
    assert _create(url, "ada@example.com", "--role", "admin").exit_code == 0
    again = _create(url, "ADA@example.com ", "--role", "dispatcher")
    assert _one_error_line(again) == "orderdesk: email: operator ada@example.com exists already"
    assert [row["role"] for row in _listed(url)] == ["admin"]


def test_every_problem_is_listed_one_a_line(url: str) -> None:
    result = _create(url, "not-an-email", "--role", "boss", "--org", "nobody", password="short")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "orderdesk: email: not an email address",
        "orderdesk: --role: role must be one of admin, dispatcher, staff",
        "orderdesk: password: a password needs at least 10 characters",
        "orderdesk: --org: no organization named 'nobody'",
    ]


def test_disable_refuses_sign_ins_and_keeps_the_first_date(url: str) -> None:
    assert _create(url, "ada@example.com", "--role", "admin").exit_code == 0
    assert _create(url, "bob@example.com", "--role", "dispatcher").exit_code == 0
    first = _run(url, "disable", "Ada@example.com")
    assert first.exit_code == 0, first.output
    assert first.stdout == "operator ada@example.com disabled and signed out\n"
    since = {row["email"]: row["disabled_at"] for row in _listed(url)}
    assert since["ada@example.com"] is not None
    assert since["bob@example.com"] is None
    assert not _signs_in(url, "ada@example.com", PASSWORD)
    assert _signs_in(url, "bob@example.com", PASSWORD)

    again = _run(url, "disable", "ada@example.com")
    assert again.exit_code == 0, again.output
    assert again.stdout == "operator ada@example.com was disabled already\n"
    assert {row["email"]: row["disabled_at"] for row in _listed(url)} == since
    assert "disabled " in _run(url, "list").stdout.splitlines()[1]


def test_disable_unknown_operator_is_one_line(url: str) -> None:
    result = _run(url, "disable", "nobody@example.com")
    assert _one_error_line(result) == "orderdesk: no operator nobody@example.com"


def test_a_real_process_reads_a_piped_password_and_takes_the_url_from_the_environment(
    url: str, tmp_path: Path
) -> None:
    """What scripts do: ``printf '%s\\n' "$PW" | orderdesk operator create ...`` with
    ORDERDESK_DATABASE_URL set. Standard input is a pipe, so nothing is prompted."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERDESK_")}
    env["ORDERDESK_DATABASE_URL"] = url

    def orderdesk(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "orderdesk", "operator", *args],
            input=stdin,
            env=env,
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=60,
        )

    created = orderdesk(
        "create", "pia@example.com", "--role", "staff", "--org", "opspartner", stdin=PASSWORD + "\n"
    )
    assert created.returncode == 0, created.stderr
    assert created.stdout == "operator pia@example.com created (staff of opspartner)\n"
    assert "Password" not in created.stderr
    refused = orderdesk(
        "create", "pia@example.com", "--role", "staff", "--org", "opspartner", stdin=PASSWORD + "\n"
    )
    assert refused.returncode == 1
    assert refused.stderr == "orderdesk: email: operator pia@example.com exists already\n"
    listed = orderdesk("list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [row["email"] for row in json.loads(listed.stdout)] == ["pia@example.com"]


def _at_a_terminal(url: str, answers: list[str], *args: str) -> tuple[int, str]:
    """``orderdesk operator create ARGS`` with a pseudo-terminal as its controlling terminal and
    standard streams, typing ``answers`` one per prompt; its exit code and everything the
    terminal showed."""
    import pty

    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERDESK_")}
    argv = [sys.executable, "-m", "orderdesk", "operator", "create", *args, "--database-url", url]
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child becomes orderdesk
        os.execve(sys.executable, argv, env)  # noqa: S606 (argv is a list, no shell)
    shown = b""
    # Only what arrived since the last answer may count as a prompt: the newline getpass writes
    # after reading an answer would otherwise leave the previous prompt at the end, and the next
    # answer would be typed between the two prompts, while the terminal echoes again.
    since_answer = b""
    pending = list(answers)
    try:
        while True:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the child closed the terminal (EIO on Linux)
                break
            if not chunk:
                break
            shown += chunk
            since_answer += chunk
            if pending and since_answer.rstrip().endswith(b":"):
                os.write(fd, pending.pop(0).encode() + b"\n")
                since_answer = b""
    finally:
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), shown.decode(errors="replace")


def test_at_a_terminal_the_password_is_asked_twice_without_echo(url: str) -> None:
    code, shown = _at_a_terminal(url, [PASSWORD, PASSWORD], "tia@example.com", "--role", "admin")
    assert code == 0, shown
    assert "Password:" in shown and "Repeat the password:" in shown, shown
    assert PASSWORD not in shown
    assert "operator tia@example.com created (admin)" in shown
    assert _signs_in(url, "tia@example.com", PASSWORD)


def test_at_a_terminal_two_different_passwords_create_nothing(url: str) -> None:
    code, shown = _at_a_terminal(
        url, [PASSWORD, PASSWORD + "x"], "tia@example.com", "--role", "admin"
    )
    assert code == 1, shown
    assert "orderdesk: the two passwords differ; nothing was created" in shown
    assert _listed(url) == []
