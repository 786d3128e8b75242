"""Spectral, a linter that API gateways and portals run on OpenAPI documents, finds nothing.

Every rule of its ``spectral:oas`` ruleset counts, warnings included: each names something a
generator, a portal or a reader trips over (an undeclared scope, an operation without a
description, a tag nobody declared). Spectral is installed by ``make test`` from
tests/openapi/spectral/package.json (pinned, with its lockfile).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).parent / "spectral"
SPECTRAL = HERE / "node_modules" / ".bin" / "spectral"


def test_spectral_finds_no_problem(openapi_document: dict[str, object], tmp_path: Path) -> None:
    if not SPECTRAL.exists():
        reason = "npm is not installed" if shutil.which("npm") is None else "npm ci was not run"
        pytest.skip(f"Spectral is not installed in {HERE} ({reason}; make test installs it)")
    document = tmp_path / "openapi.json"
    document.write_text(json.dumps(openapi_document))
    run = subprocess.run(
        [
            str(SPECTRAL),
            "lint",
            "--ruleset",
            str(HERE / ".spectral.yaml"),
            "--format",
            "json",
            "--quiet",
            str(document),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    problems = json.loads(run.stdout or "[]")
    listed = "\n".join(
        f"{p['code']}: {p['message']} at {'.'.join(map(str, p['path']))}" for p in problems
    )
    assert problems == [], f"Spectral found {len(problems)} problems:\n{listed}"
    assert run.returncode == 0, run.stderr
