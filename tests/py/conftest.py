"""Shared fixtures: the mock upstream and the Switchyard proxy as real processes on 127.0.0.1.

Session-scoped: one mock, one proxy with the conformance baseline config (two keys per family,
client keys e2e-client-key / e2e-client-key-2) and one proxy with no client keys (open access).
Tests script the mock before each request, so they must not run in parallel with each other.
"""
from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CLIENT_KEY = "e2e-client-key"
CLIENT_KEY_2 = "e2e-client-key-2"
FAMILY_KEYS = {
    "anthropic": ("sk-claude-1", "sk-claude-2"),
    "codex": ("sk-codex-1", "sk-codex-2"),
    "gemini": ("sk-gemini-1", "sk-gemini-2"),
    "compat": ("sk-compat-1", "sk-compat-2"),
}
FAMILY_PREFIX = {"anthropic": "/anthropic", "codex": "/codex", "gemini": "/gemini", "compat": "/compat"}
STARTUP_TIMEOUT_S = 30.0


def pytest_configure(config):
    # The anthropic SDK warns about the dated model ids the conformance data uses.
    config.addinivalue_line("filterwarnings", "ignore:The model .* is deprecated:DeprecationWarning")


def _missing(reason: str) -> None:
    """Missing prerequisites fail under CI (a green run must mean something) and skip locally."""
    if os.environ.get("CI"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def _target_dir() -> Path:
    return Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))


def _binary(env: str, name: str) -> Path:
    path = Path(os.environ.get(env) or _target_dir() / "debug" / name)
    if not path.is_file():
        _missing(f"{path} not found (build it with cargo build, or set {env})")
    return path


class Process:
    """A child process whose stdout is drained by a thread; waits for a 'listening' line."""

    def __init__(self, argv: list[str], pattern: str, name: str, workdir: Path):
        self.name = name
        self.stderr_path = workdir / f"{name}.stderr.log"
        self._stderr = open(self.stderr_path, "wb")
        self.stdout_lines: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        self.proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=self._stderr, stdin=subprocess.DEVNULL, cwd=workdir
        )
        threading.Thread(target=self._drain, daemon=True).start()
        self.match = self._wait_for(re.compile(pattern))

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            self.stdout_lines.append(line)
            self._lines.put(line)
        self._lines.put(None)

    def _wait_for(self, pattern: re.Pattern[str]) -> re.Match[str]:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                raise RuntimeError(f"{self.name} printed no line matching {pattern.pattern!r} "
                                   f"within {STARTUP_TIMEOUT_S}s\n{self.diagnostics()}")
            try:
                line = self._lines.get(timeout=min(left, 0.5))
            except queue.Empty:
                continue
            if line is None:
                raise RuntimeError(f"{self.name} exited with {self.proc.wait()} before listening\n"
                                   f"{self.diagnostics()}")
            found = pattern.search(line)
            if found:
                return found

    def diagnostics(self) -> str:
        if not self._stderr.closed:
            self._stderr.flush()
        err = self.stderr_path.read_text("utf-8", "replace")[-4000:]
        return f"--- {self.name} stdout ---\n" + "\n".join(self.stdout_lines[-40:]) + \
            f"\n--- {self.name} stderr (tail) ---\n{err}"

    def terminate(self, timeout: float = 10.0) -> int | None:
        """SIGTERM and wait; returns the exit code (None if it had to be killed)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                return None
        self._stderr.close()
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Mock:
    """Client for switchyard-mock's control API (see crates/mock-upstream/README.md)."""

    def __init__(self, process: Process):
        self.process = process
        self.url = f"http://127.0.0.1:{process.match.group(1)}"
        self.http = httpx.Client(base_url=self.url, timeout=10.0)

    @staticmethod
    def step(reply: Any, credential: str | None = None, times: int | None = None, delay_ms: int = 0,
             stall_ms: int = 0, chunking: str = "whole", headers: list | None = None) -> dict:
        return {"credential": credential, "times": times, "delay_ms": delay_ms, "stall_ms": stall_ms,
                "chunking": chunking, "headers": headers or [], "reply": reply}

    def script(self, steps: list[dict] | None = None, fallback: Any = None) -> None:
        """Replace the script (and clear the log). Fallback defaults to Ok(text)."""
        body = {"steps": steps or [], "fallback": fallback if fallback is not None else {"ok": "text"}}
        resp = self.http.post("/__control/script", json=body)
        assert resp.status_code < 300, f"mock refused script {body}: {resp.status_code} {resp.text}"

    def reply(self, kind: str) -> None:
        """Always answer Ok(kind)."""
        self.script([], {"ok": kind})

    def log(self) -> list[dict]:
        resp = self.http.get("/__control/log")
        assert resp.status_code == 200, resp.text
        log = resp.json()
        for entry in log:  # the goldens call the Claude family "anthropic"
            entry["family"] = {"claude": "anthropic"}.get(entry.get("family"), entry.get("family"))
        return log


