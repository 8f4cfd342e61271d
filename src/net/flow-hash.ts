/**
 * The flow hash a kernel computes for an skb, and the transmit-queue choice built on it.
 *
 *   skb_get_hash(skb, hashrnd)      flow dissector → {src, dst, ports} → consistent order →
 *                                   jhash_3words(dst, src, ports, hashrnd), 0 → 1; cached in skb.hash
 *   skb_tx_hash(skb, hashrnd, n)    a recorded rx queue (modulo n), else reciprocal_scale(hash, n)
 *
 * Used where Linux picks one of several queues: netfront's xennet_select_queue (`hash % queues`)
 * and netback's xenvif_select_queue (netdev_pick_tx → skb_tx_hash when no hash algorithm was set
 * over the control ring). `hashrnd` is the kernel's boot-time secret (net_get_random_once): each
 * NetStack draws its own from the named random stream `<stack>.hashrnd`, so one flow lands on
 * different queues in different kernels (or seeds), but always on the same one within a run.
 *
 * The addresses and ports enter the hash as x86 reads them from the packet: the network-order
 * bytes loaded as little-endian 32- and 16-bit words (Linux's `(__force u32)keys->dst`).
 *
 * @models torvalds/linux net/core/flow_dissector.c __skb_get_hash(), __flow_hash_from_keys(),
 *   __skb_tx_hash() (v3.16, the release that added xennet_select_queue); include/linux/jhash.h
 *   jhash_3words(), __jhash_final() (before v4.1); include/linux/kernel.h reciprocal_scale()
 * @simplified IPv4 (behind at most one 802.1Q tag) only; other frames get no hash (0), as the 3.16
 *   dissector gives ARP. Later kernels hash the whole flow_keys with siphash (v4.13+): the values
 *   differ, the properties (per-boot secret, both directions alike, stable per flow) do not.
 *   sk_txhash of connected sockets is not modelled.
 */
import type { SkBuff } from './skb';

/** JHASH_INITVAL: jhash's arbitrary initial value. */
export const JHASH_INITVAL = 0xdeadbeef;

function rol32(w: number, s: number): number {
  return ((w << s) | (w >>> (32 - s))) >>> 0;
}

/**
 * jhash_3words(a, b, c, initval): Bob Jenkins' lookup3 final mix of three words (u32 in, u32 out).
 * @models torvalds/linux include/linux/jhash.h jhash_3words(), __jhash_final() (v2.6.37–v4.0)
 */
export function jhash_3words(a: number, b: number, c: number, initval: number): number {
  a = (a + JHASH_INITVAL) >>> 0;
  b = (b + JHASH_INITVAL) >>> 0;
  c = (c + initval) >>> 0;
  c = ((c ^ b) - rol32(b, 14)) >>> 0;
  a = ((a ^ c) - rol32(c, 11)) >>> 0;
  b = ((b ^ a) - rol32(a, 25)) >>> 0;
  c = ((c ^ b) - rol32(b, 16)) >>> 0;
  a = ((a ^ c) - rol32(c, 4)) >>> 0;
  b = ((b ^ a) - rol32(a, 14)) >>> 0;
  c = ((c ^ b) - rol32(b, 24)) >>> 0;
  return c;
}

/** reciprocal_scale(val, n): val scaled into [0, n) by the top bits of val × n. */
export function reciprocal_scale(val: number, n: number): number {
  return Math.floor(((val >>> 0) * n) / 0x1_0000_0000);
}

const ETH_P_IP = 0x0800;
const ETH_P_8021Q = 0x8100;
const IP_MF = 0x2000;
const IP_OFFSET = 0x1fff;
/** proto_ports_offset(): where the 32 bits of "ports" start in the L4 header, or -1 (none). */
function protoPortsOffset(proto: number): number {
  switch (proto) {
    case 6: case 17: case 33: case 50: case 132: case 136: return 0; // TCP UDP DCCP ESP SCTP UDPLITE
    case 51: return 4; // AH: the SPI
    default: return -1;
  }
}

