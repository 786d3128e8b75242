"""Helpers shared by the reliability tests: server processes seen through /proc, the setup
document applied by the real command, and the figures each scenario reports."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from orderdesk.settings import Settings


def server_env() -> dict[str, str]:
    """Settings for a stress run: per-address request budgets off (when the build has them).

    Every request here comes from one address; the budgets would answer 429 before the
    contended resource is ever reached, which is not what these tests measure.
    """
    return (
        {"ORDERDESK_RATE_LIMIT_ENABLED": "false"}
        if "rate_limit_enabled" in Settings.model_fields
        else {}
    )


def cli_env() -> dict[str, str]:
    """The environment for ``orderdesk`` commands: this run's own ``ORDERDESK_*`` knobs
    (attempts, report file) are not settings, and the command rejects unknown ones."""
    return {k: v for k, v in os.environ.items() if not k.startswith("ORDERDESK_")}


async def apply_document(url: str, document: dict[str, Any], directory: Path) -> None:
    """Load ``document`` into the database at ``url`` with ``orderdesk apply``."""
    setup = directory / "setup.json"
    setup.write_text(json.dumps(document))
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "orderdesk",
        "apply",
        str(setup),
        "--database-url",
        url,
        env=cli_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, output.decode()


def _children(pid: int) -> list[int]:
    """Child processes of ``pid``, from every thread's ``/proc/<pid>/task/<tid>/children``."""
    found: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except FileNotFoundError:
        return found
    for task in tasks:
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue  # a thread that ended meanwhile
    return found


def _cmdline(pid: int) -> list[bytes]:
    """A process's arguments; empty for a zombie or a process that is gone."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (FileNotFoundError, ProcessLookupError):
        return []


def serve_pid(base: str) -> int:
    """The pid of the ``orderdesk serve`` process (a child of this one) listening at ``base``."""
    port = base.rsplit(":", 1)[1].encode()
    for child in _children(os.getpid()):
        args = _cmdline(child)
        if b"serve" in args and port in args:
            return child
    raise LookupError(f"no orderdesk serve child process on port {port.decode()}")


def worker_pids(parent: int) -> set[int]:
    """The live uvicorn workers of ``parent``: its multiprocessing spawn children (the resource
    tracker, also a child, and killed workers not yet reaped are left out)."""
    return {
        child for child in _children(parent) if any(b"spawn_main" in arg for arg in _cmdline(child))
    }


def has_exited(pid: int) -> bool:
    """True once ``pid`` is gone or a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def report(figures: dict[str, Any]) -> None:
    """One line to copy into a report; also one JSON line in ``$RELIABILITY_REPORT``."""
    print("\n" + " ".join(f"{k}={v}" for k, v in figures.items()))
    report_file = os.environ.get("RELIABILITY_REPORT")
    if report_file:
        with open(report_file, "a", encoding="utf-8") as out:
            out.write(json.dumps(figures) + "\n")
