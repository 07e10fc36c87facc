"""Replay CLIProxyAPI's recorded end-to-end scenarios against Switchyard and compare semantically.

Scenarios: all of them: `auth.*`, the whole client-dialect x upstream-family matrix (chat.*, responses.*,
claude.*, gemini.*, completions.*: same-format passthrough and translation) and `chunking.*`. The data lives in
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
from support import lower_types
from conftest import CLIENT_KEY, CLIENT_KEY_2, FAMILY_KEYS, REPO, Mock, _missing

CONFORMANCE_DIR = Path(os.environ.get("SWITCHYARD_CONFORMANCE_DIR")
                       or REPO.parent / "shared" / "conformance" / "cliproxyapi-rs")
SELECTED = ("auth.*", "chat.*", "responses.*", "claude.*", "gemini.*", "completions.*", "chunking.*")
DIALECTS = ("chat", "responses", "claude", "gemini", "completions")
SAME_FORMAT = {("claude", "claude"), ("responses", "codex"), ("chat", "compat"), ("gemini", "gemini"),
               ("completions", "compat")}



def _up(*families: str) -> tuple:
    """Globs of every scenario whose upstream is one of `families` (matrix and chunking ids)."""
    return tuple(g for f in families for g in (f"*.{f}.json.*", f"*.{f}.stream.*", f"chunking.*.*.{f}"))


def _pairs(dialects: tuple, families: tuple, modes: tuple = ("json", "stream")) -> tuple:
    """Globs of the translated pairs dialect x family (same-format pairs left out)."""
    out = []
    for d in dialects:
        for f in families:
            if (d, f) in SAME_FORMAT:
                continue
            out += [f"{d}.{f}.{m}.*" for m in modes]
            if "stream" in modes:
                out.append(f"chunking.*.{d}.{f}")
    return tuple(out)


_NOT_CLAUDE = ("chat", "responses", "gemini", "completions")
_ALL_D = DIALECTS
# Deliberate differences from the Go recording: key -> (scenario globs, what is skipped, why).
# Where Switchyard's own behaviour can be stated, it is asserted instead (see apply_golden_fixes and
# check_ours); everything not listed here must match the recording semantically.
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
    "claude-no-injection": (("claude.claude.*", "chunking.*.claude.claude", "auth.*"),
                            "upstream messages/tools cache_control",
                            "passthrough never adds cache_control the client did not ask for (asserted "
                            "absent): the body is the client's, byte for byte"),
    "claude-cache-breakpoints": (_pairs(_NOT_CLAUDE, ("claude",)), "where cache_control markers go",
                                 "translated requests get prompt-cache breakpoints (the client's format "
                                 "cannot ask for them, and without them agent loops pay full price every "
                                 "turn); their placement is ours: after the system prompt, the last tool "
                                 "and the latest turn (asserted: only ephemeral markers)"),
    "claude-no-beta-query": (_up("claude") + ("auth.*",), "upstream query beta=true",
                             "?beta=true marks Claude Code OAuth traffic; claude-api-key calls the "
                             "plain Messages API"),
    "claude-json-not-streamed": (_pairs(_NOT_CLAUDE, ("claude",), ("json",)), "upstream stream flag",
                                 "a non-streaming client gets a non-streaming Claude call (Go streams and "
                                 "aggregates); the client sees the same JSON either way"),
    "claude-default-max-tokens": (_pairs(_NOT_CLAUDE, ("claude",)), "upstream max_tokens when the client "
                                  "set none", "Claude requires max_tokens; the default is ours to choose "
                                  "(Go: 32000); asserted: a positive integer above any thinking budget"),
    "claude-thinking-display": (_pairs(("gemini",), ("claude",)), "upstream thinking.display",
                                "Go adds display: summarized for Gemini clients; summarized is already "
                                "what the model returns by default"),
    "codex-no-shaping": (("responses.codex.*",), "upstream instructions \"\", image_generation tool, "
                         "string input -> message list",
                         "passthrough forwards the Responses body as sent; Go reshapes every Codex call"),
    "codex-json-stream-flag": (("responses.codex.json.*",), "upstream stream flag",
                               "Go always streams Codex upstream and aggregates; a passthrough may ask "
                               "for JSON directly; the client sees the same JSON either way"),
    "codex-no-image-tool": (_pairs(_ALL_D, ("codex",)), "upstream tools image_generation",
                            "Go appends an image_generation tool to every Codex call; Switchyard sends only "
                            "the client's tools (asserted): a tool the user never offered changes answers"),
    "codex-default-effort": (_pairs(_ALL_D, ("codex",)), "upstream reasoning when the client asked for none",
                             "Go forces reasoning.effort medium; without a client setting Switchyard leaves "
                             "the model's default (if it sends one, it must be medium like Go's)"),
    "codex-reasoning-summary": (_pairs(_ALL_D, ("codex",)), "upstream reasoning.summary",
                                "whether a summary is requested is a presentation choice; the effort "
                                "level is compared"),
    "client-sampling-kept": (("completions.*",), "upstream temperature / token limit the client set",
                             "Go drops the client's temperature and max_tokens on /v1/completions; "
                             "Switchyard may forward them (asserted: equal to what the client sent)"),
    "gemini-no-shaping": (("gemini.gemini.*", "auth.*"), "upstream safetySettings, body model, "
                          "function_declarations / parametersJsonSchema spelling",
                          "passthrough forwards the client's body; Go appends safety settings, the "
                          "model, and respells the tool schema keys"),
    "gemini-stream-framing": (("gemini.*.stream.*", "chunking.*.gemini.*"),
                              "SSE vs JSON-array framing (and upstream alt=sse in passthrough) for a "
                              "streamGenerateContent call without ?alt=sse",
                              "the client asked for Google's JSON-array stream, so Switchyard answers in it; "
                              "Go forces SSE (README quirk 13). Frames still compared one by one"),
    "completions-passthrough": (("completions.compat.*",), "upstream path /completions, prompt vs "
                                "messages, stream_options",
                                "legacy completions pass through to {base}/completions as sent; Go "
                                "rewrites them into a /chat/completions request"),
    "finish-length": (("chat.gemini.*.length",), "chat finish_reason for Gemini MAX_TOKENS",
                      'Go says "max_tokens", which is not an OpenAI finish reason; Switchyard says "length"'),
    "no-native-finish-reason": (_pairs(("chat",), ("codex", "gemini", "claude")),
                                "native_finish_reason, explicit nulls, created: 0 on chat choices",
                                "non-standard fields; asserted absent (native_finish_reason)"),
    "chat-usage-once": (_pairs(("chat",), ("claude", "codex", "gemini"), ("stream",)),
                        "usage on the finish chunk as well as the trailing choices: [] chunk",
                        "OpenAI sends usage once, on the trailing chunk, only with include_usage (asserted)"),
    "chat-reasoning-separator": (_pairs(("chat",), ("codex",)), 'Go\'s extra reasoning_content "\\n\\n"',
                                 "Go appends a separator after each summary part; the reasoning text is "
                                 "compared without it"),
    "claude-start-usage": (_pairs(("claude",), ("codex", "gemini", "compat"), ("stream",)),
                           "message_start usage.input_tokens",
                           "Go puts a local token estimate (9 / 40) there; Switchyard sends 0 until the "
                           "upstream reports, or the real count (asserted); message_delta has the real 11"),
    "claude-thinking-first": (("claude.compat.json.thinking",), "content block order",
                              "Go puts the compat thinking block after the text; thinking precedes the "
                              "answer it led to, as Claude itself returns it"),
    "claude-unsigned-thinking": (_pairs(("claude",), ("codex", "gemini", "compat")),
                                 "thinking block signature from an upstream with none",
                                 "a signature is Claude's; any value here is the proxy's to choose"),
    "gemini-parallel-kept": (("gemini.codex.stream.parallel",), "Go's dropped first parallel call",
                             "Go keeps only the last of two parallel calls (data loss); both must arrive"),
    "gemini-thoughts-kept": (("gemini.codex.json.thinking",), "Go's dropped thought part",
                             "Go drops thought parts in non-stream answers from Codex; they must arrive"),
    "gemini-client-extras": (_pairs(("gemini",), ("claude", "codex", "compat")),
                             "createTime, trafficType, sentinel thoughtSignature, functionCall ids, early "
                             "finishReason on function-call chunks",
                             "Go's hard-coded createTime and 'skip_thought_signature_validator' sentinel "
                             "are invented data (asserted absent); the rest are extension fields"),
    "reasoning-tokens-kept": (("responses.compat.json.*",), "reasoning_tokens Go loses",
                              "Go reports 0 reasoning_tokens for a non-stream Responses answer from compat "
                              "(3 when streaming) although the upstream said 3; Switchyard keeps 3"),
    "gemini-usage-split": (("gemini.codex.*", "gemini.compat.*", "chunking.*.gemini.compat",
                            "chunking.*.gemini.codex"), "candidatesTokenCount / thoughtsTokenCount",
                           "Gemini counts thoughts apart from candidates; the upstream's 7 output tokens include "
                           "3 of reasoning, so Switchyard says 4 + 3 (total 18). Go drops the thoughts (Codex) "
                           "or counts them twice (compat: 7 + 3 with total 18)"),
    "model-as-requested": (_pairs(_ALL_D, ("compat",)), "model name in the answer",
                           "a translated answer names the model the client asked for (the alias "
                           "compat-gpt-4o); Go shows the upstream's name (mock-gpt-4o) or none"),
    "completions-usage-when-asked": (("completions.claude.*", "completions.codex.*", "completions.gemini.*"),
                                     "usage chunk in a legacy completions stream",
                                     "OpenAI streams usage only with stream_options.include_usage, which these "
                                     "clients did not set (asserted absent); Go always sends it"),
    "gemini-include-thoughts": (_pairs(_ALL_D, ("gemini",)), "upstream thinkingConfig.includeThoughts",
                                "a client that asked for reasoning gets to see it: Switchyard sets "
                                "includeThoughts (Go omits it for Claude and Responses clients, so Gemini "
                                "would think but hide the thoughts)"),
    "schema-as-sent": (_pairs(("gemini",), ("claude", "codex", "compat")), "tool schema $schema / "
                       "additionalProperties: false", "tool schemas are forwarded as the client wrote them; "
                       "Go adds JSON-Schema boilerplate, and additionalProperties: false narrows what the "
                       "model may send"),
    "client-limit-kept": (_pairs(_ALL_D, ("gemini",)), "upstream generationConfig.maxOutputTokens",
                          "Go drops the client's max_tokens on the way to Gemini; Switchyard forwards it "
                          "(asserted: equal to the client's)"),
    "tool-call-ids": (_pairs(_ALL_D, ("claude", "codex", "gemini", "compat")), "translated tool call ids",
                      "ids of translated calls are the proxy's to choose (Go: the upstream's, or "
                      "name-<nanos>); compared: present and distinct; pairing is checked by the SDK "
                      "round-trip tests"),
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
    return {"status": status, "headers": resp_headers, "body": body, "raw": text}


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


def parse_sid(sid: str) -> dict | None:
    """dialect / family / mode / kind of a matrix or chunking scenario (None for auth.*)."""
    parts = sid.split(".")
    if parts[0] == "chunking" and len(parts) == 4:
        return {"dialect": parts[2], "family": parts[3], "mode": "stream", "kind": "thinking", "chunking": parts[1]}
    if parts[0] in DIALECTS and len(parts) == 4:
        return {"dialect": parts[0], "family": parts[1], "mode": parts[2], "kind": parts[3], "chunking": None}
    return None


def is_translated(sid: str) -> bool:
    meta = parse_sid(sid)
    return meta is not None and (meta["dialect"], meta["family"]) not in SAME_FORMAT


def stream_shape(dialect: str, events: list[dict]) -> list:
    """The event sequence that matters in a translated stream: `ping`s dropped, runs of the same event
    collapsed (how many deltas a text or argument string is cut into is the proxy's choice), and for
    Responses one sequence per output item (items may interleave)."""
    sig = [x for x in S.event_signature(events) if x[0] != "ping" and x[1] != "ping"]
    datas = [e.get("data") for e in S.data_events(events)]
    datas = [d for d, x in zip(datas, S.event_signature(events)) if x[0] != "ping" and x[1] != "ping"]

    def collapse(seq):
        out = []
        for x in seq:
            if not out or out[-1] != x:
                out.append(x)
        return out

    if dialect != "responses":
        return collapse(sig)
    envelope, items = [], {}
    for x, d in zip(sig, datas):
        idx = d.get("output_index") if isinstance(d, dict) else None
        if idx is None:
            envelope.append(x)
        else:
            items.setdefault(idx, []).append(x)
    return [collapse(envelope)] + [collapse(items[i]) for i in sorted(items)]


PRIMARY_USAGE = {"prompt_tokens", "completion_tokens", "total_tokens", "input_tokens", "output_tokens",
                 "promptTokenCount", "candidatesTokenCount", "totalTokenCount"}


def norm_summary(dialect: str, summ):
    """Semantic equivalences, both sides: a zero detail count is an absent one; an empty signature is none;
    Gemini's output is candidates + thoughts (Gemini counts them apart, the other formats together)."""
    summ = json.loads(json.dumps(summ))

    def walk(o):
        if isinstance(o, dict):
            for k, v in list(o.items()):
                if k == "usage" and isinstance(v, dict):
                    o[k] = {uk: uv for uk, uv in v.items() if uk in PRIMARY_USAGE or uv != 0}
                    if dialect == "gemini" and o[k]:
                        u = o[k]
                        u["output"] = u.pop("candidatesTokenCount", 0) + u.get("thoughtsTokenCount", 0)
                elif k == "signature" and v == "":
                    o[k] = None
                else:
                    walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)
    walk(summ)
    return summ


