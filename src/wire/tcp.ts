/**
 * TCP segment headers (RFC 793 §3.1, RFC 3168 for CWR/ECE, RFC 3540 for NS).
 *
 *     0        2        4                 8                 12       14       16       18       20
 *    +--------+--------+-----------------+-----------------+--------+--------+--------+--------+--------
 *    |src_port|dst_port| seq             | ack             |off|flg | window |checksum| urgent | options …
 *
 *   bytes 12-13: data offset (4 bits, 32-bit words) | reserved (3) | NS | CWR ECE URG ACK PSH RST SYN FIN
 *
 * Only the header is modeled (no state machine). The checksum covers the pseudo-header
 * (protocol 6, length = the segment length), the header and the payload; unlike UDP there is
 * no "no checksum" value. Options are kept as bytes.
 */
import { IpProtocol } from './ipv4';
import { csum_fold, csum_partial, csum_tcpudp_nofold, foldSum } from './checksum';
import { badArg, fail, fieldsEnd, ok, truncated, wireError, type Result, type WireError } from './error';
import { checkedView, viewBoundsError, type WireView } from './view';
import { checkPort, type L4Checksum, type L4ParseOptions } from './udp';

/** Field table, offsets [start, end) from the header start. */
export const TCP_FIELDS = {
  src_port: [0, 2],
  dst_port: [2, 4],
  seq: [4, 8],
  ack: [8, 12],
  data_off_flags: [12, 14],
  window: [14, 16],
  checksum: [16, 18],
  urgent: [18, 20],
} as const;
const HDR_LEN = fieldsEnd(TCP_FIELDS);
/** 20 — derived from the table. */
export const TCP_HEADER_LEN = HDR_LEN;
export const TCP_MAX_HEADER_LEN = 60;
/** csum_offset of a TCP CHECKSUM_PARTIAL packet: offsetof(struct tcphdr, check). */
export const TCP_CSUM_OFFSET = TCP_FIELDS.checksum[0];

/** Flag bits of the low 12 bits of bytes 12-13. */
export const TcpFlags = {
  FIN: 0x001,
  SYN: 0x002,
  RST: 0x004,
  PSH: 0x008,
  ACK: 0x010,
  URG: 0x020,
  ECE: 0x040,
  CWR: 0x080,
  NS: 0x100,
} as const;

/** tcpdump-style flag letters: "S", "S.", "P.", "F." … ("." is ACK; "none" if no flags). */
export function tcpFlagsString(flags: number): string {
  let s = '';
  if (flags & TcpFlags.FIN) s += 'F';
  if (flags & TcpFlags.SYN) s += 'S';
  if (flags & TcpFlags.RST) s += 'R';
  if (flags & TcpFlags.PSH) s += 'P';
  if (flags & TcpFlags.URG) s += 'U';
  if (flags & TcpFlags.ECE) s += 'E';
  if (flags & TcpFlags.CWR) s += 'W';
  if (flags & TcpFlags.NS) s += 'N';
  if (flags & TcpFlags.ACK) s += '.';
  return s === '' ? 'none' : s;
}

const F = TCP_FIELDS;
// Module-local offsets for the hot accessors (see ethernet.ts).
const O_SRC_PORT = F.src_port[0];
const O_DST_PORT = F.dst_port[0];
const O_SEQ = F.seq[0];
const O_ACK = F.ack[0];
const O_DATA_OFF_FLAGS = F.data_off_flags[0];
const O_WINDOW = F.window[0];
const O_CHECKSUM = F.checksum[0];
const O_URGENT = F.urgent[0];

/** A view of a TCP segment in `buf[off..off+len)` (`len` = the IP payload length). */
export class TcpPacket implements WireView {
  // `declare`d fields, own constructor and reset(), not inherited: see view.ts.
  declare readonly buf: Uint8Array;
  declare readonly off: number;
  declare readonly len: number;

  constructor(buf: Uint8Array, off = 0, len = buf.length - off) {
    this.buf = buf;
    this.off = off;
    this.len = len;
  }

