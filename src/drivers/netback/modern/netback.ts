/**
 * Modern xen-netback, guest transmit (guest → dom0): the event-channel interrupt schedules NAPI;
 * each poll reads up to `budget` packets of requests from the tx ring, validates them as Linux
 * does (table 6.5 of reference/xen-netif.md), grant-COPIES the first data_len = min(size, 128)
 * bytes of each packet into the skb's linear area — one copy op per slot those bytes touch, so a
 * header split across slots is legal (XSA-423) — and grant-MAPS the rest of the last copied slot
 * and every further non-empty slot as page fragments, in one GNTTABOP_copy and one
 * GNTTABOP_map_grant_ref hypercall per poll, then hands the skbs to `netif_receive_skb`. A
 * zero-size slot is answered OKAY at once and never becomes a fragment (XSA-448). The mapped
 * guest pages stay mapped while dom0 holds the skb ("zero copy"); when dom0 frees it,
 * `xenvif_zerocopy_callback` queues the pending indices on the dealloc ring, the dealloc thread
 * unmaps them in one batch and answers each request OKAY.
 *
 *   evtchn → xenvif_tx_interrupt → napi_schedule → xenvif_poll(budget)
 *     xenvif_tx_action
 *       xenvif_tx_build_gops: per packet
 *         RING_COPY_REQUEST, tx_credit_exceeded, xenvif_get_extras, xenvif_count_requests,
 *         size checks, xenvif_get_requests: copy ops for data_len bytes (whole slot 0 when
 *         ≥17 more slots, XSA-432), map ops for the rest, zero-size slots answered (XSA-448)
 *       gnttab_batch_copy + gnttab_map_refs          (one hypercall each)
 *       xenvif_tx_submit: per skb xenvif_tx_check_gop (answers the fully copied slots),
 *                         xenvif_fill_frags, checksum_setup, netif_receive_skb
 *   dom0 frees skb → xenvif_zerocopy_callback → dealloc_ring → xenvif_tx_dealloc_action
 *     gnttab_unmap_refs (one hypercall) → xenvif_idx_release → make_tx_response →
 *     RING_PUSH_RESPONSES_AND_CHECK_NOTIFY → notify_remote_via_irq
 *
 * @models torvalds/linux drivers/net/xen-netback/netback.c (with the XSA-423, -432 and -448 fixes)
 * @simplified the skb and its frag_list skb keep one list of fragments (split at MAX_SKB_FRAGS
 *   when consolidating); the multicast list of MCAST_ADD/DEL extras is applied by
 *   xenvif_start_xmit (interface.ts) when the vif has multicastControl; no hash extras on tx
 *   (no skb hash); skb allocation never fails.
 *
 * Late EOI (XSA-332): the tx channel is bound with the lateeoi chip, so an event masks it until
 * netback EOIs — right away, flagged spurious, when the interrupt finds no requests
 * (xenvif_tx_interrupt), else when the poll has drained the ring and RING_FINAL_CHECK finds
 * nothing more (xenvif_napi_schedule_or_enable_events, also reached from the credit timer). A
 * disabled vif's poll never EOIs: its channel stays masked. The delay a run of spurious events
 * earns is applied by the event-channel layer (src/xen/event_channel.ts xen_irq_lateeoi()).
 * With `netback.lateeoi` false the channel is bound plainly and the EOIs are no-ops.
 */
import { XEN_EOI_FLAG_SPURIOUS } from '../../../xen/event_channel';
import {
  GNTCOPY_source_gref, GNTMAP_host_map, GNTMAP_readonly, GNTST_okay, DOMID_SELF, XEN_PAGE_SHIFT, XEN_PAGE_SIZE,
} from '../../../io/xen-constants';
import {
  RING_COPY_REQUEST as _unusedCopy, RING_FINAL_CHECK_FOR_REQUESTS, RING_GET_REQUEST, RING_GET_RESPONSE,
  RING_HAS_UNCONSUMED_REQUESTS, RING_PUSH_RESPONSES_AND_CHECK_NOTIFY,
} from '../../../io/ring';
import {
  NETIF_RSP_ERROR, NETIF_RSP_OKAY, NETTXF_csum_blank, NETTXF_data_validated, NETTXF_extra_info, NETTXF_more_data,
  XEN_NETIF_EXTRA_FLAG_MORE, XEN_NETIF_EXTRA_TYPE_GSO, XEN_NETIF_EXTRA_TYPE_MAX_LINUX, XEN_NETIF_EXTRA_TYPE_MCAST_ADD,
  XEN_NETIF_EXTRA_TYPE_MCAST_DEL, XEN_NETIF_GSO_TYPE_TCPV4, XEN_NETIF_GSO_TYPE_TCPV6, writeTxNullResponse,
  writeTxResponse,
} from '../../../io/netif';
import {
  CHECKSUM_PARTIAL, CHECKSUM_UNNECESSARY, MAX_SKB_FRAGS, SKB_GSO_TCPV4, SKB_GSO_TCPV6, type SkBuff,
} from '../../../net/skb';
import {
  ETH_HLEN, hypercallShare, INVALID_PENDING_IDX, tx_credit_exceeded, MAX_PENDING_REQS, NETBACK_INVALID_HANDLE, XEN_NETBACK_TX_COPY_LEN,
  XEN_NETBK_LEGACY_SLOTS_MAX, XEN_NETBK_MCAST_MAX, type XenvifQueue,
} from '../common';
import { skbChecksumSetup } from '../../../net/checksum-setup';
import type { XenVif } from '../interface';
import { copyBytes } from '../../../wire/copy';
import { bufferOf, byteOffsetOf } from '../../../wire/views';

void _unusedCopy;

/** XEN_NETIF_TX_RING_SIZE */
const TX_RING_SIZE = 256;

// Fields of one request copied out of the ring (RING_COPY_REQUEST into locals).
let rqGref = 0, rqOffset = 0, rqFlags = 0, rqId = 0, rqSize = 0;

/** RING_COPY_REQUEST(&queue->tx, idx, &txreq) into the module-level locals rq*. */
function copyTxRequest(q: XenvifQueue, idx: number): void {
  const r = q.tx!;
  const v = r.sring.view;
  const o = RING_GET_REQUEST(r, idx);
  // ORDERING: the request is read once into private copies (XSA-155); only the copies are used.
  rqGref = v.getUint32(o, true);
  rqOffset = v.getUint16(o + 4, true);
  rqFlags = v.getUint16(o + 6, true);
  rqId = v.getUint16(o + 8, true);
  rqSize = v.getUint16(o + 10, true);
}

// queue->eoi_pending bits (common.h): which handler owes its channel a late EOI. "Each handler
// will EOI when either NETBK_COMMON_EOI or their specific bits (NETBK_RX_EOI or NETBK_TX_EOI)
// are set and they will reset those bits." Kept per queue id in XenVif.eoiPending.
export const NETBK_RX_EOI = 0x01;
export const NETBK_TX_EOI = 0x02;
export const NETBK_COMMON_EOI = 0x04;

