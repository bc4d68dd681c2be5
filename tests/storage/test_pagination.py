"""Pagination tokens: a round trip, and anything forged is 400 invalid_pagination_token, never a crash."""

from __future__ import annotations

import base64

import pytest

from diffuserve.errors import InvalidRequest
from diffuserve.storage.pagination import decode_token, encode_token


def _token(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_a_token_round_trips() -> None:
    assert decode_token(encode_token(40)) == 40
    assert decode_token(None) == 0 and decode_token("") == 0


@pytest.mark.parametrize(
    "raw",
    [
        b'{"o": 1e400}',  # float infinity
        b'{"o": 1000000000000000000000000000000}',  # no SQL offset is that large
        b'{"o": 1.5}',
        b'{"o": "7"}',
        b'{"o": true}',
        b'{"o": -1}',
        b'{"x": 1}',
        b"[1]",
        b"\xff\xfe",
    ],
)
def test_a_forged_token_is_refused(raw: bytes) -> None:
    with pytest.raises(InvalidRequest) as caught:
        decode_token(_token(raw))
    assert caught.value.reason == "invalid_pagination_token"
    assert caught.value.field == "paginationToken"
