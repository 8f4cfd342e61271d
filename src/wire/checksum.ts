/**
 * The Internet checksum (RFC 1071) and Linux's checksum-offload state.
 *
 * Sums are 16-bit big-endian words added in one's complement. We keep a running sum as a plain
 * JS number (no 32-bit overflow below 2^53, so no carry handling inside loops) and fold at the
 * end. Over a 64 KiB packet the unfolded sum stays below 2^31.
 *
 * Linux helpers keep their names so a learner can grep the kernel with them:
 *
 *   csum_partial(buf, start, end, sum)   running sum of a byte range       (lib/checksum.c)
 *   csum_fold(sum)                        fold to 16 bits and complement    (asm-generic/checksum.h)
 *   csum_tcpudp_nofold / csum_tcpudp_magic  the TCP/UDP pseudo-header    (asm-generic/checksum.h)
 *   csum_replace2(check, old, new)        incremental update, RFC 1624 eqn 3 (net/checksum.h)
 *   skb_checksum_help(...)                finish a CHECKSUM_PARTIAL packet (net/core/dev.c)
 *   skb_checksum_setup_ipv4(...)          find csum_start/csum_offset      (net/core/skbuff.c)
 *
 * Differences from Linux: Linux sums in host byte order and stores the result without a swap;
 * we sum big-endian words and write big-endian, which gives the same bytes on the wire. Linux
 * `__wsum` is 32 bits; our unfolded sums are wider, which folds to the same 16-bit result.
 *
 * CHECKSUM_PARTIAL, as a sender leaves it (e.g. `udp4_hwcsum`, `__tcp_v4_send_check`) and as
 * netfront hands it to netback with NETTXF_csum_blank:
 *
 *    frame:  | Ethernet | IPv4 (checksum done) | UDP hdr .. check .. | payload            |
 *                                              ^csum_start  ^+csum_offset
 *    check field = ~csum_tcpudp_magic(saddr, daddr, len, proto, 0)
 *                = the folded pseudo-header sum, NOT complemented
 *
 * Completion (`skb_checksum_help`) sums from csum_start to the end of the packet — the
 * pseudo-header is already inside, via the check field — folds, complements, and writes the
 * result (0 becomes 0xffff, CSUM_MANGLED_0) at csum_start + csum_offset.
 */
import { ipv4At } from './address';
import { fail, ok, wireError, type Result } from './error';
import { WASM_SUM_CHUNK, wasmMachineMemoryOf, wasmWordSum } from './csum-simd';
import { bufferOf, byteOffsetOf } from './views';

/**
 * Linux `skb->ip_summed` (include/linux/skbuff.h).
 * - CHECKSUM_NONE: nothing is known; the stack must verify (rx) / the checksum is complete (tx).
 * - CHECKSUM_UNNECESSARY: a device (or netfront's NETRXF_data_validated) vouched for it (rx).
 * - CHECKSUM_COMPLETE: `csum` holds the sum over the packet from the network header (rx).
 * - CHECKSUM_PARTIAL: the L4 checksum is left to be finished from csum_start (tx offload).
 */
export const IpSummed = {
  CHECKSUM_NONE: 0,
  CHECKSUM_UNNECESSARY: 1,
  CHECKSUM_COMPLETE: 2,
  CHECKSUM_PARTIAL: 3,
} as const;
export type IpSummed = (typeof IpSummed)[keyof typeof IpSummed];

export function ipSummedName(v: IpSummed): keyof typeof IpSummed {
  return (['CHECKSUM_NONE', 'CHECKSUM_UNNECESSARY', 'CHECKSUM_COMPLETE', 'CHECKSUM_PARTIAL'] as const)[v];
}

/**
 * Where a CHECKSUM_PARTIAL checksum is to be finished, relative to the start of the frame
 * (Linux measures csum_start from skb->head; we measure from the frame's first byte).
 */
export interface PartialChecksum {
  /** Byte offset, from the frame start, where summing begins (the L4 header). */
  csumStart: number;
  /** Offset of the 16-bit check field from csumStart (UDP 6, TCP 16). */
  csumOffset: number;
}

