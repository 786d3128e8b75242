"""Word-prefix product search that stays fast on large catalogs.

Titles are folded once on write (:func:`fold`: accents removed, case folded, punctuation to
spaces) into ``products.search_text``; each query word must be the prefix of some word of it.
SQLite answers from an FTS5 index, PostgreSQL from a GIN index on a stored
``to_tsvector('simple', search_text)`` column (``products.search_vector``):
neither needs an extension, and both rank the best matches first.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from sqlalchemy import ColumnElement, Select, column, func, literal_column, select, table
from sqlalchemy.ext.asyncio import AsyncSession

from orderdesk.core.catalog.models import Product

_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)
MAX_QUERY_WORDS = 8
# The FTS5 table kept in step with ``products`` by triggers (see the initial migration).
_FTS = table("product_search", column("rowid"), column("product_search"))


def fold(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(_NON_WORD.sub(" ", stripped.casefold()).replace("_", " ").split())


def query_words(query: str) -> list[str]:
    return fold(query).split()[:MAX_QUERY_WORDS]


async def search_product_ids(
    session: AsyncSession,
    query: str,
    *,
    organization_id: int | None,
    limit: int,
    include_hidden: bool = False,
) -> list[int]:
    """Ids of matching products, best match first; empty for a query with no words. Hidden
    products only with ``include_hidden`` (a restaurant's ``visible=0`` menu read)."""
    words = query_words(query)
    if not words:
        return []
    stmt = (
        _postgres_search(words)
        if session.get_bind().dialect.name == "postgresql"
        else _sqlite_search(words)
    )
    scope = (
        Product.organization_id.is_(None)
        if organization_id is None
        else Product.organization_id == organization_id
    )
    visible = [] if include_hidden else [Product.hidden.is_(False)]
    stmt = stmt.where(scope, *visible).limit(limit)
    return list(await session.scalars(stmt))


def _sqlite_search(words: list[str]) -> Select[int]:
    match = " AND ".join(f'"{w}"*' for w in words)
    return (
        select(Product.id)
        .join(_FTS, _FTS.c.rowid == Product.id)
        .where(_FTS.c.product_search.op("MATCH")(match))
        .order_by(func.bm25(literal_column("product_search")), Product.id)
    )


def _postgres_search(words: list[str]) -> Select[int]:
    tsquery = func.to_tsquery(
        literal_column("'simple'::regconfig"), " & ".join(f"{w}:*" for w in words)
    )
    vector: ColumnElement[Any] = literal_column("products.search_vector")
    return (
        select(Product.id)
        .where(vector.op("@@")(tsquery))
        .order_by(func.ts_rank(vector, tsquery).desc(), Product.id)
    )
