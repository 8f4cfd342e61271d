import { describe, expect, it } from 'vitest';
import { SKB_LINEAR_CAPACITY, SkbPool } from '../../src/net/skb';

/** A head allocator over one big buffer: 4 KiB apart, like pages; `n` heads at most. */
function pages(n: number): { alloc: () => Uint8Array | null; buf: ArrayBuffer; given: number } {
  const buf = new ArrayBuffer(n * 4096);
  const st = { buf, given: 0, alloc: (): Uint8Array | null => (st.given < n ? new Uint8Array(buf, 4096 * st.given++, SKB_LINEAR_CAPACITY) : null) };
  return st;
}

describe('SkbPool.withHeads (skb heads from a head allocator)', () => {
  it('gives new skbs heads from the allocator, plain heads once it returns null, and keeps ids in one sequence with the parent', () => {
    const parent = new SkbPool();
    const h = pages(2);
    const child = parent.withHeads(h.alloc);
    const a = parent.alloc();
    const b = child.alloc();
    const c = child.alloc();
    const d = child.alloc();
    expect([a.id, b.id, c.id, d.id]).toEqual([1, 2, 3, 4]);
    expect(a.pinned).toBe(false);
    expect(b.head.buffer).toBe(h.buf);
    expect(b.head.byteOffset).toBe(0);
    expect(c.head.byteOffset).toBe(4096);
    expect(b.pinned && c.pinned).toBe(true);
    expect(d.pinned).toBe(false);
    expect(d.head.buffer).not.toBe(h.buf);
    expect(d.head.length).toBe(SKB_LINEAR_CAPACITY);
  });

  it('put() beyond the head moves to a plain buffer and the pinned head comes back when the skb is reused', () => {
    const h = pages(1);
    const pool = new SkbPool().withHeads(h.alloc);
    const skb = pool.alloc();
    const pinned = skb.head;
    skb.linear(); // nothing yet
    const at = skb.put(1500);
    skb.head[at] = 0xab;
    expect(skb.head).toBe(pinned);
    skb.put(3000); // 64 + 4500 > 2048: grows
    expect(skb.head).not.toBe(pinned);
    expect(skb.head.buffer).not.toBe(h.buf);
    expect(skb.head[at]).toBe(0xab); // the bytes moved along
    pool.free(skb);
    const again = pool.alloc();
    expect(again).toBe(skb);
    expect(again.head).toBe(pinned);
    expect(again.len).toBe(0);
  });

  it('an skb goes back to the pool it came from whichever pool frees it (outstanding counts per pool)', () => {
    const parent = new SkbPool();
    const child = parent.withHeads(pages(4).alloc);
    const skb = child.alloc();
    expect(child.outstanding).toBe(1);
    parent.free(skb);
    expect(child.outstanding).toBe(0);
    expect(parent.outstanding).toBe(0);
    expect(parent.alloc()).not.toBe(skb); // the parent never hands out the child's pinned skb
    expect(child.alloc()).toBe(skb);
    expect(() => { child.free(skb); child.free(skb); }).toThrow(/double free/);
  });

  it('rejects heads smaller than SKB_LINEAR_CAPACITY and allocators that are not functions', () => {
    const pool = new SkbPool().withHeads(() => new Uint8Array(100));
    expect(() => pool.alloc()).toThrow(/head of 100 bytes is not allowed/);
    expect(() => new SkbPool().withHeads(42 as unknown as () => Uint8Array)).toThrow(/withHeads: heads 42 is not allowed/);
  });
});

describe('SkbPool.setHeads / newHead (a pool given host memory before its first skb)', () => {
  it('hands heads to skbs and drivers from the same allocator, records their memory, and refuses a late allocator', () => {
    const h = pages(3);
    const pool = new SkbPool();
    expect(pool.newHead()).toBe(null);
    pool.setHeads(h.alloc);
    expect(pool.headBuffer).toBe(null);
    const ring = pool.newHead()!;
    expect(ring.buffer).toBe(h.buf);
    expect(pool.headBuffer).toBe(h.buf);
    expect(pool.alloc().head.byteOffset).toBe(4096);
    expect(pool.newHead()!.byteOffset).toBe(8192);
    expect(pool.newHead()).toBe(null);
    expect(pool.allocated).toBe(1);
    expect(() => pool.setHeads(h.alloc)).toThrow(/already has a head allocator/);
    const used = new SkbPool();
    used.alloc();
    expect(() => used.setHeads(h.alloc)).toThrow(/already has 1 skbs/);
  });
});
