/**
 * netback's control plane: the xenbus backend driver of a vif. It advertises the backend's
 * features, creates the vif, follows the frontend's XenbusState, reads the frontend's keys,
 * connects the data rings and reports Connected — once the hotplug script has said so.
 *
 *   toolstack (libxl)        netback (this file)                     netfront
 *   both dirs, state 1  ─►   netback_probe: feature-* keys,
 *                            multi-queue-max-queues, vif created,
 *                            uevent "online" → hotplug script
 *                            frontend_changed(Initialising) → InitWait (2)
 *                                                                ◄─ sees InitWait: rings, channels,
 *                                                                   keys, state Connected (4)
 *                            frontend_changed(Connected) → connect():
 *                              multi-queue-num-queues, mac, rate, request-rx-copy, feature-*,
 *                              [queue-N/]tx-ring-ref, rx-ring-ref, event-channel(-tx/-rx)
 *                              vif.connect(): map rings, bind channels, carrier on
 *                              → Connected (4), deferred until hotplug-status = "connected"
 *                            frontend_changed(Closing/Closed) → disconnect, Closing (5) → Closed (6)
 *                            frontend_changed(Initialising) while Closed → InitWait (reconnect)
 *
 * Backend state graph (set_backend_state walks the shortest path to the wanted state):
 *
 *   Initialising ──► InitWait ──► Connected
 *        │              ▲   │          │
 *        │              │   └────┐     │   (disconnect)
 *        ▼              │        ▼     ▼
 *      Closed  ◄──────────────►  Closing
 *
 * Classic vifs (2.6.18) use that kernel's simpler driver: the probe writes only feature-sg,
 * feature-gso-tcpv4, feature-rx-copy and feature-rx-flip and switches to InitWait at once; a
 * single event channel; no multi-queue; no hotplug-status wait; a frontend that does not
 * request-rx-copy gets page flipping.
 *
 * Entry points for the host builder:
 *
 *   const paths = toolstackCreateVif(hv, { frontDomid: 1, mac: '00:16:3e:00:00:01' });
 *   const be = netback_probe({ nb, hv, nodename: paths.backend,
 *                              onVifOnline: (be) => vifBridgeHotplug(be, { attach: (vif) => br.addIf(vif) }) });
 *   const np = netfront_probe({ ..., nodename: paths.frontend });
 *   sim.run();   // both ends reach Connected
 *
 * @models torvalds/linux drivers/net/xen-netback/xenbus.c (netback_probe, netback_remove,
 *   backend_create_xenvif, backend_disconnect, set_backend_state, backend_switch_state,
 *   frontend_changed, connect, connect_data_rings, read_xenbus_vif_flags, xen_net_read_rate,
 *   xen_net_read_mac, xen_net_rate_changed, hotplug_status_changed)
 * @models bronson/linux-2.6.18.8-ovz-xen drivers/xen/netback/xenbus.c (netback_probe,
 *   frontend_changed, connect, connect_rings, backend_create_netif)
 * @simplified No control ring (feature-ctrl-ring is advertised but ctrl-ring-ref is ignored: no
 *   Toeplitz hashing), request-multicast-control read at connect but not watched afterwards, no
 *   XDP headroom. When connect() fails,
 *   the backend stays in the Closing state xenbus_dev_fatal switched it to (upstream's
 *   backend_switch_state would then write Connected over it). A frontend that does not
 *   request-rx-copy gets xenbus_dev_fatal(-EOPNOTSUPP) (upstream only returns the error). The vif
 *   object outlives a classic disconnect (2.6.18 freed the netif and allocated a new one on the
 *   next Connected). The 2.6.18 backend reads `rate` once, at connect, and its net_tx_action rate-limits by it.
 */
import { defineTraceEvents, type TracePoint } from '../../sim/trace';
import {
  XenbusStateInitialising, XenbusStateInitWait, XenbusStateInitialised, XenbusStateConnected,
  XenbusStateClosing, XenbusStateClosed, XenbusStateUnknown, xenbusStateName,
} from '../../io/xen-constants';
import { EAGAIN, EINVAL, ENOENT, EOPNOTSUPP } from '../../xen/constants';
import type { Hypervisor } from '../../xen/hypervisor';
import type { XenStore } from '../../xen/xenstore';
import { XenbusDevice, libxl_device_nic_add, hotplugConnected, xenbus_read_unsigned, xenbus_scan_u32, type NicConfig, type NicPaths } from '../../xen/xenbus';
import type { NetbackDriver } from './driver';
import type { XenVif, VifDesign, VifConnectConfig, VifQueueKeys } from './interface';

declare module '../../sim/trace' {
  interface TraceEvents {
    'netback.xenbus.frontend': { path: string; frontend: number; backend: number; name: string };
    'netback.xenbus.hotplug': { path: string; status: string; completes: number };
    'netback.xenbus.error': { path: string; err: number; message: string };
  }
}

