"""``bridge.Client``'s fast path to a plain ``http://`` engine sends what ``requests`` sends,
and leaves the call to ``requests`` when a proxy from the environment applies."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from bridge import Client
from bridge.client.direct import DirectSender
from tests.helpers import LocalServer, local_http_server


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with local_http_server() as s:
        yield s


@pytest.fixture
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)


def _calls(c: Client) -> list[object]:
    return [
        c.start("Echo", "wf-1", {"a": [1, "ü"]}, task_queue="q"),
        c.list(status="running", type="My flow ü", limit=5),
        c.health(),
        c.cancel("wf/1 x"),
    ]


@pytest.mark.usefixtures("no_proxy_env")
def test_the_fast_path_sends_the_requests_that_requests_sends(server: LocalServer) -> None:
    with Client(server.url, token="k-1") as fast, Client(server.url, token="k-1") as plain:
        assert fast._direct is not None
        plain._direct = None  # the requests path, as every call took before
        answers = _calls(fast)
        n = len(server.requests)
        assert _calls(plain) == answers
    sent_fast, sent_plain = server.requests[:n], server.requests[n:]
    assert len(sent_fast) == len(sent_plain) == 4
    for a, b in zip(sent_fast, sent_plain):
        assert (a.method, a.path, a.body) == (b.method, b.path, b.body)
        assert a.headers == b.headers


@pytest.mark.usefixtures("no_proxy_env")
def test_a_proxy_variable_sends_the_call_through_requests(
        server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> None:
    with local_http_server() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        with Client(server.url) as c:
            assert c.health()["method"] == "GET"
        # through the proxy, in absolute form: the engine itself saw nothing
        assert [r.path for r in proxy.requests] == [f"{server.url}/api/v1/health"]
        assert server.requests == []


@pytest.mark.usefixtures("no_proxy_env")
@pytest.mark.parametrize("path", ["/echo?x=%C3%BC", "/latin-text", "/status/404", "/empty"])
def test_the_fast_path_reads_an_answer_as_requests_reads_it(server: LocalServer,
                                                            path: str) -> None:
    session = requests.Session()
    sender = DirectSender(session)
    url = server.url + path
    fast = sender.send("GET", url, None, None, (5.0, 5.0))
    plain = session.get(url, timeout=5)
    sender.close()
    session.close()
    assert fast is not None
    assert (fast.status_code, fast.reason, fast.content, fast.text) == \
        (plain.status_code, plain.reason, plain.content, plain.text)
    if plain.headers.get("Content-Type") == "application/json":
        assert fast.json() == plain.json()
    else:
        with pytest.raises(ValueError):
            plain.json()
        with pytest.raises(ValueError):
            fast.json()
