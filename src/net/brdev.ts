/**
 * The bridge as dom0's stack sees it: `br0` is a NetDevice, its ports are NetDevices (vifs, the
 * NIC), and frames move between them as skbs. The decisions (learning, FDB lookup, flooding,
 * port states, MTU) are made by the bridge core (./bridge, `Bridge.br_handle_frame` on the frame
 * bytes, filling a `BridgeVerdict`); this file is the glue that acts on the verdict.
 *
 *   port dev ─ netif_receive_skb ─► __netif_receive_skb_core ─► rx_handler = br_handle_frame
 *        verdict.egress[] ─► br_forward: skb (or a copy per extra port) ─► dev_queue_xmit(port dev)
 *        verdict.local    ─► br_pass_frame_up: skb.dev = br0 ─► netif_receive_skb ─► dom0's endpoint
 *        verdict.passUp   ─► RX_HANDLER_PASS (link-local frame up the port's own stack)
 *        drop             ─► already counted by the core; the skb is freed
 *   dom0 sends on br0 ─► dev_queue_xmit(br0) ─► br_dev_xmit (ndo_start_xmit) ─► same egress handling
 *
 * Costs: br_handle_frame_ns per frame in, br_forward_ns per copy out, br_pass_frame_up_ns per
 * local delivery, plus skb_copy (skb_alloc_ns + memcpy per byte) per extra copy. Steps: pkt.step
 * `br_handle_frame`, `br_forward` (detail: egress port), `br_pass_frame_up`, `br_dev_xmit`,
 * lane 'bridge'.
 *
 * @models linux net/bridge/br_input.c br_handle_frame(), br_pass_frame_up();
 *   net/bridge/br_forward.c br_forward(), br_flood(), br_dev_queue_push_xmit();
 *   net/bridge/br_device.c br_dev_xmit()
 * @simplified floods copy the skb (skb_copy) where Linux clones it; a GSO skb is shown to the
 *   core with its length capped at the egress MTU (Linux's is_skb_forwardable lets GSO skbs
 *   through whatever their length).
 */
import type { Bridge, PortKind } from './bridge';
import { NetDevice, NETDEV_TX_OK, RX_HANDLER_CONSUMED, RX_HANDLER_PASS, type NetdevTx, type RxHandlerResult } from './netdevice';
import type { NetStack } from './stack';
import type { SkBuff } from './skb';
import { writeMacKey } from '../wire/address';

const HDR_COPY = 256;

export class BridgeDevice extends NetDevice {
  /** Port devices by bridge port number. */
  private readonly portDevs: (NetDevice | null)[] = [];
  private readonly notifiers: (((d: NetDevice) => void) | null)[] = [];
  private readonly hdr = new Uint8Array(65536 + 64);
  private readonly where: string;

  constructor(readonly stack: NetStack, readonly bridge: Bridge) {
    super(bridge.name, macOctets(bridge.mac), bridge.mtu);
    this.txQueueLen = 0; // br0 is a noqueue device
    this.where = `bridge/${bridge.name}`;
    stack.register_netdev(this);
  }

  /**
   * Enslaves `dev` (`ip link set dev master br0`): adds the port to the core and registers the
   * bridge's rx handler on the device. Returns the port number.
   * @models linux net/bridge/br_if.c br_add_if()
   */
  addPort(dev: NetDevice, kind: PortKind = 'vif'): number {
    if (dev.ifindex <= 0 || this.stack.devices[dev.ifindex] !== dev) {
      throw new Error(`BridgeDevice.addPort: ${dev.name} is not registered with stack ${this.stack.name}; call register_netdev first`);
    }
    const no = this.bridge.addPort({ name: dev.name, mac: macKey(dev.mac), mtu: dev.mtu, kind, up: dev.up, carrier: dev.carrier });
    while (this.portDevs.length <= no) {
      this.portDevs.push(null);
      this.notifiers.push(null);
    }
    this.portDevs[no] = dev;
    dev.netdev_rx_handler_register((skb) => this.br_handle_frame(no, skb));
    const notifier = (d: NetDevice) => this.bridge.setCarrier(d.name, d.carrier);
    this.notifiers[no] = notifier;
    dev.carrierNotifiers.push(notifier);
    // br0 takes the lowest port MAC unless one was set (br_stp_recalculate_bridge_id)
    writeMacKey(this.mac, 0, this.bridge.mac);
    return no;
  }

  /** Removes a port (`ip link set dev nomaster`). */
  delPort(dev: NetDevice): void {
    const no = this.bridge.portNo(dev.name);
    this.bridge.delPort(dev.name);
    this.portDevs[no] = null;
    dev.netdev_rx_handler_unregister();
    const i = dev.carrierNotifiers.indexOf(this.notifiers[no]!);
    if (i >= 0) dev.carrierNotifiers.splice(i, 1);
    this.notifiers[no] = null;
  }