defineTraceEvents({
  'netback.xenbus.frontend': "netback's frontend_changed saw the frontend's XenbusState (backend = the backend's own state at that moment).",
  'netback.xenbus.hotplug': 'The backend read hotplug-status; "connected" completes a state change deferred while the hotplug script ran.',
  'netback.xenbus.error': 'The xenbus backend gave up on the device (xenbus_dev_fatal): an error node was written and the backend went Closing.',
});

/** ~0UL: unlimited credit (the queues' default). */
const CREDIT_UNLIMITED = Number.MAX_SAFE_INTEGER;

/** Options of netback_probe. */
export interface NetbackProbeOptions {
  /** The netback driver of the backend domain. */
  nb: NetbackDriver;
  /** The hypervisor (its xenstore). */
  hv: Hypervisor;
  /** The backend directory, `/local/domain/<backend>/backend/vif/<guest>/<n>`, written by the toolstack. */
  nodename: string;
  /** Which netback runs this vif (default: the `netback.design` parameter). */
  design?: VifDesign;
  /**
   * Classic only: the value of feature-rx-flip. The 2.6.18.8 backend writes 0 ("we don't support
   * rx-flip except for old guests who don't grok this flag"); true models a backend that offers
   * page flipping, so a flip-preferring 2.6.18 netfront asks for it. Default false.
   */
  classicRxFlip?: boolean;
  /**
   * The udev rule: runs when the vif comes online (kobject_uevent KOBJ_ONLINE), `hotplugDelayNs`
   * later. Usually `(be) => vifBridgeHotplug(be, {...})`. Without it the host calls
   * vifBridgeHotplug itself; until then a modern backend holds Connected back.
   */
  onVifOnline?: (be: BackendInfo) => void;
  /** Delay from the uevent to the hotplug script's effect (default 0 ns). */
  hotplugDelayNs?: number;
}

/**
 * The backend's per-device state (Linux struct backend_info).
 */
export class BackendInfo {
  readonly dev: XenbusDevice;
  readonly design: VifDesign;
  /** The vif, once backend_create_xenvif ran. */
  vif: XenVif | null = null;
  /** be->state: the state the backend is in or, while a hotplug script runs, is heading for. */
  state = XenbusStateInitialising;
  /** be->frontend_state: the frontend's state last seen. */
  frontendState = XenbusStateUnknown;
  /** be->have_hotplug_status_watch */
  haveHotplugStatusWatch = false;
  /** be->hotplug_script: the `script` key read at probe. */
  hotplugScript = '';
  /** vif->fe_dev_addr: the guest's MAC, from the backend `mac` key. */
  readonly feDevAddr = new Uint8Array(6);
  /** Credit from the `rate` key (bytes per credit_usec; unlimited by default). */
  creditBytes = CREDIT_UNLIMITED;
  creditUsec = 0;
  /** The configuration the last successful connect() passed to vif.connect(). */
  connectConfig: VifConnectConfig | null = null;
  /** The last xenbus_dev_fatal message ('' if none). */
  error = '';
  /** True after netback_remove (device_unregister). */
  removed = false;
  /** Every state written to the backend's `state` node, in order (for tables and tests). */
  readonly stateLog: number[] = [];
  /** @internal */
  hotplugWatch = -1;
  /** @internal */
  creditWatch = -1;
  /** @internal */
  readonly tpFrontend: TracePoint<'netback.xenbus.frontend'>;
  /** @internal */
  readonly tpHotplug: TracePoint<'netback.xenbus.hotplug'>;
  /** @internal */
  readonly tpError: TracePoint<'netback.xenbus.error'>;

  constructor(readonly nb: NetbackDriver, readonly hv: Hypervisor, nodename: string, design: VifDesign, readonly options: NetbackProbeOptions) {
    this.dev = new XenbusDevice(hv, { domid: nb.hv.backend.domid, nodename, otherendKey: 'frontend' });
    this.design = design;
    const t = hv.sim.trace;
    this.tpFrontend = t.point('netback.xenbus.frontend');
    this.tpHotplug = t.point('netback.xenbus.hotplug');
    this.tpError = t.point('netback.xenbus.error');
  }

  get store(): XenStore {
    return this.hv.xenstore;
  }

  get nodename(): string {
    return this.dev.nodename;
  }

  /** The frontend directory (dev->otherend). */
  get otherend(): string {
    return this.dev.otherend;
  }
}

// ---- helpers ------------------------------------------------------------------------------

/** xenbus_switch_state on the backend's device, logged. */
function switchState(be: BackendInfo, state: number): void {
  const before = be.dev.state;
  be.dev.xenbus_switch_state(state);
  if (be.dev.state !== before) be.stateLog.push(state);
}

/** xenbus_dev_fatal: error node, Closing. */
function devFatal(be: BackendInfo, err: number, message: string): void {
  be.error = `${err} ${message}`;
  if (be.tpError.on) be.tpError.emit({ path: be.nodename, err, message });
  be.dev.xenbus_dev_error(err, message);
  switchState(be, XenbusStateClosing);
}

