/**
 * netfront receive: posting buffers (xennet_alloc_rx_buffers), the interrupt (xennet_handle_rx),
 * NAPI polling (xennet_poll, xennet_get_responses, xennet_get_extras, xennet_fill_frags) and
 * delivery (handle_incoming_queue).
 *
 * One received packet is a chain of rx responses, each in the slot of the request it answers:
 *
 *   slot  k     response {id, offset, flags = csum | extra_info | more_data, status = bytes here}
 *   slot  k+1   extra    {type GSO, flags, gso.size, gso.type}        only if extra_info
 *   slot  k+2.. response {id, offset, flags = more_data except last, status = bytes here}
 *
 * Packet length is the sum of the statuses. Bookkeeping is by ring index, not by id. A bad chain
 * (negative status, offset + status past the page, missing slots, too many slots, a bad extra)
 * consumes its slots, drops the packet with a named reason and recycles the buffers whose data was
 * bad; a grant the backend still holds marks the device broken.
 *
 * Two refill policies:
 *   modern  fill every free slot; publish only when at least NET_RX_SLOTS_MIN (19) requests would be
 *           outstanding, else arm the refill timer (HZ/10);
 *   classic 2.6.18's adaptive rx_target (64..256, starts at 64): refill only in batches of at least
 *           rx_target/2, double the target when the backend nearly ran dry, shrink it by one per poll
 *           when more than 3/4 of it sits unused. In flip mode each buffer is granted with
 *           GTF_accept_transfer and its frame given back to Xen; on receive the transferred frame is
 *           mapped at the buffer's pfn.
 *
 * @models torvalds/linux drivers/net/xen-netfront.c xennet_alloc_rx_buffers(), xennet_handle_rx(),
 *   xennet_rx_interrupt(), xennet_interrupt(), xennet_poll(), xennet_get_responses(),
 *   xennet_get_extras(), xennet_move_rx_slot(), xennet_set_rx_rsp_cons(), xennet_set_skb_gso(),
 *   xennet_fill_frags(), checksum_setup(), handle_incoming_queue(), rx_refill_timeout()
 * @models bronson/linux-2.6.18.8-ovz-xen drivers/xen/netfront/netfront.c network_alloc_rx_buffers(),
 *   netif_poll() (rx_target, page flipping), netif_int(), xennet_get_responses(); the classic packet
 *   walk shows netif_int, netif_poll and xennet_get_responses, and no napi_gro_receive (2.6.18's
 *   netif_poll calls netif_receive_skb)
 * @simplified the receive skb is allocated from the guest SkbPool when its response is processed;
 *   pages are recycled (not re-zeroed) through the skb destructor; no XDP program (an XDP extra's
 *   headroom is still honoured as rx->offset); the first min(status, 256) bytes are pulled into the
 *   head while the skb is built rather than in xennet_fill_frags / handle_incoming_queue, which
 *   accepts and refuses the same chains (17 data slots, 18 when the first holds <= 256 bytes;
 *   empty slots do not count then, as the pull at MAX_SKB_FRAGS drops empty frags; a 2.6.18
 *   netfront takes up to 18 frags, 18 or 19 slots, and pulls nothing at the limit);
 *   an in-flight poll after disconnect (carrier off) does nothing, standing for napi_disable().
 * Receive errors count in netdev.stats.rx_errors, as Linux's, and in counters.rx_errors.
 *
 * Late EOI (XSA-391, modern only): the rx (or shared) channel is bound with the lateeoi chip; the
 * handler EOIs at once, flagged XEN_EOI_FLAG_SPURIOUS unless the ring holds more unconsumed
 * responses than rx_rsp_unconsumed (what the driver last saw, reset by every rsp_cons update), and
 * not at all once the device is broken — fewer unconsumed responses than before means the backend
 * moved rsp_prod backwards, which marks it broken. Spurious EOIs count in
 * counters.spurious_events / jiffies_eoi_delayed.
 */
import { CHECKSUM_NONE, CHECKSUM_PARTIAL, CHECKSUM_UNNECESSARY, MAX_SKB_FRAGS, SKB_GSO_DODGY, SKB_GSO_TCPV4, SKB_GSO_TCPV6, type SkBuff } from '../../net/skb';
import { emitStep } from '../../net/walk';
import {
  RING_FINAL_CHECK_FOR_RESPONSES, RING_GET_REQUEST, RING_GET_RESPONSE, RING_PUSH_REQUESTS_AND_CHECK_NOTIFY,
  RING_RESPONSE_PROD_OVERFLOW, XEN_RING_NR_UNCONSUMED_RESPONSES,
} from '../../io/ring';
import {
  NETRXF_csum_blank, NETRXF_data_validated, NETRXF_extra_info, NETRXF_more_data, XEN_NETIF_EXTRA_FLAG_MORE,
  XEN_NETIF_EXTRA_TYPE_GSO, XEN_NETIF_EXTRA_TYPE_MAX, XEN_NETIF_EXTRA_TYPE_MAX_LINUX, XEN_NETIF_EXTRA_TYPE_XDP, XEN_NETIF_GSO_TYPE_TCPV4,
  XEN_NETIF_GSO_TYPE_TCPV6, XEN_NETIF_NR_SLOTS_MIN, extraFlags, extraGsoSize, extraGsoType, extraType,
  rxResponseFlags, rxResponseId, rxResponseOffset, rxResponseStatus, writeRxRequest,
} from '../../io/netif';
import {
  CLASSIC_MAX_SKB_FRAGS, E2BIG, EBADR, EINVAL, ENOENT, ENOMEM, EPROTO, ETH_HLEN, INVALID_GRANT_REF, NET_RX_RING_SIZE, NET_RX_SLOTS_MIN, RX_COPY_THRESHOLD,
  RX_DFL_MIN_TARGET, RX_MAX_TARGET, XEN_EOI_FLAG_SPURIOUS,
} from './constants';
import type { NetfrontQueue } from './queue';
import type { NetfrontInfo } from './info';
import { xennet_handle_tx_irq } from './tx';
import { copyBytes } from '../../wire/copy';
import { skbChecksumSetup } from '../../net/checksum-setup';

