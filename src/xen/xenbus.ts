/**
 * Xenbus: the device model drivers build on top of xenstore. Each split device has a frontend
 * directory in the guest's tree and a backend directory in the driver domain's tree, each with a
 * `state` node holding a XenbusState number; each end watches the other's `state` and runs its
 * state machine in `otherend_changed` (netfront's netback_changed, netback's frontend_changed).
 *
 *   frontend  /local/domain/<guest>/device/vif/<n>                 backend = <backend dir>
 *   backend   /local/domain/<backend>/backend/vif/<guest>/<n>      frontend = <frontend dir>
 *
 *   Initialising(1) -> InitWait(2) -> [Initialised(3)] -> Connected(4) -> Closing(5) -> Closed(6)
 *
 * Modeled on torvalds/linux drivers/xen/xenbus/xenbus_client.c (xenbus_switch_state,
 * xenbus_dev_fatal, xenbus_frontend_closed, xenbus_read_driver_state), xenbus_probe.c
 * (xenbus_otherend_changed, talk_to_otherend), xenbus_xs.c (xenbus_read_unsigned, xenbus_printf,
 * xenbus_transaction_*) and the toolstack's device creation in xen-project/xen
 * tools/libs/light/libxl_nic.c (the keys of reference §7.1).
 *
 * Differences: no xenbus bus/driver registration or probe-by-watch (the topology layer creates
 * both ends and calls the drivers); no suspend/resume; xenstore is permission-free.
 */
import {
  XenbusStateInitialising, XenbusStateClosing, XenbusStateClosed, XenbusStateUnknown, xenbusStateName,
} from '../io/xen-constants';
import { EAGAIN } from './constants';
import type { Hypervisor } from './hypervisor';
import type { XenStore } from './xenstore';
import type { TracePoint } from '../sim/trace';

/** A driver's reaction to the other end's new state. */
export type OtherendChanged = (dev: XenbusDevice, state: number) => void;

export interface XenbusDeviceOptions {
  /** The domain the driver runs in. */
  domid: number;
  /** This end's directory (`/local/domain/<d>/device/vif/0` or `/local/domain/0/backend/vif/<d>/0`). */
  nodename: string;
  /** Which key of this directory names the other end: 'backend' for a frontend, 'frontend' for a backend. */
  otherendKey: 'backend' | 'frontend';
}

/**
 * One end of a split device (Linux struct xenbus_device).
 */
export class XenbusDevice {
  readonly domid: number;
  readonly nodename: string;
  readonly otherendKey: 'backend' | 'frontend';
  /** The other end's directory, read from `<nodename>/<otherendKey>` by xenbus_read_otherend_details. */
  otherend = '';
  /** The other end's domid, from `<nodename>/<otherendKey>-id`. */
  otherendId = -1;
  /** The state this end last switched to (dev->state). */
  state = XenbusStateInitialising;
  private watchId = -1;
  private readonly tpState: TracePoint<'xen.xenbus.state'>;

  constructor(readonly hv: Hypervisor, opts: XenbusDeviceOptions) {
    if (!Number.isInteger(opts.domid) || hv.lookup(opts.domid) === undefined) {
      throw new RangeError(`XenbusDevice: domid ${opts.domid} is not a domain of this host`);
    }
    if (opts.otherendKey !== 'backend' && opts.otherendKey !== 'frontend') {
      throw new Error(`XenbusDevice: otherendKey ${JSON.stringify(opts.otherendKey)} is not allowed; use 'backend' or 'frontend'`);
    }
    this.domid = opts.domid;
    this.nodename = opts.nodename;
    this.otherendKey = opts.otherendKey;
    this.tpState = hv.sim.trace.point('xen.xenbus.state');
    if (!hv.xenstore.exists(opts.nodename)) {
      throw new Error(`XenbusDevice: ${opts.nodename} does not exist in xenstore; the toolstack creates it first (see libxl_device_nic_add)`);
    }
  }

  get store(): XenStore {
    return this.hv.xenstore;
  }

  /**
   * Reads `<otherendKey>` and `<otherendKey>-id`. Returns 0, or -ENOENT (-2) when missing.
   * @models torvalds/linux drivers/xen/xenbus/xenbus_probe.c xenbus_read_otherend_details()
   */
  xenbus_read_otherend_details(): number {
    const path = this.store.read(`${this.nodename}/${this.otherendKey}`);
    const id = xenbus_read_unsigned(this.store, this.nodename, `${this.otherendKey}-id`, -1);
    if (path === undefined || path.length === 0 || id < 0 || !this.store.exists(path)) return -2;
    this.otherend = path;
    this.otherendId = id;
    return 0;
  }