/**
 * xen_irq_lateeoi(irq, flags) for a vif's port, counting a spurious EOI (and the jiffies its
 * unmask was deferred by) in the vif's counters as the xenbus device's sysfs statistics do.
 * A port bound without the lateeoi chip (classic, or `netback.lateeoi` false) ignores it.
 * @models torvalds/linux drivers/xen/events/events_base.c xen_irq_lateeoi() (as netback calls it)
 */
export function xenvif_lateeoi(vif: XenVif, port: number, eoiFlags: number): void {
  const delay = vif.nb.xen_irq_lateeoi(port, eoiFlags);
  if (delay >= 0 && (eoiFlags & XEN_EOI_FLAG_SPURIOUS) !== 0) {
    vif.counters.spurious_events++;
    vif.counters.jiffies_eoi_delayed += delay;
  }
}

/**
 * The tx half of the interrupt: schedule NAPI if the ring has requests. Returns whether it did.
 * @models torvalds/linux drivers/net/xen-netback/interface.c xenvif_handle_tx_interrupt()
 */
export function xenvif_handle_tx_interrupt(q: XenvifQueue): boolean {
  const vif = q.vif;
  vif.chargeIrq();
  if (q.tx !== null && RING_HAS_UNCONSUMED_REQUESTS(q.tx) !== 0) {
    // Packet walk: the interrupt is where the guest's notification lands for its oldest request.
    if (vif.nb.tpStep.on) vif.nb.step(q.txWalk[q.tx.req_cons & 255]!, 'xenvif_tx_interrupt', vif.nb.costs.irq_ns, `queue ${q.id}`);
    napi_schedule(q);
    return true;
  }
  return false;
}

/**
 * Event-channel handler of the tx channel (split channels). The port is masked (lateeoi ack)
 * until the EOI: at once, flagged spurious, when the ring has no requests; otherwise after the
 * NAPI poll has drained it (xenvif_napi_schedule_or_enable_events):
 *
 *   old = atomic_fetch_or(NETBK_TX_EOI, &queue->eoi_pending);
 *   WARN(old & NETBK_TX_EOI, "Interrupt while EOI pending\n");
 *   if (!xenvif_handle_tx_interrupt(queue)) {
 *     atomic_andnot(NETBK_TX_EOI, &queue->eoi_pending);
 *     xen_irq_lateeoi(irq, XEN_EOI_FLAG_SPURIOUS);
 *   }
 *
 * @models torvalds/linux drivers/net/xen-netback/interface.c xenvif_tx_interrupt()
 */
export function xenvif_tx_interrupt(q: XenvifQueue): void {
  const vif = q.vif;
  const ep = vif.eoiPending;
  ep[q.id] = ep[q.id]! | NETBK_TX_EOI;
  if (!xenvif_handle_tx_interrupt(q)) {
    ep[q.id] = ep[q.id]! & ~NETBK_TX_EOI;
    xenvif_lateeoi(vif, q.txIrq, XEN_EOI_FLAG_SPURIOUS);
  }
}

/** napi_schedule(): the poll runs from NET_RX softirq. */
export function napi_schedule(q: XenvifQueue): void {
  if (q.napiScheduled) return;
  q.napiScheduled = true;
  q.vif.nb.schedulePoll(q);
}

/**
 * The NAPI poll of one queue.
 * @models torvalds/linux drivers/net/xen-netback/interface.c xenvif_poll()
 */
export function xenvif_poll(q: XenvifQueue, budget: number): number {
  const vif = q.vif;
  q.napiScheduled = false;
  // A fatal error stops all guest-transmit processing; the kthread turns the carrier off.
  if (vif.disabled || q.tx === null) return 0;
  const workDone = xenvif_tx_action(q, budget);
  if (workDone < budget) {
    // napi_complete_done(); then re-arm the event or reschedule if more arrived.
    if (!q.rate_limited) xenvif_napi_schedule_or_enable_events(q);
  } else {
    napi_schedule(q);
  }
  return workDone;
}

/**
 * After a poll that drained the ring (or the credit timer): poll again if requests arrived since
 * (re-arming req_event), else give the tx channel the late EOI its interrupt deferred:
 *
 *   if (more_to_do) napi_schedule(&queue->napi);
 *   else if (atomic_fetch_andnot(NETBK_TX_EOI | NETBK_COMMON_EOI, &queue->eoi_pending) &
 *            (NETBK_TX_EOI | NETBK_COMMON_EOI))
 *     xen_irq_lateeoi(queue->tx_irq, 0);
 *
 * @models torvalds/linux drivers/net/xen-netback/netback.c xenvif_napi_schedule_or_enable_events()
 */
export function xenvif_napi_schedule_or_enable_events(q: XenvifQueue): void {
  if (q.tx === null) return;
  if (RING_FINAL_CHECK_FOR_REQUESTS(q.tx) !== 0) napi_schedule(q);
  else {
    const ep = q.vif.eoiPending;
    const old = ep[q.id]!;
    if ((old & (NETBK_TX_EOI | NETBK_COMMON_EOI)) !== 0) {
      ep[q.id] = old & ~(NETBK_TX_EOI | NETBK_COMMON_EOI);
      xenvif_lateeoi(q.vif, q.txIrq, 0);
    }
  }
}

/**
 * Disables a vif whose frontend sent something no correct frontend sends. The carrier goes
 * off from queue 0's kthread (deferred since XSA-90).
 * @models torvalds/linux drivers/net/xen-netback/netback.c xenvif_fatal_tx_err()
 */
export function xenvif_fatal_tx_err(vif: XenVif, q: XenvifQueue, reason: string): void {
  if (!vif.disabled) {
    vif.counters.fatal_errors++;
    const tp = vif.nb.tpFatal;
    if (tp.on) tp.emit({ vif: vif.name, queue: q.id, reason });
  }
  vif.disabled = true;
  if (vif.queues.length > 0) vif.nb.kickRxThread(vif.queues[0]!);
}

/**
 * ERROR responses for the first request and every further slot up to `end`, consuming them.
 * @models torvalds/linux drivers/net/xen-netback/netback.c xenvif_tx_err()
 */
function xenvif_tx_err(q: XenvifQueue, id: number, extraCount: number, end: number, pkt: number): void {
  let cons = q.tx!.req_cons;
  let rid = id;
  let ec = extraCount;
  for (;;) {
    make_tx_response(q, rid, ec, NETIF_RSP_ERROR, pkt);
    push_tx_responses(q);
    if (cons === end) break;
    const o = RING_GET_REQUEST(q.tx!, cons);
    rid = q.tx!.sring.view.getUint16(o + 8, true);
    cons = (cons + 1) >>> 0;
    ec = 0;
  }
  q.tx!.req_cons = cons;
}

/**
 * Writes {id, status} at rsp_prod_pvt and `status = NETIF_RSP_NULL` into the next
 * `extraCount` slots (only the status field), then advances rsp_prod_pvt.
 * @models torvalds/linux drivers/net/xen-netback/netback.c make_tx_response()
 */
