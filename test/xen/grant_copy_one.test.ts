/**
 * The one-op entry point (Hypervisor.gnttab_copy_one) against GNTTABOP_copy with a batch of one
 * (Hypervisor.gnttab_copy): for any op — good or bad refs, domains, frames, offsets, lengths,
 * grants already pinned by a mapping or by another domain — both give the same status, the same
 * bytes in every frame (grant entries included), the same pins, costs and counters.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  DOMID_SELF, GNTCOPY_dest_gref, GNTCOPY_source_gref, GNTMAP_host_map, GNTMAP_readonly, GNTST_bad_copy_arg, GNTST_general_error, GNTST_okay,
} from '../../src/io/xen-constants';
import { gnttab_set_map_op, type GnttabCopy } from '../../src/xen';
import { host } from './helpers';

/** dom0, guest 1 and guest 2 with grants in several states; the same on every call. */
function world() {
  const h = host();
  const g2 = h.hv.createDomain({ name: 'guest2', pages: 16 });
  for (let i = 0; i < 4096; i++) { h.guest.page(3)[i] = (i * 7) & 0xff; h.dom0.page(2)[i] = (i * 13 + 1) & 0xff; }
  const gt = h.guest.gnttab;
  const refs = [
    gt.gnttab_grant_foreign_access(0, h.guest.pfn_to_gfn(3), true), // read-only to dom0
    gt.gnttab_grant_foreign_access(0, h.guest.pfn_to_gfn(4), false), // writable to dom0
    gt.gnttab_grant_foreign_access(0, h.guest.pfn_to_gfn(5), false), // mapped by dom0 below
    gt.gnttab_grant_foreign_access(2, h.guest.pfn_to_gfn(6), false), // granted to guest 2, mapped by it
    gt.gnttab_grant_foreign_access(0, h.guest.pfn_to_gfn(7), true),
    600, 0xffffffff, // beyond the table
  ];
  const m = gnttab_set_map_op(0x7f0000001000, GNTMAP_host_map, refs[2]!, 1);
  h.hv.gnttab_map_grant_ref(0, [m]);
  const m2 = gnttab_set_map_op(0x7f0000002000, GNTMAP_host_map | GNTMAP_readonly, refs[3]!, 1);
  h.hv.gnttab_map_grant_ref(g2.domid, [m2]);
  const frames = [h.dom0.pfn_to_gfn(2), h.dom0.pfn_to_gfn(3), h.guest.pfn_to_gfn(3), 0, 1 << 30];
  return { h, refs, frames };
}

const anyOpArb = fc.record({
  flags: fc.constantFrom(0, GNTCOPY_source_gref, GNTCOPY_dest_gref, GNTCOPY_source_gref | GNTCOPY_dest_gref, 0xffff),
  src: fc.nat(6), srcDom: fc.constantFrom(0, 1, 2, 9, DOMID_SELF), srcOff: fc.constantFrom(0, 1, 100, 2596, 4095, 4096, 0x1ffff),
  dst: fc.nat(6), dstDom: fc.constantFrom(0, 1, 2, 9, DOMID_SELF), dstOff: fc.constantFrom(0, 7, 3000, 4095),
  len: fc.constantFrom(0, 1, 64, 1096, 1500, 4096, 0x10001),
  caller: fc.constantFrom(0, 1, 2),
});
/** What netback does (gref <-> dom0's own frame), with the odd bad value. */
const netbackOpArb = fc.record({
  flags: fc.constantFrom(GNTCOPY_source_gref, GNTCOPY_dest_gref),
  src: fc.nat(3), srcDom: fc.constantFrom(1, DOMID_SELF), srcOff: fc.constantFrom(0, 100, 2596, 2597, 4095),
  dst: fc.nat(3), dstDom: fc.constantFrom(1, DOMID_SELF), dstOff: fc.constantFrom(0, 7, 2596, 2597, 3000),
  len: fc.constantFrom(1, 64, 1096, 1500),
  caller: fc.constantFrom(0, 0, 0, 2),
});
const opArb = fc.oneof(anyOpArb, netbackOpArb);

