"""The setup document printed in the operations guide is accepted as written, idempotently."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from orderdesk.cli import cli

EXAMPLE = Path(__file__).with_name("operations_example.json")


def test_the_operations_guide_example_applies_and_reapplies_unchanged(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'example.db'}"
    runner = CliRunner()
    first = runner.invoke(cli, ["apply", str(EXAMPLE), "--database-url", url])
    assert first.exit_code == 0, first.output
    assert "restaurant bella" in first.output and "store acme-riga" in first.output
    second = runner.invoke(cli, ["apply", str(EXAMPLE), "--database-url", url])
    assert second.output.startswith("Created: nothing\nUpdated: nothing\n"), second.output
    assert json.loads(EXAMPLE.read_text())["version"] == 1
