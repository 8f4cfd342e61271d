/**
 * netfront transmit: xennet_start_xmit and the completion path xennet_tx_buf_gc.
 *
 * One packet becomes a chain of tx requests on the ring (netif.h section 2.6):
 *
 *   slot  k     request  {gref, offset, flags = csum | extra_info | more_data, id, size = skb->len}
 *   slot  k+1   extra    {type GSO, flags 0, gso.size, gso.type}          only if gso_size != 0
 *   slot  k+2.. request  {gref, offset, flags = more_data except last, id, size = bytes of this piece}
 *
 * The linear area and every frag are cut at each 4 KiB page boundary; each piece gets its own id,
 * its own read-only grant and its own slot. The first request covers the linear data up to the end
 * of its page and then has its size overwritten with the total packet length.
 *
 * Page bytes: a piece whose bytes already lie in a guest frame is granted in place, as Linux
 * grants virt_to_gfn(skb->data): the host builder gives each guest an skb pool whose heads are
 * guest pages (a 2 KiB head at the start of its own page), and a frag may point into guest memory.
 * A piece in a plain buffer (a head that `put` grew, a pool without guest heads, a test's skb) is
 * copied into a page of the queue's tx page pool at the same in-page offset, and that page is
 * granted (see pages.ts); so is every piece of a bounced skb (untrusted backend), whose pool page
 * is zeroed first. A granted skb is freed only in xennet_tx_buf_gc, after its grants have ended,
 * so its page is not reused while the backend may read it. The linear area's in-page offset is
 * `(head.byteOffset + data) & 4095` (plain buffers count as page-aligned allocations).
 *
 * @models torvalds/linux drivers/net/xen-netfront.c xennet_start_xmit(), xennet_count_skb_slots(),
 *   xennet_make_first_txreq(), xennet_make_txreqs(), xennet_make_one_txreq(), xennet_tx_setup_grant(),
 *   xennet_mark_tx_pending(), xennet_tx_buf_gc(), xennet_maybe_wake_tx(), xennet_handle_tx(),
 *   xennet_tx_interrupt(), netfront_tx_slot_available()
 * @models bronson/linux-2.6.18.8-ovz-xen drivers/xen/netfront/netfront.c network_start_xmit(),
 *   xennet_make_frags(), network_tx_buf_gc(), netif_int() (classic: the packet walk names these;
 *   2.6.18 has no xennet_mark_tx_pending, so a classic walk has no such step)
 * @simplified skb_linearize and bounce_skb produce a linear copy from the guest SkbPool with the
 *   data at SKB_HEADROOM; queue selection is skb.queueMapping modulo the number of queues.
 *
 * Late EOI (XSA-391, modern only): the tx channel is bound with the lateeoi chip (xenbus.ts), so
 * an event masks it until xennet_tx_interrupt EOIs — flagged XEN_EOI_FLAG_SPURIOUS unless
 * xennet_tx_buf_gc saw a response — and a broken device never EOIs (the channel stays masked).
 * The delay a run of spurious events earns is the event-channel layer's (src/xen/event_channel.ts
 * xen_irq_lateeoi()). With `netfront.lateeoi` false, or classic, the handler is bound plainly.
 */