  /**
   * Re-points this view at other bytes (unchecked, like the constructor) and returns it: a hot
   * loop can keep one view per layer instead of allocating one per packet.
   */
  reset(buf: Uint8Array, off: number, len: number): this {
    (this as { buf: Uint8Array }).buf = buf;
    (this as { off: number }).off = off;
    (this as { len: number }).len = len;
    return this;
  }

  static checked(buf: Uint8Array, off = 0, len = buf.length - off): Result<TcpPacket> {
    return checkedView(new TcpPacket(buf, off, len));
  }

  /** The fixed header fits, data offset >= 5, and the options fit. */
  checkLen(): WireError | undefined {
    const b = this.buf;
    const o = this.off;
    const l = this.len;
    if (o >= 0 && l >= HDR_LEN && o + l <= b.length) {
      const hl = (b[o + O_DATA_OFF_FLAGS]! >>> 4) << 2;
      if (hl >= HDR_LEN && hl <= l) return undefined;
    }
    return this.lenError();
  }

  private lenError(): WireError {
    const e = viewBoundsError(this, 'tcp', F, HDR_LEN);
    if (e !== undefined) return e;
    const hl = this.headerLen;
    if (hl < HDR_LEN) return wireError('tcp', 'data_offset', `data offset ${hl >>> 2} is below the minimum 5 (20 bytes)`);
    return wireError('tcp', 'options', `truncated: data offset says a ${hl}-byte header, only ${this.len} bytes present`);
  }

  get srcPort(): number {
    return this.u16(O_SRC_PORT);
  }
  set srcPort(v: number) {
    this.set16(O_SRC_PORT, v);
  }
  get dstPort(): number {
    return this.u16(O_DST_PORT);
  }
  set dstPort(v: number) {
    this.set16(O_DST_PORT, v);
  }
  get seq(): number {
    return this.u32(O_SEQ);
  }
  set seq(v: number) {
    this.set32(O_SEQ, v);
  }
  get ack(): number {
    return this.u32(O_ACK);
  }
  set ack(v: number) {
    this.set32(O_ACK, v);
  }
  /** Header length in bytes (data offset * 4). */
  get headerLen(): number {
    return (this.buf[this.off + O_DATA_OFF_FLAGS]! >>> 4) << 2;
  }
  /** The low 12 bits of bytes 12-13: reserved bits, NS and the eight flags. */
  get flags(): number {
    return this.u16(O_DATA_OFF_FLAGS) & 0x0fff;
  }
  /** Writes data offset and flags together. */
  setHeaderLenFlags(headerLen: number, flags: number): void {
    this.set16(O_DATA_OFF_FLAGS, ((headerLen >>> 2) << 12) | (flags & 0x0fff));
  }
  get window(): number {
    return this.u16(O_WINDOW);
  }
  set window(v: number) {
    this.set16(O_WINDOW, v);
  }
  get checksum(): number {
    return this.u16(O_CHECKSUM);
  }
  set checksum(v: number) {
    this.set16(O_CHECKSUM, v);
  }
  get urgent(): number {
    return this.u16(O_URGENT);
  }
  set urgent(v: number) {
    this.set16(O_URGENT, v);
  }
  options(): Uint8Array {
    return this.buf.subarray(this.off + HDR_LEN, this.off + this.headerLen);
  }
  get payloadOffset(): number {
    return this.off + this.headerLen;
  }
  get payloadLength(): number {
    return this.len - this.headerLen;
  }

  /** True if the checksum over the whole segment (`len` bytes) is correct. */
  verifyChecksum(srcU32: number, dstU32: number): boolean {
    return csum_fold(csum_partial(this.buf, this.off, this.off + this.len, csum_tcpudp_nofold(srcU32, dstU32, this.len, IpProtocol.TCP, 0))) === 0;
  }

  /** Fills the checksum over `len` bytes; 'none' writes 0 (a wrong checksum, for tests). */
  fillChecksum(srcU32: number, dstU32: number, mode: L4Checksum): void {
    const pseudo = csum_tcpudp_nofold(srcU32, dstU32, this.len, IpProtocol.TCP, 0);
    if (mode === 'none') this.checksum = 0;
    else if (mode === 'partial') this.checksum = foldSum(pseudo); // __tcp_v4_send_check(): th->check = ~tcp_v4_check(len, saddr, daddr, 0)
    else {
      this.checksum = 0;
      this.checksum = csum_fold(csum_partial(this.buf, this.off, this.off + this.len, pseudo));
    }
  }

