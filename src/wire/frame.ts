/**
 * Whole-frame parse and emit: Ethernet (+802.1Q) → ARP | IPv4 → ICMPv4 | UDP | TCP.
 *
 * `parseFrame()` is the one entry point for untrusted frames (from a guest's tx ring, from the
 * wire): every layer is viewed with its checked constructor, and the first problem comes back
 * as an error value naming the layer and field. It never throws and never reads outside
 * `buf[off..off+len)`.
 *
 * IPv4 fragments stop at the IP layer (the L4 header is only meaningful after reassembly, as in
 * Linux, where UDP/TCP only see reassembled datagrams). Unknown EtherTypes and IP protocols stop
 * with the rest as payload.
 */
import { ArpPacket, ArpRepr, ARP_LEN } from './arp';
import { EthernetFrame, EthernetRepr, EtherType } from './ethernet';
import { fail, ok, type Result } from './error';
import { Icmpv4Packet, Icmpv4Repr, ICMPV4_HEADER_LEN } from './icmpv4';
import { IpProtocol, Ipv4Packet, Ipv4Repr } from './ipv4';
import { TcpPacket, TcpRepr } from './tcp';
import { UdpPacket, UdpRepr, UDP_HEADER_LEN } from './udp';

/** Every header of a frame, parsed. Offsets are from the frame start. */
export interface FrameRepr {
  eth: EthernetRepr;
  arp?: ArpRepr;
  ipv4?: Ipv4Repr;
  icmpv4?: Icmpv4Repr;
  udp?: UdpRepr;
  tcp?: TcpRepr;
  /** Where the innermost payload starts: all headers lie in [0, payloadOffset). */
  payloadOffset: number;
  payloadLength: number;
  /** Bytes after the innermost payload (Ethernet padding, bytes past UDP `length`). */
  trailerLength: number;
}

export interface FrameParseOptions {
  /** Verify the IPv4 header checksum (default true). */
  verifyIpChecksum?: boolean;
  /**
   * Verify ICMP/UDP/TCP checksums (default true). Turn off for a packet whose state is
   * CHECKSUM_PARTIAL (guest tx with NETTXF_csum_blank) or CHECKSUM_UNNECESSARY.
   */
  verifyL4Checksum?: boolean;
}

/** Parses every header of the frame in `buf[off..off+len)`; errors are values. */
export function parseFrame(buf: Uint8Array, off = 0, len = buf.length - off, opts: FrameParseOptions = {}): Result<FrameRepr> {
  const frame = new EthernetFrame(buf, off, len);
  const er = EthernetRepr.parse(frame);
  if (!er.ok) return er;
  const out: FrameRepr = { eth: er.value, payloadOffset: frame.headerLen, payloadLength: frame.payloadLength, trailerLength: 0 };
  const type = frame.etherType;
  const at = frame.payloadOffset;
  const rest = frame.payloadLength;

  if (type === EtherType.ARP) {
    const ar = ArpRepr.parse(new ArpPacket(buf, at, rest));
    if (!ar.ok) return ar;
    out.arp = ar.value;
    return finish(out, frame.headerLen + ARP_LEN, 0, len);
  }
  if (type !== EtherType.IPv4) return ok(out);

  const ip = new Ipv4Packet(buf, at, rest);
  const ir = Ipv4Repr.parse(ip, { verifyChecksum: opts.verifyIpChecksum });
  if (!ir.ok) return ir;
  out.ipv4 = ir.value;
  const l4At = ip.payloadOffset;
  const l4Len = ip.payloadLength;
  const l4Off = l4At - off;
  if (ir.value.moreFrags || ir.value.fragOffset !== 0) return finish(out, l4Off, l4Len, len);

  const l4opts = { verifyChecksum: opts.verifyL4Checksum };
  switch (ir.value.protocol) {
    case IpProtocol.ICMP: {
      const r = Icmpv4Repr.parse(new Icmpv4Packet(buf, l4At, l4Len), l4opts);
      if (!r.ok) return r;
      out.icmpv4 = r.value;
      return finish(out, l4Off + ICMPV4_HEADER_LEN, r.value.payloadLen, len);
    }
    case IpProtocol.UDP: {
      const r = UdpRepr.parse(new UdpPacket(buf, l4At, l4Len), ip.srcU32, ip.dstU32, l4opts);
      if (!r.ok) return r;
      out.udp = r.value;
      return finish(out, l4Off + UDP_HEADER_LEN, r.value.payloadLen, len);
    }
    case IpProtocol.TCP: {
      const p = new TcpPacket(buf, l4At, l4Len);
      const r = TcpRepr.parse(p, ip.srcU32, ip.dstU32, l4opts);
      if (!r.ok) return r;
      out.tcp = r.value;
      return finish(out, l4Off + p.headerLen, r.value.payloadLen, len);
    }
    default:
      return finish(out, l4Off, l4Len, len);
  }
}

function finish(out: FrameRepr, payloadOffset: number, payloadLength: number, frameLen: number): Result<FrameRepr> {
  out.payloadOffset = payloadOffset;
  out.payloadLength = payloadLength;
  out.trailerLength = frameLen - payloadOffset - payloadLength;
  return ok(out);
}

/**
 * Writes every header of `r` (and all checksums) into `buf` at `off`. The payload must already
 * be at `off + r.payloadOffset` (checksums cover it). Returns the frame length without trailer.
 * Throws on a bad repr (programmer error).
 */
export function emitFrame(r: FrameRepr, buf: Uint8Array, off = 0): number {
  const frame = new EthernetFrame(buf, off, EthernetRepr.headerLen(r.eth));
  EthernetRepr.emit(r.eth, frame);
  const at = off + EthernetRepr.headerLen(r.eth);
  if (r.arp) {
    ArpRepr.emit(r.arp, new ArpPacket(buf, at, ARP_LEN));
    return at - off + ARP_LEN;
  }
  if (!r.ipv4) return r.payloadOffset + r.payloadLength;
  const ipLen = Ipv4Repr.bufferLen(r.ipv4);
  const ip = new Ipv4Packet(buf, at, ipLen);
  Ipv4Repr.emit(r.ipv4, ip);
  const l4At = ip.payloadOffset;
  const l4Len = r.ipv4.payloadLen;
  if (r.icmpv4) Icmpv4Repr.emit(r.icmpv4, new Icmpv4Packet(buf, l4At, l4Len));
  else if (r.udp) UdpRepr.emit(r.udp, new UdpPacket(buf, l4At, l4Len), ip.srcU32, ip.dstU32);
  else if (r.tcp) TcpRepr.emit(r.tcp, new TcpPacket(buf, l4At, l4Len), ip.srcU32, ip.dstU32);
  return at - off + ipLen;
}
