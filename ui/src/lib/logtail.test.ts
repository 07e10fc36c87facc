import { describe, expect, it, vi } from "vitest";
import type { Api } from "../api/client.ts";
import type { LogLevel, LogLine } from "../api/types.ts";
import { KEEP, LogTail, PAGE } from "./logtail.ts";

/** A proxy holding lines 1..total; `logs` answers like the service (after, limit), ignoring the level. */
function proxy(total: number) {
  const state = { total };
  const line = (seq: number): LogLine => ({ seq, time: "2026-11-22T10:00:00Z", level: "INFO", target: "t", message: `line ${seq}` });
  const logs = vi.fn(async (after: number, _level: LogLevel, limit: number) => {
    const out: LogLine[] = [];
    for (let s = after + 1; s <= state.total && out.length < limit; s++) out.push(line(s));
    return out;
  });
  return { state, logs, api: { logs } as unknown as Api };
}

describe("log tail", () => {
  it("asks for what came after the last line seen and shows each line once", async () => {
    const p = proxy(3);
    const tail = new LogTail(p.api);
    expect(await tail.fetch()).toBe(3);
    p.state.total = 5;
    expect(await tail.fetch()).toBe(2);
    expect(await tail.fetch()).toBe(0);
    expect(tail.lines.map((l) => l.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(p.logs.mock.calls.map((c) => c[0])).toEqual([0, 3, 5]);
  });

  it("catches up a burst page by page in one fetch", async () => {
    const p = proxy(PAGE * 2 + 10);
    const tail = new LogTail(p.api, "debug");
    expect(await tail.fetch()).toBe(PAGE * 2 + 10);
    expect(p.logs.mock.calls).toEqual([
      [0, "debug", PAGE],
      [PAGE, "debug", PAGE],
      [PAGE * 2, "debug", PAGE],
    ]);
  });

  it("keeps only the newest lines on screen", async () => {
    const p = proxy(KEEP + 50);
    const tail = new LogTail(p.api);
    await tail.fetch();
    expect(tail.lines).toHaveLength(KEEP);
    expect(tail.lines[0]?.seq).toBe(51);
  });

  it("clears the view without bringing old lines back", async () => {
    const p = proxy(4);
    const tail = new LogTail(p.api);
    await tail.fetch();
    tail.clear();
    p.state.total = 5;
    await tail.fetch();
    expect(tail.lines.map((l) => l.seq)).toEqual([5]);
  });

  it("starts over from the oldest line when the level changes", async () => {
    const p = proxy(4);
    const tail = new LogTail(p.api, "info");
    await tail.fetch();
    tail.setLevel("error");
    expect(tail.lines).toEqual([]);
    await tail.fetch();
    expect(p.logs.mock.calls.at(-1)).toEqual([0, "error", PAGE]);
  });

  it("drops a page that was asked for under the old level", async () => {
    const p = proxy(4);
    const tail = new LogTail(p.api, "info");
    const pending = tail.fetch();
    tail.setLevel("warn");
    expect(await pending).toBe(0);
    expect(tail.lines).toEqual([]);
  });
});
