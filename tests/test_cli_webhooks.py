"""``orderdesk webhooks``: replay's default, enabling a disabled subscription, the list's state."""

from __future__ import annotations

import asyncio
import socket
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from orderdesk.cli import cli
from orderdesk.core.events.health import disable_failing
from orderdesk.core.events.models import OutboxEvent, WebhookDelivery
from orderdesk.core.organizations.models import Organization, WebhookSubscription
from orderdesk.db.base import utcnow
from orderdesk.db.engine import create_engine, create_sessionmaker, transaction
from orderdesk.db.migrate import migrate

runner = CliRunner()


async def _seed(url: str, states: list[str]) -> int:
    """One subscription with a delivery in each of ``states``, queued 4 days ago."""
    engine = create_engine(url)
    try:
        await migrate(engine)
        long_ago = utcnow() - timedelta(days=4)
        async with transaction(create_sessionmaker(engine)) as session:
            organization = Organization(kind="partner", key="hooks", title="Hooks")
            session.add(organization)
            await session.flush()
            subscription = WebhookSubscription(
                organization_id=organization.id,
                url="http://127.0.0.1:9/hook",
                secret="s",
                active=True,
            )
            session.add(subscription)
            await session.flush()
            for state in states:
                event = OutboxEvent(
                    organization_id=organization.id,
                    order_id=None,
                    event="order.created",
                    payload={"event": "order.created"},
                    created_at=long_ago,
                    published_at=long_ago,
                )
                session.add(event)
                await session.flush()
                session.add(
                    WebhookDelivery(
                        event_id=event.id,
                        subscription_id=subscription.id,
                        ordering_key=f"{subscription.id}:event-{event.id}",
                        state=state,
                        attempts=3,
                        next_attempt_at=long_ago,
                        created_at=long_ago,
                    )
                )
            return subscription.id
    finally:
        await engine.dispose()


async def _states(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            rows = await session.scalars(select(WebhookDelivery.state).order_by(WebhookDelivery.id))
            return list(rows)
    finally:
        await engine.dispose()


async def _disable(url: str) -> list[int]:
    engine = create_engine(url)
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            return await disable_failing(session, now=utcnow())
    finally:
        await engine.dispose()


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'hooks.db'}"


def test_replay_without_ids_asks_then_replays_every_dead_delivery(url: str) -> None:
    asyncio.run(_seed(url, ["dead", "delivered", "dead"]))

    declined = runner.invoke(cli, ["webhooks", "replay", "--database-url", url], input="n\n")
    assert declined.exit_code == 1
    assert "Replay every dead delivery?" in declined.output
    assert asyncio.run(_states(url)) == ["dead", "delivered", "dead"]

    accepted = runner.invoke(cli, ["webhooks", "replay", "--database-url", url], input="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert "2 deliveries queued again" in accepted.output
    assert asyncio.run(_states(url)) == ["pending", "delivered", "pending"]


def test_replay_yes_skips_the_question_and_ids_replay_only_those(url: str) -> None:
    asyncio.run(_seed(url, ["dead", "dead", "delivered"]))

    named = runner.invoke(cli, ["webhooks", "replay", "3", "--database-url", url])
    assert (named.exit_code, named.output) == (0, "1 deliveries queued again\n")
    assert asyncio.run(_states(url)) == ["dead", "dead", "pending"]

    everything = runner.invoke(cli, ["webhooks", "replay", "--yes", "--database-url", url])
    assert (everything.exit_code, everything.output) == (0, "2 deliveries queued again\n")
    assert asyncio.run(_states(url)) == ["pending", "pending", "pending"]

    both = runner.invoke(cli, ["webhooks", "replay", "1", "--all-dead", "--database-url", url])
    assert both.exit_code == 2
    assert "not both" in both.output


def test_list_shows_a_disabled_subscription_and_enable_turns_it_back_on(url: str) -> None:
    subscription = asyncio.run(_seed(url, ["dead"]))
    before = runner.invoke(cli, ["webhooks", "list", "--database-url", url])
    assert f"subscription={subscription}:active" in before.output

    assert asyncio.run(_disable(url)) == [subscription]
    listed = runner.invoke(cli, ["webhooks", "list", "--database-url", url])
    assert listed.exit_code == 0, listed.output
    assert f"subscription={subscription}:disabled" in listed.output
    assert f"subscription {subscription} disabled since" in listed.output
    assert f"orderdesk webhooks enable {subscription}" in listed.output

    enabled = runner.invoke(cli, ["webhooks", "enable", str(subscription), "--database-url", url])
    assert (enabled.exit_code, enabled.output) == (0, f"subscription {subscription} enabled\n")
    after = runner.invoke(cli, ["webhooks", "list", "--database-url", url])
    assert f"subscription={subscription}:active" in after.output
    assert "disabled" not in after.output
    assert asyncio.run(_disable(url)) == []  # failures from before the enable are forgiven


def test_enable_unknown_subscription_is_a_clear_error(url: str) -> None:
    asyncio.run(_seed(url, []))
    result = runner.invoke(cli, ["webhooks", "enable", "999", "--database-url", url])
    assert result.exit_code == 2
    assert "no webhook subscription 999" in result.output
    assert "Traceback" not in result.output


def test_listen_on_a_busy_port_says_so_in_one_line() -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        result = runner.invoke(cli, ["webhooks", "listen", "--port", str(port)])
    assert result.exit_code == 1
    assert result.output.strip() == f"orderdesk: cannot listen on 127.0.0.1:{port}: " + (
        "Address already in use"
    )
