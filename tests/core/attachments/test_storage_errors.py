"""A media store that cannot take files (full, read-only, forbidden, failing) is an outage, not a
bug: uploads are answered "unavailable, retry" with ``Retry-After`` and one warning line, nothing
is left half-written, and the readiness check says storage is not writable.

The failures are injected at the system-call level (``os.fsync`` / ``os.replace`` raising the
errno a full or read-only filesystem raises); ``tests/reliability/test_resource_pressure.py``
fills a real filesystem.
"""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Callable
from io import BytesIO
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image as PILImage
from sqlalchemy import func, select
from tests.factories import login, make_partner

from orderdesk.core.attachments.models import Image
from orderdesk.core.attachments.storage import STORAGE_RETRY_AFTER, LocalImageStorage
from orderdesk.core.errors import StorageUnavailable
from orderdesk.http.state import AppState

UPLOAD = "/partner/image/upload"
FAILURES = {
    "disk-full": errno.ENOSPC,
    "read-only": errno.EROFS,
    "permission-denied": errno.EACCES,
    "quota": errno.EDQUOT,
    "io-error": errno.EIO,
}


def png() -> bytes:
    out = BytesIO()
    PILImage.new("RGB", (64, 48), (10, 200, 30)).save(out, format="PNG")
    return out.getvalue()


def failing(code: int) -> Callable[..., Any]:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise OSError(code, os.strerror(code))

    return fail


def files_under(path: Path) -> list[Path]:
    return [p for p in path.rglob("*") if p.is_file()]


@pytest.mark.parametrize("name", list(FAILURES))
async def test_a_failing_write_is_unavailable_with_one_warning_and_no_file(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    storage = LocalImageStorage(tmp_path)
    monkeypatch.setattr(os, "fsync", failing(FAILURES[name]))

    with (
        caplog.at_level(logging.WARNING, logger="orderdesk"),
        pytest.raises(StorageUnavailable) as caught,
    ):
        await storage.save("ab0123.webp", b"x" * 10_000)

    assert caught.value.retry_after == STORAGE_RETRY_AFTER
    assert caught.value.reason.startswith(errno.errorcode[FAILURES[name]] + ":")
    [record] = caplog.records
    assert record.levelno == logging.WARNING and record.exc_info is None
    assert errno.errorcode[FAILURES[name]] in record.getMessage()
    assert files_under(tmp_path) == []  # not even the temporary file


async def test_a_failing_rename_leaves_nothing_either(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = LocalImageStorage(tmp_path)
    monkeypatch.setattr(os, "replace", failing(errno.EROFS))

    with pytest.raises(StorageUnavailable):
        await storage.save("ab0123.webp", b"x" * 10_000)

    assert files_under(tmp_path) == []


async def test_a_failing_read_is_unavailable_and_a_missing_file_is_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = LocalImageStorage(tmp_path)
    await storage.save("ab0123.webp", b"webp")
    assert await storage.load("ab9999.webp") is None

    monkeypatch.setattr(Path, "read_bytes", failing(errno.EIO))

    with pytest.raises(StorageUnavailable):
        await storage.load("ab0123.webp")


async def test_check_writable_reports_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = LocalImageStorage(tmp_path / "media")
    assert await storage.check_writable() is None
    assert files_under(tmp_path) == []  # the probe file is gone again

    with monkeypatch.context() as patched:
        patched.setattr(os, "fsync", failing(errno.ENOSPC))
        assert (await storage.check_writable() or "").startswith("ENOSPC:")

    class Full:
        f_bavail, f_frsize = 3, 4096

    monkeypatch.setattr(os, "statvfs", lambda path: Full())
    assert (await storage.check_writable() or "").startswith("ENOSPC: only 12 KiB free")


# ---------------------------------------------------------------------------------------------
# Through the API, on both databases


async def image_rows(state: AppState) -> int:
    async with state.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Image)) or 0)


async def test_upload_to_a_full_store_is_503_retry_after_and_writes_nothing(
    client: httpx.AsyncClient,
    state: AppState,
    media_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    headers = await login(client, await make_partner(state))
    rows, files = await image_rows(state), set(files_under(media_dir))

    with monkeypatch.context() as patched, caplog.at_level(logging.WARNING):
        patched.setattr(os, "fsync", failing(errno.ENOSPC))
        response = await client.post(
            UPLOAD, headers=headers, files={"file": ("r.png", png(), "image/png")}
        )
        ready = await client.get("/ready")

    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == str(STORAGE_RETRY_AFTER)
    body = response.json()
    assert (body["name"], body["type"], body["statusCode"], body["status"]) == (
        "ServiceUnavailableError",
        "SERVICE_UNAVAILABLE",
        503,
        "error",
    )
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "ENOSPC" in warnings[0].getMessage()
    assert warnings[0].exc_info is None
    assert await image_rows(state) == rows
    assert set(files_under(media_dir)) == files
    assert ready.status_code == 503
    assert ready.json()["database"] == "ok"
    assert ready.json()["storage"].startswith("ENOSPC:")

    # The disk has room again: the same upload goes through, and the store is ready.
    again = await client.post(
        UPLOAD, headers=headers, files={"file": ("r.png", png(), "image/png")}
    )
    assert again.status_code == 200, again.text
    assert await image_rows(state) == rows + 1
    assert (await client.get("/ready")).json() == {
        "status": "ready",
        "database": "ok",
        "schema": "ok",
        "storage": "ok",
    }


async def test_reading_an_image_from_a_failing_store_is_503(
    client: httpx.AsyncClient, state: AppState, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = await login(client, await make_partner(state))
    uploaded = await client.post(
        UPLOAD, headers=headers, files={"file": ("r.png", png(), "image/png")}
    )
    url = uploaded.json()["data"][0]["url"]

    monkeypatch.setattr(Path, "read_bytes", failing(errno.EIO))
    response = await client.get(url)

    assert response.status_code == 503
    assert response.headers["retry-after"] == str(STORAGE_RETRY_AFTER)
