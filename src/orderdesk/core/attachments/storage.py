"""Where re-encoded image bytes live, behind a protocol so that another backend can replace disk.

Keys are chosen by the server (``<24 hex chars>.webp``), never by clients; a backend still refuses
any key that is not a plain file name, so a bug upstream cannot turn into a path traversal.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

_KEY = re.compile(r"[A-Za-z0-9]{2}[A-Za-z0-9._-]{0,198}")


class ImageStorage(Protocol):
    """Byte storage addressed by key. ``save`` replaces; ``load`` of a missing key is ``None``."""

    async def save(self, key: str, data: bytes) -> None: ...

    async def load(self, key: str) -> bytes | None: ...

    async def delete(self, key: str) -> None: ...


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
        await asyncio.to_thread(_write_atomically, self.path_for(key), data)

    async def load(self, key: str) -> bytes | None:
        path = self.path_for(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return None

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.path_for(key).unlink, missing_ok=True)


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


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable; platforms that cannot open directories skip this."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
