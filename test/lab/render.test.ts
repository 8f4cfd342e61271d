import { describe, expect, it } from 'vitest';
import * as vega from 'vega';
import * as vl from 'vega-lite';
import { renderPng, renderSvg } from '../../src/lab/render';

const spec: any = {
  width: 200,
  height: 100,
  data: { values: [{ a: 'x', b: 3 }, { a: 'y', b: 7 }] },
  mark: 'bar',
  encoding: { x: { field: 'a', type: 'nominal' }, y: { field: 'b', type: 'quantitative' } },
};

/** Reads width/height from a PNG's IHDR chunk. */
function pngSize(png: Buffer): { width: number; height: number } {
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

describe('renderSvg() / renderPng()', () => {
  it('renderSvg() gives exactly what vega\'s own async View.toSVG() gives', async () => {
    const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
    const expected = await view.toSVG();
    view.finalize();
    expect(renderSvg(spec)).toBe(expected);
  });

  it('renderPng() returns a PNG at 2× its display size by default', () => {
    const { png, width, height } = renderPng(spec);
    expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    expect(png.subarray(12, 16).toString('ascii')).toBe('IHDR');
    const svg = renderSvg(spec);
    const m = /<svg[^>]*width="(\d+)"[^>]*height="(\d+)"/.exec(svg)!;
    expect(width).toBe(Number(m[1]));
    expect(height).toBe(Number(m[2]));
    expect(width).toBeGreaterThan(200);
    expect(pngSize(png)).toEqual({ width: 2 * width, height: 2 * height });
  });

  it('renderPng() honours scale and is byte-for-byte deterministic', () => {
    const one = renderPng(spec, { scale: 1 });
    expect(pngSize(one.png)).toEqual({ width: one.width, height: one.height });
    expect(renderPng(spec, { scale: 1 }).png.equals(one.png)).toBe(true);
  });

  it('rejects a bad spec or scale with a message naming it', () => {
    expect(() => renderSvg(null as any)).toThrow('renderSvg(spec): spec must be a vega-lite 5 spec object, got null');
    expect(() => renderPng(spec, { scale: 0 })).toThrow('renderPng(options.scale): scale 0 is not allowed; use a number from 0.5 to 8');
    expect(() => renderSvg({ mark: 'nonsense' } as any)).toThrow(/^vega-lite spec did not render: /);
    // The worker survives a failed render.
    expect(renderSvg(spec)).toContain('<svg');
  });
  it("writes vega-lite's warnings to stderr before it returns, so they belong to the cell that drew the chart", () => {
    const written: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((chunk: string | Uint8Array) => (written.push(String(chunk)), true)) as typeof process.stderr.write;
    try {
      // An explicit `zero` on a log scale: vega-lite drops it with a warning.
      renderSvg({ ...spec, mark: 'point', encoding: { ...spec.encoding, y: { field: 'b', type: 'quantitative', scale: { type: 'log', zero: false } } } });
      expect(written).toEqual(['vega-lite: WARN y-scale\'s "zero" is dropped as it does not work with log scale.\n']);
      written.length = 0;
      renderSvg(spec);
      expect(written).toEqual([]);
    } finally {
      process.stderr.write = write;
    }
  });
});