/** xenbus_scanf(..., "%u"): the number, or null when the node is missing or not a number. */
function scanUnsigned(store: XenStore, dir: string, node: string): number | null {
  const v = store.read(`${dir}/${node}`);
  return v === undefined ? null : xenbus_scan_u32(v);
}

/**
 * xenbus_dev_is_online(): the backend's `online` key.
 * @models torvalds/linux drivers/xen/xenbus/xenbus_probe.c xenbus_dev_is_online()
 */
export function xenbus_dev_is_online(be: BackendInfo): boolean {
  return xenbus_read_unsigned(be.store, be.nodename, 'online', 0) !== 0;
}

// ---- probe and remove ---------------------------------------------------------------------

/**
 * Probes a vif backend: advertises the features, creates the vif (which starts the hotplug
 * script) and watches the frontend's state. Modern: stays Initialising until it sees the frontend
 * Initialising; classic: switches to InitWait right here.
 * @models torvalds/linux drivers/net/xen-netback/xenbus.c netback_probe()
 * @models bronson/linux-2.6.18.8-ovz-xen drivers/xen/netback/xenbus.c netback_probe()
 */
export function netback_probe(o: NetbackProbeOptions): BackendInfo {
  if (o === null || typeof o !== 'object') throw new Error('netback_probe: options must be an object {nb, hv, nodename}');
  for (const k of ['nb', 'hv', 'nodename'] as const) {
    if (o[k] === undefined || o[k] === null) throw new Error(`netback_probe: option '${k}' is required`);
  }
  const design = o.design ?? (o.nb.params.design as VifDesign);
  if (design !== 'modern' && design !== 'classic') {
    throw new Error(`netback_probe: design ${JSON.stringify(design)} is not allowed; use 'modern' or 'classic'`);
  }
  const delay = o.hotplugDelayNs ?? 0;
  if (!Number.isInteger(delay) || delay < 0) {
    throw new RangeError(`netback_probe: hotplugDelayNs ${delay} is not allowed; use an integer number of ns >= 0`);
  }
  if (o.onVifOnline !== undefined && typeof o.onVifOnline !== 'function') {
    throw new Error('netback_probe: onVifOnline must be a function (be) => void');
  }
  const be = new BackendInfo(o.nb, o.hv, o.nodename, design, o);
  if (be.dev.xenbus_read_otherend_details() < 0) {
    throw new Error(`netback_probe: ${o.nodename} needs 'frontend' and 'frontend-id' written by the toolstack, and the frontend directory must exist (see toolstackCreateVif)`);
  }
  const st = be.store;
  const node = be.nodename;
  const dom = be.dev.domid;

  if (design === 'classic') {
    if (!writeFeatures(be, [
      ['feature-sg', 1], ['feature-gso-tcpv4', 1], ['feature-rx-copy', 1], ['feature-rx-flip', o.classicRxFlip ? 1 : 0],
    ])) return be;
    switchState(be, XenbusStateInitWait);
    be.state = XenbusStateInitWait;
    backend_create_xenvif(be);
  } else {
    be.state = XenbusStateInitialising;
    switchState(be, XenbusStateInitialising);
    if (!writeFeatures(be, [
      ['feature-sg', 1], ['feature-gso-tcpv4', 1], ['feature-gso-tcpv6', 1], ['feature-ipv6-csum-offload', 1],
      ['feature-rx-copy', 1], ['feature-rx-flip', 0], ['feature-multicast-control', 1], ['feature-dynamic-multicast-control', 1],
    ])) return be;
    // Optional features, outside the transaction.
    st.write(`${node}/feature-split-event-channels`, o.nb.params.separate_tx_rx_irq ? '1' : '0', 0, dom);
    st.write(`${node}/multi-queue-max-queues`, String(o.nb.params.max_queues), 0, dom);
    st.write(`${node}/feature-ctrl-ring`, '1', 0, dom);
    const script = st.read(`${node}/script`);
    if (script === undefined) {
      devFatal(be, -ENOENT, 'reading script');
      netback_remove(be);
      return be;
    }
    be.hotplugScript = script;
    if (backend_create_xenvif(be) !== 0) {
      netback_remove(be);
      return be;
    }
  }
  // talk_to_otherend(): watch the frontend's state (fires once now).
  be.dev.xenbus_watch_otherend((_dev, state) => frontend_changed(be, state));
  return be;
}

/** The feature transaction of netback_probe (retried on -EAGAIN). Returns false after a fatal error. */
function writeFeatures(be: BackendInfo, keys: [string, number][]): boolean {
  const st = be.store;
  for (;;) {
    const tx = st.transaction_start(be.dev.domid);
    for (const [k, v] of keys) be.dev.printf(k, v, tx);
    const rc = st.transaction_end(tx);
    if (rc === -EAGAIN) continue;
    if (rc !== 0) {
      devFatal(be, rc, 'completing transaction');
      return false;
    }
    return true;
  }
}

