"""``POST /api/menu/import``: a POS menu keyed by ``ext_id``, in ``update`` or ``replace`` mode,
in one transaction."""

from __future__ import annotations

import copy
from typing import Any

import httpx
from tests.dialects.restaurant.api_support import (
    client_headers,
    client_with,
    failed,
    first_pickup_time,
    ok,
    place_pickup_order,
    restaurant_from,
)
from tests.factories import MILANO_PLACES, RestaurantSetup, make_restaurant, restaurant_doc

from orderdesk.http.state import AppState

IMPORT = "/api/menu/import"
PAGE_KEYS = ("page", "pagesize", "total_count", "more")


def _value(
    ext_id: str, name: str, operand: float, operator: str = "+", **extra: Any
) -> dict[str, Any]:
    return {
        "ext_id": ext_id,
        "name": name,
        "short_name": name[:3],
        "price_operator": operator,
        "price_operand": operand,
        "hidden": False,
        "position": None,
        "checked_default": False,
        **extra,
    }


def pos_menu(mode: str = "update") -> dict[str, Any]:
    """2 categories, 2 products, 2 options (one on a category, one on a product), 3 values."""
    return {
        "pos_uid": "cassa-1",
        "update_mode": mode,
        "categories": [
            {
                "ext_id": "CAT-PIZ",
                "name": "Pizze rosse",
                "description": "Con pomodoro",
                "image": "https://img.example/pizze.jpg",
                "hidden": False,
                "position": 0,
                "subrestaurant_uids": [],
                "options": [
                    {
                        "ext_id": "OPT-IMPASTO",
                        "name": "Impasto",
                        "short_name": "Imp",
                        "type": "single",
                        "min_selectable": 0,
                        "max_selectable": 1,
                        "max_quantity": 1,
                        "hidden": False,
                        "position": 0,
                        "option_values": [_value("V-INT", "Integrale", 1.5)],
                    }
                ],
            },
            {
                "ext_id": "CAT-BIB",
                "name": "Bibite",
                "description": "",
                "image": None,
                "hidden": False,
                "position": 1,
                "subrestaurant_uids": [],
                "options": [],
            },
        ],
        "products": [
            {
                "ext_id": "P-DIAV",
                "category_ext_id": "CAT-PIZ",
                "name": "Diavola",
                "ingredients": "Pomodoro, mozzarella, salame piccante",
                "price": 8.9,
                "hidden": False,
                "available": True,
                "position": 0,
                "image": "https://img.example/diavola.jpg",
                "subrestaurant_uids": [],
                "options": [
                    {
                        "ext_id": "OPT-EXTRA",
                        "name": "Aggiunte",
                        "short_name": "Agg",
                        "type": "multiple",
                        "min_selectable": 0,
                        "max_selectable": 2,
                        "max_quantity": 2,
                        "hidden": False,
                        "position": 0,
                        "option_values": [
                            _value("V-BUF", "Bufala", 2.2),
                            _value("V-NOPIC", "Senza piccante", 0.3, "-"),
                        ],
                    }
                ],
            },
            {
                "ext_id": "P-COLA",
                "category_ext_id": "CAT-BIB",
                "name": "Cola",
                "ingredients": "",
                "price": 2.5,
                "hidden": False,
                "available": True,
                "position": 1,
                "image": None,
                "subrestaurant_uids": [],
                "options": [],
            },
        ],
    }


async def _import(
    client: httpx.AsyncClient, r: RestaurantSetup, body: dict[str, Any]
) -> httpx.Response:
    return await client.post(IMPORT, headers=r.client_headers, json=body)


async def _imported(
    client: httpx.AsyncClient, r: RestaurantSetup, body: dict[str, Any]
) -> dict[str, int]:
    data: dict[str, int] = ok(await _import(client, r, body), "data")["data"]
    return data


async def _empty_restaurant(state: AppState) -> RestaurantSetup:
    return await make_restaurant(state, places=MILANO_PLACES, categories=[], products=[])


