import { describe, expect, it } from 'vitest';
import {
  buildRxLabHost, dropTimeline, rxBreakdown, rxComponentOf, rxCostMeter, rxStream, rxSwimlane, rxWalk, rxWarmUp,
  sampleEvery, RX_COMPLETION_STEPS, type RxWalkRow,
} from '../../src/topo/lab-rx';

describe('buildRxLabHost', () => {
  it('buildRxLabHost() gives a classic guest page flipping when rxMode is flip, and copy otherwise', () => {
    const host = buildRxLabHost({
      guests: [{ name: 'flip', design: 'classic', rxMode: 'flip', pages: 2048 }, { name: 'copy', design: 'classic', pages: 2048 }, { name: 'new', pages: 2048 }],
    });
    const flip = host.guest('flip');
    expect(flip.netfront.classic).toBe(true);
    expect(flip.netfront.copyingReceiver).toBe(false);
    expect(host.hv.xenstore.read(`${flip.backendPath}/feature-rx-flip`)).toBe('1');
    expect(host.guest('copy').netfront.classic).toBe(true);
    expect(host.guest('copy').netfront.copyingReceiver).toBe(true);
    expect(host.guest('new').netfront.classic).toBe(false);
    expect(host.guest('new').vif.design).toBe('modern');
  });

  it('buildRxLabHost() applies per-guest parameters to that guest only', () => {
    const host = buildRxLabHost({ guests: [{ name: 'a', params: { 'netfront.napi_budget': 4 } }, { name: 'b' }] });
    expect(host.guest('a').netfront.p.napi_budget).toBe(4);
    expect(host.guest('b').netfront.p.napi_budget).toBe(64);
  });

  it('buildRxLabHost() rejects flip without the classic design, unknown modes and duplicate names', () => {
    expect(() => buildRxLabHost({ guests: [{ rxMode: 'flip' }] })).toThrow(/rxMode 'flip' needs design 'classic'/);
    expect(() => buildRxLabHost({ guests: [{ design: 'old' as never }] })).toThrow(/design 'old' is not allowed; use 'modern' or 'classic'/);
    expect(() => buildRxLabHost({ mode: 'nat' })).toThrow(/opts.mode\): 'nat'/);
    expect(() => buildRxLabHost({ guests: [{ name: 'x' }, { name: 'x' }] })).toThrow(/'x' is used twice/);
  });
});

describe('rxStream', () => {
  for (const spec of [{ design: 'modern' as const }, { design: 'classic' as const }, { design: 'classic' as const, rxMode: 'flip' as const }]) {
    it(`rxStream() delivers every datagram with its one-way latency (${spec.design}${spec.rxMode ? ' ' + spec.rxMode : ''})`, () => {
      const host = buildRxLabHost({ seed: 3, guests: [{ name: 'g', ...spec }] });
      rxWarmUp(host);
      const s = rxStream(host, { to: 'g', packets: 300, gapNs: 20_000, payload: 1000 });
      host.runFor(host.ms(8));
      expect(s.sent).toBe(300);
      expect(s.latenciesNs.length).toBe(300);
      expect(s.sock.packets).toBe(300);
      expect(host.sim.drops.total()).toBe(0);
      // The latency covers the whole path: at least the wire time of the frame; the socket
      // measures the same (the sender's birth time rides beside the ring slots).
      expect(Math.min(...s.latenciesNs)).toBeGreaterThan(1042 * 8 * 0.1);
      expect([s.sock.latencyMinNs, s.sock.latencyMaxNs]).toEqual([Math.min(...s.latenciesNs), Math.max(...s.latenciesNs)]);
    });
  }

  it('a classic guest with a classic backend keeps receiving a slow stream (rx_target stays >= 64)', () => {
    // Regression: the adaptive rx_target once fell to 19, below the 20 slots a 2.6.18 backend
    // with SG reserves per packet, and the vif queue stopped for good.
    const host = buildRxLabHost({ guests: [{ name: 'g', design: 'classic' }] });
    rxWarmUp(host);
    const s = rxStream(host, { to: 'g', packets: 500, gapNs: 20_000 });
    host.runFor(host.ms(12));
    expect(s.latenciesNs.length).toBe(500);
    expect(host.guest('g').netfront.queues[0]!.rx_target).toBeGreaterThanOrEqual(64);
  });

  it('rxStream() rejects bad options with the parameter name', () => {
    const host = buildRxLabHost();
    expect(() => rxStream(host, { to: 'guest1', packets: 0, gapNs: 10 })).toThrow(/rxStream: opts.packets 0 is not allowed; use an integer in 1..10000000/);
    expect(() => rxStream(host, { to: 'guest1', packets: 1, gapNs: 1.5 })).toThrow(/rxStream: opts.gapNs 1.5 is not allowed/);
    expect(() => rxStream(host, { to: 'nobody', packets: 1, gapNs: 1 })).toThrow(/no guest named 'nobody'/);
  });
});

