"""``assay-bridge schedule ...`` against a real engine process."""

from __future__ import annotations

import pytest

from bridge.testing import EngineServer
from tests.cli.clikit import cli
from tests.helpers import new_id

Cap = pytest.CaptureFixture[str]


def test_create_list_get_pause_resume_delete(engine_server: EngineServer, capsys: Cap) -> None:
    name = new_id("nightly")
    r = cli(capsys, engine_server.url, "schedule", "create", name, "--type", "Report",
            "--cron", "0 0 2 * * *", "--input", '{"items": ["a"]}', "--queue", "reports")
    assert r.code == 0, r.err
    assert f"name:          {name}" in r.out and 'input:         {"items": ["a"]}' in r.out
    r = cli(capsys, engine_server.url, "schedule", "list")
    header, *rows = r.out.splitlines()
    assert header.split()[:4] == ["NAME", "TYPE", "CRON", "QUEUE"]
    mine = [row for row in rows if row.startswith(name)]
    assert mine and "0 0 2 * * *" in mine[0] and "reports" in mine[0]
    got = cli(capsys, engine_server.url, "schedule", "get", name, "--json").json()
    assert got["input"] == {"items": ["a"]} and got["paused"] is False
    r = cli(capsys, engine_server.url, "schedule", "pause", name)
    assert r.code == 0 and r.out.strip() == f"paused schedule {name}"
    assert cli(capsys, engine_server.url, "schedule", "get", name, "--json").json()["paused"] is True
    r = cli(capsys, engine_server.url, "schedule", "resume", name, "--json")
    assert r.code == 0 and r.json()["paused"] is False
    r = cli(capsys, engine_server.url, "schedule", "delete", name)
    assert r.code == 0 and r.out.strip() == f"deleted schedule {name}"
    names = [s["name"] for s in cli(capsys, engine_server.url, "schedule", "list", "--json").json()]
    assert name not in names


def test_five_field_cron_is_accepted(engine_server: EngineServer, capsys: Cap) -> None:
    name = new_id("five")
    assert cli(capsys, engine_server.url, "schedule", "create", name, "--type", "R",
               "--cron", "30 2 * * *").code == 0
    assert cli(capsys, engine_server.url, "schedule", "delete", name).code == 0


def test_errors_map_to_exit_codes(engine_server: EngineServer, capsys: Cap) -> None:
    missing = new_id("missing")
    for verb in ("get", "pause", "resume", "delete"):
        r = cli(capsys, engine_server.url, "schedule", verb, missing)
        assert r.code == 3 and "not found" in r.err, verb
    r = cli(capsys, engine_server.url, "schedule", "create", new_id("s"), "--type", "R", "--cron", "nope")
    assert r.code == 2
    assert cli(capsys, engine_server.url, "schedule", "create", "x", "--cron", "* * * * *").code == 2
    r = cli(capsys, engine_server.url, "schedule", "create", "x", "--type", "R", "--cron", "0 2 * * *",
            "--input", "[1,")
    assert r.code == 2 and "--input" in r.err
    name = new_id("dup")
    cli(capsys, engine_server.url, "schedule", "create", name, "--type", "R", "--cron", "0 2 * * *")
    r = cli(capsys, engine_server.url, "schedule", "create", name, "--type", "R", "--cron", "0 2 * * *")
    assert r.code == 1
    assert cli(capsys, "http://127.0.0.1:9", "schedule", "list").code == 4
