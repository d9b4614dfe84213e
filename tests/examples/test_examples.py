"""Every example runs through its README's commands against a real engine process."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path


from bridge import Client
from bridge.testing import EngineServer
from tests.helpers import wait_until
from tests.examples.readme import ROOT, blocks, environment, run_readme
from tests.testing.pytest_run import onboarding_engine, run_shell_lines, shell_environment

EXAMPLES = ROOT / "examples"


def test_every_example_has_a_readme_with_commands() -> None:
    folders = sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir() and p.name[0] != "_")
    assert {"hello", "approval", "mixed", "nightly", "python-only"} <= set(folders)
    for name in folders:
        readme = EXAMPLES / name / "README.md"
        assert readme.is_file(), name
        assert any(b.commands for b in blocks(readme)), name


def test_hello(fresh_engine_server: EngineServer, tmp_path: Path) -> None:
    run = run_readme(EXAMPLES / "hello" / "README.md", fresh_engine_server.url, tmp_path)
    assert "COMPLETED" in run.stdout("assay-bridge workflow describe hello-1")
    events = run.stdout("assay-bridge workflow events hello-1")
    assert "ActivityCompleted" in events and "WorkflowCompleted" in events


def test_approval(fresh_engine_server: EngineServer, tmp_path: Path) -> None:
    run_readme(EXAMPLES / "approval" / "README.md", fresh_engine_server.url, tmp_path)
    with Client(fresh_engine_server.url) as c:
        kinds = [e["event_type"] for e in c.events("approval-1")]
    assert "SignalReceived" in kinds


def test_mixed(fresh_engine_server: EngineServer, tmp_path: Path) -> None:
    run = run_readme(EXAMPLES / "mixed" / "README.md", fresh_engine_server.url, tmp_path)
    assert json.loads(run.stdout("assay-bridge workflow result order-1"))["review"]["verdict"] \
        == "reject"
    assert "order-1-review" in run.stdout("assay-bridge workflow children order-1")


def test_nightly(fresh_engine_server: EngineServer, tmp_path: Path) -> None:
    run = run_readme(EXAMPLES / "nightly" / "README.md", fresh_engine_server.url, tmp_path)
    result = json.loads(run.stdout("assay-bridge workflow result report-now"))
    assert result["items"] == 2 and result["rows"] == 130
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", result["date"])
    assert [p["item"] for p in result["parts"]] == ["orders", "refunds"]
    children = run.stdout("assay-bridge workflow children report-now")
    assert "report-now-orders" in children and "report-now-refunds" in children
    assert "nightly" in run.stdout("assay-bridge schedule list")


def test_nightly_schedule_fires_and_runs_the_report(fresh_engine_server: EngineServer,
                                                    tmp_path: Path) -> None:
    env = environment(fresh_engine_server.url)
    worker = subprocess.Popen(
        [sys.executable, "-m", "bridge", "run", "examples/nightly/worker.lua"], cwd=ROOT,
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with Client(fresh_engine_server.url) as c:
            c.schedules.create("every-second", "NightlyReport", "* * * * * *",
                               input={"items": ["a"]})
            # the engine offers no event for "a schedule fired": poll its record
            fired = wait_until(lambda: c.schedules.get("every-second")["last_workflow_id"],
                               timeout_s=30, interval_s=0.1, what="the schedule to fire")
            c.schedules.pause("every-second")
            result = c.result(fired, timeout=60)
            assert result["rows"] == 10
            assert result["date"] <= datetime.now(timezone.utc).strftime("%Y-%m-%d")
    finally:
        worker.send_signal(signal.SIGINT)
        assert worker.wait(30) == 0


def test_python_only(fresh_engine_server: EngineServer, tmp_path: Path) -> None:
    run = run_readme(EXAMPLES / "python-only" / "README.md", fresh_engine_server.url, tmp_path)
    failed = [out for cmd, out in run.outputs.items() if cmd.endswith('echo "exit code $?"')]
    assert failed[0].stdout.strip() == "exit code 1"
    assert "unknown sku 'kiwi'" in failed[0].stderr


def test_testing(tmp_path: Path) -> None:
    # the sample project's README, run in a copy of the sample as its user would: its tests
    # (fixture from the installed plugin), then the replay command against an engine
    project = tmp_path / "testing"
    shutil.copytree(EXAMPLES / "testing", project,
                    ignore=shutil.ignore_patterns("__pycache__", "*.db"))
    lines = [line for block in blocks(EXAMPLES / "testing" / "README.md")
             for line in block.commands]
    assert any(line.startswith("python -m pytest") for line in lines)
    with onboarding_engine(project / "workflows.lua") as url:
        outcomes = run_shell_lines(lines, project, shell_environment(url))
    for line, done in outcomes.items():
        if line.startswith("python -m pytest"):
            assert "5 passed" in done.stdout, done.stdout
        if "workflow replay" in line:
            assert "replay OK" in done.stdout, done.stdout
