"""Real ``orderdesk serve`` processes under resource pressure, on SQLite and PostgreSQL.

* Memory: 16 concurrent uploads of a maximum-size image (6400 x 6240 PNG, just under the 40 M
  pixel limit) while the test samples the worker's RSS from ``/proc``: the peak stays under
  500 MB and the worker gives the memory back afterwards. Before decoding was budgeted, 8 such
  uploads took one worker to 3.35 GB and left it at 687 MB.
* Full disk: the media directory is a small tmpfs this test mounts and fills (root is
  needed; skipped with the reason otherwise). Uploads are answered 503 with ``Retry-After``
  and one warning line each while orders go on; ``/ready`` reports the store; nothing is half
  written; once there is room again uploads succeed. The same store remounted read-only
  answers the same way.
* Slow clients: see ``test_slow_clients.py``.

Each scenario prints one summary line and appends it as JSON to ``$RELIABILITY_REPORT``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Mapping
from datetime import date, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image as PILImage
from tests.conftest import fresh_database
from tests.reliability.support import apply_document, report, server_env
from tests.servers import free_port

pytestmark = [pytest.mark.postgres, pytest.mark.processes]

MB = 1000 * 1000
MiB = 1024 * 1024
UPLOADS = 16
PEAK_BOUND = 500 * MB
AFTER_BOUND = 150 * MB
LOGIN = {"login": "api@pressure.example", "password": "pressure test dummy"}
TIMEOUT = httpx.Timeout(connect=5, read=90, write=30, pool=90)


def _document(day: date) -> dict[str, Any]:
    return {
        "version": 1,
        "partners": [
            {
                "name": "pressure",
                "title": "Pressure Furniture",
                "users": [{**LOGIN}],
                "stores": [
                    {
                        "id": "pressure-riga",
                        "title": "Pressure Riga",
                        "timezone": "Europe/Riga",
                        "masters": {"0712": 0, "1217": 0, "1721": 0},
                        "masters_on": [
                            {"date": day.isoformat(), "timeslot": "1217", "masters": 1000}
                        ],
                    }
                ],
            }
        ],
        "items": [
            {
                "id": 7301,
                "title": "PAX wardrobe",
                "category": "wardrobes",
                "delivery": True,
                "assembly": True,
                "delivery_price": 2500,
                "assembly_price": 6900,
                "currency": "EUR",
            }
        ],
    }


def _order(day: date) -> dict[str, Any]:
    return {
        "customer": {"phone_number": "+37120000000", "first_name": "Anna", "last_name": "Ozola"},
        "partner_details": {
            "store_id": "pressure-riga",
            "instock": True,
            "items": [{"id": 7301, "count": 1}],
        },
        "datetime": [{"date": day.isoformat(), "timeslot": "1217"}],
        "payment_method": "cash",
        "image_uuids": [],
    }


def maximum_png() -> bytes:
    """6400 x 6240 = 39.9 M pixels (the limit is 40 M), a smooth picture: 130 KiB of PNG."""
    band = PILImage.linear_gradient("L").resize((6400, 6240))
    image = PILImage.merge("RGB", (band, band.transpose(PILImage.Transpose.FLIP_TOP_BOTTOM), band))
    out = BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def small_png() -> bytes:
    out = BytesIO()
    PILImage.new("RGB", (320, 200), (30, 90, 200)).save(out, format="PNG")
    return out.getvalue()


@contextlib.contextmanager
def serving(
    url: str, media_dir: Path, log: Path, env_extra: Mapping[str, str] | None = None
) -> Iterator[tuple[str, int]]:
    """``orderdesk serve`` (one worker) whose output goes to ``log``; yields (base URL, pid).

    Like ``tests.servers.running_server``, but the log is kept: these tests count its lines.
    """
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERDESK_")}
    env.update(
        {
            "ORDERDESK_MEDIA_DIR": str(media_dir),
            "ORDERDESK_LOG_LEVEL": "warning",
            **server_env(),
            **(env_extra or {}),
        }
    )
    base = f"http://127.0.0.1:{port}"
    with log.open("wb") as output:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "orderdesk",
                "serve",
                "--port",
                str(port),
                "--database-url",
                url,
            ],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"server exited with {proc.returncode}:\n{log.read_text(errors='replace')}"
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise TimeoutError("server did not become healthy")
                time.sleep(0.1)
            yield base, proc.pid
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    async with fresh_database(request.param, tmp_path) as url:
        await apply_document(url, _document(date.today() + timedelta(days=3)), tmp_path)
        yield url


async def _token(client: httpx.AsyncClient) -> dict[str, str]:
    response = await client.post("/partner/auth/authorize", json=LOGIN)
    assert response.status_code == 200, response.text
    return {"token": response.json()["data"]["token"]}


def _rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def _unavailable(response: httpx.Response) -> bool:
    """The partner dialect's "unavailable, retry": 503 in its error shape with Retry-After."""
    if response.status_code != 503:
        return False
    body = response.json()
    return (body["name"], body["statusCode"]) == ("ServiceUnavailableError", 503) and int(
        response.headers["retry-after"]
    ) > 0


# ---------------------------------------------------------------------------------------------
# Memory


