/**
 * The Linux software bridge (`struct net_bridge`, net/bridge/) at the frame level: ports, the
 * forwarding database, learning, ageing, forwarding and flooding, link-local groups, port states
 * and flags, MTU checks, delivery to the bridge device itself.
 *
 * Modeled from torvalds/linux (6.12) net/bridge/br_input.c, br_forward.c, br_fdb.c, br_if.c,
 * br_stp.c, br_stp_if.c, br_device.c, and checked against a real 6.18 bridge in a network
 * namespace (test/net/bridge/real-bridge.test.ts).
 *
 * How a frame goes through (see shared reference §13):
 *
 *   br_handle_frame(port, bytes)             br_dev_xmit(bytes)   (frames dom0 sends on br0)
 *     src multicast/zero ─────────▶ drop        │ no learning, no ingress state
 *     dst 01:80:c2:00:00:0X ─ not in mask ─▶ learn, pass up the port's own stack
 *                           └ :01 PAUSE ──▶ drop
 *     port not learning/forwarding ─▶ drop      │
 *   br_handle_frame_finish                      │
 *     learn src (br_fdb_update)                 │
 *     port LEARNING ─▶ drop                     │
 *     unicast hit on a local entry ─▶ br0 only  │
 *     unicast hit ─▶ br_forward(port) ◀─────────┤
 *     miss/bcast/mcast ─▶ br_flood ◀────────────┘
 *     should_deliver: not the ingress port (unless hairpin), FORWARDING, not isolated→isolated
 *     is_skb_forwardable: len <= egress MTU + 14 + 4
 *
 * The decision fills one reusable `BridgeVerdict` (egress port numbers, local delivery, drop
 * reason); the caller (the datapath) transmits the copies. Nothing is allocated per frame.
 *
 * Differences from Linux (@simplified): no VLAN filtering (VID is always 0), no kernel STP (STP is
 * off, as Xen's scripts set it), no multicast group membership (MDB) or querier, so multicast always
 * floods; no MRP/CFM, locked ports, switchdev, backup ports, ebtables; proxy_arp only keeps floods
 * off the port (answering ARP needs dom0's neighbour table, which lives in src/net/l3).
 */
import type { Simulator } from '../../sim';
import type { TracePoint } from '../../sim';
import type { Params } from '../../params';
import { BRIDGE_PARAMS } from './params';
import { FdbTable, FDB_ADDED_BY_USER, FDB_LOCAL, FDB_STATIC, FDB_STICKY } from './fdb';
import { formatMac, isValidKey, parseMac } from './mac';
import './trace';
import { jiffyNs } from '../../sim/units';

/** Port states, values from include/uapi/linux/if_bridge.h. */
export const BR_STATE_DISABLED = 0;
export const BR_STATE_LISTENING = 1;
export const BR_STATE_LEARNING = 2;
export const BR_STATE_FORWARDING = 3;
export const BR_STATE_BLOCKING = 4;

export type PortStateName = 'disabled' | 'listening' | 'learning' | 'forwarding' | 'blocking';
export const PORT_STATE_NAMES: readonly PortStateName[] = ['disabled', 'listening', 'learning', 'forwarding', 'blocking'];

export type PortKind = 'vif' | 'nic' | 'veth';

/** BR_PORT_BITS 10: port numbers 1..1023. */
export const BR_MAX_PORTS = 1 << 10;
const ETH_HLEN = 14;
const VLAN_HLEN = 4;
/** BR_GROUPFWD_RESTRICTED: STP, PAUSE and LACP cannot be forwarded by the bridge mask. */
const BR_GROUPFWD_RESTRICTED = 0x0007;
/** BR_GROUPFWD_MACPAUSE: the only bit the per-port mask refuses. */
const BR_GROUPFWD_MACPAUSE = 0x0002;

export type BridgeAction = 'forward' | 'flood' | 'local' | 'pass' | 'drop';

/** BR_PKT_* in br_private.h. */
const PKT_UNICAST = 0;
const PKT_MULTICAST = 1;
const PKT_BROADCAST = 2;
const PKT_KIND_NAMES = ['unicast', 'multicast', 'broadcast'] as const;

/**
 * The outcome of one bridge decision, reused for every frame (read it before the next call).
 * `egress[0..egressCount)` are the port numbers a copy leaves by, in the kernel's order.
 */
export class BridgeVerdict {
  readonly egress = new Int32Array(BR_MAX_PORTS);
  egressCount = 0;
  /** A copy goes up to the bridge device (dom0's stack on br0). */
  local = false;
  /** A link-local frame continues up the ingress port's own stack (RX_HANDLER_PASS). */
  passUp = false;
  /** What happened, in one word. */
  action: BridgeAction = 'drop';
  /** Why the frame went nowhere ('' unless action is 'drop' or every copy was refused). */
  dropReason = '';
  /** Copies refused by the egress MTU check (counted as drops 'mtu'). */
  mtuDrops = 0;
  /** Length of the frame as forwarded (br_netfilter trims IPv4 frames to their total length). */
  len = 0;

  reset(len: number): void {
    this.egressCount = 0;
    this.local = false;
    this.passUp = false;
    this.action = 'drop';
    this.dropReason = '';
    this.mtuDrops = 0;
    this.len = len;
  }
}

/** A bridge port (`struct net_bridge_port`) over a net device (vif, NIC or veth). */
export class BridgePort {
  /** port_no: lowest free number 1..1023, reused after removal. */
  readonly no: number;
  readonly name: string;
  readonly kind: PortKind;
  /** The device's MAC as a 48-bit key. */
  mac: number;
  mtu: number;
  /** Administrative state of the device (IFF_UP). */
  up: boolean;
  /** Carrier (netif_oper_up). */
  carrier: boolean;
  state = BR_STATE_DISABLED;
  // Port flags, defaults from new_nbp(): learning, flood, mcast_flood, bcast_flood on.
  learning = true;
  flood = true;
  mcastFlood = true;
  bcastFlood = true;
  hairpin = false;
  isolated = false;
  proxyArp = false;
  groupFwdMask = 0;

  constructor(no: number, name: string, kind: PortKind, mac: number, mtu: number, up: boolean, carrier: boolean) {
    this.no = no;
    this.name = name;
    this.kind = kind;
    this.mac = mac;
    this.mtu = mtu;
    this.up = up;
    this.carrier = carrier;
  }

  get stateName(): PortStateName {
    return PORT_STATE_NAMES[this.state]!;
  }
}

export interface BridgeOptions {
  /** Device name, e.g. "xenbr0" (default "br0"). */
  name?: string;
  /** A MAC set by the user (NET_ADDR_SET): the bridge then never adopts a port's MAC. */
  mac?: string | number;
  /** Whether br0 is up (default true); the gc starts 100 ms after it comes up. */
  up?: boolean;
}

export interface AddPortOptions {
  name: string;
  /** The device MAC; Xen vifs all use fe:ff:ff:ff:ff:ff. Must be a valid unicast address. */
  mac: string | number;
  mtu?: number;
  kind?: PortKind;
  /** Device administratively up (default true). */
  up?: boolean;
  /** Carrier (default true; a vif has carrier once its frontend connects). */
  carrier?: boolean;
}

