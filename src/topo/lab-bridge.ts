/**
 * Analysis helpers of the bridging lab (notebooks/03-bridging.ipynb): they turn the bridge's
 * trace events into a forwarding-database timeline and forward/flood counts over time, and the
 * `pkt.step` walk of a packet into rows for tables and swimlanes. They only read trace records
 * (from `sim.trace.record(...)`); nothing here changes the model.
 *
 *   const rec = host.sim.trace.record('bridge.');   // learn, move, age, flush, forward, flood, local
 *   …run…
 *   fdbTimeline(rec.records, { endNs: host.now, names: { '00:16:3e:00:00:01': 'a' } })
 *   bridgeDecisions(rec.records, { binNs: host.ms(1), endNs: host.now })
 *
 *   const walk = host.sim.trace.record('pkt.step');
 *   const id = guest.endpoint.sendUdp(...); host.runFor(...);
 *   walkSummary(walk.records, id, 'udp_rcv')   // { steps, latencyNs, cpuNs, byWhere: { dom0: …, bridge: … }, … }
 */
import type { AnyTraceRecord } from '../sim/trace';

/** One stay of a MAC address in the forwarding database, on one port. */
export interface FdbSpan {
  mac: string;
  /** `names[mac]` when given, else the MAC. */
  who: string;
  port: string;
  /** Virtual time the entry was learned (or moved here), seconds. */
  start_s: number;
  /** Virtual time it left the table (or `endNs` if still there), seconds. */
  end_s: number;
  /** How the stay ended: aged out by the gc, moved to another port, flushed, or still present. */
  end: 'aged' | 'moved' | 'flushed' | 'present';
}

export interface FdbTimelineOptions {
  /** Only events of this bridge (default: all). */
  bridge?: string;
  /** Where open entries end (usually `host.now`), ns. */
  endNs: number;
  /** Display names by MAC (e.g. the guests' names). */
  names?: Record<string, string>;
}

/**
 * The forwarding database over time from `bridge.learn`, `bridge.move`, `bridge.age` and
 * `bridge.flush` events: one span per (MAC, port) stay, in order of learning. Refreshes emit no
 * event (the kernel's br_fdb_update only updates `updated`), so a span covers the whole time
 * the entry existed.
 */
export function fdbTimeline(records: readonly AnyTraceRecord[], opts: FdbTimelineOptions): FdbSpan[] {
  if (!Number.isFinite(opts.endNs) || opts.endNs < 0) {
    throw new Error(`fdbTimeline: endNs ${opts.endNs} is not allowed; use the virtual time to close open entries at (e.g. host.now)`);
  }
  const names = opts.names ?? {};
  const spans: FdbSpan[] = [];
  const open = new Map<string, FdbSpan>(); // by mac
  const close = (mac: string, tNs: number, end: FdbSpan['end']) => {
    const s = open.get(mac);
    if (s === undefined) return;
    s.end_s = tNs / 1e9;
    s.end = end;
    open.delete(mac);
  };
  const begin = (mac: string, port: string, tNs: number) => {
    const s: FdbSpan = { mac, who: names[mac] ?? mac, port, start_s: tNs / 1e9, end_s: opts.endNs / 1e9, end: 'present' };
    spans.push(s);
    open.set(mac, s);
  };
  for (const r of records) {
    if (opts.bridge !== undefined && r.bridge !== opts.bridge) continue;
    const t = r.t;
    switch (r.ev) {
      case 'bridge.learn':
        close(String(r.mac), t, 'moved');
        begin(String(r.mac), String(r.port), t);
        break;
      case 'bridge.move':
        close(String(r.mac), t, 'moved');
        begin(String(r.mac), String(r.to), t);
        break;
      case 'bridge.age':
        close(String(r.mac), t, 'aged');
        break;
      case 'bridge.flush':
        for (const [mac, s] of [...open]) if (s.port === r.port || r.port === '*' || r.port === '') close(mac, t, 'flushed');
        break;
      default:
        break;
    }
  }
  return spans;
}

/** Frames the bridge decided on in one time bin. */
export interface DecisionBin {
  /** Start of the bin, ms of virtual time. */
  t_ms: number;
  decision: 'forwarded' | 'flooded' | 'to dom0';
  /** Frames in this bin. */
  frames: number;
  /** Frames up to the end of this bin. */
  total: number;
}

/**
 * Forwarded (`bridge.forward`: one known port), flooded (`bridge.flood`: unknown unicast,
 * broadcast, multicast) and delivered-to-dom0-only (`bridge.local`) frames per time bin, every
 * bin from 0 (or `startNs`) to `endNs` present for each decision, with running totals.
 */
export function bridgeDecisions(
  records: readonly AnyTraceRecord[],
  opts: { binNs: number; endNs: number; startNs?: number; bridge?: string },
): DecisionBin[] {
  const start = opts.startNs ?? 0;
  if (!Number.isFinite(opts.binNs) || opts.binNs <= 0) throw new Error(`bridgeDecisions: binNs ${opts.binNs} is not allowed; use a positive number of ns`);
  if (!(opts.endNs > start)) throw new Error(`bridgeDecisions: endNs ${opts.endNs} is not allowed; use a time after startNs (${start})`);
  const nBins = Math.ceil((opts.endNs - start) / opts.binNs);
  if (nBins > 100_000) throw new Error(`bridgeDecisions: ${nBins} bins is too many; use a larger binNs (at most 100000 bins)`);
  const kinds = ['forwarded', 'flooded', 'to dom0'] as const;
  const counts = kinds.map(() => new Array<number>(nBins).fill(0));
  for (const r of records) {
    if (opts.bridge !== undefined && r.bridge !== opts.bridge) continue;
    const k = r.ev === 'bridge.forward' ? 0 : r.ev === 'bridge.flood' ? 1 : r.ev === 'bridge.local' ? 2 : -1;
    if (k < 0 || r.t < start || r.t >= opts.endNs) continue;
    counts[k]![Math.floor((r.t - start) / opts.binNs)]!++;
  }
  const rows: DecisionBin[] = [];
  kinds.forEach((decision, k) => {
    let total = 0;
    for (let i = 0; i < nBins; i++) {
      total += counts[k]![i]!;
      rows.push({ t_ms: (start + i * opts.binNs) / 1e6, decision, frames: counts[k]![i]!, total });
    }
  });
  return rows;
}

