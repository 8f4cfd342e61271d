/**
 * Guest page pools for netfront's data buffers.
 *
 * Linux netfront receives into pages from a per-queue `page_pool` and transmits straight from the
 * skb's own pages. So does this model when the guest's skb heads are guest pages (the host builder
 * arranges that). netfront keeps a second pool for transmit as the fallback: a tx slot whose bytes
 * are not in a guest frame (a plain buffer: a grown head, a stack without guest heads) is copied
 * into a pool page at the same in-page offset, and that page is what the grant names — the
 * backend's grant copy or map then reads real bytes of guest memory. Think of the pool page as the
 * skb's data page; the copy itself is a modeling device and is not charged to the guest CPU. A
 * bounced skb (untrusted backend) always goes through a zeroed pool page.
 *
 * Pages are guest pfns taken from the guest's allocator once, at queue creation; the pool is a
 * stack of pfns (no allocation per packet).
 */
import type { NetfrontXen } from './xen-port';

export class GuestPagePool {
  private readonly stack: Int32Array;
  private top = 0;
  /** pfn -> 1 when the pfn belongs to this pool (sized by the largest pfn). */
  private readonly member: Uint8Array;
  readonly size: number;

  constructor(readonly name: string, pfns: readonly number[]) {
    this.size = pfns.length;
    this.stack = new Int32Array(pfns.length);
    let max = 0;
    for (const p of pfns) if (p > max) max = p;
    this.member = new Uint8Array(max + 1);
    // Lowest pfn on top, so the first buffers used are the lowest pages (deterministic, readable).
    for (let i = pfns.length - 1; i >= 0; i--) {
      this.stack[this.top++] = pfns[i]!;
      this.member[pfns[i]!] = 1;
    }
  }

  static allocate(name: string, xen: NetfrontXen, n: number): GuestPagePool {
    return new GuestPagePool(name, xen.allocPages(n));
  }

  /** Pages currently free in the pool. */
  get free(): number {
    return this.top;
  }

  /** Pages handed out and not yet returned. */
  get outstanding(): number {
    return this.size - this.top;
  }

  /** True when `pfn` is one of this pool's pages. */
  owns(pfn: number): boolean {
    return pfn >= 0 && pfn < this.member.length && this.member[pfn] === 1;
  }

  /** A free pfn, or -1 when the pool is empty (page_pool_alloc_pages returning NULL). */
  pop(): number {
    return this.top === 0 ? -1 : this.stack[--this.top]!;
  }

  /** Returns a page to the pool. */
  push(pfn: number): void {
    if (!this.owns(pfn)) throw new Error(`GuestPagePool ${this.name}: pfn ${pfn} does not belong to this pool`);
    if (this.top >= this.size) throw new Error(`GuestPagePool ${this.name}: pfn ${pfn} returned twice (pool already full)`);
    this.stack[this.top++] = pfn;
  }
}