export interface PortFlagsUpdate {
  learning?: boolean;
  flood?: boolean;
  mcast_flood?: boolean;
  bcast_flood?: boolean;
  hairpin?: boolean;
  isolated?: boolean;
  proxy_arp?: boolean;
  group_fwd_mask?: number;
}

export type FdbState = 'permanent' | 'static' | 'dynamic' | 'stale';

export interface FdbRow {
  mac: string;
  /** Port name, or the bridge's own name for entries with no port (the bridge device's MAC). */
  port: string;
  /** As `bridge fdb show` reports it: permanent (local), static, stale (expired, not yet collected) or dynamic. */
  state: FdbState;
  flags: string[];
  /** Seconds since the entry was last learned/refreshed (`updated`). */
  ageSeconds: number;
  /** Seconds since a frame was last forwarded to it (`used`). */
  usedSeconds: number;
}

export interface InjectResult {
  /** Names of the ports a copy left by. */
  egress: string[];
  /** Whether the bridge device (dom0's stack) received a copy. */
  local: boolean;
  /** Whether a link-local frame was passed up on the ingress port's own stack. */
  passedUp: boolean;
  action: BridgeAction;
  /** The drop reason when the frame went nowhere, else null. */
  dropped: string | null;
  /** Egress copies refused for MTU. */
  mtuDrops: number;
  /** Length of each copy (br_netfilter may trim IPv4 frames to their total length). */
  len: number;
}

export interface BridgeCounters {
  [k: string]: number;
  rx_frames: number;
  tx_frames: number;
  forwarded: number;
  flooded: number;
  local_delivered: number;
  passed_up: number;
  dropped: number;
  learned: number;
  moved: number;
  aged: number;
  own_src_seen: number;
}

/** fdb_add_entry's NUD state: permanent = local, static = NUD_NOARP, dynamic = NUD_REACHABLE. */
export interface FdbAddOptions {
  state?: 'permanent' | 'static' | 'dynamic';
  sticky?: boolean;
  /** `bridge fdb replace` (overwrite) instead of `add` (EEXIST if present). */
  replace?: boolean;
}

/** The bridge device (`struct net_bridge`) and its ports. */
export class Bridge {
  readonly name: string;
  readonly sim: Simulator;
  readonly fdbTable = new FdbTable();
  readonly counters: BridgeCounters;
  /** Port by number (index 1..1023). */
  readonly ports: (BridgePort | undefined)[] = new Array(BR_MAX_PORTS).fill(undefined);
  /** br->port_list: newest first (list_add_rcu adds at the head), the order floods walk. */
  readonly portList: BridgePort[] = [];

  /** The bridge device's MAC key. */
  mac: number;
  /** bridge_id.addr: zero until the first recalculation. */
  private bridgeIdAddr = 0;
  private macSetByUser: boolean;
  up: boolean;
  mtu = 1500;
  private mtuSetByUser = false;

  // options
  private ageingCs: number;
  private holdJ: number;
  readonly hz: number;
  private readonly jiffyNs: number;
  groupFwdMask: number;
  noLinklocalLearn: boolean;
  promisc: boolean;
  mcastSnooping: boolean;
  nfCallIptables: boolean;
  /** STP is off (stp_state 0), as Xen's create_bridge sets it; kernel STP is not modeled. */
  readonly stpEnabled = false;

  private readonly verdict = new BridgeVerdict();
  private readonly where: string;
  private readonly hGc: number;
  private gcEvent = -1;
  /** The jiffy at which the periodic gc chain is (or would be) due next. */
  private gcDueJ = -1;

  private readonly tpLearn: TracePoint<'bridge.learn'>;
  private readonly tpMove: TracePoint<'bridge.move'>;
  private readonly tpForward: TracePoint<'bridge.forward'>;
  private readonly tpFlood: TracePoint<'bridge.flood'>;
  private readonly tpLocal: TracePoint<'bridge.local'>;
  private readonly tpPass: TracePoint<'bridge.pass'>;
  private readonly tpAge: TracePoint<'bridge.age'>;
  private readonly tpFlush: TracePoint<'bridge.flush'>;
  private readonly tpPort: TracePoint<'bridge.port'>;

  constructor(sim: Simulator, params: Params, options: BridgeOptions = {}) {
    const p = params.group(BRIDGE_PARAMS);
    this.sim = sim;
    this.name = options.name ?? 'br0';
    if (typeof this.name !== 'string' || this.name.length === 0 || this.name.length > 15) {
      throw new Error(`Bridge: name ${JSON.stringify(options.name)} is not allowed; use a device name of 1-15 characters`);
    }
    this.where = `bridge/${this.name}`;
    this.jiffyNs = jiffyNs(p.hz, 'bridge.hz:');
    this.hz = p.hz;
    this.ageingCs = p.ageing_time;
    this.holdJ = this.clockTToJiffies(p.ageing_time);
    this.groupFwdMask = checkBridgeGroupFwdMask(p.group_fwd_mask, 'bridge.group_fwd_mask');
    this.noLinklocalLearn = p.no_linklocal_learn;
    this.promisc = p.promisc;
    this.mcastSnooping = p.mcast_snooping;
    this.nfCallIptables = p.nf_call_iptables;

    this.counters = sim.counters.register(`bridge.${this.name}`, {
      rx_frames: 0, tx_frames: 0, forwarded: 0, flooded: 0, local_delivered: 0, passed_up: 0,
      dropped: 0, learned: 0, moved: 0, aged: 0, own_src_seen: 0,
    });
    const t = sim.trace;
    this.tpLearn = t.point('bridge.learn');
    this.tpMove = t.point('bridge.move');
    this.tpForward = t.point('bridge.forward');
    this.tpFlood = t.point('bridge.flood');
    this.tpLocal = t.point('bridge.local');
    this.tpPass = t.point('bridge.pass');
    this.tpAge = t.point('bridge.age');
    this.tpFlush = t.point('bridge.flush');
    this.tpPort = t.point('bridge.port');
    this.hGc = sim.register(`bridge.${this.name}.gc`, () => {
      this.gcEvent = -1;
      this.br_fdb_cleanup();
    });

    if (options.mac !== undefined) {
      const key = parseMac(options.mac, 'Bridge options.mac');
      if (!isValidKey(key)) throw new Error(`Bridge options.mac: ${formatMac(key)} is not allowed; use a unicast, non-zero MAC`);
      this.mac = key;
      this.macSetByUser = true;
    } else {
      // br_dev_setup(): eth_hw_addr_random() — from a named, seeded stream.
      const r = sim.random.stream(`bridge.${this.name}.mac`);
      const hi = (r.nextU32() & 0xfeff) | 0x0200; // locally administered, unicast
      this.mac = hi * 0x1_0000_0000 + r.nextU32();
      this.macSetByUser = false;
    }
    // The device's own address has a local entry with no port (shown on br0 by `bridge fdb`).
    this.fdbTable.create(this.mac, 0, FDB_LOCAL | FDB_STATIC, sim.now);
    this.up = false;
    if (options.up ?? true) this.setUp(true);
  }

  // ─────────────────────────────── time helpers ───────────────────────────────

  private jiffies(t: number): number {
    return Math.floor(t / this.jiffyNs);
  }

  /** clock_t_to_jiffies(): centiseconds to jiffies, truncating. */
  private clockTToJiffies(cs: number): number {
    return Math.floor((cs * this.hz) / 100);
  }

