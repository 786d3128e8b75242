"""The ``orderdesk`` command. Commands only parse options and call plain functions."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from orderdesk.settings import REPORTED_MARK, Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from orderdesk.setup.apply import ApplyReport

cli = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="orderdesk: order intake for partner stores and restaurants.",
)

DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", help="sqlite:///file.db or postgresql://user@host:port/db"),
]


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"orderdesk {version('orderdesk')}")
        raise typer.Exit()


@cli.callback()
def _global(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="print the version and exit"
        ),
    ] = False,
) -> None:
    """orderdesk: order intake for partner stores and restaurants."""


# The database the running command uses, so that main() can name it when it cannot be reached.
_database_url: str | None = None


def _settings(database_url: str | None) -> Settings:
    global _database_url
    try:
        settings = load_settings(database_url=database_url)
    except SettingsError as exc:
        message = str(exc)
        if database_url is not None and exc.field == "database_url":
            # The value came from the option, not the variable: name what the operator typed.
            message = "--database-url:" + message.split(":", 1)[1]
        typer.echo(f"orderdesk: {message}", err=True)
        raise typer.Exit(2) from None
    if database_url:
        # Worker processes read their settings from the environment.
        os.environ["ORDERDESK_DATABASE_URL"] = database_url
    _database_url = settings.database_url
    from orderdesk.db.errors import sqlite_problem

    problem = sqlite_problem(settings.database_url)
    if problem:
        typer.echo(f"orderdesk: {problem}", err=True)
        raise typer.Exit(1)
    # Every command logs in the configured format (ORDERDESK_LOG_FORMAT), uvicorn's lines too.
    from orderdesk.http.logging import configure_logging

    configure_logging(settings.log_format, settings.log_level)
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
    as_json: Annotated[
        bool, typer.Option("--json", help="print the report (or the errors) as one JSON object")
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
        typer.echo(f"{file}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}", err=True)
        raise typer.Exit(2) from None
    try:
        report = asyncio.run(apply_file(settings.database_url, raw, dry_run=dry_run))
    except SetupInvalid as exc:
        if as_json:
            errors = [{"path": error.path, "message": error.message} for error in exc.errors]
            typer.echo(json.dumps({"changed": False, "errors": errors}, ensure_ascii=False))
            raise typer.Exit(2) from None
        for error in exc.errors:
            typer.echo(f"{error.path}: {error.message}", err=True)
        typer.echo(f"{len(exc.errors)} error(s); nothing was changed", err=True)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(_report_json(report), ensure_ascii=False))
        return
    # The report itself says when it was a dry run.
    typer.echo(report.render())


def _report_json(report: ApplyReport) -> dict[str, Any]:
    """An apply report for scripts: each entity as ``{"kind", "id"}`` rather than the text
    report's ``"<kind> <id>"``, whose ids may contain spaces (a webhook's is its partner and
    URL)."""

    def entities(entries: list[str]) -> list[dict[str, str]]:
        return [dict(zip(("kind", "id"), entry.split(" ", 1), strict=True)) for entry in entries]

    return {
        "dry_run": report.dry_run,
        "changed": not report.dry_run and bool(report.created or report.updated),
        "created": entities(report.created),
        "updated": entities(report.updated),
        "unchanged": entities(report.unchanged),
    }


@cli.command("demo-setup")
def demo_setup() -> None:
    """Print the built-in demo setup document."""
    from orderdesk.setup.demo import demo_document

    typer.echo(json.dumps(demo_document(), indent=2, ensure_ascii=False))


@cli.command()
def schema(
    markdown: Annotated[
        bool, typer.Option("--markdown", help="the reference page (docs/setup.md) instead")
    ] = False,
) -> None:
    """Print the JSON Schema (draft 2020-12) of the setup document."""
    from orderdesk.setup import reference

    text = reference.markdown() if markdown else json.dumps(reference.json_schema(), indent=2)
    typer.echo(text, nl=not markdown)


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

    from orderdesk.http.logging import logging_config
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
    # The workers inherit this environment, which has just been checked for unknown names.
    os.environ[REPORTED_MARK] = "1"
    asyncio.run(run_migrations(settings.database_url))
    if demo:
        from orderdesk.setup import demo as demo_data

        # A taken port is said at once, not after instructions that point at the other server.
        problem = demo_data.listen_problem(host, port)
        if problem:
            typer.echo(f"orderdesk: {problem}", err=True)
            raise typer.Exit(1)
        from orderdesk.setup.apply import apply_file

        document = demo_data.demo_document()
        asyncio.run(apply_file(settings.database_url, document))
        asyncio.run(demo_data.ensure_demo_operators(settings.database_url))
        local = demo_data.local_base(host, port)
        demo_data.announce_when_ready(settings.public_url or local, local, document)
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
        # Applied again in each worker process; the access log is orderdesk's own (one line
        # per answered request with its duration and request id, orderdesk.http.logging).
        log_config=logging_config(settings.log_format, settings.log_level),
        access_log=False,
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

from orderdesk.setup.imports import commands as import_commands  # noqa: E402

cli.add_typer(import_commands, name="import")


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
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON array")] = False,
) -> None:
    """List deliveries, newest first."""
    from orderdesk.core.events.admin import list_deliveries
    from orderdesk.core.events.health import list_subscriptions

    settings = _settings(database_url)

    async def work(session: Any) -> Any:
        deliveries = await list_deliveries(session, state=state, limit=limit)
        return deliveries, await list_subscriptions(session)

    try:
        rows, subscriptions = asyncio.run(_with_session(settings.database_url, work))
    except ValueError as exc:
        typer.echo(f"orderdesk: {exc}", err=True)
        raise typer.Exit(2) from None
    if as_json:
        from dataclasses import asdict

        rows_json = [asdict(row) for row in rows]
        typer.echo(json.dumps(rows_json, default=lambda value: value.isoformat()))
        return
    for row in rows:
        typer.echo(
            f"{row.id}\t{row.state}\t{row.event}\torder={row.order_id}\t"
            f"attempts={row.attempts}\tlast={row.last_status_code or row.last_error or '-'}"
            f"\tsubscription={row.subscription_id}:{row.subscription_state}\t{row.url}"
        )
    typer.echo(f"{len(rows)} deliveries")
    for sub in subscriptions:
        if sub.disabled_at is not None:
            typer.echo(
                f"subscription {sub.id} disabled since {sub.disabled_at.isoformat()}, no delivery "
                f"succeeded for days: {sub.url}; `orderdesk webhooks enable {sub.id}` resumes it"
            )


@webhooks.command("replay")
def webhooks_replay(
    ids: Annotated[
        list[int] | None, typer.Argument(help="delivery ids (default: every dead one)")
    ] = None,
    all_dead: Annotated[
        bool, typer.Option("--all-dead", help="every dead delivery (the default without ids)")
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="replay every dead delivery without asking")
    ] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Queue deliveries again (dead ones by default) for a fresh 24 h of retries."""
    import getpass

    from orderdesk.core.events.admin import replay
    from orderdesk.db.base import utcnow

    settings = _settings(database_url)
    if ids and all_dead:
        typer.echo("orderdesk: name delivery ids or pass --all-dead, not both", err=True)
        raise typer.Exit(2)
    every_dead = not ids
    # Replaying everything is the one call here that can flood receivers: it is confirmed.
    confirmed = yes or all_dead or not every_dead
    if not confirmed and not typer.confirm("Replay every dead delivery?", default=False):
        typer.echo("nothing was queued")
        raise typer.Exit(1)
    count = asyncio.run(
        _with_session(
            settings.database_url,
            lambda session: replay(
                session,
                None if every_dead else ids,
                dead_only=every_dead,
                now=utcnow(),
                actor=f"cli:{getpass.getuser()}",
            ),
        )
    )
    typer.echo(f"{count} deliveries queued again")


