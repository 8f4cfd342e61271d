/**
 * Builds netback's NetbackHypervisor view from the real hypervisor model (src/xen) for one
 * backend domain: grant-table and event-channel hypercalls made as that domain, with the cost of
 * each returned to the caller, a page allocator for netback's dom0 staging frames, and the
 * backend kernel's late-EOI event-channel binding (XSA-332) that modern netback uses.
 */
import type { Hypervisor } from '../../xen/hypervisor';
import type { LateEoiStats } from '../../xen/event_channel';
import { PAGE_RAM } from '../../xen/memory';
import type { NetbackHypervisor } from './platform';

/**
 * The backend kernel's lateeoi interrupts (drivers/xen/events/events_base.c), which modern
 * netback binds its ports with. Kept beside NetbackHypervisor (platform.ts) because only this
 * adapter provides it; a NetbackHypervisor without it makes netback bind plain handlers.
 */
export interface NetbackLateEoi {
  /**
   * EVTCHNOP_bind_interdomain + bind_evtchn_to_irqhandler_lateeoi: the local port, or a negative
   * errno. `hz` is the backend kernel's CONFIG_HZ, `spuriousThreshold` the xenbus device's
   * sysfs spurious_threshold (0: default 1).
   */
  bindInterdomainLateeoi(remoteDom: number, remotePort: number, handler: (port: number) => void, opts: { hz: number; spuriousThreshold?: number }): number;
  /** xen_irq_lateeoi(irq, flags): jiffies the unmask was deferred by, 0 (unmasked now) or -1 (ignored). */
  lateeoi(port: number, eoiFlags: number): number;
  /** The port's irq statistics (events, spurious_events, jiffies_eoi_delayed, ...), or null. */
  lateeoiStats(port: number): LateEoiStats | null;
}

/** The hypervisor as backend domain `backendDomid` (normally dom0) uses it. */
export function netbackHypervisor(hv: Hypervisor, backendDomid = 0): NetbackHypervisor & NetbackLateEoi {
  const backend = hv.domainById(backendDomid);
  const guest = hv.guest(backendDomid);
  return {
    mem: hv.mem,
    backend,
    copy(ops, n) { hv.gnttab_copy(backendDomid, ops, n); return hv.lastCostNs; },
    map(ops, n) { hv.gnttab_map_grant_ref(backendDomid, ops, n); return hv.lastCostNs; },
    unmap(ops, n) { hv.gnttab_unmap_grant_ref(backendDomid, ops, n); return hv.lastCostNs; },
    transfer(ops, n) {
      const rc = hv.gnttab_transfer(backendDomid, ops, n);
      return rc < 0 ? rc : hv.lastCostNs;
    },
    bindInterdomain(remoteDom, remotePort, handler) {
      return guest.bind_interdomain_evtchn_to_irqhandler(remoteDom, remotePort, handler);
    },
    /** @models torvalds/linux drivers/xen/events/events_base.c bind_interdomain_evtchn_to_irqhandler_lateeoi() */
    bindInterdomainLateeoi(remoteDom, remotePort, handler, opts) {
      const op = { remote_dom: remoteDom, remote_port: remotePort, local_port: 0 };
      const rc = hv.evtchn_bind_interdomain(backendDomid, op);
      if (rc < 0) return rc;
      hv.evtchn.bind_evtchn_to_irqhandler_lateeoi(backend, op.local_port, handler, opts);
      return op.local_port;
    },
    lateeoi(port, eoiFlags) { return hv.evtchn.xen_irq_lateeoi(backend, port, eoiFlags); },
    lateeoiStats(port) { return hv.evtchn.lateeoiStats(backend, port); },
    unbind(port) {
      guest.unbind_from_irqhandler(port);
      hv.evtchn_close(backendDomid, port);
    },
    send(port) { hv.evtchn_send(backendDomid, port); return hv.lastCostNs; },
    allocPage() {
      // increase_reservation: a fresh frame owned by the backend (not placed in its p2m).
      const mfn = hv.mem.alloc(backendDomid, PAGE_RAM);
      if (mfn >= 0) backend.totPages++;
      return mfn;
    },
  };
}