/** The checksum state a packet carries between layers (the part of an skb that matters here). */
export type ChecksumState =
  | { ipSummed: typeof IpSummed.CHECKSUM_NONE }
  | { ipSummed: typeof IpSummed.CHECKSUM_UNNECESSARY }
  | { ipSummed: typeof IpSummed.CHECKSUM_COMPLETE; csum: number }
  | ({ ipSummed: typeof IpSummed.CHECKSUM_PARTIAL } & PartialChecksum);

/** Ranges at least this long are summed with 32-bit DataView loads (see csum_partial). */
const CSUM_WIDE_MIN = 64;
/** Ranges at least this long go to the WebAssembly SIMD loop when there is one (see ./csum-simd). */
const CSUM_SIMD_MIN = 256;
/** Buffers up to this size are copied whole into the SIMD module's memory (no subarray view). */
const CSUM_SIMD_WHOLE_MAX = 4096;
const WASM = wasmWordSum;

// One DataView per ArrayBuffer, made on first use (creating one per call costs as much as the
// sum of 1480 bytes), with the last one at hand: packets are summed where they were just written.
const DATA_VIEWS = new WeakMap<ArrayBufferLike, DataView>();
let lastBuffer: ArrayBufferLike | null = null;
let lastView: DataView | null = null;

function dataViewOf(b: ArrayBufferLike): DataView {
  if (b === lastBuffer) return lastView!;
  let d = DATA_VIEWS.get(b);
  if (d === undefined) {
    d = new DataView(b);
    DATA_VIEWS.set(b, d);
  }
  lastBuffer = b;
  lastView = d;
  return d;
}

/**
 * Running one's-complement sum of big-endian 16-bit words over `buf[start..end)`, added to
 * `sum`. An odd trailing byte is padded with a zero byte, as RFC 1071 says. Long ranges are
 * summed 16 bytes at a time in WebAssembly SIMD (./csum-simd) — in place when the bytes live in
 * a host's machine memory, after a copy otherwise — or 4 at a time with a DataView
 * kept per ArrayBuffer; both give exactly the word-by-word sum.
 * Chain calls only at even boundaries (as with Linux's csum_partial).
 * @models linux lib/checksum.c csum_partial()
 * @simplified returns an unfolded sum (a JS number) instead of a 32-bit __wsum.
 */
export function csum_partial(buf: Uint8Array, start: number, end: number, sum: number): number {
  let s = sum;
  let i = start;
  const machine = end - start >= CSUM_SIMD_MIN && start >= 0 && end <= buf.length ? wasmMachineMemoryOf(bufferOf(buf)) : undefined;
  if (machine !== undefined) {
    // Bytes in a host's machine memory (a guest page, a dom0 frame): summed in place.
    const sumWords = machine.sum;
    const base = byteOffsetOf(buf);
    while (end - i >= 16) {
      const n = Math.min(end - i, WASM_SUM_CHUNK) & ~15;
      const p = base + i;
      s += sumWords(p, p + n);
      i += n;
    }
  } else if (end - start >= CSUM_SIMD_MIN && WASM !== null && start >= 0 && end <= buf.length) {
    // Long ranges: 16 bytes per step in WebAssembly SIMD (see ./csum-simd), in 64 KiB chunks.
    const mem = WASM.mem;
    const sumWords = WASM.sum;
    if (buf.length <= CSUM_SIMD_WHOLE_MAX) {
      // A packet buffer (an skb head, a NIC buffer): copy it whole, which costs less than
      // making a subarray view of the range.
      mem.set(buf, 0);
      const n = (end - i) & ~15;
      s += sumWords(i, i + n);
      i += n;
    }
    while (end - i >= 16) {
      const n = Math.min(end - i, WASM_SUM_CHUNK) & ~15;
      mem.set(buf.subarray(i, i + n), 0);
      s += sumWords(0, n);
      i += n;
    }
  } else if (end - start >= CSUM_WIDE_MIN && start >= 0 && end <= buf.length) {
    // Long ranges (a 1480-byte payload): big-endian 32-bit loads through a DataView, 16 bytes per
    // round; each load adds its two 16-bit words, so the sum is exactly the word-by-word sum
    // (a JS number holds it without carries until the fold). About 2-3x the byte loop below.
    const d = dataViewOf(bufferOf(buf));
    const base = byteOffsetOf(buf);
    let p = base + i;
    const end16 = p + ((end - i) & ~15);
    let hi = 0;
    let lo = 0;
    for (; p < end16; p += 16) {
      const w0 = d.getUint32(p);
      const w1 = d.getUint32(p + 4);
      const w2 = d.getUint32(p + 8);
      const w3 = d.getUint32(p + 12);
      hi += (w0 >>> 16) + (w1 >>> 16) + (w2 >>> 16) + (w3 >>> 16);
      lo += (w0 & 0xffff) + (w1 & 0xffff) + (w2 & 0xffff) + (w3 & 0xffff);
    }
    s += hi + lo;
    i = p - base;
  }
  const even = end - ((end - i) & 1);
  // Unrolled by 4 words; a JS number holds the sum exactly, so carries wait until the fold.
  const end8 = even - ((even - i) & 7);
  for (; i < end8; i += 8) {
    s += ((buf[i]! << 8) | buf[i + 1]!) + ((buf[i + 2]! << 8) | buf[i + 3]!) + ((buf[i + 4]! << 8) | buf[i + 5]!) + ((buf[i + 6]! << 8) | buf[i + 7]!);
  }
  for (; i < even; i += 2) s += (buf[i]! << 8) | buf[i + 1]!;
  if (even !== end) s += buf[end - 1]! << 8;
  return s;
}

