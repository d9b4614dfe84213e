"""``markdown.to_html`` (lua-globals §3.16): CommonMark with tables, strikethrough, task lists.

assay uses pulldown-cmark, which has no maintained Python binding; this module uses
markdown-it-py (CommonMark, tables, strikethrough) with mdit-py-plugins' task lists, and
renders the extensions the way pulldown-cmark writes them: ``<del>`` for strikethrough, a
table as ``<table><thead><tr><th>..</th></tr></thead><tbody>\\n<tr><td>..</td></tr>\\n
</tbody></table>`` with ``style="text-align: left"`` alignments, and a task item as
``<li><input disabled="" type="checkbox"/>\\ntext</li>``. Plain CommonMark output is the
reference HTML in both.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from bridge.globals.args import to_str

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

    from bridge.runtime.host import LuaHost

_CHECKBOX = '<input disabled="" type="checkbox"/>\n'
_CHECKED = '<input disabled="" type="checkbox" checked=""/>\n'


def _fixed(html: str) -> Callable[..., str]:
    def render(*_args: Any) -> str:
        return html
    return render


def _cell(tag: str) -> Any:
    def render(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        style = tokens[idx].attrGet("style")
        if isinstance(style, str) and style.startswith("text-align:"):
            return f'<{tag} style="text-align: {style[len("text-align:"):]}">'
        return f"<{tag}>"
    return render


def _row_close(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    for tok in reversed(tokens[:idx]):
        if tok.type == "thead_open":
            return "</tr>"
        if tok.type in ("tbody_open", "thead_close"):
            break
    return "</tr>\n"


def _no_class(name: str) -> Any:
    def render(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        tok = tokens[idx]
        if tok.attrGet("class") in ("contains-task-list", "task-list-item"):
            tok.attrs.pop("class", None)
        rendered: str = self.renderToken(tokens, idx, options, env)
        return rendered
    return render


def _inline_html(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    tok = tokens[idx]
    if tok.meta.get("task_marker"):
        return _CHECKED if tok.meta["task_marker"] == "checked" else _CHECKBOX
    return tok.content


def _mark_tasks(state: Any) -> None:
    """Tag the plugin's checkbox tokens and drop the space after them (pulldown-cmark does)."""
    for block in state.tokens:
        children = block.children or []
        for i, child in enumerate(children):
            if child.type == "html_inline" and 'class="task-list-item-checkbox"' in child.content:
                child.meta["task_marker"] = "checked" if 'checked="checked"' in child.content else "open"
                nxt = children[i + 1] if i + 1 < len(children) else None
                if nxt is not None and nxt.type == "text" and nxt.content.startswith(" "):
                    nxt.content = nxt.content[1:]


def new_renderer() -> MarkdownIt:
    """A markdown-it parser set up to write pulldown-cmark's HTML for assay's extensions."""
    from markdown_it import MarkdownIt
    from mdit_py_plugins.tasklists import tasklists_plugin

    md = MarkdownIt("commonmark").enable(["table", "strikethrough"]).use(tasklists_plugin)
    md.core.ruler.push("pulldown_tasks", _mark_tasks)
    rules = md.add_render_rule
    rules("s_open", _fixed("<del>"))
    rules("s_close", _fixed("</del>"))
    rules("table_open", _fixed("<table>"))
    rules("table_close", _fixed("</tbody></table>\n"))
    rules("thead_open", _fixed("<thead>"))
    rules("thead_close", _fixed("</thead><tbody>\n"))
    rules("tbody_open", _fixed(""))
    rules("tbody_close", _fixed(""))
    rules("tr_open", _fixed("<tr>"))
    rules("tr_close", _row_close)
    rules("th_open", _cell("th"))
    rules("td_open", _cell("td"))
    rules("th_close", _fixed("</th>"))
    rules("td_close", _fixed("</td>"))
    rules("bullet_list_open", _no_class("ul"))
    rules("list_item_open", _no_class("li"))
    rules("html_inline", _inline_html)
    return md


def to_html(md: MarkdownIt, source: str) -> str:
    """``source`` rendered to HTML."""
    html: str = md.render(source)
    return html


def install(rt: LuaHost) -> None:
    """Install the ``markdown`` global."""
    made: list[MarkdownIt] = []  # the renderer, built on the first call (markdown-it is slow to import)

    def to_html_(src: Any = None, *_ignored: Any) -> bytes:
        text = to_str(rt, src)
        if not made:
            made.append(new_renderer())
        return to_html(made[0], text).encode()

    rt.set_global("markdown", {"to_html": to_html_})
