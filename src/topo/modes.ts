/**
 * Xen's routed and NAT networking modes in dom0: the frame-level L3 forwarder (`Dom0Router`,
 * src/net/l3) plugged into dom0's kernel stack as the protocol handler of the uplink (eth0) and of
 * every vif, and the `vif-route` / `vif-nat` hotplug scripts that bring a vif online.
 *
 *   bridge mode (vif-bridge):  vifD.0 ─ rx_handler br_handle_frame ─ xenbr0 ─ eth0
 *   route / nat modes:         vifD.0 ─┐                              ┌─ eth0
 *                                      └ protoRcv ─► Dom0Router ─► out frames ┘
 *
 *   port dev ─ netif_receive_skb ─► __netif_receive_skb_core ─► (no rx_handler) ─► Dom0L3.protoRcv
 *        ARP                ─► arp_rcv: the router answers for local addresses and, with proxy_arp,
 *                              for addresses routed out of another device; learns neighbours
 *        IPv4 to forward    ─► ip_rcv ─► [nat: nf_conntrack_in, nf_nat_packet] ─► ip_forward ─►
 *                              ip_finish_output2 ─► dev_queue_xmit(out dev)
 *        IPv4 for dom0      ─► the IpEndpoint of the receiving device (dom0's address on eth0, the
 *                              vif's /32 router address on a vif): ip_rcv ─► icmp_rcv / udp_rcv
 *
 * Addresses (reference linux-bridge.md §14.4, §14.5):
 *   route: every vif carries dom0's address (main_ip) as a /32 with proxy_arp=1 and a host route
 *          to each guest address; eth0 has proxy_arp=1 and ip_forward=1 (the old network-route),
 *          so guests live in dom0's subnet and the wire reaches them through proxy ARP.
 *   nat:   guests get private 10.<domid/256>.<domid%256>.<devid+1> addresses, the vif carries the
 *          router address (guest + 127) as a /32 with proxy_arp=1; MASQUERADE on eth0 (the old
 *          network-nat) rewrites guest sources to dom0's address. The wire sees only dom0.
 *
 * The guests' endpoints are on-link only (no routing table, see src/net/endpoint.ts): a guest
 * ARPs for every destination, and proxy ARP on its vif answers with the vif's MAC
 * (fe:ff:ff:ff:ff:ff) for anything routed elsewhere — which is exactly what makes a guest with a
 * default route through the router address work on a real host.
 *
 * Costs on dom0's CPU: `net.ip_rcv_ns` (ip_rcv), `l3.ip_forward_ns` (route lookup, ip_forward,
 * ip_output), in NAT mode `l3.nf_conntrack_ns` per packet and `l3.nf_nat_ns` per rewritten packet,
 * `net.l4_rcv_ns` per ARP frame and `net.l4_send_ns` per ARP frame sent; then dev_queue_xmit as
 * usual. pkt.step events: `ip_rcv`, `nf_conntrack_in`, `nf_nat_packet` (detail: the rewrite),
 * `ip_forward` (detail: in → out), `ip_finish_output2`, `arp_rcv`, `arp_send`; lane 'dom0'.
 *
 * @models xen-project/xen tools/hotplug/Linux/vif-route, vif-nat (online); network-route,
 *   network-nat @ 9fabe55939a8^; linux net/ipv4/ip_input.c ip_rcv(), net/ipv4/ip_forward.c
 *   ip_forward(), net/ipv4/ip_output.c ip_finish_output2(), net/netfilter/nf_conntrack_core.c
 *   nf_conntrack_in(), net/netfilter/nf_nat_core.c nf_nat_packet()
 * @simplified the router works on frame bytes, so a forwarded packet's bytes move into a fresh
 *   skb from the pool (same packet id, birth time and offload state; the move is charged nothing,
 *   as Linux forwards the skb itself); in NAT mode a CHECKSUM_PARTIAL skb has its checksum
 *   finished (skb_checksum_help) before the rewrite, where Linux would keep it partial and adjust
 *   the pseudo-header sum (a 2.6.18 guest's proto_csum_blank packet is first given its checksum
 *   position by the Xen skb_checksum_setup, where 2.6.18's NAT patch adjusted the blank field's
 *   pseudo-header part); dom0's own traffic leaves by its device's endpoint without passing the
 *   router (no MASQUERADE, no routing for it); only the first address of a vif's `ip` key gets a
 *   host route; an IPv4 frame for one of dom0's addresses is delivered to the endpoint of the
 *   device it arrived on, which answers only for that device's own address.
 */
