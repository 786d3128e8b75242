"""Partner API endpoints. Each one authenticates, translates the wire shape to a core call inside
one transaction, and renders the result; no business rule lives here."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException as StarletteHTTPException

from orderdesk.core.attachments import service as attachments
from orderdesk.core.catalog import service as catalog
from orderdesk.core.errors import (
    ErrorType,
    FieldError,
    NotFound,
    ValidationFailed,
)
from orderdesk.core.orders import service as orders
from orderdesk.core.orders.schemas import LineDraft, OrderDraft, OrderFilter, PathTable
from orderdesk.core.organizations import service as organizations
from orderdesk.core.scheduling import service as scheduling
from orderdesk.core.scheduling.service import SlotChoice
from orderdesk.dialects.partner import timeslots, wire
from orderdesk.dialects.partner.auth import Partner, Token
from orderdesk.dialects.partner.errors import Challenge
from orderdesk.dialects.partner.openapi import AUTH, CATALOG, IMAGES, ORDERS, filter_parameters
from orderdesk.dialects.partner.paths import PATHS, read_at
from orderdesk.http.body import documented_body, read_body
from orderdesk.http.idempotent import IdempotencyKey, create_once, send_model
from orderdesk.http.state import State
from orderdesk.http.validation import parse_data, parse_json

# Operation ids name the generated clients' functions: partner_order_create, not FastAPI's
# order_create_partner_order_create_post.
router = APIRouter(generate_unique_id_function=lambda route: f"partner_{route.name}")
# Masters are booked in this API's timeslots; the core knows none of its own.
scheduling.define_slots(timeslots.TIMESLOTS)


# ---------------------------------------------------------------------------------------------
# Authentication


@router.post(
    "/auth/authorize",
    openapi_extra=documented_body(wire.LoginIn),
    summary="Log in and get a token",
    tags=[AUTH],
)
async def authorize(request: Request, state: State) -> Response:
    """Exchange the partner's login and password for a token, to be sent in the `token` header
    of every other call. Tokens last 30 days unless revoked. Repeated wrong passwords for one
    login are throttled (429 with `Retry-After`)."""
    body = parse_json(wire.LoginIn, await read_body(request, 64 * 1024))
    settings = state.settings
    async with state.transaction() as session:
        issued = await organizations.authenticate(
            session,
            body.login,
            body.password,
            now=state.now(),
            token_ttl=settings.token_ttl,
            max_failures=settings.login_max_failures,
            window=timedelta(seconds=settings.login_window_seconds),
        )
    if issued is None or issued.principal.organization_kind != "partner":
        # One description for an unknown login and a wrong password: logins stay secret.
        raise Challenge("invalid_grant", "wrong login or password")
    user = wire.User(
        login=issued.principal.login or body.login,  # a login's principal has its login
        partner=issued.principal.organization_key,
        partner_title=issued.principal.organization_title,
    )
    return send_model(wire.LoginOk(data=wire.Login(token=issued.token, user=user)))


@router.post("/auth/revoke", summary="Revoke the token of this request", tags=[AUTH])
async def revoke(partner: Partner, state: State, token: Token) -> Response:
    """The token sent with this request stops working at once; other tokens of the same login
    are not touched."""
    assert token  # Partner has refused a request without one
    async with state.transaction() as session:
        await organizations.revoke_token(session, token, now=state.now())
    return send_model(wire.RevokedOk(data=wire.Revoked(revoked=True)))


# ---------------------------------------------------------------------------------------------
# Catalog and stores


@router.get(
    "/slots/free", summary="Free master slots of a store for the next 31 days", tags=[CATALOG]
)
async def free_slots(
    state: State,
    store_id: Annotated[str, Query(description="The store, as in the store list")],
) -> Response:
    """For each local date of the store from today through today + 30 days, whether a master is
    still free in each timeslot (0712, 1217, 1721: hours in the store's time zone). A slot that
    has begun is not free. Needs no token; an unknown store is a 422 on `store_id`."""
    if not store_id:
        raise ValidationFailed(errors=[FieldError("store_id", "required", "is required")])
    async with state.reads() as session:
        location = await organizations.get_location_by_key(session, store_id, kind="partner")
        if location is None:
            raise ValidationFailed(errors=[FieldError("store_id", "not_found", "unknown store")])
        slots = await scheduling.free_slots(session, location, state.now())
    return send_model(
        wire.FreeSlotsOk.model_validate(
            {"data": {day.isoformat(): free for day, free in slots.items()}}
        )
    )


@router.get("/item/list", summary="Items that can be ordered, by id", tags=[CATALOG])
async def item_list(
    partner: Partner,
    state: State,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    skip: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    """The catalog in the order of item ids, a page at a time; `delivery` and `assembly` say
    which services can be ordered with each item and what they cost (minor units)."""
    async with state.reads() as session:
        rows = await catalog.list_products(session, organization_id=None, limit=limit, skip=skip)
    return send_model(wire.ItemsOk(data=[wire.render_item(p, c) for p, c in rows]))


@router.get(
    "/item/find", summary="Items whose title words start with the query words", tags=[CATALOG]
)
async def item_find(
    partner: Partner,
    state: State,
    name: Annotated[str, Query(min_length=1, max_length=200, description="Words to look for")],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Response:
    """Case- and accent-insensitive search: every word of `name` must begin a word of the
    item's title ("wardr" finds "PAX Wardrobe"); best matches first."""
    async with state.reads() as session:
        rows = await catalog.find_products(session, name, organization_id=None, limit=limit)
    return send_model(wire.ItemsOk(data=[wire.render_item(p, c) for p, c in rows]))


@router.get("/store/list", summary="The caller's stores", tags=[CATALOG])
async def store_list(partner: Partner, state: State) -> Response:
    """The stores orders can be placed for (`store_id`), with the time zone their timeslots
    are counted in."""
    async with state.reads() as session:
        locations = await organizations.list_locations(session, partner.organization_id)
    return send_model(wire.StoresOk(data=[wire.render_store(loc) for loc in locations]))


# ---------------------------------------------------------------------------------------------
# Images


def _image_url(request: Request, state: State, image_id: str) -> str:
    base = state.settings.public_url or str(request.base_url).rstrip("/")
    return f"{base}/partner/images/{image_id}.webp"


@router.post(
    "/image/upload",
    summary="Upload a receipt image (multipart, one file)",
    tags=[IMAGES],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                    }
                }
            },
        }
    },
)
async def image_upload(request: Request, partner: Partner, state: State) -> Response:
    """One image file (any part name) is stored re-encoded as WebP (at most 2560 px a side,
    metadata stripped); its `id` goes into an order's `image_uuids`. Not an image, a corrupt
    one, or one over the size or pixel limits is a 422 on `file`."""
    settings = state.settings
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise ValidationFailed(
            errors=[
                FieldError(
                    "file", "required", "send the image as multipart/form-data with one file part"
                )
            ]
        )
    try:
        form = await request.form(max_files=1, max_fields=20)
    except StarletteHTTPException as exc:  # Starlette words multipart problems as a bare 400
        if exc.status_code != 400:  # a body that came too slowly (408) is not the file's fault
            raise
        kind: ErrorType = "max" if str(exc.detail).startswith("Too many") else "format"
        raise ValidationFailed(errors=[FieldError("file", kind, str(exc.detail))]) from None
    limits = attachments.ImageLimits(
        settings.upload_max_bytes, settings.upload_max_pixels, settings.image_max_side
    )
    try:
        upload = next((v for _, v in form.multi_items() if not isinstance(v, str)), None)
        if upload is None:
            raise ValidationFailed(errors=[FieldError("file", "required", "no file part")])
        # The spooled file rather than its bytes: an upload waiting for decode memory holds
        # no copy of itself, and the decoder reads it as it goes.
        async with state.transaction() as session:
            image = await attachments.upload_image(
                session,
                state.storage,
                organization_id=partner.organization_id,
                data=upload.file,
                limits=limits,
                now=state.now(),
                budget=attachments.decode_budget(settings.image_decode_memory_mb * 1024 * 1024),
                wait=settings.image_decode_wait,
            )
    finally:
        await form.close()
    uploaded = wire.UploadedImage(
        id=image.id, url=_image_url(request, state, image.id), mimetype=image.mimetype
    )
    return send_model(wire.UploadedOk(data=[uploaded]))


