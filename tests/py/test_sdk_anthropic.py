"""The official `anthropic` SDK through Switchyard to a claude-api-key upstream (Messages passthrough)."""
from __future__ import annotations

import anthropic
import pytest

from conftest import CLIENT_KEY
from support import (EXPECTED_CALLS, KINDS, PROMPT, REASONING, SIGNATURE, TEXT, TRANSPORT_ERRORS,
                     WEATHER_SCHEMA, check_failover, cut_script, error_script, one_upstream)

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