/** Folds a running sum to 16 bits with end-around carry (no complement). */
export function foldSum(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s % 0x10000) + Math.floor(s / 0x10000);
  return s;
}

/**
 * Folds a running sum to 16 bits and complements it: the value to store in a check field.
 * @models linux include/asm-generic/checksum.h csum_fold()
 */
export function csum_fold(sum: number): number {
  return ~foldSum(sum) & 0xffff;
}

/** The Internet checksum of `buf[start..end)`: the value to write into a check field. */
export function internetChecksum(buf: Uint8Array, start: number, end: number): number {
  return csum_fold(csum_partial(buf, start, end, 0));
}

/**
 * The TCP/UDP pseudo-header sum (RFC 768, RFC 793 §3.1): src, dst, zero+protocol, length.
 * @models linux include/asm-generic/checksum.h csum_tcpudp_nofold()
 */
export function csum_tcpudp_nofold(saddr: number, daddr: number, len: number, proto: number, sum: number): number {
  return sum + (saddr >>> 16) + (saddr & 0xffff) + (daddr >>> 16) + (daddr & 0xffff) + proto + len;
}

/**
 * The folded, complemented checksum of the pseudo-header plus `sum`.
 * @models linux include/asm-generic/checksum.h csum_tcpudp_magic()
 */
export function csum_tcpudp_magic(saddr: number, daddr: number, len: number, proto: number, sum: number): number {
  return csum_fold(csum_tcpudp_nofold(saddr, daddr, len, proto, sum));
}

/** The pseudo-header sum of an IPv4 header at `ipOff` for an L4 segment of `l4Len` bytes. */
export function pseudoHeaderSumAt(buf: Uint8Array, ipOff: number, l4Len: number): number {
  return csum_tcpudp_nofold(ipv4At(buf, ipOff + 12), ipv4At(buf, ipOff + 16), l4Len, buf[ipOff + 9]!, 0);
}

/**
 * Incrementally updates a check field when one 16-bit word changes from `oldWord` to `newWord`
 * (RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m')). Returns the new check value.
 * @models linux include/net/checksum.h csum_replace2()
 */
export function csum_replace2(check: number, oldWord: number, newWord: number): number {
  return ~foldSum((~check & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff)) & 0xffff;
}

/** 0xffff: what a computed checksum of 0 is sent as in UDP (RFC 768) and by skb_checksum_help. */
export const CSUM_MANGLED_0 = 0xffff;

/**
 * Finishes a CHECKSUM_PARTIAL checksum in the frame at `buf[off..off+len)`: sums from
 * csum_start to the end, folds, complements and stores at csum_start + csum_offset (0 → 0xffff).
 * The frame is then CHECKSUM_NONE. Returns an error value if the offsets do not fit the frame
 * (Linux WARNs and returns -EINVAL), leaving the frame untouched.
 * @models linux net/core/dev.c skb_checksum_help()
 * @simplified linear buffer only (no frags, no GSO, no clone un-sharing).
 */
