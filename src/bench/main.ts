/**
 * `npm run bench` — prints one line per figure; `--json` prints one JSON object
 * `{ "<figure>": { "value": n, "unit": "…", "vs_baseline": r } }`.
 * `--quick` runs fewer iterations and skips the lab figures (test/bench/main.test.ts runs it). Names
 * of areas run only those. Notes on skipped areas go to stderr, so `--json` stdout stays JSON.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchContext, BenchModule, FigureValue } from './harness';
import { tuneEngine } from '../sim/engine';

// The model runs as the package runs it (src/index.ts sets the same flags): see src/sim/engine.ts.
tuneEngine();

/** Areas in report order; each is src/bench/<area>.ts. */
const AREAS = ['sim', 'wire', 'ring', 'xen', 'bridge', 'tx', 'rx', 'lab'];
const FLAGS = ['--json', '--quick'];

/** Thrown for a bad command line: printed without a stack, exit status 2. */
class UsageError extends Error {}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  for (const a of args) {
    if (a.startsWith('--') ? !FLAGS.includes(a) : !AREAS.includes(a)) {
      throw new UsageError(`npm run bench: ${a.startsWith('--') ? 'option' : 'area'} '${a}' is not allowed; use ${a.startsWith('--') ? FLAGS.join(' or ') : `areas from ${AREAS.join(', ')}`}`);
    }
  }
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
  if (err instanceof UsageError) {
    console.error(err.message);
    process.exit(2);
  }
  console.error(err);
  process.exit(1);
});
