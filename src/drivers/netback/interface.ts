/**
 * The vif: dom0's net_device for one guest interface (`vif<domid>.<handle>`, MAC
 * fe:ff:ff:ff:ff:ff so the bridge never picks it as its root MAC), its queues, and the
 * connect/disconnect of the data rings (GNTTABOP_map_grant_ref of the ring pages,
 * EVTCHNOP_bind_interdomain of the frontend's ports).
 *
 * Directions: the vif's net_device counters are dom0's view — `stats.rx_*` counts what the
 * GUEST transmitted, `stats.tx_*` what it received (as `ip -s link show vif1.0` does). The
 * ring-level counters in `counters` (registered as `vif<domid>.<handle>` in sim.counters) are
 * named from the guest's point of view after the ring they concern: `tx_*` = the tx ring
 * (guest transmit), `rx_*` = the rx ring (guest receive).
 *
 * Constructor (for src/topo): `nb.xenvif_alloc(domid, handle, design?)` creates the vif; the
 * xenbus backend (xenbus.ts) or the caller then calls `vif.connect({...})` with what the
 * frontend wrote in xenstore. The bridge enslaves the vif like any net_device; dom0's stack
 * calls `ndo_start_xmit` to send to the guest.
 *
 * Event channels: a modern vif binds the frontend's ports with the lateeoi chip (XSA-332), so
 * each queue tracks which handler owes its channel an EOI (`eoiPending`, Linux's
 * queue->eoi_pending) and `irqStats()` shows each channel's events, spurious events and EOI
 * delays; a classic vif binds plain handlers, as 2.6.18 did.
 *
 * @models torvalds/linux drivers/net/xen-netback/interface.c (xenvif_alloc, xenvif_start_xmit,
 *   xenvif_connect_data, xenvif_disconnect_data, xenvif_carrier_on/off) and, for classic vifs,
 *   bronson/linux-2.6.18.8-ovz-xen drivers/xen/netback/interface.c (netif_alloc, netif_map)
 */
import { NetDevice, NETDEV_TX_OK, NETIF_F_FRAGLIST, NETIF_F_IP_CSUM, NETIF_F_IPV6_CSUM, NETIF_F_SG, NETIF_F_TSO, NETIF_F_TSO6, type NetdevTx } from '../../net/netdevice';
import type { SkBuff } from '../../net/skb';
import { macKeyAt } from '../../wire/address';
import { isMulticastKey, MAC_BROADCAST } from '../../net/bridge/mac';
import { SharedRing, BACK_RING_ATTACH, RING_SIZE } from '../../io/ring';
import { GNTMAP_host_map, GNTST_okay, XEN_PAGE_SIZE } from '../../io/xen-constants';
import { EINVAL } from '../../xen/constants';
import type { GnttabMapGrantRef } from '../../xen/grant_table';
import { lateeoiIrqRows, XEN_EOI_FLAG_SPURIOUS, type IrqRow } from '../../xen/event_channel';
import { ringWalkIds } from './walk-ids';
import { ringPageWalkBorn } from '../../net/walk';
import { XenvifQueue, XEN_NETBACK_TX_COPY_LEN } from './common';
import type { NetbackDriver } from './driver';
import {
  NETBK_COMMON_EOI, xenvif_handle_tx_interrupt, xenvif_lateeoi, xenvif_mcast_match, xenvif_tx_interrupt,
} from './modern/netback';
import {
  xenvif_handle_rx_interrupt, xenvif_rx_interrupt, xenvif_rx_queue_tail, xenvif_rx_queue_purge,
} from './modern/rx';
import { netif_be_start_xmit } from './classic/netback';
import { skb_tx_hash } from '../../net/flow-hash';

export type VifDesign = 'modern' | 'classic';

/** The destination MAC at `at` has the group bit set and is not ff:ff:ff:ff:ff:ff. */
/** EIO / EOPNOTSUPP as netback returns them. */
const EIO = 5;
const EOPNOTSUPP = 95;
/** ETH_DATA_LEN; max MTU with SG: 65535 - VLAN_ETH_HLEN (modern) / 65535 - ETH_HLEN (2.6.18). */
const ETH_DATA_LEN = 1500;

