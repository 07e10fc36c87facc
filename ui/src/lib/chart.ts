// Chart geometry as plain data: the Svelte chart components only draw what these functions return, so
// the arithmetic (scales, stacking, empty buckets) is tested without a DOM.

/** A value axis from 0 to `max`, with round tick values. */
export interface Scale {
  max: number;
  ticks: number[];
}

/**
 * 0 to a round number at or above `max` (1, 2 or 5 times a power of ten per step), with about `count`
 * steps. An all-zero chart still gets an axis, 0 to 1, so its bars have height 0 rather than NaN.
 */
export function niceScale(max: number, count = 4): Scale {
  if (!(max > 0) || !Number.isFinite(max)) return { max: 1, ticks: [0, 1] };
  const raw = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / magnitude;
  // Counts are whole numbers: a step below 1 would label the axis 0.25 requests.
  const step = Math.max(1, (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * magnitude);
  const top = Math.ceil(max / step) * step;
  const ticks: number[] = [];
  for (let t = 0; t <= top + step / 2; t += step) ticks.push(t);
  return { max: top, ticks };
}

/** One stacked part of a column: `kind` names its colour (and its legend entry). */
export interface Part {
  kind: string;
  value: number;
}

export interface ColumnInput {
  key: string;
  label: string;
  parts: Part[];
}

export interface Segment extends Part {
  y: number;
  height: number;
}

export interface Column {
  key: string;
  label: string;
  total: number;
  x: number;
  width: number;
  /** Bottom first, as stacked. */
  segments: Segment[];
}

export interface ColumnLayout {
  scale: Scale;
  columns: Column[];
  /** Indices of the columns whose label is shown: a label every so many columns, so they never overlap. */
  labelled: Set<number>;
}

/**
 * Lays out stacked columns in a `width` × `height` plot (SVG coordinates, y down). Every input becomes a
 * column, empty ones included, so the time axis keeps its spacing; a zero part gets height 0.
 */
export function layoutColumns(inputs: ColumnInput[], width: number, height: number, maxLabels = 8): ColumnLayout {
  const totals = inputs.map((c) => c.parts.reduce((sum, p) => sum + Math.max(0, p.value), 0));
  const scale = niceScale(Math.max(0, ...totals));
  const band = inputs.length ? width / inputs.length : width;
  // A gap of 30% of the band between columns, but never thinner than a pixel.
  const barWidth = Math.max(1, band * 0.7);
  const columns = inputs.map((c, i) => {
    let y = height;
    const segments = c.parts.map((p) => {
      const h = (Math.max(0, p.value) / scale.max) * height;
      y -= h;
      return { ...p, y, height: h };
    });
    return { key: c.key, label: c.label, total: totals[i] ?? 0, x: i * band + (band - barWidth) / 2, width: barWidth, segments };
  });
  const every = Math.max(1, Math.ceil(inputs.length / maxLabels));
  const labelled = new Set<number>();
  for (let i = 0; i < inputs.length; i += every) labelled.add(i);
  return { scale, columns, labelled };
}

export interface Row {
  key: string;
  value: number;
  /** 0–100: the bar's length relative to the largest row. */
  percent: number;
}

/** Horizontal bars: each row's share of the largest, largest first (the service already sorts so). */
export function rows<T extends { key: string }>(items: T[], value: (item: T) => number): Row[] {
  const max = Math.max(0, ...items.map(value));
  return items.map((item) => {
    const v = value(item);
    return { key: item.key, value: v, percent: max > 0 ? (Math.max(0, v) / max) * 100 : 0 };
  });
}
