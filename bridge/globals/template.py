"""``template.render_string`` / ``template.render`` (lua-globals §3.4).

assay renders with minijinja 2.15; so does this module, through minijinja's own Python binding
(the same Rust engine), configured like assay's fresh ``Environment::new()`` in a release
build: no autoescape, lenient undefined (an undefined name renders empty, an attribute of one
fails), one trailing newline stripped, no loader (``include`` / ``extends`` fail), no debug
source excerpts in error texts. The variables are converted to JSON values first (lua-globals
§4: keys sorted, an empty table is an empty list). Errors read
``template.render_string: <minijinja error>`` (``template.render: ...``).

One difference comes from the binding, not the engine: ``{{ value }}`` of a none, boolean,
list or map prints the way Python prints it (``None``, ``True``, ``['a']``) where assay prints
``none``, ``true``, ``["a"]``; strings and numbers print the same (docs/compat.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bridge.globals.args import LuaCallError, is_table, rust_debug_str, to_str
from bridge.globals.fs import io_error_text
from bridge.runtime import convert

if TYPE_CHECKING:
    import minijinja

    from bridge.runtime.host import LuaHost


def new_environment() -> minijinja.Environment:
    """A minijinja environment set up like assay's ``Environment::new()`` (release build)."""
    import minijinja

    return minijinja.Environment(debug=False, keep_trailing_newline=False)


def render_text(env: minijinja.Environment, source: str, context: Any) -> str:
    """Render ``source`` with a JSON-model ``context``; ``minijinja.TemplateError`` on failure.

    A context that is not an object (assay's empty table is a list) defines no names.
    """
    names = context if isinstance(context, dict) else {}
    result: str = env.render_str(source, **names)
    return result


def install(rt: LuaHost) -> None:
    """Install the ``template`` global."""
    made: list[minijinja.Environment] = []  # made on the first render (a cheaper cold start)

    def context(fn: str, vars_: Any) -> Any:
        if vars_ is None:
            return {}
        if not is_table(vars_):
            raise LuaCallError(f"template.{fn}: second argument must be a table or nil")
        try:
            return convert.to_json_value(vars_)
        except convert.ConversionError as exc:
            raise LuaCallError(f"template.{fn}: {exc}") from None

    def render(fn: str, source: str, names: Any) -> bytes:
        if not made:
            made.append(new_environment())
        import minijinja

        try:
            return render_text(made[0], source, names).encode()
        except minijinja.TemplateError as exc:
            raise LuaCallError(f"template.{fn}: {exc.message}") from None

    def render_string(tmpl: Any = None, vars_: Any = None, *_ignored: Any) -> bytes:
        source = to_str(rt, tmpl)
        return render("render_string", source, context("render_string", vars_))

    def render_file(path: Any = None, vars_: Any = None, *_ignored: Any) -> bytes:
        p = to_str(rt, path)
        names = context("render", vars_)
        try:
            with open(p, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            raise LuaCallError(
                f"template.render: failed to read {rust_debug_str(p)}: {io_error_text(exc)}") from None
        try:
            source = data.decode("utf-8")
        except UnicodeDecodeError:
            raise LuaCallError(f"template.render: failed to read {rust_debug_str(p)}: "
                               "stream did not contain valid UTF-8") from None
        return render("render", source, names)

    rt.set_global("template", {"render_string": render_string, "render": render_file})
