/**
 * The host of the netback xenbus tests: the hypervisor model, a dom0 capture stack, netback and
 * the real netfront of one guest, connected through the real xenstore handshake; plus a scripted
 * frontend in a domain of its own that writes whatever keys a test gives it.
 */
import { expect } from 'vitest';
import { Simulator } from '../../../src/sim/simulator';
import { Cpu } from '../../../src/sim/cpu';
import { Params } from '../../../src/params';
import { Hypervisor } from '../../../src/xen/hypervisor';
import { SkbPool, type SkBuff } from '../../../src/net/skb';
import type { NetDevice } from '../../../src/net/netdevice';
import {
  NetbackDriver, netbackHypervisor, netback_probe, toolstackCreateVif, vifBridgeHotplug,
  type BackendInfo, type VifDesign, type XenVif,
} from '../../../src/drivers/netback';
import { hypervisorPort, netfront_probe, type NetfrontInfo } from '../../../src/drivers/netfront';
import type { AnyTraceRecord } from '../../../src/sim/trace';
import { CaptureStack, Frontend, skbBytes } from './harness';

export interface HostOptions {
  params?: Record<string, number | boolean | string>;
  design?: VifDesign;
  /** Run vif-bridge from the uevent (default true). */
  hotplug?: boolean;
  classicRxFlip?: boolean;
  rate?: string;
  /** Do not probe netfront (a scripted frontend will be used). */
  noFrontend?: boolean;
}

export interface TestHost {
  sim: Simulator;
  hv: Hypervisor;
  nb: NetbackDriver;
  dom0: CaptureStack;
  guest: number;
  paths: { frontend: string; backend: string };
  be: BackendInfo;
  np: NetfrontInfo;
  guestPool: SkbPool;
  guestRx: Uint8Array[];
  attached: string[];
  /** States written to each `state` node, in order, from the trace. */
  beStates: number[];
  feStates: number[];
  /** A fresh netfront instance on the same device (`name` must differ from earlier instances). */
  probeFrontend: (name?: string) => NetfrontInfo;
  run: (ns?: number) => void;
}

export function makeHost(o: HostOptions = {}): TestHost {
  const sim = new Simulator({ seed: 11 });
  const params = Params.defaults().with({ 'xen.host_pages': 8192, ...(o.params ?? {}) });
  const hv = new Hypervisor(sim, params);
  hv.createDomain({ name: 'Domain-0', pages: 256 });
  const g = hv.createDomain({ name: 'guest1', pages: 2048 });
  const dom0 = new CaptureStack();
  const nb = new NetbackDriver(sim, params, netbackHypervisor(hv, 0), dom0);
  const paths = toolstackCreateVif(hv, { frontDomid: g.domid, mac: '00:16:3e:00:00:01', rate: o.rate });
  const beStates: number[] = [];
  const feStates: number[] = [];
  sim.trace.on('xen.xenbus.state', (r: AnyTraceRecord) => { if (r.path === paths.backend) beStates.push(r.to as number); });
  sim.trace.on('netfront.state', (r: AnyTraceRecord) => { feStates.push(r.to as number); });
  const attached: string[] = [];
  const be = netback_probe({
    nb, hv, nodename: paths.backend, design: o.design, classicRxFlip: o.classicRxFlip,
    onVifOnline: o.hotplug === false ? undefined : (b) => vifBridgeHotplug(b, { attach: (vif, br) => attached.push(`${br}:${vif.name}`) }),
    hotplugDelayNs: 50_000,
  });
  const guestPool = new SkbPool();
  const guestRx: Uint8Array[] = [];
  const stack = {
    skbs: guestPool,
    cpu: new Cpu('guest1'),
    napi_gro_receive(_dev: NetDevice, skb: SkBuff): void {
      const b = new Uint8Array(skb.len);
      skb.copyBits(0, b, 0, skb.len);
      guestRx.push(b);
      guestPool.free(skb);
    },
  };
  const xen = hypervisorPort(hv, g.domid);
  const probeFrontend = (name = 'eth0'): NetfrontInfo => netfront_probe({ sim, params, xen, stack, nodename: paths.frontend, name });
  const np = o.noFrontend ? (null as unknown as NetfrontInfo) : probeFrontend();
  const run = (ns = 5_000_000): void => { sim.run({ until: sim.now + ns }); };
  run();
  return { sim, hv, nb, dom0, guest: g.domid, paths, be, np, guestPool, guestRx, attached, beStates, feStates, probeFrontend, run };
}

export function guestSkb(pool: SkbPool, bytes: Uint8Array, queue = 0): SkBuff {
  const skb = pool.alloc();
  const at = skb.put(bytes.length);
  skb.head.set(bytes, at);
  skb.queueMapping = queue;
  return skb;
}

export const read = (h: TestHost, path: string): string | undefined => h.hv.xenstore.read(path);

/** How the last guest frame entered dom0's stack (netif_receive_skb: modern, netif_rx: classic). */
export const via = { last: '' };

/** Guest → dom0: one frame from netfront through netback into dom0's stack. */
export function guestSends(h: TestHost, np: NetfrontInfo, frame: Uint8Array, queue = 0): Uint8Array {
  const before = h.dom0.received.length;
  np.netdev.ndo_start_xmit(guestSkb(h.guestPool, frame, queue));
  h.run();
  expect(h.dom0.received.length).toBe(before + 1);
  const got = skbBytes(h.dom0.received[before]!);
  via.last = h.dom0.via[before]!;
  h.dom0.freeAll();
  h.run();
  return got;
}

/** Dom0 → guest through the vif. */
export function dom0Sends(h: TestHost, vif: XenVif, frame: Uint8Array): Uint8Array {
  const before = h.guestRx.length;
  vif.ndo_start_xmit(guestSkb(h.dom0.pool, frame));
  h.run();
  expect(h.guestRx.length).toBe(before + 1);
  return h.guestRx[before]!;
}

/**
 * Adds a scripted frontend in a new domain with a vif of its own, runs until its backend waits
 * (InitWait), writes `keys` over the working defaults (null removes a key) and then `state`
 * (Connected unless given), and runs. The defaults name the frontend's real rings and port.
 */
export function addScriptedFrontend(h: TestHost, keys: Record<string, string | null>, state = '4'): { h: TestHost; fe: Frontend } {
  const fe = new Frontend({ sim: h.sim, hv: h.hv, stack: h.dom0, nb: h.nb }, 'evil');
  const paths = toolstackCreateVif(h.hv, { frontDomid: fe.domid, mac: '00:16:3e:00:00:66' });
  const be = netback_probe({ nb: h.nb, hv: h.hv, nodename: paths.backend, onVifOnline: (b) => vifBridgeHotplug(b) });
  h.run();
  expect(read(h, `${paths.backend}/state`)).toBe('2');
  const st = h.hv.xenstore;
  const base: Record<string, string | null> = {
    'tx-ring-ref': String(fe.txRef), 'rx-ring-ref': String(fe.rxRef), 'event-channel': String(fe.port),
    'request-rx-copy': '1', 'feature-rx-notify': '1',
  };
  for (const [k, v] of Object.entries({ ...base, ...keys })) {
    if (v === null) st.rm(`${paths.frontend}/${k}`);
    else st.write(`${paths.frontend}/${k}`, v);
  }
  st.write(`${paths.frontend}/state`, state);
  h.run();
  return { h: { ...h, paths, be }, fe };
}
