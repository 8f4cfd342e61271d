/**
 * Shared driver of the full-path figures (src/bench/tx.ts, src/bench/rx.ts): one Xen host from
 * `buildXenHost`, a UDP flow of 1500-byte IP packets through every modeled step, and the in-run
 * baseline. Not an area of its own (src/bench/main.ts only runs the files it lists).
 *
 *   tx: guest endpoint.sendUdp ─► netfront ─► ring ─► netback ─► dom0 stack ─► xenbr0 ─► ixgbe
 *       ─► wire ─► external host's NIC ─► its stack ─► UDP socket (counted here)
 *   rx: external host sendUdp ─► its NIC ─► wire ─► ixgbe ─► dom0 stack ─► xenbr0 ─► vif
 *       ─► netback guest-rx ─► ring ─► netfront ─► guest stack ─► UDP socket (counted here)
 *
 * Offered load. A "pump" event (one registered handler, rescheduled every `periodNs` of virtual
 * time) sends up to `batch` datagrams per run, but never more than `window` in flight (sent and
 * not yet received at the far socket) and never into a stopped device queue (netif_queue_stopped:
 * the sender waits for the next pump run instead of filling the qdisc). The window is below the
 * smallest queue on the path (256 ring slots, the 1000-packet qdiscs and backlog), so nothing may
 * be lost: the run checks delivered == sent and reports any drop counted by the model.
 *
 * Wall time covers only the flow (host building and the ARP warm-up are outside); the rate is
 * packets delivered at the far socket per wall-clock second, best of the measured rounds.
 */
import { buildXenHost, type XenHost } from '../topo/host';
import type { Overrides } from '../params';
import { Ipv4Addr } from '../wire/address';
import { UDP_PAYLOAD_FOR_MTU, type IpEndpoint, type UdpSocket } from '../net/endpoint';
import type { NetDevice } from '../net/netdevice';
import { wallNs } from './harness';

export type Direction = 'tx' | 'rx';
export type Design = 'modern' | 'classic';

export interface FlowOptions {
  /** Packets in flight at most (sent, not yet at the far socket). Default 256. */
  window?: number;
  /** Datagrams per pump run at most. Default 64. */
  batch?: number;
  /** Virtual ns between pump runs. Default 20 µs. */
  periodNs?: number;
  /** Subscribe a counting recorder to every trace event ('*'). */
  traced?: boolean;
  /** Parameter overrides for the host (A/B runs of a model setting). */
  params?: Overrides;
}

export interface FlowResult {
  sent: number;
  delivered: number;
  /** Packets the model counted as dropped during the flow. */
  drops: number;
  wallNs: number;
  virtualNs: number;
  /** Simulator events dispatched. */
  events: number;
  /** Trace records seen by the recorder (0 untraced). */
  traceRecords: number;
}

const PORT = 9000;
/** Virtual time per run() slice while waiting for the flow to finish. */
const SLICE_NS = 1_000_000;

/**
 * One host with one guest and a flow in one direction; `run(n)` sends n more datagrams and
 * returns when the last one has reached the far socket (or nothing moves for 50 ms of virtual time).
 */
export class FullPathFlow {
  readonly host: XenHost;
  private readonly sender: IpEndpoint;
  private readonly senderDev: NetDevice;
  private readonly sock: UdpSocket;
  private readonly dst: Ipv4Addr;
  private readonly hPump: number;
  private readonly window: number;
  private readonly batch: number;
  private readonly periodNs: number;
  private target = 0;
  private sent = 0;
  private pumpArmed = false;
  traceRecords = 0;

  constructor(readonly direction: Direction, readonly design: Design, opts: FlowOptions = {}) {
    this.window = opts.window ?? 256;
    this.batch = opts.batch ?? 64;
    this.periodNs = opts.periodNs ?? 20_000;
    this.host = buildXenHost({ seed: 1, guests: [{ name: 'g', design }], params: opts.params });
    const g = this.host.guest('g');
    const ext = this.host.external;
    if (direction === 'tx') {
      this.sender = g.endpoint;
      this.senderDev = g.eth0;
      this.sock = ext.endpoint.bind(PORT);
      this.dst = ext.endpoint.ip;
    } else {
      this.sender = ext.endpoint;
      this.senderDev = ext.nic;
      this.sock = g.endpoint.bind(PORT);
      this.dst = Ipv4Addr.parse(g.ip);
    }
    this.hPump = this.host.sim.register('bench.pump', () => this.pump());
    if (opts.traced === true) {
      this.host.sim.trace.on('*', () => { this.traceRecords++; });
    }
    // ARP both ways before anything is timed: one datagram and a ping's worth of virtual time.
    this.run(1);
  }

  private pump(): void {
    this.pumpArmed = false;
    const sock = this.sock;
    let n = 0;
    while (n < this.batch && this.sent < this.target && this.sent - sock.packets < this.window && !this.senderDev.txStopped) {
      this.sender.sendUdp(this.dst, PORT, UDP_PAYLOAD_FOR_MTU);
      this.sent++;
      n++;
    }
    if (this.sent < this.target) {
      this.pumpArmed = true;
      this.host.sim.after(this.periodNs, this.hPump);
    }
  }

