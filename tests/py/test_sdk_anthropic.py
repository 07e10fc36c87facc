"""The official `anthropic` SDK through Switchyard: to a claude-api-key upstream (Messages passthrough)
and to every other upstream family (chosen by model name) through translation."""
from __future__ import annotations

import re

import anthropic
import pytest

from conftest import CLIENT_KEY
from support import (ALL_FAMILIES, EXPECTED_CALLS, FAMILIES, KINDS, PROMPT, REASONING, RESULTS, SIGNATURE, TEXT,
                     TRANSPORT_ERRORS, WEATHER_SCHEMA, check_failover, check_round_trip, check_upstream,
                     cut_script, error_script, expected_usage, one_upstream, others)

MODEL = "claude-sonnet-4-5-20250929"
TOOLS = [{"name": "get_weather", "description": "Get the weather", "input_schema": WEATHER_SCHEMA}]


def client(proxy, key: str = CLIENT_KEY) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key=key, base_url=proxy.url, max_retries=0, timeout=30)


def kwargs(kind: str) -> dict:
    kw: dict = {"model": MODEL, "max_tokens": 4096, "messages": [{"role": "user", "content": PROMPT}]}
    if kind in ("tool", "parallel"):
        kw["tools"] = TOOLS
    if kind == "thinking":
        kw["thinking"] = {"type": "enabled", "budget_tokens": 2048}
    return kw


def text_call(proxy) -> str:
    msg = client(proxy).messages.create(**kwargs("text"))
    return "".join(b.text for b in msg.content if b.type == "text")


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("kind", KINDS)
def test_messages(proxy, mock, kind, stream):
    mock.reply(kind)
    c = client(proxy)
    if stream:
        streamed_text, streamed_thinking = "", ""
        with c.messages.stream(**kwargs(kind)) as s:
            for event in s:
                if event.type == "content_block_delta" and event.delta.type == "text_delta":
                    streamed_text += event.delta.text
                elif event.type == "content_block_delta" and event.delta.type == "thinking_delta":
                    streamed_thinking += event.delta.thinking
            msg = s.get_final_message()
        assert streamed_text == ("" if EXPECTED_CALLS[kind] else TEXT)
        assert streamed_thinking == (REASONING if kind == "thinking" else "")
    else:
        msg = c.messages.create(**kwargs(kind))

    assert msg.model == MODEL
    text = "".join(b.text for b in msg.content if b.type == "text")
    thinking = [b for b in msg.content if b.type == "thinking"]
    tools = [b for b in msg.content if b.type == "tool_use"]
    assert text == ("" if EXPECTED_CALLS[kind] else TEXT)
    assert [t.input for t in tools] == EXPECTED_CALLS[kind]
    assert all(t.name == "get_weather" and t.id.startswith("toolu_") for t in tools)
    if kind == "thinking":
        assert [(b.thinking, b.signature) for b in thinking] == [(REASONING, SIGNATURE)]
        assert [b.type for b in msg.content] == ["thinking", "text"]
    else:
        assert thinking == []
    assert msg.stop_reason == ("tool_use" if EXPECTED_CALLS[kind] else "end_turn")
    assert (msg.usage.input_tokens, msg.usage.output_tokens) == (11, 7)

    up = one_upstream(mock, "anthropic", "/v1/messages", model=MODEL)
    assert up["headers"].get("anthropic-version"), "anthropic-version must reach the upstream"
    assert bool(up["body"].get("stream")) is stream
    assert up["body"]["max_tokens"] == 4096
    if kind == "thinking":
        assert up["body"]["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    if kind in ("tool", "parallel"):
        assert [{k: v for k, v in t.items() if k != "cache_control"} for t in up["body"]["tools"]] == TOOLS


def test_failover_on_429(fresh_proxy, mock):
    check_failover(mock, "anthropic", lambda: text_call(fresh_proxy))


def test_upstream_400_is_bad_request(proxy, mock):
    mock.script([], error_script(400))
    with pytest.raises(anthropic.BadRequestError) as err:
        text_call(proxy)
    assert err.value.status_code == 400
    assert "mock upstream error 400" in err.value.message
    assert len(mock.log()) == 1, "a 400 must not be retried on another key"


def test_wrong_client_key(proxy, mock):
    mock.reply("text")
    with pytest.raises(anthropic.AuthenticationError) as err:
        client(proxy, "wrong-key").messages.create(**kwargs("text"))
    assert err.value.status_code == 401
    assert mock.log() == []


def test_stream_cut_is_an_error(proxy, mock):
    mock.script([], cut_script("anthropic"))
    text = ""
    with pytest.raises((anthropic.APIError, *TRANSPORT_ERRORS)):
        with client(proxy).messages.stream(**kwargs("text")) as s:
            for chunk in s.text_stream:
                text += chunk
            s.get_final_message()
    assert text == "Hello from ", "the part before the cut should have streamed through unbuffered"


# ---------------------------------------------------------------- every upstream family (translation)


def message_view(c: anthropic.Anthropic, kw: dict, stream: bool):
    """The final Message, plus the text and thinking a streaming user saw arrive."""
    if not stream:
        return c.messages.create(**kw), None
    seen = {"text": "", "thinking": ""}
    with c.messages.stream(**kw) as s:
        for event in s:
            if event.type == "content_block_delta" and event.delta.type == "text_delta":
                seen["text"] += event.delta.text
            elif event.type == "content_block_delta" and event.delta.type == "thinking_delta":
                seen["thinking"] += event.delta.thinking
        return s.get_final_message(), seen


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("family", others("claude"))
def test_messages_to(proxy, mock, family, kind, stream):
    fam = FAMILIES[family]
    mock.reply(kind)
    msg, seen = message_view(client(proxy), {**kwargs(kind), "model": fam.model}, stream)
    if seen is not None:
        assert seen["text"] == ("" if EXPECTED_CALLS[kind] else TEXT)
        assert seen["thinking"] == (REASONING if kind == "thinking" else "")

    assert msg.model == fam.model, "the client sees the model it asked for"
    text = "".join(b.text for b in msg.content if b.type == "text")
    tools = [b for b in msg.content if b.type == "tool_use"]
    assert text == ("" if EXPECTED_CALLS[kind] else TEXT)
    assert [(t.name, t.input) for t in tools] == [("get_weather", a) for a in EXPECTED_CALLS[kind]]
    ids = [t.id for t in tools]
    assert all(re.fullmatch(r"[A-Za-z0-9_-]+", i) for i in ids) and len(set(ids)) == len(ids), \
        f"tool_use ids {ids} (Claude's pattern: a client sends them back)"
    if kind == "thinking":
        assert [b.type for b in msg.content] == ["thinking", "text"], [b.type for b in msg.content]
        assert msg.content[0].thinking == REASONING
    else:
        assert [b for b in msg.content if b.type == "thinking"] == []
    assert msg.stop_reason == ("tool_use" if EXPECTED_CALLS[kind] else "end_turn")
    want = expected_usage(family, kind)
    assert (msg.usage.input_tokens, msg.usage.output_tokens) == (want["input"], want["output"])

    check_upstream(mock, family, stream, kind, reasoning={"budget": 2048})


@pytest.mark.parametrize("family", others("claude"))
def test_messages_length_is_max_tokens(proxy, mock, family):
    mock.reply("length")
    for stream in (False, True):
        msg, _ = message_view(client(proxy), {**kwargs("text"), "model": FAMILIES[family].model}, stream)
        assert "".join(b.text for b in msg.content if b.type == "text") == TEXT
        assert msg.stop_reason == "max_tokens", f"stream={stream}: stop_reason {msg.stop_reason!r}"


ROUND_TRIP = [
    {"role": "user", "content": PROMPT},
    {"role": "assistant", "content": [
        {"type": "tool_use", "id": "toolu_w1", "name": "get_weather", "input": {"city": "Paris"}},
        {"type": "tool_use", "id": "toolu_w2", "name": "get_weather", "input": {"city": "Rome"}}]},
    {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_w1", "content": RESULTS[0]},
        {"type": "tool_result", "tool_use_id": "toolu_w2", "content": RESULTS[1]}]},
]


