import type { Transport } from "./client.ts";
import { ServiceError } from "./error.ts";

export const MANAGEMENT_BASE = "/v0/management/switchyard/";

/**
 * The transport of the page `switchyard serve` hosts: `fetch` with the management key. A 401 and a 429
 * become their own error kinds so the app can go back to the sign-in screen or say when to retry.
 */
export function httpTransport(key: string, fetchFn: typeof fetch = (...a) => fetch(...a)): Transport {
  return async (call) => {
    const headers: Record<string, string> = { Authorization: `Bearer ${key}` };
    const init: RequestInit = { method: call.method, headers };
    if (call.body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(call.body);
    }
    let res: Response;
    try {
      res = await fetchFn(MANAGEMENT_BASE + call.path, init);
    } catch {
      throw new ServiceError("network", "The proxy did not answer. Is switchyard still running?");
    }
    const text = await res.text();
    const body = parseJson(text);
    if (res.ok) return body ?? null;
    throw httpError(res, body);
  };
}

function httpError(res: Response, body: unknown): ServiceError {
  if (res.status === 401) {
    return new ServiceError("unauthorized", "The management key was not accepted.");
  }
  if (res.status === 429) {
    const seconds = Number(res.headers.get("Retry-After") ?? "");
    const retryAfter = Number.isFinite(seconds) && seconds > 0 ? seconds : undefined;
    const when = retryAfter === undefined ? "later" : `in ${formatWait(retryAfter)}`;
    return new ServiceError(
      "rate_limited",
      `Too many failed attempts from this address. Try again ${when}.`,
      [],
      retryAfter,
    );
  }
  const fallback = res.status === 400 ? "invalid" : res.status === 404 ? "not_found" : "internal";
  if (body !== undefined) {
    const parsed = ServiceError.from(body, fallback);
    // Only the service's own shape carries a message meant for people.
    if (typeof body === "object" && body !== null && "message" in body) return parsed;
  }
  if (res.status === 404) {
    return new ServiceError(
      "not_found",
      "This proxy has no management API here (is remote-management.secret-key set in its config?).",
    );
  }
  return new ServiceError(fallback, `The proxy answered ${res.status} ${res.statusText}`.trim() + ".");
}

function parseJson(text: string): unknown {
  if (text === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** "45 seconds", "30 minutes": a wait in words. */
export function formatWait(seconds: number): string {
  if (seconds < 90) return `${Math.ceil(seconds)} seconds`;
  return `${Math.ceil(seconds / 60)} minutes`;
}
