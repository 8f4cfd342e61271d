import { describe, expect, it } from 'vitest';
import { buildXenHost } from '../../src/topo';
import { fdbTimeline, bridgeDecisions, walkSteps, walkSummary, walkStepSpans, stepsPerPacket, deliveryLatencies } from '../../src/topo/lab-bridge';
import type { AnyTraceRecord } from '../../src/sim/trace';

const rec = (t: number, ev: string, f: Record<string, unknown>): AnyTraceRecord => ({ t, ev, bridge: 'xenbr0', ...f });

describe('fdbTimeline()', () => {
  it('opens a span on learn, moves it on a station move, closes it on age and flush, leaves the rest present', () => {
    const spans = fdbTimeline([
      rec(1e9, 'bridge.learn', { port: 'vif1.0', mac: 'aa' }),
      rec(2e9, 'bridge.learn', { port: 'vif2.0', mac: 'bb' }),
      rec(3e9, 'bridge.move', { mac: 'aa', from: 'vif1.0', to: 'eth0' }),
      rec(4e9, 'bridge.age', { mac: 'bb', port: 'vif2.0', idleNs: 2e9 }),
      rec(5e9, 'bridge.learn', { port: 'vif3.0', mac: 'cc' }),
      rec(6e9, 'bridge.flush', { port: 'vif3.0', entries: 1, why: 'carrier off' }),
      rec(6e9, 'bridge.learn', { port: 'vif1.0', mac: 'dd', bridge: 'other' }),
    ], { endNs: 10e9, names: { aa: 'a' }, bridge: 'xenbr0' });
    expect(spans.map((s) => `${s.who}@${s.port} ${s.start_s}-${s.end_s} ${s.end}`)).toEqual([
      'a@vif1.0 1-3 moved', 'bb@vif2.0 2-4 aged', 'a@eth0 3-10 present', 'cc@vif3.0 5-6 flushed',
    ]);
    expect(() => fdbTimeline([], { endNs: -1 })).toThrow(/endNs -1 is not allowed/);
  });
});

describe('bridgeDecisions()', () => {
  it('counts forward, flood and local events per bin with running totals, zero bins included', () => {
    const rows = bridgeDecisions([
      rec(0, 'bridge.flood', {}), rec(1_500_000, 'bridge.forward', {}), rec(1_600_000, 'bridge.forward', {}),
      rec(2_100_000, 'bridge.local', {}), rec(9_000_000, 'bridge.forward', {}),
    ], { binNs: 1_000_000, endNs: 3_000_000 });
    const fw = rows.filter((r) => r.decision === 'forwarded').map((r) => [r.t_ms, r.frames, r.total]);
    expect(fw).toEqual([[0, 0, 0], [1, 2, 2], [2, 0, 2]]); // the event at 9 ms is after endNs
    expect(rows.filter((r) => r.decision === 'flooded').map((r) => r.frames)).toEqual([1, 0, 0]);
    expect(rows.filter((r) => r.decision === 'to dom0').map((r) => r.frames)).toEqual([0, 0, 1]);
    expect(() => bridgeDecisions([], { binNs: 0, endNs: 1 })).toThrow(/binNs 0 is not allowed/);
  });
});

