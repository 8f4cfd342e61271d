import { describe, expect, test } from 'vitest';
import {
  DOMID_SELF, GNTCOPY_dest_gref, GNTCOPY_source_gref, GNTMAP_device_map, GNTMAP_host_map, GNTMAP_readonly,
  GNTST_bad_copy_arg, GNTST_bad_domain, GNTST_bad_gntref, GNTST_bad_handle, GNTST_bad_page, GNTST_general_error,
  GNTST_no_device_space, GNTST_okay, GNTST_permission_denied, GTF_accept_transfer, GTF_permit_access, GTF_reading,
  GTF_readonly, GTF_transfer_committed, GTF_transfer_completed, GTF_writing,
} from '../../src/io/xen-constants';
import {
  EOPNOTSUPP, ENOSPC, GnttabCopyBatch, gnttab_set_map_op, gnttab_set_unmap_op, grantTableRows, INVALID_MFN,
  type GnttabCopy, type GnttabMapGrantRef,
} from '../../src/xen';
import { host } from './helpers';
import { Simulator } from '../../src/sim';
import { Params } from '../../src/params';
import { Hypervisor } from '../../src/xen';

const HOST_ADDR = 0x7f0000001000;

function mapOne(h: ReturnType<typeof host>, ref: number, flags = GNTMAP_host_map | GNTMAP_readonly, dom = 1): GnttabMapGrantRef {
  const op = gnttab_set_map_op(HOST_ADDR, flags, ref, dom);
  expect(h.hv.gnttab_map_grant_ref(0, [op])).toBe(0);
  return op;
}

function copyOp(flags: number, srcU: number, srcDom: number, srcOff: number, dstU: number, dstDom: number, dstOff: number, len: number): GnttabCopy {
  return { source: { u: srcU, domid: srcDom, offset: srcOff }, dest: { u: dstU, domid: dstDom, offset: dstOff }, len, flags, status: 99 };
}

