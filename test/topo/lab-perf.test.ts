import { describe, expect, it } from 'vitest';
import { buildXenHost } from '../../src/topo/host';
import { dom0CpuByStep } from '../../src/topo/lab-tx';
import {
  SATURATED, binSum, bottleneckOf, costParts, frameSizes, hostResources, lineRatePps, pathOrder, runLoadPoint, sweepRows,
  utilisationMeter, workDoneNs, type BusyResource, type UtilisationRow,
} from '../../src/topo/lab-perf';
import { Cpu } from '../../src/sim/cpu';
import { ITR_ADAPTIVE_MAX_USECS } from '../../src/drivers/nic/itr';
import type { AnyTraceRecord } from '../../src/sim/trace';

function cpuRes(cpu: Cpu): BusyResource {
  return { name: cpu.name, kind: 'cpu', busyNs: () => cpu.busyNs, busyUntil: () => cpu.busyUntil };
}

function util(resource: string, utilisation: number): UtilisationRow {
  return { resource, kind: 'cpu', busy_ns: 0, elapsed_ns: 1, utilisation };
}

describe('workDoneNs()', () => {
  it('is busyNs when the work is finished and leaves out what is still queued otherwise', () => {
    expect(workDoneNs(5000, 900, 1000)).toBe(5000);
    expect(workDoneNs(5000, 1000, 1000)).toBe(5000);
    expect(workDoneNs(5000, 3000, 1000)).toBe(3000);
    expect(workDoneNs(100, 5000, 1000)).toBe(0);
  });

  it('names the bad parameter', () => {
    expect(() => workDoneNs(-1, 0, 0)).toThrow(/workDoneNs: busyNs -1 is not allowed/);
    expect(() => workDoneNs(0, Number.NaN, 0)).toThrow(/workDoneNs: busyUntil NaN is not allowed/);
  });
});

describe('utilisationMeter()', () => {
  it('equals busy ns / elapsed for an idle-at-both-ends CPU and stops at 100 % for a saturated one', () => {
    const host = buildXenHost({ seed: 3 });
    const cpu = new Cpu('test.cpu');
    const meter = utilisationMeter(host, [cpuRes(cpu)]);
    cpu.run(host.now, 300);
    cpu.run(host.now + 10, 200);
    host.runFor(1000);
    let [row] = meter.read();
    expect(row).toEqual({ resource: 'test.cpu', kind: 'cpu', busy_ns: 500, elapsed_ns: 1000, utilisation: 0.5 });
    // 5 µs of work submitted now: over the next µs the CPU is busy all the time, not 5 times over.
    meter.start();
    cpu.run(host.now, 5000);
    host.runFor(1000);
    [row] = meter.read();
    expect(row!.busy_ns).toBe(1000);
    expect(row!.utilisation).toBe(1);
    expect(cpu.busyNs - 500).toBe(5000); // what Cpu.utilisation would have counted
    // The rest is done over the next 4 µs, and nothing more.
    meter.start();
    host.runFor(8000);
    [row] = meter.read();
    expect(row!.busy_ns).toBe(4000);
    expect(row!.utilisation).toBe(0.5);
  });

  it('covers every guest vCPU, dom0, the client and both wire directions', () => {
    const host = buildXenHost({ seed: 3, guests: [{ name: 'a' }, { name: 'b' }] });
    expect(hostResources(host).map((r) => `${r.kind}:${r.name}`)).toEqual([
      'cpu:a vCPU', 'cpu:b vCPU', 'cpu:dom0 CPU', 'cpu:client CPU', 'link:wire dom0→client', 'link:wire client→dom0',
    ]);
    expect(() => hostResources(null as never)).toThrow(/hostResources: host must be a XenHost/);
  });
});

describe('frameSizes() and lineRatePps()', () => {
  it('pads short frames to 60 bytes and gives 812.7 kpps at 1518-byte frames on 10 GbE', () => {
    expect(frameSizes(1472)).toEqual({ payload: 1472, ip: 1500, frame: 1514, wire: 1538 });
    expect(frameSizes(0).frame).toBe(60);
    expect(frameSizes(18)).toEqual({ payload: 18, ip: 46, frame: 60, wire: 84 });
    expect(Math.round(lineRatePps(1472))).toBe(812_744);
    expect(Math.round(lineRatePps(18))).toBe(14_880_952);
    expect(Math.round(lineRatePps(1472, 1e9))).toBe(81_274);
    expect(() => frameSizes(1473)).toThrow(/frameSizes: payload 1473 is not allowed; use an integer in 0..1472/);
  });
});

