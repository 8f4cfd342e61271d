/**
 * Modern netfront's late EOI and its checks against a rogue backend (XSA-391): normal traffic
 * sees the same deliveries and events with and without it, a backend that storms the guest's
 * channels with events and no responses costs the guest's vCPU a couple of interrupts per jiffy
 * instead of one per event, and a backend whose rx rsp_prod goes backwards gets the device marked
 * broken with its channels left masked (no EOI), as Linux's xennet_handle_rx() does.
 */
import { describe, expect, it } from 'vitest';
import { buildXenHost, type XenHost } from '../../../src/topo';
import { JIFFY, twoGuests as twoGuestHost, twoWayTraffic } from '../two-guests';
import type { AnyTraceRecord } from '../../../src/sim/trace';
import { makeRig, run } from './backend';

const twoGuests = (params: Record<string, number | boolean> = {}): XenHost => twoGuestHost('victim', params);

/**
 * dom0, as a rogue backend, notifies the victim's tx or rx channel `n` times, `everyNs` apart,
 * from now — events with no responses behind them.
 */
function storm(host: XenHost, which: 'tx' | 'rx', n: number, everyNs: number): void {
  const vq = host.guest('victim').vif.queues[0]!;
  const port = which === 'tx' ? vq.txIrq : vq.rxIrq;
  const dom0 = host.hv.guest(0);
  const h = host.sim.register(`test.storm.${which}`, () => { dom0.notify_remote_via_evtchn(port); });
  const t0 = host.sim.now;
  for (let i = 0; i < n; i++) host.sim.at(t0 + i * everyNs, h);
}

interface Traffic { out: number; in: number; sends: number; txIrqs: number; rxIrqs: number; spurious: number; cpuNs: number }

/** Guest → external and external → guest UDP, paced; what arrived and what it cost in events. */
function normalTraffic(lateeoi: boolean): Traffic {
  const host = twoGuests({ 'netfront.lateeoi': lateeoi });
  const good = host.guest('good');
  const c = good.netfront.counters;
  const sends0 = host.hv.evtchn.counters.sends;
  const tx0 = c.tx_irqs, rx0 = c.rx_irqs, sp0 = c.spurious_events, cpu0 = good.netfront.cpu.busyNs;
  const out0 = host.external.endpoint.socket(9002)!.packets;
  twoWayTraffic(host, 'good');
  return {
    out: host.external.endpoint.socket(9002)!.packets - out0,
    in: good.endpoint.socket(7002)!.packets,
    sends: host.hv.evtchn.counters.sends - sends0,
    txIrqs: c.tx_irqs - tx0,
    rxIrqs: c.rx_irqs - rx0,
    spurious: c.spurious_events - sp0,
    cpuNs: good.netfront.cpu.busyNs - cpu0,
  };
}