import {
  CHECKSUM_PARTIAL, CHECKSUM_UNNECESSARY, SKB_GSO_DODGY, SKB_GSO_TCPV4, SKB_GSO_TCPV6, type SkBuff,
} from '../../net/skb';
import { NETDEV_TX_BUSY, NETDEV_TX_OK, type NetdevTx } from '../../net/netdevice';
import { emitStep } from '../../net/walk';
import {
  RING_FINAL_CHECK_FOR_RESPONSES, RING_FREE_REQUESTS, RING_GET_REQUEST, RING_GET_RESPONSE, RING_PUSH_REQUESTS_AND_CHECK_NOTIFY,
  RING_RESPONSE_PROD_OVERFLOW,
} from '../../io/ring';
import {
  NETIF_RSP_NULL, NETTXF_csum_blank, NETTXF_data_validated, NETTXF_extra_info, NETTXF_more_data,
  XEN_NETIF_GSO_TYPE_TCPV4, XEN_NETIF_GSO_TYPE_TCPV6, XEN_NETIF_MAX_TX_SIZE,
  setTxRequestFlags, setTxRequestSize, txRequestFlags, txResponseId, txResponseStatus, writeExtraGso, writeTxRequest,
} from '../../io/netif';
import {
  CLASSIC_MAX_SKB_FRAGS, CLASSIC_TX_STOP_THRESHOLD, ETH_HLEN, INVALID_GRANT_REF, MAX_XEN_SKB_FRAGS, NET_TX_RING_SIZE,
  TX_LINK_NONE, TX_PENDING, TX_STOP_THRESHOLD, XEN_EOI_FLAG_SPURIOUS,
} from './constants';
import { add_id_to_list, get_id_from_list, type NetfrontQueue } from './queue';
import type { NetfrontInfo } from './info';
import { copyBytes } from '../../wire/copy';
import { skb_get_hash } from '../../net/flow-hash';
import { byteOffsetOf } from '../../wire/views';

const PAGE_SIZE = 4096;
const PAGE_MASK = 4095;

/** gnttab_count_grant(): 4 KiB grant pieces covering `len` bytes starting at in-page `offset`. */
export function gnttab_count_grant(offset: number, len: number): number {
  return (((offset & PAGE_MASK) + len + PAGE_MASK) >>> 12);
}

/** offset_in_page() of byte `off` of `buf` (plain buffers are treated as page-aligned). */
function offsetInPage(buf: Uint8Array, off: number): number {
  return (byteOffsetOf(buf) + off) & PAGE_MASK;
}

/**
 * Ring slots needed for `skb` (the GSO extra slot is not counted).
 * @models torvalds/linux drivers/net/xen-netfront.c xennet_count_skb_slots()
 */
export function xennet_count_skb_slots(skb: SkBuff): number {
  let slots = gnttab_count_grant(offsetInPage(skb.head, skb.data), skb.headLen);
  for (let i = 0; i < skb.nrFrags; i++) {
    slots += gnttab_count_grant(offsetInPage(skb.fragPage[i]!, skb.fragOff[i]!), skb.fragLen[i]!);
  }
  return slots;
}

/**
 * The transmit queue of `skb`: 0 with one queue, else the guest's flow hash modulo the number of
 * queues — every packet of a flow on one queue, the flows spread over them.
 * @models torvalds/linux drivers/net/xen-netfront.c xennet_select_queue()
 */
export function xennet_select_queue(np: NetfrontInfo, skb: SkBuff): number {
  const n = np.queues.length;
  if (n <= 1) return 0;
  const hash = skb_get_hash(skb, np.stack.flowHashSecret?.() ?? 0);
  const q = hash % n;
  if (np.tpStep.on) emitStep(np.tpStep, skb.id, 'xennet_select_queue', 'domU', np.xen.domid, 0, `hash ${hash.toString(16).padStart(8, '0')} % ${n} queues = queue ${q}`);
  return q;
}

/**
 * netfront_tx_slot_available(): fewer than 256 - 18 - 1 = 237 requests outstanding (2.6.18:
 * TX_MAX_TARGET - MAX_SKB_FRAGS - 2 = 236).
 */
export function netfront_tx_slot_available(q: NetfrontQueue): boolean {
  return ((q.tx.req_prod_pvt - q.tx.rsp_cons) >>> 0) < (q.info.classic ? CLASSIC_TX_STOP_THRESHOLD : TX_STOP_THRESHOLD);
}

function dropTx(np: NetfrontInfo, skb: SkBuff, reason: string): NetdevTx {
  np.netdev.stats.tx_dropped++;
  np.counters.tx_dropped++;
  np.drop(reason, skb.len);
  if (np.tpStep.on) emitStep(np.tpStep, skb.id, np.steps.startXmit, 'domU', np.xen.domid, np.p.start_xmit_ns, `drop ${reason}`);
  np.stack.skbs.free(skb);
  np.cpu.run(np.sim.now, np.p.start_xmit_ns);
  return NETDEV_TX_OK;
}