/** Headers the dissector may look at: Ethernet + one tag + a 60-byte IPv4 header + 8 bytes of L4. */
const DISSECT_BYTES = 14 + 4 + 60 + 8;
const scratch = new Uint8Array(DISSECT_BYTES);
/** Result of the last flowDissect (flow_keys: src, dst, ports as x86 reads them). */
let kSrc = 0, kDst = 0, kPorts = 0;

function le32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}

/**
 * skb_flow_dissect(): the IPv4 source, destination and ports of the packet in `skb` (from the
 * Ethernet header at skb.data). False when it is not IPv4 or too short. A fragment has no ports.
 * @models torvalds/linux net/core/flow_dissector.c skb_flow_dissect() (v3.16)
 */
function flowDissect(skb: SkBuff): boolean {
  const n = skb.len < DISSECT_BYTES ? skb.len : DISSECT_BYTES;
  if (n < 14 + 20) return false;
  skb.copyBits(0, scratch, 0, n);
  let nh = 14;
  let proto = (scratch[12]! << 8) | scratch[13]!;
  if (proto === ETH_P_8021Q) {
    proto = (scratch[16]! << 8) | scratch[17]!;
    nh = 18;
  }
  if (proto !== ETH_P_IP || n < nh + 20) return false;
  const ihl = (scratch[nh]! & 0x0f) * 4;
  if (ihl < 20 || n < nh + ihl) return false;
  const frag = (scratch[nh + 6]! << 8) | scratch[nh + 7]!;
  const ipProto = (frag & (IP_MF | IP_OFFSET)) !== 0 ? 0 : scratch[nh + 9]!;
  kSrc = le32(scratch, nh + 12);
  kDst = le32(scratch, nh + 16);
  kPorts = 0;
  const po = protoPortsOffset(ipProto);
  if (po >= 0 && n >= nh + ihl + po + 4) kPorts = le32(scratch, nh + ihl + po);
  return true;
}

/**
 * skb_get_hash(): the skb's flow hash, computed once (__skb_get_hash) and kept in skb.hash
 * (skb.swHash set; skb.l4Hash when ports went in). 0 when the packet has no flow keys.
 * @models torvalds/linux include/linux/skbuff.h skb_get_hash(); net/core/flow_dissector.c __skb_get_hash(), __flow_hash_from_keys() (v3.16)
 */
export function skb_get_hash(skb: SkBuff, hashrnd: number): number {
  if (skb.swHash || skb.l4Hash) return skb.hash;
  if (!flowDissect(skb)) return 0;
  let src = kSrc, dst = kDst, ports = kPorts;
  // A consistent hash (the same value for both directions of a flow).
  const p0 = ports & 0xffff, p1 = ports >>> 16;
  if (dst < src || (dst === src && p1 < p0)) {
    const t = dst; dst = src; src = t;
    ports = (p0 * 0x1_0000 + p1) >>> 0;
  }
  let hash = jhash_3words(dst, src, ports, hashrnd);
  if (hash === 0) hash = 1;
  skb.hash = hash;
  skb.swHash = true;
  skb.l4Hash = kPorts !== 0;
  return hash;
}

/** skb_record_rx_queue(): a multi-queue NIC driver notes the rx queue (queue_mapping = queue + 1). */
export function skb_record_rx_queue(skb: SkBuff, rxQueue: number): void {
  skb.queueMapping = rxQueue + 1;
}

/**
 * skb_tx_hash(): the transmit queue among `n` for a forwarded or local packet — the rx queue it
 * came in on (wrapped to n) when the receiving driver recorded one, else the flow hash scaled
 * into [0, n).
 * @models torvalds/linux net/core/dev.c skb_tx_hash() / net/core/flow_dissector.c __skb_tx_hash() (no traffic classes)
 */
export function skb_tx_hash(skb: SkBuff, hashrnd: number, n: number): number {
  if (skb.queueMapping !== 0) {
    let h = skb.queueMapping - 1;
    while (h >= n) h -= n;
    return h;
  }
  return reciprocal_scale(skb_get_hash(skb, hashrnd), n);
}
