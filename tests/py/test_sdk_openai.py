"""The official `openai` SDK through Switchyard: Chat Completions -> openai-compatibility upstream
(alias compat-gpt-4o -> mock-gpt-4o) and Responses -> codex-api-key upstream (gpt-5.5) as passthrough,
and both APIs to every other upstream family (chosen by model name) through translation."""
from __future__ import annotations

import json

import openai
import pytest

from conftest import CLIENT_KEY
from support import (ALL_FAMILIES, EXPECTED_CALLS, FAMILIES, KINDS, PROMPT, REASONING, RESULTS, SIGNATURE, TEXT,
                     TRANSPORT_ERRORS, WEATHER_SCHEMA, check_failover, check_round_trip, check_upstream,
                     cut_script, error_script, expected_usage, one_upstream, others)

CHAT_TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Get the weather",
                                                "parameters": WEATHER_SCHEMA}}]
RESP_TOOLS = [{"type": "function", "name": "get_weather", "description": "Get the weather",
               "parameters": WEATHER_SCHEMA}]
ALIAS, UPSTREAM_MODEL = "compat-gpt-4o", "mock-gpt-4o"


def client(proxy, key: str = CLIENT_KEY) -> openai.OpenAI:
    return openai.OpenAI(api_key=key, base_url=proxy.url + "/v1", max_retries=0, timeout=30)


def chat_kwargs(kind: str) -> dict:
    kw: dict = {"model": ALIAS, "messages": [{"role": "user", "content": PROMPT}]}
    if kind in ("tool", "parallel"):
        kw["tools"] = CHAT_TOOLS
    if kind == "thinking":
        kw["reasoning_effort"] = "high"
    return kw


def chat_call(proxy) -> str:
    return client(proxy).chat.completions.create(**chat_kwargs("text")).choices[0].message.content


def check_upstream_400(mock, call) -> None:
    """An upstream 400 reaches the SDK as BadRequestError with the upstream's message, tried on one key only."""
    mock.script([], error_script(400))
    with pytest.raises(openai.BadRequestError) as err:
        call()
    assert err.value.status_code == 400
    assert "mock upstream error 400" in err.value.message
    assert len(mock.log()) == 1, "a 400 must not be retried on another key"


# ---------------------------------------------------------------- chat completions


def chat_view(c: openai.OpenAI, kw: dict, stream: bool) -> dict:
    """What a Chat user assembles: text, reasoning_content, tool calls, finish reason, usage, model."""
    if stream:
        text, reasoning, calls, finish, usage, models = "", "", {}, None, None, set()
        for chunk in c.chat.completions.create(**kw, stream=True, stream_options={"include_usage": True}):
            models.add(chunk.model)
            usage = chunk.usage or usage
            for choice in chunk.choices:
                delta = choice.delta
                text += delta.content or ""
                reasoning += (delta.model_extra or {}).get("reasoning_content") or ""
                for tc in delta.tool_calls or []:
                    acc = calls.setdefault(tc.index, {"id": None, "name": None, "args": ""})
                    acc["id"] = acc["id"] or tc.id
                    acc["name"] = acc["name"] or (tc.function and tc.function.name)
                    acc["args"] += (tc.function and tc.function.arguments) or ""
                finish = choice.finish_reason or finish
        return {"text": text, "reasoning": reasoning, "calls": [calls[i] for i in sorted(calls)],
                "finish": finish, "usage": usage, "models": models}
    resp = c.chat.completions.create(**kw)
    msg = resp.choices[0].message
    return {"text": msg.content or "", "reasoning": (msg.model_extra or {}).get("reasoning_content") or "",
            "calls": [{"id": t.id, "name": t.function.name, "args": t.function.arguments}
                      for t in msg.tool_calls or []],
            "finish": resp.choices[0].finish_reason, "usage": resp.usage, "models": {resp.model}}


