/**
 * Helpers of the throughput lab (notebooks/06-throughput.ipynb): an offered-load generator that
 * runs on the sender's own CPU, a measurement window, and the utilisation of every CPU and of
 * both directions of the wire over that window — so a chart can say which resource saturates.
 *
 * Nothing here changes the model. Every number comes from a UDP socket's counters, the drop
 * counters, the `Cpu` objects' busy time (src/sim/cpu.ts) and the wire's per-direction counters
 * (src/net/link.ts), all in virtual time.
 *
 *   const run = runLoadPoint({ direction: 'tx', design: 'modern', offeredPps: 300_000 });
 *   run.point.delivered_pps          // what reached the client's socket, per virtual second
 *   run.point.bottleneck             // e.g. 'dom0 CPU'
 *   run.utilisation                  // one row per CPU / wire direction
 *
 * | helper             | reads                                               | gives                         |
 * | ------------------ | --------------------------------------------------- | ----------------------------- |
 * | `hostResources`    | the host's CPUs and wire                            | what can be busy              |
 * | `workDoneNs`       | a resource's busy ns and busy-until time            | work finished by a time       |
 * | `utilisationMeter` | the resources, over an interval                     | utilisation rows              |
 * | `frameSizes`       | a UDP payload size                                  | IP, frame and wire bytes      |
 * | `lineRatePps`      | a payload size and a line rate                      | frames/s the wire can carry   |
 * | `runLoadPoint`     | a host (new or reused), a paced UDP flow, a window  | one point of a sweep          |
 * | `bottleneckOf`     | utilisation rows, the path's order                  | the limiting resource         |
 * | `sweepRows`        | load points                                         | long rows for line charts     |
 * | `costParts`        | `dom0CpuByStep` rows (lab 01)                       | CPU ns per packet by part     |
 * | `binSum`           | trace records of one event                          | a time series in bins         |
 *
 * Busy time. A `Cpu` counts work when it is submitted (`busyNs`) and serves it in order until
 * `busyUntil`; every CPU of the model submits at the current virtual time, so the work still to
 * be done at time t is exactly `busyUntil − t` when positive, and the work *done* by t is
 * `busyNs − max(0, busyUntil − t)`. A saturated CPU therefore reads 100 %, never more. The wire
 * serialises frames the same way (`busyNs`, `busyUntil` per direction); a frame may start a DMA
 * latency after it was handed over, so its figure can be low by at most that gap (< 1 µs) per
 * window.
 *
 * Directions are the guest's: 'tx' is guest → client, 'rx' is client → guest.
 */
import { Params, type Overrides } from '../params';
import { NIC_PARAMS, wireTimeNs } from '../net/costs';
import type { Cpu } from '../sim/cpu';
import type { AnyTraceRecord } from '../sim/trace';
import type { DropRow } from '../sim/drops';
import type { UdpSocket, IpEndpoint } from '../net/endpoint';
import type { Guest, XenHost } from './host';
import { buildRxLabHost, rxWarmUp, rxComponentOf } from './lab-rx';
import type { CpuStepRow } from './lab-tx';
import { checkNumber } from '../wire/error';

function fail(fn: string, what: string): never {
  throw new Error(`${fn}: ${what}`);
}

// ---------------------------------------------------------------------------------------------
// What can be busy
// ---------------------------------------------------------------------------------------------

/** A CPU or one direction of the wire: anything that serves work one piece after another. */
export interface BusyResource {
  /** Display name: 'web vCPU', 'dom0 CPU', 'client CPU', 'wire dom0→client', 'wire client→dom0'. */
  readonly name: string;
  readonly kind: 'cpu' | 'link';
  /** Total ns of work submitted so far. */
  busyNs(): number;
  /** Virtual time at which the work submitted so far is finished. */
  busyUntil(): number;
}

/** A Cpu as a BusyResource. */
function cpuResource(name: string, cpu: Cpu): BusyResource {
  return { name, kind: 'cpu', busyNs: () => cpu.busyNs, busyUntil: () => cpu.busyUntil };
}

/**
 * The resources of a host: each guest's vCPU (`<guest> vCPU`), dom0's CPU, the external host's
 * CPU (`<client> CPU`), and the wire in each direction (end 0 is dom0's NIC).
 */