function walkOfOneFrame(design: 'modern' | 'classic'): RxWalkRow[] {
  const host = buildRxLabHost({ guests: [{ name: 'g', design }] });
  rxWarmUp(host);
  const rec = host.sim.trace.record('pkt.step');
  const s = rxStream(host, { to: 'g', packets: 1, gapNs: 1 });
  host.runFor(host.ms(1));
  rec.stop();
  expect(s.latenciesNs.length).toBe(1);
  return rxWalk(rec.records);
}

describe('rxWalk / rxBreakdown / rxSwimlane', () => {
  it('rxWalk() follows one frame from udp_sendmsg to the guest udp_rcv under one packet id (modern)', () => {
    const walk = walkOfOneFrame('modern');
    const fns = walk.map((w) => w.fn);
    const order = ['udp_sendmsg', 'phy_rx', 'ixgbe_clean_rx_irq', 'br_handle_frame', 'xenvif_start_xmit', 'xenvif_rx_skb', 'xennet_poll', 'udp_rcv'];
    let at = -1;
    for (const fn of order) {
      const i = fns.indexOf(fn);
      expect(i, fn).toBeGreaterThan(at);
      at = i;
    }
    // Steps on one CPU never overlap, and a step never starts before its event ran.
    for (const w of walk) expect(w.start).toBeGreaterThanOrEqual(w.t);
    const dom0 = walk.filter((w) => w.dom === 0 && w.cpu_ns > 0);
    for (let i = 1; i < dom0.length; i++) expect(dom0[i]!.start).toBeGreaterThanOrEqual(dom0[i - 1]!.end);
    expect(walk.find((w) => w.fn === 'ixgbe_clean_tx_irq')?.on_path).toBe(false);
    // A zero-cost step starts when the work before it in its event is done: the frame leaves on
    // the wire after the client's driver wrote the descriptor.
    const xmit = walk.find((w) => w.fn === 'ixgbe_xmit_frame')!;
    const phyTx = walk.find((w) => w.fn === 'phy_tx')!;
    expect(phyTx.t).toBe(xmit.t);
    expect(phyTx.start).toBe(xmit.end);
  });

  it('rxWalk() of the classic design names netif_be_start_xmit and netbk_gop_skb, and 2.6.18 netfront\'s netif_int and netif_poll', () => {
    const walk = walkOfOneFrame('classic');
    const fns = walk.map((w) => w.fn);
    expect(fns).toContain('netif_be_start_xmit');
    expect(fns).toContain('netbk_gop_skb');
    expect(fns.indexOf('netbk_gop_skb')).toBeLessThan(fns.indexOf('netif_poll'));
    const guest = walk.filter((w) => w.lane === 'domU');
    expect(guest.map((w) => w.fn)).toEqual(['netif_int', 'netif_poll', 'xennet_get_responses', 'netif_receive_skb', '__netif_receive_skb_core', 'ip_rcv', 'udp_rcv']);
    // The rx half of netif_int is on the packet's path; the guest's part lands in the same groups as the modern walk's.
    expect(guest.every((w) => w.on_path)).toBe(true);
    expect(guest.map((w) => rxComponentOf(w.fn, w.lane))).toEqual([
      'netfront', 'netfront', 'netfront', 'guest stack', 'guest stack', 'guest stack', 'guest stack',
    ]);
    const modern = walkOfOneFrame('modern').filter((w) => w.lane === 'domU');
    expect(modern.map((w) => rxComponentOf(w.fn, w.lane))).toEqual([
      'netfront', 'netfront', 'netfront', 'netfront', 'guest stack', 'guest stack', 'guest stack', 'guest stack',
    ]);
  });

  it('rxWalk() marks a 2.6.18 guest\'s tx completion (netif_int → network_tx_buf_gc) off the path, as the modern one', () => {
    for (const design of ['modern', 'classic'] as const) {
      const host = buildRxLabHost({ guests: [{ name: 'g', design }] });
      rxWarmUp(host);
      const rec = host.sim.trace.record('pkt.step');
      const id = host.guest('g').endpoint.sendUdp(host.external.endpoint.ip, 9, 200);
      host.runFor(host.ms(1));
      rec.stop();
      const walk = rxWalk(rec.records, [id]);
      const guest = walk.filter((w) => w.lane === 'domU');
      const xmit = design === 'classic' ? 'network_start_xmit' : 'xennet_start_xmit';
      const done = design === 'classic'
        ? ['netif_int', 'gnttab_end_foreign_access_ref', 'network_tx_buf_gc']
        : ['xennet_tx_interrupt', 'gnttab_end_foreign_access_ref', 'xennet_tx_buf_gc'];
      expect(guest.find((w) => w.fn === xmit)?.on_path, design).toBe(true);
      expect(guest.slice(-3).map((w) => [w.fn, w.on_path]), design).toEqual(done.map((f) => [f, false]));
      expect(rxComponentOf(xmit, 'domU')).toBe('netfront');
      expect(rxComponentOf(done[0]!, 'domU')).toBe('netfront');
      expect(rxComponentOf(done[2]!, 'domU')).toBe('netfront');
    }
  });

  it('rxBreakdown() adds up to the span of the on-path steps and charges the dom0 → guest wait to xen', () => {
    const walk = walkOfOneFrame('modern');
    const rows = rxBreakdown(walk);
    const path = walk.filter((w) => w.on_path);
    const span = Math.max(...path.map((w) => w.end)) - path[0]!.start;
    expect(rows.reduce((s, r) => s + r.ns, 0)).toBe(span);
    const xen = rows.find((r) => r.component === 'xen' && r.kind === 'wait');
    expect(xen?.ns).toBeGreaterThan(0);
    const bridge = rows.find((r) => r.component === 'bridge' && r.kind === 'cpu');
    expect(bridge?.ns).toBe(walk.filter((w) => w.lane === 'bridge').reduce((s, w) => s + w.cpu_ns, 0));
  });

  it('rxSwimlane() gives every step a visible interval starting at 0', () => {
    const lanes = rxSwimlane(walkOfOneFrame('modern'), 50);
    expect(lanes[0]!.start_us).toBe(0);
    for (const r of lanes) expect(r.end_us - r.start_us).toBeGreaterThanOrEqual(0.05 - 1e-9);
  });

  it('rxComponentOf() splits dom0 into netback and stack, the guest into netfront and stack', () => {
    expect(rxComponentOf('xenvif_rx_skb', 'dom0')).toBe('netback');
    expect(rxComponentOf('netbk_gop_skb', 'dom0')).toBe('netback');
    expect(rxComponentOf('__netif_receive_skb_core', 'dom0')).toBe('dom0 stack');
    expect(rxComponentOf('xennet_poll', 'domU')).toBe('netfront');
    for (const fn of ['netif_poll', 'netif_int', 'network_start_xmit', 'network_tx_buf_gc', 'xennet_get_responses']) {
      expect(rxComponentOf(fn, 'domU'), fn).toBe('netfront');
    }
    expect(rxComponentOf('netif_receive_skb', 'domU')).toBe('guest stack');
    expect(rxComponentOf('udp_rcv', 'domU')).toBe('guest stack');
    expect(rxComponentOf('br_forward', 'bridge')).toBe('bridge');
  });
});

