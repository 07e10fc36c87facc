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
  // The access checks refuse with `{"error": "<what to do>"}`, written for people like the service's messages.
  const refusal = isRecord(body) && typeof body.error === "string" ? body.error : undefined;
  if (res.status === 401) {
    return new ServiceError("unauthorized", refusal ?? "The management key was not accepted.");
  }
  if (res.status === 429) {
    const seconds = Number(res.headers.get("Retry-After") ?? "");
    const retryAfter = Number.isFinite(seconds) && seconds > 0 ? seconds : undefined;
    const when = retryAfter === undefined ? "later" : `in ${formatWait(retryAfter)}`;
    const message = refusal ?? `Too many failed attempts from this address. Try again ${when}.`;
    return new ServiceError("rate_limited", message, [], retryAfter);
  }
  const fallback = res.status === 400 ? "invalid" : res.status === 403 ? "forbidden" : res.status === 404 ? "not_found" : "internal";
  if (isRecord(body) && typeof body.message === "string") return ServiceError.from(body, fallback);
  if (refusal !== undefined) return new ServiceError(fallback, refusal);
  if (res.status === 404) {
    return new ServiceError(
      "not_found",
      "This proxy has no management API here (is remote-management.secret-key set in its config?).",
    );
  }
  return new ServiceError(fallback, `The proxy answered ${res.status} ${res.statusText}`.trim() + ".");
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null;
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
