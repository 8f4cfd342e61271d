/**
 * Reporting of the full-path figures, shared by src/bench/tx.ts and src/bench/rx.ts (not an
 * area of its own): the flow rate for both designs and traced, each against the in-run baseline
 * (src/bench/fullpath.ts), interleaved so that both see the same background load.
 */
import { bestNsPerOp, type BenchContext } from './harness';
import { baselineLoop, baselineSink, measureFullPath, type Design, type Direction } from './fullpath';

const PATH = {
  tx: 'guest sendUdp → netfront → ring → netback → dom0 → xenbr0 → ixgbe → wire → external host socket',
  rx: 'external host sendUdp → wire → ixgbe → dom0 → xenbr0 → vif → netback → ring → netfront → guest socket',
} as const;

/** Reports `<dir>.full_path_pps`, `_modern`, `_classic` and `_traced`. */
export function reportFullPath(ctx: BenchContext, dir: Direction): void {
  const packets = ctx.quick ? 4000 : 200_000;
  const rounds = ctx.quick ? 1 : 5;
  // V8 is still compiling the path for the first ~300,000 packets (measured 100-k chunks: ~150 k,
  // ~550 k, ~700 k packets/s, background compiler threads busy, then flat): the rounds measure the
  // compiled model, not the compiler.
  const warmup = ctx.quick ? 2000 : 400_000;
  const baseIters = ctx.quick ? 20_000 : 1_000_000;
  let baseNs = Infinity;
  const measure = (design: Design, traced: boolean) => {
    baseNs = Math.min(baseNs, bestNsPerOp(baselineLoop, baseIters, 3));
    const r = measureFullPath(dir, design, packets, rounds, warmup, traced);
    baseNs = Math.min(baseNs, bestNsPerOp(baselineLoop, baseIters, 3));
    return r;
  };
  const modern = measure('modern', false);
  const classic = measure('classic', false);
  const traced = measure('modern', true);
  if (baselineSink() === 0.5) console.log('');
  const basePps = 1e9 / baseNs;
  const note = (design: string, r: ReturnType<typeof measureFullPath>, extra = '') =>
    `${design}: ${PATH[dir]}, 1500-byte IP packets, best of ${rounds}×${packets} after ${warmup} warm-up; ${r.virtualPps.toFixed(0)} pps virtual, ` +
    `${r.eventsPerPacket.toFixed(1)} events/packet${extra}, drops ${r.drops}; baseline ring push/pop + 1500-byte copy ${basePps.toFixed(0)}/s`;
  ctx.report(`${dir}.full_path_pps`, {
    value: modern.pps, unit: 'packets/s', vs_baseline: modern.pps / basePps, note: note('modern (default design)', modern),
  });
  ctx.report(`${dir}.full_path_pps_modern`, {
    value: modern.pps, unit: 'packets/s', vs_baseline: modern.pps / basePps, note: note('modern', modern),
  });
  ctx.report(`${dir}.full_path_pps_classic`, {
    value: classic.pps, unit: 'packets/s', vs_baseline: classic.pps / basePps, note: note('classic', classic),
  });
  ctx.report(`${dir}.full_path_pps_traced`, {
    value: traced.pps, unit: 'packets/s', vs_baseline: traced.pps / basePps,
    note: note('modern, a recorder subscribed to *', traced, `, ${traced.recordsPerPacket.toFixed(1)} trace records/packet`),
  });
}
