"""The setup document (``orderdesk apply FILE``): its shape and every rule that needs no database.

:func:`parse_setup` is the only way in. It reports **every** problem of a document at once, each
with a JSON path such as ``$.partners[0].stores[1].timezone``; a document that parses is safe to
hand to :func:`orderdesk.setup.apply.apply_setup`, which adds only the rules that need the
database (a store id or login owned by another partner).

Decisions where the operations spec is silent:

* Types are strict: ``"12"`` is not an int, ``1`` is not a bool, ``1.0`` is not an int. Integers
  are accepted where a float is expected (``"lat": 45``). Keys that are not listed are rejected.
* Ids and titles must be non-empty and must not start or end with whitespace: a stray space would
  silently create a second partner, store or login the next time the file is edited.
* ``masters`` must name every timeslot (``0712``, ``1217``, ``1721``) exactly once; ``0`` closes a
  slot. ``masters_on`` entries may lie in the past (they are harmless and keep old files valid),
  but one store may not override the same date and timeslot twice.
* ``delivery`` and ``assembly`` default to ``false``. When one is ``true`` its price is required;
  when it is ``false`` a price may still be given (exports often carry every column) but is
  ignored, because an item only offers the services it declares.
* Passwords and webhook secrets need at least 8 characters; webhook URLs must be absolute
  ``http``/``https`` URLs; a partner may not list the same webhook URL twice.
* Item ids are positive and fit a 32-bit signed integer (they are primary keys on every engine).
* Run-time switches (:mod:`orderdesk.setup.switches`): ``paused_until`` of a store or
  subrestaurant is an ISO 8601 date and time with its UTC offset, ``"resumed"`` (paused until
  resumed) or ``null`` (not paused); ``sold_out`` lists items (stores) or product uids
  (subrestaurants), each once, with an optional ``until``. Left out, they leave what operators
  switched at run time alone; given, they set it.

Restaurants (``restaurants``):

* Uids (restaurant, subrestaurant, category, product, option, value) are URL-safe
  (:data:`~orderdesk.core.catalog.importer.UID_PATTERN`: letters, digits, ``. _ ~ -``, starting
  with a letter or digit, at most 100). A subrestaurant uid is a location id like a partner's
  store id: unique across the whole server, so it may not repeat a store id or another
  restaurant's subrestaurant uid. API keys and client ids are unique server-wide as well.
* Required: ``uid``, ``name``, ``timezone``, ``language``, ``currency`` of a restaurant; ``uid``,
  ``name``, ``address``, ``city``, ``country``, ``lat``, ``lng``, ``opening_hours`` of a
  subrestaurant (``code``, ``province``, ``zip`` default to ``""``; a day left out of
  ``opening_hours`` is closed). ``dmethods`` defaults to ``["0"]`` (pickup), ``cash_subs`` to
  ``[]``.
* ``language`` is a 2-letter lower-case ISO 639-1 code, ``currency`` a known ISO 4217 code,
  ``country`` a known ISO 3166 alpha-2 code, ``phone`` a valid number for that country (or in
  international form), checked with the maintained tables of babel and phonenumbers.
* API keys and client secrets travel in HTTP headers, which strip surrounding blanks, so they may
  not start or end with whitespace, and need at least 12 characters (the operations guide's
  examples pass; production should use long random values). A client lists at least one scope,
  each once; ``active`` (default ``true``) lets a client be switched off without removing it
  from the file.
* ``opening_hours`` ranges are ``["HH:MM", "HH:MM"]`` on one day (``"24:00"`` may end one; a range
  crossing midnight is split over two days), the end after the start; ranges of a day may touch
  but not overlap. ``slot_minutes`` divides 60 or is a multiple of 15 (at most a day).
* A zone has exactly one of ``polygon`` (at least 3 ``[lat, lng]`` points, not crossing itself)
  and ``radius_km`` (more than 0, at most 100).
* Positions (categories, products, options, values) default to the order in the document.
  ``ext_id`` values are unique among a restaurant's categories, among its products, among the
  options of one product and among the values of one option, so a later menu import by
  ``ext_id`` is unambiguous. Option uids are unique in the whole restaurant, value uids in their
  option. An option's ``min_selectable`` may not exceed its visible values, nor its
  ``checked_default`` values ``max_selectable``.
* Coupon codes and generator codes are matched case-insensitively and stored upper-case
  (letters, digits, ``-`` and ``_``). ``valid_weekdays`` uses day names ``mon``..``sun``, like
  ``opening_hours`` (stored as ISO weekday numbers; empty: every day). ``quantity`` absent or
  ``null`` means unlimited. One of ``discount_perc`` and ``discount_amount`` must be above zero.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from babel import Locale
from babel.numbers import is_currency
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import PydanticCustomError

from orderdesk.core.catalog.importer import UID_PATTERN
from orderdesk.dialects.partner.timeslots import NAMES as TIMESLOTS

MAX_MASTERS = 1000
MAX_ITEM_ID = 2**31 - 1
MAX_INT = 2**31 - 1  # every integer column is a 32-bit signed integer on PostgreSQL
# How the restaurant sections' amounts are written (the restaurant API shows major units).
_MINOR = (
    "integer minor units of the restaurant's currency (750 is EUR 7.50; the restaurant API "
    "shows major units, 7.5)"
)


@dataclass(frozen=True, slots=True)
class SetupError:
    """One problem of a setup document; ``path`` is a JSON path like ``$.items[3].id``."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class SetupInvalid(Exception):
    """The document cannot be applied; ``errors`` lists every problem found, in document order."""

    def __init__(self, errors: Sequence[SetupError]) -> None:
        self.errors = list(errors)
        super().__init__(self.summary())

    def summary(self) -> str:
        count = len(self.errors)
        lines = [f"the setup document has {count} error{'s' if count != 1 else ''}:"]
        lines.extend(f"  {error}" for error in self.errors)
        return "\n".join(lines)


def _fail(message: str) -> PydanticCustomError:
    return PydanticCustomError("setup", message)


def _not_padded(value: str) -> str:
    if not value.strip():
        raise _fail("must not be empty")
    if value != value.strip():
        raise _fail("must not start or end with whitespace")
    return value


def _only_one(value: object) -> object:
    # Literal[1] on its own would also accept True and 1.0.
    if type(value) is not int or value != 1:
        raise _fail("unsupported version; this server reads version 1")
    return value


