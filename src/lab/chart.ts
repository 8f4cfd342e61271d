/**
 * Charts for the labs: pure vega-lite 5 specs with a text summary.
 *
 * A `Chart` is data, not a picture: `{ kind: 'chart', spec, summary }`, where `spec` is a
 * complete vega-lite 5 `TopLevelSpec` with the data inline and `summary` is a short
 * plain-text description (what `text/plain` shows, and what tests and terminals read).
 * Building a chart never renders anything; `show(chart)` (display.ts) renders it.
 *
 * The builders take an array of records (one object per point, bar or interval) and the
 * names of the fields to plot:
 *
 * | builder          | mark                   | one row is                           |
 * | ---------------- | ---------------------- | ------------------------------------ |
 * | `lineChart`      | line (+ points ≤ 60)   | a sample (x, y[, series])            |
 * | `stepChart`      | line, step-after       | a value that holds until the next x  |
 * | `areaChart`      | area (stacked)         | a sample (x, y[, series])            |
 * | `barChart`       | bar                    | a category and its value             |
 * | `scatterChart`   | point                  | a point (x, y[, series][, size])     |
 * | `swimlaneChart`  | bar with x..x2         | an interval on a lane (Gantt-like)   |
 * | `heatmapChart`   | rect                   | a cell (x, y, value)                 |
 *
 * ```ts
 * import { lineChart, show } from 'xen-netlab';
 * const rows = [{ t_us: 0, slots: 3, ring: 'tx' }, { t_us: 10, slots: 7, ring: 'tx' }];
 * show(lineChart(rows, { x: 't_us', y: 'slots', series: 'ring', title: 'Ring occupancy' }));
 * ```
 *
 * Only fields named in the options are copied into the spec (so notebooks stay small);
 * bigint values become numbers and non-finite numbers become null. Keep a chart under a few
 * thousand rows: the whole data set is stored in the notebook. For anything the builders do
 * not cover, write the vega-lite spec yourself and wrap it with `chart(spec, summary)`.
 */
import type { TopLevelSpec } from 'vega-lite';

/**
 * One record: field name → value. Numbers, bigints, strings, booleans and null are plotted.
 * Builders accept any object type (interfaces included); this is how they read it.
 */
export type Row = Record<string, unknown>;

/** The vega-lite data type of an encoded field. */
export type FieldType = 'quantitative' | 'ordinal' | 'nominal' | 'temporal';

/** A chart ready for `show()`: a vega-lite 5 spec plus a plain-text summary. */
export interface Chart {
  readonly kind: 'chart';
  /** Complete vega-lite 5 spec with inline data; JSON-serialisable. */
  readonly spec: TopLevelSpec;
  /** Plain-text summary, e.g. `line chart "Ring occupancy": 40 rows; x t_us 0…390; y slots 0…12; series ring (tx, rx)`. */
  readonly summary: string;
}

/** Options shared by every builder. */
export interface ChartOptions {
  /** Title above the chart. */
  title?: string;
  /** Plot width in pixels; default 480. Range 40-4000. */
  width?: number;
  /** Plot height in pixels; default 240 (swimlane: 22 per lane). Range 40-4000. */
  height?: number;
  /** Axis title for x; default the field name. */
  xTitle?: string;
  /** Axis title for y; default the field name. */
  yTitle?: string;
  /** Add a tooltip with every plotted field (interactive frontends only); default true. */
  tooltip?: boolean;
}

/** Options of `lineChart`, `stepChart`, `areaChart` and `scatterChart`. */
export interface XYOptions<R extends object> extends ChartOptions {
  /** Field on the x axis (usually time). */
  x: keyof R & string;
  /** Field on the y axis. */
  y: keyof R & string;
  /** Field that splits rows into coloured series (one line per value). */
  series?: keyof R & string;
  /** Data type of x; default quantitative when the values are numbers, else ordinal. */
  xType?: FieldType;
  /** Data type of y; default quantitative when the values are numbers, else nominal. */
  yType?: FieldType;
  /** Start the y scale at zero; default true for area, false otherwise. */
  yZero?: boolean;
  /** Log scale on y (values must be > 0); default false. */
  yLog?: boolean;
}