def check_chat_stream_cut(c: openai.OpenAI, kw: dict) -> None:
    """A cut Chat stream raises, never reports a finish_reason, and streamed what came before the cut."""
    text, finish = "", None
    with pytest.raises((openai.APIError, *TRANSPORT_ERRORS)):
        for chunk in c.chat.completions.create(**kw, stream=True):
            for choice in chunk.choices:
                text += choice.delta.content or ""
                finish = choice.finish_reason or finish
    assert finish is None, f"a cut stream reported finish_reason {finish!r}"
    assert text == "Hello from ", "the part before the cut should have streamed through unbuffered"


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("kind", KINDS)
def test_chat(proxy, mock, kind, stream):
    mock.reply(kind)
    v = chat_view(client(proxy), chat_kwargs(kind), stream)
    assert len(v["models"]) == 1
    model = v["models"].pop()

    assert model in (ALIAS, UPSTREAM_MODEL)  # the upstream's echo, or rewritten back to the alias
    assert [json.loads(t["args"]) for t in v["calls"]] == EXPECTED_CALLS[kind]
    assert all(t["name"] == "get_weather" and t["id"].startswith("call_") for t in v["calls"])
    assert v["finish"] == ("tool_calls" if EXPECTED_CALLS[kind] else "stop")
    assert v["text"] == ("" if EXPECTED_CALLS[kind] else TEXT)
    assert v["reasoning"] == (REASONING if kind == "thinking" else "")
    usage = v["usage"]
    assert usage is not None and (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (11, 7, 18)
    if kind == "thinking":
        assert usage.completion_tokens_details.reasoning_tokens == 3

    up = one_upstream(mock, "compat", "/chat/completions", model=UPSTREAM_MODEL)  # alias -> name
    assert bool(up["body"].get("stream")) is stream
    assert up["body"]["messages"] == [{"role": "user", "content": PROMPT}]
    if kind in ("tool", "parallel"):
        assert up["body"]["tools"] == CHAT_TOOLS


def test_chat_failover_on_429(fresh_proxy, mock):
    check_failover(mock, "compat", lambda: chat_call(fresh_proxy))


def test_chat_upstream_400_is_bad_request(proxy, mock):
    check_upstream_400(mock, lambda: chat_call(proxy))


def test_chat_wrong_client_key(proxy, mock):
    mock.reply("text")
    with pytest.raises(openai.AuthenticationError) as err:
        client(proxy, "wrong-key").chat.completions.create(**chat_kwargs("text"))
    assert err.value.status_code == 401
    assert mock.log() == [], "a rejected client must not reach the upstream"


def test_chat_stream_cut_is_an_error(proxy, mock):
    mock.script([], cut_script("compat"))
    check_chat_stream_cut(client(proxy), chat_kwargs("text"))


# ---------------------------------------------------------------- responses


def resp_kwargs(kind: str) -> dict:
    kw: dict = {"model": "gpt-5.5", "input": PROMPT}
    if kind in ("tool", "parallel"):
        kw["tools"] = RESP_TOOLS
    if kind == "thinking":
        kw["reasoning"] = {"effort": "high", "summary": "auto"}
    return kw


def resp_view(resp) -> dict:
    """What a user reads off a finished Response object."""
    out = {"text": resp.output_text, "reasoning": "", "calls": [], "status": resp.status}
    for item in resp.output:
        if item.type == "reasoning":
            out["reasoning"] += "".join(s.text for s in item.summary or [])
        elif item.type == "function_call":
            out["calls"].append({"name": item.name, "call_id": item.call_id, "args": json.loads(item.arguments)})
    return out


def responses_view(c: openai.OpenAI, kw: dict, stream: bool) -> dict:
    if not stream:
        final = c.responses.create(**kw)
        return {**resp_view(final), "final": final, "streamed": None, "types": []}
    streamed = {"text": "", "reasoning": "", "args": {}}
    types, final = [], None
    for event in c.responses.create(**kw, stream=True):
        types.append(event.type)
        if event.type == "response.output_text.delta":
            streamed["text"] += event.delta
        elif event.type == "response.reasoning_summary_text.delta":
            streamed["reasoning"] += event.delta
        elif event.type == "response.function_call_arguments.delta":
            streamed["args"][event.item_id] = streamed["args"].get(event.item_id, "") + event.delta
        elif event.type in ("response.completed", "response.incomplete", "response.failed"):
            final = event.response
    assert final is not None, f"no terminal event: {types}"
    return {**resp_view(final), "final": final, "streamed": streamed, "types": types}


def check_responses_stream_cut(c: openai.OpenAI, kw: dict) -> None:
    """A cut stream must raise, or at least end in response.failed / error - never look complete."""
    types: list[str] = []
    try:
        for event in c.responses.create(**kw, stream=True):
            types.append(event.type)
    except (openai.APIError, *TRANSPORT_ERRORS):
        types.append("<raised>")
    assert "response.completed" not in types, types
    assert "response.output_text.delta" in types, f"nothing streamed before the cut: {types}"
    assert types and types[-1] in ("<raised>", "response.failed", "error"), \
        f"truncated stream ended silently: {types}"


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("kind", KINDS)
def test_responses(proxy, mock, kind, stream):
    mock.reply(kind)
    v = responses_view(client(proxy), resp_kwargs(kind), stream)
    final = v["final"]
    if stream:
        s, types = v["streamed"], v["types"]
        assert types[0] == "response.created" and types[-1] == "response.completed", types
        assert s["text"] == ("" if EXPECTED_CALLS[kind] else TEXT)
        assert s["reasoning"] == (REASONING if kind == "thinking" else "")
        assert [json.loads(a) for a in s["args"].values()] == EXPECTED_CALLS[kind]
    assert final.model == "gpt-5.5"
    assert v["status"] == "completed"
    assert v["text"] == ("" if EXPECTED_CALLS[kind] else TEXT)
    assert v["reasoning"] == (REASONING if kind == "thinking" else "")
    assert [call["args"] for call in v["calls"]] == EXPECTED_CALLS[kind]
    assert all(call["name"] == "get_weather" and call["call_id"].startswith("call_") for call in v["calls"])
    u = final.usage
    assert (u.input_tokens, u.output_tokens, u.total_tokens) == (11, 7, 18)
    assert u.output_tokens_details.reasoning_tokens == (3 if kind == "thinking" else 0)

    up = one_upstream(mock, "codex", "/responses", model="gpt-5.5")
    if stream:
        assert up["body"].get("stream") is True
    if kind == "thinking":
        assert up["body"]["reasoning"]["effort"] == "high"
    if kind in ("tool", "parallel"):
        assert [t for t in up["body"]["tools"] if t.get("type") == "function"] == RESP_TOOLS


def test_responses_failover_on_429(fresh_proxy, mock):
    check_failover(mock, "codex", lambda: client(fresh_proxy).responses.create(**resp_kwargs("text")).output_text)


def test_responses_upstream_400_is_bad_request(proxy, mock):
    check_upstream_400(mock, lambda: client(proxy).responses.create(**resp_kwargs("text")))


def test_responses_wrong_client_key(proxy, mock):
    mock.reply("text")
    with pytest.raises(openai.AuthenticationError):
        client(proxy, "wrong-key").responses.create(**resp_kwargs("text"))
    assert mock.log() == []


def test_responses_stream_cut_is_an_error(proxy, mock):
    mock.script([], cut_script("codex"))
    check_responses_stream_cut(client(proxy), resp_kwargs("text"))


# ---------------------------------------------------------------- every upstream family (translation)
#
# The same SDK calls with the model of another family: the client still gets its own format back.


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("family", others("compat"))
def test_chat_to(proxy, mock, family, kind, stream):
    fam = FAMILIES[family]
    mock.reply(kind)
    v = chat_view(client(proxy), {**chat_kwargs(kind), "model": fam.model}, stream)

    assert v["models"] == {fam.model}, "the client sees the model it asked for"
    assert v["text"] == ("" if EXPECTED_CALLS[kind] else TEXT)
    assert v["reasoning"] == (REASONING if kind == "thinking" else "")
    assert [(t["name"], json.loads(t["args"])) for t in v["calls"]] == \
        [("get_weather", a) for a in EXPECTED_CALLS[kind]]
    ids = [t["id"] for t in v["calls"]]
    assert all(isinstance(i, str) and i for i in ids) and len(set(ids)) == len(ids), f"tool call ids {ids}"
    assert v["finish"] == ("tool_calls" if EXPECTED_CALLS[kind] else "stop")
    want, u = expected_usage(family, kind), v["usage"]
    assert u is not None, "no usage (stream_options.include_usage was set)"
    assert (u.prompt_tokens, u.completion_tokens, u.total_tokens) == (want["input"], want["output"], want["total"])
    if want["reasoning"] is not None:
        assert u.completion_tokens_details and u.completion_tokens_details.reasoning_tokens == want["reasoning"]

    check_upstream(mock, family, stream, kind, reasoning={"effort": "high"})


@pytest.mark.parametrize("family", others("compat"))
def test_chat_length_is_length(proxy, mock, family):
    """Every upstream's max-tokens stop is finish_reason "length" (Go says "max_tokens" for Gemini)."""
    mock.reply("length")
    for stream in (False, True):
        v = chat_view(client(proxy), {**chat_kwargs("text"), "model": FAMILIES[family].model}, stream)
        assert v["text"] == TEXT
        assert v["finish"] == "length", f"stream={stream}: finish_reason {v['finish']!r}"


CHAT_ROUND_TRIP = [
    {"role": "user", "content": PROMPT},
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_w1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}},
        {"id": "call_w2", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Rome"}'}}]},
    {"role": "tool", "tool_call_id": "call_w1", "content": RESULTS[0]},
    {"role": "tool", "tool_call_id": "call_w2", "content": RESULTS[1]},
]


