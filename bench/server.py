"""``orderdesk serve`` as a subprocess on a free loopback port, and its workers' memory."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

# Budgets far above what the load sends: the limiter still counts every request (its cost is
# part of what is measured) but never refuses one.
GENEROUS_BUDGET = "1000000/minute"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The caller's environment without ``ORDERDESK_*`` (orderdesk refuses unknown ones, and
    the benchmark must not inherit a developer's settings), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERDESK_")}
    env.update(extra or {})
    return env


def budget_env() -> dict[str, str]:
    """Generous request budgets, for whichever budget settings this orderdesk has."""
    from orderdesk.settings import Settings

    names = ("rate_limit_ip", "rate_limit_client")
    return {f"ORDERDESK_{n.upper()}": GENEROUS_BUDGET for n in names if n in Settings.model_fields}


@dataclass
class Server:
    base: str
    process: subprocess.Popen[bytes]
    log: Path

    def worker_pids(self) -> list[int]:
        """The worker processes: children of ``serve`` (or ``serve`` itself with one worker)."""
        children = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == self.process.pid and b"resource_tracker" not in cmdline:
                children.append(int(entry.name))
        return sorted(children) or [self.process.pid]

    def rss_mb(self) -> list[float]:
        """Resident memory of each worker, in MiB (VmRSS from /proc)."""
        sizes = []
        for pid in self.worker_pids():
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        sizes.append(round(int(line.split()[1]) / 1024, 1))
        return sizes


@contextmanager
def running(
    database_url: str, *, workers: int, workdir: Path, startup_timeout: float = 120.0
) -> Iterator[Server]:
    """Start ``orderdesk serve`` and yield it once ``/health`` answers; stop it after."""
    port = free_port()
    env = clean_env(
        {
            "ORDERDESK_MEDIA_DIR": str(workdir / "media"),
            "ORDERDESK_LOG_LEVEL": "warning",
            **budget_env(),
        }
    )
    cmd = [
        sys.executable,
        "-m",
        "orderdesk",
        "serve",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--database-url",
        database_url,
    ]
    base = f"http://127.0.0.1:{port}"
    log = workdir / f"serve-{port}.log"
    # A file, not a pipe: nobody reads a pipe while the load runs, and a server logging more
    # than a pipe holds would block in write().
    with log.open("wb") as output:
        process = subprocess.Popen(
            cmd, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(base, process, log)
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"orderdesk serve exited with {process.returncode}:\n"
                    f"{log.read_text(errors='replace')[-4000:]}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if (
                    httpx.get(f"{base}/health", timeout=1).status_code == 200
                    and len(server.worker_pids()) >= workers
                ):
                    break
            if time.monotonic() > deadline:
                raise TimeoutError("orderdesk serve did not become healthy")
            time.sleep(0.2)
        yield server
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group, SIGKILL whatever is left after 30 s."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # workers whose parent is gone
