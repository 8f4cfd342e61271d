/**
 * Machine memory of one simulated host: every 4 KiB machine frame (MFN) is a slice of ONE
 * preallocated buffer, so a page is real bytes that any domain holding a grant or a mapping
 * reads and writes in place, and a copy is a memmove inside that buffer (`copy`).
 *
 * The buffer is a WebAssembly.Memory where the runtime has one (see ../wire/csum-simd): a copy
 * between frames is then one `memory.copy`, and checksums read frames in place. Where it has
 * not, it is an ordinary ArrayBuffer and `copy` is `copyWithin`; the bytes are the same.
 *
 *   buffer:  | mfn 0 (Xen) | mfn 1 | mfn 2 | ... | mfn N-1 |      each 4096 bytes
 *   owner[]: DOMID_XEN      domid   domid         FREE
 *   m2p[]:   machine -> guest pseudo-physical frame (INVALID_MFN when not guest RAM)
 *
 * Per-frame bookkeeping is struct-of-arrays (owner, kind, m2p, foreign-mapping references) and a
 * page view (`Uint8Array` over the frame) is made once, on first use, then reused.
 *
 * Modeled on Xen's frame table (struct page_info: owner, count_info, type_info) and its M2P table.
 * Differences: no page types or type counts beyond what grant mapping/transfer need; a frame's
 * references from foreign mappings are one counter (`mapRefs`); frames are allocated lowest-first
 * from a free list so runs are deterministic. Frame 0 is kept by Xen so that a zero frame number
 * in a grant entry never names guest memory.
 */
import { DOMID_XEN, XEN_PAGE_SHIFT, XEN_PAGE_SIZE } from '../io/xen-constants';
import { wasmMachineMemory } from '../wire/csum-simd';
import { INVALID_MFN } from './constants';
import { tagView } from '../wire/views';

/** Owner value of a frame nobody owns. */
export const OWNER_FREE = -1;

/** What a frame is used for. */
export const PAGE_FREE = 0;
/** Guest RAM: in a domain's p2m, can be granted, mapped, copied, transferred. */
export const PAGE_RAM = 1;
/** A Xen-heap page shared with a guest (grant-table frame, shared_info): never transferable. */
export const PAGE_XEN_SHARED = 2;
/** Xen's own frame. */
export const PAGE_XEN = 3;

export const PAGE_KIND_NAMES: readonly string[] = ['free', 'ram', 'xen-shared', 'xen'];

export class HostMemory {
  readonly nrPages: number;
  readonly buffer: ArrayBuffer;
  /** All of machine memory as bytes; frame `mfn` starts at `mfn << 12`. */
  readonly bytes: Uint8Array;
  /** The same memory as little-endian u16 / u32 words (hosts running this model are little-endian). */
  readonly u16: Uint16Array;
  readonly u32: Uint32Array;
  /** Owning domid per frame, or OWNER_FREE. */
  readonly owner: Int32Array;
  /** PAGE_* kind per frame. */
  readonly kind: Uint8Array;
  /** Machine-to-physical: the owner's pfn for guest RAM, INVALID_MFN otherwise. */
  readonly m2p: Uint32Array;
  /** References held by foreign grant mappings (a frame with any cannot be transferred). */
  readonly mapRefs: Uint16Array;
  /** 1 for a frame that has been allocated before (its bytes may not be zero any more). */
  private readonly used: Uint8Array;
  /**
   * memmove of `len` bytes from machine address `src` to `dst` (both within this memory; the
   * caller checks the bounds).
   */
  readonly copy: (dst: number, src: number, len: number) => void;
  /** True when the bytes live in a WebAssembly.Memory (copy and checksums run in wasm). */
  readonly inWasm: boolean;
  private readonly views: (Uint8Array | undefined)[];
  private readonly freeStack: Int32Array;
  private freeTop = 0;