@webhooks.command("enable")
def webhooks_enable(
    subscription_id: Annotated[int, typer.Argument(help="subscription id (see webhooks list)")],
    database_url: DatabaseUrl = None,
) -> None:
    """Turn a subscription disabled for failing back on; its pending deliveries resume."""
    from orderdesk.core.events.health import UnknownSubscription, enable
    from orderdesk.db.base import utcnow

    settings = _settings(database_url)
    try:
        was_disabled = asyncio.run(
            _with_session(
                settings.database_url,
                lambda session: enable(session, subscription_id, now=utcnow()),
            )
        )
    except UnknownSubscription as exc:
        typer.echo(f"orderdesk: {exc}", err=True)
        raise typer.Exit(2) from None
    if was_disabled:
        typer.echo(f"subscription {subscription_id} enabled")
    else:
        typer.echo(f"subscription {subscription_id} was not disabled; past failures are forgiven")


@webhooks.command("listen")
def webhooks_listen(
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port")] = 8787,
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    secret: Annotated[
        str | None,
        typer.Option(
            envvar="ORDERDESK_WEBHOOK_SECRET",
            help="the subscription's secret; without it signatures are not checked",
        ),
    ] = None,
) -> None:
    """Receive webhooks: check each signature, print one line per event (Ctrl+C stops)."""
    import uvicorn

    from orderdesk.core.events.listen import app, listen_problem
    from orderdesk.db.base import utcnow

    if problem := listen_problem(host, port):
        typer.echo(f"orderdesk: {problem}", err=True)
        raise typer.Exit(1)

    def emit(line: str) -> None:
        typer.echo(line)
        sys.stdout.flush()

    typer.echo(f"listening on http://{host}:{port}/ (any path)", err=True)
    receiver = app(secret=secret, emit=emit, clock=utcnow)
    uvicorn.run(receiver, host=host, port=port, log_level="warning")