describe('rxCostMeter', () => {
  function cost(spec: { design?: 'modern' | 'classic'; rxMode?: 'copy' | 'flip' }) {
    const host = buildRxLabHost({ guests: [{ name: 'g', ...spec }] });
    rxWarmUp(host);
    const busy0 = host.dom0.cpu.busyNs;
    const m = rxCostMeter(host);
    const s = rxStream(host, { to: 'g', packets: 200, gapNs: 10_000 });
    host.runFor(host.ms(4));
    const r = m.finish(s.latenciesNs.length);
    return { r, dom0Busy: host.dom0.cpu.busyNs - busy0, n: s.latenciesNs.length };
  }

  it('rxCostMeter() splits each domain CPU total exactly into functions, hypercalls and the rest', () => {
    const { r, dom0Busy, n } = cost({});
    const dom0 = r.cpu.filter((c) => c.domain === 'Domain-0').reduce((s, c) => s + c.ns_per_pkt, 0);
    expect(dom0 * n).toBeCloseTo(dom0Busy, 3);
    expect(r.totals.find((t) => t.domain === 'Domain-0')!.ns_per_pkt * n).toBeCloseTo(dom0Busy, 3);
    expect(r.hypercalls.some((h) => h.domain === 'Domain-0' && h.op === 'GNTTABOP_copy' && h.per_pkt > 0)).toBe(true);
    expect(r.cpu.some((c) => c.fn === 'br_handle_frame' && c.ns_per_pkt === 550)).toBe(true);
  });

  it('rxCostMeter() shows page flipping: GNTTABOP_transfer in dom0 and memory hypercalls in the guest, and more CPU than copy', () => {
    const flip = cost({ design: 'classic', rxMode: 'flip' }).r;
    const copy = cost({ design: 'classic', rxMode: 'copy' }).r;
    expect(flip.hypercalls.find((h) => h.domain === 'Domain-0' && h.op === 'GNTTABOP_transfer')?.per_pkt).toBeGreaterThan(0);
    expect(flip.hypercalls.find((h) => h.op === 'GNTTABOP_copy')).toBeUndefined();
    // The flipping guest gives the pages of a refill batch (at least rx_target / 2 = 32) back in one
    // XENMEM_decrease_reservation; the copying guest makes no hypercall on receive, only takes upcalls.
    const other = flip.hypercalls.find((h) => h.domain === 'g' && h.op === 'other hypercalls')!.per_pkt;
    expect(other).toBeGreaterThan(0);
    expect(other).toBeLessThanOrEqual(1 / 32);
    expect(copy.hypercalls.filter((h) => h.domain === 'g').map((h) => h.op)).toEqual(['event upcalls']);
    expect(copy.totals.find((t) => t.domain === 'g')!.upcalls_per_pkt).toBeGreaterThan(0);
    expect(copy.hypercalls.find((h) => h.op === 'GNTTABOP_transfer')).toBeUndefined();
    const total = (r: typeof flip, d: string) => r.totals.find((t) => t.domain === d)!.ns_per_pkt;
    expect(total(flip, 'Domain-0')).toBeGreaterThan(total(copy, 'Domain-0'));
    expect(total(flip, 'g')).toBeGreaterThan(total(copy, 'g'));
    expect(() => rxCostMeter(buildRxLabHost()).finish(0)).toThrow(/finish\(packets\): 0/);
  });
});

