/**
 * netfront's control plane: probe, the XenbusState handshake with netback, ring and event-channel
 * setup, the xenstore keys, and teardown.
 *
 *   frontend                                   backend (netback)
 *   netfront_probe: state Initialising  ──►    sees Initialising → InitWait
 *   netback_changed(InitWait):
 *     xennet_connect → talk_to_netback:
 *       rings (grant each page to the backend), event channel(s),
 *       one transaction: tx-ring-ref, rx-ring-ref, event-channel(-tx/-rx),
 *       [multi-queue-num-queues, queue-N/…], request-rx-copy, feature-rx-notify,
 *       feature-sg, feature-gso-tcpv4, feature-gso-tcpv6, feature-ipv6-csum-offload
 *     carrier on, kick tx (and rx), post rx buffers
 *     state Connected                      ──►  maps rings, binds channels → Connected
 *   netback_changed(Connected): netdev_notify_peers
 *   netback_changed(Closing | Closed):  xenbus_frontend_closed → Closed, release everything
 *
 * Constructor (the host builder's entry point):
 *
 *   const np = netfront_probe({ sim, params, xen, stack, nodename: '/local/domain/1/device/vif/0' });
 *   np.netdev        // the guest's eth0 (a NetDevice); give it to the guest stack
 *
 * The toolstack must already have written `<nodename>/backend`, `<nodename>/backend-id` and
 * `<nodename>/mac` (and optionally `trusted`); the backend's `state` is watched from then on.
 *
 * @models torvalds/linux drivers/net/xen-netfront.c netfront_probe(), xennet_create_dev(),
 *   netback_changed(), xennet_connect(), talk_to_netback(), setup_netfront(), setup_netfront_single(),
 *   setup_netfront_split(), write_queue_xenstore_keys(), xennet_init_queue(), xennet_fix_features(),
 *   xennet_disconnect_backend(), xennet_release_tx_bufs(), xennet_release_rx_bufs()
 * @models bronson/linux-2.6.18.8-ovz-xen drivers/xen/netfront/netfront.c network_connect() (copying_receiver)
 * @simplified probe does not block waiting for the backend; xenbus_dev_fatal is a thrown-free
 *   error state (`np.fatal`); suspend/resume and XDP reconfiguration are not modeled.
 */
import { SharedRing, XEN_FRONT_RING_INIT } from '../../io/ring';
import { NETIF_SIZEOF } from '../../io/netif';
import { EAGAIN, ENODEV, INVALID_GRANT_REF, NET_RX_RING_SIZE, NET_TX_RING_SIZE, RX_DFL_MIN_TARGET, XENBUS_STATE_NAMES } from './constants';
import {
  XenbusStateClosed, XenbusStateClosing, XenbusStateConnected, XenbusStateInitialised, XenbusStateInitialising,
  XenbusStateInitWait, XenbusStateReconfigured, XenbusStateReconfiguring, XenbusStateUnknown,
} from '../../io/xen-constants';
import { NetfrontInfo, type NetfrontInfoOptions } from './info';
import { GuestPagePool } from './pages';
import { NetfrontQueue } from './queue';
import { xenbus_scan_u32 } from '../../xen/xenbus';
import { napiRun, rx_refill_timeout, xennet_alloc_rx_buffers, xennet_interrupt, xennet_rx_interrupt } from './rx';
import { xennet_tx_interrupt } from './tx';
import { ringPageWalkBorn, ringPageWalkIds } from '../../net/walk';
import { NETIF_F_GRO, NETIF_F_IP_CSUM, NETIF_F_IPV6_CSUM, NETIF_F_SG, NETIF_F_TSO, NETIF_F_TSO6 } from '../../net/netdevice';

/** The frontend's view of the xenbus device (struct xenbus_device + the driver's error state). */
export interface NetfrontXenbusState {
  /** Set when the driver gave up (xenbus_dev_fatal): the message. */
  fatal: string;
  unwatch: (() => void) | null;
  /** Backend state last seen by the watch. */
  backendState: number;
}

