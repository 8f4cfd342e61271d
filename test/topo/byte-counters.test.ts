/**
 * Byte counters as `ip -s link` shows them: a driver that hands its skb to eth_type_trans() before
 * counting counts the frame without its 14-byte Ethernet header (netback's vif rx in both designs,
 * Linux netfront's handle_incoming_queue); 2.6.18 netfront counts in netif_poll, before it; a
 * transmit counts the whole frame.
 */
import { describe, expect, it } from 'vitest';
import { buildXenHost } from '../../src/topo/host';

const PAYLOAD = 100;
const FRAME = 14 + 20 + 8 + PAYLOAD;

describe.each(['modern', 'classic'] as const)('byte counters, %s netback and netfront', (design) => {
  it(`10 datagrams each way: netfront tx and the vif's tx count ${FRAME}-byte frames; the vif's rx counts ${FRAME - 14}; netfront rx ${design === 'modern' ? FRAME - 14 : FRAME}`, () => {
    const host = buildXenHost({ seed: 1, guests: [{ name: 'g', design, params: { 'netfront.design': design } }] });
    const g = host.guest('g');
    const ext = host.external;
    ext.endpoint.bind(9001);
    g.endpoint.bind(9002);
    g.endpoint.sendUdp(ext.endpoint.ip, 9001, PAYLOAD);
    ext.endpoint.sendUdp(g.ip, 9002, PAYLOAD);
    host.runFor(host.ms(2)); // ARP both ways
    const eth0 = g.netfront.netdev.stats;
    const vif = g.vif.stats;
    const before = [eth0.tx_bytes, vif.rx_bytes, vif.tx_bytes, eth0.rx_bytes];
    const packets = [eth0.tx_packets, vif.rx_packets, vif.tx_packets, eth0.rx_packets];
    for (let i = 0; i < 10; i++) {
      g.endpoint.sendUdp(ext.endpoint.ip, 9001, PAYLOAD);
      ext.endpoint.sendUdp(g.ip, 9002, PAYLOAD);
    }
    host.runFor(host.ms(5));
    expect([eth0.tx_packets, vif.rx_packets, vif.tx_packets, eth0.rx_packets].map((n, i) => n - packets[i]!)).toEqual([10, 10, 10, 10]);
    const bytes = [eth0.tx_bytes, vif.rx_bytes, vif.tx_bytes, eth0.rx_bytes].map((n, i) => n - before[i]!);
    expect(bytes).toEqual([10 * FRAME, 10 * (FRAME - 14), 10 * FRAME, 10 * (design === 'modern' ? FRAME - 14 : FRAME)]);
  });
});

describe('drop records name the packet', () => {
  it('a datagram to a port nobody listens on is dropped at the client (no_socket) under its packet id', () => {
    const host = buildXenHost({ seed: 1, guests: [{ name: 'g' }] });
    const g = host.guest('g');
    g.endpoint.sendUdp(host.external.endpoint.ip, 9001, 64);
    host.runFor(host.ms(2));
    const steps = host.sim.trace.record('pkt.step');
    const drops = host.sim.trace.record('drop');
    g.endpoint.sendUdp(host.external.endpoint.ip, 9001, 64);
    host.runFor(host.ms(2));
    const id = steps.records.find((r) => r.fn === 'udp_sendmsg')!.pkt;
    expect(drops.records.map((r) => [r.reason, r.pkt])).toEqual([['no_socket', id]]);
  });
});
