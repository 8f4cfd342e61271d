/**
 * 2.6.18's checksum flags end to end on a whole host.
 *
 * Guest transmit: a classic guest's csum_blank datagram is CHECKSUM_UNNECESSARY + proto_data_valid
 * + proto_csum_blank in dom0 (net_tx_action), the Xen skb_checksum_setup makes it CHECKSUM_HW, and
 * the NIC finishes the checksum: the frame on the wire has a correct UDP checksum (checked here by
 * summing the bytes, no tshark). To another classic guest it goes with NETRXF_csum_blank |
 * NETRXF_data_validated (net_rx_action: `if (skb->ip_summed == CHECKSUM_HW)`).
 *
 * Wire frames: the Xen netif_receive_skb sets `proto_data_valid = 1` for a CHECKSUM_UNNECESSARY
 * packet, so a frame dom0's NIC verified reaches a classic guest with NETRXF_data_validated; one the
 * NIC did not check (receive checksum offload off) arrives without it and the guest checks the
 * checksum itself (and must get its receive pages back after pulling them into the linear area).
 */
import { describe, expect, it } from 'vitest';
import { buildRxLabHost, rxWarmUp, rxStream } from '../../src/topo/lab-rx';
import { buildXenHost, captureHost } from '../../src/topo';
import { CHECKSUM_NONE, CHECKSUM_PARTIAL, CHECKSUM_UNNECESSARY } from '../../src/net/skb';
import { NETRXF_csum_blank, NETRXF_data_validated } from '../../src/io/netif';
import { buildUdpFrame } from '../../src/wire/build';
import { Ipv4Addr, MacAddr } from '../../src/wire/address';

