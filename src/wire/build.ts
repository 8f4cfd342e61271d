/**
 * Frame builders for the rest of the model: UDP, TCP, ICMP echo and ARP frames, each as an
 * allocating `buildX(spec)` and a hot-path `buildXInto(buf, off, spec)` that writes into a
 * preallocated buffer and returns the frame length. Plus `answerIcmpEcho()`, which turns an
 * echo request into its reply in place, as a guest stack does.
 *
 * Defaults follow Linux: TTL 64 (`net.ipv4.ip_default_ttl`), DF set (`ip_no_pmtu_disc = 0`,
 * so sockets use IP_PMTUDISC_WANT), IP id 0 unless given, ARP requests carry a zero target MAC
 * (`arp_create()`), frames are not padded to 60 bytes (the NIC pads; say `padToMin`).
 */
import { Ipv4Addr, MacAddr, writeMacKey, writeIpv4 } from './address';
import { ArpOperation, ArpPacket, ARP_LEN } from './arp';
import { csum_fold, csum_partial, csum_replace2, csum_tcpudp_nofold, foldSum, CSUM_MANGLED_0, type PartialChecksum } from './checksum';
import { ETHERNET_HEADER_LEN, ETHERNET_MIN_FRAME_LEN, ETHERNET_VLAN_HEADER_LEN, EthernetFrame, EtherType, type VlanTag } from './ethernet';
import { badArg, wireError, type WireError } from './error';
import { IcmpType, Icmpv4Packet, ICMPV4_HEADER_LEN } from './icmpv4';
import { IpProtocol, Ipv4Packet, IPV4_HEADER_LEN } from './ipv4';
import { TcpPacket, TCP_CSUM_OFFSET, TCP_HEADER_LEN } from './tcp';
import { UDP_CSUM_OFFSET, UDP_HEADER_LEN, type L4Checksum } from './udp';

/** Addressing and IP options shared by the IPv4 builders. */
export interface Ipv4FrameSpec {
  srcMac: MacAddr | string;
  dstMac: MacAddr | string;
  srcIp: Ipv4Addr | string;
  dstIp: Ipv4Addr | string;
  /** An 802.1Q tag: a VLAN id, or the full tag. */
  vlan?: number | VlanTag;
  /** IPv4 identification (default 0). */
  ipId?: number;
  /** Default 64. */
  ttl?: number;
  /** Don't-fragment flag (default true, as Linux sets it with path-MTU discovery). */
  dontFrag?: boolean;
  /** DSCP (default 0). */
  dscp?: number;
  /**
   * Payload bytes to copy in, or `payloadLength` to leave the payload region as it is (zeros
   * in a fresh buffer; whatever the caller wrote there in the `Into` variants).
   */
  payload?: Uint8Array;
  payloadLength?: number;
}

export interface UdpFrameSpec extends Ipv4FrameSpec {
  srcPort: number;
  dstPort: number;
  /**
   * 'full' (default): computed. 'partial': the pseudo-header sum is left in the field as a
   * CHECKSUM_PARTIAL sender leaves it (see `udpPartialChecksum()` for csum_start/offset).
   * 'none': 0 (no checksum).
   */
  checksum?: L4Checksum;
}

export interface TcpFrameSpec extends Ipv4FrameSpec {
  srcPort: number;
  dstPort: number;
  seq?: number;
  ack?: number;
  /** `TcpFlags` bits (default SYN). */
  flags?: number;
  /** Default 64240 (Linux's initial window for a 1460-byte MSS). */
  window?: number;
  /** Option bytes, a multiple of 4 (default none). */
  options?: Uint8Array;
  checksum?: L4Checksum;
}

export interface IcmpEchoSpec extends Ipv4FrameSpec {
  /** 'request' (type 8, default) or 'reply' (type 0). */
  type?: 'request' | 'reply';
  ident: number;
  seqNo: number;
}

