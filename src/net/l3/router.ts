/**
 * dom0 as an IPv4 router for Xen's routed and NAT modes (`vif-route`, `vif-nat` plus the removed
 * `network-route` / `network-nat`), at the frame level. No bridge is involved: dom0's IP stack
 * forwards between the uplink (eth0) and each vif.
 *
 *   vif-route: vif gets dom0's own IP as a /32, proxy_arp=1; host route guestIP/32 dev vif;
 *              network-route: ip_forward=1, proxy_arp=1 on the uplink.
 *   vif-nat:   guest IP 10.<domid/256>.<domid%256>.<devid+1> (default), router IP = guest + 127
 *              on the vif as a /32, host route to the guest, proxy_arp=1 on the vif;
 *              network-nat: ip_forward=1, MASQUERADE on the uplink.
 *
 * Modeled: ARP replies for local addresses (arp_ignore=0: any local address, on any interface)
 * and proxy ARP (reply with the ingress device's MAC when the route to the target leaves by
 * another device), the neighbour table learned from ARP, longest-prefix routing, ip_forward
 * (TTL decrement with incremental checksum), MASQUERADE with a conntrack-like mapping for UDP,
 * TCP and ICMP echo (source port/id kept when free, else the next free one from 1024).
 *
 * @simplified no ICMP errors are generated (TTL expiry, no route, port unreachable are drops with
 * a reason); no fragmentation or PMTU; conntrack entries never time out and TCP state is not
 * tracked; at most 3 packets wait for an unresolved neighbour (Linux queues by bytes,
 * unres_qlen_bytes); ARP requests are sent once per queued packet burst, without retransmission.
 */
import type { Simulator } from '../../sim';
import { Ipv4Addr, ipv4At, writeIpv4, csum_replace2, internetChecksum, buildArp, MacAddr } from '../../wire';
import { formatMac, parseMac, XEN_VIF_MAC } from '../bridge/mac';
import { ipv4CheckedLength } from '../bridge/bridge';

export type Dom0Mode = 'route' | 'nat';

export interface UplinkConfig {
  name?: string;
  mac: string;
  /** dom0's address on the uplink ("main_ip" of the scripts). */
  ip: string;
  prefixLen: number;
  /** Default gateway on the uplink, if any. */
  gateway?: string;
}

export interface VifConfig {
  /** Default vif<domid>.<devid>. */
  name?: string;
  domid: number;
  devid?: number;
  /** The guest's address (xenstore `ip`); required in route mode, defaulted in NAT mode. */
  ip?: string;
}

export interface L3Output {
  ifName: string;
  bytes: Uint8Array;
}

export interface L3Result {
  /** Frames dom0 sends, in order. */
  out: L3Output[];
  /** Delivered to dom0's own stack. */
  local: boolean;
  /** Drop reason, or null. */
  dropped: string | null;
  /**
   * The forwarded packet's bytes when they wait for ARP resolution (null otherwise): the same
   * array later appears in the `out` of the `receive` that resolves the neighbour, so a caller
   * can carry the packet's metadata (its skb id, birth time) across the wait.
   */
  queued: Uint8Array | null;
}

interface Iface {
  /** Index for neighbour keys (never reused). */
  idx: number;
  name: string;
  mac: number;
  ip: number;
  prefixLen: number;
  proxyArp: boolean;
}

interface Route {
  dst: number;
  prefixLen: number;
  dev: string;
  gateway: number; // 0 = on-link
}

interface Neigh {
  mac: number;
  queue: Uint8Array[];
}

interface Conn {
  proto: number;
  guestIp: number;
  guestPort: number;
  remoteIp: number;
  remotePort: number;
  masqPort: number;
}

const ETH_P_IP = 0x0800;
const ETH_P_ARP = 0x0806;
const UNRES_QLEN = 3;

function ipStr(v: number): string {
  return Ipv4Addr.fromU32(v >>> 0).toString();
}

function maskOf(prefixLen: number): number {
  return prefixLen === 0 ? 0 : (0xffffffff << (32 - prefixLen)) >>> 0;
}

/** The vif-nat default guest address: 10.<domid/256>.<domid%256>.<devid+1>. */
export function vifNatGuestIp(domid: number, devid: number): string {
  return `10.${Math.floor(domid / 256)}.${domid % 256}.${devid + 1}`;
}

/** vif-nat's router address: the guest address with 127 added to the last octet. */
export function vifNatRouterIp(guestIp: string): string {
  const v = Ipv4Addr.parse(guestIp).value;
  return ipStr(((v & 0xffffff00) | (((v & 0xff) + 127) & 0xff)) >>> 0);
}