/** Options of `barChart`. */
export interface BarOptions<R extends object> extends ChartOptions {
  /** Category field (one bar, or one group of bars, per value). */
  x: keyof R & string;
  /** Value field (bar length). */
  y: keyof R & string;
  /** Field that colours bars; with `stack: false` bars of a category sit side by side. */
  series?: keyof R & string;
  /** Stack series on top of each other (default true) or group them side by side. */
  stack?: boolean;
  /** Horizontal bars (categories on the y axis); default false. */
  horizontal?: boolean;
  /** Keep categories in row order (default) or sort them by value (`'value'`). */
  sort?: 'data' | 'value';
}

/** Options of `scatterChart`. */
export interface ScatterOptions<R extends object> extends XYOptions<R> {
  /** Field mapped to point size. */
  size?: keyof R & string;
}

/** Options of `swimlaneChart`: each row is an interval `[start, end)` on one lane. */
export interface SwimlaneOptions<R extends object> extends ChartOptions {
  /** Lane field (one horizontal lane per value, in order of first appearance). */
  lane: keyof R & string;
  /** Interval start (number, e.g. virtual time in µs). */
  start: keyof R & string;
  /** Interval end (number, ≥ start). */
  end: keyof R & string;
  /** Field that colours intervals (e.g. the kind of work); default the lane. */
  color?: keyof R & string;
  /** Field written inside each interval when it is wide enough. */
  label?: keyof R & string;
}

/** Options of `heatmapChart`: each row is one cell. */
export interface HeatmapOptions<R extends object> extends ChartOptions {
  /** Column field (treated as ordinal). */
  x: keyof R & string;
  /** Row field (treated as ordinal). */
  y: keyof R & string;
  /** Cell value field (quantitative, coloured). */
  value: keyof R & string;
  /** Vega colour scheme name; default 'blues'. */
  scheme?: string;
}

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';
const DEFAULT_WIDTH = 480;
const DEFAULT_HEIGHT = 240;
/** Lines with at most this many points per series also draw the points. */
const LINE_POINTS_MAX = 60;

// ---------------------------------------------------------------------------------------------
// Validation and data preparation
// ---------------------------------------------------------------------------------------------

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (value === null) return 'null';
  return typeof value === 'object' ? 'an object' : String(value);
}

function checkRows(fn: string, rows: unknown): asserts rows is readonly Row[] {
  if (!Array.isArray(rows)) throw new Error(`${fn}(rows): rows must be an array of records, got ${describe(rows)}`);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    if (r === null || typeof r !== 'object' || Array.isArray(r)) {
      throw new Error(`${fn}(rows): rows[${i}] must be a record (plain object), got ${describe(r)}`);
    }
  }
}

function checkField(fn: string, option: string, field: unknown, rows: readonly Row[], required: boolean): void {
  if (field === undefined && !required) return;
  if (typeof field !== 'string' || field.length === 0) {
    throw new Error(`${fn}(options.${option}): must be a field name (non-empty string), got ${describe(field)}`);
  }
  if (rows.length > 0 && !rows.some((r) => field in r)) {
    const known = Object.keys(rows[0]).join(', ');
    throw new Error(`${fn}(options.${option}): field ${JSON.stringify(field)} is in no row; fields of rows[0]: ${known || '(none)'}`);
  }
}

function checkSize(fn: string, option: 'width' | 'height', v: unknown): void {
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 40 || v > 4000) {
    throw new Error(`${fn}(options.${option}): ${describe(v)} is not allowed; use a number of pixels from 40 to 4000`);
  }
}

