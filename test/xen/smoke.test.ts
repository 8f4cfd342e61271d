import { test, expect } from 'vitest';
import { Simulator } from '../../src/sim';
import { Params } from '../../src/params';
import { Hypervisor, GnttabCopyBatch } from '../../src/xen';
import { GNTCOPY_source_gref, DOMID_SELF, GNTST_okay } from '../../src/io/xen-constants';
test('smoke', () => {
  const sim = new Simulator();
  const hv = new Hypervisor(sim, Params.defaults().with({ 'xen.host_pages': 1024 }));
  const d0 = hv.createDomain({ name: 'Domain-0', pages: 64 });
  const g = hv.createDomain({ name: 'g', pages: 64 });
  g.page(3).fill(7);
  const ref = g.gnttab.gnttab_grant_foreign_access(0, g.pfn_to_gfn(3), true);
  expect(ref).toBe(8);
  const st = hv.gnttab_copy_one(0, GNTCOPY_source_gref, ref, 1, 0, d0.pfn_to_gfn(1), DOMID_SELF, 10, 1500);
  expect(st).toBe(GNTST_okay);
  expect(d0.page(1)[10]).toBe(7);
  expect(d0.page(1)[1509]).toBe(7);
  expect(d0.page(1)[1510]).toBe(0);
});
