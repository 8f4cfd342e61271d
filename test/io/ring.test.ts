import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  BACK_RING_ATTACH,
  BACK_RING_INIT,
  FRONT_RING_ATTACH,
  FRONT_RING_INIT,
  FrontRing,
  GNTST_bad_copy_arg,
  GTF_permit_access,
  GTF_readonly,
  NETIF_RSP_OKAY,
  RING_COPY_REQUEST,
  RING_COPY_RESPONSE,
  RING_FINAL_CHECK_FOR_REQUESTS,
  RING_FINAL_CHECK_FOR_RESPONSES,
  RING_FREE_REQUESTS,
  RING_FULL,
  RING_GET_REQUEST,
  RING_GET_RESPONSE,
  RING_HAS_UNCONSUMED_REQUESTS,
  RING_HAS_UNCONSUMED_RESPONSES,
  RING_PUSH_REQUESTS,
  RING_PUSH_REQUESTS_AND_CHECK_NOTIFY,
  RING_PUSH_RESPONSES,
  RING_PUSH_RESPONSES_AND_CHECK_NOTIFY,
  RING_REQUEST_CONS_OVERFLOW,
  RING_REQUEST_PROD_OVERFLOW,
  RING_RESPONSE_PROD_OVERFLOW,
  RING_SIZE,
  SHARED_RING_INIT,
  SharedRing,
  XEN_FRONT_RING_INIT,
  XEN_NETIF_GSO_TYPE_TCPV4,
  XEN_RING_NR_UNCONSUMED_REQUESTS,
  XEN_RING_NR_UNCONSUMED_RESPONSES,
  __CONST_RING_SIZE,
  __RD32,
  __RING_SIZE,
  createRingPair,
  ringBytesFor,
  setRxResponseStatus,
  writeExtraGso,
  writeGrantEntryV1,
  writeRxRequest,
  writeRxResponse,
  writeTxNullResponse,
  writeTxRequest,
  writeTxResponse,
} from '../../src/io';

const hex = (b: Uint8Array, start: number, n: number): string =>
  Array.from(b.subarray(start, start + n), (x) => x.toString(16).padStart(2, '0')).join(' ');

const U32 = 2n ** 32n;
const u32 = (x: bigint): bigint => ((x % U32) + U32) % U32;

