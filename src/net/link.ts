/**
 * The wire: a full-duplex point-to-point Ethernet link between two interfaces (two NICs, or a
 * NIC and an external host's NIC).
 *
 *        end 0                                                    end 1
 *   ┌──────────┐   direction 0: serializer ──► propagation ──►  ┌──────────┐
 *   │ NIC/MAC  │ ══════════════════════════════════════════════ │ NIC/MAC  │
 *   └──────────┘   ◄── propagation ◄── serializer: direction 1  └──────────┘
 *
 * Each direction serializes one frame at a time at the line rate: a frame of L bytes (as held
 * in an skb, padded to 60) occupies the wire for (L + FCS 4 + preamble/SFD/IFG 20) × 8 / rate,
 * kept as a real number so that N back-to-back frames take exactly N times that; its last bit
 * reaches the far end `propagation_ns` later (arrival times are rounded up to whole ns). Frames are
 * real bytes: the sender's DMA writes into a buffer the link lends it (`txBuffer`), the link
 * carries that buffer, and on arrival the receiver either copies out of it or swaps it for one of
 * its own rx buffers (the `LinkEndpoint.linkRx` contract), so nothing is allocated per frame.
 *
 * Loss: with `link.loss_rate` > 0 each frame is lost with that probability, drawn from the named
 * random stream `link.<name>`; a lost frame still occupies the wire and is counted as a drop
 * (`<link>`, `wire_loss`) — as a frame with a bad FCS is discarded by the receiving MAC.
 *
 * Taps see every frame that enters the wire (lost or not) at the time its first bit is sent.
 *
 * A frame may carry a *sum token*: the 16-bit ones'-complement sum of one byte range of it that
 * the sender's MAC computed anyway (the L4 segment whose checksum its offload just wrote), packed
 * by `l4SumToken`. Bytes on the wire cannot change, so the receiving MAC's checksum check adds
 * the pseudo-header to that sum instead of reading the segment a second time (`l4ChecksumStatus`
 * in the NIC driver) — the same answer, computed once. It is the model's shortcut, not a field
 * of the frame: nothing on the wire or in a capture shows it, and a frame without one (-1) is
 * summed in full.
 *
 * @simplified no auto-negotiation, pause frames or collisions (full duplex); a frame is delivered
 *   whole at the time its last bit arrives.
 */
import type { Simulator } from '../sim/simulator';
import type { RandomStream } from '../sim/rng';
import type { TracePoint } from '../sim/trace';
import { Params } from '../params';
import { LINK_PARAMS, NIC_PARAMS, type LinkCosts, type NicCosts } from './costs';
import { emitStep } from './walk';
import { taggedBytes } from '../wire/views';

/** What sits at one end of a link (a NIC's MAC). */
export interface LinkEndpoint {
  readonly name: string;
  /**
   * A frame arrived: its bytes are `buf[off..off+len)`. `pkt` is the packet id the sender's skb had and
   * `bornAt` its creation time. The receiver either copies the bytes out and returns `buf`, or
   * keeps `buf` (DMA into its descriptor) and returns a spare buffer of its own for the link to
   * reuse. It must never keep a reference to a buffer it returns.
   */
  linkRx(buf: Uint8Array, off: number, len: number, pkt: number, bornAt: number, sumToken: number): Uint8Array;
}

/**
 * Packs "the bytes [start, end) of the frame sum to `fold`" into one number (all three below
 * 2^16; start/end from the frame's first byte; fold a folded 16-bit sum). -1 means no token.
 */
export function l4SumToken(start: number, end: number, fold: number): number {
  return start < 0 || end > 0xffff || start > end || fold > 0xffff ? -1 : fold + start * 0x1_0000 + end * 0x1_0000_0000;
}

/** The range start of a token from `l4SumToken`. */
export function sumTokenStart(token: number): number {
  return Math.floor(token / 0x1_0000) % 0x1_0000;
}

/** The range end of a token from `l4SumToken`. */
export function sumTokenEnd(token: number): number {
  return Math.floor(token / 0x1_0000_0000);
}

/** The folded sum of a token from `l4SumToken`. */
export function sumTokenFold(token: number): number {
  return token % 0x1_0000;
}

/** A capture point on the wire. */
export interface LinkTap {
  linkFrame(link: EthernetLink, direction: 0 | 1, timeNs: number, buf: Uint8Array, off: number, len: number): void;
}

export interface EthernetLinkOptions {
  name: string;
  params?: Params;
}

/** Initial size of each in-flight frame buffer (a full 1514-byte frame plus room); grows for jumbo/TSO-free frames. */
const LINK_BUF = 2048;

class Direction {
  bufs: Uint8Array[] = [];
  lens = new Int32Array(0);
  offs = new Int32Array(0);
  pkts = new Float64Array(0);
  born = new Float64Array(0);
  sums = new Float64Array(0);
  arrive = new Float64Array(0);
  head = 0;
  len = 0;
  /** Time (real ns) the serializer is free again. */
  busyUntil = 0;
  /** An arrival event is scheduled for the head frame. */
  armed = false;
  /** Index of the slot reserved by txBuffer (or -1). */
  reserved = -1;
  readonly stats = { frames: 0, bytes: 0, wireBytes: 0, lost: 0, delivered: 0, busyNs: 0 };

