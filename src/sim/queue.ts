/**
 * The event queue: a struct-of-arrays 4-ary min-heap keyed by (time, sequence).
 *
 * Every pending event lives in a *slot* of parallel typed arrays:
 *
 *   slot ─┬─ handler[slot]  Int32    index into the handler table (registered once, never per event);
 *         │                          -1 once the event is cancelled
 *         ├─ argA[slot]     Float64  two numeric arguments passed to the handler
 *         ├─ argB[slot]     Float64
 *         ├─ seq[slot]      Float64  insertion sequence, consulted only when two times are equal
 *         └─ gen[slot]      Uint32   generation, bumped when the slot is freed (stale ids are ignored)
 *
 * Times are virtual integer nanoseconds (exact up to 2^53 ns ≈ 104 days); equal times run in
 * insertion (FIFO) order by a sequence number. The heap is 4-ary (half the depth of a binary heap,
 * children side by side in memory) and kept in two heap-ordered arrays — `hTime` and `heap` (the
 * slot) — so sifting compares contiguous keys without chasing slot numbers (at 64k pending events
 * every indirection is a cache miss); the sequence is looked up through the slot only on a tie.
 *
 * Cancellation is lazy: `cancel` sets the slot's handler to -1 in O(1) and the entry is discarded
 * when it reaches the top. Freed slots go on a free list and are reused, so the queue allocates
 * nothing per event once it has grown to the peak number of pending events.
 *
 * An EventId is `generation * 2^24 + slot`: a stale id (its event already ran or was cancelled and
 * the slot reused) is recognised and ignored by `cancel`.
 *
 * Modeled on ns-3's scheduler contract (equal-time events run in insertion order) with the layout
 * of a packet processor rather than an object per event.
 */

export type SimTime = number;
export type EventId = number;
/** A handler receives the two numeric arguments it was scheduled with. */
export type EventHandler = (a: number, b: number) => void;

const SLOT_BITS = 24;
const SLOT_LIMIT = 1 << SLOT_BITS;
const SLOT_MASK = SLOT_LIMIT - 1;

export class EventQueue {
  private hTime: Float64Array;
  private seq: Float64Array;
  private heap: Int32Array;
  private handler: Int32Array;
  private argA: Float64Array;
  private argB: Float64Array;
  private gen: Uint32Array;
  private free: Int32Array;
  private freeTop = 0;
  private slotsUsed = 0;
  /** Entries in the heap, including cancelled ones not yet discarded. */
  private size = 0;
  /** Pending (not cancelled) events. */
  private pending = 0;
  private nextSeq = 0;

  constructor(initialCapacity = 1024) {
    if (!Number.isInteger(initialCapacity) || initialCapacity < 1 || initialCapacity > SLOT_LIMIT) {
      throw new RangeError(`EventQueue: initialCapacity ${initialCapacity} is not allowed; use an integer in 1..${SLOT_LIMIT}`);
    }
    const n = initialCapacity;
    this.hTime = new Float64Array(n);
    this.seq = new Float64Array(n);
    this.heap = new Int32Array(n);
    this.handler = new Int32Array(n);
    this.argA = new Float64Array(n);
    this.argB = new Float64Array(n);
    this.gen = new Uint32Array(n);
    this.free = new Int32Array(n);
  }

  /** Number of pending events. */
  get length(): number {
    return this.pending;
  }

  /** Slots allocated so far (the high-water mark of heap entries). */
  get capacity(): number {
    return this.hTime.length;
  }

  /** Time of the earliest pending event, or Infinity when empty. */
  peekTime(): SimTime {
    while (this.size > 0) {
      const slot = this.heap[0]!;
      if (this.handler[slot]! >= 0) return this.hTime[0]!;
      this.removeTop();
      this.release(slot);
    }
    return Infinity;
  }

  push(time: SimTime, handler: number, a: number, b: number): EventId {
    let slot: number;
    if (this.freeTop > 0) {
      slot = this.free[--this.freeTop]!;
    } else {
      if (this.slotsUsed === this.hTime.length) this.grow();
      slot = this.slotsUsed++;
    }
    this.handler[slot] = handler;
    this.argA[slot] = a;
    this.argB[slot] = b;
    this.seq[slot] = this.nextSeq++;
    this.pending++;
    this.siftUp(this.size++, time, slot);
    return this.gen[slot]! * SLOT_LIMIT + slot;
  }