  /** msecs_to_jiffies(): rounds up. */
  private msecsToJiffies(ms: number): number {
    return Math.ceil((ms * this.hz) / 1000);
  }

  // ─────────────────────────────── ports ───────────────────────────────

  /**
   * Enslaves a device (`ip link set DEV master br0`).
   * @models linux net/bridge/br_if.c br_add_if()
   */
  addPort(opts: AddPortOptions): number {
    if (opts === null || typeof opts !== 'object') throw new Error(`addPort: options ${JSON.stringify(opts)} is not allowed; pass { name, mac, mtu?, kind? }`);
    const name = opts.name;
    if (typeof name !== 'string' || name.length === 0 || name.length > 15) {
      throw new Error(`addPort: name ${JSON.stringify(name)} is not allowed; use a device name of 1-15 characters`);
    }
    if (name === this.name || this.portList.some((p) => p.name === name)) {
      throw new Error(`addPort: name '${name}' is already used on bridge ${this.name}`);
    }
    const mac = parseMac(opts.mac, `addPort(${name}).mac`);
    if (!isValidKey(mac)) throw new Error(`addPort(${name}).mac: ${formatMac(mac)} is not allowed; a bridge port needs a unicast, non-zero MAC`);
    const mtu = opts.mtu ?? 1500;
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw new Error(`addPort(${name}).mtu: ${mtu} is not allowed; use an integer in [68, 65535]`);
    const kind = opts.kind ?? 'veth';
    if (kind !== 'vif' && kind !== 'nic' && kind !== 'veth') throw new Error(`addPort(${name}).kind: ${JSON.stringify(kind)} is not allowed; use 'vif', 'nic' or 'veth'`);
    let no = 1;
    while (no < BR_MAX_PORTS && this.ports[no] !== undefined) no++;
    if (no >= BR_MAX_PORTS) throw new Error(`addPort(${name}): bridge ${this.name} already has ${BR_MAX_PORTS - 1} ports (BR_MAX_PORTS)`);
    const p = new BridgePort(no, name, kind, mac, mtu, opts.up ?? true, opts.carrier ?? true);
    this.ports[no] = p;
    this.portList.unshift(p);
    this.fdb_add_local(p.no, mac);
    this.br_stp_recalculate_bridge_id();
    if (p.up && p.carrier && this.up) this.br_stp_enable_port(p);
    this.br_mtu_auto_adjust();
    return no;
  }

  /**
   * Removes a port (`ip link set DEV nomaster`): every entry of the port goes, local and static included.
   * @models linux net/bridge/br_if.c br_del_if(), del_nbp()
   */
  delPort(name: string): void {
    const p = this.port(name);
    if (p.state !== BR_STATE_DISABLED) this.br_stp_disable_port(p, 'port removed');
    this.portList.splice(this.portList.indexOf(p), 1);
    this.ports[p.no] = undefined;
    this.br_fdb_delete_by_port(p.no, true, 'port removed', p.name);
    this.br_stp_recalculate_bridge_id();
    this.br_mtu_auto_adjust();
  }

  /** The port called `name`; throws an Error naming it and listing the known ports. */
  port(name: string): BridgePort {
    for (let i = 0; i < this.portList.length; i++) if (this.portList[i]!.name === name) return this.portList[i]!;
    const known = this.portList.map((p) => p.name).reverse();
    throw new Error(`bridge ${this.name}: no port named ${JSON.stringify(name)}; ports: ${known.length ? known.join(', ') : '(none)'}`);
  }

  /** Port number for a name (the hot-path API takes numbers). */
  portNo(name: string): number {
    return this.port(name).no;
  }

  /** Port name for a number (0 = the bridge device itself). */
  portName(no: number): string {
    if (no === 0) return this.name;
    const p = this.ports[no];
    if (p === undefined) throw new Error(`bridge ${this.name}: no port number ${no}`);
    return p.name;
  }

  /** Sets port flags (`bridge link set dev X learning off hairpin on ...`). */
  setPortFlags(name: string, flags: PortFlagsUpdate): void {
    const p = this.port(name);
    const known = ['learning', 'flood', 'mcast_flood', 'bcast_flood', 'hairpin', 'isolated', 'proxy_arp', 'group_fwd_mask'];
    for (const [k, v] of Object.entries(flags)) {
      if (!known.includes(k)) throw new Error(`setPortFlags(${name}): flag '${k}' is not known; use ${known.join(', ')}`);
      if (k === 'group_fwd_mask') continue;
      if (typeof v !== 'boolean') throw new Error(`setPortFlags(${name}).${k}: ${JSON.stringify(v)} is not allowed; use true or false`);
    }
    if (flags.group_fwd_mask !== undefined) {
      const m = flags.group_fwd_mask;
      if (!Number.isInteger(m) || m < 0 || m > 0xffff || (m & BR_GROUPFWD_MACPAUSE) !== 0) {
        throw new Error(`setPortFlags(${name}).group_fwd_mask: ${m} is not allowed; use a 16-bit mask without bit 1 (PAUSE)`);
      }
      p.groupFwdMask = m;
    }
    if (flags.learning !== undefined) p.learning = flags.learning;
    if (flags.flood !== undefined) p.flood = flags.flood;
    if (flags.mcast_flood !== undefined) p.mcastFlood = flags.mcast_flood;
    if (flags.bcast_flood !== undefined) p.bcastFlood = flags.bcast_flood;
    if (flags.hairpin !== undefined) p.hairpin = flags.hairpin;
    if (flags.isolated !== undefined) p.isolated = flags.isolated;
    if (flags.proxy_arp !== undefined) p.proxyArp = flags.proxy_arp;
  }

  /**
   * `bridge link set dev X state N`. With STP off a BLOCKING port is promoted straight back to
   * FORWARDING by port state selection; learning, listening and disabled stick.
   * @models linux net/bridge/br_netlink.c br_set_port_state()
   */
  setPortState(name: string, state: PortStateName | number): void {
    const p = this.port(name);
    const s = typeof state === 'number' ? state : PORT_STATE_NAMES.indexOf(state);
    if (!Number.isInteger(s) || s < 0 || s > BR_STATE_BLOCKING) {
      throw new Error(`setPortState(${name}): state ${JSON.stringify(state)} is not allowed; use ${PORT_STATE_NAMES.join(', ')} or 0-4`);
    }
    if (!p.up || (!p.carrier && s !== BR_STATE_DISABLED)) {
      throw new Error(`setPortState(${name}): ENETDOWN — port ${name} has no carrier or is down; only 'disabled' can be set`);
    }
    this.br_set_state(p, s, 'user');
    this.br_port_state_selection();
  }

  /**
   * Carrier up/down on a port's device (e.g. a vif whose frontend connects or disconnects).
   * Loss of carrier disables the port and flushes its dynamic entries at once.
   * @models linux net/bridge/br_if.c br_port_carrier_check(), br_stp_if.c br_stp_disable_port()
   */
  setCarrier(name: string, carrier: boolean): void {
    const p = this.port(name);
    p.carrier = !!carrier;
    this.br_port_carrier_check(p);
  }

  /** Administrative up/down of a port's device (`ip link set DEV up|down`). */
  setPortUp(name: string, up: boolean): void {
    const p = this.port(name);
    p.up = !!up;
    this.br_port_carrier_check(p);
  }

