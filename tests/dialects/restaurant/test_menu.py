"""Reading the menu: categories, products with options, search, pagination, visibility, and the
restaurant's locations."""

from __future__ import annotations

from typing import Any

import httpx
from tests.dialects.restaurant.api_support import (
    client_headers,
    client_with,
    failed,
    ok,
    restaurant_from,
)
from tests.factories import RestaurantSetup, make_restaurant, restaurant_doc

from orderdesk.http.state import AppState

PAGE_KEYS = ("page", "pagesize", "total_count", "more")
CATEGORY_KEYS = {
    "uid",
    "name",
    "description",
    "image",
    "products_count",
    "hidden",
    "position",
    "subrestaurant_uids",
    "ext_id",
    "options",
}
PRODUCT_KEYS = {
    "uid",
    "category_uid",
    "name",
    "ingredients",
    "price",
    "image",
    "hidden",
    "position",
    "subrestaurant_uids",
    "ext_id",
    "options",
}
OPTION_KEYS = {
    "uid",
    "name",
    "short_name",
    "type",
    "min_selectable",
    "max_selectable",
    "max_quantity",
    "hidden",
    "position",
    "ext_id",
    "option_values",
}
VALUE_KEYS = {
    "uid",
    "name",
    "short_name",
    "price_operator",
    "price_operand",
    "hidden",
    "position",
    "checked_default",
    "ext_id",
}


async def _categories(
    client: httpx.AsyncClient, r: RestaurantSetup, **params: Any
) -> dict[str, Any]:
    response = await client.get(
        "/api/menu/categories", headers=r.key_headers, params={"page": 1, **params}
    )
    return ok(response, *PAGE_KEYS, "categories")


async def _products(client: httpx.AsyncClient, r: RestaurantSetup, **params: Any) -> dict[str, Any]:
    response = await client.get(
        "/api/menu/products", headers=r.key_headers, params={"page": 1, **params}
    )
    return ok(response, *PAGE_KEYS, "products")


def _uids(items: list[dict[str, Any]]) -> list[str]:
    return [item["uid"] for item in items]


async def _menu_with_extras(state: AppState) -> RestaurantSetup:
    """The factory restaurant plus a hidden category, an accented product and a hidden value."""
    doc = restaurant_doc()
    uid = doc["uid"]
    doc["categories"].append(
        {
            "uid": f"{uid}-segreti",
            "name": "Segreti",
            "hidden": True,
            "description": "Solo per amici",
        }
    )
    doc["products"].append(
        {
            "uid": f"{uid}-caffe",
            "category_uid": f"{uid}-bevande",
            "name": "Caffè macchiato",
            "price": 120,
            "ingredients": "Espresso, latte",
        }
    )
    extra = doc["products"][0]["options"][1]
    extra["option_values"].append(
        {
            "uid": "truffle",
            "name": "Tartufo",
            "price_operator": "+",
            "price_operand": 400,
            "hidden": True,
        }
    )
    return await restaurant_from(state, doc)


# --- categories ---------------------------------------------------------------------------------


async def test_categories_without_page_is_missing_parameter(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state)
    response = await client.get("/api/menu/categories", headers=r.key_headers)
    failed(response, "MISSING_PARAMETER", names="page")


async def test_categories_page_zero_is_validation_error(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state)
    response = await client.get("/api/menu/categories", headers=r.key_headers, params={"page": 0})
    failed(response, "VALIDATION_ERROR", names="page")


async def test_categories_pagesize_above_100_is_validation_error(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state)
    response = await client.get(
        "/api/menu/categories", headers=r.key_headers, params={"page": 1, "pagesize": 101}
    )
    failed(response, "VALIDATION_ERROR", names="pagesize")


async def test_categories_pagesize_defaults_to_100(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state)
    body = await _categories(client, r)
    assert (body["page"], body["pagesize"], body["total_count"], body["more"]) == (1, 100, 2, False)


