/**
 * Generic Receive Offload for TCP over IPv4: a NAPI instance holds the segments of each flow it
 * polls and merges the next in-order segment of the same flow into the one it holds, so that the
 * stack above sees one big packet (a GSO skb) instead of many MSS-sized ones. What a NIC's driver
 * hands to `napi_gro_receive` goes through here; everything else goes straight to
 * netif_receive_skb.
 *
 *   napi_gro_receive(skb) ─► dev_gro_receive: gro_list_prepare (same hash, device, MAC header)
 *        │                    inet_gro_receive: IPv4 checks, same addresses; flush on ttl/tos/DF
 *        │                                      change, IP id not incrementing, padding
 *        │                    tcp4_gro_receive: checksum valid, same ports; flush on other flags,
 *        │                                      ack, options, sequence gap, a segment > MSS
 *        │                    skb_gro_receive:  the segment's payload becomes a fragment of the
 *        │                                      held skb (< 64 KiB in all)
 *        ├─ merged (GRO_MERGED_FREE: the segment's buffer now belongs to the held skb)
 *        ├─ held   (GRO_HELD: a new flow, or the start after a flushed one; at most 8 per bucket)
 *        └─ normal (GRO_NORMAL: not TCP/IPv4, a bad checksum, PSH/FIN/SYN/RST/URG on its own)
 *
 *   napi_gro_flush ─► napi_gro_complete: one segment → as it came; several → inet_gro_complete
 *        (IPv4 total length and checksum) and tcp4_gro_complete (CHECKSUM_PARTIAL with the
 *        pseudo-header sum, gso_size = the first segment's payload, SKB_GSO_TCPV4, gso_segs)
 *
 * A held packet leaves when the flow's next segment cannot be merged (it is completed before that
 * segment goes on), when a merged segment carries PSH (or FIN, URG, RST, SYN), when its bucket is
 * full (the oldest leaves), and at the end of each NAPI poll: napi_complete_done flushes all, and
 * a poll that used its whole weight flushes all (HZ < 1000) or those held since an earlier jiffy.
 *
 * @models linux net/core/gro.c dev_gro_receive(), gro_list_prepare(), skb_gro_receive(),
 *   napi_gro_complete(), napi_gro_flush(), gro_flush_oldest(); net/ipv4/af_inet.c inet_gro_receive(),
 *   inet_gro_complete(); net/ipv4/tcp_offload.c tcp4_gro_receive(), tcp_gro_receive(),
 *   tcp4_gro_complete(), tcp_gro_complete()
 * @simplified TCP over IPv4 without VLAN tags only (IPv6, UDP and tunnels go up as they came);
 *   the headers must be in the linear area (a driver's build_skb puts the whole frame there,
 *   netfront pulls the first 256 bytes); a segment's linear payload and its fragments become
 *   fragments of the held skb, and frag_list chaining past MAX_SKB_FRAGS is the same fragment
 *   list (at most GRO_MAX_FRAGS, then the held skb leaves);
 *   gro_normal_list's batching of 8 is not modeled (packets go up one by one, in the same order);
 *   the model's NIC gives no RSS hash, so all flows share one bucket (8 held at most).
 */
import {
  CHECKSUM_PARTIAL, CHECKSUM_UNNECESSARY, SKB_GSO_TCP_ECN, SKB_GSO_TCP_FIXEDID, SKB_GSO_TCPV4, SKB_GSO_TCPV6, GRO_MAX_FRAGS,
  type SkBuff,
} from './skb';
import { csum_fold, csum_partial, csum_tcpudp_nofold, foldSum } from '../wire/checksum';
// ipv4At reads any big-endian u32 (addresses, sequence numbers, the TCP flag word).
import { ipv4At as be32 } from '../wire/address';

/** GRO_HASH_BUCKETS: flows are spread over 8 lists by their receive hash. */
export const GRO_HASH_BUCKETS = 8;
/** MAX_GRO_SKBS: packets held per bucket at most. */
export const MAX_GRO_SKBS = 8;
/** GRO_LEGACY_MAX_SIZE (gro_max_size's default): a held packet stays below 64 KiB. */
export const GRO_MAX_SIZE = 65536;

