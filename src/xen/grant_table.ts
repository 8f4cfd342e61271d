/**
 * Grant tables v1, hypervisor side: GNTTABOP_map_grant_ref, unmap_grant_ref, copy, transfer,
 * setup_table and query_size, with the checks, in the order, and with the GNTST_* codes of
 * xen-project/xen xen/common/grant_table.c.
 *
 * The granting domain's entries are real bytes in its grant frames (machine memory):
 *
 *    grant_entry_v1, 8 bytes, 512 per frame, little-endian
 *    0        2        4                 8
 *   +--------+--------+-----------------+
 *   | flags  | domid  | frame (MFN, PV) |
 *   +--------+--------+-----------------+
 *   flags: type (bits 0-1: permit_access 1 / accept_transfer 2), readonly 4 [guest],
 *          reading 8, writing 16 [Xen] (transfer: committed 4, completed 8)
 *
 * Xen shadows each pinned entry in an active entry (pin counts: host-write bits 0-7, host-read
 * 8-15, device-write 16-23, device-read 24-31; the pinning domid; the frame). GTF_reading is set
 * while any pin exists and GTF_writing while a writable pin exists; both are cleared only when the
 * last such pin goes (the XSA-230 rule).
 *
 * Every hypercall takes an array of ops, writes a `status` into each and never throws on guest
 * errors; it returns 0 or a negative errno for the call as a whole (as Xen does). Its CPU cost is
 * charged to the calling domain (`Domain.cpuNs`) and left in `Hypervisor.lastCostNs`.
 *
 * Differences from Xen: PV guests only (frames are MFNs; no paging, sharing or IOMMU, so
 * GNTST_eagain and GNTST_address_too_big never occur); no XSM (privilege = dom0); grant v2,
 * transitive and sub-page grants are not modeled; `host_addr` is an opaque non-zero cookie that
 * unmap must repeat (Xen checks the PTE at that address maps the frame); no hypercall preemption.
 */
import {
  DOMID_SELF, GNTCOPY_dest_gref, GNTCOPY_source_gref, GNTMAP_device_map, GNTMAP_host_map, GNTMAP_readonly,
  GNTST_bad_copy_arg, GNTST_bad_domain, GNTST_bad_gntref, GNTST_bad_handle, GNTST_bad_page, GNTST_general_error,
  GNTST_no_device_space, GNTST_okay, GNTST_permission_denied, GTF_accept_transfer, GTF_permit_access, GTF_reading,
  GTF_readonly, GTF_sub_page, GTF_transfer_committed, GTF_transfer_completed, GTF_type_mask, GTF_writing,
  XEN_PAGE_SHIFT, XEN_PAGE_SIZE,
} from '../io/xen-constants';
import {
  GNTPIN_devr_inc, GNTPIN_devw_inc, GNTPIN_devw_mask, GNTPIN_hstr_inc, GNTPIN_hstw_inc, GNTPIN_hstw_mask,
  GNTPIN_overflow_mask, INITIAL_NR_GRANT_FRAMES, INVALID_MFN, MAPTRACK_PER_PAGE, EOPNOTSUPP,
} from './constants';
import type { Domain } from './domain';
import type { Hypervisor } from './hypervisor';
import { OWNER_FREE, PAGE_RAM, PAGE_XEN_SHARED } from './memory';

// ---------------------------------------------------------------------------------------------
// Op structs (field names as in xen/include/public/grant_table.h)

/** struct gnttab_map_grant_ref: IN host_addr, flags, ref, dom; OUT status, handle, dev_bus_addr. */
export interface GnttabMapGrantRef {
  host_addr: number;
  flags: number;
  ref: number;
  dom: number;
  status: number;
  handle: number;
  dev_bus_addr: number;
}

/** struct gnttab_unmap_grant_ref: IN host_addr, dev_bus_addr, handle; OUT status. */
export interface GnttabUnmapGrantRef {
  host_addr: number;
  dev_bus_addr: number;
  handle: number;
  status: number;
}

/** struct gnttab_transfer: IN mfn (the caller's frame), domid, ref; OUT status. */
export interface GnttabTransfer {
  mfn: number;
  domid: number;
  ref: number;
  status: number;
}

/** struct gnttab_setup_table: IN dom, nr_frames; OUT status, frame_list. */
export interface GnttabSetupTable {
  dom: number;
  nr_frames: number;
  status: number;
  frame_list: number[];
}

/** struct gnttab_query_size: IN dom; OUT nr_frames, max_nr_frames, status. */
export interface GnttabQuerySize {
  dom: number;
  nr_frames: number;
  max_nr_frames: number;
  status: number;
}

/** One side of a copy: `u` is a grant ref (with the GNTCOPY_*_gref flag) or a frame. */
export interface GnttabCopyPtr {
  u: number;
  domid: number;
  offset: number;
}

/** struct gnttab_copy as a plain object. */
export interface GnttabCopy {
  source: GnttabCopyPtr;
  dest: GnttabCopyPtr;
  len: number;
  flags: number;
  status: number;
}

/**
 * Fills a map op the way Linux's gnttab_set_map_op() does.
 * @models torvalds/linux include/xen/grant_table.h gnttab_set_map_op()
 */
export function gnttab_set_map_op(host_addr: number, flags: number, ref: number, dom: number): GnttabMapGrantRef {
  return { host_addr, flags, ref, dom, status: GNTST_okay, handle: -1, dev_bus_addr: 0 };
}

/**
 * Fills an unmap op the way Linux's gnttab_set_unmap_op() does (dev_bus_addr 0 for a host-only map).
 * @models torvalds/linux include/xen/grant_table.h gnttab_set_unmap_op()
 */
