/**
 * Analysis helpers for the transmit-path lab (notebooks/01-transmit-path.ipynb): they turn the
 * model's trace records, ring pages and counters into the rows the lab's tables and charts plot.
 * Nothing here changes the model; every number comes from a trace event, a ring page or a
 * counter of a host built by `buildXenHost`.
 *
 *   const rec = host.sim.trace.record('*');
 *   const id = guest.endpoint.sendUdp('10.0.0.100', 9000, 1472);
 *   host.runFor(host.ms(1));
 *   const walk = packetWalk(rec.records, id);          // one row per pkt.step of packet `id`
 *   show(swimlaneChart(walkSpans(walk), { lane: 'lane', start: 'start_us', end: 'end_us' }));
 *
 * | helper              | reads                                              | gives                          |
 * | ------------------- | -------------------------------------------------- | ------------------------------ |
 * | `packetWalk`        | `pkt.step`                                         | the walk of one packet         |
 * | `walkSpans`         | a walk                                             | swimlane intervals             |
 * | `sendBursts`        | (schedules sends on the simulator)                 | a UDP stream in bursts         |
 * | `guestFrames`       | the guest's page allocator                         | contiguous guest frames        |
 * | `buildGsoSkb`       | (allocates from the guest's skb pool)              | a TCP GSO skb with page frags  |
 * | `txSlotRows`        | the tx shared ring page of a netfront queue        | one row per slot in flight     |
 * | `txRingOccupancy`   | `netfront.tx.push`, `netback.tx.batch`/`.response` | ring occupancy over time       |
 * | `notificationStats` | `netfront.tx.push`, `xen.evtchn.send`, responses   | kicks per packet, both ways    |
 * | `dom0CpuByStep`     | `pkt.step`, `xen.gnttab.*`                         | dom0 CPU ns per packet by step |
 *
 * Directions are the guest's: "tx" is what the guest sends.
 */
import type { AnyTraceRecord } from '../sim/trace';
import { ringPageRows } from '../io/inspect';
import { NETTXF_more_data } from '../io/netif';
import { buildTcpFrame } from '../wire/build';
import { Ipv4Addr, MacAddr } from '../wire/address';
import { checkInt } from '../wire/error';
import { TcpFlags } from '../wire/tcp';
import { CHECKSUM_PARTIAL, SKB_GSO_TCPV4, type SkBuff } from '../net/skb';
import type { NetfrontQueue } from '../drivers/netfront/queue';
import type { Guest, XenHost } from './host';

const PAGE_SIZE = 4096;

function fail(fn: string, what: string): never {
  throw new Error(`${fn}: ${what}`);
}

function checkRecords(fn: string, records: unknown): asserts records is readonly AnyTraceRecord[] {
  if (!Array.isArray(records)) fail(fn, `records must be an array of trace records (e.g. host.sim.trace.record('*').records), got ${records === null ? 'null' : typeof records}`);
}

// ---------------------------------------------------------------------------------------------
// One packet's walk
// ---------------------------------------------------------------------------------------------

/** One step of a packet's walk (a `pkt.step` record), with times relative to its first step. */
export interface WalkRow {
  /** Position in the walk (0-based). */
  step: number;
  /** Virtual time of the step, ns. */
  t_ns: number;
  /** Time since the packet's first step, µs. */
  t_us: number;
  lane: string;
  /** The real kernel / Xen function. */
  fn: string;
  /** Domain id (-1: the wire, the hypervisor's own work, the external host). */
  dom: number;
  cpu_ns: number;
  detail: string;
}

/**
 * The `pkt.step` records of packet `pkt`, in trace order, as table rows.
 * @param records trace records (any events; only `pkt.step` of this packet are used)
 */
