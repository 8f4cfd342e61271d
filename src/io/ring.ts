/**
 * Shared I/O ring (xen/include/public/io/ring.h): requests and responses in one 4 KiB page.
 *
 *    0        4          8        12         16     20              64
 *   +--------+----------+--------+----------+------+---------------+-----------------------
 *   |req_prod|req_event |rsp_prod|rsp_event | pvt  | __pad (44)    | ring[0] … ring[N-1]
 *   +--------+----------+--------+----------+------+---------------+-----------------------
 *    front     back       back     front      (all zeroed by SHARED_RING_INIT)
 *
 * Each ring entry is a union of the request and the response struct (12 bytes for netif tx,
 * 8 for rx, 16 for the control ring). N = __RD32((4096 - 64) / entry size): the number of
 * entries that fit, rounded down to a power of two (256 for tx and rx, 128 for ctrl).
 *
 * All four shared indices and the private indices are free-running u32 counters (RING_IDX):
 * they are masked with N - 1 only to address a slot, and every difference is taken mod 2^32
 * (`(a - b) >>> 0` here). Requests and responses share slots: response k goes in the slot of
 * request k.
 *
 * The front end keeps {req_prod_pvt, rsp_cons, nr_ents} (FrontRing), the back end
 * {rsp_prod_pvt, req_cons, nr_ents} (BackRing); both point at the same SharedRing, a view of
 * the page bytes (which the hypervisor model owns and both domains map).
 *
 * Macro names are kept (RING_PUSH_REQUESTS_AND_CHECK_NOTIFY, …). Macros that take an output
 * lvalue in C return it instead (`notify`, `work_to_do`); the *_RING_INIT/ATTACH macros return
 * the new private ring instead of filling one passed by pointer. RING_GET_REQUEST/RESPONSE
 * return the byte offset of the slot in `sring.view`, for the netif.ts accessors.
 *
 * Hot paths: import the macros from this module (not through src/io/index), since CommonJS
 * re-exports are getters that cost a call each; write slots through `r.sring.view`.
 *
 * Differences from Xen: the model is single-threaded, so xen_wmb()/xen_mb() are no-ops at the
 * points marked ORDERING; RING_HAS_UNCONSUMED_* return counts (the default, without
 * XEN_RING_HAS_UNCONSUMED_IS_BOOL). Indices are validated only where a slot is addressed.
 * Checked against the real macros by test/io/conformance.test.ts.
 */
import { XEN_PAGE_SIZE } from './xen-constants';

/** RING_IDX: a free-running unsigned 32-bit index. */
export type RING_IDX = number;

/** Byte offset of `ring[0]` in every shared ring (offsetof(struct X_sring, ring)). */
export const SRING_RING_OFFSET = 64;
const REQ_PROD = 0;
const REQ_EVENT = 4;
const RSP_PROD = 8;
const RSP_EVENT = 12;
const PVT = 16;

function fail(fn: string, msg: string): never {
  throw new Error(`${fn}: ${msg}`);
}

/**
 * Rounds a 32-bit unsigned value down to the nearest power of two (0 stays 0).
 * @models xen-project/xen xen/include/public/io/ring.h __RD32()
 */
export function __RD32(x: number): number {
  const v = x >>> 0;
  if (v === 0) return 0;
  return 2 ** (31 - Math.clz32(v));
}

/**
 * Entries of `entrySize` bytes that fit in a `sizeBytes` shared ring, rounded down to a power
 * of two: `__CONST_RING_SIZE(netif_tx, 4096)` is `__CONST_RING_SIZE(12, 4096)` = 256.
 * @models xen-project/xen xen/include/public/io/ring.h __CONST_RING_SIZE()
 * @simplified takes the entry size instead of a struct name tag.
 */
export function __CONST_RING_SIZE(entrySize: number, sizeBytes: number): number {
  checkEntrySize('__CONST_RING_SIZE', entrySize);
  if (!Number.isInteger(sizeBytes) || sizeBytes < SRING_RING_OFFSET + entrySize) {
    fail('__CONST_RING_SIZE', `sizeBytes ${sizeBytes} is too small: a ring of ${entrySize}-byte entries needs at least ${SRING_RING_OFFSET + entrySize} bytes (64-byte header + one entry)`);
  }
  return __RD32(Math.floor((sizeBytes - SRING_RING_OFFSET) / entrySize));
}

