/**
 * The bridge forwarding database (`struct net_bridge_fdb_entry` in an rhashtable keyed by
 * (MAC, VLAN id), plus the `fdb_list` walked by gc, flush and dumps).
 *
 * Layout: entries live in struct-of-arrays typed arrays indexed by entry number; a separate
 * open-addressing hash table (linear probing, backward-shift deletion, no tombstones, load <= 1/2,
 * one 16-byte slot per probe) maps the MAC, split into two int32 halves, to the entry number. A
 * lookup hashes the halves once with integer arithmetic, so its cost does not grow with the number
 * of entries beyond cache misses. Nothing is allocated per lookup or per
 * learned address once the arrays have grown.
 *
 *   entry ─┬─ mac[e]      Float64  48-bit MAC key
 *          ├─ port[e]     Int32    port number (1..1023), or 0 = the bridge device itself (dst NULL)
 *          ├─ flags[e]    Uint8    FDB_LOCAL | FDB_STATIC | FDB_STICKY | FDB_ADDED_BY_USER
 *          ├─ updated[e]  Float64  virtual ns of the last learn/refresh (fdb->updated)
 *          ├─ used[e]     Float64  virtual ns of the last forward to it (fdb->used)
 *          └─ next/prev   Int32    the fdb_list, newest first (hlist_add_head), for walks and dumps
 *
 * Differences from Linux: the VLAN id is always 0 (vlan_filtering off), so the key is the MAC alone;
 * times are kept in ns and converted to jiffies where the kernel compares jiffies (see bridge.ts).
 */

/** BR_FDB_LOCAL: an address of the bridge or of one of its ports ("permanent"). */
export const FDB_LOCAL = 1;
/** BR_FDB_STATIC: never ages (user-added static, and every local entry). */
export const FDB_STATIC = 2;
/** BR_FDB_STICKY: never moves to another port. */
export const FDB_STICKY = 4;
/** BR_FDB_ADDED_BY_USER: created or touched by `bridge fdb add`/`replace`. */
export const FDB_ADDED_BY_USER = 8;

/** A free hash slot: no MAC has 0xffffffff as its upper 16 bits. */
const EMPTY = -1;
const TWO32 = 0x1_0000_0000;

/** Hash of a MAC split into its upper 16 bits (`hi`) and lower 32 bits (`lo`, as an int32). @internal exported for tests */
export function hashHL(hi: number, lo: number): number {
  let h = Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1);
  h ^= h >>> 15;
  return h;
}

function newSlots(n: number): Int32Array {
  const a = new Int32Array(n * 4);
  for (let i = 0; i < n; i++) a[i << 2] = EMPTY;
  return a;
}

export class FdbTable {
  /** Number of live entries. */
  size = 0;
  /** Head of the list of live entries, newest first (-1 when empty). */
  head = -1;

  mac: Float64Array;
  port: Int32Array;
  flags: Uint8Array;
  updated: Float64Array;
  used: Float64Array;
  next: Int32Array;
  prev: Int32Array;

  /**
   * Open-addressing slots, four int32 each so one probe touches one cache line:
   * [upper 16 bits of the MAC (EMPTY when free), lower 32 bits, entry number, unused].
   */
  private slots: Int32Array;
  private mask: number;
  private freeList: Int32Array;
  private freeTop = 0;
  private capacity: number;

  constructor(initialEntries = 256) {
    let cap = 16;
    while (cap < initialEntries) cap *= 2;
    this.capacity = cap;
    this.mac = new Float64Array(cap);
    this.port = new Int32Array(cap);
    this.flags = new Uint8Array(cap);
    this.updated = new Float64Array(cap);
    this.used = new Float64Array(cap);
    this.next = new Int32Array(cap);
    this.prev = new Int32Array(cap);
    this.freeList = new Int32Array(cap);
    for (let i = 0; i < cap; i++) this.freeList[i] = cap - 1 - i;
    this.freeTop = cap;
    this.slots = newSlots(cap * 2);
    this.mask = cap * 2 - 1;
  }

  /** The entry number for `key`, or -1 (br_fdb_find). Never checks expiry, as the kernel does not. */
  find(key: number): number {
    return this.findHL(Math.floor(key / TWO32), key | 0);
  }

