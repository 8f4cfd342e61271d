import { describe, expect, it } from 'vitest';
import { buildXenHost, type NetworkMode, type XenHost } from '../../src/topo';
import { FrameCapture } from '../../src/net/capture';
import { csum_fold, csum_partial, pseudoHeaderSumAt, ipv4At, Ipv4Addr } from '../../src/wire';
import { ipv4HeaderChecksumOk } from '../../src/net/l3';
import { vifRouteHotplug } from '../../src/topo/modes';

const ip = (b: Uint8Array, off: number) => Ipv4Addr.fromU32(ipv4At(b, off)).toString();
const macAt = (b: Uint8Array, off: number) => [...b.subarray(off, off + 6)].map((x) => x.toString(16).padStart(2, '0')).join(':');
const isUdp = (f: Uint8Array) => f.length >= 42 && f[12] === 0x08 && f[13] === 0 && f[23] === 17;
const port = (f: Uint8Array, off: number) => (f[off]! << 8) | f[off + 1]!;

function udpChecksumOk(f: Uint8Array): boolean {
  const ihl = (f[14]! & 0x0f) * 4;
  const len = ((f[16]! << 8) | f[17]!) - ihl;
  return csum_fold(pseudoHeaderSumAt(f, 14, len) + csum_partial(f, 14 + ihl, 14 + ihl + len, 0)) === 0;
}

function host3(mode: NetworkMode): XenHost {
  return buildXenHost({ mode, guests: [{ name: 'a', pages: 2048 }, { name: 'b', pages: 2048 }, { name: 'c', design: 'classic', pages: 2048 }] });
}

describe('buildXenHost({ mode })', () => {
  it('writes the mode\'s hotplug script and wires dom0 as vif-route / vif-nat do', () => {
    const r = buildXenHost({ mode: 'route', guests: [{ name: 'a', ip: '10.0.0.21' }] });
    const a = r.guest('a');
    expect(r.hv.xenstore.read(`${a.backendPath}/script`)).toBe('/etc/xen/scripts/vif-route');
    expect(r.hv.xenstore.read(`${a.backendPath}/hotplug-status`)).toBe('connected');
    expect(r.l3!.router.routeTable()).toContainEqual({ dst: '10.0.0.21/32', dev: 'vif1.0', via: null });
    expect(r.l3!.router.routeTable()).toContainEqual({ dst: '10.0.0.0/24', dev: 'eth0', via: null });
    expect(r.dom0.dev('vif1.0').rxHandler).toBeNull(); // not a bridge port
    expect(r.bridge.fdb().filter((e) => e.port !== 'xenbr0')).toEqual([]);

    const n = buildXenHost({ mode: 'nat', guests: [{ name: 'a' }, { name: 'b', ip: '10.0.9.5' }] });
    expect(n.hv.xenstore.read(`${n.guest('a').backendPath}/script`)).toBe('/etc/xen/scripts/vif-nat');
    expect(n.hv.xenstore.read(`${n.guest('a').backendPath}/ip`)).toBeUndefined(); // vif-nat computes it
    expect(n.guest('a').ip).toBe('10.0.1.1'); // 10.<domid/256>.<domid%256>.<devid+1>
    expect(n.guest('b').ip).toBe('10.0.9.5');
    expect(n.l3!.router.routeTable()).toContainEqual({ dst: '10.0.1.1/32', dev: 'vif1.0', via: null });

    expect(buildXenHost().l3).toBeNull();
    expect(() => buildXenHost({ mode: 'tunnel' as never })).toThrow(/mode 'tunnel' is not allowed; use 'bridge', 'route' or 'nat'/);
  });
});