@router.get(
    "/images/{name}",
    summary="An uploaded image, by its URL",
    response_class=Response,
    tags=[IMAGES],
)
async def image_get(
    name: Annotated[str, Path(description="`<id>.webp`, as in the upload's `url`")], state: State
) -> Response:
    """The image itself. Its URL is unguessable, so it needs no token (an `<img>` can show it)."""
    image_id = name.removesuffix(".webp")
    async with state.reads() as session:
        image = await attachments.get_image(session, image_id)
    data = await state.storage.load(image.storage_key) if image else None
    if image is None or data is None:
        raise NotFound("image not found")
    return Response(
        data,
        media_type=image.mimetype,
        headers={
            "Cache-Control": "private, max-age=31536000, immutable",
            "X-Content-Type-Options": "nosniff",
        },
    )


# ---------------------------------------------------------------------------------------------
# Orders


def _preferences(entries: list[wire.DateTimeIn]) -> list[SlotChoice]:
    return [SlotChoice(e.date, e.timeslot) for e in entries]


def _draft(body: wire.CreateOrderIn) -> OrderDraft:
    details = body.partner_details
    address = None
    if body.address is not None:
        address = body.address.model_dump()
    lines = [
        LineDraft(
            item_id=item.id,
            quantity=item.count,
            services=tuple(s for s in ("delivery", "assembly") if getattr(item, s)),
        )
        for item in details.items
    ]
    return OrderDraft(
        location_key=details.store_id,
        customer={
            "first_name": body.customer.first_name,
            "last_name": body.customer.last_name,
            "phone": body.customer.phone_number,
        },
        address=address,
        payment_method=body.payment_method,
        ready=details.instock,
        preferences=_preferences(body.datetime),
        lines=lines,
        image_ids=body.image_uuids,
        fulfilment={"delivery_type": details.delivery_type},
    )


