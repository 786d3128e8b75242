"""Receipt images: hostile uploads are refused, good ones come back as clean WebP, links are unique.

The database tests use a throw-away SQLite file built by the migrations; every test creates its own
organization, so they do not depend on each other's data or order.
"""

from __future__ import annotations

import asyncio
import random
import secrets
import struct
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from PIL import ExifTags, ImageCms
from PIL import Image as PILImage
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests.s3 import StoreUnderTest

from orderdesk.core.attachments.models import Image
from orderdesk.core.attachments.service import (
    ImageLimits,
    find_unlinkable_images,
    get_image,
    link_images,
    new_image_id,
    reencode_image,
    upload_image,
)
from orderdesk.core.attachments.storage import ImageStorage, LocalImageStorage
from orderdesk.core.errors import FieldError, ValidationFailed
from orderdesk.core.orders.models import Order
from orderdesk.core.organizations.models import Location, Organization
from orderdesk.db.engine import create_engine, create_sessionmaker, transaction
from orderdesk.db.migrate import migrate

LIMITS = ImageLimits(max_bytes=10 * 1024 * 1024, max_pixels=40_000_000, max_side=2560)
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
RED, BLUE = (255, 0, 0), (0, 0, 255)


def encode(image: PILImage.Image, format: str, **params: Any) -> bytes:
    out = BytesIO()
    image.save(out, format=format, **params)
    return out.getvalue()


def noise(size: tuple[int, int], seed: int = 0) -> PILImage.Image:
    """Incompressible pixels, so that encoded files have real scan data to truncate."""
    pixels = random.Random(seed).randbytes(size[0] * size[1] * 3)
    return PILImage.frombytes("RGB", size, pixels)


def webp_chunks(data: bytes) -> list[bytes]:
    """The RIFF chunk ids of a WebP file (metadata lives in EXIF, ICCP and XMP chunks)."""
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    chunks, offset = [], 12
    while offset + 8 <= len(data):
        fourcc, size = (
            data[offset : offset + 4],
            struct.unpack("<I", data[offset + 4 : offset + 8])[0],
        )
        chunks.append(fourcc)
        offset += 8 + size + (size & 1)
    return chunks


def rejection(data: bytes, limits: ImageLimits = LIMITS) -> FieldError:
    with pytest.raises(ValidationFailed) as caught:
        reencode_image(data, limits)
    [error] = caught.value.errors
    assert error.path == "file"
    return error


def pixel(image: PILImage.Image, xy: tuple[int, int]) -> tuple[int, ...]:
    value = image.getpixel(xy)
    assert isinstance(value, tuple)
    return value


def close_to(color: tuple[int, ...], expected: tuple[int, int, int]) -> bool:
    return all(abs(a - b) <= 40 for a, b in zip(color[:3], expected, strict=True))


def files_under(path: Path) -> list[Path]:
    return [p for p in path.rglob("*") if p.is_file()]


# ---------------------------------------------------------------------------------------------
# Re-encoding


def test_jpeg_with_exif_and_gps_comes_back_as_upright_webp_without_metadata() -> None:
    # Stored sideways: red on the left, blue on the right; EXIF 6 means "rotate 90° clockwise".
    sideways = PILImage.new("RGB", (200, 100), RED)
    sideways.paste(BLUE, (100, 0, 200, 100))
    exif = PILImage.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "Receipt Cam"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (56.0, 57.0, 1.5)
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    original = encode(sideways, "JPEG", exif=exif, icc_profile=icc, quality=95)
    assert b"Receipt Cam" in original

    webp, width, height = reencode_image(original, LIMITS)

    assert (width, height) == (100, 200)
    assert webp_chunks(webp)[0] in (b"VP8 ", b"VP8L", b"VP8X")
    assert set(webp_chunks(webp)) <= {b"VP8 ", b"VP8L", b"VP8X", b"ALPH"}
    assert b"Receipt Cam" not in webp
    with PILImage.open(BytesIO(webp)) as result:
        assert result.format == "WEBP"
        assert result.size == (100, 200)
        assert not result.getexif()
        assert not {"exif", "icc_profile", "xmp"} & set(result.info)
        rgb = result.convert("RGB")
        assert close_to(pixel(rgb, (50, 20)), RED)
        assert close_to(pixel(rgb, (50, 180)), BLUE)


def test_large_image_is_downscaled_to_max_side_keeping_aspect() -> None:
    data = encode(PILImage.new("RGB", (6000, 3000), RED), "PNG")

    webp, width, height = reencode_image(data, LIMITS)

    assert (width, height) == (2560, 1280)
    with PILImage.open(BytesIO(webp)) as result:
        assert result.size == (2560, 1280)


