/**
 * Classic netback (linux-2.6.18-xen drivers/xen/netback/netback.c): the design the classic
 * Xen walk-throughs describe. Host-wide (not per vif) state: 256 pending slots, the dealloc ring,
 * the schedule list of vifs with tx work, the global guest-rx queue, and two tasklets.
 *
 * Guest transmit:
 *   netif_be_int → add_to_net_schedule_list_tail → tasklet net_tx_action:
 *     net_tx_action_dealloc (one unmap batch → make_tx_response OKAY per slot)
 *     per vif on the schedule list: read the request, netbk_get_extras, netbk_count_requests,
 *     size checks (all errors → netbk_tx_err: ERROR responses for the request and the slots
 *     counted so far, req_cons moved past them, the vif re-queued; nothing is fatal in this era
 *     and there is no req_prod sanity check, so slots after a refused chain are read as new
 *     packets and a req_prod far ahead has every slot up to it read and answered),
 *     one GNTTABOP_map_grant_ref for every slot (header slot included)
 *   one map hypercall; per skb netbk_tx_check_mop, copy PKT_PROT_LEN (64) header bytes from
 *   the mapped page, netbk_fill_frags (mapped pages as frags), net_tx_submit → netif_rx.
 *   dom0 frees the skb → netif_idx_release → dealloc ring → tasklet → unmap → OKAY.
 * Guest receive:
 *   netif_be_start_xmit (drop if the guest has too few requests: netbk_queue_full; a flipped
 *   packet, or one whose head reaches the end of its page, is re-laid out by netbk_copy_skb: a
 *   head of up to 3694 bytes at page offset 18, the rest in whole pages; reserve
 *   nr_frags + 1 + !!gso slots in rx_req_cons_peek; if now full and the frontend has
 *   feature-rx-notify, set req_event, stop the queue and arm the 500 ms tx_queue_timeout) →
 *   rx_queue → tasklet net_rx_action: per packet (flip: check_mfn tops the 64-frame pool up,
 *   or the packet waits a second — memory squeeze) netbk_gop_skb: one grant op per frag, then
 *   the head; slots head / GSO extra / frags: GNTTABOP_copy into the request's grant (copy mode,
 *   request-rx-copy; a page mapped from another guest is copied from that guest's grant) or
 *   GNTTABOP_transfer of a dom0 frame (flip mode); batch until count + MAX_SKB_FRAGS >= 256
 *   (count = nr_frags + 1 per packet); one hypercall per kind; netbk_check_gop; responses
 *   {id, offset (0 copy, in-page flip), flags, status = bytes or NETIF_RSP_ERROR for every slot
 *   of a failed packet}, one GSO extra after the head; push per packet; one notification per
 *   vif per run (notify_list).
 *
 * @models bronson/linux-2.6.18.8-ovz-xen drivers/xen/netback/netback.c
 * Credit scheduling as 2.6.18: the `rate` key is read once, at connect (no watch); net_tx_action
 *   leaves a request over the remaining credit on the ring and arms credit_timeout; tx_add_credit
 *   caps the credit at max(the next request's size, credit_bytes).
 * @simplified no HZ/2 copy of long-held
 *   pages (GNTTABOP_unmap_and_replace); no multicall (each op batch is its own hypercall);
 *   flip mode fills a frame of the check_mfn pool with each piece and transfers that frame
 *   (the real driver transfers netbk_copy_skb's page and repoints dom0's pfn to the pool frame
 *   with update_va_mapping + MMU_MACHPHYS_UPDATE: the same frames change hands);
 *   netbk_copy_skb's layout assumes x86_64 (SKB_MAX_HEAD(0) = 3712 with 128-byte cache lines,
 *   NET_IP_ALIGN 2, kmalloc'd heads page-aligned).
 *   Checksums as 2.6.18: net_tx_action gives a csum_blank or data_validated request
 *   CHECKSUM_UNNECESSARY + proto_data_valid, and csum_blank also proto_csum_blank (SkBuff fields,
 *   traced as netback.classic.tx_csum). The Xen core patches do the rest, as in 2.6.18
 *   (../../../net/xen-csum, called by dom0's stack): skb_checksum_setup() at the top of
 *   dev_queue_xmit turns proto_csum_blank into CHECKSUM_HW (= CHECKSUM_PARTIAL) for IPv4 TCP/UDP
 *   and drops the rest, on each output device; netif_receive_skb sets proto_data_valid for every
 *   CHECKSUM_UNNECESSARY packet, so a frame dom0's NIC verified reaches a classic guest with
 *   NETRXF_data_validated. The guest-receive flags are 2.6.18's (CHECKSUM_HW →
 *   csum_blank|data_validated, else proto_data_valid → data_validated; traced as
 *   netback.classic.rx_csum).
 *   Kept from 2.6.18 on purpose: netbk_tx_err's unsigned `cons >= end` (a chain across the 2^32
 *   index wrap is answered one slot at a time; fixed upstream with XSA-39). Not kept:
 *   netbk_tx_check_mop's `frags[i]` for `frags[j]` (CVE-2013-0217), which leaks pending slots
 *   shared by every vif — the model releases the preceding fragments as the fix does, so one
 *   guest cannot stop the others. Extra types end at the 2.6.18 header's
 *   XEN_NETIF_EXTRA_TYPE_MAX (4).
 */
import { NETDEV_TX_OK, type NetdevTx } from '../../../net/netdevice';
import {
  CHECKSUM_NONE, CHECKSUM_PARTIAL, CHECKSUM_UNNECESSARY, SKB_GSO_TCPV4, type SkBuff, type SkbDestructor,
} from '../../../net/skb';
import {
  DOMID_SELF, GNTCOPY_dest_gref, GNTCOPY_source_gref, GNTMAP_host_map, GNTMAP_readonly, GNTST_okay, XEN_PAGE_SIZE,
} from '../../../io/xen-constants';
import {
  RING_FINAL_CHECK_FOR_REQUESTS, RING_GET_REQUEST, RING_GET_RESPONSE, RING_HAS_UNCONSUMED_REQUESTS,
  RING_PUSH_RESPONSES_AND_CHECK_NOTIFY,
} from '../../../io/ring';
import {
  NETIF_RSP_ERROR, NETIF_RSP_OKAY, NETRXF_csum_blank, NETRXF_data_validated, NETRXF_extra_info, NETRXF_more_data,
  NETTXF_csum_blank, NETTXF_data_validated, NETTXF_extra_info, NETTXF_more_data, XEN_NETIF_EXTRA_FLAG_MORE,
  XEN_NETIF_EXTRA_TYPE_GSO, XEN_NETIF_GSO_TYPE_TCPV4, writeExtraGso, writeRxResponse,
  writeTxNullResponse, writeTxResponse,
} from '../../../io/netif';
import { GnttabCopyBatch, type GnttabTransfer } from '../../../xen/grant_table';
import { ETH_HLEN, hypercallShare, makeMapOps, makeUnmapOps, SkbQueue, tx_credit_exceeded, type XenvifQueue } from '../common';
import type { NetbackDriver } from '../driver';
import type { XenVif } from '../interface';
import { copyBytes } from '../../../wire/copy';
import { defineTraceEvents, type TracePoint } from '../../../sim/trace';
import { bufferOf, byteOffsetOf } from '../../../wire/views';

declare module '../../../sim/trace' {
  interface TraceEvents {
    'netback.classic.tx_csum': {
      vif: string; pkt: number; txFlags: number; ipSummed: number; protoDataValid: boolean; protoCsumBlank: boolean;
    };
    'netback.classic.rx_csum': { vif: string; pkt: number; ipSummed: number; protoDataValid: boolean; rxFlags: number };
  }
}

defineTraceEvents({
  'netback.classic.tx_csum': 'Classic (2.6.18) net_tx_action set a guest packet\'s checksum state from its tx flags (ip_summed, proto_data_valid, proto_csum_blank); dom0\'s dev_queue_xmit then runs the Xen skb_checksum_setup (event dev.checksum_setup).',
  'netback.classic.rx_csum': 'Classic (2.6.18) net_rx_action chose the checksum flags of a guest-receive response (NETRXF_csum_blank|data_validated for CHECKSUM_HW, data_validated for proto_data_valid).',
});

const MAX_PENDING_REQS = 256;
/** MAX_SKB_FRAGS in 2.6.18 with 4 KiB pages: 65536 / PAGE_SIZE + 2. */
export const CLASSIC_MAX_SKB_FRAGS = 18;
/**
 * XEN_NETIF_EXTRA_TYPE_MAX of the netif.h the 2.6.18-xen tree carried: NONE 0, GSO 1,
 * MCAST_ADD 2, MCAST_DEL 3, MAX 4 (the HASH type 4 came later). netbk_get_extras rejects
 * `!extra.type || extra.type >= XEN_NETIF_EXTRA_TYPE_MAX`, so the classic backend refuses a type-4
 * extra the modern one accepts; it accepts and ignores the multicast types.
 */
