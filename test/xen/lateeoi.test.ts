/**
 * Linux's late EOI for event channels (drivers/xen/events/events_base.c, XSA-332) on the
 * 2-level model: a lateeoi port is masked from its upcall until the driver's xen_irq_lateeoi(),
 * and spurious EOIs past the threshold defer the unmask to the lateeoi worker on a jiffy tick.
 */
import { describe, expect, test } from 'vitest';
import { host, type Host } from './helpers';
import { XEN_EOI_FLAG_SPURIOUS } from '../../src/xen/event_channel';

const HZ = 250;
const JIFFY = 1_000_000_000 / HZ;

/** dom0 binds the guest's unbound port with the lateeoi chip; the handler logs its call times. */
function lateeoiPair(h: Host, opts: { hz?: number; spuriousThreshold?: number } = {}, onEvent?: (port: number) => void) {
  const gport = h.guest.xenbus_alloc_evtchn(0);
  const op = { remote_dom: 1, remote_port: gport, local_port: 0 };
  expect(h.hv.evtchn_bind_interdomain(0, op)).toBe(0);
  const bport = op.local_port;
  const calls: number[] = [];
  h.hv.evtchn.bind_evtchn_to_irqhandler_lateeoi(h.dom0.domain, bport, (p) => { calls.push(h.sim.now); onEvent?.(p); }, { hz: opts.hz ?? HZ, spuriousThreshold: opts.spuriousThreshold });
  return { gport, bport, calls };
}

function eoi(h: Host, port: number, flags: number): number {
  return h.hv.evtchn.xen_irq_lateeoi(h.dom0.domain, port, flags);
}

/** A bound pair whose first event was EOId spurious and whose second event now awaits its EOI. */
function secondEventAfterSpurious(): { h: Host; gport: number; bport: number } {
  const h = host();
  const { gport, bport } = lateeoiPair(h);
  h.sim.run();
  eoi(h, bport, XEN_EOI_FLAG_SPURIOUS);
  h.guest.notify_remote_via_evtchn(gport);
  h.sim.run();
  return { h, gport, bport };
}

/** `n` rounds of "spurious EOI, then another event" with `threshold`: the delay each EOI chose. */
function spuriousDelays(threshold: number, n: number): { delays: number[]; spuriousCnt: number } {
  const h = host();
  const { gport, bport } = lateeoiPair(h, { spuriousThreshold: threshold });
  h.sim.run();
  const delays: number[] = [];
  for (let i = 0; i < n; i++) {
    delays.push(eoi(h, bport, XEN_EOI_FLAG_SPURIOUS));
    h.guest.notify_remote_via_evtchn(gport);
    h.sim.run({ until: h.sim.now + 10_000 });
  }
  return { delays, spuriousCnt: h.hv.evtchn.lateeoiStats(h.dom0.domain, bport).spurious_cnt };
}

