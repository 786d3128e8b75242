"""Partner catalog: ``/item/list`` paging, ``/item/find`` word-prefix search, ``/store/list``.

Items are one marketplace-wide catalog shared by every test in the session, so each test makes
its own items with a random word in their titles and looks only at those.
"""

from __future__ import annotations

import random
import string
from typing import Any

import httpx
import pytest
from tests.dialects.partner.envelope import (
    assert_unauthorized,
    ok_data,
    validation_errors,
)
from tests.factories import PartnerSetup, item_doc, login, make_partner

from orderdesk.http.state import AppState

ITEM_KEYS = {
    "id",
    "title",
    "category",
    "delivery",
    "assembly",
    "delivery_price",
    "assembly_price",
    "currency",
}


def word() -> str:
    """A random all-letter word that no other title contains."""
    return "q" + "".join(random.choices(string.ascii_lowercase, k=11))


async def partner_with_items(
    client: httpx.AsyncClient, state: AppState, titles: list[str], **extra: Any
) -> tuple[PartnerSetup, dict[str, str]]:
    partner = await make_partner(state, items=[item_doc(t, **extra) for t in titles])
    return partner, await login(client, partner)


async def whole_catalog(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        page = ok_data(
            await client.get(
                "/partner/item/list", params={"limit": 100, "skip": len(items)}, headers=headers
            )
        )
        items += page
        if len(page) < 100:
            return items


async def find(
    client: httpx.AsyncClient, headers: dict[str, str], name: str, **params: Any
) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = ok_data(
        await client.get("/partner/item/find", params={"name": name, **params}, headers=headers)
    )
    return data


def titles(items: list[dict[str, Any]]) -> list[str]:
    return [item["title"] for item in items]


# ---------------------------------------------------------------------------------------------
# /item/list


async def test_item_list_renders_the_exact_item_shape(
    client: httpx.AsyncClient, state: AppState
) -> None:
    tag = word()
    docs = [
        item_doc(
            f"Both services {tag}",
            category="beds",
            delivery_price=1999,
            assembly_price=4500,
            currency="USD",
        ),
        item_doc(f"Delivery only {tag}", assembly=False),
    ]
    docs[1].pop("assembly_price")
    partner = await make_partner(state, items=docs)
    headers = await login(client, partner)
    mine = [i for i in await whole_catalog(client, headers) if i["id"] in partner.items]
    assert mine == [
        {
            "id": docs[0]["id"],
            "title": f"Both services {tag}",
            "category": "beds",
            "delivery": True,
            "assembly": True,
            "delivery_price": 1999,
            "assembly_price": 4500,
            "currency": "USD",
        },
        {
            "id": docs[1]["id"],
            "title": f"Delivery only {tag}",
            "category": "wardrobes",
            "delivery": True,
            "assembly": False,
            "delivery_price": 2500,
            "assembly_price": 0,
            "currency": "EUR",
        },
    ]


async def test_item_list_is_ordered_by_id_without_repeats(
    client: httpx.AsyncClient, state: AppState
) -> None:
    _, headers = await partner_with_items(client, state, [f"Item {word()}" for _ in range(3)])
    ids = [item["id"] for item in await whole_catalog(client, headers)]
    assert ids == sorted(set(ids))
    for item in await whole_catalog(client, headers):
        assert set(item) == ITEM_KEYS


async def test_item_list_limit_and_skip_select_a_window(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner, headers = await partner_with_items(
        client, state, [f"Item {i} {word()}" for i in range(5)]
    )
    ids = [item["id"] for item in await whole_catalog(client, headers)]
    first = ids.index(partner.items[0])
    assert ids[first : first + 5] == partner.items
    page = ok_data(
        await client.get(
            "/partner/item/list", params={"limit": 2, "skip": first + 1}, headers=headers
        )
    )
    assert [item["id"] for item in page] == partner.items[1:3]


async def test_item_list_defaults_to_twenty_from_the_start(
    client: httpx.AsyncClient, state: AppState
) -> None:
    _, headers = await partner_with_items(client, state, [f"Item {i} {word()}" for i in range(21)])
    everything = await whole_catalog(client, headers)
    assert len(everything) > 20
    page = ok_data(await client.get("/partner/item/list", headers=headers))
    assert page == everything[:20]


async def test_item_list_accepts_the_maximum_limit_of_100(
    client: httpx.AsyncClient, state: AppState
) -> None:
    _, headers = await partner_with_items(client, state, [f"Item {word()}"])
    everything = await whole_catalog(client, headers)
    page = ok_data(await client.get("/partner/item/list", params={"limit": 100}, headers=headers))
    assert page == everything[:100]


async def test_item_list_skip_past_the_end_is_empty(
    client: httpx.AsyncClient, state: AppState
) -> None:
    _, headers = await partner_with_items(client, state, [f"Item {word()}"])
    total = len(await whole_catalog(client, headers))
    assert (
        ok_data(await client.get("/partner/item/list", params={"skip": total}, headers=headers))
        == []
    )


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "abc"}, "limit"),
        ({"skip": "-1"}, "skip"),
        ({"skip": "x"}, "skip"),
    ],
)
async def test_item_list_bad_paging_is_422(
    client: httpx.AsyncClient, state: AppState, params: dict[str, str], field: str
) -> None:
    _, headers = await partner_with_items(client, state, [f"Item {word()}"])
    errors = validation_errors(
        await client.get("/partner/item/list", params=params, headers=headers)
    )
    assert set(errors) == {field}