export const CLASSIC_XEN_NETIF_EXTRA_TYPE_MAX = 4;
/** PKT_PROT_LEN: header bytes copied into the linear area. */
export const PKT_PROT_LEN = 64;
const NET_RX_RING_SIZE = 256;
/**
 * SKB_MAX_HEAD(0) of 2.6.18 on x86_64: `(PAGE_SIZE - sizeof(struct skb_shared_info)) &
 * ~(SMP_CACHE_BYTES - 1)` = (4096 - 312) & ~127 (a generic x86_64 build has 128-byte cache lines).
 */
export const CLASSIC_SKB_MAX_HEAD = 3712;
/** netbk_copy_skb's `skb_reserve(nskb, 16 + NET_IP_ALIGN)` (NET_IP_ALIGN 2): the copied head's offset in its page. */
export const NETBK_COPY_SKB_HEAD_OFFSET = 18;
/** Linear bytes of netbk_copy_skb's skb (`nskb->end - nskb->data`); the rest goes into whole pages. */
export const NETBK_COPY_SKB_HEADLEN = CLASSIC_SKB_MAX_HEAD - NETBK_COPY_SKB_HEAD_OFFSET;
/** MAX_MFN_ALLOC: size of the pool of spare frames for page flipping. */
export const MAX_MFN_ALLOC = 64;
/** tx_queue_timeout: jiffies + HZ/2. */
export const TX_QUEUE_TIMEOUT_NS = 500_000_000;
/** net_timer after a memory squeeze: jiffies + HZ. */
const HZ_NS = 1_000_000_000;
const ENOMEM = 12;
const INVALID = 0xffff;

export class ClassicNetback implements SkbDestructor {
  readonly pending_ring = new Uint16Array(MAX_PENDING_REQS);
  pending_prod = MAX_PENDING_REQS;
  pending_cons = 0;
  /** pending_tx_info[]: {req, netif} */
  readonly ptVif: (XenVif | null)[] = new Array<XenVif | null>(MAX_PENDING_REQS).fill(null);
  readonly ptGref = new Uint32Array(MAX_PENDING_REQS);
  readonly ptOffset = new Uint16Array(MAX_PENDING_REQS);
  readonly ptFlags = new Uint16Array(MAX_PENDING_REQS);
  readonly ptId = new Uint16Array(MAX_PENDING_REQS);
  readonly ptSize = new Uint16Array(MAX_PENDING_REQS);
  readonly ptPkt = new Uint32Array(MAX_PENDING_REQS);
  readonly ptNext = new Uint16Array(MAX_PENDING_REQS).fill(INVALID);
  readonly mmapPage: (Uint8Array | null)[] = new Array<Uint8Array | null>(MAX_PENDING_REQS).fill(null);
  readonly mmapMfn = new Int32Array(MAX_PENDING_REQS).fill(-1);
  readonly grantHandle = new Int32Array(MAX_PENDING_REQS).fill(-1);
  readonly dealloc_ring = new Uint16Array(MAX_PENDING_REQS);
  /** pending_inuse[i] is on net_tx_action_dealloc's local list (one entry per index). */
  private readonly deallocInList = new Uint8Array(MAX_PENDING_REQS);
  dealloc_prod = 0;
  dealloc_cons = 0;
  readonly txMapOps = makeMapOps(MAX_PENDING_REQS);
  readonly txUnmapOps = makeUnmapOps(MAX_PENDING_REQS);
  /** Skbs of one tasklet run with their pending index list. */
  readonly runSkbs: (SkBuff | null)[] = new Array<SkBuff | null>(MAX_PENDING_REQS).fill(null);
  readonly runVif: (XenVif | null)[] = new Array<XenVif | null>(MAX_PENDING_REQS).fill(null);
  readonly runFirst = new Uint16Array(MAX_PENDING_REQS);
  readonly runNrFrags = new Uint8Array(MAX_PENDING_REQS);
  readonly runFrags = new Uint16Array(MAX_PENDING_REQS * CLASSIC_MAX_SKB_FRAGS);
  readonly runDataLen = new Uint16Array(MAX_PENDING_REQS);
  readonly runGso = new Uint16Array(MAX_PENDING_REQS);
  runCount = 0;
  /** net_schedule_list */
  private readonly schedule: XenVif[] = [];
  private readonly onList = new Set<XenVif>();
  /** The global guest-rx queue (skb, vif). */
  readonly rx_queue = new SkbQueue(64);
  private readonly rxQueueVif: XenVif[] = [];
  /** Per-vif guest-receive state (rx_req_cons_peek, can_queue, tx_queue_timeout). */
  private readonly rxState = new Map<XenVif, ClassicRxState>();
  /** Vifs by ClassicRxState.idx (the argument of their timer events). */
  private readonly rxVifs: XenVif[] = [];
  /** The packets of one net_rx_action run (the rxq list) and their meta entries. */
  private readonly pkSkb: (SkBuff | null)[] = new Array<SkBuff | null>(NET_RX_RING_SIZE).fill(null);
  private readonly pkVif: (XenVif | null)[] = new Array<XenVif | null>(NET_RX_RING_SIZE).fill(null);
  private readonly pkSlot0 = new Uint32Array(NET_RX_RING_SIZE);
  private readonly pkNr = new Uint8Array(NET_RX_RING_SIZE);
  private readonly pkMeta0 = new Uint16Array(NET_RX_RING_SIZE);
  private readonly pkOp0 = new Uint16Array(NET_RX_RING_SIZE);
  /** struct netbk_rx_meta meta[NET_RX_RING_SIZE]: request id, length and response offset per piece. */
  private readonly metaId = new Uint16Array(NET_RX_RING_SIZE);
  private readonly metaLen = new Uint16Array(NET_RX_RING_SIZE);
  private readonly metaOff = new Uint16Array(NET_RX_RING_SIZE);
  private readonly runRxVifs: XenVif[] = [];
  private rxRunNo = 0;
  private nTransfer = 0;
  /** mfn_list[MAX_MFN_ALLOC] / alloc_index: spare frames for page flipping (check_mfn). */
  readonly mfn_list = new Int32Array(MAX_MFN_ALLOC);
  alloc_index = 0;
  /** net_timer (pending memory-squeeze retry event id, or -1) and how often it was armed. */
  private netTimer = -1;
  rxSqueezes = 0;
  readonly rxCopy = new GnttabCopyBatch(NET_RX_RING_SIZE);
  private readonly rxStage: number[] = [];
  private readonly rxTransfer: GnttabTransfer[] = [];
  private txScheduled = false;
  private rxScheduled = false;
  private readonly hTx: number;
  private readonly hRx: number;
  private readonly hQueueTimeout: number;
  private readonly hNetAlarm: number;
  private readonly kaddr: number;
  private readonly tpTxCsum: TracePoint<'netback.classic.tx_csum'>;
  private readonly tpRxCsum: TracePoint<'netback.classic.rx_csum'>;

  constructor(readonly nb: NetbackDriver) {
    this.tpTxCsum = nb.sim.trace.point('netback.classic.tx_csum');
    this.tpRxCsum = nb.sim.trace.point('netback.classic.rx_csum');
    for (let i = 0; i < MAX_PENDING_REQS; i++) this.pending_ring[i] = i;
    const dom = nb.hv.backend.domid;
    this.hTx = nb.sim.register(`netback.d${dom}.net_tx_action`, () => this.runTx());
    this.hRx = nb.sim.register(`netback.d${dom}.net_rx_action`, () => this.runRx());
    this.hQueueTimeout = nb.sim.register(`netback.d${dom}.tx_queue_callback`, (i) => this.tx_queue_callback(i));
    this.hNetAlarm = nb.sim.register(`netback.d${dom}.net_alarm`, () => this.net_alarm());
    this.kaddr = nb.allocKaddrRange();
  }

  get nrPendingReqs(): number {
    return MAX_PENDING_REQS - ((this.pending_prod - this.pending_cons) >>> 0);
  }

  /**
   * netif_map(): the vif's rings are mapped; start its rx bookkeeping (`rx_req_cons_peek = 0`).
   * `canQueue` is the frontend's feature-rx-notify (default true), which connect_rings() turns
   * into can_queue or, lacking it, a tx_queue_len of 1:
   *
   *   if (be->netif->dev->tx_queue_len != 0) {
   *           ... "feature-rx-notify" ...
   *           if (val) be->netif->can_queue = 1;
   *           else be->netif->dev->tx_queue_len = 1;  (Must be non-zero for pfifo_fast to work.)
   *   }
   *
   * The vif's tx_queue_len is netbk_queue_length (500) before that, as netif_alloc sets it; dom0's
   * pfifo reads it on every enqueue, as 2.6.18's pfifo_fast does.
   * @simplified netif_alloc's tx_queue_len is set here, at connect (no packet reaches the vif's
   *   qdisc before: its carrier is off).
   */
  netif_map(vif: XenVif, canQueue = true): void {
    let st = this.rxState.get(vif);
    if (st === undefined) {
      const idx = this.rxVifs.indexOf(vif);
      st = new ClassicRxState(idx >= 0 ? idx : this.rxVifs.length);
      if (idx < 0) this.rxVifs.push(vif);
      this.rxState.set(vif, st);
    }
    if (st.timer >= 0) { this.nb.sim.cancel(st.timer); st.timer = -1; }
    st.rx_req_cons_peek = 0;
    st.can_queue = false;
    vif.txQueueLen = this.nb.params.classic_queue_length; // netif_alloc: dev->tx_queue_len = netbk_queue_length
    if (vif.txQueueLen !== 0) {
      if (canQueue) st.can_queue = true;
      else vif.txQueueLen = 1;
    }
  }

