/**
 * Link-layer (MAC, IEEE 802) and IPv4 addresses as small immutable value types.
 *
 * A MAC address is held as a 48-bit integer in a JS number (exact: 48 < 53 bits), so equality
 * is `===` on `.key` and a forwarding database can use the number as a Map key. `macKeyAt()`
 * reads that key straight out of a frame without allocating — the bridge's hot path.
 *
 *    octet   0        1        2        3        4        5
 *          +--------+--------+--------+--------+--------+--------+
 *          |  OUI (bit 0 of octet 0: group/multicast,    | NIC-specific           |
 *          |  bit 1: locally administered)               |                        |
 *
 * An IPv4 address is a u32 in network order (octet 0 is the most significant byte).
 */
import { badArg } from './error';

const TWO32 = 0x1_0000_0000;

/**
 * The 48-bit integer key of the MAC address at `bytes[offset..offset+6)`.
 * The caller guarantees the six bytes exist (a checked view did). No allocation.
 */
export function macKeyAt(b: Uint8Array, o: number): number {
  // One expression (small bytecode, so V8 inlines it into callers' loops).
  return ((b[o]! << 8) | b[o + 1]!) * 0x1_0000_0000 + (((b[o + 2]! << 24) | (b[o + 3]! << 16) | (b[o + 4]! << 8) | b[o + 5]!) >>> 0);
}

/** Writes a 48-bit MAC key as six octets at `bytes[offset]`. */
export function writeMacKey(bytes: Uint8Array, offset: number, key: number): void {
  const hi = Math.floor(key / TWO32);
  const lo = key >>> 0; // key - hi * 2^32, since ToUint32 takes the low 32 bits exactly
  bytes[offset] = hi >>> 8;
  bytes[offset + 1] = hi & 0xff;
  bytes[offset + 2] = lo >>> 24;
  bytes[offset + 3] = (lo >>> 16) & 0xff;
  bytes[offset + 4] = (lo >>> 8) & 0xff;
  bytes[offset + 5] = lo & 0xff;
}

/** True if the MAC key has the group (I/G) bit set: multicast or broadcast. */
export function macKeyIsMulticast(key: number): boolean {
  return (Math.floor(key / TWO32) & 0x100) !== 0;
}

const MAC_RE = /^([0-9a-fA-F]{2})[:-]([0-9a-fA-F]{2})[:-]([0-9a-fA-F]{2})[:-]([0-9a-fA-F]{2})[:-]([0-9a-fA-F]{2})[:-]([0-9a-fA-F]{2})$/;
const BROADCAST_KEY = 0xffff_ffff_ffff;
/** 01:80:c2:00:00:00 — the base of the IEEE 802.1D reserved link-local group addresses. */
const LINK_LOCAL_BASE = 0x0180_c200_0000;

/** An IEEE 802 MAC address (EUI-48). Immutable; compare with `equals` or by `key`. */
export class MacAddr {
  /** The address as a 48-bit integer (octet 0 most significant). */
  readonly key: number;

  private constructor(key: number) {
    this.key = key;
  }

  static readonly BROADCAST = new MacAddr(BROADCAST_KEY);
  static readonly ZERO = new MacAddr(0);

  /** Parses "fe:ff:ff:ff:ff:ff" (or with dashes). Throws on anything else (API input). */
  static parse(s: string): MacAddr {
    const m = typeof s === 'string' ? MAC_RE.exec(s) : null;
    if (m === null) return badArg('MacAddr.parse', 's', s, 'use six hex octets separated by colons, e.g. "fe:ff:ff:ff:ff:ff"');
    let key = 0;
    for (let i = 1; i <= 6; i++) key = key * 256 + parseInt(m[i]!, 16);
    return new MacAddr(key);
  }

  /** From a 48-bit integer key. */
  static fromKey(key: number): MacAddr {
    if (!Number.isInteger(key) || key < 0 || key > BROADCAST_KEY) badArg('MacAddr.fromKey', 'key', key, 'use an integer in 0..2^48-1');
    return new MacAddr(key);
  }

  /** From six octets (copied). */
  static fromBytes(bytes: ArrayLike<number>, offset = 0): MacAddr {
    if (offset < 0 || offset + 6 > bytes.length) badArg('MacAddr.fromBytes', 'offset', offset, `six octets must fit in ${bytes.length}`);
    let key = 0;
    for (let i = 0; i < 6; i++) {
      const b = bytes[offset + i]!;
      if (!Number.isInteger(b) || b < 0 || b > 255) badArg('MacAddr.fromBytes', `bytes[${offset + i}]`, b, 'use octets 0..255');
      key = key * 256 + b;
    }
    return new MacAddr(key);
  }

  /** Reads a MAC from a frame (the caller has checked the six bytes exist). */
  static readFrom(bytes: Uint8Array, offset: number): MacAddr {
    return new MacAddr(macKeyAt(bytes, offset));
  }