export function make_tx_response(q: XenvifQueue, id: number, extraCount: number, status: number, pkt: number): void {
  const r = q.tx!;
  const v = r.sring.view;
  let i = r.rsp_prod_pvt;
  writeTxResponse(v, RING_GET_RESPONSE(r, i), id, status);
  for (let k = 0; k < extraCount; k++) {
    i = (i + 1) >>> 0;
    writeTxNullResponse(v, RING_GET_RESPONSE(r, i));
  }
  r.rsp_prod_pvt = (i + 1) >>> 0;
  const c = q.vif.counters;
  c.tx_responses++;
  c.tx_null_responses += extraCount;
  if (status !== NETIF_RSP_OKAY) c.tx_error_responses++;
  const nb = q.vif.nb;
  nb.stepCost += nb.costs.tx_response_ns;
  if (nb.tpStep.on) nb.step(pkt, 'make_tx_response', nb.costs.tx_response_ns, `id ${id} status ${status}`);
  // The netback.tx.response event goes out from push_tx_responses(), which always follows and
  // knows whether the push notified.
  lastRspId = id;
  lastRspStatus = status;
  lastRspNulls = extraCount;
}
let lastRspId = 0, lastRspStatus = 0, lastRspNulls = 0;

/**
 * RING_PUSH_RESPONSES_AND_CHECK_NOTIFY, then notify the frontend if it asked.
 * @models torvalds/linux drivers/net/xen-netback/netback.c push_tx_responses()
 */
export function push_tx_responses(q: XenvifQueue): void {
  const notify = RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(q.tx!);
  const nb = q.vif.nb;
  if (nb.tpResponse.on) nb.tpResponse.emit({ vif: q.vif.name, queue: q.id, id: lastRspId, status: lastRspStatus, nulls: lastRspNulls, notify });
  if (notify) {
    nb.notifyRemote(q.txIrq);
    q.vif.counters.tx_notifies++;
  }
}

/**
 * Answers one pending slot and returns its index to the pending ring before pushing.
 * @models torvalds/linux drivers/net/xen-netback/netback.c xenvif_idx_release()
 */
export function xenvif_idx_release(q: XenvifQueue, pendingIdx: number, status: number): void {
  make_tx_response(q, q.ptId[pendingIdx]!, q.ptExtraCount[pendingIdx]!, status, q.ptPkt[pendingIdx]!);
  q.pending_ring[q.pending_prod & (MAX_PENDING_REQS - 1)] = pendingIdx;
  q.pending_prod = (q.pending_prod + 1) >>> 0;
  push_tx_responses(q);
}

/**
 * Replenishes the credit of a rate-limited queue.
 * @models torvalds/linux drivers/net/xen-netback/netback.c tx_add_credit()
 */
export function tx_add_credit(q: XenvifQueue): void {
  const maxBurst = Math.max(131072, q.credit_bytes);
  const maxCredit = Math.min(Number.MAX_SAFE_INTEGER, q.remaining_credit + q.credit_bytes);
  q.remaining_credit = Math.min(maxCredit, maxBurst);
  q.rate_limited = false;
}

/**
 * Reads the extra_info slots following a request; a missing slot or an unknown type is fatal.
 * Returns the remaining work_to_do (or -1 after a fatal error); extras by type in `extras`.
 * @models torvalds/linux drivers/net/xen-netback/netback.c xenvif_get_extras()
 */
function xenvif_get_extras(q: XenvifQueue, workToDo: number, st: BuildState): number {
  const r = q.tx!;
  const v = r.sring.view;
  let cons = r.req_cons;
  let flags = 0;
  do {
    if (workToDo-- <= 0) {
      xenvif_fatal_tx_err(q.vif, q, 'Missing extra info');
      return -1;
    }
    const o = RING_GET_REQUEST(r, cons);
    const type = v.getUint8(o);
    flags = v.getUint8(o + 1);
    const a = v.getUint16(o + 2, true);
    const b = v.getUint8(o + 4);
    r.req_cons = cons = (cons + 1) >>> 0;
    st.extraCount++;
    // Linux's copy of netif.h ends the types at 6 (XDP = 5 is accepted and ignored on tx).
    if (type === 0 || type >= XEN_NETIF_EXTRA_TYPE_MAX_LINUX) {
      xenvif_fatal_tx_err(q.vif, q, `Invalid extra type: ${type}`);
      return -1;
    }
    // memcpy(&extras[extra.type - 1], &extra, sizeof(extra)): the last one of a type wins.
    st.extraType[type - 1] = type;
    st.extraA[type - 1] = a;
    st.extraB[type - 1] = b;
    if (type === XEN_NETIF_EXTRA_TYPE_MCAST_ADD || type === XEN_NETIF_EXTRA_TYPE_MCAST_DEL) {
      // u.mcast.addr: the 6 bytes after type and flags, as a MAC key (macKeyAt's big-endian value).
      const key = v.getUint16(o + 2) * 0x1_0000_0000 + v.getUint32(o + 4);
      if (type === XEN_NETIF_EXTRA_TYPE_MCAST_ADD) mcastAddKey = key;
      else mcastDelKey = key;
    }
  } while (flags & XEN_NETIF_EXTRA_FLAG_MORE);
  return workToDo;
}

/** Per-packet scratch of xenvif_tx_build_gops (extras by type, extra_count). */
interface BuildState {
  extraType: Uint8Array;
  extraA: Uint16Array;
  extraB: Uint8Array;
  extraCount: number;
}
const ST: BuildState = {
  extraType: new Uint8Array(XEN_NETIF_EXTRA_TYPE_MAX_LINUX - 1), extraA: new Uint16Array(XEN_NETIF_EXTRA_TYPE_MAX_LINUX - 1),
  extraB: new Uint8Array(XEN_NETIF_EXTRA_TYPE_MAX_LINUX - 1), extraCount: 0,
};
/** extras[MCAST_ADD - 1].u.mcast.addr and extras[MCAST_DEL - 1].u.mcast.addr, as MAC keys. */
let mcastAddKey = 0;
let mcastDelKey = 0;

/**
 * A frontend's multicast subscription (request-multicast-control): at most 64 addresses (MAC
 * keys), duplicates allowed as in Linux's list; returns false (answered ERROR) when full.
 * @models torvalds/linux drivers/net/xen-netback/netback.c xenvif_mcast_add()
 */
export function xenvif_mcast_add(vif: XenVif, key: number): boolean {
  if (vif.mcastAddrs.length === XEN_NETBK_MCAST_MAX) return false;
  vif.mcastAddrs.push(key);
  return true;
}

/**
 * Whether a destination MAC key is one of the frontend's multicast addresses.
 * @models torvalds/linux drivers/net/xen-netback/netback.c xenvif_mcast_match()
 */
export function xenvif_mcast_match(vif: XenVif, key: number): boolean {
  return vif.mcastAddrs.includes(key);
}

/**
 * Removes the first entry equal to `key`; an address never added changes nothing.
 * @models torvalds/linux drivers/net/xen-netback/netback.c xenvif_mcast_del()
 */
