"""Load from separate processes: ``wrk`` against the server, ``pgbench`` against PostgreSQL.

Both are bounded in time (their own duration, plus a hard timeout on the subprocess) and talk to
127.0.0.1 only. wrk's Lua scripts live in ``bench/lua``; the parameters of one run (headers,
body templates, paths) are written to a small Lua file the script loads, so the scripts stay
generic and the Python side decides what is sent.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

LUA = Path(__file__).parent / "lua"
FLOOR = Path(__file__).parent / "floor"


@dataclass
class Measure:
    """One wrk run: throughput, latency percentiles, and every way a request can fail."""

    name: str
    connections: int
    seconds: float
    requests: int
    rps: float
    # Latencies are None when no request was answered within the measurement.
    p50_ms: float | None
    p90_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    failed: int  # not 2xx, or a body that does not say success
    http_errors: int  # wrk's own count: 4xx and 5xx
    socket_errors: int
    timeouts: int
    first_failure: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def wrk_available() -> str | None:
    return shutil.which("wrk")


def lua_literal(value: Any) -> str:
    """A Lua expression for JSON-like ``value`` (strings as long brackets: no escaping)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        level = 0
        while f"]{'=' * level}]" in value:
            level += 1
        eq = "=" * level
        # A long bracket drops a newline right after the opening, so one is always given.
        return f"[{eq}[\n{value}]{eq}]"
    if isinstance(value, dict):
        return (
            "{"
            + ", ".join(f"[ {lua_literal(str(k))} ] = {lua_literal(v)}" for k, v in value.items())
            + "}"
        )
    if isinstance(value, list | tuple):
        return "{" + ", ".join(lua_literal(v) for v in value) + "}"
    raise TypeError(f"no Lua form for {value!r}")


def run_wrk(
    name: str,
    url: str,
    script: str,
    params: dict[str, Any],
    *,
    connections: int,
    seconds: int,
    workdir: Path,
) -> Measure:
    """Run ``bench/lua/<script>.lua`` for ``seconds`` with ``connections`` connections."""
    wrk = wrk_available()
    if wrk is None:
        raise RuntimeError("wrk is not installed (Debian/Ubuntu: apt-get install wrk)")
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        source = Path(tmp) / "script.lua"
        source.write_text(
            (LUA / "common.lua").read_text() + "\n" + (LUA / f"{script}.lua").read_text()
        )
        param_file = Path(tmp) / "params.lua"
        param_file.write_text("return " + lua_literal(params) + "\n", encoding="utf-8")
        threads = min(2, connections)
        cmd = [
            wrk,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "30s",
            "-s",
            str(source),
            url,
            "--",
            str(param_file),
        ]
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=seconds + 60, check=False
        )
    found = re.search(r"^BENCH-RESULT (\{.*\})$", done.stdout, re.MULTILINE)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout}\n{done.stderr}")
    r = json.loads(found.group(1))
    secs = r["duration_us"] / 1e6

    def ms(key: str) -> float | None:
        return r[key] / 1000 if r["requests"] else None

    return Measure(
        name=name,
        connections=connections,
        seconds=round(secs, 2),
        requests=r["requests"],
        rps=round(r["requests"] / secs, 1) if secs else 0.0,
        p50_ms=ms("p50_us"),
        p90_ms=ms("p90_us"),
        p99_ms=ms("p99_us"),
        max_ms=ms("max_us"),
        failed=r["failed"] + r["socket_errors"] + r["timeouts"],
        http_errors=r["http_errors"],
        socket_errors=r["socket_errors"],
        timeouts=r["timeouts"],
        first_failure=r["first_failure"],
    )


# ---------------------------------------------------------------------------------------------
# The floor


@dataclass
class Floor:
    """pgbench's order-shaped transaction: what PostgreSQL alone commits on this machine."""

    clients: int
    seconds: int
    tps: float
    latency_ms: float
    transactions: int
    failed: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def pgbench_available() -> str | None:
    return shutil.which("pgbench")


def floor_statements(name: str) -> list[str]:
    """The statements of ``bench/floor/<name>.sql`` (one per ``;``-terminated block)."""
    source = (FLOOR / f"{name}.sql").read_text()
    lines = [line for line in source.splitlines() if not line.lstrip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def run_pgbench(url: str, *, clients: int, seconds: int, variables: dict[str, int]) -> Floor:
    pgbench = pgbench_available()
    if pgbench is None:
        raise RuntimeError(
            "pgbench is not installed (Debian: it comes with the postgresql package)"
        )
    defines = [f"--define={k}={v}" for k, v in variables.items()]
    cmd = [
        pgbench,
        "--no-vacuum",
        "--protocol=prepared",
        f"--client={clients}",
        f"--jobs={min(clients, 2)}",
        f"--time={seconds}",
        *defines,
        f"--file={FLOOR / 'order.sql'}",
        url,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120, check=False)
    out = done.stdout + done.stderr
    tps = re.search(r"^tps = ([\d.]+)", out, re.MULTILINE)
    latency = re.search(r"^latency average = ([\d.]+) ms", out, re.MULTILINE)
    processed = re.search(r"number of transactions actually processed: (\d+)", out)
    failed = re.search(r"number of failed transactions: (\d+)", out)
    if done.returncode != 0 or tps is None or latency is None or processed is None:
        raise RuntimeError(f"pgbench failed ({done.returncode}):\n{out}")
    return Floor(
        clients=clients,
        seconds=seconds,
        tps=round(float(tps.group(1)), 1),
        latency_ms=float(latency.group(1)),
        transactions=int(processed.group(1)),
        failed=int(failed.group(1)) if failed else 0,
    )
