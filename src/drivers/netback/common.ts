/**
 * Per-queue state of a modern xen-netback vif (struct xenvif_queue in common.h), preallocated
 * once: the pending ring of free pending indices, pending_tx_info (the request of each in-flight
 * slot), the mapped page and grant handle per pending index, the dealloc ring, the grant op
 * arrays of one NAPI poll, the guest-receive queue and its grant-copy batch.
 *
 *   pending_ring[256]   free pending indices; in use = 256 - (pending_prod - pending_cons)
 *   pending_tx_info[i]  {req (gref, offset, flags, id, size), extra_count, callback ctx}
 *   mmap_pages[i]       the guest frame mapped for slot i (Uint8Array over machine memory)
 *   dealloc_ring[256]   pending indices dom0 has finished with (zerocopy callback → dealloc)
 *
 * @models torvalds/linux drivers/net/xen-netback/common.h struct xenvif_queue
 * @simplified no spinlocks (single-threaded model); one NAPI per queue; the tx header copy lands
 *   in a dom0 staging page and is then moved into the skb (skb->data is not a machine frame here).
 */
import { GnttabCopyBatch, type GnttabMapGrantRef, type GnttabUnmapGrantRef } from '../../xen/grant_table';
import type { BackRing } from '../../io/ring';
import type { SkBuff, SkbDestructor } from '../../net/skb';
import type { XenVif } from './interface';
import { jiffyNs } from '../../sim/units';

export const MAX_PENDING_REQS = 256;
export const NETBACK_INVALID_HANDLE = -1;
export const INVALID_PENDING_IDX = 0xffff;
/** XEN_NETBK_LEGACY_SLOTS_MAX: the historical MAX_SKB_FRAGS (18). */
export const XEN_NETBK_LEGACY_SLOTS_MAX = 18;
/** XEN_NETBACK_TX_COPY_LEN: bytes of the first slot copied into the linear area. */
export const XEN_NETBACK_TX_COPY_LEN = 128;
/** RX_BATCH_SIZE / COPY_BATCH_SIZE of rx.c / common.h. */
export const RX_BATCH_SIZE = 64;
export const COPY_BATCH_SIZE = 64;
/** MAX_XEN_SKB_FRAGS = 65536 / XEN_PAGE_SIZE + 1. */
export const MAX_XEN_SKB_FRAGS = 17;
/** XEN_NETBK_MCAST_MAX. */
export const XEN_NETBK_MCAST_MAX = 64;
export const ETH_HLEN = 14;

/** A FIFO of skbs (sk_buff_head) on a growable ring buffer; allocation-free in steady state. */
export class SkbQueue {
  private buf: (SkBuff | null)[];
  /** A number stored beside each skb (expiry time for the guest-rx queue). */
  private aux: Float64Array;
  private head = 0;
  length = 0;

  constructor(capacity = 64) {
    this.buf = new Array<SkBuff | null>(capacity).fill(null);
    this.aux = new Float64Array(capacity);
  }

  push(skb: SkBuff, aux = 0): void {
    if (this.length === this.buf.length) this.grow();
    const i = (this.head + this.length) % this.buf.length;
    this.buf[i] = skb;
    this.aux[i] = aux;
    this.length++;
  }

  peek(): SkBuff | null {
    return this.length === 0 ? null : this.buf[this.head]!;
  }

  peekAux(): number {
    return this.aux[this.head]!;
  }

  shift(): SkBuff | null {
    if (this.length === 0) return null;
    const skb = this.buf[this.head]!;
    this.buf[this.head] = null;
    this.head = (this.head + 1) % this.buf.length;
    this.length--;
    return skb;
  }

  private grow(): void {
    const n = this.buf.length * 2;
    const nb = new Array<SkBuff | null>(n).fill(null);
    const na = new Float64Array(n);
    for (let k = 0; k < this.length; k++) {
      const i = (this.head + k) % this.buf.length;
      nb[k] = this.buf[i]!;
      na[k] = this.aux[i]!;
    }
    this.buf = nb;
    this.aux = na;
    this.head = 0;
  }
}

