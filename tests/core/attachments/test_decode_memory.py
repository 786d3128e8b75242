"""Image decoding in bounded memory: the banded pipeline gives the same pixels as a whole-image
resize, its cost estimate is an upper bound of what it really takes, and the per-process budget
admits decodes in order, refuses after its wait and never leaks a reservation."""

from __future__ import annotations

import asyncio
import random
from io import BytesIO
from typing import Any

import pytest
from PIL import ExifTags, ImageChops
from PIL import Image as PILImage

from orderdesk.core.attachments.memory import DecodeBudget, release_free_memory
from orderdesk.core.attachments.service import (
    ImageLimits,
    _fit_in_bands,
    _fitted_size,
    measure_image,
    reencode_image,
)
from orderdesk.core.errors import DecodeBusy, Unavailable, ValidationFailed

LIMITS = ImageLimits(max_bytes=10 * 1024 * 1024, max_pixels=40_000_000, max_side=2560)
MiB = 1024 * 1024


def encode(image: PILImage.Image, format: str, **params: Any) -> bytes:
    out = BytesIO()
    image.save(out, format=format, **params)
    return out.getvalue()


def noise(size: tuple[int, int], mode: str = "RGB", seed: int = 0) -> PILImage.Image:
    bands = len(mode)
    return PILImage.frombytes(mode, size, random.Random(seed).randbytes(size[0] * size[1] * bands))


def whole_image_result(image: PILImage.Image, mode: str) -> PILImage.Image:
    """What Pillow does to the whole image at once: convert, then one Lanczos resize."""
    converted = image.convert(mode)
    size = _fitted_size(image.size, LIMITS.max_side)
    return converted.resize(size, PILImage.Resampling.LANCZOS) if size != image.size else converted


# ---------------------------------------------------------------------------------------------
# The banded pipeline


@pytest.mark.parametrize(
    ("size", "mode"),
    [
        ((5200, 3100), "RGB"),  # scale 2.03, several bands
        ((3000, 9000), "RGB"),  # portrait, scale 3.5
        ((12000, 700), "RGB"),  # wide: a band is a few output rows with wide margins
        ((2700, 2600), "RGBA"),  # premultiplied per band
        ((2561, 40), "L"),  # just over the limit, one band
    ],
)
def test_banded_resize_matches_the_whole_image_resize(size: tuple[int, int], mode: str) -> None:
    image = noise(size, mode, seed=size[0])
    target = "RGBA" if mode == "RGBA" else "RGB"

    banded = _fit_in_bands(image, _fitted_size(size, LIMITS.max_side), target)

    expected = whole_image_result(image, target)
    assert banded.mode == expected.mode and banded.size == expected.size
    if target == "RGBA":  # colour under (almost) no alpha is noise; compare what is seen
        banded, expected = banded.convert("RGBa"), expected.convert("RGBa")
    difference = ImageChops.difference(banded, expected)
    levels = [
        sum(i * n for i, n in enumerate(difference.getchannel(c).histogram()))
        / (difference.width * difference.height)
        for c in range(len(difference.mode))
    ]
    # Pillow rounds between its two passes, and its pass order and float32 box arithmetic
    # depend on the image it is given, so bands of random noise land a few levels off at
    # most, on average well under one level (WebP at quality 82 moves far more).
    assert max(high for _, high in difference.getextrema()) <= 8  # type: ignore[misc]
    assert max(levels) < 1.0, levels


def test_fitted_size_is_thumbnails_size() -> None:
    for size in [
        (6400, 6240),
        (6240, 6400),
        (2561, 2560),
        (40000, 1000),
        (1000, 39999),
        (2560, 2560),
        (3, 9000),
        (5000, 3750),
    ]:
        probe = PILImage.new("1", size)
        probe.thumbnail((LIMITS.max_side, LIMITS.max_side))
        assert _fitted_size(size, LIMITS.max_side) == probe.size, size