  /** Drops the vif's queued rx packets and takes it off the schedule list. */
  netif_disconnect(vif: XenVif): void {
    this.onList.delete(vif);
    const i = this.schedule.indexOf(vif);
    if (i >= 0) this.schedule.splice(i, 1);
    // del_timer_sync(&netif->tx_queue_timeout)
    const st = this.rxState.get(vif);
    if (st !== undefined && st.timer >= 0) { this.nb.sim.cancel(st.timer); st.timer = -1; }
    this.rxState.delete(vif);
  }

  private scheduleTx(): void {
    if (this.txScheduled) return;
    this.txScheduled = true;
    this.nb.sim.after(0, this.hTx);
  }

  private scheduleRx(): void {
    if (this.rxScheduled) return;
    this.rxScheduled = true;
    this.nb.sim.after(0, this.hRx);
  }

  private runTx(): void {
    const nb = this.nb;
    const busy = nb.stack.cpu.busyUntil;
    if (busy > nb.sim.now) { nb.sim.at(busy, this.hTx); return; }
    this.txScheduled = false;
    nb.stepCost += nb.costs.poll_ns;
    this.net_tx_action();
    nb.flushCost();
  }

  private runRx(): void {
    const nb = this.nb;
    const busy = nb.stack.cpu.busyUntil;
    if (busy > nb.sim.now) { nb.sim.at(busy, this.hRx); return; }
    this.rxScheduled = false;
    nb.stepCost += nb.costs.poll_ns;
    this.net_rx_action();
    nb.flushCost();
  }

  /**
   * The event-channel interrupt: queue the vif for tx work and wake its queue if it has rx space.
   * @models bronson/linux-2.6.18.8-ovz-xen drivers/xen/netback/netback.c netif_be_int()
   */
  netif_be_int(vif: XenVif, q: XenvifQueue): void {
    vif.chargeIrq();
    // Packet walk: the interrupt is where the guest's notification lands for its oldest request.
    const tx = q.tx;
    if (this.nb.tpStep.on && tx !== null && RING_HAS_UNCONSUMED_REQUESTS(tx) !== 0) {
      this.nb.step(q.txWalk[tx.req_cons & 255]!, 'netif_be_int', this.nb.costs.irq_ns, vif.name);
    }
    this.add_to_net_schedule_list_tail(vif);
    // maybe_schedule_tx_action(): only while fewer than half the pending slots are in use.
    if (this.nrPendingReqs < MAX_PENDING_REQS / 2) this.scheduleTx();
    this.rxInterrupt(vif);
  }

  /** The frontend posted rx requests: wake the vif queue if it now has room. */
  rxInterrupt(vif: XenVif): void {
    if (vif.schedulable && !this.netbk_queue_full(vif)) vif.netif_wake_queue();
  }

  /** @models bronson/linux-2.6.18.8-ovz-xen drivers/xen/netback/netback.c add_to_net_schedule_list_tail() */
  private add_to_net_schedule_list_tail(vif: XenVif): void {
    if (this.onList.has(vif) || !vif.schedulable) return;
    this.onList.add(vif);
    this.schedule.push(vif);
  }

  /** @models bronson/linux-2.6.18.8-ovz-xen drivers/xen/netback/netback.c netif_schedule_work() */
  private netif_schedule_work(vif: XenVif): void {
    const q = vif.queues[0];
    if (q === undefined || q.tx === null) return;
    if (RING_FINAL_CHECK_FOR_REQUESTS(q.tx) !== 0) {
      this.add_to_net_schedule_list_tail(vif);
      // maybe_schedule_tx_action(): only while fewer than half the pending slots are in use.
      if (this.nrPendingReqs < MAX_PENDING_REQS / 2) this.scheduleTx();
    }
  }

  /**
   * The window's credit: remaining + credit_bytes, capped at max(the next request's size (at most
   * 128 KiB), credit_bytes) — a jumbo packet can always pass, no credit piles up beyond that.
   * @models bronson/linux-2.6.18.8-ovz-xen drivers/xen/netback/netback.c tx_add_credit()
   */
  tx_add_credit(q: XenvifQueue): void {
    const r = q.tx;
    const next = r === null ? 0 : r.sring.view.getUint16(RING_GET_REQUEST(r, r.req_cons) + 10, true);
    const maxBurst = Math.max(Math.min(next, 131072), q.credit_bytes);
    const maxCredit = Math.min(Number.MAX_SAFE_INTEGER, q.remaining_credit + q.credit_bytes);
    q.remaining_credit = Math.min(maxCredit, maxBurst);
    q.rate_limited = false;
  }

  /**
   * credit_timeout fired: new credit, and the vif back on the schedule list if it has requests.
   * @models bronson/linux-2.6.18.8-ovz-xen drivers/xen/netback/netback.c tx_credit_callback()
   */
  tx_credit_callback(q: XenvifQueue): void {
    this.tx_add_credit(q);
    this.netif_schedule_work(q.vif);
  }

  /** tx_add_credit bound, for the shared credit check. */
  private readonly addCredit = (q: XenvifQueue): void => this.tx_add_credit(q);

  /**
   * Writes {id, status}, one NULL response if the request had extras, and pushes.
   * @models bronson/linux-2.6.18.8-ovz-xen drivers/xen/netback/netback.c make_tx_response()
   */
  private make_tx_response(vif: XenVif, id: number, flags: number, status: number, pkt: number): void {
    const q = vif.queues[0];
    if (q === undefined || q.tx === null) return;
    const r = q.tx;
    const v = r.sring.view;
    let i = r.rsp_prod_pvt;
    writeTxResponse(v, RING_GET_RESPONSE(r, i), id, status);
    let nulls = 0;
    if (flags & NETTXF_extra_info) {
      i = (i + 1) >>> 0;
      writeTxNullResponse(v, RING_GET_RESPONSE(r, i));
      nulls = 1;
    }
    r.rsp_prod_pvt = (i + 1) >>> 0;
    const nb = this.nb;
    const c = vif.counters;
    c.tx_responses++;
    c.tx_null_responses += nulls;
    if (status !== NETIF_RSP_OKAY) c.tx_error_responses++;
    nb.stepCost += nb.costs.tx_response_ns;
    if (nb.tpStep.on) nb.step(pkt, 'make_tx_response', nb.costs.tx_response_ns, `id ${id} status ${status}`);
    const notify = RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(r);
    if (notify) {
      nb.notifyRemote(q.txIrq);
      c.tx_notifies++;
    }
    if (nb.tpResponse.on) nb.tpResponse.emit({ vif: vif.name, queue: 0, id, status, nulls, notify });
  }

  /**
   * ERROR responses for the request and every slot up to `end`; the vif goes back on the list.
   * @models bronson/linux-2.6.18.8-ovz-xen drivers/xen/netback/netback.c netbk_tx_err()
   */
  private netbk_tx_err(vif: XenVif, id: number, flags: number, end: number, pkt: number, reason: string, bytes: number): void {
    const r = vif.queues[0]!.tx!;
    let cons = r.req_cons;
    let rid = id;
    let fl = flags;
    vif.dropGuestTx(reason, bytes);
    for (;;) {
      this.make_tx_response(vif, rid, fl, NETIF_RSP_ERROR, pkt);
      // `if (cons >= end) break;` on unsigned RING_IDX: when the erroneous chain straddles the
      // 2^32 wrap of the free-running index (cons near 0xffffffff, end small) this stops after
      // the first response and leaves req_cons on the second slot, whose successors are then
      // read as new packets. (Fixed after 2.6.18 by "xen/netback: correct netbk_tx_err to handle
      // wrap around", XSA-39: `cons != end`.)
      if ((cons >>> 0) >= (end >>> 0)) break;
      const o = RING_GET_REQUEST(r, cons);
      rid = r.sring.view.getUint16(o + 8, true);
      fl = r.sring.view.getUint16(o + 6, true);
      cons = (cons + 1) >>> 0;
    }
    r.req_cons = cons;
    this.netif_schedule_work(vif);
  }

