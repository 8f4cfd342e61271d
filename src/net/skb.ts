/**
 * The socket buffer (Linux `struct sk_buff`), reduced to what the Xen network path uses.
 *
 *   head ┌──────────┬───────────────────────────┬──────────┐
 *        │ headroom │ linear data (headLen)     │ tailroom │      frags[0..nrFrags-1]
 *        └──────────┴───────────────────────────┴──────────┘      page + offset + length each,
 *                   ^ data                                         e.g. a guest page mapped by netback
 *   len = headLen + Σ fragLen   (skb->len; skb_headlen() = headLen; skb->data_len = len - headLen)
 *
 * Checksum state follows Linux exactly: `ipSummed` is CHECKSUM_NONE / UNNECESSARY / COMPLETE /
 * PARTIAL, and for PARTIAL `csumStart` (from the start of the packet) and `csumOffset` (from
 * csumStart) say where the checksum that still has to be finished lives. GSO: `gsoSize` (MSS),
 * `gsoType` (SKB_GSO_* bits), `gsoSegs`.
 *
 * skbs come from a per-host `SkbPool` and go back to it with `kfree_skb` / `consume_skb`, so the
 * hot path allocates nothing. A pool may take its skb heads from a head allocator (`withHeads`):
 * the host builder gives each guest a pool whose heads are guest pages, so that netfront can grant
 * an skb's own page as Linux does (virt_to_gfn(skb->data)) instead of copying it first. The destructor hook models both `skb->destructor` and the zero-copy
 * `ubuf_info` callback netback uses to learn that dom0 has finished with a guest's mapped pages.
 *
 * @models linux include/linux/skbuff.h struct sk_buff
 * @simplified no shared info / clones: a flood makes a copy (skb_copy) rather than a clone; a
 *   frag references a page by its bytes (Uint8Array of exactly one 4 KiB page) instead of a struct page.
 */

/** Linux `CHECKSUM_*` values (include/linux/skbuff.h). */
export const CHECKSUM_NONE = 0;
import { copyBytes } from '../wire/copy';
import { taggedBytes } from '../wire/views';
export const CHECKSUM_UNNECESSARY = 1;
export const CHECKSUM_COMPLETE = 2;
export const CHECKSUM_PARTIAL = 3;
export type IpSummed = typeof CHECKSUM_NONE | typeof CHECKSUM_UNNECESSARY | typeof CHECKSUM_COMPLETE | typeof CHECKSUM_PARTIAL;

/** Linux `SKB_GSO_*` bits (include/linux/skbuff.h). */
export const SKB_GSO_TCPV4 = 1 << 0;
export const SKB_GSO_DODGY = 1 << 1;
export const SKB_GSO_TCP_ECN = 1 << 2;
/** The IPv4 id stays fixed across the segments (a GRO packet of atomic datagrams). */
export const SKB_GSO_TCP_FIXEDID = 1 << 3;
export const SKB_GSO_TCPV6 = 1 << 4;

/** MAX_SKB_FRAGS with 4 KiB pages in current kernels (CONFIG_MAX_SKB_FRAGS default). */
export const MAX_SKB_FRAGS = 17;
/**
 * Fragments a GRO packet may hold (./gro): MAX_SKB_FRAGS page fragments and, past them, the
 * segments Linux chains on the frag_list, here one list. 64 KiB of 1448-byte segments is 46.
 */
export const GRO_MAX_FRAGS = 48;
/**
 * Fragments an skb has room for: a GRO packet's GRO_MAX_FRAGS. Everything else stops at
 * MAX_SKB_FRAGS (the default limit of `addFrag`), or 2.6.18's 18 for a classic netback's skb.
 */
export const SKB_FRAGS_CAPACITY = GRO_MAX_FRAGS;
/** Initial size of the linear buffer: headroom + a full 1514-byte frame. It grows on demand
 * (a bounced 64 KiB GSO packet), rarely. */
export const SKB_LINEAR_CAPACITY = 2048;
/** NET_SKB_PAD-like headroom reserved at the front of every skb. */
export const SKB_HEADROOM = 64;

/** Who is told when an skb is freed (skb->destructor / ubuf_info->callback). */
export interface SkbDestructor {
  skbFreed(skb: SkBuff): void;
}

