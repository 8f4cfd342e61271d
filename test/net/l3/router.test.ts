import { describe, expect, it } from 'vitest';
import { Simulator } from '../../../src/sim';
import { buildArp, buildUdpFrame, buildIcmpEcho, csum_fold, csum_partial, pseudoHeaderSumAt, ipv4At, Ipv4Addr } from '../../../src/wire';
import { Dom0Router, vifNatGuestIp, vifNatRouterIp, ipv4HeaderChecksumOk } from '../../../src/net/l3';

const ETH0 = '00:16:3e:00:00:01';
const VIF = 'fe:ff:ff:ff:ff:ff';
const GUEST_MAC = '00:16:3e:12:34:56';
const HOST_MAC = '02:00:00:00:00:50';
const GW_MAC = '02:00:00:00:00:01';

const ip = (b: Uint8Array, off: number) => Ipv4Addr.fromU32(ipv4At(b, off)).toString();
const macAt = (b: Uint8Array, off: number) => [...b.subarray(off, off + 6)].map((x) => x.toString(16).padStart(2, '0')).join(':');

function l4ChecksumOk(f: Uint8Array): boolean {
  const ihl = (f[14]! & 0x0f) * 4;
  const l4 = 14 + ihl;
  const len = ((f[16]! << 8) | f[17]!) - ihl;
  return csum_fold(pseudoHeaderSumAt(f, 14, len) + csum_partial(f, l4, l4 + len, 0)) === 0;
}

function routed() {
  const sim = new Simulator();
  const r = new Dom0Router(sim, { mode: 'route', uplink: { mac: ETH0, ip: '192.168.1.10', prefixLen: 24, gateway: '192.168.1.1' } });
  const v = r.addVif({ domid: 1, ip: '192.168.1.21' });
  return { sim, r, v };
}

function natted() {
  const sim = new Simulator();
  const r = new Dom0Router(sim, { mode: 'nat', uplink: { mac: ETH0, ip: '192.168.1.10', prefixLen: 24, gateway: '192.168.1.1' } });
  const v = r.addVif({ domid: 1 });
  // the gateway is known on eth0
  r.receive('eth0', buildArp({ operation: 'reply', senderMac: GW_MAC, senderIp: '192.168.1.1', targetMac: ETH0, targetIp: '192.168.1.10' }));
  // the guest asks for its router (learned as a neighbour on the vif)
  r.receive(v.name, buildArp({ senderMac: GUEST_MAC, senderIp: v.guestIp, targetIp: v.routerIp }));
  return { sim, r, v };
}

describe('vif-nat addressing', () => {
  it('vifNatGuestIp() follows 10.<domid/256>.<domid%256>.<devid+1> and the router is guest + 127', () => {
    expect(vifNatGuestIp(1, 0)).toBe('10.0.1.1');
    expect(vifNatGuestIp(300, 2)).toBe('10.1.44.3');
    expect(vifNatRouterIp('10.0.1.1')).toBe('10.0.1.128');
  });
});

