"""The official `google-genai` SDK through Switchyard: to a gemini-api-key upstream (passthrough) and to
every other upstream family (chosen by model name) through translation; with api_version v1beta (what
Gemini CLI uses) and with the SDK's default (v1)."""
from __future__ import annotations

import pytest
from google import genai
from google.genai import errors, types

from conftest import CLIENT_KEY
from support import (ALL_FAMILIES, EXPECTED_CALLS, FAMILIES, KINDS, PROMPT, REASONING, RESULTS, TEXT,
                     TRANSPORT_ERRORS, WEATHER_SCHEMA, check_failover, check_round_trip, check_upstream,
                     cut_script, error_script, expected_usage, one_upstream, others)

MODEL = "gemini-2.5-flash"


def client(proxy, key: str = CLIENT_KEY, api_version: str | None = "v1beta") -> genai.Client:
    # google-genai >= 1.x defaults to api_version "v1"; the Gemini API surface the proxy serves
    # (and Gemini CLI uses) is v1beta, so pin it like a user of a custom base URL would.
    return genai.Client(api_key=key, http_options=types.HttpOptions(
        base_url=proxy.url, api_version=api_version, timeout=30_000,
        retry_options=types.HttpRetryOptions(attempts=1)))


def config(kind: str) -> types.GenerateContentConfig:
    cfg = types.GenerateContentConfig(
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True))
    if kind in ("tool", "parallel"):
        cfg.tools = [types.Tool(function_declarations=[types.FunctionDeclaration(
            name="get_weather", description="Get the weather", parameters_json_schema=WEATHER_SCHEMA)])]
    if kind == "thinking":
        cfg.thinking_config = types.ThinkingConfig(include_thoughts=True, thinking_budget=1024)
    return cfg


def text_call(proxy) -> str:
    c = client(proxy)  # keep the Client alive: its finaliser closes the HTTP connection pool
    return c.models.generate_content(model=MODEL, contents=PROMPT, config=config("text")).text


def view(responses: list) -> dict:
    """Parts of all chunks in order (adjacent text of the same kind joined), last finish reason/usage."""
    text, thoughts, calls, finish, usage, versions = "", "", [], None, None, set()
    for r in responses:
        versions.add(r.model_version)
        usage = r.usage_metadata or usage
        for cand in r.candidates or []:
            for part in (cand.content.parts if cand.content else None) or []:
                if part.function_call:
                    calls.append((part.function_call.name, dict(part.function_call.args or {})))
                elif part.text is not None and part.thought:
                    thoughts += part.text
                elif part.text is not None:
                    text += part.text
            finish = cand.finish_reason or finish
    return {"text": text, "thoughts": thoughts, "calls": calls, "finish": finish, "usage": usage,
            "versions": versions}


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("api_version", ["v1beta", None], ids=["v1beta", "default"])
def test_generate_content(proxy, mock, api_version, kind, stream):
    mock.reply(kind)
    c = client(proxy, api_version=api_version)
    models = c.models
    if stream:
        v = view(list(models.generate_content_stream(model=MODEL, contents=PROMPT, config=config(kind))))
    else:
        v = view([models.generate_content(model=MODEL, contents=PROMPT, config=config(kind))])

    assert v["versions"] == {MODEL}
    assert v["text"] == ("" if EXPECTED_CALLS[kind] else TEXT)
    assert v["thoughts"] == (REASONING if kind == "thinking" else "")
    assert v["calls"] == [("get_weather", args) for args in EXPECTED_CALLS[kind]]
    assert v["finish"] == types.FinishReason.STOP
    u = v["usage"]
    assert (u.prompt_token_count, u.candidates_token_count) == (11, 7)
    assert u.total_token_count == (21 if kind == "thinking" else 18)
    assert u.thoughts_token_count == (3 if kind == "thinking" else None)

    method = "streamGenerateContent" if stream else "generateContent"
    up = one_upstream(mock, "gemini", f"/v1beta/models/{MODEL}:{method}")
    if stream:
        assert "alt=sse" in up["query"], f"streaming upstream query {up['query']!r} lacks alt=sse"
    assert up["body"]["contents"][0]["parts"] == [{"text": PROMPT}]
    if kind in ("tool", "parallel"):
        decls = up["body"]["tools"][0].get("functionDeclarations") or up["body"]["tools"][0].get(
            "function_declarations")
        assert [d["name"] for d in decls] == ["get_weather"]
    if kind == "thinking":
        flat = {k.replace("_", "").lower(): v for k, v in up["body"].items()}  # either JSON spelling
        gen = {k.replace("_", "").lower(): v for k, v in flat["generationconfig"].items()}
        thinking = {k.replace("_", "").lower(): v for k, v in gen["thinkingconfig"].items()}
        assert thinking == {"includethoughts": True, "thinkingbudget": 1024}


def test_failover_on_429(fresh_proxy, mock):
    check_failover(mock, "gemini", lambda: text_call(fresh_proxy))


def test_upstream_400_is_client_error(proxy, mock):
    mock.script([], error_script(400))
    with pytest.raises(errors.ClientError) as err:
        text_call(proxy)
    assert err.value.code == 400
    assert "mock upstream error 400" in (err.value.message or "")
    assert len(mock.log()) == 1, "a 400 must not be retried on another key"