export class Dom0Router {
  readonly mode: Dom0Mode;
  readonly uplink: Iface;
  private readonly ifaces = new Map<string, Iface>();
  private readonly routes: Route[] = [];
  /** Neighbours by iface.idx * 2^32 + IPv4 (a number key: no string building per packet). */
  private readonly neigh = new Map<number, Neigh>();
  private readonly byIdx: string[] = [];
  private readonly conns: Conn[] = [];
  private readonly where: string;
  private out: L3Output[] = [];
  private res: L3Result = { out: [], local: false, dropped: null, queued: null };

  constructor(readonly sim: Simulator, opts: { mode: Dom0Mode; uplink: UplinkConfig }) {
    if (opts.mode !== 'route' && opts.mode !== 'nat') throw new Error(`Dom0Router: mode ${JSON.stringify(opts.mode)} is not allowed; use 'route' or 'nat'`);
    this.mode = opts.mode;
    const u = opts.uplink;
    if (!Number.isInteger(u.prefixLen) || u.prefixLen < 0 || u.prefixLen > 32) throw new Error(`Dom0Router uplink.prefixLen: ${u.prefixLen} is not allowed; use 0-32`);
    this.uplink = {
      idx: 0, name: u.name ?? 'eth0', mac: parseMac(u.mac, 'Dom0Router uplink.mac'), ip: Ipv4Addr.parse(u.ip).value,
      // network-route sets proxy_arp on the uplink so the upstream router reaches guests in its subnet
      prefixLen: u.prefixLen, proxyArp: this.mode === 'route',
    };
    this.where = `l3/${this.uplink.name}`;
    this.ifaces.set(this.uplink.name, this.uplink);
    this.byIdx.push(this.uplink.name);
    this.routes.push({ dst: (this.uplink.ip & maskOf(u.prefixLen)) >>> 0, prefixLen: u.prefixLen, dev: this.uplink.name, gateway: 0 });
    if (u.gateway !== undefined) this.routes.push({ dst: 0, prefixLen: 0, dev: this.uplink.name, gateway: Ipv4Addr.parse(u.gateway).value });
  }

  /**
   * Brings a vif online as the hotplug script does; returns the guest address and the address the
   * guest should use as its gateway.
   * @models xen tools/hotplug/Linux/vif-route, vif-nat (online)
   */
  addVif(cfg: VifConfig): { name: string; guestIp: string; routerIp: string } {
    const devid = cfg.devid ?? 0;
    if (!Number.isInteger(cfg.domid) || cfg.domid < 1 || cfg.domid > 0x7fef) throw new Error(`addVif: domid ${cfg.domid} is not allowed; use a guest domid in 1..32751`);
    if (!Number.isInteger(devid) || devid < 0 || devid > 255) throw new Error(`addVif: devid ${devid} is not allowed; use 0..255`);
    const name = cfg.name ?? `vif${cfg.domid}.${devid}`;
    if (this.ifaces.has(name)) throw new Error(`addVif: interface '${name}' already exists`);
    let guestIp: string;
    let routerIp: string;
    if (this.mode === 'route') {
      if (cfg.ip === undefined) throw new Error(`addVif(${name}): ip is required in route mode (vif-route adds one host route per address)`);
      guestIp = cfg.ip;
      routerIp = ipStr(this.uplink.ip); // the vif gets dom0's main_ip as a /32
    } else {
      guestIp = cfg.ip ?? vifNatGuestIp(cfg.domid, devid);
      routerIp = vifNatRouterIp(guestIp);
    }
    const g = Ipv4Addr.parse(guestIp).value;
    this.byIdx.push(name);
    this.ifaces.set(name, { idx: this.byIdx.length - 1, name, mac: XEN_VIF_MAC, ip: Ipv4Addr.parse(routerIp).value, prefixLen: 32, proxyArp: true });
    this.routes.push({ dst: g, prefixLen: 32, dev: name, gateway: 0 });
    return { name, guestIp, routerIp };
  }

  /** Removes a vif and its routes (offline). */
  delVif(name: string): void {
    const dev = this.iface(name);
    if (name === this.uplink.name) throw new Error(`delVif: '${name}' is the uplink`);
    this.ifaces.delete(name);
    for (let i = this.routes.length - 1; i >= 0; i--) if (this.routes[i]!.dev === name) this.routes.splice(i, 1);
    for (const k of [...this.neigh.keys()]) if (Math.floor(k / 2 ** 32) === dev.idx) this.neigh.delete(k);
  }