const xbState = new WeakMap<NetfrontInfo, NetfrontXenbusState>();

/** The xenbus bookkeeping of a probed device. */
export function xenbusOf(np: NetfrontInfo): NetfrontXenbusState {
  const s = xbState.get(np);
  if (s === undefined) throw new Error(`netfront ${np.netdev.name}: not probed (use netfront_probe)`);
  return s;
}

/** xenbus_read_unsigned(): the backend's value as the kernel's sscanf "%u" reads it, or the default. */
function readUnsigned(np: NetfrontInfo, path: string, dflt: number): number {
  const v = np.xen.xenbus.read(path);
  return v === null ? dflt : xenbus_scan_u32(v) ?? dflt;
}

/**
 * Writes the frontend's `state` node.
 * @models torvalds/linux drivers/xen/xenbus/xenbus_client.c xenbus_switch_state()
 */
export function xenbus_switch_state(np: NetfrontInfo, state: number): void {
  if (np.state === state) return;
  const from = np.state;
  np.state = state;
  np.xen.xenbus.write(0, `${np.nodename}/state`, String(state));
  if (np.tpState.on) np.tpState.emit({ dev: np.netdev.name, from, to: state, name: XENBUS_STATE_NAMES[state] ?? String(state) });
}

function fatal(np: NetfrontInfo, err: number, msg: string): number {
  xenbusOf(np).fatal = `${msg} (error ${err})`;
  return err;
}

/**
 * Creates the device, switches to Initialising and starts watching the backend's state.
 * @models torvalds/linux drivers/net/xen-netfront.c netfront_probe(), xennet_create_dev()
 */
export function netfront_probe(o: NetfrontInfoOptions): NetfrontInfo {
  const np = new NetfrontInfo(o);
  const xs = np.xen.xenbus;
  const backend = xs.read(`${np.nodename}/backend`);
  const backendId = xs.read(`${np.nodename}/backend-id`);
  if (backend === null || backendId === null || !/^\d+$/.test(backendId)) {
    throw new Error(`netfront_probe: ${np.nodename} needs 'backend' and 'backend-id' written by the toolstack (got backend=${backend}, backend-id=${backendId})`);
  }
  np.otherend = backend;
  np.otherendId = Number(backendId);
  const st: NetfrontXenbusState = { fatal: '', unwatch: null, backendState: XenbusStateUnknown };
  xbState.set(np, st);
  np.onPoll = (qi) => { const q = np.queues[qi]; if (q !== undefined) napiRun(q); };
  np.onRefill = (qi) => { const q = np.queues[qi]; if (q !== undefined) rx_refill_timeout(q); };
  xenbus_switch_state(np, XenbusStateInitialising);
  st.unwatch = xs.watch(`${np.otherend}/state`, () => {
    const s = readUnsigned(np, `${np.otherend}/state`, XenbusStateUnknown);
    st.backendState = s;
    netback_changed(np, s);
  });
  return np;
}

/**
 * Reacts to the backend's XenbusState.
 * @models torvalds/linux drivers/net/xen-netfront.c netback_changed()
 */
export function netback_changed(np: NetfrontInfo, backendState: number): void {
  switch (backendState) {
    case XenbusStateInitialising:
    case XenbusStateInitialised:
    case XenbusStateReconfiguring:
    case XenbusStateReconfigured:
    case XenbusStateUnknown:
      break;
    case XenbusStateInitWait:
      if (np.state !== XenbusStateInitialising) break;
      if (xennet_connect(np) !== 0) break;
      xenbus_switch_state(np, XenbusStateConnected);
      break;
    case XenbusStateConnected:
      // netdev_notify_peers: a gratuitous ARP would go out here (left to the guest stack).
      break;
    case XenbusStateClosed:
      // Missed the backend's Closing state: close as for Closing.
      if (np.state !== XenbusStateClosed) xenbus_frontend_closed(np);
      break;
    case XenbusStateClosing:
      xenbus_frontend_closed(np);
      break;
  }
}

