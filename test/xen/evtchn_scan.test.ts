/**
 * The guest's 2-level scan (evtchn_2l_handle_events) finds words and ports with
 * count-trailing-zeros. These tests check it against a straightforward reference that walks all
 * 65 word steps and all 64 bits of each word, as Linux's loop reads: same ports, same order,
 * same trace records, same scan position and same shared_info bytes afterwards, for random
 * pending/mask bitmaps, scan start positions and handlers that change bits while the scan runs.
 */
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import type { Domain } from '../../src/xen/domain';
import { host, type Host } from './helpers';

const SEL_W = 8 >> 2, PENDING_W = 2048 >> 2, MASK_W = 2560 >> 2;

/** The scan as a plain loop over every word step and bit (the model before the ctz rewrite). */
function referenceHandleEvents(h: Host, d: Domain): void {
  const u32 = h.hv.mem.u32;
  const w = (d.sharedInfoMfn << 12) >>> 2;
  const selLo = u32[w + SEL_W]!, selHi = u32[w + SEL_W + 1]!;
  u32[w + SEL_W] = 0;
  u32[w + SEL_W + 1] = 0;
  if ((selLo | selHi) === 0) return;
  const startWord = d.scanWord, startBit = d.scanBit;
  for (let step = 0; step <= 64; step++) {
    const word = (startWord + step) & 63;
    if (((word < 32 ? selLo >>> word : selHi >>> (word - 32)) & 1) === 0) continue;
    // The start word twice: from startBit at first, then whole (Linux: "Scan start_l1i twice").
    const from = word === startWord && step === 0 ? startBit : 0;
    const pw = w + PENDING_W + word * 2, mw = w + MASK_W + word * 2;
    const lo = (u32[pw]! & ~u32[mw]!) >>> 0;
    const hi = (u32[pw + 1]! & ~u32[mw + 1]!) >>> 0;
    for (let bit = from; bit < 64; bit++) {
      if (((bit < 32 ? lo >>> bit : hi >>> (bit - 32)) & 1) === 0) continue;
      const port = word * 64 + bit;
      const next = (bit + 1) & 63;
      d.scanWord = next !== 0 ? word : (word + 1) & 63;
      d.scanBit = next;
      const handler = d.irqHandlers[port];
      const tp = h.hv.tp.upcall;
      if (handler === undefined) {
        if (tp.on) tp.emit({ dom: d.domid, port, handled: false });
        continue;
      }
      u32[w + PENDING_W + (port >>> 5)] = u32[w + PENDING_W + (port >>> 5)]! & ~(1 << (port & 31));
      h.hv.evtchn.counters.dispatched++;
      if (tp.on) tp.emit({ dom: d.domid, port, handled: true });
      handler(port);
    }
  }
}

interface PortSetup { port: number; handler: boolean; masked: boolean; pending: boolean }
type Action = { kind: 'pend' | 'mask' | 'unmask'; port: number } | { kind: 'none' };
interface Scenario { ports: PortSetup[]; scanWord: number; scanBit: number; actions: Action[] }

/** Runs one upcall of dom0 under `scenario`; returns everything observable afterwards. */
function runScenario(scenario: Scenario, reference: boolean) {
  const h = host();
  const ops = h.hv.evtchn;
  const d = h.dom0.domain;
  if (reference) {
    (ops as unknown as { evtchn_2l_handle_events: (d: Domain) => void }).evtchn_2l_handle_events = (dd) => referenceHandleEvents(h, dd);
  }
  const rec = h.sim.trace.record('xen.evtchn.');
  const log: number[] = [];
  let calls = 0;
  const handler = (port: number): void => {
    log.push(port);
    const a = scenario.actions.length > 0 && calls < 200 ? scenario.actions[calls % scenario.actions.length]! : { kind: 'none' as const };
    calls++;
    if (a.kind === 'pend') ops.evtchn_2l_set_pending(d, a.port);
    else if (a.kind === 'mask') ops.mask_evtchn(d, a.port);
    else if (a.kind === 'unmask') ops.evtchn_2l_unmask(d, a.port);
  };
  for (const p of scenario.ports) {
    if (p.handler) h.dom0.bind_evtchn_to_irqhandler(p.port, handler);
    else if (!p.masked) ops.evtchn_2l_unmask(d, p.port);
  }
  for (const p of scenario.ports) if (p.masked) ops.mask_evtchn(d, p.port);
  d.scanWord = scenario.scanWord;
  d.scanBit = scenario.scanBit;
  for (const p of scenario.ports) if (p.pending) ops.evtchn_2l_set_pending(d, p.port);
  h.sim.run();
  const page = h.hv.mem.page(d.sharedInfoMfn);
  return {
    log, trace: rec.records, scanWord: d.scanWord, scanBit: d.scanBit,
    counters: { ...ops.counters }, sharedInfo: Array.from(page.subarray(0, 16)).concat(Array.from(page.subarray(2048, 3072))),
  };
}

