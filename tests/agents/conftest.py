"""Fixtures for the real-agent suite: the mock upstream and one Switchyard proxy as real processes.

The process plumbing, the mock's control client, the baseline config (tests/py/conftest.py) and the
upstream readers (tests/py/support.py) are the Python suite's own, loaded from there rather than copied.
Agent runs happen one at a time: each scripts the mock and reads its log.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from .agents_harness import pyconf

Mock = pyconf.Mock
Process = pyconf.Process
CLIENT_KEY = pyconf.CLIENT_KEY

# (agent, family) -> outcome and seconds, for the summary table.
RESULTS: dict[tuple[str, str], tuple[str, float]] = {}


def _under_tmp(path: Path) -> bool:
    resolved = path.resolve()
    return resolved == Path("/tmp") or str(resolved).startswith("/tmp/")


@pytest.fixture(scope="session")
def workdir():
    """Homes and workspaces of the agent runs. Codex's sandbox refuses a home under /tmp, so this lives
    under target/ (or SWITCHYARD_AGENTS_WORKDIR) — and, when the checkout itself is under /tmp (a CI clone),
    under the user's cache folder instead. It is wiped at the start of a session and kept after it, so a
    failed run's files can be read."""
    explicit = os.environ.get("SWITCHYARD_AGENTS_WORKDIR")
    root = Path(explicit) if explicit else pyconf._target_dir() / "agent-runs"
    if _under_tmp(root):
        if explicit:
            pytest.fail(f"{root}: Codex CLI refuses a home under /tmp; pick another SWITCHYARD_AGENTS_WORKDIR")
        root = Path.home() / ".cache" / "switchyard-agent-runs"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    return root


@pytest.fixture(scope="session")
def mock(workdir: Path):
    binary = pyconf._binary("SWITCHYARD_MOCK_BIN", "switchyard-mock")
    process = Process([str(binary), "--port", "0"], r"listening on 127\.0\.0\.1:(\d+)", "mock", workdir)
    yield Mock(process)
    process.terminate()


@pytest.fixture(scope="session")
def proxy(mock, workdir: Path):
    p = pyconf.start_proxy(pyconf.base_config(mock.url, [CLIENT_KEY]), workdir / "proxy", "switchyard")
    yield p
    p.process.terminate()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On failure attach the agent's stdout/stderr and files, then the proxy's and the mock's output;
    record every outcome for the summary."""
    outcome = yield
    rep = outcome.get_result()
    run = getattr(item, "agent_run", None)
    if rep.when == "call" and rep.failed:
        if run is not None:
            rep.sections.append((f"{run.agent} run", run.describe()))
        for name in ("proxy", "mock"):
            value = item.funcargs.get(name) if hasattr(item, "funcargs") else None
            process = getattr(value, "process", None)
            if isinstance(process, Process):
                rep.sections.append((f"{name} output", process.diagnostics()))
    params = getattr(getattr(item, "callspec", None), "params", {})
    if "agent" in params and "family" in params and (rep.when == "call" or rep.outcome != "passed"):
        if hasattr(rep, "wasxfail"):
            state = "xpassed" if rep.outcome == "passed" else "xfailed"
        else:
            state = "error" if rep.when != "call" and rep.outcome == "failed" else rep.outcome
        seconds = run.seconds if run is not None else 0.0
        RESULTS[(params["agent"], params["family"])] = (state, seconds)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """A table of agent × upstream family, after pytest's own report."""
    if not RESULTS:
        return
    agents = list(dict.fromkeys(a for a, _ in RESULTS))
    families = list(dict.fromkeys(f for _, f in RESULTS))
    width = max(len(a) for a in agents) + 2
    tw = terminalreporter
    tw.write_sep("=", "real agents through Switchyard (agent × upstream family)")
    tw.write_line(" " * width + "".join(f"{f:<17}" for f in families))
    for a in agents:
        cells = []
        for f in families:
            state, seconds = RESULTS.get((a, f), ("-", 0.0))
            cells.append(f"{state:<8}{seconds:5.1f}s".ljust(17) if state != "-" else "-".ljust(17))
        tw.write_line(f"{a:<{width}}" + "".join(cells))
    counts = {s: sum(1 for v in RESULTS.values() if v[0] == s) for s in ("passed", "xfailed", "failed", "error")}
    tw.write_line(f"agents: {counts['passed']} of {len(RESULTS)} runs passed"
                  + (f", {counts['xfailed']} known proxy bugs (xfail)" if counts["xfailed"] else ""))