  constructor() {
    this.grow(64);
  }

  grow(n: number): void {
    const bufs: Uint8Array[] = new Array<Uint8Array>(n);
    const lens = new Int32Array(n);
    const offs = new Int32Array(n);
    const pkts = new Float64Array(n);
    const born = new Float64Array(n);
    const sums = new Float64Array(n);
    const arrive = new Float64Array(n);
    const old = this.bufs.length;
    for (let i = 0; i < this.len; i++) {
      const j = (this.head + i) % old;
      bufs[i] = this.bufs[j]!;
      lens[i] = this.lens[j]!;
      offs[i] = this.offs[j]!;
      pkts[i] = this.pkts[j]!;
      born[i] = this.born[j]!;
      sums[i] = this.sums[j]!;
      arrive[i] = this.arrive[j]!;
    }
    // Spare buffers of the old ring that held no frame keep being used.
    let k = this.len;
    for (let i = this.len; i < old; i++) bufs[k++] = this.bufs[(this.head + i) % old]!;
    for (; k < n; k++) bufs[k] = taggedBytes(LINK_BUF);
    this.bufs = bufs;
    this.lens = lens;
    this.offs = offs;
    this.pkts = pkts;
    this.born = born;
    this.sums = sums;
    this.arrive = arrive;
    this.head = 0;
  }
}

export class EthernetLink {
  readonly name: string;
  readonly nic: NicCosts;
  readonly costs: LinkCosts;
  private readonly ends: (LinkEndpoint | null)[] = [null, null];
  private readonly dirs: [Direction, Direction] = [new Direction(), new Direction()];
  private readonly taps: LinkTap[] = [];
  private readonly hArrive: number;
  private readonly rng: RandomStream;
  private readonly tpStep: TracePoint<'pkt.step'>;
  private readonly wireOverhead: number;
  private readonly nsPerByte: number;

  constructor(readonly sim: Simulator, opts: EthernetLinkOptions) {
    if (typeof opts.name !== 'string' || opts.name.length === 0) {
      throw new Error(`EthernetLink: name ${JSON.stringify(opts.name)} is not allowed; use a non-empty string such as 'wire0'`);
    }
    this.name = opts.name;
    const params = opts.params ?? Params.defaults();
    this.nic = params.group(NIC_PARAMS);
    this.costs = params.group(LINK_PARAMS);
    this.wireOverhead = this.nic.fcs_bytes + this.nic.preamble_ifg_bytes;
    this.nsPerByte = 8e9 / this.nic.line_rate_bps;
    this.rng = sim.random.stream(`link.${this.name}`);
    this.tpStep = sim.trace.point('pkt.step');
    this.hArrive = sim.register(`${this.name}.arrive`, (dir) => this.arrive(dir));
    sim.counters.register(`${this.name}.dir0`, this.dirs[0].stats);
    sim.counters.register(`${this.name}.dir1`, this.dirs[1].stats);
  }

  /** Plugs an interface into end 0 or 1. */
  attach(end: 0 | 1, ep: LinkEndpoint): void {
    if (end !== 0 && end !== 1) throw new RangeError(`EthernetLink.attach: end ${String(end)} is not allowed; use 0 or 1`);
    if (this.ends[end] !== null) throw new Error(`EthernetLink ${this.name}: end ${end} already has ${this.ends[end]!.name}`);
    this.ends[end] = ep;
  }

  /** The interface at an end (or null). */
  endpoint(end: 0 | 1): LinkEndpoint | null {
    return this.ends[end]!;
  }

  /** True when both ends are plugged in (the carrier is up). */
  get connected(): boolean {
    return this.ends[0] !== null && this.ends[1] !== null;
  }

  addTap(tap: LinkTap): void {
    this.taps.push(tap);
  }

  removeTap(tap: LinkTap): void {
    const i = this.taps.indexOf(tap);
    if (i >= 0) this.taps.splice(i, 1);
  }

  /** Counters of one direction (0: from end 0 to end 1). */
  stats(direction: 0 | 1): Readonly<Direction['stats']> {
    return this.dirs[direction].stats;
  }

  /** Time (real ns) at which the serializer of frames sent from `end` is free. */
  busyUntil(end: 0 | 1): number {
    return this.dirs[end].busyUntil;
  }

  /** Wire time of a frame of `len` bytes in ns (real). */
  wireTime(len: number): number {
    return ((len < 60 ? 60 : len) + this.wireOverhead) * this.nsPerByte;
  }

  /**
   * Lends the sender the buffer of the next in-flight slot for a frame of `len` bytes sent from
   * `end`. Write the frame into it, then call `transmit`. (One reservation at a time per end.)
   */
  txBuffer(end: 0 | 1, len: number): Uint8Array {
    const d = this.dirs[end];
    if (d.len === d.bufs.length) d.grow(d.bufs.length * 2);
    const i = (d.head + d.len) % d.bufs.length;
    let b = d.bufs[i]!;
    if (b.length < len) {
      b = taggedBytes(Math.max(len, LINK_BUF));
      d.bufs[i] = b;
    }
    d.reserved = i;
    return b;
  }

