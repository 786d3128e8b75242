"""The table the harness prints, the targets of issue 9 with their measured values, the JSON.

Targets are ratios within one run on one machine (absolute figures drift from machine to machine
and run to run; ratios are what to compare).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CREATES = (
    ("partner_create", "partner POST /partner/order/create"),
    ("restaurant_create", "restaurant POST /api/order/create"),
)


@dataclass
class Target:
    name: str
    op: str  # ">=" or "<="
    goal: float
    value: float | None  # None: could not be measured in this run
    unanswered: bool = False  # a measurement it depends on got no answer at all

    @property
    def met(self) -> bool | None:
        if self.unanswered:
            return False
        if self.value is None:
            return None
        return self.value >= self.goal if self.op == ">=" else self.value <= self.goal

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "op": self.op,
            "goal": self.goal,
            "value": self.value,
            "met": self.met,
            "unanswered": self.unanswered,
        }


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or not b:
        return None
    return round(a / b, 3)


def _target(
    name: str,
    op: str,
    goal: float,
    a: dict[str, Any] | None,
    a_key: str,
    b: dict[str, Any] | None,
    b_key: str,
) -> Target:
    """``a[a_key] / b[b_key]`` against ``goal``; measurements without answers fail it."""
    unanswered = any(m is not None and "requests" in m and m["requests"] == 0 for m in (a, b))
    if unanswered or a is None or b is None:
        return Target(name, op, goal, None, unanswered)
    value = _ratio(a[a_key], b[b_key])
    return Target(name, op, goal, value, unanswered)


def targets(db: dict[str, Any]) -> list[Target]:
    """Issue 9's targets, each with what this run measured."""
    result: list[Target] = []
    floor = db.get("floor")
    for key, goal in (("partner_create", 0.25), ("restaurant_create", 0.2)):
        dialect = key.split("_")[0]
        if floor is not None:
            result.append(
                _target(
                    f"{dialect} create at 32 clients / pgbench floor",
                    ">=",
                    goal,
                    db[key]["32"],
                    "rps",
                    floor,
                    "tps",
                )
            )
    for key, _label in CREATES:
        dialect = key.split("_")[0]
        result.append(
            _target(
                f"{dialect} create: 32 clients / 1 client throughput",
                ">=",
                2,
                db[key]["32"],
                "rps",
                db[key]["1"],
                "rps",
            )
        )
    for key, _label in CREATES:
        dialect = key.split("_")[0]
        result.append(
            _target(
                f"{dialect} create at 32 clients: p99 / p50",
                "<=",
                3,
                db[key]["32"],
                "p99_ms",
                db[key]["32"],
                "p50_ms",
            )
        )
    steps = [str(s) for s in db["steps"]]
    for name, by_step in db["reads"].items():
        result.append(
            _target(
                f"{name}: p99 at {int(steps[-1]):,} / at {int(steps[0]):,} orders",
                "<=",
                1.5,
                by_step.get(steps[-1]),
                "p99_ms",
                by_step.get(steps[0]),
                "p99_ms",
            )
        )
    rss = db.get("rss_mb") or []
    result.append(
        Target("RSS per worker after the run, MiB (largest)", "<=", 150, max(rss) if rss else None)
    )
    return result


def failures(db: dict[str, Any]) -> int:
    """Failed requests of every measurement of one database."""
    total = 0
    for key in ("health", "partner_create", "restaurant_create"):
        total += sum(m["failed"] for m in db[key].values())
    for by_step in db["reads"].values():
        total += sum(m["failed"] for m in by_step.values())
    return total


def _ms(value: float | None, width: int, digits: int) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:>{width}.{digits}f}"


def _row(label: str, m: dict[str, Any]) -> str:
    return (
        f"  {label:<40} {m['connections']:>5} {m['rps']:>10,.1f} {_ms(m['p50_ms'], 9, 2)}"
        f" {_ms(m['p99_ms'], 9, 2)} {m['failed']:>7}"
        + ("   no answer within the measurement" if m["requests"] == 0 else "")
    )


def render(db: dict[str, Any]) -> str:
    """One database's table: writes, reads by order count, memory, statements, targets."""
    meta = db["meta"]
    out = [
        f"orderdesk bench - {meta['database_version']}, serve --workers {meta['workers']}, "
        f"{meta['cpus']} CPUs, {meta['items']:,} items, up to {db['steps'][-1]:,} orders "
        f"({meta['started']}, {meta['commit']}, {meta['seconds']:.0f} s)",
        "",
    ]
    out.append(
        f"  {'writes and health':<40} {'conns':>5} {'req/s':>10} {'p50 ms':>9}"
        f" {'p99 ms':>9} {'failed':>7}"
    )
    floor = db.get("floor")
    if floor is not None:
        out.append(
            f"  {'floor: pgbench order transaction':<40} {floor['clients']:>5}"
            f" {floor['tps']:>10,.1f} {'':>9} {'':>9} {floor['failed']:>7}"
            f"   (latency avg {floor['latency_ms']:.2f} ms)"
        )
    for key, label in (("health", "GET /health"), *CREATES):
        for conns in ("1", "32"):
            out.append(_row(label, db[key][conns]))
    steps = [str(s) for s in db["steps"]]
    out += [
        "",
        f"  reads at {meta['read_connections']} connections, by orders stored "
        "(req/s, p50 ms, p99 ms)",
    ]
    out.append(f"  {'':<26}" + "".join(f"{int(s):>22,}" for s in steps) + f"{'p99 ratio':>11}")
    for name, by_step in db["reads"].items():
        cells = []
        for s in steps:
            m = by_step.get(s)
            if m is None:
                cells.append(f"{'-':>22}")
            elif m["requests"] == 0:
                cells.append(f"{'no answer':>21}" + ("!" if m["failed"] else " "))
            else:
                cells.append(
                    f"{m['rps']:>8,.0f} {m['p50_ms']:>6.1f} {m['p99_ms']:>6.1f}"
                    + ("!" if m["failed"] else " ")
                )
        ratio = _target(
            "", "<=", 0, by_step.get(steps[-1]), "p99_ms", by_step.get(steps[0]), "p99_ms"
        ).value
        out.append(
            f"  {name:<26}"
            + "".join(cells)
            + (f"{ratio:>10.2f}x" if ratio is not None else f"{'-':>11}")
        )
    out.append("")
    for key, label in (
        ("rss_mb_at_start", "at start"),
        ("rss_mb_after_reads", "after the reads"),
        ("rss_mb", "after the run"),
    ):
        rss = ", ".join(f"{r:.1f}" for r in db.get(key) or []) or "-"
        out.append(f"  {'RSS per worker ' + label:<40} {rss} MiB")
    for dialect, counts in db["statements"].items():
        detail = ", ".join(f"{n} {kind}" for kind, n in counts.items() if kind != "total")
        out.append(
            f"  {'SQL statements per ' + dialect + ' create':<40} {counts['total']}"
            f" ({detail}; BEGIN/COMMIT not counted)"
        )
    for name, plan in (db.get("plans") or {}).items():
        out.append(f"  plan of {name} at {int(steps[-1]):,} orders:")
        out += [f"    {line}" for line in plan_summary(plan)]
    out += ["", f"  {'targets (issue 9)':<58} {'goal':>9} {'measured':>10}"]
    for t in db["targets"]:
        value = "-" if t["value"] is None else f"{t['value']:.2f}"
        verdict = {True: "met", False: "NOT MET", None: "n/a"}[t["met"]]
        if t.get("unanswered"):
            verdict += " (a measurement got no answer)"
        out.append(f"  {t['name']:<58} {t['op']} {t['goal']:<6g} {value:>10}   {verdict}")
    failed = failures(db)
    out.append("")
    out.append(f"  failed requests: {failed}" + ("  (a failed read is marked !)" if failed else ""))
    return "\n".join(out)


def plan_summary(plan: str) -> list[str]:
    """The lines of a plan that say how rows are found: scans, sorts, limits and the time
    (the whole plan is in the JSON)."""
    keep = ("Scan", "Sort", "Limit", "Execution Time", "SCAN", "SEARCH", "USE TEMP")
    lines = [line.strip() for line in plan.splitlines()]
    return [line for line in lines if any(k in line for k in keep)] or lines


def write_json(path: Path, results: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")


def plot(path: Path, results: dict[str, Any]) -> str:
    """Read latency (p99) against orders stored, one panel per database; a PNG at ``path``.

    matplotlib is the optional ``bench`` extra (``pip install -e '.[bench]'``); without it
    there is no plot and the reason is returned instead.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "no plot: matplotlib is not installed (pip install -e '.[bench]')"
    dbs = results["databases"]
    fig, axes = plt.subplots(1, len(dbs), figsize=(6.5 * len(dbs), 4.5), squeeze=False)
    for ax, (name, db) in zip(axes[0], dbs.items(), strict=True):
        steps = db["steps"]
        for read, by_step in db["reads"].items():
            xs = [s for s in steps if str(s) in by_step]
            ax.plot(xs, [by_step[str(s)]["p99_ms"] for s in xs], marker="o", label=read)
        ax.set_xscale("log")
        ax.set_xlabel("orders stored")
        ax.set_ylabel("p99 latency, ms")
        ax.set_title(f"{name}: reads at {db['meta']['read_connections']} connections")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return f"plot: {path}"
