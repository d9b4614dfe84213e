"""time(): float epoch seconds (lua-globals §3.8)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def test_time_is_float_epoch_seconds(lua: Callable[..., Any]) -> None:
    before = time.time()
    kind, now = lua("local t = time() return math.type(t), t")
    assert kind == "float"
    assert before <= now <= time.time()
