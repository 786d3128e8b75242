"""``/docs`` and ``/openapi.json`` describe both dialects with their real wire names."""

from __future__ import annotations

import httpx
from openapi_spec_validator import validate


async def test_openapi_document_is_valid_and_names_real_fields(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    validate(spec)
    schemas = spec["components"]["schemas"]
    partner = schemas["PartnerCreateOrderIn"]
    assert set(partner["required"]) >= {"customer", "partner_details", "datetime",
                                        "payment_method", "image_uuids"}
    assert partner["examples"][0]["partner_details"]["store_id"]
    restaurant = schemas["RestaurantCreateOrderIn"]
    assert set(restaurant["properties"]) >= {"client", "dmethod", "payment_method", "details",
                                             "pickup", "delivery", "coupon", "creator"}
    assert "/partner/order/create" in spec["paths"]
    assert "/api/order/create" in spec["paths"]
    assert "/partner/v1/order/create" not in spec["paths"]


async def test_docs_page_is_served(client: httpx.AsyncClient) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    assert "swagger" in page.text.lower()
