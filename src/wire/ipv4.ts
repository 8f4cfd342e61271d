/**
 * IPv4 headers (RFC 791 §3.1).
 *
 *     0        1        2        3
 *    +--------+--------+--------+--------+
 *  0 |ver|ihl |dscp|ecn|   total_len     |
 *  4 |     ident       |flags| frag_off  |   flags: reserved, DF, MF
 *  8 |  ttl   |protocol|    checksum     |
 * 12 |             src                   |
 * 16 |             dst                   |
 * 20 |    options (ihl*4 - 20 bytes) …   |
 *
 * The header checksum covers the header only (options included). The payload is
 * `total_len - ihl*4` bytes; anything after `total_len` in the frame is link-layer padding.
 * Differences from Linux `ip_rcv_core()`: the same structural checks (ihl >= 5, total_len
 * within the buffer and >= the header); options are kept as bytes, not interpreted.
 */
import { Ipv4Addr, ipv4At, writeIpv4 } from './address';
import { csum_fold, csum_partial } from './checksum';
import { badArg, fail, fieldsEnd, ok, truncated, wireError, type Result, type WireError } from './error';
import { checkedView, viewBoundsError, type WireView } from './view';

/** Field table, offsets [start, end) from the header start (RFC 791 §3.1). */
export const IPV4_FIELDS = {
  version_ihl: [0, 1],
  dscp_ecn: [1, 2],
  total_len: [2, 4],
  ident: [4, 6],
  flags_frag: [6, 8],
  ttl: [8, 9],
  protocol: [9, 10],
  checksum: [10, 12],
  src: [12, 16],
  dst: [16, 20],
} as const;

const HDR_LEN = fieldsEnd(IPV4_FIELDS);
/** 20 — the header without options, derived from the table. */
export const IPV4_HEADER_LEN = HDR_LEN;
/** 60 — ihl is four bits of 32-bit words. */
export const IPV4_MAX_HEADER_LEN = 15 * 4;

/** IP protocol numbers (IANA). A plain number: unknown values are kept. */
export const IpProtocol = {
  ICMP: 1,
  IGMP: 2,
  TCP: 6,
  UDP: 17,
  ICMPv6: 58,
} as const;
export type IpProtocol = number;

const PROTO_NAMES = new Map<number, string>(Object.entries(IpProtocol).map(([k, v]) => [v, k]));
/** "UDP", "TCP", … or "proto 253". */
export function ipProtocolName(p: IpProtocol): string {
  return PROTO_NAMES.get(p) ?? `proto ${p}`;
}

const F = IPV4_FIELDS;
// Module-local offsets for the hot accessors (see ethernet.ts).
const O_DSCP_ECN = F.dscp_ecn[0];
const O_TOTAL_LEN = F.total_len[0];
const O_IDENT = F.ident[0];
const O_FLAGS_FRAG = F.flags_frag[0];
const O_TTL = F.ttl[0];
const O_PROTOCOL = F.protocol[0];
const O_CHECKSUM = F.checksum[0];
const O_SRC = F.src[0];
const O_DST = F.dst[0];
const DF = 0x4000;
const MF = 0x2000;
const RESERVED = 0x8000;

/** A view of an IPv4 packet in `buf[off..off+len)`; see `EthernetFrame` for the checked/unchecked contract. */
export class Ipv4Packet implements WireView {
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

  static checked(buf: Uint8Array, off = 0, len = buf.length - off): Result<Ipv4Packet> {
    return checkedView(new Ipv4Packet(buf, off, len));
  }

  /**
   * Structural checks: the fixed header fits, ihl >= 5, the options fit, and
   * ihl*4 <= total_len <= the bytes present. Invalidated by writing `ihl` or `totalLen`.
   */
  checkLen(): WireError | undefined {
    const b = this.buf;
    const o = this.off;
    const l = this.len;
    if (o >= 0 && l >= HDR_LEN && o + l <= b.length) {
      const hl = (b[o]! & 0x0f) << 2;
      const tl = (b[o + 2]! << 8) | b[o + 3]!;
      if (hl >= HDR_LEN && tl >= hl && tl <= l) return undefined;
    }
    return this.lenError();
  }

  private lenError(): WireError {
    const e = viewBoundsError(this, 'ipv4', F, HDR_LEN);
    if (e !== undefined) return e;
    const len = this.len;
    const hl = this.headerLen;
    if (hl < HDR_LEN) return wireError('ipv4', 'ihl', `ihl ${hl >>> 2} is below the minimum 5 (20 bytes)`);
    if (hl > len) return wireError('ipv4', 'options', `truncated: ihl says a ${hl}-byte header, only ${len} bytes present`);
    const tl = this.totalLen;
    if (tl < hl) return wireError('ipv4', 'total_len', `total_len ${tl} is shorter than the ${hl}-byte header`);
    return wireError('ipv4', 'total_len', `truncated: total_len ${tl} exceeds the ${len} bytes present`);
  }