def test_wrong_client_key(proxy, mock):
    mock.reply("text")
    c = client(proxy, "wrong-key")
    with pytest.raises(errors.ClientError) as err:
        c.models.generate_content(model=MODEL, contents=PROMPT)
    assert err.value.code == 401
    assert err.value.status == "UNAUTHENTICATED"
    assert mock.log() == []


def test_stream_cut_is_an_error(proxy, mock):
    mock.script([], cut_script("gemini"))
    seen, c = [], client(proxy)
    with pytest.raises((errors.APIError, *TRANSPORT_ERRORS)):
        for chunk in c.models.generate_content_stream(model=MODEL, contents=PROMPT):
            seen.append(chunk)
    finishes = [c.finish_reason for r in seen for c in r.candidates or [] if c.finish_reason]
    assert finishes == [], "a cut stream must not report a finish reason"
    assert [r.text for r in seen] == ["Hello from "], "the part before the cut should have streamed through"


def test_sdk_default_api_version(proxy, mock):
    """What a user gets with google-genai's defaults and only base_url pointed at the proxy."""
    mock.reply("text")
    c = genai.Client(api_key=CLIENT_KEY, http_options=types.HttpOptions(base_url=proxy.url))
    assert c.models.generate_content(model=MODEL, contents=PROMPT).text == TEXT


# ---------------------------------------------------------------- every upstream family (translation)

API_VERSIONS = pytest.mark.parametrize("api_version", ["v1beta", None], ids=["v1beta", "default"])


def generate(c: genai.Client, model: str, contents, cfg, stream: bool) -> dict:
    if stream:
        return view(list(c.models.generate_content_stream(model=model, contents=contents, config=cfg)))
    return view([c.models.generate_content(model=model, contents=contents, config=cfg)])


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("kind", KINDS)
@API_VERSIONS
@pytest.mark.parametrize("family", others("gemini"))
def test_generate_content_to(proxy, mock, family, api_version, kind, stream):
    fam = FAMILIES[family]
    mock.reply(kind)
    c = client(proxy, api_version=api_version)
    v = generate(c, fam.model, PROMPT, config(kind), stream)

    assert v["versions"] == {fam.model}, "the client sees the model it asked for"
    assert v["text"] == ("" if EXPECTED_CALLS[kind] else TEXT)
    assert v["thoughts"] == (REASONING if kind == "thinking" else "")
    assert v["calls"] == [("get_weather", args) for args in EXPECTED_CALLS[kind]]
    assert v["finish"] == types.FinishReason.STOP
    want, u = expected_usage(family, kind), v["usage"]
    assert u is not None and u.prompt_token_count == want["input"], u
    assert (u.candidates_token_count or 0) + (u.thoughts_token_count or 0) == want["output"], u
    assert u.total_token_count == want["total"], u
    if want["reasoning"] is not None:
        assert u.thoughts_token_count == want["reasoning"], u

    check_upstream(mock, family, stream, kind, reasoning={"budget": 1024})


@pytest.mark.parametrize("family", others("gemini"))
def test_length_is_max_tokens_to(proxy, mock, family):
    mock.reply("length")
    c = client(proxy)
    for stream in (False, True):
        v = generate(c, FAMILIES[family].model, PROMPT, config("text"), stream)
        assert v["text"] == TEXT
        assert v["finish"] == types.FinishReason.MAX_TOKENS, f"stream={stream}: {v['finish']!r}"


def round_trip_contents() -> list:
    calls = [types.Part.from_function_call(name="get_weather", args=a) for a in EXPECTED_CALLS["parallel"]]
    results = [types.Part.from_function_response(name="get_weather", response={"result": r}) for r in RESULTS]
    return [types.Content(role="user", parts=[types.Part.from_text(text=PROMPT)]),
            types.Content(role="model", parts=calls),
            types.Content(role="user", parts=results)]


@API_VERSIONS
@pytest.mark.parametrize("family", ALL_FAMILIES)
def test_tool_round_trip(proxy, mock, family, api_version):
    """functionCall parts and their functionResponse parts reach the upstream paired, in its shape
    (Gemini has no call ids: the proxy must invent matching ones for upstreams that need them)."""
    mock.reply("text")
    c = client(proxy, api_version=api_version)
    v = generate(c, FAMILIES[family].model, round_trip_contents(), config("tool"), False)
    assert v["text"] == TEXT
    check_round_trip(mock, family)


@pytest.mark.parametrize("family", others("gemini"))
def test_upstream_400_to(proxy, mock, family):
    mock.script([], error_script(400))
    c = client(proxy)
    with pytest.raises(errors.ClientError) as err:
        c.models.generate_content(model=FAMILIES[family].model, contents=PROMPT, config=config("text"))
    assert err.value.code == 400
    assert "mock upstream error 400" in (err.value.message or "")
    assert len(mock.log()) == 1


@pytest.mark.parametrize("family", others("gemini"))
def test_stream_cut_to(proxy, mock, family):
    mock.script([], cut_script(FAMILIES[family].log))
    seen, c = [], client(proxy)
    with pytest.raises((errors.APIError, *TRANSPORT_ERRORS)):
        for chunk in c.models.generate_content_stream(model=FAMILIES[family].model, contents=PROMPT):
            seen.append(chunk)
    finishes = [cand.finish_reason for r in seen for cand in r.candidates or [] if cand.finish_reason]
    assert finishes == [], "a cut stream must not report a finish reason"
    assert "".join(r.text or "" for r in seen) == "Hello from ", "the part before the cut should have streamed"
