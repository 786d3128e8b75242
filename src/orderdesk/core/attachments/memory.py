"""How much memory image decoding may take in one process, and giving it back afterwards.

An upload's bytes say little about its cost: a 177 KB PNG can decode to 160 MB of pixels. Left
alone, every concurrent upload decodes at once and a worker's peak grows with the number of
clients (8 maximum-size PNGs took one worker to 3.35 GB). So each decode first reserves its
estimated peak (computed from the image header, see ``service.measure_image``) from a
per-process :class:`DecodeBudget`; decodes that do not fit wait in line for a bounded time and
are then answered "unavailable, retry" rather than pushing the process out of memory.

The second half is the allocator: glibc keeps freed memory in per-thread arenas, and its mmap
threshold rises after the first large free, so after a burst of decodes a worker stayed at
hundreds of MB it no longer used. :func:`tune_allocator` pins the threshold (large buffers are
then always mapped and unmapped) and :func:`release_free_memory` hands free arena pages back.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import logging
import sys
import threading
from collections import deque
from collections.abc import AsyncIterator
from functools import cache

from orderdesk.core.errors import DecodeBusy

log = logging.getLogger("orderdesk.attachments")

MiB = 1024 * 1024

# Seconds a client is asked to wait when every decode slot stays busy past the wait limit.
DECODE_RETRY_AFTER = 5

# glibc's mallopt parameter number for the mmap threshold (malloc.h: M_MMAP_THRESHOLD).
_M_MMAP_THRESHOLD = -3
# Allocations from this size up are mapped on their own and unmapped when freed. Image rows,
# bands and encoder buffers are all larger; the rest of the application rarely allocates this
# much at once, so its speed is unchanged.
MMAP_THRESHOLD = 1 * MiB


class DecodeBudget:
    """A per-process allowance of bytes for image decodes, granted first come, first served.

    A reservation larger than the whole allowance is cut down to it, so that an image which is
    legal on its own can always be decoded when nothing else is: the bound on decode memory is
    then the larger of the allowance and one maximum-size decode, whatever the number of
    uploads in flight. The line is strictly ordered, so a large image is not starved by a
    stream of small ones.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.in_use = 0
        self._line: deque[tuple[int, asyncio.Future[None]]] = deque()

    @property
    def waiting(self) -> int:
        return len(self._line)

    @contextlib.asynccontextmanager
    async def reserve(self, cost: int, wait: float) -> AsyncIterator[None]:
        """Hold ``cost`` bytes of the allowance for the block; :class:`DecodeBusy` after
        ``wait`` seconds in line."""
        cost = max(0, min(cost, self.capacity))
        if not self._line and self.in_use + cost <= self.capacity:
            self.in_use += cost
        else:
            granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._line.append((cost, granted))
            try:
                async with asyncio.timeout(wait):
                    await granted
            except BaseException as exc:
                if granted.done() and not granted.cancelled():
                    self._release(cost)  # granted just as the wait ended
                else:
                    granted.cancel()
                    with contextlib.suppress(ValueError):  # not yet dropped by _grant
                        self._line.remove((cost, granted))
                    self._grant()  # this request may have been holding up the line
                if isinstance(exc, TimeoutError):
                    raise DecodeBusy(
                        "Too many images are being processed; nothing was stored, retry in "
                        f"{DECODE_RETRY_AFTER} s",
                        retry_after=DECODE_RETRY_AFTER,
                    ) from None
                raise
        try:
            yield
        finally:
            self._release(cost)

    def _release(self, cost: int) -> None:
        self.in_use -= cost
        self._grant()

    def _grant(self) -> None:
        while self._line:
            cost, granted = self._line[0]
            if granted.done():  # its wait was cancelled a moment ago
                self._line.popleft()
                continue
            if self.in_use + cost > self.capacity:
                return
            self._line.popleft()
            self.in_use += cost
            granted.set_result(None)


@cache
def decode_budget(capacity: int) -> DecodeBudget:
    """The process's budget for a configured capacity (one per process and setting).

    The budget holds no event-loop object between reservations, so one instance serves every
    loop the process runs.
    """
    return DecodeBudget(capacity)


@cache
def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
    except (OSError, AttributeError):  # not glibc (musl has neither function)
        return None
    return libc


_tuned = threading.Lock()
_tuned_done = False


def tune_allocator() -> None:
    """Pin glibc's mmap threshold, once per process; a no-op elsewhere.

    glibc raises the threshold to the size of each large block freed (up to 32 MiB), after
    which image-sized buffers come from arenas that are never returned to the system.
    """
    global _tuned_done
    with _tuned:
        if _tuned_done:
            return
        _tuned_done = True
        libc = _libc()
        if libc is not None and not libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD):
            log.warning("could not set the allocator's mmap threshold")


def release_free_memory() -> None:
    """Return free pages of every malloc arena to the system (glibc ``malloc_trim``)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