  /** `opts.wasm: false` keeps the bytes in an ordinary ArrayBuffer even where wasm is available. */
  constructor(nrPages: number, opts: { wasm?: boolean } = {}) {
    if (!Number.isInteger(nrPages) || nrPages < 2 || nrPages > 1 << 20) {
      throw new RangeError(`HostMemory: nrPages ${nrPages} is not allowed; use an integer in [2, ${1 << 20}]`);
    }
    if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
      throw new Error('HostMemory: this model needs a little-endian host (x86, Arm), as Xen guests on x86/Arm are');
    }
    this.nrPages = nrPages;
    const size = nrPages * XEN_PAGE_SIZE;
    const wasm = opts.wasm === false ? null : wasmMachineMemory(size);
    this.buffer = wasm !== null ? wasm.buffer : new ArrayBuffer(size);
    this.inWasm = wasm !== null;
    this.bytes = tagView(new Uint8Array(this.buffer, 0, size));
    this.u16 = new Uint16Array(this.buffer, 0, size >>> 1);
    this.u32 = new Uint32Array(this.buffer, 0, size >>> 2);
    const bytes = this.bytes;
    this.copy = wasm !== null ? wasm.copy : (dst, src, len) => { bytes.copyWithin(dst, src, src + len); };
    this.owner = new Int32Array(nrPages).fill(OWNER_FREE);
    this.kind = new Uint8Array(nrPages);
    this.m2p = new Uint32Array(nrPages).fill(INVALID_MFN);
    this.mapRefs = new Uint16Array(nrPages);
    this.used = new Uint8Array(nrPages);
    this.views = new Array(nrPages);
    // Free stack with the lowest frame on top, so allocation is lowest-first.
    this.freeStack = new Int32Array(nrPages);
    for (let mfn = nrPages - 1; mfn >= 1; mfn--) this.freeStack[this.freeTop++] = mfn;
    this.owner[0] = DOMID_XEN;
    this.kind[0] = PAGE_XEN;
  }

  /** Frames not allocated to anyone. */
  get freePages(): number {
    return this.freeTop;
  }

  /** True when `mfn` is a frame number of this host (mfn_valid). */
  valid(mfn: number): boolean {
    return mfn >>> 0 === mfn && mfn < this.nrPages;
  }

  /**
   * Allocates one zeroed frame to `owner` as `kind`; returns the MFN, or -1 when the host is out
   * of memory (alloc_domheap_page returning NULL).
   */
  alloc(owner: number, kind: number): number {
    if (this.freeTop === 0) return -1;
    const mfn = this.freeStack[--this.freeTop]!;
    this.owner[mfn] = owner;
    this.kind[mfn] = kind;
    this.m2p[mfn] = INVALID_MFN;
    // A new host's memory is zero already: only a frame that had an owner before is scrubbed.
    if (this.used[mfn] !== 0) this.bytes.fill(0, mfn << XEN_PAGE_SHIFT, (mfn + 1) << XEN_PAGE_SHIFT);
    this.used[mfn] = 1;
    return mfn;
  }

  /** Returns a frame to the free pool (free_domheap_page). */
  free(mfn: number): void {
    this.checkMfn(mfn, 'free');
    if (this.owner[mfn] === OWNER_FREE) throw new Error(`HostMemory.free: mfn ${mfn} is already free`);
    if (mfn === 0) throw new Error('HostMemory.free: mfn 0 belongs to Xen and cannot be freed');
    this.owner[mfn] = OWNER_FREE;
    this.kind[mfn] = PAGE_FREE;
    this.m2p[mfn] = INVALID_MFN;
    this.mapRefs[mfn] = 0;
    this.freeStack[this.freeTop++] = mfn;
  }

  /** The 4096 bytes of frame `mfn` (a view made once and reused). */
  page(mfn: number): Uint8Array {
    this.checkMfn(mfn, 'page');
    let v = this.views[mfn];
    if (v === undefined) {
      v = tagView(this.bytes.subarray(mfn << XEN_PAGE_SHIFT, (mfn + 1) << XEN_PAGE_SHIFT));
      this.views[mfn] = v;
    }
    return v;
  }

  private checkMfn(mfn: number, what: string): void {
    if (!this.valid(mfn)) {
      throw new RangeError(`HostMemory.${what}: mfn ${mfn} is out of range; this host has frames 0..${this.nrPages - 1}`);
    }
  }
}
