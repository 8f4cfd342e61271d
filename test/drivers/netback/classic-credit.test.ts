/**
 * The 2.6.18 netback's credit scheduler: net_tx_action leaves a request over the remaining credit
 * on the ring and arms credit_timeout for the window's end; tx_credit_callback adds credit and
 * reschedules the vif; tx_add_credit caps the credit at max(next request size, credit_bytes); the
 * `rate` key is read once, at connect.
 */
import { describe, expect, it } from 'vitest';
import { buildXenHost } from '../../../src/topo';
import { lineRatePps, runLoadPoint } from '../../../src/topo/lab-perf';
import { tx_add_credit } from '../../../src/drivers/netback/modern/netback';

const MBPS = (run: ReturnType<typeof runLoadPoint>): number => run.point.delivered_pps * run.point.frame_bytes * 8 / 1e6;

describe('classic netback credit scheduling (2.6.18 net_tx_action)', () => {
  it('a vif rate limit holds the guest to bytes per window', () => {
    // Windows of whole jiffies (4 ms at HZ 250): 250,000 B per 4 ms = 500 Mbit/s; 100,000 B per 8 ms = 100.
    for (const [bytes, usec, mbps] of [[250_000, 4000, 500], [100_000, 8000, 100]] as const) {
      // A measurement window of whole credit windows (a partial one would count a burst or not).
      const run = runLoadPoint({ direction: 'tx', design: 'classic', offeredPps: lineRatePps(1472), window: 128, rate: { bytes, usec }, windowNs: 10 * usec * 1000 });
      const q = run.guest.vif.queues[0]!;
      expect(run.guest.vif.design).toBe('classic');
      expect(q.credit_bytes).toBe(bytes);
      expect(q.credit_usec).toBe(usec);
      expect(MBPS(run) / mbps).toBeGreaterThan(0.95);
      expect(MBPS(run) / mbps).toBeLessThan(1.05);
      expect(run.point.dropped).toBe(0);
    }
    const free = runLoadPoint({ direction: 'tx', design: 'classic', offeredPps: lineRatePps(1472), window: 128, windowNs: 4_000_000 });
    expect(MBPS(free)).toBeGreaterThan(2000);
  });

  it('a request over the credit stays on the ring until credit_timeout; the walk says why', () => {
    const host = buildXenHost({ seed: 2, guests: [{ name: 'g', design: 'classic', rate: { bytes: 3000, usec: 4000 } }] });
    const g = host.guest('g');
    const sock = host.external.endpoint.bind(9000);
    g.endpoint.sendUdp('10.0.0.100', 9000, 64); // ARP, and some credit used
    host.runFor(host.ms(3));
    const q = g.vif.queues[0]!;
    const rec = host.sim.trace.record('pkt.step');
    const t0 = host.now;
    const got0 = sock.packets;
    for (let i = 0; i < 4; i++) g.endpoint.sendUdp('10.0.0.100', 9000, 1472); // 4 × 1514 B against 3000 B per 4 ms
    host.runFor(host.us(200));
    expect(sock.packets - got0).toBeLessThan(4);
    expect(q.creditTimerPending).toBe(true);
    expect(q.tx!.req_cons).not.toBe(q.tx!.sring.req_prod); // left on the ring
    expect(rec.records.some((r) => r['fn'] === 'net_tx_action' && /^credit: 1514 B > \d+ B left, wait for credit_timeout$/.test(String(r['detail'])))).toBe(true);
    host.runFor(host.ms(12));
    rec.stop();
    expect(sock.packets - got0).toBe(4);
    expect(host.sim.drops.total()).toBe(0);
  });

  it('tx_add_credit caps the credit at max(next request size, credit_bytes): no piling up while idle (modern caps at 128 KiB)', () => {
    const host = buildXenHost({ seed: 2, guests: [{ name: 'old', design: 'classic', rate: { bytes: 10_000, usec: 1000 } }, { name: 'new', rate: { bytes: 10_000, usec: 1000 } }] });
    host.runFor(host.ms(1));
    const cq = host.guest('old').vif.queues[0]!;
    const mq = host.guest('new').vif.queues[0]!;
    for (const q of [cq, mq]) q.remaining_credit = 9_000;
    host.netback.classic.tx_add_credit(cq);
    tx_add_credit(mq);
    expect(cq.remaining_credit).toBe(10_000);
    expect(mq.remaining_credit).toBe(19_000);
    for (let i = 0; i < 20; i++) { host.netback.classic.tx_add_credit(cq); tx_add_credit(mq); }
    expect(cq.remaining_credit).toBe(10_000);
    expect(mq.remaining_credit).toBe(131_072);
  });

  it('reads the rate key once, at connect: a later change moves a modern vif, not a classic one', () => {
    const host = buildXenHost({ seed: 2, guests: [{ name: 'old', design: 'classic', rate: { bytes: 10_000, usec: 1000 } }, { name: 'new', rate: { bytes: 10_000, usec: 1000 } }] });
    host.runFor(host.ms(1));
    for (const n of ['old', 'new']) host.hv.xenstore.write(`${host.guest(n).backendPath}/rate`, '20000,1000');
    host.runFor(host.ms(1));
    expect(host.guest('old').vif.queues[0]!.credit_bytes).toBe(10_000);
    expect(host.guest('new').vif.queues[0]!.credit_bytes).toBe(20_000);
  });

  it('runLoadPoint will not change a reused classic host\'s rate, and says why', () => {
    const first = runLoadPoint({ direction: 'tx', design: 'classic', offeredPps: 10_000, windowNs: 500_000 });
    expect(() => runLoadPoint({ direction: 'tx', offeredPps: 10_000, windowNs: 500_000, rate: { bytes: 10_000, usec: 1000 }, reuse: first }))
      .toThrow(/runLoadPoint: rate 10000,1000 differs from the reused host's \(none\); a classic \(2\.6\.18\) netback reads the rate only when it connects/);
  });

  it('buildXenHost refuses a bad rate, naming it', () => {
    expect(() => buildXenHost({ guests: [{ name: 'g', rate: { bytes: 0, usec: 1000 } }] })).toThrow(/buildXenHost: guest 'g' rate \{"bytes":0,"usec":1000\} is not allowed/);
  });
});
