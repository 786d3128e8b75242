"""The ``orderdesk`` command. Commands only parse options and call plain functions."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from orderdesk.settings import Settings, SettingsError, load_settings

cli = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="orderdesk: order intake for partner stores and restaurants.",
)

DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", help="sqlite:///file.db or postgresql://user@host:port/db"),
]


def _settings(database_url: str | None) -> Settings:
    try:
        settings = load_settings(database_url=database_url)
    except SettingsError as exc:
        typer.echo(f"orderdesk: {exc}", err=True)
        raise typer.Exit(2) from None
    if database_url:
        # Worker processes read their settings from the environment.
        os.environ["ORDERDESK_DATABASE_URL"] = database_url
    return settings


async def run_migrations(database_url: str) -> None:
    from orderdesk.db.engine import create_engine
    from orderdesk.db.migrate import migrate

    engine = create_engine(database_url)
    try:
        await migrate(engine)
    finally:
        await engine.dispose()


@cli.command()
def migrate(database_url: DatabaseUrl = None) -> None:
    """Apply pending database migrations and exit."""
    settings = _settings(database_url)
    asyncio.run(run_migrations(settings.database_url))
    typer.echo("database is up to date")


@cli.command()
def apply(
    file: Annotated[Path, typer.Argument(help="setup document (JSON)")],
    database_url: DatabaseUrl = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="validate and report, change nothing")
    ] = False,
) -> None:
    """Apply a setup document: idempotent, all or nothing."""
    from orderdesk.setup.apply import apply_file
    from orderdesk.setup.schema import SetupInvalid

    settings = _settings(database_url)
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        typer.echo(f"orderdesk: cannot read {file}: {exc}", err=True)
        raise typer.Exit(2) from None
    except json.JSONDecodeError as exc:
        typer.echo(f"$: not valid JSON: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        report = asyncio.run(apply_file(settings.database_url, raw, dry_run=dry_run))
    except SetupInvalid as exc:
        for error in exc.errors:
            typer.echo(f"{error.path}: {error.message}", err=True)
        typer.echo(f"{len(exc.errors)} error(s); nothing was changed", err=True)
        raise typer.Exit(2) from None
    typer.echo(report.render())
    if dry_run:
        typer.echo("dry run: nothing was changed")


@cli.command("demo-setup")
def demo_setup() -> None:
    """Print the built-in demo setup document."""
    from orderdesk.setup.demo import demo_document

    typer.echo(json.dumps(demo_document(), indent=2, ensure_ascii=False))


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="worker processes")] = 1,
    database_url: DatabaseUrl = None,
    demo: Annotated[
        bool, typer.Option("--demo", help="apply the demo setup first and print how to call it")
    ] = False,
) -> None:
    """Apply pending migrations, then serve both APIs, /docs and /health."""
    import uvicorn

    from orderdesk.http.ratelimit import budget_summary

    # Each worker process builds its settings from the environment it inherits; in-process
    # request budgets are divided by this count, so that N workers do not grant N budgets.
    os.environ["ORDERDESK_WORKER_PROCESSES"] = str(workers)
    # Metrics: every worker process counts in files of this run's own fresh directory (a
    # leftover one would add a previous run's counts), and GET /metrics adds them all up. Set
    # before anything imports prometheus_client, which picks its storage when imported.
    import atexit
    import shutil
    import tempfile

    metrics_dir = tempfile.mkdtemp(prefix="orderdesk-metrics-")
    atexit.register(shutil.rmtree, metrics_dir, ignore_errors=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    settings = _settings(database_url)
    asyncio.run(run_migrations(settings.database_url))
    if demo:
        from orderdesk.setup.apply import apply_file
        from orderdesk.setup.demo import demo_document

        document = demo_document()
        asyncio.run(apply_file(settings.database_url, document))
        typer.echo(demo_instructions(settings.public_url or f"http://{host}:{port}", document))
    if settings.log_level.lower() in ("trace", "debug", "info"):
        typer.echo(f"orderdesk: {budget_summary(settings)}", err=True)
    # Idle keep-alive connections stay open 75 s (uvicorn's default is 5 s). A server that
    # closes an idle connection at the very moment a client reuses it resets a request the
    # client has already sent, and a POST lost that way cannot be retried blindly. Clients
    # (httpx: 5 s) and proxies (nginx upstream keepalive, AWS ALB: 60 s) give up on idle
    # connections cleanly when they are the first to do so, so the server waits longer.
    # The HTTP protocol is uvicorn's httptools one plus a deadline for request headers
    # (ORDERDESK_HEADER_TIMEOUT), which uvicorn does not have; see orderdesk.http.timeouts.
    uvicorn.run(
        "orderdesk.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level,
        timeout_graceful_shutdown=30,
        timeout_keep_alive=75,
        proxy_headers=False,
        http="orderdesk.http.timeouts:HeaderDeadlineProtocol",
    )


@cli.command()
def worker(database_url: DatabaseUrl = None) -> None:
    """Run webhook delivery and countdown timeouts without serving HTTP (stop with Ctrl+C)."""
    import signal

    from orderdesk.background import run_worker

    settings = _settings(database_url)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_worker(settings.database_url, stop)

    asyncio.run(main())


webhooks = typer.Typer(help="Inspect and replay webhook deliveries.", no_args_is_help=True)
cli.add_typer(webhooks, name="webhooks")


async def _with_session(database_url: str, work: Any) -> Any:
    from orderdesk.db.engine import create_engine, create_sessionmaker, transaction
    from orderdesk.db.migrate import migrate

    engine = create_engine(database_url)
    try:
        await migrate(engine)
        async with transaction(create_sessionmaker(engine)) as session:
            return await work(session)
    finally:
        await engine.dispose()


@webhooks.command("list")
def webhooks_list(
    state: Annotated[str | None, typer.Option(help="pending, delivered or dead")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    database_url: DatabaseUrl = None,
) -> None:
    """List deliveries, newest first."""
    from orderdesk.core.events.admin import list_deliveries

    settings = _settings(database_url)
    try:
        rows = asyncio.run(
            _with_session(
                settings.database_url,
                lambda session: list_deliveries(session, state=state, limit=limit),
            )
        )
    except ValueError as exc:
        typer.echo(f"orderdesk: {exc}", err=True)
        raise typer.Exit(2) from None
    for row in rows:
        typer.echo(
            f"{row.id}\t{row.state}\t{row.event}\torder={row.order_id}\t"
            f"attempts={row.attempts}\tlast={row.last_status_code or row.last_error or '-'}"
            f"\t{row.url}"
        )
    typer.echo(f"{len(rows)} deliveries")


@webhooks.command("replay")
def webhooks_replay(
    ids: Annotated[list[int] | None, typer.Argument(help="delivery ids")] = None,
    all_dead: Annotated[bool, typer.Option("--all-dead", help="every dead delivery")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Queue deliveries again (dead ones by default) for a fresh 24 h of retries."""
    from orderdesk.core.events.admin import replay
    from orderdesk.db.base import utcnow

    settings = _settings(database_url)
    if not ids and not all_dead:
        typer.echo("orderdesk: name delivery ids or pass --all-dead", err=True)
        raise typer.Exit(2)
    count = asyncio.run(
        _with_session(
            settings.database_url,
            lambda session: replay(session, ids or None, dead_only=all_dead, now=utcnow()),
        )
    )
    typer.echo(f"{count} deliveries queued again")