export interface ArpSpec {
  /** 'request' (default), 'reply', or an operation number. */
  operation?: 'request' | 'reply' | number;
  senderMac: MacAddr | string;
  senderIp: Ipv4Addr | string;
  /** Default 00:00:00:00:00:00 for a request (as Linux's arp_create), required for a reply. */
  targetMac?: MacAddr | string;
  targetIp: Ipv4Addr | string;
  /** Ethernet source (default senderMac). */
  srcMac?: MacAddr | string;
  /** Ethernet destination (default broadcast for a request, targetMac otherwise). */
  dstMac?: MacAddr | string;
  vlan?: number | VlanTag;
  /** Pad to the 60-byte Ethernet minimum with zeros, as a NIC does (default false). */
  padToMin?: boolean;
}

const NAME_UDP = 'buildUdpFrameInto';

function u16Arg(fn: string, name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff) badArg(fn, name, v, 'use an integer in 0..65535');
}

function tagOf(fn: string, vlan: number | VlanTag | undefined): number {
  if (vlan === undefined) return -1;
  const t = typeof vlan === 'number' ? { vid: vlan, pcp: 0, dei: false } : vlan;
  if (!Number.isInteger(t.vid) || t.vid < 0 || t.vid > 4095) badArg(fn, 'vlan', t.vid, 'use a VLAN id in 0..4095');
  if (!Number.isInteger(t.pcp) || t.pcp < 0 || t.pcp > 7) badArg(fn, 'vlan.pcp', t.pcp, 'use an integer in 0..7');
  return (t.pcp << 13) | (t.dei ? 0x1000 : 0) | t.vid;
}

function payloadLenOf(fn: string, spec: Ipv4FrameSpec, max: number): number {
  const n = spec.payload !== undefined ? spec.payload.length : spec.payloadLength ?? 0;
  if (spec.payload !== undefined && spec.payloadLength !== undefined && spec.payloadLength !== spec.payload.length) {
    badArg(fn, 'payloadLength', spec.payloadLength, `give either payload or payloadLength (payload has ${spec.payload.length} bytes)`);
  }
  if (!Number.isInteger(n) || n < 0 || n > max) badArg(fn, 'payloadLength', n, `use an integer in 0..${max}`);
  return n;
}

/** Writes Ethernet (+tag) and returns the IPv4 header's absolute offset. */
function writeEth(buf: Uint8Array, off: number, dst: MacAddr | string, src: MacAddr | string, tci: number, type: number): number {
  writeMacKey(buf, off, MacAddr.from(dst).key);
  writeMacKey(buf, off + 6, MacAddr.from(src).key);
  let o = off + 12;
  if (tci >= 0) {
    buf[o] = EtherType.VLAN >>> 8;
    buf[o + 1] = EtherType.VLAN & 0xff;
    buf[o + 2] = tci >>> 8;
    buf[o + 3] = tci & 0xff;
    o += 4;
  }
  buf[o] = type >>> 8;
  buf[o + 1] = type & 0xff;
  return o + 2;
}

/** Writes a 20-byte IPv4 header with its checksum at `ip`. */
function writeIpv4Header(fn: string, buf: Uint8Array, ip: number, spec: Ipv4FrameSpec, proto: number, l4Len: number, src: number, dst: number): void {
  const ttl = spec.ttl ?? 64;
  const id = spec.ipId ?? 0;
  const dscp = spec.dscp ?? 0;
  if (!Number.isInteger(ttl) || ttl < 0 || ttl > 255) badArg(fn, 'ttl', ttl, 'use an integer in 0..255');
  u16Arg(fn, 'ipId', id);
  if (!Number.isInteger(dscp) || dscp < 0 || dscp > 63) badArg(fn, 'dscp', dscp, 'use an integer in 0..63');
  const total = IPV4_HEADER_LEN + l4Len;
  buf[ip] = 0x45;
  buf[ip + 1] = dscp << 2;
  buf[ip + 2] = total >>> 8;
  buf[ip + 3] = total & 0xff;
  buf[ip + 4] = id >>> 8;
  buf[ip + 5] = id & 0xff;
  buf[ip + 6] = spec.dontFrag === false ? 0 : 0x40;
  buf[ip + 7] = 0;
  buf[ip + 8] = ttl;
  buf[ip + 9] = proto;
  buf[ip + 10] = 0;
  buf[ip + 11] = 0;
  writeIpv4(buf, ip + 12, src);
  writeIpv4(buf, ip + 16, dst);
  const c = csum_fold(csum_partial(buf, ip, ip + IPV4_HEADER_LEN, 0));
  buf[ip + 10] = c >>> 8;
  buf[ip + 11] = c & 0xff;
}