  /** Changes a port's MTU; br0's MTU follows the minimum unless set by the user. */
  setPortMtu(name: string, mtu: number): void {
    const p = this.port(name);
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw new Error(`setPortMtu(${name}): mtu ${mtu} is not allowed; use an integer in [68, 65535]`);
    p.mtu = mtu;
    this.br_mtu_auto_adjust();
  }

  /**
   * Changes a port device's MAC: its local entry moves to the new address and the bridge MAC is
   * recalculated. @models linux net/bridge/br_fdb.c br_fdb_changeaddr()
   */
  setPortMac(name: string, mac: string | number): void {
    const p = this.port(name);
    const key = parseMac(mac, `setPortMac(${name}).mac`);
    if (!isValidKey(key)) throw new Error(`setPortMac(${name}).mac: ${formatMac(key)} is not allowed; use a unicast, non-zero MAC`);
    const t = this.fdbTable;
    for (let e = t.head; e >= 0; e = t.next[e]!) {
      if (t.port[e] === p.no && (t.flags[e]! & FDB_LOCAL) !== 0 && (t.flags[e]! & FDB_ADDED_BY_USER) === 0) {
        this.fdb_delete_local(p.no, e);
        break;
      }
    }
    p.mac = key;
    this.fdb_add_local(p.no, key);
    this.br_stp_recalculate_bridge_id();
  }

  // ─────────────────────────────── bridge options ───────────────────────────────

  /** `ip link set br0 up|down`. Down disables every port (flushing them) and stops the gc. */
  setUp(up: boolean): void {
    if (up === this.up) return;
    this.up = up;
    if (up) {
      // br_stp_enable_bridge(): gc in HZ/10, then enable every port with carrier
      this.modGc(this.jiffies(this.sim.now) + Math.floor(this.hz / 10));
      for (const p of this.portList) if (p.up && p.carrier) this.br_stp_enable_port(p);
    } else {
      // br_stp_disable_bridge()
      for (const p of this.portList) if (p.state !== BR_STATE_DISABLED) this.br_stp_disable_port(p, 'bridge down');
      if (this.gcEvent >= 0) this.sim.cancel(this.gcEvent);
      this.gcEvent = -1;
      this.gcDueJ = -1;
    }
  }

  /** Sets br0's MAC by hand (NET_ADDR_SET): it no longer follows the lowest port MAC. */
  setMac(mac: string | number): void {
    const key = parseMac(mac, 'setMac.mac');
    if (!isValidKey(key)) throw new Error(`setMac.mac: ${formatMac(key)} is not allowed; use a unicast, non-zero MAC (EADDRNOTAVAIL)`);
    this.macSetByUser = true;
    if (key !== this.mac) this.br_stp_change_bridge_id(key);
  }

  /** Sets br0's MTU by hand; it then stops following the minimum port MTU. */
  setMtu(mtu: number): void {
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw new Error(`setMtu: mtu ${mtu} is not allowed; use an integer in [68, 65535]`);
    this.mtu = mtu;
    this.mtuSetByUser = true;
  }

  /** ageing_time in centiseconds, as read back (jiffies converted back to clock_t, truncating). */
  get ageingTime(): number {
    return Math.floor((this.holdJ * 100) / this.hz);
  }

  /**
   * `ip link set br0 type bridge ageing_time CS`: converted to jiffies (truncating) and the gc is
   * kicked at once; 0 deletes every dynamic entry and stops learning.
   * @models linux net/bridge/br_stp.c br_set_ageing_time()
   */
  setAgeingTime(cs: number): void {
    if (!Number.isInteger(cs) || cs < 0 || cs > 100_000_000) throw new Error(`setAgeingTime: ageing_time ${cs} is not allowed; use an integer number of centiseconds in [0, 100000000]`);
    this.ageingCs = cs;
    this.holdJ = this.clockTToJiffies(cs);
    if (this.up) this.br_fdb_cleanup(); // mod_delayed_work(..., 0): the gc runs now
  }

  /** The bridge group_fwd_mask; bits 0-2 are refused (EINVAL) as by the kernel. */
  setGroupFwdMask(mask: number): void {
    this.groupFwdMask = checkBridgeGroupFwdMask(mask, 'setGroupFwdMask.mask');
  }

  setPromisc(on: boolean): void {
    this.promisc = !!on;
  }

  setNoLinklocalLearn(on: boolean): void {
    this.noLinklocalLearn = !!on;
  }

  // ─────────────────────────────── FDB API ───────────────────────────────

  /**
   * `bridge fdb add|replace MAC dev PORT master [permanent|static|dynamic] [sticky]`; port null
   * means the bridge device itself (only permanent is allowed there).
   * @models linux net/bridge/br_fdb.c fdb_add_entry()
   */
  fdbAdd(mac: string | number, port: string | null, opts: FdbAddOptions = {}): void {
    const key = parseMac(mac, 'fdbAdd.mac');
    if (!isValidKey(key)) throw new Error(`fdbAdd.mac: ${formatMac(key)} is not allowed; use a unicast, non-zero MAC (EINVAL)`);
    const state = opts.state ?? 'permanent';
    if (state !== 'permanent' && state !== 'static' && state !== 'dynamic') throw new Error(`fdbAdd.state: ${JSON.stringify(state)} is not allowed; use 'permanent', 'static' or 'dynamic'`);
    const sticky = !!opts.sticky;
    const p = port === null ? undefined : this.port(port);
    const no = p === undefined ? 0 : p.no;
    if (p !== undefined && state === 'dynamic' && p.state !== BR_STATE_LEARNING && p.state !== BR_STATE_FORWARDING) {
      throw new Error(`fdbAdd: EPERM — a dynamic entry needs port ${p.name} in learning or forwarding state (it is ${p.stateName})`);
    }
    if (p === undefined && state !== 'permanent') throw new Error(`fdbAdd: EINVAL — an entry on the bridge device ${this.name} itself must be 'permanent'`);
    if (sticky && state === 'permanent') throw new Error(`fdbAdd: EINVAL — a permanent entry cannot be sticky`);
    const t = this.fdbTable;
    const now = this.sim.now;
    let e = t.find(key);
    if (e < 0) {
      e = t.create(key, no, FDB_ADDED_BY_USER, now);
    } else {
      if (!opts.replace) throw new Error(`fdbAdd: EEXIST — ${formatMac(key)} is already in the forwarding database of ${this.name}; use { replace: true }`);
      t.port[e] = no;
      t.flags[e] = t.flags[e]! | FDB_ADDED_BY_USER;
    }
    let f = t.flags[e]! & ~(FDB_LOCAL | FDB_STATIC | FDB_STICKY);
    if (state === 'permanent') f |= FDB_LOCAL | FDB_STATIC;
    else if (state === 'static') f |= FDB_STATIC;
    if (sticky) f |= FDB_STICKY;
    t.flags[e] = f;
    t.updated[e] = now;
    t.used[e] = now;
  }

  /** `bridge fdb del MAC dev PORT master` (port null: the bridge device). */
  fdbDel(mac: string | number, port: string | null): void {
    const key = parseMac(mac, 'fdbDel.mac');
    const no = port === null ? 0 : this.port(port).no;
    const e = this.fdbTable.find(key);
    if (e < 0 || this.fdbTable.port[e] !== no) throw new Error(`fdbDel: ENOENT — no entry for ${formatMac(key)} on ${port ?? this.name}`);
    this.fdbTable.remove(e);
  }

