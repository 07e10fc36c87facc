"""Shared expectations and upstream checks for the SDK tests.

The mock's content model (shared/conformance/cliproxyapi-rs/mock/README.md): text "Hello from mock",
reasoning "Let me think.", tool call get_weather {"city":"Paris"} (+ {"city":"Rome"} for parallel),
usage input 11 / output 7 (reasoning 3, gemini total 21 with thoughts), claude signature below.
"""
from __future__ import annotations

from typing import Callable

import httpx

from conftest import CLIENT_KEY, CLIENT_KEY_2, FAMILY_KEYS, Mock

TEXT = "Hello from mock"
REASONING = "Let me think."
SIGNATURE = "c2lnbmF0dXJlLW1vY2s="
PROMPT = "What is the weather in Paris?"
KINDS = ["text", "tool", "parallel", "thinking"]
EXPECTED_CALLS = {"text": [], "thinking": [], "tool": [{"city": "Paris"}],
                  "parallel": [{"city": "Paris"}, {"city": "Rome"}]}
WEATHER_SCHEMA = {"type": "object", "properties": {"city": {"type": "string", "description": "City name"}},
                  "required": ["city"]}
# Stream cuts: after this many upstream events some text has been sent, but no terminal event.
CUT_AFTER = {"compat": 2, "codex": 5, "anthropic": 4, "gemini": 1}


def _transport_errors() -> tuple:
    """Connection-level errors as the SDKs raise them (anthropic ships its own httpx fork)."""
    errors: list = [httpx.TransportError]
    try:
        import httpx2  # type: ignore[import-not-found]
        errors.append(httpx2.TransportError)
    except ImportError:
        pass
    return tuple(errors)


TRANSPORT_ERRORS = _transport_errors()


def no_client_key(entry: dict) -> None:
    for name, value in (entry.get("headers") or {}).items():
        assert CLIENT_KEY not in str(value) and CLIENT_KEY_2 not in str(value), \
            f"client key forwarded upstream in header {name}: {value}"
    assert CLIENT_KEY not in (entry.get("query") or ""), f"client key forwarded in query {entry.get('query')}"


def one_upstream(mock: Mock, family: str, path: str, model: str | None = None) -> dict:
    """Exactly one upstream request, of the right family and path, with one of the family's keys."""
    log = mock.log()
    summary = [(e.get("family"), e.get("path"), e.get("credential")) for e in log]
    assert len(log) == 1, f"expected one upstream request, got {summary}"
    entry = log[0]
    assert entry["family"] == family, summary
    assert entry["path"] == path, summary
    assert entry["credential"] in FAMILY_KEYS[family], \
        f"upstream credential {entry['credential']!r} is not a configured {family} key"
    no_client_key(entry)
    if model is not None:
        assert isinstance(entry.get("body"), dict) and entry["body"].get("model") == model, \
            f"upstream model {entry.get('body', {}).get('model')!r} != {model!r}"
    return entry


def check_failover(mock: Mock, family: str, call: Callable[[], str]) -> None:
    """Key 1 answers 429, key 2 works: every SDK call succeeds and each 429 is retried on key 2."""
    k1, k2 = FAMILY_KEYS[family]
    mock.script([Mock.step({"error": {"status": 429, "body": None}}, credential=k1)], {"ok": "text"})
    calls = 0
    for _ in range(3):  # round-robin may start on key 2; within three calls key 1 must be tried
        assert call() == TEXT
        calls += 1
        creds = [e["credential"] for e in mock.log()]
        if k1 in creds:
            break
    assert k1 in creds, f"key 1 was never tried in {calls} calls: {creds}"
    for i, cred in enumerate(creds):
        assert cred in (k1, k2), creds
        if cred == k1:
            assert i + 1 < len(creds) and creds[i + 1] == k2, f"429 on {k1} not retried on {k2}: {creds}"
    assert creds.count(k2) == calls, f"each call should end on {k2} exactly once: {creds}"
    for e in mock.log():
        no_client_key(e)


def error_script(status: int) -> dict:
    return {"error": {"status": status, "body": None}}


def cut_script(family: str) -> dict:
    return {"cut": {"kind": "text", "after": CUT_AFTER[family]}}
