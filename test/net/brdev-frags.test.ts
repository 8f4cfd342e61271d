import { describe, expect, it } from 'vitest';
import { Simulator } from '../../src/sim';
import { Params } from '../../src/params';
import { NetStack } from '../../src/net/stack';
import { BridgeDevice } from '../../src/net/brdev';
import { Bridge } from '../../src/net/bridge';
import { EthernetLink } from '../../src/net/link';
import { IxgbeNic } from '../../src/drivers/nic/ixgbe';
import { ExternalHost } from '../../src/drivers/nic/host';
import { buildUdpFrame } from '../../src/wire/build';
import { SlotDevice } from './helpers';

const GUEST_MAC = '00:16:3e:00:00:01';
const HOST_MAC = '02:00:00:00:00:0b';

function rig(params: Params) {
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
  return { sim, dom0, vif, host };
}

/** A guest frame as netback hands it over: `linear` bytes in the skb head, the rest in a page frag. */
function fragmentedFrame(dom0: NetStack, vif: SlotDevice, frame: Uint8Array, linear: number) {
  const skb = dom0.pool.alloc();
  skb.head.set(frame.subarray(0, linear), skb.put(linear));
  const page = new Uint8Array(4096);
  page.set(frame.subarray(linear), 100);
  skb.addFrag(page, 100, frame.length - linear);
  skb.dev = vif;
  return skb;
}

const frame = (corruptIpHeader = false) => {
  const f = buildUdpFrame({
    srcMac: GUEST_MAC, dstMac: HOST_MAC, srcIp: '10.0.0.2', dstIp: '10.0.0.11', srcPort: 4000, dstPort: 9, payloadLength: 1472,
  });
  if (corruptIpHeader) f[14 + 10] ^= 0x55; // IPv4 header checksum
  return f;
};

describe('BridgeDevice with fragmented skbs (netback hands over a short linear area and page frags)', () => {
  for (const linear of [14, 20, 34, 64, 128]) {
    it(`br_handle_frame() forwards a unicast IPv4 frame with ${linear} linear bytes to the host socket, bytes intact`, () => {
      const { sim, dom0, vif, host } = rig(Params.defaults().with({ 'bridge.nf_call_iptables': true }));
      const sock = host.endpoint.bind(9);
      let payload: Uint8Array | null = null;
      sock.onReceive = (_s, skb, off, len) => { payload = skb.head.slice(skb.data + off, skb.data + off + len); };
      const f = frame();
      dom0.netif_rx(fragmentedFrame(dom0, vif, f, linear));
      sim.run();
      expect(sock.packets).toBe(1);
      expect(payload).toEqual(f.subarray(42));
      expect(sim.drops.total()).toBe(0);
    });

    it(`br_handle_frame() drops a frame with a bad IPv4 header checksum (ip_inhdr) with ${linear} linear bytes when nf_call_iptables is on`, () => {
      const { sim, dom0, vif, host } = rig(Params.defaults().with({ 'bridge.nf_call_iptables': true }));
      const sock = host.endpoint.bind(9);
      dom0.netif_rx(fragmentedFrame(dom0, vif, frame(true), linear));
      sim.run();
      expect(sock.packets).toBe(0);
      expect(sim.drops.table().map((r) => r.reason)).toEqual(['ip_inhdr']);
    });
  }
});
