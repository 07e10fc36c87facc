import { describe, expect, it, vi } from "vitest";
import { createApi, type Api } from "./client.ts";
import { desktop, ipcTransport } from "./ipc.ts";

function stub(result: unknown = null) {
  const invoke = vi.fn(async (_cmd: string, _args: Record<string, unknown>) => result);
  return { invoke, api: createApi(ipcTransport(invoke)) };
}

describe("IPC transport", () => {
  it("invokes each command by its documented name with camelCase arguments", async () => {
    const cases: [(a: Api) => Promise<unknown>, string, Record<string, unknown>][] = [
      [(a) => a.status(), "status", {}],
      [(a) => a.accounts(true), "accounts", { withQuota: true }],
      [(a) => a.updateAccount("claude-1", { priority: 2 }), "update_account", { id: "claude-1", patch: { priority: 2 } }],
      [(a) => a.removeAccount("claude-1"), "remove_account", { id: "claude-1" }],
      [(a) => a.importAccountFile("codex-b.json", "{}"), "import_account_file", { name: "codex-b.json", content: "{}" }],
      [(a) => a.startLogin("claude", "browser"), "start_login", { provider: "claude", method: "browser" }],
      [(a) => a.loginStatus("L"), "login_status", { id: "L" }],
      [(a) => a.submitLogin("L", "code#state"), "submit_login", { id: "L", pasted: "code#state" }],
      [(a) => a.cancelLogin("L"), "cancel_login", { id: "L" }],
      [(a) => a.models(), "models", {}],
      [(a) => a.config(), "config", {}],
      [(a) => a.checkConfig("a: 1"), "check_config", { yaml: "a: 1" }],
      [(a) => a.saveConfig("a: 1"), "save_config", { yaml: "a: 1" }],
      [(a) => a.settings(), "settings", {}],
      [(a) => a.updateSettings({ debug: true }), "update_settings", { patch: { debug: true } }],
      [(a) => a.apiKeys(), "api_keys", {}],
      [(a) => a.createApiKey(), "create_api_key", {}],
      [(a) => a.revokeApiKey("sk-1"), "revoke_api_key", { key: "sk-1" }],
      [(a) => a.logs(7, "debug", 100), "logs", { after: 7, level: "debug", limit: 100 }],
      [(a) => a.usageSummary({}), "usage_summary", {}],
      [(a) => a.usageSummary({ from: "f", to: "t" }, "day"), "usage_summary", { from: "f", to: "t", bucket: "day" }],
      [
        (a) => a.usageEvents({ before: "c", limit: 50, model: "m", credential: "claude-1", clientKey: "k", errorsOnly: true, from: "f", to: "t" }),
        "usage_events",
        { before: "c", limit: 50, model: "m", credential: "claude-1", clientKey: "k", errorsOnly: true, from: "f", to: "t" },
      ],
      [(a) => a.usageEvents({ limit: 50, errorsOnly: false }), "usage_events", { limit: 50 }],
      [(a) => a.usageEvent("req-1"), "usage_event", { id: "req-1" }],
      [(a) => a.usageSince("2026-11-21T23:00:00Z"), "usage_since", { from: "2026-11-21T23:00:00Z" }],
      [(a) => a.exportUsage({ to: "t" }), "export_usage", { to: "t" }],
      [(a) => a.importUsage({ version: 1 }), "import_usage", { document: { version: 1 } }],
    ];
    for (const [run, command, args] of cases) {
      const { invoke, api } = stub();
      await run(api);
      expect(invoke.mock.calls).toEqual([[command, args]]);
    }
  });

  it("rejects with the service's error as it came", async () => {
    const invoke = vi.fn(async () => {
      throw { kind: "unavailable", message: "the keychain is locked" };
    });
    const e = await createApi(ipcTransport(invoke)).accounts(false).catch((e: unknown) => e);
    expect(e).toMatchObject({ kind: "unavailable", message: "the keychain is locked", problems: [] });
  });

  it("keeps a plain string rejection (a missing command) readable", async () => {
    const invoke = vi.fn(async () => {
      throw "Command status not found";
    });
    const e = await createApi(ipcTransport(invoke)).status().catch((e: unknown) => e);
    expect(e).toMatchObject({ kind: "internal", message: "Command status not found" });
  });
});

describe("desktop-only commands", () => {
  it("opens a URL with open_url and reports when the shell has no such command", async () => {
    const ok = vi.fn(async () => null);
    expect(await desktop(ok).openUrl("https://claude.ai/oauth")).toBe(true);
    expect(ok).toHaveBeenCalledWith("open_url", { url: "https://claude.ai/oauth" });
    const missing = vi.fn(async () => {
      throw "Command open_url not found";
    });
    expect(await desktop(missing).openUrl("https://x")).toBe(false);
  });

  it("reads and sets launch at login, and hides it when the shell cannot say", async () => {
    const invoke = vi.fn(async (cmd: string) => (cmd === "autostart_get" ? true : null));
    const d = desktop(invoke);
    expect(await d.autostart()).toBe(true);
    await d.setAutostart(false);
    expect(invoke.mock.calls).toEqual([
      ["autostart_get", {}],
      ["autostart_set", { enabled: false }],
    ]);
    const missing = vi.fn(async () => {
      throw "Command autostart_get not found";
    });
    expect(await desktop(missing).autostart()).toBeUndefined();
  });
});
