/**
 * The walk's hypercall steps (lane 'xen': gnttab_batch_copy, gnttab_map_refs, gnttab_unmap_refs,
 * classic's gnttab_map_grant_ref / gnttab_copy / gnttab_transfer / gnttab_unmap_grant_ref) carry
 * each packet's share of the batch's cost and the domain that made the call: summed over a stream
 * they are exactly what Xen charged dom0 for those hypercalls.
 */
import { describe, expect, it } from 'vitest';
import { twoWayBursts, twoWayHost } from './two-way';

const GNTTAB = ['xen.gnttab.copy', 'xen.gnttab.map', 'xen.gnttab.unmap', 'xen.gnttab.transfer'] as const;

describe.each([
  ['modern', undefined], ['classic', undefined], ['classic', 'flip'],
] as const)('hypercall steps, %s %s', (design, rxMode) => {
  it('both directions: the xen-lane steps\' cpuNs add up to the grant hypercalls\' cost, all on dom0', () => {
    const t = twoWayHost(5, design, rxMode);
    const host = t.host;
    const steps = host.sim.trace.record('pkt.step');
    const calls = GNTTAB.map((ev) => host.sim.trace.record(ev));
    twoWayBursts(t, 10, 8, 100);
    const xen = steps.records.filter((r) => r.lane === 'xen');
    expect(xen.length).toBeGreaterThan(160);
    expect(new Set(xen.map((r) => r.dom))).toEqual(new Set([0]));
    const stepNs = xen.reduce((s, r) => s + r.cpuNs, 0);
    const charged = calls.flatMap((c) => c.records).filter((r) => r.dom === 0).reduce((s, r) => s + r.costNs, 0);
    expect(stepNs).toBe(charged);
    expect(stepNs).toBeGreaterThan(0);
  });
});
