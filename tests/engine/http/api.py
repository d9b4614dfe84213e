"""``Api``: a requests session bound to one engine process's ``/api/v1``, and an SSE reader."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import requests

from bridge.testing import EngineServer

#: Per-request timeout, so a hung server fails a test instead of hanging the run.
TIMEOUT_S = 10.0


class Api:
    """A requests session bound to one engine's ``/api/v1``."""

    def __init__(self, server: EngineServer, token: str | None = None) -> None:
        self.server = server
        self.session = requests.Session()
        if token is not None:
            self.session.headers["Authorization"] = f"Bearer {token}"

    @property
    def base(self) -> str:
        return self.server.api_url

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", TIMEOUT_S)
        return self.session.request(method, self.base + path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> requests.Response:
        if json is not None:
            kwargs["json"] = json
        return self.request("POST", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- protocol helpers ------------------------------------------------------------------

    def start(self, workflow_id: str, workflow_type: str = "Demo", **fields: Any) -> dict[str, Any]:
        resp = self.post("/workflows", {"workflow_type": workflow_type,
                                        "workflow_id": workflow_id, **fields})
        assert resp.status_code == 201, resp.text
        body: dict[str, Any] = resp.json()
        return body

    def claim(self, queue: str, worker_id: str = "w-test") -> dict[str, Any]:
        """Claim the workflow task on ``queue``; fails the test if there is none."""
        resp = self.post("/workflow-tasks/poll", {"queue": queue, "worker_id": worker_id})
        assert resp.status_code == 200, resp.text
        task = resp.json()
        assert task is not None, "expected a workflow task"
        assert isinstance(task, dict)
        return task

    def commands(self, workflow_id: str, commands: list[dict[str, Any]],
                 worker_id: str = "w-test") -> requests.Response:
        return self.post(f"/workflow-tasks/{workflow_id}/commands",
                         {"worker_id": worker_id, "commands": commands})


def read_sse(resp: requests.Response) -> Iterator[tuple[str, str]]:
    """Yield ``(event, data)`` per SSE message; a comment line yields ``("comment", text)``."""
    event, data = "message", []
    for raw in resp.iter_lines(decode_unicode=True):
        line = raw if isinstance(raw, str) else raw.decode()
        if line.startswith(":"):
            yield "comment", line[1:].strip()
        elif line.startswith("event:"):
            event = line[len("event:"):].strip()
        elif line.startswith("data:"):
            data.append(line[len("data:"):].strip())
        elif line == "" and data:
            yield event, "\n".join(data)
            event, data = "message", []