const ETH_HLEN = 14;
/** Where the TCP header starts: only untagged frames with a 20-byte IPv4 header are merged. */
const TH_OFF = ETH_HLEN + 20;
const IP_DF = 0x4000;
const TCP_FLAG_CWR = 0x80;
const TCP_FLAG_URG = 0x20;
const TCP_FLAG_PSH = 0x08;
const TCP_FLAG_RST = 0x04;
const TCP_FLAG_SYN = 0x02;
const TCP_FLAG_FIN = 0x01;

/** What happened to a packet (enum gro_result). */
export type GroResult = 'merged' | 'held' | 'normal';

/** One held packet and its control block (NAPI_GRO_CB(p)). */
class GroHeld {
  skb: SkBuff | null = null;
  /** Segments merged so far (NAPI_GRO_CB(p)->count). */
  count = 0;
  /** The packet being received must not be merged into this one (NAPI_GRO_CB(p)->flush). */
  flush = 0;
  /** The IP id check of the last segment (0, or 0xffff: not incrementing). */
  flushId = 0;
  /** DF set and the IP id fixed so far (an atomic datagram flow). */
  isAtomic = false;
  /** Jiffy it was held at. */
  age = 0;
  /** gro_list_prepare's verdict for the packet being received. */
  sameFlow = false;
}

/** The GRO lists of one NAPI instance (napi->gro_hash). */
export class GroLists {
  /** Each bucket oldest first. */
  readonly buckets: GroHeld[][] = [];
  private readonly spare: GroHeld[] = [];
  /** Packets held in all buckets. */
  held = 0;
  /**
   * Segments merged into a held packet, packets held, TCP packets passed up unmerged
   * (GRO_NORMAL; other protocols never reach the lists), and held packets handed up with several
   * segments or as they came.
   */
  readonly stats = { merged: 0, held: 0, normal: 0, flushed_gso: 0, flushed_single: 0 };

  constructor() {
    for (let i = 0; i < GRO_HASH_BUCKETS; i++) this.buckets.push([]);
  }

  /** @internal */
  take(): GroHeld {
    return this.spare.pop() ?? new GroHeld();
  }

  /** @internal */
  give(h: GroHeld): void {
    h.skb = null;
    this.spare.push(h);
  }
}

/**
 * Why a held packet went up: the poll ended (napi_complete_done) or used its whole weight; the
 * flow's next segment did not match (sequence gap, other flags, ack, options, window, IP fields)
 * or would have passed 64 KiB; a merged segment carried PSH/FIN/URG/RST/SYN or was shorter than
 * the MSS; its bucket was full.
 */
export type GroFlushReason = 'poll_done' | 'poll_full' | 'mismatch' | 'size' | 'flags' | 'short' | 'bucket_full';

/** Where GRO hands packets on: netif_receive_skb of the stack, and the current jiffy. */
export interface GroStack {
  netif_receive_skb(skb: SkBuff): void;
  jiffies(): number;
  /** A held packet of `segs` segments is about to go up (for the trace). */
  groComplete(skb: SkBuff, segs: number, why: GroFlushReason): void;
}

function u16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

function put16(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >>> 8) & 0xff;
  b[at + 1] = v & 0xff;
}

/**
 * Receives one packet through GRO. Returns what became of it.
 * @models linux net/core/gro.c dev_gro_receive()
 */