/**
 * Creates the vif `vif<domid>.<handle>` and announces it (the uevent that runs the hotplug script).
 * Returns 0 or a negative errno (after xenbus_dev_fatal).
 * @models torvalds/linux drivers/net/xen-netback/xenbus.c backend_create_xenvif()
 * @models bronson/linux-2.6.18.8-ovz-xen drivers/xen/netback/xenbus.c backend_create_netif()
 */
export function backend_create_xenvif(be: BackendInfo): number {
  if (be.vif !== null) return 0;
  const h = scanUnsigned(be.store, be.nodename, 'handle');
  if (h === null) {
    devFatal(be, -EINVAL, 'reading handle');
    return -EINVAL;
  }
  try {
    be.vif = be.nb.xenvif_alloc(be.dev.otherendId, h, be.design);
  } catch (e) {
    devFatal(be, -EINVAL, `creating interface: ${(e as Error).message}`);
    return -EINVAL;
  }
  // kobject_uevent(KOBJ_ONLINE): udev runs the vif hotplug script.
  const hook = be.options.onVifOnline;
  if (hook !== undefined) {
    const sim = be.hv.sim;
    const hd = sim.register(`netback.${be.vif.name}.uevent_online`, () => { if (!be.removed) hook(be); });
    sim.after(be.options.hotplugDelayNs ?? 0, hd);
  }
  return 0;
}

/**
 * Removes the device: Closed, watches gone, `hotplug-status` removed, vif freed.
 * @models torvalds/linux drivers/net/xen-netback/xenbus.c netback_remove()
 */
export function netback_remove(be: BackendInfo): void {
  if (be.removed) return;
  if (be.design === 'modern') set_backend_state(be, XenbusStateClosed);
  unregister_hotplug_status_watch(be);
  be.dev.xenbus_unwatch_otherend();
  if (be.vif !== null) {
    xen_unregister_watchers(be);
    if (be.design === 'modern') be.store.rm(`${be.nodename}/hotplug-status`, 0, be.dev.domid);
    // xenvif_free(): disconnect and unregister the net_device.
    if (be.vif.connected || be.vif.queues.length > 0) be.vif.disconnect();
    const i = be.nb.vifs.indexOf(be.vif);
    if (i >= 0) be.nb.vifs.splice(i, 1);
    be.vif = null;
  }
  be.removed = true;
}

// ---- state machine ------------------------------------------------------------------------

/**
 * Records the backend's new state and writes it, unless a hotplug script is still running, in
 * which case hotplug_status_changed writes it later.
 * @models torvalds/linux drivers/net/xen-netback/xenbus.c backend_switch_state()
 */
export function backend_switch_state(be: BackendInfo, state: number): void {
  be.state = state;
  if (!be.haveHotplugStatusWatch) switchState(be, state);
}

/**
 * Moves the backend to `state` along the shortest path of the state graph (see the file header),
 * connecting on InitWait → Connected and disconnecting on Connected → Closing.
 * @models torvalds/linux drivers/net/xen-netback/xenbus.c set_backend_state()
 */
export function set_backend_state(be: BackendInfo, state: number): void {
  const bug = (): never => {
    throw new Error(`set_backend_state: no transition from ${xenbusStateName(be.state)} towards ${xenbusStateName(state)} (BUG())`);
  };
  while (be.state !== state) {
    switch (be.state) {
      case XenbusStateInitialising:
        if (state === XenbusStateInitWait || state === XenbusStateConnected || state === XenbusStateClosing) backend_switch_state(be, XenbusStateInitWait);
        else if (state === XenbusStateClosed) backend_switch_state(be, XenbusStateClosed);
        else bug();
        break;
      case XenbusStateClosed:
        if (state === XenbusStateInitWait || state === XenbusStateConnected) backend_switch_state(be, XenbusStateInitWait);
        else if (state === XenbusStateClosing) backend_switch_state(be, XenbusStateClosing);
        else bug();
        break;
      case XenbusStateInitWait:
        if (state === XenbusStateConnected) {
          if (be.vif !== null && connect(be) !== 0) {
            // @simplified: stay in the Closing state xenbus_dev_fatal wrote.
            be.state = XenbusStateClosing;
            return;
          }
          backend_switch_state(be, XenbusStateConnected);
        } else if (state === XenbusStateClosing || state === XenbusStateClosed) {
          backend_switch_state(be, XenbusStateClosing);
        } else bug();
        break;
      case XenbusStateConnected:
        if (state === XenbusStateInitWait || state === XenbusStateClosing || state === XenbusStateClosed) {
          backend_disconnect(be);
          backend_switch_state(be, XenbusStateClosing);
        } else bug();
        break;
      case XenbusStateClosing:
        if (state === XenbusStateInitWait || state === XenbusStateConnected || state === XenbusStateClosed) backend_switch_state(be, XenbusStateClosed);
        else bug();
        break;
      default:
        bug();
    }
  }
}