export class SkBuff {
  /** Unique per packet within a host: the id a packet walk follows. Copies keep the origin's id. */
  id = 0;
  /** Linear buffer (preallocated once per pooled skb; replaced by a larger one if `put` needs it). */
  head: Uint8Array;
  /** Offset of the first byte of packet data in `head`. */
  data = SKB_HEADROOM;
  /** Bytes of packet data in the linear area (skb_headlen). */
  headLen = 0;
  /** Total packet length (skb->len). */
  len = 0;
  nrFrags = 0;
  readonly fragPage: (Uint8Array | null)[] = new Array<Uint8Array | null>(SKB_FRAGS_CAPACITY).fill(null);
  readonly fragOff = new Int32Array(SKB_FRAGS_CAPACITY);
  readonly fragLen = new Int32Array(SKB_FRAGS_CAPACITY);
  ipSummed: IpSummed = CHECKSUM_NONE;
  /**
   * skb->proto_data_valid of the Xen-patched 2.6.18 kernels: the data is known good. Classic
   * netback sets it for NETTXF_data_validated / csum_blank requests, the Xen netif_receive_skb for
   * every CHECKSUM_UNNECESSARY packet (./xen-csum), and the classic backend's guest-receive side
   * flags such packets NETRXF_data_validated. Modern code never reads it.
   */
  protoDataValid = false;
  /**
   * skb->proto_csum_blank of the Xen-patched 2.6.18 kernels: the transport checksum field holds
   * only the pseudo-header sum (a NETTXF_csum_blank request). The Xen skb_checksum_setup turns it
   * into CHECKSUM_HW (CHECKSUM_PARTIAL) with the checksum's position and clears it. Modern code
   * never reads it.
   */
  protoCsumBlank = false;
  csumStart = 0;
  csumOffset = 0;
  gsoSize = 0;
  gsoType = 0;
  gsoSegs = 0;
  /** The device the skb was received on (skb->dev on rx) or is being sent by (on tx). */
  dev: NetDeviceRef | null = null;
  /** Virtual time the packet was created at its origin (for latency figures). */
  bornAt = 0;
  /** Queue index chosen for multi-queue devices (skb->queue_mapping). */
  queueMapping = 0;
  /** skb->hash: the flow hash (./flow-hash skb_get_hash), valid when swHash or l4Hash is set. */
  hash = 0;
  /** skb->sw_hash: `hash` was computed in software by the flow dissector. */
  swHash = false;
  /** skb->l4_hash: `hash` covers the transport ports. */
  l4Hash = false;
  destructor: SkbDestructor | null = null;
  /** A number the destructor owner uses to find its state (e.g. netback's pending_idx). */
  destructorArg = 0;
  /**
   * The segments whose buffers GRO took as fragments of this skb (NAPI_GRO_FREE_STOLEN_HEAD),
   * chained through their own `stolen`: freed with it.
   */
  stolen: SkBuff | null = null;
  /** @internal free-list link */
  inPool = false;
  /** @internal the pool the skb belongs to (it goes back there whichever pool frees it). */
  owner: SkbPool | null = null;
  /** The head came from a pool's head allocator (guest or host memory) and is kept across reuse. */
  readonly pinned: boolean;
  /** @internal a pinned head while `put` has replaced it with a larger plain buffer (restored by reset). */
  home: Uint8Array | null = null;

  /** `head`: a preallocated linear buffer of at least SKB_LINEAR_CAPACITY bytes (pinned), or none (a plain one). */
  constructor(head?: Uint8Array) {
    if (head === undefined) {
      this.head = taggedBytes(SKB_LINEAR_CAPACITY);
      this.pinned = false;
    } else {
      if (head.length < SKB_LINEAR_CAPACITY) {
        throw new RangeError(`SkBuff: head of ${head.length} bytes is not allowed; a head holds at least SKB_LINEAR_CAPACITY (${SKB_LINEAR_CAPACITY}) bytes`);
      }
      this.head = head;
      this.pinned = true;
    }
  }

  /** skb_headlen() */
  get linearLength(): number {
    return this.headLen;
  }

  /** skb->data_len: bytes held in fragments. */
  get dataLen(): number {
    return this.len - this.headLen;
  }

  /** skb_put(): extends the linear area by `n` bytes and returns the offset (in `head`) of the new bytes. */
  put(n: number): number {
    const at = this.data + this.headLen;
    if (n < 0 || at + n > 0x20000) {
      throw new RangeError(`skb_put: ${n} bytes is not allowed; the linear area holds at most ${0x20000 - this.data} bytes`);
    }
    if (at + n > this.head.length) {
      // A pinned head (guest/host memory) is kept for the skb's next use; the bigger one is plain.
      if (this.pinned && this.home === null) this.home = this.head;
      const bigger = taggedBytes(Math.max(at + n, this.head.length * 2));
      bigger.set(this.head);
      this.head = bigger;
    }
    this.headLen += n;
    this.len += n;
    return at;
  }

