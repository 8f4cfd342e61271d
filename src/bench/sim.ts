/**
 * Simulation-core figures:
 * - sim.queue_1k / sim.queue_64k: schedule + dispatch through `Simulator` (handler table,
 *   FIFO tie-break, cancellable ids) with 1k / 64k events pending, against a minimal typed-array
 *   binary heap (time + payload only) doing the same hold-model work in the same run.
 * - sim.queue_10M_heap_growth: MiB of JS heap growth over 10M events (target: flat).
 * - sim.trace_off_overhead: a model step with a guarded trace point and no subscriber, against the
 *   same step with the trace call compiled out.
 */
import { Simulator } from '../sim/simulator';
import { defineTraceEvents } from '../sim/trace';
import { bestNsPerOp, type BenchContext } from './harness';

declare module '../sim/trace' {
  interface TraceEvents {
    'bench.step': { seq: number; value: number };
  }
}
defineTraceEvents({ 'bench.step': 'Benchmark-only event emitted by the trace overhead figure.' });

/** The minimal heap: parallel typed arrays, no tie-break, no cancellation, no handler table. */
class MinimalHeap {
  time: Float64Array;
  val: Float64Array;
  n = 0;
  constructor(cap: number) {
    this.time = new Float64Array(cap);
    this.val = new Float64Array(cap);
  }
  push(t: number, v: number): void {
    let i = this.n++;
    const time = this.time, val = this.val;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (time[p]! <= t) break;
      time[i] = time[p]!; val[i] = val[p]!; i = p;
    }
    time[i] = t; val[i] = v;
  }
  popInto(out: Float64Array): void {
    const time = this.time, val = this.val;
    out[0] = time[0]!; out[1] = val[0]!;
    const n = --this.n;
    const t = time[n]!, v = val[n]!;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && time[c + 1]! < time[c]!) c++;
      if (time[c]! >= t) break;
      time[i] = time[c]!; val[i] = val[c]!; i = c;
    }
    time[i] = t; val[i] = v;
  }
}

/** Deterministic pseudo-random increments for the hold model (no Math.random). */
function increments(n: number): Float64Array {
  const a = new Float64Array(n);
  let x = 12345;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    a[i] = 1 + (x % 1000);
  }
  return a;
}

function queueFigure(ctx: BenchContext, pending: number): void {
  const ops = ctx.quick ? 20_000 : 2_000_000;
  const inc = increments(4096);
  const model = (iterations: number) => {
    const sim = new Simulator();
    let k = 0;
    const h = sim.register('hold', (a) => { sim.after(inc[k++ & 4095]!, h, a); });
    for (let i = 0; i < pending; i++) sim.at(inc[i & 4095]!, h, i);
    sim.run({ maxEvents: iterations });
  };
  const baseline = (iterations: number) => {
    const heap = new MinimalHeap(pending + 1);
    const out = new Float64Array(2);
    let k = 0;
    for (let i = 0; i < pending; i++) heap.push(inc[i & 4095]!, i);
    for (let i = 0; i < iterations; i++) {
      heap.popInto(out);
      heap.push(out[0]! + inc[k++ & 4095]!, out[1]!);
    }
  };
  // Alternate the two so both see the same machine conditions; keep each one's best round.
  let m = Infinity, b = Infinity;
  for (let r = 0; r < 5; r++) {
    m = Math.min(m, bestNsPerOp(model, ops, 1));
    b = Math.min(b, bestNsPerOp(baseline, ops, 1));
  }
  ctx.report(`sim.queue_${pending >= 1024 ? `${pending / 1024}k` : pending}`, {
    value: m, unit: 'ns/event', vs_baseline: m / b,
    note: `schedule+dispatch with ${pending} pending vs a minimal typed-array heap (target ≤ 2×)`,
  });
}

function heapGrowthFigure(ctx: BenchContext): void {
  const events = ctx.quick ? 100_000 : 10_000_000;
  const sim = new Simulator();
  const h = sim.register('hold', (a) => { sim.after(1 + (a % 7), h, a + 1); });
  for (let i = 0; i < 1024; i++) sim.at(i, h, i);
  sim.run({ maxEvents: 100_000 });
  globalThis.gc?.();
  const before = process.memoryUsage().heapUsed;
  const capBefore = sim.queue.capacity;
  sim.run({ maxEvents: events });
  globalThis.gc?.();
  const after = process.memoryUsage().heapUsed;
  const growthMiB = Math.max(0, after - before) / 1048576;
  ctx.report('sim.queue_10M_heap_growth', {
    value: growthMiB, unit: 'MiB', vs_baseline: sim.queue.capacity / capBefore,
    note: `JS heap growth over ${events.toLocaleString('en-US')} events; vs_baseline = queue capacity after/before (1 = no growth)`,
  });
}

function traceOverheadFigure(ctx: BenchContext): void {
  const iterations = ctx.quick ? 50_000 : 3_000_000;
  const inc = increments(4096);
  // The same model step twice — an event that updates a ring-like buffer and reschedules itself —
  // once with a guarded trace point and no subscriber, once with the trace call compiled out.
  const build = (withTrace: boolean) => (n: number) => {
    const sim = new Simulator();
    const tp = sim.trace.point('bench.step');
    const buf = new Uint32Array(256);
    let k = 0;
    const h = withTrace
      ? sim.register('step', (a) => {
        const v = (buf[a & 255]! + a) >>> 0;
        buf[a & 255] = v;
        if (tp.on) tp.emit({ seq: a, value: v });
        sim.after(inc[k++ & 4095]!, h, a + 1);
      })
      : sim.register('step', (a) => {
        const v = (buf[a & 255]! + a) >>> 0;
        buf[a & 255] = v;
        sim.after(inc[k++ & 4095]!, h, a + 1);
      });
    for (let i = 0; i < 1024; i++) sim.at(i, h, i);
    sim.run({ maxEvents: n });
  };
  const traced = build(true);
  const compiledOut = build(false);
  // Interleave repeats so both see the same machine conditions.
  let t = Infinity, c = Infinity;
  for (let r = 0; r < 5; r++) {
    t = Math.min(t, bestNsPerOp(traced, iterations, 1));
    c = Math.min(c, bestNsPerOp(compiledOut, iterations, 1));
  }
  ctx.report('sim.trace_off_overhead', {
    value: (t / c - 1) * 100, unit: '%', vs_baseline: t / c,
    note: 'an event step with an unsubscribed trace point vs the same step with tracing compiled out (target ≤ 1.05×)',
  });
}

export function run(ctx: BenchContext): void {
  queueFigure(ctx, 1024);
  queueFigure(ctx, 65536);
  heapGrowthFigure(ctx);
  traceOverheadFigure(ctx);
}
