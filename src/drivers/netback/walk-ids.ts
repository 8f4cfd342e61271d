/**
 * Packet ids beside a shared ring, for the packet walk only.
 *
 * A ring slot carries no packet identity a learner could follow from netfront to netback (the
 * tx request's `id` is netfront's slot id, reused constantly). So the producer of a ring slot
 * writes the packet id (`skb.id`) at the same slot index in a side table keyed by the ring
 * page's machine frame, and the consumer reads it: netfront writes `ids[req_prod & 255]` for
 * each tx request and reads `ids[rsp_cons & 255]` on rx; netback reads tx ids and writes rx ids.
 * Nothing in the model's behaviour depends on it; it stands in for the learner's eye.
 */
import type { HostMemory } from '../../xen/memory';

const TABLES = new WeakMap<HostMemory, Map<number, Uint32Array>>();

/** The packet-id table of the ring page in machine frame `mfn` (256 entries, created on first use). */
export function ringWalkIds(mem: HostMemory, mfn: number): Uint32Array {
  let m = TABLES.get(mem);
  if (m === undefined) {
    m = new Map();
    TABLES.set(mem, m);
  }
  let t = m.get(mfn);
  if (t === undefined) {
    t = new Uint32Array(256);
    m.set(mfn, t);
  }
  return t;
}
