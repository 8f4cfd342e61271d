import { afterEach, describe, expect, it, vi } from 'vitest';
import { barChart, lineChart } from '../../src/lab/chart';
import { bundleOf, chartBundle, inKernel, publishDisplayData, show, tableBundle, textOf, VEGALITE_MIME } from '../../src/lab/display';
import { table } from '../../src/lab/table';
import { withFakeKernel } from './kernel-stub';

const rows = [0, 1, 2, 3].map((t) => ({ t, v: t * t }));
const c = lineChart(rows, { x: 't', y: 'v', title: 'squares' });

afterEach(() => {
  vi.restoreAllMocks();
});

describe('chartBundle()', () => {
  it('has exactly the vega-lite spec (as an object), a PNG and the text summary — no svg, no html', () => {
    const b = chartBundle(c);
    expect(Object.keys(b.data).sort()).toEqual([VEGALITE_MIME, 'image/png', 'text/plain'].sort());
    expect(VEGALITE_MIME).toBe('application/vnd.vegalite.v5+json');
    expect(typeof b.data[VEGALITE_MIME]).toBe('object');
    expect(b.data[VEGALITE_MIME]).toEqual(JSON.parse(JSON.stringify(c.spec)));
    expect(b.data['text/plain']).toBe(c.summary);
  });

  it('carries a valid 2× PNG with 1× width/height metadata', () => {
    const b = chartBundle(c);
    const png = Buffer.from(b.data['image/png'] as string, 'base64');
    expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    const meta = b.metadata['image/png'] as { width: number; height: number };
    expect(meta.width).toBeGreaterThan(480);
    expect(png.readUInt32BE(16)).toBe(2 * meta.width);
    expect(png.readUInt32BE(20)).toBe(2 * meta.height);
  });

  it('rejects things that are not charts', () => {
    expect(() => chartBundle({} as any)).toThrow(/chartBundle\(chart\): expected a Chart/);
    expect(() => bundleOf(42 as any)).toThrow(/show\(item\): cannot display number/);
  });
});

describe('show() outside a kernel', () => {
  it('is not in a kernel under vitest, and prints the text form to stdout', () => {
    expect(inKernel()).toBe(false);
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const t = table(rows, { title: 'rows' });
    expect(show(c)).toBeUndefined();
    show(t);
    show('plain words');
    expect(write.mock.calls.map((a) => a[0])).toEqual([`${c.summary}\n`, `${t.text}\n`, 'plain words\n']);
    expect(publishDisplayData({ data: { 'text/plain': 'x' }, metadata: {} })).toBe(false);
  });

  it('textOf() gives the same text without rendering', () => {
    expect(textOf(c)).toBe(c.summary);
    expect(textOf('x')).toBe('x');
  });
});

describe('show() inside a (stand-in) tslab kernel', () => {
  it('sends one display_data with the full chart bundle and no display id', () => {
    const write = vi.spyOn(process.stdout, 'write');
    withFakeKernel((sent) => {
      expect(inKernel()).toBe(true);
      show(barChart(rows, { x: 't', y: 'v' }));
      expect(sent).toHaveLength(1);
      expect(sent[0].update).toBe(false);
      expect(sent[0].transient).toEqual({});
      expect(Object.keys(sent[0].data).sort()).toEqual(['application/vnd.vegalite.v5+json', 'image/png', 'text/plain']);
      expect(sent[0].metadata['image/png']).toMatchObject({ width: expect.any(Number), height: expect.any(Number) });
    });
    expect(write).not.toHaveBeenCalled();
    expect(inKernel()).toBe(false);
  });

  it('sends a table as html + text', () => {
    withFakeKernel((sent) => {
      const t = table(rows);
      show(t);
      expect(sent[0].data).toEqual(tableBundle(t).data);
    });
  });

  it('publishDisplayData() with update needs a display id', () => {
    withFakeKernel(() => {
      expect(() => publishDisplayData({ data: {}, metadata: {} }, { update: true })).toThrow(/needs options.displayId/);
    });
  });
});
