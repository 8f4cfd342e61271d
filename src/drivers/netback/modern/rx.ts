/**
 * Modern xen-netback, guest receive (dom0 → guest): the vif's start_xmit queues the skb on the
 * queue's rx_queue (bounded in bytes, XSA-392) and kicks the queue's kthread; the kthread runs
 * `xenvif_rx_action` while the guest has posted enough rx requests, placing each packet into the
 * guest's buffers with grant copies (GNTCOPY_dest_gref) batched 64 at a time, writing responses
 * in the very slots of the requests, and pushing them with one notification per flush. Packets
 * that wait longer than the drain timeout are dropped; a guest that posts no buffers for the
 * stall timeout loses its carrier.
 *
 *   xenvif_start_xmit → xenvif_rx_queue_tail → xenvif_kick_thread
 *   xenvif_kthread_guest_rx:
 *     xenvif_rx_action: while xenvif_rx_ring_slots_available: xenvif_rx_skb
 *        (xenvif_rx_next_skb: extras; xenvif_rx_data_slot / xenvif_rx_extra_slot per request;
 *         xenvif_rx_copy_add; xenvif_rx_complete)
 *     xenvif_rx_copy_flush: gnttab_batch_copy, failed op → GNTST code in rsp->status,
 *        RING_PUSH_RESPONSES_AND_CHECK_NOTIFY, notify, free the skbs
 *     stall detection, xenvif_rx_queue_drop_expired
 *
 * @models torvalds/linux drivers/net/xen-netback/rx.c
 *
 * rx_slots_needed is the head packet's count, 0 when the queue is empty (as Linux's
 * xenvif_update_needed_slots()). So an empty queue is never "available" and never found stalled,
 * and a stalled queue is "ready" again as soon as it is empty: after a stall the carrier comes back
 * once the drain timeout has dropped what was queued, whether or not the guest posted buffers, and
 * goes off again one stall timeout after the next packet finds no buffer.
 * Late EOI (XSA-332): the rx channel is bound with the lateeoi chip; its interrupt EOIs at once,
 * flagged spurious, when xenvif_have_rx_work() is false, else the kthread EOIs it when it next
 * finds nothing to do and goes to sleep (xenvif_wait_for_rx_work()).
 *
 * @simplified no XDP headroom and no hash extras (no control ring); a copy source that is not a
 *   machine frame (an skb's linear area) is staged into a dom0 frame first, at no CPU cost; a
 *   source frag that is a guest page mapped by netback is copied from the granting guest by
 *   grant ref, as Linux does with xen_page_foreign().
 */
import { DOMID_SELF, GNTCOPY_dest_gref, GNTCOPY_source_gref, GNTST_okay, XEN_PAGE_SIZE } from '../../../io/xen-constants';
import { RING_GET_REQUEST, RING_GET_RESPONSE, RING_PUSH_RESPONSES_AND_CHECK_NOTIFY } from '../../../io/ring';
import {
  NETRXF_csum_blank, NETRXF_data_validated, NETRXF_extra_info, NETRXF_more_data, XEN_NETIF_EXTRA_FLAG_MORE,
  XEN_NETIF_EXTRA_TYPE_GSO, XEN_NETIF_GSO_TYPE_TCPV4, XEN_NETIF_GSO_TYPE_TCPV6, setRxResponseStatus,
  writeExtraGso, writeRxResponse,
} from '../../../io/netif';
import { CHECKSUM_PARTIAL, CHECKSUM_UNNECESSARY, SKB_GSO_TCPV4, type SkBuff } from '../../../net/skb';
import { COPY_BATCH_SIZE, hypercallShare, RX_BATCH_SIZE, type XenvifQueue } from '../common';
import { copyBytes } from '../../../wire/copy';
import { NETBK_COMMON_EOI, NETBK_RX_EOI, xenvif_lateeoi } from './netback';
import { XEN_EOI_FLAG_SPURIOUS } from '../../../xen/event_channel';
import { bufferOf, byteOffsetOf } from '../../../wire/views';