def _calls(dialect: str, summ) -> list:
    """Every tool-call id slot of a summary, as (container, key)."""
    out = []
    if not isinstance(summ, dict):
        return out
    if dialect == "chat":
        for c in summ.get("choices") or []:
            out += [(t, "id") for t in c.get("tool_calls") or []]
    elif dialect == "claude":
        out += [(b, "id") for b in summ.get("blocks") or [] if b.get("type") == "tool_use"]
    elif dialect == "responses":
        for key in ("output", "streamed"):
            out += [(i, "call_id") for i in summ.get(key) or [] if i.get("type") == "function_call"]
    return out


def requested_model(req: dict) -> str | None:
    m = re.match(r"/v1(?:beta)?/models/([^:/?]+):", req["path"])
    if m:
        return m.group(1)
    return req["body"].get("model") if isinstance(req.get("body"), dict) else None


def apply_golden_fixes(sid: str, dialect: str, g: dict, req: dict) -> dict:
    """The golden summary with Go's quirks replaced by what Switchyard deliberately does instead."""
    meta = parse_sid(sid) or {}
    if deliberate("model-as-requested", sid) and "model" in g:
        want = requested_model(req)
        g["model"] = [want] if isinstance(g["model"], list) else want
    if deliberate("completions-usage-when-asked", sid):
        g["usage"] = {}
    if deliberate("gemini-usage-split", sid) and meta.get("kind") == "thinking" and g.get("usage"):
        g["usage"]["output"] = 7
        g["usage"]["thoughtsTokenCount"] = 3
    if deliberate("finish-length", sid):
        for c in g.get("choices") or []:
            if c.get("finish_reason") == "max_tokens":
                c["finish_reason"] = "length"
    if deliberate("chat-reasoning-separator", sid):
        for c in g.get("choices") or []:
            c["reasoning"] = c["reasoning"].rstrip("\n")
    if deliberate("claude-thinking-first", sid) and g.get("blocks"):
        g["blocks"].sort(key=lambda b: b.get("type") != "thinking")
    if deliberate("gemini-parallel-kept", sid):
        calls = [p for p in g["parts"] if "call" in p]
        if len(calls) == 1 and calls[0]["args"] == {"city": "Rome"}:
            g["parts"].insert(g["parts"].index(calls[0]), {"call": calls[0]["call"], "args": {"city": "Paris"}})
    if deliberate("gemini-thoughts-kept", sid) and not any(p.get("thought") for p in g["parts"]):
        g["parts"].insert(0, {"text": "Let me think.", "thought": True})
    if deliberate("reasoning-tokens-kept", sid) and meta.get("kind") == "thinking":
        if dialect == "responses" and g.get("usage"):
            g["usage"]["output_tokens_details.reasoning_tokens"] = 3
    return g