describe('starvation helpers', () => {
  it('a guest too slow for its stream loses packets at netback with named reasons, binned over time; its neighbour loses none', () => {
    const host = buildRxLabHost({
      params: { 'netback.rx_drain_timeout_msecs': 2 },
      guests: [{ name: 'slow', params: { 'net.l4_rcv_ns': 6000 } }, { name: 'ok' }],
    });
    rxWarmUp(host);
    const drops = host.sim.trace.record('drop');
    const t0 = host.now;
    const slow = rxStream(host, { to: 'slow', packets: 2000, gapNs: 4000 });
    const ok = rxStream(host, { to: 'ok', packets: 300, gapNs: 25_000, port: 7001 });
    const queue: number[] = [];
    sampleEvery(host, host.ms(1), t0 + host.ms(10), () => queue.push(host.guest('slow').vif.queues[0]!.rx_queue.length));
    host.runFor(host.ms(14));
    drops.stop();
    expect(queue.length).toBe(11);
    expect(Math.max(...queue)).toBeGreaterThan(100);
    const bins = dropTimeline(drops.records, host.ms(1), t0, 'vif1.0');
    const total = bins.reduce((s, b) => s + b.drops, 0);
    expect(total).toBe(host.sim.drops.total({ where: 'vif1.0' }));
    expect(total).toBeGreaterThan(0);
    expect(new Set(bins.map((b) => b.reason))).toEqual(new Set(['rx_queue_full', 'drain_timeout']));
    // Conservation for the slow guest: every datagram delivered or dropped with a reason.
    expect(slow.latenciesNs.length + total).toBe(2000);
    expect(ok.latenciesNs.length).toBe(300);
    expect(() => sampleEvery(host, 0, host.now, () => {})).toThrow(/periodNs\): 0/);
    expect(() => dropTimeline([], 0)).toThrow(/binNs\): 0/);
    const filled = dropTimeline(drops.records, host.ms(1), t0, 'vif1.0', 14);
    expect(filled.length).toBe(28);
    expect(filled.filter((b) => b.t_ms === 0).map((b) => b.drops)).toEqual([0, 0]);
    expect(filled.reduce((s, b) => s + b.drops, 0)).toBe(total);
  });
});

