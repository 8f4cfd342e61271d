/**
 * What every header view (EthernetFrame, ArpPacket, Ipv4Packet, Icmpv4Packet, UdpPacket,
 * TcpPacket) shares, as a type and two helpers: `checkedView()` behind each `X.checked()`, and
 * `viewBoundsError()`, the first two errors every `checkLen()` reports (the view lies outside
 * its buffer; the view is shorter than the fixed header).
 *
 * Why not a base class: each view keeps its own `declare`d fields, constructor and `reset()`.
 * Measured on Node 20 (V8 11.3) with the Ethernet/IPv4/UDP parse loop of src/bench/wire.ts:
 * - `extends` a base that holds the constructor: a derived constructor's `super(…)` call adds
 *   about 45 bytes of bytecode (FindNonDefaultConstructorOrConstruct, hole checks) per view
 *   created, the loop runs out of V8's cumulative inlining budget and stops inlining
 *   accessors (`srcPort`, `length`, …): wire.parse_eth_ipv4_udp went from ~47 to ~54 ns
 *   (a derived class without a constructor, forwarding `...args`, was slower too);
 * - a `reset()` inherited from a base: its three stores collect the feedback of every view
 *   class, go polymorphic, then megamorphic once five classes are reset; a reset()-based loop
 *   ran ~10% slower, ~60% after all six classes had been used.
 */
import { fail, ok, truncated, wireError, type FieldTable, type Result, type WireError, type WireLayer } from './error';

/**
 * A view of one header in `buf[off..off+len)`. No copy. `new X(buf, off, len)` is unchecked
 * (for emitting into a buffer you own); `X.checked(…)` views untrusted bytes, after which no
 * accessor reads out of bounds. `reset()` re-points a view, so a hot loop can keep one per
 * layer instead of allocating one per packet.
 */
export interface WireView {
  readonly buf: Uint8Array;
  readonly off: number;
  readonly len: number;
  /** Undefined if the header fits and its length fields agree; otherwise the error. */
  checkLen(): WireError | undefined;
  reset(buf: Uint8Array, off: number, len: number): this;
}

/** `v` if its `checkLen()` passes, otherwise the error value: the body of every `X.checked()`. */
export function checkedView<V extends WireView>(v: V): Result<V> {
  const e = v.checkLen();
  return e === undefined ? ok(v) : fail(e);
}

/**
 * For the slow path of `checkLen()`: the view lies outside its buffer, or holds fewer than
 * `need` bytes (naming the first field of `table` that is cut). Undefined if neither.
 */
export function viewBoundsError(v: WireView, layer: WireLayer, table: FieldTable, need: number): WireError | undefined {
  const { buf, off, len } = v;
  if (off < 0 || len < 0 || off + len > buf.length) return wireError(layer, 'header', `view [${off}, ${off + len}) lies outside the ${buf.length}-byte buffer`);
  if (len < need) return truncated(layer, table, len, need);
  return undefined;
}
