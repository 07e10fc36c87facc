"""Replay CLIProxyAPI's recorded end-to-end scenarios against Switchyard and compare semantically.

Scenarios: every `auth.*` and the same-format passthrough pairs (claude.claude.*, responses.codex.*,
chat.compat.*, gemini.gemini.*, completions.compat.*). The data lives in
shared/conformance/cliproxyapi-rs (env SWITCHYARD_CONFORMANCE_DIR overrides); its README's
"How to use this data" section defines what is compared: status, content-type family, SSE event
names + data types, assembled text / reasoning / tool calls / stop reasons / usage / model, and for
each upstream request its family, method, path, query, credential and the body fields that matter.
Everything else is ignored, and the DELIBERATE table below lists the only places where Switchyard
is meant to differ from the Go recording; each is skipped exactly where it applies.
"""
from __future__ import annotations

import fnmatch
import http.client
import json
import os
import re
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

import semantics as S
from conftest import CLIENT_KEY, CLIENT_KEY_2, FAMILY_KEYS, REPO

CONFORMANCE_DIR = Path(os.environ.get("SWITCHYARD_CONFORMANCE_DIR")
                       or REPO.parent / "shared" / "conformance" / "cliproxyapi-rs")
SELECTED = ("auth.*", "claude.claude.*", "responses.codex.*", "chat.compat.*", "gemini.gemini.*",
            "completions.compat.*")

# Deliberate differences from the Go recording: key -> (scenario globs, what is skipped, why).
DELIBERATE = {
    "auth-error-shape": (("auth.invalid.*", "auth.missing.*"), "401 response body",
                         "401s use the endpoint's own error shape (checked instead), not Go's "
                         '{"error":"Missing API key"}'),
    "no-cors": (("*",), "access-control-* response headers",
                "no CORS '*': any web page could otherwise drive the local proxy (asserted absent)"),
    "open-access-catalogue": (("auth.open_access",), "GET /v1/models ids",
                              "Go lists its built-in model catalogue; Switchyard lists what the config "
                              "serves (checked: OpenAI list shape incl. the configured aliases)"),
    "first-credential": (("*",), "which of the family's two keys was used",
                         "key order is Go's selection order; we check the key belongs to the family"),
    "claude-no-injection": (("claude.claude.*", "auth.*"), "upstream messages/tools cache_control, "
                            "string content -> text block",
                            "passthrough forwards the client's body as sent; Go injects cache_control "
                            "(and turns string content into a block to carry it)"),
    "claude-no-beta-query": (("claude.claude.*", "auth.*"), "upstream query beta=true",
                             "?beta=true marks Claude Code OAuth traffic; claude-api-key calls the "
                             "plain Messages API"),
    "codex-no-shaping": (("responses.codex.*",), "upstream instructions \"\", image_generation tool, "
                         "string input -> message list",
                         "passthrough forwards the Responses body as sent; Go reshapes every Codex call"),
    "codex-json-stream-flag": (("responses.codex.json.*",), "upstream stream flag",
                               "Go always streams Codex upstream and aggregates; a passthrough may ask "
                               "for JSON directly; the client sees the same JSON either way"),
    "gemini-no-shaping": (("gemini.gemini.*", "auth.*"), "upstream safetySettings, body model, "
                          "function_declarations / parametersJsonSchema spelling",
                          "passthrough forwards the client's body; Go appends safety settings, the "
                          "model, and respells the tool schema keys"),
    "gemini-stream-framing": (("gemini.gemini.stream.*",), "SSE vs JSON-array framing and upstream alt=sse, "
                              "for a streamGenerateContent call without ?alt=sse",
                              "the client asked for Google's JSON-array stream, so Switchyard asks the same "
                              "and passes it on; Go forces SSE (README quirk 13). Frames still compared"),
    "completions-passthrough": (("completions.compat.*",), "upstream path /completions, prompt vs "
                                "messages, stream_options",
                                "legacy completions pass through to {base}/completions as sent; Go "
                                "rewrites them into a /chat/completions request"),
}