export function packetWalk(records: readonly AnyTraceRecord[], pkt: number): WalkRow[] {
  checkRecords('packetWalk', records);
  checkInt('packetWalk', 'pkt', pkt, 0);
  const out: WalkRow[] = [];
  let t0 = -1;
  for (const r of records) {
    if (r.ev !== 'pkt.step' || r.pkt !== pkt) continue;
    if (t0 < 0) t0 = r.t;
    out.push({
      step: out.length, t_ns: r.t, t_us: (r.t - t0) / 1000, lane: String(r.lane), fn: String(r.fn),
      dom: Number(r.dom), cpu_ns: Number(r.cpuNs), detail: r.detail === undefined ? '' : String(r.detail),
    });
  }
  return out;
}

/** One interval of a swimlane chart of a walk. */
export interface WalkSpan {
  lane: string;
  fn: string;
  /** µs since the packet's first step. */
  start_us: number;
  end_us: number;
  cpu_ns: number;
  /**
   * 'cpu': CPU work of the step; 'mark': a step that costs no CPU (drawn `markNs` wide); 'wire':
   * time on the wire; 'dma': the NIC reading a frame from memory before its first bit leaves (see
   * `WalkSpanOptions.propagationNs`).
   */
  kind: 'cpu' | 'mark' | 'wire' | 'dma';
  /** Function names of the steps merged into this span (see `merge`). */
  steps: string;
}

export interface WalkSpanOptions {
  /** Width given to steps that cost no CPU, ns (default 40), so that they show. */
  markNs?: number;
  /**
   * Merge consecutive steps on the same lane into one span (default false): the chart then shows
   * one bar per visit of a lane, labelled with its first function.
   */
  merge?: boolean;
  /**
   * The cable's one-way propagation delay, ns (the host's `link.propagation_ns`). Given, a frame's
   * wire bar runs from its first bit leaving to its last bit arriving — `phy_rx` minus this minus
   * the serialisation time the `phy_tx` step records (its detail ends in `<n> ns`) → `phy_rx` —
   * and the time from the NIC driver's step before it to that first bit (the NIC's DMA read of
   * descriptor and frame, and any wait for the wire) is a 'dma' span `(NIC DMA)` on the 'nic'
   * lane. Not given, the wire bar runs from the end of the step before it to `phy_rx`.
   */
  propagationNs?: number;
}

/**
 * Swimlane intervals of a walk. The trace stamps a step with the virtual time of the event that
 * ran it, and the model charges each step's CPU time to its CPU in submission order; so steps
 * stamped with the same time ran one after the other. Each CPU — the guest's vCPU, dom0's CPU,
 * the hypervisor, the external host — gets a cursor, and a step starts at the latest of: its
 * time, the end of the previous step on its CPU, and (when stamped with the same time) the end
 * of the packet's previous step. It lasts its CPU time (`markNs` if it costs none). A step on
 * the wire lasts until the packet's next wire step (`phy_tx` → `phy_rx`: the NIC's DMA read,
 * serialisation and propagation), or with `propagationNs` from the frame's first bit to its
 * arrival, after a `(NIC DMA)` span. Steps of the external host's NIC (lane 'nic', dom -1) go
 * on the 'host' lane.
 */