def base_config(mock_url: str, client_keys: list[str] | None) -> dict:
    """The conformance baseline (README 'Baseline server config'), CLIProxyAPI layout."""
    def keys(family: str) -> list[dict]:
        return [{"api-key": k, "base-url": mock_url + FAMILY_PREFIX[family]} for k in FAMILY_KEYS[family]]

    config: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": 0,
        "request-retry": 2,
        "claude-api-key": keys("anthropic"),
        "codex-api-key": keys("codex"),
        "gemini-api-key": keys("gemini"),
        "openai-compatibility": [{
            "name": "mockcompat",
            "base-url": mock_url + "/compat",
            "api-key-entries": [{"api-key": k} for k in FAMILY_KEYS["compat"]],
            "models": [{"name": "mock-gpt-4o", "alias": "compat-gpt-4o"},
                       {"name": "mock-reason", "alias": "compat-reason"}],
        }],
    }
    if client_keys is not None:
        config["api-keys"] = client_keys
    return config


class Proxy:
    def __init__(self, process: Process, config_path: Path):
        self.process = process
        self.config_path = config_path
        self.url = process.match.group(1).rstrip("/")

    def client(self, **kw: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=kw.pop("timeout", 30.0), **kw)


def start_proxy(config: dict, workdir: Path, name: str = "switchyard") -> Proxy:
    binary = _binary("SWITCHYARD_BIN", "switchyard")
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / f"{name}.yaml"
    # The usage history goes to the test's folder (relative to the config), never the user's data dir.
    config.setdefault("usage-database-path", f"{name}-usage.sqlite")
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    process = Process([str(binary), "serve", "--config", str(config_path)],
                      r"Switchyard listening on (http://127\.0\.0\.1:\d+)", name, workdir)
    return Proxy(process, config_path)


@pytest.fixture(scope="session")
def workdir():
    with tempfile.TemporaryDirectory(prefix="switchyard-py-") as d:
        yield Path(d)


@pytest.fixture(scope="session")
def mock(workdir: Path):
    binary = _binary("SWITCHYARD_MOCK_BIN", "switchyard-mock")
    process = Process([str(binary), "--port", "0"], r"listening on 127\.0\.0\.1:(\d+)", "mock", workdir)
    yield Mock(process)
    process.terminate()


@pytest.fixture(scope="session")
def proxy(mock: Mock, workdir: Path):
    p = start_proxy(base_config(mock.url, [CLIENT_KEY, CLIENT_KEY_2]), workdir / "proxy", "switchyard")
    yield p
    p.process.terminate()


@pytest.fixture(scope="session")
def open_proxy(mock: Mock, workdir: Path):
    """Same upstreams, no client keys configured (auth.open_access)."""
    p = start_proxy(base_config(mock.url, None), workdir / "open", "switchyard-open")
    yield p
    p.process.terminate()


@pytest.fixture
def fresh_proxy(mock: Mock, workdir: Path, request):
    """A proxy of its own for tests that depend on routing state (cooldowns, key order)."""
    p = start_proxy(base_config(mock.url, [CLIENT_KEY, CLIENT_KEY_2]), workdir / request.node.name[:40],
                    "switchyard-fresh")
    yield p
    p.process.terminate()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failed test, attach the proxy's and the mock's output to the report."""
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call" and rep.failed:
        for name, value in getattr(item, "funcargs", {}).items():
            process = getattr(value, "process", None)
            if isinstance(process, Process):
                rep.sections.append((f"{name} output", process.diagnostics()))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """`conformance: X of Y scenarios match` after the failure details, before pytest's count line."""
    outcome: dict[str, str] = {}
    for key in ("passed", "failed", "error", "skipped"):
        for rep in terminalreporter.stats.get(key, []):
            nodeid = getattr(rep, "nodeid", "")
            if "test_conformance.py::test_scenario" not in nodeid:
                continue
            if key in ("failed", "error") or outcome.get(nodeid) is None:
                outcome[nodeid] = "passed" if key == "passed" else "other"
    if outcome:
        matched = sum(v == "passed" for v in outcome.values())
        terminalreporter.write_line(f"conformance: {matched} of {len(outcome)} scenarios match")