/**
 * The byte size to pass to FRONT_RING_INIT/BACK_RING_INIT for a ring of exactly `ringSize`
 * entries (a smaller ring than a page holds, handy for teaching and tests).
 */
export function ringBytesFor(entrySize: number, ringSize: number): number {
  checkEntrySize('ringBytesFor', entrySize);
  if (!Number.isInteger(ringSize) || ringSize < 1 || ringSize > 0x80000000 || (ringSize & (ringSize - 1)) !== 0) {
    fail('ringBytesFor', `ringSize ${ringSize} is not allowed: a ring size must be a power of two (1, 2, 4, … 256)`);
  }
  return SRING_RING_OFFSET + entrySize * ringSize;
}

function checkEntrySize(fn: string, entrySize: number): void {
  if (!Number.isInteger(entrySize) || entrySize < 1 || entrySize > 4096 - SRING_RING_OFFSET) {
    fail(fn, `entrySize ${entrySize} is not allowed: an entry is a whole number of bytes from 1 to ${4096 - SRING_RING_OFFSET} (netif tx 12, rx 8, ctrl 16)`);
  }
}

/**
 * The shared ring page as seen by one domain: the bytes, a DataView on them, where the
 * `struct X_sring` starts, and the entry size. Creating one writes nothing.
 */
export class SharedRing {
  /** The bytes from the start of the shared ring to the end of the buffer view given. */
  readonly bytes: Uint8Array;
  /** Little-endian access to the header and slots; slot offsets are relative to this view. */
  readonly view: DataView;
  /** Byte offset of the ring header (req_prod) in `view`. */
  readonly base: number;
  /** sizeof(union X_sring_entry). */
  readonly entrySize: number;
  /** Bytes available from `base` to the end of the view. */
  readonly capacityBytes: number;

  /**
   * @param page the page bytes (a Uint8Array, or a DataView)
   * @param entrySize bytes per ring entry (netif tx 12, rx 8, ctrl 16)
   * @param byteOffset where the shared ring starts in `page` (0 for a ring page)
   */
  constructor(page: Uint8Array | DataView, entrySize: number, byteOffset = 0) {
    checkEntrySize('SharedRing', entrySize);
    if (!(page instanceof Uint8Array) && !(page instanceof DataView)) {
      fail('SharedRing', `page must be a Uint8Array or DataView over the ring page, got ${Object.prototype.toString.call(page)}`);
    }
    if (!Number.isInteger(byteOffset) || byteOffset < 0 || byteOffset > page.byteLength) {
      fail('SharedRing', `byteOffset ${byteOffset} is outside the page (0..${page.byteLength})`);
    }
    const need = SRING_RING_OFFSET + entrySize;
    if (page.byteLength - byteOffset < need) {
      fail('SharedRing', `page too small: ${page.byteLength - byteOffset} bytes from byteOffset ${byteOffset}, a ring of ${entrySize}-byte entries needs at least ${need} (64-byte header + one entry)`);
    }
    this.bytes = new Uint8Array(page.buffer, page.byteOffset + byteOffset, page.byteLength - byteOffset);
    this.view = page instanceof DataView ? page : new DataView(page.buffer, page.byteOffset, page.byteLength);
    this.base = byteOffset;
    this.entrySize = entrySize;
    this.capacityBytes = page.byteLength - byteOffset;
  }

  /** Shared `req_prod` (written by the front end). */
  get req_prod(): number {
    return this.view.getUint32(this.base + REQ_PROD, true);
  }
  set req_prod(v: number) {
    this.view.setUint32(this.base + REQ_PROD, v, true);
  }
  /** Shared `req_event` (written by the back end: "notify me when req_prod passes this"). */
  get req_event(): number {
    return this.view.getUint32(this.base + REQ_EVENT, true);
  }
  set req_event(v: number) {
    this.view.setUint32(this.base + REQ_EVENT, v, true);
  }
  /** Shared `rsp_prod` (written by the back end). */
  get rsp_prod(): number {
    return this.view.getUint32(this.base + RSP_PROD, true);
  }
  set rsp_prod(v: number) {
    this.view.setUint32(this.base + RSP_PROD, v, true);
  }
  /** Shared `rsp_event` (written by the front end). */
  get rsp_event(): number {
    return this.view.getUint32(this.base + RSP_EVENT, true);
  }
  set rsp_event(v: number) {
    this.view.setUint32(this.base + RSP_EVENT, v, true);
  }
}

