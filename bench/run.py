"""``make bench``: orderdesk under load on PostgreSQL and SQLite, one table per database.

For each database: a fresh database, ``orderdesk migrate`` and ``orderdesk apply`` with the
generated setup document, the pgbench floor (PostgreSQL), 100,000 items and template orders,
then ``orderdesk serve`` on a free loopback port and wrk from a separate process: /health and
both dialects' order creation at 1 and 32 connections, and the reads at each order count
(a near-empty table, then 10,000, 100,000 and 1,000,000 orders generated in SQL while the server
runs). Finally the workers' memory, the SQL statements of one create of each dialect and the
plans of the partner order lists. Results go to stdout as a table per database and to
``bench/results/last-run.json``; docs/performance.md explains every row.

    .venv/bin/python -m bench [--smoke] [--database postgresql|sqlite|both] [--duration S]
                              [--orders N] [--json PATH] [--keep]

``BENCH_PG_URL`` (else ``ORDERDESK_TEST_PG_URL``, else postgresql://postgres@127.0.0.1:5432/test)
is the administrative connection used to create and drop the throw-away database.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench import bulk, inprocess, load, report, server, workload
from orderdesk.core.catalog.search import fold
from orderdesk.db.engine import create_engine

T = TypeVar("T")
RESULTS = Path(__file__).parent / "results"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
MIN_ANSWERS = 20  # fewer answers than this in a measurement and it is repeated, longer
PARTNER_OK = '"status"%s*:%s*"ok"'
RESTAURANT_OK = '"success"%s*:%s*true'


def pg_admin_url() -> str:
    return os.environ.get("BENCH_PG_URL") or os.environ.get("ORDERDESK_TEST_PG_URL") or DEFAULT_PG


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--smoke",
        action="store_true",
        help="tiny data and measurements of a second or two: checks the harness works",
    )
    p.add_argument("--database", choices=("postgresql", "sqlite", "both"), default="both")
    p.add_argument(
        "--duration",
        type=int,
        help="seconds per write and /health measurement (default 15, smoke 2)",
    )
    p.add_argument(
        "--read-duration", type=int, help="seconds per read measurement (default 5, smoke 1)"
    )
    p.add_argument(
        "--orders", type=int, help="orders at the last step (default 1,000,000, smoke 1,000)"
    )
    p.add_argument(
        "--base-orders",
        type=int,
        default=200,
        help="orders at the first read step: enough that every list's first page is "
        "full, so steps compare table size and not page size (default 200)",
    )
    p.add_argument("--items", type=int, help="catalog items (default 100,000, smoke 1,000)")
    p.add_argument(
        "--workers",
        type=int,
        default=2,
        help="server workers on PostgreSQL (SQLite always runs one)",
    )
    p.add_argument("--read-connections", type=int, default=4)
    p.add_argument(
        "--json",
        type=Path,
        help="where the results go (default bench/results/last-run.json, smoke: last-smoke.json)",
    )
    p.add_argument(
        "--keep", action="store_true", help="keep the databases and the server logs for inspection"
    )
    args = p.parse_args(argv)
    args.duration = args.duration or (2 if args.smoke else 15)
    args.read_duration = args.read_duration or (1 if args.smoke else 5)
    args.orders = args.orders or (1_000 if args.smoke else 1_000_000)
    args.items = max(args.items or (1_000 if args.smoke else 100_000), 10)
    # Seconds of the same load before each measurement, not counted: the first requests of a
    # worker pay for connections, caches and the first argon2 check of a client secret.
    args.warmup = 1 if args.smoke else 2  # creates (and /health, except in a smoke run)
    args.read_warmup = 0 if args.smoke else 1
    args.json = args.json or RESULTS / ("last-smoke.json" if args.smoke else "last-run.json")
    return args


def order_steps(base: int, last: int) -> list[int]:
    middle = [s for s in (10_000, 100_000, 1_000_000) if base < s < last]
    return [base, *middle, last] if last > base else [base]


def _git(*args: str) -> str:
    try:
        return subprocess.run(
            ["git", *args],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def commit() -> str:
    head = _git("rev-parse", "--short", "HEAD") or "unknown"
    return head + ("+changes" if _git("status", "--porcelain", "--untracked-files=no") else "")


# ---------------------------------------------------------------------------------------------
# Databases


async def _pg_problem(admin: str) -> str | None:
    import asyncpg

    try:
        conn = await asyncpg.connect(admin, timeout=3)
    except (OSError, asyncpg.PostgresError) as exc:
        return f"PostgreSQL at {admin} is unreachable ({exc.__class__.__name__}: {exc})"
    await conn.close()
    return None


def pg_problem() -> str | None:
    """Why PostgreSQL cannot be used (``None`` when it can), or pgbench is missing."""
    problem = asyncio.run(_pg_problem(pg_admin_url()))
    if problem is None and load.pgbench_available() is None:
        problem = "pgbench is not installed (Debian: it comes with the postgresql package)"
    return problem


async def _pg_admin(statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(pg_admin_url())
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@contextmanager
def fresh_database(kind: str, workdir: Path, keep: bool) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'orderdesk.db'}"
        return
    name = f"orderdesk_bench_{secrets.token_hex(4)}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{pg_admin_url().rsplit('/', 1)[0]}/{name}"
    finally:
        if keep:
            log(f"kept database {name}")
        else:
            asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def with_engine(url: str, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    """Run ``work`` on a fresh engine in an event loop of its own (asyncpg connections belong
    to the loop that opened them, and every asyncio.run is a new loop)."""

    async def run() -> T:
        engine = create_engine(url)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    return asyncio.run(run())


async def _scalar(url: str, sql: str) -> Any:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.scalar(text(sql))
    finally:
        await engine.dispose()


async def _ids(url: str, sql: str) -> list[int]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return [int(v) for v in (await conn.scalars(text(sql))).all()]
    finally:
        await engine.dispose()


def orderdesk(*args: str) -> None:
    """Run the ``orderdesk`` command line, as an operator would."""
    done = subprocess.run(
        [sys.executable, "-m", "orderdesk", *args],
        env=server.clean_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"orderdesk {args[0]} failed ({done.returncode}):\n"
            f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )


# ---------------------------------------------------------------------------------------------
# The floor


async def _floor_setup(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            org = await conn.scalar(text("SELECT id FROM organizations WHERE key = 'bench-a'"))
            loc = await conn.scalar(
                text(f"SELECT id FROM locations WHERE key = '{workload.PARTNERS[0].stores[0][0]}'")
            )
            items = (
                await conn.scalars(
                    text("SELECT id FROM products WHERE item_id IN (1, 2) ORDER BY item_id")
                )
            ).all()
            for statement in load.floor_statements("schema"):
                await conn.execute(text(statement.format(organization_id=org, location_id=loc)))
            await conn.commit()
    finally:
        await engine.dispose()
    return {"org": int(org), "loc": int(loc), "item1": int(items[0]), "item2": int(items[1])}


async def _floor_drop(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            await conn.execute(
                text(
                    "DROP TABLE IF EXISTS bench_floor_outbox, bench_floor_events, "
                    "bench_floor_lines, bench_floor_orders, bench_floor_capacity"
                )
            )
            await conn.execute(text("DROP SEQUENCE IF EXISTS bench_floor_numbers"))
            await conn.commit()
    finally:
        await engine.dispose()


def floor(url: str, seconds: int) -> load.Floor:
    variables = asyncio.run(_floor_setup(url))
    try:
        return load.run_pgbench(url, clients=32, seconds=seconds, variables=variables)
    finally:
        asyncio.run(_floor_drop(url))


# ---------------------------------------------------------------------------------------------
# One database


class Run:
    """Everything measured on one database, in the order it is measured."""

    def __init__(self, kind: str, args: argparse.Namespace, workdir: Path) -> None:
        self.kind = kind
        self.args = args
        self.workdir = workdir
        self.workers = args.workers if kind == "postgresql" else 1
        self.counter = 0
        self.result: dict[str, Any] = {
            "health": {},
            "partner_create": {},
            "restaurant_create": {},
            "reads": {},
            "floor": None,
            "generation_seconds": {},
            "orders_stored": {},
        }

    def measure(
        self,
        srv: server.Server,
        name: str,
        script: str,
        params: dict[str, Any],
        connections: int,
        seconds: int,
        warmup: int,
    ) -> dict[str, Any]:
        if warmup:
            load.run_wrk(
                name,
                srv.base,
                script,
                params,
                connections=connections,
                seconds=warmup,
                workdir=self.workdir,
            )
        m = load.run_wrk(
            name,
            srv.base,
            script,
            params,
            connections=connections,
            seconds=seconds,
            workdir=self.workdir,
        )
        if m.requests < MIN_ANSWERS and not self.args.smoke:
            # Too few answers for a percentile: the same once more, four times as long.
            time.sleep(min(5.0, (m.max_ms or seconds * 1000) / 1000))
            log(
                f"{self.kind}: {name} at {connections}: {m.requests} answers, measuring again "
                f"for {min(60, 4 * seconds)} s"
            )
            m = load.run_wrk(
                name,
                srv.base,
                script,
                params,
                connections=connections,
                seconds=min(60, 4 * seconds),
                workdir=self.workdir,
            )
        # wrk abandons the requests in flight when its time is up, but the server finishes
        # them: give it that long before the next measurement, so one does not pay for another.
        time.sleep(min(5.0, max(0.2, (m.max_ms or 5000) / 1000)))
        latency = (
            f"p50 {m.p50_ms:.1f} ms, p99 {m.p99_ms:.1f} ms"
            if m.p50_ms is not None and m.p99_ms is not None
            else "no answer"
        )
        log(
            f"{self.kind}: {name} at {connections}: {m.rps:,.1f}/s, {latency}, {m.failed} failed"
            + (f" (first: {m.first_failure[:300]})" if m.first_failure else "")
        )
        return m.as_dict()

    def execute(self) -> dict[str, Any]:
        started = time.monotonic()
        args = self.args
        with fresh_database(self.kind, self.workdir, args.keep) as url:
            setup = self.workdir / "setup.json"
            setup.write_text(json.dumps(workload.setup_document(), ensure_ascii=False))
            orderdesk("migrate", "--database-url", url)
            orderdesk("apply", str(setup), "--database-url", url)
            log(f"{self.kind}: migrated and applied {setup.name}")
            if self.kind == "postgresql":
                f = floor(url, args.duration)
                self.result["floor"] = f.as_dict()
                log(f"{self.kind}: floor {f.tps:,.1f} tps at {f.clients} clients")
            seconds = with_engine(url, lambda e: bulk.generate_items(e, args.items))
            self.result["generation_seconds"]["items"] = round(seconds, 1)
            log(f"{self.kind}: {args.items:,} items in {seconds:.1f} s")
            asyncio.run(inprocess.create_templates(url, self.workdir / "media"))
            steps = order_steps(args.base_orders, args.orders)
            self.result["steps"] = steps
            self.grow(url, steps[0], steps[-1])
            with server.running(url, workers=self.workers, workdir=self.workdir) as srv:
                try:
                    token = self.login(srv)
                    self.result["rss_mb_at_start"] = srv.rss_mb()
                    self.health(srv)
                    for step in steps:
                        self.grow(url, step, steps[-1])
                        self.reads(srv, url, token, step)
                    self.result["rss_mb_after_reads"] = srv.rss_mb()
                    self.creates(srv, token)
                    self.result["rss_mb"] = srv.rss_mb()
                except BaseException:
                    self.server_log(srv, "the run stopped")
                    raise
                if report.failures(self.result):
                    self.server_log(srv, "requests failed")
                log(
                    f"{self.kind}: RSS per worker {self.result['rss_mb_at_start']} at start, "
                    f"{self.result['rss_mb_after_reads']} after the reads, "
                    f"{self.result['rss_mb']} after the creates (MiB)"
                )
            self.result["statements"] = asyncio.run(
                inprocess.count_statements(url, self.workdir / "media")
            )
            self.result["plans"] = asyncio.run(
                inprocess.explain_order_lists(url, self.workdir / "media")
            )
            version = asyncio.run(
                _scalar(
                    url,
                    "SELECT version()"
                    if self.kind == "postgresql"
                    else "SELECT 'SQLite ' || sqlite_version()",
                )
            )
        self.result["meta"] = {
            "database": self.kind,
            "database_version": " ".join(str(version).split()[:2]),
            "workers": self.workers,
            "cpus": os.cpu_count(),
            "items": args.items,
            "read_connections": args.read_connections,
            "base_orders": args.base_orders,
            "started": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "commit": commit(),
            "seconds": round(time.monotonic() - started, 1),
            "smoke": args.smoke,
            "duration": args.duration,
            "read_duration": args.read_duration,
        }
        self.result["targets"] = [t.as_dict() for t in report.targets(self.result)]
        return self.result

    def server_log(self, srv: server.Server, why: str) -> None:
        """The end of the server's output, which the temporary directory takes with it."""
        tail = srv.log.read_text(errors="replace").splitlines()[-60:]
        log(f"{self.kind}: {why}; the server's last lines:\n" + "\n".join(tail))

    def grow(self, url: str, total: int, last: int) -> None:
        seconds = with_engine(url, lambda e: bulk.grow_orders(e, total, last))
        stored = with_engine(url, bulk.order_count)
        self.result["generation_seconds"][str(total)] = round(seconds, 1)
        self.result["orders_stored"][str(total)] = stored
        log(f"{self.kind}: {stored:,} orders stored ({seconds:.1f} s generating)")

    def login(self, srv: server.Server) -> str:
        partner = workload.PARTNERS[0]
        response = httpx.post(
            f"{srv.base}/partner/auth/authorize",
            timeout=60,
            json={"login": partner.login, "password": workload.PASSWORD},
        )
        response.raise_for_status()
        return str(response.json()["data"]["token"])

    def health(self, srv: server.Server) -> None:
        params = {"paths": ["/health"], "headers": {}, "success": PARTNER_OK}
        for conns in (1, 32):
            self.result["health"][str(conns)] = self.measure(
                srv,
                "GET /health",
                "get",
                params,
                conns,
                self.args.duration,
                0 if self.args.smoke else self.args.warmup,
            )

    def reads(self, srv: server.Server, url: str, token: str, step: int) -> None:
        partner = workload.PARTNERS[0]
        stores = [key for key, _tz in partner.stores]
        ids = asyncio.run(
            _ids(
                url,
                (
                    "SELECT o.id FROM orders o JOIN organizations g ON g.id = o.organization_id "
                    f"WHERE g.key = '{partner.name}' ORDER BY random() LIMIT 500"
                ),
            )
        )
        p = {"token": token}
        api = {"X-Api-Key": workload.RESTAURANTS[0].api_key}
        q = "/partner/order/list?limit=20"
        reads: dict[str, tuple[list[str], dict[str, str], str]] = {
            "item find": (
                [f"/partner/item/find?limit=20&name={quote(s)}" for s in workload.ITEM_SEARCHES],
                p,
                PARTNER_OK,
            ),
            "item list": (
                [f"/partner/item/list?limit=20&skip={20 * i}" for i in range(10)],
                p,
                PARTNER_OK,
            ),
            "free slots": ([f"/partner/slots/free?store_id={s}" for s in stores], {}, PARTNER_OK),
            "order list": ([q], p, PARTNER_OK),
            "order list, text query": (
                [f"{q}&filter%5Bquery%5D={quote(fold(name))}" for name in workload.RARE_LAST_NAMES],
                p,
                PARTNER_OK,
            ),
            "order list, store + status": (
                [
                    f"{q}&filter%5Bstore_ids%5D%5B%5D={s}&filter%5Bfilter%5D%5B%5D=open"
                    for s in stores
                ],
                p,
                PARTNER_OK,
            ),
            "restaurant orders list": (["/api/orders/list?page=1&pagesize=20"], api, RESTAURANT_OK),
            "order get": ([f"/partner/order/{i}" for i in ids], p, PARTNER_OK),
        }
        for name, (paths, headers, success) in reads.items():
            params = {"paths": paths, "headers": headers, "success": success}
            self.result["reads"].setdefault(name, {})[str(step)] = self.measure(
                srv,
                f"{name} @{step:,}",
                "get",
                params,
                self.args.read_connections,
                self.args.read_duration,
                self.args.read_warmup,
            )

    def creates(self, srv: server.Server, token: str) -> None:
        now = datetime.now(UTC)
        partner = workload.PARTNERS[0]
        restaurant = workload.RESTAURANTS[0]
        plans: list[tuple[str, str, Callable[[], dict[str, Any]]]] = [
            (
                "partner_create",
                "partner create",
                lambda: {
                    "path": "/partner/order/create",
                    "headers": {"token": token, "Content-Type": "application/json"},
                    "bodies": [workload.partner_body(s) for s, _tz in partner.stores],
                    "slots": [list(s) for s in workload.partner_slots(now.date())],
                    "items": {"first": 1, "count": self.args.items},
                    "firsts": workload.FIRST_NAMES,
                    "lasts": workload.LAST_NAMES,
                    "success": PARTNER_OK,
                },
            ),
            (
                "restaurant_create",
                "restaurant create",
                lambda: {
                    "path": "/api/order/create",
                    "headers": inprocess.restaurant_headers(restaurant),
                    "bodies": [workload.restaurant_body(loc) for loc in restaurant.locations],
                    "slots": [list(s) for s in workload.restaurant_slots(now)],
                    "firsts": workload.FIRST_NAMES,
                    "lasts": workload.LAST_NAMES,
                    "success": RESTAURANT_OK,
                },
            ),
        ]
        self.prime(srv, restaurant)
        for key, name, params in plans:
            for conns in (1, 32):
                self.counter += 1
                self.result[key][str(conns)] = self.measure(
                    srv,
                    name,
                    "create",
                    {**params(), "base": self.counter * 1_000_000_000},
                    conns,
                    self.args.duration,
                    self.args.warmup,
                )

    def prime(self, srv: server.Server, restaurant: workload.Restaurant) -> None:
        """Let every worker check the restaurant's client secret once before the load.

        A worker remembers a verified secret, but until it does, every request carrying it runs
        argon2 (about 0.7 s and 64 MiB here): 32 connections arriving at a cold worker at once
        would each run it, and the first seconds of the measurement would time argon2, not
        order intake. Requests on fresh connections, one after another, reach every worker.
        """
        headers = inprocess.restaurant_headers(restaurant)
        for _ in range(8 * self.workers):
            response = httpx.get(
                f"{srv.base}/api/orders/list?page=1&pagesize=1", headers=headers, timeout=60
            )
            response.raise_for_status()


