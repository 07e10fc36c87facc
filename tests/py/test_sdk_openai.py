"""The official `openai` SDK through Switchyard: Chat Completions -> openai-compatibility upstream
(alias compat-gpt-4o -> mock-gpt-4o) and Responses -> codex-api-key upstream (gpt-5.5)."""
from __future__ import annotations

import json

import openai
import pytest

from conftest import CLIENT_KEY
from support import (EXPECTED_CALLS, KINDS, PROMPT, REASONING, TEXT, TRANSPORT_ERRORS, WEATHER_SCHEMA,
                     check_failover, cut_script, error_script, one_upstream)

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


# ---------------------------------------------------------------- chat completions


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("kind", KINDS)
def test_chat(proxy, mock, kind, stream):
    mock.reply(kind)
    c = client(proxy)
    if stream:
        text, reasoning, calls, finish, usage, models = "", "", {}, None, None, set()
        for chunk in c.chat.completions.create(**chat_kwargs(kind), stream=True,
                                               stream_options={"include_usage": True}):
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
        tool_calls = [calls[i] for i in sorted(calls)]
        assert len(models) == 1
        model = models.pop()
    else:
        resp = c.chat.completions.create(**chat_kwargs(kind))
        msg, finish, usage, model = resp.choices[0].message, resp.choices[0].finish_reason, resp.usage, resp.model
        text, reasoning = msg.content or "", (msg.model_extra or {}).get("reasoning_content") or ""
        tool_calls = [{"id": t.id, "name": t.function.name, "args": t.function.arguments}
                      for t in msg.tool_calls or []]

    assert model in (ALIAS, UPSTREAM_MODEL)  # the upstream's echo, or rewritten back to the alias
    assert [json.loads(t["args"]) for t in tool_calls] == EXPECTED_CALLS[kind]
    assert all(t["name"] == "get_weather" and t["id"].startswith("call_") for t in tool_calls)
    assert finish == ("tool_calls" if EXPECTED_CALLS[kind] else "stop")
    assert text == ("" if EXPECTED_CALLS[kind] else TEXT)
    assert reasoning == (REASONING if kind == "thinking" else "")
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
    mock.script([], error_script(400))
    with pytest.raises(openai.BadRequestError) as err:
        chat_call(proxy)
    assert err.value.status_code == 400
    assert "mock upstream error 400" in err.value.message
    assert len(mock.log()) == 1, "a 400 must not be retried on another key"


def test_chat_wrong_client_key(proxy, mock):
    mock.reply("text")
    with pytest.raises(openai.AuthenticationError) as err:
        client(proxy, "wrong-key").chat.completions.create(**chat_kwargs("text"))
    assert err.value.status_code == 401
    assert mock.log() == [], "a rejected client must not reach the upstream"


def test_chat_stream_cut_is_an_error(proxy, mock):
    mock.script([], cut_script("compat"))
    text, finish = "", None
    with pytest.raises((openai.APIError, *TRANSPORT_ERRORS)):
        for chunk in client(proxy).chat.completions.create(**chat_kwargs("text"), stream=True):
            for choice in chunk.choices:
                text += choice.delta.content or ""
                finish = choice.finish_reason or finish
    assert finish is None
    assert text == "Hello from ", "the part before the cut should have streamed through unbuffered"


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


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("kind", KINDS)
def test_responses(proxy, mock, kind, stream):
    mock.reply(kind)
    c = client(proxy)
    if stream:
        deltas = {"text": "", "reasoning": "", "args": {}}
        types, final = [], None
        for event in c.responses.create(**resp_kwargs(kind), stream=True):
            types.append(event.type)
            if event.type == "response.output_text.delta":
                deltas["text"] += event.delta
            elif event.type == "response.reasoning_summary_text.delta":
                deltas["reasoning"] += event.delta
            elif event.type == "response.function_call_arguments.delta":
                deltas["args"][event.item_id] = deltas["args"].get(event.item_id, "") + event.delta
            elif event.type == "response.completed":
                final = event.response
        assert types[0] == "response.created" and types[-1] == "response.completed", types
        assert deltas["text"] == ("" if EXPECTED_CALLS[kind] else TEXT)
        assert deltas["reasoning"] == (REASONING if kind == "thinking" else "")
        assert [json.loads(a) for a in deltas["args"].values()] == EXPECTED_CALLS[kind]
    else:
        final = c.responses.create(**resp_kwargs(kind))
    view = resp_view(final)
    assert final.model == "gpt-5.5"
    assert view["status"] == "completed"
    assert view["text"] == ("" if EXPECTED_CALLS[kind] else TEXT)
    assert view["reasoning"] == (REASONING if kind == "thinking" else "")
    assert [call["args"] for call in view["calls"]] == EXPECTED_CALLS[kind]
    assert all(call["name"] == "get_weather" and call["call_id"].startswith("call_") for call in view["calls"])
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
    mock.script([], error_script(400))
    with pytest.raises(openai.BadRequestError) as err:
        client(proxy).responses.create(**resp_kwargs("text"))
    assert "mock upstream error 400" in err.value.message
    assert len(mock.log()) == 1, "a 400 must not be retried on another key"


def test_responses_wrong_client_key(proxy, mock):
    mock.reply("text")
    with pytest.raises(openai.AuthenticationError):
        client(proxy, "wrong-key").responses.create(**resp_kwargs("text"))
    assert mock.log() == []


def test_responses_stream_cut_is_an_error(proxy, mock):
    """A cut stream must raise, or at least end in response.failed / error - never look complete."""
    mock.script([], cut_script("codex"))
    types: list[str] = []
    try:
        for event in client(proxy).responses.create(**resp_kwargs("text"), stream=True):
            types.append(event.type)
    except (openai.APIError, *TRANSPORT_ERRORS):
        types.append("<raised>")
    assert "response.completed" not in types, types
    assert "response.output_text.delta" in types, f"nothing streamed before the cut: {types}"
    assert types and types[-1] in ("<raised>", "response.failed", "error"), \
        f"truncated stream ended silently: {types}"
