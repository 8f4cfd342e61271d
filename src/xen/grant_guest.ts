/**
 * Grant tables, guest side: how a Linux guest grants its pages to other domains by writing
 * entries in its own grant table, and takes them back.
 *
 * Modeled on torvalds/linux drivers/xen/grant-table.c (v1 entry ops, the free list of refs,
 * private ref pools, deferred revocation) and include/xen/grant_table.h. Refs 0..7 are reserved
 * (GNTTAB_NR_RESERVED_ENTRIES); the free list starts at ref 8 and is LIFO, as Linux's
 * gnttab_list is; when it runs dry the table is grown a frame at a time with
 * GNTTABOP_setup_table up to the hypervisor's max_grant_frames.
 *
 * Granting writes domid and frame, then (after a write barrier in C) flags, which is what makes
 * the grant live. Revoking fails while Xen has the entry pinned (GTF_reading/GTF_writing).
 *
 * Differences: guest-side writes cost no virtual time; the deferred-revocation list is retried
 * every second of virtual time (Linux: a timer every HZ); the transfer end does not spin (the
 * single-threaded hypervisor completes a committed transfer in the same step).
 */
import {
  DOMID_SELF, GNTST_okay, GNTTAB_NR_RESERVED_ENTRIES, GTF_accept_transfer, GTF_permit_access, GTF_reading,
  GTF_readonly, GTF_transfer_committed, GTF_writing,
} from '../io/xen-constants';
import { ENOSPC, GRANT_ENTRIES_PER_FRAME_V1 } from './constants';
import type { Domain } from './domain';
import type { Hypervisor } from './hypervisor';

const LIST_END = -1;

/** A private pool of refs (Linux's grant_ref_t head from gnttab_alloc_grant_references). */
export interface GrantRefPool {
  refs: number[];
}

/** The decoded fields of one grant_entry_v1. */
export interface GrantEntryV1 {
  flags: number;
  domid: number;
  frame: number;
}

export class GuestGrantTable {
  /** Next-free links (Linux gnttab_list); LIST_END terminates. */
  private readonly next: Int32Array;
  private freeHead = LIST_END;
  /** gnttab_last_free: the tail of the free list (meaningful while freeCount > 0). */
  private lastFree = LIST_END;
  /** Free refs on the list (gnttab_free_count). */
  freeCount = 0;
  /** Refs whose revocation is deferred until Xen drops its pins. */
  private deferred: number[] = [];
  private deferredTimerArmed = false;
  /** Revocations that had to be deferred, and those that later succeeded. */
  deferredCount = 0;
  deferredFreed = 0;
  private readonly hDeferred: number;

  constructor(private readonly hv: Hypervisor, private readonly dom: Domain) {
    this.next = new Int32Array(dom.maxGrantFrames * GRANT_ENTRIES_PER_FRAME_V1).fill(LIST_END);
    this.hDeferred = hv.sim.register(`xen.d${dom.domid}.gnttab_deferred`, () => this.gnttab_handle_deferred());
    // gnttab_init(): entries of the initial frame(s) past the reserved ones, ascending.
    const n = dom.nrGrantEntries;
    for (let i = GNTTAB_NR_RESERVED_ENTRIES; i < n - 1; i++) this.next[i] = i + 1;
    this.next[n - 1] = LIST_END;
    this.freeHead = GNTTAB_NR_RESERVED_ENTRIES;
    this.lastFree = n - 1;
    this.freeCount = n - GNTTAB_NR_RESERVED_ENTRIES;
  }

  // ---- the free list -----------------------------------------------------------------------

  /**
   * Grows the table by enough frames for `more` refs (one GNTTABOP_setup_table call); the new
   * refs go to the tail of the free list, in order (gnttab_set_free, since Linux 6.0's
   * "xen/grants: support allocating consecutive grants"; older kernels put them at the head).
   * @models torvalds/linux drivers/xen/grant-table.c gnttab_expand() grow_gnttab_list() gnttab_set_free()
   */
  private gnttab_expand(more: number): boolean {
    const cur = this.dom.nrGrantFrames;
    const extra = Math.ceil(more / GRANT_ENTRIES_PER_FRAME_V1);
    if (cur + extra > this.dom.maxGrantFrames) return false;
    const op = { dom: DOMID_SELF, nr_frames: cur + extra, status: 0, frame_list: [] as number[] };
    this.hv.gnttab_setup_table(this.dom.domid, op);
    if (op.status !== GNTST_okay) return false;
    const first = cur * GRANT_ENTRIES_PER_FRAME_V1;
    const last = (cur + extra) * GRANT_ENTRIES_PER_FRAME_V1 - 1;
    for (let i = first; i < last; i++) this.next[i] = i + 1;
    this.next[last] = LIST_END;
    if (this.freeCount === 0) this.freeHead = first;
    else this.next[this.lastFree] = first;
    this.lastFree = last;
    this.freeCount += last - first + 1;
    return true;
  }

