import type { Problem } from "./types.ts";

/**
 * Why a call failed. The service's own kinds come from docs/management-api.md; the client adds the ones
 * only a transport can see: a refused management key, a refused or barred address, an unreachable proxy.
 */
export type ErrorKind =
  | "invalid"
  | "not_found"
  | "unavailable"
  | "internal"
  | "unauthorized"
  | "forbidden"
  | "rate_limited"
  | "network";

export class ServiceError extends Error {
  readonly kind: ErrorKind;
  readonly problems: Problem[];
  /** Seconds until a barred address may try again (HTTP 429). */
  readonly retryAfter: number | undefined;

  constructor(kind: ErrorKind, message: string, problems: Problem[] = [], retryAfter?: number) {
    super(message);
    this.name = "ServiceError";
    this.kind = kind;
    this.problems = problems;
    this.retryAfter = retryAfter;
  }

  /** Reads the service's `{kind, message, problems?}`; anything else becomes `fallback`. */
  static from(value: unknown, fallback: ErrorKind = "internal"): ServiceError {
    if (value instanceof ServiceError) return value;
    if (typeof value === "string") return new ServiceError(fallback, value);
    if (isRecord(value) && typeof value.message === "string") {
      const kind = isKind(value.kind) ? value.kind : fallback;
      const problems = Array.isArray(value.problems) ? (value.problems as Problem[]) : [];
      return new ServiceError(kind, value.message, problems);
    }
    if (value instanceof Error) return new ServiceError(fallback, value.message);
    return new ServiceError(fallback, "Something went wrong, and the proxy did not say what.");
  }
}

/** The message to show for any thrown value. */
export function errorMessage(e: unknown): string {
  return ServiceError.from(e).message;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null;
}

const KINDS: readonly string[] = [
  "invalid",
  "not_found",
  "unavailable",
  "internal",
  "unauthorized",
  "forbidden",
  "rate_limited",
  "network",
];

function isKind(v: unknown): v is ErrorKind {
  return typeof v === "string" && KINDS.includes(v);
}
