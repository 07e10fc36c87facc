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


# ---------------------------------------------------------------- the translation matrix
#
# A client picks the upstream family by model name (baseline config). Labels are the scenario ids'
# family names; the mock log calls the Claude family "anthropic".

class Family:
    def __init__(self, label: str, log: str, model: str, upstream_model: str):
        self.label, self.log, self.model, self.upstream_model = label, log, model, upstream_model

    def __repr__(self) -> str:
        return self.label


FAMILIES = {
    "claude": Family("claude", "anthropic", "claude-sonnet-4-5-20250929", "claude-sonnet-4-5-20250929"),
    "codex": Family("codex", "codex", "gpt-5.5", "gpt-5.5"),
    "gemini": Family("gemini", "gemini", "gemini-2.5-flash", "gemini-2.5-flash"),
    "compat": Family("compat", "compat", "compat-gpt-4o", "mock-gpt-4o"),
}
ALL_FAMILIES = list(FAMILIES)
# Tool results the round-trip tests send back, one per expected call (Paris, Rome).
RESULTS = ["sunny in Paris", "rainy in Rome"]
TOOL_DESCRIPTION = "Get the weather"


def others(same: str) -> list[str]:
    """The upstream families a client of the `same` family reaches only through translation."""
    return [f for f in ALL_FAMILIES if f != same]


def expected_usage(family: str, kind: str) -> dict:
    """The mock's usage in IR conventions: output includes reasoning (Gemini reports thoughts beside
    candidates: 7 + 3); reasoning tokens are known except from Claude, which does not report them."""
    output = 10 if (family == "gemini" and kind == "thinking") else 7
    reasoning = 3 if kind == "thinking" and family != "claude" else None
    return {"input": 11, "output": output, "total": 11 + output, "reasoning": reasoning}


def upstream_path(family: str, stream: bool) -> str:
    if family == "gemini":
        method = "streamGenerateContent" if stream else "generateContent"
        return f"/v1beta/models/{FAMILIES[family].upstream_model}:{method}"
    return {"claude": "/v1/messages", "codex": "/responses", "compat": "/chat/completions"}[family]


def lower_types(schema):
    """Gemini's `parameters` (OpenAPI subset) may spell types upper-case; JSON Schema is lower-case."""
    if isinstance(schema, dict):
        return {k: (v.lower() if k == "type" and isinstance(v, str) else lower_types(v)) for k, v in schema.items()}
    if isinstance(schema, list):
        return [lower_types(v) for v in schema]
    return schema


def upstream_tools(family: str, body: dict) -> list[tuple]:
    """(name, description, schema) of every function tool, read in the upstream's own shape."""
    tools = body.get("tools") or []
    out = []
    if family == "claude":
        for t in tools:
            assert "input_schema" in t and "function" not in t, f"not a Claude tool: {t}"
            out.append((t.get("name"), t.get("description"), t["input_schema"]))
    elif family == "codex":
        for t in tools:
            if t.get("type") != "function":
                continue
            assert "parameters" in t and "function" not in t, f"not a Responses function tool: {t}"
            out.append((t.get("name"), t.get("description"), t["parameters"]))
    elif family == "compat":
        for t in tools:
            assert t.get("type") == "function" and isinstance(t.get("function"), dict), f"not a Chat tool: {t}"
            fn = t["function"]
            out.append((fn.get("name"), fn.get("description"), fn.get("parameters")))
    elif family == "gemini":
        for t in tools:
            for d in t.get("functionDeclarations") or t.get("function_declarations") or []:
                schema = d.get("parametersJsonSchema", d.get("parameters_json_schema", d.get("parameters")))
                out.append((d.get("name"), d.get("description"), lower_types(schema)))
    return out


def _text_of(content) -> str:
    """Text of a message's content in any of the four shapes (string, or a list of text-like parts)."""
    if isinstance(content, str):
        return content
    out = ""
    for p in content or []:
        if isinstance(p, str):
            out += p
        elif isinstance(p, dict) and p.get("type") in (None, "text", "input_text", "output_text") and "text" in p:
            out += p["text"]
    return out


