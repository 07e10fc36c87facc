import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Api } from "../api/client.ts";
import { ServiceError } from "../api/error.ts";
import type { LoginState, LoginView, Provider } from "../api/types.ts";
import { LoginFlow, POLL_MS, advance, type LoginProgress } from "./login.ts";

const view = (id: string, provider: Provider, method: LoginView["method"] = "browser"): LoginView => ({
  id,
  provider,
  method,
  url: method === "device" ? null : `http://mock/oauth/${provider}/authorize?state=${id}`,
  user_code: method === "device" ? "ABCD-1234" : null,
  verification_url: method === "device" ? "https://auth.openai.com/codex/device" : null,
  callback_port: method === "browser" ? 54545 : null,
  status: { state: "pending" },
});

/** A service whose logins answer `pending` until a test says otherwise. */
function service() {
  const states = new Map<string, LoginState>();
  let n = 0;
  const api = {
    startLogin: vi.fn(async (provider: Provider, method: LoginView["method"]) => {
      const id = `L${++n}`;
      states.set(id, { state: "pending" });
      return view(id, provider, method);
    }),
    loginStatus: vi.fn(async (id: string) => states.get(id) ?? { state: "pending" }),
    submitLogin: vi.fn(async (id: string, _pasted: string) => {
      states.set(id, { state: "succeeded", account: "claude-1a2b", provider: "claude", email: "me@example.com", updated: false });
      return null;
    }),
    cancelLogin: vi.fn(async (id: string) => {
      states.set(id, { state: "cancelled" });
      return null;
    }),
  };
  return { api, states, asApi: api as unknown as Api };
}

function flow() {
  const s = service();
  const seen: LoginProgress[] = [];
  const f = new LoginFlow(s.asApi, (p) => seen.push(p));
  const stages = () => seen.map((p) => p.stage);
  return { ...s, f, seen, stages };
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe("login progress", () => {
  it("maps each service state to what the panel shows", () => {
    const login = view("L1", "codex");
    expect(advance(login, { state: "pending" })).toEqual({ stage: "waiting", login });
    expect(advance(login, { state: "failed", message: "the code expired" })).toEqual({
      stage: "failed",
      provider: "codex",
      message: "the code expired",
    });
    expect(advance(login, { state: "cancelled" })).toEqual({ stage: "cancelled", provider: "codex" });
    expect(
      advance(login, { state: "succeeded", account: "codex-1", provider: "codex", plan: "pro", updated: true }),
    ).toEqual({ stage: "succeeded", provider: "codex", account: "codex-1", email: null, updated: true });
  });

  it("polls every second while pending and stops once the browser came back", async () => {
    const t = flow();
    await t.f.start("claude", "browser");
    expect(t.stages()).toEqual(["starting", "waiting"]);
    await vi.advanceTimersByTimeAsync(POLL_MS * 3);
    expect(t.api.loginStatus).toHaveBeenCalledTimes(3);
    t.states.set("L1", { state: "succeeded", account: "claude-1a2b", provider: "claude", email: "me@example.com", updated: false });
    await vi.advanceTimersByTimeAsync(POLL_MS);
    expect(t.seen.at(-1)).toEqual({ stage: "succeeded", provider: "claude", account: "claude-1a2b", email: "me@example.com", updated: false });
    await vi.advanceTimersByTimeAsync(POLL_MS * 5);
    expect(t.api.loginStatus).toHaveBeenCalledTimes(4);
  });

  it("shows the provider's failure message as it is", async () => {
    const t = flow();
    await t.f.start("codex", "browser");
    t.states.set("L1", { state: "failed", message: "the authorization was denied" });
    await vi.advanceTimersByTimeAsync(POLL_MS);
    expect(t.seen.at(-1)).toEqual({ stage: "failed", provider: "codex", message: "the authorization was denied" });
  });

  it("fails in words when the login cannot start", async () => {
    const t = flow();
    t.api.startLogin.mockRejectedValueOnce(new ServiceError("unavailable", "port 54545 is taken by another program"));
    await t.f.start("claude", "browser");
    expect(t.seen.at(-1)).toEqual({ stage: "failed", provider: "claude", message: "port 54545 is taken by another program" });
  });

  it("finishes at once with a pasted address", async () => {
    const t = flow();
    await t.f.start("claude", "browser");
    await t.f.paste("  http://localhost:54545/callback?code=c&state=L1 ");
    expect(t.api.submitLogin).toHaveBeenCalledWith("L1", "http://localhost:54545/callback?code=c&state=L1");
    expect(t.seen.at(-1)?.stage).toBe("succeeded");
  });

  it("lets a refused paste be fixed and tried again", async () => {
    const t = flow();
    await t.f.start("claude", "browser");
    t.api.submitLogin.mockRejectedValueOnce(new ServiceError("invalid", "that address has no code in it"));
    await expect(t.f.paste("nonsense")).rejects.toThrow("that address has no code in it");
    expect(t.seen.at(-1)?.stage).toBe("waiting");
  });

  it("cancels the login at the service and stops polling", async () => {
    const t = flow();
    await t.f.start("claude", "browser");
    await t.f.cancel();
    expect(t.api.cancelLogin).toHaveBeenCalledWith("L1");
    expect(t.seen.at(-1)).toEqual({ stage: "cancelled", provider: "claude" });
    await vi.advanceTimersByTimeAsync(POLL_MS * 3);
    expect(t.api.loginStatus).not.toHaveBeenCalled();
  });

  it("switches a Codex login to a device code: the browser login is cancelled, the code shown", async () => {
    const t = flow();
    await t.f.start("codex", "browser");
    await t.f.useDeviceCode();
    expect(t.api.cancelLogin).toHaveBeenCalledWith("L1");
    expect(t.api.startLogin).toHaveBeenLastCalledWith("codex", "device");
    const last = t.seen.at(-1);
    expect(last?.stage === "waiting" && [last.login.user_code, last.login.verification_url]).toEqual([
      "ABCD-1234",
      "https://auth.openai.com/codex/device",
    ]);
    t.states.set("L2", { state: "succeeded", account: "codex-9", provider: "codex", plan: "plus", updated: false });
    await vi.advanceTimersByTimeAsync(POLL_MS);
    expect(t.seen.at(-1)).toMatchObject({ stage: "succeeded", account: "codex-9" });
  });

  it("cancels a login that finished starting after the panel closed", async () => {
    const t = flow();
    const starting = t.f.start("claude", "browser");
    t.f.stop();
    await starting;
    expect(t.api.cancelLogin).toHaveBeenCalledWith("L1");
    expect(t.stages()).toEqual(["starting"]);
  });
});