function checkCommon(fn: string, opts: ChartOptions | undefined): void {
  if (opts === null || typeof opts !== 'object') throw new Error(`${fn}(options): options must be an object, got ${describe(opts)}`);
  checkSize(fn, 'width', opts.width);
  checkSize(fn, 'height', opts.height);
  if (opts.title !== undefined && typeof opts.title !== 'string') {
    throw new Error(`${fn}(options.title): must be a string, got ${describe(opts.title)}`);
  }
}

/** A JSON-safe copy of one value: bigint → number, non-finite → null, objects → string. */
function plain(v: unknown): string | number | boolean | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  return String(v);
}

/**
 * Field names vega uses for its own generated fields: a data field of that name is overwritten
 * (a line chart whose series field is `count` loses a series). Such fields are stored under
 * `_<name>` in the spec's data; titles and tooltips keep the caller's name.
 */
const VEGA_RESERVED = new Set(['count']);

function dataKey(name: string): string {
  return VEGA_RESERVED.has(name) ? `_${name}` : name;
}

/** Copies only the plotted fields of every row, JSON-safe. */
function pick(rows: readonly Row[], fields: (string | undefined)[]): Record<string, string | number | boolean | null>[] {
  const used = [...new Set(fields.filter((f): f is string => f !== undefined))];
  return rows.map((r) => {
    const o: Record<string, string | number | boolean | null> = {};
    for (const f of used) o[dataKey(f)] = plain(r[f]);
    return o;
  });
}

/** vega-lite reads `.` and `[]` in field names as nested access; escape them. */
function fieldRef(name: string): string {
  return dataKey(name).replace(/([.[\]\\])/g, '\\$1');
}

function isNumeric(rows: readonly Row[], field: string): boolean {
  for (const r of rows) {
    const v = r[field];
    if (v === null || v === undefined) continue;
    return typeof v === 'number' || typeof v === 'bigint';
  }
  return true;
}

function inferType(rows: readonly Row[], field: string, otherwise: FieldType): FieldType {
  return isNumeric(rows, field) ? 'quantitative' : otherwise;
}

// ---------------------------------------------------------------------------------------------
// Summaries
// ---------------------------------------------------------------------------------------------

function fmt(n: number): string {
  if (Number.isInteger(n)) return String(n);
  const a = Math.abs(n);
  return a >= 1000 || a < 0.001 ? n.toPrecision(4) : String(Number(n.toPrecision(4)));
}

/** "x t_us 0…390" for numbers, "x ring (tx, rx)" for categories (first 6 values). */
function fieldSummary(role: string, rows: readonly Row[], field: string | undefined): string {
  if (field === undefined) return '';
  const values = rows.map((r) => plain(r[field])).filter((v) => v !== null);
  if (values.length === 0) return `${role} ${field} (no values)`;
  if (values.every((v) => typeof v === 'number')) {
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of values as number[]) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    return `${role} ${field} ${fmt(lo)}…${fmt(hi)}`;
  }
  const distinct = [...new Set(values.map(String))];
  const shown = distinct.slice(0, 6).join(', ');
  return `${role} ${field} (${shown}${distinct.length > 6 ? `, … ${distinct.length} values` : ''})`;
}

function summarize(kind: string, title: string | undefined, rows: readonly Row[], parts: string[]): string {
  const head = `${kind}${title ? ` ${JSON.stringify(title)}` : ''}: ${rows.length} row${rows.length === 1 ? '' : 's'}`;
  return [head, ...parts.filter((p) => p !== '')].join('; ');
}

// ---------------------------------------------------------------------------------------------
// Spec assembly
// ---------------------------------------------------------------------------------------------

type Encoding = Record<string, unknown>;

function makeChart(spec: Record<string, unknown>, summary: string): Chart {
  return withInspect({ kind: 'chart', spec: spec as unknown as TopLevelSpec, summary });
}

/**
 * Gives a chart a non-enumerable `util.inspect` hook so that a chart left as a cell's last
 * expression prints its summary instead of a page of JSON.
 */