def _q(value: object) -> str:
    """JSON for a double-quoted shell string (so ``$VARS`` inside still expand)."""
    return json.dumps(value).replace("\\", "\\\\").replace('"', '\\"')


def demo_instructions(base: str, document: dict[str, Any]) -> str:
    """Credentials and a ready-to-paste curl line for every endpoint of both APIs."""
    return "\n".join(
        [
            "",
            f"orderdesk demo is running at {base}  (API docs: {base}/docs)",
            "",
            *_partner_lines(base, document),
            "",
            *_restaurant_lines(base, document),
            "",
        ]
    )


def _partner_lines(base: str, document: dict[str, Any]) -> list[str]:
    partner = document["partners"][0]
    user = partner["users"][0]
    store = partner["stores"][0]["id"]
    item = document["items"][0]
    login = json.dumps({"login": user["login"], "password": user["password"]})
    order = _q(
        {
            "customer": {
                "phone_number": "+37120000000",
                "first_name": "Anna",
                "last_name": "Ozola",
            },
            "address": {
                "address": "Brivibas iela 1, Riga",
                "coordinates": {"lat": 56.95, "lon": 24.11},
                "details": "3rd floor",
                "zip": "LV-1010",
            },
            "partner_details": {
                "store_id": store,
                "items": [{"id": item["id"], "count": 1, "delivery": True}],
                "instock": True,
                "delivery_type": "to_door_by_lift",
            },
            "datetime": [{"date": "$(date -d tomorrow +%F)", "timeslot": "1217"}],
            "payment_method": "cash",
            "image_uuids": [],
        }
    )
    p = f"{base}/partner"
    auth = '-H "token: $TOKEN"'
    return [
        "Partner API (/partner). Demo logins:",
        *[
            f"  {p_['name']}: {u['login']} / {u['password']}"
            for p_ in document["partners"]
            for u in p_["users"]
        ],
        "Log in and keep the token:",
        f"  TOKEN=$(curl -s {p}/auth/authorize -H 'Content-Type: application/json' "
        f"-d '{login}' | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"data\"]"
        '["token"])\')',
        "Free master slots (no token needed):",
        f"  curl -s '{p}/slots/free?store_id={store}'",
        "Items, search and stores:",
        f"  curl -s '{p}/item/list?limit=5' {auth}",
        f"  curl -s '{p}/item/find?name=wardr' {auth}",
        f"  curl -s {p}/store/list {auth}",
        "Upload a receipt image:",
        f"  curl -s {p}/image/upload {auth} -F file=@receipt.jpg",
        "Create an order (books a master tomorrow 12-17):",
        f"  curl -s {p}/order/create {auth} -H 'Content-Type: application/json' "
        f"-H \"Idempotency-Key: $(python3 -c 'import uuid; print(uuid.uuid4())')\" "
        f'-d "{order}"',
        "List, read, mark in stock, change dates, cancel:",
        f"  curl -s -g '{p}/order/list?filter[query]=Ozola' {auth}",
        f"  curl -s {p}/order/1 {auth}",
        f"  curl -s -X POST {p}/order/1/instock {auth}",
        f"  curl -s {p}/order/1/datetime {auth} -H 'Content-Type: application/json' "
        f'-d "{_q({"datetime": [{"date": "$(date -d +2days +%F)", "timeslot": "0712"}]})}"',
        f"  curl -s -X POST {p}/order/1/cancel {auth}",
    ]


