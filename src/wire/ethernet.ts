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
import { badArg, fail, fieldsEnd, ok, truncated, wireError, type Result, type WireError } from './error';

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

/** 14 — derived from the field table. */
export const ETHERNET_HEADER_LEN = fieldsEnd(ETHERNET_FIELDS);
/** 18 — derived from the tag field table. */
export const ETHERNET_VLAN_HEADER_LEN = fieldsEnd(VLAN_FIELDS);
/** 4 bytes of 802.1Q tag. */
export const VLAN_TAG_LEN = ETHERNET_VLAN_HEADER_LEN - ETHERNET_HEADER_LEN;
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
export class EthernetFrame {
  constructor(
    readonly buf: Uint8Array,
    readonly off = 0,
    readonly len = buf.length - off,
  ) {}

  /** Views untrusted bytes: a frame, or an error value naming the field that is cut. */
  static checked(buf: Uint8Array, off = 0, len = buf.length - off): Result<EthernetFrame> {
    const f = new EthernetFrame(buf, off, len);
    const e = f.checkLen();
    return e === undefined ? ok(f) : fail(e);
  }

  /** Undefined if the header (and tag, if any) fits in `len`; otherwise the error. */
  checkLen(): WireError | undefined {
    if (this.off < 0 || this.len < 0 || this.off + this.len > this.buf.length) {
      return wireError('ethernet', 'header', `view [${this.off}, ${this.off + this.len}) lies outside the ${this.buf.length}-byte buffer`);
    }
    if (this.len < ETHERNET_HEADER_LEN) return truncated('ethernet', E, this.len, ETHERNET_HEADER_LEN);
    if (this.hasVlan && this.len < ETHERNET_VLAN_HEADER_LEN) return truncated('vlan', V, this.len, ETHERNET_VLAN_HEADER_LEN);
    return undefined;
  }

  /** Destination MAC as a 48-bit key (no allocation). */
  get dstKey(): number {
    return macKeyAt(this.buf, this.off + E.dst[0]);
  }
  get srcKey(): number {
    return macKeyAt(this.buf, this.off + E.src[0]);
  }
  get dst(): MacAddr {
    return MacAddr.readFrom(this.buf, this.off + E.dst[0]);
  }
  set dst(m: MacAddr) {
    writeMacKey(this.buf, this.off + E.dst[0], m.key);
  }
  get src(): MacAddr {
    return MacAddr.readFrom(this.buf, this.off + E.src[0]);
  }
  set src(m: MacAddr) {
    writeMacKey(this.buf, this.off + E.src[0], m.key);
  }
  /** The 16 bits at offset 12: the EtherType, or the TPID if tagged. */
  get outerType(): number {
    const o = this.off + E.ethertype[0];
    return (this.buf[o]! << 8) | this.buf[o + 1]!;
  }
  set outerType(v: number) {
    const o = this.off + E.ethertype[0];
    this.buf[o] = v >>> 8;
    this.buf[o + 1] = v & 0xff;
  }
  /** True if an 802.1Q tag follows the source MAC. */
  get hasVlan(): boolean {
    return this.outerType === EtherType.VLAN;
  }
  /** Tag control information (valid only if `hasVlan`). */
  get tci(): number {
    const o = this.off + V.tci[0];
    return (this.buf[o]! << 8) | this.buf[o + 1]!;
  }
  set tci(v: number) {
    const o = this.off + V.tci[0];
    this.buf[o] = v >>> 8;
    this.buf[o + 1] = v & 0xff;
  }
  /** VLAN identifier (12 bits), or -1 if untagged. */
  get vid(): number {
    return this.hasVlan ? this.tci & 0x0fff : -1;
  }
  /** The EtherType of the payload (after the tag, if any). */
  get etherType(): EtherType {
    const o = this.off + (this.hasVlan ? V.ethertype[0] : E.ethertype[0]);
    return (this.buf[o]! << 8) | this.buf[o + 1]!;
  }
  set etherType(v: EtherType) {
    const o = this.off + (this.hasVlan ? V.ethertype[0] : E.ethertype[0]);
    this.buf[o] = v >>> 8;
    this.buf[o + 1] = v & 0xff;
  }
  /** 14, or 18 with a tag. */
  get headerLen(): number {
    return this.hasVlan ? ETHERNET_VLAN_HEADER_LEN : ETHERNET_HEADER_LEN;
  }
  /** Absolute offset in `buf` of the payload. */
  get payloadOffset(): number {
    return this.off + this.headerLen;
  }
  get payloadLength(): number {
    return this.len - this.headerLen;
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
    return r.vlan ? ETHERNET_VLAN_HEADER_LEN : ETHERNET_HEADER_LEN;
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
