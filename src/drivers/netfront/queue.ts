/**
 * One netfront queue (Linux `struct netfront_queue`): a tx ring and an rx ring with their
 * bookkeeping, grant pools and event channels.
 *
 * TX bookkeeping is by request id (0..255): `tx_skbs[id]`, `grant_tx_ref[id]`, `grant_tx_page[id]`
 * and the `tx_link[]` free list whose entries are the next free id, TX_LINK_NONE (0xffff, in use or
 * end of list) or TX_PENDING (0xfffe, published and awaiting its response). RX bookkeeping is by
 * ring index (`idx & 255`, which is also the request id netfront writes).
 *
 *   tx_link: free list   0 -> 1 -> ... -> 255 -> NONE    (initially)
 *   id life:  free --get_id_from_list--> NONE (on tx_pend_queue) --xennet_mark_tx_pending--> PENDING
 *             --response in xennet_tx_buf_gc--> NONE --add_id_to_list--> free
 *
 * @models torvalds/linux drivers/net/xen-netfront.c struct netfront_queue, xennet_init_queue()
 * @simplified an skb with several tx requests is reference-counted through a small packet table
 *   (`txPkt*`) instead of skb_get()/users; rx buffers are pages (`rx_pfn[]`) and the receive skb is
 *   allocated when its response is processed, not at refill.
 */
import type { SkBuff, SkbDestructor } from '../../net/skb';
import type { GroLists } from '../../net/gro';
import type { FrontRing, SharedRing } from '../../io/ring';
import { INVALID_GRANT_REF, NET_RX_RING_SIZE, NET_TX_RING_SIZE, RX_DFL_MIN_TARGET, TX_LINK_NONE } from './constants';
import { GuestPagePool } from './pages';
import type { GrantRefPool } from './xen-port';
import type { NetfrontInfo } from './info';

export class NetfrontQueue implements SkbDestructor {
  /** Queue index (0-based). */
  readonly id: number;
  /** "vif<handle>-q<id>" as Linux names it. */
  readonly name: string;

  // ---- event channels ---------------------------------------------------------------------
  tx_evtchn = 0;
  rx_evtchn = 0;

  // ---- transmit ---------------------------------------------------------------------------
  tx!: FrontRing;
  txSring!: SharedRing;
  tx_ring_ref = INVALID_GRANT_REF;
  tx_ring_pfn = -1;
  readonly tx_skbs: (SkBuff | null)[] = new Array<SkBuff | null>(NET_TX_RING_SIZE).fill(null);
  readonly tx_link = new Uint16Array(NET_TX_RING_SIZE);
  readonly grant_tx_ref = new Uint32Array(NET_TX_RING_SIZE).fill(INVALID_GRANT_REF);
  /** Pool pfn holding the bytes of request `id`, or -1 when the grant names the skb's own guest page. */
  readonly grant_tx_page = new Int32Array(NET_TX_RING_SIZE).fill(-1);
  tx_skb_freelist = 0;
  tx_pend_queue = TX_LINK_NONE;
  gref_tx_head: GrantRefPool | null = null;
  /** Packet table: skb and outstanding request count per in-flight packet (id -> packet via txPktOf). */
  readonly txPktOf = new Uint16Array(NET_TX_RING_SIZE);
  readonly txPktRefs = new Uint16Array(NET_TX_RING_SIZE);
  readonly txPktSkb: (SkBuff | null)[] = new Array<SkBuff | null>(NET_TX_RING_SIZE).fill(null);
  readonly txPktFree = new Uint16Array(NET_TX_RING_SIZE);
  readonly txPktIrqSeen = new Uint8Array(NET_TX_RING_SIZE);
  txPktTop = 0;
  txPages!: GuestPagePool;
  /**
   * Packet id (skb.id) of the packet occupying each tx ring slot, for the packet walk: the backend
   * model reads it so that one packet keeps one id across domains (see src/net/walk.ts;
   * setup_netfront points it at the ring page's shared side table).
   */
  txSlotPkt: Uint32Array = new Uint32Array(NET_TX_RING_SIZE);
  /** Packet id the backend gave the packet in each rx ring slot (the rx ring page's side table). */
  rxSlotPkt: Uint32Array = new Uint32Array(NET_RX_RING_SIZE);
  /** Birth times (skb.bornAt) beside the ids (src/net/walk.ts ringPageWalkBorn). */
  txSlotBorn: Float64Array = new Float64Array(NET_TX_RING_SIZE);
  rxSlotBorn: Float64Array = new Float64Array(NET_RX_RING_SIZE);