import { Dom0Router, type Dom0Mode, type L3Output } from '../net/l3/router';
import { L3_PARAMS } from '../net/l3/params';
import type { NetStack, ProtocolHandler } from '../net/stack';
import type { NetDevice } from '../net/netdevice';
import { CHECKSUM_PARTIAL, type IpSummed, type SkBuff } from '../net/skb';
import { IpEndpoint } from '../net/endpoint';
import { emitStep } from '../net/walk';
import type { GroupValues } from '../params';
import type { BackendInfo } from '../drivers/netback/xenbus';
import type { XenVif } from '../drivers/netback/interface';

export type L3Costs = GroupValues<typeof L3_PARAMS['specs']>;

const ETH_P_IP = 0x0800;
const ETH_P_ARP = 0x0806;

/** What a packet waiting for ARP keeps of its skb, so it continues as the same packet. */
interface SkbMeta {
  id: number;
  bornAt: number;
  ipSummed: IpSummed;
  protoDataValid: boolean;
  protoCsumBlank: boolean;
  csumStart: number;
  csumOffset: number;
  gsoSize: number;
  gsoType: number;
  gsoSegs: number;
  queueMapping: number;
  hash: number;
  swHash: boolean;
  l4Hash: boolean;
}

export interface Dom0L3Options {
  mode: Dom0Mode;
  /** The physical uplink (eth0), registered with the stack. */
  uplink: NetDevice;
  /** dom0's address on the uplink ("main_ip" of the scripts). */
  ip: string;
  /** Prefix length of the uplink subnet (default 24). */
  prefixLen?: number;
  /** Default gateway on the uplink, if any. */
  gateway?: string;
}

/** A vif brought online by vif-route / vif-nat. */
export interface L3Vif {
  name: string;
  guestIp: string;
  /** The vif's own /32 address: dom0's address (route) or guest + 127 (nat). */
  routerIp: string;
}

/**
 * dom0's L3 path for the routed and NAT modes: owns the `Dom0Router`, is the protocol handler of
 * the uplink and of every vif, and turns the router's decisions into skbs on dom0's devices.
 */
export class Dom0L3 implements ProtocolHandler {
  readonly mode: Dom0Mode;
  readonly router: Dom0Router;
  /** dom0's own endpoint on the uplink (its address, ARP, ping, UDP). */
  readonly endpoint: IpEndpoint;
  readonly costs: L3Costs;
  private readonly devs = new Map<string, NetDevice>();
  /** Local delivery per device (ifindex → endpoint). */
  private readonly locals: (IpEndpoint | null)[] = [];
  private readonly waiting = new WeakMap<Uint8Array, SkbMeta>();
  private scratch = new Uint8Array(2048);
  readonly counters: { forwarded: number; local: number; arp: number; queued: number; dropped: number; nat: number };

  constructor(readonly stack: NetStack, opts: Dom0L3Options) {
    const up = opts.uplink;
    if (up.ifindex <= 0 || stack.devices[up.ifindex] !== up) {
      throw new Error(`Dom0L3: uplink ${up.name} is not registered with stack ${stack.name}; call register_netdev first`);
    }
    this.mode = opts.mode;
    this.costs = stack.params.group(L3_PARAMS);
    this.router = new Dom0Router(stack.sim, {
      mode: opts.mode,
      uplink: { name: up.name, mac: macText(up.mac), ip: opts.ip, prefixLen: opts.prefixLen ?? 24, gateway: opts.gateway },
    });
    this.counters = stack.sim.counters.register(`${stack.name}.l3`, { forwarded: 0, local: 0, arp: 0, queued: 0, dropped: 0, nat: 0 });
    this.devs.set(up.name, up);
    this.endpoint = new IpEndpoint(stack, up, { ip: opts.ip });
    this.setLocal(up, this.endpoint);
    stack.setProtocolHandler(up, this);
  }

