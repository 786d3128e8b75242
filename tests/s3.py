"""An S3 endpoint for the tests: moto's server on a free local port, and the stores the image
tests run against (the local directory and a bucket), seen through one interface.

moto answers the S3 wire protocol over real HTTP, so the production client code runs unchanged:
signing, retries, timeouts and error parsing included.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orderdesk.core.attachments.s3 import S3ImageStorage
from orderdesk.core.attachments.storage import ImageStorage, LocalImageStorage, image_storage
from orderdesk.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# Credentials for moto (it accepts any) through the standard AWS variables, as production
# would set them; the shared files are pointed away so a developer's ~/.aws cannot interfere.
AWS_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}


@contextmanager
def aws_environment() -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in AWS_ENVIRONMENT}
    os.environ.update(AWS_ENVIRONMENT)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def moto_server() -> Iterator[str]:
    """moto's S3 on 127.0.0.1 and a port the system picks; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    # One line per request at INFO would bury what a failing test logged.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{server._server.port}"  # type: ignore[union-attr]
    finally:
        server.stop()


def s3_settings(settings: Settings, endpoint: str, bucket: str, prefix: str = "") -> Settings:
    return settings.model_copy(
        update={"s3_bucket": bucket, "s3_endpoint_url": endpoint, "s3_prefix": prefix}
    )


def new_bucket_name() -> str:
    return f"orderdesk-test-{secrets.token_hex(6)}"


@dataclass
class StoreUnderTest:
    """An image store and a way to list what it holds, whichever backend it is."""

    backend: str
    storage: ImageStorage
    _root: Path | None = None
    _client: Any = field(default=None, repr=False)
    _bucket: str = ""

    def stored(self) -> set[str]:
        """Every file or object name in the store, temporary files included."""
        if self._root is not None:
            return {str(p.relative_to(self._root)) for p in self._root.rglob("*") if p.is_file()}
        client: S3Client = self._client
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=self._bucket)
        return {item["Key"] for page in pages for item in page.get("Contents", [])}


@contextmanager
def store_under_test(
    backend: str, settings: Settings, endpoint: str | None
) -> Iterator[StoreUnderTest]:
    """``settings.media_dir`` as the app has it, or a fresh bucket built the way the app builds
    its store (:func:`image_storage` from settings)."""
    if backend == "local":
        storage = image_storage(settings)
        assert isinstance(storage, LocalImageStorage)
        yield StoreUnderTest(backend, storage, _root=storage.root)
        return
    assert endpoint is not None
    bucket = new_bucket_name()
    storage = image_storage(s3_settings(settings, endpoint, bucket, prefix="images/"))
    assert isinstance(storage, S3ImageStorage)
    storage.client.create_bucket(Bucket=bucket)
    try:
        yield StoreUnderTest(backend, storage, _client=storage.client, _bucket=bucket)
    finally:
        storage.close()
