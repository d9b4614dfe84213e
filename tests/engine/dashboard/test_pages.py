"""The dashboard in a real headless Chromium (Debian's, driven by Playwright) against a real
engine under API-key auth with a real worker.

One browser for the module, a fresh context (so a fresh sessionStorage) per test. Every wait is
one of Playwright's auto-waiting expectations. ``ASSAY_BRIDGE_DASHBOARD_SCREENSHOT=<path>``
also writes the workflow page's screenshot there (docs/dashboard.png was made so).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Request, expect, sync_playwright

from bridge import Client, Worker, WorkflowContext
from bridge.engine.api import auth
from bridge.testing import EngineServer
from tests.helpers import new_id

CHROMIUM = "/usr/bin/chromium"
expect.set_options(timeout=20_000)


@pytest.fixture(scope="module")
def engine() -> Iterator[tuple[EngineServer, str]]:
    with EngineServer(poll_wait_s=1.0, auth_api_key=True) as server:
        yield server, server.create_api_key()


@pytest.fixture(scope="module")
def queue() -> str:
    return new_id("dash")


@pytest.fixture(scope="module")
def client(engine: tuple[EngineServer, str]) -> Iterator[Client]:
    server, key = engine
    with Client(server.url, token=key) as c:
        yield c


@pytest.fixture(scope="module")
def worker(engine: tuple[EngineServer, str], queue: str) -> Iterator[Worker]:
    server, key = engine
    w = Worker(server.url, queue=queue, token=key, log_stderr=False)

    @w.activity("double")
    def double(ctx: Any, n: Any) -> Any:
        return n * 2

    @w.workflow("Steps")
    def steps(ctx: WorkflowContext, input: Any) -> Any:
        doubled = ctx.execute_activity("double", input["n"], task_queue=queue)
        first = ctx.wait_for_signal("step")
        ctx.sleep(0.05)
        second = ctx.wait_for_signal("finish")
        return {"doubled": doubled, "step": first, "finish": second}

    @w.workflow("Echo")
    def echo(ctx: WorkflowContext, input: Any) -> Any:
        return input

    w.start()
    assert w.wait_registered(timeout=30)
    yield w
    w.stop()
    w.join(timeout=30)
    assert w.errors == []


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM)
        yield b
        b.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    yield ctx
    ctx.close()


def sign_in(context: BrowserContext, engine: tuple[EngineServer, str], path: str = "/") -> Page:
    """A page at ``path`` signed in through the dialog, its live stream connected."""
    server, key = engine
    page = context.new_page()
    page.goto(server.url + path)
    expect(page.locator("#login")).to_be_visible()
    page.fill("#login-token", key)
    page.click("#login-submit")
    expect(page.locator("#live")).to_have_text("live")
    return page


def start(client: Client, queue: str, workflow_type: str, input: Any) -> str:
    workflow_id = new_id(workflow_type.lower())
    client.start(workflow_type, workflow_id, input, task_queue=queue)
    return workflow_id


def test_signing_in_keeps_the_key_out_of_every_url(context: BrowserContext,
                                                  engine: tuple[EngineServer, str]) -> None:
    server, key = engine
    requests: list[Request] = []
    context.on("request", lambda r: requests.append(r))
    page = context.new_page()
    page.goto(server.url + "/")
    expect(page.locator("#login")).to_be_visible()
    page.fill("#login-token", "assay_" + "0" * 64)
    page.click("#login-submit")
    expect(page.locator("#login-error")).to_have_text(auth.INVALID_MESSAGE)
    page.fill("#login-token", key)
    page.click("#login-submit")
    expect(page.locator("#live")).to_have_text("live")
    expect(page.locator("#workflow-table")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('assay-bridge.token')") == key
    assert all(key not in r.url for r in requests)
    streams = [r for r in requests if r.url.endswith("/api/v1/events/stream")]
    assert streams and streams[-1].all_headers()["authorization"] == f"Bearer {key}"


def test_workflow_list_filters_and_opens_a_workflow(context: BrowserContext,
                                                    engine: tuple[EngineServer, str],
                                                    client: Client, worker: Worker,
                                                    queue: str) -> None:
    done = start(client, queue, "Echo", {"hello": "list"})
    client.result(done, timeout=30)
    running = start(client, queue, "Steps", {"n": 1})
    elsewhere = start(client, new_id("elsewhere"), "Steps", {"n": 1})  # no worker takes it
    page = sign_in(context, engine)
    rows = page.locator("#workflow-table tbody tr")
    expect(page.locator(f'tr[data-id="{done}"]')).to_contain_text("COMPLETED")
    expect(page.locator(f'tr[data-id="{running}"]')).to_be_visible()
    expect(page.locator(f'tr[data-id="{elsewhere}"]')).to_be_visible()

    page.select_option("#filter-status", "COMPLETED")
    expect(page.locator(f'tr[data-id="{running}"]')).to_have_count(0)
    expect(page.locator(f'tr[data-id="{done}"]')).to_be_visible()
    page.select_option("#filter-status", "")
    page.fill("#filter-type", "Steps")
    page.fill("#filter-queue", queue)
    page.get_by_role("button", name="Filter", exact=True).click()
    expect(page.locator(f'tr[data-id="{done}"]')).to_have_count(0)
    expect(rows.filter(has_text=running)).to_have_count(1)
    expect(page.locator(f'tr[data-id="{elsewhere}"]')).to_have_count(0)
    expect(page).to_have_url(re.compile(r"type=Steps"))

    page.fill("#search-id", done)
    page.get_by_role("button", name="Open", exact=True).click()
    expect(page.locator("h1")).to_have_text(done)
    expect(page.locator("#wf-status")).to_have_text("COMPLETED")
    expect(page.locator("#wf-result")).to_contain_text('"hello": "list"')
    client.terminate(running, "test over")
    client.terminate(elsewhere, "test over")


def test_history_updates_live_and_a_signal_from_the_page_completes_it(
        context: BrowserContext, engine: tuple[EngineServer, str], client: Client,
        worker: Worker, queue: str) -> None:
    workflow_id = start(client, queue, "Steps", {"n": 21})
    page = sign_in(context, engine, f"/workflow/workflows/{workflow_id}")
    history = page.locator("#history li")
    expect(page.locator('#history li[data-type="WorkflowAwaitingSignal"]')).to_have_count(1)
    expect(page.locator('#waiting-on li[data-kind="signal"]')).to_have_text("signal 'step'")

    # A signal sent elsewhere reaches the open page only through the event stream.
    client.signal(workflow_id, "step", {"from": "python"})
    expect(page.locator('#history li[data-type="SignalReceived"]')).to_have_count(1)
    expect(page.locator('#history li[data-type="TimerFired"]')).to_have_count(1)
    expect(page.locator('#waiting-on li[data-kind="signal"]')).to_have_text("signal 'finish'")
    expect(page.locator('#history li[data-type="ActivityCompleted"] .took')).to_contain_text("took")
    shot = os.environ.get("ASSAY_BRIDGE_DASHBOARD_SCREENSHOT")
    if shot:
        page.screenshot(path=shot, full_page=True)

    page.click("#action-signal")
    page.fill("#signal-name", "finish")
    page.fill("#signal-payload", "{not json")
    page.click("#confirm-ok")
    expect(page.locator("#confirm-error")).to_contain_text("not valid JSON")
    page.fill("#signal-payload", '{"from": "page"}')
    page.click("#confirm-ok")
    expect(page.locator("#wf-status")).to_have_text("COMPLETED")
    expect(page.locator("#wf-result")).to_contain_text('"doubled": 42')
    expect(page.locator("#wf-result")).to_contain_text('"from": "page"')
    expect(history.last).to_have_attribute("data-type", "WorkflowCompleted")
    expect(page.locator("#action-cancel")).to_be_disabled()
    assert client.result(workflow_id, timeout=30)["finish"] == {"from": "page"}


def test_cancel_from_the_page_after_a_confirmation(context: BrowserContext,
                                                  engine: tuple[EngineServer, str],
                                                  client: Client, worker: Worker,
                                                  queue: str) -> None:
    workflow_id = start(client, queue, "Steps", {"n": 1})
    page = sign_in(context, engine, f"/workflow/workflows/{workflow_id}")
    expect(page.locator('#waiting-on li[data-kind="signal"]')).to_have_text("signal 'step'")
    page.click("#action-cancel")
    expect(page.locator("#confirm")).to_be_visible()
    page.click("#confirm-cancel")  # backing out changes nothing
    expect(page.locator("#confirm")).to_be_hidden()
    assert client.get_workflow(workflow_id)["status"] != "CANCELLED"
    page.click("#action-cancel")
    page.click("#confirm-ok")
    expect(page.locator("#wf-status")).to_have_text("CANCELLED")
    expect(page.locator('#history li[data-type="WorkflowCancelled"]')).to_have_count(1)


def test_terminate_from_the_page_with_a_reason(context: BrowserContext,
                                               engine: tuple[EngineServer, str], client: Client,
                                               worker: Worker, queue: str) -> None:
    workflow_id = start(client, queue, "Steps", {"n": 1})
    page = sign_in(context, engine, f"/workflow/workflows/{workflow_id}")
    expect(page.locator('#waiting-on li[data-kind="signal"]')).to_have_text("signal 'step'")
    page.click("#action-terminate")
    page.fill("#terminate-reason", "stuck in test")
    page.click("#confirm-ok")
    expect(page.locator("#wf-status")).to_have_text("FAILED")
    expect(page.locator("#wf-error")).to_contain_text("stuck in test")
    expect(page.locator('#history li[data-type="WorkflowTerminated"]')).to_have_count(1)


def test_create_pause_resume_and_delete_a_schedule(context: BrowserContext,
                                                   engine: tuple[EngineServer, str],
                                                   client: Client, queue: str) -> None:
    name = new_id("nightly")
    page = sign_in(context, engine, "/workflow/schedules")
    page.fill("#schedule-name", name)
    page.fill("#schedule-workflow_type", "Echo")
    page.fill("#schedule-cron_expr", "0 3 1 1 *")
    page.fill("#schedule-task_queue", queue)
    page.fill("#schedule-input", '{"from": "schedule"}')
    page.get_by_role("button", name="Create schedule", exact=True).click()
    row = page.locator(f'tr[data-name="{name}"]')
    expect(row.locator(".state")).to_have_text("active")
    assert client.schedules.get(name)["input"] == '{"from":"schedule"}'

    row.locator("button.toggle").click()
    expect(row.locator(".state")).to_have_text("paused")
    assert client.schedules.get(name)["paused"] is True
    row.locator("button.toggle").click()
    expect(row.locator(".state")).to_have_text("active")

    row.locator("button.delete").click()
    page.click("#confirm-ok")
    expect(row).to_have_count(0)
    assert all(s["name"] != name for s in client.schedules.list())


def test_workers_and_queues_pages_show_the_live_worker(context: BrowserContext,
                                                       engine: tuple[EngineServer, str],
                                                       worker: Worker, queue: str) -> None:
    page = sign_in(context, engine, "/workflow/workers")
    expect(page.locator("#worker-table tbody")).to_contain_text(queue)
    expect(page.locator("#worker-table tbody")).to_contain_text("Steps")
    page.click('nav a[data-nav="queues"]')
    expect(page).to_have_url(re.compile(r"/workflow/queues$"))
    expect(page.locator(f'#queue-table tr[data-queue="{queue}"] td').last).to_have_text("1")
