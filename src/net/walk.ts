/**
 * The packet walk: one trace event shape for "packet P passed function F in domain D", emitted by
 * every modeled step on the data path — netfront, Xen, netback, dom0's stack, the bridge, the
 * NIC, the wire — so that the walk of one packet is simply the `pkt.step` records with its id, in
 * time order, and a swimlane chart needs no special-case code.
 *
 *   const walk = sim.trace.record('pkt.step');
 *   …run…
 *   walk.of('pkt.step').filter((r) => r.pkt === id).map((r) => r.fn)
 *   // ['xennet_start_xmit', 'gnttab_grant_foreign_access_ref', 'RING_PUSH_REQUESTS_AND_CHECK_NOTIFY', …]
 *
 * Emit through `emitStep` guarded by the point's `on` flag:
 *
 *   if (this.tpStep.on) emitStep(this.tpStep, skb.id, 'xenvif_tx_build_gops', 'dom0', this.domid, cost);
 *
 * Packet ids come from the SkbPool (`skb.id`); a step that works on a ring slot rather than an skb
 * (netback reading requests) uses the id the frontend's packet carries through the model (see
 * the drivers: netfront stamps its tx requests' packet ids in a side table netback can read,
 * which stands in for the learner following the same packet on both sides).
 */
import { defineTraceEvents, type TraceEvents, type TracePoint } from '../sim/trace';

/** The swimlanes of the transmit/receive walk. */
export type Lane = 'domU' | 'xen' | 'dom0' | 'bridge' | 'nic' | 'wire' | 'host';

declare module '../sim/trace' {
  interface TraceEvents {
    'pkt.step': {
      /** Packet id (skb.id at the origin). */
      pkt: number;
      /** The real kernel / Xen function name of the step. */
      fn: string;
      lane: Lane;
      /**
       * Domain id whose CPU ran the step (-1 outside any Xen domain: the wire, an external host);
       * for a hypercall (lane 'xen') the domain that made it.
       */
      dom: number;
      /** CPU time charged for this step, ns (0 for pure latency such as wire propagation). */
      cpuNs: number;
      /** Optional detail: ring index, slot count, grant ref, egress port… */
      detail?: string;
    };
  }
}

defineTraceEvents({
  'pkt.step': 'A packet passed one modeled function (named as in Linux or Xen) in one domain or on the wire.',
});

type StepFields = TraceEvents['pkt.step'];

/**
 * Emits one `pkt.step` record. The record is built with its `t` and `ev` fields already in place
 * (TracePoint.emit fills them in, in the same key order it would add them), so emitting stores
 * into existing fields instead of growing every record by two properties.
 */
export function emitStep(tp: TracePoint<'pkt.step'>, pkt: number, fn: string, lane: Lane, dom: number, cpuNs: number, detail?: string): void {
  tp.emit(detail === undefined
    ? { pkt, fn, lane, dom, cpuNs, t: 0, ev: 'pkt.step' } as StepFields
    : { pkt, fn, lane, dom, cpuNs, detail, t: 0, ev: 'pkt.step' } as StepFields);
}

/** The side tables of one shared ring page: packet ids and birth times by slot. */
interface RingPageWalk {
  readonly ids: Uint32Array;
  readonly born: Float64Array;
}

const PAGE_WALK = new WeakMap<Uint8Array, RingPageWalk>();

/** The side tables of `page` (256 slots each, created on first use). */
function ringPageWalk(page: Uint8Array): RingPageWalk {
  let t = PAGE_WALK.get(page);
  if (t === undefined) {
    t = { ids: new Uint32Array(256), born: new Float64Array(256) };
    PAGE_WALK.set(page, t);
  }
  return t;
}

/**
 * The packet-id side table of one shared ring page, keyed by the page's byte view (the memory
 * model hands out one view per frame, so the frontend mapping its ring page and the backend
 * mapping the same frame get the same table). The producer of a ring slot writes
 * `ids[idx & 255] = skb.id`, the consumer reads it: one packet, one id across domains. Nothing in
 * the model's behaviour depends on it.
 */
export function ringPageWalkIds(page: Uint8Array): Uint32Array {
  return ringPageWalk(page).ids;
}

/**
 * The birth-time side table of one shared ring page, beside `ringPageWalkIds`: the producer of a
 * slot writes the packet's `skb.bornAt` (virtual ns), the consumer gives the skb it builds the
 * same birth time, so a socket's latency is the sender's `udp_sendmsg` to its `udp_rcv` across
 * the ring, as the wire carries it across the link. Metadata, like the id: nothing in the model's
 * behaviour depends on it.
 */
export function ringPageWalkBorn(page: Uint8Array): Float64Array {
  return ringPageWalk(page).born;
}
