/**
 * A CPU as a timeline of busy periods, so that per-step costs add up to latency and throughput.
 *
 * Work of `cost` ns submitted at virtual time `now` starts when the CPU is free
 * (max(now, busyUntil)) and ends `cost` ns later; the caller schedules whatever follows at the
 * returned completion time. A saturated CPU therefore delays everything behind it — which is how
 * a guest vCPU or dom0's CPU becomes the bottleneck in the charts.
 *
 * @simplified one run queue per CPU, no preemption: work is served in submission order.
 */
export class Cpu {
  /** Virtual time at which the CPU finishes the work submitted so far. */
  busyUntil = 0;
  /** Total ns of work done. */
  busyNs = 0;

  constructor(readonly name: string) {}

  /** Submits `cost` ns of work at `now`; returns the virtual time the work completes. */
  run(now: number, cost: number): number {
    const start = now > this.busyUntil ? now : this.busyUntil;
    this.busyUntil = start + cost;
    this.busyNs += cost;
    return this.busyUntil;
  }

  /** Utilisation over [0, now]. */
  utilisation(now: number): number {
    return now <= 0 ? 0 : Math.min(1, this.busyNs / now);
  }
}
