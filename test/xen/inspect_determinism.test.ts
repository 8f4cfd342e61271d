import { expect, test } from 'vitest';
import { DOMID_SELF, GNTCOPY_source_gref, GNTMAP_host_map, GNTMAP_readonly } from '../../src/io/xen-constants';
import { decodeGrantFlags, gnttab_set_map_op, grantTableRows, renderRows, renderXenstore, xenstoreRows } from '../../src/xen';
import { host } from './helpers';

/** A small scripted workload touching every subsystem; returns the JSONL trace. */
function workload(): string {
  const h = host();
  const rec = h.sim.trace.record('xen.');
  const g = h.guest;
  const ref = g.gnttab.gnttab_grant_foreign_access(0, g.pfn_to_gfn(3), true);
  const port = g.xenbus_alloc_evtchn(0);
  h.dom0.bind_interdomain_evtchn_to_irqhandler(1, port, () => {
    h.hv.gnttab_copy_one(0, GNTCOPY_source_gref, ref, 1, 0, h.dom0.pfn_to_gfn(1), DOMID_SELF, 0, 60);
  });
  h.hv.xenstore.write('/local/domain/1/device/vif/0/state', '1');
  for (let i = 0; i < 20; i++) g.notify_remote_via_evtchn(port);
  h.sim.run();
  rec.stop();
  return rec.toJsonl();
}

test('same workload, same trace: the hypervisor model is deterministic', () => {
  const a = workload();
  expect(a.length).toBeGreaterThan(200);
  expect(workload()).toBe(a);
  expect(a).toContain('{"dom":1,"port":1,"remoteDom":0,"remotePort":1,"result":"coalesced"');
});

test('grantTableRows()/renderRows() decode flags and pins; xenstoreRows() lists the tree', () => {
  const h = host();
  const ref = h.guest.gnttab.gnttab_grant_foreign_access(0, h.guest.pfn_to_gfn(3), true);
  h.hv.gnttab_map_grant_ref(0, [gnttab_set_map_op(0x1000, GNTMAP_host_map | GNTMAP_readonly, ref, 1)]);
  const rows = grantTableRows(h.hv, 1);
  expect(rows).toEqual([{
    ref: 8, flags: 13, decoded: 'permit_access|readonly|reading', domid: 0, frame: h.guest.pfn_to_gfn(3),
    pinHostRead: 1, pinHostWrite: 0, pinDevRead: 0, pinDevWrite: 0, pinnedBy: 0,
  }]);
  const text = renderRows(rows, ['ref', 'decoded', 'domid', 'pinHostRead']);
  expect(text.split('\n')[0]).toBe('ref  decoded                         domid  pinHostRead');
  expect(text).toContain('8    permit_access|readonly|reading  0      1');
  expect(decodeGrantFlags(0)).toBe('invalid');
  expect(decodeGrantFlags(2 | 4 | 8)).toBe('accept_transfer|transfer_committed|transfer_completed');
  expect(xenstoreRows(h.hv, '/local/domain/1')).toEqual([
    { path: '/local/domain/1', value: '', depth: 0 },
    { path: '/local/domain/1/name', value: 'guest1', depth: 1 },
    { path: '/local/domain/1/domid', value: '1', depth: 1 },
  ]);
  expect(renderXenstore(h.hv, '/local/domain/1')).toBe('1 = ""\n  name = "guest1"\n  domid = "1"\n');
});