describe('reference vectors (xen-netif.md section 1.5, zeroed page)', () => {
  const page = new Uint8Array(4096);
  const view = new DataView(page.buffer);
  const s = new SharedRing(page, 12);
  const f = XEN_FRONT_RING_INIT(s);
  const b = BACK_RING_INIT(s);

  it('SHARED_RING_INIT() writes 0,1,0,1 then 48 zero bytes', () => {
    page.fill(0xee, 0, 64);
    SHARED_RING_INIT(s);
    expect(hex(page, 0, 16)).toBe('00 00 00 00 01 00 00 00 00 00 00 00 01 00 00 00');
    expect(page.subarray(16, 64).every((x) => x === 0)).toBe(true);
    expect(RING_SIZE(f)).toBe(256);
    expect(RING_FREE_REQUESTS(f)).toBe(256);
  });

  it('a tx request and a GSO extra land at 64 and 76 with the reference bytes; pushing 2 notifies', () => {
    const o0 = RING_GET_REQUEST(f, f.req_prod_pvt++);
    writeTxRequest(view, o0, 0x11223344, 0x0102, 0x0f, 5, 1514);
    const o1 = RING_GET_REQUEST(f, f.req_prod_pvt++);
    writeExtraGso(view, o1, 0, 1448, XEN_NETIF_GSO_TYPE_TCPV4);
    expect([o0, o1]).toEqual([64, 76]);
    expect(hex(page, 64, 12)).toBe('44 33 22 11 02 01 0f 00 05 00 ea 05');
    expect(hex(page, 76, 12)).toBe('01 00 a8 05 01 00 00 00 00 00 00 00');
    expect(RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(f)).toBe(true);
    expect(s.req_prod).toBe(2);
    expect(s.req_event).toBe(1);
  });

  it('responses overwrite only their bytes: {id 5, OKAY} 4 bytes, NULL only status', () => {
    b.req_cons = 2;
    writeTxResponse(view, RING_GET_RESPONSE(b, b.rsp_prod_pvt++), 5, NETIF_RSP_OKAY);
    writeTxNullResponse(view, RING_GET_RESPONSE(b, b.rsp_prod_pvt++));
    expect(hex(page, 64, 12)).toBe('05 00 00 00 02 01 0f 00 05 00 ea 05');
    expect(hex(page, 76, 12)).toBe('01 00 01 00 01 00 00 00 00 00 00 00');
    expect(RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(b)).toBe(true);
    expect([s.rsp_prod, s.rsp_event]).toEqual([2, 1]);
  });

  it('RING_FINAL_CHECK_FOR_REQUESTS() with req_cons 2 finds no work and sets req_event 3', () => {
    expect(RING_FINAL_CHECK_FOR_REQUESTS(b)).toBe(0);
    expect(s.req_event).toBe(3);
  });

  it('rx request, rx response and a GNTST status have the reference bytes', () => {
    const rx = new Uint8Array(4096);
    const rv = new DataView(rx.buffer);
    const rs = new SharedRing(rx, 8);
    const rf = XEN_FRONT_RING_INIT(rs);
    writeRxRequest(rv, RING_GET_REQUEST(rf, 0), 0, 0x100);
    expect(hex(rx, 64, 8)).toBe('00 00 00 00 00 01 00 00');
    writeRxResponse(rv, 64, 0, 0, 3, 60);
    expect(hex(rx, 64, 8)).toBe('00 00 00 00 03 00 3c 00');
    setRxResponseStatus(rv, 64, GNTST_bad_copy_arg);
    expect(hex(rx, 64, 8)).toBe('00 00 00 00 03 00 f6 ff');
  });

  it('grant_entry_v1 {permit|readonly, dom 0, frame 0x12345} has the reference bytes', () => {
    const g = new Uint8Array(8);
    writeGrantEntryV1(new DataView(g.buffer), 0, GTF_permit_access | GTF_readonly, 0, 0x12345);
    expect(hex(g, 0, 8)).toBe('05 00 00 00 45 23 01 00');
  });

  it('wrap: old 0xFFFFFFFE, new 2, event 0xFFFFFFFF notifies; event 3 does not; 0xFFFFFFFF is slot 255', () => {
    const p = new Uint8Array(4096);
    const ws = new SharedRing(p, 12);
    const wf = FRONT_RING_ATTACH(ws, 0xfffffffe);
    ws.req_prod = 0xfffffffe;
    ws.req_event = 0xffffffff;
    wf.req_prod_pvt = 2;
    expect(RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(wf)).toBe(true);
    ws.req_prod = 0xfffffffe;
    ws.req_event = 3;
    expect(RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(wf)).toBe(false);
    expect(RING_GET_REQUEST(wf, 0xffffffff)).toBe(64 + 255 * 12);
    expect(RING_FREE_REQUESTS(wf)).toBe(252);
  });

  it('the private indices are u32 as in C: an increment past 0xFFFFFFFF wraps to 0', () => {
    const ws = new SharedRing(new Uint8Array(4096), 12);
    const wf = FRONT_RING_ATTACH(ws, 0xffffffff);
    const wb = BACK_RING_ATTACH(ws, 0xffffffff);
    expect([wf.req_prod_pvt, wf.rsp_cons, wb.rsp_prod_pvt, wb.req_cons]).toEqual([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]);
    wf.req_prod_pvt++; wf.rsp_cons++; wb.rsp_prod_pvt++; wb.req_cons++;
    expect([wf.req_prod_pvt, wf.rsp_cons, wb.rsp_prod_pvt, wb.req_cons]).toEqual([0, 0, 0, 0]);
    wf.req_prod_pvt = -1;
    expect(wf.req_prod_pvt).toBe(0xffffffff);
  });
});