/** One queue's ring refs and event channels, as the frontend wrote them. */
export interface VifQueueKeys {
  txRingRef: number;
  rxRingRef: number;
  /** event-channel-tx (or event-channel when shared). */
  txEvtchn: number;
  /** event-channel-rx (equal to txEvtchn when the frontend uses one channel). */
  rxEvtchn: number;
}

/** What connect() reads from the frontend's xenstore keys (reference §7.3). */
export interface VifConnectConfig {
  queues: VifQueueKeys[];
  /** request-rx-copy (modern requires it; classic flips pages without it). */
  rxCopy: boolean;
  /** feature-rx-notify (absent: 30 ms drain timeout, no stall detection). */
  rxNotify?: boolean;
  /** feature-sg */
  canSg?: boolean;
  /** feature-gso-tcpv4 / -tcpv6 */
  gsoTcpv4?: boolean;
  gsoTcpv6?: boolean;
  /** !feature-no-csum-offload */
  ipCsum?: boolean;
  /** feature-ipv6-csum-offload */
  ipv6Csum?: boolean;
  /** request-multicast-control: deliver only subscribed multicast (MCAST_ADD extras) to the guest. */
  multicastControl?: boolean;
}

/** Ring-level counters of a vif (guest view: tx = guest transmit ring, rx = guest receive ring). */
export interface VifCounters {
  [k: string]: number;
  tx_polls: number; tx_requests: number; tx_copy_ops: number; tx_map_ops: number; tx_unmap_ops: number;
  tx_responses: number; tx_error_responses: number; tx_null_responses: number; tx_notifies: number;
  tx_dropped: number; tx_zerocopy_sent: number; tx_zerocopy_success: number; rx_gso_checksum_fixup: number;
  rx_runs: number; rx_copy_ops: number; rx_copy_errors: number; rx_transfer_ops: number; rx_responses: number;
  rx_notifies: number; rx_dropped: number; rx_queue_stops: number; fatal_errors: number; irqs: number; tx_frag_overflow: number;
  /** Late EOIs flagged spurious (the interrupt found no work) and the jiffies their unmasks were deferred by (sysfs names). */
  spurious_events: number; jiffies_eoi_delayed: number;
}

/** One queue's event channel as dom0 sees it (src/xen/event_channel.ts IrqRow). */
export type VifIrqRow = IrqRow;

export class XenVif extends NetDevice {
  readonly counters: VifCounters;
  readonly queues: XenvifQueue[] = [];
  /** vif->disabled: set by xenvif_fatal_tx_err. */
  disabled = false;
  /** VIF_STATUS_CONNECTED */
  connected = false;
  canSg = false;
  /** Bits (1 << XEN_NETIF_GSO_TYPE_*) the frontend accepts. */
  gsoMask = 0;
  ipCsum = true;
  ipv6Csum = false;
  /** Classic: guest receive by copy (true) or by page flipping (false). */
  rxCopy = true;
  drainTimeoutNs = 0;
  stallTimeoutNs = 0;
  stalledQueues = 0;
  /** vif->multicast_control (request-multicast-control). */
  multicastControl = false;
  /** vif->fe_mcast_addr: the frontend's multicast addresses (MCAST_ADD/DEL extras), in order. */
  readonly mcastAddrs: number[] = [];
  /** vif->fe_mcast_count */
  get mcastCount(): number { return this.mcastAddrs.length; }
  /** The frontend domain's event-channel handlers bound for this vif (local ports). */
  private readonly boundPorts: number[] = [];
  /** queue->eoi_pending by queue id (NETBK_RX_EOI / NETBK_TX_EOI / NETBK_COMMON_EOI bits). */
  readonly eoiPending = new Uint8Array(64);
  /** Where drops are counted (sim.drops `where`). */
  readonly dropWhere: string;

