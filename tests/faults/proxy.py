"""A delaying TCP proxy on loopback: a slow network between workers and the engine.

Each chunk read from either side is forwarded after a random delay; chunks of one direction
keep their order (a chunk is never sent before the one read earlier), as on a real link. The
proxy runs its own asyncio loop in a thread::

    with DelayProxy(target_port, delay_s=(0.0, 0.2), spike_s=1.5, spike_p=0.05) as proxy:
        url = proxy.url   # point workers here
"""

from __future__ import annotations

import asyncio
import random
import threading
from types import TracebackType


class DelayProxy:
    """Forward ``127.0.0.1:<port>`` to ``127.0.0.1:<target_port>`` with injected delays.

    Args:
        target_port: the engine's port.
        delay_s: each chunk waits a uniform delay in this range.
        spike_s: with probability ``spike_p`` a chunk waits this long instead.
        seed: for the random delays.
    """

    def __init__(self, target_port: int, *, delay_s: tuple[float, float] = (0.0, 0.1),
                 spike_s: float = 0.0, spike_p: float = 0.0, seed: int | None = None) -> None:
        self.target_port = target_port
        self.delay_s, self.spike_s, self.spike_p = delay_s, spike_s, spike_p
        self.rng = random.Random(seed)
        self.port = 0
        self.chunks = 0
        self.spikes = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="delay-proxy", daemon=True)
        self._server: asyncio.AbstractServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> DelayProxy:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("proxy did not start")
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._client, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._server.close()
            for task in asyncio.all_tasks(self._loop):
                task.cancel()
            self._loop.run_until_complete(asyncio.sleep(0))
            self._loop.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_r, up_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(self._pipe(reader, up_w), self._pipe(up_r, writer),
                             return_exceptions=True)

    def _delay(self) -> float:
        self.chunks += 1
        if self.spike_p and self.rng.random() < self.spike_p:
            self.spikes += 1
            return self.spike_s
        return self.rng.uniform(*self.delay_s)

    async def _pipe(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                at, data = await queue.get()
                await asyncio.sleep(max(0.0, at - loop.time()))
                if not data:
                    dst.close()
                    return
                dst.write(data)
                await dst.drain()

        sender = asyncio.create_task(deliver())
        last = loop.time()
        try:
            while True:
                data = await src.read(65536)
                last = max(last, loop.time() + self._delay())  # never overtakes the previous chunk
                await queue.put((last, data))
                if not data:
                    break
            await sender
        except (ConnectionError, OSError):
            sender.cancel()
            dst.close()
