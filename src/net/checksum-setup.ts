/**
 * skb_checksum_setup() for packets that cross the Xen ring with CHECKSUM_PARTIAL: find the
 * transport header and set csum_start / csum_offset, as netback's and netfront's checksum_setup()
 * ask the core to do (IPv4 and IPv6 with TCP or UDP; a fragment, a frame too short for its
 * transport header or anything else cannot carry a partial checksum). With `recalculate` (the
 * drivers' GSO fix-up: a peer sent a GSO packet without csum_blank) the check field is rewritten
 * with the pseudo-header sum, `~csum_tcpudp_magic` / `~csum_ipv6_magic` over skb->len - off.
 *
 * @models torvalds/linux net/core/skbuff.c skb_checksum_setup() (skb_checksum_setup_ipv4/ipv6,
 *   skb_checksum_setup_ip)
 * @simplified reads the headers from the linear area only (netback copied at least 128 bytes, or
 *   the whole first slot, there; netfront pulled min(first slot, 256)); IPv6 extension headers are
 *   not walked.
 */
import type { SkBuff } from './skb';
import { csum_fold, csum_partial, csum_tcpudp_magic } from '../wire/checksum';
import { ipv4At } from '../wire/address';

const ETH_P_IP = 0x0800;
const ETH_P_IPV6 = 0x86dd;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;

/**
 * Sets skb.csumStart/csumOffset for a CHECKSUM_PARTIAL skb (and, if `recalculate`, the check
 * field). Returns the length of the headers up to the end of the TCP/UDP header (for gso_segs),
 * or -1 (-EPROTO) when the packet cannot be set up.
 */
export function skbChecksumSetup(skb: SkBuff, recalculate = false): number {
  const h = skb.head;
  const d = skb.data;
  const lin = skb.headLen;
  if (lin < 14) return -1;
  const proto = (h[d + 12]! << 8) | h[d + 13]!;
  let l4 = 0;
  let ipProto = 0;
  if (proto === ETH_P_IP) {
    if (lin < 14 + 20) return -1;
    const ihl = (h[d + 14]! & 0x0f) * 4;
    if (ihl < 20 || lin < 14 + ihl) return -1;
    // A fragment (MF or offset) cannot carry a partial transport checksum.
    const frag = ((h[d + 20]! << 8) | h[d + 21]!) & 0x3fff;
    if (frag !== 0) return -1;
    ipProto = h[d + 23]!;
    l4 = 14 + ihl;
  } else if (proto === ETH_P_IPV6) {
    if (lin < 14 + 40) return -1;
    ipProto = h[d + 20]!;
    l4 = 14 + 40;
  } else {
    return -1;
  }
  let hdrEnd: number;
  if (ipProto === IPPROTO_TCP) {
    if (lin < l4 + 20) return -1;
    skb.csumOffset = 16;
    const doff = (h[d + l4 + 12]! >> 4) * 4;
    hdrEnd = l4 + (doff >= 20 ? doff : 20);
  } else if (ipProto === IPPROTO_UDP) {
    if (lin < l4 + 8) return -1;
    skb.csumOffset = 6;
    hdrEnd = l4 + 8;
  } else {
    return -1;
  }
  skb.csumStart = l4;
  if (recalculate) {
    const l4Len = skb.len - l4;
    const c = proto === ETH_P_IP
      ? ~csum_tcpudp_magic(ipv4At(h, d + 26), ipv4At(h, d + 30), l4Len, ipProto, 0) & 0xffff
      : ~csum_ipv6_magic(h, d + 22, l4Len, ipProto) & 0xffff;
    h[d + l4 + skb.csumOffset] = c >>> 8;
    h[d + l4 + skb.csumOffset + 1] = c & 0xff;
  }
  return hdrEnd;
}

/** csum_ipv6_magic(saddr, daddr, len, proto, 0): the folded pseudo-header sum; `addrs` = saddr then daddr. */
function csum_ipv6_magic(buf: Uint8Array, addrs: number, len: number, proto: number): number {
  const sum = csum_partial(buf, addrs, addrs + 32, 0) + Math.floor(len / 65536) + (len & 0xffff) + proto;
  return csum_fold(sum);
}
