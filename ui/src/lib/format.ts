import type { AccountView, Cooldown, QuotaWindow } from "../api/types.ts";

const MINUTE = 60;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** A duration the way the CLI prints it: `45s`, `12m`, `1h 59m`, `2d 23h`. */
export function span(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < MINUTE) return `${s}s`;
  if (s < HOUR) return `${Math.floor(s / MINUTE)}m`;
  if (s < DAY) {
    const m = Math.floor((s % HOUR) / MINUTE);
    return m ? `${Math.floor(s / HOUR)}h ${m}m` : `${Math.floor(s / HOUR)}h`;
  }
  const h = Math.floor((s % DAY) / HOUR);
  return h ? `${Math.floor(s / DAY)}d ${h}h` : `${Math.floor(s / DAY)}d`;
}

/** "resets in 1h 59m", "resets now" once the time has passed, "" when the provider gave no time. */
export function resetsIn(resetsAt: string | null | undefined, now: Date): string {
  if (!resetsAt) return "";
  const at = Date.parse(resetsAt);
  if (Number.isNaN(at)) return "";
  const left = (at - now.getTime()) / 1000;
  return left <= 0 ? "resets now" : `resets in ${span(left)}`;
}

/**
 * A window's name for people. Codex calls its windows primary and secondary; their length says more,
 * so a name that is not already a length (`5h`, `7d opus`) is replaced by the window's length.
 */
export function windowName(w: QuotaWindow): string {
  if (w.window_seconds && !/^\d/.test(w.name)) return span(w.window_seconds);
  return w.name;
}

export interface QuotaBar {
  label: string;
  /** 0–100 for the bar; the text shows the real number, which can pass 100. */
  percent: number;
  text: string;
  reset: string;
  level: "ok" | "high" | "full";
}

export function quotaBars(windows: QuotaWindow[], now: Date): QuotaBar[] {
  return windows.map((w) => {
    const used = Math.round(w.used_percent);
    return {
      label: windowName(w),
      percent: Math.min(100, Math.max(0, w.used_percent)),
      text: `${used}% used`,
      reset: resetsIn(w.resets_at, now),
      level: w.used_percent >= 100 ? "full" : w.used_percent >= 80 ? "high" : "ok",
    };
  });
}

/** An account's state in words, most pressing first. */
export function accountStatus(a: AccountView): string {
  if (a.disabled) return "Disabled: not used for requests";
  if (a.status === "needs-login") return "Needs a new login" + (a.status_message ? `: ${a.status_message}` : "");
  if (a.status === "error") return "Not working" + (a.status_message ? `: ${a.status_message}` : "");
  return "Ready";
}

/** "claude-sonnet-4-5 resting for 4m (429)", or "… (no connection)" when the upstream was unreachable. */
export function cooldownText(c: Cooldown, now: Date): string {
  const left = (Date.parse(c.until) - now.getTime()) / 1000;
  const why = c.status === null ? "no connection" : String(c.status);
  return `${c.model} resting for ${span(left)} (${why})`;
}

/** Why there is no quota, as a sentence that says so once (the service's reasons usually begin with it). */
export function quotaErrorText(reason: string): string {
  if (/^quota unavailable\b/i.test(reason)) return reason.charAt(0).toUpperCase() + reason.slice(1);
  return `Quota unavailable: ${reason}`;
}

export function providerName(p: string): string {
  return p === "claude" ? "Claude" : p === "codex" ? "Codex" : p;
}