def _iso_date(value: object) -> object:
    if not isinstance(value, str):
        raise _fail("must be a date string YYYY-MM-DD")
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise _fail("must be a date in the form YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _fail("is not a valid calendar date") from None


def _aware_datetime(value: object) -> datetime:
    if not isinstance(value, str):
        raise _fail("must be a date and time string such as 2026-12-01T14:30:00+01:00")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _fail("is not an ISO 8601 date and time such as 2026-12-01T14:30:00+01:00") from None
    if parsed.tzinfo is None:
        raise _fail("needs its UTC offset (such as +01:00, or Z for UTC)")
    return parsed.astimezone(UTC)


def _paused_until(value: object) -> object:
    if value is None or value == UNTIL_RESUMED:
        return value
    if not isinstance(value, str) or not value[:1].isdigit():
        raise _fail(
            f'must be "{UNTIL_RESUMED}", null, or a date and time such as 2026-12-01T14:30:00+01:00'
        )
    return _aware_datetime(value)


def _timeslot(value: str) -> str:
    if value not in TIMESLOTS:
        raise _fail(f"unknown timeslot; expected one of {', '.join(TIMESLOTS)}")
    return value


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise _fail("unknown time zone; use an IANA name such as Europe/Riga") from None
    return value


def _web_url(value: str) -> str:
    try:
        parts = urlsplit(value)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        valid = False
    if not valid or any(c.isspace() for c in value):
        raise _fail("must be an absolute http:// or https:// URL")
    return value


# Required strings without surrounding whitespace, by maximum length.
Name = Annotated[str, StringConstraints(min_length=1, max_length=100), AfterValidator(_not_padded)]
Title = Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(_not_padded)]
LongTitle = Annotated[
    str, StringConstraints(min_length=1, max_length=300), AfterValidator(_not_padded)
]
MasterCount = Annotated[int, Field(ge=0, le=MAX_MASTERS)]
Price = Annotated[int, Field(ge=0)]
Timeslot = Annotated[
    str,
    AfterValidator(_timeslot),
    WithJsonSchema({"type": "string", "enum": list(TIMESLOTS)}),
]
IsoDate = Annotated[date, BeforeValidator(_iso_date)]
_DATE_TIME_SCHEMA = {"type": "string", "format": "date-time"}
AwareDateTime = Annotated[
    datetime, BeforeValidator(_aware_datetime), WithJsonSchema(_DATE_TIME_SCHEMA)
]
UNTIL_RESUMED = "resumed"
PausedUntil = Annotated[
    datetime | Literal["resumed"] | None,
    BeforeValidator(_paused_until),
    WithJsonSchema({"anyOf": [_DATE_TIME_SCHEMA, {"const": UNTIL_RESUMED}, {"type": "null"}]}),
]
_PAUSED_UNTIL = (
    "Busy mode: new orders at this location are refused until this date and time (ISO 8601 "
    'with its UTC offset, such as `2026-12-01T14:30:00+01:00`), or until resumed (`"resumed"`); '
    "`null` takes orders again. Leave the key out to keep whatever operators set at run time: "
    "only a document that names it changes the pause."
)
_SOLD_OUT = (
    "Products sold out at this location (refused like unavailable ones), exactly this list when "
    "the key is given: entries not listed are switched back on. Leave the key out to keep what "
    "operators switched at run time."
)
_SOLD_OUT_UNTIL = (
    "When it is on sale again by itself (ISO 8601 with its UTC offset); `null` or left out: "
    "until switched back. A past time is accepted and means on sale."
)


def _distinct_entries(key: str) -> Any:
    def check(entries: list[Any]) -> list[Any]:
        seen: set[object] = set()
        for entry in entries:
            value = getattr(entry, key)
            if value in seen:
                raise _fail(f"{key} {value} is listed twice")
            seen.add(value)
        return entries

    return AfterValidator(check)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class UserSpec(_Section):
    """A login of the partner API; matched by ``login`` (unique server-wide)."""

    login: Title = Field(
        description="Login name for `POST /partner/auth/authorize`; unique on the server."
    )
    password: Annotated[str, StringConstraints(min_length=8, max_length=1024)] = Field(
        description="Password, at least 8 characters; stored only as an argon2id hash."
    )


class WebhookSpec(_Section):
    """A webhook subscriber; matched by ``url`` within its partner."""

    url: Annotated[str, StringConstraints(max_length=2000), AfterValidator(_web_url)] = Field(
        description="Absolute `http://` or `https://` URL the events are POSTed to; listed once "
        "per organization."
    )
    secret: Annotated[str, StringConstraints(min_length=8, max_length=500)] = Field(
        description="Shared secret the payloads are signed with (HMAC-SHA256), at least 8 "
        "characters."
    )


class CapacityOverrideSpec(_Section):
    """``masters_on``: the number of masters of one date and timeslot, replacing ``masters``."""

    date: IsoDate = Field(
        description="Calendar date `YYYY-MM-DD` in the store's time zone; past dates are accepted "
        "and harmless."
    )
    timeslot: Timeslot = Field(
        description="Timeslot name: `0712` (07-12), `1217` (12-17) or `1721` (17-21)."
    )
    masters: MasterCount = Field(
        description="Masters available in that timeslot on that date (0 closes it); at most 1000."
    )


class SoldOutItemSpec(_Section):
    """An item sold out at a store (``sold_out`` of the store)."""

    item: Annotated[int, Field(gt=0, le=MAX_ITEM_ID)] = Field(
        description="The item id, of this document's `items` or of an earlier apply."
    )
    until: AwareDateTime | None = Field(None, description=_SOLD_OUT_UNTIL)


class StoreSpec(_Section):
    """A store; ``id`` is the wire ``store_id``, unique server-wide."""

    id: Name = Field(
        description="The wire `store_id`; unique on the server, also among restaurants' "
        "subrestaurant uids."
    )
    title: Title = Field(description="Display name of the store.")
    timezone: Annotated[str, AfterValidator(_timezone)] = Field(
        description="IANA time zone (such as `Europe/Riga`) the store's dates and timeslots are "
        "counted in."
    )
    masters: dict[Timeslot, MasterCount] = Field(
        description="Masters per timeslot on an ordinary day: every timeslot (`0712`, `1217`, "
        "`1721`) exactly once, each 0 to 1000 (0 closes the slot).",
        json_schema_extra={"required": list(TIMESLOTS)},
    )
    masters_on: list[CapacityOverrideSpec] = Field(
        [],
        description="Exceptions to `masters` for single dates; one entry per date and timeslot.",
    )
    paused_until: PausedUntil = Field(None, description=_PAUSED_UNTIL)
    sold_out: Annotated[list[SoldOutItemSpec], _distinct_entries("item")] = Field(
        [], description=_SOLD_OUT + " Each item once."
    )

    @field_validator("masters")
    @classmethod
    def _every_timeslot(cls, value: dict[str, int]) -> dict[str, int]:
        missing = [slot for slot in TIMESLOTS if slot not in value]
        if missing:
            raise _fail(f"missing timeslot {', '.join(missing)}; every timeslot needs a count")
        return value


