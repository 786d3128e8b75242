"""``orderdesk serve --demo`` and ``make demo``: what a newcomer pastes must work, every time."""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import IO, Any

import pytest
from PIL import Image
from tests.servers import free_port

from orderdesk.setup.demo import (
    DEMO_RECEIPT,
    DEMO_WEBHOOK_SECRET,
    WEBHOOK_LISTEN_PORT,
    WEBHOOK_LISTEN_URL,
    demo_document,
    demo_instructions,
    listen_problem,
    local_base,
)

ROOT = Path(__file__).resolve().parents[2]
# A printed shell line: a command, or a variable kept for the lines after it.
COMMAND = re.compile(r"  (curl|printf|[A-Z_]+=)")


def _instructions() -> str:
    return demo_instructions(
        "http://127.0.0.1:8000",
        demo_document(date(2026, 12, 1)),
        create_on=date(2026, 12, 2),
        move_to=date(2026, 12, 3),
    )


def test_printed_lines_use_the_ids_and_dates_of_the_run_not_fixed_ones() -> None:
    text = _instructions()
    assert "/order/1" not in text
    assert '"$PORDER_ID"' not in text  # the id goes inside a URL, not quoted on its own
    assert "/partner/order/$PORDER_ID/cancel" in text
    assert '\\"date\\": \\"2026-12-02\\", \\"timeslot\\": \\"1217\\"' in text
    assert '\\"date\\": \\"2026-12-03\\", \\"timeslot\\": \\"0712\\"' in text


def test_printed_lines_need_no_gnu_tools() -> None:
    """macOS has BSD date (no ``-d``), and neither GNU sed, grep -P nor jq by default."""
    text = _instructions()
    for gnu_only in ("date -d", "date --", "sed -", "grep -P", "jq "):
        assert gnu_only not in text
    assert 'echo "$' not in text  # zsh's echo expands a \n inside the answer it passes on


def test_the_upload_line_sends_the_shipped_receipt() -> None:
    text = _instructions()
    assert f"-F file=@{DEMO_RECEIPT}" in text
    with Image.open(DEMO_RECEIPT) as image:
        assert image.format == "JPEG"
    assert 1_000 < DEMO_RECEIPT.stat().st_size < 50_000


def test_webhooks_go_to_the_listen_command_and_the_output_says_how_to_watch_them() -> None:
    document = demo_document(date(2026, 12, 1))
    owners: list[Any] = [*document["partners"], *document["restaurants"]]  # type: ignore[misc]
    urls = [hook["url"] for owner in owners for hook in owner.get("webhooks", [])]
    assert urls and all(url.startswith(f"{WEBHOOK_LISTEN_URL}/hooks/") for url in urls)
    # One secret for every subscription: the one listener the output names verifies them all.
    hook_secrets = {hook["secret"] for owner in owners for hook in owner.get("webhooks", [])}
    assert hook_secrets == {DEMO_WEBHOOK_SECRET}
    assert (
        "in another terminal: orderdesk webhooks listen "
        f"--port {WEBHOOK_LISTEN_PORT} --secret {DEMO_WEBHOOK_SECRET}"
    ) in _instructions()


def test_a_wildcard_host_is_called_on_the_loopback() -> None:
    assert local_base("0.0.0.0", 8123) == "http://127.0.0.1:8123"  # noqa: S104
    assert local_base("::", 8123) == "http://[::1]:8123"
    assert local_base("localhost", 80) == "http://localhost:80"


def test_listen_problem_names_a_taken_port_and_a_bad_one() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        message = listen_problem("127.0.0.1", port)
    assert message is not None and "already in use" in message and str(port) in message
    assert listen_problem("127.0.0.1", free_port()) is None
    assert "65535" in (listen_problem("127.0.0.1", 70000) or "")


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("ORDERDESK_")}


def _serve(port: int, database: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "orderdesk",
        "serve",
        "--demo",
        "--port",
        str(port),
        "--database-url",
        f"sqlite:///{database}",
    ]


def _lines(stream: IO[str]) -> queue.Queue[str | None]:
    """The stream's lines as they come (None at its end), so a silent server cannot hang us."""
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        for line in stream:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return lines


