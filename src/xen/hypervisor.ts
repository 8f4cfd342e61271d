/**
 * The hypervisor of one simulated host: machine memory, domains (dom0 first), grant tables,
 * event channels and xenstore, with every hypercall as a method that takes the calling domain's
 * id first (`hv.gnttab_copy(callerDomid, ops)`), as Xen takes `current->domain`.
 *
 *   const sim = new Simulator();
 *   const hv = new Hypervisor(sim, Params.defaults());
 *   const dom0 = hv.createDomain({ name: 'Domain-0', pages: 256 });
 *   const guest = hv.createDomain({ name: 'guest1', pages: 256 });
 *   const ref = guest.gnttab.gnttab_grant_foreign_access(0, guest.domain.pfn_to_mfn(5), true);
 *
 * Costs: each hypercall charges its CPU time to the calling domain (`Domain.cpuNs`) and leaves it
 * in `hv.lastCostNs` so drivers can advance their own clocks or charts by it.
 *
 * Guest-side (Linux) code that runs inside a domain is reached through its `GuestHandle`
 * (`hv.guest(domid)`): the grant-table helpers (`gnttab_*`) and event-channel binding
 * (`bind_evtchn_to_irqhandler`, `notify_remote_via_evtchn`, ...).
 */
import type { Simulator } from '../sim/simulator';
import type { TracePoint } from '../sim/trace';
import type { GroupValues, Params } from '../params';
import { DOMID_SELF, XEN_PAGE_SIZE } from '../io/xen-constants';
import { INITIAL_NR_GRANT_FRAMES, INVALID_MFN } from './constants';
import { Domain, type DomainConfig, type EvtchnHandler } from './domain';
import {
  EventChannelOps, type EvtchnAllocUnbound, type EvtchnBindInterdomain, type EvtchnStatus,
} from './event_channel';
import {
  GnttabCopyBatch, GrantTableOps, type GnttabCopy, type GnttabMapGrantRef, type GnttabQuerySize,
  type GnttabSetupTable, type GnttabTransfer, type GnttabUnmapGrantRef,
} from './grant_table';
import { GuestGrantTable } from './grant_guest';
import { HostMemory, PAGE_RAM, PAGE_XEN_SHARED } from './memory';
import { XEN_PARAMS } from './params';
import { XenStore } from './xenstore';
import './trace';

export interface HypervisorOptions {
  /** Name under which the counters are registered in `sim.counters` (default 'xen'). */
  name?: string;
}

/** What runs inside one domain: its Linux kernel's Xen helpers. */
export class GuestHandle {
  readonly gnttab: GuestGrantTable;

  constructor(private readonly hv: Hypervisor, readonly domain: Domain) {
    this.gnttab = new GuestGrantTable(hv, domain);
  }

  get domid(): number {
    return this.domain.domid;
  }

  /**
   * Allocates an unbound port for `otherendId` to bind to.
   * @models torvalds/linux drivers/xen/xenbus/xenbus_client.c xenbus_alloc_evtchn()
   * @returns the port, or a negative errno
   */
  xenbus_alloc_evtchn(otherendId: number): number {
    const op = { dom: DOMID_SELF, remote_dom: otherendId, port: 0 };
    const rc = this.hv.evtchn_alloc_unbound(this.domid, op);
    return rc < 0 ? rc : op.port;
  }

  /**
   * Binds to a peer's unbound port and installs `handler` on the new local port.
   * @models torvalds/linux drivers/xen/events/events_base.c bind_interdomain_evtchn_to_irqhandler()
   * @returns the local port, or a negative errno
   */
  bind_interdomain_evtchn_to_irqhandler(remoteDom: number, remotePort: number, handler: EvtchnHandler): number {
    const op = { remote_dom: remoteDom, remote_port: remotePort, local_port: 0 };
    const rc = this.hv.evtchn_bind_interdomain(this.domid, op);
    if (rc < 0) return rc;
    this.hv.evtchn.bind_evtchn_to_irqhandler(this.domain, op.local_port, handler);
    return op.local_port;
  }

  /** @models torvalds/linux drivers/xen/events/events_base.c bind_evtchn_to_irqhandler() */
  bind_evtchn_to_irqhandler(port: number, handler: EvtchnHandler): void {
    this.hv.evtchn.bind_evtchn_to_irqhandler(this.domain, port, handler);
  }

  /** @models torvalds/linux drivers/xen/events/events_base.c unbind_from_irqhandler() */
  unbind_from_irqhandler(port: number): number {
    return this.hv.evtchn.unbind_from_irqhandler(this.domain, port);
  }