/**
 * Frontend side of closing: release everything and switch to Closed.
 * @models torvalds/linux drivers/xen/xenbus/xenbus_client.c xenbus_frontend_closed()
 */
export function xenbus_frontend_closed(np: NetfrontInfo): void {
  xennet_disconnect_backend(np);
  xenbus_switch_state(np, XenbusStateClosed);
}

/**
 * Connects to the backend: negotiate, set up the rings, go live.
 * @models torvalds/linux drivers/net/xen-netfront.c xennet_connect()
 */
export function xennet_connect(np: NetfrontInfo): number {
  const rxCopy = readUnsigned(np, `${np.otherend}/feature-rx-copy`, 0);
  if (np.classic) {
    // Copy if requested and supported, or if flipping was requested but is unsupported.
    const rxFlip = readUnsigned(np, `${np.otherend}/feature-rx-flip`, 1);
    const wantCopy = np.p.rx_mode === 'copy';
    np.copyingReceiver = (wantCopy && rxCopy !== 0) || (!wantCopy && rxFlip === 0);
  } else {
    if (rxCopy === 0) return fatal(np, -ENODEV, 'backend does not support copying receive path');
    np.copyingReceiver = true;
  }
  const err = talk_to_netback(np);
  if (err !== 0) return err;
  xennet_fix_features(np);
  np.netdev.carrier = true;
  for (const q of np.queues) {
    np.xen.notify_remote_via_evtchn(q.tx_evtchn);
    if (q.rx_evtchn !== q.tx_evtchn) np.xen.notify_remote_via_evtchn(q.rx_evtchn);
    xennet_alloc_rx_buffers(q);
  }
  return 0;
}

/**
 * Prunes SG / TSO / TSO6 to what the backend advertises.
 * @models torvalds/linux drivers/net/xen-netfront.c xennet_fix_features(), xennet_set_features()
 */
export function xennet_fix_features(np: NetfrontInfo): void {
  np.featureSg = readUnsigned(np, `${np.otherend}/feature-sg`, 0) !== 0;
  np.featureTso = readUnsigned(np, `${np.otherend}/feature-gso-tcpv4`, 0) !== 0;
  np.featureTso6 = !np.classic && readUnsigned(np, `${np.otherend}/feature-gso-tcpv6`, 0) !== 0;
  if (!np.featureSg && np.netdev.mtu > 1500) np.netdev.mtu = 1500;
  // dev->features: IP_CSUM always (xennet_create_dev; 2.6.18 create_netdev), IPV6_CSUM with
  // feature-ipv6-csum-offload, SG/TSO/TSO6 as negotiated; the guest stack then hands netfront
  // CHECKSUM_PARTIAL and GSO skbs, which go out as NETTXF_csum_blank and a GSO extra slot.
  const ipv6Csum = !np.classic && readUnsigned(np, `${np.otherend}/feature-ipv6-csum-offload`, 0) !== 0;
  // GRO: on for every device Linux registers (NETIF_F_SOFT_FEATURES); 2.6.18 had none.
  np.netdev.features = NETIF_F_IP_CSUM | (ipv6Csum ? NETIF_F_IPV6_CSUM : 0)
    | (np.featureSg ? NETIF_F_SG : 0) | (np.featureTso ? NETIF_F_TSO : 0) | (np.featureTso6 ? NETIF_F_TSO6 : 0)
    | (!np.classic && np.p.gro ? NETIF_F_GRO : 0);
}

function parseMac(s: string | null): Uint8Array | null {
  if (s === null || !/^([0-9a-fA-F]{1,2}:){5}[0-9a-fA-F]{1,2}$/.test(s)) return null;
  return Uint8Array.from(s.split(':').map((x) => Number.parseInt(x, 16)));
}

/**
 * Allocates the queues, their rings and event channels, and writes the frontend keys in one
 * transaction (retried on -EAGAIN).
 * @models torvalds/linux drivers/net/xen-netfront.c talk_to_netback()
 */