/** One step of a packet's walk. */
export interface WalkStep {
  /** Step number from 1. */
  step: number;
  /** µs since the packet's first step. */
  t_us: number;
  fn: string;
  lane: string;
  dom: number;
  /** Where it ran, for charts: the lane, with the domain id for guests ('domU 1'). */
  where: string;
  cpu_ns: number;
  detail: string;
}

/** The `pkt.step` records of packet `pkt`, in order, as rows. */
export function walkSteps(records: readonly AnyTraceRecord[], pkt: number): WalkStep[] {
  const out: WalkStep[] = [];
  let t0 = -1;
  for (const r of records) {
    if (r.ev !== 'pkt.step' || r.pkt !== pkt) continue;
    if (t0 < 0) t0 = r.t;
    const lane = String(r.lane);
    const dom = Number(r.dom);
    out.push({
      step: out.length + 1, t_us: (r.t - t0) / 1000, fn: String(r.fn), lane, dom,
      where: lane === 'domU' ? `domU ${dom}` : lane, cpu_ns: Number(r.cpuNs), detail: r.detail === undefined ? '' : String(r.detail),
    });
  }
  return out;
}

/** Totals of one packet's walk. */
export interface WalkSummary {
  steps: number;
  /** From the first step to the first `until` step (default: to the last step), ns. */
  latencyNs: number;
  /** CPU charged by all steps, ns. */
  cpuNs: number;
  /** CPU by where it ran ('domU 1', 'xen', 'dom0', 'bridge', 'nic', 'wire', 'host'). */
  byWhere: Record<string, number>;
  /** Distinct dom0 functions (lanes dom0, bridge, nic with dom 0), in walk order. */
  dom0Functions: string[];
}

/**
 * Steps, latency and CPU of packet `pkt`'s walk. `until` names the step that counts as delivery
 * (e.g. 'udp_rcv': the sender's transmit completion, xennet_tx_buf_gc, often comes later).
 * Throws if the packet has no steps, or no `until` step.
 */
export function walkSummary(records: readonly AnyTraceRecord[], pkt: number, until?: string): WalkSummary {
  const w = walkSteps(records, pkt);
  if (w.length === 0) throw new Error(`walkSummary: packet ${pkt} has no pkt.step records; record 'pkt.step' before sending it`);
  const end = until === undefined ? w[w.length - 1]! : w.find((s) => s.fn === until);
  if (end === undefined) throw new Error(`walkSummary: packet ${pkt} never reached ${JSON.stringify(until)}; its last step is ${w[w.length - 1]!.fn}`);
  const byWhere: Record<string, number> = {};
  const dom0: string[] = [];
  let cpu = 0;
  for (const s of w) {
    cpu += s.cpu_ns;
    byWhere[s.where] = (byWhere[s.where] ?? 0) + s.cpu_ns;
    if (s.dom === 0 && s.lane !== 'xen' && !dom0.includes(s.fn)) dom0.push(s.fn);
  }
  return { steps: w.length, latencyNs: Math.round(end.t_us * 1000), cpuNs: cpu, byWhere, dom0Functions: dom0 };
}

/** Swimlane rows of a walk: each step from its time to its time plus its CPU (at least `minUs`). */
export function walkStepSpans(records: readonly AnyTraceRecord[], pkt: number, minUs = 0.05): { where: string; fn: string; start_us: number; end_us: number }[] {
  return walkSteps(records, pkt).map((s) => ({ where: s.where, fn: s.fn, start_us: s.t_us, end_us: s.t_us + Math.max(minUs, s.cpu_ns / 1000) }));
}

/** Mean number of `pkt.step` records per packet over the given packet ids (0 when none). */
export function stepsPerPacket(records: readonly AnyTraceRecord[], ids: readonly number[]): number {
  if (ids.length === 0) return 0;
  const want = new Set(ids);
  let n = 0;
  for (const r of records) if (r.ev === 'pkt.step' && want.has(r.pkt as number)) n++;
  return n / ids.length;
}

/**
 * Per-packet latency from each packet's first step to its first `until` step (default
 * 'udp_rcv'), ns, in the order of `ids`; packets that never reached `until` are left out. The
 * trace's view of what a socket measures (its latency runs from the sender's skb.bornAt, which
 * rides beside the ring slots and the wire), for any step as the end and without a socket.
 */
export function deliveryLatencies(records: readonly AnyTraceRecord[], ids: readonly number[], until = 'udp_rcv'): number[] {
  const first = new Map<number, number>();
  const done = new Map<number, number>();
  const want = new Set(ids);
  for (const r of records) {
    if (r.ev !== 'pkt.step') continue;
    const id = r.pkt as number;
    if (!want.has(id)) continue;
    if (!first.has(id)) first.set(id, r.t);
    if (r.fn === until && !done.has(id)) done.set(id, r.t);
  }
  const out: number[] = [];
  for (const id of ids) {
    const e = done.get(id);
    if (e !== undefined) out.push(e - first.get(id)!);
  }
  return out;
}