  /**
   * EVTCHNOP_send on a local port.
   * @models torvalds/linux include/xen/events.h notify_remote_via_evtchn()
   */
  notify_remote_via_evtchn(port: number): number {
    return this.hv.evtchn_send(this.domid, port);
  }

  /** Masks a local port (Linux mask_evtchn / disable_irq). */
  mask_evtchn(port: number): void {
    this.hv.evtchn.mask_evtchn(this.domain, port);
  }

  /** Unmasks a local port; a pending event is delivered (Linux unmask_evtchn / enable_irq). */
  unmask_evtchn(port: number): void {
    this.hv.evtchn.linux_unmask_evtchn(this.domain, port);
  }

  /** Disables event upcalls for this vCPU (Linux xen_irq_disable / local_irq_disable). */
  xen_irq_disable(): void {
    this.hv.evtchn.xen_irq_disable(this.domain);
  }

  /** Re-enables event upcalls; a pending upcall is delivered (Linux xen_irq_enable). */
  xen_irq_enable(): void {
    this.hv.evtchn.xen_irq_enable(this.domain);
  }

  /** The bytes of guest page `pfn`. */
  page(pfn: number): Uint8Array {
    return this.domain.page(pfn);
  }

  /** Machine frame of `pfn`, the value a PV guest puts in grant entries (Linux pfn_to_gfn). */
  pfn_to_gfn(pfn: number): number {
    return this.domain.pfn_to_mfn(pfn);
  }
}

export class Hypervisor {
  readonly sim: Simulator;
  readonly params: Params;
  readonly costs: GroupValues<typeof XEN_PARAMS.specs>;
  readonly mem: HostMemory;
  readonly xenstore: XenStore;
  /** CPU ns of the most recent hypercall (charged to its caller). */
  lastCostNs = 0;
  /** @internal */
  readonly gt: GrantTableOps;
  /** @internal */
  readonly evtchn: EventChannelOps;
  /** @internal trace points */
  readonly tp: {
    map: TracePoint<'xen.gnttab.map'>; unmap: TracePoint<'xen.gnttab.unmap'>; copy: TracePoint<'xen.gnttab.copy'>;
    transfer: TracePoint<'xen.gnttab.transfer'>; setup: TracePoint<'xen.gnttab.setup_table'>;
    send: TracePoint<'xen.evtchn.send'>; bind: TracePoint<'xen.evtchn.bind'>; close: TracePoint<'xen.evtchn.close'>;
    upcall: TracePoint<'xen.evtchn.upcall'>;
  };
  private readonly domains: (Domain | undefined)[] = [];
  private readonly guests: (GuestHandle | undefined)[] = [];

  constructor(sim: Simulator, params: Params, options: HypervisorOptions = {}) {
    this.sim = sim;
    this.params = params;
    this.costs = params.group(XEN_PARAMS);
    this.mem = new HostMemory(this.costs.host_pages, { wasm: this.costs.host_memory_wasm });
    const t = sim.trace;
    this.tp = {
      map: t.point('xen.gnttab.map'), unmap: t.point('xen.gnttab.unmap'), copy: t.point('xen.gnttab.copy'),
      transfer: t.point('xen.gnttab.transfer'), setup: t.point('xen.gnttab.setup_table'),
      send: t.point('xen.evtchn.send'), bind: t.point('xen.evtchn.bind'), close: t.point('xen.evtchn.close'),
      upcall: t.point('xen.evtchn.upcall'),
    };
    this.gt = new GrantTableOps(this);
    this.evtchn = new EventChannelOps(this);
    this.xenstore = new XenStore(sim, this.costs.xenstore_latency_ns, {
      write: t.point('xen.xenstore.write'), rm: t.point('xen.xenstore.rm'),
      commit: t.point('xen.xenstore.commit'), watch: t.point('xen.xenstore.watch'),
    });
    const name = options.name ?? 'xen';
    sim.counters.register(`${name}.gnttab`, this.gt.counters as unknown as Record<string, number>);
    sim.counters.register(`${name}.evtchn`, this.evtchn.counters as unknown as Record<string, number>);
    sim.counters.register(`${name}.xenstore`, this.xenstore.counters as unknown as Record<string, number>);
  }

  // ---- domains ---------------------------------------------------------------------------------