function ensureRoom(fn: string, buf: Uint8Array, off: number, len: number): void {
  if (!Number.isInteger(off) || off < 0 || off + len > buf.length) badArg(fn, 'offset', off, `the ${len}-byte frame must fit in the ${buf.length}-byte buffer`);
}

/** Frame length of a UDP frame built from `spec`. */
export function udpFrameLength(spec: UdpFrameSpec): number {
  const eth = spec.vlan !== undefined ? ETHERNET_VLAN_HEADER_LEN : ETHERNET_HEADER_LEN;
  return eth + IPV4_HEADER_LEN + UDP_HEADER_LEN + payloadLenOf('udpFrameLength', spec, 0xffff - IPV4_HEADER_LEN - UDP_HEADER_LEN);
}

/**
 * Where a CHECKSUM_PARTIAL UDP frame from `buildUdpFrame({checksum: 'partial', …})` is to be
 * finished: csum_start = Ethernet (+tag) + 20, csum_offset = 6.
 */
export function udpPartialChecksum(vlanTagged: boolean): PartialChecksum {
  return { csumStart: (vlanTagged ? ETHERNET_VLAN_HEADER_LEN : ETHERNET_HEADER_LEN) + IPV4_HEADER_LEN, csumOffset: UDP_CSUM_OFFSET };
}

/** Same for TCP (csum_offset 16). */
export function tcpPartialChecksum(vlanTagged: boolean): PartialChecksum {
  return { csumStart: (vlanTagged ? ETHERNET_VLAN_HEADER_LEN : ETHERNET_HEADER_LEN) + IPV4_HEADER_LEN, csumOffset: TCP_CSUM_OFFSET };
}

/**
 * Builds an Ethernet/IPv4/UDP frame into `buf` at `off`; returns its length. No allocation
 * when the spec holds MacAddr/Ipv4Addr objects (strings are parsed on each call).
 */
export function buildUdpFrameInto(buf: Uint8Array, off: number, spec: UdpFrameSpec): number {
  const n = payloadLenOf(NAME_UDP, spec, 0xffff - IPV4_HEADER_LEN - UDP_HEADER_LEN);
  u16Arg(NAME_UDP, 'srcPort', spec.srcPort);
  u16Arg(NAME_UDP, 'dstPort', spec.dstPort);
  const mode = spec.checksum ?? 'full';
  if (mode !== 'full' && mode !== 'partial' && mode !== 'none') badArg(NAME_UDP, 'checksum', mode, "use 'full', 'partial' or 'none'");
  const tci = tagOf(NAME_UDP, spec.vlan);
  const frameLen = (tci >= 0 ? ETHERNET_VLAN_HEADER_LEN : ETHERNET_HEADER_LEN) + IPV4_HEADER_LEN + UDP_HEADER_LEN + n;
  ensureRoom(NAME_UDP, buf, off, frameLen);
  const src = Ipv4Addr.from(spec.srcIp).value;
  const dst = Ipv4Addr.from(spec.dstIp).value;
  const ip = writeEth(buf, off, spec.dstMac, spec.srcMac, tci, EtherType.IPv4);
  const udpLen = UDP_HEADER_LEN + n;
  writeIpv4Header(NAME_UDP, buf, ip, spec, IpProtocol.UDP, udpLen, src, dst);
  const u = ip + IPV4_HEADER_LEN;
  buf[u] = spec.srcPort >>> 8;
  buf[u + 1] = spec.srcPort & 0xff;
  buf[u + 2] = spec.dstPort >>> 8;
  buf[u + 3] = spec.dstPort & 0xff;
  buf[u + 4] = udpLen >>> 8;
  buf[u + 5] = udpLen & 0xff;
  buf[u + 6] = 0;
  buf[u + 7] = 0;
  if (spec.payload !== undefined) buf.set(spec.payload, u + UDP_HEADER_LEN);
  let c = 0;
  const pseudo = csum_tcpudp_nofold(src, dst, udpLen, IpProtocol.UDP, 0);
  if (mode === 'full') c = csum_fold(csum_partial(buf, u, u + udpLen, pseudo)) || CSUM_MANGLED_0;
  else if (mode === 'partial') c = foldSum(pseudo);
  buf[u + 6] = c >>> 8;
  buf[u + 7] = c & 0xff;
  return frameLen;
}

