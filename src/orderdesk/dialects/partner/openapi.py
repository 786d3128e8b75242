"""The partner dialect's part of the OpenAPI document."""

from __future__ import annotations

from typing import Any

from orderdesk.dialects.partner.responses import RESPONSES
from orderdesk.http.responses import document_responses


def document(schema: dict[str, Any]) -> None:
    """Describe this dialect's answers (the framework cannot see them: routes build their own)."""
    document_responses(schema, "/partner", RESPONSES)
