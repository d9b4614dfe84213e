"""A typed Python client for the workflow HTTP API (assay's, and ``assay-bridge serve``'s).

Refusals come back as the engine's own error classes (:class:`~bridge.errors.WorkflowNotFoundError`,
:class:`~bridge.errors.WorkflowAlreadyExistsError`, ...), an unreachable engine as
:class:`~bridge.errors.EngineUnavailableError`, anything else unexpected as
:class:`~bridge.errors.EngineResponseError`. ``_call`` is the one place where HTTP statuses
and transport failures become exceptions.

Records are returned as the engine sends them (engine-api §2.4: ``input``/``result`` as JSON
text), except :meth:`Client.describe`, which decodes them to Python values.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, TypeAlias
from urllib.parse import quote

import requests

from bridge.client.direct import DirectSender, Reply, Sender
from bridge.errors import (
    ConfigError,
    ConflictError,
    EngineResponseError,
    EngineUnavailableError,
    NotFoundError,
    WorkflowAlreadyExistsError,
    WorkflowFailedError,
    WorkflowNotFoundError,
)
from bridge.wire import (
    API_PREFIX,
    DEFAULT_NAMESPACE,
    DEFAULT_QUEUE,
    IN_PROCESS_URL,
    TERMINAL_STATUSES,
    InProcessEngine,
    error_for_status,
)

#: A list of records as the engine sends them.
Records: TypeAlias = "list[dict[str, Any]]"


#: The longest single ``/wait`` request; longer waits are made of several.
_WAIT_SLICE_S = 60.0
#: Polling pauses against an engine without ``/wait``: start, cap.
_POLL_FIRST_S = 0.05
_POLL_MAX_S = 1.0


def decode_json_text(text: Any) -> Any:
    """A record's JSON-text field as a Python value (None stays None; bad text stays text)."""
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