/** Builds an Ethernet/IPv4/UDP frame in a new buffer. */
export function buildUdpFrame(spec: UdpFrameSpec): Uint8Array {
  const buf = new Uint8Array(udpFrameLength(spec));
  buildUdpFrameInto(buf, 0, spec);
  return buf;
}

const NAME_TCP = 'buildTcpFrameInto';

/** Builds an Ethernet/IPv4/TCP frame (default: a SYN) into `buf` at `off`; returns its length. */
export function buildTcpFrameInto(buf: Uint8Array, off: number, spec: TcpFrameSpec): number {
  const opts = spec.options ?? new Uint8Array(0);
  if (opts.length % 4 !== 0 || opts.length > 40) badArg(NAME_TCP, 'options.length', opts.length, 'use a multiple of 4 in 0..40');
  const hl = TCP_HEADER_LEN + opts.length;
  const n = payloadLenOf(NAME_TCP, spec, 0xffff - IPV4_HEADER_LEN - hl);
  u16Arg(NAME_TCP, 'srcPort', spec.srcPort);
  u16Arg(NAME_TCP, 'dstPort', spec.dstPort);
  const window = spec.window ?? 64240;
  u16Arg(NAME_TCP, 'window', window);
  const flags = spec.flags ?? 0x002;
  if (!Number.isInteger(flags) || flags < 0 || flags > 0xfff) badArg(NAME_TCP, 'flags', flags, 'use TcpFlags bits (0..0xfff)');
  const tci = tagOf(NAME_TCP, spec.vlan);
  const frameLen = (tci >= 0 ? ETHERNET_VLAN_HEADER_LEN : ETHERNET_HEADER_LEN) + IPV4_HEADER_LEN + hl + n;
  ensureRoom(NAME_TCP, buf, off, frameLen);
  const src = Ipv4Addr.from(spec.srcIp).value;
  const dst = Ipv4Addr.from(spec.dstIp).value;
  const ip = writeEth(buf, off, spec.dstMac, spec.srcMac, tci, EtherType.IPv4);
  writeIpv4Header(NAME_TCP, buf, ip, spec, IpProtocol.TCP, hl + n, src, dst);
  const t = new TcpPacket(buf, ip + IPV4_HEADER_LEN, hl + n);
  t.srcPort = spec.srcPort;
  t.dstPort = spec.dstPort;
  t.seq = (spec.seq ?? 0) >>> 0;
  t.ack = (spec.ack ?? 0) >>> 0;
  t.setHeaderLenFlags(hl, flags);
  t.window = window;
  t.urgent = 0;
  buf.set(opts, t.off + TCP_HEADER_LEN);
  if (spec.payload !== undefined) buf.set(spec.payload, t.off + hl);
  const mode = spec.checksum ?? 'full';
  if (mode !== 'full' && mode !== 'partial' && mode !== 'none') badArg(NAME_TCP, 'checksum', mode, "use 'full', 'partial' or 'none'");
  t.fillChecksum(src, dst, mode);
  return frameLen;
}

