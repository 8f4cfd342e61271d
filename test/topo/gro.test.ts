import { describe, expect, it } from 'vitest';
import { buildXenHost, type XenHost } from '../../src/topo/host';
import type { Overrides } from '../../src/params';
import type { SkBuff } from '../../src/net/skb';

const PORT = 5001;

/** A host whose external host sends `bursts` TSO bursts of `bytes` to guest g; what dom0's stack and g's vif were handed. */
function tcpBursts(design: 'modern' | 'classic', params: Overrides, bursts: number, bytes: number) {
  const host: XenHost = buildXenHost({ seed: 1, guests: [{ name: 'g', design }], params });
  const g = host.guest('g');
  const sink = g.endpoint.listenTcp(PORT);
  host.external.endpoint.ping(g.ip);
  host.sim.run({ until: host.sim.now + 2_000_000 });
  type Seen = { segs: number; gso: number; frags: number };
  const seen = (skb: SkBuff): Seen => ({ segs: skb.gsoSegs, gso: skb.gsoSize, frags: skb.nrFrags });
  const dom0Skbs: Seen[] = [];
  const up = host.dom0.netif_receive_skb.bind(host.dom0);
  host.dom0.netif_receive_skb = (skb: SkBuff): void => {
    if (skb.dev === host.nic) dom0Skbs.push(seen(skb)); // what the NIC hands up (not the guest's ACKs)
    up(skb);
  };
  const vifSkbs: Seen[] = [];
  const vif = g.vif;
  const xmit = vif.ndo_start_xmit.bind(vif);
  vif.ndo_start_xmit = (skb: SkBuff) => {
    vifSkbs.push(seen(skb));
    return xmit(skb);
  };
  const gro = host.sim.trace.record('net.gro');
  const drops0 = host.sim.drops.total();
  const wire0 = host.nic.stats.rx_packets;
  for (let i = 0; i < bursts; i++) host.external.endpoint.sendTcp(g.ip, PORT, bytes);
  host.sim.run({ until: host.sim.now + 20_000_000 });
  gro.stop();
  const groEvents = gro.records.filter((e) => e.host === 'dom0');
  return { host, sink, dom0Skbs, vifSkbs, groEvents, drops: host.sim.drops.total() - drops0, wireFrames: host.nic.stats.rx_packets - wire0 };
}

describe('GRO in dom0 on the guest-receive path', () => {
  it('merges the wire segments of a TCP stream into GSO packets that reach the guest whole (modern netback)', () => {
    const r = tcpBursts('modern', {}, 8, 64_000);
    const segs = Math.ceil(64_000 / 1460) * 8;
    expect(r.wireFrames).toBe(segs);
    expect(r.drops).toBe(0);
    expect(r.sink.bytes).toBe(8 * 64_000);
    expect(r.sink.outOfOrder).toBe(0);
    expect(r.sink.segments).toBe(segs);
    // dom0's stack saw GSO packets, not segments, and each stands for what was merged into it.
    expect(r.dom0Skbs.length).toBeLessThan(segs / 4);
    expect(r.dom0Skbs.reduce((a, s) => a + (s.gso !== 0 ? s.segs : 1), 0)).toBe(segs);
    expect(r.dom0Skbs.every((s) => s.gso === 0 || s.gso === 1460)).toBe(true);
    // The guest got them as GSO packets too (a GSO extra on the rx ring): far fewer than the segments.
    expect(r.sink.packets).toBe(r.dom0Skbs.length);
    expect(r.host.nic.napi.gro!.stats.merged).toBe(segs - r.dom0Skbs.length);
    // The net.gro events account for every segment, and say why each packet went up: the burst's
    // last segment carries PSH, or the NIC's poll ended first.
    expect(r.groEvents).toHaveLength(r.dom0Skbs.length);
    expect(r.groEvents.reduce((a, e) => a + e.segs, 0)).toBe(segs);
    expect(new Set(r.groEvents.map((e) => e.why))).toEqual(new Set(['flags', 'poll_done']));
  });

  it('with GRO off in dom0 and the guest every segment goes up on its own, and the guest gets them one by one', () => {
    const r = tcpBursts('modern', { 'nic.gro': false, 'netfront.gro': false }, 8, 64_000);
    const segs = Math.ceil(64_000 / 1460) * 8;
    expect(r.drops).toBe(0);
    expect(r.dom0Skbs).toHaveLength(segs);
    expect(r.dom0Skbs.every((s) => s.gso === 0)).toBe(true);
    expect(r.sink.packets).toBe(segs);
    expect(r.sink.bytes).toBe(8 * 64_000);
    expect(r.host.nic.napi.gro).toBeNull();
  });

  it("with GRO off in dom0 only, the guest's netfront merges what one of its polls delivers (napi_gro_receive in the guest)", () => {
    const r = tcpBursts('modern', { 'nic.gro': false }, 8, 64_000);
    const segs = Math.ceil(64_000 / 1460) * 8;
    expect(r.drops).toBe(0);
    expect(r.dom0Skbs).toHaveLength(segs);
    expect(r.sink.bytes).toBe(8 * 64_000);
    expect(r.sink.outOfOrder).toBe(0);
    expect(r.sink.segments).toBe(segs);
    expect(r.sink.packets).toBeLessThan(segs / 4);
    const gq = r.host.guest('g').netfront.queues[0]!;
    expect(gq.gro!.stats.merged).toBe(segs - r.sink.packets);
    // Every page the merged packets held went back to netfront's pool once.
    expect(gq.rxPages.free + gq.rxOutstanding).toBe(gq.rxPages.size);
    expect(r.host.guest('g').stack.pool.outstanding).toBe(0);
  });

  it('a GRO packet past MAX_SKB_FRAGS goes to a 2.6.18 vif (no NETIF_F_FRAGLIST) as software-GSO segments', () => {
    const r = tcpBursts('classic', { 'netfront.gro': false }, 8, 64_000);
    const segs = Math.ceil(64_000 / 1460) * 8;
    expect(r.wireFrames).toBe(segs);
    const big = r.dom0Skbs.filter((s) => s.frags > 17);
    const small = r.dom0Skbs.filter((s) => s.frags <= 17);
    expect(big.length).toBeGreaterThan(0);
    // The vif was handed the small ones as they were and the big ones cut into their segments.
    expect(r.vifSkbs.every((s) => s.frags <= 17)).toBe(true);
    expect(r.vifSkbs).toHaveLength(small.length + big.reduce((a, s) => a + s.segs, 0));
    // All of it arrived but what Linux netfront refuses from a 2.6.18 backend: a packet in 18
    // slots whose first one is not pulled whole (rx_too_many_frags), counted.
    expect(r.drops).toBe(r.host.sim.drops.total({ reason: 'rx_too_many_frags' }));
    expect(r.sink.packets + r.drops).toBe(r.vifSkbs.length);
  });
});
