"""Receipt images: untrusted uploads in, clean WebP out, linked to at most one order.

Every upload is decoded and re-encoded by Pillow, so what we store and serve is always a WebP we
wrote ourselves: no metadata survives (EXIF GPS positions, camera serials, ICC, XMP), no polyglot
or script-carrying file is ever served back, and the pixel size is bounded.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from typing import Any, Literal, cast

from PIL import Image as PILImage
from PIL import ImageOps
from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from orderdesk.core.attachments.models import Image
from orderdesk.core.attachments.storage import ImageStorage
from orderdesk.core.errors import ErrorType, FieldError, ValidationFailed

WEBP_MIMETYPE = "image/webp"
WEBP_QUALITY = 82

# Pillow's JPEG opener also covers the multi-picture (MPO) JPEGs some phone cameras write.
_ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")
_ACCEPTED_NAMES = "JPEG, PNG, WebP, GIF, BMP or TIFF"

# What Pillow raises on hostile or damaged input: the exceptions its own fuzz tests accept
# (MemoryError there means an absurd allocation requested by a corrupt header), plus lower-level
# ones that individual plugins let through.
_DECODE_ERRORS: tuple[type[Exception], ...] = (
    OSError,  # includes UnidentifiedImageError and "image file is truncated"
    SyntaxError,
    ValueError,
    MemoryError,
    NotImplementedError,
    OverflowError,
    TypeError,
    EOFError,
    IndexError,
    KeyError,
    ZeroDivisionError,
    struct.error,
)

_IMAGE_ID = re.compile(r"[0-9a-f]{24}")

UnlinkableReason = Literal["not_found", "conflict"]


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int
    max_pixels: int
    max_side: int


def reencode_image(data: bytes, limits: ImageLimits, field: str = "file") -> tuple[bytes, int, int]:
    """Validate an uploaded image and return ``(webp_bytes, width, height)`` of a clean copy.

    Guarantees: only the formats in ``_ACCEPTED_FORMATS`` are even parsed; the pixel count is
    checked from the header before any pixel is decoded, against the stricter of
    ``limits.max_pixels`` and Pillow's own bomb threshold (so an image that made Pillow warn is
    never decoded either); the file is structurally verified, then decoded from a fresh open
    (Pillow's ``verify`` leaves the image unusable); only the first frame of animations and
    multi-page files is kept; EXIF orientation is applied, because it is about to be dropped;
    the result fits in ``limits.max_side`` on its longest side and carries no metadata at all.

    Any rejection is a :class:`ValidationFailed` naming ``field``. CPU-bound and free of shared
    state: call it in a worker thread.
    """
    if not data:
        raise _invalid(field, "required", "the file is empty")
    if len(data) > limits.max_bytes:
        raise _invalid(field, "max", f"the file is larger than {_size_text(limits.max_bytes)}")
    try:
        with PILImage.open(BytesIO(data), formats=_ACCEPTED_FORMATS) as probe:
            _check_pixels(probe.size, limits, field)
            probe.verify()
        with PILImage.open(BytesIO(data), formats=_ACCEPTED_FORMATS) as source:
            source.draft(None, (limits.max_side, limits.max_side))
            upright = ImageOps.exif_transpose(source)
        clean = _to_eight_bit(upright).convert(
            "RGBA" if upright.has_transparency_data else "RGB"
        )
        clean.thumbnail((limits.max_side, limits.max_side), PILImage.Resampling.LANCZOS)
        out = BytesIO()
        clean.save(out, format="WEBP", quality=WEBP_QUALITY, method=4,
                   exif=b"", icc_profile=b"", xmp=b"")
    except PILImage.DecompressionBombError:
        raise _invalid(
            field, "max", f"the image has more than {_pixel_ceiling(limits)} pixels"
        ) from None
    except _DECODE_ERRORS:
        raise _invalid(
            field, "format", f"not a readable image; send a {_ACCEPTED_NAMES} file"
        ) from None
    return out.getvalue(), clean.width, clean.height


def _check_pixels(size: tuple[int, int], limits: ImageLimits, field: str) -> None:
    width, height = size
    ceiling = _pixel_ceiling(limits)
    if width <= 0 or height <= 0:
        raise _invalid(field, "format", "the image has no pixels")
    if width * height > ceiling:
        raise _invalid(
            field, "max",
            f"the image is {width}x{height} pixels; at most {ceiling} pixels are accepted",
        )


def _to_eight_bit(image: PILImage.Image) -> PILImage.Image:
    """16-bit greyscale (PNG, TIFF scans) rescaled: a plain ``convert`` would clip it to white."""
    if image.mode == "I" or image.mode.startswith("I;16"):
        return image.convert("I").point(lambda value: value / 256).convert("L")
    return image


def _pixel_ceiling(limits: ImageLimits) -> int:
    if PILImage.MAX_IMAGE_PIXELS is None:
        return limits.max_pixels
    return min(limits.max_pixels, PILImage.MAX_IMAGE_PIXELS)


def _size_text(size: int) -> str:
    if size % (1024 * 1024) == 0:
        return f"{size // (1024 * 1024)} MiB"
    return f"{size} bytes"


def _invalid(field: str, type_: ErrorType, message: str) -> ValidationFailed:
    return ValidationFailed(errors=[FieldError(field, type_, message)])


def new_image_id() -> str:
    """96 random bits as 24 lowercase hex characters: the id doubles as an unguessable URL."""
    return secrets.token_hex(12)


def is_image_id(value: str) -> bool:
    return _IMAGE_ID.fullmatch(value) is not None


async def upload_image(
    session: AsyncSession,
    storage: ImageStorage,
    *,
    organization_id: int,
    data: bytes,
    limits: ImageLimits,
    now: datetime,
    field: str = "file",
) -> Image:
    """Re-encode ``data`` and record it as an unlinked image of the organization.

    The row is flushed before the file is written, so a storage failure aborts the caller's
    transaction and no row ever points at a missing file. The reverse (a file whose transaction
    then rolls back) can happen and is harmless: nothing references it and its name is
    unguessable. Never commits.
    """
    webp, width, height = await asyncio.to_thread(reencode_image, data, limits, field)
    image_id = new_image_id()
    image = Image(
        id=image_id,
        organization_id=organization_id,
        order_id=None,
        storage_key=f"{image_id}.webp",
        mimetype=WEBP_MIMETYPE,
        width=width,
        height=height,
        size=len(webp),
        created_at=now,
    )
    session.add(image)
    await session.flush()
    await storage.save(image.storage_key, webp)
    return image


async def get_image(session: AsyncSession, image_id: str) -> Image | None:
    """The image with this id, for whoever knows it; malformed ids never reach the database."""
    if not is_image_id(image_id):
        return None
    return await session.get(Image, image_id)


async def find_unlinkable_images(
    session: AsyncSession, organization_id: int, image_ids: Sequence[str]
) -> dict[str, UnlinkableReason]:
    """Which of ``image_ids`` an order of the organization could not link, and why.

    Another organization's image is reported as ``not_found``, exactly like a missing one, so
    that ids cannot be probed across organizations. Ids absent from the result are linkable at
    the time of the query; :func:`link_images` is what makes it so under concurrency.
    """
    wanted = list(dict.fromkeys(image_ids))
    valid = [image_id for image_id in wanted if is_image_id(image_id)]
    linked: dict[str, int | None] = {}
    if valid:
        rows = await session.execute(
            select(Image.id, Image.order_id).where(
                Image.id.in_(valid), Image.organization_id == organization_id
            )
        )
        linked = {row.id: row.order_id for row in rows}
    reasons: dict[str, UnlinkableReason] = {}
    for image_id in wanted:
        if image_id not in linked:
            reasons[image_id] = "not_found"
        elif linked[image_id] is not None:
            reasons[image_id] = "conflict"
    return reasons


async def link_images(
    session: AsyncSession, organization_id: int, image_ids: Sequence[str], order_id: int
) -> bool:
    """Link every image to ``order_id``, or report ``False`` so the caller can roll back.

    One conditional ``UPDATE`` that only touches the organization's still-unlinked images: when
    two transactions race for the same image, the second one's row count comes up short (on
    PostgreSQL it waits for the first to commit and re-checks ``order_id IS NULL``; SQLite
    serializes writers), so an image can never end up on two orders. A partial update is left
    for the caller's rollback to undo.
    """
    wanted = set(image_ids)
    if not wanted:
        return True
    result = cast(CursorResult[Any], await session.execute(
        update(Image)
        .where(
            Image.id.in_(sorted(wanted)),
            Image.organization_id == organization_id,
            Image.order_id.is_(None),
        )
        .values(order_id=order_id)
    ))
    return result.rowcount == len(wanted)
