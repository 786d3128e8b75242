"""openapi-python-client must take the document without a single complaint.

Each warning it prints is a piece of the API that a generated client silently lacks: an
endpoint left out, a response it cannot parse, a model dropped for a duplicate title or a
reference it cannot resolve. Integrators generate clients; so does this test.
"""

from __future__ import annotations

import json
import re
from types import ModuleType
from typing import Any

from orderdesk.http.state import AppState
from tests.factories import make_partner
from tests.openapi.generated import GeneratedClients, Generation, endpoints

# The words the generator starts its complaints with (0.29: "Warning(s) encountered...",
# "WARNING parsing ...", "Unable to parse schema ...", "Failure to process schema ...").
COMPLAINT_WORDS = re.compile(r"warning|unable to|failure|error", re.IGNORECASE)
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def test_generator_prints_no_warning_and_no_error(generated_client_generation: Generation) -> None:
    generation = generated_client_generation
    assert generation.returncode == 0, (
        f"openapi-python-client exited with {generation.returncode}:\n{generation.output}"
    )
    complaints = generation.complaints()
    loud = COMPLAINT_WORDS.findall(generation.output)
    if complaints or loud:
        headlines = "\n".join(f"  - {line}" for line in generation.headlines())
        raise AssertionError(
            f"openapi-python-client complained {len(complaints)} times about the document:\n"
            f"{headlines}\n\nits whole output:\n{generation.output}"
        )


def test_generated_client_has_every_operation(
    generated_client_package: ModuleType, openapi_document: dict[str, Any]
) -> None:
    documented = {
        (method.upper(), path)
        for path, item in openapi_document["paths"].items()
        for method in item
        if method in METHODS
    }
    generated = set(endpoints(generated_client_package))
    missing = sorted(documented - generated)
    assert not missing, "the generated client lacks: " + ", ".join(f"{m} {p}" for m, p in missing)
    assert generated <= documented


async def test_generated_client_logs_in_and_calls_with_its_token(
    generated_clients: GeneratedClients, state: AppState
) -> None:
    """The harness itself: generated calls reach the app, and a token set on an
    ``AuthenticatedClient`` is sent in the partner dialect's ``token`` header."""
    partner = await make_partner(state)
    authorize = generated_clients.endpoint("POST", "/partner/auth/authorize")
    credentials = generated_clients.body_model(authorize).from_dict(
        {"login": partner.login, "password": partner.password}
    )
    logged_in = await authorize.asyncio_detailed(
        client=generated_clients.anonymous(), body=credentials
    )
    assert logged_in.status_code == 200, logged_in.content
    token = json.loads(logged_in.content)["data"]["token"]
    partner_client = generated_clients.authenticated(token, header="token", prefix="")
    stores = generated_clients.endpoint("GET", "/partner/store/list")
    listed = await stores.asyncio_detailed(client=partner_client)
    assert listed.status_code == 200, listed.content
    assert [store["store_id"] for store in json.loads(listed.content)["data"]] == partner.stores
