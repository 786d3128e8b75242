"""A bucket that cannot take or give images (missing, unreachable, forbidden, throttling) is an
outage, not a bug: the store raises ``StorageUnavailable`` with S3's reason, logs one warning
without a traceback, and the dialects answer 503 with ``Retry-After``; the readiness check says
why and asks S3 at most once per cache period.

Missing buckets run against moto's S3 server; an unreachable endpoint is a closed local port;
denial and throttling come from a small HTTP server that answers every request as S3 does when
it refuses, so the client's real retry and error parsing run.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from pathlib import Path

import httpx
import pytest
from PIL import Image as PILImage
from sqlalchemy import func, select
from tests.factories import login, make_partner
from tests.s3 import StoreUnderTest, new_bucket_name, s3_settings
from tests.servers import running_server

from orderdesk.core.attachments.models import Image
from orderdesk.core.attachments.s3 import MAX_ATTEMPTS, S3ImageStorage
from orderdesk.core.attachments.storage import (
    STORAGE_RETRY_AFTER,
    ImageStorage,
    LocalImageStorage,
    image_storage,
)
from orderdesk.core.errors import StorageUnavailable
from orderdesk.http.state import AppState
from orderdesk.settings import Settings, SettingsError, load_settings

UPLOAD = "/partner/image/upload"


def png() -> bytes:
    out = BytesIO()
    PILImage.new("RGB", (64, 48), (10, 200, 30)).save(out, format="PNG")
    return out.getvalue()


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def s3_store(endpoint: str, bucket: str, **options: float) -> S3ImageStorage:
    settings = s3_settings(Settings(), endpoint, bucket)
    storage = image_storage(settings)
    assert isinstance(storage, S3ImageStorage)
    storage.ready_cache_seconds = options.get("ready_cache_seconds", storage.ready_cache_seconds)
    return storage


class Refusing(BaseHTTPRequestHandler):
    """Answers every request with one S3 error; counts the requests it saw."""

    status = 503
    code = "SlowDown"
    message = "Please reduce your request rate."
    delay = 0.0
    seen = 0

    def _refuse(self) -> None:
        type(self).seen += 1
        time.sleep(self.delay)
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{self.code}</Code>'
            f"<Message>{self.message}</Message><RequestId>1</RequestId></Error>"
        ).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_PUT = do_HEAD = do_DELETE = _refuse

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def refusing_s3(
    status: int, code: str, message: str, delay: float = 0.0
) -> Iterator[tuple[str, type[Refusing]]]:
    handler = type(
        "Handler",
        (Refusing,),
        {"status": status, "code": code, "message": message, "delay": delay},
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


def one_warning(caplog: pytest.LogCaptureFixture, reason: str) -> None:
    """Exactly one orderdesk warning, naming ``reason``, and no traceback anywhere."""
    warnings = [
        r for r in caplog.records if r.name.startswith("orderdesk") and r.levelno >= logging.WARNING
    ]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert reason in warnings[0].getMessage()
    assert all(r.exc_info is None for r in caplog.records)
    assert "Traceback" not in caplog.text


# ---------------------------------------------------------------------------------------------
# The store


async def test_a_missing_bucket_is_unavailable_with_one_warning(
    s3_endpoint: str, caplog: pytest.LogCaptureFixture
) -> None:
    storage = s3_store(s3_endpoint, new_bucket_name())

    with caplog.at_level(logging.INFO), pytest.raises(StorageUnavailable) as caught:
        await storage.save("ab0123.webp", b"webp")

    assert caught.value.retry_after == STORAGE_RETRY_AFTER
    assert caught.value.reason.startswith("NoSuchBucket:")
    one_warning(caplog, "NoSuchBucket")
    with pytest.raises(StorageUnavailable):
        await storage.load("ab0123.webp")  # not "missing image": the whole store is
    assert (await storage.check_writable() or "").startswith("NoSuchBucket:")


async def test_an_unreachable_endpoint_is_unavailable_quickly(
    s3_endpoint: str, caplog: pytest.LogCaptureFixture
) -> None:
    storage = s3_store(f"http://127.0.0.1:{closed_port()}", "orderdesk-media")
    started = time.monotonic()

    with caplog.at_level(logging.INFO), pytest.raises(StorageUnavailable) as caught:
        await storage.save("ab0123.webp", b"webp")

    assert caught.value.reason.startswith("EndpointConnectionError:")
    one_warning(caplog, "EndpointConnectionError")
    assert (await storage.check_writable() or "").startswith("EndpointConnectionError:")
    assert time.monotonic() - started < 10  # retries are few and short


@pytest.mark.parametrize(
    ("status", "code", "message", "attempts"),
    [
        (403, "AccessDenied", "Access Denied", 1),  # not retried: it will not heal by itself
        (503, "SlowDown", "Please reduce your request rate.", MAX_ATTEMPTS),
        (500, "InternalError", "We encountered an internal error.", MAX_ATTEMPTS),
    ],
)
async def test_refusals_are_unavailable_after_the_retries_they_deserve(
    s3_endpoint: str,
    caplog: pytest.LogCaptureFixture,
    status: int,
    code: str,
    message: str,
    attempts: int,
) -> None:
    with refusing_s3(status, code, message) as (endpoint, handler):
        storage = s3_store(endpoint, "orderdesk-media")
        with caplog.at_level(logging.INFO), pytest.raises(StorageUnavailable) as caught:
            await storage.save("ab0123.webp", b"webp")
        assert handler.seen == attempts
        assert caught.value.reason == f"{code}: {message}"
        one_warning(caplog, code)
        with pytest.raises(StorageUnavailable):
            await storage.load("ab0123.webp")
        # A HEAD answer has no body: the readiness check names the status, or what it means.
        head = {403: "AccessDenied"}.get(status, f"HTTP {status}")
        assert (await storage.check_writable() or "").startswith(f"{head}:")


async def test_a_store_that_does_not_answer_in_time_is_unavailable_at_the_deadline(
    s3_endpoint: str, caplog: pytest.LogCaptureFixture
) -> None:
    with refusing_s3(503, "SlowDown", "Please reduce your request rate.", delay=3) as (endpoint, _):
        storage = s3_store(endpoint, "orderdesk-media")
        storage.call_deadline = 0.5
        started = time.monotonic()
        with caplog.at_level(logging.INFO), pytest.raises(StorageUnavailable) as caught:
            await storage.save("ab0123.webp", b"webp")
        assert time.monotonic() - started < 2
    assert caught.value.reason == "no answer within 0.5 s"
    one_warning(caplog, "no answer within 0.5 s")


async def test_the_readiness_answer_is_reused_for_a_few_seconds(s3_endpoint: str) -> None:
    bucket = new_bucket_name()
    storage = s3_store(s3_endpoint, bucket, ready_cache_seconds=60)
    storage.client.create_bucket(Bucket=bucket)
    assert await storage.check_writable() is None

    storage.client.delete_bucket(Bucket=bucket)
    assert await storage.check_writable() is None  # cached: the bucket is not asked again

    storage.ready_cache_seconds = 0
    assert (await storage.check_writable() or "").startswith("NoSuchBucket:")


async def test_objects_carry_the_prefix_and_the_webp_type(s3_endpoint: str) -> None:
    bucket = new_bucket_name()
    storage = image_storage(s3_settings(Settings(), s3_endpoint, bucket, prefix="shop/images/"))
    assert isinstance(storage, S3ImageStorage)
    storage.client.create_bucket(Bucket=bucket)

    await storage.save("ab0123.webp", b"RIFF....WEBP")

    head = storage.client.head_object(Bucket=bucket, Key="shop/images/ab0123.webp")
    assert head["ContentType"] == "image/webp"
    assert head["ContentLength"] == 12


def test_the_bucket_setting_picks_the_store(tmp_path: Path) -> None:
    assert isinstance(image_storage(Settings(media_dir=tmp_path)), LocalImageStorage)
    assert isinstance(image_storage(Settings(media_dir=tmp_path, s3_bucket="")), LocalImageStorage)
    assert isinstance(
        image_storage(Settings(s3_bucket="orderdesk-media", s3_region="eu-west-1")),
        S3ImageStorage,
    )


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("s3_bucket", "Orderdesk_Media"),
        ("s3_bucket", "s3://orderdesk-media"),
        ("s3_endpoint_url", "minio:9000"),
        ("s3_prefix", "/images"),
        ("s3_prefix", "images"),
        ("s3_region", "EU West"),
    ],
)
def test_malformed_s3_settings_stop_with_one_line_naming_them(setting: str, value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(**{setting: value})
    assert str(caught.value).startswith(f"ORDERDESK_{setting.upper()}:")
    assert "\n" not in str(caught.value)


# ---------------------------------------------------------------------------------------------
# Through the API, on both databases


@contextmanager
def serving_from(state: AppState, storage: ImageStorage) -> Iterator[None]:
    previous = state.storage
    state.storage = storage
    try:
        yield
    finally:
        state.storage = previous


async def image_rows(state: AppState) -> int:
    async with state.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Image)) or 0)


@pytest.mark.parametrize("failure", ["missing-bucket", "endpoint-down"])
async def test_upload_to_an_unusable_bucket_is_503_retry_after_and_not_ready(
    failure: str,
    client: httpx.AsyncClient,
    state: AppState,
    s3_endpoint: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    headers = await login(client, await make_partner(state))
    rows = await image_rows(state)
    if failure == "missing-bucket":
        storage, reason = s3_store(s3_endpoint, new_bucket_name()), "NoSuchBucket"
    else:
        endpoint = f"http://127.0.0.1:{closed_port()}"
        storage, reason = s3_store(endpoint, "orderdesk-media"), "EndpointConnectionError"

    with serving_from(state, storage), caplog.at_level(logging.INFO):
        response = await client.post(
            UPLOAD, headers=headers, files={"file": ("r.png", png(), "image/png")}
        )
        ready = await client.get("/ready")

    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == str(STORAGE_RETRY_AFTER)
    body = response.json()
    assert (body["name"], body["type"], body["statusCode"]) == (
        "ServiceUnavailableError",
        "SERVICE_UNAVAILABLE",
        503,
    )
    assert reason not in response.text  # the operator's reason stays in the log
    one_warning(caplog, reason)
    assert await image_rows(state) == rows  # the row went with the failed transaction
    assert ready.status_code == 503
    assert ready.json()["database"] == "ok"
    assert ready.json()["storage"].startswith(f"{reason}:")


@pytest.mark.parametrize("served_image_store", ["s3"], indirect=True)
async def test_reading_an_image_while_the_endpoint_is_down_is_503(
    client: httpx.AsyncClient, state: AppState, served_image_store: StoreUnderTest
) -> None:
    headers = await login(client, await make_partner(state))
    uploaded = await client.post(
        UPLOAD, headers=headers, files={"file": ("r.png", png(), "image/png")}
    )
    url = uploaded.json()["data"][0]["url"]
    assert (await client.get(url)).status_code == 200

    with serving_from(state, s3_store(f"http://127.0.0.1:{closed_port()}", "orderdesk-media")):
        response = await client.get(url)

    assert response.status_code == 503
    assert response.headers["retry-after"] == str(STORAGE_RETRY_AFTER)


# ---------------------------------------------------------------------------------------------
# A real server configured by its environment


@pytest.mark.processes
async def test_a_server_given_a_bucket_keeps_images_there_and_none_on_disk(
    state: AppState, s3_endpoint: str, tmp_path: Path
) -> None:
    partner = await make_partner(state)
    bucket = new_bucket_name()
    s3_store(s3_endpoint, bucket).client.create_bucket(Bucket=bucket)
    environment = {
        "ORDERDESK_S3_BUCKET": bucket,
        "ORDERDESK_S3_ENDPOINT_URL": s3_endpoint,
        "ORDERDESK_S3_PREFIX": "receipts/",
    }  # credentials: the AWS_* variables the s3_endpoint fixture set, as in production

    with running_server(
        state.settings.database_url, media_dir=tmp_path / "media", env_extra=environment
    ) as base:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            headers = await login(client, partner)
            uploaded = await client.post(
                UPLOAD, headers=headers, files={"file": ("r.png", png(), "image/png")}
            )
            assert uploaded.status_code == 200, uploaded.text
            entry = uploaded.json()["data"][0]
            served = await client.get(httpx.URL(entry["url"]).path)
            ready = await client.get("/ready")

    assert served.status_code == 200 and served.content[8:12] == b"WEBP"
    listed = s3_store(s3_endpoint, bucket).client.list_objects_v2(Bucket=bucket)
    assert [item["Key"] for item in listed["Contents"]] == [f"receipts/{entry['id']}.webp"]
    assert ready.json()["storage"] == "ok"
    assert not (tmp_path / "media").exists() or not any((tmp_path / "media").rglob("*.webp"))
