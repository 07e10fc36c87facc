import type { Bucket, Totals, UsageEvent } from "../api/types.ts";

/** 950, 12.3k, 1.2M, 3.4B: token counts short enough for a tile or a bar label. */
export function compact(n: number): string {
  const abs = Math.abs(n);
  for (const [size, unit] of [
    [1e9, "B"],
    [1e6, "M"],
    [1e3, "k"],
  ] as const) {
    if (abs >= size) {
      const v = n / size;
      // 12.3k but 123k: three significant digits at most; 1.0M is written 1M.
      const text = Math.abs(v) >= 100 ? Math.round(v).toString() : v.toFixed(1).replace(/\.0$/, "");
      // 999.95k rounds to 1000k: say 1M instead.
      if (text === "1000" && unit !== "B") return compact(Math.sign(n) * size * 1000);
      return text + unit;
    }
  }
  return Math.round(n).toString();
}

/** The full number with thousands separators, for titles and the data tables. */
export function exact(n: number): string {
  return n.toLocaleString("en-US");
}

/** 850 ms, 1.2 s, 12 s, 2m 5s: a request's latency. */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "–";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 60) return `${Math.round(s)} s`;
  const whole = Math.round(s);
  const rest = whole % 60;
  return rest ? `${Math.floor(whole / 60)}m ${rest}s` : `${whole / 60}m`;
}

/** The sum the charts rank and stack by. */
export function totalTokens(t: Pick<Totals, "input_tokens" | "output_tokens">): number {
  return t.input_tokens + t.output_tokens;
}

export type Preset = "today" | "24h" | "7d" | "30d" | "90d";

export const PRESETS: { id: Preset; label: string }[] = [
  { id: "today", label: "Today" },
  { id: "24h", label: "24 h" },
  { id: "7d", label: "7 d" },
  { id: "30d", label: "30 d" },
  { id: "90d", label: "90 d" },
];

export interface Range {
  from: Date;
  to: Date;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** Midnight of `now`'s day in the browser's time zone. */
export function localMidnight(now: Date): Date {
  return new Date(now.getFullYear(), now.getMonth(), now.getDate());
}

/** A preset's range ending at `now` ("Today" starts at local midnight). */
export function presetRange(preset: Preset, now: Date): Range {
  const back: Record<Exclude<Preset, "today">, number> = { "24h": DAY_MS, "7d": 7 * DAY_MS, "30d": 30 * DAY_MS, "90d": 90 * DAY_MS };
  const from = preset === "today" ? localMidnight(now) : new Date(now.getTime() - back[preset]);
  return { from, to: now };
}

/**
 * A custom range from two `<input type="date">` values (`2026-11-20`), both days included: from the
 * first day's local midnight to the midnight after the last day. Undefined when either is missing or
 * the order is wrong.
 */
export function customRange(fromDay: string, toDay: string): Range | undefined {
  const from = parseDay(fromDay);
  const last = parseDay(toDay);
  if (!from || !last || last < from) return undefined;
  return { from, to: new Date(last.getFullYear(), last.getMonth(), last.getDate() + 1) };
}

function parseDay(day: string): Date | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) return undefined;
  return new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
}

/** `2026-11-20` for a date input, in local time. */
export function dayInput(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/**
 * The name of an export of `range` (or of the whole history, `undefined`, on `today`): the local days it
 * covers, the last one included, e.g. `switchyard-usage-2026-11-20-to-2026-11-22.json`.
 */
export function exportFileName(range: Range | undefined, today: Date): string {
  if (!range) return `switchyard-usage-${dayInput(today)}.json`;
  const first = dayInput(range.from);
  // `to` is exclusive: a range that ends at midnight ends on the day before.
  const last = dayInput(new Date(Math.max(range.from.getTime(), range.to.getTime() - 1)));
  return first === last ? `switchyard-usage-${first}.json` : `switchyard-usage-${first}-to-${last}.json`;
}

/** The instant a series key (`2026-11-22` or `2026-11-22T14:00`, both UTC) starts at; invalid otherwise. */
export function bucketStart(key: string): Date {
  // Date.parse is lenient with odd text; only the two shapes the service writes are read.
  if (/^\d{4}-\d{2}-\d{2}$/.test(key)) return new Date(`${key}T00:00:00Z`);
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(key)) return new Date(`${key}:00Z`);
  return new Date(Number.NaN);
}

/**
 * A bucket's label in local time: "14:00" for hours, "Nov 22" for days. A day bucket is a UTC day, so it
 * is named by its UTC date: naming it by the local date would shift it a day west of Greenwich.
 */
export function bucketLabel(key: string, bucket: Bucket): string {
  const at = bucketStart(key);
  if (Number.isNaN(at.getTime())) return key;
  if (bucket === "hour") return at.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" });
  return at.toLocaleDateString("en-US", { month: "short", day: "numeric", timeZone: "UTC" });
}

/** An event's time in local time: "Nov 22, 14:03:07". */
export function eventTime(iso: string): string {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso;
  const day = at.toLocaleDateString("en-US", { month: "short", day: "numeric" });
  return `${day}, ${at.toLocaleTimeString("en-GB")}`;
}

/** "200", "429 rate_limited", "502 upstream": what a status column shows. */
export function statusText(e: Pick<UsageEvent, "status" | "error_class">): string {
  return e.error_class ? `${e.status} ${e.error_class}` : String(e.status);
}

export function isError(e: Pick<UsageEvent, "status" | "error_class">): boolean {
  return e.error_class !== null || e.status >= 400;
}

/** "claude-sonnet-4-5 → claude-sonnet-4-5-20250929" when the upstream used another name. */
export function modelText(e: Pick<UsageEvent, "model" | "upstream_model">): string {
  return e.upstream_model && e.upstream_model !== e.model ? `${e.model} → ${e.upstream_model}` : e.model;
}

/** A body for reading: JSON indented when it parses, anything else as it came. */
export function prettyBody(body: string): string {
  const trimmed = body.trim();
  if (!trimmed.startsWith("{") && !trimmed.startsWith("[")) return body;
  try {
    return JSON.stringify(JSON.parse(trimmed), null, 2);
  } catch {
    return body;
  }
}