const PAGE_SIZE = 4096;
const RX_MASK = NET_RX_RING_SIZE - 1;

/** Posts one buffer page in ring slot `idx` (grant + request). Returns false when no page is free. */
function postBuffer(q: NetfrontQueue, idx: number): boolean {
  const np = q.info;
  const xen = np.xen;
  const pfn = q.rxPages.pop();
  if (pfn < 0) return false;
  const id = idx & RX_MASK;
  q.rx_pfn[id] = pfn;
  const ref = xen.gnttab_claim_grant_reference(q.gref_rx_head!);
  q.grant_rx_ref[id] = ref;
  if (np.copyingReceiver) {
    xen.gnttab_grant_foreign_access_ref(ref, np.otherendId, xen.pfn_to_gfn(pfn), false);
  } else {
    xen.gnttab_grant_foreign_transfer_ref(ref, np.otherendId, pfn);
  }
  writeRxRequest(q.rx.sring.view, RING_GET_REQUEST(q.rx, idx), id, ref);
  return true;
}

/** mod_timer(&queue->rx_refill_timer, jiffies + HZ/10). */
function armRefillTimer(q: NetfrontQueue): void {
  const np = q.info;
  if (q.refillArmed) np.sim.cancel(q.refillTimer);
  q.refillArmed = true;
  q.refillTimer = np.sim.after(np.p.rx_refill_timer_ns, np.hRefill, q.id);
}

function pushRx(q: NetfrontQueue): boolean {
  const np = q.info;
  const notify = RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(q.rx);
  np.counters.rx_push++;
  if (notify) np.counters.rx_notify++;
  return notify;
}

/**
 * Posts receive buffers. Returns the guest CPU cost (ns); a needed notification is sent when that
 * work is done.
 * @models torvalds/linux drivers/net/xen-netfront.c xennet_alloc_rx_buffers()
 */
export function xennet_alloc_rx_buffers(q: NetfrontQueue): number {
  const np = q.info;
  if (!np.netdev.carrier) return 0;
  if (np.classic) return network_alloc_rx_buffers(q);
  let req_prod = q.rx.req_prod_pvt;
  let err = 0;
  let posted = 0;
  for (; ((req_prod - q.rx.rsp_cons) >>> 0) < NET_RX_RING_SIZE; req_prod = (req_prod + 1) >>> 0) {
    if (!postBuffer(q, req_prod)) {
      err = -ENOMEM;
      break;
    }
    posted++;
  }
  q.rx.req_prod_pvt = req_prod;
  np.counters.rx_refill_posted += posted;
  const cost = posted * np.p.rx_refill_ns;
  const outstanding = (req_prod - q.rx.rsp_cons) >>> 0;
  // Try again later if there are not enough requests or an allocation failed.
  if (outstanding < NET_RX_SLOTS_MIN || err !== 0) {
    np.counters.rx_refill_deferred++;
    armRefillTimer(q);
    if (np.tpRxRefill.on) np.tpRxRefill.emit({ dev: np.netdev.name, queue: q.id, prod: req_prod, posted, pushed: false, notify: false, outstanding, target: NET_RX_RING_SIZE });
    np.cpu.run(np.sim.now, cost);
    return 0;
  }
  const notify = pushRx(q);
  if (np.tpRxRefill.on) np.tpRxRefill.emit({ dev: np.netdev.name, queue: q.id, prod: req_prod, posted, pushed: true, notify, outstanding, target: NET_RX_RING_SIZE });
  np.chargeAndNotify(cost, q.id, q.rx_evtchn !== q.tx_evtchn ? 1 : 0, notify);
  return 0;
}

/**
 * 2.6.18 refill with the adaptive rx_target (and page flipping when not a copying receiver).
 * @models bronson/linux-2.6.18.8-ovz-xen drivers/xen/netfront/netfront.c network_alloc_rx_buffers()
 * @simplified rx_batch is a count of pages set aside; the flip multicall is one cost per buffer.
 */
