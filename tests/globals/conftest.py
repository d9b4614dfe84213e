"""Fixtures for the globals tests: Lua helpers over the ``rt`` runtime (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bridge.runtime.runtime import Runtime


@pytest.fixture
def lua(rt: Runtime) -> Callable[..., Any]:
    """Run Lua source and return its results, strings decoded from UTF-8."""

    def run(src: str, *args: Any) -> Any:
        result = rt.execute(src, "=test", *args)
        if isinstance(result, tuple):
            return tuple(_text(v) for v in result)
        return _text(result)

    return run


@pytest.fixture
def lua_error(rt: Runtime) -> Callable[..., str]:
    """Run Lua source under pcall and return ``tostring`` of the error it raised."""

    def run(src: str, *args: Any) -> str:
        ok, err = rt.execute(
            f"local ok, err = pcall(function(...) {src} end, ...) return ok, tostring(err)", "=test", *args
        )
        assert ok is False, "expected the Lua code to raise"
        return err.decode()

    return run


def _text(v: Any) -> Any:
    return v.decode("utf-8") if isinstance(v, bytes) else v