export function talk_to_netback(np: NetfrontInfo): number {
  const xs = np.xen.xenbus;
  np.bounce = !np.p.trusted || readUnsigned(np, `${np.nodename}/trusted`, 1) === 0;
  const hasMq = xs.read(`${np.otherend}/multi-queue-max-queues`) !== null;
  const maxQueues = readUnsigned(np, `${np.otherend}/multi-queue-max-queues`, 1);
  const numQueues = np.classic ? 1 : Math.max(1, Math.min(maxQueues, np.p.max_queues));
  const split = !np.classic && readUnsigned(np, `${np.otherend}/feature-split-event-channels`, 0) !== 0;
  const mac = parseMac(xs.read(`${np.nodename}/mac`));
  if (mac === null) return fatal(np, -22, `parsing ${np.nodename}/mac`);
  np.netdev.mac.set(mac);

  // For the case of a reconnect reset the "broken" indicator.
  if (np.queues.length > 0) xennet_disconnect_backend(np);
  np.broken = false;
  np.brokenReason = '';
  np.queues = [];
  for (let i = 0; i < numQueues; i++) {
    const q = xennet_init_queue(np, i);
    if (q === null) return fatal(np, -12, 'creating queues');
    np.queues.push(q);
  }
  np.netdev.netif_set_real_num_tx_queues(numQueues);
  for (const q of np.queues) {
    const e = setup_netfront(np, q, split);
    if (e !== 0) return fatal(np, e, 'setting up rings');
  }

  for (;;) {
    const tx = xs.transactionStart();
    if (tx < 0) return fatal(np, tx, 'starting transaction');
    const w = (path: string, v: string | number): number => xs.write(tx, path, String(v));
    let err = 0;
    if (hasMq && !np.classic) err ||= w(`${np.nodename}/multi-queue-num-queues`, numQueues);
    for (const q of np.queues) {
      const dir = numQueues === 1 ? np.nodename : `${np.nodename}/queue-${q.id}`;
      err ||= w(`${dir}/tx-ring-ref`, q.tx_ring_ref);
      err ||= w(`${dir}/rx-ring-ref`, q.rx_ring_ref);
      if (q.tx_evtchn === q.rx_evtchn) {
        err ||= w(`${dir}/event-channel`, q.tx_evtchn);
      } else {
        err ||= w(`${dir}/event-channel-tx`, q.tx_evtchn);
        err ||= w(`${dir}/event-channel-rx`, q.rx_evtchn);
      }
    }
    err ||= w(`${np.nodename}/request-rx-copy`, np.copyingReceiver ? 1 : 0);
    err ||= w(`${np.nodename}/feature-rx-notify`, 1);
    err ||= w(`${np.nodename}/feature-sg`, 1);
    err ||= w(`${np.nodename}/feature-gso-tcpv4`, 1);
    if (np.classic) {
      err ||= w(`${np.nodename}/feature-no-csum-offload`, 0);
    } else {
      err ||= w(`${np.nodename}/feature-gso-tcpv6`, '1');
      err ||= w(`${np.nodename}/feature-ipv6-csum-offload`, '1');
    }
    if (err !== 0) {
      xs.transactionEnd(tx, true);
      xennet_disconnect_backend(np);
      return fatal(np, err, 'writing frontend keys');
    }
    const end = xs.transactionEnd(tx, false);
    if (end === -EAGAIN) continue;
    if (end !== 0) {
      xennet_disconnect_backend(np);
      return fatal(np, end, 'completing transaction');
    }
    return 0;
  }
}

/**
 * Guest pages one queue takes when it is set up: its tx page pool (one page per tx slot), its
 * receive page pool (`netfront.rx_pool_pages`) and its two ring pages (xennet_init_queue,
 * setup_netfront). A guest needs this for each queue above the pages its kernel keeps.
 */
export function netfrontPagesPerQueue(rxPoolPages: number): number {
  return NET_TX_RING_SIZE + rxPoolPages + 2;
}