  /**
   * Reads the other end's details and watches its `state`; `changed(dev, state)` runs for the
   * current state right away (xenstored fires new watches once) and for every change.
   * @models torvalds/linux drivers/xen/xenbus/xenbus_probe.c talk_to_otherend() watch_otherend()
   */
  xenbus_watch_otherend(changed: OtherendChanged): number {
    const rc = this.xenbus_read_otherend_details();
    if (rc < 0) return rc;
    if (this.watchId >= 0) this.store.unwatch(this.watchId);
    const otherend = this.otherend;
    this.watchId = this.store.watch(`${otherend}/state`, `${this.nodename}:otherend`, (path) => {
      // xenbus_otherend_changed(): ignore events for an old other end.
      if (!path.startsWith(this.otherend)) return;
      changed(this, xenbus_read_driver_state(this.store, this.otherend));
    }, this.domid);
    return 0;
  }

  /** Stops watching the other end (unregister_xenbus_watch). */
  xenbus_unwatch_otherend(): void {
    if (this.watchId >= 0) this.store.unwatch(this.watchId);
    this.watchId = -1;
  }

  /**
   * Writes this end's new state in a transaction (retried on -EAGAIN); a no-op when unchanged.
   * If the `state` node has vanished nothing is written (Linux aborts the transaction).
   * @models torvalds/linux drivers/xen/xenbus/xenbus_client.c xenbus_switch_state()
   */
  xenbus_switch_state(state: number): number {
    if (!(Number.isInteger(state) && state >= 0 && state <= 8)) {
      throw new RangeError(`xenbus_switch_state: state ${state} is not a XenbusState; use 0..8 (Unknown..Reconfigured)`);
    }
    if (state === this.state) return 0;
    const st = this.store;
    for (;;) {
      const tx = st.transaction_start(this.domid);
      const cur = st.read(`${this.nodename}/state`, tx);
      const abort = cur === undefined;
      if (!abort) st.write(`${this.nodename}/state`, String(state), tx, this.domid);
      const rc = st.transaction_end(tx, abort);
      if (rc === -EAGAIN) continue;
      break;
    }
    const from = this.state;
    this.state = state;
    if (this.tpState.on) this.tpState.emit({ dom: this.domid, path: this.nodename, from, to: state, name: xenbusStateName(state) });
    return 0;
  }

  /**
   * Reports a fatal error: writes `error/<nodename>/error` = "<err> <message>" in this domain's
   * tree and switches to Closing.
   * @models torvalds/linux drivers/xen/xenbus/xenbus_client.c xenbus_dev_fatal()
   */
  xenbus_dev_fatal(err: number, message: string): void {
    this.xenbus_dev_error(err, message);
    this.xenbus_switch_state(XenbusStateClosing);
  }