  /**
   * Creates a domain with `pages` pages of RAM (pfns 0..pages-1), a one-frame grant table, a
   * shared_info page and its xenstore home `/local/domain/<domid>`. The first domain is dom0.
   */
  createDomain(config: DomainConfig): GuestHandle {
    if (config === null || typeof config !== 'object') throw new TypeError('createDomain: config must be { name, pages }');
    const { name, pages } = config;
    if (typeof name !== 'string' || name.length === 0) throw new Error(`createDomain: name ${JSON.stringify(name)} is not allowed; use a non-empty string`);
    if (!Number.isInteger(pages) || pages < 1) throw new RangeError(`createDomain: pages ${pages} is not allowed; use an integer >= 1`);
    if (config.maxPages !== undefined && !(Number.isInteger(config.maxPages) && config.maxPages >= pages)) {
      throw new RangeError(`createDomain: maxPages ${config.maxPages} is not allowed; use an integer >= pages (${pages})`);
    }
    if (config.pfns !== undefined && !(Number.isInteger(config.pfns) && config.pfns >= Math.max(pages, config.maxPages ?? pages))) {
      throw new RangeError(`createDomain: pfns ${config.pfns} is not allowed; use an integer >= max(pages, maxPages)`);
    }
    const need = pages + 1 + INITIAL_NR_GRANT_FRAMES;
    if (need > this.mem.freePages) {
      throw new RangeError(`createDomain: '${name}' needs ${need} frames but the host has ${this.mem.freePages} free; raise xen.host_pages (now ${this.costs.host_pages}) or use fewer pages`);
    }
    const domid = this.domains.length;
    if (domid >= DOMID_SELF) throw new RangeError(`createDomain: no domain ids left (max ${DOMID_SELF - 1})`);
    const shinfo = this.mem.alloc(domid, PAGE_XEN_SHARED);
    const d = new Domain(domid, config, this.mem, this.costs.max_grant_frames, this.costs.max_maptrack_frames, shinfo);
    for (let pfn = 0; pfn < pages; pfn++) {
      const mfn = this.mem.alloc(domid, PAGE_RAM);
      this.mem.m2p[mfn] = pfn;
      d.p2m[pfn] = mfn;
    }
    d.totPages = pages;
    this.domains.push(d);
    this.gt.gnttab_grow_table(d, INITIAL_NR_GRANT_FRAMES);
    this.evtchn.initDomain(d);
    const g = new GuestHandle(this, d);
    this.guests.push(g);
    this.xenstore.write(`/local/domain/${domid}/name`, name);
    this.xenstore.write(`/local/domain/${domid}/domid`, String(domid));
    return g;
  }

  /** The domain with this id, or undefined (rcu_lock_domain_by_id). */
  lookup(domid: number): Domain | undefined {
    return this.domains[domid];
  }

  /** The domain with this id; throws if there is none (API misuse). */
  domainById(domid: number): Domain {
    const d = this.domains[domid];
    if (d === undefined) throw new RangeError(`no domain ${domid}; domains are 0..${this.domains.length - 1}`);
    return d;
  }

  /** The guest side of a domain. */
  guest(domid: number): GuestHandle {
    const g = this.guests[domid];
    if (g === undefined) throw new RangeError(`no domain ${domid}; domains are 0..${this.guests.length - 1}`);
    return g;
  }

  /** All domains, by domid. */
  get allDomains(): readonly Domain[] {
    return this.domains as Domain[];
  }

  /** @internal Charges `ns` of CPU to `d` for the current hypercall. */
  charge(d: Domain, ns: number): void {
    d.cpuNs += ns;
    d.hypercalls++;
    this.lastCostNs = ns;
  }

  private caller(domid: number, what: string): Domain {
    const d = this.domains[domid];
    if (d === undefined) throw new RangeError(`${what}: caller domain ${domid} does not exist; domains are 0..${this.domains.length - 1}`);
    return d;
  }

  private static count(n: number | undefined, len: number, what: string): number {
    if (n === undefined) return len;
    if (!(Number.isInteger(n) && n >= 0 && n <= len)) throw new RangeError(`${what}: count ${n} is not allowed; use 0..${len} (the ops given)`);
    return n;
  }

  // ---- grant-table hypercalls --------------------------------------------------------------------

  /** GNTTABOP_map_grant_ref. Per-op status; returns 0. */
  gnttab_map_grant_ref(caller: number, ops: GnttabMapGrantRef[], count?: number): number {
    return this.gt.gnttab_map_grant_ref(this.caller(caller, 'gnttab_map_grant_ref'), ops, Hypervisor.count(count, ops.length, 'gnttab_map_grant_ref'));
  }

