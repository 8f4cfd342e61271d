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
import { ringPageWalkIds } from '../../net/walk';

/** The packet-id table of the ring page in machine frame `mfn` (256 entries, created on first use). */
export function ringWalkIds(mem: HostMemory, mfn: number): Uint32Array {
  // Keyed by the frame's page view, so netfront (which writes tx ids and reads rx ids through its
  // own mapping of the same frame) shares the table: see src/net/walk.ts ringPageWalkIds().
  return ringPageWalkIds(mem.page(mfn));
}