/** Preallocated map ops (struct gnttab_map_grant_ref[]), reused poll after poll. */
export function makeMapOps(n: number): GnttabMapGrantRef[] {
  const a: GnttabMapGrantRef[] = [];
  for (let i = 0; i < n; i++) a.push({ host_addr: 0, flags: 0, ref: 0, dom: 0, status: 0, handle: -1, dev_bus_addr: 0 });
  return a;
}

export function makeUnmapOps(n: number): GnttabUnmapGrantRef[] {
  const a: GnttabUnmapGrantRef[] = [];
  for (let i = 0; i < n; i++) a.push({ host_addr: 0, dev_bus_addr: 0, handle: -1, status: 0 });
  return a;
}

/** The start of the jiffy `now` falls in (jiffies, in ns). */
export function jiffyFloor(now: number, hz: number): number {
  const j = jiffyNs(hz, 'bridge.hz:');
  return Math.floor(now / j) * j;
}

/**
 * Length in ns of a credit window of `usec` µs as both netbacks compute it:
 * `msecs_to_jiffies(credit_usec / 1000)` jiffies — whole milliseconds rounded up to whole jiffies,
 * so at HZ 250 a 1 ms window lasts 4 ms, and a window under 1 ms is 0 (credit at every check).
 * @models linux include/linux/jiffies.h msecs_to_jiffies() (HZ ≤ 1000: ceil(ms × HZ / 1000))
 */
export function creditWindowNs(usec: number, hz: number): number {
  const ms = Math.floor(usec / 1000);
  return Math.ceil((ms * hz) / 1000) * jiffyNs(hz, 'bridge.hz:');
}


/**
 * The credit check before a request of `size` bytes over the remaining credit is taken: when the
 * window has ended, a new one starts now (on a jiffy boundary) with `addCredit`'s credit; if that
 * is still too little — or credit_timeout is already pending — the request waits, credit_timeout
 * is armed for the window's end and that becomes the next window's start. True: wait. The same
 * code in both designs; only tx_add_credit differs (2.6.18 caps the credit at one window or
 * packet, later netbacks allow a 128 KiB burst).
 * @models torvalds/linux drivers/net/xen-netback/netback.c tx_credit_exceeded();
 *   bronson/linux-2.6.18.8-ovz-xen drivers/xen/netback/netback.c net_tx_action() ("Credit-based scheduling")
 */
export function tx_credit_exceeded(q: XenvifQueue, size: number, addCredit: (q: XenvifQueue) => void): boolean {
  const nb = q.vif.nb;
  const now = nb.sim.now;
  const nextCredit = q.credit_window_start + creditWindowNs(q.credit_usec, nb.hz);
  // Timer could already be pending in rare cases.
  if (q.creditTimerPending) {
    q.rate_limited = true;
    return true;
  }
  // Passed the point where we can replenish credit?
  if (now >= nextCredit) {
    q.credit_window_start = jiffyFloor(now, nb.hz);
    addCredit(q);
  }
  // Still too big to send right now? Set a callback.
  if (size > q.remaining_credit) {
    nb.armCreditTimer(q, nextCredit);
    q.credit_window_start = nextCredit; // (2.6.18: __mod_timer sets credit_timeout.expires)
    q.rate_limited = true;
    return true;
  }
  return false;
}

/**
 * One queue of a modern vif. Built by XenVif; driven by modern/netback.ts (guest transmit) and
 * modern/rx.ts (guest receive).
 */
export class XenvifQueue implements SkbDestructor {
  /** Host-wide queue number (the argument of this queue's scheduled events). */
  uid = 0;
  /**
   * queue->stats: this queue's share of the vif's counters (dom0's view: rx = from the guest);
   * xenvif_get_stats sums them into the vif's.
   */
  readonly stats = { rx_packets: 0, rx_bytes: 0, tx_packets: 0, tx_bytes: 0 };
  // ---- rings and event channels --------------------------------------------------------
  tx: BackRing | null = null;
  rx: BackRing | null = null;
  /** Mapped ring frames and their grant handles. */
  txRingMfn = -1;
  rxRingMfn = -1;
  txRingHandle = -1;
  rxRingHandle = -1;
  /** Packet-walk side tables of the two rings (see walk-ids.ts). */
  txWalk: Uint32Array = new Uint32Array(256);
  rxWalk: Uint32Array = new Uint32Array(256);
  /** Birth times (skb.bornAt) beside them (src/net/walk.ts ringPageWalkBorn). */
  txBorn: Float64Array = new Float64Array(256);
  rxBorn: Float64Array = new Float64Array(256);
  txIrq = 0;
  rxIrq = 0;

