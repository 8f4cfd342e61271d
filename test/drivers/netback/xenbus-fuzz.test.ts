/**
 * A frontend writing arbitrary xenstore keys (seeded fuzz): whatever a guest writes under its
 * device directory, netback must answer as Linux's xenbus backend does — connect, or refuse with
 * an error node and Closing — without throwing, and the other guest on the host keeps its traffic.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { udpFrame } from './harness';
import { XenbusStateClosing } from '../../../src/io/xen-constants';
import type { AnyTraceRecord } from '../../../src/sim/trace';
import { addScriptedFrontend, dom0Sends, guestSends, makeHost, read } from './xenbus-host';

/** A value for one key: the working one, none (key removed), or something a hostile guest might write. */
const valueArb = fc.oneof(
  { weight: 4, arbitrary: fc.constant('GOOD') },
  { weight: 1, arbitrary: fc.constant(null) },
  {
    weight: 3, arbitrary: fc.constantFrom(
      '', ' ', '0', '1', '2', '8', '-1', '+1', '0x10', '1abc', 'abc', ' 3', '4096', '65535',
      '4294967295', '4294967296', '4294967297', '99999999999999999999',
    ),
  },
  { weight: 1, arbitrary: fc.nat(5000).map(String) },
);

const KEYS = [
  'tx-ring-ref', 'rx-ring-ref', 'event-channel', 'event-channel-tx', 'event-channel-rx', 'request-rx-copy',
  'feature-rx-notify', 'feature-sg', 'feature-gso-tcpv4', 'feature-gso-tcpv6', 'feature-no-csum-offload',
  'feature-ipv6-csum-offload', 'request-multicast-control', 'multi-queue-num-queues',
  'queue-0/tx-ring-ref', 'queue-0/rx-ring-ref', 'queue-0/event-channel', 'queue-1/tx-ring-ref',
] as const;

const caseArb = fc.record({
  keys: fc.record(Object.fromEntries(KEYS.map((k) => [k, valueArb])) as Record<(typeof KEYS)[number], typeof valueArb>),
  // XenbusState values and garbage, written one after another
  states: fc.array(fc.constantFrom('1', '2', '3', '4', '5', '6', '7', 'x', ''), { minLength: 1, maxLength: 4 }),
});

describe('a frontend writing arbitrary xenstore keys', () => {
  for (const design of ['modern', 'classic'] as const) {
    it(`${design} netback connects or refuses (error node, Closing), never throws, and the other guest keeps its traffic`, () => {
      const seen = { connected: 0, refused: 0 };
      fc.assert(fc.property(caseArb, ({ keys, states }) => {
        const h = makeHost(design === 'modern' ? {} : { design, params: { 'netback.design': 'classic', 'netfront.design': 'classic' } });
        const goodVif = h.be.vif!;
        const goodNp = h.np;
        const stateLog: AnyTraceRecord[] = [];
        h.sim.trace.on('xen.xenbus.state', (r: AnyTraceRecord) => { stateLog.push(r); });
        const evil = addScriptedFrontend(h, {}, states[0]!);
        const beStates = (): number[] => stateLog.filter((r) => r.path === evil.h.paths.backend).map((r) => r.to as number);
        const fe = evil.fe;
        expect([h.be.design, evil.h.be.design]).toEqual([design, design]);
        // The working values name the scripted frontend's real rings and port; the rest is written as drawn.
        const good: Record<string, string> = {
          'tx-ring-ref': String(fe.txRef), 'rx-ring-ref': String(fe.rxRef), 'event-channel': String(fe.port),
          'event-channel-tx': String(fe.port), 'event-channel-rx': String(fe.port), 'request-rx-copy': '1',
          'queue-0/tx-ring-ref': String(fe.txRef), 'queue-0/rx-ring-ref': String(fe.rxRef), 'queue-0/event-channel': String(fe.port),
          'queue-1/tx-ring-ref': String(fe.txRef), 'multi-queue-num-queues': '1',
        };
        const st = h.hv.xenstore;
        const dir = evil.h.paths.frontend;
        for (const [k, v] of Object.entries(keys)) {
          if (v === null) st.rm(`${dir}/${k}`);
          else st.write(`${dir}/${k}`, v === 'GOOD' ? (good[k] ?? '1') : v);
        }
        for (const s of states) {
          st.write(`${dir}/state`, s);
          h.run(1_000_000);
        }
        h.run();

        const be = evil.h.be;
        const beState = read(h, `${evil.h.paths.backend}/state`);
        const error = read(h, `/local/domain/0/error/backend/vif/${fe.domid}/0/error`);
        const vif = be.vif;
        if (vif !== null && vif.connected) {
          seen.connected++;
          expect(vif.queues.length).toBeGreaterThan(0);
        } else {
          // Not connected: nothing of the frontend stays mapped (its ring grants are idle again).
          if (vif !== null) expect(vif.queues).toHaveLength(0);
          expect([fe.g.gnttab.gnttab_query_foreign_access(fe.txRef), fe.g.gnttab.gnttab_query_foreign_access(fe.rxRef)]).toEqual([false, false]);
        }
        if (error !== undefined) {
          // xenbus_dev_fatal: the error node, then Closing (a frontend that starts over may bring
          // the backend back to InitWait afterwards; the node stays, as in Linux).
          seen.refused++;
          expect(beStates()).toContain(XenbusStateClosing);
          expect(be.error).toBe(error);
          if (beState === '4') expect(vif?.connected).toBe(true);
        }
        // The other guest: both directions still carry a frame, byte for byte.
        const out = udpFrame(300, 3);
        expect(Array.from(guestSends(h, goodNp, out))).toEqual(Array.from(out));
        const back = udpFrame(200, 4);
        expect(Array.from(dom0Sends(h, goodVif, back))).toEqual(Array.from(back));
      }), { numRuns: 80, seed: 20261125 });
      // The cases reached both outcomes.
      expect(seen.connected).toBeGreaterThan(5);
      expect(seen.refused).toBeGreaterThan(10);
    });
  }
});