async def test_categories_are_paged_in_menu_order(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state)
    first = await _categories(client, r, pagesize=1)
    assert _uids(first["categories"]) == [f"{r.uid}-pizze"]
    assert (first["total_count"], first["more"], first["pagesize"]) == (2, True, 1)
    second = await _categories(client, r, page=2, pagesize=1)
    assert _uids(second["categories"]) == [f"{r.uid}-bevande"]
    assert (second["page"], second["more"]) == (2, False)
    beyond = await _categories(client, r, page=3, pagesize=1)
    assert beyond["categories"] == []
    assert (beyond["total_count"], beyond["more"]) == (2, False)


async def test_hidden_category_is_left_out_by_default(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await _menu_with_extras(state)
    body = await _categories(client, r)
    assert _uids(body["categories"]) == [f"{r.uid}-pizze", f"{r.uid}-bevande"]
    assert body["total_count"] == 2


async def test_visible_0_lists_hidden_categories_too(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await _menu_with_extras(state)
    body = await _categories(client, r, visible=0)
    assert _uids(body["categories"]) == [f"{r.uid}-pizze", f"{r.uid}-bevande", f"{r.uid}-segreti"]
    assert body["total_count"] == 3
    assert body["categories"][2]["hidden"] is True


async def test_category_shape(client: httpx.AsyncClient, state: AppState) -> None:
    r = await make_restaurant(state)
    pizze = (await _categories(client, r))["categories"][0]
    assert set(pizze) == CATEGORY_KEYS
    assert pizze == {
        "uid": f"{r.uid}-pizze",
        "name": "Pizze",
        "description": "",
        "image": None,
        "products_count": 2,
        "hidden": False,
        "position": 0,
        "subrestaurant_uids": [],
        "ext_id": None,
        "options": [],
    }


async def test_products_count_leaves_hidden_products_out_unless_visible_0(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state)
    shown = {c["uid"]: c["products_count"] for c in (await _categories(client, r))["categories"]}
    assert shown == {f"{r.uid}-pizze": 2, f"{r.uid}-bevande": 1}
    every = {
        c["uid"]: c["products_count"]
        for c in (await _categories(client, r, visible=0))["categories"]
    }
    assert every == {f"{r.uid}-pizze": 3, f"{r.uid}-bevande": 1}


async def test_one_category_by_uid(client: httpx.AsyncClient, state: AppState) -> None:
    r = await make_restaurant(state)
    response = await client.get(
        "/api/menu/category", headers=r.key_headers, params={"uid": f"{r.uid}-pizze"}
    )
    category = ok(response, "category")["category"]
    listed = (await _categories(client, r))["categories"][0]
    assert category == listed


async def test_one_category_counts_like_the_list_with_visible_0(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state)
    response = await client.get(
        "/api/menu/category", headers=r.key_headers, params={"uid": f"{r.uid}-pizze", "visible": 0}
    )
    assert ok(response, "category")["category"]["products_count"] == 3


async def test_unknown_category_is_category_not_found(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state)
    response = await client.get(
        "/api/menu/category", headers=r.key_headers, params={"uid": f"{r.uid}-nothing"}
    )
    failed(response, "CATEGORY_NOT_FOUND", names="uid")


async def test_another_restaurants_category_is_category_not_found(
    client: httpx.AsyncClient, state: AppState
) -> None:
    mine = await make_restaurant(state)
    theirs = await make_restaurant(state)
    response = await client.get(
        "/api/menu/category", headers=mine.key_headers, params={"uid": f"{theirs.uid}-pizze"}
    )
    failed(response, "CATEGORY_NOT_FOUND", names="uid")


async def test_hidden_category_is_found_only_with_visible_0(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await _menu_with_extras(state)
    params = {"uid": f"{r.uid}-segreti"}
    hidden = await client.get("/api/menu/category", headers=r.key_headers, params=params)
    failed(hidden, "CATEGORY_NOT_FOUND", names="uid")
    shown = await client.get(
        "/api/menu/category", headers=r.key_headers, params={**params, "visible": 0}
    )
    category = ok(shown, "category")["category"]
    assert (category["hidden"], category["description"]) == (True, "Solo per amici")


# --- products -----------------------------------------------------------------------------------


async def test_products_list_visible_ones_in_menu_order(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state)
    body = await _products(client, r)
    assert _uids(body["products"]) == [
        f"{r.uid}-margherita",
        f"{r.uid}-acqua",
        f"{r.uid}-navigli-only",
    ]
    assert (body["total_count"], body["more"], body["pagesize"]) == (3, False, 100)


async def test_products_visible_0_include_hidden_ones(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state)
    body = await _products(client, r, visible=0)
    assert f"{r.uid}-hidden" in _uids(body["products"])
    assert body["total_count"] == 4


async def test_products_are_paged(client: httpx.AsyncClient, state: AppState) -> None:
    r = await make_restaurant(state)
    first = await _products(client, r, pagesize=2)
    second = await _products(client, r, page=2, pagesize=2)
    assert (len(first["products"]), first["more"]) == (2, True)
    assert (len(second["products"]), second["more"]) == (1, False)
    assert set(_uids(first["products"])) | set(_uids(second["products"])) == {
        f"{r.uid}-margherita",
        f"{r.uid}-acqua",
        f"{r.uid}-navigli-only",
    }


async def test_products_without_page_is_missing_parameter(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state)
    response = await client.get("/api/menu/products", headers=r.key_headers)
    failed(response, "MISSING_PARAMETER", names="page")


async def test_products_of_one_category(client: httpx.AsyncClient, state: AppState) -> None:
    r = await make_restaurant(state)
    pizze = await _products(client, r, catuid=f"{r.uid}-pizze")
    assert _uids(pizze["products"]) == [f"{r.uid}-margherita", f"{r.uid}-navigli-only"]
    bevande = await _products(client, r, catuid=f"{r.uid}-bevande")
    assert _uids(bevande["products"]) == [f"{r.uid}-acqua"]
    assert bevande["total_count"] == 1


async def test_products_search_by_word_prefix(client: httpx.AsyncClient, state: AppState) -> None:
    r = await make_restaurant(state)
    for q in ("marg", "MARGH", "Margherita"):
        body = await _products(client, r, q=q)
        assert _uids(body["products"]) == [f"{r.uid}-margherita"], q
        assert body["total_count"] == 1


async def test_products_search_matches_word_starts_only(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state)
    body = await _products(client, r, q="gherita")
    assert body["products"] == []
    assert body["total_count"] == 0


async def test_products_search_ignores_accents(client: httpx.AsyncClient, state: AppState) -> None:
    r = await _menu_with_extras(state)
    for q in ("caffe", "caffè", "CAFFÉ macch"):
        body = await _products(client, r, q=q)
        assert _uids(body["products"]) == [f"{r.uid}-caffe"], q


async def test_products_search_within_a_category(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state)
    found = await _products(client, r, q="marg", catuid=f"{r.uid}-pizze")
    assert _uids(found["products"]) == [f"{r.uid}-margherita"]
    elsewhere = await _products(client, r, q="marg", catuid=f"{r.uid}-bevande")
    assert elsewhere["products"] == []


async def test_products_search_leaves_out_hidden_products_by_default(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state)
    body = await _products(client, r, q="segreta")
    assert body["products"] == []


async def test_products_search_with_visible_0_finds_hidden_products(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state)
    body = await _products(client, r, q="segreta", visible=0)
    assert _uids(body["products"]) == [f"{r.uid}-hidden"]


async def test_products_search_stays_within_the_restaurant(
    client: httpx.AsyncClient, state: AppState
) -> None:
    mine = await make_restaurant(state)
    await make_restaurant(state)
    body = await _products(client, mine, q="marg")
    assert _uids(body["products"]) == [f"{mine.uid}-margherita"]


async def test_product_shape_with_options_in_major_units(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state)
    response = await client.get(
        "/api/menu/product", headers=r.key_headers, params={"uid": f"{r.uid}-margherita"}
    )
    product = ok(response, "product")["product"]
    assert set(product) == PRODUCT_KEYS
    assert {k: v for k, v in product.items() if k != "options"} == {
        "uid": f"{r.uid}-margherita",
        "category_uid": f"{r.uid}-pizze",
        "name": "Margherita",
        "ingredients": "",
        "price": 7.5,
        "image": None,
        "hidden": False,
        "position": 0,
        "subrestaurant_uids": [],
        "ext_id": None,
    }
    size, extra = product["options"]
    assert set(size) == OPTION_KEYS
    assert {k: v for k, v in size.items() if k != "option_values"} == {
        "uid": f"{r.uid}-size",
        "name": "Size",
        "short_name": "",
        "type": "single",
        "min_selectable": 1,
        "max_selectable": 1,
        "max_quantity": 1,
        "hidden": False,
        "position": 0,
        "ext_id": None,
    }
    for value in size["option_values"] + extra["option_values"]:
        assert set(value) == VALUE_KEYS
    assert [
        (v["uid"], v["price_operator"], v["price_operand"], v["position"])
        for v in size["option_values"]
    ] == [("normale", "+", 0, 0), ("maxi", "+", 3, 1), ("gluten-free", "=", 10, 2)]
    assert size["option_values"][1] == {
        "uid": "maxi",
        "name": "Maxi",
        "short_name": "",
        "price_operator": "+",
        "price_operand": 3,
        "hidden": False,
        "position": 1,
        "checked_default": False,
        "ext_id": None,
    }
    assert (
        extra["type"],
        extra["min_selectable"],
        extra["max_selectable"],
        extra["max_quantity"],
    ) == ("multiple", 0, 3, 2)
    assert [
        (v["uid"], v["price_operator"], v["price_operand"]) for v in extra["option_values"]
    ] == [("mozz", "+", 1), ("basil", "+", 0.5), ("no-cheese", "-", 0.8)]


async def test_product_in_list_is_the_same_as_alone(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state)
    listed = (await _products(client, r))["products"][0]
    alone = await client.get(
        "/api/menu/product", headers=r.key_headers, params={"uid": f"{r.uid}-margherita"}
    )
    assert ok(alone, "product")["product"] == listed


async def test_product_sold_at_one_location_lists_it(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state)
    response = await client.get(
        "/api/menu/product", headers=r.key_headers, params={"uid": f"{r.uid}-navigli-only"}
    )
    product = ok(response, "product")["product"]
    assert product["subrestaurant_uids"] == [f"{r.uid}-navigli"]
    assert product["price"] == 9.5


async def test_product_without_options_has_an_empty_list(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await _menu_with_extras(state)
    response = await client.get(
        "/api/menu/product", headers=r.key_headers, params={"uid": f"{r.uid}-caffe"}
    )
    product = ok(response, "product")["product"]
    assert (product["price"], product["ingredients"], product["options"]) == (
        1.2,
        "Espresso, latte",
        [],
    )


async def test_hidden_option_values_are_left_out_unless_visible_0(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await _menu_with_extras(state)
    params = {"uid": f"{r.uid}-margherita"}
    shown = await client.get("/api/menu/product", headers=r.key_headers, params=params)
    extra = ok(shown, "product")["product"]["options"][1]
    assert _uids(extra["option_values"]) == ["mozz", "basil", "no-cheese"]
    every = await client.get(
        "/api/menu/product", headers=r.key_headers, params={**params, "visible": 0}
    )
    extra = ok(every, "product")["product"]["options"][1]
    assert _uids(extra["option_values"]) == ["mozz", "basil", "no-cheese", "truffle"]
    assert (extra["option_values"][3]["hidden"], extra["option_values"][3]["price_operand"]) == (
        True,
        4,
    )


async def test_unknown_product_is_product_not_found(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state)
    response = await client.get(
        "/api/menu/product", headers=r.key_headers, params={"uid": f"{r.uid}-nothing"}
    )
    failed(response, "PRODUCT_NOT_FOUND", names="uid")


async def test_another_restaurants_product_is_product_not_found(
    client: httpx.AsyncClient, state: AppState
) -> None:
    mine = await make_restaurant(state)
    theirs = await make_restaurant(state)
    response = await client.get(
        "/api/menu/product", headers=mine.key_headers, params={"uid": f"{theirs.uid}-margherita"}
    )
    failed(response, "PRODUCT_NOT_FOUND", names="uid")


async def test_hidden_product_is_not_found_with_visible_1(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state)
    uid = f"{r.uid}-hidden"
    for params in ({"uid": uid}, {"uid": uid, "visible": "1"}):
        response = await client.get("/api/menu/product", headers=r.key_headers, params=params)
        failed(response, "PRODUCT_NOT_FOUND", names="uid")


async def test_hidden_product_is_shown_with_visible_0(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state)
    response = await client.get(
        "/api/menu/product", headers=r.key_headers, params={"uid": f"{r.uid}-hidden", "visible": 0}
    )
    product = ok(response, "product")["product"]
    assert (product["name"], product["hidden"], product["price"]) == ("Segreta", True, 9)


async def test_visible_other_than_0_or_1_is_validation_error(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state)
    response = await client.get(
        "/api/menu/products", headers=r.key_headers, params={"page": 1, "visible": 2}
    )
    failed(response, "VALIDATION_ERROR", names="visible")


# --- locations ----------------------------------------------------------------------------------


async def test_subrestaurants_shape(client: httpx.AsyncClient, state: AppState) -> None:
    doc = restaurant_doc()
    doc["cash_subs"] = ["contanti", "pos", "buoni pasto"]
    doc["subrestaurants"][0].update(phone="+39 02 1234 5678", email="centro@example.com")
    r = await restaurant_from(state, doc)
    response = await client.get("/api/account/subrestaurants", headers=r.key_headers)
    centro, navigli = ok(response, "subrestaurants")["subrestaurants"]
    assert centro == {
        "uid": f"{r.uid}-centro",
        "name": "Centro",
        "code": "C",
        "address": "Via Roma 1",
        "city": "Milano",
        "province": "MI",
        "zip": "20121",
        "country": "IT",
        "phone": "+39 02 1234 5678",
        "email": "centro@example.com",
        "payment_method_subs": doc["cash_subs"],
    }
    assert navigli == {
        "uid": f"{r.uid}-navigli",
        "name": "Navigli",
        "code": "N",
        "address": "Ripa di Porta Ticinese 7",
        "city": "Milano",
        "province": "MI",
        "zip": "20143",
        "country": "IT",
        "phone": None,
        "email": None,
        "payment_method_subs": doc["cash_subs"],
    }


async def test_subrestaurants_are_only_the_callers(
    client: httpx.AsyncClient, state: AppState
) -> None:
    mine = await make_restaurant(state)
    await make_restaurant(state)
    response = await client.get("/api/account/subrestaurants", headers=mine.client_headers)
    assert _uids(ok(response, "subrestaurants")["subrestaurants"]) == mine.locations


# --- who may read the menu ----------------------------------------------------------------------


async def test_menu_read_with_a_read_menu_client(
    client: httpx.AsyncClient, state: AppState
) -> None:
    doc = restaurant_doc()
    reader = client_with(doc["uid"], "read:menu")
    doc["clients"].append(reader)
    r = await restaurant_from(state, doc)
    headers = client_headers(reader)
    categories = await client.get("/api/menu/categories", headers=headers, params={"page": 1})
    assert len(ok(categories, *PAGE_KEYS, "categories")["categories"]) == 2
    products = await client.get("/api/menu/products", headers=headers, params={"page": 1})
    assert len(ok(products, *PAGE_KEYS, "products")["products"]) == 3
    product = await client.get(
        "/api/menu/product", headers=headers, params={"uid": f"{r.uid}-acqua"}
    )
    assert ok(product, "product")["product"]["price"] == 2
    category = await client.get(
        "/api/menu/category", headers=headers, params={"uid": f"{r.uid}-bevande"}
    )
    assert ok(category, "category")["category"]["name"] == "Bevande"


async def test_menu_needs_the_read_menu_scope(client: httpx.AsyncClient, state: AppState) -> None:
    doc = restaurant_doc()
    writer = client_with(doc["uid"], "write:orders", "read:orders")
    doc["clients"].append(writer)
    r = await restaurant_from(state, doc)
    for path, params in (
        ("/api/menu/categories", {"page": 1}),
        ("/api/menu/category", {"uid": f"{r.uid}-pizze"}),
        ("/api/menu/products", {"page": 1}),
        ("/api/menu/product", {"uid": f"{r.uid}-margherita"}),
    ):
        response = await client.get(path, headers=client_headers(writer), params=params)
        failed(response, "INSUFFICIENT_SCOPE", status=403, names="read:menu")
