"""SSE parsing and semantic summaries of client-visible responses, per wire dialect.

A summary keeps what a user of the API would notice (text, reasoning, tool calls with parsed
arguments, stop reasons, usage, model) and drops transport details (ids of chunks, timestamps,
key order). Streaming and non-streaming answers summarise to the same shape, so they compare.
"""
from __future__ import annotations

import json
import re
from typing import Any

# ---------------------------------------------------------------- SSE


def parse_sse(text: str) -> list[dict]:
    """Split an SSE body into events: {"event"?, "data", "id"?}; comments become {"comment"}.

    An unterminated last block gets "unterminated": True (the stream was cut mid-event).
    """
    events: list[dict] = []
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    blocks = text.split("\n\n")
    for i, block in enumerate(blocks):
        if not block.strip("\n"):
            continue
        event: dict[str, Any] = {}
        data_lines: list[str] = []
        comments: list[str] = []
        for line in block.split("\n"):
            if not line:
                continue
            if line.startswith(":"):
                comments.append(line[1:].lstrip())
                continue
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "data":
                data_lines.append(value)
            elif name in ("event", "id", "retry"):
                event[name] = value
        if data_lines:
            raw = "\n".join(data_lines)
            try:
                event["data"] = json.loads(raw)
            except ValueError:
                event["data"] = raw
        elif not event:
            event["comment"] = "\n".join(comments)
        if i == len(blocks) - 1:
            event["unterminated"] = True
        events.append(event)
    return events


def data_events(events: list[dict]) -> list[dict]:
    """Events that carry data (comments, keep-alives and trailing whitespace are framing)."""
    return [e for e in events if "data" in e or e.get("transport_error")]


def event_signature(events: list[dict]) -> list[tuple]:
    """(event name, data type) per event: the shape of a stream, independent of ids and text."""
    sig = []
    for e in data_events(events):
        if e.get("transport_error"):
            sig.append(("<transport error>", None))
            continue
        d = e["data"]
        kind = d if isinstance(d, str) else (d.get("type") or d.get("object")) if isinstance(d, dict) else None
        if isinstance(d, dict) and kind is None and "error" in d:
            kind = "error"
        sig.append((e.get("event"), kind))
    return sig


def stream_datas(events: list[dict]) -> list[Any]:
    return [e["data"] for e in data_events(events) if "data" in e]


# ---------------------------------------------------------------- helpers


def parse_args(raw: Any) -> Any:
    """Tool arguments as parsed JSON; an unparsable string stays a marked string."""
    if isinstance(raw, (dict, list)):
        return raw
    try:
        return json.loads(raw) if raw else {}
    except (TypeError, ValueError):
        return {"<unparsable>": raw}


_PLACEHOLDER_ID = re.compile(r"^(?P<prefix>[a-z]+[_-])<id:\d+>")


def id_key(value: Any) -> Any:
    """Compare ids exactly, unless the golden masked a generated id: then only its prefix."""
    if not isinstance(value, str):
        return value
    m = _PLACEHOLDER_ID.match(value)
    return ("prefix", m.group("prefix")) if m else value


def same_id(golden: Any, actual: Any) -> bool:
    g = id_key(golden)
    if isinstance(g, tuple):
        return isinstance(actual, str) and actual.startswith(g[1])
    return golden == actual


def _usage(obj: Any, keys: tuple[str, ...]) -> dict:
    """Flatten the usage numbers we care about (nested *_details included)."""
    out: dict[str, Any] = {}
    if not isinstance(obj, dict):
        return out
    for k, v in obj.items():
        if isinstance(v, dict):
            for k2, v2 in v.items():
                if isinstance(v2, (int, float)) and f"{k}.{k2}" in keys:
                    out[f"{k}.{k2}"] = v2
        elif isinstance(v, (int, float)) and k in keys:
            out[k] = v
    return out


CHAT_USAGE = ("prompt_tokens", "completion_tokens", "total_tokens", "prompt_tokens_details.cached_tokens",
              "completion_tokens_details.reasoning_tokens")
