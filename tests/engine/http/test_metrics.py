"""``/metrics`` on a real engine process: it parses with prometheus-client's own parser, its
counters move as workflows run, and it follows the auth flags."""

from __future__ import annotations

import requests
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from bridge import Client, Worker
from bridge.engine.api.metrics import _BUCKETS, Latencies
from bridge.testing import EngineServer
from tests.helpers import new_id, scrape, value, wait_until


def test_counters_move_as_workflows_run(engine_server: EngineServer, worker: Worker,
                                        queue: str) -> None:
    before = scrape(engine_server.url)
    with Client(engine_server.url) as client:
        for _ in range(3):
            wid = client.start("Echo", input={"x": 1}, task_queue=queue)["workflow_id"]
            assert client.result(wid, timeout=60) == {"x": 1}
        failing = client.start("Fails", task_queue=queue)["workflow_id"]
        client.wait(failing, timeout=60)
    after = scrape(engine_server.url)
    labels = {"workflow_type": "Echo", "task_queue": queue, "namespace": "main"}
    assert value(after, "assay_bridge_workflows_started_total", **labels) - value(
        before, "assay_bridge_workflows_started_total", **labels) == 3
    assert value(after, "assay_bridge_workflows_completed_total", **labels) - value(
        before, "assay_bridge_workflows_completed_total", **labels) == 3
    assert value(after, "assay_bridge_workflows_failed_total", workflow_type="Fails") - value(
        before, "assay_bridge_workflows_failed_total", workflow_type="Fails") == 1
    route = "/api/v1/workflow-tasks/poll"
    assert value(after, "assay_bridge_http_request_duration_seconds_count", route=route) > value(
        before, "assay_bridge_http_request_duration_seconds_count", route=route)
    assert value(after, "assay_bridge_store_transaction_duration_seconds_count",
                 operation="start_workflow") >= 4
    assert all("/workflows/" + "Echo" not in dict(ls).get("route", "") for _, ls in after)


def test_queue_gauges_show_work_nobody_takes(engine_server: EngineServer) -> None:
    lonely = new_id("q")
    with Client(engine_server.url) as client:
        for _ in range(2):
            client.start("NobodyServesThis", task_queue=lonely)
    samples = wait_until(lambda: (s := scrape(engine_server.url)) and value(
        s, "assay_bridge_queue_depth", queue=lonely) == 2 and s, what="the queue depth")
    assert value(samples, "assay_bridge_queue_depth", queue=lonely, kind="workflow_task") == 2
    assert value(samples, "assay_bridge_queue_oldest_pending_age_seconds", queue=lonely) >= 0
    assert ("assay_bridge_held_polls", ()) in samples


def test_metrics_need_a_token_under_auth_unless_opened() -> None:
    with EngineServer(poll_wait_s=0, auth_api_key=True) as server:
        assert requests.get(server.url + "/metrics", timeout=30).status_code == 401
        scrape(server.url, server.create_api_key())
    with EngineServer(poll_wait_s=0, auth_api_key=True, extra_args=["--metrics-open"]) as server:
        scrape(server.url)
        assert requests.get(server.url + "/api/v1/workflows", timeout=30).status_code == 401


def test_shared_gauges_sum_right_over_two_instances() -> None:
    from tests.engine import pgdb

    name = pgdb.create_database()
    try:
        url = pgdb.url_for(name)
        with EngineServer(backend_url=url, poll_wait_s=0) as a, \
                EngineServer(backend_url=url, poll_wait_s=0) as b:
            lonely = new_id("q")
            with Client(a.url) as client:
                for _ in range(3):
                    client.start("NobodyServesThis", task_queue=lonely)
            with Client(b.url) as client:
                client.start("NobodyServesThis", task_queue=lonely)
            depths = [value(scrape(s.url), "assay_bridge_queue_depth", queue=lonely)
                      for s in (a, b)]
            assert sorted(depths) == [0, 4]  # one instance reports the shared gauge
            started = [value(scrape(s.url), "assay_bridge_workflows_started_total",
                             task_queue=lonely) for s in (a, b)]
            assert started == [3, 1]  # each instance counts what it did
    finally:
        pgdb.drop_database(name)


def test_latency_series_read_as_prometheus_client_histograms_would() -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    latencies = Latencies("t_seconds", "doc", ("route",), registry=ours)
    reference = Histogram("t_seconds", "doc", ("route",), buckets=_BUCKETS, registry=theirs)
    # on a bound, between bounds, below the first, above the last, several series
    for route, seconds in [("a", 0.0005), ("a", 0.0007), ("a", 0.0001), ("a", 1.0),
                           ("b", 31.0), ("b", 0.01), ("a", 2.4999)]:
        latencies.observe((route,), seconds)
        reference.labels(route).observe(seconds)
    expected = [line for line in generate_latest(theirs).decode().splitlines()
                if "_created" not in line]
    assert generate_latest(ours).decode().splitlines() == expected