def test_palette_transparency_survives_banding() -> None:
    image = PILImage.new("P", (5200, 300), 0)
    image.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    image.paste(1, (2600, 0, 5200, 300))
    image.info["transparency"] = 0
    webp, width, height = reencode_image(encode(image, "PNG"), LIMITS)

    assert (width, height) == (2560, 148)
    with PILImage.open(BytesIO(webp)) as result:
        rgba = result.convert("RGBA")
        assert rgba.getpixel((100, 70))[3] == 0  # type: ignore[index]
        assert rgba.getpixel((2400, 70)) == (0, 0, 255, 255)


def test_exif_orientation_is_applied_to_a_downscaled_image() -> None:
    # Stored sideways and large: left half red, right half blue; orientation 6 turns it upright.
    sideways = PILImage.new("RGB", (6000, 3000), (255, 0, 0))
    sideways.paste((0, 0, 255), (3000, 0, 6000, 3000))
    exif = PILImage.Exif()
    exif[ExifTags.Base.Orientation] = 6
    data = encode(sideways, "JPEG", exif=exif, quality=90)

    webp, width, height = reencode_image(data, LIMITS)

    assert (width, height) == (1280, 2560)
    with PILImage.open(BytesIO(webp)) as result:
        rgb = result.convert("RGB")
        top, bottom = rgb.getpixel((640, 300)), rgb.getpixel((640, 2260))
        assert isinstance(top, tuple) and isinstance(bottom, tuple)
        assert top[0] > 200 and top[2] < 60
        assert bottom[2] > 200 and bottom[0] < 60


def test_a_spooled_file_is_read_like_bytes(tmp_path: Any) -> None:
    data = encode(noise((300, 200)), "PNG")
    path = tmp_path / "upload"
    path.write_bytes(data)
    with path.open("rb") as file:
        assert measure_image(file, LIMITS) == measure_image(data, LIMITS)
        assert reencode_image(file, LIMITS) == reencode_image(data, LIMITS)


def test_measure_refuses_what_reencode_refuses() -> None:
    for data in (b"", b"not an image" * 10, encode(PILImage.new("1", (7000, 7000)), "PNG")):
        with pytest.raises(ValidationFailed) as measured:
            measure_image(data, LIMITS)
        with pytest.raises(ValidationFailed) as reencoded:
            reencode_image(data, LIMITS)
        assert measured.value.errors == reencoded.value.errors


# ---------------------------------------------------------------------------------------------
# The estimate is an upper bound of the real peak


def _peak_rss() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def _reset_peak_rss() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError as exc:
        pytest.skip(f"cannot reset the peak RSS here: {exc}")


def _gradient(size: tuple[int, int], mode: str) -> PILImage.Image:
    """Large but cheap to compress and compare: a smooth gradient in every band."""
    band = PILImage.linear_gradient("L").resize(size)
    return band if mode == "L" else PILImage.merge(mode, [band] * len(mode))


ESTIMATED = {
    # name: (size, mode, format)
    "png-rgb-40mpx": ((6400, 6240), "RGB", "PNG"),
    "png-rgba-40mpx": ((6400, 6240), "RGBA", "PNG"),
    "png-l-40mpx": ((6400, 6240), "L", "PNG"),
    "png-wide-40mpx": ((40000, 1000), "RGB", "PNG"),
    "jpeg-12mpx": ((4000, 3000), "RGB", "JPEG"),
    "webp-rgba-16mpx": ((4000, 4000), "RGBA", "WEBP"),
    "tiff-rgb-16mpx": ((4000, 4000), "RGB", "TIFF"),
}


@pytest.mark.parametrize("name", list(ESTIMATED))
def test_the_cost_estimate_covers_the_measured_peak(name: str, record_property: Any) -> None:
    size, mode, format = ESTIMATED[name]
    data = encode(
        _gradient(size, mode),
        format,
        **({"compression": "tiff_deflate"} if format == "TIFF" else {}),
    )
    estimate = measure_image(data, LIMITS)
    release_free_memory()
    _reset_peak_rss()
    base = _peak_rss()

    reencode_image(data, LIMITS)

    growth = _peak_rss() - base
    record_property(f"{name}_peak_mib", round(growth / MiB))
    record_property(f"{name}_estimate_mib", round(estimate / MiB))
    print(f"{name}: peak growth {growth / MiB:.0f} MiB, estimate {estimate / MiB:.0f} MiB")
    assert growth <= estimate