describe('modern netfront: late EOI (XSA-391)', () => {
  it('binds both channels with the lateeoi chip; normal traffic gives the same deliveries, event sends, interrupts and guest CPU as without it', () => {
    const on = normalTraffic(true);
    const off = normalTraffic(false);
    expect(on.out).toBe(200);
    expect(on.in).toBe(200);
    expect(on).toEqual(off);
    const host = twoGuests();
    const np = host.guest('good').netfront;
    const d = host.hv.domainById(host.guest('good').domid);
    const q = np.queues[0]!;
    expect(np.useLateEoi).toBe(true);
    for (const port of [q.tx_evtchn, q.rx_evtchn]) {
      const st = host.hv.evtchn.lateeoiStats(d, port)!;
      expect(st).not.toBeNull();
      expect(st.events).toBeGreaterThanOrEqual(1);
      expect(st.eoi_pending).toBe(false); // every interrupt so far was EOId
    }
    const plain = twoGuests({ 'netfront.lateeoi': false });
    const pq = plain.guest('good').netfront.queues[0]!;
    expect(plain.guest('good').netfront.useLateEoi).toBe(false);
    expect(plain.hv.evtchn.lateeoiStats(plain.hv.domainById(plain.guest('good').domid), pq.rx_evtchn)).toBeNull();
  });

  it('the classic (2.6.18) netfront binds plainly: it had no late EOI', () => {
    const host = buildXenHost({ seed: 5, guests: [{ name: 'old', design: 'classic', params: { 'netfront.design': 'classic' } }] });
    host.runFor(host.ms(1));
    const np = host.guest('old').netfront;
    expect(np.classic).toBe(true);
    expect(np.useLateEoi).toBe(false);
    const q = np.queues[0]!;
    expect(host.hv.evtchn.lateeoiStats(host.hv.domainById(host.guest('old').domid), q.tx_evtchn)).toBeNull();
  });

  it('an rx interrupt EOIs at once: not spurious when new responses arrived (spurious_cnt back to 0), spurious when none did', () => {
    const host = twoGuests();
    const victim = host.guest('victim');
    const q = victim.netfront.queues[0]!;
    const rec = host.sim.trace.record('xen.evtchn.lateeoi');
    host.external.endpoint.sendUdp(victim.ip, 7001, 500, 9001);
    host.runFor(host.ms(1));
    expect(victim.endpoint.socket(7001)!.packets).toBe(1);
    const rxEois = rec.of('xen.evtchn.lateeoi').filter((r: AnyTraceRecord) => r.dom === victim.domid && r.port === q.rx_evtchn);
    expect(rxEois.length).toBeGreaterThanOrEqual(1);
    expect(rxEois[0]!.spurious).toBe(false);
    expect(rxEois[0]!.action).toBe('unmask');
    expect(rxEois[0]!.spuriousCnt).toBe(0);
    // One event with nothing behind it: a spurious EOI, unmasked at once (threshold 1).
    const sp0 = victim.netfront.counters.spurious_events;
    storm(host, 'rx', 1, 1);
    host.runFor(host.us(100));
    expect(victim.netfront.counters.spurious_events - sp0).toBe(1);
    expect(victim.netfront.counters.jiffies_eoi_delayed).toBe(0);
    expect(host.hv.evtchnMasked(victim.domid, q.rx_evtchn)).toBe(false);
  });

  it('a backend storming 10,000 rx events with no responses: the guest takes a couple of interrupts per jiffy, not one per event', () => {
    const host = twoGuests();
    const np = host.guest('victim').netfront;
    const d = host.hv.domainById(host.guest('victim').domid);
    const q = np.queues[0]!;
    const rx0 = np.counters.rx_irqs, sp0 = np.counters.spurious_events, j0 = np.counters.jiffies_eoi_delayed;
    const cpu0 = np.cpu.busyNs;
    storm(host, 'rx', 10_000, 4_000); // 40 ms = 10 jiffies
    host.runFor(host.ms(45));
    const irqs = np.counters.rx_irqs - rx0;
    expect(irqs).toBeGreaterThanOrEqual(10);
    expect(irqs).toBeLessThanOrEqual(2 * 12 + 2);
    expect(np.counters.spurious_events - sp0).toBe(irqs);
    const delayed = np.counters.jiffies_eoi_delayed - j0;
    expect(delayed).toBeGreaterThanOrEqual(9);
    expect(delayed).toBeLessThanOrEqual(12);
    // The guest's vCPU did a few dozen handlers' worth of work, not 10,000.
    expect(np.cpu.busyNs - cpu0).toBeLessThan(100 * np.p.irq_ns);
    const st = host.hv.evtchn.lateeoiStats(d, q.rx_evtchn)!;
    expect(st.spurious_events).toBe(np.counters.spurious_events);
    expect(np.broken).toBe(false);
  });

  it('irqStats(): one row per channel with the storm in it, the same shape as the vif\'s rows on the other end', () => {
    const host = twoGuests();
    const np = host.guest('victim').netfront;
    const q = np.queues[0]!;
    storm(host, 'rx', 1_000, 4_000);
    host.runFor(host.ms(5));
    const rows = np.irqStats();
    expect(rows.map((r) => [r.queue, r.channel, r.port])).toEqual([[0, 'tx', q.tx_evtchn], [0, 'rx', q.rx_evtchn]]);
    const rx = rows[1]!;
    expect(rx.events).toBe(np.counters.rx_irqs);
    expect(rx.spurious_events).toBe(np.counters.spurious_events);
    expect(rx.spurious_events).toBeGreaterThan(0);
    expect(rx.jiffies_eoi_delayed).toBe(np.counters.jiffies_eoi_delayed);
    expect(rows[0]!.spurious_events).toBe(0);
    expect(Object.keys(rx).sort()).toEqual(Object.keys(host.guest('victim').vif.irqStats()[0]!).sort());
    expect(twoGuests({ 'netfront.lateeoi': false }).guest('victim').netfront.irqStats()).toEqual([]);
  });

  it('the same storm without lateeoi (netfront.lateeoi false, i.e. before XSA-391): one guest interrupt per event', () => {
    const host = twoGuests({ 'netfront.lateeoi': false });
    const np = host.guest('victim').netfront;
    const rx0 = np.counters.rx_irqs, cpu0 = np.cpu.busyNs;
    storm(host, 'rx', 10_000, 4_000);
    host.runFor(host.ms(45));
    expect(np.counters.rx_irqs - rx0).toBe(10_000);
    expect(np.cpu.busyNs - cpu0).toBeGreaterThanOrEqual(10_000 * np.p.irq_ns);
    expect(np.counters.spurious_events).toBe(0);
  });

  it('a tx-channel storm is bounded the same way (xennet_tx_buf_gc finds no response: spurious)', () => {
    const host = twoGuests();
    const np = host.guest('victim').netfront;
    const tx0 = np.counters.tx_irqs;
    storm(host, 'tx', 10_000, 4_000);
    host.runFor(host.ms(45));
    const irqs = np.counters.tx_irqs - tx0;
    expect(irqs).toBeGreaterThanOrEqual(10);
    expect(irqs).toBeLessThanOrEqual(26);
    const off = twoGuests({ 'netfront.lateeoi': false });
    const np2 = off.guest('victim').netfront;
    const t2 = np2.counters.tx_irqs;
    storm(off, 'tx', 10_000, 4_000);
    off.runFor(off.ms(45));
    expect(np2.counters.tx_irqs - t2).toBe(10_000);
  });

  it('a shared-channel storm (xennet_interrupt: one EOI for both halves) is bounded too', () => {
    const host = twoGuests({ 'netback.separate_tx_rx_irq': false });
    const np = host.guest('victim').netfront;
    const q = np.queues[0]!;
    expect(q.tx_evtchn).toBe(q.rx_evtchn);
    const i0 = np.counters.rx_irqs;
    storm(host, 'tx', 10_000, 4_000);
    host.runFor(host.ms(45));
    expect(np.counters.rx_irqs - i0).toBeLessThanOrEqual(26);
    expect(np.counters.spurious_events).toBeGreaterThanOrEqual(10);
  });

  it('netfront.spurious_threshold lets more spurious events through before the delay; netfront.hz sets the jiffy it is counted in', () => {
    const count = (params: Record<string, number>): number => {
      const host = twoGuests(params);
      const np = host.guest('victim').netfront;
      const rx0 = np.counters.rx_irqs;
      storm(host, 'rx', 10_000, 4_000);
      host.runFor(host.ms(45));
      return np.counters.rx_irqs - rx0;
    };
    const base = count({});
    const t4 = count({ 'netfront.spurious_threshold': 4 });
    const hz1000 = count({ 'netfront.hz': 1000 });
    // threshold 4: five interrupts a jiffy (four spurious EOIs unmask at once, the fifth is delayed
    // a jiffy, and the worker's EOI resets the count) instead of two.
    expect(base).toBeLessThanOrEqual(2 * 12 + 2);
    expect(t4).toBeGreaterThanOrEqual(5 * 10);
    expect(t4).toBeLessThanOrEqual(5 * 12 + 5);
    // HZ 1000: four times as many jiffies in the 40 ms storm.
    expect(hz1000).toBeGreaterThanOrEqual(3 * base);
    expect(hz1000).toBeLessThanOrEqual(2 * 45 + 2);
    expect(() => twoGuests({ 'netfront.hz': 300 })).toThrow(/netfront.hz: 300 is not allowed/);
  });

  it('during an rx and tx storm every real packet still reaches the victim, and the good guest sees no spurious event', () => {
    const host = twoGuests();
    const victim = host.guest('victim');
    const good = host.guest('good');
    const vs = victim.endpoint.socket(7001)!, gs = host.external.endpoint.socket(9002)!;
    const v0 = vs.packets, g0 = gs.packets;
    const gsp0 = good.netfront.counters.spurious_events, girq0 = good.netfront.counters.tx_irqs + good.netfront.counters.rx_irqs;
    storm(host, 'rx', 10_000, 4_000);
    storm(host, 'tx', 10_000, 4_000);
    const fire = host.sim.register('test.real', () => {
      host.external.endpoint.sendUdp(victim.ip, 7001, 700, 9001);
      good.endpoint.sendUdp('10.0.0.100', 9002, 800);
    });
    for (let i = 0; i < 20; i++) host.sim.at(host.sim.now + 1_000 + i * 1_900_000, fire);
    host.runFor(host.ms(38) + JIFFY);
    expect(vs.packets - v0).toBe(20);
    expect(gs.packets - g0).toBe(20);
    expect(good.netfront.counters.spurious_events - gsp0).toBe(0);
    expect(good.netfront.counters.tx_irqs + good.netfront.counters.rx_irqs - girq0).toBeGreaterThanOrEqual(20);
    expect(victim.netfront.counters.rx_irqs).toBeLessThan(200);
  });
});