  /** `bridge fdb flush dev PORT` / `ip link set br0 type bridge fdb_flush`: dynamic entries only. */
  flush(port?: string): number {
    const t = this.fdbTable;
    const no = port === undefined ? -1 : this.port(port).no;
    let n = 0;
    for (let e = t.head; e >= 0;) {
      const next = t.next[e]!;
      if ((no < 0 || t.port[e] === no) && (t.flags[e]! & FDB_STATIC) === 0) { t.remove(e); n++; }
      e = next;
    }
    if (this.tpFlush.on) this.tpFlush.emit({ bridge: this.name, port: port ?? '*', entries: n, why: 'user flush' });
    return n;
  }

  /** The forwarding database as `bridge fdb show` would list it (newest first). */
  fdb(): FdbRow[] {
    const t = this.fdbTable;
    const now = this.sim.now;
    const nowJ = this.jiffies(now);
    const rows: FdbRow[] = [];
    for (let e = t.head; e >= 0; e = t.next[e]!) {
      const f = t.flags[e]!;
      let state: FdbState;
      if (f & FDB_LOCAL) state = 'permanent';
      else if (f & FDB_STATIC) state = 'static';
      else state = this.jiffies(t.updated[e]!) + this.holdJ <= nowJ ? 'stale' : 'dynamic';
      const flags: string[] = [];
      if (f & FDB_STICKY) flags.push('sticky');
      if (f & FDB_ADDED_BY_USER) flags.push('added_by_user');
      rows.push({
        mac: formatMac(t.mac[e]!),
        port: this.portName(t.port[e]!),
        state,
        flags,
        ageSeconds: (now - t.updated[e]!) / 1e9,
        usedSeconds: (now - t.used[e]!) / 1e9,
      });
    }
    return rows;
  }

  /** The entry for one MAC, or undefined. */
  fdbLookup(mac: string | number): FdbRow | undefined {
    const key = parseMac(mac, 'fdbLookup.mac');
    const m = formatMac(key);
    return this.fdb().find((r) => r.mac === m);
  }

  // ─────────────────────────────── frame API ───────────────────────────────

  /**
   * Injects a frame on a port, as netif_receive_skb on that port's device would deliver it.
   * With `atTimeNs`, first runs the simulator up to that virtual time (ageing happens meanwhile).
   */
  inject(portName: string, frame: Uint8Array | readonly number[], atTimeNs?: number): InjectResult {
    const p = this.port(portName);
    const bytes = frame instanceof Uint8Array ? frame : Uint8Array.from(frame);
    if (atTimeNs !== undefined) this.advanceTo(atTimeNs, 'inject');
    return this.describe(this.br_handle_frame(p.no, bytes, 0, bytes.length));
  }

  /** Sends a frame from dom0's own stack through the bridge device (br_dev_xmit). */
  xmit(frame: Uint8Array | readonly number[], atTimeNs?: number): InjectResult {
    const bytes = frame instanceof Uint8Array ? frame : Uint8Array.from(frame);
    if (atTimeNs !== undefined) this.advanceTo(atTimeNs, 'xmit');
    return this.describe(this.br_dev_xmit(bytes, 0, bytes.length));
  }

  private advanceTo(t: number, what: string): void {
    if (!Number.isInteger(t) || t < this.sim.now) throw new Error(`${what}: atTimeNs ${t} is not allowed; use an integer number of ns >= now (${this.sim.now})`);
    this.sim.run({ until: t });
  }

  private describe(v: BridgeVerdict): InjectResult {
    const egress: string[] = [];
    for (let i = 0; i < v.egressCount; i++) egress.push(this.portName(v.egress[i]!));
    return {
      egress, local: v.local, passedUp: v.passUp, action: v.action,
      dropped: v.dropReason === '' ? null : v.dropReason, mtuDrops: v.mtuDrops, len: v.len,
    };
  }

  // ─────────────────────────────── the datapath ───────────────────────────────

  /**
   * The bridge's rx_handler: decides what happens to a frame received on port `portNo`.
   * Never throws for frame contents; returns the shared verdict.
   * @models linux net/bridge/br_input.c br_handle_frame()
   */
  br_handle_frame(portNo: number, bytes: Uint8Array, off: number, len: number): BridgeVerdict {
    const p = this.ports[portNo];
    if (p === undefined) throw new RangeError(`br_handle_frame: port number ${portNo} is not a port of ${this.name}`);
    if (off < 0 || len < 0 || off + len > bytes.length) throw new RangeError(`br_handle_frame: frame [${off}, ${off + len}) is outside the ${bytes.length}-byte buffer`);
    const v = this.verdict;
    v.reset(len);
    this.counters.rx_frames++;
    if (len < ETH_HLEN) return this.dropFrame(v, 'short_frame');
    const etype = (bytes[off + 12]! << 8) | bytes[off + 13]!;
    const tagged = etype === 0x8100 || etype === 0x88a8;
    // __netif_receive_skb_core: skb_vlan_untag() needs the whole tag
    if (tagged && len < ETH_HLEN + VLAN_HLEN) return this.dropFrame(v, 'short_frame');
    this.curTagged = tagged;
    // MACs as (upper 16 bits, lower 32 bits) ints: no floating point on the hot path
    const srcHi = (bytes[off + 6]! << 8) | bytes[off + 7]!;
    const srcLo = (bytes[off + 8]! << 24) | (bytes[off + 9]! << 16) | (bytes[off + 10]! << 8) | bytes[off + 11]!;
    // is_valid_ether_addr(): not multicast/broadcast (I/G bit), not all-zero
    if ((srcHi & 0x100) !== 0 || (srcHi | srcLo) === 0) return this.dropFrame(v, 'invalid_src_mac');
    const dstHi = (bytes[off]! << 8) | bytes[off + 1]!;
    const dstLo = (bytes[off + 2]! << 24) | (bytes[off + 3]! << 16) | (bytes[off + 4]! << 8) | bytes[off + 5]!;

    // is_link_local_ether_addr(): 01:80:c2:00:00:0X
    if (dstHi === 0x0180 && (dstLo & 0xfffffff0) === (0xc2000000 | 0)) {
      const x = dstLo & 0x0f;
      let fwdMask = p.groupFwdMask; // | group_fwd_mask_required (802.1ad only: 0)
      let forward: boolean;
      if (x === 0) {
        forward = !this.stpEnabled || (fwdMask & 1) !== 0;
      } else if (x === 1) {
        return this.dropFrame(v, 'mac_ieee_mac_control'); // PAUSE is never bridged
      } else {
        fwdMask |= this.groupFwdMask;
        forward = (fwdMask & (1 << x)) !== 0;
      }
      if (!forward) {
        // __br_handle_local_finish(): learn, then RX_HANDLER_PASS to the port's own stack
        if (p.learning && (p.state === BR_STATE_LEARNING || p.state === BR_STATE_FORWARDING) && !this.noLinklocalLearn) {
          this.br_fdb_update(p, srcHi, srcLo);
        }
        v.passUp = true;
        v.action = 'pass';
        this.counters.passed_up++;
        if (this.tpPass.on) this.tpPass.emit({ bridge: this.name, port: p.name, dst: formatMac(hlKey(dstHi, dstLo)), bytes: len });
        return v;
      }
    }

    if (p.state !== BR_STATE_FORWARDING && p.state !== BR_STATE_LEARNING) return this.dropFrame(v, 'port_state');

    // NF_BR_PRE_ROUTING: br_netfilter validates untagged IPv4 (br_validate_ipv4)
    if (this.nfCallIptables && etype === 0x0800) {
      const ipLen = ipv4CheckedLength(bytes, off + ETH_HLEN, len - ETH_HLEN);
      if (ipLen < 0) return this.dropFrame(v, 'ip_inhdr');
      v.len = ETH_HLEN + ipLen; // pskb_trim_rcsum
    }
    return this.br_handle_frame_finish(p, bytes, off, dstHi, dstLo, srcHi, srcLo, tagged);
  }