async def test_concurrent_maximum_size_uploads_keep_a_worker_bounded(
    database: str, tmp_path: Path
) -> None:
    data = maximum_png()
    with serving(database, tmp_path / "media", tmp_path / "server.log") as (base, pid):
        async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT) as client:
            headers = await _token(client)
            # Warm up: codecs loaded, thread pool started, one small image stored.
            warm = await client.post(
                "/partner/image/upload",
                headers=headers,
                files={"file": ("w.png", small_png(), "image/png")},
            )
            assert warm.status_code == 200, warm.text
            await asyncio.sleep(0.5)
            before = _rss(pid)
            peak = before
            sampling = True

            async def sample() -> None:
                nonlocal peak
                while sampling:
                    peak = max(peak, _rss(pid))
                    await asyncio.sleep(0.005)

            async def upload() -> tuple[httpx.Response, float]:
                started = time.monotonic()
                response = await client.post(
                    "/partner/image/upload",
                    headers=headers,
                    files={"file": ("max.png", data, "image/png")},
                )
                return response, time.monotonic() - started

            sampler = asyncio.create_task(sample())
            started = time.monotonic()
            results = await asyncio.gather(*(upload() for _ in range(UPLOADS)))
            elapsed = time.monotonic() - started
            await asyncio.sleep(1.0)
            sampling = False
            await sampler
            after = _rss(pid)

            stored = [r for r, _ in results if r.status_code == 200]
            refused = [r for r, _ in results if _unavailable(r)]
            for response in stored[:2]:
                image = await client.get(response.json()["data"][0]["url"])
                with PILImage.open(BytesIO(image.content)) as webp:
                    assert (webp.format, webp.size) == ("WEBP", (2560, 2496))
            still_serving = await client.get("/health")
        log = (tmp_path / "server.log").read_text(errors="replace")

    figures = {
        "scenario": "max-size-uploads",
        "database": database.split(":")[0],
        "uploads": UPLOADS,
        "pixels": 6400 * 6240,
        "png_kib": len(data) // 1024,
        "stored": len(stored),
        "unavailable_retry": len(refused),
        "rss_before_mib": round(before / MiB),
        "rss_peak_mib": round(peak / MiB),
        "rss_after_mib": round(after / MiB),
        "elapsed_s": round(elapsed, 1),
        "slowest_s": round(max(t for _, t in results), 1),
    }
    report(figures)
    assert len(stored) + len(refused) == UPLOADS, [r.text for r, _ in results]
    assert stored, figures
    assert peak < PEAK_BOUND, figures
    assert after < AFTER_BOUND, figures
    assert still_serving.status_code == 200
    assert "Traceback" not in log and "Exception" not in log, log


# ---------------------------------------------------------------------------------------------
# Full and read-only disks


@contextlib.contextmanager
def small_filesystem(path: Path, size_mib: int) -> Iterator[None]:
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mib}m", "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip() or mounted.returncode}")
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(path: Path) -> Path:
    """Write zeros under ``path`` until the filesystem refuses more."""
    filler = path / "filler.bin"
    with contextlib.suppress(OSError), filler.open("wb") as out:
        while True:
            out.write(b"\0" * MiB)
            out.flush()
            os.fsync(out.fileno())
    return filler


def remount(path: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(path)], check=True)


def stored_files(media: Path) -> list[Path]:
    return sorted(p for p in media.rglob("*") if p.is_file() and p.name != "filler.bin")


async def test_full_and_read_only_media_store_answer_unavailable_while_orders_go_on(
    database: str, tmp_path: Path
) -> None:
    media = tmp_path / "media"
    day = date.today() + timedelta(days=3)
    with (
        small_filesystem(media, 32),
        serving(database, media, tmp_path / "server.log") as (base, _),
    ):
        async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT) as client:
            headers = await _token(client)
            ok = await client.post(
                "/partner/image/upload",
                headers=headers,
                files={"file": ("r.png", small_png(), "image/png")},
            )
            assert ok.status_code == 200, ok.text
            before = stored_files(media)
            filler = fill(media)

            async def upload() -> httpx.Response:
                return await client.post(
                    "/partner/image/upload",
                    headers=headers,
                    files={"file": ("r.png", small_png(), "image/png")},
                )

            async def order() -> httpx.Response:
                return await client.post("/partner/order/create", headers=headers, json=_order(day))

            full = await asyncio.gather(
                *(upload() for _ in range(5)), *(order() for _ in range(10))
            )
            uploads, orders = full[:5], full[5:]
            ready_full = await client.get("/ready")
            after_full = stored_files(media)

            filler.unlink()
            room_again = await upload()
            ready_again = await client.get("/ready")

            remount(media, "ro")
            read_only = await upload()
            ready_read_only = await client.get("/ready")
            listed = await client.get("/partner/order/list", headers=headers)
            remount(media, "rw")
        log = (tmp_path / "server.log").read_text(errors="replace")

    warnings = [line for line in log.splitlines() if "media store at" in line]
    figures = {
        "scenario": "full-media-store",
        "database": database.split(":")[0],
        "uploads_unavailable": sum(map(_unavailable, uploads)),
        "orders_created": Counter(r.status_code for r in orders)[200],
        "ready_when_full": ready_full.json()["storage"],
        "ready_when_read_only": ready_read_only.json()["storage"],
        "warning_lines": len(warnings),
    }
    report(figures)
    assert all(map(_unavailable, uploads)), [r.text for r in uploads]
    assert {r.headers["retry-after"] for r in uploads} == {"30"}
    assert [r.status_code for r in orders] == [200] * 10, [r.text for r in orders]
    assert ready_full.status_code == 503 and ready_full.json()["database"] == "ok"
    assert ready_full.json()["storage"].startswith("ENOSPC")
    assert after_full == before  # nothing half-written, not even a temporary file
    assert room_again.status_code == 200, room_again.text
    assert ready_again.status_code == 200
    assert _unavailable(read_only), read_only.text
    assert ready_read_only.status_code == 503
    assert ready_read_only.json()["storage"].startswith("EROFS")
    assert listed.status_code == 200 and len(listed.json()["data"]) >= 10
    assert len(warnings) == 6, log  # one line per refused upload
    assert any("ENOSPC" in line for line in warnings)
    assert any("EROFS" in line for line in warnings)
    assert "Traceback" not in log, log