  /** Accepts a MacAddr or its string form. */
  static from(v: MacAddr | string): MacAddr {
    return v instanceof MacAddr ? v : MacAddr.parse(v);
  }

  writeTo(bytes: Uint8Array, offset: number): void {
    writeMacKey(bytes, offset, this.key);
  }

  octets(): Uint8Array {
    const b = new Uint8Array(6);
    writeMacKey(b, 0, this.key);
    return b;
  }

  equals(other: MacAddr): boolean {
    return this.key === other.key;
  }

  /** ff:ff:ff:ff:ff:ff */
  isBroadcast(): boolean {
    return this.key === BROADCAST_KEY;
  }
  /** Group bit set (includes broadcast). */
  isMulticast(): boolean {
    return macKeyIsMulticast(this.key);
  }
  /** Group bit clear. */
  isUnicast(): boolean {
    return !macKeyIsMulticast(this.key);
  }
  isZero(): boolean {
    return this.key === 0;
  }
  /** Locally administered (U/L bit set), as Xen's default vif MACs 00:16:3e are not, and fe:ff:ff:ff:ff:ff is. */
  isLocal(): boolean {
    return (Math.floor(this.key / TWO32) & 0x200) !== 0;
  }
  /**
   * 01:80:c2:00:00:0X — the IEEE 802.1D link-local group (STP, pause, LACP, LLDP…), which a
   * Linux bridge does not forward by default (`br_handle_frame`, `group_fwd_mask`).
   */
  isLinkLocalGroup(): boolean {
    return this.key - (this.key % 16) === LINK_LOCAL_BASE;
  }

  toString(): string {
    const b = this.octets();
    let s = '';
    for (let i = 0; i < 6; i++) s += (i ? ':' : '') + b[i]!.toString(16).padStart(2, '0');
    return s;
  }
  toJSON(): string {
    return this.toString();
  }
}

/** An IPv4 address. Immutable; `value` is the u32 in network order. */
export class Ipv4Addr {
  readonly value: number;

  private constructor(value: number) {
    this.value = value >>> 0;
  }

  static readonly ANY = new Ipv4Addr(0);
  static readonly BROADCAST = new Ipv4Addr(0xffff_ffff);

  /** Parses dotted-quad "10.0.0.1" strictly (four decimal octets 0..255, no leading zeros). */
  static parse(s: string): Ipv4Addr {
    const parts = typeof s === 'string' ? s.split('.') : [];
    let v = 0;
    const good = parts.length === 4 && parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255);
    if (!good) return badArg('Ipv4Addr.parse', 's', s, 'use a dotted quad of four octets 0..255, e.g. "10.0.0.1"');
    for (const p of parts) v = v * 256 + Number(p);
    return new Ipv4Addr(v);
  }

  static fromU32(value: number): Ipv4Addr {
    if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) badArg('Ipv4Addr.fromU32', 'value', value, 'use an integer in 0..2^32-1');
    return new Ipv4Addr(value);
  }

  /** Reads an address from a packet (the caller has checked the four bytes exist). */
  static readFrom(bytes: Uint8Array, offset: number): Ipv4Addr {
    return new Ipv4Addr(ipv4At(bytes, offset));
  }

  static from(v: Ipv4Addr | string): Ipv4Addr {
    return v instanceof Ipv4Addr ? v : Ipv4Addr.parse(v);
  }

  writeTo(bytes: Uint8Array, offset: number): void {
    writeIpv4(bytes, offset, this.value);
  }

  octets(): Uint8Array {
    const b = new Uint8Array(4);
    writeIpv4(b, 0, this.value);
    return b;
  }

  equals(other: Ipv4Addr): boolean {
    return this.value === other.value;
  }
  /** 255.255.255.255 (limited broadcast). */
  isBroadcast(): boolean {
    return this.value === 0xffff_ffff;
  }
  /** 224.0.0.0/4 */
  isMulticast(): boolean {
    return this.value >>> 28 === 0xe;
  }
  isUnicast(): boolean {
    return !this.isBroadcast() && !this.isMulticast() && !this.isZero();
  }
  /** 0.0.0.0 */
  isZero(): boolean {
    return this.value === 0;
  }
  /** 169.254.0.0/16 */
  isLinkLocal(): boolean {
    return this.value >>> 16 === 0xa9fe;
  }
  /** 127.0.0.0/8 */
  isLoopback(): boolean {
    return this.value >>> 24 === 127;
  }

  toString(): string {
    const v = this.value;
    return `${v >>> 24}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}`;
  }
  toJSON(): string {
    return this.toString();
  }
}

/** The u32 IPv4 address at `bytes[offset..offset+4)` (no allocation). */
export function ipv4At(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

export function writeIpv4(bytes: Uint8Array, offset: number, v: number): void {
  bytes[offset] = v >>> 24;
  bytes[offset + 1] = (v >>> 16) & 0xff;
  bytes[offset + 2] = (v >>> 8) & 0xff;
  bytes[offset + 3] = v & 0xff;
}