/**
 * Per-queue state: id free list, grant-ref pools for every tx and rx slot, page pools.
 * @models torvalds/linux drivers/net/xen-netfront.c xennet_init_queue(), xennet_create_page_pool()
 */
export function xennet_init_queue(np: NetfrontInfo, id: number): NetfrontQueue | null {
  const q = new NetfrontQueue(np, id, np.handle);
  q.gref_tx_head = np.xen.gnttab_alloc_grant_references(NET_TX_RING_SIZE);
  if (q.gref_tx_head === null) return null;
  q.gref_rx_head = np.xen.gnttab_alloc_grant_references(NET_RX_RING_SIZE);
  if (q.gref_rx_head === null) {
    np.xen.gnttab_free_grant_references(q.gref_tx_head);
    return null;
  }
  q.txPages = GuestPagePool.allocate(`${q.name}-tx`, np.xen, NET_TX_RING_SIZE);
  q.rxPages = GuestPagePool.allocate(`${q.name}-rx`, np.xen, np.p.rx_pool_pages);
  q.rx_target = RX_DFL_MIN_TARGET;
  return q;
}

/**
 * Rings (xenbus_setup_ring: allocate a page, grant it to the backend) and event channels.
 * @models torvalds/linux drivers/net/xen-netfront.c setup_netfront()
 */
export function setup_netfront(np: NetfrontInfo, q: NetfrontQueue, split: boolean): number {
  const xen = np.xen;
  const [txPfn, rxPfn] = xen.allocPages(2) as [number, number];
  q.tx_ring_pfn = txPfn;
  q.rx_ring_pfn = rxPfn;
  q.txSring = new SharedRing(xen.page(txPfn), NETIF_SIZEOF.netif_tx_sring_entry);
  q.tx = XEN_FRONT_RING_INIT(q.txSring);
  q.rxSring = new SharedRing(xen.page(rxPfn), NETIF_SIZEOF.netif_rx_sring_entry);
  q.rx = XEN_FRONT_RING_INIT(q.rxSring);
  q.txSlotPkt = ringPageWalkIds(xen.page(txPfn));
  q.rxSlotPkt = ringPageWalkIds(xen.page(rxPfn));
  q.txSlotBorn = ringPageWalkBorn(xen.page(txPfn));
  q.rxSlotBorn = ringPageWalkBorn(xen.page(rxPfn));
  const tref = xen.gnttab_grant_foreign_access(np.otherendId, xen.pfn_to_gfn(txPfn), false);
  const rref = xen.gnttab_grant_foreign_access(np.otherendId, xen.pfn_to_gfn(rxPfn), false);
  if (tref < 0 || rref < 0) return tref < 0 ? tref : rref;
  q.tx_ring_ref = tref;
  q.rx_ring_ref = rref;
  if (split) {
    const t = xen.xenbus_alloc_evtchn(np.otherendId);
    const r = t < 0 ? t : xen.xenbus_alloc_evtchn(np.otherendId);
    if (t >= 0 && r >= 0) {
      q.tx_evtchn = t;
      q.rx_evtchn = r;
      bindIrq(np, t, () => xennet_tx_interrupt(q));
      bindIrq(np, r, () => xennet_rx_interrupt(q));
      return 0;
    }
    if (t >= 0) xen.xenbus_free_evtchn(t);
    // Fall back to a single channel.
  }
  const port = xen.xenbus_alloc_evtchn(np.otherendId);
  if (port < 0) return port;
  q.tx_evtchn = q.rx_evtchn = port;
  bindIrq(np, port, () => xennet_interrupt(q));
  return 0;
}

/**
 * Binds one of netfront's ports: modern netfront with the lateeoi chip (XSA-391; unless
 * `netfront.lateeoi` is false), the 2.6.18 netfront with a plain handler (it had no lateeoi):
 *
 *   err = bind_evtchn_to_irqhandler_lateeoi(queue->tx_evtchn, xennet_tx_interrupt, 0,
 *                                           queue->tx_irq_name, queue);
 *
 * (likewise xennet_rx_interrupt on rx_evtchn, and xennet_interrupt on a single channel).
 * @models torvalds/linux drivers/net/xen-netfront.c setup_netfront_single(), setup_netfront_split()
 */
