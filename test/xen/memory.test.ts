import { describe, expect, it } from 'vitest';
import { HostMemory, PAGE_RAM } from '../../src/xen/memory';

describe('HostMemory.alloc() hands out zeroed frames', () => {
  for (const wasm of [true, false]) {
    it(`a fresh frame is zero, and a frame freed dirty is scrubbed when allocated again (${wasm ? 'wasm' : 'ArrayBuffer'} memory)`, () => {
      const m = new HostMemory(16, wasm ? {} : { wasm: false });
      const mfns: number[] = [];
      for (let i = 0; i < 15; i++) {
        const mfn = m.alloc(1, PAGE_RAM);
        expect(m.page(mfn).every((b) => b === 0)).toBe(true);
        m.page(mfn).fill(0xa5);
        mfns.push(mfn);
      }
      expect(m.alloc(1, PAGE_RAM)).toBe(-1);
      for (const mfn of mfns) m.free(mfn);
      for (let i = 0; i < 15; i++) {
        const mfn = m.alloc(2, PAGE_RAM);
        expect(mfns).toContain(mfn);
        expect(m.page(mfn).every((b) => b === 0)).toBe(true);
      }
    });
  }
});