for (const mode of ['bridge', 'route', 'nat'] as const) {
  describe(`${mode} mode with three guests (two modern vifs, one classic)`, () => {
    it('carries UDP guest → wire and back to the guest, for every guest', () => {
      const host = host3(mode);
      const ext = host.external.endpoint.bind(9000);
      const seenFrom: string[] = [];
      ext.onReceive = (_s, skb) => { seenFrom.push(ip(skb.head, skb.data + 26)); };
      const socks = host.guests.map((g) => g.endpoint.bind(5000));
      for (const g of host.guests) g.endpoint.sendUdp('10.0.0.100', 9000, 200, 5000);
      host.runFor(host.ms(5));
      expect(ext.packets).toBe(3);
      // NAT: the external host only ever sees dom0's address
      if (mode === 'nat') expect(seenFrom).toEqual(['10.0.0.1', '10.0.0.1', '10.0.0.1']);
      else expect(seenFrom.sort()).toEqual(host.guests.map((g) => g.ip).sort());
      // wire → guest: to the guest's address (bridge, route) or, in NAT mode, to the port
      // MASQUERADE gave the guest's flow on dom0's address
      if (mode === 'nat') {
        // the three guests used source port 5000 to the same remote: one keeps it, the others
        // get the next free ports from 1024 (nf_nat_l4proto_unique_tuple)
        const ct = host.l3!.router.conntrack();
        expect(ct.map((c) => c.masqPort).sort()).toEqual([1024, 1025, 5000]);
        for (const g of host.guests) {
          const c = ct.find((x) => x.guest === `${g.ip}:5000`)!;
          host.external.endpoint.sendUdp('10.0.0.1', c.masqPort, 300, 9000);
        }
      } else {
        for (const g of host.guests) host.external.endpoint.sendUdp(g.ip, 5000, 300, 9000);
      }
      host.runFor(host.ms(5));
      expect(socks.map((s) => s.packets)).toEqual([1, 1, 1]);
      expect(socks.map((s) => s.bytes)).toEqual([300, 300, 300]);
      expect(host.sim.drops.total()).toBe(0);
    });

    it('carries guest-to-guest UDP both ways through dom0 (transmit and receive paths of two vifs)', () => {
      const host = host3(mode);
      const [a, b, c] = host.guests;
      const sb = b!.endpoint.bind(7000);
      const sc = c!.endpoint.bind(7000);
      const sa = a!.endpoint.bind(7000);
      const walk = host.sim.trace.record('pkt.step');
      const id = a!.endpoint.sendUdp(b!.ip, 7000, 500);
      c!.endpoint.sendUdp(a!.ip, 7000, 500);
      host.runFor(host.ms(5));
      b!.endpoint.sendUdp(c!.ip, 7000, 500);
      host.runFor(host.ms(5));
      expect([sa.packets, sb.packets, sc.packets]).toEqual([1, 1, 1]);
      const fns = walk.records.filter((r) => r.pkt === id).map((r) => `${r.fn}${r.detail !== undefined && /→|vif|eth/.test(r.detail) ? ` ${r.detail}` : ''}`);
      // never touches the NIC or the wire
      expect(fns.some((f) => f.startsWith('ixgbe_') || f.startsWith('phy_'))).toBe(false);
      expect(fns).toContain('xenvif_tx_build_gops'); // a's vif receives (guest transmit)…
      expect(fns).toContain('xenvif_rx_skb'); // …b's vif transmits (guest receive)
      if (mode === 'bridge') {
        // the bridge learned each guest on its own vif
        const fdb = host.bridge.fdb();
        for (const g of host.guests) expect(fdb.find((e) => e.mac === g.mac)?.port).toBe(g.vif.name);
        expect(fns).toContain('br_forward vif2.0');
        expect(fns).not.toContain('ip_forward vif1.0 → vif2.0');
      } else {
        // routed by dom0 (the first packet waits for dom0 to ARP for b on vif2.0)
        expect(fns.some((f) => f.startsWith('ip_forward vif1.0 → '))).toBe(true);
        expect(fns).toContain('ip_finish_output2 vif2.0');
        expect(fns.some((f) => f.startsWith('br_'))).toBe(false);
        expect(fns.some((f) => f.startsWith('nf_nat_packet'))).toBe(false); // no NAT between guests
      }
      expect(host.sim.drops.total()).toBe(0);
    });

    it('answers pings: guest → wire round trip, and wire → guest where the guest is reachable', () => {
      const host = host3(mode);
      const pings = host.guests.map((g, i) => g.endpoint.ping('10.0.0.100', { ident: 0x100 + i, seq: 1 }));
      host.runFor(host.ms(5));
      for (const p of pings) expect(p.rttNs).toBeGreaterThan(0);
      const back = host.external.endpoint.ping(host.guest('a').ip, { ident: 9, seq: 1 });
      host.runFor(host.ms(5));
      if (mode === 'nat') expect(back.rttNs).toBe(-1); // a private address: nobody answers ARP for it on the wire
      else expect(back.rttNs).toBeGreaterThan(0);
      // a second round, with every neighbour known, is faster than the first
      const again = host.guest('b').endpoint.ping('10.0.0.100', { ident: 0x101, seq: 2 });
      host.runFor(host.ms(5));
      expect(again.rttNs).toBeGreaterThan(0);
      expect(again.rttNs).toBeLessThan(pings[1]!.rttNs);
    });
  });
}

