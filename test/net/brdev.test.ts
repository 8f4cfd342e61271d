import { describe, expect, it } from 'vitest';
import { Simulator } from '../../src/sim';
import { Params } from '../../src/params';
import { NetStack } from '../../src/net/stack';
import { BridgeDevice } from '../../src/net/brdev';
import { Bridge } from '../../src/net/bridge';
import { EthernetLink } from '../../src/net/link';
import { IpEndpoint } from '../../src/net/endpoint';
import { IxgbeNic } from '../../src/drivers/nic/ixgbe';
import { ExternalHost } from '../../src/drivers/nic/host';
import { buildUdpFrameInto } from '../../src/wire/build';
import { NET_PARAMS, NIC_PARAMS } from '../../src/net/costs';
import { SlotDevice } from './helpers';

const GUEST_MAC = '00:16:3e:00:00:01';
const HOST_MAC = '02:00:00:00:00:0b';

/** dom0 with xenbr0 over vif1.0 (a stand-in driver) and eth0 (the NIC), and a host on the wire. */
export function dom0Host(params = Params.defaults()) {
  const sim = new Simulator();
  const dom0 = new NetStack(sim, { name: 'dom0', domid: 0, params });
  const br = new BridgeDevice(dom0, new Bridge(sim, params, { name: 'xenbr0' }));
  const vif = new SlotDevice(dom0, 'vif1.0', 1000, 32);
  vif.mac.set([0xfe, 0xff, 0xff, 0xff, 0xff, 0xff]);
  const eth0 = new IxgbeNic(dom0, { name: 'eth0', mac: '02:00:00:00:00:01' });
  br.addPort(vif, 'vif');
  br.addPort(eth0, 'nic');
  const host = new ExternalHost(sim, { name: 'hostB', mac: HOST_MAC, ip: '10.0.0.11', params });
  const wire = new EthernetLink(sim, { name: 'wire0', params });
  eth0.attachLink(wire, 0);
  host.plug(wire, 1);
  return { sim, dom0, br, vif, eth0, host, wire };
}

/** A 1514-byte UDP frame from the guest to the host, as netback would hand it to dom0. */
function guestFrame(dom0: NetStack, vif: SlotDevice) {
  const skb = dom0.pool.alloc();
  skb.bornAt = dom0.sim.now;
  buildUdpFrameInto(skb.head, skb.put(1514), {
    srcMac: GUEST_MAC, dstMac: HOST_MAC, srcIp: '10.0.0.2', dstIp: '10.0.0.11', srcPort: 4000, dstPort: 9, payloadLength: 1472,
  });
  skb.dev = vif;
  return skb;
}