  /** @models linux net/bridge/br_input.c br_handle_frame_finish() */
  private br_handle_frame_finish(
    p: BridgePort, bytes: Uint8Array, off: number, dstHi: number, dstLo: number, srcHi: number, srcLo: number, tagged: boolean,
  ): BridgeVerdict {
    const v = this.verdict;
    if (p.learning) this.br_fdb_update(p, srcHi, srcLo);
    let local = this.promisc;
    let kind = PKT_UNICAST;
    if ((dstHi & 0x100) !== 0) {
      if (dstHi === 0xffff && dstLo === -1) {
        kind = PKT_BROADCAST;
        local = true;
      } else {
        kind = PKT_MULTICAST;
        if (this.mcastSnooping && !multicastHeaderOk(bytes, off, v.len, tagged)) return this.dropFrame(v, 'mcast_snooping');
      }
    }
    if (p.state === BR_STATE_LEARNING) return this.dropFrame(v, 'port_state');

    if (kind === PKT_MULTICAST) {
      local = true; // no MDB entry / no querier: flood, and br0 gets a copy
    } else if (kind === PKT_UNICAST) {
      const t = this.fdbTable;
      const e = t.findHL(dstHi, dstLo);
      if (e >= 0) {
        if ((t.flags[e]! & FDB_LOCAL) !== 0) return this.br_pass_frame_up(p, dstHi, dstLo);
        const now = this.sim.now;
        if (t.used[e] !== now) t.used[e] = now;
        this.br_forward(p, t.port[e]!, dstHi, dstLo, local, false);
        if (local) this.br_pass_frame_up(p, dstHi, dstLo);
        return v;
      }
    }
    this.br_flood(p, kind, local, false);
    if (local) this.br_pass_frame_up(p, dstHi, dstLo);
    return v;
  }

  /**
   * A frame dom0 transmits on the bridge device: no learning, no ingress checks; floods of
   * broadcast and multicast ignore the ports' bcast_flood/mcast_flood flags.
   * @models linux net/bridge/br_device.c br_dev_xmit()
   */
  br_dev_xmit(bytes: Uint8Array, off: number, len: number): BridgeVerdict {
    if (off < 0 || len < 0 || off + len > bytes.length) throw new RangeError(`br_dev_xmit: frame [${off}, ${off + len}) is outside the ${bytes.length}-byte buffer`);
    const v = this.verdict;
    v.reset(len);
    this.counters.tx_frames++;
    if (len < ETH_HLEN) return this.dropFrame(v, 'short_frame');
    const etype = (bytes[off + 12]! << 8) | bytes[off + 13]!;
    const tagged = etype === 0x8100 || etype === 0x88a8;
    this.curTagged = tagged;
    const dstHi = (bytes[off]! << 8) | bytes[off + 1]!;
    const dstLo = (bytes[off + 2]! << 24) | (bytes[off + 3]! << 16) | (bytes[off + 4]! << 8) | bytes[off + 5]!;
    if (dstHi === 0xffff && dstLo === -1) {
      this.br_flood(null, PKT_BROADCAST, false, true);
    } else if ((dstHi & 0x100) !== 0) {
      if (this.mcastSnooping && !multicastHeaderOk(bytes, off, len, tagged)) return this.dropFrame(v, 'mcast_snooping');
      this.br_flood(null, PKT_MULTICAST, false, true);
    } else {
      const t = this.fdbTable;
      const e = t.findHL(dstHi, dstLo);
      if (e >= 0) this.br_forward(null, t.port[e]!, dstHi, dstLo, false, true);
      else this.br_flood(null, PKT_UNICAST, false, true);
    }
    return v;
  }

  /**
   * @models linux net/bridge/br_forward.c should_deliver()
   * `ingress` null = the frame comes from br0 itself.
   */
  private should_deliver(q: BridgePort, ingress: BridgePort | null): boolean {
    return (q.hairpin || q !== ingress) && q.state === BR_STATE_FORWARDING && !(ingress !== null && ingress.isolated && q.isolated);
  }

  /** @models linux net/bridge/br_forward.c br_forward() */
  private br_forward(ingress: BridgePort | null, toNo: number, dstHi: number, dstLo: number, localRcv: boolean, localOrig: boolean): void {
    const v = this.verdict;
    const q = toNo === 0 ? undefined : this.ports[toNo];
    v.action = 'forward';
    if (q !== undefined && this.should_deliver(q, ingress)) {
      if (this.br_dev_queue_push_xmit(q)) {
        this.counters.forwarded++;
        if (this.tpForward.on) this.tpForward.emit({ bridge: this.name, in: ingress?.name ?? this.name, out: q.name, dst: formatMac(hlKey(dstHi, dstLo)), bytes: v.len });
      } else if (!localRcv) {
        v.action = 'drop';
        v.dropReason = 'mtu';
        this.counters.dropped++;
      }
      return;
    }
    if (!localRcv) {
      const reason = q === undefined ? 'no_port' : q === ingress ? 'no_reflection' : 'egress_blocked';
      this.dropFrame(v, reason);
    }
    void localOrig;
  }

  /** @models linux net/bridge/br_forward.c br_flood() */
  private br_flood(ingress: BridgePort | null, kind: number, localRcv: boolean, localOrig: boolean): void {
    const v = this.verdict;
    v.action = 'flood';
    const list = this.portList;
    let sent = 0;
    let tried = 0;
    for (let i = 0; i < list.length; i++) {
      const q = list[i]!;
      if (kind === PKT_UNICAST) {
        if (!q.flood) continue;
      } else if (kind === PKT_MULTICAST) {
        if (!q.mcastFlood && !localOrig) continue;
      } else if (!q.bcastFlood && !localOrig) continue;
      if (q.proxyArp) continue;
      if (!this.should_deliver(q, ingress)) continue;
      tried++;
      if (this.br_dev_queue_push_xmit(q)) sent++;
    }
    this.counters.flooded++;
    if (this.tpFlood.on) this.tpFlood.emit({ bridge: this.name, in: ingress?.name ?? this.name, kind: PKT_KIND_NAMES[kind]!, ports: sent, bytes: v.len });
    if (sent === 0 && !localRcv) {
      if (tried === 0) this.dropFrame(v, 'no_egress_port');
      else { v.action = 'drop'; v.dropReason = 'mtu'; this.counters.dropped++; }
    }
  }