  private iface(name: string): Iface {
    const i = this.ifaces.get(name);
    if (i === undefined) throw new Error(`Dom0Router: no interface named ${JSON.stringify(name)}; interfaces: ${[...this.ifaces.keys()].join(', ')}`);
    return i;
  }

  /** The routing table, `ip route` style. */
  routeTable(): { dst: string; dev: string; via: string | null }[] {
    return this.routes.map((r) => ({ dst: `${ipStr(r.dst)}/${r.prefixLen}`, dev: r.dev, via: r.gateway ? ipStr(r.gateway) : null }));
  }

  /** The neighbour (ARP) table. */
  neighbours(): { dev: string; ip: string; mac: string | null; queued: number }[] {
    return [...this.neigh.entries()].map(([k, n]) => ({
      dev: this.byIdx[Math.floor(k / 2 ** 32)]!, ip: ipStr(k % 2 ** 32), mac: n.mac >= 0 ? formatMac(n.mac) : null, queued: n.queue.length,
    }));
  }

  /** The masquerade mappings (conntrack -L -t nat style). */
  conntrack(): { proto: string; guest: string; remote: string; masqPort: number }[] {
    const pn = (p: number) => (p === 6 ? 'tcp' : p === 17 ? 'udp' : 'icmp');
    return this.conns.map((c) => ({ proto: pn(c.proto), guest: `${ipStr(c.guestIp)}:${c.guestPort}`, remote: `${ipStr(c.remoteIp)}:${c.remotePort}`, masqPort: c.masqPort }));
  }

  private isLocal(ip: number): boolean {
    for (const i of this.ifaces.values()) if (i.ip === ip) return true;
    return false;
  }

  /** fib_lookup: longest prefix match. */
  private lookup(ip: number): Route | undefined {
    let best: Route | undefined;
    for (const r of this.routes) {
      if (((ip & maskOf(r.prefixLen)) >>> 0) === r.dst && (best === undefined || r.prefixLen > best.prefixLen)) best = r;
    }
    return best;
  }

  /**
   * A frame received on interface `ifName` (a copy is made of anything forwarded).
   * Never throws for frame contents.
   */
  receive(ifName: string, frame: Uint8Array): L3Result {
    const dev = this.iface(ifName);
    this.out = [];
    const res: L3Result = { out: this.out, local: false, dropped: null, queued: null };
    this.res = res;
    if (frame.length < 14) return this.drop(res, 'short_frame', frame.length);
    const etype = (frame[12]! << 8) | frame[13]!;
    const dst = (frame[0]! * 2 ** 40) + (frame[1]! * 2 ** 32) + ipv4At(frame, 2);
    if (etype === ETH_P_ARP) return this.arp_rcv(dev, frame, res);
    if (etype !== ETH_P_IP) return this.drop(res, 'unhandled_protocol', frame.length);
    if (dst !== dev.mac) {
      // multicast/broadcast IP goes to the local stack; other hosts' frames are not ours
      if (frame[0]! & 1) { res.local = true; return res; }
      return this.drop(res, 'otherhost', frame.length);
    }
    const ipLen = ipv4CheckedLength(frame, 14, frame.length - 14);
    if (ipLen < 0) return this.drop(res, 'ip_inhdr', frame.length);
    const pkt = frame.slice(0, 14 + ipLen);
    // NAT PREROUTING: replies to masqueraded connections get their guest address back
    if (this.mode === 'nat' && dev === this.uplink) this.unmasquerade(pkt);
    const daddr = ipv4At(pkt, 30);
    if (this.isLocal(daddr)) { res.local = true; return res; }
    return this.ip_forward(dev, pkt, res);
  }

  /** @models linux net/ipv4/ip_forward.c ip_forward() */
  private ip_forward(dev: Iface, pkt: Uint8Array, res: L3Result): L3Result {
    const ttl = pkt[22]!;
    if (ttl <= 1) return this.drop(res, 'ttl_expired', pkt.length); // Linux also sends ICMP time exceeded
    const daddr = ipv4At(pkt, 30);
    const rt = this.lookup(daddr);
    if (rt === undefined) return this.drop(res, 'no_route', pkt.length);
    // ip_decrease_ttl(): TTL is the high byte of the word at offset 8 of the header
    const oldWord = (pkt[22]! << 8) | pkt[23]!;
    pkt[22] = ttl - 1;
    const check = csum_replace2((pkt[24]! << 8) | pkt[25]!, oldWord, (pkt[22]! << 8) | pkt[23]!);
    pkt[24] = check >> 8;
    pkt[25] = check & 0xff;
    const out = this.iface(rt.dev);
    if (this.mode === 'nat' && out === this.uplink && !this.isLocal(ipv4At(pkt, 26))) {
      if (!this.masquerade(pkt)) return this.drop(res, 'nat_unsupported', pkt.length);
    }
    this.neigh_output(out, rt.gateway || daddr, pkt);
    void dev;
    return res;
  }

