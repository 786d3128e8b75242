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
* ``restaurants`` is recognised but not supported yet: an empty list is accepted, anything in it is
  an error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from orderdesk.core.scheduling.service import MASTER_TIMESLOTS

MAX_MASTERS = 1000
MAX_ITEM_ID = 2**31 - 1
RESTAURANTS_UNSUPPORTED = "restaurant sections are not supported by this version yet"


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


def _timeslot(value: str) -> str:
    if value not in MASTER_TIMESLOTS:
        raise _fail(f"unknown timeslot; expected one of {', '.join(MASTER_TIMESLOTS)}")
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
Timeslot = Annotated[str, AfterValidator(_timeslot)]
IsoDate = Annotated[date, BeforeValidator(_iso_date)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class UserSpec(_Section):
    """A login of the partner API; matched by ``login`` (unique server-wide)."""

    login: Title
    password: Annotated[str, StringConstraints(min_length=8, max_length=1024)]


class WebhookSpec(_Section):
    """A webhook subscriber; matched by ``url`` within its partner."""

    url: Annotated[str, StringConstraints(max_length=2000), AfterValidator(_web_url)]
    secret: Annotated[str, StringConstraints(min_length=8, max_length=500)]


class CapacityOverrideSpec(_Section):
    """``masters_on``: the number of masters of one date and timeslot, replacing ``masters``."""

    date: IsoDate
    timeslot: Timeslot
    masters: MasterCount


class StoreSpec(_Section):
    """A store; ``id`` is the wire ``store_id``, unique server-wide."""

    id: Name
    title: Title
    timezone: Annotated[str, AfterValidator(_timezone)]
    masters: dict[Timeslot, MasterCount]
    masters_on: list[CapacityOverrideSpec] = []

    @field_validator("masters")
    @classmethod
    def _every_timeslot(cls, value: dict[str, int]) -> dict[str, int]:
        missing = [slot for slot in MASTER_TIMESLOTS if slot not in value]
        if missing:
            raise _fail(f"missing timeslot {', '.join(missing)}; every timeslot needs a count")
        return value


class PartnerSpec(_Section):
    """A partner organization; matched by ``name``."""

    name: Name
    title: Title
    users: list[UserSpec] = []
    webhooks: list[WebhookSpec] = []
    stores: list[StoreSpec] = []


class ItemSpec(_Section):
    """An item of the marketplace catalog, matched by ``id`` (the partner's item id)."""

    id: Annotated[int, Field(gt=0, le=MAX_ITEM_ID)]
    title: LongTitle
    category: Name
    delivery: bool = False
    assembly: bool = False
    delivery_price: Price | None = Field(default=None, validate_default=True)
    assembly_price: Price | None = Field(default=None, validate_default=True)
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]

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

    place_id: Title
    street: Title
    number: Annotated[str, StringConstraints(max_length=20)] = ""
    city: Name
    province: Annotated[str, StringConstraints(max_length=50)] = ""
    zip: Annotated[str, StringConstraints(max_length=20)] = ""
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
    lat: Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
    lng: Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]


class SetupDocument(_Section):
    version: Annotated[Literal[1], BeforeValidator(_only_one)]
    partners: list[PartnerSpec] = []
    items: list[ItemSpec] = []
    places: list[PlaceSpec] = []
    restaurants: list[Any] = []


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
    restaurants = raw.get("restaurants")
    if isinstance(restaurants, list) and restaurants:
        errors.append(SetupError("$.restaurants", RESTAURANTS_UNSUPPORTED))

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
    return errors
