import { describe, expect, it } from "vitest";
import { layoutColumns, niceScale, rows } from "./chart.ts";

describe("niceScale", () => {
  it("rounds the top up to 1, 2 or 5 times a power of ten per step", () => {
    expect(niceScale(7)).toEqual({ max: 8, ticks: [0, 2, 4, 6, 8] });
    expect(niceScale(100)).toEqual({ max: 100, ticks: [0, 50, 100] });
    expect(niceScale(12_345).max).toBe(15_000);
    expect(niceScale(12_345).ticks).toEqual([0, 5000, 10_000, 15_000]);
    expect(niceScale(1_234_567).max).toBe(1_500_000);
  });

  it("never steps by less than one (counts are whole)", () => {
    expect(niceScale(1)).toEqual({ max: 1, ticks: [0, 1] });
    expect(niceScale(3)).toEqual({ max: 3, ticks: [0, 1, 2, 3] });
  });

  it("gives an empty chart an axis instead of dividing by zero", () => {
    expect(niceScale(0)).toEqual({ max: 1, ticks: [0, 1] });
    expect(niceScale(Number.NaN)).toEqual({ max: 1, ticks: [0, 1] });
  });
});

describe("layoutColumns", () => {
  const input = (key: string, inp: number, out: number) => ({
    key,
    label: key,
    parts: [
      { kind: "input", value: inp },
      { kind: "output", value: out },
    ],
  });

  it("stacks the parts bottom up, scaled to the axis", () => {
    const { scale, columns } = layoutColumns([input("a", 30, 10), input("b", 0, 0), input("c", 60, 20)], 300, 100);
    expect(scale.max).toBe(80);
    const [a, b, c] = columns;
    // 30 of 80 is 37.5 px from the bottom, then 10 more on top of it.
    expect(a?.segments).toEqual([
      { kind: "input", value: 30, y: 62.5, height: 37.5 },
      { kind: "output", value: 10, y: 50, height: 12.5 },
    ]);
    expect(a?.total).toBe(40);
    // The tallest column fills the plot.
    expect(c?.segments[1]?.y).toBeCloseTo(0);
    // A zero-filled bucket keeps its place, with bars of no height.
    expect(b?.segments.map((s) => s.height)).toEqual([0, 0]);
    expect(b?.total).toBe(0);
  });

  it("spaces columns evenly across the width with a gap between them", () => {
    const { columns } = layoutColumns([input("a", 1, 0), input("b", 1, 0), input("c", 1, 0), input("d", 1, 0)], 400, 100);
    expect(columns.map((c) => c.x)).toEqual([15, 115, 215, 315]);
    expect(columns.every((c) => c.width === 70)).toBe(true);
  });

  it("keeps columns at least a pixel wide however many buckets there are", () => {
    const many = Array.from({ length: 2000 }, (_, i) => input(String(i), i, 0));
    expect(layoutColumns(many, 600, 100).columns.every((c) => c.width >= 1)).toBe(true);
  });

  it("labels only every so many columns", () => {
    const days = Array.from({ length: 30 }, (_, i) => input(String(i), 1, 1));
    expect([...layoutColumns(days, 600, 100, 8).labelled]).toEqual([0, 4, 8, 12, 16, 20, 24, 28]);
    expect([...layoutColumns(days.slice(0, 5), 600, 100, 8).labelled]).toEqual([0, 1, 2, 3, 4]);
  });

  it("lays out an all-zero range without NaN", () => {
    const { columns, scale } = layoutColumns([input("a", 0, 0), input("b", 0, 0)], 100, 50);
    expect(scale.max).toBe(1);
    for (const s of columns.flatMap((c) => c.segments)) {
      expect(s).toMatchObject({ y: 50, height: 0 });
    }
  });
});

describe("rows", () => {
  it("measures each row against the largest", () => {
    const r = rows(
      [
        { key: "claude-sonnet-4-5", t: 400 },
        { key: "gpt-5", t: 100 },
        { key: "idle", t: 0 },
      ],
      (x) => x.t,
    );
    expect(r).toEqual([
      { key: "claude-sonnet-4-5", value: 400, percent: 100 },
      { key: "gpt-5", value: 100, percent: 25 },
      { key: "idle", value: 0, percent: 0 },
    ]);
    expect(rows([{ key: "a", t: 0 }], (x) => x.t)[0]?.percent).toBe(0);
    expect(rows([], () => 1)).toEqual([]);
  });
});