describe('guest grant entries', () => {
  test('gnttab_grant_foreign_access() writes a real little-endian grant_entry_v1 (reference vector layout)', () => {
    const h = host();
    const ref = h.guest.gnttab.gnttab_grant_foreign_access(0, 0x12345 & 0x3ff, true);
    const frame = h.hv.grantFrame(1, 0);
    // flags permit|readonly = 5, domid 0, frame 0x345 (the reference vector uses frame 0x12345)
    expect([...frame.subarray(ref * 8, ref * 8 + 8)]).toEqual([0x05, 0x00, 0x00, 0x00, 0x45, 0x03, 0x00, 0x00]);
  });

  test('refs start at 8 (0..7 reserved), come from a LIFO free list, and the table grows by frames', () => {
    const h = host({ 'xen.max_grant_frames': 2 });
    const gt = h.guest.gnttab;
    const mfn = h.guest.pfn_to_gfn(1);
    expect(gt.gnttab_grant_foreign_access(0, mfn, false)).toBe(8);
    expect(gt.gnttab_grant_foreign_access(0, mfn, false)).toBe(9);
    expect(gt.gnttab_end_foreign_access_ref(8)).toBe(true);
    gt.gnttab_free_grant_reference(8);
    expect(gt.gnttab_grant_foreign_access(0, mfn, false)).toBe(8);
    // Exhaust frame 0 (refs 8..511), then frame 1 is added by GNTTABOP_setup_table.
    for (let i = 10; i < 512; i++) expect(gt.gnttab_grant_foreign_access(0, mfn, true)).toBe(i);
    expect(h.hv.domainById(1).nrGrantFrames).toBe(1);
    expect(gt.gnttab_grant_foreign_access(0, mfn, true)).toBe(512);
    expect(h.hv.domainById(1).nrGrantFrames).toBe(2);
    for (let i = 513; i < 1024; i++) gt.gnttab_grant_foreign_access(0, mfn, true);
    expect(gt.gnttab_grant_foreign_access(0, mfn, true)).toBe(-ENOSPC);
  });

  test('entry() throws naming the allowed range for a ref out of the table', () => {
    const h = host();
    expect(() => h.guest.gnttab.entry(512)).toThrow(/grant ref 512 is out of range; d1's table has refs 0..511/);
    expect(() => h.guest.gnttab.gnttab_free_grant_reference(3)).toThrow(/reserved/);
  });

  test('private pools: alloc/claim/release/free', () => {
    const h = host();
    const gt = h.guest.gnttab;
    const before = gt.freeCount;
    const pool = gt.gnttab_alloc_grant_references(4);
    if (typeof pool === 'number') throw new Error('alloc failed');
    expect(gt.freeCount).toBe(before - 4);
    const a = gt.gnttab_claim_grant_reference(pool);
    expect(a).toBe(8);
    gt.gnttab_release_grant_reference(pool, a);
    gt.gnttab_free_grant_references(pool);
    expect(gt.freeCount).toBe(before);
  });
});

describe('GNTTABOP_map_grant_ref', () => {
  test('a read-only host map sets GTF_reading only, pins hstr, and gives access to the bytes', () => {
    const h = host();
    h.guest.page(5).fill(0xab);
    const ref = h.guest.gnttab.gnttab_grant_foreign_access(0, h.guest.pfn_to_gfn(5), true);
    const op = mapOne(h, ref);
    expect(op.status).toBe(GNTST_okay);
    expect(op.handle).toBe(0);
    expect(h.guest.gnttab.flags(ref)).toBe(GTF_permit_access | GTF_readonly | GTF_reading);
    expect(h.hv.mappedPage(0, op.handle)[100]).toBe(0xab);
    expect(grantTableRows(h.hv, 1)[0]).toMatchObject({ ref, decoded: 'permit_access|readonly|reading', pinHostRead: 1, pinnedBy: 0 });
    expect(h.guest.gnttab.gnttab_query_foreign_access(ref)).toBe(true);
    expect(h.guest.gnttab.gnttab_end_foreign_access_ref(ref)).toBe(false);
  });

  test('a writable map sets GTF_reading|GTF_writing; the bits clear only when the last pin goes', () => {
    const h = host();
    const ref = h.guest.gnttab.gnttab_grant_foreign_access(0, h.guest.pfn_to_gfn(5), false);
    const w = mapOne(h, ref, GNTMAP_host_map);
    const r = mapOne(h, ref, GNTMAP_host_map | GNTMAP_readonly);
    expect(h.guest.gnttab.flags(ref)).toBe(GTF_permit_access | GTF_reading | GTF_writing);
    const unW = gnttab_set_unmap_op(HOST_ADDR, w.handle);
    h.hv.gnttab_unmap_grant_ref(0, [unW]);
    expect(unW.status).toBe(GNTST_okay);
    expect(h.guest.gnttab.flags(ref)).toBe(GTF_permit_access | GTF_reading);
    const unR = gnttab_set_unmap_op(HOST_ADDR, r.handle);
    h.hv.gnttab_unmap_grant_ref(0, [unR]);
    expect(h.guest.gnttab.flags(ref)).toBe(GTF_permit_access);
    expect(h.guest.gnttab.gnttab_end_foreign_access_ref(ref)).toBe(true);
    expect(h.guest.gnttab.flags(ref)).toBe(0);
  });

  test('flags without host_map or device_map -> GNTST_bad_gntref', () => {
    const h = host();
    const ref = h.guest.gnttab.gnttab_grant_foreign_access(0, h.guest.pfn_to_gfn(5), true);
    expect(mapOne(h, ref, GNTMAP_readonly).status).toBe(GNTST_bad_gntref);
  });

  test('unknown granting domain -> GNTST_bad_domain (DOMID_SELF is not accepted either)', () => {
    const h = host();
    expect(mapOne(h, 8, GNTMAP_host_map | GNTMAP_readonly, 7).status).toBe(GNTST_bad_domain);
    expect(mapOne(h, 8, GNTMAP_host_map | GNTMAP_readonly, DOMID_SELF).status).toBe(GNTST_bad_domain);
  });

  test('ref beyond the granter\'s table -> GNTST_bad_gntref', () => {
    const h = host();
    expect(mapOne(h, 512).status).toBe(GNTST_bad_gntref);
    expect(mapOne(h, 0xffffffff).status).toBe(GNTST_bad_gntref);
  });

  test('entry not permit_access, or granted to another domain -> GNTST_general_error (as _set_status_v1)', () => {
    const h = host();
    h.hv.createDomain({ name: 'guest2', pages: 8 });
    const gt = h.guest.gnttab;
    expect(mapOne(h, 20).status).toBe(GNTST_general_error); // invalid entry
    const toOther = gt.gnttab_grant_foreign_access(2, h.guest.pfn_to_gfn(5), true);
    expect(mapOne(h, toOther).status).toBe(GNTST_general_error);
    const transfer = gt.gnttab_grant_foreign_transfer(0, 5);
    expect(mapOne(h, transfer).status).toBe(GNTST_general_error);
    expect(gt.flags(toOther) & (GTF_reading | GTF_writing)).toBe(0);
  });

  test('writable map of a read-only grant -> GNTST_general_error and no busy bits left behind', () => {
    const h = host();
    const ref = h.guest.gnttab.gnttab_grant_foreign_access(0, h.guest.pfn_to_gfn(5), true);
    expect(mapOne(h, ref, GNTMAP_host_map).status).toBe(GNTST_general_error);
    expect(h.guest.gnttab.flags(ref)).toBe(GTF_permit_access | GTF_readonly);
  });

  test('a grant already pinned by another domain -> GNTST_general_error', () => {
    const h = host();
    h.hv.createDomain({ name: 'guest2', pages: 8 });
    const ref = h.guest.gnttab.gnttab_grant_foreign_access(0, h.guest.pfn_to_gfn(5), true);
    mapOne(h, ref);
    // Guest rewrites the entry to name d2 while d0 still holds it: d2's map fails on the active entry.
    h.guest.gnttab.gnttab_grant_foreign_access_ref(ref, 2, h.guest.pfn_to_gfn(5), true);
    const op = gnttab_set_map_op(HOST_ADDR, GNTMAP_host_map | GNTMAP_readonly, ref, 1);
    h.hv.gnttab_map_grant_ref(2, [op]);
    expect(op.status).toBe(GNTST_general_error);
  });

  test('frame not owned by the granter -> GNTST_bad_page', () => {
    const h = host();
    const ref = h.guest.gnttab.gnttab_grant_foreign_access(0, h.dom0.pfn_to_gfn(5), true);
    expect(mapOne(h, ref).status).toBe(GNTST_bad_page);
    expect(h.guest.gnttab.flags(ref)).toBe(GTF_permit_access | GTF_readonly);
  });

  test('maptrack full -> GNTST_no_device_space after 255 maps of one frame: the free list keeps its last entry', () => {
    const h = host({ 'xen.max_maptrack_frames': 1 });
    const refs = Array.from({ length: 256 }, () => h.guest.gnttab.gnttab_grant_foreign_access(0, h.guest.pfn_to_gfn(5), true));
    const ops = refs.map((ref) => gnttab_set_map_op(HOST_ADDR, GNTMAP_host_map | GNTMAP_readonly, ref, 1));
    h.hv.gnttab_map_grant_ref(0, ops);
    expect(ops.slice(0, 255).every((o) => o.status === GNTST_okay)).toBe(true);
    expect(ops.slice(0, 255).map((o) => o.handle)).toEqual(Array.from({ length: 255 }, (_, i) => i));
    expect(ops[255]!.status).toBe(GNTST_no_device_space);
  });

  test('the 256th live map gets handle 256 from a new maptrack page (255 stays last in the free list)', () => {
    const h = host({ 'xen.max_maptrack_frames': 2 });
    const refs = Array.from({ length: 258 }, () => h.guest.gnttab.gnttab_grant_foreign_access(0, h.guest.pfn_to_gfn(5), true));
    const ops = refs.map((ref) => gnttab_set_map_op(HOST_ADDR, GNTMAP_host_map | GNTMAP_readonly, ref, 1));
    h.hv.gnttab_map_grant_ref(0, ops);
    expect(ops.slice(254).map((o) => o.handle)).toEqual([254, 256, 257, 258]);
  });

  test('a pin counter reaching 128 (top bit of its 8-bit field) -> GNTST_general_error', () => {
    const h = host();
    const ref = h.guest.gnttab.gnttab_grant_foreign_access(0, h.guest.pfn_to_gfn(5), true);
    const ops = Array.from({ length: 129 }, () => gnttab_set_map_op(HOST_ADDR, GNTMAP_host_map | GNTMAP_readonly, ref, 1));
    h.hv.gnttab_map_grant_ref(0, ops);
    expect(ops[127]!.status).toBe(GNTST_okay);
    expect(ops[128]!.status).toBe(GNTST_general_error);
  });

  test('host_map with host_addr 0 -> GNTST_general_error, pins undone', () => {
    const h = host();
    const ref = h.guest.gnttab.gnttab_grant_foreign_access(0, h.guest.pfn_to_gfn(5), true);
    const op = gnttab_set_map_op(0, GNTMAP_host_map | GNTMAP_readonly, ref, 1);
    h.hv.gnttab_map_grant_ref(0, [op]);
    expect(op.status).toBe(GNTST_general_error);
    expect(h.hv.domainById(1).actPin[ref]).toBe(0);
    expect(h.guest.gnttab.flags(ref)).toBe(GTF_permit_access | GTF_readonly);
  });

  test('a batch with mixed results writes each status and returns 0; device_map fills dev_bus_addr', () => {
    const h = host();
    const mfn = h.guest.pfn_to_gfn(5);
    const ref = h.guest.gnttab.gnttab_grant_foreign_access(0, mfn, true);
    const ops = [
      gnttab_set_map_op(HOST_ADDR, GNTMAP_host_map | GNTMAP_readonly, ref, 1),
      gnttab_set_map_op(HOST_ADDR, GNTMAP_host_map | GNTMAP_readonly, 9999, 1),
      gnttab_set_map_op(HOST_ADDR, GNTMAP_device_map | GNTMAP_readonly, ref, 1),
      gnttab_set_map_op(HOST_ADDR, GNTMAP_host_map | GNTMAP_readonly, ref, 42),
    ];
    expect(h.hv.gnttab_map_grant_ref(0, ops)).toBe(0);
    expect(ops.map((o) => o.status)).toEqual([GNTST_okay, GNTST_bad_gntref, GNTST_okay, GNTST_bad_domain]);
    expect(ops[2]!.dev_bus_addr).toBe(mfn * 4096);
    expect(h.hv.lastCostNs).toBe(h.hv.costs.hypercall_ns + 4 * h.hv.costs.gnttab_map_ns);
  });
});

describe('GNTTABOP_unmap_grant_ref', () => {
  test('bad handles -> GNTST_bad_handle; wrong dev_bus_addr or host_addr -> GNTST_general_error', () => {
    const h = host();
    const ref = h.guest.gnttab.gnttab_grant_foreign_access(0, h.guest.pfn_to_gfn(5), true);
    const m = mapOne(h, ref, GNTMAP_host_map | GNTMAP_device_map | GNTMAP_readonly);
    const ops = [
      gnttab_set_unmap_op(HOST_ADDR, 12345),
      gnttab_set_unmap_op(HOST_ADDR, 5), // inside the maptrack page but unused
      gnttab_set_unmap_op(HOST_ADDR, m.handle, 4096),
      gnttab_set_unmap_op(HOST_ADDR + 4096, m.handle),
    ];
    expect(h.hv.gnttab_unmap_grant_ref(0, ops)).toBe(0);
    expect(ops.map((o) => o.status)).toEqual([GNTST_bad_handle, GNTST_bad_handle, GNTST_general_error, GNTST_general_error]);
    expect(h.guest.gnttab.flags(ref) & GTF_reading).toBe(GTF_reading);
    const ok = gnttab_set_unmap_op(HOST_ADDR, m.handle, m.dev_bus_addr);
    h.hv.gnttab_unmap_grant_ref(0, [ok]);
    expect(ok.status).toBe(GNTST_okay);
    expect(h.guest.gnttab.flags(ref)).toBe(GTF_permit_access | GTF_readonly);
    const again = gnttab_set_unmap_op(HOST_ADDR, m.handle);
    h.hv.gnttab_unmap_grant_ref(0, [again]);
    expect(again.status).toBe(GNTST_bad_handle);
  });

  test('one TLB flush per 32 ops is charged', () => {
    const h = host();
    const ref = h.guest.gnttab.gnttab_grant_foreign_access(0, h.guest.pfn_to_gfn(5), true);
    const maps = Array.from({ length: 33 }, () => gnttab_set_map_op(HOST_ADDR, GNTMAP_host_map | GNTMAP_readonly, ref, 1));
    h.hv.gnttab_map_grant_ref(0, maps);
    const unmaps = maps.map((m) => gnttab_set_unmap_op(HOST_ADDR, m.handle));
    h.hv.gnttab_unmap_grant_ref(0, unmaps);
    const c = h.hv.costs;
    expect(h.hv.lastCostNs).toBe(c.hypercall_ns + 33 * c.gnttab_unmap_ns + 2 * c.tlb_flush_ns);
    expect(h.guest.gnttab.flags(ref)).toBe(GTF_permit_access | GTF_readonly);
  });
});

describe('GNTTABOP_copy', () => {
  function setup() {
    const h = host();
    const src = h.guest.page(3);
    for (let i = 0; i < 4096; i++) src[i] = (i * 7) & 0xff;
    const ref = h.guest.gnttab.gnttab_grant_foreign_access(0, h.guest.pfn_to_gfn(3), true);
    const wref = h.guest.gnttab.gnttab_grant_foreign_access(0, h.guest.pfn_to_gfn(4), false);
    return { h, ref, wref, local: h.dom0.pfn_to_gfn(2) };
  }

  test('gref source -> local frame copies the real bytes and leaves no busy bits', () => {
    const { h, ref, local } = setup();
    const st = h.hv.gnttab_copy_one(0, GNTCOPY_source_gref, ref, 1, 100, local, DOMID_SELF, 7, 1500);
    expect(st).toBe(GNTST_okay);
    const dst = h.dom0.page(2);
    const src = h.guest.page(3);
    expect(dst.subarray(7, 1507)).toEqual(src.subarray(100, 1600));
    expect(dst[6]).toBe(0);
    expect(dst[1507]).toBe(0);
    expect(h.guest.gnttab.flags(ref)).toBe(GTF_permit_access | GTF_readonly);
    expect(h.hv.lastCostNs).toBe(h.hv.costs.hypercall_ns + h.hv.costs.gnttab_copy_op_ns + Math.round(1500 * h.hv.costs.gnttab_copy_byte_ns));
  });

  test('local frame -> gref dest (netback receive path) writes into the guest page', () => {
    const { h, wref, local } = setup();
    h.dom0.page(2).fill(0x5a);
    expect(h.hv.gnttab_copy_one(0, GNTCOPY_dest_gref, local, DOMID_SELF, 0, wref, 1, 4000, 96)).toBe(GNTST_okay);
    expect(h.guest.page(4)[4095]).toBe(0x5a);
    expect(h.guest.page(4)[3999]).toBe(0);
    expect(h.guest.gnttab.flags(wref)).toBe(GTF_permit_access);
  });

  test('offset + len > 4096 on either side -> GNTST_bad_copy_arg, nothing written', () => {
    const { h, ref, local } = setup();
    expect(h.hv.gnttab_copy_one(0, GNTCOPY_source_gref, ref, 1, 4000, local, DOMID_SELF, 0, 97)).toBe(GNTST_bad_copy_arg);
    expect(h.hv.gnttab_copy_one(0, GNTCOPY_source_gref, ref, 1, 0, local, DOMID_SELF, 4095, 2)).toBe(GNTST_bad_copy_arg);
    expect(h.dom0.page(2).every((b) => b === 0)).toBe(true);
    expect(h.guest.gnttab.flags(ref)).toBe(GTF_permit_access | GTF_readonly);
  });

  test('bad ref -> GNTST_bad_gntref; unknown domain -> GNTST_bad_domain', () => {
    const { h, local } = setup();
    expect(h.hv.gnttab_copy_one(0, GNTCOPY_source_gref, 600, 1, 0, local, DOMID_SELF, 0, 10)).toBe(GNTST_bad_gntref);
    expect(h.hv.gnttab_copy_one(0, GNTCOPY_source_gref, 8, 9, 0, local, DOMID_SELF, 0, 10)).toBe(GNTST_bad_domain);
  });

  test('a frame (not a gref) of another domain -> GNTST_permission_denied', () => {
    const { h, local } = setup();
    expect(h.hv.gnttab_copy_one(0, 0, h.guest.pfn_to_gfn(3), 1, 0, local, DOMID_SELF, 0, 10)).toBe(GNTST_permission_denied);
  });

  test('a DOMID_SELF frame the caller does not own -> GNTST_bad_page', () => {
    const { h, ref } = setup();
    expect(h.hv.gnttab_copy_one(0, GNTCOPY_source_gref, ref, 1, 0, h.guest.pfn_to_gfn(9), DOMID_SELF, 0, 10)).toBe(GNTST_bad_page);
  });

  test('read-only grant as destination -> GNTST_general_error (Xen\'s write-pin check), entry unchanged', () => {
    const { h, ref, local } = setup();
    expect(h.hv.gnttab_copy_one(0, GNTCOPY_dest_gref, local, DOMID_SELF, 0, ref, 1, 0, 10)).toBe(GNTST_general_error);
    expect(h.guest.gnttab.flags(ref)).toBe(GTF_permit_access | GTF_readonly);
  });

  test('batched copy through the byte-exact struct array: mixed statuses, status at byte 36 as int16', () => {
    const { h, ref, local } = setup();
    const b = new GnttabCopyBatch(4);
    b.push(GNTCOPY_source_gref, ref, 1, 0, local, DOMID_SELF, 0, 64);
    b.push(GNTCOPY_source_gref, ref, 1, 64, local, DOMID_SELF, 64, 64);
    b.push(GNTCOPY_source_gref, ref, 1, 4090, local, DOMID_SELF, 128, 64);
    b.push(GNTCOPY_source_gref, 7777, 1, 0, local, DOMID_SELF, 0, 1);
    expect(h.hv.gnttab_copy(0, b)).toBe(0);
    expect([0, 1, 2, 3].map((i) => b.status(i))).toEqual([GNTST_okay, GNTST_okay, GNTST_bad_copy_arg, GNTST_bad_gntref]);
    expect([...b.bytes.subarray(2 * 40 + 36, 2 * 40 + 38)]).toEqual([0xf6, 0xff]);
    expect(h.dom0.page(2).subarray(0, 128)).toEqual(h.guest.page(3).subarray(0, 128));
    expect(h.guest.gnttab.flags(ref)).toBe(GTF_permit_access | GTF_readonly);
    expect(b.get(0)).toMatchObject({ source: { u: ref, domid: 1, offset: 0 }, dest: { u: local, domid: DOMID_SELF }, len: 64, status: 0 });
    expect(h.hv.sim.counters.get('xen.gnttab').copy_bytes).toBe(128);
  });

  test('plain-object ops work too and a copy while the grant is mapped keeps the map\'s pin', () => {
    const { h, ref, local } = setup();
    mapOne(h, ref);
    const ops = [copyOp(GNTCOPY_source_gref, ref, 1, 0, local, DOMID_SELF, 0, 10)];
    h.hv.gnttab_copy(0, ops);
    expect(ops[0]!.status).toBe(GNTST_okay);
    expect(h.guest.gnttab.flags(ref)).toBe(GTF_permit_access | GTF_readonly | GTF_reading);
    expect(h.hv.domainById(1).actPin[ref]).toBe(0x100);
  });

  test('hypercalls with garbage never throw; API misuse does', () => {
    const { h } = setup();
    expect(h.hv.gnttab_copy_one(0, 0xffff, 0xffffffff, 0xffff, 0xffff, 0xffffffff, 0xffff, 0xffff, 0xffff)).toBeLessThan(0);
    expect(() => h.hv.gnttab_copy_one(5, 0, 0, 0, 0, 0, 0, 0, 0)).toThrow(/caller domain 5 does not exist/);
    expect(() => new GnttabCopyBatch(0)).toThrow(/capacity 0 is not allowed/);
    expect(() => h.hv.gnttab_map_grant_ref(0, [], 3)).toThrow(/count 3 is not allowed/);
    expect(() => h.guest.page(64)).toThrow(/pfn 64 is out of range; d1 has pfns 0..63/);
  });
});

describe('GNTTABOP_transfer (page flipping)', () => {
  function flipSetup(overrides: Record<string, boolean> = {}) {
    const h = host(overrides);
    // The frontend gives up pfn 10 and lets dom0 transfer a page into it.
    expect(h.hv.decrease_reservation(1, 10)).toBe(0);
    const ref = h.guest.gnttab.gnttab_grant_foreign_transfer(0, 10);
    const mfn = h.dom0.pfn_to_gfn(20);
    h.dom0.page(20).fill(0xee);
    return { h, ref, mfn };
  }

  test('success moves ownership, writes the frame and GTF_transfer_completed, updates both p2m', () => {
    const { h, ref, mfn } = flipSetup();
    const op = { mfn, domid: 1, ref, status: 99 };
    expect(h.hv.gnttab_transfer(0, [op])).toBe(0);
    expect(op.status).toBe(GNTST_okay);
    expect(h.hv.mem.owner[mfn]).toBe(1);
    expect(h.guest.gnttab.flags(ref)).toBe(GTF_accept_transfer | GTF_transfer_committed | GTF_transfer_completed);
    expect(h.guest.gnttab.gnttab_end_foreign_transfer_ref(ref)).toBe(mfn);
    expect(h.hv.domainById(1).p2m[10]).toBe(mfn);
    expect(h.guest.page(10)[0]).toBe(0xee);
    expect(h.hv.domainById(0).p2m[20]).toBe(INVALID_MFN);
  });

  test('a frame the caller does not own, or one still mapped -> GNTST_bad_page and the caller keeps it', () => {
    const { h, ref } = flipSetup();
    const notMine = { mfn: h.guest.pfn_to_gfn(3), domid: 1, ref, status: 99 };
    h.hv.gnttab_transfer(0, [notMine]);
    expect(notMine.status).toBe(GNTST_bad_page);
    const g2 = h.guest.gnttab.gnttab_grant_foreign_access(1, h.dom0.pfn_to_gfn(21), true);
    void g2;
    const dref = h.dom0.gnttab.gnttab_grant_foreign_access(1, h.dom0.pfn_to_gfn(21), true);
    const m = gnttab_set_map_op(HOST_ADDR, GNTMAP_host_map | GNTMAP_readonly, dref, 0);
    h.hv.gnttab_map_grant_ref(1, [m]);
    expect(m.status).toBe(GNTST_okay);
    const mapped = { mfn: h.dom0.pfn_to_gfn(21), domid: 1, ref, status: 99 };
    h.hv.gnttab_transfer(0, [mapped]);
    expect(mapped.status).toBe(GNTST_bad_page);
    expect(h.hv.mem.owner[mapped.mfn]).toBe(0);
  });

  test('unknown domain -> GNTST_bad_domain; wrong entry -> GNTST_general_error; the page is lost either way', () => {
    const { h, ref, mfn } = flipSetup();
    const free0 = h.hv.mem.freePages;
    const badDom = { mfn, domid: 9, ref, status: 99 };
    h.hv.gnttab_transfer(0, [badDom]);
    expect(badDom.status).toBe(GNTST_bad_domain);
    expect(h.hv.mem.freePages).toBe(free0 + 1);
    const m2 = h.dom0.pfn_to_gfn(22);
    const badRef = { mfn: m2, domid: 1, ref: ref + 1, status: 99 };
    h.hv.gnttab_transfer(0, [badRef]);
    expect(badRef.status).toBe(GNTST_general_error);
    expect(h.hv.mem.owner[m2]).toBe(-1);
    expect(h.hv.mem.freePages).toBe(free0 + 2); // freed, back in the host's pool
    expect(h.guest.gnttab.gnttab_end_foreign_transfer_ref(ref)).toBe(0);
  });

  test('receiver at max_pages -> GNTST_general_error', () => {
    const h = host();
    const ref = h.guest.gnttab.gnttab_grant_foreign_transfer(0, 10);
    const op = { mfn: h.dom0.pfn_to_gfn(20), domid: 1, ref, status: 99 };
    h.hv.gnttab_transfer(0, [op]);
    expect(op.status).toBe(GNTST_general_error);
  });

  test('transfers disabled -> the whole call returns -EOPNOTSUPP', () => {
    const { h, ref, mfn } = flipSetup({ 'xen.grant_transfer': false });
    const op = { mfn, domid: 1, ref, status: 99 };
    expect(h.hv.gnttab_transfer(0, [op])).toBe(-EOPNOTSUPP);
    expect(op.status).toBe(99);
  });
});

describe('the guest\'s grant ref free list (Linux)', () => {
  test('a grown table\'s refs join the tail of the free list: two pools of 256 take 8..263, then 264..511 and 512..519', () => {
    const h = host();
    const g = h.guest.gnttab;
    const claimAll = (n: number): number[] => {
      const pool = g.gnttab_alloc_grant_references(n);
      if (typeof pool === 'number') throw new Error(`alloc failed: ${pool}`);
      return Array.from({ length: n }, () => g.gnttab_claim_grant_reference(pool));
    };
    const free0 = g.freeCount;
    const a = claimAll(free0 - 248);
    expect(a[0]).toBe(8);
    expect(g.freeCount).toBe(248);
    const b = claimAll(256);
    const first = a[a.length - 1]! + 1;
    expect(b).toEqual([...Array.from({ length: 248 }, (_, i) => first + i), ...Array.from({ length: 8 }, (_, i) => 512 + i)]);
  });
});

describe('deferred revocation', () => {
  test('gnttab_end_foreign_access() on a mapped grant defers and retries every second until unmapped', () => {
    const h = host();
    const ref = h.guest.gnttab.gnttab_grant_foreign_access(0, h.guest.pfn_to_gfn(5), true);
    const m = mapOne(h, ref);
    h.guest.gnttab.gnttab_end_foreign_access(ref);
    expect(h.guest.gnttab.deferredRefs).toEqual([ref]);
    h.sim.run({ until: 1_500_000_000 });
    expect(h.guest.gnttab.deferredRefs).toEqual([ref]);
    h.hv.gnttab_unmap_grant_ref(0, [gnttab_set_unmap_op(HOST_ADDR, m.handle)]);
    h.sim.run({ until: 2_500_000_000 });
    expect(h.guest.gnttab.deferredRefs).toEqual([]);
    expect(h.guest.gnttab.flags(ref)).toBe(0);
    expect(h.guest.gnttab.gnttab_grant_foreign_access(0, h.guest.pfn_to_gfn(5), true)).toBe(ref);
  });

  test('each timer run retries at most 10 deferred grants: 15 unmapped at once are freed 10 after one second, 5 after two', () => {
    const h = host();
    const refs = Array.from({ length: 15 }, () => h.guest.gnttab.gnttab_grant_foreign_access(0, h.guest.pfn_to_gfn(5), true));
    const maps = refs.map((ref) => mapOne(h, ref));
    for (const ref of refs) h.guest.gnttab.gnttab_end_foreign_access(ref);
    h.hv.gnttab_unmap_grant_ref(0, maps.map((m) => gnttab_set_unmap_op(HOST_ADDR, m.handle)));
    h.sim.run({ until: 1_500_000_000 });
    expect(h.guest.gnttab.deferredRefs).toEqual(refs.slice(10));
    h.sim.run({ until: 2_500_000_000 });
    expect(h.guest.gnttab.deferredRefs).toEqual([]);
  });
});

describe('XENMEM_decrease_reservation and XENMEM_populate_physmap (a balloon in and out)', () => {
  test('a page given back can be populated again: a fresh zeroed frame at the same pfn, within max_pages', () => {
    const h = host();
    const d = h.hv.domainById(1);
    h.guest.page(10).fill(0xab);
    const tot = d.totPages;
    expect(h.hv.decrease_reservation(1, 10)).toBe(0);
    expect(d.totPages).toBe(tot - 1);
    expect(() => h.hv.decrease_reservation(1, 10)).toThrow(/decrease_reservation: d1 pfn 10 is not populated/);
    const mfn = h.hv.populate_physmap(1, 10);
    expect(mfn).toBeGreaterThanOrEqual(0);
    expect(d.p2m[10]).toBe(mfn);
    expect(h.hv.mem.m2p[mfn]).toBe(10);
    expect(h.hv.mem.owner[mfn]).toBe(1);
    expect(d.totPages).toBe(tot);
    expect(Array.from(h.guest.page(10).subarray(0, 16))).toEqual(new Array(16).fill(0));
    // populating a pfn that has a page is API misuse; another page given back comes back the same way
    expect(() => h.hv.populate_physmap(1, 10)).toThrow(/pfn 10 is already populated/);
    expect(h.hv.decrease_reservation(1, 11)).toBe(0);
    expect(h.hv.populate_physmap(1, 11)).toBeGreaterThanOrEqual(0);
  });

  test('decrease_reservation with several extents is one hypercall; it stops at the first page another domain still maps (nr_done)', () => {
    const h = host();
    const d = h.hv.domainById(1);
    const calls = d.hypercalls;
    const tot = d.totPages;
    const mfn13 = d.p2m[13]!;
    h.hv.mem.mapRefs[mfn13]!++; // a foreign mapping of pfn 13, as a grant map leaves it
    expect(h.hv.decrease_reservation_extents(1, [10, 11, 12, 13, 14], 5)).toBe(3);
    expect(d.hypercalls).toBe(calls + 1);
    expect(d.totPages).toBe(tot - 3);
    expect([10, 11, 12, 13, 14].map((p) => d.p2m[p] === INVALID_MFN)).toEqual([true, true, true, false, false]);
    h.hv.mem.mapRefs[mfn13]!--;
    expect(h.hv.decrease_reservation_extents(1, [13, 14], 2)).toBe(2);
    expect(() => h.hv.decrease_reservation_extents(1, [15], 2)).toThrow(/count 2 is not allowed; use an integer in 0\.\.1/);
  });

  test('populate_physmap refuses a domain at max_pages with -1 and leaves the pfn unpopulated', () => {
    const sim = new Simulator({ seed: 1 });
    const hv = new Hypervisor(sim, Params.defaults().with({ 'xen.host_pages': 1024 }));
    hv.createDomain({ name: 'Domain-0', pages: 64 });
    hv.createDomain({ name: 'small', pages: 8, pfns: 16 });
    expect(hv.populate_physmap(1, 12)).toBe(-1);
    expect(hv.domainById(1).p2m[12]).toBe(INVALID_MFN);
    hv.createDomain({ name: 'roomy', pages: 8, maxPages: 9, pfns: 16 });
    expect(hv.populate_physmap(2, 12)).toBeGreaterThanOrEqual(0);
    expect(hv.populate_physmap(2, 13)).toBe(-1);
  });
});
