/**
 * `npm run bench` as a user runs it (the built dist/bench/main.js, which `npm test` builds first):
 * `--quick --json` prints one JSON object with every figure the README lists, each a finite value
 * with a unit and a ratio to its in-run baseline; a bad area or option is refused by name.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const MAIN = join(ROOT, 'dist', 'bench', 'main.js');

/** Every figure of `--quick` (the lab figures start Jupyter kernels and are skipped there), with its unit. */
const FIGURES: Record<string, string> = {
  'sim.queue_1k': 'ns/event', 'sim.queue_64k': 'ns/event', 'sim.queue_10M_heap_growth': 'MiB', 'sim.trace_off_overhead': '%',
  'wire.build_udp_1500': 'ns/frame', 'wire.parse_eth_ipv4_udp': 'ns/frame', 'ring.push_pop': 'ns/request',
  'xen.gnttab_copy_1500': 'ns/copy', 'xen.evtchn_send_upcall': 'ns/event',
  'bridge.fdb_decision_1k': 'ns/frame', 'bridge.fdb_decision_100k': 'ns/frame', 'bridge.256_guests_vs_1': 'ns/packet',
  'tx.full_path_pps': 'packets/s', 'tx.full_path_pps_modern': 'packets/s', 'tx.full_path_pps_classic': 'packets/s',
  'tx.full_path_pps_traced': 'packets/s', 'tx.memory_10M': 'MiB',
  'rx.full_path_pps': 'packets/s', 'rx.full_path_pps_modern': 'packets/s', 'rx.full_path_pps_classic': 'packets/s',
  'rx.full_path_pps_traced': 'packets/s',
};

function bench(args: string[]) {
  return spawnSync(process.execPath, [MAIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
}

describe('npm run bench (dist/bench/main.js)', () => {
  it('--quick --json prints one JSON object with every figure: a finite value, its unit, a positive ratio to the baseline', () => {
    const r = bench(['--quick', '--json']);
    expect(r.status).toBe(0);
    const figures = JSON.parse(r.stdout) as Record<string, { value: number; unit: string; vs_baseline: number; note?: string }>;
    expect(Object.keys(figures).sort()).toEqual(Object.keys(FIGURES).sort());
    for (const [name, f] of Object.entries(figures)) {
      expect([name, f.unit]).toEqual([name, FIGURES[name]]);
      expect([name, Number.isFinite(f.value)]).toEqual([name, true]);
      expect([name, Number.isFinite(f.vs_baseline) && f.vs_baseline > 0]).toEqual([name, true]);
      if (f.unit !== '%') expect([name, f.value > 0 || name.endsWith('heap_growth') || name.endsWith('memory_10M')]).toEqual([name, true]);
    }
    // the full paths delivered real packets: rates well above zero, and the note says nothing was dropped
    for (const name of ['tx.full_path_pps', 'rx.full_path_pps']) {
      expect(figures[name]!.value).toBeGreaterThan(1000);
      expect(figures[name]!.note).toMatch(/drops 0/);
    }
    expect(r.stderr).toMatch(/lab: skipped in --quick mode/);
  }, 120_000);

  it('the README\'s Benchmarks table names every figure', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const table = readme.slice(readme.indexOf('## Benchmarks'));
    for (const name of Object.keys(FIGURES)) {
      const base = name.replace(/_(modern|classic|traced)$/, '');
      expect([name, table.includes(`\`${base}\``)]).toEqual([name, true]);
    }
  });

  it('refuses an unknown area or option by name, with exit status 2', () => {
    const area = bench(['--quick', 'nosuch']);
    expect(area.status).toBe(2);
    expect(area.stderr).toMatch(/npm run bench: area 'nosuch' is not allowed; use areas from sim, wire, ring, xen, bridge, tx, rx, lab/);
    const opt = bench(['--fast']);
    expect(opt.status).toBe(2);
    expect(opt.stderr).toMatch(/option '--fast' is not allowed; use --json or --quick/);
  });
});
