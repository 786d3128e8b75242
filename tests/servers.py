"""Real ``orderdesk serve`` processes for tests where processes matter."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serving(base: str, workers: int) -> bool:
    """Whether ``/health`` answers and, with several workers, every one has started serving:
    each sets its pool gauge, one series per live process, when its application starts (see
    orderdesk.metrics)."""
    if httpx.get(f"{base}/health", timeout=1).status_code != 200:
        return False
    if workers == 1:
        return True
    scrape = httpx.get(f"{base}/metrics", timeout=5).text
    return (
        sum(line.startswith("orderdesk_db_pool_size{") for line in scrape.splitlines()) >= workers
    )


@contextmanager
def running_server(
    database_url: str,
    *,
    workers: int = 1,
    media_dir: Path,
    extra_args: tuple[str, ...] = (),
    startup_timeout: float = 60.0,
    env_extra: Mapping[str, str] | None = None,
) -> Iterator[str]:
    """Start ``orderdesk serve`` and yield its base URL once ``/health`` answers, and with
    several workers once every one of them serves (tests that spread requests over the workers
    would otherwise measure one worker while the others are still starting).

    The server sees none of the caller's ``ORDERDESK_*`` variables, only ``env_extra``'s.
    """
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERDESK_")}
    env.update({"ORDERDESK_MEDIA_DIR": str(media_dir), "ORDERDESK_LOG_LEVEL": "warning"})
    env.update(env_extra or {})
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
        *extra_args,
    ]
    base = f"http://127.0.0.1:{port}"
    # Output goes to a file, not a pipe: nobody reads a pipe while the server runs, and a server
    # that logs more than the pipe holds (tracebacks under load) would block in write().
    with tempfile.TemporaryFile() as output:
        proc = subprocess.Popen(
            cmd, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            deadline = time.monotonic() + startup_timeout
            while True:
                if proc.poll() is not None:
                    output.seek(0)
                    raise RuntimeError(
                        f"server exited with {proc.returncode}:\n"
                        f"{output.read().decode(errors='replace')}"
                    )
                try:
                    if _serving(base, workers):
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError("server did not become healthy")
                time.sleep(0.1)
            yield base
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
            with contextlib.suppress(ProcessLookupError):
                # Whatever is left of the server's own process group (workers whose parent died).
                os.killpg(proc.pid, signal.SIGKILL)