def upstream_turns(family: str, body: dict) -> list[tuple]:
    """The conversation the upstream received, in order, as tuples:
    ("user", text) / ("assistant", text) / ("call", id, name, args) / ("result", id_or_name, text) /
    ("thinking", text, signature), plus ("msg", n) markers between messages (turn boundaries)."""
    import json as _json
    turns: list[tuple] = []
    if family == "claude":
        for n, m in enumerate(body.get("messages") or []):
            turns.append(("msg", n, m.get("role")))
            content = m.get("content")
            if isinstance(content, str):
                turns.append((m.get("role"), content))
                continue
            for b in content or []:
                t = b.get("type")
                if t == "text":
                    turns.append((m.get("role"), b.get("text")))
                elif t == "tool_use":
                    turns.append(("call", b.get("id"), b.get("name"), b.get("input")))
                elif t == "tool_result":
                    turns.append(("result", b.get("tool_use_id"), _text_of(b.get("content"))))
                elif t == "thinking":
                    turns.append(("thinking", b.get("thinking"), b.get("signature")))
                else:
                    turns.append(("other", b))
    elif family == "codex":
        items = body.get("input")
        if isinstance(items, str):
            items = [{"role": "user", "content": items}]
        for n, it in enumerate(items or []):
            t = it.get("type", "message")
            turns.append(("msg", n, it.get("role") or t))
            if t == "message":
                turns.append((it.get("role"), _text_of(it.get("content"))))
            elif t == "function_call":
                turns.append(("call", it.get("call_id"), it.get("name"), parse_json(it.get("arguments"))))
            elif t == "function_call_output":
                out = it.get("output")
                turns.append(("result", it.get("call_id"), out if isinstance(out, str) else _json.dumps(out)))
            elif t == "reasoning":
                summary = "".join(s.get("text", "") for s in it.get("summary") or [])
                turns.append(("thinking", summary, it.get("encrypted_content")))
            else:
                turns.append(("other", it))
    elif family == "compat":
        for n, m in enumerate(body.get("messages") or []):
            role = m.get("role")
            turns.append(("msg", n, role))
            if role == "tool":
                turns.append(("result", m.get("tool_call_id"), _text_of(m.get("content"))))
                continue
            text = _text_of(m.get("content"))
            if text:
                turns.append((role, text))
            for tc in m.get("tool_calls") or []:
                fn = tc.get("function") or {}
                turns.append(("call", tc.get("id"), fn.get("name"), parse_json(fn.get("arguments"))))
    elif family == "gemini":
        for n, c in enumerate(body.get("contents") or []):
            role = {"model": "assistant"}.get(c.get("role"), c.get("role"))
            turns.append(("msg", n, role))
            for p in c.get("parts") or []:
                fc = p.get("functionCall") or p.get("function_call")
                fr = p.get("functionResponse") or p.get("function_response")
                if fc:
                    turns.append(("call", fc.get("id"), fc.get("name"), fc.get("args")))
                elif fr:
                    turns.append(("result", fr.get("id") or fr.get("name"), _json.dumps(fr.get("response"))))
                elif "text" in p and p.get("thought"):
                    turns.append(("thinking", p["text"], p.get("thoughtSignature")))
                elif "text" in p:
                    turns.append((role, p["text"]))
                else:
                    turns.append(("other", p))
    return turns


def parse_json(raw):
    import json as _json
    if isinstance(raw, (dict, list)) or raw is None:
        return raw
    try:
        return _json.loads(raw)
    except ValueError:
        return {"<unparsable>": raw}


def upstream_prompt(family: str, body: dict) -> str:
    """The first user text the upstream received."""
    for t in upstream_turns(family, body):
        if t[0] == "user":
            return t[1]
    return ""


def upstream_reasoning(family: str, entry: dict):
    """The reasoning request, read in the upstream's own shape."""
    body = entry["body"]
    if family == "claude":
        return body.get("thinking") or body.get("output_config")
    if family == "codex":
        return (body.get("reasoning") or {}).get("effort")
    if family == "compat":
        return body.get("reasoning_effort")
    gen = body.get("generationConfig") or body.get("generation_config") or {}
    tc = gen.get("thinkingConfig") or gen.get("thinking_config") or {}
    return {"budget": tc.get("thinkingBudget", tc.get("thinking_budget")),
            "include": tc.get("includeThoughts", tc.get("include_thoughts"))}


# What the reasoning request of each client becomes upstream (PROTOCOLS.md §6 effort <-> budget table).
def expected_reasoning(family: str, budget: int | None = None, effort: str | None = None):
    levels = {"minimal": 512, "low": 1024, "medium": 8192, "high": 24576, "xhigh": 32768}
    if budget is None:
        budget = levels[effort]
    if effort is None:
        effort = next(name for name, top in [("minimal", 512), ("low", 1024), ("medium", 8192), ("high", 24576),
                                             ("xhigh", 10 ** 9)] if budget <= top)
    if family == "claude":
        return {"type": "enabled", "budget_tokens": budget}
    if family in ("codex", "compat"):
        return effort
    return {"budget": budget, "include": True}