describe('what the wire sees', () => {
  function wireFramesOf(mode: NetworkMode) {
    const host = buildXenHost({ mode, guests: [{ name: 'a' }] });
    const cap = FrameCapture.onLink(host.sim, host.wire);
    const ext = host.external.endpoint.bind(9000);
    const a = host.guest('a');
    const sa = a.endpoint.bind(5555);
    const inner: string[] = [];
    sa.onReceive = (_s, skb) => { inner.push(`${ip(skb.head, skb.data + 26)} → ${ip(skb.head, skb.data + 30)}:${port(skb.head, skb.data + 36)}`); };
    a.endpoint.sendUdp('10.0.0.100', 9000, 64, 5555);
    host.runFor(host.ms(5));
    host.external.endpoint.sendUdp(mode === 'nat' ? '10.0.0.1' : a.ip, 5555, 64, 9000);
    host.runFor(host.ms(5));
    expect(ext.packets).toBe(1);
    expect(sa.packets).toBe(1);
    const udp = [...cap.capture].map((r) => r.data.slice()).filter(isUdp);
    expect(udp).toHaveLength(2);
    for (const f of udp) {
      expect(ipv4HeaderChecksumOk(f)).toBe(true);
      expect(udpChecksumOk(f)).toBe(true);
    }
    return { host, out: udp[0]!, back: udp[1]!, inner, a };
  }

  it('NAT: the guest\'s private source is masqueraded to dom0\'s address on the wire and restored on the reply', () => {
    const { out, back, inner, host } = wireFramesOf('nat');
    expect(`${ip(out, 26)}:${port(out, 34)} → ${ip(out, 30)}:${port(out, 36)}`).toBe('10.0.0.1:5555 → 10.0.0.100:9000');
    expect(macAt(out, 6)).toBe('00:1b:21:0a:0b:0c'); // dom0's eth0
    expect(out[22]).toBe(63); // forwarded: TTL decremented
    expect(`${ip(back, 26)} → ${ip(back, 30)}:${port(back, 36)}`).toBe('10.0.0.100 → 10.0.0.1:5555');
    expect(inner).toEqual(['10.0.0.100 → 10.0.1.1:5555']); // DNAT back to the guest
    expect(host.l3!.router.conntrack()).toEqual([{ proto: 'udp', guest: '10.0.1.1:5555', remote: '10.0.0.100:9000', masqPort: 5555 }]);
  });

  it('route: the guest\'s own address on the wire, dom0\'s MAC as the L2 source; bridge: the guest\'s MAC', () => {
    const r = wireFramesOf('route');
    expect(`${ip(r.out, 26)} → ${ip(r.out, 30)}`).toBe('10.0.0.11 → 10.0.0.100');
    expect(macAt(r.out, 6)).toBe('00:1b:21:0a:0b:0c');
    expect(r.out[22]).toBe(63);
    expect(macAt(r.back, 0)).toBe('00:1b:21:0a:0b:0c'); // the client reached the guest via dom0's proxy ARP
    const b = wireFramesOf('bridge');
    expect(`${ip(b.out, 26)} → ${ip(b.out, 30)}`).toBe('10.0.0.11 → 10.0.0.100');
    expect(macAt(b.out, 6)).toBe(b.a.mac);
    expect(b.out[22]).toBe(64); // bridged: untouched
    expect(macAt(b.back, 0)).toBe(b.a.mac);
  });

  it('route: dom0 answers ARP for the guest on eth0 (proxy ARP) and the guest\'s ARP for the client on the vif', () => {
    const { host } = wireFramesOf('route');
    const neigh = host.l3!.router.neighbours().map((n) => `${n.dev} ${n.ip} ${n.mac}`);
    expect(neigh).toContain('vif1.0 10.0.0.11 00:16:3e:00:00:01');
    expect(neigh).toContain('eth0 10.0.0.100 00:1b:21:aa:bb:cc');
    expect(host.external.endpoint.neighbour('10.0.0.11')!.toString()).toBe('00:1b:21:0a:0b:0c');
    expect(host.guest('a').endpoint.neighbour('10.0.0.100')!.toString()).toBe('fe:ff:ff:ff:ff:ff');
  });
});