  /**
   * skb_add_rx_frag(): appends a page fragment; `maxFrags` is the kernel's MAX_SKB_FRAGS (17, or
   * 2.6.18's 18 for a classic netback's skb).
   */
  addFrag(page: Uint8Array, offset: number, size: number, maxFrags = MAX_SKB_FRAGS): void {
    if (this.nrFrags >= maxFrags || this.nrFrags >= SKB_FRAGS_CAPACITY) {
      throw new RangeError(`skb_add_rx_frag: already ${this.nrFrags} frags; MAX_SKB_FRAGS is ${maxFrags}`);
    }
    const i = this.nrFrags++;
    this.fragPage[i] = page;
    this.fragOff[i] = offset;
    this.fragLen[i] = size;
    this.len += size;
  }

  /**
   * skb_copy_bits(): copies `n` packet bytes starting at packet offset `off` into `dst` at
   * `dstOff`, across the linear area and the frags. Returns the bytes copied.
   */
  copyBits(off: number, dst: Uint8Array, dstOff: number, n: number): number {
    let copied = 0;
    if (off < this.headLen) {
      const take = Math.min(n, this.headLen - off);
      copyBytes(dst, dstOff, this.head, this.data + off, take);
      copied = take;
      off += take;
    }
    let fragStart = this.headLen;
    for (let i = 0; i < this.nrFrags && copied < n; i++) {
      const fl = this.fragLen[i]!;
      if (off < fragStart + fl) {
        const within = off - fragStart;
        const take = Math.min(n - copied, fl - within);
        const fo = this.fragOff[i]! + within;
        copyBytes(dst, dstOff + copied, this.fragPage[i]!, fo, take);
        copied += take;
        off += take;
      }
      fragStart += fl;
    }
    return copied;
  }

  /**
   * Keeps `seg` (whose buffer now backs one of this skb's fragments) until this skb is freed: a
   * GRO merge takes the segment's head as a fragment and frees only its sk_buff, here later.
   */
  stealSegment(seg: SkBuff): void {
    seg.stolen = this.stolen;
    this.stolen = seg;
  }

  /** The linear bytes as a view (no copy). */
  linear(): Uint8Array {
    return this.head.subarray(this.data, this.data + this.headLen);
  }

  /** Resets every field for reuse (called by the pool). */
  reset(): void {
    if (this.home !== null) {
      this.head = this.home;
      this.home = null;
    }
    this.id = 0;
    this.data = SKB_HEADROOM;
    this.headLen = 0;
    this.len = 0;
    for (let i = 0; i < this.nrFrags; i++) this.fragPage[i] = null;
    this.nrFrags = 0;
    this.ipSummed = CHECKSUM_NONE;
    this.protoDataValid = false;
    this.protoCsumBlank = false;
    this.csumStart = 0;
    this.csumOffset = 0;
    this.gsoSize = 0;
    this.gsoType = 0;
    this.gsoSegs = 0;
    this.dev = null;
    this.bornAt = 0;
    this.queueMapping = 0;
    this.hash = 0;
    this.swHash = false;
    this.l4Hash = false;
    this.destructor = null;
    this.destructorArg = 0;
  }
}

/** The minimum a skb needs to know about a device (avoids an import cycle with netdevice.ts). */
export interface NetDeviceRef {
  readonly name: string;
}

/**
 * Where a pool's skb heads come from: a buffer of at least SKB_LINEAR_CAPACITY bytes (e.g. a view
 * of a guest page), or null when the allocator has nothing left (the skb then gets a plain buffer).
 */
export type SkbHeadAllocator = () => Uint8Array | null;

/**
 * A pool of skbs for one host. `alloc` models __netdev_alloc_skb / alloc_skb; `free` models
 * kfree_skb (a drop) and consume_skb (normal completion) — both run the destructor first.
 */
export class SkbPool {
  private readonly free_: SkBuff[] = [];
  /** skbs currently out of the pool: a leak check for tests (every packet freed at the end). */
  outstanding = 0;
  allocated = 0;
  /** Packet id source, shared with the pools made by `withHeads` (ids stay unique across them). */
  private readonly ids: { next: number };
  private heads: SkbHeadAllocator | null;
  /**
   * The memory the allocator's heads live in (the ArrayBuffer of its first head; null before that
   * or without an allocator). Drivers that swap buffers with the wire (ixgbe) use it to keep
   * their buffers in that memory.
   */
  headBuffer: ArrayBufferLike | null = null;