export function dev_gro_receive(gro: GroLists, st: GroStack, skb: SkBuff): GroResult {
  const b = skb.head;
  const d = skb.data;
  // The frame's headers, as skb_gro_header_fast reads them: Ethernet, IPv4 (ihl 5), TCP.
  if (skb.headLen < TH_OFF + 20 || u16(b, d + 12) !== 0x0800) return normal(gro, st, skb);
  // A GSO packet counts as its segments; only TCP GSO may be merged further.
  const gso = skb.gsoSize !== 0;
  const count = gso ? skb.gsoSegs : 1;
  const gsoFlush = gso && (skb.gsoType & (SKB_GSO_TCPV4 | SKB_GSO_TCPV6)) === 0 ? 1 : 0;
  const bucket = gro.buckets[skb.hash & (GRO_HASH_BUCKETS - 1)]!;
  // gro_list_prepare: same hash, same device, the same MAC header; each held packet's flush
  // verdict is for this packet only.
  for (let i = 0; i < bucket.length; i++) {
    const h = bucket[i]!;
    const p = h.skb!;
    h.flush = 0;
    let same = p.hash === skb.hash && p.dev === skb.dev;
    for (let k = 0; same && k < ETH_HLEN; k++) same = p.head[p.data + k] === b[d + k];
    h.sameFlow = same;
  }
  const ip = d + ETH_HLEN;
  // inet_gro_receive: only a plain 20-byte IPv4 header, not a fragment, with a good checksum.
  if (b[ip] !== 0x45 || (u16(b, ip + 6) & 0x3fff) !== 0 || csum_fold(csum_partial(b, ip, ip + 20, 0)) !== 0) return normal(gro, st, skb);
  const proto = b[ip + 9]!;
  const saddr = be32(b, ip + 12);
  const daddr = be32(b, ip + 16);
  const glen = skb.len - ETH_HLEN; // skb_gro_len from the IP header
  const fragOff = u16(b, ip + 6);
  // (u16)((ntohl(word 0) ^ skb_gro_len) | (id & ~IP_DF)): total length = what arrived, no MF/offset.
  const ipFlush = ((u16(b, ip + 2) ^ glen) | (fragOff & ~IP_DF)) & 0xffff;
  const id = u16(b, ip + 4);
  if (proto !== 6) return normal(gro, st, skb); // udp4_gro_receive flushes a plain UDP datagram
  for (let i = 0; i < bucket.length; i++) {
    const h = bucket[i]!;
    if (!h.sameFlow) continue;
    const p = h.skb!;
    const pip = p.data + ETH_HLEN;
    const pb = p.head;
    if (pb[pip + 9] !== proto || be32(pb, pip + 12) !== saddr || be32(pb, pip + 16) !== daddr) {
      h.sameFlow = false;
      continue;
    }
    // All fields must match except length and checksum.
    h.flush |= (pb[pip + 8]! ^ b[ip + 8]!) | (pb[pip + 1]! ^ b[ip + 1]!) | ((u16(pb, pip + 6) ^ fragOff) & IP_DF) | ipFlush;
    let flushId = (id - u16(pb, pip + 4)) & 0xffff;
    if (!h.isAtomic || (fragOff & IP_DF) === 0) {
      flushId ^= h.count;
      flushId = flushId !== 0 ? 0xffff : 0;
    }
    h.flushId = flushId; // the new packet counts as atomic until the loop is done
  }
  const isAtomic = (fragOff & IP_DF) !== 0;
  let flush = ipFlush | gsoFlush;
  // tcp4_gro_receive: don't bother verifying the checksum of a packet that will be flushed anyway.
  if (flush === 0 && !tcpChecksumValid(skb, ip, saddr, daddr, glen - 20)) return normal(gro, st, skb);
  // tcp_gro_receive
  const th = ip + 20;
  const thlen = (b[th + 12]! >>> 4) * 4;
  if (thlen < 20 || skb.headLen < TH_OFF + thlen) return normal(gro, st, skb);
  const len = glen - 20 - thlen;
  const flags = b[th + 13]!;
  let found: GroHeld | null = null;
  for (let i = 0; i < bucket.length; i++) {
    const h = bucket[i]!;
    if (!h.sameFlow) continue;
    const p = h.skb!;
    if (be32(p.head, p.data + TH_OFF) !== be32(b, th)) {
      h.sameFlow = false;
      continue;
    }
    found = h;
    break;
  }
  let mss = 1;
  let merged = false;
  let why: GroFlushReason = 'mismatch';
  if (found !== null) {
    const h = found;
    const p = h.skb!;
    const pb = p.head;
    const pth = p.data + TH_OFF;
    // tcp_flag_word: data offset, flags and window must match but for CWR, FIN and PSH.
    let f = h.flush | (flags & TCP_FLAG_CWR);
    if (((be32(b, th + 12) ^ be32(pb, pth + 12)) & ~(((TCP_FLAG_CWR | TCP_FLAG_FIN | TCP_FLAG_PSH) << 16) >>> 0)) !== 0) f |= 1;
    if (be32(b, th + 8) !== be32(pb, pth + 8)) f |= 1; // ack_seq
    for (let k = 20; k < thlen; k++) f |= pb[pth + k]! ^ b[th + k]!; // the options
    if (h.flushId !== 1 || h.count !== 1 || !h.isAtomic) f |= h.flushId;
    else h.isAtomic = false;
    mss = p.gsoSize;
    if (gso) f |= mss !== skb.gsoSize ? 1 : 0;
    else if (len - 1 >= mss || len === 0) f |= 1; // (len - 1) >= mss, unsigned
    // The next sequence number: the held packet's first one plus its payload (skb_gro_len(p)).
    const heldPayload = p.len - TH_OFF - (pb[pth + 12]! >>> 4) * 4;
    if (((be32(pb, pth + 4) + heldPayload) >>> 0) !== be32(b, th + 4)) f |= 1;
    if (f !== 0 || gsoFlush !== 0 || ipFlush !== 0 || !skb_gro_receive(h, skb, TH_OFF + thlen, len, count)) {
      if (f === 0 && gsoFlush === 0 && ipFlush === 0) why = 'size';
      mss = 1;
    } else {
      merged = true;
      pb[pth + 13] = pb[pth + 13]! | (flags & (TCP_FLAG_FIN | TCP_FLAG_PSH));
    }
  }
  // out_check_final: a segment shorter than the MSS (a GSO packet short of count × gso_size), or
  // with one of these flags, ends the packet.
  flush = (gso ? (len !== count * skb.gsoSize ? 1 : 0) : (len < mss ? 1 : 0))
    | (flags & (TCP_FLAG_URG | TCP_FLAG_PSH | TCP_FLAG_RST | TCP_FLAG_SYN | TCP_FLAG_FIN)) | ipFlush | gsoFlush;
  if (found !== null && (!merged || flush !== 0)) {
    if (merged) why = (flags & (TCP_FLAG_URG | TCP_FLAG_PSH | TCP_FLAG_RST | TCP_FLAG_SYN | TCP_FLAG_FIN)) !== 0 ? 'flags' : 'short';
    remove(gro, bucket, found);
    napi_gro_complete(gro, st, found, why);
  }
  if (merged) {
    gro.stats.merged++;
    return 'merged';
  }
  if (flush !== 0) return normal(gro, st, skb);
  if (bucket.length >= MAX_GRO_SKBS) {
    // gro_flush_oldest
    const oldest = bucket[0]!;
    remove(gro, bucket, oldest);
    napi_gro_complete(gro, st, oldest, 'bucket_full');
  }
  const h = gro.take();
  h.skb = skb;
  h.count = count;
  h.flush = 0;
  h.flushId = 0;
  h.isAtomic = isAtomic;
  h.age = st.jiffies();
  h.sameFlow = false;
  if (!gso) skb.gsoSize = len; // skb_shinfo(skb)->gso_size = skb_gro_len(skb): the MSS of what follows
  bucket.push(h);
  gro.held++;
  gro.stats.held++;
  return 'held';
}