/**
 * The frontend changed state. Modern: drive set_backend_state. Classic: the 2.6.18 switch.
 * @models torvalds/linux drivers/net/xen-netback/xenbus.c frontend_changed()
 * @models bronson/linux-2.6.18.8-ovz-xen drivers/xen/netback/xenbus.c frontend_changed()
 */
export function frontend_changed(be: BackendInfo, frontendState: number): void {
  if (be.removed) return;
  if (be.tpFrontend.on) be.tpFrontend.emit({ path: be.nodename, frontend: frontendState, backend: be.state, name: xenbusStateName(frontendState) });
  be.frontendState = frontendState;
  if (be.design === 'classic') { classic_frontend_changed(be, frontendState); return; }
  switch (frontendState) {
    case XenbusStateInitialising:
      set_backend_state(be, XenbusStateInitWait);
      break;
    case XenbusStateInitialised:
      break;
    case XenbusStateConnected:
      set_backend_state(be, XenbusStateConnected);
      break;
    case XenbusStateClosing:
      set_backend_state(be, XenbusStateClosing);
      break;
    case XenbusStateClosed:
      set_backend_state(be, XenbusStateClosed);
      if (xenbus_dev_is_online(be)) break;
      // not online: fall through to Unknown (device_unregister)
      netback_remove(be);
      break;
    case XenbusStateUnknown:
      set_backend_state(be, XenbusStateClosed);
      netback_remove(be);
      break;
    default:
      devFatal(be, -EINVAL, `saw state ${frontendState} at frontend`);
      be.state = be.dev.state;
  }
}

/** @models bronson/linux-2.6.18.8-ovz-xen drivers/xen/netback/xenbus.c frontend_changed() */
function classic_frontend_changed(be: BackendInfo, frontendState: number): void {
  switch (frontendState) {
    case XenbusStateInitialising:
      if (be.dev.state === XenbusStateClosed) {
        // "prepare for reconnect"
        switchState(be, XenbusStateInitWait);
        be.state = XenbusStateInitWait;
      }
      break;
    case XenbusStateInitialised:
      break;
    case XenbusStateConnected:
      backend_create_xenvif(be);
      if (be.vif !== null && !be.vif.connected && classic_connect(be) !== 0) be.state = be.dev.state;
      break;
    case XenbusStateClosing:
      if (be.vif !== null && be.vif.connected) { be.vif.disconnect(); be.connectConfig = null; }
      switchState(be, XenbusStateClosing);
      be.state = XenbusStateClosing;
      break;
    case XenbusStateClosed:
      switchState(be, XenbusStateClosed);
      be.state = XenbusStateClosed;
      if (xenbus_dev_is_online(be)) break;
      netback_remove(be);
      break;
    case XenbusStateUnknown:
      netback_remove(be);
      break;
    default:
      devFatal(be, -EINVAL, `saw state ${frontendState} at frontend`);
      be.state = be.dev.state;
  }
}

/**
 * Connected → anything else: unbind, unmap, drop the queues.
 * @models torvalds/linux drivers/net/xen-netback/xenbus.c backend_disconnect()
 */
export function backend_disconnect(be: BackendInfo): void {
  const vif = be.vif;
  if (vif === null) return;
  xen_unregister_watchers(be);
  if (vif.connected || vif.queues.length > 0) vif.disconnect();
  be.connectConfig = null;
}

// ---- connect ------------------------------------------------------------------------------

/**
 * Reads the backend `rate` key "bytes,usec"; unlimited when missing or malformed.
 * @models torvalds/linux drivers/net/xen-netback/xenbus.c xen_net_read_rate()
 */
export function xen_net_read_rate(be: BackendInfo): { bytes: number; usec: number } {
  const s = be.store.read(`${be.nodename}/rate`);
  const m = s === undefined ? null : /^(\d+),(\d+)$/.exec(s);
  if (m === null) return { bytes: CREDIT_UNLIMITED, usec: 0 };
  return { bytes: Math.min(Number(m[1]), CREDIT_UNLIMITED), usec: Math.min(Number(m[2]), CREDIT_UNLIMITED) };
}

/**
 * Parses the backend `mac` key into `be.feDevAddr`. Returns 0 or -ENOENT.
 * @models torvalds/linux drivers/net/xen-netback/xenbus.c xen_net_read_mac()
 */
export function xen_net_read_mac(be: BackendInfo): number {
  const s = be.store.read(`${be.nodename}/mac`);
  if (s === undefined) return -ENOENT;
  const parts = s.split(':');
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-fA-F]{1,2}$/.test(p))) return -ENOENT;
  for (let i = 0; i < 6; i++) be.feDevAddr[i] = Number.parseInt(parts[i]!, 16);
  return 0;
}

/**
 * The toolstack changed `rate`: new credit for every queue.
 * @models torvalds/linux drivers/net/xen-netback/xenbus.c xen_net_rate_changed()
 */