def _restaurant_lines(base: str, document: dict[str, Any]) -> list[str]:
    from orderdesk.setup.demo import (
        DEMO_RESTAURANT_API_KEY,
        DEMO_RESTAURANT_CLIENT_ID,
        DEMO_RESTAURANT_CLIENT_SECRET,
    )

    restaurant = document["restaurants"][0]
    location = restaurant["subrestaurants"][0]["uid"]
    product = restaurant["products"][0]
    size = product["options"][0]
    cash = restaurant["cash_subs"][0]
    coupon = restaurant["coupons"][0]["code"]
    gencode = restaurant["coupon_generators"][0]["gencode"]
    a = f"{base}/api"
    key = f"-H 'X-Api-Key: {DEMO_RESTAURANT_API_KEY}'"
    client = (
        f"-H 'X-Client-Id: {DEMO_RESTAURANT_CLIENT_ID}' "
        f"-H 'X-Client-Secret: {DEMO_RESTAURANT_CLIENT_SECRET}'"
    )
    json_body = "-H 'Content-Type: application/json'"
    order = _q(
        {
            "client": {
                "first_name": "Giulia",
                "last_name": "Rossi",
                "email": "giulia@example.com",
                "phone": "+39 02 1234567",
            },
            "dmethod": "0",
            "payment_method": "cash",
            "payment_method_sub": cash,
            "subrestaurant_uid": location,
            "pickup": {"date": "$WHEN"},
            "details": [
                {
                    "product": {"uid": product["uid"]},
                    "quantity": 2,
                    "options": [
                        {"uid": size["uid"], "values": [{"uid": size["option_values"][0]["uid"]}]}
                    ],
                }
            ],
            "coupon": {"code": coupon},
        }
    )
    py = "python3 -c 'import json,sys; print(json.load(sys.stdin)"
    place = document["places"][0]
    address = f"{place['street']} {place['number']}, {place['city']}"
    return [
        f"Restaurant API (/api), {restaurant['name']}: API key {DEMO_RESTAURANT_API_KEY}, "
        f"client {DEMO_RESTAURANT_CLIENT_ID} / {DEMO_RESTAURANT_CLIENT_SECRET}",
        "OAuth 2.0 client credentials:",
        f"  curl -s {a}/oauth/token -d grant_type=client_credentials "
        f"-d client_id={DEMO_RESTAURANT_CLIENT_ID} "
        f"-d client_secret={DEMO_RESTAURANT_CLIENT_SECRET}",
        "Menu and locations:",
        f"  curl -s '{a}/menu/categories?page=1' {key}",
        f"  curl -s '{a}/menu/products?page=1&q=marg' {key}",
        f"  curl -s '{a}/menu/product?uid={product['uid']}' {key}",
        f"  curl -s '{a}/menu/category?uid={product['category_uid']}' {key}",
        f"  curl -s {a}/account/subrestaurants {key}",
        "Address check, free pickup times, and the first one kept in $WHEN:",
        f"  curl -s {a}/order/validate_address {client} {json_body} "
        f"-d '{json.dumps({'address': address}, ensure_ascii=False)}'",
        f"  curl -s {a}/order/pickup_delivery_times {client} {json_body} "
        f"-d '{json.dumps({'dmethod': '0', 'subrestaurant_uid': location, 'language': 'en'})}'",
        f"  WHEN=$(curl -s {a}/order/pickup_delivery_times {client} {json_body} "
        f"-d '{json.dumps({'dmethod': '0', 'subrestaurant_uid': location})}' | "
        f'{py}["data"]["pickup_times"][0]["date"])\')',
        "Coupons:",
        f"  curl -s -X POST '{a}/coupon/apply?code={coupon}&total=25' {client}",
        f"  curl -s -X POST '{a}/coupon/generate?gencode={gencode}"
        f"&valid_email=giulia@example.com' {client}",
        "Create an order (kept in $ORDER), then confirm, read, list and close it:",
        f'  ORDER=$(curl -s {a}/order/create {client} {json_body} -d "{order}")',
        '  echo "$ORDER"',
        f'  OUID=$(echo "$ORDER" | {py}["order"]["uid"])\'); '
        f'OTOKEN=$(echo "$ORDER" | {py}["order"]["token"])\')',
        f'  curl -s -X POST "{a}/order/confirm?uid=$OUID&token=$OTOKEN" {key}',
        f'  curl -s "{a}/orders/get?uid=$OUID" {key}',
        f"  curl -s '{a}/orders/list?page=1&pagesize=10' {key}",
        f'  curl -s -X POST "{a}/order/close?uid=$OUID&token=$OTOKEN" {key}',
    ]


def main() -> None:
    try:
        cli()
    except SettingsError as exc:
        print(f"orderdesk: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