function normal(gro: GroLists, st: GroStack, skb: SkBuff): GroResult {
  gro.stats.normal++;
  st.netif_receive_skb(skb);
  return 'normal';
}

function remove(gro: GroLists, bucket: GroHeld[], h: GroHeld): void {
  bucket.splice(bucket.indexOf(h), 1);
  gro.held--;
}

/**
 * skb_gro_checksum_validate for TCP: a NIC-verified packet is valid; otherwise the checksum is
 * computed (a valid one then counts as verified).
 */
function tcpChecksumValid(skb: SkBuff, ip: number, saddr: number, daddr: number, tcpLen: number): boolean {
  if (skb.ipSummed === CHECKSUM_UNNECESSARY || skb.ipSummed === CHECKSUM_PARTIAL) return true;
  const th = ip + 20;
  const pseudo = csum_tcpudp_nofold(saddr, daddr, tcpLen, 6, 0);
  let sum: number;
  if (skb.nrFrags === 0) {
    sum = csum_partial(skb.head, th, th + tcpLen, pseudo);
  } else {
    if (scratch.length < tcpLen) scratch = new Uint8Array(tcpLen);
    skb.copyBits(th - skb.data, scratch, 0, tcpLen);
    sum = csum_partial(scratch, 0, tcpLen, pseudo);
  }
  if (csum_fold(sum) !== 0) return false;
  skb.ipSummed = CHECKSUM_UNNECESSARY;
  return true;
}