  /** The pending index goes back to the free ring. */
  private releasePending(p: number): void {
    this.pending_ring[this.pending_prod & (MAX_PENDING_REQS - 1)] = p;
    this.pending_prod = (this.pending_prod + 1) >>> 0;
  }

  /**
   * A page of a transmitted packet came back from dom0's stack: queue its slot for unmapping.
   * @models bronson/linux-2.6.18.8-ovz-xen drivers/xen/netback/netback.c netif_idx_release()
   */
  netif_idx_release(p: number): void {
    this.dealloc_ring[this.dealloc_prod & (MAX_PENDING_REQS - 1)] = p;
    // smp_wmb()
    this.dealloc_prod = (this.dealloc_prod + 1) >>> 0;
    this.scheduleTx();
  }

  /** skb destructor: every mapped page of the packet is released (netif_page_release). */
  skbFreed(skb: SkBuff): void {
    let p = skb.destructorArg;
    if (this.nb.tpStep.on) this.nb.step(skb.id, 'netif_idx_release', 0, `dealloc_prod ${this.dealloc_prod}`);
    while (p !== INVALID) {
      const next = this.ptNext[p]!;
      this.ptNext[p] = INVALID;
      this.netif_idx_release(p);
      p = next;
    }
  }

  /**
   * One unmap hypercall for every released slot, then an OKAY response for each.
   * @models bronson/linux-2.6.18.8-ovz-xen drivers/xen/netback/netback.c net_tx_action_dealloc()
   */
  private net_tx_action_dealloc(): void {
    const nb = this.nb;
    let dc = this.dealloc_cons;
    const dp = this.dealloc_prod;
    let n = 0, nu = 0;
    const rel = this.runFirst; // scratch (no skbs are being built yet)
    const inList = this.deallocInList;
    while (dc !== dp) {
      const p = this.dealloc_ring[dc & (MAX_PENDING_REQS - 1)]!;
      dc = (dc + 1) >>> 0;
      // list_move_tail(&pending_inuse[pending_idx].list, &list): an index queued twice (the
      // netbk_tx_check_mop loop above) is on the list once.
      if (inList[p] !== 0) continue;
      inList[p] = 1;
      rel[n++] = p;
      // "Already unmapped?" — a slot whose map failed has no mapping: no unmap op.
      if (this.grantHandle[p]! < 0) continue;
      const op = this.txUnmapOps[nu++]!;
      op.host_addr = this.kaddr + p * XEN_PAGE_SIZE;
      op.dev_bus_addr = 0;
      op.handle = this.grantHandle[p]!;
      op.status = 0;
    }
    this.dealloc_cons = dc;
    if (n === 0) return;
    nb.stepCost += nb.costs.dealloc_ns;
    const cost = nu === 0 ? 0 : nb.hv.unmap(this.txUnmapOps, nu);
    nb.stepCost += cost;
    if (nb.tpDealloc.on) nb.tpDealloc.emit({ vif: '*', queue: 0, design: 'classic', unmaps: nu, costNs: cost });
    let u = 0;
    for (let i = 0; i < n; i++) {
      const p = rel[i]!;
      inList[p] = 0;
      const vif = this.ptVif[p]!;
      const wasMapped = this.grantHandle[p]! >= 0;
      if (wasMapped) {
        vif.counters.tx_unmap_ops++;
        nb.clearForeign(this.mmapMfn[p]!);
        this.grantHandle[p] = -1;
        this.mmapPage[p] = null;
        this.mmapMfn[p] = -1;
      }
      if (nb.tpStep.on) {
        nb.step(this.ptPkt[p]!, 'net_tx_action_dealloc', i === 0 ? nb.costs.dealloc_ns : 0, `unmap batch of ${n}`);
        if (wasMapped) nb.step(this.ptPkt[p]!, 'gnttab_unmap_grant_ref', hypercallShare(cost, nu, u), `${nu} op(s) in the batch`, 'xen');
      }
      if (wasMapped) u++;
      this.make_tx_response(vif, this.ptId[p]!, this.ptFlags[p]!, NETIF_RSP_OKAY, this.ptPkt[p]!);
      this.ptVif[p] = null;
      // `pending_ring[MASK_PEND_IDX(pending_prod++)] = pending_idx;` — for a slot whose map
      // failed, netbk_tx_check_mop already returned it; 2.6.18 returns it a second time (a
      // duplicate free entry). @simplified the model returns it once.
      if (wasMapped) this.releasePending(p);
    }
  }

  /**
   * The tx tasklet.
   * @models bronson/linux-2.6.18.8-ovz-xen drivers/xen/netback/netback.c net_tx_action()
   */
  private net_tx_action(): void {
    const nb = this.nb;
    const tpOn = nb.tpStep.on;
    if (this.dealloc_cons !== this.dealloc_prod) this.net_tx_action_dealloc();
    let nMops = 0;
    this.runCount = 0;
    let reqs = 0;
    while (this.nrPendingReqs + CLASSIC_MAX_SKB_FRAGS < MAX_PENDING_REQS && this.schedule.length > 0) {
      const vif = this.schedule.shift()!;
      this.onList.delete(vif);
      const q = vif.queues[0];
      if (q === undefined || q.tx === null || !vif.schedulable) continue;
      const r = q.tx;
      let workToDo = RING_FINAL_CHECK_FOR_REQUESTS(r);
      if (workToDo === 0) continue;
      const v = r.sring.view;
      let i = r.req_cons;
      // rmb(); memcpy(&txreq, RING_GET_REQUEST(...))
      let o = RING_GET_REQUEST(r, i);
      const gref = v.getUint32(o, true), off = v.getUint16(o + 4, true), flags = v.getUint16(o + 6, true);
      const id = v.getUint16(o + 8, true);
      let size = v.getUint16(o + 10, true);
      const total = size;
      const pkt = q.txWalk[i & 255]!;
      const born = q.txBorn[i & 255]!;
      // Credit-based scheduling: over this window's credit, the request stays on the ring and the
      // vif leaves the schedule list until tx_credit_callback.
      if (size > q.remaining_credit && tx_credit_exceeded(q, size, this.addCredit)) {
        if (tpOn) nb.step(pkt, 'net_tx_action', 0, `credit: ${size} B > ${q.remaining_credit} B left, wait for credit_timeout`);
        continue;
      }
      q.remaining_credit -= size;
      r.req_cons = i = (i + 1) >>> 0;
      workToDo--;
      reqs++;
      vif.counters.tx_requests++;
      nb.stepCost += nb.costs.tx_req_ns;
      if (tpOn) nb.step(pkt, 'net_tx_action', nb.costs.tx_req_ns, `req ${(i - 1) >>> 0} id ${id} size ${size}`);
      // netbk_get_extras()
      let gsoSize = 0, gsoType = 0, haveGso = false, extraErr = false;
      if (flags & NETTXF_extra_info) {
        let more = 0;
        do {
          if (workToDo-- <= 0) { extraErr = true; break; }
          o = RING_GET_REQUEST(r, i);
          const type = v.getUint8(o);
          more = v.getUint8(o + 1) & XEN_NETIF_EXTRA_FLAG_MORE;
          r.req_cons = i = (i + 1) >>> 0;
          if (type === 0 || type >= CLASSIC_XEN_NETIF_EXTRA_TYPE_MAX) { extraErr = true; break; }
          if (type === XEN_NETIF_EXTRA_TYPE_GSO) { haveGso = true; gsoSize = v.getUint16(o + 2, true); gsoType = v.getUint8(o + 4); }
        } while (more);
        if (extraErr) { this.netbk_tx_err(vif, id, flags, i, pkt, 'bad_extra', total); continue; }
        if (tpOn) nb.step(pkt, 'netbk_get_extras', 0);
      }
      // netbk_count_requests()
      let frags = 0;
      let countErr = '';
      if (flags & NETTXF_more_data) {
        let fl = 0;
        do {
          if (frags >= workToDo) { countErr = 'need_more_frags'; break; }
          if (frags >= CLASSIC_MAX_SKB_FRAGS) { countErr = 'too_many_slots'; break; }
          o = RING_GET_REQUEST(r, (r.req_cons + frags) >>> 0);
          const fsize = v.getUint16(o + 10, true);
          const foff = v.getUint16(o + 4, true);
          fl = v.getUint16(o + 6, true);
          if (fsize > size) { countErr = 'frag_size_overflow'; break; }
          size -= fsize;
          frags++;
          if (foff + fsize > XEN_PAGE_SIZE) { countErr = 'cross_page'; break; }
        } while (fl & NETTXF_more_data);
        // netbk_count_requests returns -frags: failing before the first frag it returns 0, which
        // net_tx_action takes for "no frags" — the first slot goes on alone and the slots after it
        // are read as new packets (XSA-39 turned these into errors in later kernels).
        if (countErr !== '' && frags === 0) countErr = '';
        if (countErr !== '') { this.netbk_tx_err(vif, id, flags, (i + frags) >>> 0, pkt, countErr, total); continue; }
        nb.stepCost += nb.costs.tx_req_ns * frags;
      }
      if (tpOn) nb.step(pkt, 'netbk_count_requests', nb.costs.tx_req_ns * frags, `${frags} more slot(s)`);
      const end = (i + frags) >>> 0;
      if (size < ETH_HLEN) { this.netbk_tx_err(vif, id, flags, end, pkt, 'bad_size', total); continue; }
      if (off + size > XEN_PAGE_SIZE) { this.netbk_tx_err(vif, id, flags, end, pkt, 'cross_page', total); continue; }
      if (haveGso && (gsoSize === 0 || gsoType !== XEN_NETIF_GSO_TYPE_TCPV4)) { this.netbk_tx_err(vif, id, flags, end, pkt, 'bad_gso', total); continue; }
      const dataLen = size > PKT_PROT_LEN && frags < CLASSIC_MAX_SKB_FRAGS ? PKT_PROT_LEN : size;
      const skb = nb.stack.pool.alloc();
      if (pkt !== 0) skb.id = pkt;
      skb.bornAt = pkt !== 0 ? born : nb.sim.now;
      if (haveGso) { skb.gsoSize = gsoSize; skb.gsoType = SKB_GSO_TCPV4; }
      const k = this.runCount++;
      this.runSkbs[k] = skb;
      this.runVif[k] = vif;
      this.runDataLen[k] = dataLen;
      // Map op for the first slot, then netbk_get_requests(): one per fragment.
      const first = this.pending_ring[this.pending_cons & (MAX_PENDING_REQS - 1)]!;
      this.pending_cons = (this.pending_cons + 1) >>> 0;
      this.setPending(first, vif, gref, off, flags, id, size, pkt);
      this.mapOp(nMops++, first, gref, vif.domid);
      this.runFirst[k] = first;
      const fb = k * CLASSIC_MAX_SKB_FRAGS;
      for (let f = 0; f < frags; f++) {
        o = RING_GET_REQUEST(r, (i + f) >>> 0);
        const p = this.pending_ring[this.pending_cons & (MAX_PENDING_REQS - 1)]!;
        this.pending_cons = (this.pending_cons + 1) >>> 0;
        const fg = v.getUint32(o, true);
        this.setPending(p, vif, fg, v.getUint16(o + 4, true), v.getUint16(o + 6, true), v.getUint16(o + 8, true), v.getUint16(o + 10, true), pkt);
        this.mapOp(nMops++, p, fg, vif.domid);
        this.runFrags[fb + f] = p;
      }
      this.runNrFrags[k] = frags;
      reqs += frags;
      vif.counters.tx_requests += frags;
      r.req_cons = end;
      if (tpOn) nb.step(pkt, 'netbk_get_requests', 0, `map ${frags + 1} slot(s)`);
      this.netif_schedule_work(vif);
      if (nMops + CLASSIC_MAX_SKB_FRAGS + 1 > MAX_PENDING_REQS) break;
    }
    if (nMops === 0) return;
    const cost = nb.hv.map(this.txMapOps, nMops);
    nb.stepCost += cost;
    if (nb.tpBatch.on) nb.tpBatch.emit({ vif: '*', queue: 0, design: 'classic', reqs, skbs: this.runCount, copies: 0, maps: nMops, costNs: cost });
    let m = 0;
    for (let k = 0; k < this.runCount; k++) {
      const skb = this.runSkbs[k]!;
      this.runSkbs[k] = null;
      const vif = this.runVif[k]!;
      this.runVif[k] = null;
      vif.counters.tx_map_ops += 1 + this.runNrFrags[k]!;
      if (tpOn) nb.step(skb.id, 'gnttab_map_grant_ref', hypercallShare(cost, this.runCount, k), `${nMops} op(s) in the batch`, 'xen');
      const ok = this.netbk_tx_check_mop(k, m);
      m += 1 + this.runNrFrags[k]!;
      nb.stepCost += nb.costs.tx_skb_ns;
      if (tpOn) nb.step(skb.id, 'netbk_tx_check_mop', nb.costs.tx_skb_ns, ok ? 'ok' : 'grant error');
      if (!ok) {
        vif.dropGuestTx('bad_grant', this.ptSize[this.runFirst[k]!]!);
        nb.stack.pool.free(skb);
        continue;
      }
      this.net_tx_submit(vif, skb, k);
    }
    this.runCount = 0;
  }