export function walkSpans(walk: readonly WalkRow[], opts: WalkSpanOptions = {}): WalkSpan[] {
  if (!Array.isArray(walk)) fail('walkSpans', 'walk must be an array of rows from packetWalk()');
  const markNs = opts.markNs ?? 40;
  checkInt('walkSpans', 'markNs', markNs, 0, 1_000_000);
  const prop = opts.propagationNs === undefined ? -1 : checkInt('walkSpans', 'propagationNs', opts.propagationNs, 0);
  const t0 = walk.length > 0 ? walk[0]!.t_ns : 0;
  const cursor = new Map<string, number>();
  const spans: WalkSpan[] = [];
  const usedRx = new Set<number>();
  const put = (span: WalkSpan): void => {
    const last = spans[spans.length - 1];
    if (opts.merge && last !== undefined && last.lane === span.lane && span.start_us - last.end_us < 1e-9 + markNs / 1000) {
      last.end_us = Math.max(last.end_us, span.end_us);
      last.cpu_ns += span.cpu_ns;
      last.steps += ` → ${span.fn}`;
      if (last.kind === 'mark' && span.kind !== 'mark') last.kind = span.kind;
    } else {
      spans.push(span);
    }
  };
  let prevT = -1;
  let prevEnd = -Infinity;
  for (let i = 0; i < walk.length; i++) {
    const w = walk[i]!;
    const after = w.t_ns === prevT ? prevEnd : -Infinity;
    let startNs: number;
    let endNs: number;
    let kind: WalkSpan['kind'];
    const tx = prop >= 0 && w.lane === 'wire' && w.fn === 'phy_tx' ? /^(.*) (\d+) ns$/.exec(w.detail) : null;
    let rx = -1;
    if (tx !== null) {
      // Its phy_rx: the first one not yet paired on the same link and direction (a link is a FIFO).
      for (let j = i + 1; j < walk.length; j++) {
        const x = walk[j]!;
        if (x.lane === 'wire' && x.fn === 'phy_rx' && x.detail === tx[1] && !usedRx.has(j)) { rx = j; break; }
      }
    }
    if (tx !== null && rx >= 0) {
      usedRx.add(rx);
      endNs = walk[rx]!.t_ns;
      startNs = Math.max(w.t_ns, endNs - prop - Number(tx[2]));
      kind = 'wire';
      // The NIC's DMA read (and any wait for the wire) since the driver's step just before, if any.
      const prev = i > 0 ? walk[i - 1]! : undefined;
      if (prev !== undefined && prev.lane === 'nic' && prev.t_ns === w.t_ns && startNs > prevEnd) {
        put({ lane: 'nic', fn: '(NIC DMA)', start_us: (prevEnd - t0) / 1000, end_us: (startNs - t0) / 1000, cpu_ns: 0, kind: 'dma', steps: '(NIC DMA)' });
      }
    } else if (usedRx.has(i)) {
      // The arrival of a frame whose wire bar ends here: a mark that ends at the arrival.
      endNs = w.t_ns;
      startNs = endNs - markNs;
      kind = 'mark';
    } else if (w.lane === 'wire') {
      let next = -1;
      for (let j = i + 1; j < walk.length; j++) if (walk[j]!.lane === 'wire') { next = walk[j]!.t_ns; break; }
      startNs = Math.max(w.t_ns, after);
      endNs = next > startNs ? next : startNs + markNs;
      kind = next > startNs ? 'wire' : 'mark';
    } else {
      // One cursor per CPU: a domain's CPU (its hypercalls included), or the external host (dom -1, lanes nic/host).
      const cpu = w.dom >= 0 ? `d${w.dom}` : w.lane === 'xen' ? 'xen' : 'external';
      startNs = Math.max(w.t_ns, after, cursor.get(cpu) ?? -Infinity);
      kind = w.cpu_ns > 0 ? 'cpu' : 'mark';
      endNs = startNs + (w.cpu_ns > 0 ? w.cpu_ns : markNs);
      cursor.set(cpu, endNs);
    }
    prevT = w.t_ns;
    prevEnd = endNs;
    put({
      // The external host's NIC is drawn on the host's lane, so the 'nic' lane is dom0's NIC only.
      lane: w.dom < 0 && w.lane === 'nic' ? 'host' : w.lane, fn: w.fn, start_us: (startNs - t0) / 1000, end_us: (endNs - t0) / 1000, cpu_ns: w.cpu_ns, kind, steps: w.fn,
    });
  }
  for (const s of spans) {
    s.start_us = Math.round(s.start_us * 1000) / 1000;
    s.end_us = Math.round(s.end_us * 1000) / 1000;
  }
  return spans;
}

// ---------------------------------------------------------------------------------------------
// Traffic
// ---------------------------------------------------------------------------------------------