class PartnerSpec(_Section):
    """A partner organization; matched by ``name``."""

    name: Name = Field(description="The partner's key: matches the partner on every apply.")
    title: Title = Field(description="Display name of the partner.")
    users: list[UserSpec] = Field([], description="Logins of the partner API.")
    webhooks: list[WebhookSpec] = Field(
        [], description="Subscribers to the partner's order events."
    )
    stores: list[StoreSpec] = Field([], description="Stores orders can be placed for.")


class ItemSpec(_Section):
    """An item of the marketplace catalog, matched by ``id`` (the partner's item id)."""

    id: Annotated[int, Field(gt=0, le=MAX_ITEM_ID)] = Field(
        description="The partner's item id (wire `id`), 1 to 2147483647; unique on the server."
    )
    title: LongTitle = Field(description="Item title; `GET /partner/item/find` searches its words.")
    category: Name = Field(
        description="Marketplace category uid; a category not seen before is created."
    )
    delivery: bool = Field(False, description="Whether the item can be ordered with delivery.")
    assembly: bool = Field(False, description="Whether the item can be ordered with assembly.")
    delivery_price: Price | None = Field(
        default=None,
        validate_default=True,
        description="Price of delivery in integer minor units of `currency` (2500 is EUR 25.00); "
        "required when `delivery` is true, ignored when it is false.",
    )
    assembly_price: Price | None = Field(
        default=None,
        validate_default=True,
        description="Price of assembly in integer minor units of `currency`; required when "
        "`assembly` is true, ignored when it is false.",
    )
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = Field(
        description="ISO 4217 code of the prices, 3 upper-case letters such as `EUR`."
    )

    @field_validator("delivery_price", "assembly_price")
    @classmethod
    def _price_of_offered_service(cls, value: int | None, info: ValidationInfo) -> int | None:
        service = str(info.field_name).removesuffix("_price")
        if value is None and info.data.get(service) is True:
            raise _fail(f"required when {service} is true")
        return value

    @property
    def services(self) -> dict[str, int]:
        """Prices of the services the item offers, e.g. ``{"delivery": 2500}``."""
        offered: dict[str, int] = {}
        if self.delivery and self.delivery_price is not None:
            offered["delivery"] = self.delivery_price
        if self.assembly and self.assembly_price is not None:
            offered["assembly"] = self.assembly_price
        return offered


class PlaceSpec(_Section):
    """An address of the built-in gazetteer, matched by ``place_id``."""

    place_id: Title = Field(
        description="Stable id of the address, returned by the restaurant API's address check."
    )
    street: Title = Field(description="Street name.")
    number: Annotated[str, StringConstraints(max_length=20)] = Field(
        "", description="House number."
    )
    city: Name = Field(description="City.")
    province: Annotated[str, StringConstraints(max_length=50)] = Field(
        "", description="Province or state."
    )
    zip: Annotated[str, StringConstraints(max_length=20)] = Field("", description="Postal code.")
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] = Field(
        description="ISO 3166 alpha-2 country code, upper-case, such as `IT`."
    )
    lat: Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)] = Field(
        description="Latitude in decimal degrees (WGS 84)."
    )
    lng: Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)] = Field(
        description="Longitude in decimal degrees (WGS 84)."
    )


# --- restaurants ----------------------------------------------------------------------------

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Scope = Literal["write:orders", "read:orders", "read:menu", "write:menu", "write:coupons"]
WEEKDAYS: tuple[Weekday, ...] = get_args(Weekday)
SCOPES: tuple[Scope, ...] = get_args(Scope)
FIXED_DMETHODS = ("0", "1", "0t", "20")
_DMETHOD_WITH_ID = re.compile(r"(0e|dcf)-[A-Za-z0-9]+")
_CLOCK = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


@cache
def _languages() -> frozenset[str]:
    return frozenset(
        code
        for code in Locale("en").languages
        if isinstance(code, str) and re.fullmatch("[a-z]{2}", code)
    )


def _uid(value: str) -> str:
    if not UID_PATTERN.fullmatch(value):
        raise _fail(
            "must start with a letter or digit and contain only letters, digits and . _ ~ -"
        )
    return value


def _language(value: str) -> str:
    if value not in _languages():
        raise _fail("must be a 2-letter lower-case ISO 639-1 language code such as it")
    return value


def _currency(value: str) -> str:
    if not re.fullmatch("[A-Z]{3}", value) or not is_currency(value):
        raise _fail("must be a 3-letter upper-case ISO 4217 code such as EUR")
    return value


def _country(value: str) -> str:
    # Regions with telephone numbering: every inhabited ISO 3166 country, no pseudo-codes
    # such as EU or ZZ.
    if value not in phonenumbers.SUPPORTED_REGIONS:
        raise _fail("must be a 2-letter upper-case ISO 3166 code such as IT")
    return value


def _email(value: str) -> str:
    if not _EMAIL.fullmatch(value):
        raise _fail("must be an e-mail address such as info@example.com")
    return value


def _code(value: str) -> str:
    if not _CODE.fullmatch(value):
        raise _fail("must contain only letters, digits, - and _ and start with a letter or digit")
    return value


def _dmethod(value: str) -> str:
    if value not in FIXED_DMETHODS and not _DMETHOD_WITH_ID.fullmatch(value):
        raise _fail(
            'unknown delivery method; expected "0", "1", "0t", "20", "0e-<id>" or '
            '"dcf-<id>" with a letters-and-digits id'
        )
    return value


def _minutes(clock: str, *, end: bool) -> int:
    if end and clock == "24:00":
        return 24 * 60
    if not _CLOCK.fullmatch(clock):
        raise _fail(
            f'{clock!r} is not a time of day "HH:MM"'
            + (' (or "24:00" to end at midnight)' if end else "")
        )
    return int(clock[:2]) * 60 + int(clock[3:])