describe('dom0 local delivery in the L3 modes', () => {
  it('dom0 answers a ping from the wire on eth0 and a ping from a guest on its vif (route)', () => {
    const host = buildXenHost({ mode: 'route', guests: [{ name: 'a' }] });
    const p1 = host.external.endpoint.ping('10.0.0.1', { ident: 1, seq: 1 });
    const p2 = host.guest('a').endpoint.ping('10.0.0.1', { ident: 2, seq: 1 });
    host.runFor(host.ms(5));
    expect(p1.rttNs).toBeGreaterThan(0);
    expect(p2.rttNs).toBeGreaterThan(0);
    expect(host.sim.drops.total()).toBe(0);
  });

  it('a packet that waited for ARP keeps its packet id across the wait (nat, first packet of a flow)', () => {
    const host = buildXenHost({ mode: 'nat', guests: [{ name: 'a' }] });
    host.external.endpoint.bind(9000);
    const walk = host.sim.trace.record('pkt.step');
    const id = host.guest('a').endpoint.sendUdp('10.0.0.100', 9000, 10);
    host.runFor(host.ms(5));
    const fns = walk.records.filter((r) => r.pkt === id).map((r) => r.fn);
    expect(fns).toContain('ip_forward');
    expect(fns).toContain('nf_nat_packet');
    expect(fns.slice(-2)).toEqual(['ip_rcv', 'udp_rcv']); // delivered at the client as the same packet
    expect(host.l3!.counters.queued).toBe(1);
  });
});

describe('bad input in the L3 modes', () => {
  it('malformed frames from a guest are dropped with the router\'s reasons, never thrown; the host keeps working', () => {
    const host = buildXenHost({ mode: 'route', guests: [{ name: 'a' }, { name: 'b' }] });
    const a = host.guest('a');
    const vifMac = [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff];
    const eth = (type: number, body: number[]) => new Uint8Array([...vifMac, 0x00, 0x16, 0x3e, 0, 0, 1, type >> 8, type & 0xff, ...body]);
    a.endpoint.sendFrame(eth(0x0800, new Array(20).fill(0x45))); // bad IPv4 header (checksum, lengths)
    a.endpoint.sendFrame(eth(0x86dd, new Array(40).fill(0))); // IPv6: not routed by this model
    a.endpoint.sendFrame(eth(0x0806, [0, 1, 8, 0, 6])); // truncated ARP
    host.runFor(host.ms(2));
    const reasons = host.sim.drops.table().filter((d) => d.where === 'l3/eth0').map((d) => d.reason).sort();
    expect(reasons).toEqual(['arp_malformed', 'ip_inhdr', 'unhandled_protocol']);
    const sb = host.guest('b').endpoint.bind(7000);
    a.endpoint.sendUdp(host.guest('b').ip, 7000, 10);
    host.runFor(host.ms(2));
    expect(sb.packets).toBe(1);
  });

  it('vif-route reports hotplug-status "error" when dom0 cannot route for the vif', () => {
    const host = buildXenHost({ mode: 'route', guests: [{ name: 'a' }] });
    const a = host.guest('a');
    vifRouteHotplug(a.backend, host.l3!); // the vif is already routed: addVif refuses it
    expect(host.hv.xenstore.read(`${a.backendPath}/hotplug-status`)).toBe('error');
  });

  it('the same seed gives the same walk in every mode', () => {
    const digest = (mode: NetworkMode) => {
      const host = buildXenHost({ mode, seed: 3, guests: [{ name: 'a' }, { name: 'b' }] });
      host.external.endpoint.bind(9000);
      const w = host.sim.trace.record('pkt.step');
      host.guest('a').endpoint.sendUdp('10.0.0.100', 9000, 300);
      host.guest('b').endpoint.sendUdp(host.guest('a').ip, 9000, 300);
      host.runFor(host.ms(3));
      return w.toJsonl();
    };
    for (const m of ['route', 'nat'] as const) expect(digest(m)).toBe(digest(m));
    expect(digest('route')).not.toBe(digest('bridge'));
  });
});