  private setPending(p: number, vif: XenVif, gref: number, off: number, flags: number, id: number, size: number, pkt: number): void {
    this.ptVif[p] = vif;
    this.ptGref[p] = gref;
    this.ptOffset[p] = off;
    this.ptFlags[p] = flags;
    this.ptId[p] = id;
    this.ptSize[p] = size;
    this.ptPkt[p] = pkt;
    this.ptNext[p] = INVALID;
  }

  private mapOp(m: number, p: number, gref: number, domid: number): void {
    const op = this.txMapOps[m]!;
    op.host_addr = this.kaddr + p * XEN_PAGE_SIZE;
    op.flags = GNTMAP_host_map | GNTMAP_readonly;
    op.ref = gref;
    op.dom = domid;
    op.status = 0;
    op.handle = -1;
    op.dev_bus_addr = 0;
  }

  /** Records a successful map of pending slot p. */
  private mapped(p: number, m: number): void {
    const op = this.txMapOps[m]!;
    const mfn = Math.floor(op.dev_bus_addr / XEN_PAGE_SIZE);
    this.grantHandle[p] = op.handle;
    this.mmapMfn[p] = mfn;
    this.mmapPage[p] = this.nb.hv.mem.page(mfn);
    this.nb.setForeign(mfn, this.ptVif[p]!.domid, this.ptGref[p]!);
  }

  /**
   * Map statuses of one packet: a failed slot is answered ERROR and its pending index freed at
   * once; on the first error the already-mapped slots are released through the dealloc path.
   * @models bronson/linux-2.6.18.8-ovz-xen drivers/xen/netback/netback.c netbk_tx_check_mop()
   */
  private netbk_tx_check_mop(k: number, m: number): boolean {
    const first = this.runFirst[k]!;
    const vif = this.ptVif[first]!;
    let err = this.txMapOps[m]!.status;
    if (err !== GNTST_okay) {
      this.make_tx_response(vif, this.ptId[first]!, this.ptFlags[first]!, NETIF_RSP_ERROR, this.ptPkt[first]!);
      this.ptVif[first] = null;
      this.releasePending(first);
    } else {
      this.mapped(first, m);
    }
    const nf = this.runNrFrags[k]!;
    const fb = k * CLASSIC_MAX_SKB_FRAGS;
    for (let i = 0; i < nf; i++) {
      const p = this.runFrags[fb + i]!;
      const st = this.txMapOps[m + 1 + i]!.status;
      if (st === GNTST_okay) {
        this.mapped(p, m + 1 + i);
        if (err !== GNTST_okay) this.netif_idx_release(p);
        continue;
      }
      this.make_tx_response(vif, this.ptId[p]!, this.ptFlags[p]!, NETIF_RSP_ERROR, this.ptPkt[p]!);
      this.ptVif[p] = null;
      this.releasePending(p);
      if (err !== GNTST_okay) continue;
      // First error: "invalidate header and preceding fragments". The 2.6.18 loop reads
      //   for (j = start; j < i; j++) { pending_idx = (unsigned long)shinfo->frags[i].page; ... }
      // — frags[i] for frags[j], CVE-2013-0217: the preceding fragments stay mapped with their
      // pending slots held (shared by every vif) and are never answered, so a guest repeating this
      // starves the whole host. @simplified the model releases frags[j] as the fix (XSA-39) does,
      // so that a misbehaving guest cannot stop the other guests.
      if (this.grantHandle[first]! >= 0) this.netif_idx_release(first);
      for (let j = 0; j < i; j++) this.netif_idx_release(this.runFrags[fb + j]!);
      err = st;
    }
    return err === GNTST_okay;
  }

