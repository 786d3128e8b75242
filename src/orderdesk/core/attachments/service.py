"""Receipt images: untrusted uploads in, clean WebP out, linked to at most one order.

Every upload is decoded and re-encoded by Pillow, so what we store and serve is always a WebP we
wrote ourselves: no metadata survives (EXIF GPS positions, camera serials, ICC, XMP), no polyglot
or script-carrying file is ever served back, and the pixel size is bounded.
"""

from __future__ import annotations

import asyncio
import math
import re
import secrets
import struct
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from io import BytesIO
from typing import Any, BinaryIO, Literal, cast

from PIL import ExifTags
from PIL import Image as PILImage
from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from orderdesk.core.attachments.memory import DecodeBudget, release_free_memory, tune_allocator

# Re-exported: a route takes its process's budget from the module it calls.
from orderdesk.core.attachments.memory import decode_budget as decode_budget
from orderdesk.core.attachments.models import Image
from orderdesk.core.attachments.storage import ImageStorage
from orderdesk.core.errors import ErrorType, FieldError, ValidationFailed

WEBP_MIMETYPE = "image/webp"
WEBP_QUALITY = 82

# Pillow's JPEG opener also covers the multi-picture (MPO) JPEGs some phone cameras write.
_ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")
_ACCEPTED_NAMES = "JPEG, PNG, WebP, GIF, BMP or TIFF"


@cache
def _load_plugins() -> None:
    """Load Pillow's plugins for the accepted formats (WebP is also the output), and no other.

    Pillow imports only a few common plugins by itself; asked for a format outside them (WEBP
    and TIFF here), it loads every plugin it has, AVIF, JPEG 2000, PDF, EPS and some thirty more
    with their libraries: about 7 MiB of a worker's memory, against about 3 MiB for these six.
    Once these are registered it never needs to. Loaded on the first image, not at import, so
    that a worker which is never sent one does not carry them.
    """
    from PIL import (  # noqa: F401
        BmpImagePlugin,
        GifImagePlugin,
        JpegImagePlugin,
        PngImagePlugin,
        TiffImagePlugin,
        WebPImagePlugin,
    )


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


# Bytes Pillow keeps per pixel, by mode: one for 1-bit, greyscale and palette images, two for
# 16-bit greyscale, four for everything else (RGB is stored padded to four bytes).
_ONE_BYTE_MODES = frozenset({"1", "L", "P"})
_TWO_BYTE_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N"})
# Source bytes one band of the resize works on; the band is also converted to the output mode.
_BAND_BYTES = 8 * 1024 * 1024
# What the WebP encoder and the interpreter add on top of the pixels, measured on the largest
# legal images (docs/reliability.md).
_ENCODER_OVERHEAD = 24 * 1024 * 1024
# Full-size copies of the pixels a format's decoder makes: Pillow's WebP reader decodes into
# libwebp's two canvases, copies the frame out and then into the image; libtiff may decode
# through a buffer of its own.
_DECODED_COPIES = {"WEBP": 4, "TIFF": 2}

ImageSource = bytes | BinaryIO


def measure_image(data: ImageSource, limits: ImageLimits, field: str = "file") -> int:
    """Validate an upload as far as possible without decoding it; return its decode cost.

    Runs every check :func:`reencode_image` makes before it decodes (size, accepted format,
    pixel limit, structure) and returns an upper estimate of the bytes decoding it will
    allocate at its peak, for a :class:`~orderdesk.core.attachments.memory.DecodeBudget`. Any
    rejection is the same :class:`ValidationFailed`. CPU-bound: call it in a worker thread.
    """
    with _opened(data, limits, field) as source:
        return _decode_cost(source, limits)