def test_large_jpeg_is_downscaled_to_max_side() -> None:
    data = encode(PILImage.new("RGB", (5000, 3750), BLUE), "JPEG")

    _, width, height = reencode_image(data, LIMITS)

    assert (width, height) == (2560, 1920)


def test_small_image_keeps_its_size() -> None:
    _, width, height = reencode_image(encode(noise((640, 480)), "BMP"), LIMITS)

    assert (width, height) == (640, 480)


def test_transparency_is_kept() -> None:
    image = PILImage.new("RGBA", (40, 40), (0, 0, 0, 0))
    image.paste((255, 0, 0, 255), (0, 0, 20, 40))

    webp, _, _ = reencode_image(encode(image, "PNG"), LIMITS)

    with PILImage.open(BytesIO(webp)) as result:
        assert result.mode == "RGBA"
        assert pixel(result, (30, 20))[3] == 0
        assert pixel(result, (10, 20))[3] == 255


def test_sixteen_bit_greyscale_is_not_clipped_to_white() -> None:
    data = encode(PILImage.new("I;16", (32, 32), 0x8000), "PNG")

    webp, _, _ = reencode_image(data, LIMITS)

    with PILImage.open(BytesIO(webp)) as result:
        red, green, blue = pixel(result.convert("RGB"), (16, 16))
    assert 110 <= red <= 145 and red == green == blue