def mask_translated(sid: str, dialect: str, summ: dict) -> list[str]:
    """Ids and signatures that are the proxy's to choose (DELIBERATE tool-call-ids, claude-unsigned-thinking):
    checked for presence and distinctness, then masked."""
    problems = []
    if deliberate("tool-call-ids", sid):
        slots = _calls(dialect, summ)
        ids = [c[k] for c, k in slots]
        if dialect == "responses":  # final output and streamed items name the same calls: check one list
            one = "output" if summ.get("output") else "streamed"
            ids = [i.get("call_id") for i in summ.get(one) or [] if i.get("type") == "function_call"]
        if not all(isinstance(i, str) and i for i in ids) or len(set(ids)) != len(ids):
            problems.append(f"tool call ids {ids} are not present and distinct")
        for c, k in slots:
            c[k] = "<id>"
    if deliberate("claude-unsigned-thinking", sid):
        for b in summ.get("blocks") or []:
            b.pop("signature", None)
    return problems


def check_ours(sid: str, dialect: str, actual: dict) -> list[str]:
    """Switchyard's side of the DELIBERATE entries that say what we do instead."""
    problems, raw = [], actual.get("raw", "")
    if deliberate("no-native-finish-reason", sid) and "native_finish_reason" in raw:
        problems.append("native_finish_reason is not an OpenAI field")
    if deliberate("gemini-client-extras", sid):
        for invented in ("skip_thought_signature_validator", "2025-08-15T02:52:03.884209Z"):
            if invented in raw:
                problems.append(f"invented value {invented!r} in the answer")
    events = actual["body"].get("events") if actual["body"]["type"] == "sse" else None
    if events is not None and deliberate("chat-usage-once", sid):
        with_usage = [d for d in S.stream_datas(events) if isinstance(d, dict) and d.get("usage")]
        if len(with_usage) != 1 or with_usage[0].get("choices"):
            problems.append(f"usage should come once, on a choices: [] chunk; got {len(with_usage)} chunk(s)")
    if events is not None and deliberate("completions-usage-when-asked", sid):
        if any(isinstance(d, dict) and d.get("usage") for d in S.stream_datas(events)):
            problems.append("usage streamed although the client did not set stream_options.include_usage")
    if events is not None and deliberate("claude-start-usage", sid):
        for d in S.stream_datas(events):
            if isinstance(d, dict) and d.get("type") == "message_start":
                n = ((d.get("message") or {}).get("usage") or {}).get("input_tokens")
                if n not in (0, 11, None):
                    problems.append(f"message_start input_tokens {n} is neither unknown (0) nor the real 11")
    return problems


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
    translated = is_translated(sid)
    if gb["type"] == "sse":
        if translated:
            g_sig, a_sig = stream_shape(dialect, gb["events"]), stream_shape(dialect, ab["events"])
        else:
            g_sig, a_sig = S.event_signature(gb["events"]), S.event_signature(ab["events"])
        if g_sig != a_sig:
            problems.append(f"SSE events {a_sig} != expected {g_sig}")
    if gb["type"] in ("json", "sse"):
        g_sum = S.summarize(dialect, gb["type"], body_value(gb))
        a_sum = S.summarize(dialect, ab["type"], body_value(ab))
        if translated and isinstance(g_sum, dict) and isinstance(a_sum, dict):
            g_sum = apply_golden_fixes(sid, dialect, norm_summary(dialect, g_sum), req)
            a_sum = norm_summary(dialect, a_sum)
            mask_translated(sid, dialect, g_sum)
            problems += mask_translated(sid, dialect, a_sum)
        problems += [f"response {d}" for d in S.diff(g_sum, a_sum)]
    elif gb["type"] == "text" and gb["value"] != ab["value"]:
        problems.append(f"text body {ab['value']!r} != {gb['value']!r}")
    return problems + check_ours(sid, dialect, actual)


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