function network_alloc_rx_buffers(q: NetfrontQueue): number {
  const np = q.info;
  const s = q.rx.sring;
  const req_prod = q.rx.req_prod_pvt;
  const batch_target = q.rx_target - ((req_prod - q.rx.rsp_cons) >>> 0);
  // Allocate greedily, even though ring updates are batched.
  let i = q.rx_batch;
  let noMem = false;
  while (i < batch_target) {
    if (q.rxPages.free - i <= 0) { noMem = true; break; }
    i++;
  }
  q.rx_batch = i;
  if (noMem && i === 0) {
    armRefillTimer(q);
    np.counters.rx_refill_deferred++;
    return 0;
  }
  if (!noMem && i < (q.rx_target >>> 1)) {
    // Batch not worthwhile yet; publish what is written but not yet pushed.
    let notify = false;
    if (((req_prod - s.req_prod) | 0) > 0) notify = pushRx(q);
    if (np.tpRxRefill.on) np.tpRxRefill.emit({ dev: np.netdev.name, queue: q.id, prod: req_prod, posted: 0, pushed: notify, notify, outstanding: (req_prod - q.rx.rsp_cons) >>> 0, target: q.rx_target });
    np.chargeAndNotify(0, q.id, 0, notify);
    return 0;
  }
  // Adjust the fill target if we risked running out of buffers.
  if (!noMem && ((req_prod - s.rsp_prod) >>> 0) < (q.rx_target >>> 2)) {
    q.rx_target = Math.min(q.rx_target * 2, RX_MAX_TARGET);
  }
  let cost = 0;
  let flips = 0;
  for (let k = 0; k < i; k++) {
    const idx = (req_prod + k) >>> 0;
    postBuffer(q, idx);
    cost += np.p.rx_refill_ns;
    if (!np.copyingReceiver) q.flipPfns[flips++] = q.rx_pfn[idx & RX_MASK]!;
  }
  if (flips > 0) {
    // Zap the PTEs and give the frames back to Xen in one multicall.
    cost += flips * np.p.flip_release_ns + np.xen.decrease_reservation(q.flipPfns, flips);
  }
  q.rx_batch = 0;
  q.rx.req_prod_pvt = (req_prod + i) >>> 0;
  np.counters.rx_refill_posted += i;
  const notify = pushRx(q);
  if (np.tpRxRefill.on) np.tpRxRefill.emit({ dev: np.netdev.name, queue: q.id, prod: q.rx.req_prod_pvt, posted: i, pushed: true, notify, outstanding: q.rxOutstanding, target: q.rx_target });
  np.chargeAndNotify(cost, q.id, 0, notify);
  return 0;
}

/**
 * Rx refill timer: schedule NAPI, whose poll refills.
 * @models torvalds/linux drivers/net/xen-netfront.c rx_refill_timeout()
 */
export function rx_refill_timeout(q: NetfrontQueue): void {
  q.refillArmed = false;
  q.info.counters.rx_refill_timer++;
  napi_schedule(q);
}

/**
 * Schedules the queue's NAPI poll (NET_RX softirq) unless already scheduled.
 * @models linux include/linux/netdevice.h napi_schedule()
 */
export function napi_schedule(q: NetfrontQueue): void {
  if (q.napiScheduled) return;
  const np = q.info;
  q.napiScheduled = true;
  const at = Math.max(np.sim.now + np.p.softirq_latency_ns, np.cpu.busyUntil);
  np.sim.at(at, np.hPoll, q.id);
}

/** NAPI softirq: one poll with the queue's budget; a full budget polls again. */
export function napiRun(q: NetfrontQueue): void {
  const np = q.info;
  const budget = np.p.napi_budget;
  const work = xennet_poll(q, budget);
  // __napi_poll: a poll that used its whole budget hands up what GRO holds (all of it, HZ < 1000).
  if (work >= budget && q.gro !== null) np.stack.napi_gro_flush?.(q, true);
  if (work >= budget && q.napiScheduled) {
    const at = Math.max(np.sim.now, np.cpu.busyUntil);
    np.sim.at(at, np.hPoll, q.id);
  }
  // A poll that returned without napi_complete_done (it found the device broken) leaves NAPI
  // scheduled for good, as in Linux: later napi_schedule calls do nothing.
}

/**
 * Moves the buffer of a consumed slot (grant still active) to the next free request slot.
 * @models torvalds/linux drivers/net/xen-netfront.c xennet_move_rx_slot()
 */
export function xennet_move_rx_slot(q: NetfrontQueue, pfn: number, ref: number): void {
  const idx = q.rx.req_prod_pvt;
  const nw = idx & RX_MASK;
  q.rx_pfn[nw] = pfn;
  q.grant_rx_ref[nw] = ref;
  writeRxRequest(q.rx.sring.view, RING_GET_REQUEST(q.rx, idx), nw, ref);
  q.rx.req_prod_pvt = (idx + 1) >>> 0;
}

/** @models torvalds/linux drivers/net/xen-netfront.c xennet_set_rx_rsp_cons() */
export function xennet_set_rx_rsp_cons(q: NetfrontQueue, val: number): void {
  q.rx.rsp_cons = val >>> 0;
  q.rx_rsp_unconsumed = XEN_RING_NR_UNCONSUMED_RESPONSES(q.rx);
}

