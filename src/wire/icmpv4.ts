/**
 * ICMPv4 messages (RFC 792).
 *
 *     0      1      2         4               8
 *    +------+------+---------+---------------+------------
 *    | type | code |checksum | rest of header| data …
 *                            | ident | seq   |            (echo request 8 / echo reply 0)
 *
 * The checksum covers the whole ICMP message (header and data), with no pseudo-header.
 * The view's `len` is the IP payload length. For types other than echo, `ident`/`seqNo` are
 * simply the two 16-bit halves of the rest-of-header word.
 */
import { csum_fold, csum_partial } from './checksum';
import { badArg, fail, fieldsEnd, ok, wireError, type Result, type WireError } from './error';
import { checkedView, viewBoundsError, type WireView } from './view';

/** Field table, offsets [start, end) from the message start. */
export const ICMPV4_FIELDS = {
  type: [0, 1],
  code: [1, 2],
  checksum: [2, 4],
  ident: [4, 6],
  seq_no: [6, 8],
} as const;
const HDR_LEN = fieldsEnd(ICMPV4_FIELDS);
/** 8 — derived from the table. */
export const ICMPV4_HEADER_LEN = HDR_LEN;

/** ICMPv4 message types (a plain number: unknown values are kept). */
export const IcmpType = {
  EchoReply: 0,
  DestUnreachable: 3,
  Redirect: 5,
  EchoRequest: 8,
  TimeExceeded: 11,
  ParamProblem: 12,
} as const;
export type IcmpType = number;

const TYPE_NAMES = new Map<number, string>(Object.entries(IcmpType).map(([k, v]) => [v, k]));
export function icmpTypeName(t: IcmpType): string {
  return TYPE_NAMES.get(t) ?? `type ${t}`;
}

const F = ICMPV4_FIELDS;
const O_TYPE = F.type[0];
const O_CODE = F.code[0];
const O_CHECKSUM = F.checksum[0];
const O_IDENT = F.ident[0];
const O_SEQ_NO = F.seq_no[0];

/** A view of an ICMPv4 message in `buf[off..off+len)`. */
export class Icmpv4Packet implements WireView {
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

  static checked(buf: Uint8Array, off = 0, len = buf.length - off): Result<Icmpv4Packet> {
    return checkedView(new Icmpv4Packet(buf, off, len));
  }

  checkLen(): WireError | undefined {
    const o = this.off;
    const l = this.len;
    if (o >= 0 && l >= HDR_LEN && o + l <= this.buf.length) return undefined;
    return viewBoundsError(this, 'icmpv4', F, HDR_LEN);
  }

  get type(): IcmpType {
    return this.buf[this.off + O_TYPE]!;
  }
  set type(v: IcmpType) {
    this.buf[this.off + O_TYPE] = v;
  }
  get code(): number {
    return this.buf[this.off + O_CODE]!;
  }
  set code(v: number) {
    this.buf[this.off + O_CODE] = v;
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
  get seqNo(): number {
    const b = this.buf;
    const o = this.off + O_SEQ_NO;
    return (b[o]! << 8) | b[o + 1]!;
  }
  set seqNo(v: number) {
    const o = this.off + O_SEQ_NO;
    this.buf[o] = v >>> 8;
    this.buf[o + 1] = v & 0xff;
  }
  get payloadOffset(): number {
    return this.off + HDR_LEN;
  }
  get payloadLength(): number {
    return this.len - HDR_LEN;
  }
  payload(): Uint8Array {
    return this.buf.subarray(this.off + HDR_LEN, this.off + this.len);
  }
  verifyChecksum(): boolean {
    return csum_fold(csum_partial(this.buf, this.off, this.off + this.len, 0)) === 0;
  }
  /** Computes the checksum over the whole message; the data must be in place. */
  fillChecksum(): void {
    this.checksum = 0;
    this.checksum = csum_fold(csum_partial(this.buf, this.off, this.off + this.len, 0));
  }
}

/** The meaning of an ICMPv4 header. */
export interface Icmpv4Repr {
  type: IcmpType;
  code: number;
  /** Echo identifier (bytes 4-5 of any message). */
  ident: number;
  /** Echo sequence number (bytes 6-7 of any message). */
  seqNo: number;
  /** Data bytes after the 8-byte header. */
  payloadLen: number;
}

export const Icmpv4Repr = {
  parse(p: Icmpv4Packet, opts: { verifyChecksum?: boolean } = {}): Result<Icmpv4Repr> {
    const e = p.checkLen();
    if (e !== undefined) return fail(e);
    if (opts.verifyChecksum !== false && !p.verifyChecksum()) {
      return fail(wireError('icmpv4', 'checksum', `checksum 0x${p.checksum.toString(16).padStart(4, '0')} is wrong`));
    }
    return ok({ type: p.type, code: p.code, ident: p.ident, seqNo: p.seqNo, payloadLen: p.payloadLength });
  },

  bufferLen(r: Icmpv4Repr): number {
    return ICMPV4_HEADER_LEN + r.payloadLen;
  },

  /** Writes the header and checksum; the data must already be at `p.payloadOffset`. */
  emit(r: Icmpv4Repr, p: Icmpv4Packet): void {
    const total = ICMPV4_HEADER_LEN + r.payloadLen;
    if (p.off < 0 || p.off + total > p.buf.length || p.len !== total) badArg('Icmpv4Repr.emit', 'packet length', p.len, `the view must hold exactly the ${total}-byte message`);
    p.type = r.type;
    p.code = r.code;
    p.ident = r.ident;
    p.seqNo = r.seqNo;
    p.fillChecksum();
  },
};
