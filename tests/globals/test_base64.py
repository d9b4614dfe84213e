"""base64.encode/decode (lua-globals §3.10)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bridge.runtime.runtime import Runtime


@pytest.mark.parametrize(("plain", "encoded"), [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("héllo", "aMOpbGxv")])
def test_round_trip(lua: Callable[..., Any], plain: str, encoded: str) -> None:
    assert lua("return base64.encode(...)", plain.encode()) == encoded
    assert lua("return base64.decode(...)", encoded.encode()) == plain


def test_encode_accepts_binary(rt: Runtime) -> None:
    assert rt.execute('return base64.encode("\\255\\0")') == b"/wA="


def test_concatenated_padded_blocks(lua: Callable[..., Any]) -> None:
    assert lua('return base64.decode("Zg==Zg==")') == "ff"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Zm9", "invalid length at 0"),
        ("Zm9vZ", "invalid length at 4"),
        ("Zm9v\n", "invalid length at 4"),
        ("Zm!v", "invalid symbol at 2"),
        ("Zm-_", "invalid symbol at 2"),
        ("Z===", "invalid padding length at 1"),
        ("Zh==", "non-zero trailing bits at 1"),
        ("Zm9=", "non-zero trailing bits at 2"),
        ("/w==", "invalid UTF-8: invalid utf-8 sequence of 1 bytes from index 0"),
    ],
)
def test_decode_errors(lua_error: Callable[..., str], text: str, message: str) -> None:
    assert lua_error("base64.decode(...)", text.encode()) == f"base64.decode: {message}"
