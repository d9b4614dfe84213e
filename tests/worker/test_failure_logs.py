"""A worker logs each workflow failure it reports, with the workflow id and the error."""

from __future__ import annotations

import logging

import pytest

from bridge import Client, Worker
from bridge.testing import EngineServer
from tests.helpers import wait_until


def test_a_reported_workflow_failure_is_logged(engine_server: EngineServer, worker: Worker,
                                               queue: str,
                                               caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="assay")
    with Client(engine_server.url) as client:
        wid = client.start("Fails", task_queue=queue)["workflow_id"]
        client.wait(wid, timeout=60)
    wait_until(lambda: any(f"workflow {wid} failed: " in r.getMessage() and "no luck today"
                           in r.getMessage() for r in caplog.records),
               what="the failure in the worker's log")