describe('rxWalk with the CPU timeline (buildRxLabHost stepTimes)', () => {
  for (const spec of [{ design: 'modern' as const }, { design: 'classic' as const }, { design: 'classic' as const, rxMode: 'flip' as const }]) {
    const name = `${spec.design}${spec.rxMode ? ' ' + spec.rxMode : ''}`;
    it(`rxWalk(records, pkts, host) ends where the socket measured the datagram, unnamed CPU included (${name})`, () => {
      const host = buildRxLabHost({ seed: 7, stepTimes: true, guests: [{ name: 'g', ...spec }] });
      rxWarmUp(host);
      const rec = host.sim.trace.record('pkt.step');
      const s = rxStream(host, { to: 'g', packets: 1, gapNs: 1 });
      host.runFor(host.ms(1));
      rec.stop();
      const walk = rxWalk(rec.records, undefined, host);
      const path = walk.filter((w) => w.on_path);
      expect(Math.max(...path.map((w) => w.end)) - walk[0]!.start).toBe(s.latenciesNs[0]);
      expect(rxBreakdown(walk).reduce((t, r) => t + r.ns, 0)).toBe(s.latenciesNs[0]);
      expect(walk.map((w) => w.step)).toEqual(walk.map((_, i) => i + 1));
      // The guest's poll charges more than its named steps (building the skb; remapping flipped pages).
      const extra = walk.filter((w) => w.fn === 'other driver work' && w.lane === 'domU');
      expect(extra.length).toBe(1);
      expect(extra[0]!.component).toBe('netfront');
      if (spec.rxMode === 'flip') expect(extra[0]!.cpu_ns).toBeGreaterThan(Number(host.params.get('netfront.flip_remap_ns')));
      // Without the host the same records give the old walk, which leaves that CPU out.
      const plain = rxWalk(rec.records);
      expect(plain.some((w) => w.fn === 'other driver work')).toBe(false);
      expect(Math.max(...plain.filter((w) => w.on_path).map((w) => w.end)) - plain[0]!.start).toBeLessThan(s.latenciesNs[0]!);
    });
  }

  it('a ping walk accounts for the whole RTT, and the reply\'s wire wait equals the request\'s (modern and classic)', () => {
    expect(RX_COMPLETION_STEPS.has('gnttab_unmap_refs') && RX_COMPLETION_STEPS.has('gnttab_unmap_grant_ref')).toBe(true);
    for (const design of ['modern', 'classic'] as const) {
      const host = buildRxLabHost({ seed: 7, stepTimes: true, guests: [{ name: 'g', design }] });
      rxWarmUp(host);
      const rec = host.sim.trace.record('pkt.step');
      const p = host.external.endpoint.ping(host.guest('g').ip, { ident: 1, seq: 1, size: 56 });
      host.runFor(host.ms(1));
      rec.stop();
      const walk = rxWalk(rec.records, [p.pkt], host);
      expect(rxBreakdown(walk).reduce((t, r) => t + r.ns, 0), design).toBe(p.rttNs);
      const cut = walk.findIndex((w) => w.fn === 'icmp_reply');
      const wire = (rows: RxWalkRow[]) => rxBreakdown(rows).find((r) => r.component === 'wire')!.ns;
      expect(wire(walk.slice(cut)), design).toBe(wire(walk.slice(0, cut)));
    }
    expect(() => rxWalk([], undefined, buildRxLabHost())).toThrow(/keeps no CPU timeline; build it with buildRxLabHost\(\{ stepTimes: true \}\)/);
  });
});

