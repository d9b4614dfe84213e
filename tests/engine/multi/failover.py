"""A failover TCP front door for the multi-instance tests: what a load balancer does.

Each accepted connection goes to the first backend port that accepts a connection, in the
order given; when a backend dies (kill -9), its connections are cut and new ones go to the
next backend. Workers pointed at a front door therefore reach a live engine instance after a
crash, exactly as they would behind a real load balancer with health checks.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Sequence

_CHUNK = 65536


class FrontDoor:
    """A listening socket on 127.0.0.1 forwarding to the first live port of ``ports``."""

    def __init__(self, ports: Sequence[int]) -> None:
        self.ports = list(ports)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._closed = threading.Event()
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.connections_by_port: dict[int, int] = {p: 0 for p in self.ports}
        self._thread = threading.Thread(target=self._accept, name="front-door", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _connect(self) -> socket.socket | None:
        for port in self.ports:
            try:
                upstream = socket.create_connection(("127.0.0.1", port), timeout=2)
            except OSError:
                continue
            upstream.settimeout(None)
            with self._lock:
                self.connections_by_port[port] += 1
            return upstream
        return None

    def _serve(self, client: socket.socket) -> None:
        upstream = self._connect()
        if upstream is None:
            client.close()
            return
        with self._lock:
            if self._closed.is_set():
                client.close()
                upstream.close()
                return
            self._conns.update((client, upstream))
        back = threading.Thread(target=self._pump, args=(upstream, client), daemon=True)
        back.start()
        self._pump(client, upstream)
        back.join()
        with self._lock:
            self._conns.discard(client)
            self._conns.discard(upstream)
        client.close()
        upstream.close()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(_CHUNK)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        # Either side ending ends both: a dead engine must look like a dropped connection.
        for sock in (src, dst):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() (Linux)
        self._listener.close()
        with self._lock:
            conns = list(self._conns)
        for sock in conns:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(5)
