"""template.render_string / template.render (lua-globals §3.4), rendered by minijinja."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


def test_render_string_substitutes_vars(lua: Callable[..., Any]) -> None:
    assert lua('return template.render_string("Hello {{ name }}, {{ n + 1 }}!", {name = "Ada", n = 41})') \
        == "Hello Ada, 42!"


def test_loops_and_filters_over_nested_tables(lua: Callable[..., Any]) -> None:
    src = ('return template.render_string('
           '"{% for u in users %}{{ u.name | upper }}:{{ u.tags | join(\\",\\") }};{% endfor %}", '
           '{users = {{name = "a", tags = {"x", "y"}}, {name = "b", tags = {}}}})')
    assert lua(src) == "A:x,y;B:;"


def test_object_keys_come_sorted(lua: Callable[..., Any]) -> None:
    src = 'return template.render_string("{% for k, v in m | items %}{{ k }}={{ v }} {% endfor %}", {m = {b = 2, a = 1, c = 3}})'
    assert lua(src) == "a=1 b=2 c=3 "


def test_integers_and_floats_print_apart(lua: Callable[..., Any]) -> None:
    assert lua('return template.render_string("{{ i }} {{ f }}", {i = 3, f = 3.0})') == "3 3.0"


def test_one_trailing_newline_is_stripped(lua: Callable[..., Any]) -> None:
    assert lua('return template.render_string("a\\n\\n")') == "a\n"


def test_no_autoescape(lua: Callable[..., Any]) -> None:
    assert lua('return template.render_string("{{ h }}", {h = "<b>&</b>"})') == "<b>&</b>"


def test_undefined_renders_empty_and_nil_vars_mean_none(lua: Callable[..., Any]) -> None:
    assert lua('return template.render_string("[{{ missing }}]")') == "[]"
    assert lua('return template.render_string("[{{ missing }}]", {})') == "[]"


def test_render_reads_the_file(lua: Callable[..., Any], tmp_path: Path) -> None:
    path = tmp_path / "t.j2"
    path.write_text("{% if ok %}yes{% else %}no{% endif %} {{ who }}\n")
    assert lua("return template.render(..., {ok = true, who = 'me'})", str(path).encode()) == "yes me"


@pytest.mark.parametrize(
    ("src", "message"),
    [
        ('template.render_string("x", 5)', "template.render_string: second argument must be a table or nil"),
        ('template.render("x", "y")', "template.render: second argument must be a table or nil"),
        ('template.render_string("{% if %}")', "template.render_string: syntax error: unexpected end of block "
                                               "(in <string>:1)"),
        ('template.render_string("{{ a.b.c }}")', "template.render_string: undefined value (in <string>:1)"),
        ('template.render_string("{% include \'x\' %}")',
         'template.render_string: template not found: tried to include non-existing template "x" (in <string>:1)'),
        ('template.render_string("{{ f }}", {f = function() end})',
         "template.render_string: unsupported Lua type for JSON: function"),
        ('template.render_string({})', "bad argument #1: error converting Lua table to String "
                                       "(expected string or number)"),
    ],
)
def test_errors(lua_error: Callable[..., str], src: str, message: str) -> None:
    assert lua_error(src) == message


def test_render_missing_file(lua_error: Callable[..., str], tmp_path: Path) -> None:
    path = tmp_path / "nope.j2"
    assert lua_error("template.render(...)", str(path).encode()) == \
        f'template.render: failed to read "{path}": No such file or directory (os error 2)'