/**
 * What the front and back ends' private ring states share: the shared ring, its size, and two
 * free-running RING_IDX values. The indices live in a Uint32Array: loads and stores are u32 (a
 * store wraps mod 2^32, as C's unsigned RING_IDX does), and an index past 2^31 never turns the
 * object's fields into boxed doubles.
 */
abstract class PrivateRing {
  /** @internal [0]: the producer index this end owns; [1]: the consumer index this end owns. */
  protected readonly idx = new Uint32Array(2);
  /** RING_SIZE: a power of two. */
  readonly nr_ents: number;
  readonly sring: SharedRing;
  /** @internal nr_ents - 1 */
  readonly mask: number;
  /** @internal sring.view, sring.base, sring.bytes, sring.entrySize (flattened for the hot path) */
  readonly view: DataView;
  readonly base: number;
  readonly bytes: Uint8Array;
  readonly entrySize: number;
  constructor(fn: string, sring: SharedRing, i: RING_IDX, nr_ents: number) {
    checkNrEnts(fn, sring, nr_ents);
    this.sring = sring;
    this.idx[0] = i;
    this.idx[1] = i;
    this.nr_ents = nr_ents;
    this.mask = nr_ents - 1;
    this.view = sring.view;
    this.base = sring.base;
    this.bytes = sring.bytes;
    this.entrySize = sring.entrySize;
  }
}

/** Front end's private ring state (`struct X_front_ring`). */
export class FrontRing extends PrivateRing {
  constructor(sring: SharedRing, i: RING_IDX, nr_ents: number) {
    super('FrontRing', sring, i, nr_ents);
  }
  /** Next request slot to fill (free-running u32). */
  get req_prod_pvt(): RING_IDX { return this.idx[0]!; }
  set req_prod_pvt(v: RING_IDX) { this.idx[0] = v; }
  /** Next response to consume (free-running u32). */
  get rsp_cons(): RING_IDX { return this.idx[1]!; }
  set rsp_cons(v: RING_IDX) { this.idx[1] = v; }
}

/** Back end's private ring state (`struct X_back_ring`). */
export class BackRing extends PrivateRing {
  constructor(sring: SharedRing, i: RING_IDX, nr_ents: number) {
    super('BackRing', sring, i, nr_ents);
  }
  /** Next response slot to fill (free-running u32). */
  get rsp_prod_pvt(): RING_IDX { return this.idx[0]!; }
  set rsp_prod_pvt(v: RING_IDX) { this.idx[0] = v; }
  /** Next request to consume (free-running u32). */
  get req_cons(): RING_IDX { return this.idx[1]!; }
  set req_cons(v: RING_IDX) { this.idx[1] = v; }
}

function checkNrEnts(fn: string, sring: SharedRing, n: number): void {
  if (!(sring instanceof SharedRing)) fail(fn, 'sring must be a SharedRing');
  if (!Number.isInteger(n) || n < 1 || (n & (n - 1)) !== 0) {
    fail(fn, `nr_ents ${n} is not allowed: a ring size must be a power of two (1, 2, 4, … 256)`);
  }
  const need = SRING_RING_OFFSET + n * sring.entrySize;
  if (need > sring.capacityBytes) {
    fail(fn, `nr_ents ${n} does not fit: ${n} entries of ${sring.entrySize} bytes need ${need} bytes, the page has ${sring.capacityBytes}`);
  }
}

/**
 * Ring size for a shared ring of `sizeBytes` bytes (normally XEN_PAGE_SIZE).
 * @models xen-project/xen xen/include/public/io/ring.h __RING_SIZE()
 */
export function __RING_SIZE(s: SharedRing, sizeBytes: number): number {
  if (!Number.isInteger(sizeBytes) || sizeBytes > s.capacityBytes) {
    fail('__RING_SIZE', `size ${sizeBytes} is not allowed: it must be a whole number of bytes no larger than the page (${s.capacityBytes} bytes from the ring header)`);
  }
  return __CONST_RING_SIZE(s.entrySize, sizeBytes);
}