describe('Dom0Router in route mode (vif-route)', () => {
  it('gives the vif dom0\'s address as a /32 and one host route per guest address', () => {
    const { r, v } = routed();
    expect(v).toEqual({ name: 'vif1.0', guestIp: '192.168.1.21', routerIp: '192.168.1.10' });
    expect(r.routeTable()).toContainEqual({ dst: '192.168.1.21/32', dev: 'vif1.0', via: null });
  });

  it('answers the guest\'s ARP for its gateway with the vif MAC (proxy ARP on the vif)', () => {
    const { r } = routed();
    const res = r.receive('vif1.0', buildArp({ senderMac: GUEST_MAC, senderIp: '192.168.1.21', targetIp: '192.168.1.1' }));
    expect(res.out).toHaveLength(1);
    const a = res.out[0]!.bytes;
    expect(res.out[0]!.ifName).toBe('vif1.0');
    expect((a[20]! << 8) | a[21]!).toBe(2);
    expect(macAt(a, 22)).toBe(VIF);
    expect(ip(a, 28)).toBe('192.168.1.1');
  });

  it('answers the upstream network\'s ARP for the guest on eth0 (network-route proxy_arp) but not for unknown hosts', () => {
    const { r } = routed();
    const yes = r.receive('eth0', buildArp({ senderMac: HOST_MAC, senderIp: '192.168.1.50', targetIp: '192.168.1.21' }));
    expect(yes.out.map((o) => [o.ifName, macAt(o.bytes, 22)])).toEqual([['eth0', ETH0]]);
    const no = r.receive('eth0', buildArp({ senderMac: HOST_MAC, senderIp: '192.168.1.50', targetIp: '192.168.1.99' }));
    expect(no.out).toEqual([]);
  });

  it('forwards guest traffic out of eth0 after resolving the neighbour, with TTL - 1 and a valid header checksum', () => {
    const { r } = routed();
    r.receive('vif1.0', buildArp({ senderMac: GUEST_MAC, senderIp: '192.168.1.21', targetIp: '192.168.1.1' }));
    const udp = buildUdpFrame({ srcMac: GUEST_MAC, dstMac: VIF, srcIp: '192.168.1.21', dstIp: '192.168.1.50', srcPort: 5000, dstPort: 53, payload: new Uint8Array(10) });
    const first = r.receive('vif1.0', udp);
    expect(first.out).toHaveLength(1);
    expect((first.out[0]!.bytes[12]! << 8) | first.out[0]!.bytes[13]!).toBe(0x0806); // ARP request for 192.168.1.50
    const resolved = r.receive('eth0', buildArp({ operation: 'reply', senderMac: HOST_MAC, senderIp: '192.168.1.50', targetMac: ETH0, targetIp: '192.168.1.10' }));
    const f = resolved.out[0]!.bytes;
    expect(resolved.out[0]!.ifName).toBe('eth0');
    expect(macAt(f, 0)).toBe(HOST_MAC);
    expect(macAt(f, 6)).toBe(ETH0);
    expect(f[22]).toBe(63);
    expect(ipv4HeaderChecksumOk(f)).toBe(true);
    expect(l4ChecksumOk(f)).toBe(true);
    // and the answer comes back to the guest on its vif
    const back = r.receive('eth0', buildUdpFrame({ srcMac: HOST_MAC, dstMac: ETH0, srcIp: '192.168.1.50', dstIp: '192.168.1.21', srcPort: 53, dstPort: 5000 }));
    expect(back.out.map((o) => [o.ifName, macAt(o.bytes, 0)])).toEqual([['vif1.0', GUEST_MAC]]);
  });

  it('drops bad input with reasons and never throws', () => {
    const { sim, r } = routed();
    expect(r.receive('vif1.0', new Uint8Array(5)).dropped).toBe('short_frame');
    const arp = buildArp({ senderMac: GUEST_MAC, senderIp: '192.168.1.21', targetIp: '192.168.1.1' });
    expect(r.receive('vif1.0', arp.subarray(0, 30)).dropped).toBe('arp_malformed');
    const udp = buildUdpFrame({ srcMac: GUEST_MAC, dstMac: VIF, srcIp: '192.168.1.21', dstIp: '192.168.1.50', srcPort: 1, dstPort: 2 });
    udp[24] ^= 0xff; // header checksum
    expect(r.receive('vif1.0', udp).dropped).toBe('ip_inhdr');
    const ttl1 = buildUdpFrame({ srcMac: GUEST_MAC, dstMac: VIF, srcIp: '192.168.1.21', dstIp: '192.168.1.50', srcPort: 1, dstPort: 2, ttl: 1 });
    expect(r.receive('vif1.0', ttl1).dropped).toBe('ttl_expired');
    expect(sim.drops.total({ where: 'l3/eth0' })).toBe(4);
    for (let n = 0; n < 200; n++) {
      const junk = Uint8Array.from({ length: n % 80 }, (_, i) => (i * 37 + n * 11) & 0xff);
      expect(() => r.receive('vif1.0', junk)).not.toThrow();
    }
    expect(() => r.receive('vif9.0', udp)).toThrow(/no interface named "vif9.0"; interfaces: eth0, vif1.0/);
  });
});