def _readable_draft(data: Any) -> tuple[OrderDraft, PathTable] | None:
    """The parts of a body that failed its shape checks that can still be checked by the core,
    with the wire paths of what the draft kept (items and dates that cannot be read are left
    out, so the draft's positions are not the request's).

    Values that are malformed become blanks the core rejects at the same path, and such
    duplicates are dropped by :func:`_all_errors`.
    """
    if not isinstance(data, dict):
        return None

    def obj(value: Any) -> dict[str, Any]:
        return value if isinstance(value, dict) else {}

    def seq(value: Any) -> list[Any]:
        return value if isinstance(value, list) else []

    def text(value: Any) -> str:
        return value if isinstance(value, str) else ""

    details = obj(data.get("partner_details"))
    lines, lines_at = [], []
    for i, item in enumerate(map(obj, seq(details.get("items")))):
        if type(item.get("id")) is int:
            services = tuple(s for s in ("delivery", "assembly") if item.get(s) is True)
            lines.append(LineDraft(item_id=item["id"], quantity=1, services=services))
            lines_at.append(i)
    preferences, preferences_at = [], []
    for i, entry in enumerate(seq(data.get("datetime"))):
        try:
            parsed = wire.DateTimeIn.model_validate(entry, strict=False)
        except PydanticValidationError:
            continue
        preferences.append(SlotChoice(parsed.date, parsed.timeslot))
        preferences_at.append(i)
    draft = OrderDraft(
        location_key=text(details.get("store_id")),
        customer={"phone": text(obj(data.get("customer")).get("phone_number"))},
        address=None,
        payment_method="",
        ready=False,
        preferences=preferences,
        lines=lines,
        image_ids=[text(v) for v in seq(data.get("image_uuids"))],
    )
    return draft, read_at(lines_at, preferences_at)


def _overlaps(a: str, b: str) -> bool:
    return a == b or a.startswith(f"{b}.") or b.startswith(f"{a}.")