  /**
   * The bytes the core needs to see: the linear area, or the headers copied out of a fragmented
   * skb. When everything the core reads of this frame lies in the linear area, the skb's own
   * buffer is shown as it is (see linearHeadersSuffice), without copying the headers out.
   */
  private frameView(skb: SkBuff): Uint8Array {
    if (skb.nrFrags === 0) return skb.head;
    if (linearHeadersSuffice(skb) && skb.data + this.coreLen(skb) <= skb.head.length) return skb.head;
    skb.copyBits(0, this.hdr, 0, skb.len < HDR_COPY ? skb.len : HDR_COPY);
    return this.hdr;
  }

  private coreLen(skb: SkBuff): number {
    return skb.gsoSize !== 0 && skb.len > this.mtu + 14 ? this.mtu + 14 : skb.len;
  }

  /** The rx_handler of every port. */
  private br_handle_frame(portNo: number, skb: SkBuff): RxHandlerResult {
    const st = this.stack;
    st.stepIn(skb, 'br_handle_frame', 'bridge', st.costs.br_handle_frame_ns);
    const bytes = this.frameView(skb);
    const off = bytes === skb.head ? skb.data : 0;
    const v = this.bridge.br_handle_frame(portNo, bytes, off, this.coreLen(skb));
    if (v.passUp) return RX_HANDLER_PASS;
    if (v.len < skb.len && skb.nrFrags === 0 && skb.gsoSize === 0) {
      // br_netfilter's pskb_trim_rcsum: IPv4 frames are trimmed to their total length
      skb.headLen = v.len;
      skb.len = v.len;
    }
    this.act(skb, v.egress, v.egressCount, v.local, v.action === 'drop');
    return RX_HANDLER_CONSUMED;
  }

  /** Transmits on each egress port and/or passes up; frees the skb when it goes nowhere. */
  private act(skb: SkBuff, egress: Int32Array, n: number, local: boolean, dropped: boolean): void {
    const st = this.stack;
    const c = st.costs;
    for (let i = 0; i < n; i++) {
      const dev = this.portDevs[egress[i]!]!;
      const last = i === n - 1 && !local;
      let out = skb;
      if (!last) {
        out = st.pool.copy(skb);
        st.charge(c.skb_alloc_ns + Math.round(skb.len * c.memcpy_byte_ns));
      }
      st.stepIn(out, 'br_forward', 'bridge', c.br_forward_ns, dev.name);
      st.dev_queue_xmit(out, dev);
    }
    if (local) {
      st.stepIn(skb, 'br_pass_frame_up', 'bridge', c.br_pass_frame_up_ns);
      this.stats.rx_packets++;
      this.stats.rx_bytes += skb.len;
      skb.dev = this;
      st.netif_receive_skb(skb);
      return;
    }
    if (n === 0) {
      // Every copy was refused: the core has counted the drop (unless nothing was decided at all).
      if (!dropped) st.sim.drops.count(this.where, 'no_egress_port', skb.len, skb.id);
      st.pool.free(skb);
    }
  }

  /**
   * br0's ndo_start_xmit: a frame dom0 itself sends on the bridge.
   * @models linux net/bridge/br_device.c br_dev_xmit()
   */
  ndo_start_xmit(skb: SkBuff): NetdevTx {
    const st = this.stack;
    st.stepIn(skb, 'br_dev_xmit', 'bridge', st.costs.br_handle_frame_ns);
    this.stats.tx_packets++;
    this.stats.tx_bytes += skb.len;
    const bytes = this.frameView(skb);
    const off = bytes === skb.head ? skb.data : 0;
    const v = this.bridge.br_dev_xmit(bytes, off, this.coreLen(skb));
    this.act(skb, v.egress, v.egressCount, false, v.action === 'drop');
    return NETDEV_TX_OK;
  }
}

function macOctets(key: number): Uint8Array {
  const b = new Uint8Array(6);
  writeMacKey(b, 0, key);
  return b;
}

function macKey(mac: Uint8Array): number {
  return ((mac[0]! << 8) | mac[1]!) * 0x1_0000_0000 + (((mac[2]! << 24) | (mac[3]! << 16) | (mac[4]! << 8) | mac[5]!) >>> 0);
}

/**
 * True when the linear area holds every byte the bridge core reads of this frame: for a unicast
 * frame the Ethernet header, a VLAN tag's 4 bytes, or for untagged IPv4 the IPv4 header that
 * br_validate_ipv4 checks (at least 20 bytes, IHL × 4 when longer). Multicast and broadcast
 * frames (multicast snooping reads the IGMP message) are always copied out.
 */
function linearHeadersSuffice(skb: SkBuff): boolean {
  const h = skb.head;
  const d = skb.data;
  const hl = skb.headLen;
  if (hl < 15 || (h[d]! & 1) !== 0) return false;
  const etype = (h[d + 12]! << 8) | h[d + 13]!;
  if (etype === 0x8100 || etype === 0x88a8) return hl >= 18;
  if (etype === 0x0800) {
    const ihl = (h[d + 14]! & 0x0f) * 4;
    return hl >= 14 + (ihl > 20 ? ihl : 20);
  }
  return true;
}
