/**
 * Builds netback's NetbackHypervisor view from the real hypervisor model (src/xen) for one
 * backend domain: grant-table and event-channel hypercalls made as that domain, with the cost of
 * each returned to the caller, and a page allocator for netback's dom0 staging frames.
 */
import type { Hypervisor } from '../../xen/hypervisor';
import { PAGE_RAM } from '../../xen/memory';
import type { NetbackHypervisor } from './platform';

/** The hypervisor as backend domain `backendDomid` (normally dom0) uses it. */
export function netbackHypervisor(hv: Hypervisor, backendDomid = 0): NetbackHypervisor {
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
