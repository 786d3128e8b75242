"""Images in an S3 bucket (AWS or any S3-compatible store), for servers without a shared disk.

Why boto3 in a thread pool rather than an asyncio client (aiobotocore): an upload is one
``PutObject`` of a few MiB, so the cost that matters is the transfer, which a blocking socket in
a worker thread does at full speed; a thread per request in flight is cheap next to the decode
that precedes it. boto3 is the reference client, follows every credential source and S3 change
first, and pins nothing else in the environment, while aiobotocore pins botocore to a narrow
range and brings aiohttp. The pool is this store's own, so slow S3 calls never take the worker
threads that image decoding and the local disk use (``asyncio.to_thread``), and it is as large
as the client's connection pool, so no call waits for a connection while holding a thread.

Measured (2 CPUs, 96 PUTs of 3 MiB, 16 at a time, to a local stand-in for S3 in another
process, three runs each): boto3 in threads 118-159 MiB/s at 5.6 ms of client CPU per upload,
aiobotocore 82-119 MiB/s at 5.0-5.9 ms; the event loop's worst stall was alike for both
(0.3-0.7 s with both CPUs busy). So the asyncio client buys nothing for this work, and
installing aiobotocore 3.10 moved botocore back from 1.44 to 1.43.

Writes are atomic without any help from us: S3 makes an object visible only once its ``PUT``
completed in full, and a replaced object is swapped whole; a reader never sees half a file.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from orderdesk.core.attachments.storage import _KEY, STORAGE_RETRY_AFTER
from orderdesk.core.errors import StorageUnavailable

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger("orderdesk.storage")

T = TypeVar("T")

# Connections (and threads) one process uses towards the bucket at most; calls beyond it wait
# for a free one. Uploads are limited well before this by the decode budget.
MAX_CONNECTIONS = 16
# Seconds to open a connection and to wait for an answer: an unreachable endpoint is reported
# within a readiness probe's time, and a few MiB move well within the read timeout.
CONNECT_TIMEOUT = 2.0
READ_TIMEOUT = 20.0
# Tries per call (botocore's "standard" retry mode: throttling and transient errors, with
# jittered back-off); a call that still fails is answered "unavailable, retry".
MAX_ATTEMPTS = 3
# Seconds one call may take, retries included, before it is answered "unavailable, retry": an
# upload holds its database transaction open meanwhile. A PUT still running in its thread may
# complete afterwards; its object is then referenced by no row and harmless (see upload_image).
CALL_DEADLINE = 30.0
# Seconds a readiness answer is reused: probes come every few seconds from every balancer,
# and each would otherwise be one request to the bucket.
READY_CACHE_SECONDS = 5.0

# S3 error codes that say "no such object" rather than "the store is unusable".
_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})
# What ``HeadBucket``'s statuses mean (its answers have no body, so S3 names no code); other
# statuses are reported as "HTTP 503: Service Unavailable".
_HEAD_CODES = {"404": "NoSuchBucket", "403": "AccessDenied", "301": "PermanentRedirect"}


def client_config() -> Config:
    """Timeouts, retries and pool size for the store's client.

    Checksums are sent only where S3 requires them: newer botocore otherwise adds CRC headers
    and chunked uploads that several S3-compatible stores refuse; integrity comes from the
    ``Content-MD5`` every ``PutObject`` carries instead, which all of them check.
    """
    return Config(
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
        max_pool_connections=MAX_CONNECTIONS,
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )


class S3ImageStorage:
    """Objects ``<prefix><key>`` in one bucket; the same contract as the local store.

    Credentials come from boto3's default chain (environment, shared config and credentials
    files, web identity, container or instance role), never from orderdesk's settings. Every
    failure of the bucket (unreachable endpoint, missing bucket, access denied, throttling,
    missing credentials) becomes :class:`StorageUnavailable` with one warning line.
    """

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
        ready_cache_seconds: float = READY_CACHE_SECONDS,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.client: S3Client = boto3.session.Session().client(
            "s3", endpoint_url=endpoint_url, region_name=region, config=client_config()
        )
        self.ready_cache_seconds = ready_cache_seconds
        self.call_deadline = CALL_DEADLINE
        self._executor = ThreadPoolExecutor(MAX_CONNECTIONS, thread_name_prefix="orderdesk-s3")
        self._ready: tuple[float, str | None] | None = None

    def object_key(self, key: str) -> str:
        """The object name of ``key``; raises ``ValueError`` for anything but a plain file
        name, exactly as the local store does."""
        if not _KEY.fullmatch(key):
            raise ValueError(f"invalid storage key: {key!r}")
        return f"{self.prefix}{key}"

    async def save(self, key: str, data: bytes) -> None:
        name = self.object_key(key)
        digest = base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()
        await self._call(
            "write",
            lambda: self.client.put_object(
                Bucket=self.bucket,
                Key=name,
                Body=data,
                ContentMD5=digest,
                ContentType="image/webp",
            ),
        )

    async def load(self, key: str) -> bytes | None:
        name = self.object_key(key)

        def get() -> bytes | None:
            try:
                answer = self.client.get_object(Bucket=self.bucket, Key=name)
            except ClientError as exc:
                if _code(exc) in _MISSING:
                    return None
                raise
            return answer["Body"].read()

        return await self._call("read", get)

    async def delete(self, key: str) -> None:
        name = self.object_key(key)
        await self._call("delete", lambda: self.client.delete_object(Bucket=self.bucket, Key=name))

    async def check_writable(self) -> str | None:
        """``HeadBucket``: the endpoint answers, the credentials are valid and the bucket
        exists and is ours. The answer is reused for ``ready_cache_seconds``.

        It does not prove that ``PutObject`` is permitted (no request short of a write does);
        a policy that allows reading but not writing shows in the uploads' 503s and warnings.
        """
        now = time.monotonic()
        if self._ready is not None and now - self._ready[0] < self.ready_cache_seconds:
            return self._ready[1]
        try:
            await self._run(lambda: self.client.head_bucket(Bucket=self.bucket))
            problem = None
        except (BotoCoreError, ClientError) as exc:
            problem = describe(exc)
        self._ready = (time.monotonic(), problem)
        return problem

    def close(self) -> None:
        """Release the connection pool and the threads; the store is unusable afterwards."""
        self._executor.shutdown(wait=False, cancel_futures=True)
        self.client.close()

    async def _run(self, call: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    async def _call(self, action: str, call: Callable[[], T]) -> T:
        try:
            async with asyncio.timeout(self.call_deadline):
                return await self._run(call)
        except (BotoCoreError, ClientError, TimeoutError) as exc:
            reason = (
                f"no answer within {self.call_deadline:g} s"
                if isinstance(exc, TimeoutError)
                else describe(exc)
            )
            log.warning(
                "media store s3://%s/%s: cannot %s (%s); answered unavailable",
                self.bucket,
                self.prefix,
                action,
                reason,
            )
            raise StorageUnavailable(reason, STORAGE_RETRY_AFTER) from None


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def describe(exc: BotoCoreError | ClientError) -> str:
    """``NoSuchBucket: The specified bucket does not exist``: the code an operator can search
    the S3 documentation for, and S3's own words; for a failure below HTTP, botocore's."""
    if isinstance(exc, ClientError):
        code = _code(exc)
        code = _HEAD_CODES.get(code, f"HTTP {code}" if code.isdigit() else code) or "ClientError"
        message = str(exc.response.get("Error", {}).get("Message", "")).strip()
        if not message:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            message = f"HTTP {status}" if status else exc.operation_name
        return f"{code}: {message}"
    return f"{exc.__class__.__name__}: {exc}"