def reencode_image(
    data: ImageSource, limits: ImageLimits, field: str = "file"
) -> tuple[bytes, int, int]:
    """Validate an uploaded image and return ``(webp_bytes, width, height)`` of a clean copy.

    Guarantees: only the formats in ``_ACCEPTED_FORMATS`` are even parsed; the pixel count is
    checked from the header before any pixel is decoded, against the stricter of
    ``limits.max_pixels`` and Pillow's own bomb threshold (so an image that made Pillow warn is
    never decoded either); the file is structurally verified, then decoded from a fresh open
    (Pillow's ``verify`` leaves the image unusable); only the first frame of animations and
    multi-page files is kept; EXIF orientation is applied, because it is about to be dropped;
    the result fits in ``limits.max_side`` on its longest side and carries no metadata at all.

    Memory: the decoded pixels are the only full-size copy. Conversion to 8-bit RGB(A) and the
    downscale run band by band (:func:`_fit_in_bands`), and the orientation is applied to the
    small result, so the peak is about the decoded size plus the output (see
    :func:`measure_image`) instead of three to four full-size copies.

    Any rejection is a :class:`ValidationFailed` naming ``field``. CPU-bound and free of shared
    state: call it in a worker thread. ``data`` may be a seekable binary file (a spooled
    upload), which is then read as the decoder goes instead of being held in memory.
    """
    with _opened(data, limits, field) as source:
        try:
            source.draft(None, (limits.max_side, limits.max_side))
            source.load()
            transpose = _ORIENTATIONS.get(source.getexif().get(ExifTags.Base.Orientation, 1))
            mode = "RGBA" if source.has_transparency_data else "RGB"
            clean = _fit_in_bands(source, _fitted_size(source.size, limits.max_side), mode)
            source.close()  # frees the full-size pixels before the encoder allocates
            if transpose is not None:
                clean = clean.transpose(transpose)
            out = BytesIO()
            clean.save(
                out,
                format="WEBP",
                quality=WEBP_QUALITY,
                method=4,
                exif=b"",
                icc_profile=b"",
                xmp=b"",
            )
        except PILImage.DecompressionBombError:
            raise _too_many_pixels(limits, field) from None
        except _DECODE_ERRORS:
            raise _unreadable(field) from None
    return out.getvalue(), clean.width, clean.height


@contextmanager
def _opened(data: ImageSource, limits: ImageLimits, field: str) -> Iterator[PILImage.Image]:
    """``data`` verified and opened again for decoding, every pre-decode check passed."""
    _load_plugins()
    file = BytesIO(data) if isinstance(data, bytes) else data
    size = file.seek(0, 2)
    if not size:
        raise _invalid(field, "required", "the file is empty")
    if size > limits.max_bytes:
        raise _invalid(field, "max", f"the file is larger than {_size_text(limits.max_bytes)}")
    try:
        file.seek(0)
        with PILImage.open(file, formats=_ACCEPTED_FORMATS) as probe:
            _check_pixels(probe.size, limits, field)
            probe.verify()
        file.seek(0)
        source = PILImage.open(file, formats=_ACCEPTED_FORMATS)
    except PILImage.DecompressionBombError:
        raise _too_many_pixels(limits, field) from None
    except _DECODE_ERRORS:
        raise _unreadable(field) from None
    with source:
        yield source


_ORIENTATIONS = {
    2: PILImage.Transpose.FLIP_LEFT_RIGHT,
    3: PILImage.Transpose.ROTATE_180,
    4: PILImage.Transpose.FLIP_TOP_BOTTOM,
    5: PILImage.Transpose.TRANSPOSE,
    6: PILImage.Transpose.ROTATE_270,
    7: PILImage.Transpose.TRANSVERSE,
    8: PILImage.Transpose.ROTATE_90,
}  # EXIF orientation -> the transposition that makes the image upright (as ImageOps does)