function withInspect(c: Chart): Chart {
  Object.defineProperty(c, Symbol.for('nodejs.util.inspect.custom'), {
    value: () => `<Chart ${c.summary}>`,
    enumerable: false,
  });
  return c;
}

function base(opts: ChartOptions, values: unknown[], height?: number): Record<string, unknown> {
  const spec: Record<string, unknown> = { $schema: SCHEMA };
  if (opts.title) spec.title = opts.title;
  spec.width = opts.width ?? DEFAULT_WIDTH;
  spec.height = opts.height ?? height ?? DEFAULT_HEIGHT;
  spec.data = { values };
  return spec;
}

function channel(field: string, type: FieldType, title: string | undefined, extra: Record<string, unknown> = {}): Encoding {
  return { field: fieldRef(field), type, title: title ?? field, ...extra };
}

function tooltip(opts: ChartOptions, fields: [string | undefined, FieldType][]): Encoding | undefined {
  if (opts.tooltip === false) return undefined;
  const t = fields.filter(([f]) => f !== undefined).map(([f, type]) => ({ field: fieldRef(f as string), type, title: f }));
  return t.length > 0 ? { tooltip: t } : undefined;
}

function seriesLengths(rows: readonly Row[], series: string | undefined): number {
  if (series === undefined) return rows.length;
  const counts = new Map<unknown, number>();
  let max = 0;
  for (const r of rows) {
    const n = (counts.get(r[series]) ?? 0) + 1;
    counts.set(r[series], n);
    if (n > max) max = n;
  }
  return max;
}

function xyChart<R extends object>(
  fn: string,
  kind: string,
  input: readonly R[],
  opts: XYOptions<R>,
  mark: Record<string, unknown>,
  extra: { size?: string; stackY?: boolean; zeroDefault: boolean },
): Chart {
  const rows = input as unknown as readonly Row[];
  checkRows(fn, rows);
  checkCommon(fn, opts);
  checkField(fn, 'x', opts.x, rows, true);
  checkField(fn, 'y', opts.y, rows, true);
  checkField(fn, 'series', opts.series, rows, false);
  if (extra.size !== undefined) checkField(fn, 'size', extra.size, rows, false);
  if (opts.yLog && opts.yZero) throw new Error(`${fn}(options.yLog): a log scale cannot start at zero; drop yZero`);
  const xType = opts.xType ?? inferType(rows, opts.x, 'ordinal');
  const yType = opts.yType ?? inferType(rows, opts.y, 'nominal');
  // vega-lite drops (and warns about) `zero` on a log scale, so a log scale carries only its type.
  const scale: Record<string, unknown> = opts.yLog ? { type: 'log' } : { zero: opts.yZero ?? extra.zeroDefault };
  const encoding: Encoding = {
    x: channel(opts.x, xType, opts.xTitle),
    y: channel(opts.y, yType, opts.yTitle, yType === 'quantitative' ? { scale, ...(extra.stackY === false ? { stack: null } : {}) } : {}),
  };
  if (opts.series !== undefined) encoding.color = channel(opts.series, 'nominal', undefined, { sort: null });
  if (extra.size !== undefined) encoding.size = channel(extra.size, 'quantitative', undefined);
  Object.assign(
    encoding,
    tooltip(opts, [
      [opts.x, xType],
      [opts.y, yType],
      [opts.series, 'nominal'],
      [extra.size, 'quantitative'],
    ]),
  );
  const spec = base(opts, pick(rows, [opts.x, opts.y, opts.series, extra.size]));
  spec.mark = mark;
  spec.encoding = encoding;
  return makeChart(
    spec,
    summarize(kind, opts.title, rows, [
      fieldSummary('x', rows, opts.x),
      fieldSummary('y', rows, opts.y),
      fieldSummary('series', rows, opts.series),
      fieldSummary('size', rows, extra.size),
    ]),
  );
}