  // ---- guest transmit ------------------------------------------------------------------
  readonly pending_ring = new Uint16Array(MAX_PENDING_REQS);
  pending_prod = MAX_PENDING_REQS;
  pending_cons = 0;
  /** pending_tx_info[].req */
  readonly ptGref = new Uint32Array(MAX_PENDING_REQS);
  readonly ptOffset = new Uint16Array(MAX_PENDING_REQS);
  readonly ptFlags = new Uint16Array(MAX_PENDING_REQS);
  readonly ptId = new Uint16Array(MAX_PENDING_REQS);
  readonly ptSize = new Uint16Array(MAX_PENDING_REQS);
  readonly ptExtraCount = new Uint8Array(MAX_PENDING_REQS);
  /** Packet id of the slot (walk only). */
  readonly ptPkt = new Uint32Array(MAX_PENDING_REQS);
  /** callback_struct.ctx: next pending index of the same skb (ubuf chain), or INVALID_PENDING_IDX. */
  readonly ptCtx = new Uint16Array(MAX_PENDING_REQS).fill(INVALID_PENDING_IDX);
  /** mmap_pages[] and grant_tx_handle[]. */
  readonly mmapPage: (Uint8Array | null)[] = new Array<Uint8Array | null>(MAX_PENDING_REQS).fill(null);
  readonly mmapMfn = new Int32Array(MAX_PENDING_REQS).fill(-1);
  readonly grantTxHandle = new Int32Array(MAX_PENDING_REQS).fill(NETBACK_INVALID_HANDLE);
  readonly dealloc_ring = new Uint16Array(MAX_PENDING_REQS);
  dealloc_prod = 0;
  dealloc_cons = 0;
  /** tx_copy_ops[] and tx_map_ops[] of one poll; tx_unmap_ops[] of one dealloc run. */
  readonly txCopyOps = new GnttabCopyBatch(MAX_PENDING_REQS);
  readonly txMapOps = makeMapOps(MAX_PENDING_REQS);
  readonly txUnmapOps = makeUnmapOps(MAX_PENDING_REQS);
  readonly pendingIdxRelease = new Uint16Array(MAX_PENDING_REQS);
  /** copy_pending_idx per copy op of the poll (XENVIF_TX_CB(skb)->copy_pending_idx, flattened). */
  readonly txCopyPending = new Uint16Array(MAX_PENDING_REQS);
  /** tx_queue of one poll: the skbs built, their copy ops (first, count), sizes and landing spot. */
  readonly txSkbs: (SkBuff | null)[] = new Array<SkBuff | null>(MAX_PENDING_REQS).fill(null);
  readonly txSkbCopyBase = new Uint16Array(MAX_PENDING_REQS);
  /** copy_count(skb): header copy ops of the skb (one per slot the first data_len bytes touch). */
  readonly txSkbCopyCount = new Uint8Array(MAX_PENDING_REQS);
  /** data_len: bytes copied into the linear area. */
  readonly txSkbDataLen = new Uint16Array(MAX_PENDING_REQS);
  /** The first request's size field (the packet's total length). */
  readonly txSkbSize = new Uint16Array(MAX_PENDING_REQS);
  readonly txSkbNrFrags = new Uint8Array(MAX_PENDING_REQS);
  /** frags' pending indices per skb of the poll: [skb * 18 + i]. */
  readonly txSkbFrags = new Uint16Array(MAX_PENDING_REQS * XEN_NETBK_LEGACY_SLOTS_MAX);
  readonly txSkbLandMfn = new Int32Array(MAX_PENDING_REQS);
  readonly txSkbLandOff = new Uint16Array(MAX_PENDING_REQS);
  txSkbCount = 0;
  /** Dom0 staging frames for header copies: 32 x 128-byte spots per frame, plus whole-slot frames. */
  landSmall: number[] = [];
  landBig: number[] = [];
  landBigUsed = 0;
  /** Base of this queue's opaque host_addr cookies (idx_to_kaddr). */
  kaddrBase = 0;
  // credit scheduling
  credit_bytes = Number.MAX_SAFE_INTEGER;
  credit_usec = 0;
  remaining_credit = Number.MAX_SAFE_INTEGER;
  credit_window_start = 0;
  creditTimerPending = false;
  /** The simulator event of the pending credit_timeout (-1: none). */
  creditTimerId = -1;
  rate_limited = false;
  napiScheduled = false;
  deallocScheduled = false;

