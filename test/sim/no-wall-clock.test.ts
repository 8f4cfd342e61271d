import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = join(__dirname, '..', '..', 'src');
/** Tooling that measures real time on purpose: the benchmarks and the notebook runner. */
const EXEMPT = ['bench/', 'lab/runner/'];
const FORBIDDEN = [/\bMath\.random\b/, /\bDate\.now\b/, /\bnew Date\b/, /\bperformance\.now\b/, /\bprocess\.hrtime\b/];

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('the model is deterministic by construction', () => {
  it('no file under src/ (outside benchmarks and the notebook runner) reads the wall clock or Math.random', () => {
    const offenders: string[] = [];
    for (const f of files(ROOT)) {
      const rel = relative(ROOT, f);
      if (EXEMPT.some((e) => rel.startsWith(e))) continue;
      readFileSync(f, 'utf8').split('\n').forEach((line, i) => {
        const code = line.replace(/\/\/.*$/, '');
        if (FORBIDDEN.some((re) => re.test(code))) offenders.push(`${rel}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(offenders).toEqual([]);
  });
});
