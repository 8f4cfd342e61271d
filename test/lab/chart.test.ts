import { describe, expect, it } from 'vitest';
import * as vl from 'vega-lite';
import {
  areaChart,
  barChart,
  chart,
  heatmapChart,
  isChart,
  lineChart,
  scatterChart,
  stepChart,
  swimlaneChart,
  type Chart,
} from '../../src/lab/chart';
import { renderSvg } from '../../src/lab/render';

interface Sample {
  t: number;
  v: number;
  ring: string;
}
const samples: Sample[] = [0, 1, 2, 3, 4, 5].map((t) => ({ t, v: t * 2 + (t % 2), ring: t < 3 ? 'tx' : 'rx' }));

/** Every builder's output compiles with vega-lite 5 and renders to SVG with marks. */
function expectRenders(c: Chart): string {
  expect(() => vl.compile(c.spec)).not.toThrow();
  const svg = renderSvg(c.spec);
  expect(svg.startsWith('<svg')).toBe(true);
  expect(svg).toContain('class="mark-');
  return svg;
}

describe('chart builders', () => {
  it('lineChart() encodes x/y/series, draws points for short series and carries a summary', () => {
    const c = lineChart(samples, { x: 't', y: 'v', series: 'ring', title: 'Occupancy' });
    expect(isChart(c)).toBe(true);
    const s = c.spec as any;
    expect(s.$schema).toBe('https://vega.github.io/schema/vega-lite/v5.json');
    expect(s.mark).toEqual({ type: 'line', point: true });
    expect(s.encoding.x).toMatchObject({ field: 't', type: 'quantitative' });
    expect(s.encoding.y).toMatchObject({ field: 'v', type: 'quantitative' });
    expect(s.encoding.color).toMatchObject({ field: 'ring', type: 'nominal' });
    expect(s.data.values).toHaveLength(6);
    expect(c.summary).toBe('line chart "Occupancy": 6 rows; x t 0…5; y v 0…11; series ring (tx, rx)');
    expectRenders(c);
  });

  it('lineChart() with yLog gives a log scale that vega-lite accepts without a warning', () => {
    const c = lineChart(samples.map((r) => ({ ...r, v: r.v + 1 })), { x: 't', y: 'v', yLog: true });
    expect((c.spec as any).encoding.y.scale).toEqual({ type: 'log' });
    const written: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((chunk: string | Uint8Array) => (written.push(String(chunk)), true)) as typeof process.stderr.write;
    try {
      renderSvg(c.spec as any);
    } finally {
      process.stderr.write = write;
    }
    expect(written).toEqual([]);
  });

  it('lineChart() omits points when a series has more than 60 points', () => {
    const rows = Array.from({ length: 61 }, (_, t) => ({ t, v: t }));
    expect((lineChart(rows, { x: 't', y: 'v' }).spec as any).mark.point).toBe(false);
  });

  it('stepChart() interpolates step-after; areaChart() starts at zero; scatterChart() maps size', () => {
    const step = stepChart(samples, { x: 't', y: 'v' });
    expect((step.spec as any).mark.interpolate).toBe('step-after');
    const area = areaChart(samples, { x: 't', y: 'v', series: 'ring' });
    expect((area.spec as any).encoding.y.scale.zero).toBe(true);
    const sc = scatterChart(samples, { x: 't', y: 'v', size: 'v' });
    expect((sc.spec as any).encoding.size).toMatchObject({ field: 'v', type: 'quantitative' });
    for (const c of [step, area, sc]) expectRenders(c);
  });

  it('barChart() keeps row order, sorts by value on request, and groups with stack: false', () => {
    const rows = [
      { reason: 'ring full', count: 3 },
      { reason: 'bad gref', count: 9 },
    ];
    const c = barChart(rows, { x: 'reason', y: 'count' });
    expect((c.spec as any).encoding.x.sort).toBeNull();
    expect((barChart(rows, { x: 'reason', y: 'count', sort: 'value' }).spec as any).encoding.x.sort).toBe('-y');
    const h = barChart(rows, { x: 'reason', y: 'count', horizontal: true, sort: 'value' });
    expect((h.spec as any).encoding.y).toMatchObject({ field: 'reason', sort: '-x' });
    const grouped = barChart(
      [
        { q: 'a', n: 1, dir: 'tx' },
        { q: 'a', n: 2, dir: 'rx' },
      ],
      { x: 'q', y: 'n', series: 'dir', stack: false },
    );
    expect((grouped.spec as any).encoding.xOffset).toMatchObject({ field: 'dir' });
    expect(c.summary).toBe('bar chart: 2 rows; category reason (ring full, bad gref); value count 3…9');
    for (const x of [c, h, grouped]) expectRenders(x);
  });

  it('swimlaneChart() draws intervals on lanes in first-seen order, with labels as a text layer', () => {
    const spans = [
      { who: 'netfront', t0: 0, t1: 5, what: 'xmit' },
      { who: 'netback', t0: 5, t1: 12, what: 'copy' },
      { who: 'netfront', t0: 12, t1: 14, what: 'irq' },
    ];
    const c = swimlaneChart(spans, { lane: 'who', start: 't0', end: 't1', color: 'what', label: 'what' });
    const s = c.spec as any;
    expect(s.layer).toHaveLength(2);
    expect(s.layer[0].encoding.y.sort).toEqual(['netfront', 'netback']);
    expect(s.layer[0].encoding.x2).toEqual({ field: 't1' });
    expect(s.height).toBe(44);
    expect(c.summary).toBe('swimlane chart: 3 rows; lanes netfront, netback; time 0…14; color what (xmit, copy, irq)');
    const svg = expectRenders(c);
    expect(svg).toContain('copy');
  });

  it('swimlaneChart() rejects an interval that ends before it starts, naming the row', () => {
    expect(() => swimlaneChart([{ l: 'a', s: 5, e: 1 }], { lane: 'l', start: 's', end: 'e' })).toThrow(/rows\[0\] must have numbers s ≤ e, got 5 and 1/);
  });

  it('heatmapChart() colours cells by value with the requested scheme', () => {
    const cells = [0, 1, 2].flatMap((slot) => [0, 1].map((round) => ({ slot, round, bytes: slot * 100 + round })));
    const c = heatmapChart(cells, { x: 'slot', y: 'round', value: 'bytes', scheme: 'viridis' });
    expect((c.spec as any).encoding.color).toMatchObject({ field: 'bytes', scale: { scheme: 'viridis' } });
    expect((c.spec as any).mark).toEqual({ type: 'rect' });
    expectRenders(c);
  });

  it('builders copy only plotted fields, turn bigint into number and non-finite into null', () => {
    const c = lineChart([{ t: 1n, v: Infinity, junk: 'x' }, { t: 2n, v: 3, junk: 'y' }], { x: 't', y: 'v' });
    expect((c.spec as any).data.values).toEqual([
      { t: 1, v: null },
      { t: 2, v: 3 },
    ]);
    expect(() => JSON.stringify(c.spec)).not.toThrow();
  });

  it('builders escape dots and brackets in field names', () => {
    const c = lineChart([{ 'rx.bytes': 1, 'a[0]': 2 }], { x: 'rx.bytes', y: 'a[0]' });
    expect((c.spec as any).encoding.x.field).toBe('rx\\.bytes');
    expect((c.spec as any).encoding.y.field).toBe('a\\[0\\]');
    expectRenders(c);
  });

  it('builders reject bad input with the parameter, the value and what is allowed', () => {
    expect(() => lineChart('nope' as any, { x: 't', y: 'v' })).toThrow('lineChart(rows): rows must be an array of records, got "nope"');
    expect(() => lineChart([1] as any, { x: 't', y: 'v' })).toThrow('lineChart(rows): rows[0] must be a record (plain object), got 1');
    expect(() => lineChart(samples, { x: 'time' as any, y: 'v' })).toThrow(/lineChart\(options.x\): field "time" is in no row; fields of rows\[0\]: t, v, ring/);
    expect(() => barChart(samples, { x: 'ring', y: 'v', width: 10 })).toThrow('barChart(options.width): 10 is not allowed; use a number of pixels from 40 to 4000');
    expect(() => barChart(samples, { x: 'ring', y: 'v', sort: 'up' as any })).toThrow(/barChart\(options.sort\): "up" is not allowed/);
    expect(() => lineChart(samples, { x: 't', y: 'v', yLog: true, yZero: true })).toThrow(/log scale cannot start at zero/);
    expect(() => heatmapChart(samples, { x: 't', y: 'ring', value: 'v', scheme: 'no scheme!' })).toThrow(/heatmapChart\(options.scheme\)/);
  });

  it('chart() wraps a hand-written spec and refuses a vega-lite v6 $schema', () => {
    const c = chart({ data: { values: [{ a: 1 }] }, mark: 'tick', encoding: { x: { field: 'a', type: 'quantitative' } }, title: 'ticks' });
    expect(c.summary).toBe('tick chart "ticks"');
    expect((c.spec as any).$schema).toContain('/v5.json');
    expectRenders(c);
    expect(() => chart({ $schema: 'https://vega.github.io/schema/vega-lite/v6.json', mark: 'point' } as any)).toThrow(/v6.json" is not allowed/);
  });

  it('a chart prints its summary, not its JSON, when inspected (a cell\'s last expression)', async () => {
    const { inspect } = await import('node:util');
    expect(inspect(lineChart(samples, { x: 't', y: 'v' }))).toBe('<Chart line chart: 6 rows; x t 0…5; y v 0…11>');
    expect(Object.keys(lineChart(samples, { x: 't', y: 'v' }))).toEqual(['kind', 'spec', 'summary']);
  });
});

describe('field names vega reserves', () => {
  it('lineChart() draws every series when the series field is named count', () => {
    const rows = [0, 1, 2].flatMap((t) => [{ t, count: 'a', v: t }, { t, count: 'b', v: 10 - t }]);
    const c = lineChart(rows, { x: 't', y: 'v', series: 'count' });
    const svg = renderSvg(c.spec);
    // one path per series: both lines are drawn (vega overwrote a data field named `count` before)
    expect((svg.match(/<path [^>]*aria-roledescription="line mark"/g) ?? []).length).toBe(2);
    const enc = (c.spec as { encoding: { color: { field: string; title: string } } }).encoding.color;
    expect(enc.title).toBe('count');
  });
});
