/**
 * The host builder: wires one Xen host the way a toolstack and dom0's network scripts do —
 * ns-3's "helper" layer. Drivers never create their peers; this file does.
 *
 *            domU 1 .. N                                   dom0                       the wire
 *   ┌───────────────────────────┐      ┌──────────────────────────────────────────┐
 *   │ IpEndpoint (UDP/ICMP/ARP) │      │  IpEndpoint on xenbr0 (dom0's own IP)   │
 *   │ NetStack (vCPU, skbs)     │      │  NetStack (CPU, backlog, NAPI, qdiscs)  │
 *   │ eth0 = xen-netfront ──────┼ ring ┼─ vifD.0 = xen-netback ─┐                │     ┌───────────┐
 *   └───────────────────────────┘ +evt │                        xenbr0 ─ eth0 (ixgbe) ─┼─────┤ external  │
 *                                      └──────────────────────────────────────────┘     │ host      │
 *                         Xen: memory, grant tables, event channels, xenstore           └───────────┘
 *
 *   const host = buildXenHost({ seed: 1, guests: [{ name: 'web', ip: '10.0.0.11' }] });
 *   host.guest('web').endpoint.sendUdp('10.0.0.100', 9000, 1472);
 *   host.run(host.ms(1));
 *
 * What `buildXenHost` does, in order: creates the hypervisor and dom0; dom0's stack, the bridge
 * xenbr0 (STP off, forward delay 0, as Xen's scripts create it) and the physical NIC enslaved to
 * it; the wire and the external host(s); then for each guest: the domain, its stack,
 * `libxl_device_nic_add` (both xenstore directories), `netback_probe` (the vif, enslaved to the
 * bridge as the vif-bridge hotplug script does, which then writes hotplug-status), and
 * `netfront_probe`; finally it runs the simulator until every xenbus handshake has reached
 * Connected, so a returned host is ready for traffic at a small virtual time.
 *
 * `mode` picks Xen's networking mode (one parameter): 'bridge' as drawn above (vif-bridge);
 * 'route' (vif-route) and 'nat' (vif-nat), where eth0 and the vifs are not bridge ports but
 * dom0 routes between them (`host.l3`, see ./modes): dom0's address moves to eth0, each vif gets
 * a /32 with proxy ARP and a host route to its guest, and in NAT mode guests get vif-nat's
 * private 10.x addresses and are masqueraded behind dom0's address on the wire.
 */
import { Simulator } from '../sim/simulator';
import { Cpu } from '../sim/cpu';
import { MS, US, SEC } from '../sim/units';
import { Params, type Overrides } from '../params';
import { Hypervisor } from '../xen/hypervisor';
import { NetStack, simPool, type GroHolder } from '../net/stack';
import { IpEndpoint } from '../net/endpoint';
import { EthernetLink } from '../net/link';
import { BridgeDevice } from '../net/brdev';
import { Bridge } from '../net/bridge/bridge';
import type { NetDevice } from '../net/netdevice';
import { SKB_LINEAR_CAPACITY, type SkBuff, type SkbHeadAllocator } from '../net/skb';
import { IxgbeNic } from '../drivers/nic/ixgbe';
import { ExternalHost } from '../drivers/nic/host';
import { NetbackDriver } from '../drivers/netback/driver';
import { netbackHypervisor } from '../drivers/netback/xen-adapter';
import type { XenVif } from '../drivers/netback/interface';
import { netback_probe, toolstackCreateVif, vifBridgeHotplug, type BackendInfo } from '../drivers/netback/xenbus';
import { netfront_probe, netfrontPagesPerQueue } from '../drivers/netfront/xenbus';
import { GUEST_KERNEL_PAGES, hypervisorPort } from '../drivers/netfront/xen-binding';
import type { NetfrontXen } from '../drivers/netfront/xen-port';
import type { NetfrontInfo } from '../drivers/netfront/info';
import { vifNatGuestIp } from '../net/l3/router';
import { Dom0L3, vifRouteHotplug, vifScriptFor } from './modes';
import { tagView } from '../wire/views';