/** xennet_get_rx_skb + xennet_get_rx_ref for slot `ri`: takes the buffer out of the slot. */
function takeSlot(q: NetfrontQueue, ri: number): void {
  const i = ri & RX_MASK;
  takenPfn = q.rx_pfn[i]!;
  takenRef = q.grant_rx_ref[i]!;
  q.rx_pfn[i] = -1;
  q.grant_rx_ref[i] = INVALID_GRANT_REF;
}
let takenPfn = -1;
let takenRef = INVALID_GRANT_REF;

/**
 * Consumes the extra_info slots after the first response (while XEN_NETIF_EXTRA_FLAG_MORE),
 * recycling their buffers; keeps the GSO extra. Returns 0 or -errno.
 * @models torvalds/linux drivers/net/xen-netfront.c xennet_get_extras()
 */
export function xennet_get_extras(q: NetfrontQueue, rp: number): number {
  const view = q.rx.sring.view;
  const max = q.info.classic ? XEN_NETIF_EXTRA_TYPE_MAX : XEN_NETIF_EXTRA_TYPE_MAX_LINUX;
  let cons = q.rx.rsp_cons;
  let err = 0;
  let flags: number;
  do {
    if (((cons + 1) >>> 0) === rp) {
      q.rxErrReason = 'rx_missing_extra';
      err = -EBADR;
      break;
    }
    cons = (cons + 1) >>> 0;
    const off = RING_GET_RESPONSE(q.rx, cons);
    const type = extraType(view, off);
    flags = extraFlags(view, off);
    if (type === 0 || type >= max) {
      q.rxErrReason = 'rx_bad_extra';
      err = -EINVAL;
    } else if (type === XEN_NETIF_EXTRA_TYPE_GSO) {
      q.gsoExtraType = type;
      q.gsoExtraSize = extraGsoSize(view, off);
      q.gsoExtraGsoType = extraGsoType(view, off);
    } else if (type === XEN_NETIF_EXTRA_TYPE_XDP) {
      // u.xdp.headroom: the u16 after type and flags.
      q.xdpExtraType = type;
      q.xdpExtraHeadroom = view.getUint16(off + 2, true);
    }
    // The slot's buffer goes straight back on the request ring, whatever the slot held: Linux
    // moves it even when the backend answered a slot with no buffer (NULL skb, INVALID_GRANT_REF),
    // which posts a request with gref 0xffffffff.
    takeSlot(q, cons);
    xennet_move_rx_slot(q, takenPfn, takenRef);
  } while (flags & XEN_NETIF_EXTRA_FLAG_MORE);
  xennet_set_rx_rsp_cons(q, cons);
  return err;
}

/**
 * Collects the data slots of one packet into the queue's tmp arrays, validating each response;
 * 0 or -errno (on error rsp_cons is moved past the slots seen).
 * @models torvalds/linux drivers/net/xen-netfront.c xennet_get_responses()
 */
export function xennet_get_responses(q: NetfrontQueue, rp: number): number {
  const np = q.info;
  const xen = np.xen;
  const view = q.rx.sring.view;
  const max = XEN_NETIF_NR_SLOTS_MIN + (q.rxStatus <= RX_COPY_THRESHOLD ? 1 : 0);
  let cons = q.rx.rsp_cons;
  takeSlot(q, cons);
  let pfn = takenPfn;
  let ref = takenRef;
  let slots = 1;
  let err = 0;
  let offset = q.rxOffset;
  let status = q.rxStatus;
  let flags = q.rxFlags;
  q.tmpN = 0;
  if (flags & NETRXF_extra_info) {
    err = xennet_get_extras(q, rp);
    // An XDP extra moves the packet's data: rx->offset = u.xdp.headroom (checked below like any offset).
    if (err === 0 && q.xdpExtraType !== 0) offset = q.rxOffset = q.xdpExtraHeadroom;
    cons = q.rx.rsp_cons;
  }
  for (;;) {
    if (ref === INVALID_GRANT_REF) {
      // Definitely a bug in this driver or the backend.
      if (err === 0) q.rxErrReason = 'rx_bad_id';
      err = -EINVAL;
    } else if (status < 0 || offset + status > PAGE_SIZE) {
      if (err === 0) q.rxErrReason = 'rx_bad_response';
      xennet_move_rx_slot(q, pfn, ref);
      err = -EINVAL;
    } else {
      if (np.copyingReceiver) {
        if (!xen.gnttab_end_foreign_access_ref(ref)) {
          // The backend still holds the grant: the ref and the page stay with it (Linux leaks
          // both and stops), and rsp_cons is not moved.
          np.markBroken(q, `Grant still in use by backend domain (rx ref ${ref})`);
          return -EINVAL;
        }
        xen.gnttab_release_grant_reference(q.gref_rx_head!, ref);
      } else {
        // Page flipping: the new frame Xen put in the entry, or 0 when nothing was transferred.
        const mfn = xen.gnttab_end_foreign_transfer_ref(ref);
        if (mfn === 0) {
          if (err === 0) q.rxErrReason = 'rx_unfulfilled';
          // 2.6.18 re-posts the slot with the same ref, whose entry the revoke just cleared: a
          // later transfer into it fails, so the slot stays unfulfilled from then on.
          xennet_move_rx_slot(q, pfn, ref);
          err = -ENOMEM;
          status = -1;
        } else {
          flipCost += xen.remapTransferredPage(pfn, mfn) + np.p.flip_remap_ns;
          np.counters.rx_flipped++;
          xen.gnttab_release_grant_reference(q.gref_rx_head!, ref);
        }
      }
      if (status >= 0) {
        const k = q.tmpN++;
        q.tmpPfn[k] = pfn;
        q.tmpOff[k] = offset;
        q.tmpLen[k] = status;
      }
    }
    if (!(flags & NETRXF_more_data)) break;
    if (((cons + slots) >>> 0) === rp) {
      if (err === 0) q.rxErrReason = 'rx_missing_slots';
      err = -ENOENT;
      break;
    }
    const off = RING_GET_RESPONSE(q.rx, (cons + slots) >>> 0);
    offset = rxResponseOffset(view, off);
    flags = rxResponseFlags(view, off);
    status = rxResponseStatus(view, off);
    takeSlot(q, (cons + slots) >>> 0);
    pfn = takenPfn;
    ref = takenRef;
    slots++;
  }
  if (slots > max) {
    if (err === 0) q.rxErrReason = 'rx_too_many_slots';
    err = -E2BIG;
  }
  np.counters.rx_slots += slots;
  slotCount = slots;
  if (err !== 0) xennet_set_rx_rsp_cons(q, (cons + slots) >>> 0);
  return err;
}
let slotCount = 0;
let flipCost = 0;