export function hostResources(host: XenHost): BusyResource[] {
  if (host === null || typeof host !== 'object' || !Array.isArray((host as XenHost).guests)) {
    fail('hostResources', 'host must be a XenHost from buildXenHost');
  }
  const ext = host.external;
  const out = host.guests.map((g) => cpuResource(`${g.name} vCPU`, g.stack.cpu));
  out.push(cpuResource('dom0 CPU', host.dom0.cpu), cpuResource(`${ext.name} CPU`, ext.stack.cpu));
  const wire = host.wire;
  const stats0 = host.sim.counters.get(`${wire.name}.dir0`);
  const stats1 = host.sim.counters.get(`${wire.name}.dir1`);
  out.push(
    { name: `wire dom0→${ext.name}`, kind: 'link', busyNs: () => stats0.busyNs!, busyUntil: () => wire.busyUntil(0) },
    { name: `wire ${ext.name}→dom0`, kind: 'link', busyNs: () => stats1.busyNs!, busyUntil: () => wire.busyUntil(1) },
  );
  return out;
}

/**
 * Work finished by virtual time `now`: everything submitted (`busyNs`) except what is still
 * queued (`busyUntil − now` when positive). See the file comment.
 */
export function workDoneNs(busyNs: number, busyUntil: number, now: number): number {
  checkNumber('workDoneNs', 'busyNs', busyNs, 0, Number.MAX_VALUE);
  checkNumber('workDoneNs', 'busyUntil', busyUntil, 0, Number.MAX_VALUE);
  checkNumber('workDoneNs', 'now', now, 0, Number.MAX_VALUE);
  const pending = busyUntil > now ? busyUntil - now : 0;
  return Math.max(0, busyNs - pending);
}

/** One resource over one interval. */
export interface UtilisationRow {
  resource: string;
  kind: 'cpu' | 'link';
  /** Work done in the interval, ns. */
  busy_ns: number;
  /** Length of the interval, ns. */
  elapsed_ns: number;
  /** busy_ns / elapsed_ns, in 0..1 (4 decimals). */
  utilisation: number;
}

/** Measures utilisation from `start()` (or creation) to `read()`. */
export interface UtilisationMeter {
  readonly resources: readonly BusyResource[];
  /** Starts a new interval now. */
  start(): void;
  /** One row per resource for the interval from the last start() to now. */
  read(): UtilisationRow[];
}

/** A meter over `resources` (default: `hostResources(host)`), started now. */
export function utilisationMeter(host: XenHost, resources?: readonly BusyResource[]): UtilisationMeter {
  const res = resources ?? hostResources(host);
  if (!Array.isArray(res) || res.length === 0) fail('utilisationMeter', 'resources must be a non-empty array of BusyResource');
  let t0 = 0;
  let done0: number[] = [];
  const meter: UtilisationMeter = {
    resources: res,
    start() {
      t0 = host.sim.now;
      done0 = res.map((r) => workDoneNs(r.busyNs(), r.busyUntil(), t0));
    },
    read() {
      const now = host.sim.now;
      const elapsed = now - t0;
      return res.map((r, i) => {
        const busy = workDoneNs(r.busyNs(), r.busyUntil(), now) - done0[i]!;
        const u = elapsed > 0 ? Math.min(1, Math.max(0, busy / elapsed)) : 0;
        return { resource: r.name, kind: r.kind, busy_ns: Math.round(busy), elapsed_ns: elapsed, utilisation: Math.round(u * 1e4) / 1e4 };
      });
    },
  };
  meter.start();
  return meter;
}

// ---------------------------------------------------------------------------------------------
// Sizes and line rate
// ---------------------------------------------------------------------------------------------

/** Byte counts of one UDP datagram of `payload` bytes on Ethernet. */
export interface FrameSizes {
  payload: number;
  /** IPv4 packet: payload + 8 (UDP) + 20 (IP). */
  ip: number;
  /** Ethernet frame as the NIC hands it over (14-byte header, padded to 60), FCS excluded. */
  frame: number;
  /** On the wire: frame + FCS (4) + preamble, SFD and inter-frame gap (20) — `nic.*` defaults. */
  wire: number;
}

