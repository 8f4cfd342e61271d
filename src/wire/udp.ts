/**
 * UDP datagrams (RFC 768).
 *
 *     0        2        4        6        8
 *    +--------+--------+--------+--------+------------
 *    |src_port|dst_port| length |checksum| payload …
 *
 * `length` covers header + payload. The checksum covers the pseudo-header (src, dst, 0,
 * protocol 17, length), the header and the payload; 0 means "no checksum" over IPv4, so a
 * computed 0 is sent as 0xffff. Like Linux (`__udp4_lib_rcv`), bytes after `length` within the
 * IP payload are ignored.
 */
import { IpProtocol } from './ipv4';
import { CSUM_MANGLED_0, csum_fold, csum_partial, csum_tcpudp_nofold, foldSum } from './checksum';
import { badArg, fail, fieldsEnd, ok, truncated, wireError, type Result, type WireError } from './error';
import { checkedView, viewBoundsError, type WireView } from './view';

/** Field table, offsets [start, end) from the header start. */
export const UDP_FIELDS = {
  src_port: [0, 2],
  dst_port: [2, 4],
  length: [4, 6],
  checksum: [6, 8],
} as const;
const HDR_LEN = fieldsEnd(UDP_FIELDS);
/** 8 — derived from the table. */
export const UDP_HEADER_LEN = HDR_LEN;
/** csum_offset of a UDP CHECKSUM_PARTIAL packet: offsetof(struct udphdr, check). */
export const UDP_CSUM_OFFSET = UDP_FIELDS.checksum[0];

/**
 * How an emitter fills an L4 checksum:
 * - 'full': compute it;
 * - 'partial': leave the pseudo-header sum for offload (CHECKSUM_PARTIAL; see checksum.ts);
 * - 'none': write 0 (UDP over IPv4: no checksum).
 */
export type L4Checksum = 'full' | 'partial' | 'none';

const F = UDP_FIELDS;
// Module-local offsets for the hot accessors (see ethernet.ts).
const O_SRC_PORT = F.src_port[0];
const O_DST_PORT = F.dst_port[0];
const O_LENGTH = F.length[0];
const O_CHECKSUM = F.checksum[0];

/** A view of a UDP datagram in `buf[off..off+len)` (`len` = the IP payload length). */
export class UdpPacket implements WireView {
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

  static checked(buf: Uint8Array, off = 0, len = buf.length - off): Result<UdpPacket> {
    return checkedView(new UdpPacket(buf, off, len));
  }

  /** The header fits, and 8 <= length <= the bytes present. Invalidated by writing `length`. */
  checkLen(): WireError | undefined {
    const b = this.buf;
    const o = this.off;
    const l = this.len;
    if (o >= 0 && l >= HDR_LEN && o + l <= b.length) {
      const ul = (b[o + O_LENGTH]! << 8) | b[o + O_LENGTH + 1]!;
      if (ul >= HDR_LEN && ul <= l) return undefined;
    }
    return this.lenError();
  }

  private lenError(): WireError {
    const e = viewBoundsError(this, 'udp', F, HDR_LEN);
    if (e !== undefined) return e;
    const l = this.length;
    if (l < HDR_LEN) return wireError('udp', 'length', `length ${l} is shorter than the 8-byte header`);
    return wireError('udp', 'length', `truncated: length ${l} exceeds the ${this.len} bytes present`);
  }

  get srcPort(): number {
    const b = this.buf;
    const o = this.off + O_SRC_PORT;
    return (b[o]! << 8) | b[o + 1]!;
  }
  set srcPort(v: number) {
    const o = this.off + O_SRC_PORT;
    this.buf[o] = v >>> 8;
    this.buf[o + 1] = v & 0xff;
  }
  get dstPort(): number {
    const b = this.buf;
    const o = this.off + O_DST_PORT;
    return (b[o]! << 8) | b[o + 1]!;
  }
  set dstPort(v: number) {
    const o = this.off + O_DST_PORT;
    this.buf[o] = v >>> 8;
    this.buf[o + 1] = v & 0xff;
  }
  /** Header + payload bytes, from the length field. */
  get length(): number {
    const b = this.buf;
    const o = this.off + O_LENGTH;
    return (b[o]! << 8) | b[o + 1]!;
  }
  set length(v: number) {
    const o = this.off + O_LENGTH;
    this.buf[o] = v >>> 8;
    this.buf[o + 1] = v & 0xff;
  }
  get checksum(): number {
    const b = this.buf;
    const o = this.off + O_CHECKSUM;
    return (b[o]! << 8) | b[o + 1]!;
  }
  set checksum(v: number) {
    const o = this.off + O_CHECKSUM;
    this.buf[o] = v >>> 8;
    this.buf[o + 1] = v & 0xff;
  }
  get payloadOffset(): number {
    return this.off + HDR_LEN;
  }
  get payloadLength(): number {
    return this.length - HDR_LEN;
  }
  payload(): Uint8Array {
    return this.buf.subarray(this.off + HDR_LEN, this.off + this.length);
  }