/**
 * Validates a GSO extra and sets the skb's gso fields (+ SKB_GSO_DODGY). 0 or -EINVAL.
 * @models torvalds/linux drivers/net/xen-netfront.c xennet_set_skb_gso()
 */
export function xennet_set_skb_gso(q: NetfrontQueue, skb: SkBuff): number {
  const size = q.gsoExtraSize;
  const type = q.gsoExtraGsoType;
  if (size === 0) return -EINVAL;
  if (q.info.classic ? type !== XEN_NETIF_GSO_TYPE_TCPV4 : type !== XEN_NETIF_GSO_TYPE_TCPV4 && type !== XEN_NETIF_GSO_TYPE_TCPV6) return -EINVAL;
  skb.gsoSize = size;
  skb.gsoType = (type === XEN_NETIF_GSO_TYPE_TCPV4 ? SKB_GSO_TCPV4 : SKB_GSO_TCPV6) | SKB_GSO_DODGY;
  skb.gsoSegs = 0;
  return 0;
}

/** Returns the pages of the tmp slots from index `from` to the pool (kfree_skb of the tmpq). */
function freeTmp(q: NetfrontQueue, from: number): void {
  for (let k = from; k < q.tmpN; k++) q.rxPages.push(q.tmpPfn[k]!);
  q.tmpN = 0;
}

/**
 * A GSO packet must be CHECKSUM_PARTIAL (buggy peers forget csum_blank; its check field is then
 * recalculated); CHECKSUM_PARTIAL needs csum_start/offset from the IPv4 or IPv6 and TCP/UDP
 * headers (skb_checksum_setup). Returns 0 or -EPROTO.
 * @models torvalds/linux drivers/net/xen-netfront.c checksum_setup()
 */
export function checksum_setup(np: NetfrontInfo, skb: SkBuff): number {
  let recalculate = false;
  if (skb.ipSummed !== CHECKSUM_PARTIAL && skb.gsoSize !== 0) {
    np.counters.rx_gso_checksum_fixup++;
    skb.ipSummed = CHECKSUM_PARTIAL;
    recalculate = true;
  }
  if (skb.ipSummed !== CHECKSUM_PARTIAL) return 0;
  return skbChecksumSetup(skb, recalculate) < 0 ? -EPROTO : 0;
}