  /** Sends via the neighbour: resolved → frame out; unresolved → queue and ARP. */
  private neigh_output(out: Iface, nh: number, pkt: Uint8Array): void {
    const key = out.idx * 2 ** 32 + (nh >>> 0);
    let n = this.neigh.get(key);
    writeMacAt(pkt, 6, out.mac);
    if (n !== undefined && n.mac >= 0) {
      writeMacAt(pkt, 0, n.mac);
      this.out.push({ ifName: out.name, bytes: pkt });
      return;
    }
    if (n === undefined) { n = { mac: -1, queue: [] }; this.neigh.set(key, n); }
    if (n.queue.length >= UNRES_QLEN) {
      this.drop(this.res, 'neigh_queue_full', pkt.length);
      return;
    }
    n.queue.push(pkt);
    this.res.queued = pkt;
    this.out.push({ ifName: out.name, bytes: buildArp({ operation: 'request', senderMac: MacAddr.fromKey(out.mac), senderIp: Ipv4Addr.fromU32(out.ip), targetIp: Ipv4Addr.fromU32(nh >>> 0) }) });
  }

  /** @models linux net/ipv4/arp.c arp_process() (arp_ignore=0, proxy_arp per device) */
  private arp_rcv(dev: Iface, f: Uint8Array, res: L3Result): L3Result {
    if (f.length < 42 || f[14] !== 0 || f[15] !== 1 || f[16] !== 0x08 || f[17] !== 0 || f[18] !== 6 || f[19] !== 4) {
      return this.drop(res, 'arp_malformed', f.length);
    }
    const op = (f[20]! << 8) | f[21]!;
    const sha = (f[22]! * 2 ** 40) + (f[23]! * 2 ** 32) + ipv4At(f, 24);
    const sip = ipv4At(f, 28);
    const tip = ipv4At(f, 38);
    if (op === 1) {
      let answer = false;
      if (this.isLocal(tip)) answer = true;
      else if (dev.proxyArp) {
        const rt = this.lookup(tip);
        answer = rt !== undefined && rt.dev !== dev.name; // arp_fwd_proxy()
      }
      if (!answer) { res.local = true; return res; }
      this.learnNeigh(dev, sip, sha);
      this.out.push({ ifName: dev.name, bytes: buildArp({
        operation: 'reply', senderMac: MacAddr.fromKey(dev.mac), senderIp: Ipv4Addr.fromU32(tip),
        targetMac: MacAddr.fromKey(sha), targetIp: Ipv4Addr.fromU32(sip),
      }) });
      res.local = true;
      return res;
    }
    if (op === 2) {
      this.learnNeigh(dev, sip, sha);
      res.local = true;
      return res;
    }
    return this.drop(res, 'arp_malformed', f.length);
  }

  private learnNeigh(dev: Iface, ip: number, mac: number): void {
    const key = dev.idx * 2 ** 32 + (ip >>> 0);
    const n = this.neigh.get(key);
    if (n === undefined) { this.neigh.set(key, { mac, queue: [] }); return; }
    n.mac = mac;
    const q = n.queue;
    n.queue = [];
    for (const pkt of q) {
      writeMacAt(pkt, 0, mac);
      this.out.push({ ifName: dev.name, bytes: pkt });
    }
  }

  /** MASQUERADE: source becomes the uplink address; returns false for protocols it cannot map. */
  private masquerade(pkt: Uint8Array): boolean {
    const ihl = (pkt[14]! & 0x0f) * 4;
    const l4 = 14 + ihl;
    const proto = pkt[23]!;
    const saddr = ipv4At(pkt, 26);
    const daddr = ipv4At(pkt, 30);
    let sport: number;
    let dport: number;
    if (proto === 6 || proto === 17) {
      if (pkt.length < l4 + 8) return false;
      sport = (pkt[l4]! << 8) | pkt[l4 + 1]!;
      dport = (pkt[l4 + 2]! << 8) | pkt[l4 + 3]!;
    } else if (proto === 1) {
      if (pkt.length < l4 + 8 || (pkt[l4] !== 8 && pkt[l4] !== 0)) return false; // echo only
      sport = (pkt[l4 + 4]! << 8) | pkt[l4 + 5]!; // identifier
      dport = 0;
    } else {
      return false;
    }
    let c = this.conns.find((x) => x.proto === proto && x.guestIp === saddr && x.guestPort === sport && x.remoteIp === daddr && x.remotePort === dport);
    if (c === undefined) {
      // nf_nat_l4proto_unique_tuple(): keep the port if no other mapping to this remote uses it
      const taken = (p: number) => this.conns.some((x) => x.proto === proto && x.masqPort === p && x.remoteIp === daddr && x.remotePort === dport);
      let port = sport;
      if (taken(port)) { port = 1024; while (taken(port)) port++; }
      c = { proto, guestIp: saddr, guestPort: sport, remoteIp: daddr, remotePort: dport, masqPort: port };
      this.conns.push(c);
    }
    this.rewrite(pkt, 26, this.uplink.ip, l4, proto, true, c.masqPort);
    return true;
  }

