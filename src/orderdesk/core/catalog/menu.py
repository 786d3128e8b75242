"""Reading a restaurant's menu: pages of categories and products with their options.

Every read is a fixed number of queries whatever the page size: the page itself, its total,
and the options of everything on it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from orderdesk.core.catalog.models import Category, OptionValue, Product, ProductOption
from orderdesk.core.catalog.options import OptionWithValues, options_for_products
from orderdesk.core.catalog.search import search_product_ids


@dataclass
class MenuCategory:
    category: Category
    products_count: int
    options: list[OptionWithValues] = field(default_factory=list)


@dataclass
class MenuProduct:
    product: Product
    category_uid: str | None
    options: list[OptionWithValues] = field(default_factory=list)


T = TypeVar("T")


@dataclass
class Page(Generic[T]):
    items: list[T]
    total: int


def visible(options: Sequence[OptionWithValues]) -> list[OptionWithValues]:
    """Options and values a customer can see."""
    return [
        OptionWithValues(o.option, [v for v in o.values if not v.hidden])
        for o in options
        if not o.option.hidden
    ]


async def _category_options(
    session: AsyncSession, category_ids: Sequence[int]
) -> dict[int, list[OptionWithValues]]:
    if not category_ids:
        return {}
    options = list(
        await session.scalars(
            select(ProductOption)
            .where(ProductOption.category_id.in_(category_ids))
            .order_by(ProductOption.position, ProductOption.id)
        )
    )
    values: dict[int, list[OptionValue]] = defaultdict(list)
    if options:
        for value in await session.scalars(
            select(OptionValue)
            .where(OptionValue.option_id.in_([o.id for o in options]))
            .order_by(OptionValue.position, OptionValue.id)
        ):
            values[value.option_id].append(value)
    result: dict[int, list[OptionWithValues]] = defaultdict(list)
    for option in options:
        assert option.category_id is not None
        result[option.category_id].append(OptionWithValues(option, values[option.id]))
    return result


async def list_categories(
    session: AsyncSession, organization_id: int, *, visible_only: bool, page: int, pagesize: int
) -> Page[MenuCategory]:
    where: list[ColumnElement[bool]] = [Category.organization_id == organization_id]
    if visible_only:
        where.append(Category.hidden.is_(False))
    total = await session.scalar(select(func.count()).select_from(Category).where(*where)) or 0
    counted = (
        select(Product.category_id, func.count().label("n"))
        .where(
            Product.organization_id == organization_id,
            *([Product.hidden.is_(False)] if visible_only else []),
        )
        .group_by(Product.category_id)
        .subquery()
    )
    rows = (
        await session.execute(
            select(Category, func.coalesce(counted.c.n, 0))
            .outerjoin(counted, counted.c.category_id == Category.id)
            .where(*where)
            .order_by(Category.position, Category.id)
            .limit(pagesize)
            .offset((page - 1) * pagesize)
        )
    ).all()
    options = await _category_options(session, [c.id for c, _ in rows])
    return Page([MenuCategory(c, int(n), options.get(c.id, [])) for c, n in rows], int(total))


async def get_category(
    session: AsyncSession, organization_id: int, uid: str, *, visible_only: bool
) -> MenuCategory | None:
    """The category with its ``products_count`` counted as :func:`list_categories` does."""
    category = await session.scalar(
        select(Category).where(Category.organization_id == organization_id, Category.uid == uid)
    )
    if category is None:
        return None
    count = (
        await session.scalar(
            select(func.count())
            .select_from(Product)
            .where(
                Product.category_id == category.id,
                *([Product.hidden.is_(False)] if visible_only else []),
            )
        )
        or 0
    )
    options = await _category_options(session, [category.id])
    return MenuCategory(category, int(count), options.get(category.id, []))


async def _with_options(session: AsyncSession, products: list[Product]) -> list[MenuProduct]:
    options = await options_for_products(session, products)
    category_ids = {p.category_id for p in products if p.category_id is not None}
    uids: dict[int, str] = {}
    if category_ids:
        uids = {
            cid: uid
            for cid, uid in await session.execute(
                select(Category.id, Category.uid).where(Category.id.in_(category_ids))
            )
        }
    return [
        MenuProduct(p, uids.get(p.category_id) if p.category_id else None, options.get(p.id, []))
        for p in products
    ]


async def list_products(
    session: AsyncSession,
    organization_id: int,
    *,
    category_uid: str | None,
    query: str | None,
    visible_only: bool,
    page: int,
    pagesize: int,
) -> Page[MenuProduct]:
    where: list[ColumnElement[bool]] = [Product.organization_id == organization_id]
    if visible_only:
        where.append(Product.hidden.is_(False))
    if category_uid:
        where.append(
            Product.category_id.in_(
                select(Category.id).where(
                    Category.organization_id == organization_id, Category.uid == category_uid
                )
            )
        )
    if query:
        ids = await search_product_ids(
            session,
            query,
            organization_id=organization_id,
            limit=1000,
            include_hidden=not visible_only,
        )
        where.append(Product.id.in_(ids) if ids else Product.id.is_(None))
    total = await session.scalar(select(func.count()).select_from(Product).where(*where)) or 0
    products = list(
        await session.scalars(
            select(Product)
            .where(*where)
            .order_by(Product.position, Product.id)
            .limit(pagesize)
            .offset((page - 1) * pagesize)
        )
    )
    return Page(await _with_options(session, products), int(total))


async def get_product(session: AsyncSession, organization_id: int, uid: str) -> MenuProduct | None:
    product = await session.scalar(
        select(Product).where(Product.organization_id == organization_id, Product.uid == uid)
    )
    if product is None:
        return None
    return (await _with_options(session, [product]))[0]
