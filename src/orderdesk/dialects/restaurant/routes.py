"""Restaurant API endpoints. Each one authenticates, translates the wire shape to core calls in
one transaction, and renders the result; the rules live in the core."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from babel.core import UnknownLocaleError
from babel.dates import format_datetime
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from orderdesk.core.catalog import menu
from orderdesk.core.catalog.importer import (
    CategoryInput,
    OptionInput,
    OptionValueInput,
    ProductInput,
    import_menu,
)
from orderdesk.core.errors import BodyTooLarge, FieldError, ValidationFailed
from orderdesk.core.fulfilment import gazetteer
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
    TimeBooking,
)
from orderdesk.core.organizations import clients
from orderdesk.core.organizations.clients import RestaurantCaller
from orderdesk.core.organizations.service import Principal, list_locations
from orderdesk.core.pricing import coupons
from orderdesk.core.pricing.options import OptionChoice, ValueChoice
from orderdesk.core.scheduling import times
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
from orderdesk.http.idempotent import IdempotencyKey, create_once
from orderdesk.http.state import State
from orderdesk.http.validation import parse_json

router = APIRouter(tags=["restaurant"])

Page = Annotated[int, Query(ge=1, le=1_000_000)]
PageSize = Annotated[int, Query(ge=1, le=100)]
Visible = Annotated[int, Query(ge=0, le=1)]


def _ok(**payload: Any) -> JSONResponse:
    return JSONResponse({"success": True, **payload})


def _principal(caller: RestaurantCaller) -> Principal:
    return Principal(
        caller.organization_id,
        "restaurant",
        caller.organization_key,
        caller.organization_title,
        None,
        caller.client_id or "api-key",
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
) -> JSONResponse:
    raw = await read_body(request, 256 * 1024)
    body = parse_json(wire.CreateOrderIn, raw)
    principal = _principal(caller)
    actor = f"restaurant:{caller.organization_key}/{principal.login}"

    async def create(session: AsyncSession) -> dict[str, Any]:
        with paths_for(kind_of(body.dmethod)).applied():
            view = await orders.create_order(
                session, principal, _draft(body, caller), actor=actor, now=state.now()
            )
        return {"success": True, "order": wire.render_created(view)}

    return await create_once(
        state,
        scope=f"restaurant:{caller.organization_id}",
        key=idempotency_key,
        raw=raw,
        create=create,
    )


@router.post(
    "/order/validate_address",
    summary="Geocode an address and find who delivers",
    openapi_extra=documented_body(wire.ValidateAddressIn),
)
async def validate_address(request: Request, caller: WriteOrders, state: State) -> JSONResponse:
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
            if place
            else None
        )
        if place is None or resolved is None:
            raise WireError("INVALID_ADDRESS", "address: not found or outside every delivery zone")
        return _ok(
            data={
                "address": wire.render_place(place),
                "subrestaurant_uid": resolved.location_key,
                "kms": resolved.kms,
                "delivery_fee": wire.money(resolved.fee, _currency(caller)),
            }
        )


@router.post(
    "/order/pickup_delivery_times",
    summary="Free pickup and delivery times",
    openapi_extra=documented_body(wire.TimesIn),
)
async def pickup_delivery_times(
    request: Request, caller: WriteOrders, state: State
) -> JSONResponse:
    body = parse_json(wire.TimesIn, await read_body(request, 64 * 1024))
    now = state.now()
    async with state.reads() as session:
        location = await orders.location_for(session, _principal(caller), body.subrestaurant_uid)
        if location is None:
            raise WireError(
                "SUBRESTAURANT_NOT_FOUND",
                "subrestaurant_uid: no such location"
                if body.subrestaurant_uid
                else "subrestaurant_uid: required, the restaurant has several locations",
            )
        if body.dmethod == DELIVERY:
            if not body.place_id:
                raise ValidationFailed(
                    errors=[FieldError("place_id", "required", "is required for home delivery")]
                )
            place = await gazetteer.get_place(session, body.place_id)
            resolved = (
                await fulfilment.resolve_place(
                    session, caller.organization_id, place, location_key=location.key
                )
                if place
                else None
            )
            if resolved is None:
                raise WireError(
                    "INVALID_ADDRESS",
                    "place_id: unknown or outside every delivery zone of this location",
                )
        free = await times.free_times(session, location, now)
    language = _language(caller, body.language)
    listed = [
        {"date": wire.local_text(t, location.timezone), "formatted": _formatted(t, language)}
        for t in free
    ]
    return _ok(
        data={
            "pickup_times": [] if body.dmethod == DELIVERY else listed,
            "delivery_times": listed if body.dmethod == DELIVERY else [],
        }
    )


def _formatted(value: datetime, language: str) -> str:
    try:
        return format_datetime(value, "EEEE d MMMM, HH:mm", tzinfo=value.tzinfo, locale=language)
    except (ValueError, LookupError, UnknownLocaleError):  # unknown to babel: English
        return format_datetime(value, "EEEE d MMMM, HH:mm", tzinfo=value.tzinfo, locale="en")


@router.get("/orders/list", summary="Orders, newest first")
async def orders_list(
    caller: ReadOrders, state: State, page: Page, pagesize: PageSize = 100
) -> JSONResponse:
    async with state.reads() as session:
        views, total = await orders.page_orders(
            session, _principal(caller), page=page, pagesize=pagesize
        )
    return _ok(
        page=page,
        pagesize=pagesize,
        total_count=total,
        more=page * pagesize < total,
        orders=[wire.render_order(v) for v in views],
    )


@router.get("/orders/get", summary="One order")
async def orders_get(
    caller: ReadOrders, state: State, uid: Annotated[str, Query(min_length=1, max_length=64)]
) -> JSONResponse:
    async with state.reads() as session:
        view = await orders.get_order_by_uid(session, _principal(caller), uid)
    return _ok(order=wire.render_order(view))


OrderUid = Annotated[str, Query(min_length=1, max_length=64)]
OrderToken = Annotated[str, Query(min_length=1, max_length=200)]


@router.post("/order/confirm", summary="Confirm an order before its countdown runs out")
async def order_confirm(
    caller: WriteOrders, state: State, uid: OrderUid, token: OrderToken
) -> JSONResponse:
    async with state.transaction() as session:
        view = await confirmation.confirm(
            session,
            _principal(caller),
            uid,
            token,
            actor=f"restaurant:{caller.organization_key}",
            now=state.now(),
        )
        return _ok(order=wire.render_order(view))


@router.post("/order/close", summary="Close a confirmed order")
async def order_close(
    caller: WriteOrders, state: State, uid: OrderUid, token: OrderToken
) -> JSONResponse:
    async with state.transaction() as session:
        view = await confirmation.close(
            session,
            _principal(caller),
            uid,
            token,
            actor=f"restaurant:{caller.organization_key}",
            now=state.now(),
        )
        return _ok(order=wire.render_order(view))


# --------------------------------------------------------------------------------------------
# Menu


@router.get("/menu/categories", summary="Menu categories")
async def menu_categories(
    caller: ReadMenu, state: State, page: Page, pagesize: PageSize = 100, visible: Visible = 1
) -> JSONResponse:
    async with state.reads() as session:
        found = await menu.list_categories(
            session,
            caller.organization_id,
            visible_only=bool(visible),
            page=page,
            pagesize=pagesize,
        )
    cur = _currency(caller)
    return _ok(
        page=page,
        pagesize=pagesize,
        total_count=found.total,
        more=page * pagesize < found.total,
        categories=[wire.render_category(_seen(c, visible), cur) for c in found.items],
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
) -> JSONResponse:
    async with state.reads() as session:
        found = await menu.get_category(
            session, caller.organization_id, uid, visible_only=bool(visible)
        )
    if found is None or (visible and found.category.hidden):
        raise WireError("CATEGORY_NOT_FOUND", f"uid: no category {uid!r}")
    return _ok(category=wire.render_category(_seen(found, visible), _currency(caller)))


@router.get("/menu/products", summary="Menu products, by category or search")
async def menu_products(
    caller: ReadMenu,
    state: State,
    page: Page,
    pagesize: PageSize = 100,
    visible: Visible = 1,
    catuid: Annotated[str | None, Query(max_length=100)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
) -> JSONResponse:
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
    return _ok(
        page=page,
        pagesize=pagesize,
        total_count=found.total,
        more=page * pagesize < found.total,
        products=[wire.render_product(_seen(p, visible)) for p in found.items],
    )


@router.get("/menu/product", summary="One menu product")
async def menu_product(
    caller: ReadMenu,
    state: State,
    uid: Annotated[str, Query(min_length=1, max_length=100)],
    visible: Visible = 1,
) -> JSONResponse:
    async with state.reads() as session:
        found = await menu.get_product(session, caller.organization_id, uid)
    if found is None or (visible and found.product.hidden):
        raise WireError("PRODUCT_NOT_FOUND", f"uid: no product {uid!r}")
    return _ok(product=wire.render_product(_seen(found, visible)))


def _import_option(o: wire.ImportOptionIn, cur: str) -> OptionInput:
    return OptionInput(
        ext_id=o.ext_id,
        name=o.name,
        short_name=o.short_name,
        type=o.type,
        min_selectable=o.min_selectable,
        max_selectable=o.max_selectable,
        max_quantity=o.max_quantity,
        hidden=o.hidden,
        position=o.position,
        values=[
            OptionValueInput(
                ext_id=v.ext_id,
                name=v.name,
                short_name=v.short_name,
                price_operator=v.price_operator,
                price_operand=wire.minor_units(v.price_operand, cur),
                hidden=v.hidden,
                position=v.position,
                checked_default=v.checked_default,
            )
            for v in o.option_values
        ],
    )


# The importer's names for fields this wire names otherwise.
_IMPORT_NAMES = {
    "values": "option_values",
    "location_keys": "subrestaurant_uids",
    "category": "category_ext_id",
}


def _wire_path(path: str) -> str:
    """``products[3].location_keys[0]`` -> ``products.3.subrestaurant_uids.0``."""
    parts = re.sub(r"\[(\d+)\]", r".\1", path).split(".")
    return ".".join(_IMPORT_NAMES.get(part, part) for part in parts)


@router.post(
    "/menu/import",
    summary="Import a POS menu by ext_id (replace or update)",
    openapi_extra=documented_body(wire.MenuImportIn),
)
async def menu_import(request: Request, caller: WriteMenu, state: State) -> JSONResponse:
    body = parse_json(wire.MenuImportIn, await read_body(request, 8 * 1024 * 1024))
    cur = _currency(caller)
    categories = [
        CategoryInput(
            ext_id=c.ext_id,
            name=c.name,
            description=c.description,
            image=c.image,
            hidden=c.hidden,
            position=c.position,
            location_keys=c.subrestaurant_uids,
            options=[_import_option(o, cur) for o in c.options],
        )
        for c in body.categories
    ]
    products = [
        ProductInput(
            ext_id=p.ext_id,
            category=p.category_ext_id,
            name=p.name,
            description=p.ingredients,
            price=wire.minor_units(p.price, cur),
            hidden=p.hidden,
            available=p.available,
            position=p.position,
            image=p.image,
            location_keys=p.subrestaurant_uids,
            options=[_import_option(o, cur) for o in p.options],
        )
        for p in body.products
    ]
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
    return _ok(
        data={
            "created": len(report.created),
            "updated": len(report.updated),
            "unchanged": len(report.unchanged),
            "hidden": len(report.hidden),
        }
    )


# --------------------------------------------------------------------------------------------
# Locations and coupons


@router.get("/account/subrestaurants", summary="The restaurant's locations")
async def subrestaurants(caller: ReadMenu, state: State) -> JSONResponse:
    async with state.reads() as session:
        locations = await list_locations(session, caller.organization_id)
    return _ok(subrestaurants=[wire.render_subrestaurant(loc) for loc in locations])


@router.post("/coupon/apply", summary="What a coupon takes off a total")
async def coupon_apply(
    caller: WriteOrders,
    state: State,
    code: Annotated[str, Query(min_length=1, max_length=100)],
    total: Annotated[float, Query(ge=0, le=10_000_000)],
    email: Annotated[str | None, Query(max_length=320)] = None,
) -> JSONResponse:
    cur = _currency(caller)
    minor = wire.minor_units(total, cur)
    today = state.now().astimezone(ZoneInfo(_timezone(caller))).date()
    async with state.reads() as session:
        coupon = await coupons.find_coupon(session, caller.organization_id, code)
    if coupon is None:
        raise WireError("NOT_FOUND", f"code: no coupon {code!r}")
    reason = coupons.check_coupon(coupon, subtotal=minor, email=email, today=today)
    if reason is not None:
        raise WireError("CANNOT_APPLY", f"code: {reason}")
    discount = coupons.coupon_discount(coupon, minor)
    return _ok(
        coupon=wire.render_coupon(coupon, cur),
        order={"discount": wire.money(discount, cur), "total": wire.money(minor - discount, cur)},
    )


@router.post("/coupon/generate", summary="Create a one-off coupon from a generator")
async def coupon_generate(
    caller: WriteCoupons,
    state: State,
    gencode: Annotated[str, Query(min_length=1, max_length=100)],
    valid_email: Annotated[str | None, Query(max_length=320)] = None,
) -> JSONResponse:
    today = state.now().astimezone(ZoneInfo(_timezone(caller))).date()
    async with state.transaction() as session:
        coupon = await coupons.generate_coupon(
            session, caller.organization_id, gencode, valid_email=valid_email, today=today
        )
        return _ok(coupon=wire.render_coupon(coupon, _currency(caller)))
