/**
 * Modern netback's late EOI (XSA-332) on a whole host: normal traffic sees the same events and
 * deliveries with and without it, while a guest that storms its event channels with no work
 * gets them coalesced — dom0 handles a couple of interrupts per jiffy instead of one per event —
 * and the other guests' traffic carries on.
 */
import { describe, expect, it } from 'vitest';
import type { XenHost } from '../../../src/topo';
import { JIFFY, twoGuests as twoGuestHost, twoWayTraffic } from '../two-guests';
import type { AnyTraceRecord } from '../../../src/sim/trace';

const twoGuests = (params: Record<string, number | boolean> = {}): XenHost => twoGuestHost('rogue', params);

/** The rogue guest notifies one of its own event channels `n` times, `everyNs` apart, from now. */
function storm(host: XenHost, which: 'tx' | 'rx', n: number, everyNs: number): void {
  const rogue = host.guest('rogue');
  const q = rogue.netfront.queues[0]!;
  const port = which === 'tx' ? q.tx_evtchn : q.rx_evtchn;
  const g = host.hv.guest(rogue.domid);
  const h = host.sim.register(`test.storm.${which}`, () => { g.notify_remote_via_evtchn(port); });
  const t0 = host.sim.now;
  for (let i = 0; i < n; i++) host.sim.at(t0 + i * everyNs, h);
}

interface Traffic { delivered: number; toGuest: number; sends: number; vifIrqs: number; spurious: number }

/** Guest → external and external → guest UDP, paced; what arrived and what it cost in events. */
function normalTraffic(lateeoi: boolean): Traffic {
  const host = twoGuests({ 'netback.lateeoi': lateeoi });
  const good = host.guest('good');
  const sends0 = host.hv.evtchn.counters.sends;
  const irqs0 = good.vif.counters.irqs;
  const out0 = host.external.endpoint.socket(9002)!.packets;
  const spurious0 = good.vif.counters.spurious_events;
  twoWayTraffic(host, 'good');
  return {
    delivered: host.external.endpoint.socket(9002)!.packets - out0,
    toGuest: good.endpoint.socket(7002)!.packets,
    sends: host.hv.evtchn.counters.sends - sends0,
    vifIrqs: good.vif.counters.irqs - irqs0,
    spurious: good.vif.counters.spurious_events - spurious0,
  };
}