/**
 * Slots one packet needs: one per 4 KiB of data, plus one for a GSO extra.
 * @models torvalds/linux drivers/net/xen-netback/rx.c xenvif_update_needed_slots() (the count)
 * @simplified no sw_hash slot (no hash extras without a control ring).
 */
export function rx_slots_needed(skb: SkBuff): number {
  let needed = Math.ceil(skb.len / XEN_PAGE_SIZE);
  if (skb.gsoSize !== 0) needed++;
  return needed;
}

/**
 * Enqueues an skb for the guest, or refuses it (and stops the vif queue) when the queue holds
 * rx_queue_max bytes already. Returns false when the caller must drop the skb.
 * @models torvalds/linux drivers/net/xen-netback/rx.c xenvif_rx_queue_tail()
 */
export function xenvif_rx_queue_tail(q: XenvifQueue, skb: SkBuff, expires: number): boolean {
  if (q.rx_queue_len >= q.rx_queue_max) {
    if (!q.vif.netif_tx_queue_stopped(q.id)) q.vif.counters.rx_queue_stops++;
    q.vif.netif_tx_stop_queue(q.id);
    return false;
  }
  if (q.rx_queue.length === 0) q.rx_slots_needed = rx_slots_needed(skb);
  q.rx_queue.push(skb, expires);
  q.rx_queue_len += skb.len;
  return true;
}

/**
 * @models torvalds/linux drivers/net/xen-netback/rx.c xenvif_rx_dequeue()
 */
export function xenvif_rx_dequeue(q: XenvifQueue): SkBuff | null {
  const skb = q.rx_queue.shift();
  if (skb !== null) {
    // xenvif_update_needed_slots(queue, skb_peek(&queue->rx_queue)): 0 for an empty queue.
    const next = q.rx_queue.peek();
    q.rx_slots_needed = next !== null ? rx_slots_needed(next) : 0;
    q.rx_queue_len -= skb.len;
    if (q.rx_queue_len < q.rx_queue_max) q.vif.netif_tx_wake_queue(q.id);
  }
  return skb;
}

/**
 * True when the guest has posted enough requests for the head packet; otherwise asks for an
 * event at the next request (req_event = req_prod + 1) and re-checks. An empty queue (needed 0)
 * is never "available" and leaves req_event alone.
 * @models torvalds/linux drivers/net/xen-netback/rx.c xenvif_rx_ring_slots_available()
 */
export function xenvif_rx_ring_slots_available(q: XenvifQueue): boolean {
  const needed = q.rx_slots_needed;
  if (needed === 0 || q.rx === null) return false;
  const r = q.rx;
  const s = r.sring;
  let prod: number;
  do {
    prod = s.req_prod;
    if (((prod - r.req_cons) >>> 0) >= needed) return true;
    s.req_event = (prod + 1) >>> 0;
    // ORDERING: mb() — event visible before re-reading req_prod.
  } while (s.req_prod !== prod);
  return false;
}

/**
 * Drops packets that waited longer than the drain timeout.
 * @models torvalds/linux drivers/net/xen-netback/rx.c xenvif_rx_queue_drop_expired()
 */
export function xenvif_rx_queue_drop_expired(q: XenvifQueue): void {
  const now = q.vif.nb.sim.now;
  for (;;) {
    if (q.rx_queue.length === 0) break;
    if (now < q.rx_queue.peekAux()) break;
    const skb = xenvif_rx_dequeue(q)!;
    q.vif.stats.rx_dropped++;
    q.vif.dropGuestRx(skb, 'drain_timeout');
  }
}

/** Drops everything queued (disconnect, kthread exit). */
export function xenvif_rx_queue_purge(q: XenvifQueue, reason: string): void {
  let skb: SkBuff | null;
  while ((skb = xenvif_rx_dequeue(q)) !== null) q.vif.dropGuestRx(skb, reason);
}

let batchSlots = 0;
let batchErrors = 0;
let batchCopies = 0;

