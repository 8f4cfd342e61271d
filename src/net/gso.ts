/**
 * TCP segmentation, as the NIC does it (TSO, src/drivers/nic/ixgbe.ts) and as the stack does it
 * in software for a device without TSO (skb_gso_segment in validate_xmit_skb, src/net/stack.ts):
 * one TCPv4 GSO packet (headers + up to 64 KiB of payload) becomes ⌈payload / MSS⌉ frames, each
 * with the original Ethernet/IPv4/TCP headers, the IPv4 total length, id (+1 per segment) and header checksum rewritten, the TCP
 * sequence number advanced, FIN/PSH kept only on the last segment, CWR only on the first, and the
 * TCP checksum computed over each segment.
 *
 * The packet comes from a guest (through netback), so its headers are untrusted: anything that
 * does not parse as Ethernet (+802.1Q) / IPv4 / TCP inside the packet is an error value.
 *
 * @models Intel 82599 datasheet §7.2.4 (TCP segmentation); linux net/ipv4/tcp_offload.c tcp_gso_segment(),
 *   net/ipv4/af_inet.c inet_gso_segment()
 * @simplified TCPv4 only; no IP options beyond copying them.
 */
import { csum_fold, csum_partial, csum_tcpudp_nofold, foldSum } from '../wire/checksum';

export interface TsoLayout {
  /** Offset of the IPv4 header. */
  ip: number;
  /** Offset of the TCP header. */
  tcp: number;
  /** Total header bytes (Ethernet + IPv4 + TCP). */
  hdrLen: number;
  /** Payload bytes of the whole GSO packet. */
  payload: number;
}

/**
 * Parses the headers of the packet in `buf[0..len)`. Returns the layout, or a string saying what
 * is wrong (an untrusted packet never throws).
 */
export function tsoLayout(buf: Uint8Array, len: number, out: TsoLayout): string | undefined {
  if (len < 14) return 'shorter than an Ethernet header';
  let ip = 14;
  let type = (buf[12]! << 8) | buf[13]!;
  if (type === 0x8100) {
    if (len < 18) return 'truncated 802.1Q tag';
    type = (buf[16]! << 8) | buf[17]!;
    ip = 18;
  }
  if (type !== 0x0800) return `ethertype 0x${type.toString(16)} is not IPv4`;
  if (len < ip + 20) return 'truncated IPv4 header';
  if (buf[ip]! >>> 4 !== 4) return 'IP version is not 4';
  const ihl = (buf[ip]! & 0xf) * 4;
  if (ihl < 20 || len < ip + ihl) return 'bad IPv4 header length';
  if (buf[ip + 9] !== 6) return 'IPv4 protocol is not TCP';
  const tcp = ip + ihl;
  if (len < tcp + 20) return 'truncated TCP header';
  const doff = (buf[tcp + 12]! >>> 4) * 4;
  if (doff < 20 || len < tcp + doff) return 'bad TCP data offset';
  out.ip = ip;
  out.tcp = tcp;
  out.hdrLen = tcp + doff;
  out.payload = len - out.hdrLen;
  return undefined;
}

/**
 * Writes segment `seg` (0-based) of the GSO packet `src[0..srcLen)` with MSS `mss` into `dst`;
 * returns the segment's frame length. With `partial` the TCP check field gets only the folded
 * pseudo-header sum, for a device with checksum offload to finish (CHECKSUM_PARTIAL), as
 * tcp_gso_segment leaves it; otherwise the full checksum.
 */
export function tsoSegment(src: Uint8Array, l: TsoLayout, mss: number, seg: number, dst: Uint8Array, partial = false): number {
  const off = seg * mss;
  const plen = Math.min(mss, l.payload - off);
  const last = off + plen >= l.payload;
  const hdr = l.hdrLen;
  dst.set(src.subarray(0, hdr), 0);
  dst.set(src.subarray(hdr + off, hdr + off + plen), hdr);
  const ip = l.ip;
  const tcp = l.tcp;
  const ipLen = hdr - ip + plen;
  dst[ip + 2] = ipLen >>> 8;
  dst[ip + 3] = ipLen & 0xff;
  const id = (((src[ip + 4]! << 8) | src[ip + 5]!) + seg) & 0xffff;
  dst[ip + 4] = id >>> 8;
  dst[ip + 5] = id & 0xff;
  dst[ip + 10] = 0;
  dst[ip + 11] = 0;
  const ic = csum_fold(csum_partial(dst, ip, tcp, 0));
  dst[ip + 10] = ic >>> 8;
  dst[ip + 11] = ic & 0xff;
  const seq = ((((src[tcp + 4]! << 24) | (src[tcp + 5]! << 16) | (src[tcp + 6]! << 8) | src[tcp + 7]!) >>> 0) + off) >>> 0;
  dst[tcp + 4] = seq >>> 24;
  dst[tcp + 5] = (seq >>> 16) & 0xff;
  dst[tcp + 6] = (seq >>> 8) & 0xff;
  dst[tcp + 7] = seq & 0xff;
  let flags = src[tcp + 13]!;
  if (!last) flags &= ~(0x01 | 0x08); // FIN, PSH only on the last segment
  if (seg > 0) flags &= ~0x80; // CWR only on the first
  dst[tcp + 13] = flags;
  dst[tcp + 16] = 0;
  dst[tcp + 17] = 0;
  const tcpLen = hdr - tcp + plen;
  const saddr = ((dst[ip + 12]! << 24) | (dst[ip + 13]! << 16) | (dst[ip + 14]! << 8) | dst[ip + 15]!) >>> 0;
  const daddr = ((dst[ip + 16]! << 24) | (dst[ip + 17]! << 16) | (dst[ip + 18]! << 8) | dst[ip + 19]!) >>> 0;
  const pseudo = csum_tcpudp_nofold(saddr, daddr, tcpLen, 6, 0);
  const tc = partial ? foldSum(pseudo) : csum_fold(csum_partial(dst, tcp, tcp + tcpLen, pseudo));
  dst[tcp + 16] = tc >>> 8;
  dst[tcp + 17] = tc & 0xff;
  return hdr + plen;
}