function bindIrq(np: NetfrontInfo, port: number, handler: (port: number) => void): void {
  if (np.useLateEoi) {
    np.xen.bind_evtchn_to_irqhandler_lateeoi!(port, handler, { hz: np.p.hz, spuriousThreshold: np.p.spurious_threshold });
  } else {
    np.xen.bind_evtchn_to_irqhandler(port, handler);
  }
}

/**
 * Carrier off; unbind the channels; end every grant (tx buffers, rx buffers, rings) and free what
 * they held.
 * @models torvalds/linux drivers/net/xen-netfront.c xennet_disconnect_backend(),
 *   xennet_release_tx_bufs(), xennet_release_rx_bufs()
 */
export function xennet_disconnect_backend(np: NetfrontInfo): void {
  const xen = np.xen;
  np.netdev.carrier = false;
  for (const q of np.queues) {
    if (q.refillArmed) {
      np.sim.cancel(q.refillTimer);
      q.refillArmed = false;
    }
    // unbind_from_irqhandler also closes the port (EVTCHNOP_close).
    if (q.tx_evtchn !== 0) {
      xen.unbind_from_irqhandler(q.tx_evtchn);
      if (q.rx_evtchn !== q.tx_evtchn) xen.unbind_from_irqhandler(q.rx_evtchn);
    }
    q.tx_evtchn = q.rx_evtchn = 0;
    // Release tx buffers.
    for (let id = 0; id < NET_TX_RING_SIZE; id++) {
      const skb = q.tx_skbs[id];
      if (skb === null || skb === undefined) continue;
      q.tx_skbs[id] = null;
      const ref = q.grant_tx_ref[id]!;
      if (ref !== INVALID_GRANT_REF) {
        xen.gnttab_end_foreign_access_ref(ref);
        xen.gnttab_release_grant_reference(q.gref_tx_head!, ref);
      }
      q.grant_tx_ref[id] = INVALID_GRANT_REF;
      if (q.grant_tx_page[id]! >= 0) q.txPages.push(q.grant_tx_page[id]!);
      q.grant_tx_page[id] = -1;
      const pkt = q.txPktOf[id]!;
      if (--q.txPktRefs[pkt]! === 0) {
        q.txPktSkb[pkt] = null;
        q.txPktFree[q.txPktTop++] = pkt;
        np.stack.skbs.free(skb);
      }
    }
    // Release rx buffers.
    for (let i = 0; i < NET_RX_RING_SIZE; i++) {
      const ref = q.grant_rx_ref[i]!;
      if (ref === INVALID_GRANT_REF) continue;
      if (np.copyingReceiver) xen.gnttab_end_foreign_access_ref(ref);
      else xen.gnttab_end_foreign_transfer_ref(ref);
      xen.gnttab_release_grant_reference(q.gref_rx_head!, ref);
      q.grant_rx_ref[i] = INVALID_GRANT_REF;
      if (q.rx_pfn[i]! >= 0 && np.copyingReceiver) q.rxPages.push(q.rx_pfn[i]!);
      q.rx_pfn[i] = -1;
    }
    if (q.gref_tx_head !== null) xen.gnttab_free_grant_references(q.gref_tx_head);
    if (q.gref_rx_head !== null) xen.gnttab_free_grant_references(q.gref_rx_head);
    q.gref_tx_head = q.gref_rx_head = null;
    if (q.tx_ring_ref !== INVALID_GRANT_REF) xen.gnttab_end_foreign_access(q.tx_ring_ref);
    if (q.rx_ring_ref !== INVALID_GRANT_REF) xen.gnttab_end_foreign_access(q.rx_ring_ref);
    q.tx_ring_ref = q.rx_ring_ref = INVALID_GRANT_REF;
  }
}