// Per-call scratch (single-threaded model): the request being built, as `struct xennet_gnttab_make_txreq`.
let curSlot = 0; // byte offset of the last request written (info->tx)
let curSize = 0; // info->tx_local.size of the last request
let curPkt = 0;
let curZero = false;
/** xennet_tx_buf_gc is running from the interrupt handler (for the packet walk). */
let gcFromIrq = false;
/** xennet_tx_buf_gc's `work_done`: it saw at least one response (read by xennet_handle_tx). */
let gcWorkDone = false;

/**
 * Sets up one request for `len` bytes of `buf` from `absOff` (all within one 4 KiB page):
 * id from the free list, the next ring slot, a grant ref from the private pool, a read-only grant
 * to the backend, the request written in one store, the id on tx_pend_queue.
 * @models torvalds/linux drivers/net/xen-netfront.c xennet_tx_setup_grant()
 */
export function xennet_tx_setup_grant(q: NetfrontQueue, skb: SkBuff, buf: Uint8Array, absOff: number, len: number): void {
  const np = q.info;
  const xen = np.xen;
  const id = get_id_from_list(q, 'free');
  const idx = q.tx.req_prod_pvt;
  q.tx.req_prod_pvt = (idx + 1) >>> 0;
  const slot = RING_GET_REQUEST(q.tx, idx);
  const ref = xen.gnttab_claim_grant_reference(q.gref_tx_head!);
  const pageOff = offsetInPage(buf, absOff);
  // virt_to_gfn(skb->data): a piece in guest memory (the skb's own page) is granted in place,
  // except for a bounced skb, whose page must hold nothing but the packet (zeroed pool page).
  let gfn = curZero ? -1 : xen.gfnOfView(buf, absOff);
  if (gfn < 0) {
    // The bytes are not in guest memory: place them in a tx pool page at the same offset.
    const pfn = q.txPages.pop();
    if (pfn < 0) throw new Error(`netfront ${q.name}: tx page pool exhausted (${q.txPages.size} pages for ${NET_TX_RING_SIZE} ids)`);
    const page = xen.page(pfn);
    if (curZero) page.fill(0);
    copyBytes(page, pageOff, buf, absOff, len);
    gfn = xen.pfn_to_gfn(pfn);
    q.grant_tx_page[id] = pfn;
  } else {
    q.grant_tx_page[id] = -1;
  }
  xen.gnttab_grant_foreign_access_ref(ref, np.otherendId, gfn, true);
  q.tx_skbs[id] = skb;
  q.grant_tx_ref[id] = ref;
  q.txPktOf[id] = curPkt;
  q.txPktRefs[curPkt]!++;
  writeTxRequest(q.tx.sring.view, slot, ref, pageOff, 0, id, len);
  q.txSlotPkt[idx & (NET_TX_RING_SIZE - 1)] = skb.id;
  q.txSlotBorn[idx & (NET_TX_RING_SIZE - 1)] = skb.bornAt;
  // Pending only once the producer index is about to be raised (xennet_mark_tx_pending).
  add_id_to_list(q, 'pend', id);
  curSlot = slot;
  curSize = len;
  np.counters.tx_slots++;
  if (np.tpStep.on) emitStep(np.tpStep, skb.id, 'gnttab_grant_foreign_access_ref', 'domU', xen.domid, np.p.tx_slot_ns, `ref ${ref} id ${id} slot ${idx & (NET_TX_RING_SIZE - 1)} off ${pageOff} len ${len}`);
}

/**
 * The requests for `len` bytes of `buf` from `off`, one per 4 KiB page piece, each chained to the
 * previous request with NETTXF_more_data.
 * @models torvalds/linux drivers/net/xen-netfront.c xennet_make_txreqs(), xennet_make_one_txreq()
 */
