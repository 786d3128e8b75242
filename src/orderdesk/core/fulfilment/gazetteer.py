"""Tolerant lookup of an address in the built-in gazetteer (the ``places`` table).

Customers type the same address many ways: ``via Roma 1, Milano``, ``V. Roma, 1 20121 milano``,
``Via  Róma 1/A Milano``, ``10 Downing St, London``. Both the query and each candidate place go
through one normalisation (:func:`address_tokens`): accents, case and punctuation folded, common
Italian / English / German abbreviations expanded (``v.`` → via, ``p.za`` → piazza, ``c.so`` →
corso, ``v.le`` → viale, ``l.go`` → largo, ``st.`` → street, ``ave`` → avenue, ``…str.`` →
…strasse), articles dropped (``piazza del Duomo`` = ``piazza Duomo``), house-number markers
dropped (``n. 1``, ``n°1``, ``civico 1``) and suffixes joined (``1/a``, ``1 a`` and ``1a`` are all
``1a``). Word order is free, so ``Milano, via Roma 1`` works too.

A place matches only when, all together:

* its street appears as consecutive words of the query; the street type may be left out
  (``Roma 1 Milano``) but not contradicted (``piazza Roma`` never matches ``via Roma``), and no
  other street type word nor an unknown word directly around the street may remain
  (``via Roma Nuova 1`` does not match ``via Roma 1``);
* its city or its postcode is in the query (without either, an address is ambiguous across
  the gazetteer, which all organizations share); a different postcode rules the place out;
* the house number agrees: the number nearest after the street (or before it, English style)
  equals the place's. A query number with a suffix letter matches a place that has the bare
  number when no place has the exact one (``1/A`` → ``1``: same building, the customer's
  doorbell details travel with the order), never the other way round (``1`` does not match
  ``1/A``, which may be another entrance) and never across letters (``1/B`` ≠ ``1/A``). A
  place without a number matches only a query without one.

Among the places that match, the best scored wins (exact street type, exact number, city, postcode
and province each count; leftover words count against). A tie between different addresses returns
``None`` rather than a guess; a tie between duplicates of one address (a setup place and a
remembered geocoder result) prefers the setup place.

Candidates come from SQL first (:func:`candidate_places`): places whose ``search_text`` contains
the query's significant words (word-prefix ``LIKE``: all of them, then any of them), best overlap
first, capped at :data:`MAX_CANDIDATES`. Infix ``LIKE`` cannot use an index, so a lookup scans
the table: about 0.15 s per lookup for 200,000 places on SQLite, growing linearly, which is
negligible for a delivery area's few thousand places; a far larger gazetteer would want a
trigram or full-text index (a schema change).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Integer, and_, case, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from orderdesk.core.catalog.search import fold
from orderdesk.core.fulfilment.models import Place
from orderdesk.db.cache import cached

MAX_CANDIDATES = 200
_MAX_SQL_WORDS = 8

_ABBREVIATIONS: dict[tuple[str, ...], str] = {
    ("p", "za"): "piazza",
    ("p", "zza"): "piazza",
    ("pza",): "piazza",
    ("pzza",): "piazza",
    ("p", "le"): "piazzale",
    ("p", "zale"): "piazzale",
    ("pzale",): "piazzale",
    ("c", "so"): "corso",
    ("cso",): "corso",
    ("v", "le"): "viale",
    ("vle",): "viale",
    ("l", "go"): "largo",
    ("lgo",): "largo",
    ("v",): "via",
    ("vic",): "vicolo",
    ("st",): "street",
    ("ave",): "avenue",
    ("av",): "avenue",
    ("rd",): "road",
    ("blvd",): "boulevard",
    ("ln",): "lane",
    ("sq",): "square",
    ("str",): "strasse",
}
_LONGEST_ABBREVIATION = max(len(key) for key in _ABBREVIATIONS)
_ABBREVIATION_PARTS = frozenset(part for key in _ABBREVIATIONS for part in key)
STREET_TYPES = frozenset(
    {
        "via",
        "viale",
        "piazza",
        "piazzale",
        "piazzetta",
        "corso",
        "largo",
        "vicolo",
        "vico",
        "strada",
        "contrada",
        "borgo",
        "lungomare",
        "salita",
        "galleria",
        "street",
        "avenue",
        "road",
        "boulevard",
        "lane",
        "drive",
        "square",
        "place",
        "way",
        "strasse",
        "weg",
        "platz",
        "gasse",
        "allee",
        "rue",
        "calle",
        "avenida",
        "plaza",
    }
)
_ARTICLES = frozenset(
    {
        "di",
        "del",
        "della",
        "dei",
        "degli",
        "delle",
        "dello",
        "dell",
        "d",
        "de",
        "da",
        "dal",
        "dalla",
        "dai",
        "la",
        "le",
        "il",
        "lo",
        "gli",
        "l",
        "the",
        "of",
        "der",
        "die",
        "das",
        "den",
        "des",
        "von",
        "am",
        "an",
    }
)
_NUMBER_MARKERS = frozenset({"n", "nr", "no", "num", "numero", "civico", "civ", "hausnummer"})
_NUMBER_SUFFIXES = frozenset({"bis", "ter", "quater"})
_HOUSE_NUMBER = re.compile(r"^(\d+)([a-z]|bis|ter|quater)?$")


def address_tokens(text: str) -> list[str]:
    """The normalised words of an address; the same function serves queries and places."""
    words = _expand(fold(text).split())
    words = [
        w
        for i, w in enumerate(words)
        if not (w in _NUMBER_MARKERS and i + 1 < len(words) and words[i + 1][:1].isdigit())
    ]
    return [w for w in _join_suffixes(words) if w not in _ARTICLES]


def _expand(words: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(words):
        for size in range(min(_LONGEST_ABBREVIATION, len(words) - i), 0, -1):
            full = _ABBREVIATIONS.get(tuple(words[i : i + size]))
            if full is not None:
                out.append(full)
                i += size
                break
        else:
            word = words[i]
            if len(word) > 3 and word.endswith("str"):
                word += "asse"
            out.append(word)
            i += 1
    return out


def _join_suffixes(words: list[str]) -> list[str]:
    out: list[str] = []
    for word in words:
        previous = out[-1] if out else ""
        is_suffix = (len(word) == 1 and word.isalpha()) or word in _NUMBER_SUFFIXES
        if is_suffix and previous.isdigit():
            out[-1] = previous + word
        else:
            out.append(word)
    return out


def normalise_number(number: str) -> str:
    """``"1/A"``, ``"n. 1 a"`` and ``"1a"`` all become ``"1a"``; no number gives ``""``."""
    for word in address_tokens(number):
        if _HOUSE_NUMBER.match(word):
            return word
    return ""


def display_number(number: str) -> str:
    """A normalised number as people write it: ``"1a"`` → ``"1A"``, ``"3bis"`` stays."""
    match = _HOUSE_NUMBER.match(number)
    if match is None or not match.group(2) or len(match.group(2)) > 1:
        return number
    return match.group(1) + match.group(2).upper()


def search_text_for(street: str, number: str, city: str, zip: str, province: str) -> str:
    """The ``places.search_text`` value, folded the way the setup document stores it."""
    return fold(f"{street} {number} {city} {zip} {province}")


@dataclass
class _Query:
    words: list[str]
    country: str


def _find(words: Sequence[str], needle: Sequence[str], taken: set[int], start: int = 0) -> int:
    """Where ``needle`` first runs in ``words`` from ``start`` on, clear of ``taken``; else -1."""
    size = len(needle)
    if size == 0:
        return -1
    for i in range(start, len(words) - size + 1):
        if list(words[i : i + size]) == list(needle) and not taken.intersection(range(i, i + size)):
            return i
    return -1


def _street_core(street: list[str]) -> list[str]:
    begin, end = 0, len(street)
    while begin < end and street[begin] in STREET_TYPES:
        begin += 1
    while end > begin and street[end - 1] in STREET_TYPES:
        end -= 1
    return street[begin:end]


def _locate_street(words: list[str], street: list[str]) -> tuple[int, int, bool] | None:
    """Where the street is in the query: ``(start, end, exact)``; exact means with its type."""
    at = _find(words, street, set())
    if at >= 0:
        return at, at + len(street), True
    core = _street_core(street)
    if not core or core == street:
        return None
    at = _find(words, core, set())
    while at >= 0:
        before = words[at - 1] if at > 0 else ""
        after = words[at + len(core)] if at + len(core) < len(words) else ""
        if before not in STREET_TYPES and after not in STREET_TYPES:
            return at, at + len(core), False
        at = _find(words, core, set(), at + 1)
    return None


def _house_number(words: list[str], span: tuple[int, int], taken: set[int]) -> int | None:
    """Index of the house number: the nearest free number after the street, else before it."""
    for i in range(span[1], len(words)):
        if i not in taken and _HOUSE_NUMBER.match(words[i]):
            return i
    for i in range(span[0] - 1, -1, -1):
        if i not in taken and _HOUSE_NUMBER.match(words[i]):
            return i
    return None


def _match(query: _Query, place: Place) -> int | None:
    """The score of ``place`` for the query, or ``None`` when it does not match."""
    words = query.words
    if query.country and place.country and query.country != place.country.upper():
        return None
    located = _locate_street(words, address_tokens(place.street))
    if located is None:
        return None
    start, end, exact = located
    taken = set(range(start, end))
    score = 4 if exact else 2
    zip_words, city_words = fold(place.zip).split(), address_tokens(place.city)
    found = {"zip": False, "city": False}
    for key, part in (
        ("zip", zip_words),
        ("city", city_words),
        ("province", fold(place.province).split()),
    ):
        at = _find(words, part, taken)
        if at >= 0:
            taken.update(range(at, at + len(part)))
            found[key] = True
            score += 1
    if not (found["city"] or found["zip"]):
        return None
    number_at = _house_number(words, (start, end), taken)
    wanted = normalise_number(place.number)
    given = words[number_at] if number_at is not None else ""
    bare = _HOUSE_NUMBER.match(given)
    if given == wanted:
        score += 2
    elif wanted.isdigit() and bare is not None and bare.group(1) == wanted:
        score += 1
    else:
        return None
    if number_at is not None:
        taken.add(number_at)
    zip_digits = "".join(zip_words)
    for i, word in enumerate(words):
        if i in taken:
            continue
        if word in STREET_TYPES:
            return None
        if zip_digits.isdigit() and word.isdigit() and len(word) == len(zip_digits):
            return None
        if i in (start - 1, end) and not word[:1].isdigit():
            return None
        score -= 1
    return score


def _identity(place: Place) -> tuple[tuple[str, ...], str, tuple[str, ...]]:
    return (
        tuple(address_tokens(place.street)),
        normalise_number(place.number),
        tuple(address_tokens(place.city)),
    )


def best_place(query_text: str, places: Sequence[Place], *, country: str = "") -> Place | None:
    """The single best match among ``places`` (see the module docstring), or ``None``."""
    query = _Query(address_tokens(query_text), country.strip().upper())
    scored = [(score, place) for place in places if (score := _match(query, place)) is not None]
    if not scored:
        return None
    top = max(score for score, _ in scored)
    best = [place for score, place in scored if score == top]
    if len({_identity(place) for place in best}) > 1:
        return None
    return min(best, key=lambda place: (place.place_id.startswith("geo-"), place.place_id))


def house_number_near(text: str, street: str) -> str:
    """The house number a free-text query gives for ``street`` (normalised), or ``""``.

    Used when a geocoder finds the street but not the number: the customer's number is kept.
    """
    words = address_tokens(text)
    located = _locate_street(words, address_tokens(street))
    if located is None:
        at = next((i for i, w in enumerate(words) if _HOUSE_NUMBER.match(w) and len(w) < 5), None)
        return words[at] if at is not None else ""
    at = _house_number(words, located[:2], set(range(located[0], located[1])))
    return words[at] if at is not None else ""


def _sql_words(text: str) -> list[str]:
    """Raw folded words worth a ``LIKE``: names and postcodes, not types, articles or numbers."""
    chosen: list[str] = []
    for word in fold(text).split():
        if word.isdigit():
            if len(word) >= 4:
                chosen.append(word)
            continue
        if word.endswith("strasse") and len(word) > 7:
            word = word[:-7]
        elif word.endswith("str") and len(word) > 3:
            word = word[:-3]
        if (
            len(word) >= 3
            and word not in STREET_TYPES
            and word not in _ARTICLES
            and word not in _NUMBER_MARKERS
            and word not in _ABBREVIATION_PARTS
            and not word[:1].isdigit()
            and word not in chosen
        ):
            chosen.append(word)
    chosen.sort(key=len, reverse=True)
    return chosen[:_MAX_SQL_WORDS]


def _rank_words(text: str, significant: list[str]) -> list[str]:
    """Whole words that only order candidates: street types, house numbers, expansions."""
    chosen: list[str] = []
    for word in [*fold(text).split(), *address_tokens(text)]:
        if word not in significant and word not in chosen and word not in _ARTICLES:
            chosen.append(word)
    return chosen[:_MAX_SQL_WORDS]


async def candidate_places(
    session: AsyncSession, text: str, *, every_word: bool = False
) -> list[Place]:
    """Places sharing the most words with ``text``, at most :data:`MAX_CANDIDATES`.

    A candidate must contain one significant word (a name or a postcode) as a word prefix, or
    all of them with ``every_word`` (far fewer rows to rank). Candidates are ordered by how
    many significant words they contain, then by how many of the other words (``piazza``, the
    house number) they contain whole, so that a common street name in a large gazetteer still
    brings the right number and street type within the cap.
    """
    words = _sql_words(text)
    if not words:
        return []
    padded = literal(" ") + Place.search_text + literal(" ")
    hits: list[ColumnElement[bool]] = [padded.like(f"% {word}%") for word in words]
    weighted = [(hit, 100) for hit in hits] + [
        (padded.like(f"% {word} %"), 1) for word in _rank_words(text, words)
    ]
    matched: ColumnElement[int] = sum(
        (case((hit, weight), else_=0) for hit, weight in weighted), literal(0, Integer)
    )
    stmt = (
        select(Place)
        .where(and_(*hits) if every_word else or_(*hits))
        .order_by(matched.desc(), Place.place_id)
        .limit(MAX_CANDIDATES)
    )
    return list(await session.scalars(stmt))


def structured_text(
    street: str | None,
    number: str | None,
    city: str | None,
    province: str | None,
    zip: str | None,
) -> str:
    """Structured fields as one query, street first so the number follows it."""
    return " ".join(part for part in (street, number, zip, city, province) if part)


async def find_place(
    session: AsyncSession,
    *,
    text: str | None = None,
    street: str | None = None,
    number: str | None = None,
    city: str | None = None,
    province: str | None = None,
    zip: str | None = None,
    country: str | None = None,
) -> Place | None:
    """The gazetteer place for a free-text or structured address, or ``None``.

    ``text`` wins when given; ``country`` (ISO 3166-1 alpha-2) restricts either form. Places
    holding every significant word are tried first; only when none of them matches are places
    holding some of the words considered (a query with extra words, "…, Italia").
    """
    query = text if text and text.strip() else structured_text(street, number, city, province, zip)
    if not query.strip():
        return None
    for every_word in (True, False) if len(_sql_words(query)) > 1 else (False,):
        candidates = await candidate_places(session, query, every_word=every_word)
        found = best_place(query, candidates, country=country or "")
        if found is not None:
            return found
    return None


async def get_place(session: AsyncSession, place_id: str) -> Place | None:
    """The place a client got from address validation, by its ``place_id``."""
    return await cached(session, ("place", place_id), lambda: session.get(Place, place_id))
