"""The three real CLI agents from npm, each set up to run fully offline against a local proxy.

Every run gets a private home (config files written here, nothing read from the user's own), a clean
environment (PATH and locale only, so no real credential or proxy setting leaks in), and its own process
group, killed whole on timeout.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

BIN = Path(__file__).resolve().parent / "node_modules" / ".bin"
PROMPT = "What is the weather in Paris?"
TIMEOUT_S = float(os.environ.get("SWITCHYARD_AGENT_TIMEOUT", "120"))


@dataclass(repr=False)
class Run:
    """One agent invocation and what came of it."""
    agent: str
    argv: list[str]
    home: Path
    files: dict[str, str]
    returncode: int | None = None
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0
    timed_out: bool = False
    extra: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"Run({self.agent}, exit {self.returncode})"

    def describe(self) -> str:
        status = f"timed out after {TIMEOUT_S:.0f}s (process group killed)" if self.timed_out \
            else f"exit {self.returncode} after {self.seconds:.1f}s"
        parts = [f"$ {' '.join(self.argv)}", f"home: {self.home}", status]
        for name, text in self.files.items():
            parts.append(f"--- {name} ---\n{text.rstrip()}")
        parts.append(f"--- stdout ---\n{self.stdout.rstrip()}")
        parts.append(f"--- stderr (tail) ---\n{self.stderr[-6000:].rstrip()}")
        parts.extend(self.extra)
        return "\n".join(parts)


class Agent:
    name: str = ""
    binary: str = ""

    def path(self) -> Path:
        return BIN / self.binary

    def setup(self, home: Path, proxy_url: str, client_key: str) -> tuple[dict[str, str], dict[str, str]]:
        """Write the agent's config under `home`; return (extra environment, {file name: content})."""
        raise NotImplementedError

    def argv(self, model: str) -> list[str]:
        raise NotImplementedError

    def run(self, root: Path, proxy_url: str, client_key: str, model: str) -> Run:
        home = root / "home"
        work = root / "work"
        work.mkdir(parents=True)
        home.mkdir(parents=True, exist_ok=True)
        extra_env, files = self.setup(home, proxy_url, client_key)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "LANG": "C.UTF-8",
            "TERM": "dumb",
            "NO_COLOR": "1",
            # git must not find the repository this directory happens to sit in.
            "GIT_CEILING_DIRECTORIES": str(root),
            **extra_env,
        }
        run = Run(self.name, self.argv(model), home, files)
        started = time.monotonic()
        proc = subprocess.Popen(run.argv, cwd=work, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)
        try:
            out, err = proc.communicate(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            run.timed_out = True
            os.killpg(proc.pid, signal.SIGKILL)  # the agent's own group: it and the children it spawned
            out, err = proc.communicate()
        run.seconds = time.monotonic() - started
        run.returncode = proc.returncode
        run.stdout = out.decode("utf-8", "replace")
        run.stderr = err.decode("utf-8", "replace")
        return run


def _write(path: Path, text: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return text


class ClaudeCode(Agent):
    """`claude -p` (@anthropic-ai/claude-code): Anthropic Messages to ANTHROPIC_BASE_URL/v1/messages?beta=true."""
    name, binary = "claude-code", "claude"

    def setup(self, home, proxy_url, client_key):
        return {
            "ANTHROPIC_BASE_URL": proxy_url,
            "ANTHROPIC_AUTH_TOKEN": client_key,
            "CLAUDE_CONFIG_DIR": str(home / ".claude"),
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "CLAUDE_CODE_MAX_RETRIES": "0",
            "DISABLE_AUTOUPDATER": "1",
        }, {}

    def argv(self, model):
        return [str(self.path()), "-p", PROMPT, "--model", model]


class CodexCli(Agent):
    """`codex exec` (@openai/codex): OpenAI Responses over SSE to {base_url}/responses."""
    name, binary = "codex-cli", "codex"

    def setup(self, home, proxy_url, client_key):
        codex_home = home / ".codex"
        # web_search = "disabled": Codex otherwise declares the Responses built-in `web_search` tool, which
        # has no equivalent in the other families; the proxy refuses it (400 naming it) by design.
        # --strict-config (argv) turns any key this Codex version no longer knows into an error.
        config = f"""\
model_provider = "switchyard"
web_search = "disabled"
check_for_update_on_startup = false
approval_policy = "never"
sandbox_mode = "read-only"

[model_providers.switchyard]
name = "Switchyard"
base_url = "{proxy_url}/v1"
env_key = "SWITCHYARD_API_KEY"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0

[analytics]
enabled = false

[features]
plugins = false
remote_plugin = false
apps = false
"""
        files = {"config.toml": _write(codex_home / "config.toml", config)}
        return {"CODEX_HOME": str(codex_home), "SWITCHYARD_API_KEY": client_key}, files

    def argv(self, model):
        return [str(self.path()), "exec", "--skip-git-repo-check", "--strict-config", "--ephemeral",
                "-m", model, PROMPT]


class GeminiCli(Agent):
    """`gemini -p` (@google/gemini-cli): Gemini streamGenerateContent?alt=sse to GOOGLE_GEMINI_BASE_URL."""
    name, binary = "gemini-cli", "gemini"

    def setup(self, home, proxy_url, client_key):
        settings = {
            "general": {"enableAutoUpdate": False, "enableAutoUpdateNotification": False,
                        # one attempt, like CLAUDE_CODE_MAX_RETRIES=0: a proxy error must show, not be retried
                        "maxAttempts": 1, "retryFetchErrors": False},
            "privacy": {"usageStatisticsEnabled": False},
            "telemetry": {"enabled": False},
            "security": {"auth": {"selectedType": "gemini-api-key"}},
        }
        files = {"settings.json": _write(home / ".gemini" / "settings.json", json.dumps(settings, indent=2))}
        return {
            "GEMINI_API_KEY": client_key,
            "GOOGLE_GEMINI_BASE_URL": proxy_url,
            "GEMINI_CLI_TRUST_WORKSPACE": "true",
            "GEMINI_CLI_NO_RELAUNCH": "true",
        }, files

    def argv(self, model):
        return [str(self.path()), "-p", PROMPT, "-m", model]


AGENTS = {a.name: a for a in (ClaudeCode(), CodexCli(), GeminiCli())}