export function xenvif_mcast_del(vif: XenVif, key: number): void {
  const i = vif.mcastAddrs.indexOf(key);
  if (i >= 0) vif.mcastAddrs.splice(i, 1);
}
// count_requests results: the further slots, copied (gref, offset, flags, id, size) x n.
const FR_GREF = new Uint32Array(64), FR_OFF = new Uint16Array(64), FR_FLAGS = new Uint16Array(64);
const FR_ID = new Uint16Array(64), FR_SIZE = new Uint16Array(64);
/** first->size after count_requests subtracted the other slots. */
let firstSize = 0;

/**
 * Follows the more_data chain of a packet, checking each slot; returns the number of further
 * slots, or < 0 when the packet was dropped (ERROR responses written) or the vif disabled.
 * @models torvalds/linux drivers/net/xen-netback/netback.c xenvif_count_requests()
 */
function xenvif_count_requests(q: XenvifQueue, extraCount: number, workToDo: number, pkt: number): number {
  if (!(rqFlags & NETTXF_more_data)) return 0;
  const r = q.tx!;
  const v = r.sring.view;
  const cons = r.req_cons;
  const fatalSlots = q.vif.nb.params.fatal_skb_slots;
  let slots = 0;
  let dropErr = '';
  let more = 0;
  do {
    if (slots >= workToDo) {
      xenvif_fatal_tx_err(q.vif, q, `Asked for ${workToDo} slots but exceeds this limit`);
      return -1;
    }
    if (slots >= fatalSlots) {
      xenvif_fatal_tx_err(q.vif, q, `Malicious frontend using ${slots} slots, threshold ${fatalSlots}`);
      return -1;
    }
    if (dropErr === '' && slots >= XEN_NETBK_LEGACY_SLOTS_MAX) dropErr = 'too_many_slots';
    const o = RING_GET_REQUEST(r, (cons + slots) >>> 0);
    const off = v.getUint16(o + 4, true);
    const fl = v.getUint16(o + 6, true);
    const size = v.getUint16(o + 10, true);
    if (dropErr === '' && size > firstSize) dropErr = 'frag_size_overflow';
    firstSize = (firstSize - size) & 0xffff;
    if (dropErr === '') {
      FR_GREF[slots] = v.getUint32(o, true);
      FR_OFF[slots] = off;
      FR_FLAGS[slots] = fl;
      FR_ID[slots] = v.getUint16(o + 8, true);
      FR_SIZE[slots] = size;
    }
    slots++;
    if (off + size > XEN_PAGE_SIZE) {
      xenvif_fatal_tx_err(q.vif, q, `Cross page boundary, txp->offset: ${off}, size: ${size}`);
      return -1;
    }
    more = fl & NETTXF_more_data;
  } while (more);
  if (dropErr !== '') {
    q.vif.dropGuestTx(dropErr, rqSize);
    xenvif_tx_err(q, rqId, extraCount, (cons + slots) >>> 0, pkt);
    return -2;
  }
  return slots;
}

/** Fills pending_tx_info[pidx].req. */
function setPending(q: XenvifQueue, pidx: number, gref: number, off: number, flags: number, id: number, size: number, extraCount: number, pkt: number): void {
  q.ptGref[pidx] = gref;
  q.ptOffset[pidx] = off;
  q.ptFlags[pidx] = flags;
  q.ptId[pidx] = id;
  q.ptSize[pidx] = size;
  q.ptExtraCount[pidx] = extraCount;
  q.ptPkt[pidx] = pkt;
}

/** gnttab_set_map_op for pending slot `pidx` into map op `m`. */
function createMapOp(q: XenvifQueue, pidx: number, m: number, domid: number): void {
  const op = q.txMapOps[m]!;
  op.host_addr = q.kaddrBase + pidx * XEN_PAGE_SIZE;
  op.flags = GNTMAP_host_map | GNTMAP_readonly;
  op.ref = q.ptGref[pidx]!;
  op.dom = domid;
  op.status = GNTST_okay;
  op.handle = -1;
  op.dev_bus_addr = 0;
}

let nMapOps = 0;
let nReqsThisPoll = 0;

/**
 * Reads packets from the tx ring and prepares one batch of copy and map ops.
 * @models torvalds/linux drivers/net/xen-netback/netback.c xenvif_tx_build_gops()
 * @simplified no hash extras (skb_set_hash); the header copy lands in a dom0 staging spot when
 *   skb->data is not a dom0 machine frame (one more staging frame is allocated when a poll has
 *   used them all; a poll ends early only if dom0 is out of memory).
 */