export interface BurstOptions {
  /** Destination IPv4 address (default the external host, 10.0.0.100). */
  dst?: string;
  /** Destination UDP port (default 9000). */
  port?: number;
  /** UDP payload bytes per datagram (default 1472: a 1500-byte IP packet). */
  payload?: number;
  /** Datagrams in total. */
  packets: number;
  /** Datagrams sent back to back in one burst (the last burst may be shorter). */
  burst: number;
  /** Virtual time from one burst to the next, ns. */
  gapNs: number;
  /** Delay before the first burst, ns (default 0). */
  startNs?: number;
}

/**
 * Schedules a UDP stream from `guest` on the host's simulator: `burst` datagrams back to back
 * (as an application calling sendmmsg), then a gap, until `packets` were sent. Returns the
 * packet ids in the order they will be sent (filled in as the simulation runs).
 */
export function sendBursts(host: XenHost, guest: Guest, o: BurstOptions): number[] {
  const fn = 'sendBursts';
  if (o === null || typeof o !== 'object') fail(fn, 'options must be an object {packets, burst, gapNs}');
  const packets = checkInt(fn, 'packets', o.packets, 0, 10_000_000);
  const burst = checkInt(fn, 'burst', o.burst, 1, 4096);
  const gapNs = checkInt(fn, 'gapNs', o.gapNs, 0);
  const startNs = checkInt(fn, 'startNs', o.startNs ?? 0, 0);
  // Checked now rather than when the first burst goes out, inside the simulator's event loop.
  const payload = checkInt(fn, 'payload', o.payload ?? 1472, 0, guest.eth0.mtu - 28);
  const port = checkInt(fn, 'port', o.port ?? 9000, 0, 0xffff);
  const dst = Ipv4Addr.parse(o.dst ?? '10.0.0.100');
  const ids: number[] = [];
  if (packets === 0) return ids;
  const h = host.sim.register('lab.sendBursts', (sent) => {
    const n = Math.min(burst, packets - sent);
    for (let i = 0; i < n; i++) ids.push(guest.endpoint.sendUdp(dst, port, payload));
    if (sent + n < packets) host.sim.after(gapNs, h, sent + n);
  });
  host.sim.after(startNs, h, 0);
  return ids;
}

// ---------------------------------------------------------------------------------------------
// A GSO packet with page fragments
// ---------------------------------------------------------------------------------------------

/** Guest frames that are contiguous in machine memory, as one byte view. */
export interface GuestFrames {
  pfns: number[];
  /** Machine frames (what a PV guest writes into grant entries). */
  mfns: number[];
  /** The frames' bytes, `pfns.length * 4096` long, in the host's memory. */
  bytes: Uint8Array;
}

/**
 * Allocates `n` guest pages from the guest kernel's page allocator (the model's bump allocator)
 * and returns them as one view; throws if their machine frames are not contiguous.
 */
export function guestFrames(host: XenHost, guest: Guest, n: number): GuestFrames {
  checkInt('guestFrames', 'n', n, 1, 64);
  const xen = guest.netfront.xen;
  const pfns = xen.allocPages(n);
  const mfns = pfns.map((p) => xen.pfn_to_gfn(p));
  for (let i = 1; i < n; i++) {
    if (mfns[i] !== mfns[0]! + i) {
      fail('guestFrames', `the ${n} pages of ${guest.name} (pfns ${pfns.join(', ')}) are not contiguous in machine memory (mfns ${mfns.join(', ')}); ask for fewer pages`);
    }
  }
  const bytes = host.hv.mem.bytes.subarray(mfns[0]! * PAGE_SIZE, (mfns[0]! + n) * PAGE_SIZE);
  return { pfns, mfns, bytes };
}