/**
 * Issues the copy batch, writes the GNTST code of any failed op into its response's status,
 * pushes the responses and frees the completed skbs.
 * @models torvalds/linux drivers/net/xen-netback/rx.c xenvif_rx_copy_flush()
 */
export function xenvif_rx_copy_flush(q: XenvifQueue): boolean {
  const nb = q.vif.nb;
  const r = q.rx!;
  const n = q.rxCopy.count;
  let copyCost = 0;
  if (n > 0) {
    copyCost = nb.hv.copy(q.rxCopy, n);
    nb.stepCost += copyCost;
    batchCopies += n;
    q.vif.counters.rx_copy_ops += n;
    for (let i = 0; i < n; i++) {
      const st = q.rxCopy.status(i);
      if (st !== GNTST_okay) {
        setRxResponseStatus(r.sring.view, RING_GET_RESPONSE(r, q.rxCopyIdx[i]!), st);
        q.vif.counters.rx_copy_errors++;
        batchErrors++;
      }
    }
  }
  q.rxCopy.reset();
  const notify = RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(r);
  // The walk: each completed packet's flush and its share of the copy hypercall, before the notify.
  const pool = nb.stack.pool;
  let skb: SkBuff | null;
  const tpOn = nb.tpStep.on;
  const skbs = q.rxCompleted.length;
  let k = 0;
  while ((skb = q.rxCompleted.shift()) !== null) {
    if (tpOn) {
      nb.step(skb.id, 'xenvif_rx_copy_flush', 0, `${n} copy op(s), notify ${notify}`);
      if (n > 0) nb.step(skb.id, 'gnttab_batch_copy', hypercallShare(copyCost, skbs, k), `${n} op(s) in the batch`, 'xen');
    }
    k++;
    pool.free(skb);
  }
  if (notify) {
    nb.notifyRemote(q.rxIrq);
    q.vif.counters.rx_notifies++;
  }
  return notify;
}

/**
 * Adds one copy op from `src[srcOff..+len]` into the guest buffer `gref` at `offset`.
 * @models torvalds/linux drivers/net/xen-netback/rx.c xenvif_rx_copy_add()
 */
function xenvif_rx_copy_add(q: XenvifQueue, gref: number, offset: number, src: Uint8Array, srcOff: number, len: number): void {
  if (q.rxCopy.count === COPY_BATCH_SIZE) xenvif_rx_copy_flush(q);
  const nb = q.vif.nb;
  const mem = nb.hv.mem;
  const i = q.rxCopy.count;
  let flags = GNTCOPY_dest_gref;
  let srcU: number, srcDom: number, srcOffset: number;
  if (bufferOf(src) === mem.buffer) {
    // A machine frame: either a guest page mapped by netback (copy from its grant) or dom0's.
    const abs = byteOffsetOf(src) + srcOff;
    const mfn = Math.floor(abs / XEN_PAGE_SIZE);
    srcOffset = abs & (XEN_PAGE_SIZE - 1);
    const fdom = nb.foreignDom[mfn]!;
    if (fdom >= 0) {
      flags |= GNTCOPY_source_gref;
      srcU = nb.foreignRef[mfn]!;
      srcDom = fdom;
    } else {
      srcU = mfn;
      srcDom = DOMID_SELF;
    }
  } else {
    // skb linear area: stage it in a dom0 frame (skb->data would be one in Linux).
    let stage = q.rxStageMfn[i]!;
    if (stage < 0) {
      stage = nb.hv.allocPage();
      if (stage < 0) throw new Error('xenvif_rx_copy_add: out of host memory for a staging page');
      q.rxStageMfn[i] = stage;
    }
    srcOffset = (byteOffsetOf(src) + srcOff) & (XEN_PAGE_SIZE - 1);
    if (srcOffset + len > XEN_PAGE_SIZE) srcOffset = 0;
    copyBytes(mem.bytes, stage * XEN_PAGE_SIZE + srcOffset, src, srcOff, len);
    srcU = stage;
    srcDom = DOMID_SELF;
  }
  q.rxCopy.push(flags, srcU, srcDom, srcOffset, gref, q.vif.domid, offset, len);
  q.rxCopyIdx[i] = q.rx!.req_cons;
}