function xenvif_tx_build_gops(q: XenvifQueue, budget: number): void {
  const vif = q.vif;
  const nb = vif.nb;
  const r = q.tx!;
  const sring = r.sring;
  const copyOps = q.txCopyOps;
  const domid = vif.domid;
  const pool = nb.stack.pool;
  const mem = nb.hv.mem;
  const backendDom = nb.hv.backend.domid;
  const tpOn = nb.tpStep.on;
  copyOps.reset();
  nMapOps = 0;
  q.txSkbCount = 0;
  q.landBigUsed = 0;
  const st = ST;

  // No pending-ring check: a pending index is held only by a consumed, unanswered slot, and
  // XEN_RING_NR_UNCONSUMED_REQUESTS never lets consumed-but-unanswered slots exceed the ring.
  while (q.txSkbCount < budget) {
    // Model only: a staging frame for a possible whole-slot copy (XSA-432); grown on demand.
    if (q.landBigUsed >= q.landBig.length) {
      const mfn = nb.hv.allocPage();
      if (mfn < 0) break;
      q.landBig.push(mfn);
    }
    if (((sring.req_prod - r.req_cons) >>> 0) > TX_RING_SIZE) {
      xenvif_fatal_tx_err(vif, q, `Impossible number of requests. req_prod ${sring.req_prod | 0}, req_cons ${r.req_cons | 0}, size ${TX_RING_SIZE}`);
      break;
    }
    // XEN_RING_NR_UNCONSUMED_REQUESTS
    let workToDo = RING_HAS_UNCONSUMED_REQUESTS(r);
    if (workToDo === 0) break;
    let idx = r.req_cons;
    // rmb(): see the request before we copy it.
    copyTxRequest(q, idx);
    const pkt = q.txWalk[idx & 255]!;
    const born = q.txBorn[idx & 255]!;
    nReqsThisPoll++;
    // Credit-based scheduling: the packet's total size is charged; the request stays unconsumed.
    if (rqSize > q.remaining_credit && tx_credit_exceeded(q, rqSize, tx_add_credit)) break;
    q.remaining_credit -= rqSize;
    workToDo--;
    r.req_cons = idx = (idx + 1) >>> 0;
    if (tpOn) nb.step(pkt, 'xenvif_tx_build_gops', nb.costs.tx_req_ns, `req ${(idx - 1) >>> 0} id ${rqId} size ${rqSize}`);
    nb.stepCost += nb.costs.tx_req_ns;

    // memset(extras, 0, sizeof(extras)) — a loop: TypedArray fill is a ~20 ns builtin call.
    const et = st.extraType;
    for (let e = 0; e < et.length; e++) et[e] = 0;
    st.extraCount = 0;
    if (rqFlags & NETTXF_extra_info) {
      workToDo = xenvif_get_extras(q, workToDo, st);
      idx = r.req_cons;
      if (workToDo < 0) break;
      if (tpOn) nb.step(pkt, 'xenvif_get_extras', 0, `${st.extraCount} extra slot(s)`);
    }
    if (st.extraType[XEN_NETIF_EXTRA_TYPE_MCAST_ADD - 1]) {
      const ok = xenvif_mcast_add(vif, mcastAddKey);
      make_tx_response(q, rqId, st.extraCount, ok ? NETIF_RSP_OKAY : NETIF_RSP_ERROR, pkt);
      push_tx_responses(q);
      continue;
    }
    if (st.extraType[XEN_NETIF_EXTRA_TYPE_MCAST_DEL - 1]) {
      xenvif_mcast_del(vif, mcastDelKey);
      make_tx_response(q, rqId, st.extraCount, NETIF_RSP_OKAY, pkt);
      push_tx_responses(q);
      continue;
    }
    // XSA-423: data_len comes from the packet's TOTAL size, before count_requests reduces
    // txreq.size to the first slot's own length; the copy may therefore span several slots.
    let dataLen = rqSize > XEN_NETBACK_TX_COPY_LEN ? XEN_NETBACK_TX_COPY_LEN : rqSize;
    firstSize = rqSize;
    const ret = xenvif_count_requests(q, st.extraCount, workToDo, pkt);
    // A dropped packet (ERROR responses written) or a fatal error ends this poll's build.
    if (ret < 0) break;
    if (tpOn) nb.step(pkt, 'xenvif_count_requests', nb.costs.tx_req_ns * ret, `${ret} more slot(s)`);
    nb.stepCost += nb.costs.tx_req_ns * ret;
    nReqsThisPoll += ret;
    idx = (idx + ret) >>> 0;
    const txSize = firstSize; // txreq.size: the first slot's own length after count_requests
    if (txSize < ETH_HLEN) {
      vif.dropGuestTx('bad_size', rqSize);
      xenvif_tx_err(q, rqId, st.extraCount, idx, pkt);
      break;
    }
    // No crossing a page as the payload mustn't fragment.
    if (rqOffset + txSize > XEN_PAGE_SIZE) {
      xenvif_fatal_tx_err(vif, q, `txreq.offset: ${rqOffset}, size: ${txSize}, end: ${rqOffset + txSize}`);
      break;
    }
    // XSA-432: with 17 or more further slots there is no frag left for the rest of slot 0.
    if (ret >= XEN_NETBK_LEGACY_SLOTS_MAX - 1 && dataLen < txSize) dataLen = txSize;

    const skb = pool.alloc();
    if (pkt !== 0) skb.id = pkt;
    skb.bornAt = pkt !== 0 ? born : nb.sim.now;
    const k = q.txSkbCount++;
    q.txSkbs[k] = skb;
    q.txSkbDataLen[k] = dataLen;
    q.txSkbSize[k] = rqSize;
    // GSO extra → skb gso fields (bad size/type is fatal).
    if (st.extraType[XEN_NETIF_EXTRA_TYPE_GSO - 1]) {
      const gsoSize = st.extraA[XEN_NETIF_EXTRA_TYPE_GSO - 1]!;
      const gsoType = st.extraB[XEN_NETIF_EXTRA_TYPE_GSO - 1]!;
      if (!xenvif_set_skb_gso(vif, q, skb, gsoSize, gsoType)) {
        q.txSkbCount--;
        q.txSkbs[k] = null;
        pool.free(skb);
        break;
      }
      if (tpOn) nb.step(pkt, 'xenvif_set_skb_gso', 0, `gso_size ${gsoSize} type ${gsoType}`);
    }
    // The copy ops put data_len bytes straight into skb->data when the skb's head is a dom0
    // frame (Linux: virt_to_gfn(skb->data)); else into a staging spot (then into skb->data).
    let landMfn: number, landOff: number;
    const head = skb.head;
    const landAbs = byteOffsetOf(head) + skb.data;
    if (bufferOf(head) === mem.buffer && skb.data + dataLen <= head.length && (landAbs & (XEN_PAGE_SIZE - 1)) + dataLen <= XEN_PAGE_SIZE
      && mem.owner[landAbs >>> XEN_PAGE_SHIFT] === backendDom) {
      landMfn = landAbs >>> XEN_PAGE_SHIFT;
      landOff = landAbs & (XEN_PAGE_SIZE - 1);
      q.txSkbLandMfn[k] = -1; // already in place
    } else {
      if (dataLen <= XEN_NETBACK_TX_COPY_LEN) {
        landMfn = q.landSmall[k >>> 5]!;
        landOff = (k & 31) * XEN_NETBACK_TX_COPY_LEN;
      } else {
        landMfn = q.landBig[q.landBigUsed++]!;
        landOff = 0;
      }
      q.txSkbLandMfn[k] = landMfn;
      q.txSkbLandOff[k] = landOff;
    }
    const nf = xenvif_get_requests(q, k, ret, dataLen, st.extraCount, landMfn, landOff, domid, pkt);
    if (tpOn) nb.step(pkt, 'xenvif_get_requests', 0, `copy ${dataLen} B in ${q.txSkbCopyCount[k]} op(s), map ${nf} slot(s)`);
    r.req_cons = idx;
    if (nMapOps >= MAX_PENDING_REQS || copyOps.count >= copyOps.capacity) break;
  }
}

/**
 * Turns one packet's slots into grant ops: copy ops for exactly `dataLen` bytes into the linear
 * area (one per slot touched; a slot fully copied takes a pending index of its own and is
 * answered after the copy, a partly copied one shares its pending index with the map op of its
 * remainder), then one map op and one pending index per further non-empty slot. A zero-size
 * slot is answered OKAY at once and never becomes a fragment (XSA-448). Returns the number of
 * mapped fragments (> MAX_SKB_FRAGS means the overflow goes to a frag_list skb).
 * @models torvalds/linux drivers/net/xen-netback/netback.c xenvif_get_requests()
 * @simplified the skb and its frag_list skb share one list of fragments (split at MAX_SKB_FRAGS).
 */