export function gnttab_set_unmap_op(host_addr: number, handle: number, dev_bus_addr = 0): GnttabUnmapGrantRef {
  return { host_addr, dev_bus_addr, handle, status: GNTST_okay };
}

/**
 * An array of `struct gnttab_copy` laid out byte-exactly (40 bytes each), as netback keeps
 * `tx_copy_ops[]` / `rx.copy.op[]`, so a learner can hexdump the hypercall argument. Reused
 * batch after batch; filling it allocates nothing.
 *
 *    0        8      10      12   16       24     26      28  32   34     36     38  40
 *   +--------+------+-------+----+--------+------+-------+---+----+------+------+---+
 *   |src.u   |s.dom |s.off  |pad |dest.u  |d.dom |d.off  |pad|len |flags |status|pad|
 */
export class GnttabCopyBatch {
  static readonly SIZEOF = 40;
  readonly capacity: number;
  readonly bytes: Uint8Array;
  private readonly u16: Uint16Array;
  private readonly i16: Int16Array;
  private readonly u32: Uint32Array;
  /** Ops filled so far (the hypercall's `count` when passed without one). */
  count = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 65536) {
      throw new RangeError(`GnttabCopyBatch: capacity ${capacity} is not allowed; use an integer in [1, 65536]`);
    }
    this.capacity = capacity;
    const buf = new ArrayBuffer(capacity * GnttabCopyBatch.SIZEOF);
    this.bytes = new Uint8Array(buf);
    this.u16 = new Uint16Array(buf);
    this.i16 = new Int16Array(buf);
    this.u32 = new Uint32Array(buf);
  }

  /** Forgets all ops (count = 0); the bytes stay until overwritten. */
  reset(): void {
    this.count = 0;
  }

  /** Appends one op; returns its index. Throws when the batch is full. */
  push(flags: number, srcU: number, srcDomid: number, srcOffset: number,
    dstU: number, dstDomid: number, dstOffset: number, len: number): number {
    const i = this.count;
    if (i >= this.capacity) throw new RangeError(`GnttabCopyBatch.push: batch is full (capacity ${this.capacity}); reset() it or make a bigger one`);
    this.set(i, flags, srcU, srcDomid, srcOffset, dstU, dstDomid, dstOffset, len);
    this.count = i + 1;
    return i;
  }

  /** Writes op `i` (status is cleared to 0). */
  set(i: number, flags: number, srcU: number, srcDomid: number, srcOffset: number,
    dstU: number, dstDomid: number, dstOffset: number, len: number): void {
    this.check(i);
    const w = i * 10, h = i * 20;
    this.u32[w] = srcU >>> 0; this.u32[w + 1] = 0;
    this.u16[h + 4] = srcDomid; this.u16[h + 5] = srcOffset; this.u16[h + 6] = 0; this.u16[h + 7] = 0;
    this.u32[w + 4] = dstU >>> 0; this.u32[w + 5] = 0;
    this.u16[h + 12] = dstDomid; this.u16[h + 13] = dstOffset; this.u16[h + 14] = 0; this.u16[h + 15] = 0;
    this.u16[h + 16] = len; this.u16[h + 17] = flags; this.u16[h + 18] = 0; this.u16[h + 19] = 0;
  }

  srcU(i: number): number { return this.u32[i * 10]!; }
  srcDomid(i: number): number { return this.u16[i * 20 + 4]!; }
  srcOffset(i: number): number { return this.u16[i * 20 + 5]!; }
  dstU(i: number): number { return this.u32[i * 10 + 4]!; }
  dstDomid(i: number): number { return this.u16[i * 20 + 12]!; }
  dstOffset(i: number): number { return this.u16[i * 20 + 13]!; }
  len(i: number): number { return this.u16[i * 20 + 16]!; }
  flags(i: number): number { return this.u16[i * 20 + 17]!; }
  /** The op's GNTST_* status (int16 at offset 36). */
  status(i: number): number { return this.i16[i * 20 + 18]!; }
  /** @internal */
  setStatus(i: number, st: number): void { this.i16[i * 20 + 18] = st; }

  /** Op `i` as a plain object (for tables and tests). */
  get(i: number): GnttabCopy {
    this.check(i);
    return {
      source: { u: this.srcU(i), domid: this.srcDomid(i), offset: this.srcOffset(i) },
      dest: { u: this.dstU(i), domid: this.dstDomid(i), offset: this.dstOffset(i) },
      len: this.len(i), flags: this.flags(i), status: this.status(i),
    };
  }

  private check(i: number): void {
    if (!(i >>> 0 === i && i < this.capacity)) {
      throw new RangeError(`GnttabCopyBatch: op index ${i} is out of range; this batch holds ops 0..${this.capacity - 1}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------

const UNMAP_BATCH = 32; // GNTTAB_UNMAP_BATCH_SIZE

export interface GnttabCounters {
  map_hypercalls: number; map_ops: number; map_errors: number;
  unmap_hypercalls: number; unmap_ops: number; unmap_errors: number; tlb_flushes: number;
  copy_hypercalls: number; copy_ops: number; copy_errors: number; copy_bytes: number;
  transfer_hypercalls: number; transfer_ops: number; transfer_errors: number;
  setup_table_calls: number;
}

/**
 * The hypervisor's grant-table code. One per Hypervisor (reached through its `gnttab_*` methods).
 */
export class GrantTableOps {
  readonly counters: GnttabCounters = {
    map_hypercalls: 0, map_ops: 0, map_errors: 0,
    unmap_hypercalls: 0, unmap_ops: 0, unmap_errors: 0, tlb_flushes: 0,
    copy_hypercalls: 0, copy_ops: 0, copy_errors: 0, copy_bytes: 0,
    transfer_hypercalls: 0, transfer_ops: 0, transfer_errors: 0,
    setup_table_calls: 0,
  };
  // Xen's struct gnttab_copy_buf of the batch in progress, flattened into fields (the copy path
  // runs once per packet): the source side (s*, always read-only) and the destination (d*,
  // writable). ptrDomid is ptr.domid as the guest gave it (DOMID_SELF stays DOMID_SELF), or -1
  // when no domain is locked; u is the ref or gmfn the side was claimed for; virt is
  // `virt != NULL` (claimed and mapped); grant says a grant is pinned for it.
  private sDomain: Domain | null = null;
  private sPtrDomid = -1;
  private sU = 0;
  private sMfn = 0;
  private sGrant = false;
  private sVirt = false;
  private dDomain: Domain | null = null;
  private dPtrDomid = -1;
  private dU = 0;
  private dMfn = 0;
  private dGrant = false;
  private dVirt = false;
  /** Result frame of the last successful acquire/get_paged_frame. */
  private gotMfn = 0;
  /** Scratch for unmap completion (struct gnttab_unmap_common[32]). */
  private readonly umDone = new Uint8Array(UNMAP_BATCH);
  private readonly umRd = new Int32Array(UNMAP_BATCH);
  private readonly umRef = new Uint32Array(UNMAP_BATCH);
  private readonly umMfn = new Uint32Array(UNMAP_BATCH);
  private copyBytesOk = 0;
  // Machine memory views and costs, cached: the copy path runs once per packet.
  private readonly u16: Uint16Array;
  private readonly u32: Uint32Array;
  private readonly owner: Int32Array;
  private readonly kind: Uint8Array;
  private readonly nrPages: number;
  private readonly memcopy: (dst: number, src: number, len: number) => void;
  private readonly copyCallCostNs: number;
  private readonly copyOpCostNs: number;
  private readonly copyByteCostNs: number;

  constructor(private readonly hv: Hypervisor) {
    const mem = hv.mem;
    this.u16 = mem.u16; this.u32 = mem.u32;
    this.owner = mem.owner; this.kind = mem.kind; this.nrPages = mem.nrPages;
    this.memcopy = mem.copy;
    this.copyCallCostNs = hv.costs.hypercall_ns;
    this.copyOpCostNs = hv.costs.gnttab_copy_op_ns;
    this.copyByteCostNs = hv.costs.gnttab_copy_byte_ns;
  }

  // ---- table growth ---------------------------------------------------------------------

  /**
   * Grows `d`'s grant table to `nr` frames (at least INITIAL_NR_GRANT_FRAMES); new frames are
   * zeroed Xen-heap pages shared with the domain. Returns false when out of host memory.
   * @models xen-project/xen xen/common/grant_table.c gnttab_grow_table()
   */
  gnttab_grow_table(d: Domain, nr: number): boolean {
    if (nr < INITIAL_NR_GRANT_FRAMES) nr = INITIAL_NR_GRANT_FRAMES;
    const mem = this.hv.mem;
    const start = d.nrGrantFrames;
    for (let i = start; i < nr; i++) {
      const mfn = mem.alloc(d.domid, PAGE_XEN_SHARED);
      if (mfn < 0) {
        for (let j = start; j < i; j++) { mem.free(d.gtFrames[j]!); d.gtFrames[j] = INVALID_MFN; }
        return false;
      }
      d.gtFrames[i] = mfn;
    }
    if (nr > d.nrGrantFrames) d.nrGrantFrames = nr;
    return true;
  }

  // ---- shared helpers -------------------------------------------------------------------

  /**
   * Checks the entry and sets GTF_reading (and GTF_writing for a writable pin) in it.
   * @models xen-project/xen xen/common/grant_table.c _set_status_v1()
   * @simplified single-threaded: the cmpxchg never races, so the 'unstable entry' retry limit never trips.
   */
  private set_status_v1(rd: Domain, ref: number, readonly: boolean, mapflag: boolean, ldomid: number): number {
    const u16 = this.u16;
    const a = rd.grantEntryAddr(ref) >>> 1;
    const flags = u16[a]!;
    const mask = mapflag ? GTF_type_mask | GTF_sub_page : GTF_type_mask;
    if (rd.actPin[ref] === 0 && ((flags & mask) !== GTF_permit_access || u16[a + 1] !== ldomid)) return GNTST_general_error;
    let nflags = flags | GTF_reading;
    if (!readonly) {
      nflags |= GTF_writing;
      if (flags & GTF_readonly) return GNTST_general_error;
    }
    u16[a] = nflags;
    return GNTST_okay;
  }

  /** Clears Xen's busy bits in an entry (gnttab_clear_flags). */
  private clear_flags(rd: Domain, ref: number, clear: number): void {
    const a = rd.grantEntryAddr(ref) >>> 1;
    this.u16[a] = this.u16[a]! & ~clear;
  }

  /**
   * PV frame lookup: the frame must exist and belong to `rd` (get_page(page, rd)).
   * @models xen-project/xen xen/common/grant_table.c get_paged_frame()
   */
  private get_paged_frame(gfn: number, rd: Domain): number {
    if (!(gfn >>> 0 === gfn && gfn < this.nrPages) || this.owner[gfn] !== rd.domid) return GNTST_bad_page;
    const k = this.kind[gfn];
    if (k !== PAGE_RAM && k !== PAGE_XEN_SHARED) return GNTST_bad_page;
    this.gotMfn = gfn;
    return GNTST_okay;
  }

  // ---- GNTTABOP_map_grant_ref -------------------------------------------------------------

  /**
   * A free maptrack handle, or -1. The free list always keeps its last entry (the one new entries
   * are linked after), so with one left a new page is added; its first entry is returned and the
   * rest go in front of the old list.
   * @models xen-project/xen xen/common/grant_table.c get_maptrack_handle(), _get_maptrack_handle()
   */
  private get_maptrack_handle(ld: Domain): number {
    if (ld.mtFreeQueue.length - ld.mtFreeHead > 1) {
      const h = ld.mtFreeQueue[ld.mtFreeHead++]!;
      if (ld.mtFreeHead > 1024 && ld.mtFreeHead * 2 > ld.mtFreeQueue.length) {
        ld.mtFreeQueue = ld.mtFreeQueue.slice(ld.mtFreeHead);
        ld.mtFreeHead = 0;
      }
      return h;
    }
    if (ld.mtLimit + MAPTRACK_PER_PAGE > ld.maxMaptrack) return -1;
    const h = ld.mtLimit;
    const limit = h + MAPTRACK_PER_PAGE;
    if (limit > ld.mtRef.length) {
      const cap = Math.min(ld.maxMaptrack, Math.max(limit, ld.mtRef.length * 2));
      const grow = <T extends Uint32Array | Uint16Array | Uint8Array | Float64Array>(old: T, make: (n: number) => T): T => {
        const n = make(cap); n.set(old as never); return n;
      };
      ld.mtRef = grow(ld.mtRef, (n) => new Uint32Array(n));
      ld.mtDomid = grow(ld.mtDomid, (n) => new Uint16Array(n));
      ld.mtFlags = grow(ld.mtFlags, (n) => new Uint8Array(n));
      ld.mtHostAddr = grow(ld.mtHostAddr, (n) => new Float64Array(n));
    }
    ld.mtLimit = limit;
    const fresh: number[] = [];
    for (let i = h + 1; i < limit; i++) fresh.push(i);
    ld.mtFreeQueue = fresh.concat(ld.mtFreeQueue.slice(ld.mtFreeHead));
    ld.mtFreeHead = 0;
    return h;
  }

  private put_maptrack_handle(ld: Domain, h: number): void {
    ld.mtFlags[h] = 0;
    ld.mtFreeQueue.push(h);
  }

  /**
   * One map op.
   * @models xen-project/xen xen/common/grant_table.c map_grant_ref()
   */
  private map_grant_ref(ld: Domain, op: GnttabMapGrantRef): void {
    const flags = op.flags;
    if ((flags & (GNTMAP_device_map | GNTMAP_host_map)) === 0) { op.status = GNTST_bad_gntref; return; }
    const rd = this.hv.lookup(op.dom);
    if (rd === undefined) { op.status = GNTST_bad_domain; return; }
    const handle = this.get_maptrack_handle(ld);
    if (handle < 0) { op.status = GNTST_no_device_space; return; }
    const readonly = (flags & GNTMAP_readonly) !== 0;
    const ref = op.ref;
    let rc = GNTST_okay;
    fail: {
      if (!(ref >>> 0 === ref && ref < rd.nrGrantEntries)) { rc = GNTST_bad_gntref; break fail; }
      const pin0 = rd.actPin[ref]!;
      if (pin0 !== 0 && (rd.actDomid[ref] !== ld.domid || (pin0 & GNTPIN_overflow_mask) !== 0)) { rc = GNTST_general_error; break fail; }
      if (pin0 === 0 || (!readonly && (pin0 & (GNTPIN_hstw_mask | GNTPIN_devw_mask)) === 0)) {
        rc = this.set_status_v1(rd, ref, readonly, true, ld.domid);
        if (rc !== GNTST_okay) break fail;
        if (pin0 === 0) {
          const frame = this.hv.mem.u32[(rd.grantEntryAddr(ref) >>> 2) + 1]!;
          rc = this.get_paged_frame(frame, rd);
          if (rc !== GNTST_okay) { this.unpin_clear(rd, ref, readonly); break fail; }
          rd.actDomid[ref] = ld.domid;
          rd.actMfn[ref] = this.gotMfn;
        }
      }
      const inc = ((flags & GNTMAP_device_map) ? (readonly ? GNTPIN_devr_inc : GNTPIN_devw_inc) : 0)
        + ((flags & GNTMAP_host_map) ? (readonly ? GNTPIN_hstr_inc : GNTPIN_hstw_inc) : 0);
      rd.actPin[ref] = (rd.actPin[ref]! + inc) >>> 0;
      const mfn = rd.actMfn[ref]!;
      if ((flags & GNTMAP_host_map) && op.host_addr === 0) {
        // create_grant_host_mapping() cannot install a PTE at address 0: undo_out.
        rd.actPin[ref] = (rd.actPin[ref]! - inc) >>> 0;
        this.unpin_clear(rd, ref, readonly);
        rc = GNTST_general_error;
        break fail;
      }
      this.hv.mem.mapRefs[mfn]++;
      ld.mtDomid[handle] = op.dom;
      ld.mtRef[handle] = ref;
      ld.mtHostAddr[handle] = op.host_addr;
      ld.mtFlags[handle] = flags & 0x1f;
      op.dev_bus_addr = mfn * XEN_PAGE_SIZE;
      op.handle = handle;
      op.status = GNTST_okay;
      return;
    }
    op.status = rc;
    this.put_maptrack_handle(ld, handle);
  }

  /** unlock_out_clear: drop busy bits no remaining pin justifies. */
  private unpin_clear(rd: Domain, ref: number, readonly: boolean): void {
    const pin = rd.actPin[ref]!;
    let clear = 0;
    if (!readonly && (pin & (GNTPIN_hstw_mask | GNTPIN_devw_mask)) === 0) clear |= GTF_writing;
    if (pin === 0) clear |= GTF_reading;
    if (clear) this.clear_flags(rd, ref, clear);
  }

  /**
   * GNTTABOP_map_grant_ref: maps other domains' granted frames into `caller`. Each op gets a
   * status (and on success a handle and dev_bus_addr). Returns 0.
   * @models xen-project/xen xen/common/grant_table.c gnttab_map_grant_ref()
   */
  gnttab_map_grant_ref(caller: Domain, ops: GnttabMapGrantRef[], count: number): number {
    const c = this.counters;
    let ok = 0;
    for (let i = 0; i < count; i++) {
      const op = ops[i]!;
      this.map_grant_ref(caller, op);
      if (op.status === GNTST_okay) ok++;
    }
    const costs = this.hv.costs;
    const cost = costs.hypercall_ns + count * costs.gnttab_map_ns;
    this.hv.charge(caller, cost);
    c.map_hypercalls++; c.map_ops += count; c.map_errors += count - ok;
    const tp = this.hv.tp.map;
    if (tp.on) tp.emit({ dom: caller.domid, ops: count, ok, failed: count - ok, firstStatus: count ? ops[0]!.status : 0, costNs: cost });
    return 0;
  }

  // ---- GNTTABOP_unmap_grant_ref -------------------------------------------------------------

  /** @models xen-project/xen xen/common/grant_table.c unmap_common() */
  private unmap_common(ld: Domain, op: GnttabUnmapGrantRef, slot: number): void {
    this.umDone[slot] = 0;
    const h = op.handle;
    if (!(h >>> 0 === h && h < ld.mtLimit)) { op.status = GNTST_bad_handle; return; }
    const flags = ld.mtFlags[h]!;
    if (flags === 0) { op.status = GNTST_bad_handle; return; }
    const rd = this.hv.lookup(ld.mtDomid[h]!)!;
    const ref = ld.mtRef[h]!;
    if (ref >= rd.nrGrantEntries) { op.status = GNTST_bad_handle; return; }
    const mfn = rd.actMfn[ref]!;
    if (op.dev_bus_addr !== 0 && op.dev_bus_addr !== mfn * XEN_PAGE_SIZE) { op.status = GNTST_general_error; return; }
    let done = 0;
    let left = flags;
    if (op.host_addr !== 0 && (flags & GNTMAP_host_map)) {
      // replace_grant_host_mapping(): the PTE at host_addr must map this frame.
      if (op.host_addr !== ld.mtHostAddr[h]) { op.status = GNTST_general_error; return; }
      left &= ~GNTMAP_host_map;
      done |= GNTMAP_host_map | (flags & GNTMAP_readonly);
    }
    if (op.dev_bus_addr !== 0 && (flags & GNTMAP_device_map)) {
      left &= ~GNTMAP_device_map;
      done |= GNTMAP_device_map | (flags & GNTMAP_readonly);
    }
    if ((left & (GNTMAP_device_map | GNTMAP_host_map)) === 0) this.put_maptrack_handle(ld, h);
    else ld.mtFlags[h] = left;
    this.umDone[slot] = done;
    this.umRd[slot] = rd.domid;
    this.umRef[slot] = ref;
    this.umMfn[slot] = mfn;
    op.status = GNTST_okay;
  }

  /** @models xen-project/xen xen/common/grant_table.c unmap_common_complete() */
  private unmap_common_complete(slot: number): void {
    const done = this.umDone[slot]!;
    if (done === 0) return;
    const rd = this.hv.lookup(this.umRd[slot]!)!;
    const ref = this.umRef[slot]!;
    const ro = (done & GNTMAP_readonly) !== 0;
    let pin = rd.actPin[ref]!;
    if (done & GNTMAP_device_map) pin -= ro ? GNTPIN_devr_inc : GNTPIN_devw_inc;
    if (done & GNTMAP_host_map) pin -= ro ? GNTPIN_hstr_inc : GNTPIN_hstw_inc;
    pin >>>= 0;
    rd.actPin[ref] = pin;
    let clear = 0;
    if ((pin & (GNTPIN_devw_mask | GNTPIN_hstw_mask)) === 0 && !ro) clear |= GTF_writing;
    if (pin === 0) clear |= GTF_reading;
    if (clear) this.clear_flags(rd, ref, clear);
    const mfn = this.umMfn[slot]!;
    if (this.hv.mem.mapRefs[mfn]! > 0) this.hv.mem.mapRefs[mfn]--;
  }

  /**
   * GNTTABOP_unmap_grant_ref: ops are handled in batches of 32; each batch is followed by one TLB
   * flush and then the completion that drops pins and busy bits. Returns 0.
   * @models xen-project/xen xen/common/grant_table.c gnttab_unmap_grant_ref()
   */
  gnttab_unmap_grant_ref(caller: Domain, ops: GnttabUnmapGrantRef[], count: number): number {
    const costs = this.hv.costs;
    let ok = 0, flushes = 0;
    for (let base = 0; base < count; base += UNMAP_BATCH) {
      const n = Math.min(UNMAP_BATCH, count - base);
      for (let i = 0; i < n; i++) {
        const op = ops[base + i]!;
        this.unmap_common(caller, op, i);
        if (op.status === GNTST_okay) ok++;
      }
      flushes++; // gnttab_flush_tlb()
      for (let i = 0; i < n; i++) this.unmap_common_complete(i);
    }
    const cost = costs.hypercall_ns + count * costs.gnttab_unmap_ns + flushes * costs.tlb_flush_ns;
    this.hv.charge(caller, cost);
    const c = this.counters;
    c.unmap_hypercalls++; c.unmap_ops += count; c.unmap_errors += count - ok; c.tlb_flushes += flushes;
    const tp = this.hv.tp.unmap;
    if (tp.on) tp.emit({ dom: caller.domid, ops: count, ok, failed: count - ok, firstStatus: count ? ops[0]!.status : 0, costNs: cost });
    return 0;
  }

  // ---- GNTTABOP_copy ------------------------------------------------------------------------

  /**
   * Pins a granted frame for one copy: bounds, pinning domain, entry type/domid/readonly; sets the
   * busy bits on the first pin (or first writable pin).
   * @models xen-project/xen xen/common/grant_table.c acquire_grant_for_copy()
   * @simplified v1 only: no transitive or sub-page grants.
   */
  private acquire_grant_for_copy(rd: Domain, gref: number, ldom: number, readonly: boolean): number {
    if (!(gref >>> 0 === gref && gref < rd.nrGrantEntries)) return GNTST_bad_gntref;
    const oldPin = rd.actPin[gref]!;
    if (oldPin !== 0 && (rd.actDomid[gref] !== ldom || (oldPin & GNTPIN_overflow_mask) !== 0)) return GNTST_general_error;
    if (oldPin === 0 || (!readonly && (oldPin & (GNTPIN_devw_mask | GNTPIN_hstw_mask)) === 0)) {
      // _set_status_v1() on the entry (its address computed once for the flags and the frame).
      const u16 = this.u16;
      const a = rd.grantEntryAddr(gref) >>> 1;
      const flags = u16[a]!;
      if (oldPin === 0 && ((flags & GTF_type_mask) !== GTF_permit_access || u16[a + 1] !== ldom)) return GNTST_general_error;
      if (!readonly && (flags & GTF_readonly) !== 0) return GNTST_general_error;
      u16[a] = readonly ? flags | GTF_reading : flags | GTF_reading | GTF_writing;
      const rc = this.get_paged_frame(this.u32[(a >>> 1) + 1]!, rd);
      if (rc !== GNTST_okay) { this.unpin_clear(rd, gref, readonly); return rc; }
      if (oldPin === 0) {
        rd.actDomid[gref] = ldom;
        rd.actMfn[gref] = this.gotMfn;
      }
    } else {
      const mfn = rd.actMfn[gref]!;
      if (this.owner[mfn] !== rd.domid) { this.unpin_clear(rd, gref, readonly); return GNTST_bad_domain; }
    }
    rd.actPin[gref] = (oldPin + (readonly ? GNTPIN_hstr_inc : GNTPIN_hstw_inc)) >>> 0;
    this.gotMfn = rd.actMfn[gref]!;
    return GNTST_okay;
  }

  /** @models xen-project/xen xen/common/grant_table.c release_grant_for_copy() */
  private release_grant_for_copy(rd: Domain, gref: number, readonly: boolean): void {
    let pin = rd.actPin[gref]!;
    let clear = 0;
    if (readonly) {
      pin -= GNTPIN_hstr_inc;
    } else {
      pin -= GNTPIN_hstw_inc;
      if ((pin & (GNTPIN_devw_mask | GNTPIN_hstw_mask)) === 0) clear |= GTF_writing;
    }
    pin >>>= 0;
    rd.actPin[gref] = pin;
    if (pin === 0) clear |= GTF_reading;
    if (clear) this.clear_flags(rd, gref, clear);
  }

  /** @models xen-project/xen xen/common/grant_table.c gnttab_copy_release_buf() (source side) */
  private release_src(): void {
    this.sVirt = false;
    if (this.sGrant) {
      this.release_grant_for_copy(this.sDomain!, this.sU, true);
      this.sGrant = false;
    }
  }

  /** @models xen-project/xen xen/common/grant_table.c gnttab_copy_release_buf() (destination side) */
  private release_dst(): void {
    this.dVirt = false;
    if (this.dGrant) {
      this.release_grant_for_copy(this.dDomain!, this.dU, false);
      this.dGrant = false;
    }
  }

  /** @models xen-project/xen xen/common/grant_table.c gnttab_copy_unlock_domains() */
  private unlock_domains(): void {
    this.sDomain = null; this.sPtrDomid = -1;
    this.dDomain = null; this.dPtrDomid = -1;
  }

  /**
   * The domain a copy side names (gnttab_copy_lock_domain): the caller for DOMID_SELF; another
   * domain only through a grant ref. null = GNTST_permission_denied, undefined = GNTST_bad_domain.
   */
  private copyDomain(caller: Domain, domid: number, isGref: boolean): Domain | null | undefined {
    if (domid === DOMID_SELF) return caller;
    return isGref ? this.hv.lookup(domid) : null;
  }

  /**
   * One copy op with the sides kept from the previous op of the same batch: the domains stay
   * locked while the domids repeat, and a side stays claimed while it names the same ref/frame.
   * Fields are the u16/u32 values of struct gnttab_copy.
   * @models xen-project/xen xen/common/grant_table.c gnttab_copy_one() gnttab_copy_buf()
   */
  private copy_one(caller: Domain, flags: number, srcU: number, srcDomid: number, srcOff: number,
    dstU: number, dstDomid: number, dstOff: number, len: number): number {
    const srcGref = (flags & GNTCOPY_source_gref) !== 0;
    const dstGref = (flags & GNTCOPY_dest_gref) !== 0;
    if (srcDomid !== this.sPtrDomid || dstDomid !== this.dPtrDomid) {
      this.release_src();
      this.release_dst();
      this.unlock_domains();
      // gnttab_copy_lock_domains(): source, then destination; on failure neither stays locked.
      const sd = this.copyDomain(caller, srcDomid, srcGref);
      if (sd === null) return GNTST_permission_denied;
      if (sd === undefined) return GNTST_bad_domain;
      const dd = this.copyDomain(caller, dstDomid, dstGref);
      if (dd === null) return GNTST_permission_denied;
      if (dd === undefined) return GNTST_bad_domain;
      this.sDomain = sd; this.sPtrDomid = srcDomid;
      this.dDomain = dd; this.dPtrDomid = dstDomid;
    }
    // gnttab_copy_buf_valid() or gnttab_copy_claim_buf(), source then destination.
    if (!(this.sVirt && this.sU === srcU && (!srcGref || this.sGrant))) {
      this.release_src();
      const d = this.sDomain!;
      const rc = srcGref ? this.acquire_grant_for_copy(d, srcU, caller.domid, true) : this.get_paged_frame(srcU, d);
      if (rc !== GNTST_okay) return rc;
      this.sGrant = srcGref; this.sU = srcU; this.sMfn = this.gotMfn; this.sVirt = true;
    }
    if (!(this.dVirt && this.dU === dstU && (!dstGref || this.dGrant))) {
      this.release_dst();
      const d = this.dDomain!;
      const rc = dstGref ? this.acquire_grant_for_copy(d, dstU, caller.domid, false) : this.get_paged_frame(dstU, d);
      if (rc !== GNTST_okay) return rc;
      this.dGrant = dstGref; this.dU = dstU; this.dMfn = this.gotMfn; this.dVirt = true;
    }
    if (srcOff + len > XEN_PAGE_SIZE || dstOff + len > XEN_PAGE_SIZE) return GNTST_bad_copy_arg;
    this.memcopy((this.dMfn << XEN_PAGE_SHIFT) + dstOff, (this.sMfn << XEN_PAGE_SHIFT) + srcOff, len);
    this.copyBytesOk += len;
    return GNTST_okay;
  }

  private finish_copy(): void {
    this.release_src();
    this.release_dst();
    this.unlock_domains();
  }

  /**
   * GNTTABOP_copy over `count` ops of a byte-exact batch (or an array of plain ops). Grants are
   * pinned (GTF_reading / GTF_writing set) while in use and kept across consecutive ops naming
   * the same ref, released on an error, on a change, and at the end. Returns 0.
   * @models xen-project/xen xen/common/grant_table.c gnttab_copy()
   */
  gnttab_copy(caller: Domain, ops: GnttabCopyBatch | GnttabCopy[], count: number): number {
    this.copyBytesOk = 0;
    let ok = 0, first = 0;
    if (ops instanceof GnttabCopyBatch) {
      for (let i = 0; i < count; i++) {
        const rc = this.copy_one(caller, ops.flags(i), ops.srcU(i), ops.srcDomid(i), ops.srcOffset(i),
          ops.dstU(i), ops.dstDomid(i), ops.dstOffset(i), ops.len(i));
        if (rc !== GNTST_okay) { this.release_src(); this.release_dst(); } else ok++;
        ops.setStatus(i, rc);
        if (i === 0) first = rc;
      }
    } else {
      for (let i = 0; i < count; i++) {
        const op = ops[i]!;
        const rc = this.copy_one(caller, op.flags & 0xffff, op.source.u >>> 0, op.source.domid & 0xffff, op.source.offset & 0xffff,
          op.dest.u >>> 0, op.dest.domid & 0xffff, op.dest.offset & 0xffff, op.len & 0xffff);
        if (rc !== GNTST_okay) { this.release_src(); this.release_dst(); } else ok++;
        op.status = rc;
        if (i === 0) first = rc;
      }
    }
    this.finish_copy();
    this.account_copy(caller, count, ok, first);
    return 0;
  }

  /** Charges one GNTTABOP_copy hypercall of `count` ops, counts it, and traces it. */
  private account_copy(caller: Domain, count: number, ok: number, first: number): void {
    const bytes = this.copyBytesOk;
    const cost = this.copyCallCostNs + count * this.copyOpCostNs + Math.round(bytes * this.copyByteCostNs);
    this.hv.charge(caller, cost);
    const c = this.counters;
    c.copy_hypercalls++; c.copy_ops += count; c.copy_errors += count - ok; c.copy_bytes += bytes;
    const tp = this.hv.tp.copy;
    if (tp.on) tp.emit({ dom: caller.domid, ops: count, ok, failed: count - ok, firstStatus: first, bytes, costNs: cost });
  }

  /**
   * A GNTTABOP_copy hypercall with exactly one op, given as the fields of struct gnttab_copy
   * (no batch to fill): the batch path with a count of 1. Allocates nothing. Returns the op's
   * GNTST_* status.
   * @models xen-project/xen xen/common/grant_table.c gnttab_copy()
   */
  gnttab_copy_one(caller: Domain, flags: number, srcU: number, srcDomid: number, srcOffset: number,
    dstU: number, dstDomid: number, dstOffset: number, len: number): number {
    this.copyBytesOk = 0;
    // The fields as struct gnttab_copy holds them (u32 refs/frames, u16 the rest).
    const rc = this.copy_one(caller, flags & 0xffff, srcU >>> 0, srcDomid & 0xffff, srcOffset & 0xffff,
      dstU >>> 0, dstDomid & 0xffff, dstOffset & 0xffff, len & 0xffff);
    this.finish_copy();
    this.account_copy(caller, 1, rc === GNTST_okay ? 1 : 0, rc);
    return rc;
  }

  // ---- GNTTABOP_transfer ----------------------------------------------------------------------

  /**
   * Checks the receiver's entry accepts a transfer from `ld` and commits it.
   * @models xen-project/xen xen/common/grant_table.c gnttab_prepare_for_transfer()
   */
  private prepare_for_transfer(rd: Domain, ld: Domain, ref: number): boolean {
    if (!(ref >>> 0 === ref && ref < rd.nrGrantEntries)) return false;
    const u16 = this.hv.mem.u16;
    const a = rd.grantEntryAddr(ref) >>> 1;
    if (u16[a] !== GTF_accept_transfer || u16[a + 1] !== ld.domid) return false;
    u16[a] = GTF_accept_transfer | GTF_transfer_committed;
    return true;
  }

  /**
   * GNTTABOP_transfer (page flipping): each op gives the caller's frame `mfn` to domain `domid`
   * into its accept-transfer entry `ref`. Except for GNTST_bad_page, the page is gone from the
   * caller even when the op fails (it is freed), as in Xen. Returns 0, or -EOPNOTSUPP when
   * transfers are disabled.
   * @models xen-project/xen xen/common/grant_table.c gnttab_transfer()
   * @simplified the receiver's p2m entry for the pfn in the grant entry is updated by Xen here (a PV
   * Linux guest updates its own p2m after gnttab_end_foreign_transfer_ref); the caller's p2m entry
   * is invalidated likewise. GNTST_address_too_big cannot occur (all frames are below 2^32).
   */
  gnttab_transfer(caller: Domain, ops: GnttabTransfer[], count: number): number {
    if (!this.hv.costs.grant_transfer) return -EOPNOTSUPP;
    const mem = this.hv.mem;
    let ok = 0;
    for (let i = 0; i < count; i++) {
      const gop = ops[i]!;
      const mfn = gop.mfn;
      // mfn_valid() + steal_page(): the frame must be the caller's RAM with no other references.
      if (!mem.valid(mfn) || mem.owner[mfn] !== caller.domid || mem.kind[mfn] !== PAGE_RAM || mem.mapRefs[mfn] !== 0) {
        gop.status = GNTST_bad_page;
        continue;
      }
      // steal_page() + guest_physmap_remove_page(): the caller loses the page now.
      const oldPfn = mem.m2p[mfn]!;
      if (oldPfn < caller.p2m.length && caller.p2m[oldPfn] === mfn) caller.p2m[oldPfn] = INVALID_MFN;
      caller.totPages--;
      mem.owner[mfn] = OWNER_FREE;
      const e = this.hv.lookup(gop.domid);
      if (e === undefined) { gop.status = GNTST_bad_domain; this.lose(mfn); continue; }
      if (e.totPages >= e.maxPages) { gop.status = GNTST_general_error; this.lose(mfn); continue; }
      if (!this.prepare_for_transfer(e, caller, gop.ref)) { gop.status = GNTST_general_error; this.lose(mfn); continue; }
      // assign_pages() + guest_physmap_add_page(); then tell the guest the new frame.
      mem.owner[mfn] = e.domid;
      e.totPages++;
      const a32 = e.grantEntryAddr(gop.ref) >>> 2;
      const pfn = mem.u32[a32 + 1]!;
      mem.m2p[mfn] = pfn;
      if (pfn < e.p2m.length) e.p2m[pfn] = mfn;
      mem.u32[a32 + 1] = mfn;
      const a16 = a32 << 1;
      mem.u16[a16] = mem.u16[a16]! | GTF_transfer_completed;
      gop.status = GNTST_okay;
      ok++;
    }
    const costs = this.hv.costs;
    const cost = costs.hypercall_ns + count * costs.gnttab_transfer_ns;
    this.hv.charge(caller, cost);
    const c = this.counters;
    c.transfer_hypercalls++; c.transfer_ops += count; c.transfer_errors += count - ok;
    const tp = this.hv.tp.transfer;
    if (tp.on) tp.emit({ dom: caller.domid, ops: count, ok, failed: count - ok, firstStatus: count ? ops[0]!.status : 0, costNs: cost });
    return 0;
  }

  /** A stolen page whose transfer failed is freed (lost to the caller). */
  private lose(mfn: number): void {
    this.hv.mem.owner[mfn] = 0; // satisfy free()'s ownership check
    this.hv.mem.free(mfn);
  }

  // ---- GNTTABOP_setup_table / query_size ------------------------------------------------------

  /**
   * Grows the target's grant table to `nr_frames` and returns the frames. dom0 may name any
   * domain; others only themselves (XSM_TARGET). Returns 0.
   * @models xen-project/xen xen/common/grant_table.c gnttab_setup_table()
   */
  gnttab_setup_table(caller: Domain, op: GnttabSetupTable): number {
    this.counters.setup_table_calls++;
    const d = op.dom === DOMID_SELF ? caller : this.hv.lookup(op.dom);
    op.frame_list = [];
    if (d === undefined) op.status = GNTST_bad_domain;
    else if (d !== caller && caller.domid !== 0) op.status = GNTST_permission_denied;
    else if (!(op.nr_frames >>> 0 === op.nr_frames) || op.nr_frames > d.maxGrantFrames) op.status = GNTST_general_error;
    else if (op.nr_frames > d.nrGrantFrames && !this.gnttab_grow_table(d, op.nr_frames)) op.status = GNTST_general_error;
    else {
      op.status = GNTST_okay;
      for (let i = 0; i < op.nr_frames; i++) op.frame_list.push(d.gtFrames[i]!);
    }
    this.hv.charge(caller, this.hv.costs.hypercall_ns);
    const tp = this.hv.tp.setup;
    if (tp.on) tp.emit({ dom: caller.domid, target: op.dom, nrFrames: d?.nrGrantFrames ?? 0, status: op.status });
    return 0;
  }

  /** @models xen-project/xen xen/common/grant_table.c gnttab_query_size() */
  gnttab_query_size(caller: Domain, op: GnttabQuerySize): number {
    const d = op.dom === DOMID_SELF ? caller : this.hv.lookup(op.dom);
    if (d === undefined) op.status = GNTST_bad_domain;
    else if (d !== caller && caller.domid !== 0) op.status = GNTST_permission_denied;
    else {
      op.nr_frames = d.nrGrantFrames;
      op.max_nr_frames = d.maxGrantFrames;
      op.status = GNTST_okay;
    }
    this.hv.charge(caller, this.hv.costs.hypercall_ns);
    return 0;
  }
}