// ---------------------------------------------------------------------------------------------
// Builders
// ---------------------------------------------------------------------------------------------

/**
 * Line chart of y against x, one line per `series` value. Rows are connected in x order;
 * series with at most 60 points also draw their points.
 * @example lineChart(samples, { x: 't_us', y: 'queued', series: 'queue', title: 'Backlog' })
 */
export function lineChart<R extends object>(input: readonly R[], options: XYOptions<R>): Chart {
  const rows = input as unknown as readonly Row[];
  checkRows('lineChart', rows);
  const points = seriesLengths(rows, options?.series) <= LINE_POINTS_MAX;
  return xyChart('lineChart', 'line chart', input, options, { type: 'line', point: points }, { zeroDefault: false, stackY: false });
}

/**
 * Step chart: each value holds until the next x (`interpolate: 'step-after'`) — the right
 * picture for counters and ring indices that change at discrete events.
 * @example stepChart(ringTrace, { x: 't_ns', y: 'req_prod', series: 'ring' })
 */
export function stepChart<R extends object>(input: readonly R[], options: XYOptions<R>): Chart {
  return xyChart('stepChart', 'step chart', input, options, { type: 'line', interpolate: 'step-after' }, { zeroDefault: false, stackY: false });
}

/**
 * Stacked area chart: with `series`, areas stack so the top edge is the total
 * (e.g. bytes per queue over time).
 * @example areaChart(perQueue, { x: 't_us', y: 'bytes', series: 'queue' })
 */
export function areaChart<R extends object>(input: readonly R[], options: XYOptions<R>): Chart {
  return xyChart('areaChart', 'area chart', input, options, { type: 'area', opacity: 0.85 }, { zeroDefault: true });
}

/**
 * Scatter plot; `size` maps a third field to point size.
 * @example scatterChart(packets, { x: 'bytes', y: 'latency_us', series: 'path' })
 */
export function scatterChart<R extends object>(input: readonly R[], options: ScatterOptions<R>): Chart {
  return xyChart('scatterChart', 'scatter chart', input, options, { type: 'point', filled: true }, { zeroDefault: false, size: options?.size });
}

/**
 * Bar chart: one bar per category `x` with length `y`. With `series`, bars are stacked
 * (default) or grouped side by side (`stack: false`). Categories keep row order unless
 * `sort: 'value'`.
 * @example barChart(drops, { x: 'reason', y: 'count', horizontal: true, sort: 'value' })
 */
export function barChart<R extends object>(input: readonly R[], options: BarOptions<R>): Chart {
  const rows = input as unknown as readonly Row[];
  const fn = 'barChart';
  checkRows(fn, rows);
  checkCommon(fn, options);
  checkField(fn, 'x', options.x, rows, true);
  checkField(fn, 'y', options.y, rows, true);
  checkField(fn, 'series', options.series, rows, false);
  if (options.sort !== undefined && options.sort !== 'data' && options.sort !== 'value') {
    throw new Error(`${fn}(options.sort): ${describe(options.sort)} is not allowed; use 'data' or 'value'`);
  }
  const catAxis = options.horizontal ? 'y' : 'x';
  const valAxis = options.horizontal ? 'x' : 'y';
  const sort = options.sort === 'value' ? `-${valAxis}` : null;
  const encoding: Encoding = {
    [catAxis]: channel(options.x, 'ordinal', options.horizontal ? options.yTitle : options.xTitle, {
      sort,
      // Upright category labels while they fit (vega-lite turns them 90° by default).
      ...(!options.horizontal && new Set(rows.map((r) => plain(r[options.x]))).size <= 12 ? { axis: { labelAngle: 0 } } : {}),
    }),
    [valAxis]: channel(options.y, 'quantitative', options.horizontal ? options.xTitle : options.yTitle, options.stack === false ? { stack: null } : {}),
  };
  if (options.series !== undefined) {
    encoding.color = channel(options.series, 'nominal', undefined, { sort: null });
    if (options.stack === false) encoding[options.horizontal ? 'yOffset' : 'xOffset'] = { field: fieldRef(options.series), sort: null };
  }
  Object.assign(
    encoding,
    tooltip(options, [
      [options.x, 'ordinal'],
      [options.y, 'quantitative'],
      [options.series, 'nominal'],
    ]),
  );
  const spec = base(options, pick(rows, [options.x, options.y, options.series]));
  spec.mark = { type: 'bar' };
  spec.encoding = encoding;
  return makeChart(
    spec,
    summarize('bar chart', options.title, rows, [
      fieldSummary('category', rows, options.x),
      fieldSummary('value', rows, options.y),
      fieldSummary('series', rows, options.series),
    ]),
  );
}