function xenvif_get_requests(q: XenvifQueue, k: number, ret: number, dataLen: number, extraCount: number,
  landMfn: number, landOff: number, domid: number, pkt: number): number {
  const copyOps = q.txCopyOps;
  const base = copyOps.count;
  q.txSkbCopyBase[k] = base;
  // txp: s = -1 is the first request (rq*, size already reduced to its own length), s >= 0 FR[s].
  let s = -1;
  let gref = rqGref, off = rqOffset, size = firstSize, flags = rqFlags, id = rqId;
  let nrSlots = ret + 1;
  let left = dataLen;
  let dst = landOff;
  while (left > 0) {
    const amount = left > size ? size : left;
    const pidx = q.pending_ring[q.pending_cons & (MAX_PENDING_REQS - 1)]!;
    q.txCopyPending[copyOps.push(GNTCOPY_source_gref, gref, domid, off, landMfn, DOMID_SELF, dst, amount)] = pidx;
    q.ptCtx[pidx] = INVALID_PENDING_IDX;
    left -= amount;
    dst += amount;
    if (amount === size) {
      // The copy op covered the whole request.
      setPending(q, pidx, gref, off, flags, id, size, s < 0 ? extraCount : 0, pkt);
      q.pending_cons = (q.pending_cons + 1) >>> 0;
      nrSlots--;
      s++;
      gref = FR_GREF[s]!; off = FR_OFF[s]!; size = FR_SIZE[s]!; flags = FR_FLAGS[s]!; id = FR_ID[s]!;
    } else {
      // Partly copied: the remainder is mapped (same pending index, taken by the map loop).
      off += amount;
      size -= amount;
    }
  }
  q.txSkbCopyCount[k] = copyOps.count - base;
  let nf = 0;
  const fbase = k * XEN_NETBK_LEGACY_SLOTS_MAX;
  for (; nrSlots > 0; nrSlots--) {
    if (size === 0) {
      // XSA-448: nothing to transfer, so no grant to check: answer now, no empty fragment.
      make_tx_response(q, id, 0, NETIF_RSP_OKAY, pkt);
      push_tx_responses(q);
    } else {
      const p = q.pending_ring[q.pending_cons & (MAX_PENDING_REQS - 1)]!;
      q.pending_cons = (q.pending_cons + 1) >>> 0;
      setPending(q, p, gref, off, flags, id, size, s < 0 ? extraCount : 0, pkt);
      createMapOp(q, p, nMapOps++, domid);
      q.txSkbFrags[fbase + nf++] = p;
    }
    s++;
    gref = FR_GREF[s]!; off = FR_OFF[s]!; size = FR_SIZE[s]!; flags = FR_FLAGS[s]!; id = FR_ID[s]!;
  }
  q.txSkbNrFrags[k] = nf;
  return nf;
}

/**
 * @models torvalds/linux drivers/net/xen-netback/netback.c xenvif_set_skb_gso()
 */
function xenvif_set_skb_gso(vif: XenVif, q: XenvifQueue, skb: SkBuff, size: number, type: number): boolean {
  if (size === 0) {
    xenvif_fatal_tx_err(vif, q, 'GSO size must not be zero.');
    return false;
  }
  if (type === XEN_NETIF_GSO_TYPE_TCPV4) skb.gsoType = SKB_GSO_TCPV4;
  else if (type === XEN_NETIF_GSO_TYPE_TCPV6) skb.gsoType = SKB_GSO_TCPV6;
  else {
    xenvif_fatal_tx_err(vif, q, `Bad GSO type ${type}.`);
    return false;
  }
  skb.gsoSize = size;
  return true;
}

/**
 * One poll's work: build the ops, one copy and one map hypercall, submit the skbs.
 * @models torvalds/linux drivers/net/xen-netback/netback.c xenvif_tx_action()
 */
export function xenvif_tx_action(q: XenvifQueue, budget: number): number {
  const nb = q.vif.nb;
  nReqsThisPoll = 0;
  xenvif_tx_build_gops(q, budget);
  const nCops = q.txCopyOps.count;
  let copyCost = 0;
  let mapCost = 0;
  if (nCops !== 0) {
    copyCost = nb.hv.copy(q.txCopyOps, nCops);
    if (nMapOps !== 0) mapCost = nb.hv.map(q.txMapOps, nMapOps);
  }
  const hcCost = copyCost + mapCost;
  nb.stepCost += hcCost;
  const c = q.vif.counters;
  c.tx_polls++;
  c.tx_copy_ops += nCops;
  c.tx_map_ops += nMapOps;
  c.tx_requests += nReqsThisPoll;
  if (nb.tpBatch.on) {
    nb.tpBatch.emit({ vif: q.vif.name, queue: q.id, design: 'modern', reqs: nReqsThisPoll, skbs: q.txSkbCount, copies: nCops, maps: nMapOps, costNs: hcCost });
  }
  if (nb.tpStep.on && nCops !== 0) {
    const n = q.txSkbCount;
    for (let k = 0; k < n; k++) {
      const id = q.txSkbs[k]!.id;
      nb.step(id, 'gnttab_batch_copy', hypercallShare(copyCost, n, k), `${nCops} op(s) in the batch`, 'xen');
      if (nMapOps !== 0) nb.step(id, 'gnttab_map_refs', hypercallShare(mapCost, n, k), `${nMapOps} op(s) in the batch`, 'xen');
    }
  }
  if (nCops === 0) return 0;
  return xenvif_tx_submit(q);
}

/**
 * Checks the copy and map statuses of one skb. Every fully copied slot is answered here (OKAY,
 * or ERROR if its copy failed); the slot whose remainder is frag 0 is answered with that frag.
 * A failed map answers ERROR for its slot and unmaps and releases (OKAY) the skb's other
 * mapped frags. Returns true when everything succeeded.
 * @models torvalds/linux drivers/net/xen-netback/netback.c xenvif_tx_check_gop()
 */
function xenvif_tx_check_gop(q: XenvifQueue, k: number, mapBase: number): boolean {
  const nf = q.txSkbNrFrags[k]!;
  const fbase = k * XEN_NETBK_LEGACY_SLOTS_MAX;
  const cbase = q.txSkbCopyBase[k]!;
  const cc = q.txSkbCopyCount[k]!;
  const copyOps = q.txCopyOps;
  const sharedslot = nf > 0 && q.txSkbFrags[fbase]! === q.txCopyPending[cbase + cc - 1]!;
  let err = GNTST_okay;
  for (let i = 0; i < cc; i++) {
    const p = q.txCopyPending[cbase + i]!;
    const newerr = copyOps.status(cbase + i);
    // The first frag might still have the last copied slot mapped.
    const own = i < cc - 1 || !sharedslot;
    if (newerr === GNTST_okay) {
      if (own) xenvif_idx_release(q, p, NETIF_RSP_OKAY);
    } else {
      err = newerr;
      if (own) xenvif_idx_release(q, p, NETIF_RSP_ERROR);
    }
  }
  // Frags 0..MAX_SKB_FRAGS-1 belong to the skb, the rest to its frag_list skb.
  const nFirst = nf > MAX_SKB_FRAGS ? MAX_SKB_FRAGS : nf;
  for (let i = 0; i < nf; i++) {
    const p = q.txSkbFrags[fbase + i]!;
    const op = q.txMapOps[mapBase + i]!;
    const newerr = op.status;
    if (newerr === GNTST_okay) {
      grantHandleSet(q, p, op.handle, op.dev_bus_addr);
      // Had a previous error? Invalidate this fragment (ERROR if it shares the header's slot).
      if (err !== GNTST_okay) {
        xenvif_idx_unmap(q, p);
        xenvif_idx_release(q, p, i === 0 && sharedslot ? NETIF_RSP_ERROR : NETIF_RSP_OKAY);
      }
      continue;
    }
    xenvif_idx_release(q, p, NETIF_RSP_ERROR);
    // Not the first error? Preceding frags already invalidated.
    if (err !== GNTST_okay) continue;
    // Invalidate the preceding frags of this skb (of the frag_list skb when i is there) ...
    for (let j = i >= nFirst ? nFirst : 0; j < i; j++) {
      const pj = q.txSkbFrags[fbase + j]!;
      xenvif_idx_unmap(q, pj);
      xenvif_idx_release(q, pj, NETIF_RSP_OKAY);
    }
    // ... and, for an error on the frag_list skb, every frag of the first skb.
    if (i >= nFirst) {
      for (let j = 0; j < nFirst; j++) {
        const pj = q.txSkbFrags[fbase + j]!;
        xenvif_idx_unmap(q, pj);
        xenvif_idx_release(q, pj, NETIF_RSP_OKAY);
      }
    }
    err = newerr;
  }
  return err === GNTST_okay;
}

