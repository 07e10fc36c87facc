import { describe, expect, it, vi } from "vitest";
import { createApi } from "./client.ts";
import { ServiceError } from "./error.ts";
import { httpTransport } from "./http.ts";

function stub(status: number, body: unknown, headers: Record<string, string> = {}) {
  const fetchFn = vi.fn<typeof fetch>(async () =>
    new Response(body === undefined ? null : JSON.stringify(body), { status, headers }),
  );
  return { fetchFn, api: createApi(httpTransport("mk-secret", fetchFn)) };
}

function sent(fetchFn: ReturnType<typeof stub>["fetchFn"]) {
  const [url, init] = fetchFn.mock.calls[0] ?? [];
  const headers = (init?.headers ?? {}) as Record<string, string>;
  return {
    url,
    method: init?.method,
    auth: headers.Authorization,
    type: headers["Content-Type"],
    body: typeof init?.body === "string" ? (JSON.parse(init.body) as unknown) : undefined,
  };
}

const B = "/v0/management/switchyard/";

describe("HTTP transport", () => {
  it("sends every call to its documented path and method with the management key", async () => {
    const cases: [(api: ReturnType<typeof stub>["api"]) => Promise<unknown>, string, string, unknown][] = [
      [(a) => a.status(), "GET", "status", undefined],
      [(a) => a.accounts(true), "GET", "accounts?quota=true", undefined],
      [(a) => a.accounts(false), "GET", "accounts", undefined],
      [(a) => a.updateAccount("claude-1a", { label: "work", enabled: false }), "PATCH", "accounts/claude-1a", { label: "work", enabled: false }],
      [(a) => a.removeAccount("codex-9"), "DELETE", "accounts/codex-9", undefined],
      [(a) => a.importAccountFile("claude-a.json", "{}"), "POST", "accounts/import", { name: "claude-a.json", content: "{}" }],
      [(a) => a.startLogin("codex", "device"), "POST", "logins", { provider: "codex", method: "device" }],
      [(a) => a.loginStatus("L1"), "GET", "logins/L1", undefined],
      [(a) => a.submitLogin("L1", "http://localhost:1/cb?code=x"), "POST", "logins/L1/paste", { pasted: "http://localhost:1/cb?code=x" }],
      [(a) => a.cancelLogin("L1"), "DELETE", "logins/L1", undefined],
      [(a) => a.models(), "GET", "models", undefined],
      [(a) => a.config(), "GET", "config", undefined],
      [(a) => a.checkConfig("port: 1\n"), "POST", "config/check", { yaml: "port: 1\n" }],
      [(a) => a.saveConfig("port: 1\n"), "PUT", "config", { yaml: "port: 1\n" }],
      [(a) => a.settings(), "GET", "settings", undefined],
      [(a) => a.updateSettings({ strategy: "fill-first" }), "PATCH", "settings", { strategy: "fill-first" }],
      [(a) => a.apiKeys(), "GET", "api-keys", undefined],
      [(a) => a.createApiKey(), "POST", "api-keys", undefined],
      [(a) => a.revokeApiKey("sk-1"), "DELETE", "api-keys", { key: "sk-1" }],
      [(a) => a.logs(41, "warn", 200), "GET", "logs?after=41&level=warn&limit=200", undefined],
      [(a) => a.usageSummary({}), "GET", "usage", undefined],
      [
        (a) => a.usageSummary({ from: "2026-11-21T00:00:00Z", to: "2026-11-22T00:00:00Z" }, "hour"),
        "GET",
        "usage?from=2026-11-21T00%3A00%3A00Z&to=2026-11-22T00%3A00%3A00Z&bucket=hour",
        undefined,
      ],
      [(a) => a.usageEvents({}), "GET", "usage/events", undefined],
      [
        (a) => a.usageEvents({ before: "c1", limit: 50, model: "gpt-5", credential: "claude-1", clientKey: "key-ab", errorsOnly: true }),
        "GET",
        "usage/events?before=c1&limit=50&model=gpt-5&credential=claude-1&client_key=key-ab&errors_only=true",
        undefined,
      ],
      [(a) => a.usageEvents({ errorsOnly: false, from: "a", to: "b" }), "GET", "usage/events?from=a&to=b", undefined],
      [(a) => a.usageEvent("req-1"), "GET", "usage/events/req-1", undefined],
      [(a) => a.usageSince("2026-11-21T23:00:00Z"), "GET", "usage/since?from=2026-11-21T23%3A00%3A00Z", undefined],
      [(a) => a.exportUsage({}), "GET", "usage/export", undefined],
      [(a) => a.exportUsage({ from: "x" }), "GET", "usage/export?from=x", undefined],
      [(a) => a.importUsage({ version: 1, usage: {} }), "POST", "usage/import", { version: 1, usage: {} }],
    ];
    for (const [run, method, path, body] of cases) {
      const { fetchFn, api } = stub(200, null);
      await run(api);
      const s = sent(fetchFn);
      expect({ url: s.url, method: s.method, body: s.body }).toEqual({ url: B + path, method, body });
      expect(s.auth).toBe("Bearer mk-secret");
      expect(s.type).toBe(body === undefined ? undefined : "application/json");
    }
  });

  it("escapes ids in paths", async () => {
    const { fetchFn, api } = stub(200, null);
    await api.loginStatus("a/b c");
    expect(sent(fetchFn).url).toBe(`${B}logins/a%2Fb%20c`);
    const usage = stub(200, null);
    await usage.api.usageEvent("cpa-1/2?x");
    expect(sent(usage.fetchFn).url).toBe(`${B}usage/events/cpa-1%2F2%3Fx`);
  });

  it("returns the decoded result, and null for an empty answer", async () => {
    expect(await stub(200, ["sk-1"]).api.apiKeys()).toEqual(["sk-1"]);
    expect(await stub(204, undefined).api.removeAccount("x")).toBeNull();
  });

  it("passes the service's error on with its message and problems as they are", async () => {
    const problem = { line: 3, column: 9, severity: "error", message: "unknown key `prot`" };
    const { api } = stub(400, { kind: "invalid", message: "the config has 1 problem; nothing was saved", problems: [problem] });
    const e = await api.saveConfig("x").catch((e: unknown) => e);
    expect(e).toBeInstanceOf(ServiceError);
    expect(e).toMatchObject({ kind: "invalid", message: "the config has 1 problem; nothing was saved", problems: [problem] });
  });

  it("turns a refused key into `unauthorized`, with the proxy's words when it gives some", async () => {
    const said = "invalid management key: it is not the config's remote-management.secret-key";
    const e = await stub(401, { error: said }).api.status().catch((e: unknown) => e);
    expect(e).toMatchObject({ kind: "unauthorized", message: said });
    const bare = await stub(401, undefined).api.status().catch((e: unknown) => e);
    expect(bare).toMatchObject({ kind: "unauthorized", message: "The management key was not accepted." });
  });

  it("says when a barred address may try again", async () => {
    const said = "too many wrong management keys from this address; try again in 30 minutes";
    const e = await stub(429, { error: said }, { "Retry-After": "1800" }).api.status().catch((e: unknown) => e);
    expect(e).toMatchObject({ kind: "rate_limited", retryAfter: 1800, message: said });
    const bare = await stub(429, undefined, { "Retry-After": "45" }).api.status().catch((e: unknown) => e);
    expect((bare as Error).message).toBe("Too many failed attempts from this address. Try again in 45 seconds.");
  });

  it("shows a refused address in the proxy's words", async () => {
    const said = "remote management is disabled: only this machine may manage the proxy";
    const e = await stub(403, { error: said }).api.status().catch((e: unknown) => e);
    expect(e).toMatchObject({ kind: "forbidden", message: said });
  });

  it("explains a 404 without a service error as a management API that is off", async () => {
    const e = await stub(404, undefined).api.status().catch((e: unknown) => e);
    expect(e).toMatchObject({ kind: "not_found" });
    expect((e as Error).message).toMatch(/remote-management\.secret-key/);
  });

  it("keeps a service 404 (an unknown account) as the service said it", async () => {
    const e = await stub(404, { kind: "not_found", message: "no account claude-x" }).api.removeAccount("claude-x").catch((e: unknown) => e);
    expect(e).toMatchObject({ kind: "not_found", message: "no account claude-x" });
  });

  it("reports an unreachable proxy in words", async () => {
    const fetchFn = vi.fn<typeof fetch>(async () => {
      throw new TypeError("Failed to fetch");
    });
    const e = await createApi(httpTransport("k", fetchFn)).status().catch((e: unknown) => e);
    expect(e).toMatchObject({ kind: "network" });
    expect((e as Error).message).toMatch(/did not answer/);
  });
});