/**
 * Initialises the shared page: req_prod = rsp_prod = 0, req_event = rsp_event = 1, pvt and
 * __pad zeroed. Only the front end does this. Slots are left as they are.
 * @models xen-project/xen xen/include/public/io/ring.h SHARED_RING_INIT()
 */
export function SHARED_RING_INIT(s: SharedRing): void {
  const v = s.view;
  const b = s.base;
  v.setUint32(b + REQ_PROD, 0, true);
  v.setUint32(b + RSP_PROD, 0, true);
  v.setUint32(b + REQ_EVENT, 1, true);
  v.setUint32(b + RSP_EVENT, 1, true);
  s.bytes.fill(0, PVT, SRING_RING_OFFSET);
}

/**
 * Front private ring with both indices at `i`.
 * @models xen-project/xen xen/include/public/io/ring.h FRONT_RING_ATTACH()
 * @simplified returns the ring instead of filling `_r`.
 */
export function FRONT_RING_ATTACH(s: SharedRing, i: RING_IDX, sizeBytes: number = Math.min(XEN_PAGE_SIZE, s.capacityBytes)): FrontRing {
  checkIdx('FRONT_RING_ATTACH', i);
  return new FrontRing(s, i, __RING_SIZE(s, sizeBytes));
}

/**
 * Front private ring at index 0 (the shared page is not touched).
 * @models xen-project/xen xen/include/public/io/ring.h FRONT_RING_INIT()
 * @simplified returns the ring instead of filling `_r`.
 */
export function FRONT_RING_INIT(s: SharedRing, sizeBytes: number = Math.min(XEN_PAGE_SIZE, s.capacityBytes)): FrontRing {
  return new FrontRing(s, 0, __RING_SIZE(s, sizeBytes));
}

/**
 * SHARED_RING_INIT + FRONT_RING_INIT, as modern netfront does.
 * @models xen-project/xen xen/include/public/io/ring.h XEN_FRONT_RING_INIT()
 * @simplified returns the ring instead of filling `r`.
 */
export function XEN_FRONT_RING_INIT(s: SharedRing, sizeBytes: number = Math.min(XEN_PAGE_SIZE, s.capacityBytes)): FrontRing {
  const r = FRONT_RING_INIT(s, sizeBytes);
  SHARED_RING_INIT(s);
  return r;
}

/**
 * Back private ring with both indices at `i` (modern netback passes the shared rsp_prod).
 * @models xen-project/xen xen/include/public/io/ring.h BACK_RING_ATTACH()
 * @simplified returns the ring instead of filling `_r`.
 */
export function BACK_RING_ATTACH(s: SharedRing, i: RING_IDX, sizeBytes: number = Math.min(XEN_PAGE_SIZE, s.capacityBytes)): BackRing {
  checkIdx('BACK_RING_ATTACH', i);
  return new BackRing(s, i, __RING_SIZE(s, sizeBytes));
}

/**
 * Back private ring at index 0.
 * @models xen-project/xen xen/include/public/io/ring.h BACK_RING_INIT()
 * @simplified returns the ring instead of filling `_r`.
 */
export function BACK_RING_INIT(s: SharedRing, sizeBytes: number = Math.min(XEN_PAGE_SIZE, s.capacityBytes)): BackRing {
  return new BackRing(s, 0, __RING_SIZE(s, sizeBytes));
}

function checkIdx(fn: string, idx: number): void {
  if (idx !== idx >>> 0) {
    fail(fn, `index ${idx} is not a RING_IDX: ring indices are unsigned 32-bit integers 0..4294967295 (wrap with (i + 1) >>> 0)`);
  }
}

/**
 * @models xen-project/xen xen/include/public/io/ring.h RING_SIZE()
 */
export function RING_SIZE(r: FrontRing | BackRing): number {
  return r.nr_ents;
}

/**
 * Request slots the front end may still fill: `nr_ents - (req_prod_pvt - rsp_cons)` (u32).
 * @models xen-project/xen xen/include/public/io/ring.h RING_FREE_REQUESTS()
 */
export function RING_FREE_REQUESTS(r: FrontRing): number {
  return (r.nr_ents - ((r.req_prod_pvt - r.rsp_cons) >>> 0)) >>> 0;
}

/**
 * No free request slot (front only).
 * @models xen-project/xen xen/include/public/io/ring.h RING_FULL()
 */