  /** @models torvalds/linux drivers/xen/xenbus/xenbus_client.c xenbus_dev_error() */
  xenbus_dev_error(err: number, message: string): void {
    const rel = this.nodename.replace(/^\/local\/domain\/\d+\//, '');
    this.store.write(`/local/domain/${this.domid}/error/${rel}/error`, `${-Math.abs(err)} ${message}`, 0, this.domid);
  }

  /**
   * A frontend acknowledges the backend closing: Closed.
   * @models torvalds/linux drivers/xen/xenbus/xenbus_client.c xenbus_frontend_closed()
   */
  xenbus_frontend_closed(): void {
    this.xenbus_switch_state(XenbusStateClosed);
  }

  /** Writes `<nodename>/<key>` (xenbus_printf with "%s"/"%u"). */
  printf(key: string, value: string | number, tx = 0): void {
    xenbus_printf(this.store, tx, this.nodename, key, value, this.domid);
  }

  /** Reads an unsigned key of this end (xenbus_read_unsigned). */
  readUnsigned(key: string, def: number): number {
    return xenbus_read_unsigned(this.store, this.nodename, key, def);
  }

  /** Reads an unsigned key of the other end. */
  readOtherendUnsigned(key: string, def: number): number {
    if (this.otherend === '') throw new Error(`readOtherendUnsigned: ${this.nodename} has no other end yet; call xenbus_watch_otherend() first`);
    return xenbus_read_unsigned(this.store, this.otherend, key, def);
  }
}

/**
 * Writes `<dir>/<node>` = value.
 * @models torvalds/linux drivers/xen/xenbus/xenbus_xs.c xenbus_printf()
 */
export function xenbus_printf(store: XenStore, tx: number, dir: string, node: string, value: string | number, dom = 0): void {
  store.write(`${dir}/${node}`, typeof value === 'number' ? String(value) : value, tx, dom);
}

/**
 * Parses a xenstore value as the kernel's `sscanf(value, "%u")` does — the value comes from the
 * other end and may be anything: white space skipped, then the decimal digits that follow (no
 * sign, no base prefix: "0x10" reads 0, "12ab" reads 12), kept modulo 2^32 as the unsigned int
 * they are stored in ("4294967297" reads 1). Null when no digit comes first (xenbus_scanf then
 * fails with -ERANGE).
 * @models torvalds/linux lib/vsprintf.c vsscanf() (%u: skip_spaces, isdigit, simple_strntoull
 *   wrapping modulo 2^64, stored as unsigned int)
 */
export function xenbus_scan_u32(v: string): number | null {
  let i = 0;
  let c = v.charCodeAt(0);
  while (c === 0x20 || (c >= 0x09 && c <= 0x0d)) c = v.charCodeAt(++i); // isspace
  let d = c - 0x30;
  if (!(d >= 0 && d <= 9)) return null;
  let r = 0;
  while (d >= 0 && d <= 9) {
    r = (r * 10 + d) % 0x1_0000_0000;
    d = v.charCodeAt(++i) - 0x30;
  }
  return r;
}

/**
 * Reads `<dir>/<node>` as an unsigned decimal (`xenbus_scan_u32`); the default when missing or
 * not a number.
 * @models torvalds/linux drivers/xen/xenbus/xenbus_xs.c xenbus_read_unsigned()
 */
export function xenbus_read_unsigned(store: XenStore, dir: string, node: string, def: number, tx = 0): number {
  const v = store.read(`${dir}/${node}`, tx);
  return v === undefined ? def : xenbus_scan_u32(v) ?? def;
}

/**
 * The XenbusState in `<path>/state`, XenbusStateUnknown when missing.
 * @models torvalds/linux drivers/xen/xenbus/xenbus_client.c xenbus_read_driver_state()
 */
export function xenbus_read_driver_state(store: XenStore, path: string): number {
  return xenbus_read_unsigned(store, path, 'state', XenbusStateUnknown);
}

export interface NicConfig {
  /** Guest (frontend) domain. */
  frontDomid: number;
  /** Driver (backend) domain, usually 0. */
  backDomid?: number;
  /** Device number `n` (vif<guest>.<n>). */
  devid?: number;
  /** MAC address "00:16:3e:xx:xx:xx". */
  mac: string;
  bridge?: string;
  /** Only written when not 1500 (backend); the frontend always gets it. */
  mtu?: number;
  /** "rate" key value "bytes,usec" when a rate limit is configured. */
  rate?: string;
  /** Whether the frontend trusts the backend (the `trusted` key; XSA-403). */
  trusted?: boolean;
  script?: string;
}

export interface NicPaths {
  frontend: string;
  backend: string;
}

/**
 * The toolstack part of creating a vif: writes both directories with the keys libxl writes and
 * both states Initialising.
 * @models xen-project/xen tools/libs/light/libxl_nic.c libxl__device_nic_add / libxl__set_xenstore_nic
 */
export function libxl_device_nic_add(hv: Hypervisor, cfg: NicConfig): NicPaths {
  const back = cfg.backDomid ?? 0;
  const n = cfg.devid ?? 0;
  hv.domainById(cfg.frontDomid);
  hv.domainById(back);
  if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(cfg.mac)) throw new Error(`libxl_device_nic_add: mac ${JSON.stringify(cfg.mac)} is not allowed; use six hex bytes like 00:16:3e:00:00:01`);
  const st = hv.xenstore;
  const fe = `/local/domain/${cfg.frontDomid}/device/vif/${n}`;
  const be = `/local/domain/${back}/backend/vif/${cfg.frontDomid}/${n}`;
  const tx = st.transaction_start(0);
  const mtu = cfg.mtu ?? 1500;
  const w = (dir: string, k: string, v: string): void => st.write(`${dir}/${k}`, v, tx, 0);
  w(be, 'frontend', fe); w(be, 'frontend-id', String(cfg.frontDomid)); w(be, 'online', '1');
  w(be, 'state', String(XenbusStateInitialising)); w(be, 'script', cfg.script ?? '/etc/xen/scripts/vif-bridge');
  w(be, 'mac', cfg.mac.toLowerCase()); w(be, 'bridge', cfg.bridge ?? 'xenbr0'); w(be, 'handle', String(n));
  w(be, 'type', 'vif'); w(be, 'hotplug-status', '');
  if (mtu !== 1500) w(be, 'mtu', String(mtu));
  if (cfg.rate !== undefined) w(be, 'rate', cfg.rate);
  w(fe, 'backend', be); w(fe, 'backend-id', String(back)); w(fe, 'state', String(XenbusStateInitialising));
  w(fe, 'handle', String(n)); w(fe, 'mac', cfg.mac.toLowerCase()); w(fe, 'mtu', String(mtu));
  w(fe, 'trusted', cfg.trusted === false ? '0' : '1');
  const rc = st.transaction_end(tx);
  if (rc !== 0) throw new Error(`libxl_device_nic_add: xenstore transaction failed (${rc})`);
  return { frontend: fe, backend: be };
}

/** What the vif hotplug script writes when the vif is plugged into the bridge. */
export function hotplugConnected(hv: Hypervisor, backendPath: string): void {
  hv.xenstore.write(`${backendPath}/hotplug-status`, 'connected', 0, 0);
}

