/**
 * A guest that writes arbitrary transmit requests — real and bogus grants, any offset, size and
 * flags, extras of every type, chains of any length, now and then an impossible req_prod — never
 * stops the model: netback answers each request or disables the vif, as Linux does; the simulator
 * keeps running; and the other guest's datagrams still reach the external host. Both designs.
 * (A handwritten case of this kind found the 2.6.18 18-fragment packet that used to throw.)
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { buildXenHost, type XenHost } from '../../src/topo';
import { grantGuestPage, injectTxSlots, type RawTxSlot } from '../../src/topo/lab-misbehave';
import { buildUdpFrame } from '../../src/wire/build';
import { Ipv4Addr, MacAddr } from '../../src/wire/address';

function host(design: 'modern' | 'classic'): XenHost {
  const h = buildXenHost({ seed: 5, guests: [{ name: 'rogue', design, pages: 2048 }, { name: 'good', design, pages: 2048 }] });
  h.external.endpoint.bind(9002);
  h.guest('good').endpoint.sendUdp('10.0.0.100', 9002, 64);
  h.runFor(h.ms(2));
  return h;
}

type SlotPick =
  | { kind: 'req'; gref: number; offset: number; size: number; flags: number; id: number }
  | { kind: 'extra'; extraType: number; extraFlags: number };

const slotArb: fc.Arbitrary<SlotPick> = fc.oneof(
  { weight: 8, arbitrary: fc.record({
    kind: fc.constant('req' as const),
    gref: fc.nat(3), // 0, 1: granted pages; 2: ref 0 (reserved); 3: a ref never granted
    // Mostly requests that fit their page (modern netback disables the vif for one that does not).
    offset: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 2000 }) }, { weight: 1, arbitrary: fc.constantFrom(0, 4095, 4096, 4200) }),
    size: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 2000 }) }, { weight: 1, arbitrary: fc.constantFrom(0, 13, 14, 64, 65, 1514, 9000) }),
    // csum_blank and data_validated at random; more_data in 3 of 10; extra_info in 1 of 20 (the
    // next slot is then read as an extra, usually of an unknown type: fatal in modern netback).
    flags: fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 19 }))
      .map(([csum, more, extra]) => csum | (more < 3 ? 4 : 0) | (extra === 0 ? 8 : 0)),
    id: fc.integer({ min: 0, max: 300 }),
  }) },
  { weight: 1, arbitrary: fc.record({
    kind: fc.constant('extra' as const),
    extraType: fc.integer({ min: 0, max: 7 }),
    extraFlags: fc.integer({ min: 0, max: 1 }),
  }) },
);

/** A well-formed-looking chain: n slots on one granted page, more_data on all but the last. */
const chainArb: fc.Arbitrary<SlotPick[]> = fc.record({
  n: fc.integer({ min: 2, max: 24 }),
  first: fc.integer({ min: 14, max: 1514 }),
  frag: fc.integer({ min: 1, max: 600 }),
  id: fc.integer({ min: 0, max: 300 }),
}).map(({ n, first, frag, id }) => Array.from({ length: n }, (_, i): SlotPick => ({
  kind: 'req', gref: 0, offset: 0, size: i === 0 ? first + (n - 1) * frag : frag, flags: i < n - 1 ? 4 : 0, id: (id + i) & 0xffff,
})));

const caseArb = fc.record({
  slots: fc.array(fc.oneof({ weight: 3, arbitrary: slotArb.map((x) => [x]) }, { weight: 1, arbitrary: chainArb }), { minLength: 1, maxLength: 12 })
    .map((groups) => groups.flat().slice(0, 200)),
  reqProdSkew: fc.oneof({ weight: 9, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.integer({ min: 257, max: 5000 }) }),
});

describe('a guest writing arbitrary transmit requests', () => {
  for (const design of ['modern', 'classic'] as const) {
    it(`${design} netback answers or disables, the simulator keeps running, the other guest still delivers`, () => {
      const seen = { refused: 0, disabled: 0 };
      fc.assert(fc.property(caseArb, ({ slots, reqProdSkew }) => {
        const h = host(design);
        const rogue = h.guest('rogue');
        const frame = buildUdpFrame({
          srcMac: MacAddr.fromBytes(rogue.eth0.mac), dstMac: MacAddr.fromBytes(h.external.nic.mac), srcIp: Ipv4Addr.parse(rogue.ip),
          dstIp: h.external.endpoint.ip, srcPort: 9001, dstPort: 9001, payloadLength: 1000,
        });
        const pages = [grantGuestPage(rogue, frame), grantGuestPage(rogue)];
        const grefs = [pages[0]!.gref, pages[1]!.gref, 0, 4000];
        const raw: RawTxSlot[] = slots.map((s) => s.kind === 'extra'
          ? { extraType: s.extraType, extraFlags: s.extraFlags }
          : { gref: grefs[s.gref]!, offset: s.offset, size: s.size, flags: s.flags, id: s.id });
        const q = rogue.netfront.queues[0]!;
        injectTxSlots(rogue, raw, reqProdSkew === null ? {} : { reqProd: (q.tx.req_prod_pvt + reqProdSkew) >>> 0 });
        h.runFor(h.ms(3));
        const sock = h.external.endpoint.socket(9002)!;
        const before = sock.packets;
        for (let i = 0; i < 3; i++) h.guest('good').endpoint.sendUdp('10.0.0.100', 9002, 500);
        h.runFor(h.ms(3));
        expect(sock.packets - before).toBe(3);
        expect(h.guest('good').vif.disabled).toBe(false);
        if (h.sim.drops.total({ where: rogue.vif.name }) > 0) seen.refused++;
        if (rogue.vif.disabled) seen.disabled++;
      }), { numRuns: 60, seed: 20261125 });
      // The cases did reach netback's checks (refused packets, and for modern a disabled vif).
      expect(seen.refused).toBeGreaterThan(20);
      if (design === 'modern') expect(seen.disabled).toBeGreaterThan(5);
    });
  }
});
