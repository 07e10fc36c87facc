"""Process and HTTP contract of `switchyard serve` that the SDK and conformance tests rely on."""
from __future__ import annotations

import pytest

from conftest import CLIENT_KEY, Mock

AUTH = {"authorization": f"Bearer {CLIENT_KEY}"}
CHAT = {"messages": [{"role": "user", "content": "hi"}]}


def test_healthz(proxy):
    with proxy.client() as c:
        assert c.get("/healthz").status_code == 200


def test_sigterm_exits_cleanly(fresh_proxy):
    with fresh_proxy.client() as c:
        assert c.get("/healthz").status_code == 200
    code = fresh_proxy.process.terminate(timeout=10)
    assert code == 0, f"switchyard exited with {code} on SIGTERM\n{fresh_proxy.process.diagnostics()}"


def test_web_page_origin_is_refused(proxy, mock):
    """No CORS '*': a browser page must not be able to spend the user's accounts."""
    mock.reply("text")
    with proxy.client() as c:
        resp = c.post("/v1/chat/completions", headers={**AUTH, "origin": "https://evil.example"},
                      json={"model": "compat-gpt-4o", **CHAT})
    assert resp.status_code == 403
    assert "access-control-allow-origin" not in resp.headers
    assert mock.log() == []


def test_options_without_origin_is_204(proxy):
    with proxy.client() as c:
        resp = c.options("/v1/chat/completions")
    assert resp.status_code == 204
    assert "access-control-allow-origin" not in resp.headers


@pytest.mark.parametrize("path,body", [
    ("/v1/chat/completions", {"model": "no-such-model", **CHAT}),
    ("/v1/messages", {"model": "no-such-model", "max_tokens": 16, **CHAT}),
    ("/v1/responses", {"model": "no-such-model", "input": "hi"}),
    ("/v1beta/models/no-such-model:generateContent", {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}),
], ids=["chat", "messages", "responses", "gemini"])
def test_unknown_model_is_a_clear_404(proxy, mock, path, body):
    """Any client format may reach any family now (translation); a model nobody serves is named in a
    404 in the client's own error shape, and nothing reaches an upstream."""
    mock.reply("text")
    with proxy.client() as c:
        resp = c.post(path, headers=AUTH, json=body)
    assert resp.status_code == 404, resp.text
    assert "no-such-model" in resp.text, f"404 does not name the model: {resp.text}"
    assert "error" in resp.json(), resp.text
    assert mock.log() == [], "nothing may reach an upstream"


STREAMS = {  # one streaming request per same-format pair
    "anthropic": ("/v1/messages", {"model": "claude-sonnet-4-5-20250929", "max_tokens": 64, "stream": True, **CHAT}),
    "codex": ("/v1/responses", {"model": "gpt-5.5", "input": "hi", "stream": True}),
    "compat": ("/v1/chat/completions", {"model": "compat-gpt-4o", "stream": True, **CHAT}),
    "gemini": ("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
               {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}),
}


@pytest.mark.parametrize("family", sorted(STREAMS))
def test_passthrough_stream_bytes_do_not_depend_on_upstream_chunking(proxy, mock, family):
    """Same-format streams pass through byte for byte, however the upstream cut its writes
    (split: every event in two writes, mid-JSON; merged: three events per write)."""
    path, body = STREAMS[family]
    bodies = {}
    for chunking in ("whole", "split", "merged"):
        mock.script([Mock.step({"ok": "thinking"}, chunking=chunking)])
        with proxy.client() as c:
            resp = c.post(path, headers=AUTH, json=body)
        assert resp.status_code == 200, resp.text
        assert resp.headers["content-type"].startswith("text/event-stream")
        bodies[chunking] = resp.content
    assert b"Let me " in bodies["whole"] and b"Hello from " in bodies["whole"]
    assert bodies["split"] == bodies["whole"]
    assert bodies["merged"] == bodies["whole"]