def test_a_maximum_size_png_decodes_in_under_a_quarter_of_a_gigabyte() -> None:
    """The figure the per-process budget is sized for (docs/reliability.md): four times less
    than the whole-image pipeline this replaced (544 MiB for RGB, 696 MiB for RGBA)."""
    data = encode(_gradient((6400, 6240), "RGBA"), "PNG")
    release_free_memory()
    _reset_peak_rss()
    base = _peak_rss()

    reencode_image(data, LIMITS)

    assert _peak_rss() - base < 256 * MiB


# ---------------------------------------------------------------------------------------------
# The budget


async def test_reservations_that_fit_run_together_and_the_rest_wait_in_order() -> None:
    budget = DecodeBudget(100)
    order: list[str] = []
    release = {name: asyncio.Event() for name in "abcd"}

    async def decode(name: str, cost: int) -> None:
        async with budget.reserve(cost, wait=5):
            order.append(name)
            await release[name].wait()

    tasks = [
        asyncio.create_task(decode(name, cost))
        for name, cost in (("a", 60), ("b", 40), ("c", 70), ("d", 10))
    ]
    await asyncio.sleep(0.01)
    assert order == ["a", "b"] and budget.in_use == 100
    assert budget.waiting == 2  # d fits nowhere before c: first come, first served
    release["a"].set()
    await asyncio.sleep(0.01)
    assert order == ["a", "b"]  # c needs 70, only 60 is free
    release["b"].set()
    await asyncio.sleep(0.01)
    assert order == ["a", "b", "c", "d"] and budget.in_use == 80
    release["c"].set()
    release["d"].set()
    await asyncio.gather(*tasks)
    assert budget.in_use == 0 and budget.waiting == 0


async def test_a_reservation_larger_than_the_budget_runs_alone() -> None:
    budget = DecodeBudget(100)
    async with budget.reserve(500, wait=1):
        assert budget.in_use == 100
        with pytest.raises(DecodeBusy):
            async with budget.reserve(1, wait=0.05):
                pass
    assert budget.in_use == 0


async def test_a_wait_past_the_limit_is_unavailable_with_retry_after_and_leaks_nothing() -> None:
    budget = DecodeBudget(100)
    async with budget.reserve(100, wait=1):
        with pytest.raises(DecodeBusy) as refused:
            async with budget.reserve(50, wait=0.05):
                pass
        assert isinstance(refused.value, Unavailable) and refused.value.retry_after > 0
        assert budget.waiting == 0
    assert budget.in_use == 0
    async with budget.reserve(100, wait=0.05):  # the refused wait left no claim behind
        assert budget.in_use == 100


async def test_a_cancelled_waiter_does_not_hold_up_the_line() -> None:
    budget = DecodeBudget(100)
    entered: list[str] = []

    async def decode(name: str, cost: int) -> None:
        async with budget.reserve(cost, wait=5):
            entered.append(name)

    async with budget.reserve(100, wait=1):
        big = asyncio.create_task(decode("big", 100))
        small = asyncio.create_task(decode("small", 10))
        await asyncio.sleep(0.01)
        big.cancel()  # the client went away while waiting
        await asyncio.sleep(0.01)
        assert budget.waiting == 1
    await small
    assert entered == ["small"] and budget.in_use == 0 and budget.waiting == 0


async def test_an_error_inside_the_reservation_releases_it() -> None:
    budget = DecodeBudget(100)
    with pytest.raises(ValueError):
        async with budget.reserve(80, wait=1):
            raise ValueError("decoder failed")
    assert budget.in_use == 0
