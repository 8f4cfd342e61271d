/**
 * Ethernet II frames (IEEE 802.3 / DIX) with an optional IEEE 802.1Q VLAN tag.
 *
 *     0                 6                 12        14
 *    +-----------------+-----------------+---------+---------------------
 *    | destination MAC | source MAC      | type    | payload …
 *
 *   with an 802.1Q tag (TPID 0x8100 where the type would be):
 *
 *     0                 6                 12        14        16        18
 *    +-----------------+-----------------+---------+---------+---------+-----------
 *    | destination MAC | source MAC      | TPID    | TCI     | type    | payload …
 *                                                  TCI = PCP(3) | DEI(1) | VID(12)
 *
 * No preamble, no FCS (as a Linux skb and a pcap with LINKTYPE_ETHERNET see a frame).
 * Differences from a full implementation: one 802.1Q tag is parsed; an inner TPID (QinQ,
 * 0x8100 or 0x88a8) is kept as an EtherType value like any other. Type values below 0x0600
 * are 802.3 length fields and are kept as they are.
 */
import { MacAddr, macKeyAt, writeMacKey } from './address';
import { badArg, fail, fieldsEnd, ok, truncated, type Result, type WireError } from './error';
import { checkedView, viewBoundsError, type WireView } from './view';

/** Field table, offsets [start, end) from the frame start (RFC 894). */
export const ETHERNET_FIELDS = {
  dst: [0, 6],
  src: [6, 12],
  ethertype: [12, 14],
} as const;

/** The 802.1Q tag fields, offsets from the frame start when a tag is present. */
export const VLAN_FIELDS = {
  tpid: [12, 14],
  tci: [14, 16],
  ethertype: [16, 18],
} as const;

// Module-local copies of the offsets: hot accessors read these (small bytecode, so V8 inlines
// them even deep inside a forwarding loop) instead of exported bindings or table lookups.
const HDR_LEN = fieldsEnd(ETHERNET_FIELDS);
const VLAN_HDR_LEN = fieldsEnd(VLAN_FIELDS);
const O_DST = ETHERNET_FIELDS.dst[0];
const O_SRC = ETHERNET_FIELDS.src[0];
const O_TYPE = ETHERNET_FIELDS.ethertype[0];
const O_TCI = VLAN_FIELDS.tci[0];
const TAG = VLAN_HDR_LEN - HDR_LEN;

/** 14 — derived from the field table. */
export const ETHERNET_HEADER_LEN = HDR_LEN;
/** 18 — derived from the tag field table. */
export const ETHERNET_VLAN_HEADER_LEN = VLAN_HDR_LEN;
/** 4 bytes of 802.1Q tag. */
export const VLAN_TAG_LEN = TAG;
/** The shortest frame on the wire without FCS (64 - 4); shorter frames are padded by the NIC. */
export const ETHERNET_MIN_FRAME_LEN = 60;

/**
 * EtherType values. `EtherType` is a plain number so unknown values are kept, not lost
 * (smoltcp's `enum_with_unknown!`); `etherTypeName()` names the known ones.
 */
export const EtherType = {
  IPv4: 0x0800,
  ARP: 0x0806,
  VLAN: 0x8100,
  IPv6: 0x86dd,
  QinQ: 0x88a8,
  LLDP: 0x88cc,
} as const;
export type EtherType = number;

const ETHERTYPE_NAMES = new Map<number, string>(Object.entries(EtherType).map(([k, v]) => [v, k]));

/** "IPv4", "ARP", … or "0x88b5" for an unknown type. */
export function etherTypeName(t: EtherType): string {
  return ETHERTYPE_NAMES.get(t) ?? '0x' + t.toString(16).padStart(4, '0');
}

const E = ETHERNET_FIELDS;
const V = VLAN_FIELDS;

