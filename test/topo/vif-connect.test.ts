/**
 * A modern vif's carrier at connect, and its guest-rx kthread's sleeps, as Linux's rx.c has them:
 * connect() sets stalled_queues to the number of queues and each queue stalled; the carrier comes
 * on from the queues' kthreads (xenvif_queue_carrier_on), the last logging "Guest Rx ready". A
 * kthread woken with nothing to do (xenvif_wait_for_rx_work) goes back to sleep without running
 * xenvif_rx_action.
 */
import { describe, expect, it } from 'vitest';
import { buildXenHost } from '../../src/topo/host';
import { hangGuestRx, netbackKernelLog } from '../../src/topo/lab-misbehave';
import type { XenHostOptions } from '../../src/topo/host';

/**
 * Guest a (10.0.0.11) stops receiving (hangGuestRx) after one datagram from the client; then the
 * client sends `bursts` bursts of 20 1000-byte datagrams, `gapMs` apart.
 */
function hungGuest(opts: XenHostOptions, bursts: number, gapMs: number) {
  const host = buildXenHost({ ...opts, guests: [{ name: 'a', ip: '10.0.0.11' }] });
  const a = host.guest('a');
  a.endpoint.bind(7000);
  host.external.endpoint.sendUdp(a.ip, 7000, 64, 1000);
  host.runFor(host.ms(5));
  hangGuestRx(host, a, true);
  for (let t = 0; t < bursts; t++) {
    for (let i = 0; i < 20; i++) host.external.endpoint.sendUdp(a.ip, 7000, 1000, 1000);
    host.runFor(host.ms(gapMs));
  }
  return { host, a };
}

describe('modern vif: carrier at connect', () => {
  it.each([1, 2])('a hot-plugged guest with %i queue(s): the carrier comes on once, from the kthreads, logged "Guest Rx ready"', (queues) => {
    const host = buildXenHost({ params: { 'netfront.max_queues': queues, 'netback.max_queues': queues }, guests: [{ name: 'a' }] });
    const rec = host.sim.trace.record('netback.carrier');
    const g = host.addGuest({ name: 'late', ip: '10.0.0.50' });
    host.runFor(host.ms(5));
    expect(g.vif.queues).toHaveLength(queues);
    expect(rec.records.map((r) => [r.vif, r.on, r.reason])).toEqual([[g.vif.name, true, 'Guest Rx ready']]);
    expect(netbackKernelLog(rec.records).map((l) => l.line.replace(/^\[[^\]]*\] /, ''))).toEqual([`vif vif-${g.domid}-0 ${g.vif.name}: Guest Rx ready`]);
  });

  it('a classic vif turns its carrier on at connect and logs nothing', () => {
    const host = buildXenHost({ guests: [{ name: 'a' }] });
    const rec = host.sim.trace.record('netback.carrier');
    host.addGuest({ name: 'late', ip: '10.0.0.50', design: 'classic' });
    host.runFor(host.ms(5));
    expect(rec.records.map((r) => [r.on, r.reason])).toEqual([[true, 'connected']]);
    expect(netbackKernelLog(rec.records)).toEqual([]);
  });
});

describe('modern vif: the guest-rx kthread woken without work sleeps again', () => {
  it('50 packets queued while the guest posts no buffers run xenvif_rx_action 0 times; they wait, then the drain timeout drops them', () => {
    const { host, a } = hungGuest({ params: { 'netback.rx_drain_timeout_msecs': 20 } }, 15, 1);
    const batches = host.sim.trace.record('netback.rx.batch');
    const runs = a.vif.counters.rx_runs;
    const drained = host.sim.drops.total({ reason: 'drain_timeout' });
    for (let i = 0; i < 50; i++) {
      host.external.endpoint.sendUdp(a.ip, 7000, 1000, 1000);
      host.runFor(host.us(200));
    }
    expect(batches.records).toHaveLength(0);
    expect(a.vif.counters.rx_runs).toBe(runs);
    host.runFor(host.ms(40));
    expect(host.sim.drops.total({ reason: 'drain_timeout' }) - drained).toBeGreaterThanOrEqual(50);
  });
});

describe('modern vif: xenvif_start_xmit has no carrier test', () => {
  it('routed to a stalled guest (carrier off), packets are queued and drained (drain_timeout), not dropped in start_xmit', () => {
    const { host, a } = hungGuest({ mode: 'route', params: { 'netback.rx_stall_timeout_msecs': 50, 'netback.rx_drain_timeout_msecs': 20 } }, 40, 5);
    expect(a.vif.carrier).toBe(false);
    const drops = host.sim.drops.table().filter((d) => d.where === a.vif.name);
    expect(drops.map((d) => d.reason)).toEqual(['drain_timeout']);
    expect(a.vif.stats.tx_dropped).toBe(0);
  });
});