@pytest.mark.parametrize("family", ALL_FAMILIES)
def test_chat_tool_round_trip(proxy, mock, family):
    """Tool calls and their results sent back in Chat shape reach the upstream paired, in its shape."""
    mock.reply("text")
    resp = client(proxy).chat.completions.create(model=FAMILIES[family].model, messages=CHAT_ROUND_TRIP,
                                                 tools=CHAT_TOOLS)
    assert resp.choices[0].message.content == TEXT
    check_round_trip(mock, family)


@pytest.mark.parametrize("family", others("compat"))
def test_chat_upstream_400_to(proxy, mock, family):
    check_upstream_400(mock, lambda: client(proxy).chat.completions.create(
        **{**chat_kwargs("text"), "model": FAMILIES[family].model}))


@pytest.mark.parametrize("family", others("compat"))
def test_chat_stream_cut_to(proxy, mock, family):
    mock.script([], cut_script(FAMILIES[family].log))
    check_chat_stream_cut(client(proxy), {**chat_kwargs("text"), "model": FAMILIES[family].model})


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("family", others("codex"))
def test_responses_to(proxy, mock, family, kind, stream):
    fam = FAMILIES[family]
    mock.reply(kind)
    v = responses_view(client(proxy), {**resp_kwargs(kind), "model": fam.model}, stream)
    final = v["final"]
    if stream:
        s, types = v["streamed"], v["types"]
        assert types[0] == "response.created" and types[-1] == "response.completed", types
        assert s["text"] == ("" if EXPECTED_CALLS[kind] else TEXT)
        assert s["reasoning"] == (REASONING if kind == "thinking" else "")
        assert [json.loads(a) for a in s["args"].values()] == EXPECTED_CALLS[kind]
    assert final.model == fam.model
    assert v["status"] == "completed"
    assert v["text"] == ("" if EXPECTED_CALLS[kind] else TEXT)
    assert v["reasoning"] == (REASONING if kind == "thinking" else "")
    assert [(c["name"], c["args"]) for c in v["calls"]] == [("get_weather", a) for a in EXPECTED_CALLS[kind]]
    ids = [c["call_id"] for c in v["calls"]]
    assert all(isinstance(i, str) and i for i in ids) and len(set(ids)) == len(ids), f"call ids {ids}"
    if kind == "thinking":
        assert [i.type for i in final.output] == ["reasoning", "message"], [i.type for i in final.output]
    want, u = expected_usage(family, kind), final.usage
    assert u is not None
    assert (u.input_tokens, u.output_tokens, u.total_tokens) == (want["input"], want["output"], want["total"])
    if want["reasoning"] is not None:
        assert u.output_tokens_details.reasoning_tokens == want["reasoning"]

    check_upstream(mock, family, stream, kind, reasoning={"effort": "high"})