export function RING_FULL(r: FrontRing): boolean {
  return ((r.nr_ents - ((r.req_prod_pvt - r.rsp_cons) >>> 0)) >>> 0) === 0;
}

/**
 * Responses published but not yet consumed: `sring->rsp_prod - rsp_cons` (u32).
 * @models xen-project/xen xen/include/public/io/ring.h XEN_RING_NR_UNCONSUMED_RESPONSES()
 */
export function XEN_RING_NR_UNCONSUMED_RESPONSES(r: FrontRing): number {
  return (r.view.getUint32(r.base + RSP_PROD, true) - r.rsp_cons) >>> 0;
}

/**
 * Requests published but not yet consumed, capped by the slots not holding unpushed
 * responses: `min(req_prod - req_cons, nr_ents - (req_cons - rsp_prod_pvt))` (u32) — so a
 * hostile req_prod never makes the back end read more than a ring's worth.
 * @models xen-project/xen xen/include/public/io/ring.h XEN_RING_NR_UNCONSUMED_REQUESTS()
 */
export function XEN_RING_NR_UNCONSUMED_REQUESTS(r: BackRing): number {
  const req = (r.view.getUint32(r.base + REQ_PROD, true) - r.req_cons) >>> 0;
  const rsp = (r.nr_ents - ((r.req_cons - r.rsp_prod_pvt) >>> 0)) >>> 0;
  return req < rsp ? req : rsp;
}

/**
 * The count of unconsumed responses (a count, not a boolean, as without
 * XEN_RING_HAS_UNCONSUMED_IS_BOOL).
 * @models xen-project/xen xen/include/public/io/ring.h RING_HAS_UNCONSUMED_RESPONSES()
 */
export function RING_HAS_UNCONSUMED_RESPONSES(r: FrontRing): number {
  return (r.view.getUint32(r.base + RSP_PROD, true) - r.rsp_cons) >>> 0;
}

/**
 * The count of unconsumed requests (see XEN_RING_NR_UNCONSUMED_REQUESTS).
 * @models xen-project/xen xen/include/public/io/ring.h RING_HAS_UNCONSUMED_REQUESTS()
 */
export function RING_HAS_UNCONSUMED_REQUESTS(r: BackRing): number {
  const req = (r.view.getUint32(r.base + REQ_PROD, true) - r.req_cons) >>> 0;
  const rsp = (r.nr_ents - ((r.req_cons - r.rsp_prod_pvt) >>> 0)) >>> 0;
  return req < rsp ? req : rsp;
}

/**
 * Byte offset in `r.sring.view` of the slot of request `idx` (`&ring[idx & (N-1)].req`).
 * Throws if `idx` is not a u32.
 * @models xen-project/xen xen/include/public/io/ring.h RING_GET_REQUEST()
 * @simplified returns a byte offset instead of a pointer.
 */
export function RING_GET_REQUEST(r: FrontRing | BackRing, idx: RING_IDX): number {
  if (idx !== idx >>> 0) checkIdx('RING_GET_REQUEST', idx);
  return r.base + SRING_RING_OFFSET + (idx & r.mask) * r.entrySize;
}

/**
 * Byte offset in `r.sring.view` of the slot of response `idx` (the same slot as request `idx`).
 * @models xen-project/xen xen/include/public/io/ring.h RING_GET_RESPONSE()
 * @simplified returns a byte offset instead of a pointer.
 */
export function RING_GET_RESPONSE(r: FrontRing | BackRing, idx: RING_IDX): number {
  if (idx !== idx >>> 0) checkIdx('RING_GET_RESPONSE', idx);
  return r.base + SRING_RING_OFFSET + (idx & r.mask) * r.entrySize;
}

/** Cold path of RING_COPY_*: kept out of line so the hot functions stay small enough to inline. */
function badCopy(fn: string, idx: number, n: number, esz: number): never {
  if (idx !== idx >>> 0) checkIdx(fn, idx);
  fail(fn, `dest has ${n} bytes but a slot has ${esz}: pass a buffer of sizeof(request) or sizeof(response) bytes`);
}

/**
 * Copies request `idx` into the private buffer `dest` (dest.length bytes = sizeof(*dest));
 * validate and use only the copy, never the shared slot (XSA-155 double-fetch defence).
 * Read the fields with the netif.ts accessors on a DataView over `dest`.
 * @models xen-project/xen xen/include/public/io/ring.h RING_COPY_REQUEST()
 */
