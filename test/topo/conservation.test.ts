/**
 * Nothing is lost silently (issue #6 item 5): streams in both directions between two guests
 * (one per netback design) and the external host, with drops induced on purpose — a lossy wire
 * (`link.loss_rate`), guest-receive queues and rx buffer pools far too small for a burst — and
 * a conservation check: every datagram sent was received by its socket or counted in
 * `sim.drops` under a named stage and reason. Once the host is idle again, every skb pool is
 * back to its baseline (no skb leaked along any path, dropped ones included).
 */
import { describe, expect, it } from 'vitest';
import { buildXenHost, type XenHost } from '../../src/topo';
import type { Overrides } from '../../src/params';

function host2(params: Overrides): XenHost {
  const host = buildXenHost({
    seed: 7,
    params,
    guests: [{ name: 'm', ip: '10.0.0.11', pages: 2048 }, { name: 'c', ip: '10.0.0.12', design: 'classic', pages: 2048 }],
  });
  // Static neighbours: the datagrams under test never wait for (possibly lost) ARP.
  const ext = host.external.endpoint;
  const extMac = '00:1b:21:aa:bb:cc';
  for (const g of host.guests) {
    g.endpoint.addNeighbour('10.0.0.100', extMac);
    ext.addNeighbour(g.ip, g.mac);
    g.endpoint.bind(7000);
  }
  ext.bind(9000);
  // Let the bridge learn both guests (one datagram each), then settle.
  for (const g of host.guests) g.endpoint.sendUdp('10.0.0.100', 9000, 64);
  host.runFor(host.ms(20));
  return host;
}

interface Ledger { sent: number; delivered: number; dropped: number; byStage: Record<string, number> }

function pools(host: XenHost): number[] {
  return [host.dom0.pool.outstanding, host.external.stack.pool.outstanding, ...host.guests.map((g) => g.stack.pool.outstanding)];
}

/** Runs `n` rounds of bursts both ways and returns the ledger of the datagrams under test. */
function stream(host: XenHost, rounds: number, burst: number, gapUs: number): Ledger {
  const socks = [host.external.endpoint.socket(9000)!, ...host.guests.map((g) => g.endpoint.socket(7000)!)];
  const recv0 = socks.reduce((n, s) => n + s.packets, 0);
  const drop0 = host.sim.drops.table();
  let sent = 0;
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < burst; i++) {
      for (const g of host.guests) {
        g.endpoint.sendUdp('10.0.0.100', 9000, 1200);
        host.external.endpoint.sendUdp(g.ip, 7000, 1400);
        sent += 2;
      }
    }
    host.runFor(host.us(gapUs));
  }
  host.runFor(host.ms(500)); // drain: every queue empties or expires
  const delivered = socks.reduce((n, s) => n + s.packets, 0) - recv0;
  const byStage: Record<string, number> = {};
  let dropped = 0;
  for (const d of host.sim.drops.table()) {
    const before = drop0.find((x) => x.where === d.where && x.reason === d.reason)?.packets ?? 0;
    if (d.packets > before) {
      byStage[`${d.where}:${d.reason}`] = d.packets - before;
      dropped += d.packets - before;
    }
  }
  return { sent, delivered, dropped, byStage };
}

describe('conservation: sent = delivered + counted drops', () => {
  it('a lossy wire (5 %): the losses are wire_loss drops, everything else arrives', () => {
    const host = host2({ 'link.loss_rate': 0.05 });
    const base = pools(host);
    const l = stream(host, 20, 10, 200);
    expect(l.sent).toBe(800);
    expect(l.delivered + l.dropped).toBe(l.sent);
    expect(Object.keys(l.byStage)).toEqual(['wire:wire_loss']);
    expect(l.dropped).toBeGreaterThan(10); // ~5 % of the 800 frames that cross the wire
    expect(l.dropped).toBeLessThan(80);
    expect(pools(host)).toEqual(base);
  });

  it('receive queues and rx buffers far too small for the bursts: drops at named stages, none silent', () => {
    const host = host2({
      'netback.rx_queue_max_bytes': 4096, // about 2 frames may wait for a guest
      'netback.classic_queue_length': 4,
      'netback.rx_drain_timeout_msecs': 1,
      'netfront.rx_pool_pages': 32,
      'netfront.napi_budget': 4,
      'link.loss_rate': 0.01,
    });
    const base = pools(host);
    const l = stream(host, 10, 60, 100);
    expect(l.sent).toBe(2400);
    expect(l.delivered + l.dropped).toBe(l.sent);
    // Drops happened toward the guests, under the vif or the qdisc in front of it, with a name.
    const stages = Object.keys(l.byStage);
    expect(stages.some((s) => s.startsWith('vif1.0:') || s.startsWith('vif2.0:'))).toBe(true);
    for (const s of stages) expect(s).toMatch(/^[\w./-]+:[a-z_]+$/);
    expect(l.dropped).toBeGreaterThan(100);
    expect(pools(host)).toEqual(base);
  });

  it('a guest that stops receiving (rx event masked): what it never took is a counted drop or still in its ring', () => {
    const host = host2({ 'netback.rx_drain_timeout_msecs': 2 });
    const m = host.guest('m');
    host.hv.guest(m.domid).mask_evtchn(m.netfront.queues[0]!.rx_evtchn);
    const sock = m.endpoint.socket(7000)!;
    const drop0 = host.sim.drops.total();
    for (let i = 0; i < 500; i++) host.external.endpoint.sendUdp(m.ip, 7000, 1000);
    host.runFor(host.ms(100));
    const q = m.netfront.queues[0]!;
    const inRing = (q.rx.sring.rsp_prod - q.rx.rsp_cons) >>> 0;
    expect(sock.packets).toBe(0);
    expect(inRing + (host.sim.drops.total() - drop0)).toBe(500);
  });
});