/**
 * A view of an Ethernet II frame in `buf[off..off+len)`. No copy.
 * `new EthernetFrame(…)` is unchecked (for emitting into a buffer you own); parse untrusted
 * bytes with `EthernetFrame.checked()`, after which no accessor reads out of bounds.
 */
export class EthernetFrame implements WireView {
  // `declare`d, not class fields: no initializer function, so the constructor stays small
  // enough for V8 to inline and to remove the allocation in a parse loop. The constructor and
  // reset() are per class, not inherited from a base (measurements in view.ts).
  declare readonly buf: Uint8Array;
  declare readonly off: number;
  declare readonly len: number;
  /** 14 or 18, read once from the TPID position (kept in step by the `outerType` setter). */
  declare private hl: number;

  constructor(buf: Uint8Array, off = 0, len = buf.length - off) {
    this.buf = buf;
    this.off = off;
    this.len = len;
    // Out-of-range reads give undefined here, never a throw; checkLen() reports the truncation.
    this.hl = buf[off + O_TYPE] === 0x81 && buf[off + O_TYPE + 1] === 0x00 ? VLAN_HDR_LEN : HDR_LEN;
  }

  /**
   * Re-points this view at other bytes (unchecked, like the constructor) and returns it: a hot
   * loop can keep one view per layer instead of allocating one per packet.
   */
  reset(buf: Uint8Array, off: number, len: number): this {
    (this as { buf: Uint8Array }).buf = buf;
    (this as { off: number }).off = off;
    (this as { len: number }).len = len;
    this.hl = buf[off + O_TYPE] === 0x81 && buf[off + O_TYPE + 1] === 0x00 ? VLAN_HDR_LEN : HDR_LEN;
    return this;
  }

  /** Views untrusted bytes: a frame, or an error value naming the field that is cut. */
  static checked(buf: Uint8Array, off = 0, len = buf.length - off): Result<EthernetFrame> {
    return checkedView(new EthernetFrame(buf, off, len));
  }

  /** Undefined if the header (and tag, if any) fits in `len`; otherwise the error. */
  checkLen(): WireError | undefined {
    // Fast path kept small so V8 inlines it into forwarding loops; diagnosis is out of line.
    const o = this.off;
    const l = this.len;
    if (o >= 0 && l >= this.hl && o + l <= this.buf.length) return undefined;
    return this.lenError();
  }

  private lenError(): WireError {
    return viewBoundsError(this, 'ethernet', E, HDR_LEN) ?? truncated('vlan', V, this.len, VLAN_HDR_LEN);
  }

  /** Destination MAC as a 48-bit key (no allocation). */
  get dstKey(): number {
    return macKeyAt(this.buf, this.off + O_DST);
  }
  get srcKey(): number {
    return macKeyAt(this.buf, this.off + O_SRC);
  }
  get dst(): MacAddr {
    return MacAddr.readFrom(this.buf, this.off + O_DST);
  }
  set dst(m: MacAddr) {
    writeMacKey(this.buf, this.off + O_DST, m.key);
  }
  get src(): MacAddr {
    return MacAddr.readFrom(this.buf, this.off + O_SRC);
  }
  set src(m: MacAddr) {
    writeMacKey(this.buf, this.off + O_SRC, m.key);
  }
  /** The 16 bits at offset 12: the EtherType, or the TPID if tagged. */
  get outerType(): number {
    const b = this.buf;
    const o = this.off + O_TYPE;
    return (b[o]! << 8) | b[o + 1]!;
  }
  set outerType(v: number) {
    const o = this.off + O_TYPE;
    this.buf[o] = v >>> 8;
    this.buf[o + 1] = v & 0xff;
    this.hl = v === EtherType.VLAN ? VLAN_HDR_LEN : HDR_LEN;
  }
  /** True if an 802.1Q tag follows the source MAC. */
  get hasVlan(): boolean {
    return this.hl !== HDR_LEN;
  }
  /** Tag control information (valid only if `hasVlan`). */
  get tci(): number {
    const b = this.buf;
    const o = this.off + O_TCI;
    return (b[o]! << 8) | b[o + 1]!;
  }
  set tci(v: number) {
    const o = this.off + O_TCI;
    this.buf[o] = v >>> 8;
    this.buf[o + 1] = v & 0xff;
  }
  /** VLAN identifier (12 bits), or -1 if untagged. */
  get vid(): number {
    return this.hasVlan ? this.tci & 0x0fff : -1;
  }
  /** The EtherType of the payload (after the tag, if any). */
  get etherType(): EtherType {
    const b = this.buf;
    const o = this.off + this.hl - 2;
    return (b[o]! << 8) | b[o + 1]!;
  }
  set etherType(v: EtherType) {
    const o = this.off + this.hl - 2;
    this.buf[o] = v >>> 8;
    this.buf[o + 1] = v & 0xff;
  }
  /** 14, or 18 with a tag. */
  get headerLen(): number {
    return this.hl;
  }
  /** Absolute offset in `buf` of the payload. */
  get payloadOffset(): number {
    return this.off + this.hl;
  }
  get payloadLength(): number {
    return this.len - this.hl;
  }
  payload(): Uint8Array {
    return this.buf.subarray(this.payloadOffset, this.off + this.len);
  }
}