@pytest.mark.parametrize("family", others("codex"))
def test_responses_length_is_incomplete(proxy, mock, family):
    """Every upstream's max-tokens stop is status incomplete / max_output_tokens."""
    mock.reply("length")
    for stream in (False, True):
        v = responses_view(client(proxy), {**resp_kwargs("text"), "model": FAMILIES[family].model}, stream)
        assert v["text"] == TEXT
        assert v["status"] == "incomplete", f"stream={stream}: status {v['status']!r}"
        assert v["final"].incomplete_details and v["final"].incomplete_details.reason == "max_output_tokens"
        if stream:
            assert v["types"][-1] == "response.incomplete", v["types"]


RESP_ROUND_TRIP = [
    {"role": "user", "content": PROMPT},
    {"type": "function_call", "call_id": "call_w1", "name": "get_weather", "arguments": '{"city":"Paris"}'},
    {"type": "function_call", "call_id": "call_w2", "name": "get_weather", "arguments": '{"city":"Rome"}'},
    {"type": "function_call_output", "call_id": "call_w1", "output": RESULTS[0]},
    {"type": "function_call_output", "call_id": "call_w2", "output": RESULTS[1]},
]


@pytest.mark.parametrize("family", ALL_FAMILIES)
def test_responses_tool_round_trip(proxy, mock, family):
    mock.reply("text")
    resp = client(proxy).responses.create(model=FAMILIES[family].model, input=RESP_ROUND_TRIP, tools=RESP_TOOLS)
    assert resp.output_text == TEXT
    check_round_trip(mock, family)


