"""Updating existing rows from the setup document without touching what already matches."""

from __future__ import annotations

from typing import Any


def assign(row: object, **values: Any) -> bool:
    """Set the attributes that differ; report whether any did (an unchanged row stays clean,
    so re-applying a document reports it as unchanged and writes nothing)."""
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed
