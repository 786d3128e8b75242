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

    @property
    def met(self) -> bool | None:
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
        }


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or not b:
        return None
    return round(a / b, 3)


def targets(db: dict[str, Any]) -> list[Target]:
    """Issue 9's targets, each with what this run measured."""
    result: list[Target] = []
    floor = db.get("floor")
    for key, goal in (("partner_create", 0.25), ("restaurant_create", 0.2)):
        dialect = key.split("_")[0]
        if floor is not None:
            result.append(
                Target(
                    f"{dialect} create at 32 clients / pgbench floor",
                    ">=",
                    goal,
                    _ratio(db[key]["32"]["rps"], floor["tps"]),
                )
            )
    for key, _label in CREATES:
        dialect = key.split("_")[0]
        result.append(
            Target(
                f"{dialect} create: 32 clients / 1 client throughput",
                ">=",
                2,
                _ratio(db[key]["32"]["rps"], db[key]["1"]["rps"]),
            )
        )
    for key, _label in CREATES:
        dialect = key.split("_")[0]
        result.append(
            Target(
                f"{dialect} create at 32 clients: p99 / p50",
                "<=",
                3,
                _ratio(db[key]["32"]["p99_ms"], db[key]["32"]["p50_ms"]),
            )
        )
    steps = [str(s) for s in db["steps"]]
    for name, by_step in db["reads"].items():
        first, last = by_step.get(steps[0]), by_step.get(steps[-1])
        result.append(
            Target(
                f"{name}: p99 at {int(steps[-1]):,} / at {int(steps[0]):,} orders",
                "<=",
                1.5,
                _ratio(last and last["p99_ms"], first and first["p99_ms"]),
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


def _row(label: str, m: dict[str, Any]) -> str:
    return (
        f"  {label:<40} {m['connections']:>5} {m['rps']:>10,.1f} {m['p50_ms']:>9.2f}"
        f" {m['p99_ms']:>9.2f} {m['failed']:>7}"
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
            cells.append(
                f"{m['rps']:>8,.0f} {m['p50_ms']:>6.1f} {m['p99_ms']:>6.1f}"
                + ("!" if m["failed"] else " ")
                if m
                else f"{'-':>22}"
            )
        first, last = by_step.get(steps[0]), by_step.get(steps[-1])
        ratio = _ratio(last and last["p99_ms"], first and first["p99_ms"])
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
    out += ["", f"  {'targets (issue 9)':<58} {'goal':>9} {'measured':>10}"]
    for t in db["targets"]:
        value = "-" if t["value"] is None else f"{t['value']:.2f}"
        verdict = {True: "met", False: "NOT MET", None: "n/a"}[t["met"]]
        out.append(f"  {t['name']:<58} {t['op']} {t['goal']:<6g} {value:>10}   {verdict}")
    failed = failures(db)
    out.append("")
    out.append(f"  failed requests: {failed}" + ("  (a failed read is marked !)" if failed else ""))
    return "\n".join(out)


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