/** Builds the skb of the packet collected in tmp: head pull, frags, checksum state. Null on error. */
function buildSkb(q: NetfrontQueue, first: number): SkBuff | null {
  const np = q.info;
  const xen = np.xen;
  const skb = np.stack.skbs.alloc();
  skb.dev = np.netdev;
  const walkId = np.rxPacketId !== null ? np.rxPacketId(q.id, first) : q.rxSlotPkt[first & 255]!;
  if (walkId > 0) skb.id = walkId;
  // The sender's birth time, left beside the slot by the backend (src/net/walk.ts ringPageWalkBorn).
  skb.bornAt = np.rxPacketId === null && walkId > 0 ? q.rxSlotBorn[first & 255]! : np.sim.now;
  if (q.gsoExtraType !== 0 && xennet_set_skb_gso(q, skb) !== 0) {
    np.stack.skbs.free(skb);
    q.rxErrReason = 'rx_bad_gso';
    return null;
  }
  // Frag 0 is the first buffer at rx->offset; the first min(status, RX_COPY_THRESHOLD) bytes are
  // pulled into the linear area (handle_incoming_queue's __pskb_pull_tail).
  const pfn0 = q.tmpPfn[0]!;
  const off0 = q.tmpOff[0]!;
  const len0 = q.tmpLen[0]!;
  const page0 = xen.page(pfn0);
  const pull = len0 < RX_COPY_THRESHOLD ? len0 : RX_COPY_THRESHOLD;
  const at = skb.put(pull);
  copyBytes(skb.head, at, page0, off0, pull);
  pullBytes = pull;
  if (len0 > pull) skb.addFrag(page0, off0 + pull, len0 - pull);
  else q.rxPages.push(pfn0); // empty frag: the page goes back at once
  // Pages of frags belong to the rx page pool until the stack frees the skb.
  skb.destructor = q;
  // 2.6.18 takes every frag xennet_get_responses let through (at most its MAX_SKB_FRAGS, 18).
  const maxFrags = np.classic ? CLASSIC_MAX_SKB_FRAGS : MAX_SKB_FRAGS;
  for (let k = 1; k < q.tmpN; k++) {
    // At MAX_SKB_FRAGS Linux pulls the head (__pskb_pull_tail), which also drops every empty frag
    // once the first slot is pulled whole; with the first slot's rest still a frag it fails.
    if (skb.nrFrags >= maxFrags && len0 <= pull && !np.classic) dropEmptyFrags(q, skb);
    if (skb.nrFrags >= maxFrags) {
      freeTmp(q, k);
      np.stack.skbs.free(skb);
      q.rxErrReason = 'rx_too_many_frags';
      return null;
    }
    skb.addFrag(xen.page(q.tmpPfn[k]!), q.tmpOff[k]!, q.tmpLen[k]!, maxFrags);
  }
  q.tmpN = 0;
  const flags = q.rxFlags;
  if (np.classic) {
    // Old backends do not assert data_validated but it can be inferred from csum_blank; the Xen
    // core's proto_data_valid / proto_csum_blank say so to a forwarding dom (CONFIG_XEN).
    if (flags & (NETRXF_data_validated | NETRXF_csum_blank)) skb.ipSummed = CHECKSUM_UNNECESSARY;
    skb.protoDataValid = skb.ipSummed !== CHECKSUM_NONE;
    skb.protoCsumBlank = (flags & NETRXF_csum_blank) !== 0;
  } else if (flags & NETRXF_csum_blank) {
    skb.ipSummed = CHECKSUM_PARTIAL;
  } else if (flags & NETRXF_data_validated) {
    skb.ipSummed = CHECKSUM_UNNECESSARY;
  }
  return skb;
}
let pullBytes = 0;

/** The zero-size frags __pskb_pull_tail unrefs (their pages back to the rx pool); the rest keep their order. */
function dropEmptyFrags(q: NetfrontQueue, skb: SkBuff): void {
  const xen = q.info.xen;
  let k = 0;
  for (let i = 0; i < skb.nrFrags; i++) {
    if (skb.fragLen[i] === 0) {
      const pfn = xen.pfnOfView(skb.fragPage[i]!, 0);
      if (q.rxPages.owns(pfn)) q.rxPages.push(pfn);
      continue;
    }
    skb.fragPage[k] = skb.fragPage[i]!;
    skb.fragOff[k] = skb.fragOff[i]!;
    skb.fragLen[k] = skb.fragLen[i]!;
    k++;
  }
  for (let i = k; i < skb.nrFrags; i++) skb.fragPage[i] = null;
  skb.nrFrags = k;
}

function rxError(q: NetfrontQueue, cons: number): void {
  const np = q.info;
  np.netdev.stats.rx_errors++;
  np.counters.rx_errors++;
  const reason = q.rxErrReason || 'rx_bad_response';
  np.drop(reason, q.rxStatus > 0 ? q.rxStatus : 0);
  if (np.tpRxError.on) np.tpRxError.emit({ dev: np.netdev.name, queue: q.id, reason, cons });
}

/**
 * NAPI poll: consume up to `budget` packets, deliver them, refill, and re-enable the event (or
 * stay scheduled). Returns the packets processed.
 * @models torvalds/linux drivers/net/xen-netfront.c xennet_poll()
 * @models bronson/linux-2.6.18.8-ovz-xen drivers/xen/netfront/netfront.c netif_poll() (classic step name)
 */