export function xennet_make_txreqs(q: NetfrontQueue, skb: SkBuff, buf: Uint8Array, off: number, len: number): void {
  const view = q.tx.sring.view;
  while (len > 0) {
    const chunk = Math.min(len, PAGE_SIZE - offsetInPage(buf, off));
    // xennet_make_one_txreq: the previous request gets more_data, then the new one is set up.
    setTxRequestFlags(view, curSlot, txRequestFlags(view, curSlot) | NETTXF_more_data);
    xennet_tx_setup_grant(q, skb, buf, off, chunk);
    off += chunk;
    len -= chunk;
  }
}

/**
 * Moves every id on tx_pend_queue to TX_PENDING, just before the producer index is raised.
 * @models torvalds/linux drivers/net/xen-netfront.c xennet_mark_tx_pending()
 */
export function xennet_mark_tx_pending(q: NetfrontQueue): void {
  let i: number;
  while ((i = get_id_from_list(q, 'pend')) !== TX_LINK_NONE) q.tx_link[i] = TX_PENDING;
}

/**
 * netif_needs_gso() against netfront's features: a GSO skb the device cannot take as it is — a
 * gso_type bit outside NETIF_F_TSO / NETIF_F_TSO6 / NETIF_F_GSO_ROBUST (skb_gso_ok), or a checksum
 * state other than CHECKSUM_PARTIAL / CHECKSUM_UNNECESSARY.
 * @models torvalds/linux include/linux/netdevice.h netif_needs_gso(), skb_gso_ok(), net_gso_ok()
 */
function netif_needs_gso(np: NetfrontInfo, skb: SkBuff): boolean {
  if (skb.gsoSize === 0) return false;
  const ok = (np.featureTso ? SKB_GSO_TCPV4 : 0) | (np.featureTso6 ? SKB_GSO_TCPV6 : 0) | SKB_GSO_DODGY;
  return (skb.gsoType & ~ok) !== 0 || (skb.ipSummed !== CHECKSUM_PARTIAL && skb.ipSummed !== CHECKSUM_UNNECESSARY);
}

/**
 * Transmits one skb on the guest's eth0: always returns NETDEV_TX_OK (a packet that cannot be
 * sent is dropped and counted).
 * @models torvalds/linux drivers/net/xen-netfront.c xennet_start_xmit()
 * @models bronson/linux-2.6.18.8-ovz-xen drivers/xen/netfront/netfront.c network_start_xmit() (classic step name)
 */
export function xennet_start_xmit(np: NetfrontInfo, skb: SkBuff): NetdevTx {
  const nq = np.queues.length;
  const p = np.p;
  // Drop the packet if no queues are set up, or the device is broken.
  if (nq < 1) return dropTx(np, skb, 'tx_no_queues');
  if (np.broken) return dropTx(np, skb, 'tx_broken');
  const q = np.queues[skb.queueMapping % nq]!;
  if (np.classic) return network_start_xmit(np, q, skb);
  if (skb.len > XEN_NETIF_MAX_TX_SIZE) return dropTx(np, skb, 'tx_too_big');

  let cost = p.start_xmit_ns;
  const slots = xennet_count_skb_slots(skb);
  const linearize = slots > MAX_XEN_SKB_FRAGS + 1;
  // Linux drops after linearising and bouncing; what it drops for depends only on the skb as it came.
  const drop = !np.netdev.carrier ? 'tx_carrier_off'
    : slots > 1 && !np.featureSg ? 'tx_no_sg'
    : netif_needs_gso(np, skb) ? 'tx_needs_gso' : null;
  // Linux never gets here with fewer than XEN_NETIF_NR_SLOTS_MIN + 1 free slots (the queue stops
  // first), which every skb fits once linearised. A caller that ignores the stop gets TX_BUSY
  // rather than an overrun ring, decided before anything is copied: the skb stays the caller's.
  const copies = linearize || np.bounce || PAGE_SIZE - offsetInPage(skb.head, skb.data) < ETH_HLEN;
  if (drop === null && RING_FREE_REQUESTS(q.tx) < (copies ? MAX_XEN_SKB_FRAGS + 1 : slots) + 1) return NETDEV_TX_BUSY;
  const pool = np.stack.skbs;
  if (linearize) {
    // "skb rides the rocket": skb_linearize.
    const n = pool.copy(skb);
    pool.free(skb);
    skb = n;
    np.counters.tx_linearize++;
    cost += Math.round(skb.len * p.copy_byte_ns);
  }
  // The first request must hold ETH_HLEN bytes, and an untrusted backend sees only zeroed pages.
  curZero = false;
  if (np.bounce || PAGE_SIZE - offsetInPage(skb.head, skb.data) < ETH_HLEN) {
    const n = pool.copy(skb);
    pool.free(skb);
    skb = n;
    curZero = true;
    np.counters.tx_bounce++;
    cost += Math.round(skb.len * p.copy_byte_ns);
  }
  if (drop !== null) return dropTx(np, skb, drop);
  return xennet_queue_skb(np, q, skb, slots, cost);
}