describe('Dom0Router in NAT mode (vif-nat + MASQUERADE)', () => {
  it('masquerades guest UDP behind the uplink address and maps replies back, with valid checksums', () => {
    const { r, v } = natted();
    expect(v).toEqual({ name: 'vif1.0', guestIp: '10.0.1.1', routerIp: '10.0.1.128' });
    const out = r.receive('vif1.0', buildUdpFrame({ srcMac: GUEST_MAC, dstMac: VIF, srcIp: '10.0.1.1', dstIp: '8.8.8.8', srcPort: 40000, dstPort: 53, payload: new Uint8Array([1, 2, 3]) }));
    const f = out.out[0]!.bytes;
    expect(out.out[0]!.ifName).toBe('eth0');
    expect(macAt(f, 0)).toBe(GW_MAC);
    expect(ip(f, 26)).toBe('192.168.1.10');
    expect((f[34]! << 8) | f[35]!).toBe(40000);
    expect(ipv4HeaderChecksumOk(f) && l4ChecksumOk(f)).toBe(true);
    expect(r.conntrack()).toEqual([{ proto: 'udp', guest: '10.0.1.1:40000', remote: '8.8.8.8:53', masqPort: 40000 }]);

    const reply = r.receive('eth0', buildUdpFrame({ srcMac: GW_MAC, dstMac: ETH0, srcIp: '8.8.8.8', dstIp: '192.168.1.10', srcPort: 53, dstPort: 40000, payload: new Uint8Array([9]) }));
    const g = reply.out[0]!.bytes;
    expect(reply.out[0]!.ifName).toBe('vif1.0');
    expect(macAt(g, 0)).toBe(GUEST_MAC);
    expect(ip(g, 30)).toBe('10.0.1.1');
    expect(ipv4HeaderChecksumOk(g) && l4ChecksumOk(g)).toBe(true);
  });

  it('gives a second guest using the same source port another masquerade port', () => {
    const { r } = natted();
    const v2 = r.addVif({ domid: 2 });
    r.receive(v2.name, buildArp({ senderMac: '00:16:3e:00:00:02', senderIp: v2.guestIp, targetIp: v2.routerIp }));
    for (const [name, src, mac] of [['vif1.0', '10.0.1.1', GUEST_MAC], [v2.name, v2.guestIp, '00:16:3e:00:00:02']] as const) {
      r.receive(name, buildUdpFrame({ srcMac: mac, dstMac: VIF, srcIp: src, dstIp: '8.8.8.8', srcPort: 40000, dstPort: 53 }));
    }
    expect(r.conntrack().map((c) => c.masqPort)).toEqual([40000, 1024]);
  });

  it('maps ICMP echo identifiers both ways', () => {
    const { r } = natted();
    const req = r.receive('vif1.0', buildIcmpEcho({ srcMac: GUEST_MAC, dstMac: VIF, srcIp: '10.0.1.1', dstIp: '1.1.1.1', ident: 77, seqNo: 1 }));
    expect(ip(req.out[0]!.bytes, 26)).toBe('192.168.1.10');
    const rep = r.receive('eth0', buildIcmpEcho({ type: 'reply', srcMac: GW_MAC, dstMac: ETH0, srcIp: '1.1.1.1', dstIp: '192.168.1.10', ident: 77, seqNo: 1 }));
    const g = rep.out[0]!.bytes;
    expect(ip(g, 30)).toBe('10.0.1.1');
    expect(ipv4HeaderChecksumOk(g)).toBe(true);
    expect(csum_fold(csum_partial(g, 34, g.length, 0))).toBe(0); // ICMP checksum
  });

  it('delivers unmatched traffic to the uplink address to dom0 itself', () => {
    const { r } = natted();
    const res = r.receive('eth0', buildUdpFrame({ srcMac: GW_MAC, dstMac: ETH0, srcIp: '8.8.8.8', dstIp: '192.168.1.10', srcPort: 53, dstPort: 9999 }));
    expect(res).toMatchObject({ local: true, out: [], dropped: null });
  });
});
