/**
 * Helpers of the receive-path lab (notebooks/02-receive-path.ipynb): a host whose guests can be
 * 2.6.18 page-flipping guests, traffic generators with end-to-end latency, and the analyses that
 * turn the model's trace into walk tables, swimlanes, cost-per-packet and time breakdowns.
 *
 * Nothing here changes the model: every number comes from `pkt.step`, `xen.*` and `drop` trace
 * events, from the CPUs' busy time and from the domains' hypercall counters.
 *
 *   const host = buildRxLabHost({ guests: [{ name: 'old', design: 'classic', rxMode: 'flip' }] });
 *   const stream = rxStream(host, { to: 'old', port: 7000, payload: 1472, packets: 100, gapNs: 5000 });
 *   host.runFor(host.ms(2));
 *   stream.latenciesNs           // one-way latency (udp_sendmsg → udp_rcv) of each delivered datagram
 *
 * Why a builder of its own: `buildXenHost`'s GuestSpec chooses the netback design of a guest's vif
 * but neither the guest's own netfront parameters (a 2.6.18 netfront, `rx_mode`, its refill pool,
 * its NAPI budget, the cost of its kernel) nor whether a classic backend offers page flipping
 * (`feature-rx-flip`, netback_probe's `classicRxFlip`). `buildRxLabHost` builds the same host with
 * no guests and adds each guest here, the same way host.ts does, with those options.
 *
 * Packet identity: netfront builds a new skb for every received packet, but takes the packet id
 * netback left beside the ring slot (net/walk.ts ringPageWalkIds), so a frame keeps one id from
 * the sender's `udp_sendmsg` to the guest's `udp_rcv`; rxStream matches deliveries to sends by it.
 */
import { MS } from '../sim/units';
import type { Cpu } from '../sim/cpu';
import type { AnyTraceRecord } from '../sim/trace';
import { Params } from '../params';
import type { UdpSocket } from '../net/endpoint';
import { XenHost, type GuestSpec, type XenHostOptions } from './host';
import { CLASSIC_STEP_NAMES } from '../drivers/netfront/constants';
import { checkInt } from '../wire/error';
import { MacAddr } from '../wire/address';

// ---------------------------------------------------------------------------------------------
// The host
// ---------------------------------------------------------------------------------------------

/** A guest of the receive lab: a GuestSpec plus the guest's own driver and kernel settings. */
/**
 * A receive-lab guest: a GuestSpec (which already carries `rxMode` and per-guest `params`) whose
 * netfront design follows its netback `design` unless `params` says otherwise.
 */
export type RxGuestSpec = GuestSpec;

/** Options of buildRxLabHost: those of buildXenHost, with RxGuestSpec guests. */
export interface RxLabHostOptions extends Omit<XenHostOptions, 'guests'> {
  guests?: RxGuestSpec[];
  /**
   * Keep a timeline of every CPU (dom0's, each guest's vCPU, the external host's) so that rxWalk
   * (given the host) places each step where its CPU really ran it and shows the CPU work that no
   * step names (default false: it records every pkt.step, so use it for walks of a few packets).
   */
  stepTimes?: boolean;
}

/**
 * Builds a bridged Xen host with buildXenHost, where each guest's netfront runs the same design
 * as its vif (a 2.6.18 guest on a 2.6.18 backend), so classic page flipping is available.
 */
export function buildRxLabHost(opts: RxLabHostOptions = {}): XenHost {
  if (opts === null || typeof opts !== 'object') throw new Error('buildRxLabHost(opts): opts must be an object');
  const specs = opts.guests ?? [{}];
  if (!Array.isArray(specs)) throw new Error(`buildRxLabHost(opts.guests): must be an array of guest specs, got ${typeof specs}`);
  if (opts.mode !== undefined && opts.mode !== 'bridge') {
    throw new Error(`buildRxLabHost(opts.mode): '${String(opts.mode)}' is not available here; the receive lab builds bridged hosts ('bridge')`);
  }
  const base = opts.params instanceof Params ? opts.params : Params.defaults().with(opts.params ?? {});
  const guests = specs.map((s, i): GuestSpec => {
    if (s === null || typeof s !== 'object') throw new Error(`buildRxLabHost(opts.guests[${i}]): must be an object`);
    const design = s.design ?? (base.get('netback.design') as 'modern' | 'classic');
    return { ...s, params: { 'netfront.design': design, ...(s.params ?? {}) } };
  });
  const { stepTimes, ...hostOpts } = opts;
  const host = new XenHost({ ...hostOpts, params: base, guests });
  if (stepTimes === true) installStepTimes(host);
  return host;
}

