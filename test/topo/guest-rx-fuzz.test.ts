/**
 * A guest that scribbles over the receive requests it has posted (any id, any grant — its own,
 * a reserved one, one never granted), and now and then publishes an impossible req_prod, while
 * the external host streams datagrams to it: netback answers each copy with its status or
 * disables the vif, netfront drops or marks itself broken, the simulator keeps running, and the
 * other guest still receives. Both designs.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { buildXenHost, type XenHost } from '../../src/topo';
import { RING_GET_REQUEST } from '../../src/io/ring';
import { writeRxRequest } from '../../src/io/netif';

function host(design: 'modern' | 'classic'): XenHost {
  const h = buildXenHost({ seed: 6, guests: [{ name: 'rogue', design, pages: 2048 }, { name: 'good', design, pages: 2048 }] });
  h.guest('rogue').endpoint.bind(7000);
  h.guest('good').endpoint.bind(7000);
  h.external.endpoint.sendUdp(h.guest('rogue').ip, 7000, 64, 7000);
  h.external.endpoint.sendUdp(h.guest('good').ip, 7000, 64, 7000);
  h.runFor(h.ms(2));
  return h;
}

const caseArb = fc.record({
  writes: fc.array(fc.record({
    slot: fc.nat(255), // position ahead of the backend's req_cons
    id: fc.integer({ min: 0, max: 300 }),
    gref: fc.nat(3), // 0: the slot's own grant kept; 1: ref 0; 2: never granted; 3: another slot's grant
  }), { minLength: 1, maxLength: 30 }),
  reqProdSkew: fc.oneof({ weight: 7, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.integer({ min: 257, max: 5000 }) }),
  packets: fc.integer({ min: 1, max: 40 }),
  size: fc.constantFrom(64, 1000, 1472),
});

describe('a guest scribbling over its posted receive requests', () => {
  for (const design of ['modern', 'classic'] as const) {
    it(`${design}: copies answered or the vif disabled, the simulator keeps running, the other guest still receives`, () => {
      const seen = { copyErrors: 0, broken: 0, disabled: 0 };
      fc.assert(fc.property(caseArb, ({ writes, reqProdSkew, packets, size }) => {
        const h = host(design);
        const q = h.guest('rogue').netfront.queues[0]!;
        const view = q.rx.sring.view;
        const base = q.rx.rsp_cons;
        for (const w of writes) {
          const idx = (base + w.slot) >>> 0;
          const o = RING_GET_REQUEST(q.rx, idx);
          const own = view.getUint32(o + 4, true);
          const other = view.getUint32(RING_GET_REQUEST(q.rx, (idx + 7) >>> 0) + 4, true);
          writeRxRequest(view, o, w.id, [own, 0, 4000, other][w.gref]!);
        }
        if (reqProdSkew !== null) q.rx.sring.req_prod = (q.rx.sring.req_prod + reqProdSkew) >>> 0;
        h.guest('rogue').netfront.xen.notify_remote_via_evtchn(q.rx_evtchn);
        for (let i = 0; i < packets; i++) h.external.endpoint.sendUdp(h.guest('rogue').ip, 7000, size, 7000);
        h.runFor(h.ms(5));
        const sock = h.guest('good').endpoint.socket(7000)!;
        const before = sock.packets;
        for (let i = 0; i < 3; i++) h.external.endpoint.sendUdp(h.guest('good').ip, 7000, 500, 7000);
        h.runFor(h.ms(5));
        expect(sock.packets - before).toBe(3);
        const rogue = h.guest('rogue');
        if (rogue.vif.counters.rx_copy_errors > 0) seen.copyErrors++;
        if (rogue.netfront.broken) seen.broken++;
        if (rogue.vif.disabled) seen.disabled++;
      }), { numRuns: 50, seed: 20261125 });
      // The cases did reach the error paths (not all answered as if nothing were wrong).
      expect(seen.copyErrors + seen.broken + seen.disabled).toBeGreaterThan(10);
    });
  }
});