describe('modern netfront: rx rsp_prod going backwards (XSA-391)', () => {
  /** Two responses seen by the interrupt, then the backend rewinds rsp_prod and notifies. */
  function rewind(lateeoi: boolean) {
    const r = makeRig({ params: { 'netfront.softirq_latency_ns': 10_000, 'netfront.lateeoi': lateeoi } });
    const frame = new Uint8Array(100);
    frame[12] = 0x08; frame[14] = 0x45; frame[23] = 17;
    r.be.rxSlot(frame, 0);
    r.be.rxSlot(frame, 0);
    r.be.pushRx();
    r.sim.run({ until: r.sim.now + 3500 });
    const q = r.np.queues[0]!;
    expect(q.rx_rsp_unconsumed).toBe(2);
    r.be.rx.sring.rsp_prod = 1;
    r.hv.guest(0).notify_remote_via_evtchn(r.be.rxPort);
    run(r);
    return { r, q, d: r.hv.domainById(r.np.xen.domid) };
  }

  it('marks the device broken, and it stops: no EOI, so the rx channel stays masked and further events cost no interrupt', () => {
    const { r, q, d } = rewind(true);
    expect(r.np.broken).toBe(true);
    expect(r.np.brokenReason).toBe('RX producer index going backwards');
    expect(r.hv.evtchn.isMasked(d, q.rx_evtchn)).toBe(true);
    expect(r.hv.evtchn.lateeoiStats(d, q.rx_evtchn)!.eoi_pending).toBe(true);
    const rx0 = r.np.counters.rx_irqs;
    const dom0 = r.hv.guest(0);
    for (let i = 0; i < 1000; i++) { dom0.notify_remote_via_evtchn(r.be.rxPort); run(r, 10_000); }
    expect(r.np.counters.rx_irqs).toBe(rx0);
    // The tx channel: its next interrupt finds the device broken (xennet_handle_tx returns false)
    // and does not EOI either; after that it is silent too.
    const tx0 = r.np.counters.tx_irqs;
    for (let i = 0; i < 1000; i++) { dom0.notify_remote_via_evtchn(r.be.txPort); run(r, 10_000); }
    expect(r.np.counters.tx_irqs - tx0).toBe(1);
    expect(r.hv.evtchn.isMasked(d, q.tx_evtchn)).toBe(true);
    expect(r.np.counters.broken).toBe(1);
  });

  it('without lateeoi the device is marked broken too, but every later event still interrupts the guest', () => {
    const { r } = rewind(false);
    expect(r.np.broken).toBe(true);
    const rx0 = r.np.counters.rx_irqs;
    const dom0 = r.hv.guest(0);
    for (let i = 0; i < 1000; i++) { dom0.notify_remote_via_evtchn(r.be.rxPort); run(r, 10_000); }
    expect(r.np.counters.rx_irqs - rx0).toBe(1000);
  });

  it('responses consumed by the poll are not new work: an event after the poll drained the ring is spurious', () => {
    const r = makeRig();
    const q = r.np.queues[0]!;
    const frame = new Uint8Array(100);
    frame[12] = 0x08; frame[14] = 0x45; frame[23] = 17;
    r.be.rxSlot(frame, 0);
    r.be.pushRx();
    run(r);
    expect(r.received.length).toBe(1);
    expect(q.rx_rsp_unconsumed).toBe(0);
    const sp0 = r.np.counters.spurious_events;
    r.hv.guest(0).notify_remote_via_evtchn(r.be.rxPort);
    run(r);
    expect(r.np.counters.spurious_events - sp0).toBe(1);
    expect(r.np.broken).toBe(false);
  });
});
