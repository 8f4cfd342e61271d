/**
 * skb_checksum_setup() for packets that arrive from a guest with CHECKSUM_PARTIAL: find the
 * transport header and set csum_start / csum_offset, as netback's checksum_setup() asks the
 * core to do (IPv4 and IPv6 with TCP or UDP; anything else cannot carry a partial checksum).
 *
 * @models torvalds/linux net/core/skbuff.c skb_checksum_setup() (skb_checksum_setup_ipv4/ipv6)
 * @simplified reads the headers from the linear area only (netback copied at least 128 bytes, or
 *   the whole first slot, there); IPv6 extension headers are not walked; the pseudo-header
 *   checksum is not recomputed (the bytes the guest wrote are kept).
 */
import type { SkBuff } from '../../net/skb';

const ETH_P_IP = 0x0800;
const ETH_P_IPV6 = 0x86dd;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;

/**
 * Sets skb.csumStart/csumOffset for a CHECKSUM_PARTIAL skb. Returns the length of the headers
 * up to the end of the TCP/UDP header (for gso_segs), or -1 when the packet cannot be set up.
 */
export function skbChecksumSetup(skb: SkBuff): number {
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
  if (ipProto === IPPROTO_TCP) {
    if (lin < l4 + 20) return -1;
    skb.csumStart = l4;
    skb.csumOffset = 16;
    const doff = (h[d + l4 + 12]! >> 4) * 4;
    return l4 + (doff >= 20 ? doff : 20);
  }
  if (ipProto === IPPROTO_UDP) {
    if (lin < l4 + 8) return -1;
    skb.csumStart = l4;
    skb.csumOffset = 6;
    return l4 + 8;
  }
  return -1;
}
