"""Requests per second of an ``http.serve`` script beside a plain starlette app.

Both run in child processes on loopback with the same uvicorn settings (asyncio loop, h11 or
httptools as uvicorn picks, no access log, no lifespan) and answer ``GET /hello`` with a short
text body. One asyncio load client in this process keeps ``--connections`` keep-alive
connections busy until ``--requests`` requests have been answered, first against one server,
then the other. Bounded and loopback only.

    python bench/http_serve.py [--requests 5000] [--connections 50]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCRIPT = r"""
async.spawn(function() sleep(0) print("PORT " .. _SERVER_PORT) io.stdout:flush() end)
http.serve(0, {GET = {["/hello"] = function(req) return {body = "hello"} end}})
"""


def plain_app() -> None:
    """The peer: a starlette app under uvicorn with the settings http.serve uses."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def hello(request: Request) -> PlainTextResponse:
        return PlainTextResponse("hello")

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(Starlette(routes=[Route("/hello", hello)]), log_level="warning",
                            access_log=False, lifespan="off", loop="asyncio")
    asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))


async def _load(port: int, total: int, connections: int) -> tuple[float, int]:
    remaining = total
    errors = 0
    request = b"GET /hello HTTP/1.1\r\nHost: bench\r\n\r\n"

    async def worker() -> None:
        nonlocal remaining, errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while remaining > 0:
                remaining -= 1
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await reader.readexactly(length)
                if not head.startswith(b"HTTP/1.1 200"):
                    errors += 1
        finally:
            writer.close()

    t0 = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(connections))), timeout=300)
    return time.perf_counter() - t0, errors


def _measure(cmd: list[str], total: int, connections: int) -> tuple[float, int]:
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, "NO_COLOR": "1"})
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("PORT "):
            raise SystemExit(f"server did not start: {line!r}")
        port = int(line.split()[1])
        asyncio.run(_load(port, 200, min(connections, 10)))  # warm-up
        elapsed, errors = asyncio.run(_load(port, total, connections))
        return total / elapsed, errors
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


def main(argv: list[str] | None = None) -> int:
    """Run both servers one after the other and print requests per second and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--plain", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.plain:
        plain_app()
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "serve.lua"
        script.write_text(SCRIPT)
        ours, our_errors = _measure([sys.executable, "-m", "bridge", "run", str(script)],
                                    args.requests, args.connections)
    plain, plain_errors = _measure([sys.executable, __file__, "--plain"], args.requests, args.connections)
    print(f"requests={args.requests} connections={args.connections}")
    print(f"http.serve (Lua handler)  {ours:9.0f} req/s  errors={our_errors}")
    print(f"plain starlette           {plain:9.0f} req/s  errors={plain_errors}")
    print(f"ratio http.serve/starlette {ours / plain:.2f}")
    return 1 if our_errors or plain_errors else 0


if __name__ == "__main__":
    sys.exit(main())
