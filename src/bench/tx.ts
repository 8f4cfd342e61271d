/**
 * Guest-transmit full-path figures (issue #5, "Figures to reach"):
 *
 * - tx.full_path_pps (= the default design, modern), tx.full_path_pps_modern, _classic: a guest
 *   sends 1500-byte IP packets (1472 bytes of UDP payload) with `endpoint.sendUdp`: netfront,
 *   the tx ring, netback (modern: NAPI, grant copy of the header + map; classic: tasklet, grant
 *   map, dealloc), dom0's stack, xenbr0, ixgbe, the wire, the external host's NIC and stack,
 *   tracing off. Packets per wall-clock second counted at the external host's socket.
 * - tx.full_path_pps_traced: the same (modern) with a recorder subscribed to every trace event.
 * - tx.memory_10M: heap growth in MiB (after a full GC) over 10 million packets (quick: 100,000)
 *   after a warm-up; vs_baseline = heap after / heap before (1.00 = flat).
 *
 * Offered load and the baseline: see src/bench/fullpath.ts. vs_baseline of the rates = the
 * model's rate over the baseline's rate (a bare ring push/pop plus one 1500-byte copy per
 * packet), measured in the same run.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { BenchContext } from './harness';
import { FullPathFlow } from './fullpath';
import { reportFullPath } from './fullpath-report';

function fullGc(): () => void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  return () => { gc(); gc(); };
}

function memory(ctx: BenchContext): void {
  const total = ctx.quick ? 100_000 : 10_000_000;
  const flow = new FullPathFlow('tx', 'modern');
  const warm = flow.run(ctx.quick ? 20_000 : 200_000);
  if (warm.delivered !== warm.sent) throw new Error(`bench tx.memory_10M warm-up: sent ${warm.sent}, delivered ${warm.delivered}`);
  const gc = fullGc();
  gc();
  const before = process.memoryUsage().heapUsed;
  let delivered = 0;
  let drops = 0;
  const step = 1_000_000;
  for (let done = 0; done < total; done += step) {
    const r = flow.run(Math.min(step, total - done));
    delivered += r.delivered;
    drops += r.drops;
  }
  gc();
  const after = process.memoryUsage().heapUsed;
  if (delivered !== total) throw new Error(`bench tx.memory_10M: sent ${total}, delivered ${delivered}, drops ${drops}`);
  const mib = (after - before) / (1024 * 1024);
  ctx.report('tx.memory_10M', {
    value: mib, unit: 'MiB', vs_baseline: after / before,
    note: `heap after − before a full GC over ${total.toLocaleString('en-US')} packets (modern), ${(before / 1048576).toFixed(1)} → ${(after / 1048576).toFixed(1)} MiB; vs_baseline = after / before`,
  });
}

export function run(ctx: BenchContext): void {
  reportFullPath(ctx, 'tx');
  memory(ctx);
}