// Packet state of xenvif_rx_skb (struct xenvif_pkt_state), module-level: one packet at a time.
let pkSkb: SkBuff | null = null;
let pkRemaining = 0;
/** -1 = linear area, else frag index. */
let pkFrag = -1;
let pkFragOffset = 0;
let pkExtraCount = 0;
let pkSlot = 0;

function nextFrag(skb: SkBuff): void {
  pkFrag++;
  pkFragOffset = 0;
  if (pkFrag >= skb.nrFrags) pkFrag = skb.nrFrags; // end
}

/**
 * One data slot: chunks of the packet into the request's buffer, then the response.
 * @models torvalds/linux drivers/net/xen-netback/rx.c xenvif_rx_data_slot()
 */
function xenvif_rx_data_slot(q: XenvifQueue, reqOff: number, rspOff: number): void {
  const r = q.rx!;
  const v = r.sring.view;
  const skb = pkSkb!;
  // The request is read once (its gref and id) before the response overwrites the slot.
  const id = v.getUint16(reqOff, true);
  const gref = v.getUint32(reqOff + 4, true);
  let offset = 0;
  do {
    // xenvif_rx_next_chunk()
    let data: Uint8Array, dataOff: number, fragLen: number, pageOff: number;
    if (pkFrag === -1) {
      data = skb.head;
      dataOff = skb.data + pkFragOffset;
      fragLen = skb.headLen - pkFragOffset;
      // xen_offset_in_page(frag_data), as for a frag (a plain buffer counts as page-aligned).
      pageOff = (byteOffsetOf(data) + dataOff) & (XEN_PAGE_SIZE - 1);
    } else {
      data = skb.fragPage[pkFrag]!;
      dataOff = skb.fragOff[pkFrag]! + pkFragOffset;
      fragLen = skb.fragLen[pkFrag]! - pkFragOffset;
      pageOff = (byteOffsetOf(data) + dataOff) & (XEN_PAGE_SIZE - 1);
    }
    let chunk = fragLen < XEN_PAGE_SIZE - offset ? fragLen : XEN_PAGE_SIZE - offset;
    if (chunk > XEN_PAGE_SIZE - pageOff) chunk = XEN_PAGE_SIZE - pageOff;
    pkFragOffset += chunk;
    if (fragLen === chunk) nextFrag(skb);
    // An empty linear area (or frag) still becomes an op of length 0, as in Linux: Xen checks the
    // grant of a zero-length copy too.
    xenvif_rx_copy_add(q, gref, offset, data, dataOff, chunk);
    offset += chunk;
    pkRemaining -= chunk;
  } while (offset < XEN_PAGE_SIZE && pkRemaining > 0);
  let flags = pkRemaining > 0 ? NETRXF_more_data : 0;
  if (pkSlot === 0) {
    if (skb.ipSummed === CHECKSUM_PARTIAL) flags |= NETRXF_csum_blank | NETRXF_data_validated;
    else if (skb.ipSummed === CHECKSUM_UNNECESSARY) flags |= NETRXF_data_validated;
    if (pkExtraCount !== 0) flags |= NETRXF_extra_info;
  }
  writeRxResponse(v, rspOff, id, 0, flags, offset);
}

/**
 * An extra slot: the next pending extra is written over the response slot.
 * @models torvalds/linux drivers/net/xen-netback/rx.c xenvif_rx_extra_slot()
 */
function xenvif_rx_extra_slot(q: XenvifQueue, rspOff: number): void {
  pkExtraCount--;
  const v = q.rx!.sring.view;
  for (let i = 0; i < 5; i++) {
    if (q.rxExtraType[i]) {
      const flags = pkExtraCount !== 0 ? XEN_NETIF_EXTRA_FLAG_MORE : 0;
      if (q.rxExtraType[i] === XEN_NETIF_EXTRA_TYPE_GSO) writeExtraGso(v, rspOff, flags, q.rxExtraA[i]!, q.rxExtraB[i]!, 0);
      q.rxExtraType[i] = 0;
      return;
    }
  }
  throw new Error('xenvif_rx_extra_slot: no extra left (BUG())');
}