/** Where one step ran on its CPU (NaN start: not placed yet), and the unnamed CPU work after it. */
interface StepPlace {
  start: number;
  end: number;
  /** CPU of the same run that no step names, placed after the packet's last step of the run. */
  extra?: { start: number; end: number; packets: number };
  /** CPU charged in the same event just before the step's own charge that no step names. */
  before?: { start: number; end: number };
}

/** The CPU timelines of a host built with `stepTimes`: each step's place, by step occurrence. */
interface StepTimes {
  places: Map<string, StepPlace>;
  seen: Map<string, number>;
}

const STEP_TIMES = new WeakMap<XenHost, StepTimes>();

function stepKey(r: { t: number; pkt: number; fn: string; dom: number; detail?: string }): string {
  return `${r.t}\u0000${r.pkt}\u0000${r.fn}\u0000${r.dom}\u0000${r.detail ?? ''}`;
}

/** The CPU a step ran on: its domain's, the external host's (lanes host and nic outside Xen), or none (the wire). */
function cpuKeyOf(r: { dom: number; lane: string }): string | null {
  if (r.dom >= 0) return String(r.dom);
  return r.lane === 'host' || r.lane === 'nic' ? 'ext' : null;
}

/**
 * Follows every CPU of the host (dom0's, the external host's, each guest's vCPU) and places each
 * `pkt.step` on it. The model charges a CPU with `Cpu.run(now, cost)`, either just before the step
 * it pays for (the stack's functions) or once for the steps emitted since the last charge, plus
 * work no step names (a driver's poll, netfront building the skb and, when flipping, remapping
 * pages). So a charge that follows uncharged steps pays for them, in order, and what is left of it
 * is that packet's unnamed work; a charge with no step waiting pays for the steps that follow
 * it in the same event. The wrappers only watch: every call goes to the CPU unchanged.
 */
