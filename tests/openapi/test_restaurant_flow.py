"""The restaurant API's seed flow, driven only through a client generated from the document.

An integrator's path through the original API: a bearer token from the OAuth endpoint, the
menu, the customer's address, the free times, an order with options and a coupon, the list and
the order itself, confirmation and closing, and a quote (the extension). Every call goes through
a generated function with generated models; a field the document misnames or a schema it gets
wrong shows up here as a call that cannot be made or an answer that does not parse.
"""

from __future__ import annotations

from typing import Any

import pytest

from orderdesk.http.state import AppState
from tests.conftest import FakeClock
from tests.dialects.restaurant.order_support import NOW, coupon_code, restaurant
from tests.factories import RestaurantSetup
from tests.openapi.generated import GeneratedClients


@pytest.fixture(autouse=True)
def _fixed_now(clock: FakeClock) -> None:
    clock.set(NOW)


def _success(answer: Any, model: type) -> Any:
    """The parsed success of a generated call (a failure parses as RestaurantFailure)."""
    assert answer.status_code == 200, answer.content
    assert isinstance(answer.parsed, model), answer.content
    assert answer.parsed.success is True
    return answer.parsed


async def _token(clients: GeneratedClients, r: RestaurantSetup, models: Any) -> str:
    token = clients.endpoint("POST", "/api/oauth/token")
    answer = await token.asyncio_detailed(
        client=clients.anonymous(),
        body=models.RestaurantTokenRequestIn(
            grant_type="client_credentials",
            client_id=r.client_id,
            client_secret=r.client_secret,
            scope="write:orders read:orders read:menu",
        ),
    )
    assert answer.status_code == 200, answer.content
    issued = answer.parsed
    assert isinstance(issued, models.RestaurantAccessToken)
    assert issued.token_type == "Bearer" and issued.expires_in == 3600
    assert set(issued.scope.split()) == {"write:orders", "read:orders", "read:menu"}
    return str(issued.access_token)


