// Test fixtures: a real `switchyard serve` with the mock upstream behind it, one pair per test, and a page
// signed in to the management UI the proxy serves. Nothing is built here: the binaries come from
// `cargo build` and the UI from `npm run build` (see README.md).

import { test as base, expect, type Page } from "@playwright/test";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const BIN = process.env.SWITCHYARD_BIN_DIR ?? join(ROOT, "target/debug");

export const MANAGEMENT_KEY = "mk-e2e-management-key";
export const CLIENT_KEY = "sk-e2e-client";

export interface Yard {
  /** The proxy's base URL, `http://127.0.0.1:PORT`. */
  url: string;
  /** The mock upstream's base URL (its `/__control/*` scripts replies). */
  mock: string;
  configPath: string;
  /** The config as written before the test, comments and all. */
  initialConfig: string;
}

/** Starts `bin` and waits for the stdout line `pattern` matches; rejects with its stderr if it exits first. */
async function startProcess(bin: string, args: string[], pattern: RegExp): Promise<{ child: ChildProcess; match: RegExpMatchArray }> {
  const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_PROXY: "*" } });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`${bin} did not start within 20 s:\n${stderr}`)), 20_000);
    child.on("error", (e) => fail(new Error(`cannot run ${bin} (built with cargo build?): ${e.message}`)));
    child.on("exit", (code) => fail(new Error(`${bin} exited with ${code}:\n${stderr}`)));
    const lines = createInterface({ input: child.stdout! });
    lines.on("line", (line) => {
      const match = line.match(pattern);
      if (match) {
        clearTimeout(timer);
        ok({ child, match });
      }
    });
  });
}

/** The config a person might have written, with comments the UI's edits must keep. */
function configYaml(mock: string, dir: string, extra: string): string {
  const authDir = join(dir, "auth");
  const oauth = `http://${mock}/oauth`;
  return `# Switchyard e2e config: every comment here must survive edits from the UI.
host: 127.0.0.1
port: 0 # any free port
# Tools send this key.
api-keys: ["${CLIENT_KEY}"]
request-retry: 1 # retries before giving up
auth-dir: "${authDir}"
secret-store: file
usage-database-path: usage.sqlite
routing:
  # how accounts take turns
  strategy: round-robin
remote-management:
  secret-key: "${MANAGEMENT_KEY}"
endpoints:
  claude:
    api: http://${mock}/anthropic
    authorize: ${oauth}/claude/authorize
    token: ${oauth}/claude/token
    usage: ${oauth}/claude/usage
    callback-port: 0
  codex:
    api: http://${mock}/codex
    authorize: ${oauth}/codex/authorize
    token: ${oauth}/codex/token
    device-code: ${oauth}/codex/deviceauth/usercode
    device-token: ${oauth}/codex/deviceauth/token
    usage: ${oauth}/codex/usage
    callback-port: 0
${extra}`;
}

export const test = base.extend<{ yard: Yard; signedIn: Page; yardConfig: string }>({
  /** YAML appended to the config (e.g. upstream keys at the mock); `{mock}` stands for the mock's address. */
  yardConfig: ["", { option: true }],
  yard: async ({ yardConfig }, use) => {
    const dir = mkdtempSync(join(tmpdir(), "switchyard-e2e-"));
    const children: ChildProcess[] = [];
    try {
      const mock = await startProcess(join(BIN, "switchyard-mock"), [], /^listening on (\S+)/);
      children.push(mock.child);
      const configPath = join(dir, "config.yaml");
      const mockAddr = mock.match[1] ?? "";
      const initialConfig = configYaml(mockAddr, dir, yardConfig.replaceAll("{mock}", mockAddr));
      writeFileSync(configPath, initialConfig);
      const proxy = await startProcess(join(BIN, "switchyard"), ["serve", "--config", configPath], /listening on (http\S+)/);
      children.push(proxy.child);
      await use({ url: proxy.match[1] ?? "", mock: `http://${mockAddr}`, configPath, initialConfig });
    } finally {
      for (const c of children) c.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  },
  signedIn: async ({ page, yard }, use) => {
    // The page must work under the proxy's strict CSP: anything it refuses fails the test.
    const refused: string[] = [];
    page.on("console", (m) => {
      if (m.text().includes("Content Security Policy")) refused.push(m.text());
    });
    await page.goto(`${yard.url}/management.html`);
    await page.getByLabel("Management key").fill(MANAGEMENT_KEY);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
    await use(page);
    expect(refused).toEqual([]);
  },
});

export { expect };
