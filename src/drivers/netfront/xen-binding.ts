/**
 * NetfrontXen over the hypervisor model (src/xen): the guest-side grant helpers of the guest's
 * GuestHandle, its event channels, and xenstore as the guest's xenbus sees it.
 *
 *   const hv = new Hypervisor(sim, params);
 *   const guest = hv.createDomain({ name: 'guest1', pages: 2048 });
 *   const xen = hypervisorPort(hv, guest.domid);
 *
 * Guest pages for rings and buffers come from a simple per-domain page allocator (a bump pointer
 * over the domain's populated pfns, from `firstPfn` up — Linux's page allocator is not modeled);
 * pass `allocPages` to use another one.
 *
 * Event channels are bound plainly or, for modern netfront (XSA-391), with the guest kernel's
 * lateeoi chip (src/xen/event_channel.ts bind_evtchn_to_irqhandler_lateeoi / xen_irq_lateeoi).
 */
import type { Hypervisor, GuestHandle } from '../../xen/hypervisor';
import type { Domain } from '../../xen/domain';
import { PAGE_RAM } from '../../xen/memory';
import type { GrantRefPool as XenGrantRefPool } from '../../xen/grant_guest';
import { INVALID_MFN } from '../../xen/constants';
import type { GrantRefPool, NetfrontXen, NetfrontXenbus } from './xen-port';
import { bufferOf, byteOffsetOf } from '../../wire/views';

/** Pfns below this are left to the guest kernel; the bump allocator starts here by default. */
export const GUEST_KERNEL_PAGES = 64;

export interface HypervisorPortOptions {
  /** First pfn the bump allocator hands out (default GUEST_KERNEL_PAGES; lower pages are left to the guest kernel). */
  firstPfn?: number;
  /** A custom guest page allocator. */
  allocPages?: (n: number) => number[];
}

const bump = new WeakMap<Domain, { next: number }>();

/** Builds the NetfrontXen port of domain `domid`. */
export function hypervisorPort(hv: Hypervisor, domid: number, opts: HypervisorPortOptions = {}): NetfrontXen {
  const g: GuestHandle = hv.guest(domid);
  const d = g.domain;
  const gt = g.gnttab;
  const mem = hv.mem;
  const store = hv.xenstore;
  const firstPfn = opts.firstPfn ?? GUEST_KERNEL_PAGES;
  if (!Number.isInteger(firstPfn) || firstPfn < 0 || firstPfn >= d.nrPfns) {
    throw new RangeError(`hypervisorPort: firstPfn ${firstPfn} is not allowed; use an integer in [0, ${d.nrPfns - 1}]`);
  }
  const allocPages = opts.allocPages ?? ((n: number): number[] => {
    let b = bump.get(d);
    if (b === undefined) { b = { next: firstPfn }; bump.set(d, b); }
    const out: number[] = [];
    while (out.length < n) {
      if (b.next >= d.nrPfns) {
        throw new RangeError(`allocPages: d${domid} is out of pages (${n} wanted, pfns ${firstPfn}..${d.nrPfns - 1} used); create the domain with more pages`);
      }
      const pfn = b.next++;
      if (d.p2m[pfn] !== INVALID_MFN) out.push(pfn);
    }
    return out;
  });
  const buffer = mem.buffer;
  const mfnOfView = (buf: Uint8Array, off: number): number => {
    if (bufferOf(buf) !== buffer) return -1;
    const mfn = (byteOffsetOf(buf) + off) >>> 12;
    return mem.owner[mfn] === domid && mem.kind[mfn] === PAGE_RAM ? mfn : -1;
  };

  const xenbus: NetfrontXenbus = {
    read: (path) => store.read(path) ?? null,
    write: (tx, path, value) => { store.write(path, value, tx, domid); return 0; },
    transactionStart: () => store.transaction_start(domid),
    transactionEnd: (tx, abort) => store.transaction_end(tx, abort),
    watch: (path, cb) => {
      const id = store.watch(path, `netfront:${path}`, (p) => cb(p), domid);
      return () => store.unwatch(id);
    },
  };

  return {
    domid,
    xenbus,
    allocPages,
    page: (pfn) => d.page(pfn),
    pfn_to_gfn: (pfn) => d.pfn_to_mfn(pfn),
    gfnOfView: mfnOfView,
    pfnOfView: (buf, off) => {
      const mfn = mfnOfView(buf, off);
      return mfn < 0 ? -1 : mem.m2p[mfn]!;
    },
    gnttab_alloc_grant_references: (count) => {
      const r = gt.gnttab_alloc_grant_references(count);
      return typeof r === 'number' ? null : (r as unknown as GrantRefPool);
    },
    gnttab_claim_grant_reference: (pool) => gt.gnttab_claim_grant_reference(pool as unknown as XenGrantRefPool),
    gnttab_release_grant_reference: (pool, ref) => gt.gnttab_release_grant_reference(pool as unknown as XenGrantRefPool, ref),
    gnttab_free_grant_references: (pool) => gt.gnttab_free_grant_references(pool as unknown as XenGrantRefPool),
    gnttab_grant_foreign_access_ref: (ref, dom, gfn, ro) => gt.gnttab_grant_foreign_access_ref(ref, dom, gfn, ro),
    gnttab_grant_foreign_access: (dom, gfn, ro) => gt.gnttab_grant_foreign_access(dom, gfn, ro),
    gnttab_end_foreign_access_ref: (ref) => gt.gnttab_end_foreign_access_ref(ref),
    gnttab_end_foreign_access: (ref) => gt.gnttab_end_foreign_access(ref),
    gnttab_grant_foreign_transfer_ref: (ref, dom, pfn) => gt.gnttab_grant_foreign_transfer_ref(ref, dom, pfn),
    gnttab_end_foreign_transfer_ref: (ref) => gt.gnttab_end_foreign_transfer_ref(ref),
    decrease_reservation: (pfns, count) => {
      hv.decrease_reservation_extents(domid, pfns, count);
      return hv.lastCostNs;
    },
    remapTransferredPage: (pfn, mfn) => {
      // Xen's transfer already entered the frame in our p2m/m2p (see gnttab_transfer); a PV
      // guest's MMU_MACHPHYS_UPDATE + update_va_mapping would do it here.
      if (d.p2m[pfn] !== mfn) {
        d.p2m[pfn] = mfn;
        mem.m2p[mfn] = pfn;
      }
      return hv.costs.hypercall_ns;
    },
    xenbus_alloc_evtchn: (remote) => g.xenbus_alloc_evtchn(remote),
    xenbus_free_evtchn: (port) => { hv.evtchn_close(domid, port); },
    bind_evtchn_to_irqhandler: (port, handler) => g.bind_evtchn_to_irqhandler(port, handler),
    bind_evtchn_to_irqhandler_lateeoi: (port, handler, o) => hv.evtchn.bind_evtchn_to_irqhandler_lateeoi(d, port, handler, o),
    xen_irq_lateeoi: (port, eoiFlags) => hv.evtchn.xen_irq_lateeoi(d, port, eoiFlags),
    lateeoiStats: (port) => hv.evtchn.lateeoiStats(d, port),
    unbind_from_irqhandler: (port) => { g.unbind_from_irqhandler(port); },
    notify_remote_via_evtchn: (port) => {
      hv.lastCostNs = 0;
      g.notify_remote_via_evtchn(port);
      return hv.lastCostNs;
    },
  };
}