describe('geometry', () => {
  it('__CONST_RING_SIZE() gives 256 for tx and rx, 128 for ctrl in a 4096-byte page', () => {
    expect(__CONST_RING_SIZE(12, 4096)).toBe(256);
    expect(__CONST_RING_SIZE(8, 4096)).toBe(256);
    expect(__CONST_RING_SIZE(16, 4096)).toBe(128);
    expect(Math.floor((4096 - 64) / 12)).toBe(336);
    expect(__RD32(336)).toBe(256);
    expect(__RD32(504)).toBe(256);
  });

  it('__RD32() is the largest power of two <= x for every u32 (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 0xffffffff }), (x) => {
        const r = __RD32(x);
        return r <= x && r * 2 > x && (r & (r - 1)) === 0;
      }),
    );
    expect(__RD32(0)).toBe(0);
  });

  it('ringBytesFor() + FRONT_RING_INIT() make a ring of exactly that size', () => {
    const page = new Uint8Array(4096);
    const s = new SharedRing(page, 12);
    for (const n of [1, 2, 4, 8, 16, 32, 64, 128, 256]) expect(FRONT_RING_INIT(s, ringBytesFor(12, n)).nr_ents).toBe(n);
  });

  it('a ring at a byte offset inside a larger buffer only touches its own bytes', () => {
    const buf = new Uint8Array(8192).fill(0xa5);
    const { sring, front } = createRingPair(new DataView(buf.buffer), 8, { byteOffset: 4096 });
    expect(sring.base).toBe(4096);
    expect(buf.subarray(0, 4096).every((x) => x === 0xa5)).toBe(true);
    expect(hex(buf, 4096, 16)).toBe('00 00 00 00 01 00 00 00 00 00 00 00 01 00 00 00');
    expect(RING_GET_REQUEST(front, 3)).toBe(4096 + 64 + 3 * 8);
    expect(front.nr_ents).toBe(256);
  });
});

