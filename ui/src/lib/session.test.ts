import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { openSession, saveKey, savedKey } from "./session.ts";

function memoryStorage(): Storage {
  const m = new Map<string, string>();
  return {
    getItem: (k) => m.get(k) ?? null,
    setItem: (k, v) => void m.set(k, v),
    removeItem: (k) => void m.delete(k),
    clear: () => m.clear(),
    key: (i) => [...m.keys()][i] ?? null,
    get length() {
      return m.size;
    },
  };
}

beforeEach(() => vi.stubGlobal("sessionStorage", memoryStorage()));
afterEach(() => vi.unstubAllGlobals());

describe("session over HTTP", () => {
  it("asks for a key until one is given", () => {
    expect(openSession(() => undefined)).toBeUndefined();
    saveKey("mk-1");
    expect(openSession(() => undefined)?.desktop).toBeUndefined();
  });

  it("sends the kept key, and forgets it and signs out when the proxy refuses it", async () => {
    saveKey("mk-old");
    const fetchFn = vi.fn<typeof fetch>(async () => new Response("{}", { status: 401 }));
    vi.stubGlobal("fetch", fetchFn);
    const signedOut = vi.fn();
    const session = openSession(signedOut);
    await expect(session?.api.status()).rejects.toThrow("The management key was not accepted.");
    expect((fetchFn.mock.calls[0]?.[1]?.headers as Record<string, string>).Authorization).toBe("Bearer mk-old");
    expect(signedOut).toHaveBeenCalledWith("The management key was not accepted.");
    expect(savedKey()).toBeUndefined();
  });

  it("stays signed in through other errors", async () => {
    saveKey("mk-1");
    vi.stubGlobal("fetch", vi.fn(async () => new Response('{"kind":"unavailable","message":"the keychain is locked"}', { status: 503 })));
    const signedOut = vi.fn();
    await expect(openSession(signedOut)?.api.accounts(true)).rejects.toThrow("the keychain is locked");
    expect(signedOut).not.toHaveBeenCalled();
    expect(savedKey()).toBe("mk-1");
  });

  it("needs no key inside the desktop app", () => {
    vi.stubGlobal("window", { __TAURI_INTERNALS__: {} });
    const session = openSession(() => undefined);
    expect(session?.desktop).toBeDefined();
  });
});
