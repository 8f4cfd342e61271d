/**
 * ARP for Ethernet and IPv4 (RFC 826).
 *
 *     0      2      4    5    6      8          14       18         24       28
 *    +------+------+----+----+------+----------+--------+----------+--------+
 *    |htype |ptype |hlen|plen| oper | sha      | spa    | tha      | tpa    |
 *     1      0x0800  6    4    1/2
 *
 * The field table is the Ethernet/IPv4 layout; a packet announcing other address lengths
 * is rejected in `checkLen()` (field `hlen`/`plen`), so the fixed offsets are always safe.
 * Linux `arp_rcv()` likewise drops packets whose hlen does not match the device.
 */
import { Ipv4Addr, MacAddr, ipv4At, macKeyAt, writeIpv4, writeMacKey } from './address';
import { EtherType } from './ethernet';
import { badArg, fail, fieldsEnd, ok, truncated, wireError, type Result, type WireError } from './error';
import { checkedView, viewBoundsError, type WireView } from './view';

/** Field table, offsets [start, end) from the start of the ARP packet. */
export const ARP_FIELDS = {
  htype: [0, 2],
  ptype: [2, 4],
  hlen: [4, 5],
  plen: [5, 6],
  oper: [6, 8],
  sha: [8, 14],
  spa: [14, 18],
  tha: [18, 24],
  tpa: [24, 28],
} as const;
/** 28 — derived from the table. */
export const ARP_LEN = fieldsEnd(ARP_FIELDS);
/** The generic part before the addresses. */
const ARP_FIXED_LEN = ARP_FIELDS.oper[1];
/** ARPHRD_ETHER */
export const ARP_HTYPE_ETHERNET = 1;

/** ARP operations (a plain number: unknown values are kept). */
export const ArpOperation = { Request: 1, Reply: 2 } as const;
export type ArpOperation = number;

const F = ARP_FIELDS;

export class ArpPacket implements WireView {
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

  static checked(buf: Uint8Array, off = 0, len = buf.length - off): Result<ArpPacket> {
    return checkedView(new ArpPacket(buf, off, len));
  }

  /** The generic header fits, hlen = 6, plen = 4, and the 28 bytes fit. */
  checkLen(): WireError | undefined {
    const e = viewBoundsError(this, 'arp', F, ARP_FIXED_LEN);
    if (e !== undefined) return e;
    if (this.hlen !== 6) return wireError('arp', 'hlen', `hardware address length ${this.hlen} is not 6 (Ethernet)`);
    if (this.plen !== 4) return wireError('arp', 'plen', `protocol address length ${this.plen} is not 4 (IPv4)`);
    if (this.len < ARP_LEN) return truncated('arp', F, this.len, ARP_LEN);
    return undefined;
  }

  get htype(): number {
    return (this.buf[this.off]! << 8) | this.buf[this.off + 1]!;
  }
  get ptype(): number {
    return (this.buf[this.off + 2]! << 8) | this.buf[this.off + 3]!;
  }
  get hlen(): number {
    return this.buf[this.off + F.hlen[0]]!;
  }
  get plen(): number {
    return this.buf[this.off + F.plen[0]]!;
  }
  get oper(): ArpOperation {
    return (this.buf[this.off + 6]! << 8) | this.buf[this.off + 7]!;
  }
  /** Writes htype 1, ptype IPv4, hlen 6, plen 4 and the operation. */
  setEthernetIpv4(oper: ArpOperation): void {
    const b = this.buf;
    const o = this.off;
    b[o] = 0;
    b[o + 1] = ARP_HTYPE_ETHERNET;
    b[o + 2] = EtherType.IPv4 >>> 8;
    b[o + 3] = EtherType.IPv4 & 0xff;
    b[o + 4] = 6;
    b[o + 5] = 4;
    b[o + 6] = oper >>> 8;
    b[o + 7] = oper & 0xff;
  }
  get shaKey(): number {
    return macKeyAt(this.buf, this.off + F.sha[0]);
  }
  get spaU32(): number {
    return ipv4At(this.buf, this.off + F.spa[0]);
  }
  get thaKey(): number {
    return macKeyAt(this.buf, this.off + F.tha[0]);
  }
  get tpaU32(): number {
    return ipv4At(this.buf, this.off + F.tpa[0]);
  }
  setAddresses(shaKey: number, spa: number, thaKey: number, tpa: number): void {
    writeMacKey(this.buf, this.off + F.sha[0], shaKey);
    writeIpv4(this.buf, this.off + F.spa[0], spa);
    writeMacKey(this.buf, this.off + F.tha[0], thaKey);
    writeIpv4(this.buf, this.off + F.tpa[0], tpa);
  }
}

/** The meaning of an Ethernet/IPv4 ARP packet. */
export interface ArpRepr {
  operation: ArpOperation;
  senderMac: MacAddr;
  senderIp: Ipv4Addr;
  targetMac: MacAddr;
  targetIp: Ipv4Addr;
}

export const ArpRepr = {
  /** Accepts Ethernet (htype 1) / IPv4 (ptype 0x0800) ARP with any operation. */
  parse(p: ArpPacket): Result<ArpRepr> {
    const e = p.checkLen();
    if (e !== undefined) return fail(e);
    if (p.htype !== ARP_HTYPE_ETHERNET) return fail(wireError('arp', 'htype', `hardware type ${p.htype} is not 1 (Ethernet)`));
    if (p.ptype !== EtherType.IPv4) return fail(wireError('arp', 'ptype', `protocol type 0x${p.ptype.toString(16)} is not 0x0800 (IPv4)`));
    return ok({
      operation: p.oper,
      senderMac: MacAddr.fromKey(p.shaKey),
      senderIp: Ipv4Addr.fromU32(p.spaU32),
      targetMac: MacAddr.fromKey(p.thaKey),
      targetIp: Ipv4Addr.fromU32(p.tpaU32),
    });
  },

  bufferLen(): number {
    return ARP_LEN;
  },

  emit(r: ArpRepr, p: ArpPacket): void {
    if (p.off < 0 || p.off + ARP_LEN > p.buf.length || p.len < ARP_LEN) badArg('ArpRepr.emit', 'packet length', p.len, `need ${ARP_LEN} bytes`);
    if (!Number.isInteger(r.operation) || r.operation < 0 || r.operation > 0xffff) badArg('ArpRepr.emit', 'operation', r.operation, 'use an integer in 0..65535 (1 request, 2 reply)');
    p.setEthernetIpv4(r.operation);
    p.setAddresses(r.senderMac.key, r.senderIp.value, r.targetMac.key, r.targetIp.value);
  },
};