function grantHandleSet(q: XenvifQueue, p: number, handle: number, devBusAddr: number): void {
  if (q.grantTxHandle[p] !== NETBACK_INVALID_HANDLE) {
    throw new Error(`xenvif_grant_handle_set: trying to overwrite active handle! pending_idx: ${p}`);
  }
  q.grantTxHandle[p] = handle;
  const mfn = Math.floor(devBusAddr / XEN_PAGE_SIZE);
  q.mmapMfn[p] = mfn;
  q.mmapPage[p] = q.vif.nb.hv.mem.page(mfn);
  q.vif.nb.setForeign(mfn, q.vif.domid, q.ptGref[p]!);
}

/**
 * Unmaps one pending slot at once (error paths).
 * @models torvalds/linux drivers/net/xen-netback/netback.c xenvif_idx_unmap()
 */
function xenvif_idx_unmap(q: XenvifQueue, p: number): void {
  const nb = q.vif.nb;
  const op = q.txUnmapOps[0]!;
  op.host_addr = q.kaddrBase + p * XEN_PAGE_SIZE;
  op.dev_bus_addr = 0;
  op.handle = q.grantTxHandle[p]!;
  op.status = 0;
  nb.clearForeign(q.mmapMfn[p]!);
  q.grantTxHandle[p] = NETBACK_INVALID_HANDLE;
  q.mmapPage[p] = null;
  q.mmapMfn[p] = -1;
  nb.stepCost += nb.hv.unmap(q.txUnmapOps, 1);
  q.vif.counters.tx_unmap_ops++;
  if (op.status !== GNTST_okay) throw new Error(`xenvif_idx_unmap: unmap failed, status ${op.status} (BUG() in Linux)`);
}

/**
 * Turns each built skb into a packet for dom0's stack.
 * @models torvalds/linux drivers/net/xen-netback/netback.c xenvif_tx_submit()
 */
function xenvif_tx_submit(q: XenvifQueue): number {
  const vif = q.vif;
  const nb = vif.nb;
  const mem = nb.hv.mem;
  const pool = nb.stack.pool;
  const tpOn = nb.tpStep.on;
  let workDone = 0;
  let mapBase = 0;
  const n = q.txSkbCount;
  for (let k = 0; k < n; k++) {
    const skb = q.txSkbs[k]!;
    q.txSkbs[k] = null;
    const nf = q.txSkbNrFrags[k]!;
    if (tpOn) nb.step(skb.id, 'xenvif_tx_submit', 0, `skb ${k + 1} of ${n}`);
    const ok = xenvif_tx_check_gop(q, k, mapBase);
    mapBase += nf;
    nb.stepCost += nb.costs.tx_skb_ns;
    if (tpOn) nb.step(skb.id, 'xenvif_tx_check_gop', nb.costs.tx_skb_ns, ok ? 'ok' : 'grant error');
    if (!ok) {
      vif.dropGuestTx('bad_grant', q.txSkbSize[k]!);
      pool.free(skb);
      continue;
    }
    // __skb_put(skb, data_len) with the copied bytes.
    const dataLen = q.txSkbDataLen[k]!;
    const at = skb.put(dataLen);
    const landMfn = q.txSkbLandMfn[k]!;
    if (landMfn >= 0) {
      const src = (landMfn * XEN_PAGE_SIZE) + q.txSkbLandOff[k]!;
      copyBytes(skb.head, at, mem.bytes, src, dataLen);
    }
    // Checksum flags from the first request (pending_tx_info[copy_pending_idx(skb, 0)].req).
    const flags = q.ptFlags[q.txCopyPending[q.txSkbCopyBase[k]!]!]!;
    if (flags & NETTXF_csum_blank) skb.ipSummed = CHECKSUM_PARTIAL;
    else if (flags & NETTXF_data_validated) skb.ipSummed = CHECKSUM_UNNECESSARY;
    xenvif_fill_frags(q, skb, k);
    if (tpOn) nb.step(skb.id, 'xenvif_fill_frags', 0, `${skb.nrFrags} frag(s), ${skb.len} B`);
    skb.dev = vif;
    // eth_type_trans + checksum_setup
    let recalculate = false;
    if (skb.ipSummed !== CHECKSUM_PARTIAL && skb.gsoSize !== 0) {
      vif.counters.rx_gso_checksum_fixup++;
      skb.ipSummed = CHECKSUM_PARTIAL;
      recalculate = true;
    }
    if (skb.ipSummed === CHECKSUM_PARTIAL) {
      const hdrlen = skbChecksumSetup(skb, recalculate);
      if (hdrlen < 0) {
        vif.dropGuestTx('checksum_setup', skb.len);
        pool.free(skb);
        continue;
      }
      if (skb.gsoSize !== 0) skb.gsoSegs = Math.ceil((skb.len - hdrlen) / skb.gsoSize);
      if (tpOn) nb.step(skb.id, 'checksum_setup', 0, `csum_start ${skb.csumStart} csum_offset ${skb.csumOffset}`);
    }
    // Counted after eth_type_trans() has pulled the Ethernet header, as Linux counts it.
    vif.stats.rx_bytes += skb.len - ETH_HLEN;
    vif.stats.rx_packets++;
    q.stats.rx_bytes += skb.len - ETH_HLEN;
    q.stats.rx_packets++;
    workDone++;
    if (skb.destructor !== null) vif.counters.tx_zerocopy_sent++;
    nb.flushCost();
    nb.stack.netif_receive_skb(skb);
  }
  q.txSkbCount = 0;
  return workDone;
}

/**
 * Attaches the mapped guest pages as fragments and chains their zerocopy callbacks.
 * @models torvalds/linux drivers/net/xen-netback/netback.c xenvif_fill_frags()
 */