describe('bad API input throws an error naming the value and what is allowed', () => {
  const page = new Uint8Array(4096);
  it('SharedRing() rejects entry size 0 and a page too small', () => {
    expect(() => new SharedRing(page, 0)).toThrow(/entrySize 0 is not allowed: an entry is a whole number of bytes from 1/);
    expect(() => new SharedRing(page, 1.5)).toThrow(/entrySize 1.5/);
    expect(() => new SharedRing(new Uint8Array(70), 12)).toThrow(/page too small: 70 bytes .* needs at least 76/);
    expect(() => new SharedRing(page, 12, 4090)).toThrow(/page too small/);
    expect(() => new SharedRing(page, 12, -1)).toThrow(/byteOffset -1 is outside the page/);
  });
  it('ringBytesFor() and the ring constructors reject a size that is not a power of two', () => {
    expect(() => ringBytesFor(12, 3)).toThrow(/ringSize 3 is not allowed: a ring size must be a power of two/);
    expect(() => ringBytesFor(12, 0)).toThrow(/power of two/);
    const s = new SharedRing(page, 12);
    expect(() => new FrontRing(s, 0, 6)).toThrow(/nr_ents 6 is not allowed: a ring size must be a power of two/);
    expect(() => new FrontRing(s, 0, 512)).toThrow(/nr_ents 512 does not fit: 512 entries of 12 bytes need 6208 bytes, the page has 4096/);
    expect(() => createRingPair(page, 12, { ringSize: 5 })).toThrow(/power of two/);
  });
  it('__RING_SIZE() rejects a size larger than the page', () => {
    const s = new SharedRing(page, 12);
    expect(() => __RING_SIZE(s, 8192)).toThrow(/size 8192 is not allowed: .* no larger than the page \(4096/);
    expect(() => __CONST_RING_SIZE(16, 76)).toThrow(/sizeBytes 76 is too small: .* needs at least 80/);
  });
  it('RING_GET_REQUEST() and RING_COPY_*() reject an index that is not a u32', () => {
    const { front, back } = createRingPair(page, 12);
    expect(() => RING_GET_REQUEST(front, -1)).toThrow(/RING_GET_REQUEST: index -1 is not a RING_IDX: ring indices are unsigned 32-bit integers 0..4294967295/);
    expect(() => RING_GET_RESPONSE(front, 2 ** 32)).toThrow(/index 4294967296 is not a RING_IDX.*>>> 0/);
    expect(() => RING_COPY_REQUEST(back, 0.5, new Uint8Array(12))).toThrow(/RING_COPY_REQUEST: index 0.5/);
    expect(() => FRONT_RING_ATTACH(front.sring, -3)).toThrow(/FRONT_RING_ATTACH: index -3/);
  });
  it('RING_COPY_REQUEST() rejects a destination larger than a slot', () => {
    const { back } = createRingPair(page, 8);
    expect(() => RING_COPY_REQUEST(back, 0, new Uint8Array(12))).toThrow(/dest has 12 bytes but a slot has 8/);
  });
});

describe('notification hold-off', () => {
  it('RING_PUSH_REQUESTS_AND_CHECK_NOTIFY() notifies when req_event lies in (old, new] across the u32 wrap', () => {
    const page = new Uint8Array(4096);
    const s = new SharedRing(page, 12);
    const f = FRONT_RING_INIT(s);
    fc.assert(
      fc.property(fc.nat(0xffffffff), fc.integer({ min: 0, max: 300 }), fc.nat(0xffffffff), fc.integer({ min: -3, max: 303 }), (old, n, ev, evRel) => {
        const event = evRel === -3 ? ev : (old + evRel) >>> 0;
        s.req_prod = old;
        s.req_event = event;
        f.req_prod_pvt = (old + n) >>> 0;
        const notify = RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(f);
        // Reference: event is one of old+1 … old+n (mod 2^32).
        const d = u32(BigInt(event) - BigInt(old) - 1n);
        const expected = n > 0 && d < BigInt(n);
        return notify === expected && s.req_prod === (old + n) >>> 0;
      }),
      { numRuns: 2000 },
    );
  });

  it('RING_PUSH_RESPONSES_AND_CHECK_NOTIFY() never notifies when nothing was pushed', () => {
    const { sring, back } = createRingPair(new Uint8Array(4096), 12);
    fc.assert(
      fc.property(fc.nat(0xffffffff), fc.nat(0xffffffff), (p, ev) => {
        sring.rsp_prod = p;
        sring.rsp_event = ev;
        back.rsp_prod_pvt = p;
        return RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(back) === false;
      }),
    );
  });

  it('RING_FINAL_CHECK_FOR_RESPONSES() re-arms rsp_event only when there is no work, and catches a racing push', () => {
    const { sring, front, back } = createRingPair(new Uint8Array(4096), 12);
    front.rsp_cons = back.rsp_prod_pvt = sring.rsp_prod = 0xffffffff;
    sring.rsp_event = 7;
    expect(RING_FINAL_CHECK_FOR_RESPONSES(front)).toBe(0);
    expect(sring.rsp_event).toBe(0); // rsp_cons + 1 wraps
    back.rsp_prod_pvt = 1;
    RING_PUSH_RESPONSES(back);
    sring.rsp_event = 5;
    expect(RING_FINAL_CHECK_FOR_RESPONSES(front)).toBe(2);
    expect(sring.rsp_event).toBe(5); // work found first: event untouched
  });

  it('RING_FINAL_CHECK_FOR_REQUESTS() returns the capped count', () => {
    const { sring, back } = createRingPair(new Uint8Array(4096), 12);
    sring.req_prod = 1000; // hostile: far more than a ring
    expect(RING_FINAL_CHECK_FOR_REQUESTS(back)).toBe(256);
    expect(RING_REQUEST_PROD_OVERFLOW(back, sring.req_prod)).toBe(true);
  });
});

describe('counting macros against a BigInt reference across the 2^32 wrap (property)', () => {
  const nearWrap = fc.oneof(fc.nat(0xffffffff), fc.integer({ min: 0xffffff00, max: 0xffffffff }), fc.integer({ min: 0, max: 0x100 }));
  const sizes = fc.constantFrom(1, 2, 4, 8, 16, 32, 64, 128, 256);

  it('front: RING_FREE_REQUESTS, RING_FULL, unconsumed responses, RING_RESPONSE_PROD_OVERFLOW', () => {
    const page = new Uint8Array(4096);
    const s = new SharedRing(page, 12);
    fc.assert(
      fc.property(sizes, nearWrap, fc.integer({ min: 0, max: 300 }), fc.integer({ min: -2, max: 300 }), (n, cons, out, rsp) => {
        const f = FRONT_RING_INIT(s, ringBytesFor(12, n));
        f.rsp_cons = cons;
        f.req_prod_pvt = (cons + out) >>> 0;
        s.rsp_prod = (cons + rsp) >>> 0;
        const N = BigInt(n);
        const free = u32(N - u32(BigInt(f.req_prod_pvt) - BigInt(cons)));
        const unc = u32(BigInt(s.rsp_prod) - BigInt(cons));
        return (
          RING_FREE_REQUESTS(f) === Number(free) &&
          RING_FULL(f) === (free === 0n) &&
          XEN_RING_NR_UNCONSUMED_RESPONSES(f) === Number(unc) &&
          RING_HAS_UNCONSUMED_RESPONSES(f) === Number(unc) &&
          RING_RESPONSE_PROD_OVERFLOW(f, s.rsp_prod) === unc > N
        );
      }),
      { numRuns: 3000 },
    );
  });

  it('back: unconsumed requests (capped), RING_REQUEST_CONS_OVERFLOW, RING_REQUEST_PROD_OVERFLOW', () => {
    const page = new Uint8Array(4096);
    const s = new SharedRing(page, 12);
    fc.assert(
      fc.property(sizes, nearWrap, fc.integer({ min: 0, max: 300 }), fc.integer({ min: -2, max: 600 }), fc.nat(0xffffffff), (n, rpp, owed, ahead, cons) => {
        const b = BACK_RING_INIT(s, ringBytesFor(12, n));
        b.rsp_prod_pvt = rpp;
        b.req_cons = (rpp + owed) >>> 0;
        s.req_prod = (b.req_cons + ahead) >>> 0;
        const N = BigInt(n);
        const req = u32(BigInt(s.req_prod) - BigInt(b.req_cons));
        const rsp = u32(N - u32(BigInt(b.req_cons) - BigInt(rpp)));
        const unc = req < rsp ? req : rsp;
        return (
          XEN_RING_NR_UNCONSUMED_REQUESTS(b) === Number(unc) &&
          RING_HAS_UNCONSUMED_REQUESTS(b) === Number(unc) &&
          RING_REQUEST_CONS_OVERFLOW(b, cons) === u32(BigInt(cons) - BigInt(rpp)) >= N &&
          RING_REQUEST_PROD_OVERFLOW(b, s.req_prod) === u32(BigInt(s.req_prod) - BigInt(rpp)) > N
        );
      }),
      { numRuns: 3000 },
    );
  });
});

describe('request/response traffic (property)', () => {
  it('requests arrive in order and responses return in request slots, from any start index', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: 0xfffffe00, max: 0xffffffff }), fc.nat(0xffffffff)),
        fc.constantFrom(4, 8, 256),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 300 })), { minLength: 1, maxLength: 40 }),
        (start, n, batches) => {
          const page = new Uint8Array(4096);
          const view = new DataView(page.buffer);
          const s = new SharedRing(page, 12);
          SHARED_RING_INIT(s);
          s.req_prod = s.rsp_prod = start;
          s.req_event = s.rsp_event = (start + 1) >>> 0;
          const f = FRONT_RING_ATTACH(s, start, ringBytesFor(12, n));
          const b = BACK_RING_ATTACH(s, start, ringBytesFor(12, n));
          let nextId = 0;
          let expectId = 0;
          let expectRsp = 0;
          const copy = new Uint8Array(12);
          const cv = new DataView(copy.buffer);
          const rcopy = new Uint8Array(4);
          const rv = new DataView(rcopy.buffer);
          for (const [want, take] of batches) {
            const k = Math.min(want, RING_FREE_REQUESTS(f));
            for (let i = 0; i < k; i++) {
              writeTxRequest(view, RING_GET_REQUEST(f, f.req_prod_pvt), 0x100 + nextId, 0, 0, nextId & 0xffff, 60);
              nextId++;
              f.req_prod_pvt = (f.req_prod_pvt + 1) >>> 0;
            }
            RING_PUSH_REQUESTS(f);
            if (RING_FREE_REQUESTS(f) > n) return false;
            const avail = RING_HAS_UNCONSUMED_REQUESTS(b);
            if (avail > n) return false;
            const t = Math.min(take, avail);
            for (let i = 0; i < t; i++) {
              RING_COPY_REQUEST(b, b.req_cons, copy);
              if (cv.getUint16(8, true) !== (expectId & 0xffff)) return false;
              expectId++;
              b.req_cons = (b.req_cons + 1) >>> 0;
              writeTxResponse(view, RING_GET_RESPONSE(b, b.rsp_prod_pvt), cv.getUint16(8, true), NETIF_RSP_OKAY);
              b.rsp_prod_pvt = (b.rsp_prod_pvt + 1) >>> 0;
            }
            RING_PUSH_RESPONSES(b);
            while (RING_HAS_UNCONSUMED_RESPONSES(f) > 0) {
              RING_COPY_RESPONSE(f, f.rsp_cons, rcopy);
              if (rv.getUint16(0, true) !== (expectRsp & 0xffff)) return false;
              expectRsp++;
              f.rsp_cons = (f.rsp_cons + 1) >>> 0;
            }
          }
          return expectRsp === expectId && RING_FREE_REQUESTS(f) === n - (nextId - expectId);
        },
      ),
      { numRuns: 300 },
    );
  });
});