  /** @models torvalds/linux drivers/xen/grant-table.c get_free_entries() */
  private get_free_entry(): number {
    if (this.freeCount < 1 && !this.gnttab_expand(1)) return -ENOSPC;
    const ref = this.freeHead;
    this.freeHead = this.next[ref]!;
    this.next[ref] = LIST_END;
    this.freeCount--;
    return ref;
  }

  /** @models torvalds/linux drivers/xen/grant-table.c put_free_entry() */
  private put_free_entry(ref: number): void {
    if (this.freeCount === 0) this.lastFree = ref;
    this.next[ref] = this.freeHead;
    this.freeHead = ref;
    this.freeCount++;
  }

  // ---- entries -----------------------------------------------------------------------------

  private checkRef(ref: number, what: string): number {
    if (!(ref >>> 0 === ref && ref < this.dom.nrGrantEntries)) {
      throw new RangeError(`${what}: grant ref ${ref} is out of range; d${this.dom.domid}'s table has refs 0..${this.dom.nrGrantEntries - 1}`);
    }
    return this.dom.grantEntryAddr(ref);
  }

  /** Reads entry `ref` of this domain's table. */
  entry(ref: number): GrantEntryV1 {
    const a = this.checkRef(ref, 'entry');
    const m = this.hv.mem;
    return { flags: m.u16[a >>> 1]!, domid: m.u16[(a >>> 1) + 1]!, frame: m.u32[(a >>> 2) + 1]! };
  }

  /** flags of entry `ref`. */
  flags(ref: number): number {
    return this.hv.mem.u16[this.checkRef(ref, 'flags') >>> 1]!;
  }

  /**
   * Writes an entry: domid and frame first, then flags (wmb() between them in C).
   * @models torvalds/linux drivers/xen/grant-table.c gnttab_update_entry_v1()
   */
  private update_entry(ref: number, domid: number, frame: number, flags: number): void {
    const a = this.checkRef(ref, 'gnttab_update_entry_v1');
    if (!(domid >>> 0 === domid && domid <= 0xffff)) throw new RangeError(`gnttab: domid ${domid} is not allowed; use 0..65535`);
    if (!(frame >>> 0 === frame)) throw new RangeError(`gnttab: frame ${frame} is not allowed; use a u32 frame number`);
    const m = this.hv.mem;
    m.u16[(a >>> 1) + 1] = domid;
    m.u32[(a >>> 2) + 1] = frame;
    m.u16[a >>> 1] = flags;
  }

  /**
   * Grants `domid` access to `frame` on a ref the caller already owns.
   * @models torvalds/linux drivers/xen/grant-table.c gnttab_grant_foreign_access_ref()
   */
  gnttab_grant_foreign_access_ref(ref: number, domid: number, frame: number, readonly: boolean): void {
    this.update_entry(ref, domid, frame, GTF_permit_access | (readonly ? GTF_readonly : 0));
  }

  /**
   * Takes a free ref and grants `domid` access to machine frame `frame` (read-only or writable).
   * Returns the ref, or -ENOSPC when the table cannot grow.
   * @models torvalds/linux drivers/xen/grant-table.c gnttab_grant_foreign_access()
   */
  gnttab_grant_foreign_access(domid: number, frame: number, readonly: boolean): number {
    const ref = this.get_free_entry();
    if (ref < 0) return ref;
    this.gnttab_grant_foreign_access_ref(ref, domid, frame, readonly);
    return ref;
  }

  /**
   * True while Xen has the entry pinned by a map or a copy.
   * @models torvalds/linux drivers/xen/grant-table.c gnttab_query_foreign_access()
   */
  gnttab_query_foreign_access(ref: number): boolean {
    return (this.flags(ref) & (GTF_reading | GTF_writing)) !== 0;
  }

  /**
   * Revokes a grant: fails (returns false) while GTF_reading or GTF_writing is set; otherwise
   * zeroes the flags and returns true. The ref stays the caller's.
   * @models torvalds/linux drivers/xen/grant-table.c gnttab_end_foreign_access_ref() (v1)
   */
  gnttab_end_foreign_access_ref(ref: number): boolean {
    const a = this.checkRef(ref, 'gnttab_end_foreign_access_ref') >>> 1;
    const u16 = this.hv.mem.u16;
    if (u16[a]! & (GTF_reading | GTF_writing)) return false;
    u16[a] = 0;
    return true;
  }

  /**
   * Revokes a grant and frees its ref; if the entry is still in use the revocation is deferred and
   * retried every second until it succeeds (Linux warns "leaking g.e. and page still in use!").
   * @models torvalds/linux drivers/xen/grant-table.c gnttab_end_foreign_access()
   */
  gnttab_end_foreign_access(ref: number): void {
    if (this.gnttab_end_foreign_access_ref(ref)) {
      this.put_free_entry(ref);
      return;
    }
    this.deferred.push(ref);
    this.deferredCount++;
    if (!this.deferredTimerArmed) {
      this.deferredTimerArmed = true;
      this.hv.sim.after(1_000_000_000, this.hDeferred);
    }
  }