  private setLocal(dev: NetDevice, ep: IpEndpoint): void {
    while (this.locals.length <= dev.ifindex) this.locals.push(null);
    this.locals[dev.ifindex] = ep;
  }

  /**
   * Brings a vif online as vif-route / vif-nat do: registers it with dom0's stack if needed,
   * gives it its /32 address, proxy ARP and the host route to the guest (`Dom0Router.addVif`),
   * and makes this object its protocol handler. Throws what `addVif` throws (e.g. no guest
   * address in route mode).
   */
  addVif(vif: NetDevice, cfg: { domid: number; devid?: number; ip?: string }): L3Vif {
    const r = this.router.addVif({ name: vif.name, domid: cfg.domid, devid: cfg.devid, ip: cfg.ip });
    if (vif.ifindex === 0) this.stack.register_netdev(vif);
    this.devs.set(vif.name, vif);
    const ep = new IpEndpoint(this.stack, vif, { ip: r.routerIp });
    this.setLocal(vif, ep);
    this.stack.setProtocolHandler(vif, this);
    return { name: r.name, guestIp: r.guestIp, routerIp: r.routerIp };
  }

  /** Frames delivered up on the uplink or a vif. Never throws for frame contents. */
  protoRcv(skb: SkBuff): void {
    const st = this.stack;
    const dev = skb.dev as NetDevice;
    const len = skb.len;
    let bytes: Uint8Array;
    if (skb.nrFrags === 0) {
      bytes = skb.head.subarray(skb.data, skb.data + len);
    } else {
      if (this.scratch.length < len) this.scratch = new Uint8Array(Math.max(len, this.scratch.length * 2));
      skb.copyBits(0, this.scratch, 0, len);
      bytes = this.scratch.subarray(0, len);
    }
    const etype = len >= 14 ? (bytes[12]! << 8) | bytes[13]! : -1;
    const nat = this.mode === 'nat';
    // A classic guest's blank checksum (proto_csum_blank) is set up as dev_queue_xmit would.
    if (etype === ETH_P_IP && nat && skb.protoCsumBlank && !st.xenChecksumSetup(skb, dev)) return;
    if (etype === ETH_P_IP && nat && skb.ipSummed === CHECKSUM_PARTIAL) {
      // The rewrite adjusts full checksums; finish a partial one first (see @simplified).
      if (st.skb_checksum_help(skb)) {
        if (skb.nrFrags === 0) bytes = skb.head.subarray(skb.data, skb.data + len);
        else { skb.copyBits(0, this.scratch, 0, len); bytes = this.scratch.subarray(0, len); }
      }
    }
    const daddrIn = etype === ETH_P_IP && len >= 34 ? u32(bytes, 30) : 0;
    const saddrIn = etype === ETH_P_IP && len >= 34 ? u32(bytes, 26) : 0;
    const res = this.router.receive(dev.name, bytes);
    const c = st.costs;

    if (etype === ETH_P_ARP) {
      this.counters.arp++;
      // An ARP reply on the uplink may answer dom0's own request: its endpoint learns it too.
      const ep = this.locals[dev.ifindex] ?? null;
      if (ep !== null && res.dropped === null && len >= 22 && bytes[21] === 2 && dev === this.devs.get(this.router.uplink.name)) {
        this.transmit(res.out, null);
        ep.protoRcv(skb);
        return;
      }
      st.step(skb, 'arp_rcv', c.l4_rcv_ns);
      this.transmit(res.out, null);
      this.free(skb, res.dropped);
      return;
    }
    if (res.local) {
      this.counters.local++;
      const ep = this.locals[dev.ifindex] ?? null;
      this.transmit(res.out, null);
      if (ep === null) { st.kfree_skb(skb, `l3/${dev.name}`, 'no_local_endpoint'); return; }
      ep.protoRcv(skb);
      return;
    }
    st.step(skb, 'ip_rcv', c.ip_rcv_ns);
    if (nat) this.stepIn(skb, 'nf_conntrack_in', this.costs.nf_conntrack_ns);
    if (res.dropped !== null) {
      this.free(skb, res.dropped);
      this.transmit(res.out, null);
      return;
    }
    if (res.queued !== null) {
      this.counters.queued++;
      this.natStep(skb, res.queued, saddrIn, daddrIn, true);
      this.stepIn(skb, 'ip_forward', this.costs.ip_forward_ns, st.tpStep.on ? `${dev.name} → neighbour unresolved` : undefined);
      this.natStep(skb, res.queued, saddrIn, daddrIn, false);
      this.waiting.set(res.queued, metaOf(skb));
      this.transmit(res.out, null);
      this.free(skb, null);
      return;
    }
    // Forwarded at once: the IPv4 frame in `out` is this packet.
    this.transmit(res.out, skb, dev.name, saddrIn, daddrIn);
    this.free(skb, null);
  }

