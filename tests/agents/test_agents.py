"""Real CLI agents (Claude Code, Codex CLI, Gemini CLI) through Switchyard to every upstream family.

Each run: the mock answers the agent's first upstream request with a tool call (the mock names the
first tool the request declares, arguments {"city":"Paris"}) and every later one with the text
"Hello from mock". No agent has a tool that accepts {"city":"Paris"}, so each one rejects the call as
invalid input (harmless by construction: nothing runs) and sends that error back as the tool's result:
Claude Code `<tool_use_error>InputValidationError …` (is_error), Codex `failed to parse function
arguments: missing field cmd`, Gemini CLI `{"error":"params must have required property …"}`.

Asserted per run: exit 0; "Hello from mock" on stdout; the upstream saw at least two requests, all in
its family's own format (path, body shape, one of the family's keys, no client key, only the family's
own query parameters); the first declares tools; the second carries the call (name, arguments, the
upstream's own call id) and, right after it, the result paired with that id (Gemini: by name, and by id
when the proxy sets one).
"""
from __future__ import annotations

import json

import pytest

from .agents_harness import CLIENT_KEY, missing, support
from .cli_agents import AGENTS

FAMILIES = support.FAMILIES
TEXT = support.TEXT
ARGS = {"city": "Paris"}
# The id the mock gives its first tool call, per family (crates/mock-upstream/README.md); Gemini has none.
MOCK_CALL_ID = {"claude": "toolu_mock01", "codex": "call_mock01", "compat": "call_mock01", "gemini": None}
# Query parameters each upstream's own API defines (Anthropic `beta`, Gemini `alt=sse`).
OWN_QUERY = {"claude": {"beta"}, "codex": set(), "compat": set(), "gemini": {"alt"}}


class ForeignQuery(AssertionError):
    """The upstream got a query parameter that belongs to another API (the client's)."""


# Proxy bugs a run is known to hit, as (exception, reason): such a run is a strict xfail, so fixing the bug
# turns it into an XPASS failure that says to delete the entry. Empty: no known bugs.
KNOWN_BUGS: dict = {}


def _cases():
    for agent in AGENTS:
        for family in FAMILIES:
            marks = []
            if (agent, family) in KNOWN_BUGS:
                raises, reason = KNOWN_BUGS[(agent, family)]
                marks.append(pytest.mark.xfail(raises=raises, strict=True, reason=reason))
            yield pytest.param(agent, family, id=f"{agent}-to-{family}", marks=marks)


def first_declared_tool(family: str, body: dict) -> str | None:
    """The name the mock echoes: the first tool the request declares, read as the mock reads it."""
    tools = body.get("tools") or []
    if not tools:
        return None
    t = tools[0]
    if family == "gemini":
        decls = t.get("functionDeclarations") or t.get("function_declarations") or []
        return decls[0].get("name") if decls else None
    return t.get("name") or (t.get("function") or {}).get("name")


def check_format(family: str, entry: dict, n: int) -> None:
    """Request n reached the upstream in the family's own format, with one of the family's keys."""
    fam = FAMILIES[family]
    where = f"upstream request #{n + 1} ({entry.get('method')} {entry.get('path')}?{entry.get('query')})"
    assert entry["family"] == fam.log, f"{where} went to the {entry['family']} upstream, not {fam.log}"
    assert entry["path"] == support.upstream_path(family, stream=True), \
        f"{where}: expected path {support.upstream_path(family, True)} (agents stream)"
    assert entry["credential"] in support.FAMILY_KEYS[fam.log], \
        f"{where}: credential {entry['credential']!r} is not a configured {fam.log} key"
    support.no_client_key(entry)
    body = entry["body"]
    assert isinstance(body, dict), f"{where}: body is not a JSON object: {body!r}"[:2000]
    shape = {"claude": "messages", "codex": "input", "compat": "messages", "gemini": "contents"}[family]
    assert shape in body, f"{where}: no `{shape}` in body keys {sorted(body)}"
    if family == "claude":
        assert body.get("stream") is True and isinstance(body.get("max_tokens"), int), \
            f"{where}: stream {body.get('stream')!r}, max_tokens {body.get('max_tokens')!r}"
        assert entry["headers"].get("anthropic-version"), f"{where}: no anthropic-version header"
    elif family == "codex":
        assert body.get("stream") is True and body.get("store") is False, \
            f"{where}: stream {body.get('stream')!r}, store {body.get('store')!r}"
    elif family == "compat":
        assert body.get("stream") is True and body.get("model") == fam.upstream_model, \
            f"{where}: stream {body.get('stream')!r}, model {body.get('model')!r}"
        assert all(m.get("role") in ("system", "developer", "user", "assistant", "tool")
                   for m in body["messages"]), f"{where}: roles {[m.get('role') for m in body['messages']]}"
    else:
        assert all(c.get("role") in ("user", "model") for c in body["contents"]), \
            f"{where}: roles {[c.get('role') for c in body['contents']]}"
    if family != "gemini":
        assert body.get("model") == fam.upstream_model, f"{where}: model {body.get('model')!r}"