/**
 * 2.6.18's network_start_xmit() before it writes requests: an skb needing more than
 * MAX_SKB_FRAGS + 1 (19) slots "rides the rocket" and is dropped (2.6.18 never linearises), and
 * nothing is bounced or refused for its size.
 * @models bronson/linux-2.6.18.8-ovz-xen drivers/xen/netfront/netfront.c network_start_xmit()
 */
function network_start_xmit(np: NetfrontInfo, q: NetfrontQueue, skb: SkBuff): NetdevTx {
  const slots = xennet_count_skb_slots(skb);
  if (slots > CLASSIC_MAX_SKB_FRAGS + 1) return dropTx(np, skb, 'tx_rocket');
  if (!np.netdev.carrier) return dropTx(np, skb, 'tx_carrier_off');
  if (slots > 1 && !np.featureSg) return dropTx(np, skb, 'tx_no_sg');
  if (netif_needs_gso(np, skb)) return dropTx(np, skb, 'tx_needs_gso');
  // The queue stopped in time in 2.6.18; a caller that ignores it gets TX_BUSY, as above.
  if (RING_FREE_REQUESTS(q.tx) < slots + 1) return NETDEV_TX_BUSY;
  curZero = false;
  return xennet_queue_skb(np, q, skb, slots, np.p.start_xmit_ns);
}