CLAUDE_USAGE = ("input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
RESP_USAGE = ("input_tokens", "output_tokens", "total_tokens", "input_tokens_details.cached_tokens",
              "output_tokens_details.reasoning_tokens")
GEMINI_USAGE = ("promptTokenCount", "candidatesTokenCount", "totalTokenCount", "thoughtsTokenCount",
                "cachedContentTokenCount")


# ---------------------------------------------------------------- summaries per dialect


def summarize_chat(body: Any, stream: bool) -> dict:
    if not stream:
        choices = []
        for c in body.get("choices", []):
            msg = c.get("message") or {}
            calls = [{"id": t.get("id"), "name": t.get("function", {}).get("name"),
                      "args": parse_args(t.get("function", {}).get("arguments"))}
                     for t in msg.get("tool_calls") or []]
            choices.append({"text": msg.get("content") or "", "reasoning": msg.get("reasoning_content") or "",
                            "tool_calls": calls, "finish_reason": c.get("finish_reason")})
        return {"model": body.get("model"), "choices": choices, "usage": _usage(body.get("usage"), CHAT_USAGE),
                "error": body.get("error")}
    acc: dict[int, dict] = {}
    usage: dict = {}
    models, error = set(), None
    for d in body:
        if not isinstance(d, dict):
            continue
        if "error" in d:
            error = d["error"]
            continue
        if d.get("model"):
            models.add(d["model"])
        if d.get("usage"):
            usage = _usage(d["usage"], CHAT_USAGE)
        for c in d.get("choices") or []:
            a = acc.setdefault(c.get("index", 0), {"text": "", "reasoning": "", "calls": {},
                                                   "finish_reason": None})
            delta = c.get("delta") or {}
            a["text"] += delta.get("content") or ""
            a["reasoning"] += delta.get("reasoning_content") or ""
            for t in delta.get("tool_calls") or []:
                call = a["calls"].setdefault(t.get("index", 0), {"id": None, "name": None, "args": ""})
                call["id"] = call["id"] or t.get("id")
                fn = t.get("function") or {}
                call["name"] = call["name"] or fn.get("name")
                call["args"] += fn.get("arguments") or ""
            if c.get("finish_reason"):
                a["finish_reason"] = c["finish_reason"]
    choices = [{"text": a["text"], "reasoning": a["reasoning"], "finish_reason": a["finish_reason"],
                "tool_calls": [{"id": c["id"], "name": c["name"], "args": parse_args(c["args"])}
                               for _, c in sorted(a["calls"].items())]}
               for _, a in sorted(acc.items())]
    return {"model": sorted(models)[0] if len(models) == 1 else sorted(models), "choices": choices,
            "usage": usage, "error": error}


def summarize_completions(body: Any, stream: bool) -> dict:
    datas = body if stream else [body]
    text, finish, usage, models = "", None, {}, set()
    for d in datas:
        if not isinstance(d, dict):
            continue
        models.add(d.get("model"))
        if d.get("usage"):
            usage = _usage(d["usage"], CHAT_USAGE)
        for c in d.get("choices") or []:
            text += c.get("text") or ""
            if c.get("finish_reason"):
                finish = c["finish_reason"]
    models.discard(None)
    return {"model": sorted(models), "text": text, "finish_reason": finish, "usage": usage}


def _claude_block(b: dict) -> dict:
    t = b.get("type")
    if t == "text":
        return {"type": t, "text": b.get("text", "")}
    if t == "thinking":
        return {"type": t, "thinking": b.get("thinking", ""), "signature": b.get("signature")}
    if t in ("tool_use", "server_tool_use"):
        return {"type": t, "id": b.get("id"), "name": b.get("name"), "input": parse_args(b.get("input"))}
    return dict(b)


def summarize_claude(body: Any, stream: bool) -> dict:
    if not stream:
        if body.get("type") == "error":
            return {"error": body.get("error")}
        return {"model": body.get("model"), "blocks": [_claude_block(b) for b in body.get("content", [])],
                "stop_reason": body.get("stop_reason"), "usage": _usage(body.get("usage"), CLAUDE_USAGE)}
    model, blocks, stop, usage, errors, stopped = None, {}, None, {}, [], False
    for d in body:
        if not isinstance(d, dict):
            continue
        t = d.get("type")
        if t == "message_start":
            model = d["message"].get("model")
            usage.update(_usage(d["message"].get("usage"), CLAUDE_USAGE))
        elif t == "content_block_start":
            b = dict(d["content_block"])
            if b.get("type") in ("tool_use", "server_tool_use"):
                b["input"] = ""
            blocks[d["index"]] = b
        elif t == "content_block_delta":
            b, delta = blocks[d["index"]], d["delta"]
            dt = delta.get("type")
            if dt == "text_delta":
                b["text"] = b.get("text", "") + delta["text"]
            elif dt == "thinking_delta":
                b["thinking"] = b.get("thinking", "") + delta["thinking"]
            elif dt == "signature_delta":
                b["signature"] = b.get("signature", "") + delta["signature"]
            elif dt == "input_json_delta":
                b["input"] += delta["partial_json"]
        elif t == "message_delta":
            stop = (d.get("delta") or {}).get("stop_reason", stop)
            usage.update(_usage(d.get("usage"), CLAUDE_USAGE))
        elif t == "message_stop":
            stopped = True
        elif t == "error":
            errors.append(d.get("error"))
    out = {"model": model, "blocks": [_claude_block(b) for _, b in sorted(blocks.items())],
           "stop_reason": stop, "usage": usage}
    if errors or not stopped:
        out["error"] = errors or "stream ended without message_stop"
    return out


def _resp_item(item: dict) -> dict:
    t = item.get("type")
    if t == "message":
        text = "".join(p.get("text", "") for p in item.get("content") or [] if p.get("type") == "output_text")
        return {"type": t, "text": text}
    if t == "reasoning":
        return {"type": t, "summary": "".join(s.get("text", "") for s in item.get("summary") or [])}
    if t == "function_call":
        return {"type": t, "call_id": item.get("call_id"), "name": item.get("name"),
                "args": parse_args(item.get("arguments"))}
    return {"type": t}


def _resp_final(resp: dict) -> dict:
    return {"model": resp.get("model"), "status": resp.get("status"),
            "incomplete_reason": (resp.get("incomplete_details") or {}).get("reason"),
            "output": [_resp_item(i) for i in resp.get("output") or []],
            "usage": _usage(resp.get("usage"), RESP_USAGE)}


def _streamed_item(s: dict) -> dict:
    """An output item as assembled from the stream's deltas (not from the terminal event)."""
    t = s["type"]
    if t == "message":
        return {"type": t, "text": s["text"]}
    if t == "reasoning":
        return {"type": t, "summary": s["summary"]}
    if t == "function_call":
        return {"type": t, "call_id": s["call_id"], "name": s["name"], "args": parse_args(s["args"])}
    return {"type": t}


def summarize_responses(body: Any, stream: bool) -> dict:
    if not stream:
        return _resp_final(body) if "error" not in body else {"error": body["error"]}
    out: dict[str, Any] = {"terminal": None}
    streamed: dict[int, dict] = {}
    for d in body:
        if not isinstance(d, dict):
            continue
        t = d.get("type", "")
        if t in ("response.completed", "response.incomplete", "response.failed"):
            out.update(_resp_final(d["response"]))
            out["terminal"] = t
        elif t == "error":
            out["error"] = d.get("error") or d.get("message")
        elif t == "response.output_item.added":
            item = d["item"]
            streamed[d["output_index"]] = {"type": item.get("type"), "call_id": item.get("call_id"),
                                           "name": item.get("name"), "text": "", "summary": "", "args": ""}
        elif t == "response.output_text.delta":
            streamed[d["output_index"]]["text"] += d["delta"]
        elif t == "response.reasoning_summary_text.delta":
            streamed[d["output_index"]]["summary"] += d["delta"]
        elif t == "response.function_call_arguments.delta":
            streamed[d["output_index"]]["args"] += d["delta"]
    out["streamed"] = [_streamed_item(s) for _, s in sorted(streamed.items())]
    return out


def summarize_gemini(body: Any, stream: bool) -> dict:
    frames = body if stream else ([body] if isinstance(body, dict) else body)
    parts: list[dict] = []
    finish, usage, models, error = None, {}, set(), None
    for f in frames:
        if not isinstance(f, dict):
            continue
        if "error" in f:
            error = f["error"]
            continue
        models.add(f.get("modelVersion"))
        if f.get("usageMetadata"):
            usage = _usage(f["usageMetadata"], GEMINI_USAGE)
        for cand in f.get("candidates") or []:
            for p in (cand.get("content") or {}).get("parts") or []:
                if "text" in p:
                    thought = bool(p.get("thought"))
                    if parts and "text" in parts[-1] and parts[-1]["thought"] == thought:
                        parts[-1]["text"] += p["text"]
                    else:
                        parts.append({"text": p["text"], "thought": thought})
                elif "functionCall" in p:
                    fc = p["functionCall"]
                    parts.append({"call": fc.get("name"), "args": parse_args(fc.get("args"))})
            if cand.get("finishReason"):
                finish = cand["finishReason"]
    models.discard(None)
    return {"model": sorted(models), "parts": parts, "finish_reason": finish, "usage": usage, "error": error}


def summarize_models(body: Any) -> dict:
    data = body.get("data") if isinstance(body, dict) else None
    if data is None and isinstance(body, dict):
        data = body.get("models")
    ids = sorted((m.get("id") or m.get("name") or "") for m in data or [])
    return {"object": body.get("object") if isinstance(body, dict) else None, "ids": ids}


def dialect_of(method: str, path: str) -> str:
    p = path.split("?", 1)[0]
    if method == "GET" and p.endswith("/models"):
        return "models"
    if p.startswith("/v1beta/"):
        return "gemini"
    return {"/v1/chat/completions": "chat", "/v1/completions": "completions", "/v1/responses": "responses",
            "/v1/messages": "claude"}.get(p, "other")


SUMMARIZERS = {"chat": summarize_chat, "completions": summarize_completions, "claude": summarize_claude,
               "responses": summarize_responses, "gemini": summarize_gemini}


def summarize(dialect: str, body_type: str, body: Any) -> Any:
    """Summary of a response body given as ('json', value) or ('sse', events)."""
    if dialect == "models" and body_type == "json":
        return summarize_models(body)
    fn = SUMMARIZERS.get(dialect)
    if fn is None or body_type not in ("json", "sse"):
        return body
    if body_type == "sse":
        return fn(stream_datas(body), True)
    return fn(body, isinstance(body, list))


# ---------------------------------------------------------------- diff


def diff(golden: Any, actual: Any, path: str = "") -> list[str]:
    """Structural differences (key order ignored); ids masked in the golden compare by prefix."""
    out: list[str] = []
    if isinstance(golden, dict) and isinstance(actual, dict):
        for k in sorted(set(golden) | set(actual), key=str):
            if k not in actual:
                out.append(f"{path}/{k}: missing (expected {golden[k]!r})")
            elif k not in golden:
                out.append(f"{path}/{k}: unexpected {actual[k]!r}")
            else:
                out += diff(golden[k], actual[k], f"{path}/{k}")
    elif isinstance(golden, list) and isinstance(actual, list):
        if len(golden) != len(actual):
            out.append(f"{path}: length {len(actual)} != expected {len(golden)}: {actual!r} vs {golden!r}")
        else:
            for i, (g, a) in enumerate(zip(golden, actual)):
                out += diff(g, a, f"{path}/{i}")
    elif golden == "<volatile>":  # differed between the two recording runs: anything goes
        pass
    elif isinstance(golden, str) and "<id:" in golden:
        if not same_id(golden, actual):
            out.append(f"{path}: {actual!r} does not match id pattern {golden!r}")
    elif golden != actual:
        out.append(f"{path}: got {actual!r}, expected {golden!r}")
    return out
