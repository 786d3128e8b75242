"""The core's field names (:mod:`orderdesk.core.orders.schemas`) as this API's wire paths.

Every route that hands the core a draft, or dates, runs the core call inside
``PATHS.applied()`` (or passes what it returns through ``PATHS.errors``), so clients read
their own field names.
"""

from __future__ import annotations

from collections.abc import Sequence

from orderdesk.core.orders.schemas import PathTable

_ITEMS = "partner_details.items"

PATHS = PathTable(
    {
        "location": "partner_details.store_id",
        "customer.phone": "customer.phone_number",
        "preferences": "datetime",
        "lines.{i}.product": f"{_ITEMS}.{{i}}.id",
        "lines.{i}.services.{name}": f"{_ITEMS}.{{i}}.{{name}}",
        "images": "image_uuids",
    }
)


def read_at(lines: Sequence[int], preferences: Sequence[int]) -> PathTable:
    """``PATHS`` for a draft that kept only some items and dates of a request: ``lines[i]`` and
    ``preferences[i]`` are the wire positions of the draft's ``i``-th line and preference."""
    entries = {f"preferences.{i}": f"datetime.{at}" for i, at in enumerate(preferences)}
    for i, at in enumerate(lines):
        entries[f"lines.{i}.product"] = f"{_ITEMS}.{at}.id"
        entries[f"lines.{i}.services.{{name}}"] = f"{_ITEMS}.{at}.{{name}}"
    return PATHS.with_entries(entries)