describe('BridgeDevice: dom0 stack ↔ bridge core ↔ ports', () => {
  it('the walk of one guest packet: netif_rx → backlog → bridge → dev_queue_xmit → ixgbe → wire → host socket', () => {
    const { sim, dom0, vif, host } = dom0Host();
    const sock = host.endpoint.bind(9);
    const rec = sim.trace.record('pkt.step');
    const skb = guestFrame(dom0, vif);
    const id = skb.id;
    dom0.netif_rx(skb);
    sim.run();
    rec.stop();
    const walk = rec.of('pkt.step').filter((r) => r.pkt === id);
    expect(walk.map((r) => `${r.lane}:${r.fn}`)).toEqual([
      'dom0:netif_rx',
      'dom0:process_backlog',
      'dom0:__netif_receive_skb_core',
      'bridge:br_handle_frame',
      'bridge:br_forward',
      'dom0:dev_queue_xmit',
      'dom0:dev_hard_start_xmit',
      'nic:ixgbe_xmit_frame',
      'wire:phy_tx',
      'wire:phy_rx',
      'nic:ixgbe_clean_tx_irq', // dom0's completion: the last bit left before it reached the host
      'nic:ixgbe_clean_rx_irq',
      'host:napi_gro_receive',
      'host:netif_receive_skb',
      'host:__netif_receive_skb_core',
      'host:ip_rcv',
      'host:udp_rcv',
    ]);
    expect(walk.find((r) => r.fn === 'ixgbe_clean_tx_irq')!.dom).toBe(0);
    expect(walk.find((r) => r.fn === 'ixgbe_clean_rx_irq')!.dom).toBe(-1);
    expect(walk.find((r) => r.fn === 'br_forward')!.detail).toBe('eth0');
    expect(walk[0]!.dom).toBe(0);
    expect(walk.find((r) => r.fn === 'ip_rcv')!.dom).toBe(-1);
    // times never go backwards, and the CPU charged adds up on dom0's timeline
    for (let i = 1; i < walk.length; i++) expect(walk[i]!.t).toBeGreaterThanOrEqual(walk[i - 1]!.t);
    const dom0Cpu = walk.filter((r) => r.dom === 0).reduce((s, r) => s + r.cpuNs, 0);
    const n = Params.defaults().group(NET_PARAMS);
    const c = Params.defaults().group(NIC_PARAMS);
    expect(dom0Cpu).toBe(n.netif_rx_ns + n.netif_receive_skb_core_ns + n.br_handle_frame_ns + n.br_forward_ns
      + n.dev_queue_xmit_ns + c.driver_xmit_ns + c.clean_tx_ns);
    expect(sock.packets).toBe(1);
    expect(dom0.pool.outstanding).toBe(0);
  });

  it('a ping from the host to dom0 on xenbr0: ARP flooded to the vif and up to br0, reply through br_dev_xmit', () => {
    const { sim, dom0, br, vif, host } = dom0Host();
    const dom0ip = new IpEndpoint(dom0, br, { ip: '10.0.0.1' });
    const p = host.endpoint.ping('10.0.0.1');
    sim.run({ until: 100_000_000 });
    expect(p.rttNs).toBeGreaterThan(0);
    expect(dom0ip.counters.icmp_echo_rx).toBe(1);
    expect(dom0ip.counters.arp_reply_tx).toBe(1);
    // the broadcast ARP request also went out of the vif (a flood copy)
    expect(vif.sent.length).toBe(1);
    expect(vif.sent[0]!.head[vif.sent[0]!.data + 12]).toBe(0x08);
    expect(vif.sent[0]!.head[vif.sent[0]!.data + 13]).toBe(0x06);
    // the bridge learned the host on eth0
    expect(br.bridge.fdbLookup(HOST_MAC)?.port).toBe('eth0');
    expect(br.stats.tx_packets).toBe(2); // ARP reply + echo reply
    expect(sim.drops.total()).toBe(0);
    vif.complete();
    expect(dom0.pool.outstanding).toBe(0);
  });

  it('a frame the bridge drops (invalid source MAC) is counted once and freed', () => {
    const { sim, dom0, vif } = dom0Host();
    const skb = guestFrame(dom0, vif);
    skb.head[skb.data + 6] = 0x01; // multicast source
    dom0.netif_rx(skb);
    sim.run();
    expect(sim.drops.table()).toEqual([{ where: 'bridge/xenbr0', reason: 'invalid_src_mac', packets: 1, bytes: 1514 }]);
    expect(dom0.pool.outstanding).toBe(0);
  });

  it('conservation: a burst from the guest beyond the backlog is delivered or counted, nothing else', () => {
    const { sim, dom0, vif, host } = dom0Host(Params.defaults().with({ 'net.netdev_max_backlog': 300 }));
    const sock = host.endpoint.bind(9);
    const N = 2000;
    for (let i = 0; i < N; i++) dom0.netif_rx(guestFrame(dom0, vif));
    sim.run();
    expect(sim.drops.total({ reason: 'backlog_full' })).toBe(N - 301); // qlen <= netdev_max_backlog accepts
    expect(sock.packets + sim.drops.total()).toBe(N);
    expect(dom0.pool.outstanding).toBe(0);
  });
});