  /**
   * Egress: is_skb_forwardable() (device up, length <= MTU + 14 + 4, the VLAN tag not counted),
   * then the copy is handed to the caller through the verdict.
   * @models linux net/bridge/br_forward.c br_dev_queue_push_xmit()
   */
  private br_dev_queue_push_xmit(q: BridgePort): boolean {
    const v = this.verdict;
    const len = v.len;
    // with the VLAN tag held in skb metadata, skb->len excludes it
    if (!q.up || len > q.mtu + ETH_HLEN + VLAN_HLEN + (this.curTagged ? VLAN_HLEN : 0)) {
      v.mtuDrops++;
      this.sim.drops.count(this.where, q.up ? 'mtu' : 'port_down', len);
      return false;
    }
    v.egress[v.egressCount++] = q.no;
    return true;
  }
  /** Whether the frame being decided carries an 802.1Q/802.1ad tag (held in skb metadata). */
  private curTagged = false;

  /** @models linux net/bridge/br_input.c br_pass_frame_up() */
  private br_pass_frame_up(ingress: BridgePort, dstHi: number, dstLo: number): BridgeVerdict {
    const v = this.verdict;
    v.local = true;
    if (v.egressCount === 0 && v.action !== 'flood' && v.action !== 'forward') v.action = 'local';
    this.counters.local_delivered++;
    if (this.tpLocal.on) this.tpLocal.emit({ bridge: this.name, in: ingress.name, dst: formatMac(hlKey(dstHi, dstLo)), bytes: v.len });
    return v;
  }

  private dropFrame(v: BridgeVerdict, reason: string): BridgeVerdict {
    v.action = 'drop';
    v.dropReason = reason;
    v.egressCount = 0;
    this.counters.dropped++;
    this.sim.drops.count(this.where, reason, v.len);
    return v;
  }

  // ─────────────────────────────── FDB internals ───────────────────────────────

  /**
   * Learning. Ignores local entries (the kernel logs "own address as source address"), refreshes
   * `updated`, moves the entry to the ingress port unless sticky, creates a dynamic entry otherwise.
   * Nothing is learned while the hold time is 0 ("always flood").
   * @models linux net/bridge/br_fdb.c br_fdb_update()
   */
  private br_fdb_update(p: BridgePort, srcHi: number, srcLo: number): void {
    if (this.holdJ === 0) return;
    const t = this.fdbTable;
    const now = this.sim.now;
    const e = t.findHL(srcHi, srcLo);
    if (e >= 0) {
      const f = t.flags[e]!;
      if ((f & FDB_LOCAL) !== 0) {
        this.counters.own_src_seen++;
        return;
      }
      t.updated[e] = now;
      const from = t.port[e]!;
      if (from !== p.no && (f & FDB_STICKY) === 0) {
        t.port[e] = p.no;
        this.counters.moved++;
        if (this.tpMove.on) this.tpMove.emit({ bridge: this.name, mac: formatMac(hlKey(srcHi, srcLo)), from: this.portName(from), to: p.name });
      }
      return;
    }
    const src = hlKey(srcHi, srcLo);
    t.create(src, p.no, 0, now);
    this.counters.learned++;
    if (this.tpLearn.on) this.tpLearn.emit({ bridge: this.name, port: p.name, mac: formatMac(src) });
    this.armGc();
  }

  /**
   * The ageing gc: deletes expired dynamic entries and reschedules itself for the earliest coming
   * expiry, at least 10 ms later and at most one hold time later.
   * @models linux net/bridge/br_fdb.c br_fdb_cleanup()
   * @simplified while the table holds no dynamic entry the periodic chain is not kept in the event
   * queue (so a simulation can drain); learning re-arms it on the tick the chain would have reached.
   */
  private br_fdb_cleanup(): void {
    if (this.gcEvent >= 0) this.sim.cancel(this.gcEvent);
    this.gcEvent = -1;
    const t = this.fdbTable;
    const nowJ = this.jiffies(this.sim.now);
    const delay = this.holdJ;
    let workDelay = delay;
    let dynamic = 0;
    for (let e = t.head; e >= 0;) {
      const next = t.next[e]!;
      if ((t.flags[e]! & FDB_STATIC) === 0) {
        const thisTimer = this.jiffies(t.updated[e]!) + delay;
        if (thisTimer > nowJ) {
          workDelay = Math.min(workDelay, thisTimer - nowJ);
          dynamic++;
        } else {
          const mac = t.mac[e]!;
          const portNo = t.port[e]!;
          const idle = this.sim.now - t.updated[e]!;
          t.remove(e);
          this.counters.aged++;
          if (this.tpAge.on) this.tpAge.emit({ bridge: this.name, mac: formatMac(mac), port: this.portName(portNo), idleNs: idle });
        }
      }
      e = next;
    }
    workDelay = Math.max(workDelay, this.msecsToJiffies(10));
    this.gcDueJ = nowJ + workDelay;
    if (dynamic > 0) this.scheduleGc(this.gcDueJ);
  }

  /** mod_delayed_work(): (re)schedule the gc at jiffy `dueJ`. */
  private modGc(dueJ: number): void {
    this.gcDueJ = dueJ;
    this.scheduleGc(dueJ);
  }

  private scheduleGc(dueJ: number): void {
    if (this.gcEvent >= 0) this.sim.cancel(this.gcEvent);
    this.gcEvent = this.sim.at(Math.max(this.sim.now, dueJ * this.jiffyNs), this.hGc);
  }

  /** Re-arms an idle gc chain at the tick it would have reached by now. */
  private armGc(): void {
    if (this.gcEvent >= 0 || !this.up || this.gcDueJ < 0) return;
    const nowJ = this.jiffies(this.sim.now);
    const period = Math.max(this.holdJ, this.msecsToJiffies(10));
    let due = this.gcDueJ;
    if (due < nowJ) due += Math.ceil((nowJ - due) / period) * period;
    this.modGc(due);
  }

  /**
   * A local entry for a port's (or br0's, portNo 0) address; if several ports share the MAC the
   * first keeps it. A non-local entry for the address is replaced.
   * @models linux net/bridge/br_fdb.c fdb_add_local()
   */
  private fdb_add_local(portNo: number, mac: number): void {
    if (!isValidKey(mac)) return;
    const t = this.fdbTable;
    const e = t.find(mac);
    if (e >= 0) {
      if ((t.flags[e]! & FDB_LOCAL) !== 0) return; // "just use the first one"
      t.remove(e);
    }
    t.create(mac, portNo, FDB_LOCAL | FDB_STATIC, this.sim.now);
  }

  /**
   * Deletes a local entry unless another port (newest first) or the bridge itself has the address,
   * in which case the entry passes to it.
   * @models linux net/bridge/br_fdb.c fdb_delete_local()
   */
  private fdb_delete_local(exceptNo: number, e: number): void {
    const t = this.fdbTable;
    const mac = t.mac[e]!;
    for (const op of this.portList) {
      if (op.no !== exceptNo && op.mac === mac) {
        t.port[e] = op.no;
        t.flags[e] = t.flags[e]! & ~FDB_ADDED_BY_USER;
        return;
      }
    }
    if (exceptNo !== 0 && this.mac === mac) {
      t.port[e] = 0;
      t.flags[e] = t.flags[e]! & ~FDB_ADDED_BY_USER;
      return;
    }
    t.remove(e);
  }

