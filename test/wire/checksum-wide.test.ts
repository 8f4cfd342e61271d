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

describe('machine memory in a WebAssembly.Memory', () => {
  it('a host\'s memory is wasm-backed here; copy is memmove either way, the same bytes as the ArrayBuffer fallback', async () => {
    const { HostMemory } = await import('../../src/xen/memory');
    const w = new HostMemory(8), a = new HostMemory(8, { wasm: false });
    expect(w.inWasm).toBe(true);
    expect(a.inWasm).toBe(false);
    expect(w.bytes.length).toBe(8 * 4096);
    for (const m of [w, a]) for (let i = 0; i < m.bytes.length; i++) m.bytes[i] = (i * 31 + (i >>> 8)) & 0xff;
    const ref = Uint8Array.from(w.bytes);
    // Non-overlapping, overlapping forwards and backwards, zero length, unaligned.
    const moves: [number, number, number][] = [[8192, 4096, 1500], [4100, 4096, 3000], [4096, 4103, 3000], [77, 12345, 0], [20001, 3, 4095]];
    for (const [dst, src, len] of moves) {
      w.copy(dst, src, len);
      a.copy(dst, src, len);
      ref.copyWithin(dst, src, src + len);
      expect(Buffer.compare(w.bytes, ref)).toBe(0);
      expect(Buffer.compare(a.bytes, ref)).toBe(0);
    }
  });

  it('csum_partial() over views of machine memory (summed in place) equals the word-by-word sum', async () => {
    const { HostMemory } = await import('../../src/xen/memory');
    const m = new HostMemory(40);
    for (let i = 0; i < m.bytes.length; i++) m.bytes[i] = (i * 13 + (i >>> 10)) & 0xff;
    fc.assert(fc.property(fc.nat(39), fc.nat(4096), fc.nat(4096), fc.nat(0xffff), (mfn, a, b, seed) => {
      const page = m.page(mfn);
      const start = Math.min(a, b), end = Math.max(a, b);
      expect(csum_partial(page, start, end, seed)).toBe(naive(page, start, end, seed));
    }), { numRuns: 500 });
    // Longer than one 64 KiB chunk, unaligned.
    const view = m.bytes.subarray(1, 150_001);
    expect(csum_partial(view, 3, view.length, 5)).toBe(naive(view, 3, view.length, 5));
  });

  it('the SIMD sum is exact for every multiple of 16 bytes (the 32-byte loop and its 16-byte tail), any alignment, words above and below 0x8000', async () => {
    const { wasmMachineMemory, wasmWordSum } = await import('../../src/wire/csum-simd');
    const m = wasmMachineMemory(65536)!;
    const bytes = new Uint8Array(m.buffer);
    for (const fill of ['mixed', 'ff', '80', '7f'] as const) {
      for (let i = 0; i < 8192; i++) bytes[i] = fill === 'mixed' ? (i * 151 + (i >>> 7)) & 0xff : fill === 'ff' ? 0xff : fill === '80' ? (i & 1 ? 0 : 0x80) : (i & 1 ? 0xff : 0x7f);
      for (let n = 0; n <= 512; n += 16) {
        for (const p of [0, 1, 7, 16, 33]) expect(m.sum(p, p + n)).toBe(naive(bytes, p, p + n, 0));
      }
    }
    // The module's own memory: the same function.
    const w = wasmWordSum!;
    for (let i = 0; i < 4096; i++) w.mem[i] = (i * 97 + 3) & 0xff;
    for (let n = 0; n <= 4096 - 48; n += 48) expect(w.sum(16, 16 + n)).toBe(naive(w.mem, 16, 16 + n, 0));
  });
});
