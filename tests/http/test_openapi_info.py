"""The document says where the server is, who runs it and what it speaks, from the settings."""

from __future__ import annotations

from pathlib import Path

from orderdesk.app import create_app
from orderdesk.settings import Settings


def _document(tmp_path: Path, **settings: str) -> dict[str, object]:
    app = create_app(
        Settings(database_url=f"sqlite:///{tmp_path / 'o.db'}", **settings),
        background=False,
    )
    return app.openapi()


def test_servers_and_contact_follow_the_settings(tmp_path: Path) -> None:
    document = _document(
        tmp_path, public_url="https://orders.example.com", api_contact_email="ops@example.com"
    )
    assert document["servers"] == [
        {"url": "https://orders.example.com", "description": "this server"}
    ]
    info = document["info"]
    assert isinstance(info, dict)
    assert info["contact"] == {"name": "orderdesk operators", "email": "ops@example.com"}
    assert "/partner" in info["description"] and "/api" in info["description"]


def test_without_settings_the_server_is_where_the_document_was_read(tmp_path: Path) -> None:
    document = _document(tmp_path)
    assert document["servers"] == [{"url": "/", "description": "this server"}]
    info = document["info"]
    assert isinstance(info, dict)
    assert info["contact"] == {"name": "orderdesk operators"}
