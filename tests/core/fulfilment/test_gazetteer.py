"""Tolerant address matching against the ``places`` table."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from tests.core.fulfilment.support import add_places

from orderdesk.core.fulfilment.gazetteer import (
    MAX_CANDIDATES,
    address_tokens,
    find_place,
    get_place,
    normalise_number,
)

GAZETTEER: list[dict[str, Any]] = [
    {
        "place_id": "via-roma-1-milano",
        "street": "Via Roma",
        "number": "1",
        "city": "Milano",
        "province": "MI",
        "zip": "20121",
        "lat": 45.4642,
        "lng": 9.19,
    },
    {
        "place_id": "via-roma-3-milano",
        "street": "Via Roma",
        "number": "3",
        "city": "Milano",
        "province": "MI",
        "zip": "20121",
    },
    {
        "place_id": "via-roma-5b-milano",
        "street": "Via Roma",
        "number": "5/B",
        "city": "Milano",
        "province": "MI",
        "zip": "20121",
    },
    {
        "place_id": "via-roma-1-torino",
        "street": "Via Roma",
        "number": "1",
        "city": "Torino",
        "province": "TO",
        "zip": "10121",
    },
    {
        "place_id": "piazza-roma-1-milano",
        "street": "Piazza Roma",
        "number": "1",
        "city": "Milano",
        "province": "MI",
        "zip": "20122",
    },
    {
        "place_id": "via-4-novembre-10",
        "street": "Via 4 Novembre",
        "number": "10",
        "city": "Milano",
        "province": "MI",
        "zip": "20123",
    },
    {
        "place_id": "viale-monza-12",
        "street": "Viale Monza",
        "number": "12",
        "city": "Milano",
        "province": "MI",
        "zip": "20127",
    },
    {
        "place_id": "corso-buenos-aires-33",
        "street": "Corso Buenos Aires",
        "number": "33",
        "city": "Milano",
        "province": "MI",
        "zip": "20124",
    },
    {
        "place_id": "piazza-del-duomo",
        "street": "Piazza del Duomo",
        "number": "",
        "city": "Milano",
        "province": "MI",
        "zip": "20122",
    },
    {
        "place_id": "largo-cairoli-2",
        "street": "Largo Cairoli",
        "number": "2",
        "city": "Milano",
        "province": "MI",
        "zip": "20121",
    },
    {
        "place_id": "downing-street-10",
        "street": "Downing Street",
        "number": "10",
        "city": "London",
        "zip": "SW1A 2AA",
        "country": "GB",
    },
    {
        "place_id": "hauptstrasse-5",
        "street": "Hauptstraße",
        "number": "5",
        "city": "Berlin",
        "zip": "10115",
        "country": "DE",
    },
]


@pytest.fixture
async def gazetteer(session: AsyncSession) -> AsyncSession:
    await add_places(session, *GAZETTEER)
    return session


@pytest.mark.parametrize(
    ("text", "place_id"),
    [
        ("via Roma 1, Milano", "via-roma-1-milano"),
        ("V. Roma, 1 20121 milano", "via-roma-1-milano"),
        ("Via  Róma 1/A Milano", "via-roma-1-milano"),
        ("VIA ROMA N. 1 MILANO", "via-roma-1-milano"),
        ("via roma n°1, milano", "via-roma-1-milano"),
        ("Via Roma civico 1 - Milano (MI)", "via-roma-1-milano"),
        ("Milano, via Roma 1", "via-roma-1-milano"),
        ("via Roma 1 20121", "via-roma-1-milano"),
        ("Via Roma 1, Torino", "via-roma-1-torino"),
        ("P.za Roma 1, Milano", "piazza-roma-1-milano"),
        ("pza Roma 1 Milano", "piazza-roma-1-milano"),
        ("Via 4 Novembre 10, Milano", "via-4-novembre-10"),
        ("V.le Monza 12 Milano", "viale-monza-12"),
        ("C.so Buenos Aires, 33 - 20124 Milano, Italia", "corso-buenos-aires-33"),
        ("Piazza Duomo, Milano", "piazza-del-duomo"),
        ("P.zza del Duomo 20122 Milano", "piazza-del-duomo"),
        ("L.go Cairoli 2 Milano", "largo-cairoli-2"),
        ("10 Downing St, London", "downing-street-10"),
        ("Hauptstr. 5, 10115 Berlin", "hauptstrasse-5"),
        ("Via Roma 5/b Milano", "via-roma-5b-milano"),
        ("Via Roma 5 B, Milano", "via-roma-5b-milano"),
    ],
)
async def test_free_text_phrasings_find_the_place(
    gazetteer: AsyncSession, text: str, place_id: str
) -> None:
    place = await find_place(gazetteer, text=text)
    assert place is not None, text
    assert place.place_id == place_id


@pytest.mark.parametrize(
    "text",
    [
        "Via Roma 2, Milano",  # no such number
        "Via Roma 11, Milano",  # 1 is not a prefix of 11
        "Via Roma 1, Napoli",  # other city
        "Via Roma 1, 20122 Milano",  # postcode contradicts the place's
        "Via Roma 5, Milano",  # only 5/B exists: 5 may be another entrance
        "Via Roma 5/A, Milano",  # other letter
        "Via Roma, Milano",  # no number, the place has one
        "Piazza Duomo 7, Milano",  # a number, the place has none
        "Corso Roma 1, Milano",  # another street type
        "Via Roma Nuova 1, Milano",  # a longer street name
        "Roma 1, Milano",  # via Roma or piazza Roma: ambiguous
        "via Roma 1",  # no city nor postcode
        "Viale Monza, 12",  # no city nor postcode
        "Pizza margherita",
        "",
    ],
)
async def test_non_matches_return_none(gazetteer: AsyncSession, text: str) -> None:
    assert await find_place(gazetteer, text=text) is None


async def test_structured_address_finds_the_place(gazetteer: AsyncSession) -> None:
    place = await find_place(
        gazetteer,
        street="V. Roma",
        number="n. 1",
        city="milano",
        province="MI",
        zip="20121",
        country="it",
    )
    assert place is not None
    assert place.place_id == "via-roma-1-milano"


async def test_structured_address_checks_the_country(gazetteer: AsyncSession) -> None:
    assert (
        await find_place(gazetteer, street="Via Roma", number="1", city="Milano", country="FR")
        is None
    )


async def test_structured_address_with_wrong_number_is_none(gazetteer: AsyncSession) -> None:
    assert await find_place(gazetteer, street="Via Roma", number="7", city="Milano") is None


async def test_exact_suffix_wins_over_bare_number(gazetteer: AsyncSession) -> None:
    await add_places(
        gazetteer,
        {
            "place_id": "via-roma-1a-milano",
            "street": "Via Roma",
            "number": "1A",
            "city": "Milano",
            "zip": "20121",
        },
    )
    place = await find_place(gazetteer, text="Via Roma 1/a, Milano")
    assert place is not None
    assert place.place_id == "via-roma-1a-milano"


async def test_duplicate_address_prefers_the_setup_place(gazetteer: AsyncSession) -> None:
    await add_places(
        gazetteer,
        {
            "place_id": "geo-0123456789abcdef",
            "street": "Via Roma",
            "number": "1",
            "city": "Milano",
            "zip": "20121",
        },
    )
    place = await find_place(gazetteer, text="via Roma 1 Milano")
    assert place is not None
    assert place.place_id == "via-roma-1-milano"


async def test_get_place_by_id(gazetteer: AsyncSession) -> None:
    place = await get_place(gazetteer, "via-roma-1-milano")
    assert place is not None
    assert (place.street, place.number, place.lat) == ("Via Roma", "1", 45.4642)
    assert await get_place(gazetteer, "no-such-place") is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", "1"),
        ("1/A", "1a"),
        ("1 a", "1a"),
        ("1a", "1a"),
        ("n. 1", "1"),
        ("n°1", "1"),
        ("civico 12", "12"),
        ("3 bis", "3bis"),
        ("", ""),
    ],
)
def test_house_number_forms(raw: str, expected: str) -> None:
    assert normalise_number(raw) == expected


def test_abbreviations_and_articles_normalise_alike() -> None:
    assert address_tokens("P.zza del Duomo") == address_tokens("piazza Duomo")
    assert address_tokens("V.le Monza") == address_tokens("Viale Monza")
    assert address_tokens("C.so Como") == address_tokens("corso como")
    assert address_tokens("Hauptstr.") == address_tokens("Hauptstraße")
    assert address_tokens("Baker St.") == address_tokens("baker street")
    assert address_tokens("5th Ave") == address_tokens("5th Avenue")


async def test_right_place_survives_the_candidate_cap(session: AsyncSession) -> None:
    await add_places(
        session,
        *(
            {
                "place_id": f"a-{n:03d}",
                "street": "Via Dante",
                "number": str(n),
                "city": "Napoli",
                "zip": "80135",
            }
            for n in range(1, 2 * MAX_CANDIDATES)
        ),
    )
    await add_places(
        session,
        {
            "place_id": "z-piazza-dante-240",
            "street": "Piazza Dante",
            "number": "240",
            "city": "Napoli",
            "zip": "80135",
        },
    )
    place = await find_place(session, text="Piazza Dante 240, Napoli")
    assert place is not None
    assert place.place_id == "z-piazza-dante-240"
