import { describe, expect, it } from 'vitest';
import { Simulator } from '../../src/sim';
import { Params, paramGroups } from '../../src/params';
import { EthernetLink } from '../../src/net/link';
import { FrameCapture } from '../../src/net/capture';
import { NET_PARAMS, NIC_PARAMS, LINK_PARAMS } from '../../src/net/costs';
import { ARP_MCAST_SOLICIT, ARP_RETRANS_NS } from '../../src/net/endpoint';
import { ExternalHost } from '../../src/drivers/nic/host';
import { NetStack } from '../../src/net/stack';
import { IpEndpoint } from '../../src/net/endpoint';
import { SlotDevice } from './helpers';

function pair() {
  const sim = new Simulator();
  const a = new ExternalHost(sim, { name: 'hostA', mac: '02:00:00:00:00:0a', ip: '10.0.0.10' });
  const b = new ExternalHost(sim, { name: 'hostB', mac: '02:00:00:00:00:0b', ip: '10.0.0.11' });
  const wire = new EthernetLink(sim, { name: 'wire0' });
  a.plug(wire, 0);
  b.plug(wire, 1);
  return { sim, a, b, wire };
}

describe('IpEndpoint', () => {
  it('sendUdp() queues behind ARP resolution and sends everything once the reply arrives', () => {
    const { sim, a, b } = pair();
    const sock = b.endpoint.bind(7000);
    for (let i = 0; i < 5; i++) a.endpoint.sendUdp('10.0.0.11', 7000, 200);
    expect(a.endpoint.counters.arp_req_tx).toBe(1);
    sim.run();
    expect(sock.packets).toBe(5);
    expect(sock.bytes).toBe(1000);
    expect(a.endpoint.counters.arp_req_tx).toBe(1);
  });

  it('a full unresolved-neighbour queue pushes out its oldest packet (__neigh_event_send), so the newest 101 go out', () => {
    const { sim, a, b } = pair();
    const sock = b.endpoint.bind(7000);
    const got: number[] = [];
    sock.onReceive = (_s, skb) => { got.push(skb.id); };
    const sent: number[] = [];
    for (let i = 0; i < 150; i++) sent.push(a.endpoint.sendUdp('10.0.0.11', 7000, 200));
    expect(sim.drops.total({ reason: 'neigh_queuefull' })).toBe(49);
    sim.run();
    expect(got).toEqual(sent.slice(49));
    expect(a.stack.pool.outstanding).toBe(0);
  });

  it('gives up after mcast_solicit ARP requests one retrans_time apart and drops the queue as neigh_failed', () => {
    const { sim, a, wire } = pair();
    const cap = FrameCapture.onLink(sim, wire);
    a.endpoint.sendUdp('10.0.0.99', 7000, 10);
    a.endpoint.sendUdp('10.0.0.99', 7000, 10);
    sim.run();
    expect(a.endpoint.counters.arp_req_tx).toBe(ARP_MCAST_SOLICIT);
    expect(sim.drops.total({ reason: 'neigh_failed' })).toBe(2);
    const times = [...cap.capture].map((f) => f.timeNs);
    expect(times.length).toBe(3);
    expect(Math.abs(times[1]! - times[0]! - ARP_RETRANS_NS)).toBeLessThan(2000); // the first request waits for the CPU
    expect(a.stack.pool.outstanding).toBe(0);
  });

  it('drops datagrams to an unbound port as no_socket and frames for another IP as ip_not_local', () => {
    const { sim, a, b } = pair();
    b.endpoint.bind(1);
    a.endpoint.addNeighbour('10.0.0.12', '02:00:00:00:00:0b'); // wrong: hostB's MAC for another IP
    a.endpoint.sendUdp('10.0.0.11', 9999, 10);
    a.endpoint.sendUdp('10.0.0.12', 1, 10);
    sim.run();
    expect(sim.drops.total({ where: 'hostB/eth0', reason: 'no_socket' })).toBe(1);
    expect(sim.drops.total({ where: 'hostB/eth0', reason: 'ip_not_local' })).toBe(1);
  });

  it('sends CHECKSUM_PARTIAL on an offloading device and a full checksum on one without offload', () => {
    const sim = new Simulator();
    const st = new NetStack(sim, { name: 'domU1', domid: 1 });
    const dev = new SlotDevice(st, 'eth0', 10);
    const ep = new IpEndpoint(st, dev, { ip: '10.0.0.2', neighbours: { '10.0.0.1': '02:00:00:00:00:01' } });
    ep.sendUdp('10.0.0.1', 53, 100);
    expect(dev.sent[0]!.ipSummed).toBe(0); // no offload: computed
    dev.features = 1 << 1; // NETIF_F_IP_CSUM
    ep.sendUdp('10.0.0.1', 53, 100);
    const s = dev.sent[1]!;
    expect(s.ipSummed).toBe(3);
    expect([s.csumStart, s.csumOffset]).toEqual([34, 6]);
    expect(() => ep.sendUdp('10.0.0.1', 53, 1473)).toThrow(/payloadBytes 1473 is not allowed/);
    expect(() => ep.sendUdp('10.0.0.1', 70000, 10)).toThrow(/sendUdp: dstPort 70000 is not allowed; use an integer in 0..65535/);
    expect(() => ep.sendUdp('10.0.0.1', 53, 10, -1)).toThrow(/sendUdp: srcPort -1 is not allowed/);
    expect(dev.sent).toHaveLength(2); // nothing sent for the refused calls
    dev.complete();
  });
});

describe('cost parameters', () => {
  it('declares the net, nic and link groups with a source for every default', () => {
    const names = paramGroups().map((g) => g.name);
    for (const g of [NET_PARAMS, NIC_PARAMS, LINK_PARAMS]) {
      expect(names).toContain(g.name);
      for (const spec of Object.values(g.specs)) expect(spec.models.length).toBeGreaterThan(5);
    }
    const p = Params.defaults();
    expect(p.get('net.netdev_max_backlog')).toBe(1000);
    expect(p.get('net.dev_weight')).toBe(64);
    expect(p.get('nic.line_rate_bps')).toBe(10e9);
    expect(p.get('net.br_handle_frame_ns') as number + (p.get('net.br_forward_ns') as number)).toBe(950);
  });
});