export function skb_checksum_help(buf: Uint8Array, off: number, len: number, partial: PartialChecksum): Result<void> {
  const { csumStart, csumOffset } = partial;
  if (!Number.isInteger(csumStart) || csumStart < 0 || csumStart >= len) {
    return fail(wireError('udp', 'csum_start', `csum_start ${csumStart} is outside the ${len}-byte frame`));
  }
  if (!Number.isInteger(csumOffset) || csumOffset < 0 || csumStart + csumOffset + 2 > len) {
    return fail(wireError('udp', 'csum_offset', `csum_start ${csumStart} + csum_offset ${csumOffset} + 2 exceeds the ${len}-byte frame`));
  }
  const sum = csum_partial(buf, off + csumStart, off + len, 0);
  const c = csum_fold(sum) || CSUM_MANGLED_0;
  const at = off + csumStart + csumOffset;
  buf[at] = c >>> 8;
  buf[at + 1] = c & 0xff;
  return OK_VOID;
}

const OK_VOID: Result<void> = ok(undefined);

/**
 * Prepares the partial-checksum state of an IPv4 TCP/UDP frame a guest sent with
 * NETTXF_csum_blank: finds csum_start/csum_offset from the headers and, if `recalculate`,
 * rewrites the check field with the pseudo-header sum (`~csum_tcpudp_magic(…)`), as netback
 * does because a guest may have left anything there. Untrusted bytes: errors are values.
 * `ethHeaderLen` is where IPv4 starts in the frame (14, or 18 with an 802.1Q tag).
 * @models linux net/core/skbuff.c skb_checksum_setup_ipv4()
 * @simplified the pseudo-header length is IPv4 total_len minus the header length (Linux uses
 *   skb->len, equal unless the frame carries trailing padding).
 */
export function skb_checksum_setup_ipv4(buf: Uint8Array, off: number, len: number, ethHeaderLen: number, recalculate: boolean): Result<PartialChecksum> {
  const ip = off + ethHeaderLen;
  if (ethHeaderLen + 20 > len) return fail(wireError('ipv4', 'version_ihl', `truncated: no room for a 20-byte IPv4 header at ${ethHeaderLen} in a ${len}-byte frame`));
  const ihl = (buf[ip]! & 0x0f) * 4;
  if (buf[ip]! >>> 4 !== 4) return fail(wireError('ipv4', 'version', `version ${buf[ip]! >>> 4} is not 4`));
  if (ihl < 20 || ethHeaderLen + ihl > len) return fail(wireError('ipv4', 'ihl', `header length ${ihl} does not fit (20..${len - ethHeaderLen})`));
  const totalLen = (buf[ip + 2]! << 8) | buf[ip + 3]!;
  if (totalLen < ihl || ethHeaderLen + totalLen > len) return fail(wireError('ipv4', 'total_len', `total_len ${totalLen} is outside ${ihl}..${len - ethHeaderLen}`));
  const frag = ((buf[ip + 6]! << 8) | buf[ip + 7]!) & 0x3fff; // MF or a fragment offset: ip_is_fragment()
  if (frag !== 0) return fail(wireError('ipv4', 'flags_frag', 'a fragment cannot carry a partial checksum (-EPROTO)'));
  const proto = buf[ip + 9]!;
  const l4Len = totalLen - ihl;
  let csumOffset: number;
  if (proto === 17) {
    if (l4Len < 8) return fail(wireError('udp', 'header', `truncated: ${l4Len} bytes, a UDP header needs 8`));
    csumOffset = 6;
  } else if (proto === 6) {
    if (l4Len < 20) return fail(wireError('tcp', 'header', `truncated: ${l4Len} bytes, a TCP header needs 20`));
    csumOffset = 16;
  } else {
    return fail(wireError('ipv4', 'protocol', `protocol ${proto} has no partial checksum (only TCP 6 and UDP 17): -EPROTO`));
  }
  const csumStart = ethHeaderLen + ihl;
  if (recalculate) {
    const c = ~csum_tcpudp_magic(ipv4At(buf, ip + 12), ipv4At(buf, ip + 16), l4Len, proto, 0) & 0xffff;
    buf[off + csumStart + csumOffset] = c >>> 8;
    buf[off + csumStart + csumOffset + 1] = c & 0xff;
  }
  return ok({ csumStart, csumOffset });
}