@pytest.mark.parametrize("family", ALL_FAMILIES)
def test_messages_tool_round_trip(proxy, mock, family):
    """tool_use blocks and their tool_result blocks reach the upstream paired, in its own shape."""
    mock.reply("text")
    msg = client(proxy).messages.create(model=FAMILIES[family].model, max_tokens=4096, messages=ROUND_TRIP,
                                        tools=TOOLS)
    assert "".join(b.text for b in msg.content if b.type == "text") == TEXT
    check_round_trip(mock, family)


def test_messages_thinking_round_trip_passthrough(proxy, mock):
    """A signed thinking block sent back to Claude arrives exactly as the SDK returned it."""
    mock.reply("thinking")
    c = client(proxy)
    first = c.messages.create(**kwargs("thinking"))
    assert [(b.type, getattr(b, "signature", None)) for b in first.content][0] == ("thinking", SIGNATURE)
    mock.reply("text")
    history = [{"role": "user", "content": PROMPT},
               {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
               {"role": "user", "content": "And in Rome?"}]
    second = c.messages.create(**{**kwargs("thinking"), "messages": history})
    assert "".join(b.text for b in second.content if b.type == "text") == TEXT
    up = one_upstream(mock, "anthropic", "/v1/messages", model=MODEL)
    assert up["body"]["messages"] == history
    assert up["body"]["messages"][1]["content"][0] == {"type": "thinking", "thinking": REASONING,
                                                      "signature": SIGNATURE}


@pytest.mark.parametrize("family", others("claude"))
def test_upstream_400_to(proxy, mock, family):
    mock.script([], error_script(400))
    with pytest.raises(anthropic.BadRequestError) as err:
        client(proxy).messages.create(**{**kwargs("text"), "model": FAMILIES[family].model})
    assert err.value.status_code == 400
    assert "mock upstream error 400" in err.value.message
    assert len(mock.log()) == 1


@pytest.mark.parametrize("family", others("claude"))
def test_stream_cut_to(proxy, mock, family):
    mock.script([], cut_script(FAMILIES[family].log))
    text = ""
    with pytest.raises((anthropic.APIError, *TRANSPORT_ERRORS)):
        with client(proxy).messages.stream(**{**kwargs("text"), "model": FAMILIES[family].model}) as s:
            for chunk in s.text_stream:
                text += chunk
            s.get_final_message()
    assert text == "Hello from ", "the part before the cut should have streamed through"
