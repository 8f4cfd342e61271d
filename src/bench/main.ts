/**
 * `npm run bench` — prints one line per figure; `--json` prints one JSON object
 * `{ "<figure>": { "value": n, "unit": "…", "vs_baseline": r } }`.
 * `--quick` runs fewer iterations (used by the test that checks the command works).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchContext, BenchModule, FigureValue } from './harness';
import { tuneEngine } from '../sim/engine';

// The model runs as the package runs it (src/index.ts sets the same flags): see src/sim/engine.ts.
tuneEngine();

/** Areas in report order; each is src/bench/<area>.ts. */
const AREAS = ['sim', 'wire', 'ring', 'xen', 'bridge', 'tx', 'rx', 'lab'];

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const quick = args.includes('--quick');
  const only = args.filter((a) => !a.startsWith('--'));
  const figures: Record<string, FigureValue> = {};
  const ctx: BenchContext = {
    quick,
    report(name, figure) {
      figures[name] = figure;
      if (!json) {
        const v = figure.value >= 100 ? Math.round(figure.value).toLocaleString('en-US') : figure.value.toFixed(2);
        console.log(`${name.padEnd(48)} ${v.padStart(14)} ${figure.unit.padEnd(12)} ×${figure.vs_baseline.toFixed(2)} vs baseline${figure.note ? `  (${figure.note})` : ''}`);
      }
    },
  };
  for (const area of AREAS) {
    if (only.length > 0 && !only.includes(area)) continue;
    const file = join(__dirname, `${area}.js`);
    if (!existsSync(file)) continue;
    const mod = require(file) as BenchModule;
    await mod.run(ctx);
  }
  if (json) console.log(JSON.stringify(figures, null, 2));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