describe('bottleneckOf() and pathOrder()', () => {
  it('picks the last saturated resource along the path, or none', () => {
    const tx = pathOrder('tx', 'web', 'client');
    expect(tx).toEqual(['web vCPU', 'dom0 CPU', 'wire dom0→client', 'client CPU']);
    expect(pathOrder('rx')).toEqual(['client CPU', 'wire client→dom0', 'dom0 CPU', 'guest vCPU']);
    const rows = [util('web vCPU', 1), util('dom0 CPU', 1), util('wire dom0→client', 0.3), util('client CPU', 0.2)];
    expect(bottleneckOf(rows, tx)).toEqual({ resource: 'dom0 CPU', utilisation: 1 });
    rows[1]!.utilisation = SATURATED - 0.01;
    expect(bottleneckOf(rows, tx).resource).toBe('web vCPU');
    rows[0]!.utilisation = 0.5;
    expect(bottleneckOf(rows, tx)).toEqual({ resource: 'none', utilisation: SATURATED - 0.01 });
    expect(() => pathOrder('up' as never)).toThrow(/pathOrder: direction 'up' is not allowed/);
  });
});

/** Datagrams of a 50 kpps stream that fit in the longest adaptive moderation interval (126 µs). */
const MODERATION_SLACK = Math.ceil(ITR_ADAPTIVE_MAX_USECS * 1e-6 * 50_000);

