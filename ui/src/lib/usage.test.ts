import { beforeAll, describe, expect, it } from "vitest";
import {
  bucketLabel,
  compact,
  customRange,
  dayInput,
  duration,
  exportFileName,
  eventTime,
  isError,
  localMidnight,
  modelText,
  prettyBody,
  presetRange,
  statusText,
} from "./usage.ts";

beforeAll(() => {
  // A zone west of Greenwich with daylight saving: where local and UTC days differ.
  process.env.TZ = "America/New_York";
});

describe("compact token counts", () => {
  it("writes 12.3k, 1.2M and 3.4B", () => {
    expect(compact(0)).toBe("0");
    expect(compact(950)).toBe("950");
    expect(compact(1000)).toBe("1k");
    expect(compact(12_345)).toBe("12.3k");
    expect(compact(123_456)).toBe("123k");
    expect(compact(1_234_567)).toBe("1.2M");
    expect(compact(3_400_000_000)).toBe("3.4B");
  });

  it("rounds up into the next unit instead of writing 1000k", () => {
    expect(compact(999_960)).toBe("1M");
    expect(compact(999_499)).toBe("999k");
  });
});

describe("durations", () => {
  it("reads as ms, seconds, minutes", () => {
    expect(duration(0)).toBe("0 ms");
    expect(duration(850)).toBe("850 ms");
    expect(duration(1234)).toBe("1.2 s");
    expect(duration(12_400)).toBe("12 s");
    expect(duration(125_000)).toBe("2m 5s");
    expect(duration(120_000)).toBe("2m");
    expect(duration(null)).toBe("–");
  });
});

describe("ranges", () => {
  const now = new Date("2026-11-22T15:30:00Z"); // 10:30 in New York

  it("starts Today at local midnight, the others that long before now", () => {
    expect(localMidnight(now).toISOString()).toBe("2026-11-22T05:00:00.000Z");
    expect(presetRange("today", now)).toEqual({ from: new Date("2026-11-22T05:00:00Z"), to: now });
    expect(presetRange("24h", now).from.toISOString()).toBe("2026-11-21T15:30:00.000Z");
    expect(presetRange("7d", now).from.toISOString()).toBe("2026-11-15T15:30:00.000Z");
    expect(presetRange("90d", now).from.toISOString()).toBe("2026-08-24T15:30:00.000Z");
  });

  it("takes a custom range's days whole, the last one included", () => {
    expect(customRange("2026-11-20", "2026-11-21")).toEqual({
      from: new Date("2026-11-20T05:00:00Z"),
      to: new Date("2026-11-22T05:00:00Z"),
    });
    expect(customRange("2026-11-21", "2026-11-20")).toBeUndefined();
    expect(customRange("", "2026-11-20")).toBeUndefined();
    expect(dayInput(new Date("2026-11-22T03:00:00Z"))).toBe("2026-11-21");
  });

  it("names an export after the local days it covers", () => {
    expect(exportFileName(customRange("2026-11-20", "2026-11-21"), now)).toBe("switchyard-usage-2026-11-20-to-2026-11-21.json");
    expect(exportFileName(customRange("2026-11-21", "2026-11-21"), now)).toBe("switchyard-usage-2026-11-21.json");
    expect(exportFileName(presetRange("today", now), now)).toBe("switchyard-usage-2026-11-22.json");
    expect(exportFileName(presetRange("7d", now), now)).toBe("switchyard-usage-2026-11-15-to-2026-11-22.json");
    expect(exportFileName(undefined, now)).toBe("switchyard-usage-2026-11-22.json");
  });
});

describe("labels", () => {
  it("names hour buckets in local time and day buckets by their UTC date", () => {
    expect(bucketLabel("2026-11-22T14:00", "hour")).toBe("09:00");
    expect(bucketLabel("2026-11-22", "day")).toBe("Nov 22");
    expect(bucketLabel("garbage", "day")).toBe("garbage");
  });

  it("shows an event's time locally", () => {
    expect(eventTime("2026-11-22T14:03:07Z")).toBe("Nov 22, 09:03:07");
  });

  it("shows the status with its error class, and the upstream model when it differs", () => {
    expect(statusText({ status: 200, error_class: null })).toBe("200");
    expect(statusText({ status: 429, error_class: "rate_limited" })).toBe("429 rate_limited");
    expect(isError({ status: 200, error_class: null })).toBe(false);
    expect(isError({ status: 500, error_class: null })).toBe(true);
    expect(isError({ status: 200, error_class: "stream_cut" })).toBe(true);
    expect(modelText({ model: "sonnet", upstream_model: "claude-sonnet-4-5" })).toBe("sonnet → claude-sonnet-4-5");
    expect(modelText({ model: "gpt-5", upstream_model: "gpt-5" })).toBe("gpt-5");
    expect(modelText({ model: "gpt-5", upstream_model: null })).toBe("gpt-5");
  });
});

describe("bodies", () => {
  it("indents JSON and leaves anything else alone", () => {
    expect(prettyBody('{"a":[1,2]}')).toBe('{\n  "a": [\n    1,\n    2\n  ]\n}');
    expect(prettyBody("data: {\"x\":1}\n\n")).toBe("data: {\"x\":1}\n\n");
    expect(prettyBody("{not json")).toBe("{not json");
    expect(prettyBody("")).toBe("");
  });
});