  constructor(readonly nb: NetbackDriver, readonly domid: number, readonly handle: number, readonly design: VifDesign) {
    super(`vif${domid}.${handle}`, new Uint8Array([0xfe, 0xff, 0xff, 0xff, 0xff, 0xff]), ETH_DATA_LEN);
    this.carrier = false;
    this.dropWhere = this.name;
    this.counters = nb.sim.counters.register(this.name, {
      tx_polls: 0, tx_requests: 0, tx_copy_ops: 0, tx_map_ops: 0, tx_unmap_ops: 0,
      tx_responses: 0, tx_error_responses: 0, tx_null_responses: 0, tx_notifies: 0,
      tx_dropped: 0, tx_zerocopy_sent: 0, tx_zerocopy_success: 0, rx_gso_checksum_fixup: 0,
      rx_runs: 0, rx_copy_ops: 0, rx_copy_errors: 0, rx_transfer_ops: 0, rx_responses: 0,
      rx_notifies: 0, rx_dropped: 0, rx_queue_stops: 0, fatal_errors: 0, irqs: 0, tx_frag_overflow: 0,
      spurious_events: 0, jiffies_eoi_delayed: 0,
    } as VifCounters);
  }

  /** Largest MTU allowed now (xenvif_change_mtu). */
  get maxMtu(): number {
    if (!this.canSg) return ETH_DATA_LEN;
    return this.design === 'modern' ? 65535 - 18 : 65535 - 14;
  }