  /** GNTTABOP_unmap_grant_ref. Per-op status; returns 0. */
  gnttab_unmap_grant_ref(caller: number, ops: GnttabUnmapGrantRef[], count?: number): number {
    return this.gt.gnttab_unmap_grant_ref(this.caller(caller, 'gnttab_unmap_grant_ref'), ops, Hypervisor.count(count, ops.length, 'gnttab_unmap_grant_ref'));
  }

  /** GNTTABOP_copy over a byte-exact batch (`batch.count` ops unless `count`) or plain ops. */
  gnttab_copy(caller: number, ops: GnttabCopyBatch | GnttabCopy[], count?: number): number {
    const len = ops instanceof GnttabCopyBatch ? ops.count : ops.length;
    const max = ops instanceof GnttabCopyBatch ? ops.capacity : ops.length;
    return this.gt.gnttab_copy(this.caller(caller, 'gnttab_copy'), ops, count === undefined ? len : Hypervisor.count(count, max, 'gnttab_copy'));
  }

  /**
   * One GNTTABOP_copy hypercall with one op given by its struct fields, without building a
   * batch (for labs and tests; the drivers fill a GnttabCopyBatch and call gnttab_copy). Returns
   * the op's GNTST_* status. Allocates nothing. `srcU`/`dstU` are a grant ref when `flags` has GNTCOPY_source_gref /
   * GNTCOPY_dest_gref, else a frame of the caller (then the domid must be DOMID_SELF).
   */
  gnttab_copy_one(caller: number, flags: number, srcU: number, srcDomid: number, srcOffset: number,
    dstU: number, dstDomid: number, dstOffset: number, len: number): number {
    const d = this.domains[caller];
    if (d === undefined) this.caller(caller, 'gnttab_copy_one');
    return this.gt.gnttab_copy_one(d!, flags, srcU, srcDomid, srcOffset, dstU, dstDomid, dstOffset, len);
  }

  /** GNTTABOP_transfer (page flipping). Per-op status; returns 0 or -EOPNOTSUPP. */
  gnttab_transfer(caller: number, ops: GnttabTransfer[], count?: number): number {
    return this.gt.gnttab_transfer(this.caller(caller, 'gnttab_transfer'), ops, Hypervisor.count(count, ops.length, 'gnttab_transfer'));
  }

  /** GNTTABOP_setup_table. */
  gnttab_setup_table(caller: number, op: GnttabSetupTable): number {
    return this.gt.gnttab_setup_table(this.caller(caller, 'gnttab_setup_table'), op);
  }

  /** GNTTABOP_query_size. */
  gnttab_query_size(caller: number, op: GnttabQuerySize): number {
    return this.gt.gnttab_query_size(this.caller(caller, 'gnttab_query_size'), op);
  }

  /**
   * The bytes a successful map gave `caller` access to (what the PTE at host_addr now maps).
   * Throws for a handle that maps nothing (API misuse).
   */
  mappedPage(caller: number, handle: number): Uint8Array {
    const d = this.caller(caller, 'mappedPage');
    if (!(handle >>> 0 === handle && handle < d.mtLimit) || d.mtFlags[handle] === 0) {
      throw new RangeError(`mappedPage: d${caller} has no mapping with handle ${handle}`);
    }
    const rd = this.domainById(d.mtDomid[handle]!);
    return this.mem.page(rd.actMfn[d.mtRef[handle]!]!);
  }

  // ---- memory hypercalls -----------------------------------------------------------------------

  /**
   * Gives `domid` a fresh zeroed page at `pfn` (XENMEM_populate_physmap, one extent). Returns the
   * MFN, or -1 when the domain is at max_pages or the host is out of memory.
   */
  populate_physmap(domid: number, pfn: number): number {
    const d = this.caller(domid, 'populate_physmap');
    d.checkPfn(pfn, 'populate_physmap');
    if (d.p2m[pfn] !== INVALID_MFN) throw new Error(`populate_physmap: d${domid} pfn ${pfn} is already populated (mfn ${d.p2m[pfn]})`);
    if (d.totPages >= d.maxPages) return -1;
    const mfn = this.mem.alloc(domid, PAGE_RAM);
    if (mfn < 0) return -1;
    this.mem.m2p[mfn] = pfn;
    d.p2m[pfn] = mfn;
    d.totPages++;
    this.charge(d, this.costs.hypercall_ns);
    return mfn;
  }