/** dom0's memory in 4 KiB pages (16 MiB). */
const DOM0_PAGES = 4096;
/** A guest's default memory in 4 KiB pages (16 MiB). */
const GUEST_PAGES = 4096;
/** Frames Xen takes per domain beyond its memory: shared_info, grant frames, rings (generous). */
const DOMAIN_OVERHEAD_PAGES = 128;
/** Room left in the host for guests added later with addGuest(). */
const HOTPLUG_ROOM_GUESTS = 2;

/** At most 1/GUEST_HEAD_SHARE of a guest's pages become skb heads; later skbs get plain heads. */
const GUEST_HEAD_SHARE = 4;

/**
 * The guest's skb head allocator: each new pooled skb takes one guest page (from the same page
 * allocator netfront uses) and its head is the first SKB_LINEAR_CAPACITY bytes of that page, so a
 * ≤ 1514-byte frame's linear data lies in one guest frame and netfront grants it in place, as Linux
 * grants virt_to_gfn(skb->data). One head per page rather than two per page: two heads in one
 * frame would let netback map the same frame for two requests at once, and its per-frame record of
 * mapped foreign pages (xen_page_foreign) holds one grant per frame. After `maxPages` pages, or when
 * the guest is out of memory, skbs get plain heads (netfront copies those into its tx pool pages).
 */
function guestSkbHeads(xen: NetfrontXen, maxPages: number): SkbHeadAllocator {
  let used = 0;
  return () => {
    if (used >= maxPages) return null;
    let pfn: number;
    try {
      pfn = xen.allocPages(1)[0]!;
    } catch {
      used = maxPages; // out of guest memory: plain heads from now on
      return null;
    }
    used++;
    return tagView(xen.page(pfn).subarray(0, SKB_LINEAR_CAPACITY));
  };
}

/**
 * dom0's skb head allocator: two 2 KiB heads per dom0 page (dom0's pages are not granted, so two
 * heads may share a frame), at most `maxPages` pages; then plain heads. The simulator-wide skb
 * pool uses it, so the external host's skbs (which swap buffers with dom0's NIC over the wire)
 * and both NICs' rx descriptor buffers are dom0 frames too: a received frame's bytes stay in a
 * dom0 frame up to netback, whose GNTTABOP_copy then names it as a local frame (the skb's page in
 * Linux) instead of staging it first. The external host living in dom0's frames is a modeling
 * device (its bytes are never granted to anyone).
 */
function dom0SkbHeads(xen: NetfrontXen, maxPages: number): SkbHeadAllocator {
  let used = 0;
  let page: Uint8Array | null = null;
  let half = 2;
  return () => {
    if (half === 2) {
      if (used >= maxPages) return null;
      try {
        page = xen.page(xen.allocPages(1)[0]!);
      } catch {
        used = maxPages; // out of dom0 memory: plain heads from now on
        return null;
      }
      used++;
      half = 0;
    }
    const at = half++ * SKB_LINEAR_CAPACITY;
    return tagView(page!.subarray(at, at + SKB_LINEAR_CAPACITY));
  };
}

export type NetworkMode = 'bridge' | 'route' | 'nat';

export interface GuestSpec {
  /** Domain name (default `guest<N>`). */
  name?: string;
  /** IPv4 address (default 10.0.0.<10+N>; in NAT mode vif-nat's 10.<domid/256>.<domid%256>.1). */
  ip?: string;
  /** MAC (default 00:16:3e:00:00:<N>, Xen's OUI). */
  mac?: string;
  /** Netback design of this guest's vif (default: the `netback.design` parameter). */
  design?: 'modern' | 'classic';
  /** Guest memory in 4 KiB pages (default 4096 = 16 MiB). */
  pages?: number;
  /**
   * How the guest receives: 'copy' (grant copy, default) or 'flip' (page flipping with
   * GNTTABOP_transfer; needs design 'classic': the backend then offers feature-rx-flip and the
   * guest's 2.6.18-style netfront asks for it).
   */
  rxMode?: 'copy' | 'flip';
  /**
   * A transmit rate limit for the guest's vif (xl's `rate=` option): the toolstack writes the
   * backend key `rate` = "bytes,usec" — `bytes` of credit every `usec` µs — before the backend
   * connects. Both designs read it at connect; modern netback also follows later changes of the key.
   */
  rate?: { bytes: number; usec: number };
  /** Parameter overrides for this guest only: its kernel stack and netfront (e.g. 'netfront.napi_budget'). */
  params?: Overrides;
}