  /**
   * Copies the header from the mapped first page, attaches the fragments and hands the skb
   * to netif_rx.
   * @models bronson/linux-2.6.18.8-ovz-xen drivers/xen/netback/netback.c net_tx_action() (submit
   *   loop) and netbk_fill_frags()
   */
  private net_tx_submit(vif: XenVif, skb: SkBuff, k: number): void {
    const nb = this.nb;
    const first = this.runFirst[k]!;
    const dataLen = this.runDataLen[k]!;
    const page = this.mmapPage[first]!;
    const off = this.ptOffset[first]!;
    const at = skb.put(dataLen);
    copyBytes(skb.head, at, page, off, dataLen);
    nb.stepCost += Math.round(dataLen * nb.costs.memcpy_byte_ns_x1000 / 1000);
    const flags = this.ptFlags[first]!;
    // Chain of pending indices whose pages the skb holds (the page destructors).
    let head = INVALID, tail = INVALID;
    const link = (p: number): void => {
      if (head === INVALID) head = p; else this.ptNext[tail] = p;
      tail = p;
      this.ptNext[p] = INVALID;
    };
    if (dataLen < this.ptSize[first]!) {
      skb.addFrag(page, off + dataLen, this.ptSize[first]! - dataLen, CLASSIC_MAX_SKB_FRAGS);
      link(first);
    } else {
      this.netif_idx_release(first);
    }
    const nf = this.runNrFrags[k]!;
    const fb = k * CLASSIC_MAX_SKB_FRAGS;
    for (let i = 0; i < nf; i++) {
      const p = this.runFrags[fb + i]!;
      skb.addFrag(this.mmapPage[p]!, this.ptOffset[p]!, this.ptSize[p]!, CLASSIC_MAX_SKB_FRAGS);
      link(p);
    }
    if (head !== INVALID) {
      skb.destructor = this;
      skb.destructorArg = head;
    }
    // 2.6.18 net_tx_action:
    //   if (txp->flags & (NETTXF_data_validated|NETTXF_csum_blank)) {
    //           skb->ip_summed = CHECKSUM_UNNECESSARY;
    //           skb->proto_data_valid = 1;
    //   } else {
    //           skb->ip_summed = CHECKSUM_NONE;
    //           skb->proto_data_valid = 0;
    //   }
    //   skb->proto_csum_blank = !!(txp->flags & NETTXF_csum_blank);
    const valid = (flags & (NETTXF_data_validated | NETTXF_csum_blank)) !== 0;
    skb.ipSummed = valid ? CHECKSUM_UNNECESSARY : CHECKSUM_NONE;
    skb.protoDataValid = valid;
    skb.protoCsumBlank = (flags & NETTXF_csum_blank) !== 0;
    if (this.tpTxCsum.on) {
      this.tpTxCsum.emit({
        vif: vif.name, pkt: skb.id, txFlags: flags, ipSummed: skb.ipSummed, protoDataValid: valid, protoCsumBlank: skb.protoCsumBlank,
      });
    }
    if (nb.tpStep.on) nb.step(skb.id, 'netbk_fill_frags', 0, `${skb.nrFrags} frag(s), ${skb.len} B`);
    skb.dev = vif;
    vif.stats.rx_packets++;
    vif.stats.rx_bytes += skb.len - ETH_HLEN; // after eth_type_trans(), as net_tx_action counts
    if (nb.tpStep.on) nb.step(skb.id, 'net_tx_submit', 0, `${skb.len} B to netif_rx`);
    nb.flushCost();
    nb.stack.netif_rx(skb);
  }

  // ---- guest receive ---------------------------------------------------------------------------

  /** The vif's rx bookkeeping; throws for a vif netif_map() has not seen (API misuse). */
  private rxOf(vif: XenVif): ClassicRxState {
    const st = this.rxState.get(vif);
    if (st === undefined) throw new Error(`netback classic: vif ${vif.name} is not mapped (netif_map() first)`);
    return st;
  }

  /**
   * Slots the next packet may need.
   * @models bronson/linux-2.6.18.8-ovz-xen drivers/xen/netback/netback.c netbk_max_required_rx_slots()
   */
  private maxRequired(vif: XenVif): number {
    // `if (netif->features & (NETIF_F_SG|NETIF_F_TSO)) return MAX_SKB_FRAGS + 2;` — netif->features
    // holds SG for feature-sg and TSO for feature-gso-tcpv4 (TSO6 is never set in 2.6.18).
    return vif.canSg || (vif.gsoMask & (1 << XEN_NETIF_GSO_TYPE_TCPV4)) !== 0 ? CLASSIC_MAX_SKB_FRAGS + 2 : 1;
  }

  /**
   * Too few posted requests beyond rx_req_cons_peek, or too little response space, for one more
   * worst-case packet. A vif that is not mapped counts as full.
   * @models bronson/linux-2.6.18.8-ovz-xen drivers/xen/netback/netback.c netbk_queue_full()
   */
  netbk_queue_full(vif: XenVif): boolean {
    const q = vif.queues[0];
    const st = this.rxState.get(vif);
    if (q === undefined || q.rx === null || st === undefined) return true;
    const peek = st.rx_req_cons_peek;
    const needed = this.maxRequired(vif);
    return ((q.rx.sring.req_prod - peek) >>> 0) < needed || ((q.rx.rsp_prod_pvt + NET_RX_RING_SIZE - peek) >>> 0) < needed;
  }

  /** rx_req_cons_peek of a mapped vif (slots start_xmit has reserved). */
  rxReqConsPeek(vif: XenVif): number {
    return this.rxOf(vif).rx_req_cons_peek;
  }

  /** offset_in_page(skb->data): a head in host memory by its address, any other head as page-aligned. */
  private headPageOffset(skb: SkBuff): number {
    const h = skb.head;
    const base = bufferOf(h) === this.nb.hv.mem.buffer ? byteOffsetOf(h) : 0;
    return (base + skb.data) & (XEN_PAGE_SIZE - 1);
  }

  /**
   * The frag count of netbk_copy_skb()'s copy of `skb`: a head of at most NETBK_COPY_SKB_HEADLEN
   * bytes, the rest in whole pages; -1 when that needs more than MAX_SKB_FRAGS pages (2.6.18:
   * `if (unlikely(ninfo->nr_frags >= MAX_SKB_FRAGS)) { dump_stack(); goto err_free; }`).
   * @models bronson/linux-2.6.18.8-ovz-xen drivers/xen/netback/netback.c netbk_copy_skb()
   */
  private netbk_copy_skb_frags(skb: SkBuff): number {
    const head = skb.headLen < NETBK_COPY_SKB_HEADLEN ? skb.headLen : NETBK_COPY_SKB_HEADLEN;
    const nr = Math.ceil((skb.len - head) / XEN_PAGE_SIZE);
    return nr > CLASSIC_MAX_SKB_FRAGS ? -1 : nr;
  }

  /**
   * Guest receive entry point of a classic vif.
   * @models bronson/linux-2.6.18.8-ovz-xen drivers/xen/netback/netback.c netif_be_start_xmit()
   * @simplified netbk_copy_skb's copy is decided here and made in net_rx_action (its pages are
   *   filled there, straight from the original skb); the result is the same layout.
   */
  start_xmit(vif: XenVif, skb: SkBuff): NetdevTx {
    const nb = this.nb;
    nb.stepCost += nb.costs.xmit_ns;
    const st = this.rxState.get(vif);
    // `if (unlikely(!netif_schedulable(netif) || netbk_queue_full(netif))) goto drop;`
    if (!vif.schedulable || vif.queues.length === 0 || st === undefined) { vif.dropXmit(skb, 'not_connected'); return NETDEV_TX_OK; }
    if (this.netbk_queue_full(vif)) { vif.dropXmit(skb, 'no_rx_slots'); return NETDEV_TX_OK; }
    const q = vif.queues[0]!;
    // `if (!netif->copying_receiver || ((skb_headlen(skb) + offset_in_page(skb->data)) >= PAGE_SIZE))`
    //   → nskb = netbk_copy_skb(skb): every flipped packet, and a copied one whose head reaches
    //   the end of its page.
    let nrFrags = skb.nrFrags;
    let copied = 0;
    if (!vif.rxCopy || skb.headLen + this.headPageOffset(skb) >= XEN_PAGE_SIZE) {
      nrFrags = this.netbk_copy_skb_frags(skb);
      if (nrFrags < 0) { vif.dropXmit(skb, 'netbk_copy_skb'); return NETDEV_TX_OK; }
      copied = 1;
    }
    // `netif->rx_req_cons_peek += skb_shinfo(skb)->nr_frags + 1 + !!skb_shinfo(skb)->gso_size;`
    const peek = (st.rx_req_cons_peek + nrFrags + 1 + (skb.gsoSize !== 0 ? 1 : 0)) >>> 0;
    st.rx_req_cons_peek = peek;
    // `if (netbk_can_queue(dev) && netbk_queue_full(netif))`: a frontend without
    // feature-rx-notify never has its queue stopped (its packets are dropped above instead).
    if (st.can_queue && this.netbk_queue_full(vif)) {
      q.rx!.sring.req_event = (peek + this.maxRequired(vif)) >>> 0;
      // mb(): request notification, then check and stop the queue.
      if (this.netbk_queue_full(vif)) {
        if (!vif.txStopped) vif.counters.rx_queue_stops++;
        vif.netif_stop_queue();
        // __mod_timer(&netif->tx_queue_timeout, jiffies + HZ/2): wake it later anyway, so that
        // an inactive guest's queue drains (its packets are then dropped by netbk_queue_full).
        if (st.timer >= 0) nb.sim.cancel(st.timer);
        st.timer = nb.sim.after(TX_QUEUE_TIMEOUT_NS, this.hQueueTimeout, st.idx);
      }
    }
    this.rx_queue.push(skb, copied);
    this.rxQueueVif.push(vif);
    if (nb.tpStep.on) nb.step(skb.id, 'netif_be_start_xmit', nb.costs.xmit_ns, `rx_req_cons_peek ${peek}`);
    this.scheduleRx();
    nb.flushCost();
    return NETDEV_TX_OK;
  }