operators = typer.Typer(
    help="Console operators: create, list and disable the people who sign in at /console.",
    no_args_is_help=True,
)
cli.add_typer(operators, name="operator")


def _read_password() -> str:
    """The new operator's password: one line of standard input, so that scripts can pipe it
    without putting it on a command line (visible in ps) or in the shell's history. At a
    terminal it is asked twice without echo."""
    import getpass

    if sys.stdin.isatty():
        try:
            first = getpass.getpass("Password: ")
            second = getpass.getpass("Repeat the password: ")
        except (EOFError, KeyboardInterrupt):
            typer.echo("", err=True)
            typer.echo("orderdesk: no password given; nothing was created", err=True)
            raise typer.Exit(1) from None
        if first != second:
            typer.echo("orderdesk: the two passwords differ; nothing was created", err=True)
            raise typer.Exit(1)
        return first
    return sys.stdin.readline().rstrip("\r\n")


@operators.command("create")
def operator_create(
    email: Annotated[str, typer.Argument(help="the operator's email, their sign-in name")],
    role: Annotated[str, typer.Option("--role", help="admin, dispatcher or staff")],
    org: Annotated[
        str | None,
        typer.Option("--org", help="staff only: the partner name or restaurant uid they work for"),
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="full name shown in the console")
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create an operator; the password is read from standard input (one line)."""
    from orderdesk.core.errors import ValidationFailed
    from orderdesk.core.operators.service import MIN_PASSWORD_LENGTH, create_operator
    from orderdesk.db.base import utcnow

    settings = _settings(database_url)
    password = _read_password()
    if not password:
        typer.echo(
            "orderdesk: no password on standard input (one line, at least "
            f"{MIN_PASSWORD_LENGTH} characters); nothing was created",
            err=True,
        )
        raise typer.Exit(1)
    try:
        created = asyncio.run(
            _with_session(
                settings.database_url,
                lambda session: create_operator(
                    session,
                    email=email,
                    password=password,
                    role=role,
                    organization=org,
                    name=name,
                    now=utcnow(),
                ),
            )
        )
    except ValidationFailed as exc:
        for error in exc.errors:
            option = {"org": "--org", "role": "--role"}.get(error.path, error.path)
            typer.echo(f"orderdesk: {option}: {error.message}", err=True)
        raise typer.Exit(1) from None
    where = f" of {org}" if org else ""
    typer.echo(f"operator {created.email} created ({created.role}{where})")


@operators.command("list")
def operator_list(
    database_url: DatabaseUrl = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON array")] = False,
) -> None:
    """List operators by email: role, organization, and since when disabled."""
    from orderdesk.core.operators.service import list_operators

    settings = _settings(database_url)
    rows = asyncio.run(_with_session(settings.database_url, list_operators))
    if as_json:
        from dataclasses import asdict

        rows_json = [asdict(row) for row in rows]
        typer.echo(json.dumps(rows_json, default=lambda value: value.isoformat()))
        return
    table = [("EMAIL", "NAME", "ROLE", "ORGANIZATION", "STATE")]
    for row in rows:
        state = f"disabled {row.disabled_at:%Y-%m-%d %H:%M}Z" if row.disabled_at else "active"
        table.append((row.email, row.name, row.role, row.organization or "-", state))
    widths = [max(len(line[column]) for line in table) for column in range(4)]
    for line in table:
        cells = [cell.ljust(width) for cell, width in zip(line, widths, strict=False)]
        typer.echo("  ".join([*cells, line[4]]))
    typer.echo(f"{len(rows)} operator{'' if len(rows) == 1 else 's'}")


@operators.command("disable")
def operator_disable(
    email: Annotated[str, typer.Argument(help="the operator's email")],
    database_url: DatabaseUrl = None,
) -> None:
    """Sign an operator out everywhere and refuse their sign-ins from now on."""
    from orderdesk.core.errors import NotFound
    from orderdesk.core.operators.service import disable_operator
    from orderdesk.db.base import utcnow

    settings = _settings(database_url)
    try:
        newly = asyncio.run(
            _with_session(
                settings.database_url,
                lambda session: disable_operator(session, email, now=utcnow()),
            )
        )
    except NotFound as exc:
        typer.echo(f"orderdesk: {exc}", err=True)
        raise typer.Exit(1) from None
    if newly:
        typer.echo(f"operator {email.strip().lower()} disabled and signed out")
    else:
        typer.echo(f"operator {email.strip().lower()} was disabled already")


def main() -> None:
    """Run a command; a database it cannot use ends it with one line and exit code 1."""
    from orderdesk.db.errors import connection_failure

    try:
        cli()
    except SettingsError as exc:
        print(f"orderdesk: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except Exception as exc:
        line = connection_failure(_database_url, exc) if _database_url else None
        if line is None:
            raise
        print(f"orderdesk: {line}", file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