export interface ExternalSpec {
  name?: string;
  ip?: string;
  mac?: string;
}

export interface XenHostOptions {
  /** Seed of every random stream (default 1). */
  seed?: number;
  /** Replication number (default 0). */
  run?: number;
  /** Parameter overrides by full name, or a Params set. */
  params?: Overrides | Params;
  /**
   * How dom0 connects guests to the wire (default 'bridge'): 'bridge' (vif-bridge: vifs and eth0
   * are ports of xenbr0), 'route' (vif-route: dom0 routes, proxy ARP, guests in dom0's subnet) or
   * 'nat' (vif-nat: private 10.x guest addresses, MASQUERADE on eth0). See ./modes.
   */
  mode?: NetworkMode;
  /** The guests (default: one guest). */
  guests?: GuestSpec[];
  /** The host at the other end of the wire (default client 10.0.0.100). */
  external?: ExternalSpec;
  /** dom0's address (default 10.0.0.1/24): on xenbr0 in bridge mode, on eth0 in route and NAT modes. */
  dom0Ip?: string;
}

/** One guest: its domain, kernel stack, netfront device, IP endpoint and its vif in dom0. */
export interface Guest {
  readonly name: string;
  readonly domid: number;
  readonly ip: string;
  readonly mac: string;
  readonly stack: NetStack;
  readonly netfront: NetfrontInfo;
  readonly eth0: NetDevice;
  readonly endpoint: IpEndpoint;
  /** netback's xenbus backend of this guest's vif. */
  readonly backend: BackendInfo;
  /** The vif in dom0 (vif<domid>.0). */
  readonly vif: XenVif;
  readonly frontendPath: string;
  readonly backendPath: string;
}

export class XenHost {
  readonly sim: Simulator;
  readonly params: Params;
  readonly hv: Hypervisor;
  readonly dom0: NetStack;
  readonly dom0Endpoint: IpEndpoint;
  readonly bridge: Bridge;
  readonly br0: BridgeDevice;
  readonly nic: IxgbeNic;
  readonly wire: EthernetLink;
  readonly external: ExternalHost;
  readonly netback: NetbackDriver;
  readonly guests: Guest[] = [];
  readonly mode: NetworkMode;
  /**
   * dom0's L3 path in route and NAT modes (`l3.router` has the routes, neighbours and NAT
   * mappings); null in bridge mode. In route and NAT modes `bridge`/`br0` exist but have no ports.
   */
  readonly l3: Dom0L3 | null;

