"""Where re-encoded image bytes live, behind a protocol so that another backend can replace disk.

Keys are chosen by the server (``<24 hex chars>.webp``), never by clients; a backend still refuses
any key that is not a plain file name, so a bug upstream cannot turn into a path traversal.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from orderdesk.core.errors import StorageUnavailable

if TYPE_CHECKING:
    from orderdesk.settings import Settings

log = logging.getLogger("orderdesk.storage")

_KEY = re.compile(r"[A-Za-z0-9]{2}[A-Za-z0-9._-]{0,198}")

# Seconds a client is asked to wait when the media store cannot take or give a file: long
# enough for an operator or a clean-up job to free space, short enough for a client to retry.
STORAGE_RETRY_AFTER = 30
# Free space below which the readiness check reports the store as not writable: the largest
# re-encoded image is a few MiB, and a store this full fails the next uploads anyway.
MIN_FREE_BYTES = 16 * 1024 * 1024


class ImageStorage(Protocol):
    """Byte storage addressed by key. ``save`` replaces; ``load`` of a missing key is ``None``.

    A store that cannot serve (full disk, read-only, unreachable) raises
    :class:`StorageUnavailable` from ``save`` and ``load``, never a backend's own exception;
    ``check_writable`` is for readiness probes: ``None`` when a write would succeed now,
    otherwise one line saying why not.
    """

    async def save(self, key: str, data: bytes) -> None: ...

    async def load(self, key: str) -> bytes | None: ...

    async def delete(self, key: str) -> None: ...

    async def check_writable(self) -> str | None: ...

    def close(self) -> None:
        """Release what the store holds open (connections, threads) when the server stops."""
        ...


def image_storage(settings: Settings) -> ImageStorage:
    """The bucket when ``s3_bucket`` is set, else ``media_dir`` on the local disk.

    boto3 is imported only here, so a server on local storage never loads it.
    """
    if settings.s3_bucket:
        from orderdesk.core.attachments.s3 import S3ImageStorage

        return S3ImageStorage(
            settings.s3_bucket,
            prefix=settings.s3_prefix,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
        )
    return LocalImageStorage(settings.media_dir)


def describe(exc: OSError) -> str:
    """``ENOSPC: No space left on device``: the symbol an operator can search for, and why."""
    name = errno.errorcode.get(exc.errno or 0, "OSError")
    return f"{name}: {exc.strerror or exc}"


class LocalImageStorage:
    """Files under ``root``, sharded into sub-directories by the key's first two characters.

    A reader never sees a partly written file: data goes to a temporary file in the target
    directory, is fsynced, and is then renamed over the key with ``os.replace`` (atomic on POSIX
    and Windows). Disk work runs in a worker thread so the event loop keeps serving.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path_for(self, key: str) -> Path:
        """The file of ``key``; raises ``ValueError`` for anything but a plain file name.

        Allowed keys start with two ASCII letters or digits and contain no separators, so the
        result is always exactly two levels below ``root``.
        """
        if not _KEY.fullmatch(key):
            raise ValueError(f"invalid storage key: {key!r}")
        return self.root / key[:2] / key

    async def save(self, key: str, data: bytes) -> None:
        path = self.path_for(key)
        try:
            await asyncio.to_thread(_write_atomically, path, data)
        except OSError as exc:
            raise self._unavailable("write", exc) from None

    async def load(self, key: str) -> bytes | None:
        path = self.path_for(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._unavailable("read", exc) from None

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.path_for(key).unlink, missing_ok=True)

    def close(self) -> None:
        """Nothing to release: every file is closed when its call returns."""

    async def check_writable(self) -> str | None:
        """Write, sync and remove a small file under ``root``; also require some free space.

        Cheap enough for a readiness probe every few seconds (one 4 KiB file).
        """
        try:
            return await asyncio.to_thread(_probe_writable, self.root)
        except OSError as exc:
            return describe(exc)

    def _unavailable(self, action: str, exc: OSError) -> StorageUnavailable:
        """One warning line (no traceback: the cause is the disk, not the code)."""
        reason = describe(exc)
        log.warning(
            "media store at %s: cannot %s (%s); answered unavailable", self.root, action, reason
        )
        return StorageUnavailable(reason, STORAGE_RETRY_AFTER)


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise
    _fsync_directory(path.parent)


def _probe_writable(root: Path) -> str | None:
    root.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=root, prefix=".ready-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(b"\0" * 4096)
            handle.flush()
            os.fsync(handle.fileno())
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)
    stats = os.statvfs(root)
    free = stats.f_bavail * stats.f_frsize
    if free < MIN_FREE_BYTES:
        return f"ENOSPC: only {free // 1024} KiB free"
    return None


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable; platforms that cannot open directories skip this."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
