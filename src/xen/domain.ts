/**
 * A domain as the hypervisor sees it: its pseudo-physical memory (the p2m table from guest frame
 * numbers to machine frames), its grant table (shared frames of real v1 entries plus Xen's active
 * entries and the maptrack of its own foreign mappings), its event-channel ports and its
 * shared_info page (the 2-level pending and mask bitmaps, real bits).
 *
 * Modeled on Xen's struct domain / struct grant_table / struct evtchn (xen/include/xen/sched.h,
 * xen/common/grant_table.c). All per-entry state is struct-of-arrays sized once at creation.
 *
 * Differences: one vCPU per domain (vcpu 0); a domain is never destroyed; the guest is PV
 * (grant-entry frames and DOMID_SELF copy frames are machine frame numbers, as for x86 PV guests,
 * where Linux's pfn_to_gfn() is pfn_to_mfn()).
 */
import { EVTCHN_2L_NR_CHANNELS, XEN_PAGE_SHIFT } from '../io/xen-constants';
import { GRANT_ENTRIES_PER_FRAME_V1, INVALID_MFN, MAPTRACK_PER_PAGE } from './constants';
import type { HostMemory } from './memory';

/** A Linux-style event-channel interrupt handler: called with the port that fired. */
export type EvtchnHandler = (port: number) => void;

export interface DomainConfig {
  /** Name shown in xenstore (`/local/domain/<id>/name`) and in tables. */
  name: string;
  /** Pages of RAM populated at creation, as pfns 0..pages-1. */
  pages: number;
  /** Most pages the domain may own (Xen's max_pages); defaults to `pages`. */
  maxPages?: number;
  /** Size of the pseudo-physical address space in pages; defaults to max(pages, maxPages). */
  pfns?: number;
}

export class Domain {
  readonly domid: number;
  readonly name: string;
  /** pfn -> mfn (INVALID_MFN where no page is populated). */
  readonly p2m: Uint32Array;
  /** Pages owned as RAM (Xen's tot_pages). */
  totPages = 0;
  maxPages: number;
  /** Virtual CPU time this domain spent in hypercalls and upcalls (ns). */
  cpuNs = 0;
  /** Hypercalls this domain made. */
  hypercalls = 0;

  // --- grant table, Xen side -------------------------------------------------------------
  /** Machine frames of the shared grant table, by grant-frame index. */
  readonly gtFrames: Uint32Array;
  nrGrantFrames = 0;
  readonly maxGrantFrames: number;
  /** Active grant entries (Xen-private shadow of granted entries): pin counts, domid, frame. */
  readonly actPin: Uint32Array;
  readonly actDomid: Uint16Array;
  readonly actMfn: Uint32Array;
  /** Maptrack: this domain's mappings of other domains' grants, by handle. */
  mtRef = new Uint32Array(0);
  mtDomid = new Uint16Array(0);
  mtFlags = new Uint8Array(0);
  mtHostAddr = new Float64Array(0);
  mtLimit = 0;
  readonly maxMaptrack: number;
  /** FIFO of free maptrack handles (Xen takes from the head and returns to the tail). */
  mtFreeQueue: number[] = [];
  mtFreeHead = 0;

  // --- event channels ---------------------------------------------------------------------
  /** Machine frame of this domain's shared_info page. */
  readonly sharedInfoMfn: number;
  /** Index of the shared_info page's first u32 in machine memory (`sharedInfoMfn << 10`). */
  readonly sharedInfoW: number;
  /** ECS_* state per port. */
  readonly evState = new Uint8Array(EVTCHN_2L_NR_CHANNELS);
  /** Unbound: the domain allowed to bind; interdomain: the peer domain. */
  readonly evRemoteDom = new Uint16Array(EVTCHN_2L_NR_CHANNELS);
  /** Interdomain: the peer's port. */
  readonly evRemotePort = new Uint16Array(EVTCHN_2L_NR_CHANNELS);
  /** Guest side: the handler bound to each port (Linux's evtchn_to_irq + irq action). */
  readonly irqHandlers: (EvtchnHandler | undefined)[] = new Array(EVTCHN_2L_NR_CHANNELS);
  /** Guest side: where the next 2-level scan starts (Linux per-cpu current_word_idx/bit_idx). */
  scanWord = 0;
  scanBit = 0;
  /** An upcall event is scheduled or running. */
  upcallScheduled = false;
  upcallRunning = false;

  constructor(
    domid: number,
    config: DomainConfig,
    private readonly mem: HostMemory,
    maxGrantFrames: number,
    maxMaptrackFrames: number,
    sharedInfoMfn: number,
  ) {
    this.domid = domid;
    this.name = config.name;
    this.maxPages = config.maxPages ?? config.pages;
    const pfns = config.pfns ?? Math.max(config.pages, this.maxPages);
    this.p2m = new Uint32Array(pfns).fill(INVALID_MFN);
    this.maxGrantFrames = maxGrantFrames;
    this.gtFrames = new Uint32Array(maxGrantFrames).fill(INVALID_MFN);
    const maxEntries = maxGrantFrames * GRANT_ENTRIES_PER_FRAME_V1;
    this.actPin = new Uint32Array(maxEntries);
    this.actDomid = new Uint16Array(maxEntries);
    this.actMfn = new Uint32Array(maxEntries).fill(INVALID_MFN);
    this.maxMaptrack = maxMaptrackFrames * MAPTRACK_PER_PAGE;
    this.sharedInfoMfn = sharedInfoMfn;
    this.sharedInfoW = (sharedInfoMfn << XEN_PAGE_SHIFT) >>> 2;
  }

  /** Number of pfns in this domain's pseudo-physical address space. */
  get nrPfns(): number {
    return this.p2m.length;
  }

  /** Machine frame backing `pfn` (Linux pfn_to_mfn / pfn_to_gfn on PV); throws when unpopulated. */
  pfn_to_mfn(pfn: number): number {
    this.checkPfn(pfn, 'pfn_to_mfn');
    const mfn = this.p2m[pfn]!;
    if (mfn === INVALID_MFN) throw new Error(`pfn_to_mfn: d${this.domid} pfn ${pfn} is not populated (no machine frame)`);
    return mfn;
  }

  /** The 4096 bytes of guest page `pfn` (a view over machine memory, made once). */
  page(pfn: number): Uint8Array {
    return this.mem.page(this.pfn_to_mfn(pfn));
  }

  /** Byte address in machine memory of grant entry `ref` (the ref must be < nrGrantEntries). */
  grantEntryAddr(ref: number): number {
    return (this.gtFrames[ref >>> 9]! << XEN_PAGE_SHIFT) + ((ref & 511) << 3);
  }

  /** Grant entries currently in the table (nr_grant_entries, v1). */
  get nrGrantEntries(): number {
    return this.nrGrantFrames * GRANT_ENTRIES_PER_FRAME_V1;
  }

  /** @internal */
  checkPfn(pfn: number, what: string): void {
    if (!(pfn >>> 0 === pfn && pfn < this.p2m.length)) {
      throw new RangeError(`${what}: pfn ${pfn} is out of range; d${this.domid} has pfns 0..${this.p2m.length - 1}`);
    }
  }
}
