/**
 * Nothing disappears silently: every packet the model discards is counted here under the
 * component that dropped it and a named reason, and emitted as a `drop` trace event.
 *
 * Reasons are short snake_case names, chosen to match the kernel's where one exists
 * (Linux `enum skb_drop_reason`, netback's error paths): `no_rx_slots`, `queue_full`,
 * `drain_timeout`, `bad_grant`, `invalid_src_mac`, `port_state`, …
 */
import { defineTraceEvents, type TraceBus, type TracePoint } from './trace';

declare module './trace' {
  interface TraceEvents {
    drop: { where: string; reason: string; bytes: number; pkt: number };
  }
}

defineTraceEvents({
  drop: 'A packet was discarded; `where` names the component and `reason` says why; `pkt` is its packet id (skb.id; 0 where the component does not know it).',
});

export interface DropRow {
  where: string;
  reason: string;
  packets: number;
  bytes: number;
}

export class DropCounters {
  private readonly rows = new Map<string, DropRow>();
  private readonly tp: TracePoint<'drop'>;
  private totalPackets = 0;

  constructor(trace: TraceBus) {
    this.tp = trace.point('drop');
  }

  /** Counts one dropped packet of `bytes` bytes at `where` for `reason`; `pkt` is its packet id (0: unknown). */
  count(where: string, reason: string, bytes: number, pkt = 0): void {
    const key = where + '\u0000' + reason;
    let row = this.rows.get(key);
    if (row === undefined) {
      row = { where, reason, packets: 0, bytes: 0 };
      this.rows.set(key, row);
    }
    row.packets++;
    row.bytes += bytes;
    this.totalPackets++;
    if (this.tp.on) this.tp.emit({ where, reason, bytes, pkt });
  }

  /** Packets dropped in total, or at one component / for one reason. */
  total(filter: { where?: string; reason?: string } = {}): number {
    if (filter.where === undefined && filter.reason === undefined) return this.totalPackets;
    let n = 0;
    for (const r of this.rows.values()) {
      if ((filter.where === undefined || r.where === filter.where) && (filter.reason === undefined || r.reason === filter.reason)) n += r.packets;
    }
    return n;
  }

  /** One row per (component, reason), sorted. */
  table(): DropRow[] {
    return [...this.rows.values()].map((r) => ({ ...r })).sort((a, b) => (a.where + a.reason < b.where + b.reason ? -1 : 1));
  }
}

/**
 * Per-component counters. A component keeps a plain object of numbers (a stable shape the JIT
 * handles well, incremented directly on the hot path) and registers it here under its name, so
 * that notebooks and tests can snapshot every counter of the host at once.
 */
export class CounterRegistry {
  private readonly components = new Map<string, Record<string, number>>();

  register<T extends Record<string, number>>(component: string, counters: T): T {
    if (this.components.has(component)) {
      throw new Error(`counters: component '${component}' is already registered; component names must be unique`);
    }
    this.components.set(component, counters);
    return counters;
  }

  get(component: string): Readonly<Record<string, number>> {
    const c = this.components.get(component);
    if (c === undefined) {
      throw new Error(`counters: no component '${component}'; known: ${[...this.components.keys()].join(', ') || '(none)'}`);
    }
    return c;
  }

  /** A copy of every counter: { component: { name: value } }. */
  snapshot(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (const [k, v] of this.components) out[k] = { ...v };
    return out;
  }

  /** Flat rows for a table: component, counter, value (non-zero only unless `all`). */
  rows(all = false): { component: string; counter: string; value: number }[] {
    const out: { component: string; counter: string; value: number }[] = [];
    for (const [component, v] of this.components) {
      for (const [counter, value] of Object.entries(v)) if (all || value !== 0) out.push({ component, counter, value });
    }
    return out;
  }
}