async def _all_errors(
    failed: ValidationFailed, raw: bytes, partner: Partner, state: State
) -> ValidationFailed:
    """``failed`` plus what the core finds in the readable rest of the body (one 422 for all)."""
    if any(error.path == "body" for error in failed.errors):
        return failed  # not JSON, or not an object: nothing else can be read
    try:
        readable = _readable_draft(json.loads(raw))
    except (ValueError, RecursionError):
        readable = None
    if readable is None:
        return failed
    draft, paths = readable
    async with state.reads() as session:
        found = paths.errors(await orders.draft_errors(session, partner, draft, now=state.now()))
    extra = [e for e in found if not any(_overlaps(e.path, f.path) for f in failed.errors)]
    return ValidationFailed(errors=[*failed.errors, *extra])


def _actor(partner: Partner) -> str:
    return f"partner:{partner.organization_key}/{partner.login}"


@router.post(
    "/order/create",
    summary="Create an order (books a master when in stock)",
    openapi_extra=documented_body(wire.CreateOrderIn),
    tags=[ORDERS],
)
async def order_create(
    request: Request, partner: Partner, state: State, idempotency_key: IdempotencyKey = None
) -> Response:
    """Validates the whole body (every invalid field in one 422), prices the order and stores it.
    With `instock` true a master is booked in the first `datetime` entry that still has one free,
    atomically; if none has, nothing is stored (422 on `datetime`, type `unavailable`). With
    `instock` false only the preferences are kept. Send an `Idempotency-Key` to make a retry
    safe: the same key and body within 24 h answer the first result again
    (`Idempotent-Replayed: true`) instead of creating a second order."""
    raw = await read_body(request, 256 * 1024)
    try:
        body = parse_json(wire.CreateOrderIn, raw)
    except ValidationFailed as failed:
        raise await _all_errors(failed, raw, partner, state) from None

    async def create(session: AsyncSession) -> wire.CreatedOk:
        with PATHS.applied():
            view = await orders.create_order(
                session, partner, _draft(body), actor=_actor(partner), now=state.now()
            )
        return wire.CreatedOk(data=wire.render_created(view))

    return await create_once(
        state,
        scope=f"partner:{partner.organization_id}",
        key=idempotency_key,
        raw=raw,
        create=create,
    )


@router.post(
    "/order/quote",
    summary="Check and price an order without creating it (extension)",
    openapi_extra=documented_body(wire.CreateOrderIn),
    tags=[ORDERS],
)
async def order_quote(request: Request, partner: Partner, state: State) -> Response:
    """An extension of this server: neither original API has it. Takes exactly the body of
    `POST /order/create` and runs every check a create would (the same 422s, including a
    `datetime` with no master free when `instock` is true), then answers with the priced order:
    items with their delivery and assembly prices, totals in minor units, and the timeslot a
    create would book now. Nothing is stored and nothing is booked, so it needs no
    `Idempotency-Key`; a create a moment later may still find the last master taken."""
    raw = await read_body(request, 256 * 1024)
    try:
        body = parse_json(wire.CreateOrderIn, raw)
    except ValidationFailed as failed:
        raise await _all_errors(failed, raw, partner, state) from None
    async with state.reads() as session:
        with PATHS.applied():
            quote = await orders.quote_order(session, partner, _draft(body), now=state.now())
        return send_model(wire.QuoteOk(data=wire.render_quote(quote)))


def _filter_from_query(request: Request) -> OrderFilter:
    """Both encodings clients use: ``filter=<json>`` or ``filter[query]=..&filter[x][]=..``."""
    params = request.query_params
    raw: dict[str, Any] = {}
    if "filter" in params:
        try:
            decoded = json.loads(params["filter"])
        except ValueError:
            raise ValidationFailed(
                errors=[
                    FieldError(
                        "filter", "format", "filter must be a JSON object or bracket parameters"
                    )
                ]
            ) from None
        if not isinstance(decoded, dict):
            raise ValidationFailed(
                errors=[FieldError("filter", "type", "filter must be an object")]
            )
        raw = decoded
    for name, value in params.multi_items():
        if not name.startswith("filter["):
            continue
        parts = name[len("filter[") :].replace("]", "").split("[")
        key = parts[0]
        if len(parts) == 1:
            raw[key] = value
        else:
            raw.setdefault(key, [])
            if isinstance(raw[key], list):
                raw[key].append(value)
    parsed = parse_data(wire.OrderFilterIn, raw, prefix=("filter",))
    return OrderFilter(
        query=parsed.query or None,
        location_keys=tuple(parsed.store_ids),
        statuses=tuple(parsed.filter),
    )


