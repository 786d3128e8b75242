"""The partner API's whole seed flow through a client generated from the OpenAPI document.

Authorize, stores, find items, free slots, upload the receipt, create the order with it, list
it with a filter, get it, cancel it, and quote it again: every call is a generated function,
every body a generated model, and every assertion reads a generated model's fields. A field the
document misnames, a parameter it leaves out or a schema that does not fit the answer fails
here, where an integrator would have found it.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from io import BytesIO
from typing import Any

from PIL import Image

from orderdesk.http.state import AppState
from tests.factories import PartnerSetup, item_doc, make_partner
from tests.openapi.generated import GeneratedClients


def _png() -> bytes:
    buffer = BytesIO()
    Image.new("RGB", (32, 24), (200, 80, 40)).save(buffer, "PNG")
    return buffer.getvalue()


def _ok(answer: Any, model: type[Any]) -> Any:
    """The ``data`` of a success answer, after checking it parsed into the generated envelope."""
    assert answer.status_code == 200, answer.content
    assert isinstance(answer.parsed, model), answer.parsed
    assert (answer.parsed.status, answer.parsed.status_code) == ("ok", 200)
    return answer.parsed.data


async def _partner(state: AppState) -> tuple[PartnerSetup, str]:
    word = f"sideboard{secrets.token_hex(3)}"
    partner = await make_partner(
        state,
        items=[
            item_doc(f"HEMNES {word} 3 drawers"),
            item_doc(f"LACK {word} shelf", assembly=False, assembly_price=None),
        ],
    )
    return partner, word


async def test_seed_flow_through_the_generated_client(
    generated_clients: GeneratedClients, state: AppState
) -> None:
    clients = generated_clients
    models = clients.package.models
    partner, word = await _partner(state)
    anonymous = clients.anonymous()

    # Authorize: the token goes into the `token` header, as the security scheme says.
    login = await clients.endpoint("POST", "/partner/auth/authorize").asyncio_detailed(
        client=anonymous,
        body=models.PartnerLoginIn(login=partner.login, password=partner.password),
    )
    authorized = _ok(login, models.PartnerLoginOk)
    assert authorized.user.partner == partner.name
    assert authorized.user.login == partner.login
    api = clients.authenticated(authorized.token, header="token", prefix="")
    refused = await clients.endpoint("GET", "/partner/store/list").asyncio_detailed(
        client=clients.authenticated("not-a-token", header="token", prefix="")
    )
    assert refused.status_code == 401
    assert isinstance(refused.parsed, models.PartnerUnauthorized)
    assert refused.parsed.type_ == "NO_RIGHTS"

    # Stores and items.
    stores = _ok(
        await clients.endpoint("GET", "/partner/store/list").asyncio_detailed(client=api),
        models.PartnerStoresOk,
    )
    assert [store.store_id for store in stores] == partner.stores
    assert stores[0].timezone == "Europe/Riga"
    store_id = stores[0].store_id
    found = _ok(
        await clients.endpoint("GET", "/partner/item/find").asyncio_detailed(
            client=api, name=word, limit=10
        ),
        models.PartnerItemsOk,
    )
    assert {item.id for item in found} == set(partner.items)
    wardrobe = next(item for item in found if item.id == partner.items[0])
    shelf = next(item for item in found if item.id == partner.items[1])
    assert (wardrobe.delivery, wardrobe.assembly) == (True, True)
    assert (wardrobe.delivery_price, wardrobe.assembly_price, wardrobe.currency) == (
        2500,
        6900,
        "EUR",
    )
    assert (shelf.assembly, shelf.assembly_price) == (False, 0)

    # Free slots (no token needed): days keyed by date, a bool per timeslot.
    free = _ok(
        await clients.endpoint("GET", "/partner/slots/free").asyncio_detailed(
            client=anonymous, store_id=store_id
        ),
        models.PartnerFreeSlotsOk,
    )
    days = free.additional_properties
    assert len(days) == 31
    day = sorted(day for day, slots in days.items() if slots.field_1217)[2]
    assert isinstance(days[day], models.PartnerFreeSlots)

    # The receipt image.
    uploaded = _ok(
        await clients.endpoint("POST", "/partner/image/upload").asyncio_detailed(
            client=api,
            body=models.PartnerImageUploadBody(
                file=clients.package.types.File(
                    payload=BytesIO(_png()), file_name="receipt.png", mime_type="image/png"
                )
            ),
        ),
        models.PartnerUploadedOk,
    )
    (image,) = uploaded
    assert image.mimetype == "image/webp"
    assert image.url.endswith(f"/partner/images/{image.id}.webp")

    # Create, with the image and an idempotency key; the same request again is a replay.
    timeslot = models.PartnerDateTimeInTimeslot.MIDDAY
    body = models.PartnerCreateOrderIn(
        customer=models.PartnerCustomerIn(
            phone_number="+371 20 000 000", first_name="Anna", last_name="Ozola"
        ),
        address=models.PartnerAddressIn(
            address="Brivibas iela 1, Riga",
            coordinates=models.PartnerCoordinatesIn(lat=56.95, lon=24.11),
            details="3rd floor",
            zip_="LV-1010",
        ),
        partner_details=models.PartnerOrderDetailsIn(
            store_id=store_id,
            items=[
                models.PartnerItemIn(id=wardrobe.id, count=2, delivery=True, assembly=True),
                models.PartnerItemIn(id=shelf.id, count=1, delivery=True),
            ],
            instock=True,
            delivery_type=models.PartnerOrderDetailsInDeliveryType.TO_DOOR_BY_LIFT,
        ),
        datetime_=[models.PartnerDateTimeIn(date=dt.date.fromisoformat(day), timeslot=timeslot)],
        payment_method=models.PartnerCreateOrderInPaymentMethod.STRIPE,
        image_uuids=[image.id],
    )
    create = clients.endpoint("POST", "/partner/order/create")
    key = secrets.token_hex(8)
    created_answer = await create.asyncio_detailed(client=api, body=body, idempotency_key=key)
    created = _ok(created_answer, models.PartnerCreatedOk)
    assert "Idempotent-Replayed" not in created_answer.headers
    assert created.field_status == models.PartnerCreatedStatus.OPEN
    assert created.field_substatus == models.PartnerCreatedSubstatus.AWAITING_MASTER_REQUEST
    assert created.title == f"HEMNES {word} 3 drawers +1"
    assert created.partner == partner.name
    assert created.partner_details.store_id == store_id
    assert created.partner_details.instock is True
    assert isinstance(created.created_at, dt.datetime)
    replay = await create.asyncio_detailed(client=api, body=body, idempotency_key=key)
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert _ok(replay, models.PartnerCreatedOk).field_id == created.field_id

    # List with a filter, in both of its encodings.
    order_list = clients.endpoint("GET", "/partner/order/list")
    by_json = _ok(
        await order_list.asyncio_detailed(
            client=api,
            filter_=json.dumps({"query": "Ozola", "store_ids": [store_id], "filter": ["open"]}),
        ),
        models.PartnerOrdersOk,
    )
    assert [order.field_id for order in by_json] == [created.field_id]
    by_brackets = _ok(
        await order_list.asyncio_detailed(
            client=api,
            filterstore_ids=[store_id],
            filterfilter=[models.PartnerOrderListFilterfilterItem.AWAITING_MASTER_REQUEST],
            limit=5,
        ),
        models.PartnerOrdersOk,
    )
    assert [order.field_id for order in by_brackets] == [created.field_id]
    none_cancelled = _ok(
        await order_list.asyncio_detailed(
            client=api, filterfilter=[models.PartnerOrderListFilterfilterItem.CANCELLED]
        ),
        models.PartnerOrdersOk,
    )
    assert none_cancelled == []

    # Get: the whole order, booked in the slot asked for.
    got = _ok(
        await clients.endpoint("GET", "/partner/order/{order_id}").asyncio_detailed(
            created.field_id, client=api
        ),
        models.PartnerOrderOk,
    )
    assert got.field_id == created.field_id
    assert got.booked is not None
    assert (got.booked.date, got.booked.timeslot.value) == (dt.date.fromisoformat(day), "1217")
    assert [(d.date.isoformat(), d.timeslot.value) for d in got.datetime_] == [(day, "1217")]
    assert (got.customer.first_name, got.customer.phone_number) == ("Anna", "+37120000000")
    assert got.address is not None and got.address.coordinates.lat == 56.95
    assert [(i.id, i.count, i.delivery, i.assembly) for i in got.items] == [
        (wardrobe.id, 2, True, True),
        (shelf.id, 1, True, False),
    ]
    assert got.payment_method == models.PartnerOrderPaymentMethod.STRIPE
    assert (
        got.partner_details.delivery_type == models.PartnerOrderDetailsDeliveryType.TO_DOOR_BY_LIFT
    )
    assert got.image_uuids == [image.id]
    missing = await clients.endpoint("GET", "/partner/order/{order_id}").asyncio_detailed(
        2**31 - 1, client=api
    )
    assert missing.status_code == 404 and isinstance(missing.parsed, models.PartnerNotFound)

    # Cancel: the master is free again.
    cancelled = _ok(
        await clients.endpoint("POST", "/partner/order/{order_id}/cancel").asyncio_detailed(
            created.field_id, client=api
        ),
        models.PartnerOrderOk,
    )
    assert cancelled.field_status == models.PartnerOrderStatus.CANCELLED
    assert cancelled.field_substatus == models.PartnerOrderSubstatus.CANCELLED

    # Quote the same order again (the image belongs to the cancelled one): priced, not stored.
    body.image_uuids = []
    quoted = _ok(
        await clients.endpoint("POST", "/partner/order/quote").asyncio_detailed(
            client=api, body=body
        ),
        models.PartnerQuoteOk,
    )
    assert quoted.store.store_id == store_id
    assert quoted.booked is not None and quoted.booked.timeslot.value == "1217"
    assert [(i.id, i.count, i.delivery_price, i.assembly_price, i.total) for i in quoted.items] == [
        (wardrobe.id, 2, 2500, 6900, 2 * (2500 + 6900)),
        (shelf.id, 1, 2500, 0, 2500),
    ]
    assert (quoted.subtotal, quoted.delivery_fee, quoted.discount) == (2 * 9400 + 2500, 0, 0)
    assert (quoted.total, quoted.currency) == (2 * 9400 + 2500, "EUR")
    after = _ok(
        await order_list.asyncio_detailed(client=api, filterstore_ids=[store_id]),
        models.PartnerOrdersOk,
    )
    assert [order.field_id for order in after] == [created.field_id]