async def test_item_list_bad_limit_and_skip_are_both_reported(
    client: httpx.AsyncClient, state: AppState
) -> None:
    _, headers = await partner_with_items(client, state, [f"Item {word()}"])
    errors = validation_errors(
        await client.get("/partner/item/list", params={"limit": 0, "skip": -1}, headers=headers)
    )
    assert errors["limit"]["type"] == "min"
    assert errors["skip"]["type"] == "min"


async def test_item_list_without_token_is_401(client: httpx.AsyncClient) -> None:
    assert_unauthorized(await client.get("/partner/item/list"))


# ---------------------------------------------------------------------------------------------
# /item/find


async def test_find_matches_a_word_prefix(client: httpx.AsyncClient, state: AppState) -> None:
    tag = word()
    _, headers = await partner_with_items(
        client, state, [f"PAX Wardrobe 150x236 {tag}", f"MALM bed frame {tag}"]
    )
    assert titles(await find(client, headers, f"wardr {tag}")) == [f"PAX Wardrobe 150x236 {tag}"]


async def test_find_returns_the_item_shape(client: httpx.AsyncClient, state: AppState) -> None:
    tag = word()
    partner, headers = await partner_with_items(client, state, [f"Lamp {tag}"])
    assert await find(client, headers, tag) == [
        {
            "id": partner.items[0],
            "title": f"Lamp {tag}",
            "category": "wardrobes",
            "delivery": True,
            "assembly": True,
            "delivery_price": 2500,
            "assembly_price": 6900,
            "currency": "EUR",
        }
    ]


async def test_find_matches_a_word_inside_the_title(
    client: httpx.AsyncClient, state: AppState
) -> None:
    tag = word()
    _, headers = await partner_with_items(client, state, [f"{tag} PAX sliding wardrobe doors"])
    assert titles(await find(client, headers, f"sliding {tag}")) == [
        f"{tag} PAX sliding wardrobe doors"
    ]
    assert titles(await find(client, headers, f"doo {tag}")) == [
        f"{tag} PAX sliding wardrobe doors"
    ]


async def test_find_does_not_match_a_substring_in_the_middle_of_a_word(
    client: httpx.AsyncClient, state: AppState
) -> None:
    tag = word()
    _, headers = await partner_with_items(client, state, [f"PAX Wardrobe {tag}"])
    assert await find(client, headers, f"ardrobe {tag}") == []
    assert await find(client, headers, tag[3:]) == []


async def test_find_is_case_insensitive(client: httpx.AsyncClient, state: AppState) -> None:
    tag = word()
    _, headers = await partner_with_items(client, state, [f"PAX Wardrobe {tag}"])
    assert titles(await find(client, headers, f"WARDR {tag.upper()}")) == [f"PAX Wardrobe {tag}"]
    assert titles(await find(client, headers, f"pax {tag}")) == [f"PAX Wardrobe {tag}"]


async def test_find_ignores_accents_in_the_query(
    client: httpx.AsyncClient, state: AppState
) -> None:
    tag = word()
    _, headers = await partner_with_items(client, state, [f"Étagère murale {tag}"])
    assert titles(await find(client, headers, f"etagere {tag}")) == [f"Étagère murale {tag}"]
    assert titles(await find(client, headers, f"ÉTAG {tag}")) == [f"Étagère murale {tag}"]
    assert titles(await find(client, headers, f"étagère {tag}")) == [f"Étagère murale {tag}"]


async def test_find_ignores_accents_in_the_title(
    client: httpx.AsyncClient, state: AppState
) -> None:
    tag = word()
    _, headers = await partner_with_items(client, state, [f"Etagere murale {tag}"])
    assert titles(await find(client, headers, f"étagère {tag}")) == [f"Etagere murale {tag}"]
    assert titles(await find(client, headers, f"MURÂL {tag}")) == [f"Etagere murale {tag}"]


async def test_find_folds_case_beyond_ascii(client: httpx.AsyncClient, state: AppState) -> None:
    tag = word()
    _, headers = await partner_with_items(client, state, [f"Шкаф для одежды {tag}"])
    assert titles(await find(client, headers, f"ШКА ОДЕЖ {tag}")) == [f"Шкаф для одежды {tag}"]
    assert titles(await find(client, headers, f"шкаф {tag}")) == [f"Шкаф для одежды {tag}"]