/** The NIC parameters' defaults (FCS, preamble and gap, 10 GbE). */
const NIC_DEFAULTS = Params.defaults().group(NIC_PARAMS);

/** Sizes of a UDP datagram with `payload` bytes (0..1472). */
export function frameSizes(payload: number, fcsBytes = NIC_DEFAULTS.fcs_bytes, preambleIfgBytes = NIC_DEFAULTS.preamble_ifg_bytes): FrameSizes {
  checkNumber('frameSizes', 'payload', payload, 0, 1472, true);
  const ip = payload + 28;
  const frame = Math.max(60, ip + 14);
  return { payload, ip, frame, wire: frame + fcsBytes + preambleIfgBytes };
}

/** Frames per second a link of `lineRateBps` carries back to back with `payload`-byte datagrams. */
export function lineRatePps(payload: number, lineRateBps = NIC_DEFAULTS.line_rate_bps): number {
  checkNumber('lineRatePps', 'lineRateBps', lineRateBps, 1, 1e13);
  return 1e9 / wireTimeNs(frameSizes(payload).frame, { ...NIC_DEFAULTS, line_rate_bps: lineRateBps });
}

// ---------------------------------------------------------------------------------------------
// One point of a load sweep
// ---------------------------------------------------------------------------------------------

/** Options of runLoadPoint. */
export interface LoadPointOptions {
  /** 'tx': the guest sends to the client; 'rx': the client sends to the guest. */
  direction: 'tx' | 'rx';
  /** Netback design of the guest's vif; its netfront runs the same design (default 'modern'). */
  design?: 'modern' | 'classic';
  /** Datagrams per virtual second the sending application tries to send. */
  offeredPps: number;
  /** UDP payload bytes (default 1472: 1500-byte IP packets, 1514-byte frames). */
  payload?: number;
  /** Virtual time the flow runs before the window opens, ns (default 1 ms). */
  warmupNs?: number;
  /** Length of the measurement window, ns (default 2 ms). */
  windowNs?: number;
  seed?: number;
  /** Parameter overrides of the host (e.g. `{ 'nic.line_rate_bps': 1e9 }`). */
  params?: Overrides;
  /**
   * Credit-based rate limit of the guest's transmit: the toolstack writes the vif's backend `rate`
   * key as "bytes,usec" (xl's `rate=` vif option) — at vif creation on a new host, before the flow
   * on a reused one (modern netback follows the change; a classic one reads it only at connect, so
   * a reused classic host must keep its rate).
   */
  rate?: { bytes: number; usec: number };
  /** Trace events to record during the window (trace.on patterns, e.g. ['pkt.step', 'xen.gnttab.']). */
  record?: readonly string[];
  /**
   * At most this many datagrams in flight (sent, not yet at the receiving socket); default
   * unlimited (open loop). A window below the smallest queue on the path (the 256-slot rings)
   * measures what the path can carry without overflowing a queue, as src/bench/fullpath.ts does.
   */
  window?: number;
  /** Guest name (default 'guest'). */
  guest?: string;
  /**
   * Run on the host of an earlier run instead of building a new one (its design, seed, params and
   * guest are kept; those options are ignored). The earlier run drained before it returned, so
   * the new flow starts on an idle host — one host per curve saves building one per point.
   */
  reuse?: LoadRun;
}

/** One sweep point: the flow over the measurement window. */
export interface LoadPoint {
  direction: 'tx' | 'rx';
  design: 'modern' | 'classic';
  payload: number;
  /** Ethernet frame bytes (FCS excluded). */
  frame_bytes: number;
  offered_pps: number;
  /** offered_pps in wire Gbit/s (frames + FCS + preamble + gap). */
  offered_gbps: number;
  /** Datagrams due in the window by the offered schedule. */
  attempted: number;
  /** Datagrams the application actually sent in the window (fewer when its CPU is saturated). */
  sent: number;
  /** Datagrams that reached the receiving socket in the window. */
  delivered: number;
  delivered_pps: number;
  /** Delivered rate in wire Gbit/s (what a 10 GbE line rate of 10 means). */
  delivered_gbps: number;
  /** Delivered UDP payload bits per second, Gbit/s. */
  goodput_gbps: number;
  /** Packets the model counted as dropped in the window (any place, any reason). */
  dropped: number;
  /**
   * The resource that limits the flow: the last one along the path (sender's CPU, …, receiver's
   * CPU) that is saturated (≥ SATURATED), or 'none' when nothing is; and its utilisation (for
   * 'none': the highest utilisation of any resource).
   */
  bottleneck: string;
  bottleneck_utilisation: number;
  /** Utilisation per resource name (0..1). */
  util: Record<string, number>;
}

