/**
 * Byte views that remember where they are.
 *
 * The packet path asks a view for its `buffer` (is this guest page in machine memory?) and its
 * `byteOffset` (which frame, which offset in the page?) several times per packet. In the V8 of
 * Node 20 those two getters cost about 17 and 10 ns — against about 1 ns for a property load — so
 * the long-lived views (machine frames, skb heads, wire buffers) are tagged once, when they are
 * made, with the two values as own properties, and the hot code reads the tag:
 *
 *   const v = tagView(mem.bytes.subarray(a, b));   // once
 *   bufferOf(v) === mem.buffer, byteOffsetOf(v)     // per packet, no getter call
 *
 * An untagged view (a temporary subarray, a buffer from a test) answers through the getters, so
 * both functions are always right; tagging only makes them cheaper. A view's buffer and offset
 * never change (the model's memories never grow or detach), so the tag cannot go stale.
 */

/** A view tagged by `tagView`. */
interface TaggedView {
  xmBuf?: ArrayBufferLike;
  xmOff?: number;
}

/**
 * Tags `v` with its buffer and byteOffset (read-only, non-enumerable: printing or comparing the
 * view shows only its bytes); returns `v`.
 */
export function tagView<T extends Uint8Array>(v: T): T {
  Object.defineProperty(v, 'xmBuf', { value: v.buffer });
  Object.defineProperty(v, 'xmOff', { value: v.byteOffset });
  return v;
}

/** `v.buffer`, from the tag when there is one. */
export function bufferOf(v: Uint8Array): ArrayBufferLike {
  const b = (v as TaggedView).xmBuf;
  return b !== undefined ? b : v.buffer;
}

/** `v.byteOffset`, from the tag when there is one. */
export function byteOffsetOf(v: Uint8Array): number {
  const o = (v as TaggedView).xmOff;
  return o !== undefined ? o : v.byteOffset;
}

/** `new Uint8Array(n)`, tagged. */
export function taggedBytes(n: number): Uint8Array {
  return tagView(new Uint8Array(n));
}
