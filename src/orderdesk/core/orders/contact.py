"""Customer contact details: phone numbers normalised to E.164.

National-format numbers are read in the country of the location's time zone (from the system's
``zone.tab``), so a Riga store accepts "20 000 000" as +371 20000000 while a Berlin store reads
the same digits as German.
"""

from __future__ import annotations

import zoneinfo
from functools import cache
from pathlib import Path

import phonenumbers


@cache
def _zone_countries() -> dict[str, str]:
    for root in zoneinfo.TZPATH:
        table = Path(root) / "zone.tab"
        if table.is_file():
            pairs = (
                line.split("\t")
                for line in table.read_text().splitlines()
                if line and not line.startswith("#")
            )
            return {fields[2]: fields[0] for fields in pairs if len(fields) >= 3}
    return {}


def region_for_timezone(timezone: str) -> str | None:
    return _zone_countries().get(timezone)


def normalize_phone(raw: str, *, timezone: str | None = None) -> str | None:
    """The number in E.164, or ``None`` when it is not a valid phone number."""
    region = region_for_timezone(timezone) if timezone else None
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