def check_upstream(mock: Mock, family: str, client_stream: bool, kind: str,
                   reasoning: dict | None = None) -> dict:
    """The one upstream request of a translated call: family, path, credential, model, stream flag,
    prompt, tool schema (in the upstream's own shape), reasoning request; returns the log entry."""
    fam = FAMILIES[family]
    upstream_stream = client_stream or family == "codex"  # Codex is only ever asked for a stream
    entry = one_upstream(mock, fam.log, upstream_path(family, upstream_stream),
                         model=None if family == "gemini" else fam.upstream_model)
    body = entry["body"]
    assert isinstance(body, dict), f"upstream body is not JSON: {body!r}"
    if family != "gemini":
        assert bool(body.get("stream")) is upstream_stream, \
            f"upstream stream flag {body.get('stream')!r}, expected {upstream_stream}"
    assert upstream_prompt(family, body) == PROMPT, f"prompt lost upstream: {upstream_turns(family, body)}"
    tools = upstream_tools(family, body)
    if kind in ("tool", "parallel"):
        assert tools == [("get_weather", TOOL_DESCRIPTION, WEATHER_SCHEMA)], f"upstream tools {body.get('tools')}"
    else:
        assert tools == [], f"tools the client did not send: {body.get('tools')}"
    if family == "codex":
        assert isinstance(body.get("instructions"), str), f"codex instructions {body.get('instructions')!r}"
        assert body.get("store") is False, f"codex store {body.get('store')!r}"
    if family == "claude":
        assert entry["headers"].get("anthropic-version"), "anthropic-version must reach the upstream"
        assert isinstance(body.get("max_tokens"), int) and body["max_tokens"] > 0, body.get("max_tokens")
        thinking = body.get("thinking") or {}
        if thinking.get("type") == "enabled":
            assert body["max_tokens"] > thinking.get("budget_tokens", 0), \
                f"Claude rejects max_tokens {body['max_tokens']} <= budget_tokens {thinking.get('budget_tokens')}"
    if kind == "thinking" and reasoning is not None:
        got = upstream_reasoning(family, entry)
        want = expected_reasoning(family, **reasoning)
        assert got == want, f"upstream reasoning request {got!r}, expected {want!r}"
    return entry


def check_round_trip(mock: Mock, family: str) -> list[tuple]:
    """The upstream got: the prompt, then the assistant's two calls (Paris, Rome), then the two results,
    each result paired with its call (same id; for Gemini the same name, in order)."""
    fam = FAMILIES[family]
    entry = one_upstream(mock, fam.log, upstream_path(family, False),
                         model=None if family == "gemini" else fam.upstream_model)
    turns = upstream_turns(family, entry["body"])
    calls = [t for t in turns if t[0] == "call"]
    results = [t for t in turns if t[0] == "result"]
    assert upstream_prompt(family, entry["body"]) == PROMPT, turns
    assert [(c[2], c[3]) for c in calls] == [("get_weather", a) for a in EXPECTED_CALLS["parallel"]], \
        f"tool calls upstream: {turns}"
    assert len(results) == 2, f"tool results upstream: {turns}"
    for want, res in zip(RESULTS, results):
        assert want in res[2], f"result {want!r} not in {res}"
    first_result = turns.index(results[0])
    assert all(turns.index(c) < first_result for c in calls), f"a result precedes its call: {turns}"
    if family == "gemini":
        assert [r[1] for r in results] == ["get_weather", "get_weather"] or \
            [r[1] for r in results] == [c[1] for c in calls], f"results not paired by name/id: {turns}"
    else:
        ids = [c[1] for c in calls]
        assert all(isinstance(i, str) and i for i in ids) and len(set(ids)) == 2, f"call ids {ids}"
        assert [r[1] for r in results] == ids, f"results {[r[1] for r in results]} not paired with calls {ids}"
        if family == "claude":
            import re as _re
            assert all(_re.fullmatch(r"[A-Za-z0-9_-]+", i) for i in ids), f"ids Claude would reject: {ids}"
    # Message structure each upstream insists on.
    msgs = [t for t in turns if t[0] == "msg"]
    call_msg = max(m[1] for m in msgs if turns.index(m) < turns.index(calls[0]))
    if family == "claude":
        assert [m[2] for m in msgs] == ["user", "assistant", "user"], f"claude messages: {turns}"
    if family == "gemini":
        assert [m[2] for m in msgs][:2] == ["user", "assistant"] and len(msgs) == 3, f"gemini contents: {turns}"
    if family == "compat":
        assert [m[2] for m in msgs] == ["user", "assistant", "tool", "tool"], f"compat messages: {turns}"
    assert call_msg >= 1
    return turns
