"""The floor under the engine's CPU per HTTP call: a no-op starlette route on the engine's own
server stack (uvicorn with the same loop and HTTP parser), driven by the worker's keep-alive
client with a small JSON body like a worker's. Prints one ``BENCH-RESULT {json}`` line with the
server process's CPU milliseconds per call.

    python bench/systems/floor_bench.py [--calls N]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import cpu_s, emit

SERVER = r"""
import sys, uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from bridge.engine.server import http_name, loop_name, write_port_file

async def noop(request: Request) -> Response:
    await request.body()
    return Response(status_code=200)

app = Starlette(routes=[Route("/api/v1/noop", noop, methods=["POST"])])

class Server(uvicorn.Server):
    async def startup(self, sockets=None):
        await super().startup(sockets)
        port = self.servers[0].sockets[0].getsockname()[1]
        write_port_file(sys.argv[1], port)

Server(uvicorn.Config(app, host="127.0.0.1", port=0, loop=loop_name(), http=http_name(),
                      log_config=None, access_log=False, server_header=False)).run()
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=2000)
    args = ap.parse_args()
    from bridge.http_direct import DirectClient

    with tempfile.TemporaryDirectory() as tmp:
        port_file = Path(tmp) / "port"
        proc = subprocess.Popen([sys.executable, "-c", SERVER, str(port_file)])
        try:
            deadline = time.monotonic() + 30
            while not port_file.exists() or not port_file.read_text().strip():
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("the floor server did not start")
                time.sleep(0.05)
            url = f"http://127.0.0.1:{int(port_file.read_text())}/api/v1/noop"
            client = DirectClient()
            body = b'{"queue":"default","worker_id":"w-1"}'
            headers = {"Content-Type": "application/json"}
            for _ in range(200):  # warm up
                client.request("POST", url, body, headers, 30.0)
            before = cpu_s(proc.pid)
            for _ in range(args.calls):
                client.request("POST", url, body, headers, 30.0)
            used = cpu_s(proc.pid) - before
            client.close()
        finally:
            proc.terminate()
            proc.wait(30)
    emit({"system": "starlette-floor", "calls": args.calls,
          "cpu_ms_per_call": used * 1000 / args.calls})


if __name__ == "__main__":
    main()