BODY_FIELDS = {  # the upstream body fields that matter (README, "How to use this data")
    "anthropic": ("model", "messages", "system", "tools", "tool_choice", "stream", "max_tokens",
                  "thinking", "temperature", "top_p", "stop_sequences", "output_config"),
    "codex": ("model", "input", "instructions", "tools", "tool_choice", "stream", "reasoning",
              "max_output_tokens", "temperature", "text"),
    "compat": ("model", "messages", "prompt", "tools", "tool_choice", "stream", "stream_options",
               "max_tokens", "max_completion_tokens", "temperature", "reasoning_effort"),
    "gemini": ("contents", "systemInstruction", "tools", "toolConfig", "generationConfig"),
}
GEMINI_CAMEL = {"function_declarations": "functionDeclarations", "system_instruction": "systemInstruction",
                "generation_config": "generationConfig", "tool_config": "toolConfig",
                "thinking_config": "thinkingConfig", "thinking_budget": "thinkingBudget",
                "include_thoughts": "includeThoughts", "parametersJsonSchema": "parameters",
                "parameters_json_schema": "parameters"}
# Models the baseline config serves (aliases + the families' scenario models), all in Go's listing too.
SERVED_MODELS = ("compat-gpt-4o", "compat-reason", "claude-sonnet-4-5-20250929", "gpt-5.5", "gemini-2.5-flash")
CORS_HEADERS = ("access-control-allow-origin", "access-control-allow-methods",
                "access-control-allow-headers", "access-control-expose-headers")


def deliberate(key: str, sid: str) -> bool:
    globs = DELIBERATE[key][0]
    return any(fnmatch.fnmatchcase(sid, g) for g in globs)


def load_scenarios() -> list:
    if not (CONFORMANCE_DIR / "e2e").is_dir():
        return [pytest.param(None, id="conformance-data-missing")]
    out = []
    for f in sorted((CONFORMANCE_DIR / "e2e").glob("*.json")):
        sid = f.name[:-5]
        if any(fnmatch.fnmatchcase(sid, g) for g in SELECTED):
            out.append(pytest.param(f, id=sid))
    return out


# ---------------------------------------------------------------- client side


def auth_headers(mode: str) -> dict:
    m = re.fullmatch(r'(\w+)(?:\("(.*)"\))?', mode)
    assert m, mode
    kind, arg = m.group(1), m.group(2)
    return {"Client": {"authorization": f"Bearer {CLIENT_KEY}"}, "None": {},
            "Mgmt": {"authorization": "Bearer e2e-mgmt-secret"},
            "Bearer": {"authorization": f"Bearer {arg}"}, "RawAuthorization": {"authorization": arg},
            "XApiKey": {"x-api-key": arg}, "GoogKey": {"x-goog-api-key": arg}}[kind]