@router.get(
    "/order/list",
    summary="The caller's orders, newest first",
    tags=[ORDERS],
    # The filter is read from the raw query (two encodings, see _filter_from_query); declared
    # here so that clients and the fuzz tests know of it.
    openapi_extra={"parameters": filter_parameters()},
)
async def order_list(
    request: Request,
    partner: Partner,
    state: State,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    skip: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    """The partner's orders, newest first, a page at a time. `filter` narrows them by text (title,
    customer name, phone), by store and by status or substatus; it is given either as one JSON
    object or in bracket form (`filter[query]=..&filter[store_ids][]=..&filter[filter][]=open`)."""
    flt = _filter_from_query(request)
    async with state.reads() as session:
        views = await orders.list_orders(session, partner, flt, limit=limit, skip=skip)
    return send_model(wire.OrdersOk(data=[wire.render_order(v) for v in views]))


MAX_ORDER_ID = 2**31 - 1  # the orders.id column is a 32-bit integer
# Documented as the integer it is, but read as text: anything else is an order that does not
# exist (404, as it always was) rather than the framework's 422.
OrderId = Annotated[
    str,
    Path(
        description="The order's `_id`",
        json_schema_extra={"type": "integer", "minimum": 1, "maximum": MAX_ORDER_ID},
    ),
]


def _order_id(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12 or int(raw) > MAX_ORDER_ID:
        raise NotFound(f"order {raw} not found")
    return int(raw)


@router.get("/order/{order_id}", summary="One order", tags=[ORDERS])
async def order_get(order_id: OrderId, partner: Partner, state: State) -> Response:
    """The order as it is now; another partner's order is answered as not found."""
    async with state.reads() as session:
        view = await orders.get_order(session, partner, _order_id(order_id))
    return send_model(wire.OrderOk(data=wire.render_order(view)))


@router.post(
    "/order/{order_id}/instock",
    summary="Mark the goods in stock and book a master",
    tags=[ORDERS],
)
async def order_instock(order_id: OrderId, partner: Partner, state: State) -> Response:
    """The goods have arrived: `instock` becomes true and a master is booked in the first stored
    preference that still has one free (substatus `awaiting_master_request`), or the order waits
    for new dates (`in_stock_awaiting_date`)."""
    async with state.transaction() as session:
        view = await orders.mark_ready(
            session, partner, _order_id(order_id), actor=_actor(partner), now=state.now()
        )
        return send_model(wire.OrderOk(data=wire.render_order(view)))


@router.post(
    "/order/{order_id}/datetime",
    summary="Change the preferred dates and rebook",
    openapi_extra=documented_body(wire.ChangeDatesIn),
    tags=[ORDERS],
)
async def order_datetime(
    order_id: OrderId, request: Request, partner: Partner, state: State
) -> Response:
    """New preferred dates replace the old ones. An order in stock gives back its master and
    books the first new date with one free, in one transaction: when none is free the answer is
    a 422 on `datetime` and the order keeps its booking. Only while the order is `open` (409
    after)."""
    body = parse_json(wire.ChangeDatesIn, await read_body(request, 64 * 1024))
    async with state.transaction() as session:
        with PATHS.applied():
            view = await orders.change_dates(
                session,
                partner,
                _order_id(order_id),
                _preferences(body.datetime),
                actor=_actor(partner),
                now=state.now(),
            )
        return send_model(wire.OrderOk(data=wire.render_order(view)))


@router.post(
    "/order/{order_id}/cancel", summary="Cancel an open order and free its master", tags=[ORDERS]
)
async def order_cancel(order_id: OrderId, partner: Partner, state: State) -> Response:
    """`_status` and `_substatus` become `cancelled` and the booked master is free again. Only
    while the order is `open`: once a master has started, it is a 409."""
    async with state.transaction() as session:
        view = await orders.cancel_order(
            session, partner, _order_id(order_id), actor=_actor(partner), now=state.now()
        )
        return send_model(wire.OrderOk(data=wire.render_order(view)))
