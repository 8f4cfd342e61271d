import { describe, expect, it } from 'vitest';
import { bufferOf, byteOffsetOf, taggedBytes, tagView } from '../../src/wire/views';
import { buildXenHost } from '../../src/topo';

describe('views that remember their buffer and offset', () => {
  it('answer exactly as the getters do, tagged or not', () => {
    const ab = new ArrayBuffer(65536);
    const plain = new Uint8Array(ab, 4096, 4096);
    const tagged = tagView(new Uint8Array(ab, 8192, 100));
    for (const v of [plain, tagged, taggedBytes(64), new Uint8Array(10).subarray(3)]) {
      expect(bufferOf(v)).toBe(v.buffer);
      expect(byteOffsetOf(v)).toBe(v.byteOffset);
    }
    expect((tagged as unknown as { xmOff: number }).xmOff).toBe(8192);
    // The tag is invisible to printing and comparing: only the bytes show.
    expect(Object.keys(tagView(new Uint8Array([1, 2, 3])))).toEqual(['0', '1', '2']);
    expect(tagView(new Uint8Array([1, 2, 3]))).toEqual(new Uint8Array([1, 2, 3]));
  });

  it('the host tags its long-lived views: machine frames, skb heads, NIC and wire buffers', () => {
    const host = buildXenHost({ seed: 1 });
    const tagged = (v: Uint8Array): boolean => (v as unknown as { xmOff?: number }).xmOff === v.byteOffset && (v as unknown as { xmBuf?: ArrayBufferLike }).xmBuf === v.buffer;
    expect(tagged(host.hv.mem.bytes)).toBe(true);
    expect(tagged(host.hv.mem.page(100))).toBe(true);
    const g = host.guests[0]!;
    const gskb = g.stack.pool.alloc();
    expect(tagged(gskb.head)).toBe(true);
    expect(bufferOf(gskb.head)).toBe(host.hv.mem.buffer); // a guest page
    const dskb = host.dom0.pool.alloc();
    expect(tagged(dskb.head)).toBe(true);
    const spare = (host.wire as unknown as { dirs: { bufs: Uint8Array[] }[] }).dirs[0]!.bufs[0]!;
    expect(tagged(spare)).toBe(true);
  });
});