/** Writes the requests of `skb` (`slots` data slots) on queue `q`, pushes them and notifies. */
function xennet_queue_skb(np: NetfrontInfo, q: NetfrontQueue, skb: SkBuff, slots: number, cost: number): NetdevTx {
  const p = np.p;
  const tr = np.tpStep.on;
  const dom = np.xen.domid;
  if (tr) emitStep(np.tpStep, skb.id, np.steps.startXmit, 'domU', dom, p.start_xmit_ns, `len ${skb.len} slots ${slots} queue ${q.id}`);
  const prod0 = q.tx.req_prod_pvt;

  // Packet table entry (stands in for skb->users).
  const pkt = q.txPktFree[--q.txPktTop]!;
  q.txPktSkb[pkt] = skb;
  q.txPktRefs[pkt] = 0;
  q.txPktIrqSeen[pkt] = 0;
  curPkt = pkt;

  // First request for the linear area (xennet_make_first_txreq: at most to the end of the page).
  const view = q.tx.sring.view;
  let off = skb.data;
  let len = skb.headLen;
  const first = Math.min(len, PAGE_SIZE - offsetInPage(skb.head, off));
  xennet_tx_setup_grant(q, skb, skb.head, off, first);
  const firstSlot = curSlot;
  off += first;
  len -= first;

  let flags = 0;
  if (skb.ipSummed === CHECKSUM_PARTIAL) flags = NETTXF_csum_blank | NETTXF_data_validated; // local packet
  else if (skb.ipSummed === CHECKSUM_UNNECESSARY) flags = NETTXF_data_validated; // remote but checksummed
  if (skb.gsoSize !== 0) {
    // Optional extra info after the first request: one GSO slot (no id, no grant).
    const gidx = q.tx.req_prod_pvt;
    q.tx.req_prod_pvt = (gidx + 1) >>> 0;
    flags |= NETTXF_extra_info;
    q.txSlotPkt[gidx & (NET_TX_RING_SIZE - 1)] = skb.id;
    writeExtraGso(view, RING_GET_REQUEST(q.tx, gidx), 0, skb.gsoSize,
      (skb.gsoType & SKB_GSO_TCPV6) ? XEN_NETIF_GSO_TYPE_TCPV6 : XEN_NETIF_GSO_TYPE_TCPV4, 0);
    np.counters.tx_slots++;
    if (tr) emitStep(np.tpStep, skb.id, np.steps.startXmit, 'domU', dom, 0, `gso extra slot ${gidx & (NET_TX_RING_SIZE - 1)} size ${skb.gsoSize}`);
  }
  if (flags !== 0) setTxRequestFlags(view, firstSlot, txRequestFlags(view, firstSlot) | flags);

  // Requests for the rest of the linear area, then for every frag.
  if (len > 0) xennet_make_txreqs(q, skb, skb.head, off, len);
  for (let i = 0; i < skb.nrFrags; i++) xennet_make_txreqs(q, skb, skb.fragPage[i]!, skb.fragOff[i]!, skb.fragLen[i]!);

  // First request has the packet length.
  setTxRequestSize(view, firstSlot, skb.len);
  const used = (q.tx.req_prod_pvt - prod0) >>> 0;
  cost += (used - (skb.gsoSize !== 0 ? 1 : 0)) * p.tx_slot_ns;

  xennet_mark_tx_pending(q);
  // 2.6.18 has no xennet_mark_tx_pending: its walk goes straight to the push.
  if (tr && !np.classic) emitStep(np.tpStep, skb.id, 'xennet_mark_tx_pending', 'domU', dom, 0);
  const notify = RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(q.tx);
  np.counters.tx_push++;
  if (tr) emitStep(np.tpStep, skb.id, 'RING_PUSH_REQUESTS_AND_CHECK_NOTIFY', 'domU', dom, 0, `req_prod ${q.tx.req_prod_pvt} notify ${notify}`);
  if (np.tpTxPush.on) np.tpTxPush.emit({ dev: np.netdev.name, queue: q.id, prod: q.tx.req_prod_pvt, notify, slots: used });
  if (notify) {
    np.counters.tx_notify++;
    if (tr) emitStep(np.tpStep, skb.id, 'notify_remote_via_irq', 'domU', dom, 0, `port ${q.tx_evtchn}`);
  }

  const bytes = skb.len;
  np.netdev.stats.tx_packets++;
  np.netdev.stats.tx_bytes += bytes;
  np.counters.tx_packets++;
  np.counters.tx_bytes += bytes;

  // Linux until 2025 (and 2.6.18) reaped responses here as well; since "xen/netfront: Fix TX
  // response spurious interrupts" only the interrupt handler does (netfront.tx_gc_in_xmit).
  // Note: it is not safe to access skb after xennet_tx_buf_gc().
  if (np.classic || p.tx_gc_in_xmit) cost += xennet_tx_buf_gc(q);
  if (!netfront_tx_slot_available(q)) stopQueue(q);
  np.chargeAndNotify(cost, q.id, 0, notify);
  return NETDEV_TX_OK;
}

function stopQueue(q: NetfrontQueue): void {
  const np = q.info;
  if (np.netdev.netif_tx_queue_stopped(q.id)) return;
  np.counters.tx_stop++;
  np.netdev.netif_tx_stop_queue(q.id);
  if (np.tpTxStop.on) np.tpTxStop.emit({ dev: np.netdev.name, queue: q.id, outstanding: q.txOutstanding });
}

