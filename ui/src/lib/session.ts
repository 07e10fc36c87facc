import { createApi, type Api, type Transport } from "../api/client.ts";
import { ServiceError } from "../api/error.ts";
import { httpTransport } from "../api/http.ts";
import { desktop, inTauri, ipcTransport, type Desktop } from "../api/ipc.ts";

/** The management key lives for this tab only: closing it signs out, and no other site can read it. */
const KEY = "switchyard.management-key";

export function savedKey(): string | undefined {
  return sessionStorage.getItem(KEY) ?? undefined;
}

export function saveKey(key: string): void {
  sessionStorage.setItem(KEY, key);
}

export function forgetKey(): void {
  sessionStorage.removeItem(KEY);
}

export interface Session {
  api: Api;
  /** Only inside the desktop app. */
  desktop: Desktop | undefined;
}

/**
 * Inside Tauri no key is needed; over HTTP there is a session once a key was given, and a refused key
 * (the config's key changed) forgets it and calls `signedOut` so the sign-in screen comes back.
 */
export function openSession(signedOut: (reason: string) => void): Session | undefined {
  if (inTauri()) return { api: createApi(ipcTransport()), desktop: desktop() };
  const key = savedKey();
  if (key === undefined) return undefined;
  const http = httpTransport(key);
  const guarded: Transport = async (call) => {
    try {
      return await http(call);
    } catch (e) {
      if (e instanceof ServiceError && e.kind === "unauthorized") {
        forgetKey();
        signedOut(e.message);
      }
      throw e;
    }
  };
  return { api: createApi(guarded), desktop: undefined };
}