function installStepTimes(host: XenHost): void {
  const st: StepTimes = { places: new Map(), seen: new Map() };
  STEP_TIMES.set(host, st);
  const cpus = new Map<string, Cpu>([['0', host.dom0.cpu], ['ext', host.external.stack.cpu]]);
  for (const g of host.guests) cpus.set(String(g.domid), g.stack.cpu);
  interface Waiting { rec: RxStepRecord; place: StepPlace }
  interface Ahead { start: number; at: number; end: number }
  interface CpuState { pending: Waiting[]; now: number; ahead: Ahead[] }
  const state = new Map<string, CpuState>();
  for (const [k, cpu] of cpus) {
    const c: CpuState = { pending: [], now: -1, ahead: [] };
    state.set(k, c);
    const run = cpu.run.bind(cpu);
    cpu.run = (now: number, cost: number): number => {
      const start = now > cpu.busyUntil ? now : cpu.busyUntil;
      const end = run(now, cost);
      if (cost <= 0) return end;
      if (c.pending.length === 0) {
        // Paid ahead for a step that follows in this event.
        if (c.now !== now) c.ahead = [];
        c.now = now;
        c.ahead.push({ start, at: start, end });
        return end;
      }
      c.ahead = [];
      let at = start;
      let i = 0;
      for (; i < c.pending.length; i++) {
        const w = c.pending[i]!;
        if (at + w.rec.cpuNs > end) break;
        w.place.start = at;
        w.place.end = at + w.rec.cpuNs;
        at += w.rec.cpuNs;
      }
      const covered = c.pending.splice(0, i);
      if (c.pending.length === 0 && end > at && covered.length > 0) {
        // The rest of the charge: shown after each packet's last step of the run (not a hypercall).
        const last = new Map<number, Waiting>();
        for (const w of covered) {
          const had = last.get(w.rec.pkt);
          if (had === undefined || w.rec.lane !== 'xen' || had.rec.lane === 'xen') last.set(w.rec.pkt, w);
        }
        for (const w of last.values()) w.place.extra = { start: at, end, packets: last.size };
      }
      return end;
    };
  }
  host.sim.trace.on('pkt.step', (r0) => {
    const r = r0 as unknown as RxStepRecord;
    const key = stepKey(r);
    const n = st.seen.get(key) ?? 0;
    st.seen.set(key, n + 1);
    const k = cpuKeyOf(r);
    const c = k === null ? undefined : state.get(k);
    if (c === undefined) return;
    const place: StepPlace = { start: NaN, end: NaN };
    st.places.set(`${key}#${n}`, place);
    // A charge made just before in this event: the one of exactly this cost, else the first big enough.
    let j = -1;
    if (r.cpuNs > 0 && c.now === r.t) {
      j = c.ahead.findIndex((a) => a.end - a.at === r.cpuNs);
      if (j < 0) j = c.ahead.findIndex((a) => a.end - a.at >= r.cpuNs);
    }
    if (j >= 0) {
      const a = c.ahead[j]!;
      // Charges skipped over, right before this one, are unnamed work the step waited for.
      let from = a.at;
      for (let i = j - 1; i >= 0 && c.ahead[i]!.end === from && c.ahead[i]!.at === c.ahead[i]!.start; i--) from = c.ahead[i]!.start;
      if (from < a.at) place.before = { start: from, end: a.at };
      place.start = a.at;
      place.end = a.at + r.cpuNs;
      a.at = place.end;
      c.ahead.splice(0, a.at === a.end ? j + 1 : j);
    } else if (r.cpuNs > 0 || c.pending.length > 0) {
      c.pending.push({ rec: { t: r.t, pkt: r.pkt, fn: r.fn, lane: r.lane, dom: r.dom, cpuNs: r.cpuNs }, place });
    } else {
      const busy = cpus.get(k!)!.busyUntil;
      place.start = place.end = busy > r.t ? busy : r.t;
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Traffic with end-to-end latency
// ---------------------------------------------------------------------------------------------

/** Options of rxStream. */
export interface RxStreamOptions {
  /** Receiving guest (name). */
  to: string;
  /** UDP port (default 7000); a socket is bound on the guest if none is. */
  port?: number;
  /** Payload bytes per datagram (default 1472: 1514-byte frames). */
  payload?: number;
  /** Datagrams to send. */
  packets: number;
  /** Gap between two bursts, ns. */
  gapNs: number;
  /** Datagrams sent back to back per burst (default 1). */
  burst?: number;
  /** Virtual time of the first send, ns from now (default 0). */
  startNs?: number;
}

/** A stream from the external host to a guest, with what the guest's socket received. */
export interface RxStream {
  readonly sock: UdpSocket;
  /** Send time of each packet id. */
  readonly sentAt: Map<number, number>;
  /** Datagrams handed to the external host's stack so far. */
  sent: number;
  /** Per delivered datagram, in delivery order: send time, delivery time and latency (ns). */
  readonly delivered: { sentNs: number; deliveredNs: number; latencyNs: number }[];
  /** Latencies (ns) of the delivered datagrams, in delivery order. */
  readonly latenciesNs: number[];
  /**
   * Datagrams of this stream dropped on the way and never delivered, found by the packet id of
   * the `drop` trace events wherever the drop happened (the wire, the NIC's rx ring, netback's vif,
   * any stack's kfree_skb: a flooded copy another guest's ip_rcv threw away counts too). A drop
   * whose component does not know the packet id (the bridge's decision core, netfront's response
   * checks) is not seen here: it stays in sent − delivered − dropped.
   */
  dropped: number;
  /** Where and why each dropped datagram of this stream was dropped (its first drop), by packet id. */
  readonly drops: Map<number, { where: string; reason: string }>;
}

/**
 * Sends `packets` datagrams from the external host to guest `to`, in bursts of `burst` every
 * `gapNs`, and measures each delivered datagram's latency from the sender's `udp_sendmsg` to the
 * moment the guest's `udp_rcv` finished (the socket's CPU-completion time). Resolve ARP first
 * (`rxWarmUp`), or the first datagrams wait for it.
 */
export function rxStream(host: XenHost, o: RxStreamOptions): RxStream {
  if (o === null || typeof o !== 'object') throw new Error('rxStream(opts): opts must be an object');
  const g = host.guest(o.to);
  const port = o.port ?? 7000;
  const payload = o.payload ?? 1472;
  const burst = o.burst ?? 1;
  checkInt('rxStream', 'opts.packets', o.packets, 1, 10_000_000);
  checkInt('rxStream', 'opts.gapNs', o.gapNs, 0, 1e12);
  checkInt('rxStream', 'opts.burst', burst, 1, 100_000);
  checkInt('rxStream', 'opts.port', port, 1, 65535);
  const sock = g.endpoint.socket(port) ?? g.endpoint.bind(port);
  const s: RxStream = { sock, sentAt: new Map(), sent: 0, delivered: [], latenciesNs: [], dropped: 0, drops: new Map() };
  host.sim.trace.on('drop', (r) => {
    const id = r.pkt as number;
    if (id === 0 || !s.sentAt.has(id) || s.drops.has(id)) return;
    s.drops.set(id, { where: r.where as string, reason: r.reason as string });
    s.dropped++;
  });
  sock.onReceive = (k, skb) => {
    const t0 = s.sentAt.get(skb.id);
    if (t0 === undefined) return;
    s.sentAt.delete(skb.id);
    // A copy of it (a flood) may have been dropped elsewhere: it was delivered all the same.
    if (s.drops.delete(skb.id)) s.dropped--;
    const lat = k.lastRxAt - t0;
    s.delivered.push({ sentNs: t0, deliveredNs: k.lastRxAt, latencyNs: lat });
    s.latenciesNs.push(lat);
  };
  const ext = host.external.endpoint;
  const h = host.sim.register(`lab.rxStream.${g.name}.${port}`, () => {
    const now = host.sim.now;
    for (let i = 0; i < burst && s.sent < o.packets; i++) {
      s.sentAt.set(ext.sendUdp(g.ip, port, payload), now);
      s.sent++;
    }
    if (s.sent < o.packets) host.sim.after(o.gapNs, h);
  });
  host.sim.after(o.startNs ?? 0, h);
  return s;
}

/**
 * Prepares the host for clean measurements: static neighbour entries both ways between the
 * external host and every guest (`ip neigh add … nud permanent`, so no ARP exchange shows up in
 * a walk and a guest that cannot receive is still addressable), then one small datagram from the
 * external host to dom0 and one from each guest to the external host (discard port 9), so that
 * xenbr0 has learned every MAC (br_fdb_update) and floods nothing later. Runs the host for 1.1 ms,
 * or longer until xenbr0 knows every guest's MAC and the guests' datagrams have reached the
 * external host (a guest with a slow vCPU sends late); throws if a MAC is still unknown after 1 s.
 */
export function rxWarmUp(host: XenHost): void {
  const ext = host.external.endpoint;
  const extMac = MacAddr.fromBytes(ext.dev.mac).toString();
  if (ext.socket(9) === undefined) ext.bind(9);
  // First the external host talks to dom0 (xenbr0's own address): the bridge learns the client's
  // MAC without flooding anything to the guests.
  const d0 = host.dom0Endpoint;
  if (d0.socket(9) === undefined) d0.bind(9);
  ext.addNeighbour(d0.ip, MacAddr.fromBytes(d0.dev.mac).toString());
  ext.sendUdp(d0.ip, 9, 18);
  host.runFor(MS / 10);
  const sock = ext.socket(9)!;
  const heard = sock.packets + host.guests.length;
  for (const g of host.guests) {
    ext.addNeighbour(g.ip, g.mac);
    g.endpoint.addNeighbour(ext.ip, extMac);
    g.endpoint.sendUdp(ext.ip, 9, 18);
  }
  host.runFor(MS);
  // A guest whose datagram is slow to leave (a busy vCPU) is waited for, 0.1 ms at a time.
  const unknown = () => {
    const known = new Set(host.bridge.fdb().map((r) => String(r.mac)));
    return host.guests.filter((g) => !known.has(g.mac)).map((g) => g.name);
  };
  for (let waited = 0; unknown().length > 0; waited += MS / 10) {
    if (waited >= 1000 * MS) throw new Error(`rxWarmUp: after 1 s xenbr0 has still not learned the MAC of ${unknown().join(', ')}`);
    host.runFor(MS / 10);
  }
  // Let the last warm-up datagram reach the external host.
  for (let waited = 0; sock.packets < heard && waited < 10 * MS; waited += MS / 10) host.runFor(MS / 10);
}

// ---------------------------------------------------------------------------------------------
// The walk of one packet
// ---------------------------------------------------------------------------------------------

/** A `pkt.step` record as the recorder keeps it. */
export interface RxStepRecord {
  t: number;
  pkt: number;
  fn: string;
  lane: string;
  dom: number;
  cpuNs: number;
  detail?: string;
}

/** One row of a packet walk: the step, and when it ran on its CPU. */
export interface RxWalkRow {
  /** 1-based step number. */
  step: number;
  fn: string;
  lane: string;
  dom: number;
  /** Time the step's event ran, ns (the trace time). */
  t: number;
  /** When the step's work started and ended on its CPU, ns (start ≥ t; end = start + cpu_ns). */
  start: number;
  end: number;
  cpu_ns: number;
  detail: string;
  /** False for completion work beside the packet's path (the sender's tx-ring cleanup …). */
  on_path: boolean;
  /** The component of an `other driver work` row (that of the step it follows); rxComponentOf otherwise. */
  component?: string;
}

/**
 * Completion steps: work a packet causes after it has moved on (freeing the sender's resources),
 * which does not delay the packet itself. The 2.6.18 netfront's netif_int handles both rings; it
 * is a completion step only for its tx half (see isCompletionStep).
 */
export const RX_COMPLETION_STEPS: ReadonlySet<string> = new Set([
  'ixgbe_clean_tx_irq', 'xennet_tx_buf_gc', 'network_tx_buf_gc', 'make_tx_response', 'xenvif_zerocopy_callback',
  'xenvif_tx_dealloc_action', 'xenvif_idx_release', 'netif_idx_release', 'net_tx_action_dealloc',
  // the guest's tx completion: the interrupt for netback's tx responses and ending the grants
  'xennet_tx_interrupt', 'gnttab_end_foreign_access_ref',
  // netback unmapping a guest's tx pages once dom0 is done with them (the dealloc batch)
  'gnttab_unmap_refs', 'gnttab_unmap_grant_ref',
]);

/**
 * Whether a step is completion work beside the packet's path: one of RX_COMPLETION_STEPS, or the
 * tx half of 2.6.18's netif_int (netfront's step detail then starts with 'network_tx_buf_gc').
 */
function isCompletionStep(fn: string, detail: string | undefined): boolean {
  const c = CLASSIC_STEP_NAMES;
  if (fn === c.txInterrupt) return detail !== undefined && detail.startsWith(c.txInterruptHalf);
  return RX_COMPLETION_STEPS.has(fn);
}

/**
 * Orders the `pkt.step` records of the packets `pkts` (all records when omitted) into a walk, and
 * places each step on its CPU's timeline.
 *
 * Given a host built with `buildRxLabHost({ stepTimes: true })`, the places come from the CPUs
 * themselves: each step starts where its CPU really began it, and the CPU a driver spent on the
 * packet that no step names (a poll's fixed cost, netfront building the skb, the page remaps of
 * page flipping) appears as a row `other driver work` right after the packet's last step of that
 * charge, so the walk ends when the packet's last step really ended.
 *
 * Without the host the steps of one event run one after another on the CPU of their domain (the
 * external host's steps on its own CPU), as the model's Cpu serves work in submission order, and
 * CPU work no step names is left out (the walk can end earlier than the socket saw the packet);
 * a step that costs nothing (a hand-off, the frame leaving on the wire) starts when the step
 * before it in the same event ended.
 */
export function rxWalk(records: readonly AnyTraceRecord[] | readonly RxStepRecord[], pkts?: readonly number[], host?: XenHost): RxWalkRow[] {
  const times = host === undefined ? undefined : STEP_TIMES.get(host);
  if (host !== undefined && times === undefined) {
    throw new Error('rxWalk(records, pkts, host): this host keeps no CPU timeline; build it with buildRxLabHost({ stepTimes: true }) or leave host out');
  }
  const want = pkts === undefined ? null : new Set(pkts);
  const steps: RxStepRecord[] = [];
  for (const r of records as readonly Record<string, unknown>[]) {
    if ('ev' in r && r.ev !== 'pkt.step') continue;
    const s = r as unknown as RxStepRecord;
    if (want === null || want.has(s.pkt)) steps.push(s);
  }
  steps.sort((a, b) => a.t - b.t); // stable: equal times keep emission order
  const cursor = new Map<string, number>();
  const seen = new Map<string, number>();
  const rows: RxWalkRow[] = [];
  // 'other driver work' rows wait until the steps of their event that ran before them are listed.
  let later: RxWalkRow[] = [];
  for (const s of steps) {
    const on_path = !isCompletionStep(s.fn, s.detail);
    let place: StepPlace | undefined;
    if (times !== undefined) {
      const key = stepKey(s);
      const n = seen.get(key) ?? 0;
      seen.set(key, n + 1);
      place = times.places.get(`${key}#${n}`);
    }
    const cpu = s.lane === 'host' || s.dom < 0 ? 'ext' : String(s.dom);
    const placed = place !== undefined && !Number.isNaN(place.start);
    const at = placed ? place!.start : s.t;
    if (later.length > 0) {
      rows.push(...later.filter((x) => x.t !== s.t || x.start <= at));
      later = later.filter((x) => x.t === s.t && x.start > at);
    }
    const prev = rows.length > 0 ? rows[rows.length - 1]! : undefined;
    let start = s.t;
    if (placed) {
      start = place!.start;
    } else if (s.cpuNs > 0) {
      const c = cursor.get(cpu) ?? 0;
      if (c > start) start = c;
    } else if (prev !== undefined && prev.t === s.t && prev.end > start) {
      // A step that costs nothing runs when the work before it in the same event is done.
      start = prev.end;
    }
    if (s.cpuNs > 0 && start + s.cpuNs > (cursor.get(cpu) ?? 0)) cursor.set(cpu, start + s.cpuNs);
    const b = place?.before;
    if (b !== undefined) {
      rows.push({
        step: 0, fn: 'other driver work', lane: s.lane, dom: s.dom, t: s.t, start: b.start, end: b.end, cpu_ns: b.end - b.start,
        detail: 'CPU charged just before the next step that no step names', on_path, component: rxComponentOf(s.fn, s.lane),
      });
    }
    rows.push({
      step: 0, fn: s.fn, lane: s.lane, dom: s.dom, t: s.t, start, end: start + s.cpuNs,
      cpu_ns: s.cpuNs, detail: s.detail ?? '', on_path,
    });
    const x = place?.extra;
    if (x !== undefined) {
      later.push({
        step: 0, fn: 'other driver work', lane: s.lane === 'xen' ? (s.dom === 0 ? 'dom0' : 'domU') : s.lane, dom: s.dom, t: s.t,
        start: x.start, end: x.end, cpu_ns: x.end - x.start,
        detail: `CPU of the same charge that no step names${x.packets > 1 ? `, shared by ${x.packets} packets` : ''}`,
        on_path, component: rxComponentOf(s.fn, s.lane),
      });
      if (x.end > (cursor.get(cpu) ?? 0)) cursor.set(cpu, x.end);
    }
  }
  rows.push(...later);
  rows.forEach((r, i) => { r.step = i + 1; });
  return rows;
}

/**
 * The component a step belongs to, for charts: the lane, with dom0's netback and domU's netfront
 * apart. netfront is Linux's xennet_* (and napi_gro_receive) or 2.6.18's network_start_xmit,
 * network_tx_buf_gc, netif_int, netif_poll and xennet_get_responses; the guest's
 * netif_receive_skb belongs to its stack.
 */
export function rxComponentOf(fn: string, lane: string): string {
  if (lane === 'dom0' && /^(xenvif_|netbk_|netif_be_|net_rx_action|net_tx_action|make_tx_response|make_rx_response|netif_idx_release)/.test(fn)) return 'netback';
  if (lane === 'domU' && /^(xennet_|napi_gro_receive$|network_|netif_poll$|netif_int$)/.test(fn)) return 'netfront';
  if (lane === 'domU') return 'guest stack';
  if (lane === 'dom0') return 'dom0 stack';
  if (lane === 'host') return 'external host';
  return lane;
}

/** One swimlane interval: a step on its lane, at least `minWidth` wide so zero-cost steps show. */
export interface RxSwimRow {
  lane: string;
  fn: string;
  start_us: number;
  end_us: number;
  cpu_ns: number;
}

/** Swimlane intervals of a walk (times in µs from the first step). */
export function rxSwimlane(walk: readonly RxWalkRow[], minWidthNs = 40): RxSwimRow[] {
  const t0 = walk.length > 0 ? walk[0]!.start : 0;
  return walk.map((w) => ({
    lane: w.lane, fn: w.fn,
    start_us: (w.start - t0) / 1000,
    end_us: (Math.max(w.end, w.start + minWidthNs) - t0) / 1000,
    cpu_ns: w.cpu_ns,
  }));
}

/** Time of a walk by component: CPU work of its steps and the waits before them. */
export interface RxBreakdownRow {
  component: string;
  kind: 'cpu' | 'wait';
  ns: number;
}

/**
 * Splits the time from the first to the last on-path step into CPU work (each step's cost,
 * charged to its component) and waits (the gap before a step: the time the packet waited to
 * reach it — the wire, the NIC's DMA and interrupt moderation, a kthread wake-up, a softirq —
 * charged to the component of the step it waited for). A wait between two Xen domains (dom0 ↔
 * a guest) is the event channel: the notify hypercall, Xen marking the port pending and the
 * upcall into the other domain (also after a step on the 'xen' lane, a hypercall); it is
 * charged to 'xen'. Completion steps are left out.
 * The rows' ns add up to end − start of the walk.
 */
export function rxBreakdown(walk: readonly RxWalkRow[]): RxBreakdownRow[] {
  const path = walk.filter((w) => w.on_path);
  const acc = new Map<string, RxBreakdownRow>();
  const add = (component: string, kind: 'cpu' | 'wait', ns: number) => {
    if (ns <= 0) return;
    const key = `${component}\u0000${kind}`;
    const row = acc.get(key);
    if (row === undefined) acc.set(key, { component, kind, ns });
    else row.ns += ns;
  };
  let prevEnd = path.length > 0 ? path[0]!.start : 0;
  let prevDom = path.length > 0 ? path[0]!.dom : -1;
  let prevXen = false;
  for (const w of path) {
    const comp = w.component ?? rxComponentOf(w.fn, w.lane);
    const gap = w.start - prevEnd;
    const viaXen = w.dom >= 0 && w.lane !== 'xen' && (prevXen || (prevDom >= 0 && prevDom !== w.dom));
    if (gap > 0) add(viaXen ? 'xen' : comp, 'wait', gap);
    // Overlap (a step that starts before the previous one ended on another CPU) is not counted twice.
    const from = w.start > prevEnd ? w.start : prevEnd;
    if (w.end > from) add(comp, 'cpu', w.end - from);
    if (w.end > prevEnd) prevEnd = w.end;
    prevDom = w.dom;
    prevXen = w.lane === 'xen';
  }
  return [...acc.values()];
}

// ---------------------------------------------------------------------------------------------
// Cost per packet
// ---------------------------------------------------------------------------------------------

/** Where the CPU time of a run went, per domain and function, divided by the packets delivered. */
export interface RxCostRow {
  /** Domain name ('Domain-0', the guest's name). */
  domain: string;
  /** Function (from pkt.step), hypercall (from xen.* events) or 'other driver work'. */
  fn: string;
  /** Its component: rxComponentOf() of a step ('netback', 'bridge' …), 'xen' for a hypercall, or 'other driver work'. */
  component: string;
  /** CPU ns per delivered packet. */
  ns_per_pkt: number;
}

/** Hypercalls (and event upcalls) per packet, per domain and operation. */
export interface RxHypercallRow {
  domain: string;
  op: string;
  per_pkt: number;
}

/** Per-domain totals of a measurement. */
export interface RxCostTotal {
  domain: string;
  /** CPU ns per packet (the domain's Cpu.busyNs). */
  ns_per_pkt: number;
  /** Hypercalls the domain made per packet (upcalls excluded). */
  hypercalls_per_pkt: number;
  /** Event upcalls Xen made into the domain per packet. */
  upcalls_per_pkt: number;
}

/** A running measurement; `finish(packets)` divides by the packets delivered. */
export interface RxCostMeter {
  finish(packets: number): { cpu: RxCostRow[]; hypercalls: RxHypercallRow[]; totals: RxCostTotal[] };
}

const HYPERCALL_OPS: Record<string, string> = {
  'xen.gnttab.copy': 'GNTTABOP_copy',
  'xen.gnttab.transfer': 'GNTTABOP_transfer',
  'xen.gnttab.map': 'GNTTABOP_map_grant_ref',
  'xen.gnttab.unmap': 'GNTTABOP_unmap_grant_ref',
  'xen.evtchn.send': 'EVTCHNOP_send',
};

/**
 * Starts measuring the CPU time of dom0 and the given guests (default: every guest): the total
 * from each domain's CPU (busy time), split into the `pkt.step` costs by function, the hypercalls
 * (from the xen.* events: their `costNs`, or hypercall_ns + evtchn_send_ns for a send) and the
 * rest, 'other driver work' — CPU no step names (interrupt handlers, ring bookkeeping, posting
 * buffers, page remaps). Hypercalls per packet come from each domain's hypercall counter, which
 * Xen also bumps for an event upcall: upcalls (xen.evtchn.upcall events) are taken out and shown
 * as their own row; the untraced rest (XENMEM_decrease_reservation of page flipping, EVTCHNOP_unmask
 * …) is 'other hypercalls'.
 */
export function rxCostMeter(host: XenHost, guests?: readonly string[]): RxCostMeter {
  const doms = [{ name: 'Domain-0', domid: 0, cpu: host.dom0.cpu }];
  for (const g of host.guests) {
    if (guests === undefined || guests.includes(g.name)) doms.push({ name: g.name, domid: g.domid, cpu: g.stack.cpu });
  }
  const busy0 = doms.map((d) => d.cpu.busyNs);
  const hc0 = doms.map((d) => host.hv.domainById(d.domid).hypercalls);
  const steps = host.sim.trace.record('pkt.step');
  const xen = host.sim.trace.record('xen.');
  const sendNs = Number(host.params.get('xen.hypercall_ns')) + Number(host.params.get('xen.evtchn_send_ns'));
  return {
    finish(packets: number) {
      steps.stop();
      xen.stop();
      if (!(Number.isInteger(packets) && packets > 0)) throw new Error(`RxCostMeter.finish(packets): ${packets} is not allowed; use the number of packets delivered (> 0)`);
      const cpu: RxCostRow[] = [];
      const hypercalls: RxHypercallRow[] = [];
      const totals: RxCostTotal[] = [];
      doms.forEach((d, i) => {
        const total = d.cpu.busyNs - busy0[i]!;
        const hcTotal = host.hv.domainById(d.domid).hypercalls - hc0[i]!;
        const byFn = new Map<string, number>();
        const compOf = new Map<string, string>();
        for (const r of steps.records as unknown as RxStepRecord[]) {
          // Hypercall steps (lane 'xen') are counted from Xen's own records below.
          if (r.dom !== d.domid || r.cpuNs <= 0 || r.lane === 'host' || r.lane === 'xen') continue;
          byFn.set(r.fn, (byFn.get(r.fn) ?? 0) + r.cpuNs);
          if (!compOf.has(r.fn)) compOf.set(r.fn, rxComponentOf(r.fn, r.lane));
        }
        const byOp = new Map<string, { n: number; ns: number }>();
        let upcalls = 0;
        for (const r of xen.records as unknown as Record<string, unknown>[]) {
          if (r.dom !== d.domid) continue;
          if (r.ev === 'xen.evtchn.upcall') { upcalls++; continue; }
          const op = HYPERCALL_OPS[String(r.ev)];
          if (op === undefined) continue;
          const ns = r.ev === 'xen.evtchn.send' ? sendNs : Number(r.costNs ?? 0);
          const e = byOp.get(op) ?? { n: 0, ns: 0 };
          e.n++;
          e.ns += ns;
          byOp.set(op, e);
        }
        let named = 0;
        for (const [fn, ns] of byFn) {
          cpu.push({ domain: d.name, fn, component: compOf.get(fn)!, ns_per_pkt: ns / packets });
          named += ns;
        }
        let traced = 0;
        for (const [op, e] of byOp) {
          cpu.push({ domain: d.name, fn: `${op} (Xen)`, component: 'xen', ns_per_pkt: e.ns / packets });
          hypercalls.push({ domain: d.name, op, per_pkt: e.n / packets });
          named += e.ns;
          traced += e.n;
        }
        if (total - named > 0) cpu.push({ domain: d.name, fn: 'other driver work', component: 'other driver work', ns_per_pkt: (total - named) / packets });
        const other = hcTotal - upcalls - traced;
        if (other > 0) hypercalls.push({ domain: d.name, op: 'other hypercalls', per_pkt: other / packets });
        if (upcalls > 0) hypercalls.push({ domain: d.name, op: 'event upcalls', per_pkt: upcalls / packets });
        totals.push({ domain: d.name, ns_per_pkt: total / packets, hypercalls_per_pkt: (hcTotal - upcalls) / packets, upcalls_per_pkt: upcalls / packets });
      });
      return { cpu, hypercalls, totals };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Over time
// ---------------------------------------------------------------------------------------------

/**
 * Calls `sample(t)` every `periodNs` of virtual time from now until `untilNs` (absolute),
 * inclusive of both ends. Use it to sample queue lengths while the host runs.
 */
export function sampleEvery(host: XenHost, periodNs: number, untilNs: number, sample: (t: number) => void): void {
  if (!(Number.isInteger(periodNs) && periodNs > 0)) throw new Error(`sampleEvery(periodNs): ${periodNs} is not allowed; use an integer number of ns > 0`);
  if (!(Number.isInteger(untilNs) && untilNs >= host.sim.now)) throw new Error(`sampleEvery(untilNs): ${untilNs} is not allowed; use an integer time ≥ now (${host.sim.now})`);
  const h = host.sim.register('lab.sample', () => {
    sample(host.sim.now);
    if (host.sim.now + periodNs <= untilNs) host.sim.after(periodNs, h);
  });
  host.sim.after(0, h);
}

/**
 * Drops per time bin and reason, from `drop` trace records (times relative to `t0`; only drops
 * whose `where` contains `where`, when given). With `bins`, every bin 0..bins-1 gets a row (0
 * drops) for every reason seen, so a chart shows the quiet stretches too.
 */
export function dropTimeline(records: readonly AnyTraceRecord[], binNs: number, t0 = 0, where?: string, bins?: number): { t_ms: number; reason: string; drops: number }[] {
  if (!(binNs > 0)) throw new Error(`dropTimeline(binNs): ${binNs} is not allowed; use a bin width in ns > 0`);
  if (bins !== undefined && !(Number.isInteger(bins) && bins >= 0 && bins <= 100_000)) {
    throw new Error(`dropTimeline(bins): ${bins} is not allowed; use an integer number of bins in 0..100000`);
  }
  const acc = new Map<string, { t_ms: number; reason: string; drops: number }>();
  const reasons = new Set<string>();
  for (const r of records as readonly Record<string, unknown>[]) {
    if (r.ev !== 'drop') continue;
    if (where !== undefined && !String(r.where).includes(where)) continue;
    const bin = Math.floor((Number(r.t) - t0) / binNs);
    const reason = String(r.reason);
    reasons.add(reason);
    const key = `${bin}\u0000${reason}`;
    const row = acc.get(key);
    if (row === undefined) acc.set(key, { t_ms: (bin * binNs) / 1e6, reason, drops: 1 });
    else row.drops++;
  }
  if (bins !== undefined) {
    for (let b = 0; b < bins; b++) {
      for (const reason of reasons) {
        const key = `${b}\u0000${reason}`;
        if (!acc.has(key)) acc.set(key, { t_ms: (b * binNs) / 1e6, reason, drops: 0 });
      }
    }
  }
  return [...acc.values()].sort((a, b) => a.t_ms - b.t_ms || (a.reason < b.reason ? -1 : 1));
}
