/**
 * The guest-rx kthread against softirq work on dom0's CPU (netback.kthread_cpu_share): below
 * saturation it runs when the CPU is idle, as before; when the NIC's softirq work keeps dom0 busy
 * for longer than MAX_SOFTIRQ_TIME, the kthread gets its share (ksoftirqd and the kthread under
 * CFS) instead of one 64-packet batch per idle gap, so receive degrades instead of collapsing.
 */
import { describe, expect, it } from 'vitest';
import { runLoadPoint } from '../../src/topo/lab-perf';

const point = (kpps: number, share: number) =>
  runLoadPoint({ direction: 'rx', offeredPps: kpps * 1000, windowNs: 6_000_000, params: { 'netback.kthread_cpu_share': share } }).point;

describe('the guest-rx kthread\'s share of dom0\'s CPU', () => {
  it('changes nothing below saturation: the same deliveries and latency with and without a share', () => {
    const a = runLoadPoint({ direction: 'rx', offeredPps: 200_000, windowNs: 3_000_000, params: { 'netback.kthread_cpu_share': 0 } });
    const b = runLoadPoint({ direction: 'rx', offeredPps: 200_000, windowNs: 3_000_000, params: { 'netback.kthread_cpu_share': 0.5 } });
    expect(b.point.delivered).toBe(a.point.delivered);
    expect(b.point.dropped).toBe(0);
    expect(b.sock.latencySumNs).toBe(a.sock.latencySumNs);
  });

  it('past saturation the kthread keeps its share: at 600 kpps offered it delivers about twice what an idle-only kthread does', () => {
    const idleOnly = point(600, 0);
    const shared = point(600, 0.5);
    expect(idleOnly.delivered_pps).toBeLessThan(150_000);
    expect(shared.delivered_pps).toBeGreaterThan(1.6 * idleOnly.delivered_pps);
    expect(shared.bottleneck).toBe('dom0 CPU');
  });
});
