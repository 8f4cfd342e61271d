import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { copyBytes } from '../../src/wire';
import { HostMemory } from '../../src/xen/memory';

describe('copyBytes()', () => {
  it('is a memmove of exactly n bytes, within machine memory (wasm), across buffers, and in plain memory', () => {
    const wasm = new HostMemory(4), plain = new HostMemory(4, { wasm: false });
    expect(wasm.inWasm).toBe(true);
    fc.assert(fc.property(fc.nat(16383), fc.nat(16383), fc.nat(3000), fc.boolean(), (a, b, n, cross) => {
      for (const m of [wasm, plain]) {
        for (let i = 0; i < m.bytes.length; i++) m.bytes[i] = (i * 29 + 3) & 0xff;
        const src = m.bytes.subarray(a), dst = cross ? new Uint8Array(16384).fill(7) : m.bytes.subarray(b);
        const nn = Math.min(n, src.length, dst.length);
        const expected = Uint8Array.from(cross ? dst : m.bytes);
        const srcCopy = src.slice(0, nn);
        (cross ? expected : expected.subarray(b)).set(srcCopy, 0);
        copyBytes(dst, 0, src, 0, nn);
        expect(Buffer.compare(cross ? dst : m.bytes, expected)).toBe(0);
      }
    }), { numRuns: 200 });
  });

  it('throws a RangeError naming the range when it does not fit either view', () => {
    const m = new HostMemory(2);
    const page = m.page(1);
    expect(() => copyBytes(page, 4000, m.page(0), 0, 100)).toThrow(/100 bytes from offset 0 of a 4096-byte view to offset 4000 of a 4096-byte view do not fit/);
    expect(() => copyBytes(page, 0, m.page(0), 4090, 7)).toThrow(RangeError);
    expect(m.bytes.subarray(8192 - 96).every((x) => x === 0)).toBe(true); // nothing written past the frame
  });
});
