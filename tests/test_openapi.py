"""``/docs`` and ``/openapi.json`` describe both dialects with their real wire names."""

from __future__ import annotations

import httpx

from orderdesk.dialects.partner.responses import RESPONSES as PARTNER_RESPONSES
from orderdesk.dialects.restaurant.responses import RESPONSES as RESTAURANT_RESPONSES


async def test_openapi_document_names_real_fields(client: httpx.AsyncClient) -> None:
    # Validity as OpenAPI is checked in tests/openapi/test_document.py.
    spec = (await client.get("/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    partner = schemas["PartnerCreateOrderIn"]
    assert set(partner["required"]) >= {
        "customer",
        "partner_details",
        "datetime",
        "payment_method",
        "image_uuids",
    }
    assert partner["examples"][0]["partner_details"]["store_id"]
    restaurant = schemas["RestaurantCreateOrderIn"]
    assert set(restaurant["properties"]) >= {
        "client",
        "dmethod",
        "payment_method",
        "details",
        "pickup",
        "delivery",
        "coupon",
        "creator",
    }
    assert "/partner/order/create" in spec["paths"]
    assert "/api/order/create" in spec["paths"]
    assert "/partner/v1/order/create" not in spec["paths"]


async def test_docs_page_is_served(client: httpx.AsyncClient) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    assert "swagger" in page.text.lower()


async def test_every_dialect_operation_documents_its_responses(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    operations = {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if path.startswith(("/partner/", "/api/"))
    }
    listed = {(method, f"/partner{path}") for method, path in PARTNER_RESPONSES} | {
        (method, f"/api{path}") for method, path in RESTAURANT_RESPONSES
    }
    assert operations == listed
    for method, path in operations:
        responses = spec["paths"][path][method.lower()]["responses"]
        assert "200" in responses, (method, path)
        for status, response in responses.items():
            (content,) = response["content"].values()
            assert content["schema"], (method, path, status)
    # FastAPI's own validation error shape is sent by neither dialect.
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    assert "HTTPValidationError" not in str(spec["paths"])


async def test_responses_are_named_per_dialect(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    assert schemas["PartnerOrder"]["required"] == list(schemas["PartnerOrder"]["properties"])
    assert {"_id", "_status", "partner_details", "datetime"} <= set(
        schemas["PartnerOrder"]["properties"]
    )
    assert {"uid", "token", "details", "confirmation"} <= set(
        schemas["RestaurantOrder"]["properties"]
    )
    create = spec["paths"]["/partner/order/create"]["post"]["responses"]
    assert create["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PartnerCreatedOk"
    }
    assert create["422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PartnerValidationError"
    }
    restaurant = spec["paths"]["/api/order/create"]["post"]["responses"]
    assert restaurant["200"]["content"]["application/json"]["schema"] == {
        "oneOf": [
            {"$ref": "#/components/schemas/RestaurantOrderCreated"},
            {"$ref": "#/components/schemas/RestaurantFailure"},
        ]
    }
    assert {"401", "403", "409", "413", "422"} <= set(restaurant)
    image = spec["paths"]["/partner/images/{name}"]["get"]["responses"]["200"]
    assert set(image["content"]) == {"image/webp"}