export function buildTcpFrame(spec: TcpFrameSpec): Uint8Array {
  const hl = TCP_HEADER_LEN + (spec.options?.length ?? 0);
  const eth = spec.vlan !== undefined ? ETHERNET_VLAN_HEADER_LEN : ETHERNET_HEADER_LEN;
  const buf = new Uint8Array(eth + IPV4_HEADER_LEN + hl + payloadLenOf('buildTcpFrame', spec, 0xffff - IPV4_HEADER_LEN - hl));
  buildTcpFrameInto(buf, 0, spec);
  return buf;
}

const NAME_ICMP = 'buildIcmpEchoInto';

/** Builds an ICMP echo request (or reply) frame into `buf` at `off`; returns its length. */
export function buildIcmpEchoInto(buf: Uint8Array, off: number, spec: IcmpEchoSpec): number {
  const n = payloadLenOf(NAME_ICMP, spec, 0xffff - IPV4_HEADER_LEN - ICMPV4_HEADER_LEN);
  u16Arg(NAME_ICMP, 'ident', spec.ident);
  u16Arg(NAME_ICMP, 'seqNo', spec.seqNo);
  const kind = spec.type ?? 'request';
  if (kind !== 'request' && kind !== 'reply') badArg(NAME_ICMP, 'type', kind, "use 'request' or 'reply'");
  const tci = tagOf(NAME_ICMP, spec.vlan);
  const frameLen = (tci >= 0 ? ETHERNET_VLAN_HEADER_LEN : ETHERNET_HEADER_LEN) + IPV4_HEADER_LEN + ICMPV4_HEADER_LEN + n;
  ensureRoom(NAME_ICMP, buf, off, frameLen);
  const src = Ipv4Addr.from(spec.srcIp).value;
  const dst = Ipv4Addr.from(spec.dstIp).value;
  const ip = writeEth(buf, off, spec.dstMac, spec.srcMac, tci, EtherType.IPv4);
  writeIpv4Header(NAME_ICMP, buf, ip, spec, IpProtocol.ICMP, ICMPV4_HEADER_LEN + n, src, dst);
  const m = new Icmpv4Packet(buf, ip + IPV4_HEADER_LEN, ICMPV4_HEADER_LEN + n);
  m.type = kind === 'request' ? IcmpType.EchoRequest : IcmpType.EchoReply;
  m.code = 0;
  m.ident = spec.ident;
  m.seqNo = spec.seqNo;
  if (spec.payload !== undefined) buf.set(spec.payload, m.payloadOffset);
  m.fillChecksum();
  return frameLen;
}

export function buildIcmpEcho(spec: IcmpEchoSpec): Uint8Array {
  const eth = spec.vlan !== undefined ? ETHERNET_VLAN_HEADER_LEN : ETHERNET_HEADER_LEN;
  const buf = new Uint8Array(eth + IPV4_HEADER_LEN + ICMPV4_HEADER_LEN + payloadLenOf('buildIcmpEcho', spec, 0xffff - 28));
  buildIcmpEchoInto(buf, 0, spec);
  return buf;
}

const NAME_ARP = 'buildArpInto';

function arpFrameLen(spec: ArpSpec): number {
  const l = (spec.vlan !== undefined ? ETHERNET_VLAN_HEADER_LEN : ETHERNET_HEADER_LEN) + ARP_LEN;
  return spec.padToMin ? Math.max(l, ETHERNET_MIN_FRAME_LEN) : l;
}