/** An 802.1Q tag: priority code point, drop-eligible indicator, VLAN id. */
export interface VlanTag {
  /** VLAN identifier 0..4095 (0: priority-tagged only; 4095 reserved). */
  vid: number;
  /** Priority code point 0..7. */
  pcp: number;
  /** Drop eligible indicator (formerly CFI). */
  dei: boolean;
}

/** The meaning of an Ethernet header. */
export interface EthernetRepr {
  src: MacAddr;
  dst: MacAddr;
  etherType: EtherType;
  vlan?: VlanTag;
}

export const EthernetRepr = {
  /** Parses a checked frame. Every type value is accepted (unknown ones are kept). */
  parse(f: EthernetFrame): Result<EthernetRepr> {
    const e = f.checkLen();
    if (e !== undefined) return fail(e);
    const repr: EthernetRepr = { src: f.src, dst: f.dst, etherType: f.etherType };
    if (f.hasVlan) {
      const tci = f.tci;
      repr.vlan = { vid: tci & 0x0fff, pcp: tci >>> 13, dei: (tci & 0x1000) !== 0 };
    }
    return ok(repr);
  },

  headerLen(r: EthernetRepr): number {
    return r.vlan ? VLAN_HDR_LEN : HDR_LEN;
  },

  /** Writes the header (and tag) into `f`; the view must hold at least `headerLen(r)` bytes. */
  emit(r: EthernetRepr, f: EthernetFrame): void {
    const need = EthernetRepr.headerLen(r);
    if (f.off < 0 || f.off + need > f.buf.length || f.len < need) badArg('EthernetRepr.emit', 'frame length', f.len, `need at least ${need} bytes`);
    f.dst = r.dst;
    f.src = r.src;
    if (r.vlan) {
      const { vid, pcp, dei } = r.vlan;
      if (!Number.isInteger(vid) || vid < 0 || vid > 4095) badArg('EthernetRepr.emit', 'vlan.vid', vid, 'use an integer in 0..4095');
      if (!Number.isInteger(pcp) || pcp < 0 || pcp > 7) badArg('EthernetRepr.emit', 'vlan.pcp', pcp, 'use an integer in 0..7');
      f.outerType = EtherType.VLAN;
      f.tci = (pcp << 13) | (dei ? 0x1000 : 0) | vid;
      f.etherType = r.etherType;
    } else {
      if (r.etherType === EtherType.VLAN) badArg('EthernetRepr.emit', 'etherType', r.etherType, 'an untagged frame cannot have type 0x8100; give `vlan` instead');
      f.outerType = r.etherType;
    }
  },
};