/**
 * Places one packet into the guest's posted buffers.
 * @models torvalds/linux drivers/net/xen-netback/rx.c xenvif_rx_skb()
 */
export function xenvif_rx_skb(q: XenvifQueue): void {
  const vif = q.vif;
  const nb = vif.nb;
  // xenvif_rx_next_skb()
  const skb = xenvif_rx_dequeue(q)!;
  // Packet walk: the guest-rx kthread's xenvif_rx_action loop picked this skb.
  if (nb.tpStep.on) nb.step(skb.id, 'xenvif_rx_action', 0, `queue ${q.id}`);
  vif.stats.tx_bytes += skb.len;
  vif.stats.tx_packets++;
  q.stats.tx_bytes += skb.len;
  q.stats.tx_packets++;
  pkSkb = skb;
  pkRemaining = skb.len;
  pkFrag = -1;
  pkFragOffset = 0;
  pkExtraCount = 0;
  pkSlot = 0;
  const et = q.rxExtraType; // cleared by a loop: TypedArray fill is a ~20 ns builtin call
  for (let e = 0; e < et.length; e++) et[e] = 0;
  if (skb.gsoSize !== 0) {
    const gsoType = (skb.gsoType & SKB_GSO_TCPV4) ? XEN_NETIF_GSO_TYPE_TCPV4 : XEN_NETIF_GSO_TYPE_TCPV6;
    if ((1 << gsoType) & vif.gsoMask) {
      q.rxExtraType[XEN_NETIF_EXTRA_TYPE_GSO - 1] = XEN_NETIF_EXTRA_TYPE_GSO;
      q.rxExtraA[XEN_NETIF_EXTRA_TYPE_GSO - 1] = skb.gsoSize;
      q.rxExtraB[XEN_NETIF_EXTRA_TYPE_GSO - 1] = gsoType;
      pkExtraCount++;
    }
  }
  q.last_rx_time = nb.sim.now;
  const r = q.rx!;
  const first = r.req_cons;
  do {
    const reqOff = RING_GET_REQUEST(r, r.req_cons);
    const rspOff = RING_GET_RESPONSE(r, r.req_cons);
    if (pkSlot !== 0 && pkExtraCount !== 0) xenvif_rx_extra_slot(q, rspOff);
    else xenvif_rx_data_slot(q, reqOff, rspOff);
    q.rxWalk[r.req_cons & 255] = skb.id;
    q.rxBorn[r.req_cons & 255] = skb.bornAt;
    r.req_cons = (r.req_cons + 1) >>> 0;
    pkSlot++;
  } while (pkRemaining > 0 || pkExtraCount !== 0);
  batchSlots += pkSlot;
  // xenvif_rx_complete(): all responses are ready to be pushed.
  r.rsp_prod_pvt = r.req_cons;
  q.rxCompleted.push(skb);
  nb.stepCost += nb.costs.rx_skb_ns;
  if (nb.tpStep.on) nb.step(skb.id, 'xenvif_rx_skb', nb.costs.rx_skb_ns, `slots ${first}..${(r.req_cons - 1) >>> 0}`);
  vif.counters.rx_responses += pkSlot;
  pkSkb = null;
}

/**
 * Up to RX_BATCH_SIZE packets while the guest has buffers, then one flush.
 * @models torvalds/linux drivers/net/xen-netback/rx.c xenvif_rx_action()
 */
