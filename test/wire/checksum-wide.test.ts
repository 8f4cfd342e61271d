import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { csum_partial } from '../../src/wire';

/** The RFC 1071 sum, one big-endian 16-bit word at a time (the reference). */
function naive(buf: Uint8Array, start: number, end: number, sum: number): number {
  let s = sum;
  for (let i = start; i < end; i += 2) s += (buf[i]! << 8) | (i + 1 < end ? buf[i + 1]! : 0);
  return s;
}

describe('csum_partial() on long ranges (32-bit loads)', () => {
  it('csum_partial() equals the word-by-word sum exactly, for any view offset, range and length', () => {
    fc.assert(fc.property(
      fc.uint8Array({ minLength: 0, maxLength: 3000 }), fc.nat(7), fc.nat(3000), fc.nat(3000), fc.nat(0xffffff),
      (bytes, viewOff, a, b, seed) => {
        const backing = new Uint8Array(bytes.length + 8);
        backing.set(bytes, viewOff);
        const view = backing.subarray(viewOff, viewOff + bytes.length);
        const start = Math.min(a, b, view.length);
        const end = Math.min(Math.max(a, b), view.length);
        expect(csum_partial(view, start, end, seed)).toBe(naive(view, start, end, seed));
      }), { numRuns: 500 });
  });

  it('csum_partial() sums 0xffff words without losing carries (64 KiB of 0xff)', () => {
    const b = new Uint8Array(65536).fill(0xff);
    expect(csum_partial(b, 0, 65536, 0)).toBe(32768 * 0xffff);
    expect(csum_partial(b, 1, 65535, 7)).toBe(naive(b, 1, 65535, 7));
  });
});

describe('the WebAssembly SIMD word sum', () => {
  it('wasmWordSum is available on this Node and sums big-endian words exactly', async () => {
    const { wasmWordSum, WASM_SUM_CHUNK } = await import('../../src/wire/csum-simd');
    expect(wasmWordSum).not.toBeNull();
    const w = wasmWordSum!;
    for (let i = 0; i < WASM_SUM_CHUNK; i++) w.mem[i] = (i * 131 + 7) & 0xff;
    expect(w.sum(0, WASM_SUM_CHUNK)).toBe(naive(w.mem, 0, WASM_SUM_CHUNK, 0));
    w.mem.fill(0xff, 0, WASM_SUM_CHUNK);
    expect(w.sum(16, WASM_SUM_CHUNK)).toBe(((WASM_SUM_CHUNK - 16) / 2) * 0xffff);
  });

  it('csum_partial() over more than one 64 KiB chunk equals the word-by-word sum', () => {
    const b = new Uint8Array(150_001);
    for (let i = 0; i < b.length; i++) b[i] = (i * 7 + (i >>> 9)) & 0xff;
    expect(csum_partial(b, 3, b.length, 11)).toBe(naive(b, 3, b.length, 11));
    expect(csum_partial(b.subarray(5), 0, 140_000, 0)).toBe(naive(b.subarray(5), 0, 140_000, 0));
  });
});