async def _product_uids(
    client: httpx.AsyncClient, r: RestaurantSetup, visible: int = 1
) -> list[str]:
    response = await client.get(
        "/api/menu/products", headers=r.key_headers, params={"page": 1, "visible": visible}
    )
    return [p["uid"] for p in ok(response, *PAGE_KEYS, "products")["products"]]


async def _product(
    client: httpx.AsyncClient, r: RestaurantSetup, uid: str, visible: int = 1
) -> dict[str, Any]:
    response = await client.get(
        "/api/menu/product", headers=r.key_headers, params={"uid": uid, "visible": visible}
    )
    product: dict[str, Any] = ok(response, "product")["product"]
    return product


# --- importing ----------------------------------------------------------------------------------


async def test_import_creates_the_menu_and_counts_it(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await _empty_restaurant(state)
    counts = await _imported(client, r, pos_menu())
    assert counts == {"created": 9, "updated": 0, "unchanged": 0, "hidden": 0}


async def test_imported_products_are_in_the_menu_with_major_unit_prices(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await _empty_restaurant(state)
    await _imported(client, r, pos_menu())
    assert await _product_uids(client, r) == ["P-DIAV", "P-COLA"]
    diavola = await _product(client, r, "P-DIAV")
    assert {k: v for k, v in diavola.items() if k != "options"} == {
        "uid": "P-DIAV",
        "category_uid": "CAT-PIZ",
        "name": "Diavola",
        "ingredients": "Pomodoro, mozzarella, salame piccante",
        "price": 8.9,
        "image": "https://img.example/diavola.jpg",
        "hidden": False,
        "position": 0,
        "subrestaurant_uids": [],
        "ext_id": "P-DIAV",
    }
    # the product's options after those of its category, by position then creation
    assert [o["ext_id"] for o in diavola["options"]] == ["OPT-IMPASTO", "OPT-EXTRA"]
    extra = diavola["options"][1]
    assert {k: v for k, v in extra.items() if k not in {"uid", "option_values"}} == {
        "name": "Aggiunte",
        "short_name": "Agg",
        "type": "multiple",
        "min_selectable": 0,
        "max_selectable": 2,
        "max_quantity": 2,
        "hidden": False,
        "position": 0,
        "ext_id": "OPT-EXTRA",
    }
    assert [
        (
            v["ext_id"],
            v["name"],
            v["short_name"],
            v["price_operator"],
            v["price_operand"],
            v["position"],
        )
        for v in extra["option_values"]
    ] == [
        ("V-BUF", "Bufala", "Buf", "+", 2.2, 0),
        ("V-NOPIC", "Senza piccante", "Sen", "-", 0.3, 1),
    ]
    assert (await _product(client, r, "P-COLA"))["price"] == 2.5


async def test_imported_categories_carry_their_options(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await _empty_restaurant(state)
    await _imported(client, r, pos_menu())
    response = await client.get("/api/menu/categories", headers=r.key_headers, params={"page": 1})
    pizze, bibite = ok(response, *PAGE_KEYS, "categories")["categories"]
    assert {k: v for k, v in pizze.items() if k != "options"} == {
        "uid": "CAT-PIZ",
        "name": "Pizze rosse",
        "description": "Con pomodoro",
        "image": "https://img.example/pizze.jpg",
        "products_count": 1,
        "hidden": False,
        "position": 0,
        "subrestaurant_uids": [],
        "ext_id": "CAT-PIZ",
    }
    (impasto,) = pizze["options"]
    assert (impasto["ext_id"], impasto["type"]) == ("OPT-IMPASTO", "single")
    assert [(v["ext_id"], v["price_operand"]) for v in impasto["option_values"]] == [("V-INT", 1.5)]
    assert (bibite["uid"], bibite["products_count"], bibite["options"]) == ("CAT-BIB", 1, [])


async def test_imported_product_can_be_ordered_at_its_price(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await _empty_restaurant(state)
    await _imported(client, r, pos_menu())
    diavola = await _product(client, r, "P-DIAV")
    extra = diavola["options"][1]
    order = await place_pickup_order(
        client,
        r,
        details=[
            {
                "product": {"uid": "P-DIAV"},
                "quantity": 1,
                "options": [
                    {
                        "uid": extra["uid"],
                        "values": [{"uid": extra["option_values"][0]["uid"], "quantity": 2}],
                    }
                ],
            }
        ],
    )
    assert order["total"] == 13.3  # 8.90 + 2 x 2.20


async def test_reimporting_the_same_menu_changes_nothing(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await _empty_restaurant(state)
    await _imported(client, r, pos_menu())
    before = await _product(client, r, "P-DIAV")
    counts = await _imported(client, r, pos_menu())
    assert counts == {"created": 0, "updated": 0, "unchanged": 9, "hidden": 0}
    assert await _product(client, r, "P-DIAV") == before


async def test_reimporting_the_same_menu_in_replace_mode_changes_nothing(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await _empty_restaurant(state)
    await _imported(client, r, pos_menu("replace"))
    counts = await _imported(client, r, pos_menu("replace"))
    assert counts == {"created": 0, "updated": 0, "unchanged": 9, "hidden": 0}


async def test_import_updates_what_changed_by_ext_id(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await _empty_restaurant(state)
    await _imported(client, r, pos_menu())
    menu = pos_menu()
    menu["products"][0].update(name="Diavola piccante", price=9.4)
    menu["products"][0]["options"][0]["option_values"][0]["price_operand"] = 2.5
    counts = await _imported(client, r, menu)
    assert counts == {"created": 0, "updated": 2, "unchanged": 7, "hidden": 0}
    diavola = await _product(client, r, "P-DIAV")
    assert (diavola["uid"], diavola["name"], diavola["price"]) == (
        "P-DIAV",
        "Diavola piccante",
        9.4,
    )
    assert diavola["options"][1]["option_values"][0]["price_operand"] == 2.5


async def test_import_with_an_api_key_is_allowed(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await _empty_restaurant(state)
    response = await client.post(IMPORT, headers=r.key_headers, json=pos_menu())
    assert ok(response, "data")["data"]["created"] == 9


# --- replace and update -------------------------------------------------------------------------


async def test_replace_hides_products_missing_from_the_document(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await _empty_restaurant(state)
    await _imported(client, r, pos_menu())
    menu = pos_menu("replace")
    del menu["products"][1]
    counts = await _imported(client, r, menu)
    assert counts == {"created": 0, "updated": 0, "unchanged": 8, "hidden": 1}
    assert await _product_uids(client, r) == ["P-DIAV"]
    assert await _product_uids(client, r, visible=0) == ["P-DIAV", "P-COLA"]
    assert (await _product(client, r, "P-COLA", visible=0))["hidden"] is True
    hidden = await client.get("/api/menu/product", headers=r.key_headers, params={"uid": "P-COLA"})
    failed(hidden, "PRODUCT_NOT_FOUND", names="uid")


async def test_replace_hides_the_setup_menu_but_past_orders_still_render(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state, places=MILANO_PLACES)
    order = await place_pickup_order(client, r)
    counts = await _imported(client, r, pos_menu("replace"))
    # 2 categories, 3 visible products, 2 options and 6 values of the setup menu
    assert counts == {"created": 9, "updated": 0, "unchanged": 0, "hidden": 13}
    assert await _product_uids(client, r) == ["P-DIAV", "P-COLA"]
    assert f"{r.uid}-margherita" in await _product_uids(client, r, visible=0)
    got = await client.get("/api/orders/get", headers=r.key_headers, params={"uid": order["uid"]})
    (line,) = ok(got, "order")["order"]["details"]
    assert (line["product"]["uid"], line["product"]["name"], line["price"]) == (
        f"{r.uid}-margherita",
        "Margherita",
        7.5,
    )
    assert line["options"][0]["values"][0]["uid"] == "normale"


async def test_product_hidden_by_replace_cannot_be_ordered(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state, places=MILANO_PLACES)
    await _imported(client, r, pos_menu("replace"))
    response = await client.post(
        "/api/order/create",
        headers=r.client_headers,
        json={
            "client": {
                "first_name": "Anna",
                "last_name": "Rossi",
                "email": "anna@example.com",
                "phone": "02 1234567",
            },
            "dmethod": "0",
            "payment_method": "cash",
            "payment_method_sub": "cash",
            "subrestaurant_uid": r.locations[0],
            "pickup": {"date": await first_pickup_time(client, r)},
            "details": [{"product": {"uid": f"{r.uid}-acqua"}, "quantity": 1}],
        },
    )
    failed(response, "PRODUCT_NOT_AVAILABLE", names="details.0.product.uid")


async def test_update_leaves_products_missing_from_the_document(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await _empty_restaurant(state)
    await _imported(client, r, pos_menu())
    menu = pos_menu("update")
    del menu["products"][1]
    counts = await _imported(client, r, menu)
    assert counts == {"created": 0, "updated": 0, "unchanged": 8, "hidden": 0}
    assert await _product_uids(client, r) == ["P-DIAV", "P-COLA"]


async def test_product_back_in_the_document_is_shown_again(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await _empty_restaurant(state)
    await _imported(client, r, pos_menu())
    without_cola = pos_menu("replace")
    del without_cola["products"][1]
    await _imported(client, r, without_cola)
    counts = await _imported(client, r, pos_menu("replace"))
    assert counts == {"created": 0, "updated": 1, "unchanged": 8, "hidden": 0}
    assert await _product_uids(client, r) == ["P-DIAV", "P-COLA"]


async def test_product_hidden_in_the_document_is_hidden(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await _empty_restaurant(state)
    menu = pos_menu()
    menu["products"][1]["hidden"] = True
    await _imported(client, r, menu)
    assert await _product_uids(client, r) == ["P-DIAV"]
    assert (await _product(client, r, "P-COLA", visible=0))["hidden"] is True


async def test_import_sells_a_product_at_one_location(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await _empty_restaurant(state)
    menu = pos_menu()
    menu["products"][1]["subrestaurant_uids"] = [r.locations[1]]
    await _imported(client, r, menu)
    assert (await _product(client, r, "P-COLA"))["subrestaurant_uids"] == [r.locations[1]]


# --- failures -----------------------------------------------------------------------------------


async def test_unknown_category_ext_id_is_validation_error(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await _empty_restaurant(state)
    menu = pos_menu()
    menu["products"][1]["category_ext_id"] = "CAT-NOPE"
    failed(await _import(client, r, menu), "VALIDATION_ERROR", names="products.1.category_ext_id")


async def test_failing_import_changes_nothing(client: httpx.AsyncClient, state: AppState) -> None:
    r = await _empty_restaurant(state)
    await _imported(client, r, pos_menu())
    before = [await _product(client, r, uid) for uid in ("P-DIAV", "P-COLA")]
    menu = pos_menu("replace")
    menu["products"][0]["price"] = 12
    menu["products"].append(
        {"ext_id": "P-NEW", "category_ext_id": "CAT-PIZ", "name": "Nuova", "price": 10}
    )
    menu["products"].append(
        {"ext_id": "P-BAD", "category_ext_id": "CAT-NOPE", "name": "Rotta", "price": 10}
    )
    menu["categories"].append({"ext_id": "CAT-NEW", "name": "Nuove"})
    failed(await _import(client, r, menu), "VALIDATION_ERROR", names="products.3.category_ext_id")
    assert [await _product(client, r, uid) for uid in ("P-DIAV", "P-COLA")] == before
    assert await _product_uids(client, r, visible=0) == ["P-DIAV", "P-COLA"]
    categories = await client.get(
        "/api/menu/categories", headers=r.key_headers, params={"page": 1, "visible": 0}
    )
    assert ok(categories, *PAGE_KEYS, "categories")["total_count"] == 2


async def test_category_already_in_the_catalog_may_be_left_out(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await _empty_restaurant(state)
    await _imported(client, r, pos_menu())
    menu = {
        "update_mode": "update",
        "products": [
            {"ext_id": "P-MARI", "category_ext_id": "CAT-PIZ", "name": "Marinara", "price": 6}
        ],
    }
    assert (await _imported(client, r, menu))["created"] == 1
    assert (await _product(client, r, "P-MARI"))["category_uid"] == "CAT-PIZ"


async def test_duplicate_product_ext_id_is_validation_error(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await _empty_restaurant(state)
    menu = pos_menu()
    menu["products"][1]["ext_id"] = "P-DIAV"
    failed(await _import(client, r, menu), "VALIDATION_ERROR", names="products.1.ext_id")
    assert await _product_uids(client, r, visible=0) == []


async def test_unknown_subrestaurant_is_validation_error(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await _empty_restaurant(state)
    menu = pos_menu()
    menu["products"][1]["subrestaurant_uids"] = [f"{r.uid}-nowhere"]
    failed(
        await _import(client, r, menu), "VALIDATION_ERROR", names="products.1.subrestaurant_uids.0"
    )
    assert await _product_uids(client, r, visible=0) == []


async def test_negative_price_is_validation_error(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await _empty_restaurant(state)
    menu = pos_menu()
    menu["products"][0]["price"] = -1
    failed(await _import(client, r, menu), "VALIDATION_ERROR", names="products.0.price")


async def test_missing_product_name_is_missing_parameter(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await _empty_restaurant(state)
    menu = pos_menu()
    del menu["products"][1]["name"]
    failed(await _import(client, r, menu), "MISSING_PARAMETER", names="products.1.name")


async def test_single_option_with_several_selectable_is_validation_error(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await _empty_restaurant(state)
    menu = pos_menu()
    menu["categories"][0]["options"][0]["max_selectable"] = 2
    failed(
        await _import(client, r, menu),
        "VALIDATION_ERROR",
        names="categories.0.options.0.max_selectable",
    )
    assert await _product_uids(client, r, visible=0) == []


async def test_min_selectable_above_max_selectable_is_validation_error(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await _empty_restaurant(state)
    menu = pos_menu()
    menu["products"][0]["options"][0].update(min_selectable=3, max_selectable=2)
    failed(
        await _import(client, r, menu),
        "VALIDATION_ERROR",
        names="products.0.options.0.max_selectable",
    )


async def test_unknown_update_mode_is_validation_error(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await _empty_restaurant(state)
    menu = pos_menu()
    menu["update_mode"] = "merge"
    failed(await _import(client, r, menu), "VALIDATION_ERROR", names="update_mode")


async def test_missing_update_mode_is_missing_parameter(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await _empty_restaurant(state)
    menu = copy.deepcopy(pos_menu())
    del menu["update_mode"]
    failed(await _import(client, r, menu), "MISSING_PARAMETER", names="update_mode")


async def test_import_needs_the_write_menu_scope(
    client: httpx.AsyncClient, state: AppState
) -> None:
    doc = restaurant_doc(categories=[], products=[])
    reader = client_with(doc["uid"], "read:menu", "write:orders")
    doc["clients"].append(reader)
    r = await restaurant_from(state, doc)
    response = await client.post(IMPORT, headers=client_headers(reader), json=pos_menu())
    failed(response, "INSUFFICIENT_SCOPE", status=403, names="write:menu")
    assert await _product_uids(client, r, visible=0) == []


async def test_import_with_a_write_menu_client(client: httpx.AsyncClient, state: AppState) -> None:
    doc = restaurant_doc(categories=[], products=[])
    pos = client_with(doc["uid"], "write:menu", name="pos")
    doc["clients"].append(pos)
    r = await restaurant_from(state, doc)
    response = await client.post(IMPORT, headers=client_headers(pos), json=pos_menu())
    assert ok(response, "data")["data"]["created"] == 9
    assert await _product_uids(client, r) == ["P-DIAV", "P-COLA"]


async def test_import_into_one_restaurant_leaves_another_alone(
    client: httpx.AsyncClient, state: AppState
) -> None:
    mine = await _empty_restaurant(state)
    theirs = await make_restaurant(state)
    before = await _product_uids(client, theirs)
    await _imported(client, mine, pos_menu("replace"))
    assert await _product_uids(client, theirs) == before
    await _imported(client, theirs, pos_menu())
    assert await _product_uids(client, mine) == ["P-DIAV", "P-COLA"]