export function RING_COPY_REQUEST(r: FrontRing | BackRing, idx: RING_IDX, dest: Uint8Array): Uint8Array {
  const n = dest.length;
  const esz = r.entrySize;
  if (idx !== idx >>> 0 || n > esz) badCopy('RING_COPY_REQUEST', idx, n, esz);
  const src = r.bytes;
  const o = SRING_RING_OFFSET + (idx & r.mask) * esz;
  for (let i = 0; i < n; i++) dest[i] = src[o + i]!;
  return dest;
}

/**
 * Copies response `idx` into `dest` (dest.length bytes, e.g. 4 for a netif_tx_response).
 * @models xen-project/xen xen/include/public/io/ring.h RING_COPY_RESPONSE()
 */
export function RING_COPY_RESPONSE(r: FrontRing | BackRing, idx: RING_IDX, dest: Uint8Array): Uint8Array {
  const n = dest.length;
  const esz = r.entrySize;
  if (idx !== idx >>> 0 || n > esz) badCopy('RING_COPY_RESPONSE', idx, n, esz);
  const src = r.bytes;
  const o = SRING_RING_OFFSET + (idx & r.mask) * esz;
  for (let i = 0; i < n; i++) dest[i] = src[o + i]!;
  return dest;
}

/**
 * Would consuming request `cons` overrun the response space? `(cons - rsp_prod_pvt) >= N`.
 * @models xen-project/xen xen/include/public/io/ring.h RING_REQUEST_CONS_OVERFLOW()
 */
export function RING_REQUEST_CONS_OVERFLOW(r: BackRing, cons: RING_IDX): boolean {
  return ((cons - r.rsp_prod_pvt) >>> 0) >= r.nr_ents;
}

/**
 * Ill-behaved front end: can there be this many requests? `(prod - rsp_prod_pvt) > N`.
 * @models xen-project/xen xen/include/public/io/ring.h RING_REQUEST_PROD_OVERFLOW()
 */
export function RING_REQUEST_PROD_OVERFLOW(r: BackRing, prod: RING_IDX): boolean {
  return ((prod - r.rsp_prod_pvt) >>> 0) > r.nr_ents;
}

/**
 * Ill-behaved back end: can there be this many responses? `(prod - rsp_cons) > N`.
 * @models xen-project/xen xen/include/public/io/ring.h RING_RESPONSE_PROD_OVERFLOW()
 */
export function RING_RESPONSE_PROD_OVERFLOW(r: FrontRing, prod: RING_IDX): boolean {
  return ((prod - r.rsp_cons) >>> 0) > r.nr_ents;
}

/**
 * Publishes the requests written so far: `sring->req_prod = req_prod_pvt`. Never notifies.
 * @models xen-project/xen xen/include/public/io/ring.h RING_PUSH_REQUESTS()
 */
export function RING_PUSH_REQUESTS(r: FrontRing): void {
  // ORDERING: xen_wmb() — the back end must see the slots before the new index.
  r.view.setUint32(r.base + REQ_PROD, r.req_prod_pvt, true);
}

/**
 * Publishes the responses written so far: `sring->rsp_prod = rsp_prod_pvt`.
 * @models xen-project/xen xen/include/public/io/ring.h RING_PUSH_RESPONSES()
 */
export function RING_PUSH_RESPONSES(r: BackRing): void {
  // ORDERING: xen_wmb() — the front end must see the slots before the new index.
  r.view.setUint32(r.base + RSP_PROD, r.rsp_prod_pvt, true);
}

/**
 * Publishes requests and says whether the back end must be notified: true iff `req_event`
 * lies in (old req_prod, new req_prod] mod 2^32, i.e.
 * `(u32)(new - req_event) < (u32)(new - old)`. Pushing nothing never notifies.
 * @models xen-project/xen xen/include/public/io/ring.h RING_PUSH_REQUESTS_AND_CHECK_NOTIFY()
 */
