"""Decoding untrusted image bytes: anything Pillow cannot read, or reads as another format, is invalid_image."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from diffuserve.errors import InvalidRequest
from diffuserve.storage.asset_store import decode_image
from tests.service_helpers import picture, png


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


BROKEN = {
    "png-short-ihdr": b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", b"\x00\x00\x00\x10\x00"),
    "qoi-truncated": b"qoif" + struct.pack(">II", 4, 4) + b"\x04\x00",
    "dds-truncated": b"DDS " + struct.pack("<I", 124) + b"\x00" * 20,
    "ppm-bad-maxval": b"P6\n4 4\n65536\n",
    "ppm-long-token": b"P6 99999999999 1 255\n",
    "sgi-odd-mode": b"\x01\xda\x01\x01\x00\x03" + b"\x00" * 506,
    "empty": b"",
}


@pytest.mark.parametrize("data", list(BROKEN.values()), ids=list(BROKEN))
def test_unreadable_bytes_are_invalid_image(data: bytes) -> None:
    with pytest.raises(InvalidRequest) as caught:
        decode_image(data, field_name="image")
    assert caught.value.reason == "invalid_image" and caught.value.field == "image"
    assert "PNG, JPEG, WebP, GIF or BMP" in caught.value.message


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "GIF", "BMP"])
def test_the_accepted_formats_decode(fmt: str) -> None:
    buf = io.BytesIO()
    picture(32).save(buf, format=fmt)
    image = decode_image(buf.getvalue(), field_name="image")
    assert image.size == (32, 32) and image.format == fmt


def test_a_decompression_bomb_is_still_image_too_large() -> None:
    with pytest.raises(InvalidRequest) as caught:
        decode_image(png(Image.new("1", (30000, 30000))), field_name="image")
    assert caught.value.reason == "image_too_large"