  constructor(readonly limit = 1 << 20, heads: SkbHeadAllocator | null = null, ids?: { next: number }) {
    this.heads = heads;
    this.ids = ids ?? { next: 1 };
  }

  /**
   * Gives this pool a head allocator; only before its first skb (the host builder does this for
   * the simulator-wide pool of dom0 and the external host).
   */
  setHeads(heads: SkbHeadAllocator): void {
    if (typeof heads !== 'function') throw new Error(`SkbPool.setHeads: heads ${String(heads)} is not allowed; pass a function returning a Uint8Array or null`);
    if (this.heads !== null || this.allocated !== 0) {
      throw new Error(`SkbPool.setHeads: the pool already has ${this.heads !== null ? 'a head allocator' : `${this.allocated} skbs`}; set the allocator before the first alloc`);
    }
    this.heads = heads;
  }

  /**
   * One buffer from the head allocator for a driver's own use (a NIC's rx descriptor buffer), or
   * null without an allocator or when it has nothing left. It never comes back to the allocator.
   */
  newHead(): Uint8Array | null {
    if (this.heads === null) return null;
    const h = this.heads();
    if (h === null) return null;
    if (h.length < SKB_LINEAR_CAPACITY) {
      throw new RangeError(`SkbPool: head of ${h.length} bytes is not allowed; a head holds at least SKB_LINEAR_CAPACITY (${SKB_LINEAR_CAPACITY}) bytes`);
    }
    if (this.headBuffer === null) this.headBuffer = h.buffer;
    return h;
  }

  /**
   * A pool whose new skbs take their heads from `heads` (e.g. guest pages) and whose packet ids
   * come from the same sequence as this pool's.
   */
  withHeads(heads: SkbHeadAllocator): SkbPool {
    if (typeof heads !== 'function') throw new Error(`SkbPool.withHeads: heads ${String(heads)} is not allowed; pass a function returning a Uint8Array or null`);
    return new SkbPool(this.limit, heads, this.ids);
  }

  /** A fresh skb with an empty linear area and a new packet id. */
  alloc(): SkBuff {
    let skb = this.free_.pop();
    if (skb === undefined) {
      if (this.allocated >= this.limit) {
        throw new Error(`SkbPool: more than ${this.limit} skbs in flight; something never frees its skbs`);
      }
      const head = this.heads === null ? null : this.heads();
      skb = head === null ? new SkBuff() : new SkBuff(head);
      if (head !== null && this.headBuffer === null) this.headBuffer = head.buffer;
      skb.owner = this;
      this.allocated++;
    }
    skb.inPool = false;
    skb.id = this.ids.next++;
    this.outstanding++;
    return skb;
  }

  /** skb_copy(): a full copy (linearised) that keeps the packet id and metadata. */
  copy(src: SkBuff): SkBuff {
    const skb = this.alloc();
    skb.id = src.id;
    const at = skb.put(src.len);
    src.copyBits(0, skb.head, at, src.len);
    skb.ipSummed = src.ipSummed;
    skb.protoDataValid = src.protoDataValid;
    skb.protoCsumBlank = src.protoCsumBlank;
    skb.csumStart = src.csumStart;
    skb.csumOffset = src.csumOffset;
    skb.gsoSize = src.gsoSize;
    skb.gsoType = src.gsoType;
    skb.gsoSegs = src.gsoSegs;
    skb.dev = src.dev;
    skb.bornAt = src.bornAt;
    skb.queueMapping = src.queueMapping;
    skb.hash = src.hash;
    skb.swHash = src.swHash;
    skb.l4Hash = src.l4Hash;
    return skb;
  }

  /** Returns an skb to the pool after running its destructor (consume_skb / kfree_skb). */
  free(skb: SkBuff): void {
    if (skb.inPool) throw new Error(`SkbPool: double free of skb ${skb.id}`);
    const d = skb.destructor;
    if (d !== null) {
      skb.destructor = null;
      d.skbFreed(skb);
    }
    let seg = skb.stolen;
    skb.stolen = null;
    skb.reset();
    skb.inPool = true;
    // Back to the pool it came from (a pinned head never moves to another pool).
    const home = skb.owner ?? this;
    home.outstanding--;
    home.free_.push(skb);
    // The segments whose buffers were this skb's fragments (GRO) go back now.
    while (seg !== null) {
      const next = seg.stolen;
      seg.stolen = null;
      this.free(seg);
      seg = next;
    }
  }
}
