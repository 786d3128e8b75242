"""Loading the options a product offers: its own and those of its category.

An option attached to a category applies to every product of that category, so a product's
options are the union of both, ordered by ``position`` (ties by id, i.e. creation order). Hidden
options and values are returned too: the menu decides whether to show them and order pricing
rejects choosing them, so the loader stays neutral.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from orderdesk.core.catalog.models import OptionValue, Product, ProductOption


@dataclass(slots=True)
class OptionWithValues:
    """One option of a product with its values ordered by ``position`` (ties by id)."""

    option: ProductOption
    values: list[OptionValue] = field(default_factory=list)


async def options_for_products(
    session: AsyncSession, products: Sequence[Product]
) -> dict[int, list[OptionWithValues]]:
    """Map every given product id to its options (possibly none), in at most two queries.

    A category option shared by several products is one ``OptionWithValues`` object appearing in
    each product's list; callers must treat it as read-only.
    """
    if not products:
        return {}
    product_ids = sorted({p.id for p in products})
    category_ids = sorted({p.category_id for p in products if p.category_id is not None})
    owner: ColumnElement[bool] = ProductOption.product_id.in_(product_ids)
    if category_ids:
        owner = or_(owner, ProductOption.category_id.in_(category_ids))
    options = (
        await session.scalars(
            select(ProductOption).where(owner).order_by(ProductOption.position, ProductOption.id)
        )
    ).all()

    loaded = {o.id: OptionWithValues(o) for o in options}
    if loaded:
        values = await session.scalars(
            select(OptionValue)
            .where(OptionValue.option_id.in_(sorted(loaded)))
            .order_by(OptionValue.position, OptionValue.id)
        )
        for value in values:
            loaded[value.option_id].values.append(value)

    by_product: dict[int, list[OptionWithValues]] = defaultdict(list)
    by_category: dict[int, list[OptionWithValues]] = defaultdict(list)
    for option in options:
        if option.product_id is not None:
            by_product[option.product_id].append(loaded[option.id])
        elif option.category_id is not None:
            by_category[option.category_id].append(loaded[option.id])

    result: dict[int, list[OptionWithValues]] = {}
    for product in products:
        own = by_product.get(product.id, [])
        shared = by_category.get(product.category_id, []) if product.category_id is not None else []
        result[product.id] = sorted([*own, *shared], key=lambda o: (o.option.position, o.option.id))
    return result