/** RFC 768/1071 check of an Ethernet + IPv4 + UDP frame, written out here (not the model's helpers): true when the sum verifies. */
function udpChecksumOk(f: Uint8Array): boolean {
  const ihl = (f[14]! & 0x0f) * 4;
  const l4 = 14 + ihl;
  const udpLen = (f[l4 + 4]! << 8) | f[l4 + 5]!;
  let sum = 0;
  for (let i = 26; i < 34; i += 2) sum += (f[i]! << 8) | f[i + 1]!; // saddr, daddr
  sum += 17 + udpLen;
  for (let i = 0; i < udpLen; i += 2) sum += (f[l4 + i]! << 8) | (i + 1 < udpLen ? f[l4 + i + 1]! : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum === 0xffff && ((f[l4 + 6]! << 8) | f[l4 + 7]!) !== 0;
}

describe('classic netback and proto_data_valid', () => {
  it('frames the NIC verified reach a classic guest validated (netif_receive_skb\'s proto_data_valid), as do frames from another classic guest; unverified ones the guest checks', () => {
    const run = (nicRxCsum: 'verify' | 'off') => {
      const host = buildRxLabHost({ guests: [{ name: 'a', design: 'classic' }, { name: 'b', design: 'classic' }], params: { 'nic.rx_csum': nicRxCsum } });
      rxWarmUp(host);
      const b = host.guest('b');
      const sock = b.endpoint.socket(7000) ?? b.endpoint.bind(7000);
      host.guest('a').endpoint.sendUdp(b.ip, 7000, 64); // ARP between the guests first
      host.runFor(host.ms(2));
      const seen: number[] = [];
      sock.onReceive = (_k, skb) => { seen.push(skb.ipSummed); };
      const flags = host.sim.trace.record('netback.classic.rx_csum');
      host.external.endpoint.sendUdp(b.ip, 7000, 1472);
      host.runFor(host.ms(1));
      host.guest('a').endpoint.sendUdp(b.ip, 7000, 1472);
      host.runFor(host.ms(1));
      expect(host.sim.drops.total()).toBe(0);
      return { seen, flags: flags.records.filter((r) => r.vif === b.vif.name).map((r) => r.rxFlags) };
    };
    expect(run('verify')).toEqual({ seen: [CHECKSUM_UNNECESSARY, CHECKSUM_UNNECESSARY], flags: [NETRXF_data_validated, NETRXF_csum_blank | NETRXF_data_validated] });
    expect(run('off')).toEqual({ seen: [CHECKSUM_NONE, CHECKSUM_UNNECESSARY], flags: [0, NETRXF_csum_blank | NETRXF_data_validated] });
  });

  it('a classic guest verifying every frame in software keeps receiving far past its rx page pool (linearize gives the pages back)', () => {
    // With the NIC's receive checksum off, the guest verifies every frame itself.
    const host = buildRxLabHost({ guests: [{ name: 'g', design: 'classic' }], params: { 'nic.rx_csum': 'off' } });
    rxWarmUp(host);
    const q = host.guest('g').netfront.queues[0]!;
    const pool = q.rxPages.free + ((q.rx.req_prod_pvt - q.rx.rsp_cons) >>> 0);
    const s = rxStream(host, { to: 'g', packets: 3 * pool, gapNs: 20_000 });
    host.runFor(host.ms(3 * pool * 0.02 + 5));
    expect(s.latenciesNs).toHaveLength(3 * pool);
    expect(host.sim.drops.total()).toBe(0);
    // Every page is either free or posted again.
    expect(q.rxPages.free + ((q.rx.req_prod_pvt - q.rx.rsp_cons) >>> 0)).toBe(pool);
  });
});

describe('classic netback checksum offload (2.6.18 proto_csum_blank)', () => {
  it('a classic guest\'s csum_blank datagram is UNNECESSARY + proto_data_valid + proto_csum_blank in dom0 and leaves the NIC with a correct UDP checksum', () => {
    const host = buildXenHost({ guests: [{ name: 'old', design: 'classic', params: { 'netfront.design': 'classic' } }] });
    const sock = host.external.endpoint.bind(9000);
    host.guest('old').endpoint.sendUdp('10.0.0.100', 9000, 64); // ARP first
    host.runFor(host.ms(2));
    const caps = captureHost(host, { bridge: false });
    const tx = host.sim.trace.record('netback.classic.tx_csum');
    const setup = host.sim.trace.record('dev.checksum_setup');
    host.guest('old').endpoint.sendUdp('10.0.0.100', 9000, 1000);
    host.runFor(host.ms(2));
    caps.detach();
    expect(sock.packets).toBe(2);
    expect(tx.records).toHaveLength(1);
    expect(tx.records[0]).toMatchObject({
      vif: host.guest('old').vif.name, txFlags: 3, ipSummed: CHECKSUM_UNNECESSARY, protoDataValid: true, protoCsumBlank: true,
    });
    // dev_queue_xmit on dom0's NIC gave it CHECKSUM_HW at the UDP checksum (and only there: the bridge's hop is not a dev_queue_xmit).
    expect(setup.records.map((r) => [r.dev, r.result, r.csumStart, r.csumOffset])).toEqual([[host.nic.name, 0, 34, 6]]);
    // On the vif (before the NIC) the field still holds the pseudo-header sum; on the wire the sum verifies.
    const onVif = [...caps.vif('old').capture].map((r) => r.data).filter((d) => d.length === 14 + 20 + 8 + 1000);
    const onWire = [...caps.point('wire').capture].map((r) => r.data).filter((d) => d.length === 14 + 20 + 8 + 1000);
    expect(onVif).toHaveLength(1);
    expect(onWire).toHaveLength(1);
    expect(udpChecksumOk(onVif[0]!)).toBe(false);
    expect(udpChecksumOk(onWire[0]!)).toBe(true);
    expect(host.sim.drops.total()).toBe(0);
  });

  it('guest to guest (two classic guests): csum_blank reaches the receiver as NETRXF_csum_blank|data_validated through the bridge', () => {
    const classic = { design: 'classic' as const, params: { 'netfront.design': 'classic' } };
    const host = buildXenHost({ guests: [{ name: 'a', ...classic }, { name: 'b', ...classic }] });
    const b = host.guest('b');
    const sock = b.endpoint.bind(7000);
    const seen: number[] = [];
    sock.onReceive = (_k, skb) => { seen.push(skb.ipSummed); };
    host.guest('a').endpoint.sendUdp(b.ip, 7000, 64); // ARP first
    host.runFor(host.ms(2));
    const tx = host.sim.trace.record('netback.classic.tx_csum');
    const rx = host.sim.trace.record('netback.classic.rx_csum');
    const setup = host.sim.trace.record('dev.checksum_setup');
    host.guest('a').endpoint.sendUdp(b.ip, 7000, 1200);
    host.runFor(host.ms(2));
    expect(tx.records.map((r) => [r.ipSummed, r.protoDataValid, r.protoCsumBlank])).toEqual([[CHECKSUM_UNNECESSARY, true, true]]);
    expect(setup.records.map((r) => [r.dev, r.result])).toEqual([[b.vif.name, 0]]);
    expect(rx.records.map((r) => [r.vif, r.ipSummed, r.protoDataValid, r.rxFlags]))
      .toEqual([[b.vif.name, CHECKSUM_PARTIAL, true, NETRXF_csum_blank | NETRXF_data_validated]]);
    // A 2.6.18 netfront takes either flag as CHECKSUM_UNNECESSARY.
    expect(seen).toEqual([CHECKSUM_UNNECESSARY, CHECKSUM_UNNECESSARY]);
    expect(host.sim.drops.total()).toBe(0);
  });

  it('dom0\'s dev_queue_xmit runs the Xen skb_checksum_setup on a proto_csum_blank packet: IPv4 UDP leaves the NIC with its checksum, anything else is dropped (checksum_setup)', () => {
    const host = buildXenHost({ guests: [{ name: 'g', design: 'classic' }] });
    const sock = host.external.endpoint.bind(9000);
    host.dom0Endpoint.sendUdp('10.0.0.100', 9000, 64); // ARP first
    host.runFor(host.ms(2));
    const setup = host.sim.trace.record('dev.checksum_setup');
    const send = (frame: Uint8Array) => {
      const skb = host.dom0.pool.alloc();
      skb.head.set(frame, skb.put(frame.length));
      skb.ipSummed = CHECKSUM_UNNECESSARY;
      skb.protoDataValid = true;
      skb.protoCsumBlank = true;
      return host.dom0.dev_queue_xmit(skb, host.nic);
    };
    // A UDP datagram whose check field holds only the pseudo-header sum, as a 2.6.18 guest leaves it.
    const udp = buildUdpFrame({
      srcMac: MacAddr.parse('00:16:3e:00:00:01'), dstMac: MacAddr.fromBytes(host.external.nic.mac), srcIp: Ipv4Addr.parse('10.0.0.11'),
      dstIp: Ipv4Addr.parse('10.0.0.100'), srcPort: 9000, dstPort: 9000, payloadLength: 300, checksum: 'partial',
    });
    expect(udpChecksumOk(udp)).toBe(false);
    expect(send(udp)).toBe(0);
    const v6 = udp.slice();
    v6[12] = 0x86; v6[13] = 0xdd; // not IPv4: `if (skb->protocol != htons(ETH_P_IP)) goto out;`
    expect(send(v6)).toBe(1);
    host.runFor(host.ms(2));
    expect(setup.records.map((r) => [r.dev, r.result, r.csumStart, r.csumOffset])).toEqual([[host.nic.name, 0, 34, 6], [host.nic.name, -71, -1, -1]]);
    expect(sock.packets).toBe(2);
    expect(host.external.nic.counters.rx_csum_bad).toBe(0);
    expect(host.sim.drops.total({ where: host.nic.name, reason: 'checksum_setup' })).toBe(1);
  });
});