export function xen_net_rate_changed(be: BackendInfo): void {
  const { bytes, usec } = xen_net_read_rate(be);
  be.creditBytes = bytes;
  be.creditUsec = usec;
  if (be.vif === null || be.design !== 'modern') return;
  for (const q of be.vif.queues) {
    q.credit_bytes = bytes;
    q.credit_usec = usec;
    // A pending credit_timeout fires now (with the new rate); otherwise surplus credit is cut.
    if (!be.nb.modCreditTimerPending(q, be.nb.sim.now) && q.remaining_credit > q.credit_bytes) q.remaining_credit = q.credit_bytes;
  }
}

/** @models torvalds/linux drivers/net/xen-netback/xenbus.c xen_register_watchers() (credit watch only) */
function xen_register_watchers(be: BackendInfo): void {
  if (be.creditWatch >= 0) return;
  be.creditWatch = be.store.watch(`${be.nodename}/rate`, `${be.nodename}:rate`, () => {
    if (!be.removed) xen_net_rate_changed(be);
  }, be.dev.domid);
}

/** @models torvalds/linux drivers/net/xen-netback/xenbus.c xen_unregister_watchers() */
function xen_unregister_watchers(be: BackendInfo): void {
  if (be.creditWatch >= 0) be.store.unwatch(be.creditWatch);
  be.creditWatch = -1;
}

/** @models torvalds/linux drivers/net/xen-netback/xenbus.c unregister_hotplug_status_watch() */
function unregister_hotplug_status_watch(be: BackendInfo): void {
  if (be.haveHotplugStatusWatch) be.store.unwatch(be.hotplugWatch);
  be.hotplugWatch = -1;
  be.haveHotplugStatusWatch = false;
}

/**
 * The hotplug script wrote `hotplug-status`: on "connected", complete the pending state change.
 * @models torvalds/linux drivers/net/xen-netback/xenbus.c hotplug_status_changed()
 */
export function hotplug_status_changed(be: BackendInfo): void {
  const s = be.store.read(`${be.nodename}/hotplug-status`);
  if (s === undefined) return;
  const ok = s === 'connected';
  if (be.tpHotplug.on) be.tpHotplug.emit({ path: be.nodename, status: s, completes: ok ? be.state : -1 });
  if (ok) {
    switchState(be, be.state);
    unregister_hotplug_status_watch(be);
  }
}

/**
 * Reads the frontend's feature keys into `cfg`. Returns 0, or -EOPNOTSUPP for a frontend that
 * does not request-rx-copy.
 * @models torvalds/linux drivers/net/xen-netback/xenbus.c read_xenbus_vif_flags()
 */
export function read_xenbus_vif_flags(be: BackendInfo, cfg: VifConnectConfig): number {
  const st = be.store;
  const fe = be.otherend;
  const rxCopy = scanUnsigned(st, fe, 'request-rx-copy') ?? 0;
  cfg.rxCopy = rxCopy !== 0;
  if (!cfg.rxCopy) return -EOPNOTSUPP;
  cfg.rxNotify = xenbus_read_unsigned(st, fe, 'feature-rx-notify', 0) !== 0;
  cfg.multicastControl = xenbus_read_unsigned(st, fe, 'request-multicast-control', 0) !== 0;
  cfg.canSg = xenbus_read_unsigned(st, fe, 'feature-sg', 0) !== 0;
  cfg.gsoTcpv4 = xenbus_read_unsigned(st, fe, 'feature-gso-tcpv4', 0) !== 0;
  cfg.gsoTcpv6 = xenbus_read_unsigned(st, fe, 'feature-gso-tcpv6', 0) !== 0;
  cfg.ipCsum = xenbus_read_unsigned(st, fe, 'feature-no-csum-offload', 0) === 0;
  cfg.ipv6Csum = xenbus_read_unsigned(st, fe, 'feature-ipv6-csum-offload', 0) !== 0;
  return 0;
}

/**
 * Reads one queue's ring refs and event channels: from the frontend directory for a single
 * queue, else from `queue-<id>/`; split channels first, then `event-channel`. Returns the keys or
 * a negative errno (after xenbus_dev_fatal).
 * @models torvalds/linux drivers/net/xen-netback/xenbus.c connect_data_rings() (the xenstore part;
 *   vif.connect() maps and binds)
 */
export function connect_data_rings(be: BackendInfo, id: number, numQueues: number): VifQueueKeys | number {
  const st = be.store;
  const xspath = numQueues === 1 ? be.otherend : `${be.otherend}/queue-${id}`;
  const txRingRef = scanUnsigned(st, xspath, 'tx-ring-ref');
  const rxRingRef = scanUnsigned(st, xspath, 'rx-ring-ref');
  if (txRingRef === null || rxRingRef === null) {
    devFatal(be, -ENOENT, `reading ${xspath}/ring-ref`);
    return -ENOENT;
  }
  let txEvtchn = scanUnsigned(st, xspath, 'event-channel-tx');
  let rxEvtchn = scanUnsigned(st, xspath, 'event-channel-rx');
  if (txEvtchn === null || rxEvtchn === null) {
    txEvtchn = scanUnsigned(st, xspath, 'event-channel');
    if (txEvtchn === null) {
      devFatal(be, -ENOENT, `reading ${xspath}/event-channel(-tx/rx)`);
      return -ENOENT;
    }
    rxEvtchn = txEvtchn;
  }
  return { txRingRef, rxRingRef, txEvtchn, rxEvtchn };
}

