/**
 * Benchmark harness: every figure is measured against a minimal baseline of the same
 * operation *in the same run*, so the ratio means something on a noisy shared machine.
 *
 * A bench module (src/bench/<area>.ts) exports `run(ctx)` and calls `ctx.report()` once
 * per figure. `vs_baseline` is always "how many times the baseline's cost this is" for
 * cost figures (lower is better) or "how many times the baseline's rate" for rates,
 * as stated by each figure's unit.
 */
export interface FigureValue {
  /** The measured value in `unit`. */
  value: number;
  /** e.g. "ns/event", "packets/s", "bytes". */
  unit: string;
  /** Ratio against the in-run baseline (see each figure's help). */
  vs_baseline: number;
  /** One sentence: what was measured and what the baseline is. */
  note?: string;
}

export interface BenchContext {
  /** Quick mode (tests): fewer iterations, same code paths. */
  readonly quick: boolean;
  report(name: string, figure: FigureValue): void;
}

/** Wall-clock nanoseconds for the harness only; src/ model code never reads a clock. */
export function wallNs(): number {
  return Number(process.hrtime.bigint());
}

/**
 * Runs `fn(iterations)` `repeats` times and returns the best (minimum) ns per iteration.
 * The minimum is the standard robust estimator on a machine with background noise.
 */
export function bestNsPerOp(fn: (iterations: number) => void, iterations: number, repeats = 5): number {
  let best = Infinity;
  for (let r = 0; r < repeats; r++) {
    const t0 = wallNs();
    fn(iterations);
    const dt = wallNs() - t0;
    best = Math.min(best, dt / iterations);
  }
  return best;
}

export type BenchModule = { run(ctx: BenchContext): void | Promise<void> };
