/**
 * Trace events of the hypervisor model. Every hypercall the drivers make, every event-channel
 * notification and upcall, and every xenstore change and watch is one typed event.
 *
 * Direction conventions: `dom` is always the domain that made the call (or, for an upcall, the
 * domain whose handler ran).
 */
import { defineTraceEvents } from '../sim/trace';

/** How an EVTCHNOP_send ended. */
export type EvtchnSendResult = 'delivered' | 'coalesced' | 'masked' | 'dropped_unbound' | 'einval';

declare module '../sim/trace' {
  interface TraceEvents {
    'xen.gnttab.map': { dom: number; ops: number; ok: number; failed: number; firstStatus: number; costNs: number };
    'xen.gnttab.unmap': { dom: number; ops: number; ok: number; failed: number; firstStatus: number; costNs: number };
    'xen.gnttab.copy': { dom: number; ops: number; ok: number; failed: number; firstStatus: number; bytes: number; costNs: number };
    'xen.gnttab.transfer': { dom: number; ops: number; ok: number; failed: number; firstStatus: number; costNs: number };
    'xen.gnttab.setup_table': { dom: number; target: number; nrFrames: number; status: number };
    'xen.evtchn.send': { dom: number; port: number; remoteDom: number; remotePort: number; result: EvtchnSendResult };
    'xen.evtchn.bind': { dom: number; port: number; remoteDom: number; remotePort: number };
    'xen.evtchn.close': { dom: number; port: number; rc: number };
    'xen.evtchn.upcall': { dom: number; port: number; handled: boolean };
    'xen.xenstore.write': { dom: number; path: string; value: string; tx: number };
    'xen.xenstore.rm': { dom: number; path: string; tx: number };
    'xen.xenstore.commit': { dom: number; tx: number; rc: number; changes: number };
    'xen.xenstore.watch': { dom: number; path: string; token: string };
    'xen.xenbus.state': { dom: number; path: string; from: number; to: number; name: string };
  }
}

defineTraceEvents({
  'xen.gnttab.map': 'A domain made a GNTTABOP_map_grant_ref hypercall; ok/failed count the per-op statuses.',
  'xen.gnttab.unmap': 'A domain made a GNTTABOP_unmap_grant_ref hypercall (one TLB flush per 32 ops).',
  'xen.gnttab.copy': 'A domain made a GNTTABOP_copy hypercall (or one op through the hot-path copy); bytes counts successful copies.',
  'xen.gnttab.transfer': 'A domain made a GNTTABOP_transfer hypercall, giving pages away (page flipping).',
  'xen.gnttab.setup_table': 'A domain grew (or queried) a grant table with GNTTABOP_setup_table.',
  'xen.evtchn.send': 'A domain notified an event channel; the result says whether an upcall follows, coalesced into a pending bit, was masked or was dropped.',
  'xen.evtchn.bind': 'A domain bound an interdomain event channel to a peer\'s unbound port (the local port is set pending).',
  'xen.evtchn.close': 'A domain closed an event channel port; an interdomain peer goes back to unbound.',
  'xen.evtchn.upcall': 'A domain\'s upcall found a pending, unmasked port and cleared it; handled says whether a handler was bound.',
  'xen.xenstore.write': 'A xenstore node was written (inside a transaction when tx is not 0).',
  'xen.xenstore.rm': 'A xenstore node and its children were removed.',
  'xen.xenstore.commit': 'A xenstore transaction ended; rc is 0 or -EAGAIN on conflict.',
  'xen.xenstore.watch': 'A xenstore watch fired in the watching domain with the changed path and the watch token.',
  'xen.xenbus.state': 'A xenbus device switched its XenbusState (the `state` node of its directory).',
});