def _time_range(value: list[str]) -> list[str]:
    start, end = _minutes(value[0], end=False), _minutes(value[1], end=True)
    if end <= start:
        raise _fail("must end after it starts; split a range that crosses midnight over two days")
    return value


def _no_overlap(ranges: list[list[str]]) -> list[list[str]]:
    ordered = sorted(ranges, key=lambda pair: pair[0])
    for before, after in itertools.pairwise(ordered):
        if after[0] < before[1]:
            raise _fail(f"ranges {before[0]}-{before[1]} and {after[0]}-{after[1]} overlap")
    return ordered


def _slot_length(value: int) -> int:
    if 60 % value and value % 15:
        raise _fail("must divide 60 (such as 5, 10, 15, 20, 30) or be a multiple of 15")
    return value


def _lat_lng(point: list[float]) -> list[float]:
    lat, lng = point
    if not (-90 <= lat <= 90 and -180 <= lng <= 180 and math.isfinite(lat + lng)):
        raise _fail("must be [lat, lng] with lat in -90..90 and lng in -180..180")
    return point


def _simple_polygon(points: list[list[float]]) -> list[list[float]]:
    # Imported here: shapely loads numpy and OpenBLAS (about 20 MiB resident), and this module
    # is imported by every ``orderdesk`` command, the server included, while only documents
    # with polygon zones need it.
    from shapely.geometry import Polygon  # type: ignore[import-untyped]

    shape = Polygon([(lng, lat) for lat, lng in points])
    if shape.area == 0 or not shape.is_valid:
        raise _fail("must be a simple polygon: its edges may not cross and it must enclose an area")
    return points


def _distinct(values: list[Any]) -> list[Any]:
    repeated = sorted({str(v) for v in values if values.count(v) > 1})
    if repeated:
        raise _fail(f"lists {', '.join(repeated)} more than once")
    return values


Uid = Annotated[str, StringConstraints(min_length=1, max_length=100), AfterValidator(_uid)]
ExtId = Annotated[str, StringConstraints(min_length=1, max_length=100), AfterValidator(_not_padded)]
Text = Annotated[str, StringConstraints(max_length=2000)]
ShortName = Annotated[str, StringConstraints(max_length=100)]
Money = Annotated[int, Field(ge=0, le=MAX_INT)]
Position = Annotated[int, Field(ge=0, le=MAX_INT)]
ImageUrl = Annotated[str, StringConstraints(max_length=1000), AfterValidator(_web_url)]
Email = Annotated[str, StringConstraints(max_length=320), AfterValidator(_email)]
TimeRange = Annotated[list[str], Field(min_length=2, max_length=2), AfterValidator(_time_range)]
DayHours = Annotated[list[TimeRange], AfterValidator(_no_overlap)]
LatLng = Annotated[
    list[Annotated[float, Field(allow_inf_nan=False)]],
    Field(min_length=2, max_length=2),
    AfterValidator(_lat_lng),
]
PolygonPoints = Annotated[list[LatLng], Field(min_length=3), AfterValidator(_simple_polygon)]
Secret = Annotated[
    str, StringConstraints(min_length=12, max_length=500), AfterValidator(_not_padded)
]
Code = Annotated[str, StringConstraints(min_length=1, max_length=100), AfterValidator(_code)]
Percent = Annotated[int, Field(ge=0, le=100)]
Lat = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Lng = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]


class ClientSpec(_Section):
    """An API client (``X-Client-Id`` / ``X-Client-Secret`` or OAuth); ``client_id`` is unique
    server-wide."""

    client_id: Title = Field(
        description="`X-Client-Id` header or OAuth `client_id`; unique on the server."
    )
    client_secret: Secret = Field(
        description="`X-Client-Secret` or OAuth `client_secret`, 12 or more characters without "
        "surrounding whitespace; stored only as an argon2id hash."
    )
    scopes: Annotated[list[Scope], Field(min_length=1), AfterValidator(_distinct)] = Field(
        description="What the client may do; at least one, each listed once."
    )
    active: bool = Field(
        True, description="False switches the client off without removing it from the file."
    )


class SoldOutProductSpec(_Section):
    """A product sold out at a subrestaurant (``sold_out`` of the subrestaurant)."""

    product: Uid = Field(
        description="The product uid, of this restaurant's `products` or of its menu in the "
        "database (an earlier apply or a menu import)."
    )
    until: AwareDateTime | None = Field(None, description=_SOLD_OUT_UNTIL)


