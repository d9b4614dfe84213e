"""Tests of the sample's workflows. No conftest: ``workflow_env`` comes from assay-bridge's
pytest plugin, installed with the package."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import billing
from bridge import NonDeterminismError
from bridge.testing import WorkflowEnvironment, replay

HERE = Path(__file__).resolve().parent
WORKFLOWS_LUA = HERE / "workflows.lua"
DAY = 86400


def timestamps(env: WorkflowEnvironment, workflow_id: str) -> dict[str, float]:
    """When each kind of event happened (engine time), the first of each kind."""
    out: dict[str, float] = {}
    for event in env.client.events(workflow_id):
        out.setdefault(event["event_type"], event["timestamp"])
    return out


def test_onboarding_sends_tips_a_day_after_the_welcome(workflow_env: WorkflowEnvironment) -> None:
    workflow_env.worker(WORKFLOWS_LUA)
    workflow_env.client.start("Onboard", "onboard-ann", {"user": "ann"})

    result = workflow_env.client.result("onboard-ann", timeout=30)

    assert result == {"welcome": "welcome, ann", "tips": "three tips for ann"}
    at = timestamps(workflow_env, "onboard-ann")
    assert at["TimerFired"] - at["TimerScheduled"] >= DAY  # a day passed, for the engine


def test_an_invoice_is_charged_when_its_terms_are_up(workflow_env: WorkflowEnvironment) -> None:
    workflow_env.worker(handlers=billing.worker)
    workflow_env.client.start("Invoice", "inv-1", {"customer": "acme", "cents": 1200,
                                                   "terms_days": 30})

    result = workflow_env.client.result("inv-1", timeout=30)

    assert result == {"customer": "acme", "paid": "ch-acme-1200"}
    at = timestamps(workflow_env, "inv-1")
    assert at["ActivityScheduled"] - at["WorkflowStarted"] >= 30 * DAY


@pytest.mark.workflow_env(time_skipping=False)
def test_time_moves_only_when_the_test_says_so(workflow_env: WorkflowEnvironment) -> None:
    workflow_env.worker(handlers=billing.worker)
    workflow_env.client.start("Invoice", "inv-2", {"customer": "bolt", "cents": 500,
                                                   "terms_days": 1})
    workflow_env.wait_until_waiting("inv-2", "timer")  # the terms' timer is set, and stays

    workflow_env.sleep(DAY)

    assert workflow_env.client.result("inv-2", timeout=30)["paid"] == "ch-bolt-500"


def record(env: WorkflowEnvironment, workflow_type: str, workflow_id: str,
           input: Any) -> list[dict[str, Any]]:
    """Run a workflow to its end and return its history."""
    env.client.start(workflow_type, workflow_id, input)
    env.client.result(workflow_id, timeout=30)
    return env.client.events(workflow_id)


def test_the_lua_code_still_replays_its_recorded_history(
        workflow_env: WorkflowEnvironment) -> None:
    workflow_env.worker(WORKFLOWS_LUA)
    history = record(workflow_env, "Onboard", "onboard-bo", {"user": "bo"})

    assert replay(history, "Onboard", lua=WORKFLOWS_LUA)["tips"] == "three tips for bo"

    renamed = WORKFLOWS_LUA.read_text().replace('"send_tips"', '"send_hints"')
    with pytest.raises(NonDeterminismError) as caught:
        replay(history, "Onboard", lua=renamed)  # a deploy that renamed an activity
    assert "send_hints" in str(caught.value)


def test_the_python_code_still_replays_its_recorded_history(
        workflow_env: WorkflowEnvironment) -> None:
    workflow_env.worker(handlers=billing.worker)
    history = record(workflow_env, "Invoice", "inv-3",
                     {"customer": "cy", "cents": 99, "terms_days": 14})

    assert replay(history, "Invoice", handlers=billing.worker)["paid"] == "ch-cy-99"
