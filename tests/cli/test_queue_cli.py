"""``assay-bridge queue list`` against a real engine process and worker."""

from __future__ import annotations

import pytest

from bridge.testing import EngineServer
from tests.cli.clikit import cli

Cap = pytest.CaptureFixture[str]


@pytest.mark.usefixtures("worker")
def test_queue_list_shows_the_workers_queue(engine_server: EngineServer, queue: str,
                                            capsys: Cap) -> None:
    r = cli(capsys, engine_server.url, "queue", "list")
    assert r.code == 0
    header, *rows = r.out.splitlines()
    assert header.split() == ["QUEUE", "PENDING", "RUNNING", "WORKERS"]
    assert [row.split() for row in rows if row.startswith(queue)] == [[queue, "0", "0", "1"]]
    stats = {q["queue"]: q for q in cli(capsys, engine_server.url, "queue", "list", "--json").json()}
    assert stats[queue]["workers"] == 1


def test_queue_list_of_an_empty_namespace(engine_server: EngineServer, capsys: Cap) -> None:
    r = cli(capsys, engine_server.url, "queue", "list", "--namespace", "nobody-here")
    assert r.code == 0 and r.out.strip() == "(none)"
    assert cli(capsys, "http://127.0.0.1:9", "queue", "list").code == 4