# ---------------------------------------------------------------------------------------------


@contextmanager
def _workdir(kind: str, keep: bool) -> Iterator[Path]:
    """A temporary directory for the database file, the server's log and media; with
    ``--keep`` it stays (the SQLite database and the server log are in it)."""
    if keep:
        path = Path(tempfile.mkdtemp(prefix=f"orderdesk-bench-{kind}-"))
        log(f"{kind}: working directory {path} is kept")
        yield path
        return
    with tempfile.TemporaryDirectory(prefix=f"orderdesk-bench-{kind}-") as tmp:
        yield Path(tmp)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if load.wrk_available() is None:
        print("bench: wrk is not installed (Debian/Ubuntu: apt-get install wrk)", file=sys.stderr)
        return 2
    kinds = ["postgresql", "sqlite"] if args.database == "both" else [args.database]
    results: dict[str, Any] = {
        "databases": {},
        "skipped": {},
        "commit": commit(),
        "args": {k: str(v) for k, v in vars(args).items()},
    }
    if "postgresql" in kinds:
        problem = pg_problem()
        if problem is not None:
            if args.database == "postgresql":
                print(f"bench: {problem}", file=sys.stderr)
                return 2
            log(f"PostgreSQL skipped: {problem}")
            results["skipped"]["postgresql"] = problem
            kinds.remove("postgresql")
    started = time.monotonic()
    for kind in kinds:
        with _workdir(kind, args.keep) as workdir:
            (workdir / "media").mkdir()
            results["databases"][kind] = Run(kind, args, workdir).execute()
    results["seconds"] = round(time.monotonic() - started, 1)
    report.write_json(args.json, results)
    for name in results["databases"]:
        print()
        print(report.render(results["databases"][name]))
    for kind, reason in results["skipped"].items():
        print(f"\n{kind}: skipped ({reason})")
    print()
    if results["databases"]:
        print(report.plot(args.json.with_suffix(".png"), results))
    print(f"results: {args.json} ({results['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