  /**
   * The 500 ms queue timer fired: wake the vif's queue if it can still be scheduled.
   * @models bronson/linux-2.6.18.8-ovz-xen drivers/xen/netback/netback.c tx_queue_callback()
   */
  private tx_queue_callback(idx: number): void {
    const vif = this.rxVifs[idx];
    if (vif === undefined) return;
    const st = this.rxState.get(vif);
    if (st !== undefined) st.timer = -1;
    if (vif.schedulable) vif.netif_wake_queue();
  }

  /**
   * Tops the pool of spare frames up to MAX_MFN_ALLOC (one XENMEM_increase_reservation) when it
   * holds fewer than `nr`. Returns 0, or -ENOMEM when it still holds fewer.
   * @models bronson/linux-2.6.18.8-ovz-xen drivers/xen/netback/netback.c check_mfn()
   */
  check_mfn(nr: number): number {
    if (this.alloc_index >= nr) return 0;
    while (this.alloc_index < MAX_MFN_ALLOC) {
      const mfn = this.nb.hv.allocPage();
      if (mfn < 0) break;
      this.mfn_list[this.alloc_index++] = mfn;
    }
    return this.alloc_index >= nr ? 0 : -ENOMEM;
  }

  private stagePage(i: number): number {
    let mfn = this.rxStage[i];
    if (mfn === undefined) {
      mfn = this.nb.hv.allocPage();
      if (mfn < 0) throw new Error('net_rx_action: out of host memory for a staging page');
      this.rxStage[i] = mfn;
    }
    return mfn;
  }

  /**
   * One grant op for one piece of a packet into the request at ring index `slot`; records the
   * request id, length and response offset in meta entry `m`. A piece of a copied packet (src
   * null) is read from packet offset `pktOff` into its new page at `pageOff`; otherwise it is
   * `len` bytes of `src` at `srcOff`.
   * @models bronson/linux-2.6.18.8-ovz-xen drivers/xen/netback/netback.c netbk_gop_frag()
   * @simplified flip mode fills a spare frame from the check_mfn() pool and transfers that frame:
   *   the real driver transfers the page netbk_copy_skb filled and repoints dom0's pfn to the
   *   spare frame (set_phys_to_machine, MULTI_update_va_mapping, MMU_MACHPHYS_UPDATE), which
   *   leaves both domains with the same frames as here.
   */
  private netbk_gop_frag(vif: XenVif, m: number, slot: number, src: Uint8Array | null, srcOff: number, len: number, skb: SkBuff, pktOff: number, pageOff: number): void {
    const nb = this.nb;
    const mem = nb.hv.mem;
    const r = vif.queues[0]!.rx!;
    const v = r.sring.view;
    // `req = RING_GET_REQUEST(&netif->rx, netif->rx.req_cons + i);` … `return req->id;`
    const o = RING_GET_REQUEST(r, slot);
    const gref = v.getUint32(o + 4, true);
    this.metaId[m] = v.getUint16(o, true);
    this.metaLen[m] = len;
    if (src === null) nb.stepCost += Math.round(len * nb.costs.memcpy_byte_ns_x1000 / 1000);
    if (vif.rxCopy) {
      this.metaOff[m] = 0;
      const copy = this.rxCopy;
      let flags = GNTCOPY_dest_gref, su: number, sd = DOMID_SELF, so: number;
      if (src === null) {
        su = this.stagePage(copy.count);
        so = pageOff;
        skb.copyBits(pktOff, mem.bytes, su * XEN_PAGE_SIZE + so, len);
      } else if (bufferOf(src) === mem.buffer) {
        const abs = byteOffsetOf(src) + srcOff;
        const mfn = Math.floor(abs / XEN_PAGE_SIZE);
        so = abs & (XEN_PAGE_SIZE - 1);
        // `if (PageForeign(page))`: a page netback mapped from another guest's tx request is
        // copied from that guest's grant, without touching dom0's memory.
        const fd = nb.foreignDom[mfn]!;
        if (fd >= 0) { flags |= GNTCOPY_source_gref; su = nb.foreignRef[mfn]!; sd = fd; } else su = mfn;
      } else {
        // A buffer outside host memory (a plain skb head or frag) is staged in a dom0 frame.
        su = this.stagePage(copy.count);
        so = 0;
        copyBytes(mem.bytes, su * XEN_PAGE_SIZE, src, srcOff, len);
      }
      copy.push(flags, su, sd, so, gref, vif.domid, 0, len);
    } else {
      // Flip (check_mfn made sure the pool holds a frame for every piece).
      const mfn = this.mfn_list[--this.alloc_index]!;
      this.metaOff[m] = pageOff;
      skb.copyBits(pktOff, mem.bytes, mfn * XEN_PAGE_SIZE + pageOff, len);
      const n = this.nTransfer++;
      let t = this.rxTransfer[n];
      if (t === undefined) { t = { mfn: 0, domid: 0, ref: 0, status: 0 }; this.rxTransfer[n] = t; }
      t.mfn = mfn;
      t.domid = vif.domid;
      t.ref = gref;
      t.status = 0;
    }
  }

  /**
   * Sets up the grant ops of one packet: the frags first (slots after the head and the GSO
   * extra slot), the head last, then advances req_cons over all of them.
   * @models bronson/linux-2.6.18.8-ovz-xen drivers/xen/netback/netback.c netbk_gop_skb()
   */
  private netbk_gop_skb(vif: XenVif, skb: SkBuff, copied: boolean, nr: number, m0: number): void {
    const r = vif.queues[0]!.rx!;
    const slot0 = r.req_cons;
    // `extra = !!head_meta->frag.size + 1;`
    const extra = (skb.gsoSize !== 0 ? 1 : 0) + 1;
    const headLen = copied && skb.headLen > NETBK_COPY_SKB_HEADLEN ? NETBK_COPY_SKB_HEADLEN : skb.headLen;
    for (let i = 0; i < nr; i++) {
      const slot = (slot0 + i + extra) >>> 0;
      if (copied) {
        // netbk_copy_skb's frags: whole pages at offset 0, filled with the bytes after the head.
        const pktOff = headLen + i * XEN_PAGE_SIZE;
        const len = Math.min(XEN_PAGE_SIZE, skb.len - pktOff);
        this.netbk_gop_frag(vif, m0 + 1 + i, slot, null, 0, len, skb, pktOff, 0);
      } else {
        this.netbk_gop_frag(vif, m0 + 1 + i, slot, skb.fragPage[i]!, skb.fragOff[i]!, skb.fragLen[i]!, skb, 0, 0);
      }
    }
    // "This must occur at the end to ensure that we don't trash skb_shinfo until we're done."
    if (copied) this.netbk_gop_frag(vif, m0, slot0, null, 0, headLen, skb, 0, NETBK_COPY_SKB_HEAD_OFFSET);
    else this.netbk_gop_frag(vif, m0, slot0, skb.head, skb.data, headLen, skb, 0, 0);
    // `netif->rx.req_cons += nr_frags + extra;`
    r.req_cons = (slot0 + nr + extra) >>> 0;
  }

  /** The memory-squeeze timer fired: run the rx tasklet again. @models … netback.c net_alarm() */
  private net_alarm(): void {
    this.netTimer = -1;
    this.scheduleRx();
  }