/** A load point with the objects behind it, for further inspection. */
export interface LoadRun {
  point: LoadPoint;
  host: XenHost;
  guest: Guest;
  /** The receiving socket (the client's in 'tx', the guest's in 'rx'). */
  sock: UdpSocket;
  /** Utilisation of every resource over the window. */
  utilisation: UtilisationRow[];
  /** Drops in the window by place and reason. */
  drops: DropRow[];
  /** Records of `record` patterns during the window. */
  records: AnyTraceRecord[];
  /** CPU ns submitted on each CPU during the window (Cpu.busyNs after − before), by resource name. */
  cpuNs: Record<string, number>;
  /** Virtual time the window opened and closed. */
  windowStart: number;
  windowEnd: number;
}

const PORT = 9000;

/** Utilisation from which a resource counts as saturated. */
export const SATURATED = 0.97;

/** Resource names along the path of a flow, from the sending application to the receiving one. */
export function pathOrder(direction: 'tx' | 'rx', guest = 'guest', client = 'client'): string[] {
  if (direction !== 'tx' && direction !== 'rx') fail('pathOrder', `direction '${String(direction)}' is not allowed; use 'tx' or 'rx'`);
  const tx = [`${guest} vCPU`, 'dom0 CPU', `wire dom0→${client}`, `${client} CPU`];
  return direction === 'tx' ? tx : [`${client} CPU`, `wire ${client}→dom0`, 'dom0 CPU', `${guest} vCPU`];
}

/**
 * The limiting resource of a flow: the last resource along `path` whose utilisation is at least
 * SATURATED. Resources before it may be saturated too (a sender CPU that keeps trying), but what
 * passes the last saturated one is what arrives. 'none' when no resource on the path is saturated.
 */
export function bottleneckOf(rows: readonly UtilisationRow[], path: readonly string[]): { resource: string; utilisation: number } {
  if (!Array.isArray(rows)) fail('bottleneckOf', 'rows must be an array of UtilisationRow');
  const byName = new Map(rows.map((r) => [r.resource, r.utilisation]));
  for (let i = path.length - 1; i >= 0; i--) {
    const u = byName.get(path[i]!);
    if (u !== undefined && u >= SATURATED) return { resource: path[i]!, utilisation: u };
  }
  return { resource: 'none', utilisation: rows.reduce((m, r) => Math.max(m, r.utilisation), 0) };
}
/** Virtual time a drain may take at most, ns. */
const DRAIN_MAX_NS = 200_000_000;

/**
 * Runs the host after a flow stopped until every datagram sent was delivered or dropped (`done`)
 * and every CPU and the wire are idle, so that the host can carry the next point.
 */
function drain(fn: string, host: XenHost, done: () => boolean): void {
  const res = hostResources(host);
  const idle = (): boolean => done() && res.every((r) => r.busyUntil() <= host.sim.now);
  const limit = host.sim.now + DRAIN_MAX_NS;
  while (!idle()) {
    if (host.sim.now >= limit) fail(fn, `the host did not drain within ${DRAIN_MAX_NS / 1e6} ms after the flow stopped (datagrams unaccounted for)`);
    host.runFor(100_000);
  }
}

/** How often a sender whose window is full looks again, ns. */
const WINDOW_POLL_NS = 1000;

