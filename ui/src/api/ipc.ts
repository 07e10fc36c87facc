import { invoke } from "@tauri-apps/api/core";
import type { Transport } from "./client.ts";
import { ServiceError } from "./error.ts";

type Invoke = (command: string, args: Record<string, unknown>) => Promise<unknown>;

/** True inside the desktop app's window, where Tauri injects its IPC bridge. */
export function inTauri(): boolean {
  return typeof window !== "undefined" && "__TAURI_INTERNALS__" in window;
}

/** The desktop app's transport: the same service functions as Tauri commands. */
export function ipcTransport(invokeFn: Invoke = invoke): Transport {
  return async (call) => {
    try {
      return (await invokeFn(call.command, call.args)) ?? null;
    } catch (e) {
      throw ServiceError.from(e);
    }
  };
}

/**
 * What only the desktop app can do. Its commands may be missing from an older shell, so each one's
 * failure means "not available here" rather than an error to show.
 */
export interface Desktop {
  /** Opens `url` in the default browser; false when the shell cannot. */
  openUrl(url: string): Promise<boolean>;
  /** Whether the app starts at login, or undefined when the shell cannot say. */
  autostart(): Promise<boolean | undefined>;
  setAutostart(enabled: boolean): Promise<void>;
}

export function desktop(invokeFn: Invoke = invoke): Desktop {
  return {
    openUrl: (url) =>
      invokeFn("open_url", { url }).then(
        () => true,
        () => false,
      ),
    autostart: () =>
      invokeFn("autostart_get", {}).then(
        (v) => (typeof v === "boolean" ? v : undefined),
        () => undefined,
      ),
    setAutostart: async (enabled) => {
      try {
        await invokeFn("autostart_set", { enabled });
      } catch (e) {
        throw ServiceError.from(e);
      }
    },
  };
}
