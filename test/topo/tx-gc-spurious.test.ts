/**
 * Who reaps tx responses in modern netfront, and what lateeoi makes of it. Until 2025 Linux's
 * xennet_start_xmit called xennet_tx_buf_gc itself, so under load the tx interrupt often found
 * the responses already reaped: a spurious event, and a run of them delays the EOI by a jiffy
 * while the queue waits for slots ("xen/netfront: Fix TX response spurious interrupts", which
 * removed the call). `netfront.tx_gc_in_xmit` turns the old behaviour back on.
 */
import { describe, expect, it } from 'vitest';
import { runLoadPoint } from '../../src/topo/lab-perf';

function txAt(kpps: number, params: Record<string, boolean> = {}) {
  const r = runLoadPoint({ direction: 'tx', offeredPps: kpps * 1000, windowNs: 3_000_000, params });
  const c = r.guest.netfront.counters;
  return { delivered: r.point.delivered_pps, dom0: r.utilisation.find((u) => u.resource === 'dom0 CPU')!.utilisation, spurious: c.spurious_events, delayed: c.jiffies_eoi_delayed, irqs: c.tx_irqs };
}

describe('netfront tx responses: reaped by the interrupt handler only (the 2025 fix) or also by xennet_start_xmit', () => {
  it('with the fix, a guest sending past dom0\'s capacity sees no spurious tx events and keeps dom0 busy', () => {
    for (const kpps of [310, 320]) {
      const x = txAt(kpps);
      expect(x.spurious).toBe(0);
      expect(x.delayed).toBe(0);
      expect(x.dom0).toBeGreaterThan(0.99);
      expect(x.delivered).toBeGreaterThan(235_000);
    }
  });

  it('reaping in xennet_start_xmit too (Linux before the fix) makes tx interrupts spurious, delays EOIs by jiffies and loses throughput', () => {
    const fixed = txAt(320);
    const old = txAt(320, { 'netfront.tx_gc_in_xmit': true });
    expect(old.spurious).toBeGreaterThan(0);
    expect(old.delayed).toBeGreaterThan(0);
    expect(old.dom0).toBeLessThan(0.95); // dom0 waits while the guest's queue waits for slots
    expect(old.delivered).toBeLessThan(0.9 * fixed.delivered);
  });

  it('without lateeoi the early reaping costs nothing: no EOI is ever delayed', () => {
    const x = txAt(320, { 'netfront.tx_gc_in_xmit': true, 'netfront.lateeoi': false });
    expect(x.spurious).toBe(0);
    expect(x.delayed).toBe(0);
    expect(x.delivered).toBeGreaterThan(235_000);
  });
});