def test_responses_reasoning_round_trip_to_claude(proxy, mock):
    """Claude's thinking signature comes back as the reasoning item's encrypted_content, and sending
    the items back gives the Claude upstream the thinking block with the signature byte-exact."""
    mock.reply("thinking")
    c = client(proxy)
    model = FAMILIES["claude"].model
    first = c.responses.create(model=model, input=PROMPT, reasoning={"effort": "high", "summary": "auto"},
                               include=["reasoning.encrypted_content"], store=False)
    reasoning = [i for i in first.output if i.type == "reasoning"]
    assert len(reasoning) == 1 and reasoning[0].encrypted_content == SIGNATURE, \
        f"reasoning items {[i.model_dump() for i in reasoning]}"
    mock.reply("text")
    history = [{"role": "user", "content": PROMPT}]
    history += [i.model_dump(exclude_none=True) for i in first.output]
    history += [{"role": "user", "content": "And in Rome?"}]
    second = c.responses.create(model=model, input=history, reasoning={"effort": "high", "summary": "auto"},
                                include=["reasoning.encrypted_content"], store=False)
    assert second.output_text == TEXT
    entry = one_upstream(mock, "anthropic", "/v1/messages", model=model)
    msgs = entry["body"]["messages"]
    assert [m["role"] for m in msgs] == ["user", "assistant", "user"], msgs
    blocks = msgs[1]["content"]
    assert isinstance(blocks, list) and blocks[0].get("type") == "thinking", blocks
    assert blocks[0].get("signature") == SIGNATURE, f"signature not byte-exact: {blocks[0]}"
    assert blocks[0].get("thinking") == REASONING
    assert [b.get("text") for b in blocks[1:] if b.get("type") == "text"] == [TEXT], blocks


@pytest.mark.parametrize("family", others("codex"))
def test_responses_upstream_400_to(proxy, mock, family):
    check_upstream_400(mock, lambda: client(proxy).responses.create(
        **{**resp_kwargs("text"), "model": FAMILIES[family].model}))


@pytest.mark.parametrize("family", others("codex"))
def test_responses_stream_cut_to(proxy, mock, family):
    mock.script([], cut_script(FAMILIES[family].log))
    check_responses_stream_cut(client(proxy), {**resp_kwargs("text"), "model": FAMILIES[family].model})
