"""Regression: an open exchange (long-poll, SSE, a deferred answer) outlives the request-head
timeout. Until this was fixed, the head deadline armed when the request's first byte arrived
fired during the exchange and the connection was dropped after `--header-timeout` seconds."""
import threading
import time

import requests


def test_a_long_poll_longer_than_the_header_timeout_gets_its_answer(make_hub):
    hub = make_hub("--header-timeout", "1")
    session = requests.Session()
    started = time.time()
    r = session.get(hub.http("/v1/outcomes/lp-slow?timeout=3"), timeout=10)
    assert r.status_code == 204 and time.time() - started >= 2.9
    # The same keep-alive connection serves the next request.
    assert session.get(hub.http("/healthz"), timeout=5).status_code == 200


def test_an_sse_stream_outlives_the_header_timeout(make_hub):
    hub = make_hub("--header-timeout", "1")
    threading.Timer(2.5, lambda: requests.post(hub.http("/v1/outcomes/sse-slow"), json={"data": {"late": True}})).start()
    with requests.get(hub.http("/v1/outcomes/sse-slow"), headers={"Accept": "text/event-stream"}, stream=True, timeout=10) as r:
        assert r.status_code == 200
        for line in r.iter_lines(decode_unicode=True):
            if line.startswith("data:"):
                assert '"late": true' in line  # the data passes through byte for byte
                break
