/**
 * A backend writing arbitrary responses (seeded fuzz): rx responses with any id, offset, flags and
 * status, raw extras, tx responses for ids netfront did or did not send, now and then an impossible
 * rsp_prod. Netfront — hardened against its backend since Linux 5.x ("xen/netfront: don't trust the
 * backend response data blindly") — must never throw: it delivers what is valid, drops what is not,
 * or marks the device broken and stops; and while it is not broken a well-formed frame afterwards
 * still arrives, while once broken nothing more does.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { RING_GET_RESPONSE } from '../../../src/io/ring';
import { writeRxResponse } from '../../../src/io/netif';
import { linearSkb, makeRig, type Rig, run, tcpFrame } from './backend';

type RxPick =
  | { kind: 'data'; len: number; offset: number; flags: number; status: number | null }
  | { kind: 'raw'; id: number; offset: number; flags: number; status: number }
  | { kind: 'extra'; bytes: number[] };

const rxArb: fc.Arbitrary<RxPick> = fc.oneof(
  // a slot through the request's real grant: bytes copied at `offset`, any flags and status
  { weight: 6, arbitrary: fc.record({
    kind: fc.constant('data' as const),
    len: fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 0, max: 1600 }) }, { weight: 1, arbitrary: fc.constantFrom(0, 1, 14, 54, 4000) }),
    offset: fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 0, max: 2000 }) }, { weight: 1, arbitrary: fc.constantFrom(0, 96, 4095, 4096) }),
    flags: fc.integer({ min: 0, max: 0x3f }),
    status: fc.option(fc.oneof(fc.integer({ min: -3, max: 5000 }), fc.constantFrom(0, 4096, 4097, 32767)), { nil: null }),
  }) },
  // a response written straight into the ring: any id, offset, flags and status, no copy
  { weight: 2, arbitrary: fc.record({
    kind: fc.constant('raw' as const),
    id: fc.integer({ min: 0, max: 300 }),
    offset: fc.integer({ min: 0, max: 5000 }),
    flags: fc.integer({ min: 0, max: 0xff }),
    status: fc.integer({ min: -3, max: 5000 }),
  }) },
  // an extra_info slot of any type and flags
  { weight: 1, arbitrary: fc.record({
    kind: fc.constant('extra' as const),
    bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 8, maxLength: 8 }),
  }) },
);

const txArb = fc.record({ id: fc.integer({ min: 0, max: 300 }), status: fc.integer({ min: -3, max: 2 }) });

const caseArb = fc.record({
  sends: fc.integer({ min: 0, max: 4 }),
  answerSends: fc.boolean(),
  tx: fc.array(txArb, { maxLength: 4 }),
  rx: fc.array(rxArb, { minLength: 1, maxLength: 10 }),
  rxProdSkew: fc.oneof({ weight: 9, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.integer({ min: 257, max: 5000 }) }),
});

/** Writes one rx response slot the fuzz drew, consuming one posted request. */
function writeRx(r: Rig, s: RxPick, seed: number): void {
  const rx = r.be.rx;
  if (s.kind === 'data') {
    r.be.rxSlot(tcpFrame(Math.min(s.len, 4096 - Math.min(s.offset, 4096)), seed), s.flags, { offset: s.offset, status: s.status ?? s.len, noCopy: s.offset + s.len > 4096 });
  } else if (s.kind === 'raw') {
    writeRxResponse(rx.sring.view, RING_GET_RESPONSE(rx, rx.req_cons), s.id, s.offset, s.flags, s.status);
    rx.req_cons = (rx.req_cons + 1) >>> 0;
    rx.rsp_prod_pvt = rx.req_cons;
  } else {
    const o = RING_GET_RESPONSE(rx, rx.req_cons);
    for (let k = 0; k < 8; k++) rx.sring.view.setUint8(o + k, s.bytes[k]!);
    rx.req_cons = (rx.req_cons + 1) >>> 0;
    rx.rsp_prod_pvt = rx.req_cons;
  }
}

describe('a backend writing arbitrary responses', () => {
  it('netfront delivers, drops or breaks, never throws; not broken it still receives, broken it receives nothing', () => {
    const seen = { broken: 0, survived: 0, delivered: 0 };
    fc.assert(fc.property(caseArb, ({ sends, answerSends, tx, rx, rxProdSkew }) => {
      const r = makeRig();
      const q = r.np.queues[0]!;
      // The guest sends a few packets; the backend answers them properly, or not at all.
      for (let i = 0; i < sends; i++) r.np.netdev.ndo_start_xmit(linearSkb(r.pool, 60 + 100 * i, i));
      run(r);
      if (answerSends) {
        for (let p = r.be.readTxPacket(); p !== null; p = r.be.readTxPacket()) r.be.respond(p);
      }
      for (const t of tx) r.be.rawTxResponse(t.id, t.status);
      r.be.pushTx();
      r.hv.guest(0).notify_remote_via_evtchn(r.be.txPort);
      rx.forEach((s, i) => writeRx(r, s, i));
      if (rxProdSkew !== null) r.be.rx.rsp_prod_pvt = (q.rx.rsp_cons + rxProdSkew) >>> 0;
      r.be.pushRx();
      r.hv.guest(0).notify_remote_via_evtchn(r.be.rxPort);
      expect(() => run(r, 3_000_000)).not.toThrow();
      if (r.received.length > 0) seen.delivered++;

      // Afterwards: one well-formed frame in the next posted buffer.
      const before = r.received.length;
      const wasBroken = r.np.broken;
      if (rxProdSkew === null && r.be.rxAvailable > 0) {
        const frame = tcpFrame(300, 99);
        r.be.rxSlot(frame, 0);
        r.be.pushRx();
        r.hv.guest(0).notify_remote_via_evtchn(r.be.rxPort);
        expect(() => run(r, 3_000_000)).not.toThrow();
        if (wasBroken) {
          expect(r.received.length).toBe(before);
        } else {
          expect(r.received.length).toBe(before + 1);
          expect(Array.from(r.received[before]!.bytes)).toEqual(Array.from(frame));
        }
      }
      if (r.np.broken) {
        seen.broken++;
        expect(r.np.brokenReason).not.toBe('');
      } else {
        seen.survived++;
      }
    }), { numRuns: 120, seed: 20261125 });
    // The cases reached every outcome.
    expect(seen.broken).toBeGreaterThan(10);
    expect(seen.survived).toBeGreaterThan(10);
    expect(seen.delivered).toBeGreaterThan(10);
  });
});
