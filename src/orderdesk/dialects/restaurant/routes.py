"""Restaurant API endpoints. Each one authenticates, translates the wire shape to core calls in
one transaction, and renders the result; the rules live in the core."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from orderdesk.core.catalog import menu
from orderdesk.core.catalog.importer import (
    import_menu,
)
from orderdesk.core.errors import BodyTooLarge, FieldError, ValidationFailed
from orderdesk.core.fulfilment import service as fulfilment
from orderdesk.core.orders import confirmation
from orderdesk.core.orders import service as orders
from orderdesk.core.orders.schemas import (
    Confirmation,
    CouponDraft,
    DeliveryDraft,
    LineDraft,
    MethodChoice,
    OrderDraft,
    PathTable,
    TimeBooking,
)
from orderdesk.core.organizations import clients
from orderdesk.core.organizations.clients import RestaurantCaller
from orderdesk.core.organizations.service import Principal, list_locations
from orderdesk.core.pricing import coupons
from orderdesk.core.pricing.options import OptionChoice, ValueChoice
from orderdesk.core.scheduling import pickup
from orderdesk.dialects.restaurant import responses as out
from orderdesk.dialects.restaurant import wire
from orderdesk.dialects.restaurant.auth import (
    ReadMenu,
    ReadOrders,
    WriteCoupons,
    WriteMenu,
    WriteOrders,
)
from orderdesk.dialects.restaurant.errors import WireError
from orderdesk.dialects.restaurant.methods import DELIVERY, kind_of
from orderdesk.dialects.restaurant.paths import paths_for
from orderdesk.http.body import documented_body, read_body
from orderdesk.http.idempotent import IdempotencyKey, create_once, send_model
from orderdesk.http.state import State
from orderdesk.http.validation import parse_json

router = APIRouter(tags=["restaurant"])

Page = Annotated[int, Query(ge=1, le=1_000_000)]
PageSize = Annotated[int, Query(ge=1, le=100)]
Visible = Annotated[int, Query(ge=0, le=1)]


def _principal(caller: RestaurantCaller) -> Principal:
    return Principal(
        organization_id=caller.organization_id,
        organization_kind="restaurant",
        organization_key=caller.organization_key,
        organization_title=caller.organization_title,
        user_id=None,
        login=caller.client_id or "api-key",
    )


def _currency(caller: RestaurantCaller) -> str:
    return str(caller.organization_settings.get("currency", "EUR"))


def _timezone(caller: RestaurantCaller) -> str:
    return str(caller.organization_settings.get("timezone", "UTC"))


def _language(caller: RestaurantCaller, requested: str | None) -> str:
    return (requested or str(caller.organization_settings.get("language", "en"))).lower()


# --------------------------------------------------------------------------------------------
# OAuth 2.0 client credentials


def _oauth_error(error: str, description: str, status: int) -> JSONResponse:
    headers = {"WWW-Authenticate": "Basic"} if status == 401 else None
    return JSONResponse(
        {"error": error, "error_description": description}, status_code=status, headers=headers
    )


@router.post("/oauth/token", summary="OAuth 2.0 client credentials: get a bearer token")
async def oauth_token(request: Request, state: State) -> JSONResponse:
    """RFC 6749 client credentials: a form with `grant_type=client_credentials`, `client_id`,
    `client_secret` and optionally `scope` (space-separated, at most the client's own) gives an
    access token for `Authorization: Bearer`, valid for `expires_in` seconds. Errors are RFC
    6749's own shape, HTTP 400 or 401."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/x-www-form-urlencoded":  # RFC 6749 section 4.4.2
        return _oauth_error(
            "invalid_request", "send an application/x-www-form-urlencoded body", 400
        )
    try:
        form = await request.form(max_files=0, max_fields=10)
    except BodyTooLarge:
        raise
    except Exception:  # any unparsable body is an invalid_request
        return _oauth_error(
            "invalid_request", "send an application/x-www-form-urlencoded body", 400
        )
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    if fields.get("grant_type") != "client_credentials":
        return _oauth_error("unsupported_grant_type", "grant_type must be client_credentials", 400)
    client_id, secret = fields.get("client_id", ""), fields.get("client_secret", "")
    if not client_id or not secret:
        return _oauth_error("invalid_request", "client_id and client_secret are required", 400)
    scope = fields.get("scope")
    requested = frozenset(scope.split()) if scope else None
    try:
        async with state.transaction() as session:
            issued = await clients.issue_access_token(
                session, client_id, secret, requested, now=state.now()
            )
    except ValueError as exc:
        return _oauth_error("invalid_scope", f"scope not granted to this client: {exc}", 400)
    if issued is None:
        return _oauth_error("invalid_client", "unknown client or wrong secret", 401)
    return JSONResponse(
        {
            "access_token": issued.token,
            "token_type": "Bearer",
            "expires_in": issued.expires_in,
            "scope": " ".join(sorted(issued.scopes)),
        },
        headers={"Cache-Control": "no-store"},
    )


# --------------------------------------------------------------------------------------------
# Ordering


def _local(value: datetime, timezone: str) -> datetime:
    """Naive times on the wire are the restaurant's local time."""
    return value.replace(tzinfo=ZoneInfo(timezone)) if value.tzinfo is None else value


def _draft(body: wire.CreateOrderIn, caller: RestaurantCaller) -> OrderDraft:
    tz = _timezone(caller)
    kind = kind_of(body.dmethod)
    delivered = kind == "delivery"
    when = (
        body.delivery.date
        if delivered and body.delivery
        else (body.pickup.date if body.pickup else None)
    )
    lines = [
        LineDraft(
            item_id=None,
            product_uid=detail.product.uid,
            quantity=detail.quantity,
            services=(),
            notes=detail.notes,
            options=tuple(
                OptionChoice(o.uid, [ValueChoice(v.uid, v.quantity) for v in o.values])
                for o in detail.options
            ),
        )
        for detail in body.details
    ]
    delivery = None
    if body.delivery is not None and delivered:
        ref = body.delivery.address
        delivery = DeliveryDraft(ref.place_id, {"doorbell": ref.doorbell, "floor": ref.floor})
    return OrderDraft(
        location_key=body.subrestaurant_uid,
        customer={
            "first_name": body.client.first_name,
            "last_name": body.client.last_name,
            "phone": body.client.phone,
            "email": body.client.email,
        },
        address=None,
        payment_method=body.payment_method,
        ready=True,
        preferences=[],
        lines=lines,
        image_ids=[],
        fulfilment={
            "dmethod": body.dmethod,
            "payment_method_sub": body.payment_method_sub,
            "language": _language(caller, body.language),
            "creator": body.creator,
        },
        booking=TimeBooking(_local(when, tz) if when else None),
        delivery=delivery,
        coupon=CouponDraft(body.coupon.code) if body.coupon and body.coupon.code else None,
        notes=body.notes,
        methods=MethodChoice(kind, body.dmethod, body.payment_method_sub),
        confirmation=Confirmation(
            confirmed_now=body.creator == "restaurant"
            or bool(caller.organization_settings.get("auto_confirm")),
            countdown_seconds=_countdown(caller),
        ),
    )


def _countdown(caller: RestaurantCaller) -> int:
    value = caller.organization_settings.get("countdown_seconds", 300)
    return value if isinstance(value, int) else 300


@router.post(
    "/order/create", summary="Create an order", openapi_extra=documented_body(wire.CreateOrderIn)
)
async def order_create(
    request: Request, caller: WriteOrders, state: State, idempotency_key: IdempotencyKey = None
) -> Response:
    """Places an order: checks every line, option, the method, the time and its slot, the
    delivery zone and its minimum, the coupon; books the slot and the coupon use, numbers the
    order and stores it in one transaction. A customer's order then waits for confirmation
    (`order/confirm`) until its countdown ends, unless `creator` is `restaurant` or the
    restaurant confirms automatically. With an `Idempotency-Key`, a repeated request gets the
    first answer again (with `Idempotent-Replayed: true`) instead of a second order."""
    raw = await read_body(request, 256 * 1024)
    body = parse_json(wire.CreateOrderIn, raw)
    principal = _principal(caller)
    actor = f"restaurant:{caller.organization_key}/{principal.login}"

    async def create(session: AsyncSession) -> out.Created:
        with paths_for(kind_of(body.dmethod)).applied():
            view = await orders.create_order(
                session, principal, _draft(body, caller), actor=actor, now=state.now()
            )
        return wire.render_created(view)

    async def create_answer(session: AsyncSession) -> out.OrderCreated:
        return out.OrderCreated(success=True, order=await create(session))

    return await create_once(
        state,
        scope=f"restaurant:{caller.organization_id}",
        key=idempotency_key,
        raw=raw,
        create=create_answer,
    )


@router.post(
    "/order/quote",
    summary="Price an order without placing it (extension)",
    openapi_extra=documented_body(wire.CreateOrderIn),
)
async def order_quote(request: Request, caller: WriteOrders, state: State) -> Response:
    """An orderdesk extension, not in the original API: the body of `POST /api/order/create`,
    checked by every rule a create applies (products, options, method, time and its slot's
    capacity, delivery zone and its minimum, coupon and its remaining uses) and priced exactly
    as a create would price it. Nothing is stored, no time slot or coupon use is taken, and no
    `Idempotency-Key` is needed: a quote promises nothing, and a create a moment later may still
    find the last slot gone. Errors are those of `order/create`."""
    body = parse_json(wire.CreateOrderIn, await read_body(request, 256 * 1024))
    async with state.reads() as session:
        with paths_for(kind_of(body.dmethod)).applied():
            quote = await orders.quote_order(
                session, _principal(caller), _draft(body, caller), now=state.now()
            )
        answer = out.OrderQuoted(success=True, order=wire.render_quote(quote.order, quote.location))
    return send_model(answer)


@router.post(
    "/order/validate_address",
    summary="Geocode an address and find who delivers",
    openapi_extra=documented_body(wire.ValidateAddressIn),
)
async def validate_address(request: Request, caller: WriteOrders, state: State) -> Response:
    """Geocodes a free-text or structured address, picks the location whose delivery zone
    contains it and answers its `place_id` (what `order/create` takes), the distance and the
    delivery fee. Not found, or outside every zone: `INVALID_ADDRESS`."""
    body = parse_json(wire.ValidateAddressIn, await read_body(request, 64 * 1024))
    if not body.address and not (body.street and body.city):
        raise ValidationFailed(
            errors=[FieldError("address", "required", "send address, or street and city", None)]
        )
    async with state.transaction() as session:
        place = await fulfilment.locate_address(
            session,
            caller.organization_id,
            geocoder=state.geocoder,
            text=body.address,
            street=body.street,
            number=body.number,
            city=body.city,
            province=body.province,
            zip=body.zip,
            country=body.country,
        )
        resolved = (
            await fulfilment.resolve_place(session, caller.organization_id, place)
            if place is not None
            else None
        )
    if resolved is None:
        raise WireError("INVALID_ADDRESS", "address: not found or outside every delivery zone")
    return send_model(wire.render_validated(resolved, _currency(caller)))


_TIMES_PATHS = PathTable({"location": "subrestaurant_uid", "delivery.place": "place_id"})


@router.post(
    "/order/pickup_delivery_times",
    summary="Free pickup and delivery times",
    openapi_extra=documented_body(wire.TimesIn),
)
async def pickup_delivery_times(request: Request, caller: WriteOrders, state: State) -> Response:
    """The times still free from now on at a location (opening hours, preparation lead time,
    orders per slot), each as the local `date` that `order/create` takes back and a
    `formatted` text in `language`. Home delivery (`dmethod` `1`) needs the `place_id` that
    `order/validate_address` answered, inside the location's zones."""
    body = parse_json(wire.TimesIn, await read_body(request, 64 * 1024))
    delivered = body.dmethod == DELIVERY
    async with state.reads() as session:
        with _TIMES_PATHS.applied():
            offered = await pickup.pickup_delivery_times(
                session,
                _principal(caller),
                body.subrestaurant_uid,
                delivered=delivered,
                place_id=body.place_id,
                now=state.now(),
            )
    return send_model(
        wire.render_times(
            offered.times,
            offered.location.timezone,
            _language(caller, body.language),
            delivered=delivered,
        )
    )


@router.get("/orders/list", summary="Orders, newest first")
async def orders_list(
    caller: ReadOrders, state: State, page: Page, pagesize: PageSize = 100
) -> Response:
    """The restaurant's orders, newest first, `pagesize` to a page."""
    async with state.reads() as session:
        views, total = await orders.page_orders(
            session, _principal(caller), page=page, pagesize=pagesize
        )
    return send_model(
        out.OrderPage(
            success=True,
            page=page,
            pagesize=pagesize,
            total_count=total,
            more=page * pagesize < total,
            orders=[wire.render_order(v) for v in views],
        )
    )


@router.get("/orders/get", summary="One order")
async def orders_get(
    caller: ReadOrders, state: State, uid: Annotated[str, Query(min_length=1, max_length=64)]
) -> Response:
    """One order by its `uid`; another restaurant's order is `NOT_FOUND`."""
    async with state.reads() as session:
        view = await orders.get_order_by_uid(session, _principal(caller), uid)
    return send_model(out.OrderFound(success=True, order=wire.render_order(view)))


OrderUid = Annotated[str, Query(min_length=1, max_length=64)]
OrderToken = Annotated[str, Query(min_length=1, max_length=200, description="The order's token")]


@router.post("/order/confirm", summary="Confirm an order before its countdown runs out")
async def order_confirm(
    caller: WriteOrders, state: State, uid: OrderUid, token: OrderToken
) -> Response:
    """Confirms a customer's order while its countdown runs; after it ran out the order has timed
    out (`TIMEOUT`). Confirming twice answers the order as it is."""
    async with state.transaction() as session:
        view = await confirmation.confirm(
            session,
            _principal(caller),
            uid,
            token,
            actor=f"restaurant:{caller.organization_key}",
            now=state.now(),
        )
        answer = out.OrderFound(success=True, order=wire.render_order(view))
    return send_model(answer)


@router.post("/order/close", summary="Close a confirmed order")
async def order_close(
    caller: WriteOrders, state: State, uid: OrderUid, token: OrderToken
) -> Response:
    """Closes a confirmed order (handed over or delivered)."""
    async with state.transaction() as session:
        view = await confirmation.close(
            session,
            _principal(caller),
            uid,
            token,
            actor=f"restaurant:{caller.organization_key}",
            now=state.now(),
        )
        answer = out.OrderFound(success=True, order=wire.render_order(view))
    return send_model(answer)


# --------------------------------------------------------------------------------------------
# Menu


@router.get("/menu/categories", summary="Menu categories")
async def menu_categories(
    caller: ReadMenu, state: State, page: Page, pagesize: PageSize = 100, visible: Visible = 1
) -> Response:
    """The menu's categories with their options; `visible=1` leaves hidden ones out."""
    async with state.reads() as session:
        found = await menu.list_categories(
            session,
            caller.organization_id,
            visible_only=bool(visible),
            page=page,
            pagesize=pagesize,
        )
    cur = _currency(caller)
    return send_model(
        out.CategoryPage(
            success=True,
            page=page,
            pagesize=pagesize,
            total_count=found.total,
            more=page * pagesize < found.total,
            categories=[wire.render_category(_seen(c, visible), cur) for c in found.items],
        )
    )


def _seen(item: Any, visible: int) -> Any:
    if visible:
        item.options = menu.visible(item.options)
    return item


@router.get("/menu/category", summary="One menu category")
async def menu_category(
    caller: ReadMenu,
    state: State,
    uid: Annotated[str, Query(min_length=1, max_length=100)],
    visible: Visible = 1,
) -> Response:
    """One category by `uid`; a hidden one is `CATEGORY_NOT_FOUND` unless `visible=0`."""
    async with state.reads() as session:
        found = await menu.get_category(
            session, caller.organization_id, uid, visible_only=bool(visible)
        )
    if found is None or (visible and found.category.hidden):
        raise WireError("CATEGORY_NOT_FOUND", f"uid: no category {uid!r}")
    category = wire.render_category(_seen(found, visible), _currency(caller))
    return send_model(out.CategoryFound(success=True, category=category))


@router.get("/menu/products", summary="Menu products, by category or search")
async def menu_products(
    caller: ReadMenu,
    state: State,
    page: Page,
    pagesize: PageSize = 100,
    visible: Visible = 1,
    catuid: Annotated[str | None, Query(max_length=100)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """Products with their options, of one category (`catuid`) or matching words (`q`)."""
    async with state.reads() as session:
        found = await menu.list_products(
            session,
            caller.organization_id,
            category_uid=catuid,
            query=q,
            visible_only=bool(visible),
            page=page,
            pagesize=pagesize,
        )
    return send_model(
        out.ProductPage(
            success=True,
            page=page,
            pagesize=pagesize,
            total_count=found.total,
            more=page * pagesize < found.total,
            products=[wire.render_product(_seen(p, visible)) for p in found.items],
        )
    )


@router.get("/menu/product", summary="One menu product")
async def menu_product(
    caller: ReadMenu,
    state: State,
    uid: Annotated[str, Query(min_length=1, max_length=100)],
    visible: Visible = 1,
) -> Response:
    """One product by `uid`; a hidden one is `PRODUCT_NOT_FOUND` unless `visible=0`."""
    async with state.reads() as session:
        found = await menu.get_product(session, caller.organization_id, uid)
    if found is None or (visible and found.product.hidden):
        raise WireError("PRODUCT_NOT_FOUND", f"uid: no product {uid!r}")
    return send_model(
        out.ProductFound(success=True, product=wire.render_product(_seen(found, visible)))
    )


def _wire_path(path: str) -> str:
    """``products[3].location_keys[0]`` -> ``products.3.subrestaurant_uids.0``."""
    parts = re.sub(r"\[(\d+)\]", r".\1", path).split(".")
    return ".".join(wire.IMPORT_NAMES.get(part, part) for part in parts)


@router.post(
    "/menu/import",
    summary="Import a POS menu by ext_id (replace or update)",
    openapi_extra=documented_body(wire.MenuImportIn),
)
async def menu_import(request: Request, caller: WriteMenu, state: State) -> Response:
    """Imports a POS menu keyed by `ext_id` in one transaction: `replace` hides what the
    document no longer has, `update` only adds and changes; importing the same document again
    changes nothing."""
    body = parse_json(wire.MenuImportIn, await read_body(request, 8 * 1024 * 1024))
    cur = _currency(caller)
    categories, products = wire.menu_inputs(body.categories, body.products, cur)
    try:
        async with state.transaction() as session:
            report = await import_menu(
                session,
                caller.organization_id,
                cur,
                categories,
                products,
                key="ext_id",
                mode=body.update_mode,
            )
    except ValidationFailed as exc:
        raise ValidationFailed(
            errors=[FieldError(_wire_path(e.path), e.type, e.message, e.reason) for e in exc.errors]
        ) from None
    answer = out.MenuImported(
        success=True,
        data=out.ImportCounts(
            created=len(report.created),
            updated=len(report.updated),
            unchanged=len(report.unchanged),
            hidden=len(report.hidden),
        ),
    )
    return send_model(answer)


# --------------------------------------------------------------------------------------------
# Locations and coupons


@router.get("/account/subrestaurants", summary="The restaurant's locations")
async def subrestaurants(caller: ReadMenu, state: State) -> Response:
    """The restaurant's locations, whose `uid` an order names as `subrestaurant_uid`. Each also
    lists `payment_method_subs` (an extension): the `payment_method_sub` values a cash order
    may name."""
    async with state.reads() as session:
        locations = await list_locations(session, caller.organization_id)
    subs = _cash_subs(caller)
    return send_model(
        out.SubrestaurantList(
            success=True,
            subrestaurants=[wire.render_subrestaurant(loc, subs) for loc in locations],
        )
    )


def _cash_subs(caller: RestaurantCaller) -> list[str]:
    subs = caller.organization_settings.get("cash_subs")
    return [str(s) for s in subs] if isinstance(subs, list) else []


@router.post("/coupon/apply", summary="What a coupon takes off a total")
async def coupon_apply(
    caller: WriteOrders,
    state: State,
    code: Annotated[str, Query(min_length=1, max_length=100)],
    total: Annotated[float, Query(ge=0, le=10_000_000)],
    email: Annotated[str | None, Query(max_length=320)] = None,
) -> Response:
    """Previews a coupon on an order `total` by the rules an order is checked with (dates,
    weekdays, e-mail, minimum, uses left), without using it: `NOT_FOUND` for an unknown code,
    `CANNOT_APPLY` with the reason otherwise."""
    cur = _currency(caller)
    today = state.now().astimezone(ZoneInfo(_timezone(caller))).date()
    try:
        async with state.reads() as session:
            applied = await coupons.apply_coupon(
                session,
                caller.organization_id,
                code,
                subtotal=wire.minor_units(total, cur),
                email=email,
                today=today,
            )
    except ValidationFailed as failed:
        (refusal,) = failed.errors
        if refusal.type == "not_found":
            raise WireError("NOT_FOUND", f"code: no coupon {code!r}") from None
        raise WireError("CANNOT_APPLY", f"code: {refusal.message}") from None
    return send_model(wire.render_applied(applied, cur))


@router.post("/coupon/generate", summary="Create a one-off coupon from a generator")
async def coupon_generate(
    caller: WriteCoupons,
    state: State,
    gencode: Annotated[str, Query(min_length=1, max_length=100)],
    valid_email: Annotated[str | None, Query(max_length=320)] = None,
) -> Response:
    """Creates a single-use coupon from the generator `gencode` (its discount and validity),
    reserved to `valid_email` when given; `NOT_FOUND` for an unknown generator."""
    today = state.now().astimezone(ZoneInfo(_timezone(caller))).date()
    async with state.transaction() as session:
        coupon = await coupons.generate_coupon(
            session, caller.organization_id, gencode, valid_email=valid_email, today=today
        )
        answer = out.CouponGenerated(
            success=True, coupon=wire.render_coupon(coupon, _currency(caller))
        )
    return send_model(answer)