// Ports: anywhere, or crowded into a few words (so words hold several pending bits, including
// bits 31/32 and 63 at the halves' edges).
const portArb = fc.oneof(
  fc.integer({ min: 1, max: 4095 }),
  fc.integer({ min: 1, max: 130 }),
  fc.constantFrom(31, 32, 63, 64, 95, 96, 127, 2047, 2048, 4064, 4095),
);
// The scan start is random, or right next to one of the ports (just before, at or after it), so
// the starting word's two parts both hold pending bits.
const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  ports: fc.uniqueArray(
    fc.record({ port: portArb, handler: fc.boolean(), masked: fc.boolean(), pending: fc.boolean() }),
    { minLength: 1, maxLength: 40, selector: (p) => p.port },
  ),
  scanWord: fc.integer({ min: 0, max: 63 }),
  scanBit: fc.integer({ min: 0, max: 63 }),
  near: fc.option(fc.record({ index: fc.nat(), delta: fc.integer({ min: -1, max: 1 }) })),
  actions: fc.array(
    fc.oneof(
      fc.record({ kind: fc.constantFrom('pend' as const, 'mask' as const, 'unmask' as const), port: portArb }),
      fc.constant({ kind: 'none' as const }),
    ),
    { maxLength: 8 },
  ),
}).map(({ near, ...s }) => {
  if (near === null) return s;
  const at = Math.min(4095, Math.max(0, s.ports[near.index % s.ports.length]!.port + near.delta));
  return { ...s, scanWord: at >>> 6, scanBit: at & 63 };
});

describe('evtchn_2l_handle_events()', () => {
  test('evtchn_2l_handle_events() visits the same ports in the same order as the plain 64 x 64 loop', () => {
    fc.assert(
      fc.property(scenarioArb, (scenario) => {
        expect(runScenario(scenario, false)).toEqual(runScenario(scenario, true));
      }),
      { numRuns: 600, seed: 20240611 },
    );
  });

  test('evtchn_2l_handle_events() starts at the saved word and bit, wraps, and ends below the start bit', () => {
    // Pending ports in word 5 (bits 3 and 40), word 63 (bit 63) and word 0 (bit 7); the scan
    // resumes at word 5 bit 10: bit 40 of word 5 first, then word 63, word 0, then word 5 bit 3.
    const scenario: Scenario = {
      ports: [5 * 64 + 3, 5 * 64 + 40, 63 * 64 + 63, 7].map((port) => ({ port, handler: true, masked: false, pending: true })),
      scanWord: 5, scanBit: 10, actions: [],
    };
    const r = runScenario(scenario, false);
    expect(r.log).toEqual([5 * 64 + 40, 4095, 7, 5 * 64 + 3]);
    expect([r.scanWord, r.scanBit]).toEqual([5, 4]);
    expect(r).toEqual(runScenario(scenario, true));
  });

  test('the start word is scanned twice: a port in it raised again during the scan is taken before a later word\'s', () => {
    // Ports 5 (word 0), 70 and 80 (word 1); the scan starts at word 0, bit 0. Port 70's handler
    // raises 5 and 80 again: Linux takes 5 in its second look at word 0, then 80 in the next pass.
    const h = host();
    const ops = h.hv.evtchn;
    const d = h.dom0.domain;
    const log: number[] = [];
    for (const port of [5, 70, 80]) {
      h.dom0.bind_evtchn_to_irqhandler(port, (p) => {
        log.push(p);
        if (p === 70) { ops.evtchn_2l_set_pending(d, 5); ops.evtchn_2l_set_pending(d, 80); }
      });
    }
    d.scanWord = 0;
    d.scanBit = 0;
    ops.evtchn_2l_set_pending(d, 5);
    ops.evtchn_2l_set_pending(d, 70);
    h.sim.run();
    expect(log).toEqual([5, 70, 5, 80]);
  });
});