/** Builds an ARP request or reply frame into `buf` at `off`; returns its length. */
export function buildArpInto(buf: Uint8Array, off: number, spec: ArpSpec): number {
  const opSpec = spec.operation ?? 'request';
  const op = opSpec === 'request' ? ArpOperation.Request : opSpec === 'reply' ? ArpOperation.Reply : opSpec;
  if (typeof op !== 'number' || !Number.isInteger(op) || op < 0 || op > 0xffff) badArg(NAME_ARP, 'operation', opSpec, "use 'request', 'reply' or an integer in 0..65535");
  if (op !== ArpOperation.Request && spec.targetMac === undefined) badArg(NAME_ARP, 'targetMac', spec.targetMac, 'give the target MAC for anything but a request');
  const tci = tagOf(NAME_ARP, spec.vlan);
  const len = arpFrameLen(spec);
  ensureRoom(NAME_ARP, buf, off, len);
  const sha = MacAddr.from(spec.senderMac);
  const tha = spec.targetMac === undefined ? MacAddr.ZERO : MacAddr.from(spec.targetMac);
  const dstMac = spec.dstMac ?? (op === ArpOperation.Request ? MacAddr.BROADCAST : tha);
  const at = writeEth(buf, off, dstMac, spec.srcMac ?? sha, tci, EtherType.ARP);
  const p = new ArpPacket(buf, at, ARP_LEN);
  p.setEthernetIpv4(op);
  p.setAddresses(sha.key, Ipv4Addr.from(spec.senderIp).value, tha.key, Ipv4Addr.from(spec.targetIp).value);
  buf.fill(0, at + ARP_LEN, off + len);
  return len;
}

export function buildArp(spec: ArpSpec): Uint8Array {
  const buf = new Uint8Array(arpFrameLen(spec));
  buildArpInto(buf, 0, spec);
  return buf;
}

/**
 * Turns the ICMP echo request in `buf[off..off+len)` into its reply, in place: swaps the MAC
 * and IP addresses, sets type 0 (the code and data are echoed), resets the TTL, recomputes the
 * IP header checksum and updates the ICMP checksum incrementally (RFC 1624, `csum_replace2`).
 * The frame is untrusted: anything but a well-formed IPv4 echo request with good checksums
 * returns an error value and the frame is left untouched; `undefined` means done.
 * @models linux net/ipv4/icmp.c icmp_echo()
 * @simplified replies from the request's destination addresses (a stack answering a
 *   broadcast ping should set its own source afterwards) and keeps the IP id.
 */
export function answerIcmpEcho(buf: Uint8Array, off: number, len: number, ttl = 64): WireError | undefined {
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 255) badArg('answerIcmpEcho', 'ttl', ttl, 'use an integer in 1..255');
  const eth = new EthernetFrame(buf, off, len);
  let e = eth.checkLen();
  if (e !== undefined) return e;
  if (eth.etherType !== EtherType.IPv4) return wireError('ethernet', 'ethertype', `type ${eth.etherType.toString(16)} is not IPv4`);
  const ip = new Ipv4Packet(buf, eth.payloadOffset, eth.payloadLength);
  e = ip.checkLen();
  if (e !== undefined) return e;
  if (ip.version !== 4) return wireError('ipv4', 'version', `version ${ip.version} is not 4`);
  if (!ip.verifyChecksum()) return wireError('ipv4', 'checksum', 'header checksum is wrong');
  if (ip.protocol !== IpProtocol.ICMP) return wireError('ipv4', 'protocol', `protocol ${ip.protocol} is not ICMP`);
  if ((ip.flagsFrag & 0x3fff) !== 0) return wireError('ipv4', 'flags_frag', 'a fragment cannot be answered before reassembly');
  const m = new Icmpv4Packet(buf, ip.payloadOffset, ip.payloadLength);
  e = m.checkLen();
  if (e !== undefined) return e;
  if (m.type !== IcmpType.EchoRequest) return wireError('icmpv4', 'type', `type ${m.type} is not an echo request (8)`);
  if (!m.verifyChecksum()) return wireError('icmpv4', 'checksum', 'checksum is wrong');

  const dstKey = eth.dstKey;
  writeMacKey(buf, off, eth.srcKey);
  writeMacKey(buf, off + 6, dstKey);
  const s = ip.srcU32;
  ip.srcU32 = ip.dstU32;
  ip.dstU32 = s;
  ip.ttl = ttl;
  ip.fillChecksum();
  const code = m.code;
  m.checksum = csum_replace2(m.checksum, (IcmpType.EchoRequest << 8) | code, (IcmpType.EchoReply << 8) | code);
  m.type = IcmpType.EchoReply;
  return undefined;
}