  // ---- guest receive -------------------------------------------------------------------
  readonly rx_queue = new SkbQueue(64);
  rx_queue_len = 0;
  rx_queue_max = 0;
  /** Slots the head of rx_queue needs; 0 while the queue is empty (kzalloc'd, as in Linux). */
  rx_slots_needed = 0;
  stalled = false;
  last_rx_time = 0;
  readonly rxCopy = new GnttabCopyBatch(COPY_BATCH_SIZE);
  /** rx_copy.idx[]: the ring index whose response an op belongs to. */
  readonly rxCopyIdx = new Uint32Array(COPY_BATCH_SIZE);
  /** Staging frames for copy sources that are not machine frames (skb linear areas). */
  readonly rxStageMfn = new Int32Array(COPY_BATCH_SIZE).fill(-1);
  readonly rxCompleted = new SkbQueue(RX_BATCH_SIZE);
  kthreadScheduled = false;
  kthreadStopped = false;
  /** The guest-rx kthread has run its first lines (kthread_run at connect). */
  kthreadStarted = false;
  /**
   * Since when the guest-rx / dealloc kthread has been runnable without a turn of its own (-1:
   * asleep, or it last ran on an idle CPU), and the CPU it used since (NetbackDriver threadTurn).
   */
  rxWaitSince = -1;
  rxWaitCpuNs = 0;
  deallocWaitSince = -1;
  deallocWaitCpuNs = 0;
  rxTimerId = -1;
  rxTimerAt = 0;
  /** One packet's extras being placed: [type-1] -> present, with GSO/hash fields. */
  readonly rxExtraType = new Uint8Array(5);
  readonly rxExtraA = new Uint32Array(5);
  readonly rxExtraB = new Uint32Array(5);

  /**
   * @models torvalds/linux drivers/net/xen-netback/interface.c xenvif_init_queue() (the credit
   *   window starts when the queue is set up: credit_window_start = get_jiffies_64())
   */
  constructor(readonly vif: XenVif, readonly id: number) {
    for (let i = 0; i < MAX_PENDING_REQS; i++) this.pending_ring[i] = i;
    this.credit_window_start = jiffyFloor(vif.nb.sim.now, vif.nb.hz);
  }

  /** Pending indices in use (nr_pending_reqs). */
  get nrPendingReqs(): number {
    return MAX_PENDING_REQS - ((this.pending_prod - this.pending_cons) >>> 0);
  }

  /** skb destructor: modern xenvif_zerocopy_callback (see modern/netback.ts). */
  skbFreed(skb: SkBuff): void {
    this.vif.nb.modernZerocopyCallback(this, skb);
  }
}

/** NetbackDriver.threadTurn's answers: wait (re-queued), run on an idle CPU, run on its share. */
export const THREAD_WAIT = 0;
export const THREAD_IDLE = 1;
export const THREAD_SHARE = 2;

/**
 * One packet's share (ns) of a batched hypercall that cost `costNs` for `packets` packets, for
 * its 'xen' step: the shares of a batch add up to its cost (the last packet takes the rounding).
 */
export function hypercallShare(costNs: number, packets: number, k: number): number {
  if (packets <= 0) return 0;
  const each = Math.floor(costNs / packets);
  return k === packets - 1 ? costNs - each * (packets - 1) : each;
}