describe('runLoadPoint()', () => {
  it('delivers everything below saturation, and its delivered count is the receiving socket\'s (udp_rcv steps in the window)', () => {
    const run = runLoadPoint({ direction: 'tx', offeredPps: 50_000, warmupNs: 500_000, windowNs: 1_000_000, record: ['pkt.step'] });
    const p = run.point;
    expect(p.attempted).toBe(50);
    expect(p.sent).toBe(50);
    // A frame may wait one moderation interval at the receiving NIC, so the window's edges can move it.
    expect(Math.abs(p.delivered - 50)).toBeLessThanOrEqual(MODERATION_SLACK);
    expect(p.dropped).toBe(0);
    expect(p.bottleneck).toBe('none');
    const rcv = run.records.filter((r) => r.fn === 'udp_rcv' && r.dom === -1).length;
    expect(rcv).toBe(p.delivered);
    expect(run.sock.packets).toBeGreaterThan(p.delivered); // the warm-up's datagrams arrived before the window
    expect(p.delivered_pps).toBe(Math.round(p.delivered / ((run.windowEnd - run.windowStart) / 1e9)));
    expect(p.delivered_gbps).toBeCloseTo((p.delivered_pps * 1538 * 8) / 1e9, 2);
    for (const u of run.utilisation) {
      expect(u.utilisation).toBeGreaterThanOrEqual(0);
      expect(u.utilisation).toBeLessThanOrEqual(1);
      expect(u.elapsed_ns).toBe(1_000_000);
    }
    // The wire carried exactly the delivered frames' wire time (nothing else crossed it).
    expect(run.utilisation.find((u) => u.resource === 'wire dom0→client')!.busy_ns).toBe(Math.round(50 * 1538 * 0.8));
  });

  it('finds dom0\'s CPU as the limit of 1500-byte packets on 10 GbE and the wire on 1 GbE, with nothing dropped in a window', () => {
    const fast = runLoadPoint({ direction: 'tx', offeredPps: lineRatePps(1472), window: 128 }).point;
    expect(fast.bottleneck).toBe('dom0 CPU');
    expect(fast.dropped).toBe(0);
    expect(fast.util['wire dom0→client']).toBeLessThan(0.6);
    const slow = runLoadPoint({ direction: 'tx', offeredPps: lineRatePps(1472, 1e9), window: 128, params: { 'nic.line_rate_bps': 1e9 } }).point;
    expect(slow.bottleneck).toBe('wire dom0→client');
    expect(slow.util['dom0 CPU']).toBeLessThan(SATURATED);
    expect(slow.delivered_pps / lineRatePps(1472, 1e9)).toBeGreaterThan(0.97);
    expect(slow.delivered_pps / lineRatePps(1472, 1e9)).toBeLessThan(1.03);
    const rx = runLoadPoint({ direction: 'rx', offeredPps: lineRatePps(1472, 1e9), window: 128, params: { 'nic.line_rate_bps': 1e9 } }).point;
    expect(rx.bottleneck).toBe('wire client→dom0');
  });

  it('lets the sending application fall behind when its CPU saturates, and counts the overflow as drops', () => {
    const run = runLoadPoint({ direction: 'tx', offeredPps: 1_000_000, warmupNs: 3_000_000, windowNs: 1_000_000 });
    const p = run.point;
    expect(p.util['guest vCPU']).toBeGreaterThanOrEqual(SATURATED);
    expect(p.sent).toBeLessThan(p.attempted);
    expect(p.delivered).toBeLessThan(p.sent);
    expect(p.dropped).toBe(run.drops.reduce((s, d) => s + d.packets, 0));
    expect(run.drops.map((d) => `${d.where}:${d.reason}`)).toContain('eth0:qdisc_full');
  });

  it('follows a vif rate limit (credit scheduler) instead of the CPU', () => {
    const rate = { bytes: 250_000, usec: 4000 }; // 500 Mbit/s: one jiffy's window at HZ 250
    const run = runLoadPoint({ direction: 'tx', offeredPps: lineRatePps(1472), window: 128, rate, windowNs: 16_000_000 });
    expect(run.guest.vif.queues[0]!.credit_bytes).toBe(250_000);
    const bps = run.point.delivered_pps * run.point.frame_bytes * 8;
    expect(bps / 500e6).toBeGreaterThan(0.95);
    expect(bps / 500e6).toBeLessThan(1.05);
    expect(run.point.bottleneck).toBe('none');
  });

  it('a credit window shorter than a jiffy lasts a jiffy: 62,500 bytes per 1 ms gives 125 Mbit/s at HZ 250, 500 at HZ 1000', () => {
    const mbps = (hz: number): number => {
      const run = runLoadPoint({ direction: 'tx', offeredPps: lineRatePps(1472), window: 128, rate: { bytes: 62_500, usec: 1000 }, windowNs: 16_000_000, params: { 'bridge.hz': hz } });
      return run.point.delivered_pps * run.point.frame_bytes * 8 / 1e6;
    };
    const at250 = mbps(250);
    expect(at250 / 125).toBeGreaterThan(0.95);
    expect(at250 / 125).toBeLessThan(1.05);
    const at1000 = mbps(1000);
    expect(at1000 / 500).toBeGreaterThan(0.95);
    expect(at1000 / 500).toBeLessThan(1.05);
  });

  it('runs the next point on a drained host with reuse, and clears a rate limit it no longer asks for', () => {
    const over = runLoadPoint({ direction: 'tx', offeredPps: 800_000, warmupNs: 3_000_000, windowNs: 1_000_000 });
    expect(over.point.dropped).toBeGreaterThan(0);
    const calm = runLoadPoint({ direction: 'tx', offeredPps: 50_000, warmupNs: 500_000, windowNs: 1_000_000, reuse: over });
    expect(calm.host).toBe(over.host);
    expect(calm.sock).toBe(over.sock);
    expect(calm.point).toMatchObject({ attempted: 50, sent: 50, dropped: 0, bottleneck: 'none' });
    expect(Math.abs(calm.point.delivered - 50)).toBeLessThanOrEqual(MODERATION_SLACK);
    const limited = runLoadPoint({ direction: 'tx', offeredPps: 50_000, windowNs: 1_000_000, rate: { bytes: 10_000, usec: 1000 }, reuse: calm });
    expect(limited.guest.vif.queues[0]!.credit_bytes).toBe(10_000);
    expect(limited.point.delivered).toBeLessThan(20); // 10 kB per ms: 6 frames of 1514 bytes per ms
    const free = runLoadPoint({ direction: 'rx', offeredPps: 50_000, windowNs: 1_000_000, reuse: limited });
    expect(free.guest.vif.queues[0]!.credit_bytes).toBe(Number.MAX_SAFE_INTEGER);
    expect(free.point).toMatchObject({ direction: 'rx', design: 'modern', dropped: 0 });
    expect(Math.abs(free.point.delivered - 50)).toBeLessThanOrEqual(MODERATION_SLACK);
  });

  it('rejects bad options, naming them', () => {
    expect(() => runLoadPoint({ direction: 'up' as never, offeredPps: 1 })).toThrow(/runLoadPoint: direction 'up' is not allowed/);
    expect(() => runLoadPoint({ direction: 'tx', offeredPps: 0 })).toThrow(/runLoadPoint: offeredPps 0 is not allowed/);
    expect(() => runLoadPoint({ direction: 'tx', offeredPps: 1, window: 0 })).toThrow(/runLoadPoint: window 0 is not allowed/);
    expect(() => runLoadPoint({ direction: 'tx', offeredPps: 1, rate: { bytes: 1, usec: 0 } })).toThrow(/runLoadPoint: rate.usec 0 is not allowed/);
    expect(() => runLoadPoint({ direction: 'tx', offeredPps: 1, reuse: {} as never })).toThrow(/runLoadPoint: reuse must be a LoadRun/);
  });
});

