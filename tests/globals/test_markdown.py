"""markdown.to_html (lua-globals §3.16): CommonMark plus tables, strikethrough and task lists,
written as pulldown-cmark writes them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


@pytest.mark.parametrize(
    ("source", "html"),
    [
        ("# Hello", "<h1>Hello</h1>\n"),
        ("a *b* **c** `d`", "<p>a <em>b</em> <strong>c</strong> <code>d</code></p>\n"),
        ("- x\n- y", "<ul>\n<li>x</li>\n<li>y</li>\n</ul>\n"),
        ("1. x\n2. y", "<ol>\n<li>x</li>\n<li>y</li>\n</ol>\n"),
        ("[l](http://e.x)", '<p><a href="http://e.x">l</a></p>\n'),
        ("```lua\nlocal x = 1\n```", '<pre><code class="language-lua">local x = 1\n</code></pre>\n'),
        ("> q", "<blockquote>\n<p>q</p>\n</blockquote>\n"),
        ("a & <b> \"q\"", "<p>a &amp; <b> &quot;q&quot;</p>\n"),
        ("---", "<hr />\n"),
        ("~~gone~~", "<p><del>gone</del></p>\n"),
        ("- [ ] todo\n- [x] done",
         '<ul>\n<li><input disabled="" type="checkbox"/>\ntodo</li>\n'
         '<li><input disabled="" type="checkbox" checked=""/>\ndone</li>\n</ul>\n'),
        ("| a | b |\n|:--|--:|\n| 1 | 2 |\n| 3 | 4 |",
         '<table><thead><tr><th style="text-align: left">a</th><th style="text-align: right">b</th></tr>'
         '</thead><tbody>\n<tr><td style="text-align: left">1</td><td style="text-align: right">2</td></tr>\n'
         '<tr><td style="text-align: left">3</td><td style="text-align: right">4</td></tr>\n</tbody></table>\n'),
        ("| h |\n|---|", "<table><thead><tr><th>h</th></tr></thead><tbody>\n</tbody></table>\n"),
    ],
)
def test_to_html(lua: Callable[..., Any], source: str, html: str) -> None:
    assert lua("return markdown.to_html(...)", source.encode()) == html


def test_number_argument_is_text(lua: Callable[..., Any]) -> None:
    assert lua("return markdown.to_html(42)") == "<p>42</p>\n"


def test_non_string_is_an_error(lua_error: Callable[..., str]) -> None:
    assert lua_error("markdown.to_html({})") == \
        "bad argument #1: error converting Lua table to String (expected string or number)"