  constructor(opts: XenHostOptions = {}) {
    this.mode = opts.mode ?? 'bridge';
    if (this.mode !== 'bridge' && this.mode !== 'route' && this.mode !== 'nat') {
      throw new Error(`buildXenHost: mode '${String(this.mode)}' is not allowed; use 'bridge', 'route' or 'nat'`);
    }
    const given = opts.params instanceof Params ? opts.params : Params.defaults().with(opts.params ?? {});
    // Size the host's memory for dom0, the guests asked for and room to hotplug more, unless the
    // caller chose `xen.host_pages` (the buffer is zero-filled lazily, so unused room costs little).
    const specsForSize = opts.guests ?? [{}];
    const guestPages = specsForSize.reduce((sum, g) => sum + (g.pages ?? GUEST_PAGES), 0);
    const domains = 1 + specsForSize.length + HOTPLUG_ROOM_GUESTS;
    const wanted = DOM0_PAGES + guestPages + HOTPLUG_ROOM_GUESTS * GUEST_PAGES + domains * DOMAIN_OVERHEAD_PAGES;
    this.params = 'xen.host_pages' in given.changed() || wanted <= (given.get('xen.host_pages') as number)
      ? given
      : given.with({ 'xen.host_pages': wanted });
    this.sim = new Simulator({ seed: opts.seed ?? 1, run: opts.run ?? 0 });
    const sim = this.sim;
    this.hv = new Hypervisor(sim, this.params);
    const dom0Domain = this.hv.createDomain({ name: 'Domain-0', pages: DOM0_PAGES });
    if (dom0Domain.domid !== 0) throw new Error('buildXenHost: the first domain must be dom0');

    // dom0's skb heads (and, through the wire's buffer swaps, the external host's and both NICs'
    // descriptor buffers) are halves of dom0 frames, so netback copies to guests from the frame.
    simPool(sim).setHeads(dom0SkbHeads(hypervisorPort(this.hv, 0), Math.floor(dom0Domain.domain.nrPfns / 2)));
    this.dom0 = new NetStack(sim, { name: 'dom0', domid: 0, params: this.params, cpu: new Cpu('dom0.cpu0') });
    this.bridge = new Bridge(sim, this.params, { name: 'xenbr0' });
    this.br0 = new BridgeDevice(this.dom0, this.bridge);
    this.nic = new IxgbeNic(this.dom0, { name: 'eth0', mac: '00:1b:21:0a:0b:0c', params: this.params });
    const dom0Ip = opts.dom0Ip ?? '10.0.0.1';
    if (this.mode === 'bridge') {
      this.br0.addPort(this.nic, 'nic');
      this.dom0Endpoint = new IpEndpoint(this.dom0, this.br0, { ip: dom0Ip });
      this.l3 = null;
    } else {
      // network-route / network-nat: eth0 keeps dom0's address, ip_forward=1 (xenbr0 stays empty).
      this.l3 = new Dom0L3(this.dom0, { mode: this.mode, uplink: this.nic, ip: dom0Ip });
      this.dom0Endpoint = this.l3.endpoint;
    }

    this.wire = new EthernetLink(sim, { name: 'wire', params: this.params });
    this.nic.attachLink(this.wire, 0);
    const ext = opts.external ?? {};
    this.external = new ExternalHost(sim, {
      name: ext.name ?? 'client', ip: ext.ip ?? '10.0.0.100', mac: ext.mac ?? '00:1b:21:aa:bb:cc', params: this.params,
    });
    this.external.plug(this.wire, 1);

    this.netback = new NetbackDriver(sim, this.params, netbackHypervisor(this.hv, 0), this.dom0);
    const specs = opts.guests ?? [{}];
    specs.forEach((spec) => this.createGuest(spec));
    this.settle();
  }

  /**
   * Creates a guest with one vif and runs the simulator until its xenbus handshake (and any other
   * pending one) has reached Connected — what `xl create` followed by the guest's boot does. Subscribe
   * to trace events first to watch the handshake (`xen.xenbus.state`, `xen.xenstore.*`, `netback.xenbus.*`).
   */
  addGuest(spec: GuestSpec = {}): Guest {
    const g = this.createGuest(spec);
    this.settle();
    return g;
  }

  /**
   * The fewest pages a guest can boot with: its kernel's pages, then what its netfront allocates
   * for each queue it will negotiate (one with either side classic, else the smaller of the two
   * max_queues).
   */
  private guestPagesNeeded(params: Params, design: GuestSpec['design']): number {
    const classic = params.get('netfront.design') === 'classic' || (design ?? this.params.get('netback.design')) === 'classic';
    const queues = classic ? 1 : Math.min(params.get('netfront.max_queues') as number, this.params.get('netback.max_queues') as number);
    return GUEST_KERNEL_PAGES + queues * netfrontPagesPerQueue(params.get('netfront.rx_pool_pages') as number);
  }