  /**
   * @models torvalds/linux drivers/net/xen-netback/interface.c xenvif_change_mtu()
   */
  ndo_change_mtu(mtu: number): void {
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > this.maxMtu) {
      throw new RangeError(`${this.name}: mtu ${mtu} is not allowed; use 68..${this.maxMtu} (${this.canSg ? 'feature-sg' : 'no feature-sg'})`);
    }
    this.mtu = mtu;
  }

  /** The frontend is connected and not disabled (xenvif_schedulable). */
  get schedulable(): boolean {
    return this.up && this.connected && !this.disabled;
  }

  /**
   * Guest receive entry point: dom0's stack (the bridge) transmits on the vif.
   * @models torvalds/linux drivers/net/xen-netback/interface.c xenvif_start_xmit()
   */
  ndo_start_xmit(skb: SkBuff): NetdevTx {
    if (this.design === 'classic') return netif_be_start_xmit(this, skb);
    return this.xenvif_start_xmit(skb);
  }

  /**
   * The vif queue for `skb`. Linux frontends never set a hash algorithm over the control ring, so
   * this is netdev_pick_tx: skb_tx_hash — the rx queue the NIC driver recorded (wrapped to the
   * number of queues), else dom0's flow hash scaled into [0, queues). A single queue is 0.
   * @models torvalds/linux drivers/net/xen-netback/interface.c xenvif_select_queue() (hash.alg NONE)
   * @simplified no control ring: no Toeplitz hash or mapping table.
   */
  override ndo_select_queue(skb: SkBuff): number {
    const n = this.queues.length;
    if (n <= 1) return 0;
    const recorded = skb.queueMapping !== 0;
    const q = skb_tx_hash(skb, this.nb.stack.hashrnd ?? 0, n) % n;
    const nb = this.nb;
    if (nb.tpStep.on) {
      nb.step(skb.id, 'xenvif_select_queue', 0, recorded
        ? `rx queue ${skb.queueMapping - 1} recorded by the NIC: queue ${q}`
        : `hash ${skb.hash.toString(16).padStart(8, '0')} scaled to ${n} queues: queue ${q}`);
    }
    return q;
  }

  /** @models torvalds/linux drivers/net/xen-netback/interface.c xenvif_start_xmit() */
  xenvif_start_xmit(skb: SkBuff): NetdevTx {
    const nb = this.nb;
    const nq = this.queues.length;
    nb.stepCost += nb.costs.xmit_ns;
    if (nq < 1) { this.dropXmit(skb, 'not_connected'); return NETDEV_TX_OK; }
    let index = skb.queueMapping;
    if (index >= nq) index %= nq;
    const q = this.queues[index]!;
    if (q.rx === null || !this.schedulable) { this.dropXmit(skb, this.disabled ? 'vif_disabled' : 'not_connected'); return NETDEV_TX_OK; }
    // No carrier test: with the carrier off (Guest Rx stalled) a skb that still gets here is
    // queued, and the drain timeout drops it; the bridge stops forwarding to the port first.
    if (this.multicastControl) {
      // skb->pkt_type == PACKET_MULTICAST (as eth_type_trans classed it): group bit set, not broadcast.
      const dst = macKeyAt(skb.head, skb.data);
      if (isMulticastKey(dst) && dst !== MAC_BROADCAST && !xenvif_mcast_match(this, dst)) {
        this.dropXmit(skb, 'mcast_filtered');
        return NETDEV_TX_OK;
      }
    }
    // hash.alg NONE: the hash is not for the frontend (no hash extra).
    skb.hash = 0;
    skb.swHash = false;
    skb.l4Hash = false;
    if (!xenvif_rx_queue_tail(q, skb, nb.sim.now + this.drainTimeoutNs)) {
      this.dropXmit(skb, 'rx_queue_full');
      return NETDEV_TX_OK;
    }
    if (nb.tpStep.on) nb.step(skb.id, 'xenvif_start_xmit', nb.costs.xmit_ns, `queue ${index}, ${q.rx_queue_len} B queued`);
    nb.kickRxThread(q);
    nb.flushCost();
    return NETDEV_TX_OK;
  }

  /** Drops an skb handed to start_xmit (dev->stats.tx_dropped, dom0 view). */
  dropXmit(skb: SkBuff, reason: string): void {
    this.stats.tx_dropped++;
    this.dropGuestRx(skb, reason);
    this.nb.flushCost();
  }

  /** Counts and frees a packet that will never reach the guest. */
  dropGuestRx(skb: SkBuff, reason: string): void {
    this.counters.rx_dropped++;
    this.nb.sim.drops.count(this.dropWhere, reason, skb.len, skb.id);
    this.nb.stack.pool.free(skb);
  }

  /**
   * Counts a guest packet netback refused or dropped on guest transmit. Only the model's ring
   * counter and sim.drops see it: neither netback counts these in the net_device stats
   * (xenvif_get_stats sums only packets and bytes; dev->stats.rx_dropped is the guest-RECEIVE
   * drop counter of xenvif_rx_queue_drop_expired / rx_queue_tail).
   */
  dropGuestTx(reason: string, bytes: number): void {
    this.counters.tx_dropped++;
    this.nb.sim.drops.count(this.dropWhere, reason, bytes);
  }

  /** Charges one event-channel interrupt. */
  chargeIrq(): void {
    this.counters.irqs++;
    this.nb.stepCost += this.nb.costs.irq_ns;
  }

  /** netif_carrier_on/off with a trace event. */
  setCarrier(on: boolean, reason: string): void {
    if (this.carrier === on) return;
    // Through netif_carrier_on/off so the bridge port (a carrier notifier) follows the vif.
    if (on) this.netif_carrier_on();
    else this.netif_carrier_off();
    const tp = this.nb.tpCarrier;
    if (tp.on) tp.emit({ vif: this.name, on, reason });
  }

  /**
   * Maps the rings and binds the event channels of every queue, then turns the carrier on.
   * Returns 0, or a negative errno (the connect fails and nothing stays mapped).
   * @models torvalds/linux drivers/net/xen-netback/xenbus.c connect() and interface.c xenvif_connect_data()
   */
  connect(cfg: VifConnectConfig): number {
    const nb = this.nb;
    const fail = (rc: number, reason: string): number => {
      this.disconnect();
      if (nb.tpConnect.on) nb.tpConnect.emit({ vif: this.name, queues: cfg.queues.length, rxCopy: cfg.rxCopy, sg: !!cfg.canSg, gsoMask: this.gsoMask, split: false, rc, reason });
      return rc;
    };
    if (this.connected) throw new Error(`${this.name}: connect() while connected; disconnect() first`);
    if (!Array.isArray(cfg.queues) || cfg.queues.length < 1) return fail(-EINVAL, 'multi-queue-num-queues = 0');
    if (cfg.queues.length > nb.params.max_queues) return fail(-EINVAL, `multi-queue-num-queues ${cfg.queues.length} > max_queues ${nb.params.max_queues}`);
    if (this.design === 'classic' && cfg.queues.length !== 1) return fail(-EINVAL, 'the 2.6.18 backend has one queue per vif');
    if (this.design === 'modern' && !cfg.rxCopy) return fail(-EOPNOTSUPP, 'frontend does not request-rx-copy (flip-only frontends are not supported)');
    this.rxCopy = cfg.rxCopy;
    this.canSg = !!cfg.canSg;
    this.gsoMask = (cfg.gsoTcpv4 ? 1 << 1 : 0) | (cfg.gsoTcpv6 ? 1 << 2 : 0);
    this.ipCsum = cfg.ipCsum ?? true;
    this.ipv6Csum = !!cfg.ipv6Csum;
    this.multicastControl = !!cfg.multicastControl;
    // xenvif_fix_features (2.6.18: netif_set_features): offloads as the frontend negotiated, so
    // dom0 hands the vif CHECKSUM_PARTIAL and GSO skbs instead of finishing them in software.
    this.features = (this.canSg ? NETIF_F_SG : 0) | ((this.gsoMask & (1 << 1)) !== 0 ? NETIF_F_TSO : 0)
      | ((this.gsoMask & (1 << 2)) !== 0 ? NETIF_F_TSO6 : 0) | (this.ipCsum ? NETIF_F_IP_CSUM : 0) | (this.ipv6Csum ? NETIF_F_IPV6_CSUM : 0)
      | (this.design === 'modern' ? NETIF_F_FRAGLIST : 0); // xenvif's hw_features; 2.6.18's vif had none
    const rxNotify = cfg.rxNotify ?? true;
    this.drainTimeoutNs = (rxNotify ? nb.params.rx_drain_timeout_msecs : 30) * 1_000_000;
    this.stallTimeoutNs = rxNotify ? nb.params.rx_stall_timeout_msecs * 1_000_000 : 0;
    this.disabled = false;
    this.netif_set_real_num_tx_queues(cfg.queues.length);
    for (let i = 0; i < cfg.queues.length; i++) {
      const q = new XenvifQueue(this, i);
      q.uid = nb.addQueue(q);
      q.kaddrBase = nb.allocKaddrRange();
      q.rx_queue_max = nb.params.rx_queue_max_bytes;
      this.queues.push(q);
      const rc = this.connectData(q, cfg.queues[i]!);
      if (rc !== 0) return fail(rc, rc === -EIO ? 'ring has an impossible req_prod - rsp_prod' : `queue ${i}: mapping a ring or binding an event channel failed`);
    }
    if (this.design === 'classic') nb.classic.netif_map(this, rxNotify);
    this.connected = true;
    if (this.design === 'classic') {
      this.stalledQueues = 0;
      this.setCarrier(true, 'connected');
    } else {
      // connect(): stalled_queues = requested_num_queues; xenvif_connect_data(): queue->stalled.
      // The carrier comes on from the queues' kthreads, the last logging "Guest Rx ready".
      this.stalledQueues = this.queues.length;
      for (const q of this.queues) q.stalled = true;
    }
    if (nb.tpConnect.on) {
      const k = cfg.queues[0]!;
      nb.tpConnect.emit({ vif: this.name, queues: cfg.queues.length, rxCopy: cfg.rxCopy, sg: this.canSg, gsoMask: this.gsoMask, split: k.txEvtchn !== k.rxEvtchn, rc: 0, reason: 'connected' });
    }
    if (this.design === 'modern') for (const q of this.queues) nb.kickRxThread(q);
    return 0;
  }

  /** Maps one ring page writable; returns the mfn (and handle via the op), or -1. */
  private mapRing(ref: number, op: GnttabMapGrantRef, kaddr: number): number {
    op.host_addr = kaddr;
    op.flags = GNTMAP_host_map;
    op.ref = ref >>> 0;
    op.dom = this.domid;
    op.status = 0;
    op.handle = -1;
    op.dev_bus_addr = 0;
    this.nb.stepCost += this.nb.hv.map([op], 1);
    return op.status === GNTST_okay ? Math.floor(op.dev_bus_addr / XEN_PAGE_SIZE) : -1;
  }

  /**
   * @models torvalds/linux drivers/net/xen-netback/netback.c xenvif_map_frontend_data_rings() and
   *   interface.c xenvif_connect_data()
   */
  private connectData(q: XenvifQueue, k: VifQueueKeys): number {
    const nb = this.nb;
    const mem = nb.hv.mem;
    const op: GnttabMapGrantRef = { host_addr: 0, flags: 0, ref: 0, dom: 0, status: 0, handle: -1, dev_bus_addr: 0 };
    const txMfn = this.mapRing(k.txRingRef, op, q.kaddrBase + 0x1000000);
    if (txMfn < 0) return -EINVAL;
    q.txRingMfn = txMfn;
    q.txRingHandle = op.handle;
    const txs = new SharedRing(mem.page(txMfn), 12);
    const tx = BACK_RING_ATTACH(txs, txs.rsp_prod);
    q.tx = tx;
    if (((txs.req_prod - txs.rsp_prod) >>> 0) > RING_SIZE(tx)) return -EIO;
    const rxMfn = this.mapRing(k.rxRingRef, op, q.kaddrBase + 0x2000000);
    if (rxMfn < 0) return -EINVAL;
    q.rxRingMfn = rxMfn;
    q.rxRingHandle = op.handle;
    const rxs = new SharedRing(mem.page(rxMfn), 8);
    const rx = BACK_RING_ATTACH(rxs, rxs.rsp_prod);
    q.rx = rx;
    if (((rxs.req_prod - rxs.rsp_prod) >>> 0) > RING_SIZE(rx)) return -EIO;
    q.txWalk = ringWalkIds(mem, txMfn);
    q.rxWalk = ringWalkIds(mem, rxMfn);
    q.txBorn = ringPageWalkBorn(mem.page(txMfn));
    q.rxBorn = ringPageWalkBorn(mem.page(rxMfn));
    // Staging frames for the tx header copies (32 per frame) and whole-slot copies.
    if (this.design === 'modern') {
      const small = Math.ceil(nb.params.napi_weight / (XEN_PAGE_SIZE / XEN_NETBACK_TX_COPY_LEN));
      for (let i = 0; i < small; i++) q.landSmall.push(this.page());
      for (let i = 0; i < 4; i++) q.landBig.push(this.page());
    }
    const uidQ = q;
    this.eoiPending[q.id] = 0;
    if (k.txEvtchn === k.rxEvtchn) {
      const port = this.bindEvtchn(k.txEvtchn, () => this.interrupt(uidQ));
      if (port < 0) return port;
      q.txIrq = q.rxIrq = port;
      this.boundPorts.push(port);
    } else {
      const tp = this.bindEvtchn(k.txEvtchn, () => this.txInterrupt(uidQ));
      if (tp < 0) return tp;
      q.txIrq = tp;
      this.boundPorts.push(tp);
      const rp = this.bindEvtchn(k.rxEvtchn, () => this.rxInterrupt(uidQ));
      if (rp < 0) return rp;
      q.rxIrq = rp;
      this.boundPorts.push(rp);
    }
    nb.flushCost();
    return 0;
  }

  /**
   * Binds one of the frontend's ports: modern netback with the lateeoi chip (XSA-332; unless
   * `netback.lateeoi` is false), the 2.6.18 backend with a plain handler (it had no lateeoi).
   * @models torvalds/linux drivers/net/xen-netback/interface.c xenvif_connect_data():
   *   `err = bind_interdomain_evtchn_to_irqhandler_lateeoi(dev, tx_evtchn, xenvif_tx_interrupt, 0, queue->tx_irq_name, queue);`
   */
  private bindEvtchn(remotePort: number, handler: (port: number) => void): number {
    const nb = this.nb;
    const hv = nb.hv;
    if (this.design === 'modern' && nb.useLateEoi) {
      return hv.bindInterdomainLateeoi!(this.domid, remotePort, handler, { hz: nb.hz, spuriousThreshold: nb.params.spurious_threshold });
    }
    return hv.bindInterdomain(this.domid, remotePort, handler);
  }

  /**
   * The event channels of every queue with their irq statistics (lateeoi ports only; empty for a
   * classic vif or with `netback.lateeoi` false).
   */
  irqStats(): VifIrqRow[] {
    const hv = this.nb.hv;
    if (hv.lateeoiStats === undefined) return [];
    return lateeoiIrqRows(this.queues.map((q) => ({ id: q.id, txPort: q.txIrq, rxPort: q.rxIrq })), (port) => hv.lateeoiStats!(port));
  }

  private page(): number {
    const mfn = this.nb.hv.allocPage();
    if (mfn < 0) throw new Error(`${this.name}: out of host memory for netback's staging pages`);
    return mfn;
  }

  /**
   * One channel for both directions. Modern: the EOI is owed by whichever side had work (each
   * clears NETBK_COMMON_EOI when it EOIs), or given at once, flagged spurious, when neither had:
   *
   *   old = atomic_fetch_or(NETBK_COMMON_EOI, &queue->eoi_pending);
   *   WARN(old, "Interrupt while EOI pending\n");
   *   has_tx = xenvif_handle_tx_interrupt(queue);
   *   has_rx = xenvif_handle_rx_interrupt(queue);
   *   if (!has_rx && !has_tx) {
   *     atomic_andnot(NETBK_COMMON_EOI, &queue->eoi_pending);
   *     xen_irq_lateeoi(irq, XEN_EOI_FLAG_SPURIOUS);
   *   }
   *
   * @models torvalds/linux drivers/net/xen-netback/interface.c xenvif_interrupt()
   */
  private interrupt(q: XenvifQueue): void {
    if (this.design === 'classic') {
      this.txInterrupt(q);
      this.rxInterrupt(q);
      return;
    }
    const ep = this.eoiPending;
    ep[q.id] = ep[q.id]! | NETBK_COMMON_EOI;
    const hasTx = xenvif_handle_tx_interrupt(q);
    const hasRx = xenvif_handle_rx_interrupt(q);
    if (!hasRx && !hasTx) {
      ep[q.id] = ep[q.id]! & ~NETBK_COMMON_EOI;
      xenvif_lateeoi(this, q.txIrq, XEN_EOI_FLAG_SPURIOUS);
    }
    this.nb.flushCost();
  }

  private txInterrupt(q: XenvifQueue): void {
    if (this.design === 'classic') this.nb.classic.netif_be_int(this, q);
    else xenvif_tx_interrupt(q);
    this.nb.flushCost();
  }

  /**
   * The frontend posted rx buffers (feature-rx-notify): wake the guest-receive side.
   * @models torvalds/linux drivers/net/xen-netback/interface.c xenvif_rx_interrupt()
   */
  private rxInterrupt(q: XenvifQueue): void {
    if (this.design === 'classic') { this.nb.classic.rxInterrupt(this); return; }
    xenvif_rx_interrupt(q);
    this.nb.flushCost();
  }

  /**
   * Unbinds the event channels, unmaps the rings (after in-flight guest pages come back) and
   * drops everything queued for the guest.
   * @models torvalds/linux drivers/net/xen-netback/interface.c xenvif_disconnect_data()
   */
  disconnect(): void {
    const nb = this.nb;
    const wasConnected = this.connected;
    this.connected = false;
    this.setCarrier(false, 'disconnect');
    for (const p of this.boundPorts) nb.hv.unbind(p);
    this.boundPorts.length = 0;
    this.eoiPending.fill(0);
    for (const q of this.queues) {
      q.kthreadStopped = true;
      if (q.rxTimerId >= 0) { nb.sim.cancel(q.rxTimerId); q.rxTimerId = -1; }
      if (q.rx !== null) xenvif_rx_queue_purge(q, 'disconnect');
      const unmaps = [];
      if (q.txRingHandle >= 0) unmaps.push({ host_addr: q.kaddrBase + 0x1000000, dev_bus_addr: 0, handle: q.txRingHandle, status: 0 });
      if (q.rxRingHandle >= 0) unmaps.push({ host_addr: q.kaddrBase + 0x2000000, dev_bus_addr: 0, handle: q.rxRingHandle, status: 0 });
      if (unmaps.length) nb.stepCost += nb.hv.unmap(unmaps, unmaps.length);
      q.txRingHandle = q.rxRingHandle = -1;
      q.tx = null;
      q.rx = null;
    }
    if (this.design === 'classic') nb.classic.netif_disconnect(this);
    this.queues.length = 0;
    // xenvif_mcast_addr_list_free()
    this.mcastAddrs.length = 0;
    nb.flushCost();
    if (wasConnected && nb.tpDisconnect.on) nb.tpDisconnect.emit({ vif: this.name });
  }
}