describe('the lab helpers on a real host', () => {
  it('show a guest learned, forwarded to, then aged out with a short ageing time', () => {
    const host = buildXenHost({ guests: [{ name: 'a' }, { name: 'b' }], params: { 'bridge.ageing_time': 100 } }); // 1 s
    const r = host.sim.trace.record('bridge.');
    const a = host.guest('a');
    const b = host.guest('b');
    b.endpoint.bind(7000);
    for (let i = 0; i < 3; i++) a.endpoint.sendUdp(b.ip, 7000, 100);
    host.runFor(host.ms(5));
    const tTalk = host.now;
    host.runFor(host.ms(3000));
    const spans = fdbTimeline(r.records, { endNs: host.now, names: { [a.mac]: 'a', [b.mac]: 'b' } });
    const sa = spans.find((s) => s.who === 'a')!;
    expect(sa.port).toBe('vif1.0');
    expect(sa.end).toBe('aged');
    // not before the ageing time has passed since the last frame (less one jiffy of truncation at HZ 250)
    expect(sa.end_s * 1e9).toBeGreaterThanOrEqual(tTalk - host.ms(5) + 1e9 - 4e6);
    expect(sa.end_s * 1e9).toBeLessThan(tTalk + 1e9 + 1e8);
    expect(spans.find((s) => s.who === 'b')!.end).toBe('aged');
    expect(host.bridge.fdb().some((e) => e.mac === a.mac)).toBe(false);
    const d = bridgeDecisions(r.records, { binNs: host.ms(1), endNs: host.now });
    const total = (k: string) => d.filter((x) => x.decision === k).reduce((s, x) => s + x.frames, 0);
    expect(total('flooded')).toBe(r.records.filter((x) => x.ev === 'bridge.flood').length);
    expect(total('flooded')).toBeGreaterThan(0); // the ARP request
    expect(total('forwarded')).toBe(r.records.filter((x) => x.ev === 'bridge.forward').length);
    expect(total('forwarded')).toBeGreaterThanOrEqual(4); // ARP reply + 3 datagrams
  });

  it('walk rows and summaries: guest-to-guest never reaches the NIC, guest-to-wire does', () => {
    const host = buildXenHost({ guests: [{ name: 'a' }, { name: 'b' }] });
    const a = host.guest('a');
    const b = host.guest('b');
    b.endpoint.bind(7000);
    host.external.endpoint.bind(7000);
    a.endpoint.sendUdp(b.ip, 7000, 100);
    a.endpoint.sendUdp('10.0.0.100', 7000, 100);
    host.runFor(host.ms(5));
    const w = host.sim.trace.record('pkt.step');
    const g2g = a.endpoint.sendUdp(b.ip, 7000, 100);
    const g2w = a.endpoint.sendUdp('10.0.0.100', 7000, 100);
    host.runFor(host.ms(5));
    const steps = walkSteps(w.records, g2g);
    expect(steps[0]!.fn).toBe('udp_sendmsg');
    expect(steps[0]!.where).toBe('domU 1');
    const rcv = steps.find((s) => s.fn === 'udp_rcv')!;
    expect(rcv.where).toBe('domU 2');
    expect(steps.map((s) => s.step)).toEqual(steps.map((_, i) => i + 1));
    const s1 = walkSummary(w.records, g2g, 'udp_rcv');
    const s2 = walkSummary(w.records, g2w, 'udp_rcv');
    expect(s1.steps).toBe(w.records.filter((x) => x.pkt === g2g).length);
    expect(s1.byWhere.nic).toBeUndefined();
    expect(s2.byWhere.nic).toBeGreaterThan(0);
    expect(s2.byWhere.host).toBeGreaterThan(0);
    expect(s1.dom0Functions).toContain('br_handle_frame');
    expect(s1.cpuNs).toBe(steps.reduce((s, x) => s + x.cpu_ns, 0));
    expect(s1.latencyNs).toBe(Math.round(rcv.t_us * 1000));
    expect(walkSummary(w.records, g2g).latencyNs).toBeGreaterThanOrEqual(s1.latencyNs);
    expect(() => walkSummary(w.records, g2g, 'tcp_v4_rcv')).toThrow(/never reached "tcp_v4_rcv"/);
    expect(walkStepSpans(w.records, g2g).every((s) => s.end_us > s.start_us)).toBe(true);
    expect(stepsPerPacket(w.records, [g2g, g2w])).toBe((s1.steps + s2.steps) / 2);
    expect(deliveryLatencies(w.records, [g2w, 424242, g2g])).toEqual([s2.latencyNs, s1.latencyNs]);
    expect(deliveryLatencies(w.records, [g2g], 'br_handle_frame')[0]).toBeLessThan(s1.latencyNs);
    expect(() => walkSummary(w.records, 999_999)).toThrow(/packet 999999 has no pkt.step records/);
  });
});
