"""The container image builds, serves /health and /ready against PostgreSQL, and stops on SIGTERM.

Opt-in (``DEPLOY_IMAGE_TEST=1``): building the image installs every dependency from the package
index and takes minutes, and it needs a container engine, which CI does not have. Without one
the test is skipped and says why; tests/test_deploy_files.py checks the same files without an
engine.

Knobs, for machines that cannot run the defaults:

- ``DEPLOY_ENGINE``: ``podman`` or ``docker`` (default: the first on ``PATH``).
- ``DEPLOY_PYTHON_IMAGE``: the base image (``--build-arg PYTHON_IMAGE``), where Docker Hub's
  ``python:3.11-slim`` cannot be pulled.
- ``DEPLOY_BUILD_ARGS``: more ``build`` options, e.g. ``--isolation=chroot``.
- ``DEPLOY_RUNNER``: ``engine`` (default: ``<engine> run`` on the host network) or ``buildah``
  (``buildah run --isolation=chroot``: the image's file system, user, environment and working
  directory without an OCI runtime, for hosts where the runtime cannot start containers).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx
import pytest

from tests.conftest import create_pg_database, drop_pg_database
from tests.servers import free_port

pytestmark = [pytest.mark.postgres, pytest.mark.processes]

ROOT = Path(__file__).resolve().parents[1]
BUILD_TIMEOUT = 1800.0
# Worker processes import the whole application; on a loaded machine that takes a while.
STARTUP_TIMEOUT = 120.0
# serve gives requests in flight 30 s after SIGTERM; an idle server must be far quicker.
STOP_TIMEOUT = 30.0


def _engine() -> str:
    if os.environ.get("DEPLOY_IMAGE_TEST") != "1":
        pytest.skip("builds the container image (minutes, needs an engine): DEPLOY_IMAGE_TEST=1")
    engine = os.environ.get("DEPLOY_ENGINE") or shutil.which("podman") or shutil.which("docker")
    if not engine:
        pytest.skip("no container engine: neither podman nor docker is on PATH")
    info = subprocess.run([engine, "info"], capture_output=True, text=True, timeout=60, check=False)
    if info.returncode != 0:
        pytest.skip(f"{engine} cannot reach a container engine: {info.stderr.strip()[:300]}")
    return engine


def _build(engine: str, tag: str) -> None:
    base = os.environ.get("DEPLOY_PYTHON_IMAGE")
    command = [
        engine,
        "build",
        "--tag",
        tag,
        *(["--format", "docker"] if Path(engine).name == "podman" else []),
        *(["--build-arg", f"PYTHON_IMAGE={base}"] if base else []),
        *shlex.split(os.environ.get("DEPLOY_BUILD_ARGS", "")),
        str(ROOT),
    ]
    built = subprocess.run(
        command, capture_output=True, text=True, timeout=BUILD_TIMEOUT, check=False
    )
    assert built.returncode == 0, f"{shlex.join(command)}\n{built.stdout[-3000:]}{built.stderr}"


def _config(engine: str, tag: str) -> dict[str, object]:
    inspected = subprocess.run(
        [engine, "image", "inspect", "--format", "{{json .Config}}", tag],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    config = json.loads(inspected.stdout)
    assert isinstance(config, dict)
    return config


def _healthcheck(engine: str, tag: str, config: dict[str, object]) -> object:
    """The image's HEALTHCHECK: docker shows it in the config; podman's inspect leaves it out,
    buildah's shows the Docker-format config it was stored in."""
    if Path(engine).name == "podman" and shutil.which("buildah"):
        inspected = subprocess.run(
            ["buildah", "inspect", "--type", "image", tag],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return json.loads(inspected.stdout)["Docker"]["config"].get("Healthcheck")
    return config.get("Healthcheck")


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid``, read from /proc (Linux, where the buildah runner works)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry.name))
    found: list[int] = []
    pending = [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            found.append(child)
            pending.append(child)
    return found


def _serve_pid(runner: subprocess.Popen[bytes]) -> int:
    """The ``orderdesk serve`` supervisor below ``buildah run`` (which forwards no signals)."""
    for pid in _descendants(runner.pid):
        with contextlib.suppress(OSError):
            argv = (Path("/proc") / str(pid) / "cmdline").read_bytes().split(b"\0")
            if argv[0].endswith(b"python") and b"serve" in argv:
                return pid
    raise AssertionError("no orderdesk serve process below buildah run")


@contextmanager
def _container(
    engine: str, tag: str, environment: dict[str, str], port: int, output: IO[bytes]
) -> Iterator[tuple[subprocess.Popen[bytes], list[str] | int]]:
    """The image serving on ``port`` of the host network; yields the runner process and how to
    stop it (an engine command, or the pid to send SIGTERM to)."""
    serve = ["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"]
    env_args = [arg for key, value in environment.items() for arg in ("-e", f"{key}={value}")]
    name = f"orderdesk-test-{secrets.token_hex(4)}"
    if os.environ.get("DEPLOY_RUNNER", "engine") == "buildah":
        subprocess.run(["buildah", "from", "--name", name, tag], capture_output=True, check=True)
        command = ["buildah", "run", "--isolation=chroot", *env_args, name, "--", "orderdesk"]
        runner = subprocess.Popen([*command, *serve], stdout=output, stderr=subprocess.STDOUT)
        try:
            yield runner, 0
        finally:
            if runner.poll() is None:
                runner.kill()
                runner.wait(10)
            subprocess.run(["buildah", "rm", name], capture_output=True, check=False)
        return
    command = [engine, "run", "--rm", "--name", name, "--network", "host", *env_args, tag]
    runner = subprocess.Popen([*command, *serve], stdout=output, stderr=subprocess.STDOUT)
    try:
        yield runner, [engine, "stop", "--time", "40", name]
    finally:
        subprocess.run([engine, "rm", "--force", name], capture_output=True, check=False)
        if runner.poll() is None:
            runner.kill()
            runner.wait(10)


def _wait_for_health(base: str, runner: subprocess.Popen[bytes], output: IO[bytes]) -> None:
    give_up = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < give_up:
        if runner.poll() is not None:
            output.seek(0)
            raise AssertionError(f"the container exited:\n{output.read().decode()[-3000:]}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return
        time.sleep(0.5)
    output.seek(0)
    raise AssertionError(f"no /health within {STARTUP_TIMEOUT:g} s:\n{output.read().decode()}")


def _exercise(engine: str, url: str) -> None:
    """Build, inspect, serve against ``url``, probe, stop; blocking, so run in a thread."""
    tag = f"localhost/orderdesk-test:{secrets.token_hex(4)}"
    try:
        _build(engine, tag)
        config = _config(engine, tag)
        assert config["User"] == "orderdesk"
        assert config["Entrypoint"] == ["orderdesk"]
        assert "/health" in json.dumps(_healthcheck(engine, tag, config))

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        environment = {"ORDERDESK_DATABASE_URL": url, "ORDERDESK_LOG_LEVEL": "warning"}
        with (
            tempfile.TemporaryFile() as output,
            _container(engine, tag, environment, port, output) as (runner, stop),
        ):
            _wait_for_health(base, runner, output)
            ready = httpx.get(f"{base}/ready", timeout=10)
            assert ready.status_code == 200, ready.text
            assert ready.json()["status"] == "ready"
            assert ready.json()["database"] == "ok"

            started = time.monotonic()
            if isinstance(stop, list):
                subprocess.run(stop, capture_output=True, timeout=60, check=True)
            else:
                os.kill(_serve_pid(runner), signal.SIGTERM)
            assert runner.wait(STOP_TIMEOUT) == 0
            assert time.monotonic() - started < STOP_TIMEOUT
    finally:
        subprocess.run([engine, "rmi", "--force", tag], capture_output=True, check=False)


async def test_image_serves_health_and_ready_on_postgres_and_stops_on_sigterm() -> None:
    engine = _engine()
    url = await create_pg_database()
    try:
        await asyncio.to_thread(_exercise, engine, url)
    finally:
        await drop_pg_database(url)