  /**
   * Releases `domid`'s page at `pfn` back to Xen (XENMEM_decrease_reservation, one extent), as
   * a page-flipping frontend does before posting a receive buffer. Returns 0, or -1 when the page
   * is still mapped by another domain.
   */
  decrease_reservation(domid: number, pfn: number): number {
    return this.decrease_reservation_extents(domid, [pfn], 1) === 1 ? 0 : -1;
  }

  /**
   * XENMEM_decrease_reservation with `count` order-0 extents (`pfns[0..count)`): one hypercall
   * that frees each page in turn and stops at the first it cannot (still mapped by another
   * domain). Returns the extents done (nr_done).
   * @models xen-project/xen xen/common/memory.c decrease_reservation(), guest_remove_page()
   * @simplified the per-extent work (guest_remove_page) is not charged beyond the hypercall's entry.
   */
  decrease_reservation_extents(domid: number, pfns: ArrayLike<number>, count: number): number {
    const d = this.caller(domid, 'decrease_reservation');
    if (!Number.isInteger(count) || count < 0 || count > pfns.length) {
      throw new RangeError(`decrease_reservation: count ${count} is not allowed; use an integer in 0..${pfns.length}`);
    }
    let done = 0;
    for (; done < count; done++) {
      const pfn = pfns[done]!;
      d.checkPfn(pfn, 'decrease_reservation');
      const mfn = d.p2m[pfn]!;
      if (mfn === INVALID_MFN) throw new Error(`decrease_reservation: d${domid} pfn ${pfn} is not populated`);
      if (this.mem.mapRefs[mfn] !== 0) break;
      this.mem.free(mfn);
      d.p2m[pfn] = INVALID_MFN;
      d.totPages--;
    }
    this.charge(d, this.costs.hypercall_ns);
    return done;
  }

  // ---- event-channel hypercalls ------------------------------------------------------------------

  /** EVTCHNOP_alloc_unbound. Returns 0 or a negative errno. */
  evtchn_alloc_unbound(caller: number, op: EvtchnAllocUnbound): number {
    return this.evtchn.evtchn_alloc_unbound(this.caller(caller, 'evtchn_alloc_unbound'), op);
  }

  /** EVTCHNOP_bind_interdomain. Returns 0 or a negative errno. */
  evtchn_bind_interdomain(caller: number, op: EvtchnBindInterdomain): number {
    return this.evtchn.evtchn_bind_interdomain(this.caller(caller, 'evtchn_bind_interdomain'), op);
  }

  /** EVTCHNOP_send. Returns 0 (also when dropped on an unbound port) or -EINVAL. */
  evtchn_send(caller: number, port: number): number {
    const d = this.domains[caller];
    if (d === undefined) this.caller(caller, 'evtchn_send');
    return this.evtchn.evtchn_send(d!, port);
  }

  /** EVTCHNOP_close. Returns 0 or -EINVAL. */
  evtchn_close(caller: number, port: number): number {
    return this.evtchn.evtchn_close(this.caller(caller, 'evtchn_close'), port);
  }

  /** EVTCHNOP_unmask. Returns 0 or -EINVAL. */
  evtchn_unmask(caller: number, port: number): number {
    return this.evtchn.evtchn_unmask(this.caller(caller, 'evtchn_unmask'), port);
  }

  /** EVTCHNOP_status. Returns 0 or a negative errno. */
  evtchn_status(caller: number, op: EvtchnStatus): number {
    return this.evtchn.evtchn_status(this.caller(caller, 'evtchn_status'), op);
  }

  /** Port state as the guest's shared_info shows it. */
  evtchnPending(domid: number, port: number): boolean {
    return this.evtchn.isPending(this.domainById(domid), port);
  }

  /** True when the port is masked in the domain's shared_info. */
  evtchnMasked(domid: number, port: number): boolean {
    return this.evtchn.isMasked(this.domainById(domid), port);
  }

  /** The domain's shared_info page (4096 bytes; the first 3136 are struct shared_info). */
  sharedInfo(domid: number): Uint8Array {
    return this.mem.page(this.domainById(domid).sharedInfoMfn);
  }

  /** Grant frame `i` of a domain's table, as bytes (512 entries of 8 bytes). */
  grantFrame(domid: number, i: number): Uint8Array {
    const d = this.domainById(domid);
    if (!(i >>> 0 === i && i < d.nrGrantFrames)) throw new RangeError(`grantFrame: d${domid} has grant frames 0..${d.nrGrantFrames - 1}, not ${i}`);
    return this.mem.page(d.gtFrames[i]!);
  }

  /** Bytes of machine memory per page (for callers computing addresses). */
  static readonly PAGE_SIZE = XEN_PAGE_SIZE;
}