  private createGuest(spec: GuestSpec): Guest {
    const n = this.guests.length + 1;
    const sim = this.sim;
    const name = spec.name ?? `guest${n}`;
    if (this.guests.some((g) => g.name === name)) {
      throw new Error(`buildXenHost: guest name '${name}' is used twice; give each guest a unique name`);
    }
    const mac = spec.mac ?? `00:16:3e:00:00:${n.toString(16).padStart(2, '0')}`;
    if (spec.design !== undefined && spec.design !== 'modern' && spec.design !== 'classic') {
      throw new Error(`buildXenHost: guest '${name}' design '${String(spec.design)}' is not allowed; use 'modern' or 'classic'`);
    }
    if (spec.rxMode !== undefined && spec.rxMode !== 'copy' && spec.rxMode !== 'flip') {
      throw new Error(`buildXenHost: guest '${name}' rxMode '${String(spec.rxMode)}' is not allowed; use 'copy' or 'flip'`);
    }
    const r = spec.rate;
    if (r !== undefined && (r === null || typeof r !== 'object' || !Number.isInteger(r.bytes) || r.bytes < 1 || !Number.isInteger(r.usec) || r.usec < 1)) {
      throw new RangeError(`buildXenHost: guest '${name}' rate ${JSON.stringify(r)} is not allowed; use { bytes, usec } with positive integers (bytes of credit every usec µs)`);
    }
    if (spec.rxMode === 'flip' && spec.design !== 'classic') {
      throw new Error(`buildXenHost: guest '${name}' rxMode 'flip' needs design 'classic' (only the 2.6.18 drivers flip pages)`);
    }
    // The guest's own parameter set: the host's, its netfront's receive mode, then its overrides.
    const own: Record<string, number | boolean | string> = {};
    if (spec.rxMode !== undefined) own['netfront.rx_mode'] = spec.rxMode;
    const params = this.params.with({ ...own, ...(spec.params ?? {}) });
    const pages = spec.pages ?? GUEST_PAGES;
    const least = this.guestPagesNeeded(params, spec.design);
    if (!Number.isInteger(pages) || pages < least) {
      throw new RangeError(`buildXenHost: guest '${name}' pages ${pages} is not allowed; use an integer >= ${least} ` +
        `(${GUEST_KERNEL_PAGES} for the guest kernel, then per netfront queue ${netfrontPagesPerQueue(params.get('netfront.rx_pool_pages') as number)}: ` +
        `a tx page per ring slot, netfront.rx_pool_pages, two ring pages)`);
    }
    const dom = this.hv.createDomain({ name, pages });
    const domid = dom.domid;
    // vif-nat computes the default address itself when xenstore has no `ip` key.
    const ip = spec.ip ?? (this.mode === 'nat' ? vifNatGuestIp(domid, 0) : `10.0.0.${10 + n}`);
    // The guest kernel's skb heads are guest pages (netfront grants them in place, see guestSkbHeads).
    const xen = hypervisorPort(this.hv, domid);
    const pool = simPool(sim).withHeads(guestSkbHeads(xen, Math.floor(dom.domain.nrPfns / GUEST_HEAD_SHARE)));
    const stack = new NetStack(sim, { name, domid, params, cpu: new Cpu(`${name}.vcpu0`), pool });
    const paths = toolstackCreateVif(this.hv, {
      frontDomid: domid, mac, bridge: 'xenbr0', script: vifScriptFor(this.mode),
      ip: this.mode === 'nat' && spec.ip === undefined ? undefined : ip,
      rate: r === undefined ? undefined : `${r.bytes},${r.usec}`,
    });

    // dom0: netback_probe creates vif<domid>.0; its hotplug script either enslaves it to xenbr0
    // (vif-bridge) or has dom0 route for it (vif-route, vif-nat), then reports "connected".
    const l3 = this.l3;
    const backend = netback_probe({
      nb: this.netback, hv: this.hv, nodename: paths.backend, design: spec.design,
      classicRxFlip: spec.rxMode === 'flip',
      onVifOnline: l3 !== null
        ? (be) => vifRouteHotplug(be, l3)
        : (be) => vifBridgeHotplug(be, {
          attach: (vif) => {
            this.dom0.register_netdev(vif);
            this.br0.addPort(vif, 'vif');
          },
        }),
    });

    // domU: netfront probes, talks to netback through xenstore, and becomes eth0.
    const netfront = netfront_probe({
      sim, params, xen, nodename: paths.frontend,
      stack: {
        skbs: stack.pool,
        cpu: stack.cpu,
        napi_gro_receive: (dev: NetDevice, skb: SkBuff, napi?: GroHolder) => {
          skb.dev = dev;
          if (napi === undefined) stack.netif_receive_skb(skb);
          else stack.napi_gro_receive(napi, skb);
        },
        napi_gro_flush: (napi: GroHolder, pollFull: boolean) => stack.napi_gro_flush(napi, pollFull),
        flowHashSecret: (): number => stack.hashrnd,
      },
    });
    const eth0 = netfront.netdev;
    stack.register_netdev(eth0);
    // The endpoint is attached once netfront has read its MAC from xenstore (see settle()).
    let endpoint: IpEndpoint | null = null;
    const guest: Guest = {
      name, domid, ip, mac, stack, netfront, eth0, backend,
      get endpoint(): IpEndpoint {
        if (endpoint === null) endpoint = new IpEndpoint(stack, eth0, { ip });
        return endpoint;
      },
      get vif(): XenVif {
        if (backend.vif === null) throw new Error(`guest ${name}: netback has not created the vif yet`);
        return backend.vif;
      },
      frontendPath: paths.frontend, backendPath: paths.backend,
    };
    this.guests.push(guest);
    return guest;
  }