export interface GsoSkbOptions {
  /** TCP payload bytes (default 8000). */
  payload?: number;
  /** gso_size: the MSS the NIC will cut the payload into (default 1448). */
  mss?: number;
  /** Offset of the payload in the first guest page (default 2500): where the frag starts. */
  fragOffset?: number;
  /** Payload bytes per frag (default: all in one frag); a frag never spans more than its own pages. */
  fragBytes?: number;
  /** Destination (default the external host 10.0.0.100:5001, MAC of the external host). */
  dstIp?: string;
  dstMac?: string;
  dstPort?: number;
}

/** What `buildGsoSkb` built. */
export interface GsoSkb {
  skb: SkBuff;
  /** The packet id to follow (skb.id now; the skb object is recycled once freed). */
  id: number;
  frames: GuestFrames;
  /** The whole frame as sent (headers with a CHECKSUM_PARTIAL pseudo-header sum, payload). */
  frame: Uint8Array;
}

/**
 * Builds a TCP/IPv4 GSO skb in the guest the way tcp_sendmsg leaves one: the 54 header bytes
 * in the linear area, the payload in page fragments in guest memory starting `fragOffset` into
 * a guest page (so fragments cross 4 KiB boundaries), CHECKSUM_PARTIAL, gso_size = mss,
 * gso_type = SKB_GSO_TCPV4. Send it with `guest.stack.dev_queue_xmit(skb, guest.eth0)`.
 */
export function buildGsoSkb(host: XenHost, guest: Guest, o: GsoSkbOptions = {}): GsoSkb {
  const fn = 'buildGsoSkb';
  const payload = checkInt(fn, 'payload', o.payload ?? 8000, 1, 60000);
  const mss = checkInt(fn, 'mss', o.mss ?? 1448, 1, 65535);
  const fragOffset = checkInt(fn, 'fragOffset', o.fragOffset ?? 2500, 0, PAGE_SIZE - 1);
  const fragBytes = checkInt(fn, 'fragBytes', o.fragBytes ?? payload, 1, payload);
  const nPages = Math.ceil((fragOffset + payload) / PAGE_SIZE);
  const nFrags = Math.ceil(payload / fragBytes);
  if (nFrags > 17) fail(fn, `fragBytes ${fragBytes} makes ${nFrags} frags; MAX_SKB_FRAGS is 17`);
  const frames = guestFrames(host, guest, nPages);
  const frame = buildTcpFrame({
    srcMac: guest.mac, dstMac: o.dstMac ?? MacAddr.fromBytes(host.external.nic.mac).toString(), srcIp: guest.ip, dstIp: o.dstIp ?? '10.0.0.100',
    srcPort: 40000, dstPort: o.dstPort ?? 5001, seq: 1, ack: 1, flags: TcpFlags.ACK | TcpFlags.PSH,
    payloadLength: payload, checksum: 'partial',
  });
  for (let i = 0; i < payload; i++) frame[54 + i] = (i * 31 + 7) & 0xff;
  const hdr = 54;
  const skb = guest.stack.pool.alloc();
  skb.bornAt = host.now;
  skb.head.set(frame.subarray(0, hdr), skb.put(hdr));
  frames.bytes.set(frame.subarray(hdr), fragOffset);
  for (let off = 0; off < payload; off += fragBytes) {
    skb.addFrag(frames.bytes, fragOffset + off, Math.min(fragBytes, payload - off));
  }
  skb.ipSummed = CHECKSUM_PARTIAL;
  skb.csumStart = 34;
  skb.csumOffset = 16;
  skb.gsoSize = mss;
  skb.gsoType = SKB_GSO_TCPV4;
  return { skb, id: skb.id, frames, frame };
}

// ---------------------------------------------------------------------------------------------
// The tx ring page
// ---------------------------------------------------------------------------------------------