export function RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(r: FrontRing): boolean {
  const v = r.view;
  const b = r.base;
  const old = v.getUint32(b + REQ_PROD, true);
  const nw = r.req_prod_pvt >>> 0;
  // ORDERING: xen_wmb() — slots before index.
  v.setUint32(b + REQ_PROD, nw, true);
  // ORDERING: xen_mb() — index visible before reading the consumer's req_event.
  return ((nw - v.getUint32(b + REQ_EVENT, true)) >>> 0) < ((nw - old) >>> 0);
}

/**
 * Publishes responses and says whether the front end must be notified (rsp_event in (old, new]).
 * @models xen-project/xen xen/include/public/io/ring.h RING_PUSH_RESPONSES_AND_CHECK_NOTIFY()
 */
export function RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(r: BackRing): boolean {
  const v = r.view;
  const b = r.base;
  const old = v.getUint32(b + RSP_PROD, true);
  const nw = r.rsp_prod_pvt >>> 0;
  // ORDERING: xen_wmb() — slots before index.
  v.setUint32(b + RSP_PROD, nw, true);
  // ORDERING: xen_mb() — index visible before reading the consumer's rsp_event.
  return ((nw - v.getUint32(b + RSP_EVENT, true)) >>> 0) < ((nw - old) >>> 0);
}

/**
 * Back end, before sleeping: returns the unconsumed-request count; if it is 0, sets
 * `req_event = req_cons + 1` (wake me on the very next request) and checks again, closing the
 * race with a front end that pushed in between.
 * @models xen-project/xen xen/include/public/io/ring.h RING_FINAL_CHECK_FOR_REQUESTS()
 * @simplified returns `_work_to_do`.
 */
export function RING_FINAL_CHECK_FOR_REQUESTS(r: BackRing): number {
  const v = r.view;
  const b = r.base;
  const cons = r.req_cons;
  const rsp = (r.nr_ents - ((cons - r.rsp_prod_pvt) >>> 0)) >>> 0;
  let req = (v.getUint32(b + REQ_PROD, true) - cons) >>> 0;
  if (req === 0 || rsp === 0) {
    v.setUint32(b + REQ_EVENT, cons + 1, true);
    // ORDERING: xen_mb() — req_event visible before re-reading req_prod.
    req = (v.getUint32(b + REQ_PROD, true) - cons) >>> 0;
  }
  return req < rsp ? req : rsp;
}

/**
 * Front end, before sleeping: as RING_FINAL_CHECK_FOR_REQUESTS with `rsp_event = rsp_cons + 1`.
 * @models xen-project/xen xen/include/public/io/ring.h RING_FINAL_CHECK_FOR_RESPONSES()
 * @simplified returns `_work_to_do`.
 */
export function RING_FINAL_CHECK_FOR_RESPONSES(r: FrontRing): number {
  const v = r.view;
  const b = r.base;
  const cons = r.rsp_cons;
  const work = (v.getUint32(b + RSP_PROD, true) - cons) >>> 0;
  if (work !== 0) return work;
  v.setUint32(b + RSP_EVENT, cons + 1, true);
  // ORDERING: xen_mb() — rsp_event visible before re-reading rsp_prod.
  return (v.getUint32(b + RSP_PROD, true) - cons) >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Convenience (our own API)

/** A shared ring with its two private halves, as a lab or test sets one up on one page. */
export interface RingPair {
  sring: SharedRing;
  front: FrontRing;
  back: BackRing;
}

/**
 * Creates a ring on `page` the way the drivers do: the front end XEN_FRONT_RING_INITs the page,
 * the back end BACK_RING_ATTACHes at the shared rsp_prod (0). `ringSize` (a power of two)
 * makes a smaller ring than the page holds.
 */
export function createRingPair(page: Uint8Array | DataView, entrySize: number, opts: { ringSize?: number; byteOffset?: number } = {}): RingPair {
  const sring = new SharedRing(page, entrySize, opts.byteOffset ?? 0);
  const size = opts.ringSize === undefined ? Math.min(XEN_PAGE_SIZE, sring.capacityBytes) : ringBytesFor(entrySize, opts.ringSize);
  if (size > sring.capacityBytes) {
    fail('createRingPair', `ringSize ${opts.ringSize} does not fit: it needs ${size} bytes, the page has ${sring.capacityBytes}`);
  }
  const front = XEN_FRONT_RING_INIT(sring, size);
  const back = BACK_RING_ATTACH(sring, sring.rsp_prod, size);
  return { sring, front, back };
}
