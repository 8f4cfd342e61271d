/**
 * Hot code calls across modules through their exports objects (`(0, netback_1.xenvif_poll)(…)` in
 * the compiled CommonJS). A re-export (`export { X } from './y'`) compiles to an accessor, and V8
 * then keeps that module's exports as a hash table: every such call or constant read becomes a
 * dictionary lookup. Only the namespace `index` files re-export; this checks every other compiled
 * module of the model (dist/, built by `npm test` before the tests run).
 */
import { describe, expect, it } from 'vitest';
import * as v8 from 'node:v8';
import { createRequire } from 'node:module';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';

v8.setFlagsFromString('--allow-natives-syntax');
// eslint-disable-next-line @typescript-eslint/no-implied-eval
const hasFastProperties = new Function('o', 'return %HasFastProperties(o)') as (o: object) => boolean;

const DIST = join(__dirname, '..', '..', 'dist');
const MODEL_DIRS = ['sim', 'params', 'io', 'wire', 'xen', 'net', 'drivers', 'topo'];

function modules(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...modules(p));
    else if (name.endsWith('.js') && name !== 'index.js') out.push(p);
  }
  return out;
}

describe('compiled model modules', () => {
  it.skipIf(!existsSync(DIST))('keep fast exports objects (no re-exports outside the index files)', () => {
    const req = createRequire(join(DIST, 'index.js'));
    const files = MODEL_DIRS.flatMap((d) => modules(join(DIST, d)));
    expect(files.length).toBeGreaterThan(50);
    const slow = files.filter((f) => !hasFastProperties(req(f) as object)).map((f) => relative(DIST, f));
    expect(slow).toEqual([]);
  });
});