async def test_seed_flow_through_the_generated_client(
    generated_clients: GeneratedClients, state: AppState
) -> None:
    clients = generated_clients
    models = clients.package.models
    r = await restaurant(state)
    bearer = clients.authenticated(await _token(clients, r, models))

    # the menu: the Margherita with its size and extras
    products = clients.endpoint("GET", "/api/menu/products")
    page = _success(
        await products.asyncio_detailed(client=bearer, page=1, q="margherita"),
        models.RestaurantProductPage,
    )
    margherita = next(p for p in page.products if p.uid == f"{r.uid}-margherita")
    options = {o.uid: o for o in margherita.options}
    size, extra = options[f"{r.uid}-size"], options[f"{r.uid}-extra"]
    maxi = next(v for v in size.option_values if v.uid == "maxi")
    mozzarella = next(v for v in extra.option_values if v.uid == "mozz")

    # the locations, and the cash sub-methods an order may name
    locations = clients.endpoint("GET", "/api/account/subrestaurants")
    listed = _success(
        await locations.asyncio_detailed(client=bearer), models.RestaurantSubrestaurantList
    )
    sub = listed.subrestaurants[0].payment_method_subs[-1]

    # the customer's address: its place, location and delivery fee
    validate = clients.endpoint("POST", "/api/order/validate_address")
    validated = _success(
        await validate.asyncio_detailed(
            client=bearer,
            body=models.RestaurantValidateAddressIn(address="via Dante 10, Milano"),
        ),
        models.RestaurantAddressValidated,
    ).data
    assert validated.address.place_id == "via-dante-10-milano"
    assert validated.subrestaurant_uid == r.locations[0]
    assert validated.delivery_fee == 2.5

    # the free delivery times there
    times = clients.endpoint("POST", "/api/order/pickup_delivery_times")
    free = _success(
        await times.asyncio_detailed(
            client=bearer,
            body=models.RestaurantTimesIn(
                dmethod="1",
                subrestaurant_uid=validated.subrestaurant_uid,
                place_id=validated.address.place_id,
                language="it",
            ),
        ),
        models.RestaurantTimesListed,
    ).data
    assert free.pickup_times == [] and free.delivery_times
    when = free.delivery_times[0].date

    # the order: two maxi Margheritas with two extra mozzarellas, delivered, 10 % off
    code = coupon_code(r, "WELCOME")
    body = models.RestaurantCreateOrderIn(
        client=models.RestaurantClientIn(
            first_name="Giulia", last_name="Bianchi", email="giulia@example.com", phone="02 765432"
        ),
        dmethod="1",
        payment_method=models.RestaurantCreateOrderInPaymentMethod.CASH,
        payment_method_sub=sub,
        subrestaurant_uid=validated.subrestaurant_uid,
        details=[
            models.RestaurantDetailIn(
                product=models.RestaurantProductRefIn(uid=margherita.uid),
                quantity=2,
                options=[
                    models.RestaurantOptionIn(
                        uid=size.uid, values=[models.RestaurantValueIn(uid=maxi.uid)]
                    ),
                    models.RestaurantOptionIn(
                        uid=extra.uid,
                        values=[models.RestaurantValueIn(uid=mozzarella.uid, quantity=2)],
                    ),
                ],
            )
        ],
        delivery=models.RestaurantDeliveryIn(
            date=when,
            address=models.RestaurantPlaceRefIn(
                place_id=validated.address.place_id, doorbell="Bianchi", floor="2"
            ),
        ),
        coupon=models.RestaurantCouponIn(code=code),
    )

    # the quote first: the same body, priced, nothing stored
    quote = clients.endpoint("POST", "/api/order/quote")
    quoted = _success(
        await quote.asyncio_detailed(client=bearer, body=body), models.RestaurantOrderQuoted
    ).order
    assert (quoted.subtotal, quoted.discount, quoted.delivery_fee) == (25.0, 2.5, 2.5)
    assert quoted.total == 25.0

    create = clients.endpoint("POST", "/api/order/create")
    answer = await create.asyncio_detailed(
        client=bearer, body=body, idempotency_key=f"flow-{r.uid}"
    )
    created = _success(answer, models.RestaurantOrderCreated).order
    assert created.total == quoted.total and created.delivery_fee == 2.5
    assert created.confirmed is False
    assert created.delivery_date is not None and created.delivery_date.endswith("Z")
    assert created.pickup_date is None
    again = await create.asyncio_detailed(client=bearer, body=body, idempotency_key=f"flow-{r.uid}")
    assert again.headers["Idempotent-Replayed"] == "true"
    assert _success(again, models.RestaurantOrderCreated).order.uid == created.uid

    # the list and the order itself
    orders_list = clients.endpoint("GET", "/api/orders/list")
    orders = _success(
        await orders_list.asyncio_detailed(client=bearer, page=1, pagesize=10),
        models.RestaurantOrderPage,
    )
    assert [o.uid for o in orders.orders] == [created.uid] and orders.total_count == 1
    get = clients.endpoint("GET", "/api/orders/get")
    order = _success(
        await get.asyncio_detailed(client=bearer, uid=created.uid), models.RestaurantOrderFound
    ).order
    assert order.token == created.token and order.total == created.total
    assert order.delivery.date == when
    assert order.delivery.address.doorbell == "Bianchi"
    assert order.coupon.code == code and order.coupon.discount == 2.5
    assert order.payment_method_sub == sub
    assert order.confirmation.confirmed is False and order.confirmation.countdown_time == 300

    # confirmed before the countdown ends, then closed
    confirm = clients.endpoint("POST", "/api/order/confirm")
    confirmed = _success(
        await confirm.asyncio_detailed(client=bearer, uid=created.uid, token=created.token),
        models.RestaurantOrderFound,
    ).order
    assert confirmed.confirmation.confirmed is True
    close = clients.endpoint("POST", "/api/order/close")
    closed = _success(
        await close.asyncio_detailed(client=bearer, uid=created.uid, token=created.token),
        models.RestaurantOrderFound,
    ).order
    assert closed.closed is True and closed.confirmation.closed is True

    # a failure parses as the documented failure, with its code
    wrong = await confirm.asyncio_detailed(client=bearer, uid=created.uid, token="not-it")
    assert isinstance(wrong.parsed, models.RestaurantFailure)
    assert wrong.parsed.error == models.RestaurantFailureError.INVALID_TOKEN