/**
 * Builds a bridged host (`buildRxLabHost`: the guest's netfront runs its vif's design), resolves
 * ARP and fills the bridge's fdb (`rxWarmUp`) — or takes the drained host of `reuse` — then runs a
 * paced UDP flow in `direction` at `offeredPps`, measures a window of `windowNs` after `warmupNs`,
 * stops the flow and runs the host until every datagram sent was delivered or counted as a drop
 * (it throws if that takes more than 200 ms of virtual time: a datagram went missing).
 *
 * The sending application runs on its own CPU (the guest's vCPU for 'tx', the client's CPU for
 * 'rx'): it sends the next due datagram only when that CPU has finished the work queued on it
 * (the model's CPUs are not preemptive), so when the CPU saturates the application falls behind
 * the offered schedule — `sent` < `attempted` — instead of piling up work without bound. Nothing
 * else throttles it: a full queue downstream drops (qdisc_full, rx_queue_full, …), as an open-loop
 * UDP sender sees on Linux.
 */
export function runLoadPoint(o: LoadPointOptions): LoadRun {
  const fn = 'runLoadPoint';
  if (o === null || typeof o !== 'object') fail(fn, 'options must be an object {direction, offeredPps}');
  if (o.direction !== 'tx' && o.direction !== 'rx') fail(fn, `direction '${String(o.direction)}' is not allowed; use 'tx' or 'rx'`);
  const design = o.design ?? 'modern';
  if (o.reuse === undefined && design !== 'modern' && design !== 'classic') fail(fn, `design '${String(design)}' is not allowed; use 'modern' or 'classic'`);
  const offered = checkNumber(fn, 'offeredPps', o.offeredPps, 1, 100e6);
  const payload = checkNumber(fn, 'payload', o.payload ?? 1472, 0, 1472, true);
  const window = o.window === undefined ? Infinity : checkNumber(fn, 'window', o.window, 1, 1_000_000, true);
  const warmupNs = checkNumber(fn, 'warmupNs', o.warmupNs ?? 1_000_000, 0, 1e10, true);
  const windowNs = checkNumber(fn, 'windowNs', o.windowNs ?? 2_000_000, 1000, 1e10, true);
  if (o.rate !== undefined) {
    if (o.rate === null || typeof o.rate !== 'object') fail(fn, 'rate must be an object {bytes, usec}');
    checkNumber(fn, 'rate.bytes', o.rate.bytes, 1, Number.MAX_SAFE_INTEGER, true);
    checkNumber(fn, 'rate.usec', o.rate.usec, 1, 1e9, true);
  }
  let host: XenHost;
  let g: Guest;
  if (o.reuse !== undefined) {
    if (o.reuse === null || typeof o.reuse !== 'object' || !(o.reuse.host && o.reuse.guest)) fail(fn, 'reuse must be a LoadRun returned by runLoadPoint');
    host = o.reuse.host;
    g = o.reuse.guest;
  } else {
    host = buildRxLabHost({ seed: o.seed ?? 1, params: o.params, guests: [{ name: o.guest ?? 'guest', design, rate: o.rate }] });
    rxWarmUp(host);
    g = host.guest(o.guest ?? 'guest');
  }
  const vifDesign = g.vif.design;
  const ext = host.external;
  const sim = host.sim;
  const ratePath = `${g.backendPath}/rate`;
  const rateKey = o.rate === undefined ? undefined : `${o.rate.bytes},${o.rate.usec}`;
  if (host.hv.xenstore.read(ratePath) !== rateKey) {
    if (vifDesign === 'classic') {
      fail(fn, `rate ${rateKey ?? 'none'} differs from the reused host's (${host.hv.xenstore.read(ratePath) ?? 'none'}); a classic (2.6.18) netback reads the rate only when it connects — run this point without reuse`);
    }
    // The toolstack sets (or clears) the limit; the watch fires xen_net_rate_changed.
    if (rateKey === undefined) host.hv.xenstore.rm(ratePath);
    else host.hv.xenstore.write(ratePath, rateKey);
    host.runFor(1000);
  }

  const tx = o.direction === 'tx';
  const sender: IpEndpoint = tx ? g.endpoint : ext.endpoint;
  const senderCpu: Cpu = tx ? g.stack.cpu : ext.stack.cpu;
  const dst = tx ? ext.endpoint.ip : g.ip;
  const rcv = tx ? ext.endpoint : g.endpoint;
  const sock = rcv.socket(PORT) ?? rcv.bind(PORT);
  const sock0 = sock.packets;
  const dropsBefore = sim.drops.total();

  // The offered schedule: datagram i is due at t0 + i / offered.
  const t0 = sim.now;
  const period = 1e9 / offered;
  const due = (i: number): number => t0 + Math.round(i * period);
  let sent = 0;
  let stopped = false;
  const hSend = sim.register(`lab.perf.sender.${o.direction}`, () => {
    if (stopped) return;
    const now = sim.now;
    const open = sent - (sock.packets - sock0) < window;
    if (open && senderCpu.busyUntil <= now && due(sent) <= now) {
      sender.sendUdp(dst, PORT, payload);
      sent++;
    }
    // Next try: when the next datagram is due and the CPU is free; a closed window is polled.
    const next = open ? Math.max(due(sent), senderCpu.busyUntil, now + 1) : now + WINDOW_POLL_NS;
    sim.at(next, hSend);
  });
  sim.at(t0, hSend);
  host.runFor(warmupNs);

  // The window.
  const resources = hostResources(host);
  const cpus = resources.filter((r) => r.kind === 'cpu');
  const meter = utilisationMeter(host, resources);
  const cpu0 = cpus.map((r) => r.busyNs());
  const got0 = sock.packets;
  const sent0 = sent;
  const drops0 = new Map(sim.drops.table().map((d) => [`${d.where}\u0000${d.reason}`, d]));
  const records: AnyTraceRecord[] = [];
  const stops = (o.record ?? []).map((p) => sim.trace.on(p as never, (r: AnyTraceRecord) => { records.push({ ...r }); }));
  const ws = sim.now;
  host.runFor(windowNs);
  const we = sim.now;
  for (const stop of stops) stop();
  stopped = true;

  const utilisation = meter.read();
  const cpuNs: Record<string, number> = {};
  cpus.forEach((r, i) => { cpuNs[r.name] = r.busyNs() - cpu0[i]!; });
  const drops: DropRow[] = [];
  for (const d of sim.drops.table()) {
    const before = drops0.get(`${d.where}\u0000${d.reason}`);
    const packets = d.packets - (before?.packets ?? 0);
    if (packets > 0) drops.push({ where: d.where, reason: d.reason, packets, bytes: d.bytes - (before?.bytes ?? 0) });
  }
  const sizes = frameSizes(payload);
  const delivered = sock.packets - got0;
  const seconds = (we - ws) / 1e9;
  const util: Record<string, number> = {};
  for (const u of utilisation) util[u.resource] = u.utilisation;
  const neck = bottleneckOf(utilisation, pathOrder(o.direction, g.name, ext.name));
  const attempted = Math.floor((we - t0) / period) - Math.floor((ws - t0) / period);
  const gbps = (pps: number, bytes: number): number => Math.round(pps * bytes * 8 / 1e6) / 1e3;
  const deliveredPps = Math.round(delivered / seconds);
  const point: LoadPoint = {
    direction: o.direction, design: vifDesign, payload, frame_bytes: sizes.frame,
    offered_pps: offered, offered_gbps: gbps(offered, sizes.wire),
    attempted, sent: sent - sent0, delivered,
    delivered_pps: deliveredPps, delivered_gbps: gbps(deliveredPps, sizes.wire), goodput_gbps: gbps(deliveredPps, payload),
    dropped: drops.reduce((s, d) => s + d.packets, 0),
    bottleneck: neck.resource, bottleneck_utilisation: neck.utilisation, util,
  };
  drain(fn, host, () => (sock.packets - sock0) + (sim.drops.total() - dropsBefore) >= sent);
  return { point, host, guest: g, sock, utilisation, drops, records, cpuNs, windowStart: ws, windowEnd: we };
}

