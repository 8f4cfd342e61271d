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
import { badArg, fail, fieldsEnd, ok, truncated, wireError, type Result, type WireError } from './error';

/** Field table, offsets [start, end) from the message start. */
export const ICMPV4_FIELDS = {
  type: [0, 1],
  code: [1, 2],
  checksum: [2, 4],
  ident: [4, 6],
  seq_no: [6, 8],
} as const;
/** 8 — derived from the table. */
export const ICMPV4_HEADER_LEN = fieldsEnd(ICMPV4_FIELDS);

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

/** A view of an ICMPv4 message in `buf[off..off+len)`. */
export class Icmpv4Packet {
  constructor(
    readonly buf: Uint8Array,
    readonly off = 0,
    readonly len = buf.length - off,
  ) {}

  static checked(buf: Uint8Array, off = 0, len = buf.length - off): Result<Icmpv4Packet> {
    const p = new Icmpv4Packet(buf, off, len);
    const e = p.checkLen();
    return e === undefined ? ok(p) : fail(e);
  }

  checkLen(): WireError | undefined {
    const { buf, off, len } = this;
    if (off < 0 || len < 0 || off + len > buf.length) return wireError('icmpv4', 'header', `view [${off}, ${off + len}) lies outside the ${buf.length}-byte buffer`);
    if (len < ICMPV4_HEADER_LEN) return truncated('icmpv4', F, len, ICMPV4_HEADER_LEN);
    return undefined;
  }

  get type(): IcmpType {
    return this.buf[this.off]!;
  }
  set type(v: IcmpType) {
    this.buf[this.off] = v;
  }
  get code(): number {
    return this.buf[this.off + 1]!;
  }
  set code(v: number) {
    this.buf[this.off + 1] = v;
  }
  get checksum(): number {
    return (this.buf[this.off + 2]! << 8) | this.buf[this.off + 3]!;
  }
  set checksum(v: number) {
    this.buf[this.off + 2] = v >>> 8;
    this.buf[this.off + 3] = v & 0xff;
  }
  get ident(): number {
    return (this.buf[this.off + 4]! << 8) | this.buf[this.off + 5]!;
  }
  set ident(v: number) {
    this.buf[this.off + 4] = v >>> 8;
    this.buf[this.off + 5] = v & 0xff;
  }
  get seqNo(): number {
    return (this.buf[this.off + 6]! << 8) | this.buf[this.off + 7]!;
  }
  set seqNo(v: number) {
    this.buf[this.off + 6] = v >>> 8;
    this.buf[this.off + 7] = v & 0xff;
  }
  get payloadOffset(): number {
    return this.off + ICMPV4_HEADER_LEN;
  }
  get payloadLength(): number {
    return this.len - ICMPV4_HEADER_LEN;
  }
  payload(): Uint8Array {
    return this.buf.subarray(this.off + ICMPV4_HEADER_LEN, this.off + this.len);
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