  private unmasquerade(pkt: Uint8Array): void {
    const ihl = (pkt[14]! & 0x0f) * 4;
    const l4 = 14 + ihl;
    const proto = pkt[23]!;
    if (ipv4At(pkt, 30) !== this.uplink.ip) return;
    const saddr = ipv4At(pkt, 26);
    let sport: number;
    let dport: number;
    if ((proto === 6 || proto === 17) && pkt.length >= l4 + 8) {
      sport = (pkt[l4]! << 8) | pkt[l4 + 1]!;
      dport = (pkt[l4 + 2]! << 8) | pkt[l4 + 3]!;
    } else if (proto === 1 && pkt.length >= l4 + 8 && pkt[l4] === 0) {
      sport = 0;
      dport = (pkt[l4 + 4]! << 8) | pkt[l4 + 5]!;
    } else {
      return;
    }
    const c = this.conns.find((x) => x.proto === proto && x.remoteIp === saddr && x.remotePort === sport && x.masqPort === dport);
    if (c === undefined) return;
    this.rewrite(pkt, 30, c.guestIp, l4, proto, false, c.guestPort);
  }

  /**
   * Rewrites an address (at `addrOff`) and the matching port or ICMP id, fixing the IP header
   * checksum and the L4 checksum incrementally (inet_proto_csum_replace4/2).
   */
  private rewrite(pkt: Uint8Array, addrOff: number, newAddr: number, l4: number, proto: number, source: boolean, newPort: number): void {
    const oldAddr = ipv4At(pkt, addrOff);
    const hi = (v: number) => (v >>> 16) & 0xffff;
    const lo = (v: number) => v & 0xffff;
    writeIpv4(pkt, addrOff, newAddr);
    let ipc = (pkt[24]! << 8) | pkt[25]!;
    ipc = csum_replace2(csum_replace2(ipc, hi(oldAddr), hi(newAddr)), lo(oldAddr), lo(newAddr));
    pkt[24] = ipc >> 8; pkt[25] = ipc & 0xff;
    const portOff = proto === 1 ? l4 + 4 : source ? l4 : l4 + 2;
    const oldPort = (pkt[portOff]! << 8) | pkt[portOff + 1]!;
    pkt[portOff] = newPort >> 8; pkt[portOff + 1] = newPort & 0xff;
    const csOff = proto === 6 ? l4 + 16 : proto === 17 ? l4 + 6 : l4 + 2;
    let c = (pkt[csOff]! << 8) | pkt[csOff + 1]!;
    if (proto === 17 && c === 0) return; // UDP without checksum stays without
    if (proto !== 1) c = csum_replace2(csum_replace2(c, hi(oldAddr), hi(newAddr)), lo(oldAddr), lo(newAddr)); // pseudo-header
    c = csum_replace2(c, oldPort, newPort);
    if (proto === 17 && c === 0) c = 0xffff;
    pkt[csOff] = c >> 8; pkt[csOff + 1] = c & 0xff;
  }

  private drop(res: L3Result, reason: string, bytes: number): L3Result {
    res.dropped = reason;
    this.sim.drops.count(this.where, reason, bytes);
    return res;
  }
}

/** Writes a 48-bit MAC key at `off` (no allocation). */
function writeMacAt(b: Uint8Array, off: number, key: number): void {
  const hi = Math.floor(key / 2 ** 32);
  b[off] = hi >> 8; b[off + 1] = hi & 0xff;
  writeIpv4(b, off + 2, key >>> 0);
}

/** Verifies an IPv4 header checksum (for tests and notebooks). */
export function ipv4HeaderChecksumOk(frame: Uint8Array): boolean {
  const ihl = (frame[14]! & 0x0f) * 4;
  return internetChecksum(frame, 14, 14 + ihl) === 0;
}