/** One row per (point, resource): for a utilisation line chart against offered load or size. */
export interface SweepUtilRow {
  design: string;
  direction: string;
  offered_pps: number;
  offered_kpps: number;
  payload: number;
  frame_bytes: number;
  resource: string;
  /** Utilisation in percent. */
  busy_pct: number;
}

/** Flattens load points into rows for charts (utilisation per resource per point). */
export function sweepRows(points: readonly LoadPoint[]): SweepUtilRow[] {
  if (!Array.isArray(points)) fail('sweepRows', 'points must be an array of LoadPoint');
  const out: SweepUtilRow[] = [];
  for (const p of points) {
    for (const [resource, u] of Object.entries(p.util)) {
      out.push({
        design: p.design, direction: p.direction, offered_pps: p.offered_pps, offered_kpps: Math.round(p.offered_pps / 100) / 10,
        payload: p.payload, frame_bytes: p.frame_bytes, resource, busy_pct: Math.round((u as number) * 1000) / 10,
      });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Where a CPU's time goes, by part of the path
// ---------------------------------------------------------------------------------------------

/** CPU ns per packet of one part of the path (netback, bridge, a hypercall, …). */
export interface CostPartRow {
  part: string;
  ns_per_packet: number;
}

/**
 * Groups `dom0CpuByStep` rows (lab 01) into parts of the path for a stacked bar: steps by
 * `rxComponentOf` (netback, dom0 stack, bridge, nic, …), each grant-table hypercall by its name
 * (GNTTABOP_copy, GNTTABOP_map_grant_ref, …), and the `other` row (interrupt entry, softirq and
 * kthread scheduling, event-channel sends) as 'other (irq, scheduling)'. Parts keep the order of
 * first appearance; ns are rounded to 0.1.
 */
export function costParts(rows: readonly CpuStepRow[]): CostPartRow[] {
  if (!Array.isArray(rows)) fail('costParts', 'rows must be an array of dom0CpuByStep rows');
  const parts = new Map<string, number>();
  for (const r of rows) {
    const part = r.fn === 'other' && r.calls === 0 ? 'other (irq, scheduling)' : r.lane === 'xen' ? r.fn : rxComponentOf(r.fn, r.lane);
    parts.set(part, (parts.get(part) ?? 0) + r.cpu_ns_per_packet);
  }
  return [...parts].map(([part, ns]) => ({ part, ns_per_packet: Math.round(ns * 10) / 10 }));
}

// ---------------------------------------------------------------------------------------------
// Time series from trace records
// ---------------------------------------------------------------------------------------------

/** Options of binSum. */
export interface BinOptions {
  /** Trace event name (exact). */
  ev: string;
  /** Numeric field to add up per bin; default: count records. */
  field?: string;
  /** Bin width, ns. */
  binNs: number;
  /** Start of the first bin (virtual ns). */
  start: number;
  /** End of the last bin (virtual ns, exclusive). */
  end: number;
}

/**
 * Adds up `field` (or counts records) of event `ev` per bin of `binNs` over [start, end): one row
 * per bin, empty bins included, `t_us` the bin's start relative to `start`.
 */
export function binSum(records: readonly AnyTraceRecord[], o: BinOptions): { t_us: number; value: number }[] {
  const fn = 'binSum';
  if (!Array.isArray(records)) fail(fn, 'records must be an array of trace records');
  if (o === null || typeof o !== 'object' || typeof o.ev !== 'string') fail(fn, 'options must be an object {ev, binNs, start, end}');
  checkNumber(fn, 'binNs', o.binNs, 1, 1e12, true);
  checkNumber(fn, 'start', o.start, 0, Number.MAX_SAFE_INTEGER);
  checkNumber(fn, 'end', o.end, o.start, Number.MAX_SAFE_INTEGER);
  const bins = Math.ceil((o.end - o.start) / o.binNs);
  if (bins > 100_000) fail(fn, `${bins} bins is too many; use a bin width of at least ${Math.ceil((o.end - o.start) / 100_000)} ns`);
  const sums = new Array<number>(bins).fill(0);
  for (const r of records) {
    if (r.ev !== o.ev || r.t < o.start || r.t >= o.end) continue;
    const v = o.field === undefined ? 1 : Number(r[o.field]);
    if (Number.isFinite(v)) sums[Math.floor((r.t - o.start) / o.binNs)]! += v;
  }
  return sums.map((value, i) => ({ t_us: Math.round((i * o.binNs) / 10) / 100, value }));
}