  /**
   * Sends the frame written into the buffer from `txBuffer`: serialization starts at
   * max(`readyAt`, the time the wire is free) and the frame arrives at the far end
   * `propagation_ns` after its last bit. `sumToken` (see `l4SumToken`, default none) travels
   * with it. Returns the time (real ns) the last bit leaves.
   */
  transmit(end: 0 | 1, len: number, pkt: number, bornAt: number, readyAt: number, sumToken = -1): number {
    const d = this.dirs[end];
    const i = d.reserved;
    if (i < 0) throw new Error(`EthernetLink ${this.name}.transmit: no buffer reserved at end ${end}; call txBuffer first`);
    d.reserved = -1;
    d.offs[i] = 0;
    return this.send(d, end, i, len, pkt, bornAt, readyAt, sumToken);
  }

  /**
   * Sends the frame `buf[off..off+len)` by handing the buffer itself to the wire (no copy: the
   * DMA moves the bytes). The link gives back a spare buffer in `spare`, which the caller must
   * take before its next call. `sumToken` as for `transmit`, its range from `off`. Returns the
   * time (real ns) the last bit leaves.
   */
  transmitBuffer(end: 0 | 1, buf: Uint8Array, off: number, len: number, pkt: number, bornAt: number, readyAt: number, sumToken = -1): number {
    const d = this.dirs[end];
    if (d.len === d.bufs.length) d.grow(d.bufs.length * 2);
    const i = (d.head + d.len) % d.bufs.length;
    this.spare = d.bufs[i]!;
    d.bufs[i] = buf;
    d.offs[i] = off;
    return this.send(d, end, i, len, pkt, bornAt, readyAt, sumToken);
  }

  /** The spare buffer `transmitBuffer` gave back. */
  spare: Uint8Array = taggedBytes(LINK_BUF);

  private send(d: Direction, end: 0 | 1, i: number, len: number, pkt: number, bornAt: number, readyAt: number, sumToken: number): number {
    const start = readyAt > d.busyUntil ? readyAt : d.busyUntil;
    const wireLen = (len < 60 ? 60 : len) + this.wireOverhead;
    const wire = wireLen * this.nsPerByte;
    const endT = start + wire;
    d.busyUntil = endT;
    d.stats.frames++;
    d.stats.bytes += len;
    d.stats.wireBytes += wireLen;
    d.stats.busyNs += wire;
    if (this.taps.length > 0) {
      const t = Math.ceil(start);
      for (let k = 0; k < this.taps.length; k++) this.taps[k]!.linkFrame(this, end, t, d.bufs[i]!, d.offs[i]!, len);
    }
    if (this.tpStep.on) emitStep(this.tpStep, pkt, 'phy_tx', 'wire', -1, 0, `${this.name} dir ${end} ${Math.round(wire)} ns`);
    if (this.costs.loss_rate > 0 && this.rng.uniform() < this.costs.loss_rate) {
      d.stats.lost++;
      this.sim.drops.count(this.name, 'wire_loss', len, pkt);
      return endT;
    }
    if (this.ends[end === 0 ? 1 : 0] === null) {
      d.stats.lost++;
      this.sim.drops.count(this.name, 'no_link_partner', len, pkt);
      return endT;
    }
    // Commit the slot (it is the tail of the FIFO).
    d.lens[i] = len;
    d.pkts[i] = pkt;
    d.born[i] = bornAt;
    d.sums[i] = sumToken;
    d.arrive[i] = Math.ceil(endT + this.costs.propagation_ns);
    d.len++;
    if (!d.armed) {
      d.armed = true;
      this.sim.at(Math.max(d.arrive[i]!, this.sim.now), this.hArrive, end);
    }
    return endT;
  }

  /** Delivers every frame of direction `dir` whose last bit has arrived. */
  private arrive(dir: number): void {
    const d = this.dirs[dir]!;
    const rx = this.ends[dir === 0 ? 1 : 0]!;
    const now = this.sim.now;
    const n = d.bufs.length;
    while (d.len > 0 && d.arrive[d.head]! <= now) {
      const i = d.head;
      const pkt = d.pkts[i]!;
      if (this.tpStep.on) emitStep(this.tpStep, pkt, 'phy_rx', 'wire', -1, 0, `${this.name} dir ${dir}`);
      d.stats.delivered++;
      // The receiver may transmit from inside linkRx, but only in the other direction.
      d.bufs[i] = rx.linkRx(d.bufs[i]!, d.offs[i]!, d.lens[i]!, pkt, d.born[i]!, d.sums[i]!);
      d.head = i + 1 === n ? 0 : i + 1;
      d.len--;
    }
    if (d.len > 0) {
      this.sim.at(Math.max(d.arrive[d.head]!, now), this.hArrive, dir);
    } else {
      d.armed = false;
    }
  }
}