  /** Runs until every handshake reached Connected (at most 1 s of virtual time). */
  private settle(): void {
    const deadline = this.sim.now + SEC;
    const connected = () => this.guests.every((g) => this.hv.xenstore.read(`${g.backendPath}/state`) === '4'
      && this.hv.xenstore.read(`${g.frontendPath}/state`) === '4');
    this.sim.run({ until: deadline, stopWhen: connected });
    if (connected()) {
      for (const g of this.guests) void g.endpoint; // attach each guest's IP endpoint now that eth0 has its MAC
    } else {
      const states = this.guests.map((g) => `${g.name}: front ${this.hv.xenstore.read(`${g.frontendPath}/state`)} back ${this.hv.xenstore.read(`${g.backendPath}/state`)}`);
      throw new Error(`buildXenHost: xenbus handshakes did not complete within 1 s (${states.join('; ')})`);
    }
  }

  /** The guest with this name. */
  guest(name: string): Guest {
    const g = this.guests.find((x) => x.name === name);
    if (g === undefined) {
      throw new Error(`host.guest: no guest named '${name}'; guests: ${this.guests.map((x) => x.name).join(', ')}`);
    }
    return g;
  }

  /** Virtual time now, ns. */
  get now(): number {
    return this.sim.now;
  }

  /** Runs the host for `durationNs` of virtual time (an integer number of ns >= 0: `host.ms(2)`). */
  runFor(durationNs: number): void {
    if (!Number.isInteger(durationNs) || durationNs < 0) {
      throw new RangeError(`runFor: durationNs ${String(durationNs)} is not allowed; use an integer number of ns >= 0 (host.us(n), host.ms(n) convert)`);
    }
    this.sim.run({ until: this.sim.now + durationNs });
  }

  /** Runs until the absolute virtual time `untilNs`, or until nothing is left to do. */
  run(untilNs?: number): void {
    this.sim.run(untilNs === undefined ? {} : { until: untilNs });
  }

  /** `n` µs in ns (rounded to whole ns). */
  us(n: number): number { return Math.round(finite('us', n) * US); }
  /** `n` ms in ns (rounded to whole ns). */
  ms(n: number): number { return Math.round(finite('ms', n) * MS); }
}

/** `n` itself when it is a finite number; otherwise an error naming the helper and the value. */
function finite(helper: string, n: number): number {
  if (typeof n !== 'number' || !Number.isFinite(n)) {
    throw new RangeError(`host.${helper}: ${typeof n === 'string' ? `'${n}'` : String(n)} is not allowed; use a finite number`);
  }
  return n;
}

/** Builds a ready-to-use Xen host (see the file comment). */
export function buildXenHost(opts: XenHostOptions = {}): XenHost {
  return new XenHost(opts);
}