describe('modern netback: late EOI (XSA-332)', () => {
  it('binds its ports with the lateeoi chip; normal traffic gives the same deliveries, event sends and interrupts as without it', () => {
    const on = normalTraffic(true);
    const off = normalTraffic(false);
    expect(on.delivered).toBe(200);
    expect(on.toGuest).toBe(200);
    expect(on).toEqual(off);
    expect(on.spurious).toBe(0);
    const host = twoGuests();
    const rows = host.guest('good').vif.irqStats();
    expect(rows.map((r) => r.channel)).toEqual(['tx', 'rx']);
    expect(rows.every((r) => r.events >= 1)).toBe(true);
    expect(twoGuests({ 'netback.lateeoi': false }).guest('good').vif.irqStats()).toEqual([]);
  });

  it('an EOI follows the work: the tx channel stays masked while NAPI polls and is unmasked after the final check finds the ring empty', () => {
    const host = twoGuests();
    const good = host.guest('good');
    const vq = good.vif.queues[0]!;
    const rec = host.sim.trace.record('xen.evtchn.lateeoi');
    let maskedDuringPoll = 0, polls = 0;
    const stop = host.sim.trace.on('netback.tx.batch', () => {
      polls++;
      if (host.hv.evtchnMasked(0, vq.txIrq)) maskedDuringPoll++;
    });
    good.endpoint.sendUdp('10.0.0.100', 9002, 400);
    host.runFor(host.ms(1));
    stop();
    expect(polls).toBeGreaterThan(0);
    expect(maskedDuringPoll).toBe(polls);
    expect(host.hv.evtchnMasked(0, vq.txIrq)).toBe(false);
    const txEois = rec.of('xen.evtchn.lateeoi').filter((r) => r.port === vq.txIrq);
    expect(txEois.length).toBeGreaterThanOrEqual(1);
    expect(txEois.every((r) => !r.spurious && r.action === 'unmask' && r.from === 'driver')).toBe(true);
    expect(good.vif.eoiPending[0]).toBe(0);
  });

  it('a guest storming 10,000 tx events with no requests: dom0 takes a couple of interrupts per jiffy, not one per event; the EOI is deferred a jiffy at a time', () => {
    const host = twoGuests();
    const rogue = host.guest('rogue');
    const rec = host.sim.trace.record('xen.evtchn.lateeoi');
    const irqs0 = rogue.vif.counters.irqs;
    const spurious0 = rogue.vif.counters.spurious_events;
    const delayed0 = rogue.vif.counters.jiffies_eoi_delayed;
    const cpu0 = host.dom0.cpu.busyNs;
    storm(host, 'tx', 10_000, 4_000); // 40 ms = 10 jiffies
    host.runFor(host.ms(45));
    const irqs = rogue.vif.counters.irqs - irqs0;
    const irqNs = host.netback.costs.irq_ns;
    expect(irqs).toBeGreaterThanOrEqual(10);
    expect(irqs).toBeLessThanOrEqual(2 * 12 + 2);
    // dom0's CPU: far below 10,000 interrupts' worth (and nothing else ran).
    expect(host.dom0.cpu.busyNs - cpu0).toBeLessThan(100 * irqNs);
    expect(rogue.vif.counters.spurious_events - spurious0).toBe(irqs);
    const delayed = rec.of('xen.evtchn.lateeoi').filter((r) => r.action === 'delayed');
    expect(delayed.length).toBeGreaterThanOrEqual(9);
    expect(new Set(delayed.map((r) => r.delayJiffies))).toEqual(new Set([1]));
    expect(rogue.vif.counters.jiffies_eoi_delayed - delayed0).toBe(delayed.length);
    // Per channel, as sysfs / /proc/interrupts would show: the storm is all on the tx channel.
    const row = rogue.vif.irqStats().find((r) => r.channel === 'tx')!;
    expect(row.jiffies_eoi_delayed).toBe(rogue.vif.counters.jiffies_eoi_delayed);
    expect(row.events).toBeLessThan(100);
    expect(host.hv.evtchn.counters.masked + host.hv.evtchn.counters.coalesced).toBeGreaterThan(9_900);
  });

  it('the same storm without lateeoi (netback.lateeoi false, i.e. before XSA-332): one dom0 interrupt per event', () => {
    const host = twoGuests({ 'netback.lateeoi': false });
    const rogue = host.guest('rogue');
    const irqs0 = rogue.vif.counters.irqs;
    storm(host, 'tx', 10_000, 4_000);
    host.runFor(host.ms(45));
    expect(rogue.vif.counters.irqs - irqs0).toBe(10_000);
  });

  it('a real packet during the storm is delivered (within a jiffy) and its EOI, not spurious, resets spurious_cnt', () => {
    const host = twoGuests();
    const rogue = host.guest('rogue');
    const vq = rogue.vif.queues[0]!;
    const rec = host.sim.trace.record('xen.evtchn.lateeoi');
    const sock = host.external.endpoint.socket(9001)!;
    storm(host, 'tx', 5_000, 4_000);
    host.runFor(host.ms(9) + 123_456);
    expect(rogue.vif.irqStats().find((r) => r.channel === 'tx')!.spurious_cnt).toBeGreaterThan(0);
    const before = sock.packets;
    const sentAt = host.sim.now;
    rogue.endpoint.sendUdp('10.0.0.100', 9001, 600);
    let arrivedAt = -1;
    host.sim.run({ until: host.sim.now + 2 * JIFFY, stopWhen: () => { if (sock.packets > before && arrivedAt < 0) arrivedAt = host.sim.now; return arrivedAt >= 0; } });
    expect(sock.packets).toBe(before + 1);
    expect(arrivedAt - sentAt).toBeLessThanOrEqual(JIFFY + host.us(100));
    host.runFor(host.ms(1));
    const work = rec.of('xen.evtchn.lateeoi').filter((r: AnyTraceRecord) => r.port === vq.txIrq && r.from === 'driver' && r.spurious === false);
    expect(work.length).toBeGreaterThanOrEqual(1);
    expect(work[0]!.spuriousCnt).toBe(0);
  });

  it("other guests' traffic carries on during the storm: every packet delivered, each with its own interrupt", () => {
    const host = twoGuests();
    const good = host.guest('good');
    const sock = host.external.endpoint.socket(9002)!;
    const before = sock.packets;
    const irqs0 = good.vif.counters.irqs;
    const spurious0 = good.vif.counters.spurious_events;
    storm(host, 'tx', 10_000, 4_000);
    storm(host, 'rx', 10_000, 4_000);
    const fire = host.sim.register('test.good', () => { good.endpoint.sendUdp('10.0.0.100', 9002, 800); });
    for (let i = 0; i < 100; i++) host.sim.at(host.sim.now + 1_000 + i * 400_000, fire);
    host.runFor(host.ms(45));
    expect(sock.packets - before).toBe(100);
    expect(good.vif.counters.irqs - irqs0).toBeGreaterThanOrEqual(100);
    expect(good.vif.counters.spurious_events - spurious0).toBe(0);
    expect(host.guest('rogue').vif.counters.irqs).toBeLessThan(100);
  });

  it('an rx-channel storm and a shared-channel storm (xenvif_interrupt) are bounded the same way', () => {
    const split = twoGuests();
    const r1 = split.guest('rogue');
    const i1 = r1.vif.counters.irqs;
    storm(split, 'rx', 10_000, 4_000);
    split.runFor(split.ms(45));
    expect(r1.vif.counters.irqs - i1).toBeLessThanOrEqual(26);
    expect(r1.vif.irqStats().find((r) => r.channel === 'rx')!.spurious_events).toBeGreaterThanOrEqual(10);

    const shared = twoGuests({ 'netback.separate_tx_rx_irq': false });
    const r2 = shared.guest('rogue');
    expect(r2.vif.irqStats().map((r) => r.channel)).toEqual(['tx+rx']);
    const i2 = r2.vif.counters.irqs;
    storm(shared, 'tx', 10_000, 4_000);
    shared.runFor(shared.ms(45));
    // xenvif_interrupt charges its tx and rx halves: two per interrupt.
    expect(r2.vif.counters.irqs - i2).toBeLessThanOrEqual(2 * 26);
    expect(r2.vif.counters.spurious_events).toBeGreaterThanOrEqual(10);
  });

  it('netback.spurious_threshold raises the number of spurious events a channel may raise before its unmask is delayed', () => {
    const count = (threshold: number): number => {
      const host = twoGuests({ 'netback.spurious_threshold': threshold });
      const rogue = host.guest('rogue');
      const i0 = rogue.vif.counters.irqs;
      storm(host, 'tx', 10_000, 4_000);
      host.runFor(host.ms(45));
      return rogue.vif.counters.irqs - i0;
    };
    const t1 = count(0), t4 = count(4);
    expect(t4).toBeGreaterThan(t1);
    expect(t4).toBeLessThanOrEqual(5 * 12 + 5);
  });
});
