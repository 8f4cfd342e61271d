/**
 * The walk's hypercall steps (lane 'xen': gnttab_batch_copy, gnttab_map_refs, gnttab_unmap_refs,
 * classic's gnttab_map_grant_ref / gnttab_copy / gnttab_transfer / gnttab_unmap_grant_ref) carry
 * each packet's share of the batch's cost and the domain that made the call: summed over a stream
 * they are exactly what Xen charged dom0 for those hypercalls.
 */
import { describe, expect, it } from 'vitest';
import { buildXenHost } from '../../src/topo/host';

const GNTTAB = ['xen.gnttab.copy', 'xen.gnttab.map', 'xen.gnttab.unmap', 'xen.gnttab.transfer'] as const;

describe.each([
  ['modern', undefined], ['classic', undefined], ['classic', 'flip'],
] as const)('hypercall steps, %s %s', (design, rxMode) => {
  it('both directions: the xen-lane steps\' cpuNs add up to the grant hypercalls\' cost, all on dom0', () => {
    const host = buildXenHost({ seed: 5, guests: [{ name: 'g', design, rxMode, params: { 'netfront.design': design } }] });
    const g = host.guest('g');
    const ext = host.external;
    ext.endpoint.bind(9001);
    g.endpoint.bind(9002);
    g.endpoint.sendUdp(ext.endpoint.ip, 9001, 64);
    ext.endpoint.sendUdp(g.ip, 9002, 64);
    host.runFor(host.ms(2));
    const steps = host.sim.trace.record('pkt.step');
    const calls = GNTTAB.map((ev) => host.sim.trace.record(ev));
    for (let b = 0; b < 10; b++) {
      for (let i = 0; i < 8; i++) {
        g.endpoint.sendUdp(ext.endpoint.ip, 9001, 1400);
        ext.endpoint.sendUdp(g.ip, 9002, 1400);
      }
      host.runFor(host.us(100));
    }
    host.runFor(host.ms(3));
    const xen = steps.records.filter((r) => r.lane === 'xen');
    expect(xen.length).toBeGreaterThan(160);
    expect(new Set(xen.map((r) => r.dom))).toEqual(new Set([0]));
    const stepNs = xen.reduce((s, r) => s + r.cpuNs, 0);
    const charged = calls.flatMap((c) => c.records).filter((r) => r.dom === 0).reduce((s, r) => s + r.costNs, 0);
    expect(stepNs).toBe(charged);
    expect(stepNs).toBeGreaterThan(0);
  });
});