/**
 * Wakes the queue when it is stopped, enough slots are free and the device is up.
 * @models torvalds/linux drivers/net/xen-netfront.c xennet_maybe_wake_tx()
 */
export function xennet_maybe_wake_tx(q: NetfrontQueue): void {
  const np = q.info;
  if (np.netdev.netif_tx_queue_stopped(q.id) && netfront_tx_slot_available(q) && np.netdev.up) {
    np.counters.tx_wake++;
    if (np.tpTxWake.on) np.tpTxWake.emit({ dev: np.netdev.name, queue: q.id, outstanding: q.txOutstanding });
    np.netdev.netif_tx_wake_queue(q.id);
  }
}

/**
 * Reaps tx responses: ends each request's grant, returns its ref and id, frees the skb when its
 * last request completes, then re-arms rsp_event and wakes the queue. A response the frontend
 * cannot account for (bad id, inactive id, grant still mapped, impossible rsp_prod) marks the
 * device broken. Returns the guest CPU cost (ns).
 * @models torvalds/linux drivers/net/xen-netfront.c xennet_tx_buf_gc()
 * @models bronson/linux-2.6.18.8-ovz-xen drivers/xen/netfront/netfront.c network_tx_buf_gc() (classic rsp_event)
 */
export function xennet_tx_buf_gc(q: NetfrontQueue): number {
  const np = q.info;
  if (!np.netdev.carrier || np.broken) return 0;
  const xen = np.xen;
  const tx = q.tx;
  const s = tx.sring;
  const view = s.view;
  const tr = np.tpStep.on;
  let responses = 0;
  let freed = 0;
  let cost = 0;
  let more: number;
  do {
    const prod = s.rsp_prod;
    if (RING_RESPONSE_PROD_OVERFLOW(tx, prod)) {
      np.markBroken(q, `Illegal number of responses ${(prod - tx.rsp_cons) >>> 0}`);
      return cost;
    }
    // rmb(): see responses up to prod.
    for (let cons = tx.rsp_cons; cons !== prod; cons = (cons + 1) >>> 0) {
      responses++;
      gcWorkDone = true; // "work_done = true;" — any response, NULL ones included
      const off = RING_GET_RESPONSE(tx, cons);
      // RING_COPY_RESPONSE: id and status read once.
      const status = txResponseStatus(view, off);
      if (status === NETIF_RSP_NULL) continue;
      const id = txResponseId(view, off);
      if (id >= NET_TX_RING_SIZE) {
        np.markBroken(q, `Response has incorrect id (${id})`);
        return cost;
      }
      if (q.tx_link[id] !== TX_PENDING) {
        np.markBroken(q, `Response for inactive request (id ${id})`);
        return cost;
      }
      q.tx_link[id] = TX_LINK_NONE;
      const skb = q.tx_skbs[id]!;
      q.tx_skbs[id] = null;
      const pkt = q.txPktOf[id]!;
      if (tr && gcFromIrq && q.txPktIrqSeen[pkt] === 0) {
        q.txPktIrqSeen[pkt] = 1;
        // 2.6.18: netif_int, the one handler for tx and rx, calls network_tx_buf_gc first.
        emitStep(np.tpStep, skb.id, np.steps.txInterrupt, 'domU', xen.domid, np.p.irq_ns, `${np.steps.txInterruptHalf}queue ${q.id} rsp ${cons}`);
      }
      const ref = q.grant_tx_ref[id]!;
      if (!xen.gnttab_end_foreign_access_ref(ref)) {
        np.markBroken(q, `Grant still in use by backend domain (ref ${ref})`);
        return cost;
      }
      xen.gnttab_release_grant_reference(q.gref_tx_head!, ref);
      q.grant_tx_ref[id] = INVALID_GRANT_REF;
      const pfn = q.grant_tx_page[id]!;
      if (pfn >= 0) {
        q.txPages.push(pfn);
        q.grant_tx_page[id] = -1;
      }
      add_id_to_list(q, 'free', id);
      cost += np.p.tx_gc_ns;
      if (tr) emitStep(np.tpStep, skb.id, 'gnttab_end_foreign_access_ref', 'domU', xen.domid, np.p.tx_gc_ns, `ref ${ref} id ${id} status ${status}`);
      if (--q.txPktRefs[pkt]! === 0) {
        q.txPktSkb[pkt] = null;
        q.txPktFree[q.txPktTop++] = pkt;
        freed++;
        if (tr) emitStep(np.tpStep, skb.id, np.steps.txBufGc, 'domU', xen.domid, 0, 'dev_kfree_skb_irq');
        np.stack.skbs.free(skb);
      }
    }
    tx.rsp_cons = prod;
    if (np.classic) {
      // 2.6.18: wake me when half of the outstanding requests have completed.
      s.rsp_event = (prod + ((s.req_prod - prod) >>> 1) + 1) >>> 0;
      more = s.rsp_prod !== prod ? 1 : 0;
    } else {
      more = RING_FINAL_CHECK_FOR_RESPONSES(tx);
    }
  } while (more);
  np.counters.tx_gc_responses += responses;
  if (responses > 0 && np.tpTxGc.on) np.tpTxGc.emit({ dev: np.netdev.name, queue: q.id, cons: tx.rsp_cons, responses, freed });
  xennet_maybe_wake_tx(q);
  return cost;
}