describe('sweepRows()', () => {
  it('gives one row per point and resource, in percent', () => {
    const p = runLoadPoint({ direction: 'rx', offeredPps: 20_000, warmupNs: 200_000, windowNs: 500_000 }).point;
    const rows = sweepRows([p]);
    expect(rows.map((r) => r.resource)).toEqual(Object.keys(p.util));
    expect(rows[0]).toMatchObject({ design: 'modern', direction: 'rx', offered_kpps: 20, payload: 1472, frame_bytes: 1514 });
    for (const r of rows) expect(r.busy_pct).toBe(Math.round(p.util[r.resource]! * 1000) / 10);
  });
});

describe('costParts()', () => {
  it('groups dom0CpuByStep rows into parts whose sum is the per-packet total', () => {
    const run = runLoadPoint({ direction: 'tx', design: 'classic', offeredPps: 50_000, warmupNs: 500_000, windowNs: 1_000_000, record: ['pkt.step', 'xen.gnttab.'] });
    const rows = dom0CpuByStep(run.records, { packets: run.point.delivered, busyNs: run.cpuNs['dom0 CPU'] });
    const parts = costParts(rows);
    const names = parts.map((p) => p.part);
    for (const n of ['netback', 'bridge', 'nic', 'GNTTABOP_map_grant_ref', 'GNTTABOP_unmap_grant_ref', 'other (irq, scheduling)']) expect(names).toContain(n);
    expect(names).not.toContain('GNTTABOP_copy'); // classic maps every slot
    const sum = parts.reduce((s, p) => s + p.ns_per_packet, 0);
    expect(sum).toBeCloseTo(rows.reduce((s, r) => s + r.cpu_ns_per_packet, 0), 0);
    // Every ns dom0 spent in the window is in some part.
    expect(sum * run.point.delivered).toBeCloseTo(run.cpuNs['dom0 CPU']!, -2);
  });
});

describe('binSum()', () => {
  it('counts or adds a field per bin, with empty bins, relative to start', () => {
    const recs: AnyTraceRecord[] = [
      { t: 1000, ev: 'netback.tx.batch', reqs: 3 },
      { t: 1499, ev: 'netback.tx.batch', reqs: 2 },
      { t: 2600, ev: 'netback.tx.batch', reqs: 4 },
      { t: 1200, ev: 'other', reqs: 99 },
      { t: 3000, ev: 'netback.tx.batch', reqs: 7 },
    ];
    expect(binSum(recs, { ev: 'netback.tx.batch', field: 'reqs', binNs: 500, start: 1000, end: 3000 })).toEqual([
      { t_us: 0, value: 5 }, { t_us: 0.5, value: 0 }, { t_us: 1, value: 0 }, { t_us: 1.5, value: 4 },
    ]);
    expect(binSum(recs, { ev: 'netback.tx.batch', binNs: 1000, start: 1000, end: 3000 }).map((b) => b.value)).toEqual([2, 1]);
    expect(() => binSum(recs, { ev: 'x', binNs: 0, start: 0, end: 1 })).toThrow(/binSum: binNs 0 is not allowed/);
  });
});