class Client:
    """Talks to a workflow engine over HTTP, with one keep-alive session.

    Args:
        url: the engine's base URL (default ``http://127.0.0.1:8080``).
        engine: an engine in this process (:class:`bridge.Engine`) instead of ``url``: calls
            are answered in-process, the same answers as over HTTP.
        token: an API key, sent as ``Authorization: Bearer <token>``.
        namespace: the namespace used when a call does not name one.
        timeout: seconds allowed for one request (not for :meth:`result`).
        wait_engine: until the engine has answered once, keep retrying a call that cannot
            connect for up to this many seconds (an engine that is still starting); then
            :class:`~bridge.errors.EngineUnavailableError`. 0 (the default) fails at once.

    Example::

        with Client("http://127.0.0.1:8080") as c:
            started = c.start("Pipeline", input={"x": 1})
            print(c.result(started["workflow_id"], timeout=60))

    Schedules are under :attr:`schedules` (``c.schedules.create(...)``).
    """

    def __init__(self, url: str | None = None, *, engine: InProcessEngine | None = None,
                 token: str | None = None, namespace: str = DEFAULT_NAMESPACE,
                 timeout: float = 30.0, wait_engine: float = 0.0) -> None:
        if engine is not None and url is not None:
            raise ConfigError("give a Client either url or engine, not both")
        if engine is not None:
            url = engine.url or IN_PROCESS_URL
        self.url = (url or "http://127.0.0.1:8080").rstrip("/")
        self.namespace = namespace
        self.timeout = timeout
        self.wait_engine = wait_engine
        self._answered = False
        self._session = requests.Session()
        if token:
            self._session.headers["Authorization"] = f"Bearer {token}"
        # an engine in this process, or a plain http:// one: the same requests without
        # requests' per-call work
        self._direct: Sender | None = None
        if engine is not None:
            from bridge.client.inprocess import InProcessAdapter, InProcessSender

            self._session.mount(f"{self.url}/", InProcessAdapter(engine))
            self._direct = InProcessSender(self._session, engine, self.url)
        elif DirectSender.serves(self._session, self.url):
            self._direct = DirectSender(self._session)
        self._wait_route: bool | None = None  # unknown until the first wait
        self.schedules = Schedules(self)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP session."""
        if self._direct is not None:
            self._direct.close()
        self._session.close()

    def __repr__(self) -> str:
        return f"<Client {self.url} namespace={self.namespace}>"

    # -- workflows ------------------------------------------------------------------------------
    def start(self, workflow_type: str, workflow_id: str | None = None, input: Any = None, *,
              task_queue: str = DEFAULT_QUEUE, namespace: str | None = None) -> dict[str, Any]:
        """Start a workflow; returns ``{workflow_id, run_id, status}`` like Lua ``workflow.start``.

        Args:
            workflow_type: the registered workflow name.
            workflow_id: the id; a new ``<type>-<12 hex digits>`` when None.
            input: any JSON-able value (None sends none).
            task_queue: the queue whose workers run it.
            namespace: default: the client's.

        Raises:
            WorkflowAlreadyExistsError: the id is taken (by ``assay-bridge serve``; assay's own
                engine answers 500, an :class:`EngineResponseError`).
        """
        if workflow_id is None:
            workflow_id = f"{workflow_type}-{uuid.uuid4().hex[:12]}"
        body: dict[str, Any] = {"workflow_type": workflow_type, "workflow_id": workflow_id,
                                "task_queue": task_queue,
                                "namespace": namespace or self.namespace}
        if input is not None:
            body["input"] = input
        out: dict[str, Any] = self._call("POST", "/workflows", body,
                                         conflict=WorkflowAlreadyExistsError)
        return out

    def get_workflow(self, workflow_id: str) -> dict[str, Any]:
        """The workflow's record as on the wire (``input``/``result`` are JSON text)."""
        out: dict[str, Any] = self._call("GET", f"/workflows/{_seg(workflow_id)}",
                                         missing=WorkflowNotFoundError)
        return out

    def describe(self, workflow_id: str) -> dict[str, Any]:
        """The workflow's record with ``input`` and ``result`` decoded to Python values.

        Raises:
            WorkflowNotFoundError: no workflow has that id.
        """
        return decode_record(self.get_workflow(workflow_id))

    def list(self, *, status: str | None = None, type: str | None = None, limit: int = 50,
             offset: int = 0, namespace: str | None = None, stalled: bool = False) -> Records:
        """Workflow records (as on the wire), newest first.

        Args:
            status: only this status (``RUNNING``, ``COMPLETED``, ...; case-insensitive here).
            type: only this workflow type.
            limit: at most this many.
            offset: skip this many.
            namespace: default: the client's.
            stalled: only workflows waiting on a workflow type or activity that no live worker
                serves (an ``assay-bridge serve`` filter; assay's engine ignores it).
        """
        params: dict[str, Any] = {"namespace": namespace or self.namespace, "limit": limit,
                                  "offset": offset}
        if stalled:
            params["stalled"] = "true"
        if status:
            params["status"] = status.upper()
        if type:
            params["type"] = type
        out: Records = self._call("GET", "/workflows", params=params)
        return out

    def events(self, workflow_id: str) -> Records:
        """The workflow's history events, oldest first (payloads as JSON text, as on the wire).

        An unknown id gives ``[]`` (engine-api §1.2).
        """
        out: Records = self._call("GET", f"/workflows/{_seg(workflow_id)}/events")
        return out

    def children(self, workflow_id: str) -> Records:
        """Records of the workflow's child workflows, oldest first (``[]`` if none)."""
        out: Records = self._call("GET", f"/workflows/{_seg(workflow_id)}/children")
        return out

    def signal(self, workflow_id: str, name: str, payload: Any = None) -> None:
        """Send signal ``name`` with ``payload`` to a workflow.

        Raises:
            WorkflowNotFoundError: no such workflow.
            ConflictError: it has finished already (``assay-bridge serve``; compat-policy).
        """
        self._call("POST", f"/workflows/{_seg(workflow_id)}/signal/{_seg(name)}",
                   {"payload": payload}, missing=WorkflowNotFoundError)

    def cancel(self, workflow_id: str) -> None:
        """Request cancellation; the workflow ends CANCELLED at its next step.

        Raises:
            WorkflowNotFoundError: no such workflow, or it has finished already.
        """
        self._call("POST", f"/workflows/{_seg(workflow_id)}/cancel", {},
                   missing=WorkflowNotFoundError)

    def terminate(self, workflow_id: str, reason: str | None = None) -> None:
        """End a workflow at once as FAILED with ``reason`` (default ``"terminated"``).

        Raises:
            WorkflowNotFoundError: no such workflow, or it has finished already.
        """
        self._call("POST", f"/workflows/{_seg(workflow_id)}/terminate", {"reason": reason},
                   missing=WorkflowNotFoundError)

    def wait(self, workflow_id: str, timeout: float | None = 60.0) -> dict[str, Any]:
        """Block until the workflow is terminal or ``timeout`` passes; returns its record.

        Uses ``assay-bridge serve``'s ``/wait`` long-poll (the engine answers the moment the
        workflow ends); against an engine without that route (assay's own), polls the record
        with a pause growing from 0.05 s to 1 s. ``timeout=None`` waits as long as it takes.

        Raises:
            WorkflowNotFoundError: no such workflow.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        pause = _POLL_FIRST_S
        while True:
            remaining = _WAIT_SLICE_S if deadline is None else deadline - time.monotonic()
            slice_s = max(0.0, min(remaining, _WAIT_SLICE_S))
            if self._wait_route is not False:
                record = self._long_poll(workflow_id, slice_s)
            else:
                record = None
            if record is None:  # no /wait route: poll
                record = self.get_workflow(workflow_id)
                if record["status"] not in TERMINAL_STATUSES and remaining > 0:
                    time.sleep(min(pause, remaining))
                    pause = min(pause * 2, _POLL_MAX_S)
                    continue
            if record["status"] in TERMINAL_STATUSES:
                return record
            if deadline is not None and time.monotonic() >= deadline:
                return record

    def _long_poll(self, workflow_id: str, slice_s: float) -> dict[str, Any] | None:
        try:
            record: dict[str, Any] = self._call(
                "GET", f"/workflows/{_seg(workflow_id)}/wait", params={"timeout": slice_s},
                missing=WorkflowNotFoundError, read_timeout=slice_s + self.timeout,
            )
        except WorkflowNotFoundError:
            self.get_workflow(workflow_id)  # raises if the workflow itself is missing
            self._wait_route = False        # it exists, so the route does not
            return None
        self._wait_route = True
        return record

    def result(self, workflow_id: str, timeout: float | None = None) -> Any:
        """Wait for the workflow to finish and return its result as a Python value.

        Args:
            workflow_id: the workflow.
            timeout: seconds to wait at most; None waits as long as it takes.

        Raises:
            WorkflowFailedError: it ended FAILED, CANCELLED or TIMED_OUT (``.error`` holds
                the engine's error text).
            WorkflowNotFoundError: no such workflow.
            TimeoutError: it was still running after ``timeout`` seconds.
        """
        record = self.wait(workflow_id, timeout)
        return _outcome(record, timeout)

    # -- workers, queues, engine -----------------------------------------------------------
    def workers(self, *, namespace: str | None = None) -> Records:
        """Registered workers (``workflows``/``activities`` as JSON text, as on the wire)."""
        out: Records = self._call(
            "GET", "/workers", params={"namespace": namespace or self.namespace})
        return out

    def queues(self, *, namespace: str | None = None) -> Records:
        """``[{queue, pending_activities, running_activities, workers}]`` of the namespace."""
        out: Records = self._call(
            "GET", "/queues", params={"namespace": namespace or self.namespace})
        return out

    def health(self) -> dict[str, Any]:
        """``GET /health``; raises :class:`EngineUnavailableError` if the engine is down."""
        out: dict[str, Any] = self._call("GET", "/health")
        return out

    def _call(self, method: str, path: str, body: Any = None, *,
              params: dict[str, Any] | None = None,
              missing: type[NotFoundError] = NotFoundError,
              conflict: type[ConflictError] = ConflictError,
              read_timeout: float | None = None) -> Any:
        url = f"{self.url}{API_PREFIX}{path}"
        deadline = time.monotonic() + (0.0 if self._answered else self.wait_engine)
        delay = 0.05
        while True:
            timeout = (self.timeout, read_timeout or self.timeout)
            try:
                resp: Reply | requests.Response | None = None if self._direct is None else \
                    self._direct.send(method, url, body, params, timeout)
                if resp is None:
                    resp = self._session.request(method, url, json=body, params=params,
                                                 timeout=timeout)
                break
            except requests.ConnectionError as exc:
                # not connected: nothing was sent, so any call may be tried again
                if isinstance(exc, requests.ReadTimeout) or time.monotonic() >= deadline:
                    raise EngineUnavailableError(f"{method} {url}: {_reason(exc)}") from exc
                time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
                delay = min(delay * 2, 0.5)
            except requests.RequestException as exc:
                raise EngineUnavailableError(f"{method} {url}: {_reason(exc)}") from exc
        self._answered = True
        if resp.status_code < 300:
            if not resp.content:
                return None
            try:
                return resp.json()
            except ValueError as exc:  # not an engine answering (a proxy's page, ...)
                raise EngineResponseError(resp.status_code, resp.text) from exc
        message = _error_text(resp)
        error_type: type[Exception] | None = error_for_status(resp.status_code)
        if error_type is NotFoundError:
            error_type = missing
        elif error_type is ConflictError:
            error_type = conflict
        if error_type is None:
            raise EngineResponseError(resp.status_code, resp.text)
        raise error_type(message)


class Schedules:
    """Cron schedules, reached as ``client.schedules``.

    ``pause``/``resume`` are routes of ``assay-bridge serve`` (compat-policy); assay's engine
    answers them 404, a :class:`~bridge.errors.NotFoundError`.
    """

    def __init__(self, client: Client) -> None:
        self._client = client

    def _params(self, namespace: str | None) -> dict[str, Any]:
        return {"namespace": namespace or self._client.namespace}

    def create(self, name: str, workflow_type: str, cron: str, *, input: Any = None,
               task_queue: str = DEFAULT_QUEUE, overlap_policy: str | None = None,
               namespace: str | None = None) -> dict[str, Any]:
        """Create a schedule; returns its record.

        Args:
            name: the schedule's name (unique in the namespace).
            workflow_type: the workflow each firing starts.
            cron: 5 fields (minute first) or 6/7 fields (seconds first), e.g.
                ``"0 0 2 * * *"`` for 02:00 every day.
            input: the input of each started workflow.
            task_queue: the queue of each started workflow.
            overlap_policy: the engine's overlap policy (default ``skip``).
            namespace: default: the client's.

        Raises:
            InvalidRequestError: the cron expression does not parse.
            ConflictError: a schedule of that name exists.
        """
        body: dict[str, Any] = {"name": name, "workflow_type": workflow_type, "cron_expr": cron,
                                "task_queue": task_queue,
                                "namespace": namespace or self._client.namespace}
        if input is not None:
            body["input"] = input
        if overlap_policy is not None:
            body["overlap_policy"] = overlap_policy
        out: dict[str, Any] = self._client._call("POST", "/schedules", body)
        return out

    def list(self, *, namespace: str | None = None) -> Records:
        """The namespace's schedules, by name (``input`` as JSON text)."""
        out: Records = self._client._call("GET", "/schedules",
                                                       params=self._params(namespace))
        return out

    def get(self, name: str, *, namespace: str | None = None) -> dict[str, Any]:
        """One schedule's record; raises :class:`~bridge.errors.NotFoundError` if unknown."""
        out: dict[str, Any] = self._client._call("GET", f"/schedules/{_seg(name)}",
                                                 params=self._params(namespace))
        return out

    def pause(self, name: str, *, namespace: str | None = None) -> dict[str, Any]:
        """Stop a schedule from firing; returns its record."""
        out: dict[str, Any] = self._client._call("POST", f"/schedules/{_seg(name)}/pause", {},
                                                 params=self._params(namespace))
        return out

    def resume(self, name: str, *, namespace: str | None = None) -> dict[str, Any]:
        """Let a paused schedule fire again, from its next matching time; returns its record."""
        out: dict[str, Any] = self._client._call("POST", f"/schedules/{_seg(name)}/resume", {},
                                                 params=self._params(namespace))
        return out

    def delete(self, name: str, *, namespace: str | None = None) -> None:
        """Delete a schedule; workflows it started are not touched."""
        self._client._call("DELETE", f"/schedules/{_seg(name)}", params=self._params(namespace))


def decode_record(record: dict[str, Any]) -> dict[str, Any]:
    """A copy of a workflow or schedule record with ``input``/``result`` as Python values."""
    out = dict(record)
    for key in ("input", "result"):
        if key in out:
            out[key] = decode_json_text(out[key])
    return out


def _outcome(record: dict[str, Any], timeout: float | None) -> Any:
    status = record["status"]
    if status == "COMPLETED":
        return decode_json_text(record["result"])
    if status in TERMINAL_STATUSES:
        raise WorkflowFailedError(record["id"], status, record.get("error"))
    waits = waits_text(record.get("waiting_on"))
    raise TimeoutError(f"workflow {record['id']} still {status} after {timeout}s"
                       + (f"; waiting on: {waits}" if waits else ""))


def waits_text(waiting_on: Any) -> str:
    """A record's ``waiting_on`` in words, ``"; "``-joined (``""`` for none)."""
    return "; ".join(str(w.get("text") or w.get("kind")) for w in waiting_on or []
                     if isinstance(w, dict))


def _seg(value: str) -> str:
    return quote(value, safe="")


def _reason(exc: requests.RequestException) -> str:
    text = str(exc)
    if "Connection refused" in text:
        return "connection refused (is the engine running?)"
    if isinstance(exc, requests.Timeout):
        return "timed out"
    return text


def _error_text(resp: requests.Response | Reply) -> str:
    try:
        data = resp.json()
    except ValueError:
        return resp.text or resp.reason
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        return str(data["error"])
    return resp.text