export function xenvif_rx_action(q: XenvifQueue): void {
  const nb = q.vif.nb;
  let workDone = 0;
  batchSlots = 0;
  batchErrors = 0;
  batchCopies = 0;
  const before = nb.stepCost;
  // Linux tests the ring first: after the 64th packet it still re-arms req_event when short.
  while (xenvif_rx_ring_slots_available(q) && workDone < RX_BATCH_SIZE) {
    xenvif_rx_skb(q);
    workDone++;
  }
  const notify = xenvif_rx_copy_flush(q);
  q.vif.counters.rx_runs++;
  if (nb.tpRxBatch.on) {
    nb.tpRxBatch.emit({ vif: q.vif.name, queue: q.id, design: 'modern', skbs: workDone, slots: batchSlots, copies: batchCopies, transfers: 0, errors: batchErrors, notify, costNs: nb.stepCost - before });
  }
}

/**
 * Not yet stalled, fewer requests posted than the head packet needs (never true with an empty
 * queue: needed is 0), and nothing placed for stall_timeout.
 * @models torvalds/linux drivers/net/xen-netback/rx.c xenvif_rx_queue_stalled()
 */
export function xenvif_rx_queue_stalled(q: XenvifQueue): boolean {
  const r = q.rx!;
  const vif = q.vif;
  return !q.stalled && ((r.sring.req_prod - r.req_cons) >>> 0) < q.rx_slots_needed
    && vif.nb.sim.now > q.last_rx_time + vif.stallTimeoutNs;
}

/**
 * Stalled, and the guest has posted what the head packet needs (in Linux always true once the
 * queue is empty; see the header).
 * @models torvalds/linux drivers/net/xen-netback/rx.c xenvif_rx_queue_ready()
 */
export function xenvif_rx_queue_ready(q: XenvifQueue): boolean {
  const r = q.rx!;
  return q.stalled && ((r.sring.req_prod - r.req_cons) >>> 0) >= q.rx_slots_needed;
}

/**
 * Whether the guest-receive kthread has something to do: the head packet fits in the posted
 * requests, a stall or a recovery is due, or the vif was disabled (queue 0 turns the carrier off).
 * The rx interrupt kicks the kthread only when this holds.
 * @models torvalds/linux drivers/net/xen-netback/rx.c xenvif_have_rx_work()
 * @simplified `vif.disabled` counts for queue 0 only: Linux's other queues would spin in their
 *   kthreads until the disconnect stops them, which an event-driven model cannot run.
 */
export function xenvif_have_rx_work(q: XenvifQueue): boolean {
  if (q.rx === null || q.kthreadStopped) return false;
  const vif = q.vif;
  return xenvif_rx_ring_slots_available(q)
    || (vif.stallTimeoutNs !== 0 && (xenvif_rx_queue_stalled(q) || xenvif_rx_queue_ready(q)))
    || (vif.disabled && q.id === 0);
}

/**
 * One wake-up of the guest-receive kthread.
 * @models torvalds/linux drivers/net/xen-netback/rx.c xenvif_kthread_guest_rx()
 * @simplified the kthread is an event run on each wake-up (kick, rx interrupt, the head packet's
 *   drain deadline); its body is the loop body of the real thread.
 */
export function xenvif_kthread_guest_rx(q: XenvifQueue, timedOut = false): void {
  const vif = q.vif;
  q.kthreadScheduled = false;
  if (q.kthreadStopped || q.rx === null) return;
  if (!q.kthreadStarted) {
    // The thread's first lines: without stall detection the queue is ready at once.
    q.kthreadStarted = true;
    if (vif.stallTimeoutNs === 0) xenvif_queue_carrier_on(q);
  }
  // xenvif_wait_for_rx_work(): woken with nothing to do (and not by its timeout), it sleeps again.
  if (!timedOut && !xenvif_have_rx_work(q)) {
    xenvif_rx_sleep(q);
    return;
  }
  if (vif.disabled && q.id === 0) {
    // The frontend was found rogue: disable the interface from kthread context.
    vif.setCarrier(false, 'fatal error');
    q.kthreadStopped = true;
    xenvif_rx_queue_purge(q, 'vif_disabled');
    return;
  }
  if (q.rx_queue.length !== 0) xenvif_rx_action(q);
  if (vif.stallTimeoutNs !== 0) {
    if (xenvif_rx_queue_stalled(q)) xenvif_queue_carrier_off(q);
    else if (xenvif_rx_queue_ready(q)) xenvif_queue_carrier_on(q);
  }
  xenvif_rx_queue_drop_expired(q);
  vif.nb.flushCost();
  // xenvif_wait_for_rx_work() returns at once while there is work (which includes a stall or a
  // recovery that became due after the checks above): loop.
  if (xenvif_have_rx_work(q)) vif.nb.kickRxThread(q, 0);
  else xenvif_rx_sleep(q);
}