  private u16(at: number): number {
    return (this.buf[this.off + at]! << 8) | this.buf[this.off + at + 1]!;
  }
  private set16(at: number, v: number): void {
    this.buf[this.off + at] = v >>> 8;
    this.buf[this.off + at + 1] = v & 0xff;
  }
  private u32(at: number): number {
    const b = this.buf;
    const o = this.off + at;
    return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
  }
  private set32(at: number, v: number): void {
    const b = this.buf;
    const o = this.off + at;
    b[o] = v >>> 24;
    b[o + 1] = (v >>> 16) & 0xff;
    b[o + 2] = (v >>> 8) & 0xff;
    b[o + 3] = v & 0xff;
  }
}

/** The meaning of a TCP header. */
export interface TcpRepr {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  /** Low 12 bits of bytes 12-13 (see `TcpFlags`; the three reserved bits are kept too). */
  flags: number;
  window: number;
  urgent: number;
  /** Option bytes, a multiple of 4, at most 40. */
  options: Uint8Array;
  /** Payload bytes (the segment minus the header). */
  payloadLen: number;
  checksum: L4Checksum;
}

const NO_OPTIONS = new Uint8Array(0);

export const TcpRepr = {
  /** Parses a header; the segment is the whole view (`len` = IP payload length). */
  parse(p: TcpPacket, srcU32: number, dstU32: number, opts: L4ParseOptions = {}): Result<TcpRepr> {
    const e = p.checkLen();
    if (e !== undefined) return fail(e);
    if (opts.verifyChecksum !== false && !p.verifyChecksum(srcU32, dstU32)) {
      return fail(wireError('tcp', 'checksum', `checksum 0x${p.checksum.toString(16).padStart(4, '0')} is wrong`));
    }
    const optLen = p.headerLen - TCP_HEADER_LEN;
    return ok({
      srcPort: p.srcPort,
      dstPort: p.dstPort,
      seq: p.seq,
      ack: p.ack,
      flags: p.flags,
      window: p.window,
      urgent: p.urgent,
      options: optLen === 0 ? NO_OPTIONS : p.options().slice(),
      payloadLen: p.payloadLength,
      checksum: 'full',
    });
  },

  headerLen(r: TcpRepr): number {
    return TCP_HEADER_LEN + r.options.length;
  },
  bufferLen(r: TcpRepr): number {
    return TCP_HEADER_LEN + r.options.length + r.payloadLen;
  },

  /**
   * Writes the header and fills the checksum per `r.checksum`; the view's `len` must be the
   * segment length (header + payload), and for 'full' the payload must already be in place.
   */
  emit(r: TcpRepr, p: TcpPacket, srcU32: number, dstU32: number): void {
    const hl = TcpRepr.headerLen(r);
    if (r.options.length % 4 !== 0 || hl > TCP_MAX_HEADER_LEN) badArg('TcpRepr.emit', 'options.length', r.options.length, 'use a multiple of 4 in 0..40');
    const total = hl + r.payloadLen;
    if (p.off < 0 || p.off + total > p.buf.length || p.len !== total) badArg('TcpRepr.emit', 'packet length', p.len, `the view must hold exactly the ${total}-byte segment`);
    checkPort('TcpRepr.emit', 'srcPort', r.srcPort);
    checkPort('TcpRepr.emit', 'dstPort', r.dstPort);
    p.srcPort = r.srcPort;
    p.dstPort = r.dstPort;
    p.seq = r.seq;
    p.ack = r.ack;
    p.setHeaderLenFlags(hl, r.flags);
    p.window = r.window;
    p.urgent = r.urgent;
    p.buf.set(r.options, p.off + TCP_HEADER_LEN);
    p.fillChecksum(srcU32, dstU32, r.checksum);
  },
};
