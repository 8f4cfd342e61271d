/**
 * Every frame an endpoint's receive path refuses is counted under the reason Linux's stack would
 * give it (ip_rcv_core, __udp4_lib_rcv, icmp_rcv, arp_rcv): malformed frames are written straight
 * onto host B's NIC and must end as exactly one named drop each, with nothing delivered and no skb
 * left behind.
 */
import { describe, expect, it } from 'vitest';
import { Simulator } from '../../src/sim';
import { EthernetLink } from '../../src/net/link';
import { ExternalHost } from '../../src/drivers/nic/host';
import { buildArp, buildIcmpEcho, buildUdpFrame } from '../../src/wire/build';
import { csum_fold, csum_partial } from '../../src/wire/checksum';

const A = { mac: '02:00:00:00:00:0a', ip: '10.0.0.10' };
const B = { mac: '02:00:00:00:00:0b', ip: '10.0.0.11' };

function pair() {
  const sim = new Simulator({ seed: 3 });
  const a = new ExternalHost(sim, { name: 'hostA', mac: A.mac, ip: A.ip, neighbours: { [B.ip]: B.mac } });
  const b = new ExternalHost(sim, { name: 'hostB', mac: B.mac, ip: B.ip, neighbours: { [A.ip]: A.mac } });
  const wire = new EthernetLink(sim, { name: 'wire0' });
  a.plug(wire, 0);
  b.plug(wire, 1);
  return { sim, a, b };
}

const udp = (payloadLength = 100) => buildUdpFrame({ srcMac: A.mac, dstMac: B.mac, srcIp: A.ip, dstIp: B.ip, srcPort: 9, dstPort: 9, payloadLength });

/** Rewrites the IPv4 header checksum after an edit (so only the edit is wrong). */
function fixIpCsum(f: Uint8Array): Uint8Array {
  const ihl = (f[14]! & 0xf) * 4;
  f[24] = 0;
  f[25] = 0;
  const c = csum_fold(csum_partial(f, 14, 14 + ihl, 0));
  f[24] = c >>> 8;
  f[25] = c & 0xff;
  return f;
}

function edit(f: Uint8Array, fn: (f: Uint8Array) => void): Uint8Array {
  fn(f);
  return f;
}

const CASES: [string, () => Uint8Array, string][] = [
  ['an EtherType the stack has no handler for', () => edit(udp(), (f) => { f[12] = 0x88; f[13] = 0xb5; }), 'unhandled_proto'],
  ['a unicast frame for another MAC', () => edit(udp(), (f) => { f[5] = 0x0c; }), 'otherhost'],
  ['IP version 6 in an IPv4 frame', () => fixIpCsum(edit(udp(), (f) => { f[14] = 0x65; })), 'ip_inhdr'],
  ['an IP header length below 20', () => fixIpCsum(edit(udp(), (f) => { f[14] = 0x44; })), 'ip_inhdr'],
  ['an IP total length beyond the frame', () => fixIpCsum(edit(udp(), (f) => { f[16] = 0x05; f[17] = 0xdc; })), 'ip_inhdr'],
  ['a bad IP header checksum', () => edit(udp(), (f) => { f[25] ^= 0x55; }), 'ip_csum'],
  ['another host\'s IP', () => fixIpCsum(edit(udp(), (f) => { f[33] = 99; })), 'ip_not_local'],
  ['a fragment (more fragments set)', () => fixIpCsum(edit(udp(), (f) => { f[20] = 0x20; f[21] = 0; })), 'ip_frag'],
  ['a fragment (offset 8)', () => fixIpCsum(edit(udp(), (f) => { f[20] = 0; f[21] = 1; })), 'ip_frag'],
  ['an IP protocol the stack has no handler for', () => fixIpCsum(edit(udp(), (f) => { f[23] = 47; })), 'unhandled_proto'],
  ['a UDP length below 8', () => edit(udp(), (f) => { f[38] = 0; f[39] = 7; }), 'pkt_too_small'],
  ['a UDP length beyond the IP payload', () => edit(udp(), (f) => { f[38] = 0x05; f[39] = 0; }), 'pkt_too_small'],
  ['an IP payload too short for a UDP header', () => fixIpCsum(edit(udp(), (f) => { f[16] = 0; f[17] = 20 + 4; })), 'pkt_too_small'],
  ['an ICMP message shorter than its header', () => fixIpCsum(edit(buildIcmpEcho({ srcMac: A.mac, dstMac: B.mac, srcIp: A.ip, dstIp: B.ip, ident: 1, seqNo: 1, payloadLength: 0 }), (f) => { f[16] = 0; f[17] = 20 + 4; })), 'icmp_bad'],
  ['an ARP packet for another hardware type', () => edit(buildArp({ senderMac: A.mac, senderIp: A.ip, targetIp: B.ip }), (f) => { f[15] = 6; }), 'arp_malformed'],
];

describe('the endpoint\'s receive path names every frame it refuses', () => {
  for (const [what, frame, reason] of CASES) {
    it(`${what}: ${reason}`, () => {
      const { sim, b } = pair();
      const sock = b.endpoint.bind(9);
      const f = frame();
      const buf = new Uint8Array(2048);
      buf.set(f, 0);
      b.nic.linkRx(buf, 0, Math.max(f.length, 60), 1, 0, -1);
      sim.run();
      expect(sock.packets).toBe(0);
      expect(sim.drops.table().map((r) => `${r.where}:${r.reason}:${r.packets}`)).toEqual([`hostB/eth0:${reason}:1`]);
      expect(b.stack.pool.outstanding).toBe(0);
    });
  }

  it('the same frames unedited are delivered (the cases differ from a good frame only by the edit)', () => {
    const { sim, b } = pair();
    const sock = b.endpoint.bind(9);
    const buf = new Uint8Array(2048);
    const f = udp();
    buf.set(f, 0);
    b.nic.linkRx(buf, 0, f.length, 1, 0, -1);
    sim.run();
    expect(sock.packets).toBe(1);
    expect(sim.drops.total()).toBe(0);
  });
});