  get version(): number {
    return this.buf[this.off]! >>> 4;
  }
  /** Header length in bytes (ihl * 4). */
  get headerLen(): number {
    return (this.buf[this.off]! & 0x0f) << 2;
  }
  /** Writes version 4 and ihl = bytes / 4. Invalidates `checkLen()`. */
  set headerLen(bytes: number) {
    this.buf[this.off] = 0x40 | (bytes >>> 2);
  }
  get dscp(): number {
    return this.buf[this.off + O_DSCP_ECN]! >>> 2;
  }
  get ecn(): number {
    return this.buf[this.off + O_DSCP_ECN]! & 3;
  }
  setDscpEcn(dscp: number, ecn: number): void {
    this.buf[this.off + O_DSCP_ECN] = (dscp << 2) | (ecn & 3);
  }
  get totalLen(): number {
    const b = this.buf;
    const o = this.off + O_TOTAL_LEN;
    return (b[o]! << 8) | b[o + 1]!;
  }
  /** Invalidates `checkLen()`. */
  set totalLen(v: number) {
    const o = this.off + O_TOTAL_LEN;
    this.buf[o] = v >>> 8;
    this.buf[o + 1] = v & 0xff;
  }
  get ident(): number {
    const b = this.buf;
    const o = this.off + O_IDENT;
    return (b[o]! << 8) | b[o + 1]!;
  }
  set ident(v: number) {
    const o = this.off + O_IDENT;
    this.buf[o] = v >>> 8;
    this.buf[o + 1] = v & 0xff;
  }
  /** The 16-bit flags + fragment offset word. */
  get flagsFrag(): number {
    const b = this.buf;
    const o = this.off + O_FLAGS_FRAG;
    return (b[o]! << 8) | b[o + 1]!;
  }
  set flagsFrag(v: number) {
    const o = this.off + O_FLAGS_FRAG;
    this.buf[o] = v >>> 8;
    this.buf[o + 1] = v & 0xff;
  }
  get dontFrag(): boolean {
    return (this.flagsFrag & DF) !== 0;
  }
  get moreFrags(): boolean {
    return (this.flagsFrag & MF) !== 0;
  }
  /** Fragment offset in 8-octet units. */
  get fragOffset(): number {
    return this.flagsFrag & 0x1fff;
  }
  get ttl(): number {
    return this.buf[this.off + O_TTL]!;
  }
  set ttl(v: number) {
    this.buf[this.off + O_TTL] = v;
  }
  get protocol(): IpProtocol {
    return this.buf[this.off + O_PROTOCOL]!;
  }
  set protocol(v: IpProtocol) {
    this.buf[this.off + O_PROTOCOL] = v;
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
  /** Source address as a u32 (no allocation). */
  get srcU32(): number {
    return ipv4At(this.buf, this.off + O_SRC);
  }
  set srcU32(v: number) {
    writeIpv4(this.buf, this.off + O_SRC, v);
  }
  get dstU32(): number {
    return ipv4At(this.buf, this.off + O_DST);
  }
  set dstU32(v: number) {
    writeIpv4(this.buf, this.off + O_DST, v);
  }
  get src(): Ipv4Addr {
    return Ipv4Addr.readFrom(this.buf, this.off + O_SRC);
  }
  get dst(): Ipv4Addr {
    return Ipv4Addr.readFrom(this.buf, this.off + O_DST);
  }
  /** Absolute offset in `buf` of the payload. */
  get payloadOffset(): number {
    return this.off + this.headerLen;
  }
  /** total_len - header length (not the bytes present: the frame may be padded). */
  get payloadLength(): number {
    return this.totalLen - this.headerLen;
  }
  payload(): Uint8Array {
    return this.buf.subarray(this.payloadOffset, this.off + this.totalLen);
  }
  options(): Uint8Array {
    return this.buf.subarray(this.off + HDR_LEN, this.off + this.headerLen);
  }
  /** True if the header checksum is correct. */
  verifyChecksum(): boolean {
    return csum_fold(csum_partial(this.buf, this.off, this.off + this.headerLen, 0)) === 0;
  }
  /** Computes and writes the header checksum. */
  fillChecksum(): void {
    this.checksum = 0;
    this.checksum = csum_fold(csum_partial(this.buf, this.off, this.off + this.headerLen, 0));
  }
}

/** The meaning of an IPv4 header. */
export interface Ipv4Repr {
  src: Ipv4Addr;
  dst: Ipv4Addr;
  protocol: IpProtocol;
  /** Payload bytes (total_len - header length). */
  payloadLen: number;
  ttl: number;
  ident: number;
  dscp: number;
  ecn: number;
  dontFrag: boolean;
  moreFrags: boolean;
  /** Fragment offset in 8-octet units. */
  fragOffset: number;
  /** The reserved ("evil", RFC 3514) flag bit; Linux accepts it, and so do we. */
  reservedFlag: boolean;
  /** Option bytes, a multiple of 4, at most 40. */
  options: Uint8Array;
}

export interface Ipv4ParseOptions {
  /** Verify the header checksum (default true; wire and guest bytes are untrusted). */
  verifyChecksum?: boolean;
}

const NO_OPTIONS = new Uint8Array(0);

export const Ipv4Repr = {
  /** Parses a header: structural checks, version 4, and (by default) the checksum. */
  parse(p: Ipv4Packet, opts: Ipv4ParseOptions = {}): Result<Ipv4Repr> {
    const e = p.checkLen();
    if (e !== undefined) return fail(e);
    if (p.version !== 4) return fail(wireError('ipv4', 'version', `version ${p.version} is not 4`));
    if (opts.verifyChecksum !== false && !p.verifyChecksum()) {
      return fail(wireError('ipv4', 'checksum', `header checksum 0x${p.checksum.toString(16).padStart(4, '0')} is wrong`));
    }
    const ff = p.flagsFrag;
    const optLen = p.headerLen - IPV4_HEADER_LEN;
    return ok({
      src: p.src,
      dst: p.dst,
      protocol: p.protocol,
      payloadLen: p.payloadLength,
      ttl: p.ttl,
      ident: p.ident,
      dscp: p.dscp,
      ecn: p.ecn,
      dontFrag: (ff & DF) !== 0,
      moreFrags: (ff & MF) !== 0,
      fragOffset: ff & 0x1fff,
      reservedFlag: (ff & RESERVED) !== 0,
      options: optLen === 0 ? NO_OPTIONS : p.options().slice(),
    });
  },

  headerLen(r: Ipv4Repr): number {
    return IPV4_HEADER_LEN + r.options.length;
  },

  /** Header + payload length. */
  bufferLen(r: Ipv4Repr): number {
    return IPV4_HEADER_LEN + r.options.length + r.payloadLen;
  },

  /** Writes the header and its checksum. The view must hold at least the header. */
  emit(r: Ipv4Repr, p: Ipv4Packet): void {
    const hl = Ipv4Repr.headerLen(r);
    if (r.options.length % 4 !== 0 || r.options.length > IPV4_MAX_HEADER_LEN - IPV4_HEADER_LEN) {
      badArg('Ipv4Repr.emit', 'options.length', r.options.length, 'use a multiple of 4 in 0..40');
    }
    if (p.off < 0 || p.off + hl > p.buf.length || p.len < hl) badArg('Ipv4Repr.emit', 'packet length', p.len, `need at least ${hl} bytes`);
    const total = hl + r.payloadLen;
    if (!Number.isInteger(r.payloadLen) || r.payloadLen < 0 || total > 0xffff) badArg('Ipv4Repr.emit', 'payloadLen', r.payloadLen, `use an integer in 0..${0xffff - hl}`);
    if (!Number.isInteger(r.ttl) || r.ttl < 0 || r.ttl > 255) badArg('Ipv4Repr.emit', 'ttl', r.ttl, 'use an integer in 0..255');
    if (!Number.isInteger(r.fragOffset) || r.fragOffset < 0 || r.fragOffset > 0x1fff) badArg('Ipv4Repr.emit', 'fragOffset', r.fragOffset, 'use an integer in 0..8191 (8-octet units)');
    p.headerLen = hl;
    p.setDscpEcn(r.dscp, r.ecn);
    p.totalLen = total;
    p.ident = r.ident;
    p.flagsFrag = (r.reservedFlag ? RESERVED : 0) | (r.dontFrag ? DF : 0) | (r.moreFrags ? MF : 0) | r.fragOffset;
    p.ttl = r.ttl;
    p.protocol = r.protocol;
    p.srcU32 = r.src.value;
    p.dstU32 = r.dst.value;
    p.buf.set(r.options, p.off + IPV4_HEADER_LEN);
    p.fillChecksum();
  },
};