export function xennet_poll(q: NetfrontQueue, budget: number): number {
  const np = q.info;
  const p = np.p;
  const rx = q.rx;
  const view = rx.sring.view;
  const dom = np.xen.domid;
  const tr = np.tpStep.on;
  np.counters.rx_polls++;
  // Linux's poll does not look at `broken`: a poll already scheduled (or one the refill timer
  // schedules) still runs; a broken device only stops scheduling it from the interrupt.
  if (!np.netdev.carrier) {
    q.napiScheduled = false;
    return 0;
  }
  const rp = rx.sring.rsp_prod;
  if (RING_RESPONSE_PROD_OVERFLOW(rx, rp)) {
    np.markBroken(q, `Illegal number of responses ${(rp - rx.rsp_cons) >>> 0}`);
    return 0;
  }
  // rmb(): see responses up to rp.
  let cost = p.napi_schedule_ns;
  let i = rx.rsp_cons;
  let work = 0;
  q.rxqN = 0;
  flipCost = 0;
  while (i !== rp && work < budget) {
    // RING_COPY_RESPONSE into rinfo.rx; clear the extras.
    const off = RING_GET_RESPONSE(rx, i);
    q.rxId = rxResponseId(view, off);
    q.rxOffset = rxResponseOffset(view, off);
    q.rxFlags = rxResponseFlags(view, off);
    q.rxStatus = rxResponseStatus(view, off);
    q.gsoExtraType = 0;
    q.gsoExtraSize = 0;
    q.gsoExtraGsoType = 0;
    q.xdpExtraType = 0;
    q.rxErrReason = '';
    const err = xennet_get_responses(q, rp);
    cost += slotCount * p.rx_slot_ns;
    if (err !== 0) {
      if (np.broken) {
        np.cpu.run(np.sim.now, cost);
        return 0;
      }
      freeTmp(q, 0);
      rxError(q, i);
      i = rx.rsp_cons;
      continue;
    }
    const extras = (rx.rsp_cons - i) >>> 0;
    cost += extras * p.rx_slot_ns;
    const skb = buildSkb(q, i);
    if (skb === null) {
      // xennet_set_skb_gso or xennet_fill_frags failed: the whole chain is consumed.
      freeTmp(q, 0);
      xennet_set_rx_rsp_cons(q, (rx.rsp_cons + slotCount) >>> 0);
      rxError(q, i);
      i = rx.rsp_cons;
      continue;
    }
    cost += p.rx_packet_ns + Math.round(pullBytes * p.copy_byte_ns);
    if (tr) {
      emitStep(np.tpStep, skb.id, np.steps.poll, 'domU', dom, p.napi_schedule_ns, `queue ${q.id} rsp ${i & RX_MASK}`);
      emitStep(np.tpStep, skb.id, 'xennet_get_responses', 'domU', dom, (slotCount + extras) * p.rx_slot_ns, `slots ${slotCount} extras ${extras} len ${skb.len} flags ${q.rxFlags}`);
    }
    q.rxq[q.rxqN++] = skb;
    // xennet_fill_frags leaves rsp_cons on the last slot; the next packet starts after it.
    i = (rx.rsp_cons + slotCount) >>> 0;
    xennet_set_rx_rsp_cons(q, i);
    work++;
  }
  cost += flipCost;
  np.cpu.run(np.sim.now, cost);
  // Pass the packets up; those checksum_setup dropped do not count as work.
  work -= handle_incoming_queue(q);
  if (np.classic) {
    // 2.6.18: if we get a callback with very few responses, reduce the fill target, never below
    // np->rx_min_target (RX_DFL_MIN_TARGET 64 unless set through sysfs; RX_MIN_TARGET 8 only
    // bounds what sysfs accepts). Below 20 a classic backend with SG would stop the vif for good.
    if (((rx.req_prod_pvt - rx.sring.rsp_prod) >>> 0) > ((3 * q.rx_target) >>> 2)) {
      q.rx_target = Math.max(q.rx_target - 1, RX_DFL_MIN_TARGET);
    }
  }
  xennet_alloc_rx_buffers(q);
  if (np.tpRxPoll.on) np.tpRxPoll.emit({ dev: np.netdev.name, queue: q.id, work, budget, cons: rx.rsp_cons });
  if (work < budget) {
    // napi_complete_done (GRO hands up what it holds), then re-arm rsp_event and catch a race with the backend.
    if (q.gro !== null) np.stack.napi_gro_flush?.(q, false);
    q.napiScheduled = false;
    const more = RING_FINAL_CHECK_FOR_RESPONSES(rx);
    if (more) napi_schedule(q);
  }
  return work;
}

/**
 * Delivers the packets of this poll: checksum setup, stats, napi_gro_receive.
 * @models torvalds/linux drivers/net/xen-netfront.c handle_incoming_queue()
 */
export function handle_incoming_queue(q: NetfrontQueue): number {
  const np = q.info;
  const dev = np.netdev;
  let dropped = 0;
  for (let k = 0; k < q.rxqN; k++) {
    const skb = q.rxq[k]!;
    q.rxq[k] = null;
    // 2.6.18's netif_poll has no checksum_setup: the flags alone set the checksum state.
    if (!np.classic && checksum_setup(np, skb) !== 0) {
      np.netdev.stats.rx_errors++;
      np.counters.rx_errors++;
      np.drop('rx_csum_setup', skb.len);
      np.stack.skbs.free(skb);
      dropped++;
      continue;
    }
    // 2.6.18's netif_poll counts the frame before eth_type_trans(); handle_incoming_queue after it.
    const bytes = np.classic ? skb.len : Math.max(skb.len - ETH_HLEN, 0);
    dev.stats.rx_packets++;
    dev.stats.rx_bytes += bytes;
    np.counters.rx_packets++;
    np.counters.rx_bytes += bytes;
    // 2.6.18 netif_poll calls netif_receive_skb itself: the guest stack's own step shows it.
    // The guest stack's napi_gro_receive shows as a step of its own (2.6.18: netif_receive_skb).
    np.stack.napi_gro_receive(dev, skb, np.classic ? undefined : q);
  }
  q.rxqN = 0;
  return dropped;
}