  // ---- receive ----------------------------------------------------------------------------
  rx!: FrontRing;
  rxSring!: SharedRing;
  rx_ring_ref = INVALID_GRANT_REF;
  rx_ring_pfn = -1;
  /** Guest pfn of the buffer posted in each rx slot, or -1. */
  readonly rx_pfn = new Int32Array(NET_RX_RING_SIZE).fill(-1);
  readonly grant_rx_ref = new Uint32Array(NET_RX_RING_SIZE).fill(INVALID_GRANT_REF);
  gref_rx_head: GrantRefPool | null = null;
  rx_rsp_unconsumed = 0;
  /**
   * The interrupt handler's `unsigned int eoiflag` (XEN_EOI_FLAG_SPURIOUS until xennet_handle_tx /
   * xennet_handle_rx find new work and clear it through their `*eoi` argument), kept here so the
   * handlers pass no pointer and allocate nothing.
   */
  eoiflag = 0;
  rxPages!: GuestPagePool;
  /** The refill timer is armed (event id in `refillTimer`). */
  refillArmed = false;
  refillTimer = 0;
  /** NAPI_STATE_SCHED. */
  napiScheduled = false;
  /** 2.6.18: adaptive fill target and the buffers allocated but not yet posted (rx_batch). */
  rx_target = RX_DFL_MIN_TARGET;
  rx_batch = 0;

  // ---- per-poll scratch (no allocation per packet) ----------------------------------------
  /** The data slots of the packet being collected by xennet_get_responses: pfn, offset, status. */
  readonly tmpPfn = new Int32Array(NET_RX_RING_SIZE);
  readonly tmpOff = new Uint16Array(NET_RX_RING_SIZE);
  readonly tmpLen = new Int32Array(NET_RX_RING_SIZE);
  tmpN = 0;
  /** The first response of the packet (RING_COPY_RESPONSE into rinfo.rx). */
  rxId = 0;
  rxOffset = 0;
  rxFlags = 0;
  rxStatus = 0;
  /** The GSO extra of the packet, if any (rinfo.extras[GSO - 1]). */
  gsoExtraType = 0;
  gsoExtraSize = 0;
  gsoExtraGsoType = 0;
  /** The XDP extra of the packet, if any (rinfo.extras[XDP - 1]): its headroom becomes rx->offset. */
  xdpExtraType = 0;
  xdpExtraHeadroom = 0;
  /** Why the last packet failed (a drop reason). */
  rxErrReason = '';
  /** Skbs built by this poll, delivered by handle_incoming_queue (the rxq). */
  readonly rxq: (SkBuff | null)[] = new Array<SkBuff | null>(NET_RX_RING_SIZE).fill(null);
  rxqN = 0;
  /** The queue's NAPI GRO lists (napi->gro_hash), created by the guest stack's first napi_gro_receive. */
  gro: GroLists | null = null;
  /** Scratch for flip-mode page release. */
  readonly flipPfns = new Int32Array(NET_RX_RING_SIZE);

  constructor(readonly info: NetfrontInfo, id: number, handle: string) {
    this.id = id;
    this.name = `vif${handle}-q${id}`;
    // Initialise tx_skb_freelist as a free chain containing every entry.
    for (let i = 0; i < NET_TX_RING_SIZE; i++) this.tx_link[i] = i + 1;
    this.tx_link[NET_TX_RING_SIZE - 1] = TX_LINK_NONE;
    for (let i = NET_TX_RING_SIZE - 1; i >= 0; i--) this.txPktFree[this.txPktTop++] = i;
  }

  /** Requests published or being built and not yet answered: req_prod_pvt - rsp_cons. */
  get txOutstanding(): number {
    return (this.tx.req_prod_pvt - this.tx.rsp_cons) >>> 0;
  }

  /** Rx buffers posted (written) and not yet answered. */
  get rxOutstanding(): number {
    return (this.rx.req_prod_pvt - this.rx.rsp_cons) >>> 0;
  }

  /**
   * skb destructor for received skbs: the pages of their frags go back to the rx page pool, as
   * page_pool recycling does when the stack frees the skb.
   */
  skbFreed(skb: SkBuff): void {
    const xen = this.info.xen;
    for (let i = 0; i < skb.nrFrags; i++) {
      const page = skb.fragPage[i];
      if (page === null || page === undefined) continue;
      const pfn = xen.pfnOfView(page, 0);
      if (this.rxPages.owns(pfn)) this.rxPages.push(pfn);
    }
  }
}

/** add_id_to_list() */
export function add_id_to_list(q: NetfrontQueue, which: 'free' | 'pend', id: number): void {
  if (which === 'free') {
    q.tx_link[id] = q.tx_skb_freelist;
    q.tx_skb_freelist = id;
  } else {
    q.tx_link[id] = q.tx_pend_queue;
    q.tx_pend_queue = id;
  }
}

/** get_id_from_list(): the head id (TX_LINK_NONE when empty), unlinked and marked TX_LINK_NONE. */
export function get_id_from_list(q: NetfrontQueue, which: 'free' | 'pend'): number {
  const id = which === 'free' ? q.tx_skb_freelist : q.tx_pend_queue;
  if (id !== TX_LINK_NONE) {
    if (which === 'free') q.tx_skb_freelist = q.tx_link[id]!;
    else q.tx_pend_queue = q.tx_link[id]!;
    q.tx_link[id] = TX_LINK_NONE;
  }
  return id;
}