def semantic_body(family: str, b: dict) -> dict:
    """Spellings that mean the same to the upstream, normalised on both sides."""
    if family == "anthropic":
        for m in b.get("messages") or []:
            if isinstance(m.get("content"), str):
                m["content"] = [{"type": "text", "text": m["content"]}]
        if isinstance(b.get("system"), str):
            b["system"] = [{"type": "text", "text": b["system"]}]
    if family == "codex":
        if isinstance(b.get("input"), str):
            b["input"] = [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": b["input"]}]}]
        for m in b.get("input") or []:
            if isinstance(m, dict) and m.get("type", "message") == "message":
                m.setdefault("type", "message")
                if isinstance(m.get("content"), str):
                    kind = "output_text" if m.get("role") == "assistant" else "input_text"
                    m["content"] = [{"type": kind, "text": m["content"]}]
        for t in b.get("tools") or []:
            if t.get("strict") is False:
                del t["strict"]
    if family == "compat":
        for m in b.get("messages") or []:
            c = m.get("content")
            if isinstance(c, list) and c and all(isinstance(x, dict) and x.get("type") == "text" for x in c):
                m["content"] = "".join(x.get("text", "") for x in c)
        if "max_completion_tokens" in b and "max_tokens" not in b:
            b["max_tokens"] = b.pop("max_completion_tokens")
        for t in b.get("tools") or []:
            if (t.get("function") or {}).get("strict") is False:
                del t["function"]["strict"]
    if family in ("codex", "compat", "anthropic") and b.get("tool_choice") in ("auto", {"type": "auto"}):
        del b["tool_choice"]
    if family == "gemini":
        b = lower_types(camelize(b))
    if b.get("stream") is False:
        b.pop("stream")
    return b


def _client_max_tokens(req_body) -> int | None:
    if not isinstance(req_body, dict):
        return None
    gen = req_body.get("generationConfig") or {}
    for v in (req_body.get("max_tokens"), req_body.get("max_completion_tokens"), req_body.get("max_output_tokens"),
              gen.get("maxOutputTokens")):
        if v is not None:
            return v
    return None


def _client_asked_reasoning(req_body) -> bool:
    if not isinstance(req_body, dict):
        return False
    gen = req_body.get("generationConfig") or {}
    return any(k in req_body for k in ("reasoning_effort", "reasoning", "thinking")) or "thinkingConfig" in gen


def norm_bodies(family: str, g_path: str, a_path: str, g_body, a_body, sid: str, client_body) -> tuple:
    """(golden, actual, problems): the fields that matter, with exactly the DELIBERATE normalisations that
    apply to `sid`; where an entry says what Switchyard does instead, that is checked into `problems`."""
    if not isinstance(g_body, dict) or not isinstance(a_body, dict):
        return {"<raw>": g_body}, {"<raw>": a_body}, []
    g, a, problems = json.loads(json.dumps(g_body)), json.loads(json.dumps(a_body)), []
    translated = is_translated(sid)
    if family == "anthropic" and deliberate("claude-cache-breakpoints", sid):
        markers = re.findall(r'"cache_control": (\{[^}]*\})', json.dumps(a))
        if any(json.loads(m) != {"type": "ephemeral"} for m in markers):
            problems.append(f"unexpected cache_control markers {markers}")
        g, a = strip_key(g, "cache_control"), strip_key(a, "cache_control")
    if family == "anthropic" and deliberate("claude-no-injection", sid):
        g = strip_key(g, "cache_control")
        client_text = json.dumps(client_body) if client_body is not None else ""
        if "cache_control" in json.dumps(a) and "cache_control" not in client_text:
            problems.append("cache_control injected upstream although the client sent none")
    if family == "anthropic" and deliberate("claude-json-not-streamed", sid):
        if a.get("stream"):
            problems.append("a non-streaming client's Claude call asked for a stream")
        g.pop("stream", None)
    if family == "anthropic" and deliberate("claude-default-max-tokens", sid) and _client_max_tokens(client_body) is None:
        budget = (a.get("thinking") or {}).get("budget_tokens") or 0
        if not (isinstance(a.get("max_tokens"), int) and a["max_tokens"] > max(budget, 0)):
            problems.append(f"upstream max_tokens {a.get('max_tokens')!r} must exceed the thinking budget {budget}")
        g.pop("max_tokens", None)
        a.pop("max_tokens", None)
    if family == "anthropic" and deliberate("claude-thinking-display", sid) and isinstance(g.get("thinking"), dict):
        g["thinking"].pop("display", None)
    if family == "codex" and deliberate("codex-no-shaping", sid):
        g["tools"] = [t for t in g.get("tools") or [] if t.get("type") != "image_generation"]
        if not g["tools"]:
            del g["tools"]
        if g.get("instructions") == "":
            del g["instructions"]
    if family == "codex" and translated:
        if any(t.get("type") == "image_generation" for t in a.get("tools") or []):
            problems.append("image_generation tool injected into the Codex call")
        g["tools"] = [t for t in g.get("tools") or [] if t.get("type") != "image_generation"]
        if not g["tools"]:
            del g["tools"]
        if not isinstance(a.get("instructions"), str):
            problems.append(f"codex instructions must be a string, got {a.get('instructions')!r}")
        if a_body.get("store") is not False:
            problems.append(f"codex store must be false, got {a_body.get('store')!r}")
        for x in (g, a):
            if x.get("instructions") == "":
                del x["instructions"]
        if deliberate("codex-reasoning-summary", sid):
            for x in (g, a):
                if isinstance(x.get("reasoning"), dict):
                    x["reasoning"].pop("summary", None)
        if deliberate("codex-default-effort", sid) and not _client_asked_reasoning(client_body):
            if a.get("reasoning") in (None, {}, g.get("reasoning")):
                g.pop("reasoning", None)
                a.pop("reasoning", None)
    if family == "codex" and deliberate("codex-json-stream-flag", sid):
        g.pop("stream", None)
        a.pop("stream", None)
    if family == "gemini" and deliberate("gemini-no-shaping", sid):
        g = camelize(g)
    if family == "compat" and deliberate("completions-passthrough", sid) and a_path == "/completions":
        prompt = a.pop("prompt", None)
        a["messages"] = [{"role": "user", "content": prompt}]
        a.pop("stream_options", None)
        g.pop("stream_options", None)
    g, a = semantic_body(family, g), semantic_body(family, a)
    if deliberate("schema-as-sent", sid):
        for t in g.get("tools") or []:
            for holder in (t, t.get("function") or {}):
                for key in ("input_schema", "parameters"):
                    if isinstance(holder.get(key), dict):
                        holder[key].pop("$schema", None)
                        if holder[key].get("additionalProperties") is False:
                            holder[key].pop("additionalProperties")
    if family == "gemini" and translated:
        gen_a, gen_g = a.get("generationConfig") or {}, g.get("generationConfig") or {}
        tc_a, tc_g = gen_a.get("thinkingConfig") or {}, gen_g.get("thinkingConfig") or {}
        if (deliberate("gemini-include-thoughts", sid) and tc_a.get("includeThoughts") is True
                and "includeThoughts" not in tc_g and _client_asked_reasoning(client_body)):
            tc_a.pop("includeThoughts")
        limit = _client_max_tokens(client_body)
        if deliberate("client-limit-kept", sid) and "maxOutputTokens" in gen_a and "maxOutputTokens" not in gen_g:
            if gen_a["maxOutputTokens"] != limit:
                problems.append(f"upstream maxOutputTokens {gen_a['maxOutputTokens']!r} is not the client's {limit!r}")
            gen_a.pop("maxOutputTokens")
        if "generationConfig" in a and not a["generationConfig"] and "generationConfig" not in g:
            del a["generationConfig"]
    if deliberate("client-sampling-kept", sid) and isinstance(client_body, dict):
        kept = {"temperature": client_body.get("temperature"), "max_tokens": client_body.get("max_tokens"),
                "max_output_tokens": client_body.get("max_tokens")}
        for k, v in kept.items():
            if k in a and k not in g:
                if a[k] != v:
                    problems.append(f"upstream {k} {a[k]!r} is not the client's {v!r}")
                a.pop(k)
        gen = a.get("generationConfig") or {}
        for k, v in (("temperature", client_body.get("temperature")), ("maxOutputTokens", client_body.get("max_tokens"))):
            if k in gen and k not in (g.get("generationConfig") or {}):
                if gen[k] != v:
                    problems.append(f"upstream generationConfig.{k} {gen[k]!r} is not the client's {v!r}")
                gen.pop(k)
        if "generationConfig" in a and not a["generationConfig"] and "generationConfig" not in g:
            del a["generationConfig"]
    pick = lambda b: {k: b[k] for k in BODY_FIELDS[family] if k in b}  # noqa: E731
    return pick(g), pick(a), problems


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


def compare_upstream(sid: str, golden: list[dict], actual: list[dict], client_bodies: list) -> list[str]:
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
        client_body = client_bodies[i] if i < len(client_bodies) else None
        g_body, a_body, extra = norm_bodies(fam, g["path"], a.get("path"), g.get("body"), a.get("body"), sid,
                                            client_body)
        problems += [f"{where} {x}" for x in extra]
        problems += [f"{where} body {d}" for d in S.diff(g_body, a_body)]
    return problems


# ---------------------------------------------------------------- the test


@pytest.fixture(scope="module")
def conformance_dir():
    if not (CONFORMANCE_DIR / "e2e").is_dir():
        _missing(f"conformance data not found at {CONFORMANCE_DIR} (set SWITCHYARD_CONFORMANCE_DIR)")
    return CONFORMANCE_DIR


@pytest.mark.parametrize("scenario_file", load_scenarios())
def test_scenario(scenario_file, conformance_dir, request, mock):
    scenario = json.loads(Path(scenario_file).read_text())
    sid = scenario["id"]
    open_access = sid == "auth.open_access"
    proxy = request.getfixturevalue("open_proxy" if open_access else "proxy")
    meta = parse_sid(sid)
    if meta is None:
        mock.reply("text")
    elif meta["chunking"]:  # Ok(thinking) with split / merged network writes
        mock.script([Mock.step({"ok": "thinking"}, chunking=meta["chunking"])], {"ok": "thinking"})
    else:
        mock.reply(meta["kind"])
    problems: list[str] = []
    for n, step in enumerate(scenario["steps"]):
        actual = send(proxy.url, step["request"])
        problems += [f"step {n} ({step['request']['method']} {step['request']['path']}): {p}"
                     for p in compare_step(sid, step["request"], step["response"], actual,
                                           SERVED_MODELS)]
    problems += compare_upstream(sid, scenario["upstream"], mock.log(),
                                 [st["request"].get("body") for st in scenario["steps"]])
    assert not problems, f"{sid}: {len(problems)} difference(s) from the Go recording:\n  " + "\n  ".join(problems)


def test_deliberate_table_is_used():
    """Every DELIBERATE entry applies to at least one replayed scenario (no stale exemptions)."""
    ids = [p.id for p in load_scenarios()]
    if ids == ["conformance-data-missing"]:
        _missing(f"conformance data not found at {CONFORMANCE_DIR}")
    unused = [k for k in DELIBERATE if not any(deliberate(k, sid) for sid in ids)]
    assert not unused, f"DELIBERATE entries that match no scenario: {unused}"
