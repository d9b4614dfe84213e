"""Every function of every global gives the same result, or the same error text, wherever it runs.

One table of calls (:data:`CALLS`), each a Lua chunk, runs in every context a script's code can
run in: the main chunk, a coroutine, a nested coroutine, an ``async.spawn`` task, a Lua workflow
body and a ``ctx:side_effect`` function (both run by the unchanged workflow.lua inside its
coroutine), a Python workflow calling Lua (from its body and from a side effect), and a Lua and
a Python activity. Each result is rendered by a Lua ``dump`` and compared with the main chunk's.
No result may carry a Python exception text.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.engine.pgdb import base_url as pg_base_url
from tests.helpers import LocalServer
from tests.worker.replayer import Replayer

# (name, Lua chunk). URL is the local server, DIR a private folder, N a per-run counter.
CALLS: list[tuple[str, str]] = [
    # http
    ("http.get", 'local r = http.get(URL .. "/echo", {headers = {["X-N"] = 5}}) return r.status, r.body'),
    ("http.get status", 'local r = http.get(URL .. "/status/404") return r.status, r.body, r.headers["content-type"]'),
    ("http.post table", 'return http.post(URL .. "/echo", {a = 1, b = {1, 2, {c = "x"}}, e = {}}).body'),
    ("http.post string", 'return http.post(URL .. "/echo", "raw=1", {headers = {["Content-Type"] = "text/plain"}}).body'),
    ("http.put", 'return http.put(URL .. "/echo", {k = 1.5}).body'),
    ("http.patch", 'return http.patch(URL .. "/echo", {k = true}).body'),
    ("http.delete", 'return http.delete(URL .. "/echo", {headers = {A = "b"}}).body'),
    ("http.client", 'local c = http.client({timeout = 5}) return c:get(URL .. "/echo").status, c:post(URL .. "/echo", {x = 1}).body'),
    ("http error: bad url", "return http.get(42)"),
    ("http error: bad body", 'return http.post(URL .. "/echo", true)'),
    ("http error: unreachable", 'return http.get("http://127.0.0.1:1/")'),
    # json
    ("json.parse", 'local t = json.parse(\'{"a": [1, 2.5, null, "x"], "b": {"c": true}}\') return t.a[1], t.a[2], t.a[4], t.b.c'),
    ("json.encode", 'return json.encode({b = 1, a = {1, 2}, c = {}, d = 1.0, e = "é"})'),
    ("json error: parse", 'return json.parse("{")'),
    ("json error: encode", "return json.encode({f = function() end})"),
    # yaml / toml
    ("yaml.parse", 'local t = yaml.parse("a: 1\\nb: [x, y]\\nc: {d: true}") return t.a, t.b[2], t.c.d'),
    ("yaml.encode", 'return yaml.encode({a = 1, b = {"x", "y"}})'),
    ("yaml error", 'return yaml.parse("a: [")'),
    ("toml.parse", 'local t = toml.parse("a = 1\\n[b]\\nc = \\"x\\"") return t.a, t.b.c'),
    ("toml.encode", 'return toml.encode({a = 1, b = {c = "x"}})'),
    ("toml error", 'return toml.parse("a = ")'),
    # assert
    ("assert passes", 'assert.eq(1, 1) assert.ne(1, 2) assert.gt(2, 1) assert.lt(1, 2) assert.contains("abc", "b") assert.not_nil(0) assert.matches("abc", "^a") return true'),
    ("assert.eq fails", 'assert.eq({1}, 2, "ctx")'),
    ("assert.gt fails", "assert.gt(1, 2)"),
    ("assert.contains fails", 'assert.contains("abc", "z")'),
    ("assert.not_nil fails", "assert.not_nil(nil)"),
    ("assert.matches fails", 'assert.matches("abc", "^z")'),
    # log
    ("log", 'log.info("i") log.warn("w") log.error("e") log.debug("d") return true'),
    ("log error", "log.info({})"),
    # env
    ("env", 'env.set("ASSAY_MATRIX_VAR", "v" .. 1) local a = env.get("ASSAY_MATRIX_VAR") env.set("ASSAY_MATRIX_VAR", nil) return a, env.get("ASSAY_MATRIX_VAR"), type(env.list())'),
    ("env error", "return env.get({})"),
    # sleep / time
    ("sleep", "return sleep(0), sleep(0.001)"),
    ("sleep error", "return sleep(-1)"),
    ("time", "return math.type(time()), time() > 0"),
    # fs
    ("fs.write/read", 'fs.write(DIR .. "/a" .. N .. ".txt", "hi") return fs.read(DIR .. "/a" .. N .. ".txt"), fs.exists(DIR .. "/a" .. N .. ".txt")'),
    ("fs.bytes", 'fs.write_bytes(DIR .. "/b" .. N, "\\0\\255") return #fs.read_bytes(DIR .. "/b" .. N)'),
    ("fs.stat", 'fs.write(DIR .. "/s" .. N, "abc") local s = fs.stat(DIR .. "/s" .. N) return s.size, s.is_file, s.is_dir'),
    ("fs.mkdir/list/readdir", 'local d = DIR .. "/d" .. N fs.mkdir(d) fs.write(d .. "/x", "1") local l = fs.list(d) local r = fs.readdir(d) return #l, l[1].name or l[1], #r'),
    ("fs.copy/rename/remove", 'local a, b, c = DIR .. "/c" .. N, DIR .. "/c2" .. N, DIR .. "/c3" .. N fs.write(a, "x") fs.copy(a, b) fs.rename(b, c) fs.remove(a) return fs.exists(a), fs.read(c)'),
    ("fs.glob", 'local d = DIR .. "/g" .. N fs.mkdir(d) fs.write(d .. "/1.txt", "") fs.write(d .. "/2.txt", "") return #fs.glob(d .. "/*.txt")'),
    ("fs.chmod", 'local p = DIR .. "/m" .. N fs.write(p, "") return fs.chmod(p, 420)'),
    ("fs.tempdir", "return type(fs.tempdir())"),
    ("fs error", 'return fs.read(DIR .. "/missing")'),
    # base64 / crypto
    ("base64", 'return base64.encode("hello"), base64.decode("aGVsbG8=")'),
    ("base64 error", 'return base64.decode("!!")'),
    ("crypto.hash", 'return crypto.hash("abc", "sha256"), crypto.hash("abc", "sha3-256")'),
    ("crypto.hmac", 'return crypto.hmac("k", "d", "sha256")'),
    ("crypto.random", "return #crypto.random(16), #crypto.random()"),
    ("crypto error", 'return crypto.hash("abc", "md5")'),
    # regex
    ("regex", 'local f = regex.find("a1b22", "(\\\\d+)") return regex.match("abc", "b"), f.match, f.groups[1], #regex.find_all("a1b22c333", "\\\\d+"), regex.replace("a1b2", "\\\\d", "#")'),
    ("regex error", 'return regex.match("a", "(")'),
    # os
    ("os", "return type(os.hostname()), os.arch(), os.platform(), math.type(os.time()), type(os.clock()), os.date(\"%Y\", 0), os.date(\"*t\", 0).year"),
    ("os error", "return os.date(5)"),
    # async
    ("async.spawn", "local h = async.spawn(function() sleep(0.001) return 1, 'two' end) local r = h:await() return r[1], r[2]"),
    ("async.spawn error", "local h = async.spawn(function() error('boom') end) return h.await()"),
    ("async double await", "local h = async.spawn(function() return 1 end) h:await() return h:await()"),
    ("async.spawn bad", "return async.spawn(42)"),
    ("async.spawn_interval", "local n = 0 local i = async.spawn_interval(0.001, function() n = n + 1 end) sleep(0.02) i.cancel() return n > 0"),
    ("async.spawn_interval bad", "return async.spawn_interval(0, function() end)"),
    # template / markdown
    ("template.render_string", 'return template.render_string("{{ a }}-{% for x in xs %}{{ x }}{% endfor %}", {a = "A", xs = {1, 2.5}})'),
    ("template.render", 'local p = DIR .. "/t" .. N fs.write(p, "hi {{ who }}\\n") return template.render(p, {who = "me"})'),
    ("template error", 'return template.render_string("{% if %}")'),
    ("template error: vars", 'return template.render_string("x", 5)'),
    ("markdown.to_html", 'return markdown.to_html("# T\\n\\n- [x] a\\n\\n|a|\\n|-|\\n|~~b~~|")'),
    ("markdown error", "return markdown.to_html({})"),
    # crypto.jwt_*
    ("crypto.jwt_sign/jwt_decode", 'local t = crypto.jwt_sign({sub = "s", n = 1}, PEM, "RS256", {kid = "k"}) local d = crypto.jwt_decode(t) return t, d.header.kid, d.claims.n'),
    ("crypto jwt error: key", 'return crypto.jwt_sign({}, "not a pem")'),
    ("crypto jwt error: token", 'return crypto.jwt_decode("a.b")'),
    # shell / process / disk
    ("shell.exec", 'local r = shell.exec("cat; echo $V; exit 2", {stdin = "in-", env = {V = "v"}}) return r.status, r.stdout, r.stderr, r.timed_out'),
    ("shell.exec timeout", 'local r = shell.exec("sleep 5", {timeout = 0.05}) return r.status, r.timed_out'),
    ("shell error", 'return shell.exec("true", {timeout = -1})'),
    ("process.list/is_running", "local l = process.list() return type(l), math.type(l[1].pid), process.is_running(NAME), process.is_running('no-such-proc')"),
    ("process.kill", "return process.kill(PID, 0)"),
    ("process.wait_idle", "return process.wait_idle('no-such-proc'), process.wait_idle(NAME, 0.01, 0.005)"),
    ("process error", "return process.kill(0)"),
    ("disk.usage", 'local u = disk.usage(DIR) return math.type(u.total), u.used <= u.total, math.type(u.percent)'),
    ("disk.sweep/dir_size", 'local d = DIR .. "/sw" .. N fs.mkdir(d) fs.write(d .. "/a", "xyz") local size = disk.dir_size(d) return size, disk.sweep(d, -1), disk.dir_size(d)'),
    ("disk error", 'return disk.usage(DIR .. "/missing")'),
    # http.serve (it never returns: its argument errors here, serving in tests/globals/test_http_serve.py)
    ("http.serve error: port", "return http.serve(80.5, {})"),
    ("http.serve error: routes", "return http.serve(0, 1)"),
    # db
    ("db sqlite", 'local c = db.connect("sqlite:" .. DIR .. "/db" .. N .. ".sqlite") db.execute(c, "create table t (a int, b text)") local e = db.execute(c, "insert into t values (?, ?)", {1, "x"}) local r = db.query(c, "select * from t") db.close(c) return e, r'),
    ("db postgres", 'local c = db.connect(PG) local r = db.query(c, "select $1::int as a, $2::text as b, 1.5::numeric as n, true as t", {2, "y"}) db.close(c) return r'),
    ("db error: sql", 'return db.query(db.connect("sqlite::memory:"), "select nope")'),
    ("db error: conn", 'return db.execute({}, "select 1")'),
    # ws
    ("ws", 'local c = ws.connect(WS) ws.send(c, "hi") local r = ws.recv(c) ws.close(c) return r'),
    ("ws error: closed", 'local c = ws.connect(WS) ws.send(c, "close") return ws.recv(c)'),
    ("ws error: conn", 'return ws.recv({})'),
    # Lua's own library beside the globals
    ("coroutine inside", "local co = coroutine.wrap(function(a) local b = coroutine.yield(a + 1) return json.encode({b}) end) return co(1), co(5)"),
]

_PROBE = r"""
local CALLS = ...
local function dump(v, depth)
    depth = depth or 0
    local t = type(v)
    if t == "table" then
        if depth > 8 then return "{...}" end
        local keys = {}
        for k in pairs(v) do keys[#keys + 1] = k end
        table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
        local parts = {}
        for _, k in ipairs(keys) do parts[#parts + 1] = tostring(k) .. "=" .. dump(v[k], depth + 1) end
        return "{" .. table.concat(parts, ",") .. "}"
    elseif t == "number" then
        return math.type(v) .. ":" .. tostring(v)
    elseif t == "string" then
        return string.format("%q", v)
    end
    return t .. ":" .. tostring(v)
end
function probe(i)
    N = (N or 0) + 1
    local r = table.pack(pcall(CALLS[i]))
    if r[1] then
        local parts = {}
        for k = 2, r.n do parts[#parts + 1] = dump(r[k]) end
        return "ok " .. table.concat(parts, ", ")
    end
    local text = tostring(r[2])
    return "err " .. text
end
"""

_LUA_HANDLERS = r"""
local M = ...
M.define("ProbeBody", function(ctx, input) return probe(input.i) end)
M.define("ProbeSideEffect", function(ctx, input)
    return ctx:side_effect("probe", function() return probe(input.i) end)
end)
M.activity("probe", function(ctx, input) return probe(input.i) end)
"""

# Python exception texts that must never reach a script (assay's own texts have none of these).
_PYTHON_TEXT = re.compile(
    r"Traceback|\b[A-Z][A-Za-z]*(Error|Exception)\b|'[a-z]+' object|object is not|NoneType|"
    r"internal error|lupa|\.py\b|<built-in|<function "
)


def _contexts() -> dict[str, Callable[[Replayer, int], str]]:
    def main(r: Replayer, i: int) -> str:
        return _text(r.rt.execute("return probe(...)", "=main", i))

    # coroutine.resume keeps the coroutine on its caller's stack while it runs, which is
    # what exposes lupa's stack-relative access (coroutine.wrap's caller frame stays empty)
    def coroutine(r: Replayer, i: int) -> str:
        return _text(r.rt.execute(
            "local i = ... return select(2, coroutine.resume(coroutine.create(function()\n"
            "  return probe(i) end)))", "=co", i))

    def wrapped(r: Replayer, i: int) -> str:
        return _text(r.rt.execute(
            "local i = ... return coroutine.wrap(function() return probe(i) end)()", "=wrap", i))

    def nested(r: Replayer, i: int) -> str:
        return _text(r.rt.execute(
            "local i = ... return coroutine.wrap(function()\n"
            "  return select(2, coroutine.resume(coroutine.create(function() return probe(i) end)))\n"
            "end)()", "=nested", i))

    def task(r: Replayer, i: int) -> str:
        return _text(r.rt.execute(
            "local i = ... return async.spawn(function() return probe(i) end):await()[1]", "=task", i))

    def workflow_body(r: Replayer, i: int) -> str:
        return _completed(r.replay("ProbeBody", input={"i": i}))

    def side_effect(r: Replayer, i: int) -> str:
        [command] = r.replay("ProbeSideEffect", input={"i": i})
        assert command["type"] == "RecordSideEffect", command
        return str(command["value"])

    def python_workflow(r: Replayer, i: int) -> str:
        return _completed(r.replay("PyProbeBody", input={"i": i}))

    def python_side_effect(r: Replayer, i: int) -> str:
        [command] = r.replay("PyProbeSideEffect", input={"i": i})
        assert command["type"] == "RecordSideEffect", command
        return str(command["value"])

    def lua_activity(r: Replayer, i: int) -> str:
        ok, value = r.run_activity("probe", {"i": i})
        assert ok, value
        return str(value)

    def python_activity(r: Replayer, i: int) -> str:
        ok, value = r.run_activity("py_probe", {"i": i})
        assert ok, value
        return str(value)

    return {
        "coroutine": coroutine, "coroutine.wrap": wrapped, "nested coroutine": nested,
        "async task": task,
        "lua workflow body": workflow_body, "lua side effect": side_effect,
        "python workflow body": python_workflow, "python side effect": python_side_effect,
        "lua activity": lua_activity, "python activity": python_activity, "main chunk": main,
    }


CONTEXTS = _contexts()

_RSA_PEM = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _text(v: Any) -> str:
    return v.decode("utf-8") if isinstance(v, bytes) else str(v)


def _completed(commands: list[dict[str, Any]]) -> str:
    [command] = commands
    assert command["type"] == "CompleteWorkflow", command
    return str(command["result"])


@pytest.fixture
def ws_url() -> Iterator[str]:
    """A real websocket server: echoes ``echo:<msg>``, closes on ``close``."""
    from websockets.sync.server import ServerConnection, serve

    def handler(conn: ServerConnection) -> None:
        for message in conn:
            if message == "close":
                conn.close()
                return
            conn.send(f"echo:{message!s}")

    server = serve(handler, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"ws://127.0.0.1:{server.socket.getsockname()[1]}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def matrix(http_server: LocalServer, ws_url: str, tmp_path: Path) -> Iterator[Replayer]:
    r = Replayer()
    rt = r.rt
    chunks = rt.lua.table()
    for i, (name, src) in enumerate(CALLS, start=1):
        chunks[i] = rt.compile(src, f"={name}")
    rt.execute(_PROBE, "=probe", chunks)
    rt.set_global("URL", http_server.url.encode())
    rt.set_global("DIR", str(tmp_path).encode())
    rt.set_global("PEM", _RSA_PEM)
    rt.set_global("PID", os.getpid())
    rt.set_global("NAME", Path("/proc/self/comm").read_bytes().strip())
    rt.set_global("WS", ws_url.encode())
    rt.set_global("PG", pg_base_url().replace("postgresql://", "postgres://", 1).encode())
    r.lua(_LUA_HANDLERS)

    def call_probe(i: int) -> str:
        return _text(rt.call(rt.get_global("probe"), i))

    r.py_workflow("PyProbeBody", lambda ctx, inp: call_probe(inp["i"]))
    r.py_workflow("PyProbeSideEffect",
                  lambda ctx, inp: ctx.side_effect("probe", lambda: call_probe(inp["i"])))
    r.py_activity("py_probe", lambda ctx, inp: call_probe(inp["i"]))
    yield r
    rt.close()


@pytest.fixture
def expected(matrix: Replayer) -> list[str]:
    return [CONTEXTS["main chunk"](matrix, i) for i in range(1, len(CALLS) + 1)]


def test_the_table_covers_every_global_function(matrix: Replayer) -> None:
    listed = matrix.rt.execute(
        "local out = {}\n"
        "for _, g in ipairs({'http', 'json', 'yaml', 'toml', 'assert', 'log', 'env', 'fs',"
        " 'base64', 'crypto', 'regex', 'os', 'async', 'template', 'markdown', 'shell', 'process',"
        " 'disk', 'db', 'ws'}) do\n"
        "  for k, v in pairs(_G[g]) do\n"
        "    if type(v) == 'function' and k:sub(1, 1) ~= '_' then out[#out + 1] = g .. '.' .. k end\n"
        "  end\n"
        "end\n"
        "out[#out + 1] = 'sleep' out[#out + 1] = 'time'\n"
        "return out", "=list")
    names = {_text(v) for v in listed.values()}
    source = "\n".join(src for _, src in CALLS)
    missing = sorted(n for n in names if n not in source)
    assert not missing, f"calls missing from the matrix: {missing}"


def test_main_chunk_results_are_real(expected: list[str]) -> None:
    by_name = dict(zip((n for n, _ in CALLS), expected))
    assert by_name["http.post table"].startswith("ok ")
    assert '\\"body\\": \\"{\\\\\\"a\\\\\\":1' in by_name["http.post table"]
    assert by_name["json error: parse"].startswith("err json.parse: EOF while parsing")
    assert by_name["async.spawn"] == 'ok integer:1, "two"'
    assert by_name["ws"] == 'ok "echo:hi"'
    assert by_name["db postgres"] == 'ok {1={a=integer:2,b="y",n=float:1.5,t=boolean:true}}'
    assert by_name["http.serve error: port"] == "err http.serve: first argument must be a port number"
    assert by_name["async.spawn_interval"] == "ok boolean:true"
    assert by_name["http error: unreachable"].startswith("err http.get failed: error sending request")
    assert by_name["process.wait_idle"] == "ok boolean:true, boolean:false"
    assert by_name["shell.exec"] == 'ok integer:2, "in-v\\\n", "", boolean:false'
    assert by_name["disk.sweep/dir_size"] == "ok integer:3, integer:1, integer:0"
    assert by_name["template.render"] == 'ok "hi me"'
    errors = [n for n, v in by_name.items() if v.startswith("err ")]
    assert all(("error" in n or "fails" in n or "bad" in n or "double" in n) for n in errors), errors


@pytest.mark.parametrize("context", [c for c in CONTEXTS if c != "main chunk"])
def test_same_results_in_every_context(matrix: Replayer, expected: list[str], context: str) -> None:
    run = CONTEXTS[context]
    got = [run(matrix, i) for i in range(1, len(CALLS) + 1)]
    differ = [f"{name}:\n  main:  {want}\n  here:  {have}"
              for (name, _), want, have in zip(CALLS, expected, got) if want != have]
    assert not differ, f"{len(differ)} calls differ in {context}:\n" + "\n".join(differ)


@pytest.mark.parametrize("context", list(CONTEXTS))
def test_no_python_exception_text_reaches_lua(matrix: Replayer, context: str) -> None:
    run = CONTEXTS[context]
    leaks = [f"{name}: {text}" for i, (name, _) in enumerate(CALLS, start=1)
             if _PYTHON_TEXT.search(text := run(matrix, i))]
    assert not leaks, "\n".join(leaks)