  /** Cancels a pending event; returns false if it already ran or was cancelled. */
  cancel(id: EventId): boolean {
    const slot = id & SLOT_MASK;
    if (slot >= this.slotsUsed) return false;
    if (this.gen[slot] !== Math.floor(id / SLOT_LIMIT) || this.handler[slot]! < 0) return false;
    this.handler[slot] = -1;
    this.pending--;
    return true;
  }

  /**
   * Removes the earliest pending event and stores its fields in `out` (reused by the caller, so
   * nothing is allocated). Returns false when the queue is empty.
   */
  pop(out: PoppedEvent): boolean {
    return this.popUntil(Number.POSITIVE_INFINITY, out);
  }

  /**
   * Like `pop`, but only when the earliest pending event is at or before `until`: the simulator's
   * loop in one call (peek, discard cancelled entries, pop). Returns false when the queue is empty
   * or the next event is later than `until`.
   */
  popUntil(until: SimTime, out: PoppedEvent): boolean {
    for (;;) {
      if (this.size === 0) return false;
      const slot = this.heap[0]!;
      const h = this.handler[slot]!;
      if (h < 0) {
        this.removeTop();
        this.release(slot);
        continue;
      }
      const t = this.hTime[0]!;
      if (t > until) return false;
      out.time = t;
      out.handler = h;
      out.a = this.argA[slot]!;
      out.b = this.argB[slot]!;
      this.pending--;
      this.removeTop();
      this.release(slot);
      return true;
    }
  }

  clear(): void {
    for (let i = 0; i < this.size; i++) this.release(this.heap[i]!);
    this.size = 0;
    this.pending = 0;
  }

  private release(slot: number): void {
    this.gen[slot] = (this.gen[slot]! + 1) & 0x1fffff;
    this.free[this.freeTop++] = slot;
  }

  /**
   * Removes the root with Floyd's bottom-up method: walk the hole down to a leaf along the smallest
   * child, then sift the last element up from there. The last element usually belongs near the
   * bottom, so this does far fewer comparisons than a plain sift-down.
   */
  private removeTop(): void {
    const last = --this.size;
    if (last === 0) return;
    const hTime = this.hTime, seq = this.seq, heap = this.heap;
    let i = 0;
    for (;;) {
      const first = 4 * i + 1;
      if (first >= last) break;
      const end = first + 4 < last ? first + 4 : last;
      let c = first;
      let ct = hTime[first]!;
      for (let k = first + 1; k < end; k++) {
        const kt = hTime[k]!;
        if (kt < ct || (kt === ct && seq[heap[k]!]! < seq[heap[c]!]!)) { c = k; ct = kt; }
      }
      hTime[i] = ct;
      heap[i] = heap[c]!;
      i = c;
    }
    this.siftUp(i, hTime[last]!, heap[last]!);
  }

  /** Places (t, slot) at hole `i` or above it. */
  private siftUp(i: number, t: number, slot: number): void {
    const hTime = this.hTime, seq = this.seq, heap = this.heap;
    while (i > 0) {
      const p = (i - 1) >> 2;
      const pt = hTime[p]!;
      if (pt < t || (pt === t && seq[heap[p]!]! < seq[slot]!)) break;
      hTime[i] = pt;
      heap[i] = heap[p]!;
      i = p;
    }
    hTime[i] = t;
    heap[i] = slot;
  }

  private grow(): void {
    const n = this.hTime.length;
    if (n >= SLOT_LIMIT) {
      throw new RangeError(`EventQueue: more than ${SLOT_LIMIT} pending events; the model is scheduling without bound`);
    }
    const m = Math.min(SLOT_LIMIT, n * 2);
    const f64 = (a: Float64Array) => { const r = new Float64Array(m); r.set(a); return r; };
    const i32 = (a: Int32Array) => { const r = new Int32Array(m); r.set(a); return r; };
    this.hTime = f64(this.hTime);
    this.seq = f64(this.seq);
    this.argA = f64(this.argA);
    this.argB = f64(this.argB);
    this.heap = i32(this.heap);
    this.handler = i32(this.handler);
    this.free = i32(this.free);
    const g = new Uint32Array(m);
    g.set(this.gen);
    this.gen = g;
  }
}

/** The fields of a popped event; one instance is reused by the simulator loop. */
export interface PoppedEvent {
  time: SimTime;
  handler: number;
  a: number;
  b: number;
}