let scratch = new Uint8Array(2048);

/**
 * Appends the payload of `skb` (after `hdr` header bytes) to the held packet: what is in its
 * linear area as one fragment (a driver's build_skb head: NAPI_GRO_FREE_STOLEN_HEAD), then its
 * own fragments. The segment's fragments move to the held skb (and with them what its destructor
 * releases: netfront's pages go back to its pool once, when the held skb is freed); the segment
 * itself, whose head may back a fragment, is freed with the held skb. False when the packet would
 * reach GRO_MAX_SIZE or run out of fragments.
 * @models linux net/core/gro.c skb_gro_receive()
 */
function skb_gro_receive(h: GroHeld, skb: SkBuff, hdr: number, len: number, segs: number): boolean {
  const p = h.skb!;
  const linear = skb.headLen - hdr;
  if (p.len - ETH_HLEN + len >= GRO_MAX_SIZE || p.nrFrags + (linear > 0 ? 1 : 0) + skb.nrFrags > GRO_MAX_FRAGS) return false;
  if (linear > 0) p.addFrag(skb.head, skb.data + hdr, linear, GRO_MAX_FRAGS);
  for (let i = 0; i < skb.nrFrags; i++) {
    p.addFrag(skb.fragPage[i]!, skb.fragOff[i]!, skb.fragLen[i]!, GRO_MAX_FRAGS);
    skb.fragPage[i] = null;
  }
  skb.len = skb.headLen;
  skb.nrFrags = 0;
  p.stealSegment(skb);
  h.count += segs;
  return true;
}

/**
 * Hands a held packet up: as it came when it is one segment, else as one GSO packet with its
 * headers fixed up.
 * @models linux net/core/gro.c napi_gro_complete(); net/ipv4/af_inet.c inet_gro_complete();
 *   net/ipv4/tcp_offload.c tcp4_gro_complete(), tcp_gro_complete()
 */
function napi_gro_complete(gro: GroLists, st: GroStack, h: GroHeld, why: GroFlushReason): void {
  const p = h.skb!;
  const count = h.count;
  const atomic = h.isAtomic;
  gro.give(h);
  st.groComplete(p, count, why);
  if (count === 1) {
    p.gsoSize = 0;
    gro.stats.flushed_single++;
    st.netif_receive_skb(p);
    return;
  }
  const b = p.head;
  const ip = p.data + ETH_HLEN;
  // inet_gro_complete: the new total length, and the header checksum.
  const newLen = p.len - ETH_HLEN;
  put16(b, ip + 2, newLen);
  put16(b, ip + 10, 0);
  put16(b, ip + 10, csum_fold(csum_partial(b, ip, ip + 20, 0)));
  // tcp4_gro_complete: the check field holds the pseudo-header sum; the stack or the device finishes it.
  const th = p.data + TH_OFF;
  const tcpLen = p.len - TH_OFF;
  put16(b, th + 16, foldSum(csum_tcpudp_nofold(be32(b, ip + 12), be32(b, ip + 16), tcpLen, 6, 0)));
  p.gsoType |= SKB_GSO_TCPV4;
  if (atomic) p.gsoType |= SKB_GSO_TCP_FIXEDID;
  p.csumStart = TH_OFF;
  p.csumOffset = 16;
  p.ipSummed = CHECKSUM_PARTIAL;
  p.gsoSegs = count;
  if ((b[th + 13]! & TCP_FLAG_CWR) !== 0) p.gsoType |= SKB_GSO_TCP_ECN;
  gro.stats.flushed_gso++;
  st.netif_receive_skb(p);
}

/**
 * Completes the held packets, oldest first in each bucket; with `flushOld`, only those held
 * since an earlier jiffy.
 * @models linux net/core/gro.c napi_gro_flush(), __napi_gro_flush_chain()
 */
export function napi_gro_flush(gro: GroLists, st: GroStack, flushOld: boolean, why: GroFlushReason): void {
  if (gro.held === 0) return;
  const now = st.jiffies();
  for (const bucket of gro.buckets) {
    while (bucket.length > 0) {
      const h = bucket[0]!;
      if (flushOld && h.age === now) break;
      bucket.shift();
      gro.held--;
      napi_gro_complete(gro, st, h, why);
    }
  }
}
