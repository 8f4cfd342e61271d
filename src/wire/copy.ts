/**
 * Copying packet bytes between views: the one primitive behind a NIC's DMA, skb_copy_bits(),
 * grant-copy staging and the like.
 *
 * When both views lie in the same host's machine memory (a WebAssembly.Memory, see
 * ./csum-simd), the copy is one wasm memory.copy on absolute addresses (about 8 ns plus the
 * bytes); otherwise it is `dst.set(src.subarray(...))`, whose subarray view alone costs about
 * 30 ns. Either way it is a memmove of exactly `n` bytes, checked against both views' bounds.
 */
import { wasmMachineMemoryOf } from './csum-simd';
import { bufferOf, byteOffsetOf } from './views';

/**
 * Copies `src[srcOff .. srcOff+n)` to `dst[dstOff ..)` (memmove: the ranges may overlap).
 * Throws a RangeError naming the range when either falls outside its view.
 */
export function copyBytes(dst: Uint8Array, dstOff: number, src: Uint8Array, srcOff: number, n: number): void {
  if (!(n >= 0 && srcOff >= 0 && dstOff >= 0 && srcOff + n <= src.length && dstOff + n <= dst.length)) {
    throw new RangeError(`copyBytes: ${n} bytes from offset ${srcOff} of a ${src.length}-byte view to offset ${dstOff} of a ${dst.length}-byte view do not fit; both ranges must lie within their views`);
  }
  const b = bufferOf(src);
  if (b === bufferOf(dst)) {
    const machine = wasmMachineMemoryOf(b);
    if (machine !== undefined) {
      machine.copy(byteOffsetOf(dst) + dstOff, byteOffsetOf(src) + srcOff, n);
      return;
    }
  }
  dst.set(src.subarray(srcOff, srcOff + n), dstOff);
}
