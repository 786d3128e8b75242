"""``POST /partner/image/upload`` and fetching the re-encoded WebP back by its URL."""

from __future__ import annotations

import re
import secrets
from io import BytesIO
from typing import Any

import httpx
import pytest
from PIL import ExifTags
from PIL import Image as PILImage
from tests.dialects.partner.envelope import (
    assert_unauthorized,
    error_body,
    ok_data,
    validation_errors,
)
from tests.factories import login, make_partner

from orderdesk.http.state import AppState

UPLOAD = "/partner/image/upload"

# Every test here runs with the images on the local disk and in an S3 bucket.
pytestmark = pytest.mark.usefixtures("served_image_store")


def jpeg(size: tuple[int, int] = (64, 48), *, with_exif: bool = False) -> bytes:
    image = PILImage.new("RGB", size, (200, 30, 30))
    out = BytesIO()
    if with_exif:
        exif = PILImage.Exif()
        exif[ExifTags.Base.Make] = "Receipt Cam"
        exif[ExifTags.Base.Model] = "Serial 4242"
        image.save(out, format="JPEG", exif=exif, quality=90)
    else:
        image.save(out, format="JPEG", quality=90)
    return out.getvalue()


def is_webp(data: bytes) -> bool:
    return data[:4] == b"RIFF" and data[8:12] == b"WEBP"


@pytest.fixture
async def headers(client: httpx.AsyncClient, state: AppState) -> dict[str, str]:
    return await login(client, await make_partner(state))


async def upload(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    data: bytes,
    *,
    field: str = "file",
    filename: str = "receipt.jpg",
    content_type: str = "image/jpeg",
) -> httpx.Response:
    return await client.post(UPLOAD, files={field: (filename, data, content_type)}, headers=headers)


async def uploaded(
    client: httpx.AsyncClient, headers: dict[str, str], data: bytes, **kwargs: Any
) -> dict[str, Any]:
    result = ok_data(await upload(client, headers, data, **kwargs))
    assert isinstance(result, list) and len(result) == 1
    entry: dict[str, Any] = result[0]
    return entry