  /**
   * The rx tasklet: place queued packets into their guests' posted buffers.
   * @models bronson/linux-2.6.18.8-ovz-xen drivers/xen/netback/netback.c net_rx_action() and netbk_check_gop()
   * @simplified the grant ops go to Xen as one hypercall per kind, not one multicall; a
   *   GNTTABOP_transfer refused as a whole (-EOPNOTSUPP) fails every transfer op (2.6.18 does not
   *   look at the multicall result and reads the stale status fields).
   */
  private net_rx_action(): void {
    const nb = this.nb;
    const tpOn = nb.tpStep.on;
    const copy = this.rxCopy;
    copy.reset();
    this.nTransfer = 0;
    let count = 0;
    let npk = 0;
    let nmeta = 0;
    while (this.rx_queue.length > 0) {
      const skb = this.rx_queue.peek()!;
      const copied = this.rx_queue.peekAux() !== 0;
      const vif = this.rxQueueVif[0]!;
      const q = vif.queues[0];
      if (q === undefined || q.rx === null || !vif.connected) {
        this.rx_queue.shift();
        this.rxQueueVif.shift();
        vif.dropGuestRx(skb, 'not_connected');
        continue;
      }
      const nr = copied ? this.netbk_copy_skb_frags(skb) : skb.nrFrags;
      // `if (!copying_receiver && check_mfn(nr_frags + 1))`: "Memory squeeze in netback driver."
      // The skb goes back to the head of the queue and the tasklet retries in a second.
      if (!vif.rxCopy && this.check_mfn(nr + 1) !== 0) {
        if (this.netTimer >= 0) nb.sim.cancel(this.netTimer);
        this.netTimer = nb.sim.after(HZ_NS, this.hNetAlarm);
        this.rxSqueezes++;
        break;
      }
      this.rx_queue.shift();
      this.rxQueueVif.shift();
      if (tpOn) nb.step(skb.id, 'net_rx_action', 0, vif.name);
      const r = q.rx;
      const k = npk++;
      this.pkSkb[k] = skb;
      this.pkVif[k] = vif;
      this.pkSlot0[k] = r.req_cons;
      this.pkNr[k] = nr;
      this.pkMeta0[k] = nmeta;
      this.pkOp0[k] = vif.rxCopy ? copy.count : this.nTransfer;
      this.netbk_gop_skb(vif, skb, copied, nr, nmeta);
      nmeta += nr + 1;
      const nslots = (r.req_cons - this.pkSlot0[k]!) >>> 0;
      if (tpOn) nb.step(skb.id, 'netbk_gop_skb', nb.costs.rx_skb_ns, `${nslots} slot(s), ${vif.rxCopy ? 'copy' : 'flip'}`);
      nb.stepCost += nb.costs.rx_skb_ns;
      // `count += nr_frags + 1;` (the GSO extra slot is not counted)
      count += nr + 1;
      // "Filled the batch queue?"
      if (count + CLASSIC_MAX_SKB_FRAGS >= NET_RX_RING_SIZE) break;
    }
    if (npk === 0) return;
    const nTransfer = this.nTransfer;
    let hcCost = 0;
    if (copy.count > 0) hcCost += nb.hv.copy(copy, copy.count);
    let transferFailed = false;
    if (nTransfer > 0) {
      const rc = nb.hv.transfer(this.rxTransfer, nTransfer);
      if (rc < 0) transferFailed = true; else hcCost += rc;
    }
    nb.stepCost += hcCost;
    const runVifs = this.runRxVifs;
    runVifs.length = 0;
    let errors = 0;
    for (let k = 0; k < npk; k++) {
      const skb = this.pkSkb[k]!;
      const vif = this.pkVif[k]!;
      this.pkSkb[k] = null;
      this.pkVif[k] = null;
      const st = this.rxState.get(vif);
      const q = vif.queues[0]!;
      const r = q.rx!;
      const v = r.sring.view;
      const nr = this.pkNr[k]!;
      const m0 = this.pkMeta0[k]!;
      const op0 = this.pkOp0[k]!;
      vif.stats.tx_bytes += skb.len;
      vif.stats.tx_packets++;
      // netbk_check_gop(): any failed op makes every response of the packet NETIF_RSP_ERROR.
      let ok = true;
      for (let i = 0; i <= nr; i++) {
        const s = vif.rxCopy ? copy.status(op0 + i) : (transferFailed ? -1 : this.rxTransfer[op0 + i]!.status);
        if (s !== GNTST_okay) ok = false;
      }
      if (vif.rxCopy) { vif.counters.rx_copy_ops += nr + 1; if (!ok) vif.counters.rx_copy_errors++; }
      else vif.counters.rx_transfer_ops += nr + 1;
      if (!ok) errors++;
      if (tpOn) {
        nb.step(skb.id, vif.rxCopy ? 'gnttab_copy' : 'gnttab_transfer', hypercallShare(hcCost, npk, k), `${vif.rxCopy ? copy.count : nTransfer} op(s) in the multicall`, 'xen');
        nb.step(skb.id, 'netbk_check_gop', 0, ok ? 'ok' : 'error');
      }
      // make_rx_response(): `resp->status = (s16)size; if (st < 0) resp->status = (s16)st;`
      let flags = nr !== 0 ? NETRXF_more_data : 0;
      // `if (skb->ip_summed == CHECKSUM_HW) /* local packet? */
      //          flags |= NETRXF_csum_blank | NETRXF_data_validated;
      //  else if (skb->proto_data_valid) /* remote but checksummed? */
      //          flags |= NETRXF_data_validated;`
      if (skb.ipSummed === CHECKSUM_PARTIAL) flags |= NETRXF_csum_blank | NETRXF_data_validated;
      else if (skb.protoDataValid) flags |= NETRXF_data_validated;
      if (this.tpRxCsum.on) {
        this.tpRxCsum.emit({ vif: vif.name, pkt: skb.id, ipSummed: skb.ipSummed, protoDataValid: skb.protoDataValid, rxFlags: flags & (NETRXF_csum_blank | NETRXF_data_validated) });
      }
      if (skb.gsoSize !== 0) flags |= NETRXF_extra_info;
      let idx = r.rsp_prod_pvt;
      const slot0 = idx;
      writeRxResponse(v, RING_GET_RESPONSE(r, idx), this.metaId[m0]!, this.metaOff[m0]!, flags, ok ? this.metaLen[m0]! : NETIF_RSP_ERROR);
      q.rxWalk[idx & 255] = skb.id;
      q.rxBorn[idx & 255] = skb.bornAt;
      idx = (idx + 1) >>> 0;
      if (skb.gsoSize !== 0) {
        // One GSO extra: size, type TCPV4 (whatever the skb's gso_type), pad 0, features 0, flags 0.
        writeExtraGso(v, RING_GET_RESPONSE(r, idx), 0, skb.gsoSize, XEN_NETIF_GSO_TYPE_TCPV4, 0);
        q.rxWalk[idx & 255] = skb.id;
        idx = (idx + 1) >>> 0;
      }
      // netbk_add_frag_responses(): more_data on all but the last.
      for (let i = 0; i < nr; i++) {
        const m = m0 + 1 + i;
        writeRxResponse(v, RING_GET_RESPONSE(r, idx), this.metaId[m]!, this.metaOff[m]!, i === nr - 1 ? 0 : NETRXF_more_data, ok ? this.metaLen[m]! : NETIF_RSP_ERROR);
        q.rxWalk[idx & 255] = skb.id;
        idx = (idx + 1) >>> 0;
      }
      r.rsp_prod_pvt = idx;
      const nslots = (idx - slot0) >>> 0;
      vif.counters.rx_responses += nslots;
      if (tpOn) nb.step(skb.id, 'make_rx_response', 0, ok ? `${nslots} response(s)` : 'NETIF_RSP_ERROR');
      // RING_PUSH_RESPONSES_AND_CHECK_NOTIFY per packet; the irq goes on notify_list once.
      const notify = RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(r);
      if (st !== undefined) {
        if (st.runMark !== this.rxRunNo) { st.runMark = this.rxRunNo; st.runNotify = false; st.runSkbs = 0; runVifs.push(vif); }
        st.runSkbs++;
        if (notify) st.runNotify = true;
      }
      // `if (netif_queue_stopped(netif->dev) && netif_schedulable(netif) && !netbk_queue_full(netif))`
      if (vif.txStopped && vif.schedulable && !this.netbk_queue_full(vif)) vif.netif_wake_queue();
      nb.stack.pool.free(skb);
    }
    // notify_list: one notify_remote_via_irq per irq that asked for it.
    for (let i = 0; i < runVifs.length; i++) {
      const vif = runVifs[i]!;
      const st = this.rxState.get(vif)!;
      const q = vif.queues[0];
      if (st.runNotify && q !== undefined) { nb.notifyRemote(q.rxIrq); vif.counters.rx_notifies++; }
      vif.counters.rx_runs++;
      if (nb.tpRxBatch.on) nb.tpRxBatch.emit({ vif: vif.name, queue: 0, design: 'classic', skbs: st.runSkbs, slots: 0, copies: copy.count, transfers: nTransfer, errors, notify: st.runNotify, costNs: 0 });
    }
    runVifs.length = 0;
    this.rxRunNo++;
    // "More work to do?" — not while the memory-squeeze timer is pending.
    if (this.rx_queue.length > 0 && this.netTimer < 0) this.scheduleRx();
  }
}

/** Per-vif guest-receive state of the classic backend (fields of 2.6.18's netif_t). */
class ClassicRxState {
  /** Allow netif_be_start_xmit() to peek ahead in the rx request ring. */
  rx_req_cons_peek = 0;
  /** can_queue: the frontend wrote feature-rx-notify, so the queue may be stopped. */
  can_queue = true;
  /** tx_queue_timeout (pending event id, or -1). */
  timer = -1;
  /** Bookkeeping of the current net_rx_action run (the notify_list entry). */
  runMark = -1;
  runNotify = false;
  runSkbs = 0;
  constructor(readonly idx: number) {}
}

/** Classic vif start_xmit (dispatch from XenVif.ndo_start_xmit). */
export function netif_be_start_xmit(vif: XenVif, skb: SkBuff): NetdevTx {
  return vif.nb.classic.start_xmit(vif, skb);
}