describe('event channels: late EOI (XSA-332)', () => {
  test('bind_evtchn_to_irqhandler_lateeoi(): an event masks the port until xen_irq_lateeoi(); events meanwhile only set pending and the EOI re-raises them', () => {
    const h = host();
    const { gport, bport, calls } = lateeoiPair(h);
    h.sim.run(); // the bind leaves the new port pending: one call
    expect(calls.length).toBe(1);
    expect(h.hv.evtchnMasked(0, bport)).toBe(true);
    const c0 = { ...h.sim.counters.get('xen.evtchn') };
    for (let i = 0; i < 3; i++) h.guest.notify_remote_via_evtchn(gport);
    h.sim.run();
    expect(calls.length).toBe(1);
    const c = h.sim.counters.get('xen.evtchn');
    expect(c.masked! - c0.masked!).toBe(1);
    expect(c.coalesced! - c0.coalesced!).toBe(2);
    expect(h.hv.evtchnPending(0, bport)).toBe(true);
    expect(eoi(h, bport, 0)).toBe(0);
    expect(h.hv.evtchnMasked(0, bport)).toBe(false);
    h.sim.run();
    expect(calls.length).toBe(2);
    expect(h.hv.evtchn.lateeoiStats(h.dom0.domain, bport)).toMatchObject({ events: 2, spurious_events: 0, eoi_pending: true, delayed: false });
  });

  test('a plain bind_evtchn_to_irqhandler() port is left unmasked after its handler, and xen_irq_lateeoi() on it is ignored (-1)', () => {
    const h = host();
    const gport = h.guest.xenbus_alloc_evtchn(0);
    let n = 0;
    const bport = h.dom0.bind_interdomain_evtchn_to_irqhandler(1, gport, () => { n++; });
    h.sim.run();
    expect(h.hv.evtchnMasked(0, bport)).toBe(false);
    h.guest.notify_remote_via_evtchn(gport);
    h.sim.run();
    expect(n).toBe(2);
    expect(eoi(h, bport, XEN_EOI_FLAG_SPURIOUS)).toBe(-1);
    expect(h.hv.evtchn.lateeoiStats(h.dom0.domain, bport)).toBeNull();
  });

  test('xen_irq_lateeoi(SPURIOUS): spurious_cnt 1 unmasks at once; spurious_cnt 2 > threshold 1 defers the unmask 1 jiffy to the worker, which unmasks on the tick and zeroes spurious_cnt', () => {
    const h = host();
    const rec = h.sim.trace.record('xen.evtchn.lateeoi');
    const { gport, bport, calls } = lateeoiPair(h);
    h.sim.run();
    expect(eoi(h, bport, XEN_EOI_FLAG_SPURIOUS)).toBe(0); // spurious_cnt 1: not above the threshold
    expect(h.hv.evtchnMasked(0, bport)).toBe(false);
    h.sim.run({ until: 10 * JIFFY + JIFFY / 2 }); // mid-jiffy 10
    h.guest.notify_remote_via_evtchn(gport);
    h.sim.run({ until: h.sim.now + 10_000 });
    expect(calls.length).toBe(2);
    expect(eoi(h, bport, XEN_EOI_FLAG_SPURIOUS)).toBe(1); // delay = 1 << (2 - 1 - 1)
    expect(h.hv.evtchn.lateeoiStats(h.dom0.domain, bport)).toMatchObject({ spurious_cnt: 2, delayed: true, eoi_pending: true });
    // Ignored while queued: "if (... !list_empty(&info->eoi_list)) return;"
    expect(eoi(h, bport, XEN_EOI_FLAG_SPURIOUS)).toBe(-1);
    h.guest.notify_remote_via_evtchn(gport); // masked: pending only
    h.sim.run({ until: 11 * JIFFY - 1 });
    expect(calls.length).toBe(2);
    expect(h.hv.evtchnMasked(0, bport)).toBe(true);
    h.sim.run({ until: 11 * JIFFY + 10_000 });
    expect(h.hv.evtchnMasked(0, bport)).toBe(true); // re-masked by the ack of the re-raised event
    expect(calls.length).toBe(3);
    expect(calls[2]).toBe(11 * JIFFY); // the worker's local unmask takes the pending event at once
    const st = h.hv.evtchn.lateeoiStats(h.dom0.domain, bport)!;
    expect(st).toMatchObject({ spurious_events: 2, jiffies_eoi_delayed: 1, delayed_eois: 1, spurious_cnt: 0, delayed: false });
    const delayed = rec.of('xen.evtchn.lateeoi').filter((r) => r.action === 'delayed');
    expect(delayed).toHaveLength(1);
    expect(delayed[0]).toMatchObject({ dom: 0, port: bport, spurious: true, from: 'driver', spuriousCnt: 2, delayJiffies: 1, eoiAtNs: 11 * JIFFY });
    expect(rec.of('xen.evtchn.lateeoi').filter((r) => r.from === 'worker').map((r) => [r.t, r.action, r.spurious])).toEqual([[11 * JIFFY, 'unmask', false]]);
    expect(h.sim.counters.get('xen.evtchn')).toMatchObject({ lateeoi_eois: 3, lateeoi_spurious: 2, lateeoi_delayed: 1 });
  });

  test('a non-spurious EOI resets spurious_cnt: the next spurious event unmasks at once again', () => {
    const { h, gport, bport } = secondEventAfterSpurious();
    expect(eoi(h, bport, 0)).toBe(0); // this one found work
    expect(h.hv.evtchn.lateeoiStats(h.dom0.domain, bport)!.spurious_cnt).toBe(0);
    h.guest.notify_remote_via_evtchn(gport);
    h.sim.run();
    expect(eoi(h, bport, XEN_EOI_FLAG_SPURIOUS)).toBe(0);
    expect(h.hv.evtchn.lateeoiStats(h.dom0.domain, bport)!.spurious_cnt).toBe(1);
  });

  test('spurious_threshold 3: three spurious EOIs in a row unmask at once, the fourth is deferred one jiffy', () => {
    expect(spuriousDelays(3, 4).delays).toEqual([0, 0, 0, 1]);
  });

  test('spurious_threshold 12 at HZ 250 never defers: spurious_cnt stops growing at 10 ((1 << cnt) < HZ << 2), below the threshold', () => {
    const { delays, spuriousCnt } = spuriousDelays(12, 20);
    expect(delays).toEqual(new Array(20).fill(0));
    expect(spuriousCnt).toBe(10);
  });

  test('a guest storming events: the handler runs about twice per jiffy, never once per event, and the delay stays one jiffy (the worker EOI zeroes spurious_cnt)', () => {
    const h = host();
    const delays: number[] = [];
    const { gport, bport, calls } = lateeoiPair(h, {}, (p) => { delays.push(eoi(h, p, XEN_EOI_FLAG_SPURIOUS)); });
    h.sim.run();
    const start = h.sim.now;
    const events = 10_000, every = 4_000; // one event each 4 us for 40 ms = 10 jiffies
    const send = h.sim.register('test.storm', () => { h.guest.notify_remote_via_evtchn(gport); });
    for (let i = 0; i < events; i++) h.sim.at(start + i * every, send);
    h.sim.run();
    const handled = calls.length - 1;
    const jiffies = Math.ceil((events * every) / JIFFY) + 1;
    expect(handled).toBeGreaterThanOrEqual(jiffies);
    expect(handled).toBeLessThanOrEqual(2 * jiffies + 2);
    expect(Math.max(...delays)).toBe(1);
    expect(delays.filter((d) => d === 1).length).toBeGreaterThanOrEqual(jiffies - 1);
    const st = h.hv.evtchn.lateeoiStats(h.dom0.domain, bport)!;
    expect(st.spurious_events).toBe(delays.length);
    expect(st.jiffies_eoi_delayed).toBe(delays.filter((d) => d === 1).length);
  });

  test('the same storm without lateeoi (plain bind): one handler call per event', () => {
    const h = host();
    const gport = h.guest.xenbus_alloc_evtchn(0);
    let n = 0;
    h.dom0.bind_interdomain_evtchn_to_irqhandler(1, gport, () => { n++; });
    h.sim.run();
    const start = h.sim.now;
    const send = h.sim.register('test.storm', () => { h.guest.notify_remote_via_evtchn(gport); });
    for (let i = 0; i < 1000; i++) h.sim.at(start + i * 4_000, send);
    h.sim.run();
    expect(n - 1).toBe(1000);
  });

  test('unbind_from_irqhandler() while the unmask is queued takes the port off the eoi list; the worker then finds nothing', () => {
    const { h, gport, bport } = secondEventAfterSpurious();
    expect(eoi(h, bport, XEN_EOI_FLAG_SPURIOUS)).toBe(1);
    expect(h.hv.evtchn.unbind_from_irqhandler(h.dom0.domain, bport)).toBe(0);
    expect(h.hv.evtchn.lateeoiStats(h.dom0.domain, bport)).toBeNull();
    h.sim.run({ until: h.sim.now + 3 * JIFFY });
    expect(h.hv.evtchnMasked(0, bport)).toBe(true);
    expect(h.hv.evtchn.counters.lateeoi_delayed).toBe(1);
  });

  test('bad arguments name the parameter, the value and what is allowed', () => {
    const h = host();
    const gport = h.guest.xenbus_alloc_evtchn(0);
    const op = { remote_dom: 1, remote_port: gport, local_port: 0 };
    h.hv.evtchn_bind_interdomain(0, op);
    const d = h.dom0.domain;
    expect(() => h.hv.evtchn.bind_evtchn_to_irqhandler_lateeoi(d, op.local_port, () => {}, { hz: 300 })).toThrow(/hz 300 is not allowed/);
    expect(() => h.hv.evtchn.bind_evtchn_to_irqhandler_lateeoi(d, op.local_port, () => {}, { hz: 250, spuriousThreshold: -1 })).toThrow(/spuriousThreshold -1 is not allowed; use an integer in 0\.\.65535/);
    expect(() => h.hv.evtchn.bind_evtchn_to_irqhandler_lateeoi(d, 5000, () => {}, { hz: 250 })).toThrow(/port 5000 is out of range/);
    h.hv.evtchn.bind_evtchn_to_irqhandler_lateeoi(d, op.local_port, () => {}, { hz: 250 });
    const g2 = h.guest.xenbus_alloc_evtchn(0);
    const op2 = { remote_dom: 1, remote_port: g2, local_port: 0 };
    h.hv.evtchn_bind_interdomain(0, op2);
    expect(() => h.hv.evtchn.bind_evtchn_to_irqhandler_lateeoi(d, op2.local_port, () => {}, { hz: 1000 })).toThrow(/already runs with hz 250/);
  });
});