async def test_find_requires_every_word_to_match(
    client: httpx.AsyncClient, state: AppState
) -> None:
    tag = word()
    _, headers = await partner_with_items(
        client,
        state,
        [f"PAX Wardrobe white {tag}", f"PAX Wardrobe black {tag}", f"HEMNES Wardrobe white {tag}"],
    )
    assert titles(await find(client, headers, f"pax wardr whi {tag}")) == [
        f"PAX Wardrobe white {tag}"
    ]
    assert sorted(titles(await find(client, headers, f"wardr {tag}"))) == sorted(
        [f"PAX Wardrobe white {tag}", f"PAX Wardrobe black {tag}", f"HEMNES Wardrobe white {tag}"]
    )
    assert await find(client, headers, f"pax wardr green {tag}") == []


async def test_find_word_order_does_not_matter(client: httpx.AsyncClient, state: AppState) -> None:
    tag = word()
    _, headers = await partner_with_items(client, state, [f"PAX Wardrobe white {tag}"])
    assert titles(await find(client, headers, f"{tag} whi pax")) == [f"PAX Wardrobe white {tag}"]


async def test_find_puts_better_matches_first(client: httpx.AsyncClient, state: AppState) -> None:
    tag = word()
    weak = f"{tag} wardrobe lamp table chair sofa desk shelf mirror"
    strong = f"{tag} wardrobe wardrobe"
    # The weak match gets the lower id, so id order alone would list it first.
    _, headers = await partner_with_items(client, state, [weak, strong])
    assert titles(await find(client, headers, f"{tag} wardrobe")) == [strong, weak]


async def test_find_honours_limit(client: httpx.AsyncClient, state: AppState) -> None:
    tag = word()
    _, headers = await partner_with_items(client, state, [f"Chair {i} {tag}" for i in range(4)])
    assert len(await find(client, headers, tag)) == 4
    assert len(await find(client, headers, tag, limit=2)) == 2


async def test_find_default_limit_is_twenty(client: httpx.AsyncClient, state: AppState) -> None:
    tag = word()
    _, headers = await partner_with_items(client, state, [f"Chair {i} {tag}" for i in range(21)])
    assert len(await find(client, headers, tag)) == 20
    assert len(await find(client, headers, tag, limit=100)) == 21


async def test_find_without_match_is_an_empty_list(
    client: httpx.AsyncClient, state: AppState
) -> None:
    _, headers = await partner_with_items(client, state, [f"Chair {word()}"])
    assert await find(client, headers, word()) == []


async def test_find_punctuation_only_query_is_an_empty_list(
    client: httpx.AsyncClient, state: AppState
) -> None:
    _, headers = await partner_with_items(client, state, [f"Chair {word()}"])
    assert await find(client, headers, "!!! -- ??? ...") == []
    assert await find(client, headers, "\"*'") == []


async def test_find_treats_search_syntax_as_plain_words(
    client: httpx.AsyncClient, state: AppState
) -> None:
    tag = word()
    _, headers = await partner_with_items(client, state, [f"Chair OR table {tag}"])
    assert titles(await find(client, headers, f'"{tag}" OR & | ! :* NEAR(')) == []
    assert titles(await find(client, headers, f'{tag}" chair*')) == [f"Chair OR table {tag}"]


async def test_find_missing_name_is_422(client: httpx.AsyncClient, state: AppState) -> None:
    _, headers = await partner_with_items(client, state, [f"Chair {word()}"])
    errors = validation_errors(await client.get("/partner/item/find", headers=headers))
    assert set(errors) == {"name"}
    assert errors["name"]["type"] == "required"


@pytest.mark.parametrize("limit", ["0", "101", "many"])
async def test_find_bad_limit_is_422(
    client: httpx.AsyncClient, state: AppState, limit: str
) -> None:
    _, headers = await partner_with_items(client, state, [f"Chair {word()}"])
    errors = validation_errors(
        await client.get(
            "/partner/item/find", params={"name": "chair", "limit": limit}, headers=headers
        )
    )
    assert set(errors) == {"limit"}


async def test_find_without_token_is_401(client: httpx.AsyncClient) -> None:
    assert_unauthorized(await client.get("/partner/item/find", params={"name": "wardrobe"}))


# ---------------------------------------------------------------------------------------------
# /store/list


async def test_store_list_returns_the_callers_stores(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state, stores=2, timezone="America/New_York")
    await make_partner(state, stores=1)
    headers = await login(client, partner)
    stores = ok_data(await client.get("/partner/store/list", headers=headers))
    assert sorted(stores, key=lambda s: s["store_id"]) == [
        {"store_id": store["id"], "store_title": store["title"], "timezone": "America/New_York"}
        for store in sorted(partner.document["partners"][0]["stores"], key=lambda s: s["id"])
    ]


async def test_store_list_never_shows_another_partners_stores(
    client: httpx.AsyncClient, state: AppState
) -> None:
    mine = await make_partner(state, stores=1)
    theirs = await make_partner(state, stores=3)
    stores = ok_data(await client.get("/partner/store/list", headers=await login(client, mine)))
    assert [s["store_id"] for s in stores] == mine.stores
    assert not {s["store_id"] for s in stores} & set(theirs.stores)


async def test_store_list_without_token_is_401(client: httpx.AsyncClient) -> None:
    assert_unauthorized(await client.get("/partner/store/list"))