/**
 * The kthread goes to sleep in xenvif_wait_for_rx_work(): the rx channel gets the late EOI its
 * interrupt deferred, and the thread sleeps until a kick or the head packet's drain deadline.
 *   if (atomic_fetch_andnot(NETBK_RX_EOI | NETBK_COMMON_EOI, &queue->eoi_pending) &
 *       (NETBK_RX_EOI | NETBK_COMMON_EOI))
 *     xen_irq_lateeoi(queue->rx_irq, 0);
 *   ret = schedule_timeout(xenvif_rx_queue_timeout(queue));
 */
function xenvif_rx_sleep(q: XenvifQueue): void {
  const vif = q.vif;
  const ep = vif.eoiPending;
  const old = ep[q.id]!;
  if ((old & (NETBK_RX_EOI | NETBK_COMMON_EOI)) !== 0) {
    ep[q.id] = old & ~(NETBK_RX_EOI | NETBK_COMMON_EOI);
    xenvif_lateeoi(vif, q.rxIrq, 0);
  }
  vif.nb.armRxTimer(q);
}

/**
 * The rx half of the interrupt (the frontend posted rx buffers): kick the kthread if it has
 * work. Returns whether it did.
 * @models torvalds/linux drivers/net/xen-netback/interface.c xenvif_handle_rx_interrupt()
 */
export function xenvif_handle_rx_interrupt(q: XenvifQueue): boolean {
  const vif = q.vif;
  vif.chargeIrq();
  if (xenvif_have_rx_work(q)) {
    vif.nb.kickRxThread(q);
    return true;
  }
  return false;
}

/**
 * Event-channel handler of the rx channel (split channels); the kthread EOIs it when it goes
 * back to sleep (xenvif_wait_for_rx_work), or the handler at once when there was no work:
 *
 *   old = atomic_fetch_or(NETBK_RX_EOI, &queue->eoi_pending);
 *   WARN(old & NETBK_RX_EOI, "Interrupt while EOI pending\n");
 *   if (!xenvif_handle_rx_interrupt(queue)) {
 *     atomic_andnot(NETBK_RX_EOI, &queue->eoi_pending);
 *     xen_irq_lateeoi(irq, XEN_EOI_FLAG_SPURIOUS);
 *   }
 *
 * @models torvalds/linux drivers/net/xen-netback/interface.c xenvif_rx_interrupt()
 */
export function xenvif_rx_interrupt(q: XenvifQueue): void {
  const vif = q.vif;
  const ep = vif.eoiPending;
  ep[q.id] = ep[q.id]! | NETBK_RX_EOI;
  if (!xenvif_handle_rx_interrupt(q)) {
    ep[q.id] = ep[q.id]! & ~NETBK_RX_EOI;
    xenvif_lateeoi(vif, q.rxIrq, XEN_EOI_FLAG_SPURIOUS);
  }
}

/** @models torvalds/linux drivers/net/xen-netback/rx.c xenvif_queue_carrier_off() */
function xenvif_queue_carrier_off(q: XenvifQueue): void {
  const vif = q.vif;
  q.stalled = true;
  if (vif.stalledQueues++ === 0) vif.setCarrier(false, 'Guest Rx stalled');
}

/** @models torvalds/linux drivers/net/xen-netback/rx.c xenvif_queue_carrier_on() */
export function xenvif_queue_carrier_on(q: XenvifQueue): void {
  const vif = q.vif;
  q.last_rx_time = vif.nb.sim.now;
  q.stalled = false;
  if (--vif.stalledQueues === 0) vif.setCarrier(true, 'Guest Rx ready');
}