/**
 * The tx half of the interrupt: reap completions unless the device is broken. Returns false when
 * broken (no EOI: a lateeoi channel stays masked for good). Clears `q.eoiflag` (the handler's
 * `*eoi`) when xennet_tx_buf_gc saw any response:
 *
 *   if (unlikely(queue->info->broken)) return false;
 *   spin_lock_irqsave(&queue->tx_lock, flags);
 *   if (xennet_tx_buf_gc(queue)) *eoi = 0;
 *   spin_unlock_irqrestore(&queue->tx_lock, flags);
 *   return true;
 *
 * A gc that marks the device broken part-way still returns true (work was seen), so that
 * interrupt EOIs; the next one finds `broken` and does not.
 * @models torvalds/linux drivers/net/xen-netfront.c xennet_handle_tx()
 */
export function xennet_handle_tx(q: NetfrontQueue): boolean {
  const np = q.info;
  if (np.broken) return false;
  gcWorkDone = false;
  const cost = xennet_tx_buf_gc(q);
  if (gcWorkDone) q.eoiflag = 0;
  np.cpu.run(np.sim.now, cost);
  return true;
}

/**
 * Interrupt handler of a split tx event channel. With the lateeoi chip (modern netfront,
 * `netfront.lateeoi`) the port is masked until this EOI, flagged spurious when no tx response
 * was found:
 *
 *   unsigned int eoiflag = XEN_EOI_FLAG_SPURIOUS;
 *   if (likely(xennet_handle_tx(dev_id, &eoiflag)))
 *       xen_irq_lateeoi(irq, eoiflag);
 *
 * @models torvalds/linux drivers/net/xen-netfront.c xennet_tx_interrupt()
 */
export function xennet_tx_interrupt(q: NetfrontQueue): void {
  const np = q.info;
  np.counters.tx_irqs++;
  np.cpu.run(np.sim.now, np.p.irq_ns);
  q.eoiflag = XEN_EOI_FLAG_SPURIOUS;
  if (xennet_handle_tx_irq(q)) np.lateeoi(q.tx_evtchn, q.eoiflag);
}

/**
 * xennet_handle_tx() from an interrupt handler (the packet walk then shows xennet_tx_interrupt, or
 * for the 2.6.18 netfront netif_int, whose first call is network_tx_buf_gc).
 */
export function xennet_handle_tx_irq(q: NetfrontQueue): boolean {
  gcFromIrq = true;
  try {
    return xennet_handle_tx(q);
  } finally {
    gcFromIrq = false;
  }
}