def send(base_url: str, req: dict) -> dict:
    """One scenario request over http.client: httpx refuses header values such as "Bearer "."""
    headers = {"user-agent": "cpa-e2e/1", **auth_headers(req["auth"])}
    headers.update({k: v for k, v in req.get("headers") or []})
    content = None
    if req.get("body") is not None:
        headers["content-type"] = "application/json"
        body = req["body"]
        content = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    url = urlsplit(base_url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    transport_error = False
    try:
        conn.request(req["method"], req["path"], body=content, headers=headers)
        resp = conn.getresponse()
        try:
            raw = resp.read()
        except (http.client.IncompleteRead, ConnectionError) as e:
            raw, transport_error = getattr(e, "partial", b""), True
        status, resp_headers = resp.status, {k.lower(): v for k, v in resp.getheaders()}
    finally:
        conn.close()
    ctype = resp_headers.get("content-type", "")
    text = raw.decode("utf-8", "replace")
    if "event-stream" in ctype:
        body = {"type": "sse", "events": S.parse_sse(text) + ([{"transport_error": True}] if transport_error else [])}
    elif not raw:
        body = {"type": "empty"}
    else:
        try:
            body = {"type": "json", "value": json.loads(text)}
        except ValueError:
            body = {"type": "text", "value": text}
    return {"status": status, "headers": resp_headers, "body": body}


def media_type(headers: dict) -> str:
    return headers.get("content-type", "").split(";")[0].strip().lower()


def body_value(body: dict):
    return body.get("events") if body["type"] == "sse" else body.get("value")


def own_401_shape(dialect: str, body: dict) -> list[str]:
    """Switchyard answers 401 in the endpoint's own error shape."""
    v = body.get("value") if body["type"] == "json" else None
    err = v.get("error") if isinstance(v, dict) else None
    if dialect == "claude":
        ok = (isinstance(v, dict) and v.get("type") == "error" and isinstance(err, dict)
              and err.get("type") == "authentication_error" and isinstance(err.get("message"), str))
        want = '{"type":"error","error":{"type":"authentication_error","message":...}}'
    elif dialect == "gemini":
        ok = (isinstance(err, dict) and err.get("code") == 401 and err.get("status") == "UNAUTHENTICATED"
              and isinstance(err.get("message"), str))
        want = '{"error":{"code":401,"message":...,"status":"UNAUTHENTICATED"}}'
    else:
        ok = (isinstance(err, dict) and isinstance(err.get("message"), str) and isinstance(err.get("type"), str)
              and "code" in err)
        want = '{"error":{"message":...,"type":...,"code":...}}'
    return [] if ok else [f"401 body {v!r} is not the endpoint's own shape {want}"]


def compare_step(sid: str, req: dict, golden: dict, actual: dict, proxy_models_hint: list[str]) -> list[str]:
    problems: list[str] = []
    if actual["status"] != golden["status"]:
        body = body_value(actual["body"])
        return [f"status {actual['status']} != expected {golden['status']}; body: {str(body)[:600]}"]
    for h in CORS_HEADERS:  # deliberate "no-cors": not compared with Go's, asserted absent
        if h in actual["headers"]:
            problems.append(f"unexpected CORS header {h}: {actual['headers'][h]}")
    g_type, a_type = media_type(golden["headers"]), media_type(actual["headers"])
    ab = actual["body"]
    if (deliberate("gemini-stream-framing", sid) and g_type == "text/event-stream" and a_type == "application/json"
            and ab["type"] == "json" and isinstance(ab["value"], list)):
        ab = {"type": "sse", "events": [{"data": frame} for frame in ab["value"]]}  # one frame per event
        g_type = a_type
    if g_type and g_type != a_type:
        problems.append(f"content-type {a_type!r} != expected {g_type!r}")
    dialect = S.dialect_of(req["method"], req["path"])
    if golden["status"] == 401 and deliberate("auth-error-shape", sid):
        gemini_path = req["path"].startswith("/v1beta")
        return problems + own_401_shape("gemini" if gemini_path else dialect, actual["body"])
    gb = golden["body"]
    if dialect == "models" and deliberate("open-access-catalogue", sid):
        v = ab.get("value") if ab["type"] == "json" else None
        ids = S.summarize_models(v)["ids"] if isinstance(v, dict) else []
        if not isinstance(v, dict) or v.get("object") != "list":
            problems.append(f"/v1/models is not an OpenAI list: {str(v)[:300]}")
        problems += [f"/v1/models lacks served model {m}" for m in proxy_models_hint if m not in ids]
        return problems
    if gb["type"] != ab["type"]:
        return problems + [f"body type {ab['type']!r} != expected {gb['type']!r}: {str(body_value(ab))[:600]}"]
    if gb["type"] == "sse":
        g_sig, a_sig = S.event_signature(gb["events"]), S.event_signature(ab["events"])
        if g_sig != a_sig:
            problems.append(f"SSE events {a_sig} != expected {g_sig}")
    if gb["type"] in ("json", "sse"):
        g_sum = S.summarize(dialect, gb["type"], body_value(gb))
        a_sum = S.summarize(dialect, ab["type"], body_value(ab))
        problems += [f"response {d}" for d in S.diff(g_sum, a_sum)]
    elif gb["type"] == "text" and gb["value"] != ab["value"]:
        problems.append(f"text body {ab['value']!r} != {gb['value']!r}")
    return problems


# ---------------------------------------------------------------- upstream side


def strip_key(obj, key: str):
    if isinstance(obj, dict):
        return {k: strip_key(v, key) for k, v in obj.items() if k != key}
    if isinstance(obj, list):
        return [strip_key(v, key) for v in obj]
    return obj


def camelize(obj):
    if isinstance(obj, dict):
        return {GEMINI_CAMEL.get(k, k): (v if k in ("properties",) else camelize(v)) for k, v in obj.items()}
    if isinstance(obj, list):
        return [camelize(v) for v in obj]
    return obj


def norm_body(family: str, path: str, body, sid: str) -> dict:
    """The fields that matter, with exactly the DELIBERATE normalisations that apply to `sid`."""
    if not isinstance(body, dict):
        return {"<raw>": body}
    b = json.loads(json.dumps(body))
    if family == "anthropic" and deliberate("claude-no-injection", sid):
        b = strip_key(b, "cache_control")
        for m in b.get("messages") or []:
            if isinstance(m.get("content"), str):
                m["content"] = [{"type": "text", "text": m["content"]}]
        if isinstance(b.get("system"), str):
            b["system"] = [{"type": "text", "text": b["system"]}]
    if family == "codex" and deliberate("codex-no-shaping", sid):
        if isinstance(b.get("input"), str):
            b["input"] = [{"type": "message", "role": "user",
                           "content": [{"type": "input_text", "text": b["input"]}]}]
        for m in b.get("input") or []:
            if isinstance(m, dict) and m.get("type", "message") == "message" and isinstance(m.get("content"), str):
                m.setdefault("type", "message")
                m["content"] = [{"type": "input_text", "text": m["content"]}]
        b["tools"] = [t for t in b.get("tools") or [] if t.get("type") != "image_generation"]
        if not b["tools"]:
            del b["tools"]
        if b.get("instructions") == "":
            del b["instructions"]
    if family == "codex" and deliberate("codex-json-stream-flag", sid):
        b.pop("stream", None)
    if family == "gemini" and deliberate("gemini-no-shaping", sid):
        b = camelize(b)
    if family == "compat" and deliberate("completions-passthrough", sid) and path == "/completions":
        prompt = b.pop("prompt", None)
        b["messages"] = [{"role": "user", "content": prompt}]
        b.pop("stream_options", None)
    elif family == "compat" and deliberate("completions-passthrough", sid):
        b.pop("stream_options", None)
    if b.get("stream") is False:
        b.pop("stream")
    return {k: b[k] for k in BODY_FIELDS[family] if k in b}


def norm_path(family: str, path: str, sid: str) -> str:
    if family == "compat" and path == "/completions" and deliberate("completions-passthrough", sid):
        return "/chat/completions"
    return path


def norm_query(family: str, query: str, sid: str) -> dict:
    q = dict(parse_qsl(query or "", keep_blank_values=True))
    if family == "anthropic" and deliberate("claude-no-beta-query", sid):
        q.pop("beta", None)
    if family == "gemini" and deliberate("gemini-stream-framing", sid):
        q.pop("alt", None)
    return q


def family_of(entry: dict) -> str:
    return {"claude": "anthropic"}.get(entry.get("family", ""), entry.get("family", ""))


def auth_header_name(entry: dict) -> str | None:
    cred = entry.get("credential")
    for name, value in (entry.get("headers") or {}).items():
        if cred and name.lower() in ("authorization", "x-api-key", "x-goog-api-key") and cred in value:
            return name.lower()
    return None


def compare_upstream(sid: str, golden: list[dict], actual: list[dict]) -> list[str]:
    problems: list[str] = []
    brief = [(family_of(a), a.get("method"), a.get("path"), a.get("credential")) for a in actual]
    if len(golden) != len(actual):
        return [f"{len(actual)} upstream request(s) {brief}, expected {len(golden)}"]
    for i, (g, a) in enumerate(zip(golden, actual)):
        fam = family_of(a)
        where = f"upstream[{i}]"
        if fam != family_of(g):
            problems.append(f"{where} family {fam!r} != {family_of(g)!r}")
            continue
        if a.get("method") != g["method"]:
            problems.append(f"{where} method {a.get('method')} != {g['method']}")
        if norm_path(fam, a.get("path"), sid) != g["path"]:
            problems.append(f"{where} path {a.get('path')!r} != {g['path']!r}")
        if norm_query(fam, a.get("query"), sid) != norm_query(fam, g.get("query"), sid):
            problems.append(f"{where} query {a.get('query')!r} != {g.get('query')!r}")
        if a.get("credential") not in FAMILY_KEYS[fam]:  # deliberate "first-credential"
            problems.append(f"{where} credential {a.get('credential')!r} is not one of {FAMILY_KEYS[fam]}")
        if auth_header_name(a) != auth_header_name(g):
            problems.append(f"{where} credential sent in {auth_header_name(a)!r}, expected {auth_header_name(g)!r}")
        headers = {k.lower(): v for k, v in (a.get("headers") or {}).items()}
        if fam == "anthropic" and headers.get("anthropic-version") != g["headers"].get("anthropic-version"):
            problems.append(f"{where} anthropic-version {headers.get('anthropic-version')!r}")
        leaked = [f"{k}: {v}" for k, v in headers.items() if CLIENT_KEY in v or CLIENT_KEY_2 in v]
        if CLIENT_KEY in (a.get("query") or ""):
            leaked.append(f"query {a.get('query')}")
        problems += [f"{where} client key leaked upstream in {x}" for x in leaked]
        g_body = norm_body(fam, g["path"], g.get("body"), sid)
        a_body = norm_body(fam, a.get("path"), a.get("body"), sid)
        problems += [f"{where} body {d}" for d in S.diff(g_body, a_body)]
    return problems


# ---------------------------------------------------------------- the test


@pytest.fixture(scope="module")
def conformance_dir():
    if not (CONFORMANCE_DIR / "e2e").is_dir():
        reason = f"conformance data not found at {CONFORMANCE_DIR} (set SWITCHYARD_CONFORMANCE_DIR)"
        if os.environ.get("CI"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return CONFORMANCE_DIR


@pytest.mark.parametrize("scenario_file", load_scenarios())
def test_scenario(scenario_file, conformance_dir, request, mock):
    scenario = json.loads(Path(scenario_file).read_text())
    sid = scenario["id"]
    open_access = sid == "auth.open_access"
    proxy = request.getfixturevalue("open_proxy" if open_access else "proxy")
    mock.reply("text" if sid.startswith("auth.") else sid.rsplit(".", 1)[1])
    problems: list[str] = []
    for n, step in enumerate(scenario["steps"]):
        actual = send(proxy.url, step["request"])
        problems += [f"step {n} ({step['request']['method']} {step['request']['path']}): {p}"
                     for p in compare_step(sid, step["request"], step["response"], actual,
                                           SERVED_MODELS)]
    problems += compare_upstream(sid, scenario["upstream"], mock.log())
    assert not problems, f"{sid}: {len(problems)} difference(s) from the Go recording:\n  " + "\n  ".join(problems)


def test_deliberate_table_is_used():
    """Every DELIBERATE entry applies to at least one replayed scenario (no stale exemptions)."""
    ids = [p.id for p in load_scenarios()]
    if ids == ["conformance-data-missing"]:
        reason = f"conformance data not found at {CONFORMANCE_DIR}"
        if os.environ.get("CI"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    unused = [k for k in DELIBERATE if not any(deliberate(k, sid) for sid in ids)]
    assert not unused, f"DELIBERATE entries that match no scenario: {unused}"