@contextmanager
def _demo(tmp_path: Path, database: Path, run: int) -> Iterator[list[str]]:
    """A ``serve --demo`` on a free port; yields what it printed, up to its last curl line."""
    port = free_port()
    env = _env() | {"ORDERDESK_MEDIA_DIR": str(tmp_path / "media")}
    log = (tmp_path / f"server-{run}.log").open("w")
    proc = subprocess.Popen(
        _serve(port, database),
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = _lines(proc.stdout)
        printed: list[str] = []
        deadline = time.monotonic() + 90
        while not printed or "/order/close" not in printed[-1]:
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line is None:
                log.flush()
                pytest.fail("".join(printed) + (tmp_path / f"server-{run}.log").read_text())
            printed.append(line)
        yield printed
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def _run_printed_lines(printed: list[str], cwd: Path, shell: str) -> list[dict[str, Any]]:
    """Runs every printed shell line as pasted, except that curl fails the script on a non-2xx
    answer; returns the answers of the lines that print one. ``sh`` is dash on Debian: a line
    that needs bash fails there (and POSIX sh has no pipefail)."""
    commands = [line.strip() for line in printed if COMMAND.match(line)]
    assert len(commands) >= 30, "".join(printed)
    strict = [c.replace("curl -s ", "curl -sS --fail-with-body ") for c in commands]
    strictness = "set -eo pipefail" if shell == "bash" else "set -e"
    script = strictness + "\n" + "\n".join(f"{c}\necho" for c in strict)
    out = subprocess.run(
        [shell, "-c", script], capture_output=True, text=True, cwd=cwd, timeout=120
    )
    assert out.returncode == 0, out.stdout + out.stderr
    answers = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    printing = [c for c in commands if not re.match(r"[A-Z_]+=", c)]
    assert len(answers) == len(printing), out.stdout + out.stderr
    for command, answer in zip(printing, answers, strict=True):
        assert (
            answer.get("status") == "ok"
            or answer.get("success") is True
            or "access_token" in answer
        ), (command, answer)
    return answers


@pytest.mark.processes
@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_every_printed_line_answers_2xx_on_a_first_and_a_second_run(tmp_path: Path) -> None:
    """The second run finds the first one's orders (the partner one cancelled) in the database:
    its lines must act on the orders they create themselves. The first run's lines go to bash,
    the second's to sh, as a macOS or other non-bash shell would take them."""
    database = tmp_path / "demo.db"
    created: list[int] = []
    for run, shell in ((1, "bash"), (2, "sh")):
        elsewhere = tmp_path / f"shell-{run}"  # the receipt's path must not depend on the cwd
        elsewhere.mkdir()
        with _demo(tmp_path, database, run) as printed:
            text = "".join(printed)
            assert "is running at http://127.0.0.1:" in text
            answers = _run_printed_lines(printed, elsewhere, shell)
        upload = next(a for a in answers if "mimetype" in json.dumps(a))
        assert upload["data"][0]["mimetype"] == "image/webp"
        partner = [a for a in answers if isinstance(a.get("data"), dict) and "_id" in a["data"]]
        created.append(partner[0]["data"]["_id"])
        assert partner[-1]["data"]["_status"] == "cancelled"
        assert answers[-1]["order"]["confirmation"]["closed"] is True
    assert created[0] != created[1]


@pytest.mark.processes
def test_a_taken_port_is_one_line_and_exit_1_with_nothing_to_paste(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.run(
            _serve(port, tmp_path / "demo.db"),
            cwd=tmp_path,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stderr.strip().count("\n") == 0, proc.stderr
    assert f"port {port}" in proc.stderr and "already in use" in proc.stderr
    assert "curl" not in proc.stdout and "running" not in proc.stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_demo_takes_port_and_host_from_the_command_line_only() -> None:
    env = os.environ | {"PORT": "9", "HOST": "elsewhere.example"}
    chosen = subprocess.run(
        ["make", "-n", "demo", "PORT=8123", "HOST=0.0.0.0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "--host 0.0.0.0 --port 8123" in chosen.stdout, chosen.stdout + chosen.stderr
    default = subprocess.run(
        ["make", "-n", "demo"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert "--host 127.0.0.1 --port 8000" in default.stdout, default.stdout + default.stderr


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_demo_reset_deletes_the_demo_database_and_media_only(tmp_path: Path) -> None:
    demo = [
        "orderdesk-demo.db",
        "orderdesk-demo.db-wal",
        "orderdesk-demo.db-shm",
        "media/demo/ab/cd.webp",
    ]
    kept = ["orderdesk.db", "media/other/ef.webp"]
    for name in demo + kept:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    reset = subprocess.run(
        ["make", "-f", str(ROOT / "Makefile"), "demo-reset"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert reset.returncode == 0, reset.stdout + reset.stderr
    assert not [name for name in demo if (tmp_path / name).exists()]
    assert not (tmp_path / "media/demo").exists()
    assert all((tmp_path / name).exists() for name in kept)