def check_tool_exchange(family: str, tool: str, body: dict) -> tuple:
    """The second request carries the call and, right after it, its result paired with it."""
    turns = support.upstream_turns(family, body)
    calls = [t for t in turns if t[0] == "call"]
    dump = json.dumps(turns, default=str)[-3000:]
    assert calls, f"second request carries no tool call: {dump}"
    call = calls[0]
    _, call_id, name, args = call
    assert (name, args) == (tool, ARGS), f"tool call upstream is {name}({args}), expected {tool}({ARGS})"
    if MOCK_CALL_ID[family] is not None:
        assert call_id == MOCK_CALL_ID[family], \
            f"call id {call_id!r} upstream is not the one the upstream gave, {MOCK_CALL_ID[family]!r}"
    after = turns[turns.index(call) + 1:]
    results = [t for t in after if t[0] == "result"]
    assert results, f"no tool result after the call: {dump}"
    result = results[0]
    others = [t for t in after[:after.index(result)] if t[0] in ("user", "assistant", "call")]
    assert not others, f"turns between the call and its result: {others}"
    if family == "gemini":
        assert result[1] in (name, call_id) and (call_id is None or result[1] == call_id), \
            f"functionResponse {result[1]!r} not paired with functionCall {name!r} (id {call_id!r})"
    else:
        assert result[1] == call_id, f"result for {result[1]!r}, call id {call_id!r}"
    assert result[2], f"empty tool result: {result}"
    return result


def check_query(family: str, log: list[dict]) -> None:
    for n, entry in enumerate(log):
        names = {p.split("=")[0] for p in (entry.get("query") or "").split("&") if p}
        foreign = names - OWN_QUERY[family]
        if foreign:
            raise ForeignQuery(f"upstream request #{n + 1} to the {family} family carries query "
                               f"{entry['query']!r}: {sorted(foreign)} are not {family} parameters")


@pytest.mark.parametrize("agent,family", list(_cases()))
def test_agent_tool_turn(agent, family, proxy, mock, workdir, request):
    cli = AGENTS[agent]
    if not cli.path().exists():
        missing(f"{cli.path()} not found: run `npm ci --prefix tests/agents`")
    mock.script([support.Mock.step({"ok": "tool"}, times=1)], {"ok": "text"})  # the call once, then text
    run = cli.run(workdir / f"{agent}-to-{family}", proxy.url, CLIENT_KEY, FAMILIES[family].model)
    request.node.agent_run = run
    log = mock.log()
    run.extra.append("--- upstream requests ---\n" + "\n".join(
        f"#{n + 1} {e['family']} {e['method']} {e['path']}?{e['query']} tools[0]="
        f"{first_declared_tool(family, e['body']) if isinstance(e['body'], dict) else None}"
        for n, e in enumerate(log)))

    assert not run.timed_out, f"{agent} did not finish within the timeout"
    assert run.returncode == 0, f"{agent} exited {run.returncode}"
    assert TEXT in run.stdout, f"{agent}'s output lacks {TEXT!r}"
    assert len(log) >= 2, f"the upstream saw {len(log)} request(s), expected the call and the follow-up"
    for n, entry in enumerate(log):
        check_format(family, entry, n)
    tool = first_declared_tool(family, log[0]["body"])
    assert tool, "the first request declares no tools"
    result = check_tool_exchange(family, tool, log[1]["body"])
    run.extra.append(f"--- tool result the agent sent back ---\n{result[2][:500]}")
    check_query(family, log)

