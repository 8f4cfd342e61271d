/**
 * Every lab in notebooks/ is a test: it runs twice, each time in a fresh kernel of one real
 * Jupyter Server, and must
 *   - finish with no error output (stderr text or an `error` output) outside cells tagged
 *     `raises-exception`,
 *   - give every chart its full bundle (vega-lite spec object + PNG with size metadata + text),
 *   - produce the same notebook both times once ids, timestamps and execution metadata are
 *     removed: same seed, same lab, same bytes (PNGs included).
 */
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cellTags,
  executeNotebook,
  normalizeForCompare,
  quietServices,
  startJupyterServer,
  type JupyterServer,
  type Notebook,
} from '../src/lab/runner';

const ROOT = resolve(__dirname, '..');
const NOTEBOOKS = readdirSync(join(ROOT, 'notebooks'))
  .filter((f) => f.endsWith('.ipynb'))
  .sort();
const CHART_PARTS = ['application/vnd.vegalite.v5+json', 'image/png', 'text/plain'];

/** Problems in an executed notebook: error outputs and incomplete chart bundles. */
function problems(nb: Notebook): string[] {
  const found: string[] = [];
  nb.cells.forEach((cell, i) => {
    const expectError = cellTags(cell).includes('raises-exception');
    for (const o of cell.outputs ?? []) {
      if (!expectError && o.output_type === 'error') found.push(`cell ${i}: error output ${o.ename}: ${o.evalue}`);
      if (!expectError && o.output_type === 'stream' && o.name === 'stderr') found.push(`cell ${i}: stderr:\n${o.text}`);
      if (o.output_type === 'display_data' || o.output_type === 'execute_result') {
        const keys = Object.keys(o.data);
        const isChart = keys.some((k) => k.startsWith('application/vnd.vegalite') || k === 'image/png');
        if (!isChart) continue;
        for (const part of CHART_PARTS) if (!(part in o.data)) found.push(`cell ${i}: chart bundle without ${part}`);
        for (const extra of keys.filter((k) => !CHART_PARTS.includes(k))) found.push(`cell ${i}: chart bundle has unexpected ${extra}`);
        const spec = o.data[CHART_PARTS[0]];
        if (spec !== undefined && (spec === null || typeof spec !== 'object')) found.push(`cell ${i}: vega-lite spec is not an object`);
        const meta = o.metadata['image/png'] as { width?: unknown; height?: unknown } | undefined;
        if (!meta || typeof meta.width !== 'number' || typeof meta.height !== 'number') found.push(`cell ${i}: PNG without width/height metadata`);
      }
    }
  });
  return found;
}

describe('notebooks', () => {
  let server: JupyterServer;
  beforeAll(async () => {
    server = await quietServices(() => startJupyterServer({ root: ROOT }));
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('there is at least the getting-started lab', () => {
    expect(NOTEBOOKS).toContain('00-getting-started.ipynb');
  });

  for (const name of NOTEBOOKS) {
    it(`${name} runs clean, with complete charts, identically twice`, async () => {
      const path = join('notebooks', name);
      const first = await quietServices(() => executeNotebook(server, path));
      expect(first.failures, first.failures.join('\n')).toEqual([]);
      expect(problems(first.notebook)).toEqual([]);
      const second = await quietServices(() => executeNotebook(server, path));
      expect(second.failures, second.failures.join('\n')).toEqual([]);
      expect(normalizeForCompare(second.notebook)).toBe(normalizeForCompare(first.notebook));
    }, 180_000);
  }
});
