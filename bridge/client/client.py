"""A typed Python client for the workflow HTTP API (assay's, and ``assay-bridge serve``'s).

Refusals come back as the engine's own error classes (:class:`~bridge.errors.WorkflowNotFoundError`,
:class:`~bridge.errors.WorkflowAlreadyExistsError`, ...), an unreachable engine as
:class:`~bridge.errors.EngineUnavailableError`, anything else unexpected as
:class:`~bridge.errors.EngineResponseError`.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import quote

import requests

from bridge.errors import (
    AuthError,
    ConflictError,
    EngineResponseError,
    EngineUnavailableError,
    InvalidRequestError,
    NotFoundError,
    StoreUnavailableError,
    WorkflowAlreadyExistsError,
    WorkflowFailedError,
    WorkflowNotFoundError,
)

TERMINAL_STATUSES = frozenset({"COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"})

#: The longest single ``/wait`` request; longer waits are made of several.
_WAIT_SLICE_S = 60.0


class Client:
    """Talks to a workflow engine over HTTP, with one keep-alive session.

    Args:
        url: the engine's base URL, e.g. ``http://127.0.0.1:8080``.
        token: an API key, sent as ``Authorization: Bearer <token>``.
        namespace: the namespace used when a call does not name one.
        timeout: seconds allowed for one request (not for :meth:`result`).

    Example::

        with Client("http://127.0.0.1:8080") as c:
            c.start_workflow("Pipeline", "order-1", {"x": 1})
            print(c.result("order-1", timeout=60))
    """

    def __init__(self, url: str = "http://127.0.0.1:8080", *, token: str | None = None,
                 namespace: str = "main", timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.namespace = namespace
        self.timeout = timeout
        self._session = requests.Session()
        if token:
            self._session.headers["Authorization"] = f"Bearer {token}"

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP session."""
        self._session.close()

    # -- workflows ------------------------------------------------------------------------------
    def start_workflow(self, workflow_type: str, workflow_id: str, input: Any = None, *,
                       task_queue: str = "default", namespace: str | None = None) -> dict[str, Any]:
        """Start a workflow; returns ``{workflow_id, run_id, status}``.

        Raises:
            WorkflowAlreadyExistsError: the id is taken (by ``assay-bridge serve``; assay's own
                engine answers 500 instead).
        """
        body: dict[str, Any] = {"workflow_type": workflow_type, "workflow_id": workflow_id,
                                "task_queue": task_queue,
                                "namespace": namespace or self.namespace}
        if input is not None:
            body["input"] = input
        out: dict[str, Any] = self._call("POST", "/workflows", body, conflict=WorkflowAlreadyExistsError)
        return out

    def get_workflow(self, workflow_id: str) -> dict[str, Any]:
        """The workflow's record (``input``/``result`` are JSON text, as on the wire)."""
        out: dict[str, Any] = self._call("GET", f"/workflows/{_seg(workflow_id)}",
                                         missing=WorkflowNotFoundError)
        return out

    def list_workflows(self, *, status: str | None = None, workflow_type: str | None = None,
                       limit: int = 50, offset: int = 0,
                       namespace: str | None = None) -> list[dict[str, Any]]:
        """Workflow records, newest first."""
        params: dict[str, Any] = {"namespace": namespace or self.namespace, "limit": limit,
                                  "offset": offset}
        if status:
            params["status"] = status
        if workflow_type:
            params["type"] = workflow_type
        out: list[dict[str, Any]] = self._call("GET", "/workflows", params=params)
        return out

    def events(self, workflow_id: str) -> list[dict[str, Any]]:
        """The workflow's history events, oldest first (payloads as JSON text)."""
        out: list[dict[str, Any]] = self._call("GET", f"/workflows/{_seg(workflow_id)}/events")
        return out

    def signal(self, workflow_id: str, name: str, payload: Any = None) -> None:
        """Send signal ``name`` with ``payload`` to a workflow."""
        self._call("POST", f"/workflows/{_seg(workflow_id)}/signal/{_seg(name)}",
                   {"payload": payload}, missing=WorkflowNotFoundError)

    def cancel(self, workflow_id: str) -> None:
        """Request cancellation; the workflow ends CANCELLED at its next step."""
        self._call("POST", f"/workflows/{_seg(workflow_id)}/cancel", {},
                   missing=WorkflowNotFoundError)

    def terminate(self, workflow_id: str, reason: str | None = None) -> None:
        """End a workflow at once as FAILED with ``reason``."""
        self._call("POST", f"/workflows/{_seg(workflow_id)}/terminate", {"reason": reason},
                   missing=WorkflowNotFoundError)

    def wait(self, workflow_id: str, timeout: float = 60.0) -> dict[str, Any]:
        """Block until the workflow is terminal (or ``timeout`` passes); returns its record.

        Uses ``assay-bridge serve``'s ``/wait`` long-poll; against an engine without it, falls
        back to polling the record.
        """
        deadline = time.monotonic() + timeout
        pause = 0.05
        while True:
            remaining = deadline - time.monotonic()
            try:
                record = self._call(
                    "GET", f"/workflows/{_seg(workflow_id)}/wait",
                    params={"timeout": max(0.0, min(remaining, _WAIT_SLICE_S))},
                    missing=WorkflowNotFoundError, read_timeout=min(remaining, _WAIT_SLICE_S) + 10,
                )
            except WorkflowNotFoundError:
                record = self.get_workflow(workflow_id)  # no /wait route: the workflow exists
                if record["status"] not in TERMINAL_STATUSES and remaining > 0:
                    time.sleep(min(pause, remaining))
                    pause = min(pause * 2, 1.0)
                    continue
            if record["status"] in TERMINAL_STATUSES or time.monotonic() >= deadline:
                return record

    def result(self, workflow_id: str, timeout: float = 60.0) -> Any:
        """Wait for the workflow and return its result as a Python value.

        Raises:
            WorkflowFailedError: it ended FAILED, CANCELLED or TIMED_OUT.
            TimeoutError: it was still running after ``timeout`` seconds.
        """
        record = self.wait(workflow_id, timeout)
        status = record["status"]
        if status == "COMPLETED":
            return None if record["result"] is None else json.loads(record["result"])
        if status in TERMINAL_STATUSES:
            raise WorkflowFailedError(workflow_id, status, record.get("error"))
        raise TimeoutError(f"workflow {workflow_id} still {status} after {timeout}s")

    # -- engine ------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        """``GET /health``; raises :class:`EngineUnavailableError` if the engine is down."""
        out: dict[str, Any] = self._call("GET", "/health")
        return out

    def _call(self, method: str, path: str, body: Any = None, *,
              params: dict[str, Any] | None = None,
              missing: type[NotFoundError] = NotFoundError,
              conflict: type[ConflictError] = ConflictError,
              read_timeout: float | None = None) -> Any:
        url = f"{self.url}/api/v1{path}"
        try:
            resp = self._session.request(
                method, url, json=body, params=params,
                timeout=(self.timeout, read_timeout or self.timeout),
            )
        except requests.RequestException as exc:
            raise EngineUnavailableError(f"{method} {url}: {exc}") from exc
        if resp.status_code < 300:
            return resp.json() if resp.content else None
        message = _error_text(resp)
        errors: dict[int, type[Exception]] = {
            400: InvalidRequestError, 422: InvalidRequestError, 401: AuthError, 403: AuthError,
            404: missing, 409: conflict, 503: StoreUnavailableError,
        }
        error_type = errors.get(resp.status_code)
        if error_type is None:
            raise EngineResponseError(resp.status_code, resp.text)
        raise error_type(message)


def _seg(value: str) -> str:
    return quote(value, safe="")


def _error_text(resp: requests.Response) -> str:
    try:
        data = resp.json()
    except ValueError:
        return resp.text or resp.reason
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        return str(data["error"])
    return resp.text