/**
 * The rx half of the interrupt: note new responses and schedule NAPI; a producer index going
 * backwards marks the device broken. Returns false when broken (no EOI: a lateeoi channel stays
 * masked for good). Clears `q.eoiflag` (the handler's `*eoi`) only when there are more
 * unconsumed responses than the driver last saw — an event that brings nothing new is spurious:
 *
 *   work_queued = XEN_RING_NR_UNCONSUMED_RESPONSES(&queue->rx);
 *   if (work_queued > queue->rx_rsp_unconsumed) {
 *       queue->rx_rsp_unconsumed = work_queued;
 *       *eoi = 0;
 *   } else if (unlikely(work_queued < queue->rx_rsp_unconsumed)) {
 *       dev_alert(dev, "RX producer index going backwards\n");
 *       dev_alert(dev, "Disabled for further use\n");
 *       queue->info->broken = true;
 *       return false;
 *   }
 *   if (likely(netif_carrier_ok(queue->info->netdev) && work_queued))
 *       napi_schedule(&queue->napi);
 *   return true;
 *
 * rx_rsp_unconsumed is reset by every rsp_cons update (xennet_set_rx_rsp_cons), so responses the
 * poll has consumed do not count as new. The check is kept with `netfront.lateeoi` off, and for
 * the classic netif_int, as before this model had late EOI.
 * @models torvalds/linux drivers/net/xen-netfront.c xennet_handle_rx()
 */
export function xennet_handle_rx(q: NetfrontQueue): boolean {
  const np = q.info;
  if (np.broken) return false;
  const work = XEN_RING_NR_UNCONSUMED_RESPONSES(q.rx);
  if (work > q.rx_rsp_unconsumed) {
    q.rx_rsp_unconsumed = work;
    q.eoiflag = 0;
  } else if (work < q.rx_rsp_unconsumed) {
    np.markBroken(q, 'RX producer index going backwards');
    return false;
  }
  if (np.netdev.carrier && work !== 0) {
    // Packet walk: the interrupt is where the backend's notification lands for the next response.
    // 2.6.18: netif_int sees unconsumed rx responses and calls netif_rx_schedule.
    if (np.tpStep.on) {
      const pkt = q.rxSlotPkt[q.rx.rsp_cons & 255]!;
      emitStep(np.tpStep, pkt, np.steps.rxInterrupt, 'domU', np.xen.domid, np.p.irq_ns, `${np.steps.rxInterruptHalf}queue ${q.id} ${work} rsp`);
    }
    napi_schedule(q);
  }
  return true;
}

/**
 * Interrupt handler of a split rx event channel; with the lateeoi chip it EOIs, flagged spurious
 * unless new responses arrived:
 *
 *   unsigned int eoiflag = XEN_EOI_FLAG_SPURIOUS;
 *   if (likely(xennet_handle_rx(dev_id, &eoiflag)))
 *       xen_irq_lateeoi(irq, eoiflag);
 *
 * @models torvalds/linux drivers/net/xen-netfront.c xennet_rx_interrupt()
 */
export function xennet_rx_interrupt(q: NetfrontQueue): void {
  const np = q.info;
  np.counters.rx_irqs++;
  np.cpu.run(np.sim.now, np.p.irq_ns);
  q.eoiflag = XEN_EOI_FLAG_SPURIOUS;
  if (xennet_handle_rx(q)) np.lateeoi(q.rx_evtchn, q.eoiflag);
}

/**
 * Handler of a shared (single) event channel: tx completions, then rx; one EOI, spurious unless
 * either half found work, and none when either half finds the device broken:
 *
 *   unsigned int eoiflag = XEN_EOI_FLAG_SPURIOUS;
 *   if (xennet_handle_tx(dev_id, &eoiflag) && xennet_handle_rx(dev_id, &eoiflag))
 *       xen_irq_lateeoi(irq, eoiflag);
 *
 * @models torvalds/linux drivers/net/xen-netfront.c xennet_interrupt()
 * @models bronson/linux-2.6.18.8-ovz-xen drivers/xen/netfront/netfront.c netif_int() (the classic
 *   netfront's only handler: network_tx_buf_gc, then netif_rx_schedule if rx responses wait; its
 *   channel is bound plainly, so it never EOIs)
 */
export function xennet_interrupt(q: NetfrontQueue): void {
  const np = q.info;
  np.counters.rx_irqs++;
  np.cpu.run(np.sim.now, np.p.irq_ns);
  q.eoiflag = XEN_EOI_FLAG_SPURIOUS;
  if (xennet_handle_tx_irq(q) && xennet_handle_rx(q)) np.lateeoi(q.tx_evtchn, q.eoiflag);
}