  /** Sends `n` more datagrams and runs until they are all delivered (or the flow stalls). */
  run(n: number): FlowResult {
    const sim = this.host.sim;
    const sock = this.sock;
    const start = this.sent;
    const got0 = sock.packets;
    const drops0 = sim.drops.total();
    const ev0 = sim.dispatched;
    const rec0 = this.traceRecords;
    const v0 = sim.now;
    this.target += n;
    const t0 = wallNs();
    if (!this.pumpArmed) {
      this.pumpArmed = true;
      sim.after(0, this.hPump);
    }
    let last = -1;
    let idle = 0;
    while (sock.packets < this.target && idle < 50) {
      sim.run({ until: sim.now + SLICE_NS });
      if (sock.packets === last && this.sent === this.target) idle++;
      else idle = 0;
      last = sock.packets;
    }
    const t1 = wallNs();
    return {
      sent: this.sent - start,
      delivered: sock.packets - got0,
      drops: sim.drops.total() - drops0,
      wallNs: t1 - t0,
      virtualNs: sock.lastRxAt - v0,
      events: sim.dispatched - ev0,
      traceRecords: this.traceRecords - rec0,
    };
  }
}

/** The JSON-safe summary of a flow for error messages. */
function describe(r: FlowResult): string {
  return `sent ${r.sent}, delivered ${r.delivered}, drops ${r.drops}`;
}

/**
 * Packets per wall-clock second through the full path: a warm-up of `warmup` packets, then
 * `rounds` rounds of `packets` each; the best round counts. Throws if a packet went missing.
 */
export function measureFullPath(direction: Direction, design: Design, packets: number, rounds: number, warmup: number, traced = false): {
  pps: number; virtualPps: number; eventsPerPacket: number; recordsPerPacket: number; drops: number;
} {
  const flow = new FullPathFlow(direction, design, { traced });
  const w = flow.run(warmup);
  if (w.delivered !== w.sent) throw new Error(`bench ${direction}.full_path (${design}) warm-up: ${describe(w)}`);
  let best: FlowResult | null = null;
  let drops = w.drops;
  for (let r = 0; r < rounds; r++) {
    const res = flow.run(packets);
    drops += res.drops;
    if (res.delivered !== res.sent) throw new Error(`bench ${direction}.full_path (${design}): ${describe(res)}`);
    if (best === null || res.wallNs < best.wallNs) best = res;
  }
  const b = best!;
  return {
    pps: b.delivered / (b.wallNs / 1e9),
    virtualPps: b.delivered / (b.virtualNs / 1e9),
    eventsPerPacket: b.events / b.delivered,
    recordsPerPacket: b.traceRecords / b.delivered,
    drops,
  };
}

// ---------------------------------------------------------------------------------------------
// Baseline: a bare ring push/pop plus one 1500-byte copy per packet.

const RING_SLOTS = 256;
const SLOT_BYTES = 12;
const RING_HDR = 64;
let sink = 0;

/**
 * The minimal version of moving one packet: a producer writes a 12-byte request into a 256-slot
 * ring on a DataView page and publishes req_prod; the consumer reads it, copies the 1500-byte
 * packet from one page to another (Uint8Array.set), writes a response and publishes rsp_prod;
 * the producer reads the response. Returns ns per packet for `iterations` packets.
 */
export function baselineLoop(iterations: number): void {
  const page = new DataView(new ArrayBuffer(4096));
  const src = new Uint8Array(16 * 4096);
  const dst = new Uint8Array(16 * 4096);
  const srcViews: Uint8Array[] = [];
  const dstViews: Uint8Array[] = [];
  for (let i = 0; i < 16; i++) {
    srcViews.push(src.subarray(i * 4096, i * 4096 + 1500));
    dstViews.push(dst.subarray(i * 4096 + 64, i * 4096 + 64 + 1500));
    srcViews[i]!.fill(i);
  }
  let reqProd = 0;
  let reqCons = 0;
  let rspProd = 0;
  let rspCons = 0;
  let acc = 0;
  for (let i = 0; i < iterations; i++) {
    // producer: request {gref, offset, flags, id, size}, RING_PUSH_REQUESTS
    let at = RING_HDR + (reqProd & (RING_SLOTS - 1)) * SLOT_BYTES;
    page.setUint32(at, 0x100 + (i & 15), true);
    page.setUint16(at + 4, 0, true);
    page.setUint16(at + 6, 0, true);
    page.setUint16(at + 8, i & 0xffff, true);
    page.setUint16(at + 10, 1500, true);
    reqProd = (reqProd + 1) >>> 0;
    page.setUint32(0, reqProd, true);
    // consumer: read the request, copy the packet, respond
    const prod = page.getUint32(0, true);
    while (reqCons !== prod) {
      at = RING_HDR + (reqCons & (RING_SLOTS - 1)) * SLOT_BYTES;
      const gref = page.getUint32(at, true);
      const id = page.getUint16(at + 8, true);
      const size = page.getUint16(at + 10, true);
      dstViews[gref & 15]!.set(srcViews[gref & 15]!);
      acc += size;
      reqCons = (reqCons + 1) >>> 0;
      const r = RING_HDR + (rspProd & (RING_SLOTS - 1)) * SLOT_BYTES;
      page.setUint16(r, id, true);
      page.setInt16(r + 2, 0, true);
      rspProd = (rspProd + 1) >>> 0;
      page.setUint32(8, rspProd, true);
    }
    // producer: consume the response
    const rp = page.getUint32(8, true);
    while (rspCons !== rp) {
      acc += page.getUint16(RING_HDR + (rspCons & (RING_SLOTS - 1)) * SLOT_BYTES, true);
      rspCons = (rspCons + 1) >>> 0;
    }
  }
  sink += acc + dst[64 + 4096 * 3]!;
}

/** Keeps the baseline's result alive. */
export function baselineSink(): number {
  return sink;
}