describe('rxWarmUp and a stream\'s drops', () => {
  it('rxWarmUp() waits until xenbr0 knows a slow guest\'s MAC, so the stream to it floods nothing', () => {
    const host = buildRxLabHost({ seed: 7, guests: [{ name: 'slow', params: { 'netfront.rx_refill_ns': 6000 } }, { name: 'ok' }] });
    const t0 = host.now;
    rxWarmUp(host);
    expect(host.now - t0).toBeGreaterThan(host.us(1100));
    const macs = host.bridge.fdb().map((r) => r.mac);
    for (const g of host.guests) expect(macs, g.name).toContain(g.mac);
    const floods = host.sim.trace.record('bridge.flood');
    rxStream(host, { to: 'slow', packets: 100, gapNs: 10_000 });
    host.runFor(host.ms(2));
    expect(floods.records.length).toBe(0);
    // The default guest's warm-up is unchanged: 1.1 ms.
    const quick = buildRxLabHost({ seed: 7 });
    const q0 = quick.now;
    rxWarmUp(quick);
    expect(quick.now - q0).toBe(quick.us(1100));
  });

  it('rxStream() counts its datagrams dropped anywhere by packet id: a stalled guest\'s flooded frames dropped at its neighbour too', () => {
    const host = buildRxLabHost({
      seed: 7, params: { 'netback.rx_drain_timeout_msecs': 2, 'netback.rx_stall_timeout_msecs': 5 },
      guests: [{ name: 'slow', params: { 'net.l4_rcv_ns': 6000, 'netfront.rx_pool_pages': 32 } }, { name: 'ok' }],
    });
    rxWarmUp(host);
    const slow = rxStream(host, { to: 'slow', packets: 2500, gapNs: 4000 });
    const ok = rxStream(host, { to: 'ok', packets: 400, gapNs: 25_000, port: 7001 });
    host.runFor(host.ms(17));
    expect(slow.latenciesNs.length).toBe(0);
    expect(slow.dropped).toBe(slow.sent);
    const where = new Set([...slow.drops.values()].map((d) => `${d.where} ${d.reason}`));
    expect(where.has('ok/eth0 otherhost')).toBe(true);
    expect(where.has('vif1.0 rx_queue_full')).toBe(true);
    expect(host.sim.drops.total({ where: 'ok/eth0' })).toBeGreaterThan(0);
    expect([ok.latenciesNs.length, ok.dropped]).toEqual([400, 0]);
  });
});