function xenvif_fill_frags(q: XenvifQueue, skb: SkBuff, k: number): void {
  const nf = q.txSkbNrFrags[k]!;
  const fbase = k * XEN_NETBK_LEGACY_SLOTS_MAX;
  let prev = INVALID_PENDING_IDX;
  if (nf > MAX_SKB_FRAGS) {
    xenvif_handle_frag_list(q, skb, k);
    return;
  }
  for (let i = 0; i < nf; i++) {
    const p = q.txSkbFrags[fbase + i]!;
    if (prev === INVALID_PENDING_IDX) {
      skb.destructor = q;
      skb.destructorArg = p;
    } else {
      q.ptCtx[prev] = p;
    }
    q.ptCtx[p] = INVALID_PENDING_IDX;
    prev = p;
    skb.addFrag(q.mmapPage[p]!, q.ptOffset[p]!, q.ptSize[p]!);
  }
}

/**
 * More mapped fragments than MAX_SKB_FRAGS (the overflow would sit on a frag_list skb): the
 * fragments are copied into local dom0 pages and the guest pages go back at once — first the
 * skb's own chain (uarg->callback), then the frag_list skb's when it is freed.
 * @models torvalds/linux drivers/net/xen-netback/netback.c xenvif_handle_frag_list()
 * @simplified the local pages are dom0 memory outside the machine-frame model; no -ENOMEM.
 */
function xenvif_handle_frag_list(q: XenvifQueue, skb: SkBuff, k: number): void {
  const nf = q.txSkbNrFrags[k]!;
  const fbase = k * XEN_NETBK_LEGACY_SLOTS_MAX;
  const c = q.vif.counters;
  c.tx_zerocopy_sent += 2;
  c.tx_frag_overflow++;
  let total = 0;
  let page: Uint8Array | null = null;
  let pos = 0;
  for (let i = 0; i < nf; i++) {
    const p = q.txSkbFrags[fbase + i]!;
    let left = q.ptSize[p]!;
    let src = q.ptOffset[p]!;
    total += left;
    const mp = q.mmapPage[p]!;
    while (left > 0) {
      if (page === null || pos === XEN_PAGE_SIZE) {
        if (page !== null) skb.addFrag(page, 0, pos);
        page = new Uint8Array(XEN_PAGE_SIZE);
        pos = 0;
      }
      const n = Math.min(left, XEN_PAGE_SIZE - pos);
      page.set(mp.subarray(src, src + n), pos);
      pos += n; src += n; left -= n;
    }
    // Two ubuf chains: frags 0..MAX_SKB_FRAGS-1 (the skb) and the rest (the frag_list skb).
    q.ptCtx[p] = i + 1 < nf && i + 1 !== MAX_SKB_FRAGS ? q.txSkbFrags[fbase + i + 1]! : INVALID_PENDING_IDX;
  }
  if (page !== null && pos > 0) skb.addFrag(page, 0, pos);
  q.vif.nb.stepCost += Math.round(total * q.vif.nb.costs.memcpy_byte_ns_x1000 / 1000);
  const save = skb.destructorArg;
  skb.destructorArg = q.txSkbFrags[fbase]!;
  xenvif_zerocopy_callback(q, skb);
  skb.destructorArg = q.txSkbFrags[fbase + MAX_SKB_FRAGS]!;
  xenvif_zerocopy_callback(q, skb);
  skb.destructorArg = save;
}

/**
 * The skb destructor of a zero-copy guest packet: queue its pending indices for unmapping.
 * @models torvalds/linux drivers/net/xen-netback/netback.c xenvif_zerocopy_callback()
 */
export function xenvif_zerocopy_callback(q: XenvifQueue, skb: SkBuff): void {
  const nb = q.vif.nb;
  let p = skb.destructorArg;
  while (p !== INVALID_PENDING_IDX) {
    if (((q.dealloc_prod - q.dealloc_cons) >>> 0) >= MAX_PENDING_REQS) throw new Error('xenvif_zerocopy_callback: dealloc ring overflow (BUG_ON)');
    q.dealloc_ring[q.dealloc_prod & (MAX_PENDING_REQS - 1)] = p;
    // smp_wmb(): index before producer.
    q.dealloc_prod = (q.dealloc_prod + 1) >>> 0;
    const next = q.ptCtx[p]!;
    q.ptCtx[p] = INVALID_PENDING_IDX;
    p = next;
  }
  q.vif.counters.tx_zerocopy_success++;
  if (nb.tpStep.on) nb.step(skb.id, 'xenvif_zerocopy_callback', 0, `dealloc_prod ${q.dealloc_prod}`);
  nb.scheduleDealloc(q);
}

/**
 * The dealloc thread's work: one batched unmap, then an OKAY response per slot.
 * @models torvalds/linux drivers/net/xen-netback/netback.c xenvif_tx_dealloc_action()
 */
export function xenvif_tx_dealloc_action(q: XenvifQueue): void {
  const nb = q.vif.nb;
  q.deallocScheduled = false;
  let dc = q.dealloc_cons;
  const dp = q.dealloc_prod;
  let n = 0;
  while (dc !== dp) {
    const p = q.dealloc_ring[dc & (MAX_PENDING_REQS - 1)]!;
    dc = (dc + 1) >>> 0;
    q.pendingIdxRelease[n] = p;
    const op = q.txUnmapOps[n]!;
    op.host_addr = q.kaddrBase + p * XEN_PAGE_SIZE;
    op.dev_bus_addr = 0;
    op.handle = q.grantTxHandle[p]!;
    op.status = 0;
    if (q.grantTxHandle[p] === NETBACK_INVALID_HANDLE) throw new Error(`xenvif_grant_handle_reset: trying to unmap invalid handle! pending_idx: ${p}`);
    q.grantTxHandle[p] = NETBACK_INVALID_HANDLE;
    nb.clearForeign(q.mmapMfn[p]!);
    q.mmapPage[p] = null;
    q.mmapMfn[p] = -1;
    n++;
  }
  q.dealloc_cons = dc;
  if (n === 0) return;
  nb.stepCost += nb.costs.dealloc_ns;
  const cost = nb.hv.unmap(q.txUnmapOps, n);
  nb.stepCost += cost;
  for (let i = 0; i < n; i++) {
    if (q.txUnmapOps[i]!.status !== GNTST_okay) throw new Error(`xenvif_tx_dealloc_action: unmap failed, status ${q.txUnmapOps[i]!.status} (BUG() in Linux)`);
  }
  q.vif.counters.tx_unmap_ops += n;
  if (nb.tpDealloc.on) nb.tpDealloc.emit({ vif: q.vif.name, queue: q.id, design: 'modern', unmaps: n, costNs: cost });
  for (let i = 0; i < n; i++) {
    const p = q.pendingIdxRelease[i]!;
    if (nb.tpStep.on) {
      nb.step(q.ptPkt[p]!, 'xenvif_tx_dealloc_action', i === 0 ? nb.costs.dealloc_ns : 0, `gnttab_unmap_refs ${n} op(s)`);
      nb.step(q.ptPkt[p]!, 'gnttab_unmap_refs', hypercallShare(cost, n, i), `${n} op(s) in the batch`, 'xen');
    }
    xenvif_idx_release(q, p, NETIF_RSP_OKAY);
  }
  nb.flushCost();
}