/**
 * Modern connect: validate the queue count, read mac, rate and the frontend's flags and keys,
 * connect the vif, then watch `hotplug-status`. Returns 0 or a negative errno (after
 * xenbus_dev_fatal; nothing stays connected).
 * @models torvalds/linux drivers/net/xen-netback/xenbus.c connect()
 */
export function connect(be: BackendInfo): number {
  if (be.design === 'classic') return classic_connect(be);
  const vif = be.vif;
  if (vif === null) return -ENOENT;
  const st = be.store;
  const maxQueues = be.nb.params.max_queues;
  const requested = xenbus_read_unsigned(st, be.otherend, 'multi-queue-num-queues', 1);
  if (requested > maxQueues) {
    // buggy or malicious guest
    devFatal(be, -EINVAL, `guest requested ${requested} queues, exceeding the maximum of ${maxQueues}.`);
    return -EINVAL;
  }
  if (requested === 0) {
    devFatal(be, -EINVAL, 'guest requested 0 queues, at least 1 is needed.');
    return -EINVAL;
  }
  let err = xen_net_read_mac(be);
  if (err !== 0) {
    devFatal(be, err, `parsing ${be.nodename}/mac`);
    return err;
  }
  const rate = xen_net_read_rate(be);
  be.creditBytes = rate.bytes;
  be.creditUsec = rate.usec;
  xen_unregister_watchers(be);
  xen_register_watchers(be);
  const cfg: VifConnectConfig = { queues: [], rxCopy: false };
  err = read_xenbus_vif_flags(be, cfg);
  if (err !== 0) {
    devFatal(be, err, `${be.otherend} does not request-rx-copy (flip-only frontends are not supported)`);
    xen_unregister_watchers(be);
    return err;
  }
  for (let i = 0; i < requested; i++) {
    const k = connect_data_rings(be, i, requested);
    if (typeof k === 'number') { xen_unregister_watchers(be); return k; }
    cfg.queues.push(k);
  }
  err = vif.connect(cfg);
  if (err !== 0) {
    const k = cfg.queues[0]!;
    devFatal(be, err, `mapping shared-frames ${k.txRingRef}/${k.rxRingRef} port tx ${k.txEvtchn} rx ${k.rxEvtchn}`);
    xen_unregister_watchers(be);
    return err;
  }
  for (const q of vif.queues) {
    q.credit_bytes = rate.bytes;
    q.remaining_credit = rate.bytes;
    q.credit_usec = rate.usec;
  }
  be.connectConfig = cfg;
  unregister_hotplug_status_watch(be);
  be.hotplugWatch = st.watch(`${be.nodename}/hotplug-status`, `${be.nodename}:hotplug-status`, () => {
    if (!be.removed && be.haveHotplugStatusWatch) hotplug_status_changed(be);
  }, be.dev.domid);
  be.haveHotplugStatusWatch = true;
  return 0;
}

/**
 * Classic connect: connect_rings (single queue, single event channel, request-rx-copy absent →
 * page flipping), mac, rate, then Connected at once.
 * @models bronson/linux-2.6.18.8-ovz-xen drivers/xen/netback/xenbus.c connect(), connect_rings()
 */