/**
 * Swimlane (Gantt-like) chart: each row is an interval `[start, end)` drawn as a bar on its
 * lane — e.g. what netfront, netback and the NIC were busy with over virtual time. Lanes keep
 * the order in which they first appear; `color` defaults to the lane; `label` writes a field
 * inside the bars.
 * @example swimlaneChart(spans, { lane: 'actor', start: 't0_us', end: 't1_us', color: 'work', label: 'work' })
 */
export function swimlaneChart<R extends object>(input: readonly R[], options: SwimlaneOptions<R>): Chart {
  const rows = input as unknown as readonly Row[];
  const fn = 'swimlaneChart';
  checkRows(fn, rows);
  checkCommon(fn, options);
  checkField(fn, 'lane', options.lane, rows, true);
  checkField(fn, 'start', options.start, rows, true);
  checkField(fn, 'end', options.end, rows, true);
  checkField(fn, 'color', options.color, rows, false);
  checkField(fn, 'label', options.label, rows, false);
  for (let i = 0; i < rows.length; i++) {
    const s = plain(rows[i][options.start]);
    const e = plain(rows[i][options.end]);
    if (typeof s !== 'number' || typeof e !== 'number' || e < s) {
      throw new Error(
        `${fn}(rows): rows[${i}] must have numbers ${options.start} ≤ ${options.end}, got ${describe(rows[i][options.start])} and ${describe(rows[i][options.end])}`,
      );
    }
  }
  const lanes = [...new Set(rows.map((r) => String(plain(r[options.lane]))))];
  const colorField = options.color ?? options.lane;
  const encoding: Encoding = {
    y: channel(options.lane, 'nominal', options.yTitle ?? '', { sort: lanes }),
    x: channel(options.start, 'quantitative', options.xTitle ?? 'time', { scale: { zero: false } }),
    x2: { field: fieldRef(options.end) },
    color: channel(colorField, 'nominal', undefined, { sort: null }),
  };
  Object.assign(
    encoding,
    tooltip(options, [
      [options.lane, 'nominal'],
      [options.start, 'quantitative'],
      [options.end, 'quantitative'],
      [options.color, 'nominal'],
      [options.label, 'nominal'],
    ]),
  );
  const spec = base(options, pick(rows, [options.lane, options.start, options.end, options.color, options.label]), Math.max(40, 22 * lanes.length));
  const bar = { mark: { type: 'bar', cornerRadius: 2 }, encoding };
  if (options.label === undefined) {
    Object.assign(spec, bar);
  } else {
    spec.layer = [
      bar,
      {
        mark: { type: 'text', align: 'left', dx: 3, fontSize: 9, color: 'white', limit: 200 },
        encoding: {
          y: { field: fieldRef(options.lane), type: 'nominal', sort: lanes },
          x: { field: fieldRef(options.start), type: 'quantitative' },
          text: { field: fieldRef(options.label), type: 'nominal' },
        },
      },
    ];
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (const r of rows) {
    lo = Math.min(lo, plain(r[options.start]) as number);
    hi = Math.max(hi, plain(r[options.end]) as number);
  }
  const span = rows.length > 0 ? `time ${fmt(lo)}…${fmt(hi)}` : '';
  return makeChart(
    spec,
    summarize('swimlane chart', options.title, rows, [`lanes ${lanes.join(', ') || '(none)'}`, span, fieldSummary('color', rows, options.color)]),
  );
}

/**
 * Heatmap: a grid of cells coloured by `value` (e.g. ring slot × time → occupancy).
 * @example heatmapChart(cells, { x: 'slot', y: 'round', value: 'bytes', scheme: 'viridis' })
 */
export function heatmapChart<R extends object>(input: readonly R[], options: HeatmapOptions<R>): Chart {
  const rows = input as unknown as readonly Row[];
  const fn = 'heatmapChart';
  checkRows(fn, rows);
  checkCommon(fn, options);
  checkField(fn, 'x', options.x, rows, true);
  checkField(fn, 'y', options.y, rows, true);
  checkField(fn, 'value', options.value, rows, true);
  if (options.scheme !== undefined && (typeof options.scheme !== 'string' || !/^[a-z0-9-]+$/i.test(options.scheme))) {
    throw new Error(`${fn}(options.scheme): ${describe(options.scheme)} is not a vega colour scheme name (e.g. 'blues', 'viridis')`);
  }
  const encoding: Encoding = {
    x: channel(options.x, 'ordinal', options.xTitle, {
      sort: null,
      ...(new Set(rows.map((r) => plain(r[options.x]))).size <= 24 ? { axis: { labelAngle: 0 } } : {}),
    }),
    y: channel(options.y, 'ordinal', options.yTitle, { sort: null }),
    color: channel(options.value, 'quantitative', undefined, { scale: { scheme: options.scheme ?? 'blues' } }),
  };
  Object.assign(
    encoding,
    tooltip(options, [
      [options.x, 'ordinal'],
      [options.y, 'ordinal'],
      [options.value, 'quantitative'],
    ]),
  );
  const spec = base(options, pick(rows, [options.x, options.y, options.value]));
  spec.mark = { type: 'rect' };
  spec.encoding = encoding;
  return makeChart(
    spec,
    summarize('heatmap', options.title, rows, [
      fieldSummary('x', rows, options.x),
      fieldSummary('y', rows, options.y),
      fieldSummary('value', rows, options.value),
    ]),
  );
}

/**
 * Wraps a hand-written vega-lite 5 spec as a Chart. Data must be inline (`data.values`) for
 * the PNG to render. `summary` defaults to the spec's title and mark.
 */
export function chart(spec: TopLevelSpec, summary?: string): Chart {
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
    throw new Error(`chart(spec): spec must be a vega-lite 5 spec object, got ${describe(spec)}`);
  }
  if (summary !== undefined && typeof summary !== 'string') throw new Error(`chart(summary): must be a string, got ${describe(summary)}`);
  const s = spec as unknown as Record<string, unknown>;
  const schema = typeof s.$schema === 'string' ? s.$schema : undefined;
  if (schema !== undefined && !/vega-lite\/v5/.test(schema)) {
    throw new Error(`chart(spec.$schema): ${JSON.stringify(schema)} is not allowed; frontends render vega-lite v5 only, use ${JSON.stringify(SCHEMA)} or none`);
  }
  const title = typeof s.title === 'string' ? s.title : undefined;
  const mark = typeof s.mark === 'string' ? s.mark : s.mark && typeof s.mark === 'object' ? String((s.mark as { type?: unknown }).type) : 'layered';
  const copy = { $schema: SCHEMA, ...s } as unknown as TopLevelSpec;
  return makeChart(copy as unknown as Record<string, unknown>, summary ?? `${mark} chart${title ? ` ${JSON.stringify(title)}` : ''}`);
}

/** True when `x` is a Chart made by this module (or shaped like one). */
export function isChart(x: unknown): x is Chart {
  return x !== null && typeof x === 'object' && (x as { kind?: unknown }).kind === 'chart' && typeof (x as Chart).spec === 'object';
}