  /** True if the checksum is absent (0) or correct for these IPv4 addresses (u32). */
  verifyChecksum(srcU32: number, dstU32: number): boolean {
    if (this.checksum === 0) return true;
    const l = this.length;
    return csum_fold(csum_partial(this.buf, this.off, this.off + l, csum_tcpudp_nofold(srcU32, dstU32, l, IpProtocol.UDP, 0))) === 0;
  }

  /** Fills the checksum for these addresses; the payload must already be in place for 'full'. */
  fillChecksum(srcU32: number, dstU32: number, mode: L4Checksum): void {
    const l = this.length;
    if (mode === 'none') {
      this.checksum = 0;
    } else if (mode === 'partial') {
      // udp4_hwcsum(): uh->check = ~csum_tcpudp_magic(src, dst, len, IPPROTO_UDP, 0)
      this.checksum = foldSum(csum_tcpudp_nofold(srcU32, dstU32, l, IpProtocol.UDP, 0));
    } else {
      this.checksum = 0;
      this.checksum = csum_fold(csum_partial(this.buf, this.off, this.off + l, csum_tcpudp_nofold(srcU32, dstU32, l, IpProtocol.UDP, 0))) || CSUM_MANGLED_0;
    }
  }
}

/** The meaning of a UDP header. */
export interface UdpRepr {
  srcPort: number;
  dstPort: number;
  /** Payload bytes (length - 8). */
  payloadLen: number;
  /** 'none' if the checksum field was 0; otherwise 'full' (verified unless told not to). */
  checksum: L4Checksum;
}

export interface L4ParseOptions {
  /** Verify the checksum (default true). Turn off for CHECKSUM_PARTIAL/UNNECESSARY packets. */
  verifyChecksum?: boolean;
}

export const UdpRepr = {
  /** Parses a header; `srcU32`/`dstU32` are the IPv4 addresses for the pseudo-header. */
  parse(p: UdpPacket, srcU32: number, dstU32: number, opts: L4ParseOptions = {}): Result<UdpRepr> {
    const e = p.checkLen();
    if (e !== undefined) return fail(e);
    if (opts.verifyChecksum !== false && !p.verifyChecksum(srcU32, dstU32)) {
      return fail(wireError('udp', 'checksum', `checksum 0x${p.checksum.toString(16).padStart(4, '0')} is wrong`));
    }
    return ok({ srcPort: p.srcPort, dstPort: p.dstPort, payloadLen: p.payloadLength, checksum: p.checksum === 0 ? 'none' : 'full' });
  },

  bufferLen(r: UdpRepr): number {
    return UDP_HEADER_LEN + r.payloadLen;
  },

  /**
   * Writes the header and fills the checksum per `r.checksum`. For 'full', write the payload
   * at `p.payloadOffset` first (or call `p.fillChecksum()` after writing it).
   */
  emit(r: UdpRepr, p: UdpPacket, srcU32: number, dstU32: number): void {
    const total = UDP_HEADER_LEN + r.payloadLen;
    if (!Number.isInteger(r.payloadLen) || r.payloadLen < 0 || total > 0xffff) badArg('UdpRepr.emit', 'payloadLen', r.payloadLen, `use an integer in 0..${0xffff - UDP_HEADER_LEN}`);
    if (p.off < 0 || p.off + total > p.buf.length || p.len < total) badArg('UdpRepr.emit', 'packet length', p.len, `need ${total} bytes`);
    checkPort('UdpRepr.emit', 'srcPort', r.srcPort);
    checkPort('UdpRepr.emit', 'dstPort', r.dstPort);
    p.srcPort = r.srcPort;
    p.dstPort = r.dstPort;
    p.length = total;
    p.fillChecksum(srcU32, dstU32, r.checksum);
  },
};

export function checkPort(fn: string, name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff) badArg(fn, name, v, 'use an integer in 0..65535');
}
