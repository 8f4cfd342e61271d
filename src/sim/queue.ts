/**
 * The event queue: a struct-of-arrays binary min-heap keyed by (time, sequence).
 *
 * Every pending event lives in a *slot* of five parallel typed arrays:
 *
 *   slot ─┬─ time[slot]     Float64  virtual time in integer nanoseconds (exact up to 2^53 ns ≈ 104 days)
 *         ├─ seq[slot]      Float64  insertion sequence: equal times run in insertion (FIFO) order
 *         ├─ handler[slot]  Int32    index into the handler table (registered once, never per event)
 *         ├─ argA[slot]     Float64  two numeric arguments passed to the handler
 *         └─ argB[slot]     Float64
 *
 * The heap itself is an Int32Array of slot numbers, and `pos[slot]` is where that slot sits in the
 * heap, so an event can be cancelled in O(log n). Freed slots go on a free list and are reused, so
 * the queue allocates nothing per event once it has grown to the peak number of pending events.
 *
 * An EventId is `generation * 2^24 + slot`: a stale id (its event already ran or was cancelled and
 * the slot reused) is recognised and ignored by `cancel`.
 *
 * Modeled after ns-3's scheduler contract (equal-time events run in insertion order) with the
 * layout of a packet processor rather than an object per event.
 */

export type SimTime = number;
export type EventId = number;
/** A handler receives the two numeric arguments it was scheduled with. */
export type EventHandler = (a: number, b: number) => void;

const SLOT_BITS = 24;
const SLOT_LIMIT = 1 << SLOT_BITS;
const SLOT_MASK = SLOT_LIMIT - 1;

export class EventQueue {
  private time: Float64Array;
  private seq: Float64Array;
  private handler: Int32Array;
  private argA: Float64Array;
  private argB: Float64Array;
  private gen: Uint32Array;
  private pos: Int32Array;
  private heap: Int32Array;
  private free: Int32Array;
  private freeTop = 0;
  private slotsUsed = 0;
  private size = 0;
  private nextSeq = 0;

  constructor(initialCapacity = 1024) {
    if (!Number.isInteger(initialCapacity) || initialCapacity < 1 || initialCapacity > SLOT_LIMIT) {
      throw new RangeError(`EventQueue: initialCapacity ${initialCapacity} is not allowed; use an integer in 1..${SLOT_LIMIT}`);
    }
    const n = initialCapacity;
    this.time = new Float64Array(n);
    this.seq = new Float64Array(n);
    this.handler = new Int32Array(n);
    this.argA = new Float64Array(n);
    this.argB = new Float64Array(n);
    this.gen = new Uint32Array(n);
    this.pos = new Int32Array(n).fill(-1);
    this.heap = new Int32Array(n);
    this.free = new Int32Array(n);
  }

  /** Number of pending events. */
  get length(): number {
    return this.size;
  }

  /** Slots allocated so far (the high-water mark of pending events). */
  get capacity(): number {
    return this.time.length;
  }

  /** Time of the earliest pending event, or Infinity when empty. */
  peekTime(): SimTime {
    return this.size === 0 ? Infinity : this.time[this.heap[0]!]!;
  }

  push(time: SimTime, handler: number, a: number, b: number): EventId {
    let slot: number;
    if (this.freeTop > 0) {
      slot = this.free[--this.freeTop]!;
    } else {
      if (this.slotsUsed === this.time.length) this.grow();
      slot = this.slotsUsed++;
    }
    this.time[slot] = time;
    this.seq[slot] = this.nextSeq++;
    this.handler[slot] = handler;
    this.argA[slot] = a;
    this.argB[slot] = b;
    const i = this.size++;
    this.heap[i] = slot;
    this.pos[slot] = i;
    this.siftUp(i);
    return this.gen[slot]! * SLOT_LIMIT + slot;
  }

  /** Cancels a pending event; returns false if it already ran or was cancelled. */
  cancel(id: EventId): boolean {
    const slot = id & SLOT_MASK;
    if (slot >= this.slotsUsed) return false;
    const generation = Math.floor(id / SLOT_LIMIT);
    if (this.gen[slot] !== generation) return false;
    const i = this.pos[slot]!;
    if (i < 0) return false;
    this.removeAt(i);
    this.release(slot);
    return true;
  }

  /**
   * Removes the earliest event and stores its fields in `out` (reused by the caller, so
   * nothing is allocated). Returns false when the queue is empty.
   */
  pop(out: PoppedEvent): boolean {
    if (this.size === 0) return false;
    const slot = this.heap[0]!;
    out.time = this.time[slot]!;
    out.handler = this.handler[slot]!;
    out.a = this.argA[slot]!;
    out.b = this.argB[slot]!;
    this.removeAt(0);
    this.release(slot);
    return true;
  }

  clear(): void {
    for (let i = 0; i < this.size; i++) this.release(this.heap[i]!);
    this.size = 0;
  }

  private release(slot: number): void {
    this.pos[slot] = -1;
    this.gen[slot] = (this.gen[slot]! + 1) & 0x3fffffff;
    this.free[this.freeTop++] = slot;
  }

  private removeAt(i: number): void {
    const last = --this.size;
    if (i !== last) {
      const moved = this.heap[last]!;
      this.heap[i] = moved;
      this.pos[moved] = i;
      if (i > 0 && this.less(moved, this.heap[(i - 1) >> 1]!)) this.siftUp(i);
      else this.siftDown(i);
    }
  }

  private less(x: number, y: number): boolean {
    const tx = this.time[x]!;
    const ty = this.time[y]!;
    return tx < ty || (tx === ty && this.seq[x]! < this.seq[y]!);
  }

  private siftUp(i: number): void {
    const heap = this.heap;
    const pos = this.pos;
    const slot = heap[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const ps = heap[parent]!;
      if (!this.less(slot, ps)) break;
      heap[i] = ps;
      pos[ps] = i;
      i = parent;
    }
    heap[i] = slot;
    pos[slot] = i;
  }

  private siftDown(i: number): void {
    const heap = this.heap;
    const pos = this.pos;
    const n = this.size;
    const slot = heap[i]!;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n && this.less(heap[right]!, heap[child]!)) child = right;
      const cs = heap[child]!;
      if (!this.less(cs, slot)) break;
      heap[i] = cs;
      pos[cs] = i;
      i = child;
    }
    heap[i] = slot;
    pos[slot] = i;
  }

  private grow(): void {
    const n = this.time.length;
    if (n >= SLOT_LIMIT) {
      throw new RangeError(`EventQueue: more than ${SLOT_LIMIT} pending events; the model is scheduling without bound`);
    }
    const m = Math.min(SLOT_LIMIT, n * 2);
    const f64 = (a: Float64Array) => { const r = new Float64Array(m); r.set(a); return r; };
    const i32 = (a: Int32Array, fill = 0) => { const r = new Int32Array(m); r.fill(fill, n); r.set(a); return r; };
    this.time = f64(this.time);
    this.seq = f64(this.seq);
    this.argA = f64(this.argA);
    this.argB = f64(this.argB);
    this.handler = i32(this.handler);
    this.pos = i32(this.pos, -1);
    this.heap = i32(this.heap);
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