  /**
   * Sends the router's output frames. `skb` is the packet being forwarded (its IPv4 frame in
   * `out` continues as the same packet); IPv4 frames that waited for ARP carry their own meta.
   */
  private transmit(out: L3Output[], skb: SkBuff | null, inName = '', saddrIn = 0, daddrIn = 0): void {
    const st = this.stack;
    for (let i = 0; i < out.length; i++) {
      const o = out[i]!;
      const dev = this.devs.get(o.ifName);
      if (dev === undefined) continue; // cannot happen: the router only knows our devices
      const b = o.bytes;
      const n = st.pool.alloc();
      n.head.set(b, n.put(b.length));
      const isIp = b.length >= 14 && ((b[12]! << 8) | b[13]!) === ETH_P_IP;
      if (!isIp) {
        n.bornAt = st.sim.now;
        st.step(n, 'arp_send', st.costs.l4_send_ns);
        st.dev_queue_xmit(n, dev);
        continue;
      }
      this.counters.forwarded++;
      if (skb !== null) {
        applyMeta(n, skb);
        this.natStep(n, b, saddrIn, daddrIn, true);
        this.stepIn(n, 'ip_forward', this.costs.ip_forward_ns, st.tpStep.on ? `${inName} → ${o.ifName}` : undefined);
        this.natStep(n, b, saddrIn, daddrIn, false);
      } else {
        const meta = this.waiting.get(b); // released by ARP resolution: rewritten when it was queued
        if (meta !== undefined) applyMeta(n, meta);
        else n.bornAt = st.sim.now;
      }
      this.stepIn(n, 'ip_finish_output2', 0, o.ifName);
      st.dev_queue_xmit(n, dev);
    }
  }

  /**
   * The NAT rewrite of a packet, if the router made one: DNAT of a reply happens at PREROUTING
   * (before ip_forward, `pre` true), MASQUERADE at POSTROUTING (after it).
   */
  private natStep(skb: SkBuff, b: Uint8Array, saddrIn: number, daddrIn: number, pre: boolean): void {
    if (this.mode !== 'nat') return;
    if (pre) {
      const da = u32(b, 30);
      if (da === daddrIn) return;
      this.counters.nat++;
      this.stepIn(skb, 'nf_nat_packet', this.costs.nf_nat_ns, this.stack.tpStep.on ? `DNAT ${ipText(daddrIn)} → ${ipText(da)}` : undefined);
      return;
    }
    const sa = u32(b, 26);
    if (sa === saddrIn) return;
    this.counters.nat++;
    this.stepIn(skb, 'nf_nat_packet', this.costs.nf_nat_ns, this.stack.tpStep.on ? `SNAT ${ipText(saddrIn)} → ${ipText(sa)}` : undefined);
  }

  private stepIn(skb: SkBuff, fn: string, cost: number, detail?: string): void {
    const st = this.stack;
    st.cpu.run(st.sim.now, cost);
    if (st.tpStep.on) emitStep(st.tpStep, skb.id, fn, st.lane, st.domid, cost, detail);
  }