async def test_upload_returns_one_webp_entry(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    entry = await uploaded(client, headers, jpeg())
    assert set(entry) == {"id", "url", "mimetype"}
    assert re.fullmatch(r"[0-9a-f]{24}", entry["id"])
    assert entry["mimetype"] == "image/webp"
    assert entry["url"] == f"http://testserver/partner/images/{entry['id']}.webp"


async def test_upload_accepts_any_field_name(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    entry = await uploaded(
        client,
        headers,
        jpeg(),
        field="photo",
        filename="x.bin",
        content_type="application/octet-stream",
    )
    assert entry["mimetype"] == "image/webp"


async def test_each_upload_gets_a_new_id(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    data = jpeg()
    first = await uploaded(client, headers, data)
    second = await uploaded(client, headers, data)
    assert first["id"] != second["id"]


async def test_uploaded_image_is_served_as_webp_at_its_url(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    entry = await uploaded(client, headers, jpeg((64, 48)))
    response = await client.get(httpx.URL(entry["url"]).path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/webp"
    assert is_webp(response.content)
    with PILImage.open(BytesIO(response.content)) as image:
        assert image.format == "WEBP"
        assert image.size == (64, 48)


async def test_served_image_carries_no_exif(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    original = jpeg(with_exif=True)
    with PILImage.open(BytesIO(original)) as source:
        assert source.getexif()[ExifTags.Base.Make] == "Receipt Cam"
    entry = await uploaded(client, headers, original)
    served = (await client.get(httpx.URL(entry["url"]).path)).content
    assert is_webp(served)
    assert b"EXIF" not in served
    assert b"Receipt Cam" not in served
    with PILImage.open(BytesIO(served)) as image:
        assert not image.getexif()
        assert "exif" not in image.info


async def test_large_image_is_scaled_down_to_the_max_side(
    client: httpx.AsyncClient, headers: dict[str, str], state: AppState
) -> None:
    side = state.settings.image_max_side
    entry = await uploaded(client, headers, jpeg((side * 2, side // 2)))
    served = (await client.get(httpx.URL(entry["url"]).path)).content
    with PILImage.open(BytesIO(served)) as image:
        assert image.size == (side, side // 4)


async def test_image_is_served_without_a_token(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    entry = await uploaded(client, headers, jpeg())
    response = await client.get(httpx.URL(entry["url"]).path, headers={})
    assert response.status_code == 200
    assert is_webp(response.content)


async def test_image_is_served_under_the_v1_prefix_too(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    entry = await uploaded(client, headers, jpeg())
    response = await client.get(f"/partner/v1/images/{entry['id']}.webp")
    assert response.status_code == 200
    assert is_webp(response.content)


async def test_unknown_image_id_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/partner/images/{secrets.token_hex(12)}.webp")
    body = error_body(response, 404)
    assert body["data"] is None


async def test_malformed_image_id_is_404(client: httpx.AsyncClient) -> None:
    error_body(await client.get("/partner/images/..%2F..%2Fetc%2Fpasswd"), 404)
    error_body(await client.get("/partner/images/NOT-AN-ID.webp"), 404)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"\xff\xd8\xff\xe0" + b"\x00garbage" * 64, id="corrupt-jpeg"),
        pytest.param(b"", id="zero-bytes"),
        pytest.param(
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', id="svg"
        ),
        pytest.param(b"just some text, not an image\n", id="text"),
    ],
)
async def test_non_image_upload_is_422_file(
    client: httpx.AsyncClient, headers: dict[str, str], data: bytes
) -> None:
    errors = validation_errors(await upload(client, headers, data))
    assert set(errors) == {"file"}


async def test_truncated_jpeg_is_422_file(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    data = jpeg((256, 256))
    errors = validation_errors(await upload(client, headers, data[: len(data) // 2]))
    assert set(errors) == {"file"}


async def test_json_body_is_422_file(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await client.post(UPLOAD, json={"file": "aGVsbG8="}, headers=headers)
    assert set(validation_errors(response)) == {"file"}


async def test_raw_image_body_without_multipart_is_422_file(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.post(
        UPLOAD, content=jpeg(), headers={**headers, "Content-Type": "image/jpeg"}
    )
    assert set(validation_errors(response)) == {"file"}


async def test_multipart_without_a_file_part_is_422_file(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.post(
        UPLOAD,
        data={"note": "no file here"},
        files={"ignored": (None, b"plain field")},
        headers=headers,
    )
    errors = validation_errors(response)
    assert set(errors) == {"file"}
    assert errors["file"]["type"] == "required"


async def test_file_over_the_upload_limit_is_422_file(
    client: httpx.AsyncClient, headers: dict[str, str], state: AppState
) -> None:
    limit = state.settings.upload_max_bytes
    assert limit + 64 * 1024 < state.settings.request_max_bytes
    data = jpeg() + b"\x00" * (limit + 1)
    errors = validation_errors(await upload(client, headers, data))
    assert set(errors) == {"file"}
    assert errors["file"]["type"] == "max"


async def test_body_over_the_request_limit_is_413(
    client: httpx.AsyncClient, headers: dict[str, str], state: AppState
) -> None:
    data = b"\x00" * (state.settings.request_max_bytes + 1024 * 1024)
    response = await upload(client, headers, data)
    body = error_body(response, 413)
    assert body["data"] is None


async def test_upload_without_token_is_401(client: httpx.AsyncClient) -> None:
    assert_unauthorized(await client.post(UPLOAD, files={"file": ("r.jpg", jpeg(), "image/jpeg")}))


async def test_upload_with_unknown_token_is_401_before_the_body_is_read(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        UPLOAD, content=b"not multipart at all", headers={"token": secrets.token_urlsafe(32)}
    )
    assert_unauthorized(response)


async def test_two_file_parts_are_422_file(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.post(
        UPLOAD,
        files=[("a", ("a.jpg", jpeg(), "image/jpeg")), ("b", ("b.jpg", jpeg(), "image/jpeg"))],
        headers=headers,
    )
    errors = validation_errors(response)
    assert set(errors) == {"file"}
    assert errors["file"]["type"] == "max"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        pytest.param("multipart/form-data", b"--x\r\n\r\nabc", id="no-boundary"),
        pytest.param(
            "multipart/form-data; boundary=xyz", b"no parts at all, just text", id="garbled"
        ),
    ],
)
async def test_malformed_multipart_is_422_file(
    client: httpx.AsyncClient, headers: dict[str, str], content_type: str, body: bytes
) -> None:
    response = await client.post(
        UPLOAD, content=body, headers={**headers, "Content-Type": content_type}
    )
    assert set(validation_errors(response)) == {"file"}


async def test_multipart_content_type_is_case_insensitive(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    request = client.build_request(
        "POST", UPLOAD, headers=headers, files={"file": ("r.jpg", jpeg(), "image/jpeg")}
    )
    request.headers["Content-Type"] = request.headers["Content-Type"].replace(
        "multipart/form-data", "Multipart/Form-Data"
    )
    data = ok_data(await client.send(request))
    assert data[0]["mimetype"] == "image/webp"