def test_animated_gif_keeps_only_the_first_frame() -> None:
    frames = [PILImage.new("RGB", (60, 40), color) for color in (RED, (0, 255, 0), BLUE)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    with PILImage.open(BytesIO(data)) as gif:
        assert getattr(gif, "n_frames", 1) == 3

    webp, width, height = reencode_image(data, LIMITS)

    assert (width, height) == (60, 40)
    assert b"ANIM" not in webp_chunks(webp)
    with PILImage.open(BytesIO(webp)) as result:
        assert getattr(result, "n_frames", 1) == 1
        assert close_to(pixel(result.convert("RGB"), (30, 20)), RED)


def test_empty_file_is_rejected() -> None:
    error = rejection(b"")

    assert error.type == "required"


def test_file_over_max_bytes_is_rejected() -> None:
    data = encode(noise((64, 64)), "PNG")
    assert len(data) > 4096

    error = rejection(data, ImageLimits(max_bytes=4096, max_pixels=40_000_000, max_side=2560))

    assert error.type == "max"
    assert "4096 bytes" in error.message


def test_random_bytes_are_rejected() -> None:
    error = rejection(random.Random(1).randbytes(4096))

    assert error.type == "format"


def test_truncated_jpeg_is_rejected() -> None:
    data = encode(noise((300, 300)), "JPEG", quality=90)

    error = rejection(data[: len(data) // 2])

    assert error.type == "format"


def test_truncated_png_is_rejected() -> None:
    data = encode(noise((300, 300)), "PNG")

    error = rejection(data[: len(data) // 2])

    assert error.type == "format"


def test_svg_with_script_is_rejected() -> None:
    svg = (
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        b'<script>alert(document.cookie)</script><rect width="10" height="10"/></svg>'
    )

    error = rejection(svg)

    assert error.type == "format"


def test_format_outside_the_allow_list_is_rejected() -> None:
    data = encode(PILImage.new("RGB", (16, 16), RED), "ICO")

    error = rejection(data)

    assert error.type == "format"


def test_decompression_bomb_is_rejected_before_decoding() -> None:
    bomb = encode(PILImage.new("1", (20000, 20000)), "PNG")
    assert len(bomb) < 100_000

    error = rejection(bomb)

    assert error.type == "max"


def test_pixel_limit_is_checked_from_the_header_before_decoding() -> None:
    # 49 Mpx: under Pillow's own bomb threshold, over ours. The pixel data is cut off, so had the
    # image been decoded first, the error would have been about the format.
    data = encode(PILImage.new("1", (7000, 7000)), "PNG")

    error = rejection(data[: len(data) // 2])

    assert error.type == "max"
    assert "7000x7000" in error.message


def test_pixel_limit_holds_when_pillows_global_limit_is_disabled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(PILImage, "MAX_IMAGE_PIXELS", None)
    data = encode(PILImage.new("1", (20000, 20000)), "PNG")

    error = rejection(data)

    assert error.type == "max"
    assert "20000x20000" in error.message


def test_custom_field_path_is_reported() -> None:
    with pytest.raises(ValidationFailed) as caught:
        reencode_image(b"not an image", LIMITS, field="files.0")

    assert [e.path for e in caught.value.errors] == ["files.0"]


def test_new_image_ids_are_24_lowercase_hex_and_distinct() -> None:
    ids = {new_image_id() for _ in range(100)}

    assert len(ids) == 100
    assert all(len(i) == 24 and set(i) <= set("0123456789abcdef") for i in ids)


# ---------------------------------------------------------------------------------------------
# Storage


async def test_local_storage_round_trip_shards_and_leaves_no_temp_files(tmp_path: Path) -> None:
    storage = LocalImageStorage(tmp_path)

    await storage.save("abcdef.webp", b"first")
    await storage.save("abcdef.webp", b"second")

    assert await storage.load("abcdef.webp") == b"second"
    assert (tmp_path / "ab" / "abcdef.webp").read_bytes() == b"second"
    assert files_under(tmp_path) == [tmp_path / "ab" / "abcdef.webp"]
    await storage.delete("abcdef.webp")
    assert await storage.load("abcdef.webp") is None
    await storage.delete("abcdef.webp")


async def test_every_store_replaces_loads_and_deletes_by_key(image_store: StoreUnderTest) -> None:
    storage = image_store.storage
    assert await storage.check_writable() is None

    await storage.save("abcdef.webp", b"first")
    await storage.save("abcdef.webp", b"second")

    assert await storage.load("abcdef.webp") == b"second"
    assert len(image_store.stored()) == 1  # no temporary file, no older version
    assert await storage.load("ab9999.webp") is None
    await storage.delete("abcdef.webp")
    assert await storage.load("abcdef.webp") is None
    await storage.delete("abcdef.webp")  # deleting what is gone is not an error
    assert image_store.stored() == set()


@pytest.mark.parametrize(
    "key",
    [
        "../evil.webp",
        "ab/../../evil",
        "/etc/passwd",
        "..",
        ".hidden",
        "a",
        "",
        "ab\\..\\x",
        "ab/cd.webp",
        "ab\n",
        "ab\x00.webp",
    ],
)
async def test_storage_rejects_keys_that_could_escape_the_root(
    image_store: StoreUnderTest, key: str
) -> None:
    storage = image_store.storage

    with pytest.raises(ValueError):
        await storage.save(key, b"x")
    with pytest.raises(ValueError):
        await storage.load(key)
    with pytest.raises(ValueError):
        await storage.delete(key)
    assert image_store.stored() == set()


# ---------------------------------------------------------------------------------------------
# Database: uploading and linking


@pytest.fixture(scope="module")
async def sessions(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(f"sqlite:///{tmp_path_factory.mktemp('images') / 'images.db'}")
    await migrate(engine)
    yield create_sessionmaker(engine)
    await engine.dispose()


async def make_organization(sessions: async_sessionmaker[AsyncSession]) -> Organization:
    async with transaction(sessions) as session:
        organization = Organization(
            kind="partner", key=f"p-{secrets.token_hex(6)}", title="P", settings={}
        )
        session.add(organization)
    return organization


async def make_orders(
    sessions: async_sessionmaker[AsyncSession], organization: Organization, count: int
) -> list[int]:
    async with transaction(sessions) as session:
        location = Location(
            organization_id=organization.id,
            key=f"s-{secrets.token_hex(6)}",
            title="Store",
            timezone="Europe/Riga",
            slot_capacity={},
            settings={},
        )
        session.add(location)
        await session.flush()
        orders = [
            Order(
                uid=secrets.token_hex(16),
                token=secrets.token_hex(32),
                organization_id=organization.id,
                location_id=location.id,
                number=n,
                status="open",
                substatus="new",
                title="Order",
                customer={},
                address=None,
                payment_method="cash",
                ready=False,
                preferences=[],
                booked_day=None,
                booked_slot=None,
                subtotal=0,
                total=0,
                currency="EUR",
            )
            for n in range(1, count + 1)
        ]
        session.add_all(orders)
        await session.flush()
        return [order.id for order in orders]


async def make_image(
    sessions: async_sessionmaker[AsyncSession],
    organization: Organization,
    storage: ImageStorage,
) -> Image:
    data = encode(PILImage.new("RGB", (40, 30), RED), "PNG")
    async with transaction(sessions) as session:
        return await upload_image(
            session, storage, organization_id=organization.id, data=data, limits=LIMITS, now=NOW
        )


async def test_upload_stores_the_webp_and_records_it(
    sessions: async_sessionmaker[AsyncSession], image_store: StoreUnderTest
) -> None:
    organization = await make_organization(sessions)
    storage = image_store.storage

    image = await make_image(sessions, organization, storage)

    stored = await storage.load(image.storage_key)
    assert stored is not None and stored[8:12] == b"WEBP"
    async with sessions() as session:
        row = await get_image(session, image.id)
    assert row is not None
    assert (row.organization_id, row.order_id) == (organization.id, None)
    assert (row.mimetype, row.width, row.height, row.size) == ("image/webp", 40, 30, len(stored))
    assert row.storage_key == f"{image.id}.webp"
    assert row.created_at == NOW


async def test_rejected_upload_writes_nothing(
    sessions: async_sessionmaker[AsyncSession], image_store: StoreUnderTest
) -> None:
    organization = await make_organization(sessions)

    with pytest.raises(ValidationFailed):
        async with transaction(sessions) as session:
            await upload_image(
                session,
                image_store.storage,
                organization_id=organization.id,
                data=b"GIF89a broken",
                limits=LIMITS,
                now=NOW,
            )

    assert image_store.stored() == set()
    async with sessions() as session:
        count = await session.scalar(
            select(func.count()).select_from(Image).where(Image.organization_id == organization.id)
        )
    assert count == 0


async def test_get_image_ignores_malformed_ids(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    organization = await make_organization(sessions)
    image = await make_image(sessions, organization, LocalImageStorage(tmp_path))

    async with sessions() as session:
        assert await get_image(session, image.id) is not None
        assert await get_image(session, image.id.upper()) is None
        assert await get_image(session, image.id + "0") is None
        assert await get_image(session, "../" + image.id[3:]) is None


async def test_second_link_of_an_image_to_another_order_fails(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    organization = await make_organization(sessions)
    first_order, second_order = await make_orders(sessions, organization, 2)
    image = await make_image(sessions, organization, LocalImageStorage(tmp_path))

    async with transaction(sessions) as session:
        assert await link_images(session, organization.id, [image.id, image.id], first_order)
    async with transaction(sessions) as session:
        assert not await link_images(session, organization.id, [image.id], second_order)

    async with sessions() as session:
        row = await get_image(session, image.id)
    assert row is not None and row.order_id == first_order


async def test_link_fails_when_any_image_is_missing(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    organization = await make_organization(sessions)
    [order] = await make_orders(sessions, organization, 1)
    image = await make_image(sessions, organization, LocalImageStorage(tmp_path))

    async with sessions() as session:
        assert not await link_images(session, organization.id, [image.id, new_image_id()], order)


async def test_link_of_another_organizations_image_fails(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    owner, other = await make_organization(sessions), await make_organization(sessions)
    [order] = await make_orders(sessions, other, 1)
    image = await make_image(sessions, owner, LocalImageStorage(tmp_path))

    async with transaction(sessions) as session:
        assert not await link_images(session, other.id, [image.id], order)

    async with sessions() as session:
        row = await get_image(session, image.id)
    assert row is not None and row.order_id is None


async def test_two_concurrent_orders_cannot_both_link_one_image(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    organization = await make_organization(sessions)
    orders = await make_orders(sessions, organization, 2)
    image = await make_image(sessions, organization, LocalImageStorage(tmp_path))

    async def link(order_id: int) -> bool:
        async with transaction(sessions) as session:
            return await link_images(session, organization.id, [image.id], order_id)

    results = await asyncio.gather(*(link(order_id) for order_id in orders))

    assert sorted(results) == [False, True]
    async with sessions() as session:
        row = await get_image(session, image.id)
    assert row is not None and row.order_id == orders[results.index(True)]


async def test_find_unlinkable_images_reports_missing_foreign_and_linked(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    owner, other = await make_organization(sessions), await make_organization(sessions)
    [order] = await make_orders(sessions, owner, 1)
    storage = LocalImageStorage(tmp_path)
    free = await make_image(sessions, owner, storage)
    linked = await make_image(sessions, owner, storage)
    foreign = await make_image(sessions, other, storage)
    async with transaction(sessions) as session:
        assert await link_images(session, owner.id, [linked.id], order)
    missing = new_image_id()

    async with sessions() as session:
        reasons = await find_unlinkable_images(
            session, owner.id, [free.id, linked.id, foreign.id, missing, "not-an-id", free.id]
        )

    assert reasons == {
        linked.id: "conflict",
        foreign.id: "not_found",
        missing: "not_found",
        "not-an-id": "not_found",
    }


async def test_foreign_linked_image_is_not_found_rather_than_conflict(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    owner, other = await make_organization(sessions), await make_organization(sessions)
    [order] = await make_orders(sessions, owner, 1)
    image = await make_image(sessions, owner, LocalImageStorage(tmp_path))
    async with transaction(sessions) as session:
        assert await link_images(session, owner.id, [image.id], order)

    async with sessions() as session:
        reasons = await find_unlinkable_images(session, other.id, [image.id])

    assert reasons == {image.id: "not_found"}