/** One tx ring slot in flight (a request or an extra_info), for the slots chart. */
export interface TxSlotRow {
  /** Free-running ring index. */
  index: number;
  /** index & 255 */
  slot: number;
  role: 'request' | 'extra';
  /** Request id (empty for an extra). */
  id: number | null;
  gref: number | null;
  /** Offset in the granted page (requests); 0 for an extra. */
  offset: number;
  /** The request's `size` field: the whole packet's length in a packet's first request, the slot's own bytes in the others. */
  size: number;
  /** Bytes of packet data this slot holds: its `size`, or for a first request `size` minus the sizes of the rest of its chain. */
  bytes: number;
  /** offset + bytes */
  end: number;
  /** 'first', 'more' (a following request of a more_data chain) or 'extra'. */
  kind: 'first' | 'more' | 'extra';
  flags: string;
  /** Axis label, e.g. `slot 3 · id 1 · gref 9`. */
  label: string;
  decoded: string;
}

/**
 * The slots of netfront queue `q`'s tx ring that hold requests not yet answered, decoded from
 * the shared ring page itself (see io.ringPageRows), with the front end's private indices.
 * `back` (the vif queue's BackRing) adds the back end's view to the slot states.
 */
export function txSlotRows(q: NetfrontQueue, back?: { rsp_prod_pvt: number; req_cons: number }): TxSlotRow[] {
  if (q === null || typeof q !== 'object' || q.txSring === undefined) fail('txSlotRows', 'q must be a netfront queue (guest.netfront.queues[i])');
  const rows = ringPageRows(q.txSring.bytes, 'tx', { front: q.tx, back, slots: 'used' });
  const out: TxSlotRow[] = [];
  let first: TxSlotRow | null = null; // the first request of the chain being read
  let inChain = false; // the previous request had NETTXF_more_data
  for (const s of rows.slots) {
    if (s.role !== 'request' && s.role !== 'extra') continue;
    if (!s.state.startsWith('request')) continue;
    if (s.role === 'extra') {
      out.push({
        index: s.index, slot: s.slot, role: 'extra', id: null, gref: null, offset: 0, size: 0, bytes: 0, end: 0, kind: 'extra',
        flags: String(s.fields.typeName ?? ''), label: `slot ${s.slot} · extra`, decoded: s.decoded,
      });
      continue;
    }
    const f = s.fields as { id: number; gref: number; offset: number; size: number; flags: number; flagNames: string };
    const row: TxSlotRow = {
      index: s.index, slot: s.slot, role: 'request', id: f.id, gref: f.gref, offset: f.offset, size: f.size, bytes: f.size,
      end: f.offset + f.size, kind: inChain ? 'more' : 'first', flags: f.flagNames,
      label: `slot ${s.slot} · id ${f.id} · gref ${f.gref}`, decoded: s.decoded,
    };
    if (inChain && first !== null) {
      // netif.h: the first request's size is the whole packet; its own bytes are what the rest leaves.
      first.bytes -= f.size;
      first.end = first.offset + first.bytes;
    } else {
      first = row;
    }
    inChain = (f.flags & NETTXF_more_data) !== 0;
    out.push(row);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Streams: ring occupancy, notifications, CPU per step
// ---------------------------------------------------------------------------------------------

/** Tx ring state after one event. */
export interface RingOccupancyRow {
  t_us: number;
  /** Requests published by netfront and not yet read by netback: req_prod − req_cons. */
  unconsumed: number;
  /** Requests published and not yet answered: req_prod − rsp_prod. */
  unanswered: number;
}

export interface RingOccupancyOptions {
  /** req_prod (= req_cons = rsp_prod) when recording started, with the ring idle. Default: taken from the first push. */
  startProd?: number;
  /** Time origin for t_us, ns (default the first record's time). */
  t0?: number;
  /** netfront queue (default 0). */
  queue?: number;
}

/**
 * The tx ring's occupancy over time from the trace: `netfront.tx.push` (req_prod after each
 * push), `netback.tx.batch` (requests netback consumed in one NAPI poll or tasklet run) and
 * `netback.tx.response` (one response plus one NULL response per extra slot). One row per event
 * that changed a count. Records of a single guest are expected (filter first on a host with
 * several guests). Exact for packets without extra slots: netback's `reqs` counts request slots
 * only, so a GSO packet's extra slot shows as still unconsumed until its response.
 */
export function txRingOccupancy(records: readonly AnyTraceRecord[], opts: RingOccupancyOptions = {}): RingOccupancyRow[] {
  checkRecords('txRingOccupancy', records);
  const queue = opts.queue ?? 0;
  let prod = -1;
  let cons = 0;
  let rsp = 0;
  if (opts.startProd !== undefined) {
    checkInt('txRingOccupancy', 'startProd', opts.startProd, 0, 0xffffffff);
    prod = cons = rsp = opts.startProd;
  }
  const t0 = opts.t0 ?? (records.length > 0 ? records[0]!.t : 0);
  const out: RingOccupancyRow[] = [];
  for (const r of records) {
    if (r.queue !== queue) continue;
    if (r.ev === 'netfront.tx.push') {
      const p = Number(r.prod);
      if (prod < 0) prod = cons = rsp = (p - Number(r.slots)) >>> 0;
      prod = p;
    } else if (r.ev === 'netback.tx.batch') {
      if (prod < 0 || Number(r.reqs) === 0) continue;
      cons = (cons + Number(r.reqs)) >>> 0;
    } else if (r.ev === 'netback.tx.response') {
      if (prod < 0) continue;
      rsp = (rsp + 1 + Number(r.nulls)) >>> 0;
    } else {
      continue;
    }
    out.push({ t_us: (r.t - t0) / 1000, unconsumed: (prod - cons) >>> 0, unanswered: (prod - rsp) >>> 0 });
  }
  return out;
}

/** Notification counts of a stream (guest's view: tx = guest → dom0). */
export interface NotificationStats {
  /** RING_PUSH_REQUESTS_AND_CHECK_NOTIFY calls by netfront (`netfront.tx.push`). */
  pushes: number;
  /** Pushes that asked for a notification: the new req_prod passed req_event. */
  pushNotifies: number;
  /** EVTCHNOP_send by the guest on its tx port (notify_remote_via_irq): kicks to netback. */
  kicksToBackend: number;
  /** EVTCHNOP_send by dom0 to the guest's tx port: tx-completion interrupts (the response side's rsp_event check). */
  kicksToFrontend: number;
  /** Tx responses netback wrote (`netback.tx.response`). */
  responses: number;
}

/** Which event channel to count: the guest's domain id and its tx port (`guest.netfront.queues[0].tx_evtchn`). */
export interface NotificationPort {
  domid: number;
  port: number;
}

/**
 * Counts pushes and notifications in both directions from the trace: `netfront.tx.push`,
 * `netback.tx.response` and, for the event-channel kicks, `xen.evtchn.send` on the guest's tx
 * port (give `at`; without it the kick counts are 0). With a single event channel (classic, or
 * no split channels) the dom0 → guest kicks include receive-side notifications.
 */
export function notificationStats(records: readonly AnyTraceRecord[], at?: NotificationPort): NotificationStats {
  checkRecords('notificationStats', records);
  if (at !== undefined) {
    checkInt('notificationStats', 'at.domid', at.domid, 0, 0x7fef);
    checkInt('notificationStats', 'at.port', at.port, 0, 4095);
  }
  const s: NotificationStats = { pushes: 0, pushNotifies: 0, kicksToBackend: 0, kicksToFrontend: 0, responses: 0 };
  for (const r of records) {
    if (r.ev === 'netfront.tx.push') {
      s.pushes++;
      if (r.notify === true) s.pushNotifies++;
    } else if (r.ev === 'netback.tx.response') {
      s.responses++;
    } else if (r.ev === 'xen.evtchn.send' && at !== undefined) {
      if (r.dom === at.domid && r.port === at.port) s.kicksToBackend++;
      else if (r.remoteDom === at.domid && r.remotePort === at.port) s.kicksToFrontend++;
    }
  }
  return s;
}

/** dom0 CPU per packet for one step (function) or hypercall. */
export interface CpuStepRow {
  fn: string;
  lane: string;
  /** Times the step ran (or hypercalls made). */
  calls: number;
  cpu_ns: number;
  cpu_ns_per_packet: number;
}

export interface CpuByStepOptions {
  /** Packets in the stream (the divisor). */
  packets: number;
  /** Domain (default 0, dom0). */
  dom?: number;
  /**
   * The domain CPU's busy ns over the same interval (e.g. `host.dom0.cpu.busyNs` after minus
   * before). When given, a last row `other` holds the CPU time no step or hypercall accounts
   * for: interrupt entry, NAPI / tasklet scheduling, event-channel sends, skb frees.
   */
  busyNs?: number;
}

const HYPERCALL_ROWS: Record<string, string> = {
  'xen.gnttab.copy': 'GNTTABOP_copy',
  'xen.gnttab.map': 'GNTTABOP_map_grant_ref',
  'xen.gnttab.unmap': 'GNTTABOP_unmap_grant_ref',
  'xen.gnttab.transfer': 'GNTTABOP_transfer',
};

/**
 * Where a domain's CPU time went, per packet: the `cpuNs` of its `pkt.step` records summed by
 * function (in order of first appearance), then its grant-table hypercalls (the `costNs` of
 * `xen.gnttab.*` records it made, lane 'xen'), then `other` when `busyNs` is given.
 */
export function dom0CpuByStep(records: readonly AnyTraceRecord[], opts: CpuByStepOptions): CpuStepRow[] {
  checkRecords('dom0CpuByStep', records);
  if (opts === null || typeof opts !== 'object') fail('dom0CpuByStep', 'options must be an object {packets}');
  const packets = checkInt('dom0CpuByStep', 'packets', opts.packets, 1);
  const dom = opts.dom ?? 0;
  const rows = new Map<string, CpuStepRow>();
  const add = (key: string, fn: string, lane: string, ns: number): void => {
    let row = rows.get(key);
    if (row === undefined) {
      row = { fn, lane, calls: 0, cpu_ns: 0, cpu_ns_per_packet: 0 };
      rows.set(key, row);
    }
    row.calls++;
    row.cpu_ns += ns;
  };
  const hyper: [string, string, number][] = [];
  for (const r of records) {
    if (r.ev === 'pkt.step') {
      // Hypercall steps (lane 'xen') are counted from Xen's own records below.
      if (r.dom === dom && r.lane !== 'xen') add(`step:${String(r.fn)}`, String(r.fn), String(r.lane), Number(r.cpuNs));
    } else if (r.dom === dom && HYPERCALL_ROWS[r.ev] !== undefined) {
      hyper.push([r.ev, HYPERCALL_ROWS[r.ev]!, Number(r.costNs)]);
    }
  }
  for (const [ev, name, ns] of hyper) add(ev, name, 'xen', ns);
  const out = [...rows.values()];
  if (opts.busyNs !== undefined) {
    if (typeof opts.busyNs !== 'number' || !Number.isFinite(opts.busyNs) || opts.busyNs < 0) {
      fail('dom0CpuByStep', `busyNs ${String(opts.busyNs)} is not allowed; use the CPU's busy ns (>= 0) over the recorded interval`);
    }
    const accounted = out.reduce((s, r) => s + r.cpu_ns, 0);
    out.push({ fn: 'other', lane: 'dom0', calls: 0, cpu_ns: Math.max(0, opts.busyNs - accounted), cpu_ns_per_packet: 0 });
  }
  for (const r of out) r.cpu_ns_per_packet = Math.round((r.cpu_ns / packets) * 10) / 10;
  return out;
}