  /** Refs whose revocation is still pending. */
  get deferredRefs(): readonly number[] {
    return this.deferred;
  }

  /**
   * The deferred-revocation timer: at most 10 entries per run, from the head of the list; one
   * still in use goes back to the tail, and the run stops when it comes round to the first such.
   * @models torvalds/linux drivers/xen/grant-table.c gnttab_handle_deferred()
   */
  private gnttab_handle_deferred(): void {
    this.deferredTimerArmed = false;
    const list = this.deferred;
    let first = -1;
    for (let nr = 10; nr > 0 && list.length > 0; nr--) {
      const ref = list[0]!;
      if (ref === first) break;
      list.shift();
      if (this.gnttab_end_foreign_access_ref(ref)) {
        this.put_free_entry(ref);
        this.deferredFreed++;
      } else {
        if (first < 0) first = ref;
        list.push(ref);
      }
    }
    const still = list;
    if (still.length > 0) {
      this.deferredTimerArmed = true;
      this.hv.sim.after(1_000_000_000, this.hDeferred);
    }
  }

  /** Returns a ref to the free list (the entry must already be revoked). */
  gnttab_free_grant_reference(ref: number): void {
    this.checkRef(ref, 'gnttab_free_grant_reference');
    if (ref < GNTTAB_NR_RESERVED_ENTRIES) throw new RangeError(`gnttab_free_grant_reference: ref ${ref} is reserved (0..7); only refs from the free list may be freed`);
    this.put_free_entry(ref);
  }

  /**
   * Takes `count` refs into a private pool (netfront reserves one per ring slot this way).
   * Returns the pool, or -ENOSPC.
   * @models torvalds/linux drivers/xen/grant-table.c gnttab_alloc_grant_references()
   */
  gnttab_alloc_grant_references(count: number): GrantRefPool | number {
    if (!(Number.isInteger(count) && count >= 1)) throw new RangeError(`gnttab_alloc_grant_references: count ${count} is not allowed; use an integer >= 1`);
    if (this.freeCount < count && !this.gnttab_expand(count - this.freeCount)) return -ENOSPC;
    const refs: number[] = [];
    for (let i = 0; i < count; i++) refs.push(this.get_free_entry());
    return { refs: refs.reverse() };
  }

  /** @models torvalds/linux drivers/xen/grant-table.c gnttab_claim_grant_reference() */
  gnttab_claim_grant_reference(pool: GrantRefPool): number {
    const r = pool.refs.pop();
    return r === undefined ? -ENOSPC : r;
  }

  /** @models torvalds/linux drivers/xen/grant-table.c gnttab_release_grant_reference() */
  gnttab_release_grant_reference(pool: GrantRefPool, ref: number): void {
    this.checkRef(ref, 'gnttab_release_grant_reference');
    pool.refs.push(ref);
  }

  /** @models torvalds/linux drivers/xen/grant-table.c gnttab_free_grant_references() */
  gnttab_free_grant_references(pool: GrantRefPool): void {
    while (pool.refs.length > 0) this.put_free_entry(pool.refs.pop()!);
  }

  // ---- transfers (page flipping) --------------------------------------------------------------

  /**
   * Lets `domid` transfer a page into pfn `pfn` of this domain through `ref`.
   * @models torvalds/linux drivers/xen/grant-table.c gnttab_grant_foreign_transfer_ref()
   */
  gnttab_grant_foreign_transfer_ref(ref: number, domid: number, pfn: number): void {
    this.update_entry(ref, domid, pfn, GTF_accept_transfer);
  }

  /** Takes a free ref and sets it up to accept a transfer; returns the ref or -ENOSPC. */
  gnttab_grant_foreign_transfer(domid: number, pfn: number): number {
    const ref = this.get_free_entry();
    if (ref < 0) return ref;
    this.gnttab_grant_foreign_transfer_ref(ref, domid, pfn);
    return ref;
  }

  /**
   * Ends an accept-transfer grant: if no transfer was committed, the entry is cleared and 0 is
   * returned; otherwise the new machine frame written by Xen is returned (the entry is left as
   * Xen wrote it, as Linux does).
   * @models torvalds/linux drivers/xen/grant-table.c gnttab_end_foreign_transfer_ref()
   */
  gnttab_end_foreign_transfer_ref(ref: number): number {
    const a = this.checkRef(ref, 'gnttab_end_foreign_transfer_ref');
    const m = this.hv.mem;
    const flags = m.u16[a >>> 1]!;
    if (!(flags & GTF_transfer_committed)) {
      m.u16[a >>> 1] = 0;
      return 0;
    }
    // Committed: Xen completes in the same step here (Linux spins for GTF_transfer_completed, rmb()).
    return m.u32[(a >>> 2) + 1]!;
  }

  /** gnttab_end_foreign_transfer_ref() and free the ref. */
  gnttab_end_foreign_transfer(ref: number): number {
    const frame = this.gnttab_end_foreign_transfer_ref(ref);
    this.put_free_entry(ref);
    return frame;
  }
}