  /**
   * The hot-path lookup: the MAC as its upper 16 bits and its lower 32 bits (any int32 form),
   * as read straight from frame bytes — no floating point.
   */
  findHL(hi: number, lo: number): number {
    lo |= 0;
    const slots = this.slots;
    const mask = this.mask;
    let s = hashHL(hi, lo) & mask;
    for (;;) {
      const i = s << 2;
      const h = slots[i]!;
      if (h === hi && slots[i + 1] === lo) return slots[i + 2]!;
      if (h === EMPTY) return -1;
      s = (s + 1) & mask;
    }
  }

  /** Creates an entry (the key must not exist); returns its number (fdb_create). */
  create(key: number, port: number, flags: number, now: number): number {
    if (this.freeTop === 0) this.grow();
    const e = this.freeList[--this.freeTop]!;
    this.mac[e] = key;
    this.port[e] = port;
    this.flags[e] = flags;
    this.updated[e] = now;
    this.used[e] = now;
    // hlist_add_head: newest first
    this.prev[e] = -1;
    this.next[e] = this.head;
    if (this.head >= 0) this.prev[this.head] = e;
    this.head = e;
    this.insertSlot(key, e);
    this.size++;
    return e;
  }

  /** Deletes entry `e` (fdb_delete). */
  remove(e: number): void {
    const key = this.mac[e]!;
    this.removeSlot(key);
    const p = this.prev[e]!;
    const n = this.next[e]!;
    if (p >= 0) this.next[p] = n; else this.head = n;
    if (n >= 0) this.prev[n] = p;
    this.next[e] = -1;
    this.prev[e] = -1;
    this.freeList[this.freeTop++] = e;
    this.size--;
  }

  /** Deletes every entry. */
  clear(): void {
    for (let e = this.head; e >= 0;) {
      const n = this.next[e]!;
      this.remove(e);
      e = n;
    }
  }

  private insertSlot(key: number, e: number): void {
    const hi = Math.floor(key / TWO32);
    const lo = key | 0;
    const slots = this.slots;
    const mask = this.mask;
    let s = hashHL(hi, lo) & mask;
    while (slots[s << 2] !== EMPTY) s = (s + 1) & mask;
    slots[s << 2] = hi;
    slots[(s << 2) + 1] = lo;
    slots[(s << 2) + 2] = e;
  }

  private removeSlot(key: number): void {
    const hi = Math.floor(key / TWO32);
    const lo = key | 0;
    const slots = this.slots;
    const mask = this.mask;
    let s = hashHL(hi, lo) & mask;
    while (slots[s << 2] !== hi || slots[(s << 2) + 1] !== lo) {
      if (slots[s << 2] === EMPTY) return;
      s = (s + 1) & mask;
    }
    // backward-shift deletion keeps every probe chain unbroken without tombstones
    let hole = s;
    let j = s;
    for (;;) {
      j = (j + 1) & mask;
      const h = slots[j << 2]!;
      if (h === EMPTY) break;
      const l = slots[(j << 2) + 1]!;
      const home = hashHL(h, l) & mask;
      // move slot j into the hole if its home is not cyclically within (hole, j]
      const inRange = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (!inRange) {
        slots[hole << 2] = h;
        slots[(hole << 2) + 1] = l;
        slots[(hole << 2) + 2] = slots[(j << 2) + 2]!;
        hole = j;
      }
    }
    slots[hole << 2] = EMPTY;
  }

  private grow(): void {
    const old = this.capacity;
    const cap = old * 2;
    const growF = (a: Float64Array) => { const b = new Float64Array(cap); b.set(a); return b; };
    const growI = (a: Int32Array) => { const b = new Int32Array(cap); b.set(a); return b; };
    this.mac = growF(this.mac);
    this.updated = growF(this.updated);
    this.used = growF(this.used);
    this.port = growI(this.port);
    this.next = growI(this.next);
    this.prev = growI(this.prev);
    const f = new Uint8Array(cap); f.set(this.flags); this.flags = f;
    this.freeList = new Int32Array(cap);
    this.freeTop = 0;
    for (let i = cap - 1; i >= old; i--) this.freeList[this.freeTop++] = i;
    this.capacity = cap;
    this.slots = newSlots(cap * 2);
    this.mask = cap * 2 - 1;
    for (let e = this.head; e >= 0; e = this.next[e]!) this.insertSlot(this.mac[e]!, e);
  }
}