  /**
   * Deletes a port's entries: dynamic only (carrier loss), or all (port removal).
   * @models linux net/bridge/br_fdb.c br_fdb_delete_by_port()
   */
  private br_fdb_delete_by_port(no: number, doAll: boolean, why: string, name: string): void {
    const t = this.fdbTable;
    let n = 0;
    for (let e = t.head; e >= 0;) {
      const next = t.next[e]!;
      if (t.port[e] === no && (doAll || (t.flags[e]! & FDB_STATIC) === 0)) {
        if ((t.flags[e]! & FDB_LOCAL) !== 0) this.fdb_delete_local(no, e);
        else t.remove(e);
        n++;
      }
      e = next;
    }
    if (this.tpFlush.on) this.tpFlush.emit({ bridge: this.name, port: name, entries: n, why });
  }

  // ─────────────────────────────── bridge id, MTU, port state ───────────────────────────────

  /**
   * Unless set by the user, br0 takes the numerically lowest port MAC (00:00:00:00:00:00 with no
   * ports, as the kernel does). @models linux net/bridge/br_stp_if.c br_stp_recalculate_bridge_id()
   */
  private br_stp_recalculate_bridge_id(): void {
    if (this.macSetByUser) return;
    let addr = -1;
    for (const p of this.portList) if (addr < 0 || p.mac < addr) addr = p.mac;
    if (addr < 0) addr = 0;
    if (addr === this.bridgeIdAddr) return;
    this.br_stp_change_bridge_id(addr);
  }

  /** @models linux net/bridge/br_stp_if.c br_stp_change_bridge_id(), br_fdb.c br_fdb_change_mac_address() */
  private br_stp_change_bridge_id(addr: number): void {
    const t = this.fdbTable;
    const e = t.find(this.mac);
    if (e >= 0 && (t.flags[e]! & FDB_LOCAL) !== 0 && t.port[e] === 0 && (t.flags[e]! & FDB_ADDED_BY_USER) === 0) {
      this.fdb_delete_local(0, e);
    }
    this.fdb_add_local(0, addr);
    this.bridgeIdAddr = addr;
    this.mac = addr;
  }

  /** @models linux net/bridge/br_if.c br_mtu_auto_adjust() */
  private br_mtu_auto_adjust(): void {
    if (this.mtuSetByUser) return;
    let m = 0;
    for (const p of this.portList) if (m === 0 || p.mtu < m) m = p.mtu;
    this.mtu = m === 0 ? 1500 : m;
  }

  /** @models linux net/bridge/br_if.c br_port_carrier_check() */
  private br_port_carrier_check(p: BridgePort): void {
    if (!this.up) return;
    if (p.up && p.carrier) {
      if (p.state === BR_STATE_DISABLED) this.br_stp_enable_port(p);
    } else if (p.state !== BR_STATE_DISABLED) {
      this.br_stp_disable_port(p, p.up ? 'carrier down' : 'port down');
    }
  }

  /** @models linux net/bridge/br_stp_if.c br_stp_enable_port() (br_init_port: BLOCKING, then selection) */
  private br_stp_enable_port(p: BridgePort): void {
    this.br_set_state(p, BR_STATE_BLOCKING, 'enable');
    this.br_port_state_selection();
  }

  /** @models linux net/bridge/br_stp_if.c br_stp_disable_port() */
  private br_stp_disable_port(p: BridgePort, why: string): void {
    this.br_set_state(p, BR_STATE_DISABLED, why);
    this.br_fdb_delete_by_port(p.no, false, why, p.name);
    this.br_port_state_selection();
  }

  /**
   * With STP off every port is designated: BLOCKING ports go straight to FORWARDING
   * (br_make_forwarding); other states are left alone.
   * @models linux net/bridge/br_stp.c br_port_state_selection()
   */
  private br_port_state_selection(): void {
    for (const p of this.portList) {
      if (p.state === BR_STATE_BLOCKING) this.br_set_state(p, BR_STATE_FORWARDING, 'stp off');
    }
  }

  private br_set_state(p: BridgePort, state: number, why: string): void {
    if (p.state === state) return;
    p.state = state;
    if (this.tpPort.on) this.tpPort.emit({ bridge: this.name, port: p.name, state: PORT_STATE_NAMES[state]!, why });
  }
}

/** The 48-bit key from the upper 16 bits and the lower 32 bits (any int32 form). */
function hlKey(hi: number, lo: number): number {
  return hi * 0x1_0000_0000 + (lo >>> 0);
}

function checkBridgeGroupFwdMask(mask: number, param: string): number {
  if (!Number.isInteger(mask) || mask < 0 || mask > 0xffff || (mask & BR_GROUPFWD_RESTRICTED) !== 0) {
    throw new Error(`${param}: ${mask} is not allowed; use a 16-bit mask without bits 0-2 (STP, PAUSE, LACP cannot be forwarded; EINVAL)`);
  }
  return mask;
}

/**
 * br_validate_ipv4()/ip_mc_check_iphdr(): the IPv4 total length if the header at `ip` is sound
 * (version 4, ihl >= 5, whole header present, header checksum, ihl*4 <= tot_len <= bytes present),
 * else -1.
 */
export function ipv4CheckedLength(bytes: Uint8Array, ip: number, avail: number): number {
  if (avail < 20) return -1;
  const vihl = bytes[ip]!;
  const ihl = (vihl & 0x0f) * 4;
  if (vihl >> 4 !== 4 || ihl < 20 || avail < ihl) return -1;
  let sum = 0;
  for (let i = 0; i < ihl; i += 2) sum += (bytes[ip + i]! << 8) | bytes[ip + i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  if (sum !== 0xffff) return -1;
  const tot = (bytes[ip + 2]! << 8) | bytes[ip + 3]!;
  if (tot > avail || tot < ihl) return -1;
  return tot;
}

/**
 * What multicast snooping refuses (br_multicast_rcv → ip_mc_check_igmp / ipv6_mc_check_mld): a
 * malformed IPv4 header, a malformed IGMP message (short, bad checksum), or a malformed IPv6
 * header. Non-IP multicast is always fine.
 * @simplified IPv6 extension headers and MLD message checks are not parsed.
 */
function multicastHeaderOk(bytes: Uint8Array, off: number, len: number, tagged: boolean): boolean {
  const l3 = off + ETH_HLEN + (tagged ? VLAN_HLEN : 0);
  const avail = len - (l3 - off);
  const etype = (bytes[l3 - 2]! << 8) | bytes[l3 - 1]!;
  if (etype === 0x0800) {
    const tot = ipv4CheckedLength(bytes, l3, avail);
    if (tot < 0) return false;
    const ihl = (bytes[l3]! & 0x0f) * 4;
    if (bytes[l3 + 9] !== 2) return true; // not IGMP: -ENOMSG, accepted
    const tl = tot - ihl;
    if (tl < 8) return false;
    let sum = 0;
    const t0 = l3 + ihl;
    for (let i = 0; i + 1 < tl; i += 2) sum += (bytes[t0 + i]! << 8) | bytes[t0 + i + 1]!;
    if (tl & 1) sum += bytes[t0 + tl - 1]! << 8;
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    return sum === 0xffff;
  }
  if (etype === 0x86dd) {
    if (avail < 40 || bytes[l3]! >> 4 !== 6) return false;
    const payload = (bytes[l3 + 4]! << 8) | bytes[l3 + 5]!;
    return payload > 0 && 40 + payload <= avail;
  }
  return true;
}
