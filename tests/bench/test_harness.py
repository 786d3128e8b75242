"""The benchmark harness (``make bench``) keeps working: a smoke run on each database.

The smoke run is the whole harness at toy size (a thousand items and orders, measurements of a
second or two), so a change that breaks a request body, the data generator, the Lua scripts or
the report fails here instead of in the next full run. Its figures mean nothing; what is checked
is that every measurement got answers and that every answer was a success.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.processes


def _measures(db: dict[str, Any]) -> list[dict[str, Any]]:
    found = [
        m for key in ("health", "partner_create", "restaurant_create") for m in db[key].values()
    ]
    found += [m for by_step in db["reads"].values() for m in by_step.values()]
    return found


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_smoke_run_prints_the_table_and_no_request_failed(database: str, tmp_path: Path) -> None:
    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (apt-get install wrk; .ci/run installs it)")
    if database == "postgresql":
        from bench.run import pg_problem

        problem = pg_problem()
        if problem is not None:
            pytest.skip(problem)
    results_file = tmp_path / "results.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--smoke",
            "--database",
            database,
            "--json",
            str(results_file),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    assert "targets (issue 9)" in done.stdout, done.stdout
    db = json.loads(results_file.read_text())["databases"][database]

    measures = _measures(db)
    assert len(measures) == 6 + 8 * len(db["steps"])
    for m in measures:
        assert m["failed"] == 0, m
        assert m["requests"] > 0, m
    if database == "postgresql":
        assert db["floor"]["tps"] > 0 and db["floor"]["failed"] == 0, db["floor"]
    assert db["rss_mb"] and all(r > 0 for r in db["rss_mb"])
    assert db["statements"]["partner"]["total"] > 0
    assert db["statements"]["restaurant"]["total"] > 0
    assert db["orders_stored"][str(db["steps"][-1])] >= 0.9 * db["steps"][-1]
    names = [t["name"] for t in db["targets"]]
    assert any("RSS" in n for n in names) and any("p99 / p50" in n for n in names)
    assert all(t["value"] is not None for t in db["targets"]), db["targets"]