class SubrestaurantSpec(_Section):
    """A sub-location (``subrestaurant_uid`` on the wire): its address, hours and order slots."""

    uid: Uid = Field(
        description="The wire `subrestaurant_uid`; unique on the server, also among partners' "
        "store ids."
    )
    name: Title = Field(description="Display name of the location.")
    code: Annotated[str, StringConstraints(max_length=20)] = Field(
        "", description="Short internal code of the location."
    )
    address: Title = Field(description="Street and number.")
    city: Name = Field(description="City.")
    province: Annotated[str, StringConstraints(max_length=50)] = Field(
        "", description="Province or state."
    )
    zip: Annotated[str, StringConstraints(max_length=20)] = Field("", description="Postal code.")
    country: Annotated[str, AfterValidator(_country)] = Field(
        description="ISO 3166 alpha-2 country code, upper-case, such as `IT`."
    )
    lat: Lat = Field(description="Latitude in decimal degrees (WGS 84), -90 to 90.")
    lng: Lng = Field(description="Longitude in decimal degrees (WGS 84), -180 to 180.")
    phone: Annotated[str, StringConstraints(max_length=50)] | None = Field(
        None,
        description="A valid phone number for `country`, or in international form such as "
        "`+39 02 1234 5678`.",
    )
    email: Email | None = Field(None, description="Contact e-mail address.")
    opening_hours: dict[Weekday, DayHours] = Field(
        description='Per day (`mon`..`sun`; a day left out is closed): `["HH:MM", "HH:MM"]` '
        "ranges in the restaurant's time zone, end after start (`24:00` may end one), touching "
        "but not overlapping."
    )
    lead_minutes: Annotated[int, Field(ge=0, le=1440)] = Field(
        20, description="Minutes between ordering and the earliest pickup or delivery time."
    )
    slot_minutes: Annotated[int, Field(ge=1, le=1440), AfterValidator(_slot_length)] = Field(
        15,
        description="Length of a pickup or delivery slot in minutes: divides 60 or is a "
        "multiple of 15.",
    )
    orders_per_slot: Annotated[int, Field(ge=1, le=10000)] = Field(
        4,
        description="Orders the location accepts per slot, on every day an operator has not "
        "set that slot otherwise (the console's capacity calendar).",
    )
    paused_until: PausedUntil = Field(None, description=_PAUSED_UNTIL)
    sold_out: Annotated[list[SoldOutProductSpec], _distinct_entries("product")] = Field(
        [], description=_SOLD_OUT + " Each product once."
    )

    @field_validator("phone")
    @classmethod
    def _dialable(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return value
        try:
            number = phonenumbers.parse(value, info.data.get("country"))
            valid = phonenumbers.is_valid_number(number)
        except phonenumbers.NumberParseException:
            valid = False
        if not valid:
            raise _fail(
                "is not a valid phone number for the subrestaurant's country; "
                "use the international form such as +39 02 1234 5678"
            )
        return value

    def settings(self) -> dict[str, Any]:
        """What ``Location.settings`` holds for this sub-location."""
        return {
            "code": self.code,
            "address": self.address,
            "city": self.city,
            "province": self.province,
            "zip": self.zip,
            "country": self.country,
            "lat": self.lat,
            "lng": self.lng,
            "phone": self.phone,
            "email": self.email,
            "opening_hours": {
                day: [list(r) for r in self.opening_hours[day]]
                for day in WEEKDAYS
                if day in self.opening_hours
            },
            "lead_minutes": self.lead_minutes,
            "slot_minutes": self.slot_minutes,
            "orders_per_slot": self.orders_per_slot,
        }


class ZoneSpec(_Section):
    """A delivery zone, matched by ``name`` within its restaurant; document order is the order
    in which zones are tried."""

    name: Title = Field(description="Name of the zone, unique within its restaurant.")
    subrestaurant_uid: Uid = Field(
        description="The subrestaurant of this restaurant that delivers in the zone."
    )
    fee: Money = Field(
        0,
        description="Delivery fee in " + _MINOR + ".",
    )
    order_min: Money = Field(
        0,
        description="Smallest order total for delivery in the zone, in " + _MINOR + ".",
    )
    polygon: PolygonPoints | None = Field(
        None,
        description="The zone's outline: at least 3 `[lat, lng]` points, edges not crossing. "
        "Exactly one of `polygon` and `radius_km`.",
    )
    radius_km: Annotated[float, Field(gt=0, le=100, allow_inf_nan=False)] | None = Field(
        None,
        description="The zone as a circle around the subrestaurant, in kilometres (above 0, at "
        "most 100). Exactly one of `polygon` and `radius_km`.",
    )


class CategorySpec(_Section):
    """A menu category, matched by ``uid`` within its restaurant."""

    uid: Uid = Field(description="Category uid, unique within the restaurant.")
    name: Title = Field(description="Display name.")
    description: Text = Field("", description="Text shown with the category.")
    image: ImageUrl | None = Field(None, description="Absolute `http(s)://` URL of an image.")
    hidden: bool = Field(False, description="True keeps it out of the menu.")
    position: Position | None = Field(
        None, description="Sort position; absent: its index in `categories`."
    )
    ext_id: ExtId | None = Field(
        None,
        description="The POS's id, which `POST /api/menu/import` matches by; unique among the "
        "restaurant's categories.",
    )
    subrestaurant_uids: Annotated[list[Uid], AfterValidator(_distinct)] = Field(
        [], description="Subrestaurants that sell it; empty: all of them."
    )


class OptionValueSpec(_Section):
    """A selectable value of an option, matched by ``uid`` within its option."""

    uid: Uid = Field(description="Value uid, unique within its option.")
    name: Title = Field(description="Display name.")
    short_name: ShortName = Field("", description="Abbreviation for receipts and kitchen tickets.")
    price_operator: Literal["+", "-", "="] = Field(
        "+",
        description="How `price_operand` changes the product's unit price: `+` adds, `-` "
        "subtracts, `=` replaces it.",
    )
    price_operand: Money = Field(
        0,
        description="The amount, per unit, in " + _MINOR + ".",
    )
    hidden: bool = Field(False, description="True keeps it out of the menu.")
    position: Position | None = Field(
        None, description="Sort position; absent: its index in `option_values`."
    )
    checked_default: bool = Field(False, description="Selected unless the customer unselects it.")
    ext_id: ExtId | None = Field(
        None, description="The POS's id; unique among the values of its option."
    )


class OptionSpec(_Section):
    """An option of a product. Field order matters: each rule reads the fields before it."""

    uid: Uid = Field(description="Option uid, unique within the restaurant.")
    name: Title = Field(description="Display name.")
    short_name: ShortName = Field("", description="Abbreviation for receipts and kitchen tickets.")
    type: Literal["single", "multiple"] = Field(
        "multiple", description="`single`: exactly one value at a time; `multiple`: several."
    )
    min_selectable: Annotated[int, Field(ge=0, le=1000)] = Field(
        0,
        description="Fewest distinct values an order must choose; at most the visible values.",
    )
    max_selectable: Annotated[int, Field(ge=1, le=1000)] = Field(
        default=1,
        validate_default=True,
        description="Most distinct values an order may choose: at least `min_selectable`, "
        "1 for a `single` option.",
    )
    max_quantity: Annotated[int, Field(ge=1, le=99)] = Field(
        1, description="How many times one value may be chosen."
    )
    hidden: bool = Field(False, description="True keeps it out of the menu.")
    position: Position | None = Field(
        None, description="Sort position; absent: its index in `options`."
    )
    ext_id: ExtId | None = Field(
        None, description="The POS's id; unique among the options of its product."
    )
    option_values: list[OptionValueSpec] = Field(
        default=[],
        validate_default=True,
        description="The values; at most `max_selectable` of them `checked_default`.",
    )

    @field_validator("max_selectable")
    @classmethod
    def _selectable_range(cls, value: int, info: ValidationInfo) -> int:
        if info.data.get("type") == "single" and value != 1:
            raise _fail("must be 1 for a single option")
        minimum = info.data.get("min_selectable")
        if minimum is not None and value < minimum:
            raise _fail(f"must be at least min_selectable ({minimum})")
        return value

    @field_validator("option_values")
    @classmethod
    def _choosable(
        cls, values: list[OptionValueSpec], info: ValidationInfo
    ) -> list[OptionValueSpec]:
        minimum, maximum = info.data.get("min_selectable"), info.data.get("max_selectable")
        visible = sum(not v.hidden for v in values)
        if minimum is not None and visible < minimum:
            raise _fail(f"has {visible} visible values but min_selectable is {minimum}")
        checked = sum(v.checked_default for v in values)
        if maximum is not None and checked > maximum:
            raise _fail(f"has {checked} checked_default values but max_selectable is {maximum}")
        return values


class ProductSpec(_Section):
    """A menu product, matched by ``uid`` within its restaurant."""

    uid: Uid = Field(description="Product uid, unique within the restaurant.")
    category_uid: Uid = Field(description="The uid of one of this restaurant's `categories`.")
    name: LongTitle = Field(description="Display name; the menu search looks at its words.")
    ingredients: Text = Field("", description="Text shown with the product.")
    price: Money = Field(description="Unit price in " + _MINOR + ".")
    hidden: bool = Field(False, description="True keeps it out of the menu.")
    available: bool = Field(
        True, description="False shows it as sold out: listed, but it cannot be ordered."
    )
    position: Position | None = Field(
        None, description="Sort position; absent: its index in `products`."
    )
    image: ImageUrl | None = Field(None, description="Absolute `http(s)://` URL of an image.")
    ext_id: ExtId | None = Field(
        None,
        description="The POS's id, which `POST /api/menu/import` matches by; unique among the "
        "restaurant's products.",
    )
    subrestaurant_uids: Annotated[list[Uid], AfterValidator(_distinct)] = Field(
        [], description="Subrestaurants that sell it; empty: all of them."
    )
    options: list[OptionSpec] = Field([], description="Choices offered with the product.")


def _some_discount(value: int, info: ValidationInfo) -> int:
    percent = info.data.get("discount_perc")
    if percent == 0 and value == 0:
        raise _fail("discount_perc or discount_amount must be above 0")
    return value


class CouponSpec(_Section):
    """A coupon, matched by its code within its restaurant (stored upper-case)."""

    code: Code = Field(
        description="What customers type: letters, digits, `-` and `_`; matched "
        "case-insensitively, stored upper-case."
    )
    discount_perc: Percent = Field(0, description="Percentage off the subtotal, 0 to 100.")
    discount_amount: Annotated[Money, AfterValidator(_some_discount)] = Field(
        default=0,
        validate_default=True,
        description="Fixed amount off, in " + _MINOR + "; this or `discount_perc` must be above 0.",
    )
    quantity: Annotated[int, Field(ge=0, le=MAX_INT)] | None = Field(
        None,
        description="Uses left; absent or null: unlimited. Re-applying the same value does not "
        "refill a coupon that has been used.",
    )
    order_min: Money = Field(
        0,
        description="Smallest subtotal it applies to, in " + _MINOR + ".",
    )
    valid_from: IsoDate | None = Field(
        None, description="First day it applies, `YYYY-MM-DD`; absent: from now on."
    )
    valid_to: IsoDate | None = Field(
        None, description="Last day it applies, `YYYY-MM-DD`, not before `valid_from`."
    )
    valid_weekdays: Annotated[list[Weekday], AfterValidator(_distinct)] = Field(
        [], description="Days it applies on (`mon`..`sun`), each once; empty: every day."
    )
    valid_email: Email | None = Field(
        None, description="Only orders with this customer e-mail address may use it."
    )

    @field_validator("valid_to")
    @classmethod
    def _not_before_start(cls, value: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("valid_from")
        if value is not None and start is not None and value < start:
            raise _fail(f"must not be before valid_from ({start.isoformat()})")
        return value

    @property
    def iso_weekdays(self) -> list[int]:
        """``valid_weekdays`` as sorted ISO weekday numbers (Monday = 1)."""
        return sorted(WEEKDAYS.index(day) + 1 for day in self.valid_weekdays)


class CouponGeneratorSpec(_Section):
    """Makes one-off coupons; matched by ``gencode`` within its restaurant (stored upper-case)."""

    gencode: Code = Field(
        description="Generator code for `POST /api/coupon/generate`: letters, digits, `-` and "
        "`_`; matched case-insensitively, stored upper-case."
    )
    discount_perc: Percent = Field(
        0, description="Percentage off the subtotal of each coupon made, 0 to 100."
    )
    discount_amount: Annotated[Money, AfterValidator(_some_discount)] = Field(
        default=0,
        validate_default=True,
        description="Fixed amount off, in " + _MINOR + "; this or `discount_perc` must be above 0.",
    )
    order_min: Money = Field(
        0,
        description="Smallest subtotal a coupon made applies to, in " + _MINOR + ".",
    )
    valid_days: Annotated[int, Field(ge=1, le=3650)] = Field(
        30, description="Days a coupon made stays valid."
    )


class RestaurantSpec(_Section):
    """A restaurant organization; matched by ``uid``."""

    uid: Uid = Field(description="The restaurant's key: matches it on every apply.")
    name: Title = Field(description="Display name.")
    timezone: Annotated[str, AfterValidator(_timezone)] = Field(
        description="IANA time zone (such as `Europe/Rome`) of opening hours and order times."
    )
    language: Annotated[str, AfterValidator(_language)] = Field(
        description="ISO 639-1 code, 2 lower-case letters such as `it`: the default language "
        "of answers."
    )
    currency: Annotated[str, AfterValidator(_currency)] = Field(
        description="ISO 4217 code, 3 upper-case letters such as `EUR`, of every price of the "
        "restaurant."
    )
    auto_confirm: bool = Field(
        False, description="True confirms new orders at once instead of waiting for the restaurant."
    )
    countdown_seconds: Annotated[int, Field(ge=30, le=86400)] = Field(
        300, description="Seconds the restaurant has to confirm an order before it times out."
    )
    # An extension: false switches the restaurant's API off (every call answers API_DISABLED
    # 403) without deleting its credentials.
    api_enabled: bool = Field(
        True,
        description="False answers every API call with `API_DISABLED` (403) and keeps the "
        "credentials.",
    )
    api_keys: list[Secret] = Field(
        [],
        description="`X-Api-Key` values, 12 or more characters each, unique on the server; only "
        "their SHA-256 is stored.",
    )
    clients: list[ClientSpec] = Field([], description="API clients of the ordering endpoints.")
    webhooks: list[WebhookSpec] = Field(
        [], description="Subscribers to the restaurant's order events."
    )
    subrestaurants: list[SubrestaurantSpec] = Field([], description="The restaurant's locations.")
    dmethods: Annotated[
        list[Annotated[str, AfterValidator(_dmethod)]], AfterValidator(_distinct)
    ] = Field(
        ["0"],
        description="Delivery methods offered, each once: `0` pickup, `1` delivery, `0t` table, "
        "`20` pickup point, `0e-<id>` event, `dcf-<id>` custom.",
    )
    cash_subs: Annotated[list[Name], AfterValidator(_distinct)] = Field(
        [], description="`payment_method_sub` values a cash order may name (such as `cash`)."
    )
    zones: list[ZoneSpec] = Field([], description="Delivery zones, tried in document order.")
    categories: list[CategorySpec] = Field([], description="Menu categories.")
    products: list[ProductSpec] = Field([], description="Menu products.")
    coupons: list[CouponSpec] = Field([], description="Discount codes.")
    coupon_generators: list[CouponGeneratorSpec] = Field(
        [], description="Makers of one-off coupons."
    )

    def settings(self) -> dict[str, Any]:
        """What ``Organization.settings`` holds for this restaurant (the document's part)."""
        return {
            "timezone": self.timezone,
            "language": self.language,
            "currency": self.currency,
            "auto_confirm": self.auto_confirm,
            "countdown_seconds": self.countdown_seconds,
            "dmethods": list(self.dmethods),
            "cash_subs": list(self.cash_subs),
            "api_enabled": self.api_enabled,
        }


class SetupDocument(_Section):
    """The setup document of ``orderdesk apply``: what the server should hold. Applying it is
    idempotent and all or nothing; entities it does not mention are left alone."""

    version: Annotated[Literal[1], BeforeValidator(_only_one)] = Field(
        description="Format version; this server reads version 1."
    )
    partners: list[PartnerSpec] = Field([], description="Partner organizations (partner API).")
    items: list[ItemSpec] = Field(
        [], description="The marketplace catalog partners order from; ids unique."
    )
    restaurants: list[RestaurantSpec] = Field(
        [], description="Restaurant organizations (restaurant API)."
    )
    places: list[PlaceSpec] = Field(
        [], description="Addresses of the built-in gazetteer for the address check."
    )


def parse_setup(raw: object) -> SetupDocument:
    """Validate a decoded JSON document; raise :class:`SetupInvalid` listing every error."""
    if not isinstance(raw, dict):
        raise SetupInvalid([SetupError("$", "the setup document must be a JSON object")])
    errors: list[SetupError] = []
    document: SetupDocument | None = None
    try:
        document = SetupDocument.model_validate(raw)
    except ValidationError as exc:
        errors.extend(_from_pydantic(exc))
    errors.extend(_cross_errors(raw))
    if errors or document is None:
        raise SetupInvalid(sorted(errors, key=lambda e: _path_order(e.path)))
    return document


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_FRIENDLY = {
    "missing": "required",
    "extra_forbidden": "unknown key",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "list_type": "must be an array",
    "string_type": "must be a string",
    "int_type": "must be an integer",
    "bool_type": "must be true or false",
    "float_type": "must be a number",
}


def json_path(loc: Iterable[int | str]) -> str:
    """``("partners", 0, "stores")`` → ``$.partners[0].stores``; odd keys are quoted."""
    path = "$"
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part == "[key]":
            continue  # pydantic marks errors of a dict key this way; the key is already named
        elif _IDENTIFIER.match(part):
            path += f".{part}"
        else:
            path += f"[{json.dumps(part, ensure_ascii=False)}]"
    return path


def _from_pydantic(exc: ValidationError) -> Iterator[SetupError]:
    for error in exc.errors(include_url=False):
        message = _FRIENDLY.get(error["type"], error["msg"])
        if error["type"] == "string_pattern_mismatch":
            message = _pattern_message(error["loc"])
        yield SetupError(json_path(error["loc"]), message)


def _pattern_message(loc: tuple[int | str, ...]) -> str:
    field = loc[-1] if loc else ""
    if field == "currency":
        return "must be a 3-letter upper-case ISO 4217 code such as EUR"
    if field == "country":
        return "must be a 2-letter upper-case ISO 3166 code such as IT"
    return "has an invalid format"


def _path_order(path: str) -> tuple[int, ...]:
    """Sort key for document order: section as in the schema, then array positions.

    ``$.items[2]`` comes before ``$.items[10]``; errors at the same positions keep the order in
    which they were found (the sort is stable).
    """
    sections = list(SetupDocument.model_fields)
    top = re.match(r"\$\.(\w+)", path)
    rank = sections.index(top[1]) if top and top[1] in sections else len(sections)
    return (rank, *(int(index) for index in re.findall(r"\[(\d+)\]", path)))


class _Unique:
    """Reports every repeat of a value that must be unique, pointing at its first use."""

    def __init__(self, what: str, errors: list[SetupError]) -> None:
        self._what = what
        self._errors = errors
        self._first: dict[object, str] = {}

    def first_use(self, value: object) -> str | None:
        """Where ``value`` was first seen, if it was."""
        return self._first.get(value) if isinstance(value, str | int | tuple) else None

    def see(self, value: object, path: str) -> None:
        if isinstance(value, bool) or not isinstance(value, str | int | tuple):
            return  # a type error already reported by the schema
        first = self._first.setdefault(value, path)
        if first != path:
            shown = " ".join(map(str, value)) if isinstance(value, tuple) else value
            self._errors.append(
                SetupError(path, f"duplicate {self._what} {shown!s}; first used at {first}")
            )


def _objects(value: object, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, dict):
                yield f"{path}[{index}]", item


def _cross_errors(raw: dict[str, Any]) -> list[SetupError]:
    """Rules spanning several entries, checked on the raw input so they are reported together
    with the schema's errors (a pydantic model validator would only run once the rest is valid).
    """
    errors: list[SetupError] = []
    partner_names = _Unique("partner name", errors)
    store_ids = _Unique("store id", errors)
    logins = _Unique("login", errors)
    for base, partner in _objects(raw.get("partners"), "$.partners"):
        partner_names.see(partner.get("name"), f"{base}.name")
        for path, user in _objects(partner.get("users"), f"{base}.users"):
            logins.see(user.get("login"), f"{path}.login")
        urls = _Unique("webhook url", errors)
        for path, hook in _objects(partner.get("webhooks"), f"{base}.webhooks"):
            urls.see(hook.get("url"), f"{path}.url")
        for path, store in _objects(partner.get("stores"), f"{base}.stores"):
            store_ids.see(store.get("id"), f"{path}.id")
            overrides = _Unique("override of", errors)
            for at, override in _objects(store.get("masters_on"), f"{path}.masters_on"):
                day, slot = override.get("date"), override.get("timeslot")
                if isinstance(day, str) and isinstance(slot, str):
                    overrides.see((day, slot), at)

    item_ids = _Unique("item id", errors)
    for path, item in _objects(raw.get("items"), "$.items"):
        item_ids.see(item.get("id"), f"{path}.id")
    place_ids = _Unique("place_id", errors)
    for path, place in _objects(raw.get("places"), "$.places"):
        place_ids.see(place.get("place_id"), f"{path}.place_id")
    _restaurant_errors(raw.get("restaurants"), store_ids, errors)
    return errors


def _upper(value: object) -> object:
    return value.upper() if isinstance(value, str) else value


def _restaurant_errors(restaurants: object, store_ids: _Unique, errors: list[SetupError]) -> None:
    """Uniqueness and references of the restaurant sections (server-wide ones across all)."""
    uids = _Unique("restaurant uid", errors)
    locations = _Unique("subrestaurant uid", errors)
    client_ids = _Unique("client_id", errors)
    api_keys: dict[str, str] = {}
    for base, restaurant in _objects(restaurants, "$.restaurants"):
        uids.see(restaurant.get("uid"), f"{base}.uid")
        keys = restaurant.get("api_keys")
        for index, key in enumerate(keys if isinstance(keys, list) else []):
            if isinstance(key, str):
                first = api_keys.setdefault(key, f"{base}.api_keys[{index}]")
                if first != f"{base}.api_keys[{index}]":
                    errors.append(
                        SetupError(
                            f"{base}.api_keys[{index}]", f"duplicate API key; first used at {first}"
                        )
                    )
        for path, client in _objects(restaurant.get("clients"), f"{base}.clients"):
            client_ids.see(client.get("client_id"), f"{path}.client_id")
        urls = _Unique("webhook url", errors)
        for path, hook in _objects(restaurant.get("webhooks"), f"{base}.webhooks"):
            urls.see(hook.get("url"), f"{path}.url")
        own: set[object] = set()
        for path, sub in _objects(restaurant.get("subrestaurants"), f"{base}.subrestaurants"):
            uid = sub.get("uid")
            store = store_ids.first_use(uid)
            if store is not None:
                errors.append(
                    SetupError(f"{path}.uid", f"uid {uid} is already the store id at {store}")
                )
            locations.see(uid, f"{path}.uid")
            if isinstance(uid, str):  # anything else is a type error the schema reports
                own.add(uid)
        zone_names = _Unique("zone name", errors)
        for path, zone in _objects(restaurant.get("zones"), f"{base}.zones"):
            zone_names.see(zone.get("name"), f"{path}.name")
            _check_reference(
                zone.get("subrestaurant_uid"),
                own,
                f"{path}.subrestaurant_uid",
                "subrestaurant",
                errors,
            )
            shapes = [k for k in ("polygon", "radius_km") if zone.get(k) is not None]
            if len(shapes) != 1:
                errors.append(SetupError(path, "needs exactly one of polygon and radius_km"))
        categories = _catalog_errors(restaurant, base, own, errors)
        _product_errors(restaurant, base, own, categories, errors)
        codes = _Unique("coupon code", errors)
        for path, coupon in _objects(restaurant.get("coupons"), f"{base}.coupons"):
            codes.see(_upper(coupon.get("code")), f"{path}.code")
        gencodes = _Unique("gencode", errors)
        for path, generator in _objects(
            restaurant.get("coupon_generators"), f"{base}.coupon_generators"
        ):
            gencodes.see(_upper(generator.get("gencode")), f"{path}.gencode")


def _check_reference(
    value: object, known: set[object], path: str, what: str, errors: list[SetupError]
) -> None:
    if isinstance(value, str) and value not in known:
        errors.append(SetupError(path, f"no {what} {value} in this restaurant"))


def _check_locations(
    entity: dict[str, Any], path: str, own: set[object], errors: list[SetupError]
) -> None:
    locations = entity.get("subrestaurant_uids")
    if isinstance(locations, list):
        for index, uid in enumerate(locations):
            _check_reference(
                uid, own, f"{path}.subrestaurant_uids[{index}]", "subrestaurant", errors
            )


def _catalog_errors(
    restaurant: dict[str, Any], base: str, own: set[object], errors: list[SetupError]
) -> set[object]:
    """Checks the categories; returns their uids."""
    uids = _Unique("category uid", errors)
    ext_ids = _Unique("category ext_id", errors)
    declared: set[object] = set()
    for path, category in _objects(restaurant.get("categories"), f"{base}.categories"):
        uids.see(category.get("uid"), f"{path}.uid")
        ext_ids.see(category.get("ext_id"), f"{path}.ext_id")
        if isinstance(category.get("uid"), str):  # else a type error the schema reports
            declared.add(category.get("uid"))
        _check_locations(category, path, own, errors)
    return declared


def _product_errors(
    restaurant: dict[str, Any],
    base: str,
    own: set[object],
    categories: set[object],
    errors: list[SetupError],
) -> None:
    uids = _Unique("product uid", errors)
    ext_ids = _Unique("product ext_id", errors)
    option_uids = _Unique("option uid", errors)
    for path, product in _objects(restaurant.get("products"), f"{base}.products"):
        uids.see(product.get("uid"), f"{path}.uid")
        ext_ids.see(product.get("ext_id"), f"{path}.ext_id")
        _check_reference(
            product.get("category_uid"), categories, f"{path}.category_uid", "category", errors
        )
        _check_locations(product, path, own, errors)
        option_ext_ids = _Unique("option ext_id", errors)
        for at, option in _objects(product.get("options"), f"{path}.options"):
            option_uids.see(option.get("uid"), f"{at}.uid")
            option_ext_ids.see(option.get("ext_id"), f"{at}.ext_id")
            value_uids = _Unique("value uid", errors)
            value_ext_ids = _Unique("value ext_id", errors)
            for where, value in _objects(option.get("option_values"), f"{at}.option_values"):
                value_uids.see(value.get("uid"), f"{where}.uid")
                value_ext_ids.see(value.get("ext_id"), f"{where}.ext_id")
