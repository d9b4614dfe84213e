"""The replay checker: histories recorded by real Lua and Python workflows on a real engine,
replayed in-process against unchanged and changed code, through the API and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bridge import Client, NonDeterminismError, Worker, WorkflowContext, WorkflowFailedError
from bridge.testing import EngineServer, replay
from tests.helpers import wait_until

LUA = """
local workflow = require("assay.workflow")

workflow.define("Order", function(ctx, input)
    local charged = ctx:execute_activity("charge", { amount = input.amount })
    ctx:sleep(0.05)
    local ref = ctx:side_effect("ref", function() return "ref-1" end)
    local decision = ctx:wait_for_signal("approve")
    local receipt = ctx:start_child_workflow("Receipt", {
        workflow_id = ctx.workflow_id .. "-receipt", input = { ref = ref } })
    return { charged = charged.ok, ref = ref, by = decision.by, receipt = receipt }
end)

workflow.define("Receipt", function(ctx, input) return "receipt for " .. input.ref end)

workflow.activity("charge", function(ctx, input) return { ok = input.amount > 0 } end)

workflow.connect(env.get("ASSAY_ENGINE_URL") or "http://localhost:8080")
workflow.listen({ queue = "default" })
"""

RESULT = {"charged": True, "ref": "ref-1", "by": "ann", "receipt": "receipt for ref-1"}

PY_WORKER = '''
from bridge import Worker

worker = Worker("http://127.0.0.1:9", log_stderr=False)


@worker.workflow("PyOrder")
def py_order(ctx, input):
    charged = ctx.execute_activity("charge", {"amount": input["amount"]})
    ctx.sleep(0.05)
    ref = ctx.side_effect("ref", lambda: "ref-1")
    decision = ctx.wait_for_signal("approve")
    receipt = ctx.start_child_workflow("Receipt", workflow_id=ctx.workflow_id + "-receipt",
                                       input={"ref": ref})
    return {"charged": charged["ok"], "ref": ref, "by": decision["by"], "receipt": receipt}
'''


def py_order(ctx: WorkflowContext, input: Any) -> Any:
    charged = ctx.execute_activity("charge", {"amount": input["amount"]})
    ctx.sleep(0.05)
    ref = ctx.side_effect("ref", lambda: "ref-1")
    decision = ctx.wait_for_signal("approve")
    receipt = ctx.start_child_workflow("Receipt", workflow_id=ctx.workflow_id + "-receipt",
                                       input={"ref": ref})
    return {"charged": charged["ok"], "ref": ref, "by": decision["by"], "receipt": receipt}


@pytest.fixture(scope="module")
def lua_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("replay") / "workflows.lua"
    path.write_text(LUA)
    return path


@pytest.fixture(scope="module")
def recorder(engine_server: EngineServer, lua_file: Path) -> Iterator[Worker]:
    """A worker serving the Lua Order (from the file) and the Python PyOrder."""
    w = Worker(engine_server.url, queue="default", log_stderr=False)
    w.load_lua(lua_file)
    w.workflow("PyOrder")(py_order)
    w.start()
    assert w.wait_registered(timeout=30)
    yield w
    w.stop()
    w.join(timeout=30)
    assert w.errors == []


def run_order(client: Client, workflow_type: str, workflow_id: str) -> list[dict[str, Any]]:
    """Run an order to the end (signalled once it waits); its recorded history."""
    client.start(workflow_type, workflow_id, {"amount": 5})
    wait_until(lambda: any(e["event_type"] == "WorkflowAwaitingSignal"
                           for e in client.events(workflow_id)), timeout_s=30,
               what="the wait for the signal")
    client.signal(workflow_id, "approve", {"by": "ann"})
    assert client.result(workflow_id, timeout=30) == RESULT
    return client.events(workflow_id)


@pytest.fixture(scope="module")
def client(engine_server: EngineServer) -> Iterator[Client]:
    with Client(engine_server.url) as c:
        yield c


@pytest.fixture(scope="module")
def lua_history(client: Client, recorder: Worker) -> list[dict[str, Any]]:
    return run_order(client, "Order", "order-lua")


@pytest.fixture(scope="module")
def py_history(client: Client, recorder: Worker) -> list[dict[str, Any]]:
    return run_order(client, "PyOrder", "order-py")


def seq_of(history: list[dict[str, Any]], event_type: str) -> int:
    return int(next(e["seq"] for e in history if e["event_type"] == event_type))


def changed(old: str, new: str) -> str:
    assert old in LUA
    return LUA.replace(old, new)


# -- unchanged code ---------------------------------------------------------------------------
def test_unchanged_lua_code_replays_and_returns_the_result(
        lua_history: list[dict[str, Any]], lua_file: Path) -> None:
    assert replay(lua_history, "Order", lua=lua_file) == RESULT
    assert replay(lua_history, "Order", lua=str(lua_file)) == RESULT


def test_unchanged_python_code_replays_from_the_worker_or_its_functions(
        py_history: list[dict[str, Any]], recorder: Worker) -> None:
    assert replay(py_history, "PyOrder", handlers=recorder) == RESULT
    assert replay(py_history, "PyOrder", handlers={"PyOrder": py_order}) == RESULT


# -- changed code, Lua -------------------------------------------------------------------------
LUA_CHANGES = {
    "activity name": (('"charge", { amount', '"charge_card", { amount'), "ActivityScheduled",
                      "'charge_card'"),
    "activity input": (("{ amount = input.amount }", "{ amount = input.amount * 100 }"),
                       "ActivityScheduled", '{"amount": 500}'),
    "timer length": (("ctx:sleep(0.05)", "ctx:sleep(60)"), "TimerScheduled", "a timer of 60 s"),
    "timer removed": (("ctx:sleep(0.05)", ""), "TimerScheduled", "side effect 'ref'"),
    "side effect name": (('"ref", function', '"reference", function'), "SideEffectRecorded",
                         "side effect 'reference'"),
    "signal name": (('wait_for_signal("approve")', 'wait_for_signal("approved")'),
                    "WorkflowAwaitingSignal", "a wait for signal 'approved'"),
    "child type": (('"Receipt", {\n', '"Invoice", {\n'), "ChildWorkflowStarted",
                   "of type 'Invoice'"),
    "child id": (('.. "-receipt"', '.. "-invoice"'), "ChildWorkflowStarted",
                 "child workflow 'order-lua-invoice'"),
    "result": (("by = decision.by,", "by = decision.by, extra = 1,"), "WorkflowCompleted",
               '"extra": 1'),
    "step added": (("    return { charged", '    ctx:execute_activity("audit")\n    return { charged'),
                   "WorkflowCompleted", "activity 'audit' (activity seq 2)"),
    "timer before the activity": (
        ('local charged = ctx:execute_activity("charge", { amount = input.amount })\n'
         '    ctx:sleep(0.05)',
         'ctx:sleep(0.05)\n'
         '    local charged = ctx:execute_activity("charge", { amount = input.amount })'),
        "ActivityScheduled", "a timer of 0.05 s"),
}


@pytest.mark.parametrize("change", sorted(LUA_CHANGES))
def test_changed_lua_code_is_caught_at_the_first_event_it_contradicts(
        lua_history: list[dict[str, Any]], change: str) -> None:
    (old, new), event_type, asked = LUA_CHANGES[change]
    with pytest.raises(NonDeterminismError) as caught:
        replay(lua_history, "Order", lua=changed(old, new))
    exc = caught.value
    assert (exc.seq, exc.event_type) == (seq_of(lua_history, event_type), event_type), str(exc)
    assert asked in exc.asked, str(exc)
    assert exc.workflow_id == "order-lua" and exc.workflow_type == "Order"
    assert f"at event {exc.seq} ({event_type})" in str(exc)


# -- changed code, Python ----------------------------------------------------------------------
def py_renamed_activity(ctx: WorkflowContext, input: Any) -> Any:
    ctx.execute_activity("charge_card", {"amount": input["amount"]})
    return None


def py_renamed_signal(ctx: WorkflowContext, input: Any) -> Any:
    charged = ctx.execute_activity("charge", {"amount": input["amount"]})
    ctx.sleep(0.05)
    ref = ctx.side_effect("ref", lambda: "ref-1")
    decision = ctx.wait_for_signal("approval")
    return {"charged": charged, "ref": ref, "decision": decision}


def py_other_child(ctx: WorkflowContext, input: Any) -> Any:
    ctx.execute_activity("charge", {"amount": input["amount"]})
    ctx.sleep(0.05)
    ctx.side_effect("ref", lambda: "ref-1")
    ctx.wait_for_signal("approve")
    return ctx.start_child_workflow("Invoice", workflow_id=ctx.workflow_id + "-receipt")


def py_activity_for_timer(ctx: WorkflowContext, input: Any) -> Any:
    ctx.execute_activity("charge", {"amount": input["amount"]})
    ctx.execute_activity("wait_a_bit")
    return None


@pytest.mark.parametrize("fn, event_type, recorded, asked", [
    (py_renamed_activity, "ActivityScheduled", "activity 'charge'", "activity 'charge_card'"),
    (py_renamed_signal, "WorkflowAwaitingSignal", "signal 'approve'", "signal 'approval'"),
    (py_other_child, "ChildWorkflowStarted", "type 'Receipt'", "type 'Invoice'"),
    (py_activity_for_timer, "TimerScheduled", "a timer of 0.05 s", "activity 'wait_a_bit'"),
], ids=["activity", "signal", "child", "timer"])
def test_changed_python_code_is_caught(py_history: list[dict[str, Any]], fn: Any,
                                       event_type: str, recorded: str, asked: str) -> None:
    with pytest.raises(NonDeterminismError) as caught:
        replay(py_history, "PyOrder", handlers={"PyOrder": fn})
    exc = caught.value
    assert (exc.seq, exc.event_type) == (seq_of(py_history, event_type), event_type), str(exc)
    assert recorded in exc.recorded and asked in exc.asked, str(exc)


# -- histories from files, open and failed histories --------------------------------------------
def test_history_from_a_json_file_in_both_shapes(
        lua_history: list[dict[str, Any]], lua_file: Path, tmp_path: Path) -> None:
    wire = tmp_path / "wire.json"  # payloads as JSON text, as GET /events sends them
    wire.write_text(json.dumps(lua_history))
    parsed = tmp_path / "parsed.json"
    parsed.write_text(json.dumps([{**e, "payload": json.loads(e["payload"])
                                   if e["payload"] is not None else None}
                                  for e in lua_history]))
    for path in (wire, parsed, str(wire)):
        assert replay(path, "Order", lua=lua_file) == RESULT
        with pytest.raises(NonDeterminismError, match="'charge_card'"):
            replay(path, "Order", lua=changed('"charge", { amount', '"charge_card", { amount'))


def test_an_open_history_returns_none_while_the_code_waits(
        client: Client, recorder: Worker, lua_file: Path) -> None:
    client.start("Order", "order-open", {"amount": 5})
    history = wait_until(lambda: [e for e in client.events("order-open")
                                  if e["event_type"] == "WorkflowAwaitingSignal"]
                         and client.events("order-open"), timeout_s=30)
    assert replay(history, "Order", lua=lua_file) is None
    with pytest.raises(NonDeterminismError) as caught:
        replay(history, "Order", lua=changed('wait_for_signal("approve")',
                                              'wait_for_signal("go")'))
    assert caught.value.event_type == "WorkflowAwaitingSignal"
    client.cancel("order-open")
    wait_until(lambda: client.get_workflow("order-open")["status"] == "CANCELLED", timeout_s=30)
    with pytest.raises(WorkflowFailedError) as ended:
        replay(client.events("order-open"), "Order", lua=lua_file)
    assert ended.value.status == "CANCELLED"


def test_a_history_of_another_workflow_type_is_a_config_error(
        lua_history: list[dict[str, Any]], lua_file: Path) -> None:
    from bridge import ConfigError

    with pytest.raises(ConfigError, match="no workflow 'Nope'"):
        replay(lua_history, "Nope", lua=lua_file)


# -- the CLI -----------------------------------------------------------------------------------
def cli(*argv: str, url: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bridge", "workflow", *argv, "--url", url],
                          text=True, capture_output=True, timeout=120, check=False, cwd=cwd)


def test_cli_replays_a_workflow_from_the_engine(
        engine_server: EngineServer, lua_history: list[dict[str, Any]], lua_file: Path,
        tmp_path: Path) -> None:
    ok = cli("replay", "order-lua", "--lua", str(lua_file), url=engine_server.url)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("replay OK") and '"receipt": "receipt for ref-1"' in ok.stdout
    bad = tmp_path / "changed.lua"
    bad.write_text(changed('"charge", { amount', '"charge_card", { amount'))
    caught = cli("replay", "order-lua", "--lua", str(bad), url=engine_server.url)
    assert caught.returncode == 1
    assert f"at event {seq_of(lua_history, 'ActivityScheduled')} (ActivityScheduled)" \
        in caught.stderr and "'charge_card'" in caught.stderr


def test_cli_replays_a_history_file_written_by_workflow_events(
        engine_server: EngineServer, py_history: list[dict[str, Any]], tmp_path: Path) -> None:
    events = cli("events", "order-py", "--json", url=engine_server.url)
    assert events.returncode == 0, events.stderr
    (tmp_path / "history.json").write_text(events.stdout)
    (tmp_path / "orders.py").write_text(PY_WORKER)
    ok = cli("replay", "--history", "history.json", "--type", "PyOrder",
             "--worker", "orders:worker", url="http://127.0.0.1:9", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("replay OK")
    (tmp_path / "orders.py").write_text(PY_WORKER.replace('"approve"', '"approval"'))
    caught = cli("replay", "--history", "history.json", "--type", "PyOrder",
                 "--worker", "orders.py:worker", url="http://127.0.0.1:9", cwd=tmp_path)
    assert caught.returncode == 1
    assert "(WorkflowAwaitingSignal)" in caught.stderr and "'approval'" in caught.stderr
    # without --type, the engine's record of the workflow names it
    typed = cli("replay", "--history", "history.json", "--worker", "orders.py:worker",
                url=engine_server.url, cwd=tmp_path)
    assert typed.returncode == 1 and "PyOrder order-py" in typed.stderr


def test_an_empty_or_partial_history_is_refused(lua_history: list[dict[str, Any]],
                                                lua_file: Path) -> None:
    from bridge import ConfigError

    with pytest.raises(ConfigError, match="the history is empty"):
        replay([], "Order", lua=lua_file)
    with pytest.raises(ConfigError, match="does not begin with WorkflowStarted"):
        replay(lua_history[1:], "Order", lua=lua_file)


def test_cli_refuses_bad_input_with_exit_2_and_reports_a_failed_check_as_json(
        engine_server: EngineServer, lua_history: list[dict[str, Any]], lua_file: Path,
        tmp_path: Path) -> None:
    nowhere = "http://127.0.0.1:9"
    (tmp_path / "empty.json").write_text("[]")
    empty = cli("replay", "--history", str(tmp_path / "empty.json"), "--type", "Order",
                "--lua", str(lua_file), url=nowhere)
    assert empty.returncode == 2 and "the history is empty" in empty.stderr
    (tmp_path / "history.json").write_text(json.dumps(lua_history))
    untyped = cli("replay", "--history", str(tmp_path / "history.json"), "--lua",
                  str(lua_file), url=nowhere, cwd=tmp_path)
    assert untyped.returncode == 2 and "--type is needed" in untyped.stderr
    broken = tmp_path / "broken.lua"
    broken.write_text("local x = = 1\n")
    unloadable = cli("replay", "order-lua", "--lua", str(broken), url=engine_server.url)
    assert unloadable.returncode == 2 and "does not load" in unloadable.stderr
    bad = tmp_path / "changed.lua"
    bad.write_text(changed('"charge", { amount', '"charge_card", { amount'))
    caught = cli("replay", "order-lua", "--lua", str(bad), "--json", url=engine_server.url)
    assert caught.returncode == 1 and "'charge_card'" in caught.stderr
    outcome = json.loads(caught.stdout)
    assert outcome["replay"] == "NON_DETERMINISTIC"
    assert outcome["seq"] == seq_of(lua_history, "ActivityScheduled")
    assert outcome["event_type"] == "ActivityScheduled" and "charge_card" in outcome["asked"]
