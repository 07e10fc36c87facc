import { errorMessage } from "../api/error.ts";

/** A value a page loads from the proxy, with the error (in words) of the last attempt. */
export interface Resource<T> {
  readonly value: T | undefined;
  readonly error: string;
  reload(): Promise<void>;
}

/** Loads now and again on `reload`. */
export function resource<T>(load: () => Promise<T>): Resource<T> {
  let value = $state<T | undefined>();
  let error = $state("");
  async function reload(): Promise<void> {
    try {
      value = await load();
      error = "";
    } catch (e) {
      error = errorMessage(e);
    }
  }
  void reload();
  return {
    get value() {
      return value;
    },
    get error() {
      return error;
    },
    reload,
  };
}

/** Calls `fn` every `ms` while the calling component lives. */
export function every(ms: number, fn: () => void): void {
  $effect(() => {
    const id = setInterval(fn, ms);
    return () => clearInterval(id);
  });
}