def _fitted_size(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """The size ``Image.thumbnail((max_side, max_side))`` gives (same rounding), so that
    results match what earlier versions stored."""
    width, height = size
    if width <= max_side and height <= max_side:
        return size
    aspect = width / height

    def round_aspect(number: float, key: Callable[[int], float]) -> int:
        return max(min(math.floor(number), math.ceil(number), key=key), 1)

    if aspect <= 1:
        return round_aspect(max_side * aspect, key=lambda n: abs(aspect - n / max_side)), max_side
    return max_side, round_aspect(
        max_side / aspect, key=lambda n: 0 if n == 0 else abs(aspect - max_side / n)
    )


def _fit_in_bands(source: PILImage.Image, size: tuple[int, int], mode: str) -> PILImage.Image:
    """``source`` in 8-bit ``mode`` (RGB or RGBA) and ``size``, without a full-size copy.

    Output rows are made a band at a time from the source rows they depend on (Lanczos reaches
    three output pixels' worth of source on each side): crop, convert, resize the band with a
    ``box`` in source coordinates. Pillow computes each output row from the same source rows
    and weights as one full resize, so the result is the one a whole-image ``thumbnail``
    without its ``reducing_gap`` shortcut gives. Alpha is premultiplied per band (``RGBa``), as
    Pillow does for a whole image, so transparent pixels do not bleed colour into the edges.
    """
    work = "RGBa" if mode == "RGBA" else mode
    if size == source.size:
        return _to_eight_bit(source).convert(mode)
    width, height = source.size
    out_width, out_height = size
    scale = height / out_height
    support = 3.0 * max(scale, 1.0) + 2  # Lanczos support in source rows, plus rounding
    rows = max(1, int(_BAND_BYTES / (width * 4) / scale))
    out = PILImage.new(work, size)
    for top in range(0, out_height, rows):
        bottom = min(out_height, top + rows)
        y0, y1 = top * scale, bottom * scale
        c0, c1 = max(0, math.floor(y0 - support)), min(height, math.ceil(y1 + support))
        band = _to_eight_bit(source.crop((0, c0, width, c1))).convert(mode)
        if work != mode:
            band = band.convert(work)
        part = band.resize(
            (out_width, bottom - top), PILImage.Resampling.LANCZOS, box=(0, y0 - c0, width, y1 - c0)
        )
        out.paste(part, (0, top))
    return out.convert(mode) if work != mode else out


def _decode_cost(source: PILImage.Image, limits: ImageLimits) -> int:
    """Peak bytes :func:`reencode_image` allocates for ``source`` (opened, not decoded): an
    upper estimate, checked against measured peaks by the tests."""
    source.draft(None, (limits.max_side, limits.max_side))  # JPEG: decoded at 1/2 .. 1/8 size
    width, height = source.size
    out_width, out_height = _fitted_size(source.size, limits.max_side)
    if source.mode in _ONE_BYTE_MODES:
        per_pixel = 1
    elif source.mode in _TWO_BYTE_MODES:
        per_pixel = 2
    else:
        per_pixel = 4
    decoded = width * height * per_pixel * _DECODED_COPIES.get(source.format or "", 1)
    # One band: the source rows it reads (with the filter's reach on both sides) cropped,
    # converted and premultiplied, and Pillow's horizontal pass over them.
    scale = height / out_height
    rows = max(1, int(_BAND_BYTES / (width * 4) / scale)) * scale + 2 * (3 * scale + 2)
    band = int(min(height, rows) * (width * (per_pixel + 8) + out_width * 4))
    # The output, its conversion from premultiplied alpha and its transposed copy.
    return decoded + band + 3 * out_width * out_height * 4 + _ENCODER_OVERHEAD


def _too_many_pixels(limits: ImageLimits, field: str) -> ValidationFailed:
    return _invalid(field, "max", f"the image has more than {_pixel_ceiling(limits)} pixels")


def _unreadable(field: str) -> ValidationFailed:
    return _invalid(field, "format", f"not a readable image; send a {_ACCEPTED_NAMES} file")


def _check_pixels(size: tuple[int, int], limits: ImageLimits, field: str) -> None:
    width, height = size
    ceiling = _pixel_ceiling(limits)
    if width <= 0 or height <= 0:
        raise _invalid(field, "format", "the image has no pixels")
    if width * height > ceiling:
        raise _invalid(
            field,
            "max",
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
    data: ImageSource,
    limits: ImageLimits,
    now: datetime,
    field: str = "file",
    budget: DecodeBudget | None = None,
    wait: float = 20.0,
) -> Image:
    """Re-encode ``data`` and record it as an unlinked image of the organization.

    The decode waits for its estimated memory in ``budget`` (at most ``wait`` seconds, then
    :class:`~orderdesk.core.attachments.memory.DecodeBusy`); refusals found from the header
    never wait. The row is flushed before the file is written, so a storage failure aborts the
    caller's transaction and no row ever points at a missing file. The reverse (a file whose
    transaction then rolls back) can happen and is harmless: nothing references it and its
    name is unguessable. Never commits.
    """
    cost = await asyncio.to_thread(measure_image, data, limits, field)
    tune_allocator()
    async with budget.reserve(cost, wait) if budget is not None else nullcontext():
        webp, width, height = await asyncio.to_thread(_reencode_and_trim, data, limits, field)
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


def _reencode_and_trim(
    data: ImageSource, limits: ImageLimits, field: str
) -> tuple[bytes, int, int]:
    """:func:`reencode_image`, then the freed pixels handed back to the system at once."""
    try:
        return reencode_image(data, limits, field)
    finally:
        release_free_memory()


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
    result = cast(
        CursorResult[Any],
        await session.execute(
            update(Image)
            .where(
                Image.id.in_(sorted(wanted)),
                Image.organization_id == organization_id,
                Image.order_id.is_(None),
            )
            .values(order_id=order_id)
        ),
    )
    return result.rowcount == len(wanted)
