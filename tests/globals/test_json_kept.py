"""json.parse of a history that grows by a step each time: kept templates (bridge/globals/json_kept.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from bridge.globals import json as lua_json
from bridge.globals import json_kept
from bridge.globals.json import JsonState
from bridge.runtime import convert
from bridge.runtime.runtime import Runtime


@pytest.fixture
def small_keep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(json_kept, "KEEP_MIN_CHARS", 10)


@pytest.fixture
def fresh() -> Iterator[Runtime]:
    runtime = Runtime(log_stderr=False)
    yield runtime
    runtime.close()


def event(i: int) -> dict[str, Any]:
    return {"seq": i, "event_type": "E", "timestamp": 1.5 + i,
            "payload": {"n": i, "s": 'ü"\\\n', "l": [1, None, 2.5, True], "e": {}, "big": 2**70}}


def text_of(history: list[dict[str, Any]], **head: Any) -> bytes:
    task = {"workflow_id": "w", "input": {"a": [1, 2]}, **head, "history": history}
    return json.dumps(task, separators=(",", ":"), ensure_ascii=False).encode()


def as_json(rt: Runtime, table: Any) -> bytes:
    return lua_json.encode_lua_value(rt, table)


def expected(fresh: Runtime, text: bytes) -> bytes:
    """What a runtime without templates makes of the text (the exact decoder)."""
    return as_json(fresh, convert.to_lua(fresh.lua, lua_json.parse_text(text.decode())))


@pytest.mark.usefixtures("small_keep")
def test_a_growing_history_parses_to_fresh_tables_equal_to_a_full_parse(rt: Runtime,
                                                                          fresh: Runtime) -> None:
    history: list[dict[str, Any]] = []
    for i in range(1, 12):
        history.append(event(i))
        text = text_of(history)
        got = lua_json.lua_value_from_json(rt, text)
        assert as_json(rt, got) == expected(fresh, text)
        got[b"history"][1][b"payload"][b"n"] = 999  # must not reach the next parse
        got[b"input"][b"a"] = None
    assert rt.state(JsonState).kept[0].count == 11
    assert rt.state(JsonState).kept[0].template is not None


@pytest.mark.usefixtures("small_keep")
def test_texts_that_do_not_just_extend_the_array_parse_in_full(rt: Runtime, fresh: Runtime) -> None:
    base = text_of([event(1), event(2)])
    lua_json.lua_value_from_json(rt, base)
    for text in (
        base[:-2] + b',{"seq":3}],"k":[1]}',  # a member after the array
        base[:-2] + b',{"seq":-0}]}',  # -0 keeps the exact decoder's float
        text_of([event(1), event(2), event(3)], workflow_id="other"),
        base,
    ):
        got = lua_json.lua_value_from_json(rt, text)
        assert as_json(rt, got) == expected(fresh, text)


@pytest.mark.usefixtures("small_keep")
def test_errors_in_the_new_elements_keep_serdes_wording(rt: Runtime) -> None:
    base = text_of([event(1)])
    lua_json.lua_value_from_json(rt, base)
    lua_json.lua_value_from_json(rt, text_of([event(1), event(2)]))
    for tail, message in ((b',{"seq":NaN}]}', "expected value"), (b',{"seq":1]}', "expected"),
                          (b',"\\ud800"]}', "lone leading surrogate")):
        with pytest.raises(ValueError, match=message):
            lua_json.lua_value_from_json(rt, base[:-2] + tail)


def test_small_texts_are_not_kept(rt: Runtime) -> None:
    lua_json.lua_value_from_json(rt, text_of([event(1)]))
    assert rt.state(JsonState).kept == []


@pytest.mark.usefixtures("small_keep")
def test_copies_from_a_template_keep_empty_objects_for_engine_calls(rt: Runtime) -> None:
    history: list[dict[str, Any]] = []
    for i in range(1, 6):
        history.append({"seq": i, "payload": {"n": i, "e": {}, "l": [{}]}})
        text = text_of(history, extra={})
        got = lua_json.lua_value_from_json(rt, text)
        kept = lua_json.encode_lua_value(rt, got, keep_empty_objects=True)
        assert json.loads(kept) == json.loads(text)  # every {} written back as {}
        assert as_json(rt, got).count(b'"e":[]') == i  # assay's rule without the option
    assert rt.state(JsonState).kept[0].template is not None
