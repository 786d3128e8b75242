"""Fixtures for driving the application through a client generated from its OpenAPI document.

The client is generated once per run (``generated_client_generation``); a flow test asks for
``generated_clients``, bound to the session's ``app`` (so it runs on SQLite and PostgreSQL),
and calls the generated functions, never httpx by hand::

    async def test_partner_lists_its_stores(
        generated_clients: GeneratedClients, state: AppState
    ) -> None:
        partner = await make_partner(state)  # tests/factories.py
        authorize = generated_clients.endpoint("POST", "/partner/auth/authorize")
        LoginIn = generated_clients.body_model(authorize)  # or generated_client_package.models.X
        answer = await authorize.asyncio_detailed(
            client=generated_clients.anonymous(),
            body=LoginIn(login=partner.login, password=partner.password),
        )
        assert answer.status_code == 200
        token = answer.parsed.data.token
        as_partner = generated_clients.authenticated(token, header="token", prefix="")
        stores = generated_clients.endpoint("GET", "/partner/store/list")
        listed = await stores.asyncio_detailed(client=as_partner)

The restaurant dialect's key goes the same way: ``authenticated(key, header="X-Api-Key",
prefix="")``; a bearer token with the defaults, ``authenticated(access_token)``.

``generated_clients.endpoint(method, path)`` is the generated module of that operation (its
``asyncio_detailed`` / ``asyncio`` functions); ``generated_client_package`` is the package itself
(``.models``, ``.types.UNSET``...). Clients made by the fixture are closed after the test, and
every answer they get is checked against the document (tests/openapi/validation.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from types import ModuleType

import pytest
from fastapi import FastAPI

from tests.openapi.generated import (
    GeneratedClients,
    Generation,
    application_document,
    forget_package,
    generate,
    import_package,
)


@pytest.fixture(scope="session")
def openapi_document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    return application_document(tmp_path_factory.mktemp("openapi-app"))


@pytest.fixture(scope="session")
def generated_client_generation(
    openapi_document: dict[str, object], tmp_path_factory: pytest.TempPathFactory
) -> Generation:
    return generate(openapi_document, tmp_path_factory.mktemp("generated-client"))


@pytest.fixture(scope="session")
def generated_client_package(generated_client_generation: Generation) -> Iterator[ModuleType]:
    package = import_package(generated_client_generation)
    yield package
    forget_package(generated_client_generation)


@pytest.fixture
async def generated_clients(
    generated_client_package: ModuleType, app: FastAPI
) -> AsyncIterator[GeneratedClients]:
    clients = GeneratedClients(generated_client_package, app)
    try:
        yield clients
    finally:
        await clients.aclose()