describe('gnttab_copy_one (hot path) = GNTTABOP_copy with one op', () => {
  type Op = typeof anyOpArb extends fc.Arbitrary<infer T> ? T : never;
  /** Runs `o` both ways on two fresh identical worlds and compares everything; returns the status. */
  function same(o: Op): number {
    const a = world(), b = world();
    const u = (w: ReturnType<typeof world>, isGref: boolean, k: number) => (isGref ? w.refs[k]! : w.frames[k % w.frames.length]!);
    const sg = (o.flags & GNTCOPY_source_gref) !== 0, dg = (o.flags & GNTCOPY_dest_gref) !== 0;
    const st = a.h.hv.gnttab_copy_one(o.caller, o.flags, u(a, sg, o.src), o.srcDom, o.srcOff, u(a, dg, o.dst), o.dstDom, o.dstOff, o.len);
    const op: GnttabCopy = {
      flags: o.flags, len: o.len, status: 1,
      source: { u: u(b, sg, o.src), domid: o.srcDom, offset: o.srcOff },
      dest: { u: u(b, dg, o.dst), domid: o.dstDom, offset: o.dstOff },
    };
    expect(b.h.hv.gnttab_copy(o.caller, [op])).toBe(0);
    expect(st).toBe(op.status);
    expect(Buffer.compare(a.h.hv.mem.bytes, b.h.hv.mem.bytes)).toBe(0);
    const ga = a.h.hv.lookup(1)!, gb = b.h.hv.lookup(1)!;
    expect(Array.from(ga.actPin.subarray(0, 16))).toEqual(Array.from(gb.actPin.subarray(0, 16)));
    expect(a.h.hv.lastCostNs).toBe(b.h.hv.lastCostNs);
    expect(a.h.hv.lookup(o.caller)!.cpuNs).toBe(b.h.hv.lookup(o.caller)!.cpuNs);
    expect(a.h.sim.counters.snapshot()).toEqual(b.h.sim.counters.snapshot());
    return st;
  }

  test('same status, bytes, pins, cost and counters for any op', () => {
    fc.assert(fc.property(opArb, (o) => { same(o); }), { numRuns: 300, seed: 7 });
  });

  test('the same at the edges: ranges ending at and one past the page, both directions, pinned grants', () => {
    const base: Op = { flags: GNTCOPY_source_gref, src: 0, srcDom: 1, srcOff: 2596, dst: 0, dstDom: DOMID_SELF, dstOff: 0, len: 1500, caller: 0 };
    expect(same(base)).toBe(GNTST_okay);
    expect(same({ ...base, srcOff: 2597 })).toBe(GNTST_bad_copy_arg);
    expect(same({ ...base, srcOff: 0, dstOff: 2596 })).toBe(GNTST_okay);
    expect(same({ ...base, srcOff: 0, dstOff: 2597 })).toBe(GNTST_bad_copy_arg);
    expect(same({ ...base, src: 2 })).toBe(GNTST_okay); // already pinned by dom0's mapping
    expect(same({ ...base, src: 3 })).toBe(GNTST_general_error); // pinned by guest 2
    const rx: Op = { flags: GNTCOPY_dest_gref, src: 0, srcDom: DOMID_SELF, srcOff: 0, dst: 1, dstDom: 1, dstOff: 2596, len: 1500, caller: 0 };
    expect(same(rx)).toBe(GNTST_okay);
    expect(same({ ...rx, dstOff: 2597 })).toBe(GNTST_bad_copy_arg);
    expect(same({ ...rx, dst: 0 })).toBe(GNTST_general_error); // read-only grant as destination
    expect(same({ ...rx, len: 0 })).toBe(GNTST_okay);
  });

  test('the generator reaches successful copies and each kind of error', () => {
    const seen = new Set<number>();
    fc.assert(fc.property(opArb, (o) => {
      const a = world();
      const u = (isGref: boolean, k: number) => (isGref ? a.refs[k]! : a.frames[k % a.frames.length]!);
      seen.add(a.h.hv.gnttab_copy_one(o.caller, o.flags, u((o.flags & 1) !== 0, o.src), o.srcDom, o.srcOff,
        u((o.flags & 2) !== 0, o.dst), o.dstDom, o.dstOff, o.len));
    }), { numRuns: 300, seed: 7 });
    expect(seen.has(GNTST_okay)).toBe(true);
    expect(seen.size).toBeGreaterThanOrEqual(5);
  });
});