function classic_connect(be: BackendInfo): number {
  const vif = be.vif;
  if (vif === null) return -ENOENT;
  const st = be.store;
  const fe = be.otherend;
  const txRingRef = scanUnsigned(st, fe, 'tx-ring-ref');
  const rxRingRef = scanUnsigned(st, fe, 'rx-ring-ref');
  const evtchn = scanUnsigned(st, fe, 'event-channel');
  if (txRingRef === null || rxRingRef === null || evtchn === null) {
    devFatal(be, -ENOENT, `reading ${fe}/ring-ref and event-channel`);
    return -ENOENT;
  }
  const cfg: VifConnectConfig = {
    queues: [{ txRingRef, rxRingRef, txEvtchn: evtchn, rxEvtchn: evtchn }],
    rxCopy: (scanUnsigned(st, fe, 'request-rx-copy') ?? 0) !== 0,
    rxNotify: (scanUnsigned(st, fe, 'feature-rx-notify') ?? 0) !== 0,
    canSg: (scanUnsigned(st, fe, 'feature-sg') ?? 0) !== 0,
    gsoTcpv4: (scanUnsigned(st, fe, 'feature-gso-tcpv4') ?? 0) !== 0,
    gsoTcpv6: false,
    ipCsum: (scanUnsigned(st, fe, 'feature-no-csum-offload') ?? 0) === 0,
    ipv6Csum: false,
  };
  const err = vif.connect(cfg);
  if (err !== 0) {
    devFatal(be, err, `mapping shared-frames ${txRingRef}/${rxRingRef} port ${evtchn}`);
    return err;
  }
  const merr = xen_net_read_mac(be);
  if (merr !== 0) {
    vif.disconnect();
    devFatal(be, merr, `parsing ${be.nodename}/mac`);
    return merr;
  }
  // 2.6.18 reads the rate once, here (no watch): credit_bytes = remaining_credit.
  const rate = xen_net_read_rate(be);
  be.creditBytes = rate.bytes;
  be.creditUsec = rate.usec;
  const q = vif.queues[0]!;
  q.credit_bytes = rate.bytes;
  q.remaining_credit = rate.bytes;
  q.credit_usec = rate.usec;
  be.connectConfig = cfg;
  switchState(be, XenbusStateConnected);
  be.state = XenbusStateConnected;
  vif.netif_tx_wake_all_queues();
  return 0;
}

// ---- toolstack and hotplug ----------------------------------------------------------------

/** What toolstackCreateVif writes (libxl's nic keys). */
export interface ToolstackVifConfig extends NicConfig {
  /** The backend `ip` key (vif-route / antispoofing scripts read it). */
  ip?: string;
}

/**
 * The toolstack side of `xl network-attach` / domain creation: both directories with the
 * cross-links, ids, mac, handle, bridge, script, mtu, (rate), hotplug-status "" and both states
 * Initialising (reference §7.1).
 * @models xen-project/xen tools/libs/light/libxl_nic.c libxl__device_nic_add / libxl__set_xenstore_nic
 */
export function toolstackCreateVif(hv: Hypervisor, cfg: ToolstackVifConfig): NicPaths {
  if (cfg === null || typeof cfg !== 'object') throw new Error('toolstackCreateVif: cfg must be an object {frontDomid, mac, ...}');
  if (cfg.ip !== undefined && !/^\d{1,3}(\.\d{1,3}){3}( \d{1,3}(\.\d{1,3}){3})*$/.test(cfg.ip)) {
    throw new Error(`toolstackCreateVif: ip ${JSON.stringify(cfg.ip)} is not allowed; use dotted IPv4 addresses separated by spaces`);
  }
  const paths = libxl_device_nic_add(hv, cfg);
  if (cfg.ip !== undefined) hv.xenstore.write(`${paths.backend}/ip`, cfg.ip, 0, 0);
  return paths;
}

/**
 * The toolstack side of `xl network-detach`: `online` = 0 and the backend state Closing; the
 * frontend closes, and netback, seeing it Closed while offline, removes the device.
 * @models xen-project/xen tools/libs/light/libxl_device.c libxl__initiate_device_generic_remove()
 */
export function toolstackRemoveVif(hv: Hypervisor, paths: NicPaths): void {
  const st = hv.xenstore;
  const tx = st.transaction_start(0);
  st.write(`${paths.backend}/online`, '0', tx, 0);
  st.write(`${paths.backend}/state`, String(XenbusStateClosing), tx, 0);
  const rc = st.transaction_end(tx);
  if (rc !== 0) throw new Error(`toolstackRemoveVif: xenstore transaction failed (${rc})`);
}

export interface VifBridgeOptions {
  /** Enslaves the vif to the bridge named by the backend's `bridge` key (brctl addif). */
  attach?: (vif: XenVif, bridge: string) => void;
}

/**
 * The vif-bridge hotplug script ("online"): brings the vif up, sets its MTU from the `mtu` key,
 * adds it to the bridge, and writes `hotplug-status` = "connected" — or "error" when there is no
 * vif or the attach fails.
 * @models xen-project/xen tools/hotplug/Linux/vif-bridge (online), xen-hotplug-common.sh success()
 */
export function vifBridgeHotplug(be: BackendInfo, opts: VifBridgeOptions = {}): void {
  const st = be.store;
  const vif = be.vif;
  if (vif === null) {
    st.write(`${be.nodename}/hotplug-status`, 'error', 0, 0);
    return;
  }
  const bridge = st.read(`${be.nodename}/bridge`) ?? 'xenbr0';
  const mtu = scanUnsigned(st, be.nodename, 'mtu');
  // The vif starts with can_sg set in Linux, so a jumbo MTU is accepted before the frontend connects.
  if (mtu !== null && mtu >= 68 && mtu <= 65535 - 18) vif.mtu = mtu;
  vif.up = true;
  if (opts.attach !== undefined) {
    try {
      opts.attach(vif, bridge);
    } catch {
      st.write(`${be.nodename}/hotplug-status`, 'error', 0, 0);
      return;
    }
  }
  hotplugConnected(be.hv, be.nodename);
}