  /** Frees the received skb: its bytes went on in a fresh skb, or the router dropped it (counted). */
  private free(skb: SkBuff, dropped: string | null): void {
    if (dropped !== null) {
      this.counters.dropped++;
      this.stack.consume_skb(skb); // the router has counted the drop under l3/<uplink>
      return;
    }
    this.stack.pool.free(skb);
  }
}

/**
 * The vif-route / vif-nat hotplug script ("online"): brings the vif up with the MTU of the `mtu`
 * key, has dom0 route for it (`Dom0L3.addVif` with the first address of the `ip` key, or the
 * vif-nat default), and writes `hotplug-status` = "connected" — or "error" when there is no vif
 * or no address (vif-route needs one).
 * @models xen-project/xen tools/hotplug/Linux/vif-route, vif-nat (online), xen-hotplug-common.sh success()
 */
export function vifRouteHotplug(be: BackendInfo, l3: Dom0L3, onOnline?: (vif: XenVif, r: L3Vif) => void): void {
  const st = be.store;
  const vif = be.vif;
  if (vif === null) {
    st.write(`${be.nodename}/hotplug-status`, 'error', 0, 0);
    return;
  }
  const mtuText = st.read(`${be.nodename}/mtu`);
  const mtu = mtuText === undefined ? NaN : Number(mtuText);
  if (Number.isInteger(mtu) && mtu >= 68 && mtu <= 65535 - 18) vif.mtu = mtu;
  const ipKey = st.read(`${be.nodename}/ip`);
  const ip = ipKey === undefined || ipKey.trim() === '' ? undefined : ipKey.trim().split(/\s+/)[0];
  let r: L3Vif;
  try {
    r = l3.addVif(vif, { domid: vif.domid, devid: vif.handle, ip });
  } catch {
    st.write(`${be.nodename}/hotplug-status`, 'error', 0, 0);
    return;
  }
  vif.up = true;
  if (onOnline !== undefined) onOnline(vif, r);
  st.write(`${be.nodename}/hotplug-status`, 'connected', 0, 0);
}

/** The hotplug script xenstore's `script` key names for a mode. */
export function vifScriptFor(mode: 'bridge' | Dom0Mode): string {
  return `/etc/xen/scripts/${mode === 'bridge' ? 'vif-bridge' : mode === 'route' ? 'vif-route' : 'vif-nat'}`;
}

function metaOf(skb: SkBuff): SkbMeta {
  return {
    id: skb.id, bornAt: skb.bornAt, ipSummed: skb.ipSummed, protoDataValid: skb.protoDataValid, protoCsumBlank: skb.protoCsumBlank, csumStart: skb.csumStart, csumOffset: skb.csumOffset,
    gsoSize: skb.gsoSize, gsoType: skb.gsoType, gsoSegs: skb.gsoSegs,
    queueMapping: skb.queueMapping, hash: skb.hash, swHash: skb.swHash, l4Hash: skb.l4Hash,
  };
}

/** Copies a packet's metadata (from another skb, or from what metaOf kept) onto `n`. */
function applyMeta(n: SkBuff, m: SkbMeta): void {
  n.id = m.id;
  n.bornAt = m.bornAt;
  n.ipSummed = m.ipSummed;
  n.protoDataValid = m.protoDataValid;
  n.protoCsumBlank = m.protoCsumBlank;
  n.csumStart = m.csumStart;
  n.csumOffset = m.csumOffset;
  n.gsoSize = m.gsoSize;
  n.gsoType = m.gsoType;
  n.gsoSegs = m.gsoSegs;
  n.queueMapping = m.queueMapping;
  n.hash = m.hash;
  n.swHash = m.swHash;
  n.l4Hash = m.l4Hash;
}

function u32(b: Uint8Array, off: number): number {
  return ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
}

function ipText(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}`;
}

function macText(mac: Uint8Array): string {
  return [...mac].map((x) => x.toString(16).padStart(2, '0')).join(':');
}
