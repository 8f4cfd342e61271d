import { describe, expect, it } from 'vitest';
import {
  buildGsoSkb, buildXenHost, dom0CpuByStep, guestFrames, notificationStats, packetWalk, sendBursts, txRingOccupancy,
  txSlotRows, walkSpans, type WalkRow,
} from '../../src/topo';
import { NETIF_F_IP_CSUM, NETIF_F_SG, NETIF_F_TSO } from '../../src/net/netdevice';

/** A host with guest 'web' whose ARP entry for the client is resolved. */
function warmHost(design: 'modern' | 'classic' = 'modern') {
  const host = buildXenHost({ seed: 7, guests: [{ name: 'web', design }] });
  const web = host.guest('web');
  const sock = host.external.endpoint.bind(9000);
  web.endpoint.sendUdp('10.0.0.100', 9000, 1472);
  host.runFor(host.ms(1));
  return { host, web, sock };
}

function row(t_ns: number, lane: string, fn: string, dom: number, cpu_ns: number): WalkRow {
  return { step: 0, t_ns, t_us: 0, lane, fn, dom, cpu_ns, detail: '' };
}

describe('packetWalk()', () => {
  it('returns only the followed packet\'s steps, in order, from udp_sendmsg to xennet_tx_buf_gc', () => {
    const { host, web } = warmHost();
    const rec = host.sim.trace.record('*');
    const other = web.endpoint.sendUdp('10.0.0.100', 9000, 100);
    const id = web.endpoint.sendUdp('10.0.0.100', 9000, 1472);
    host.runFor(host.ms(1));
    const walk = packetWalk(rec.records, id);
    expect(walk.length).toBeGreaterThan(20);
    expect(walk[0]).toMatchObject({ step: 0, fn: 'udp_sendmsg', lane: 'domU', t_us: 0, dom: web.domid });
    expect(walk[walk.length - 1]!.fn).toBe('xennet_tx_buf_gc');
    const fns = walk.map((w) => w.fn);
    for (const fn of ['xennet_start_xmit', 'RING_PUSH_REQUESTS_AND_CHECK_NOTIFY', 'xenvif_tx_build_gops', 'br_forward', 'ixgbe_xmit_frame', 'phy_tx', 'udp_rcv', 'make_tx_response']) {
      expect(fns).toContain(fn);
    }
    expect(fns.indexOf('xennet_start_xmit')).toBeLessThan(fns.indexOf('xenvif_tx_build_gops'));
    for (let i = 1; i < walk.length; i++) expect(walk[i]!.t_ns).toBeGreaterThanOrEqual(walk[i - 1]!.t_ns);
    expect(walk.every((w, i) => w.step === i && w.t_us === (w.t_ns - walk[0]!.t_ns) / 1000)).toBe(true);
    const steps = rec.records.filter((r) => r.ev === 'pkt.step' && r.pkt === id).length;
    expect(walk.length).toBe(steps);
    expect(packetWalk(rec.records, other).every((w) => w.fn !== undefined)).toBe(true);
    expect(packetWalk(rec.records, other)[0]!.t_ns).toBe(walk[0]!.t_ns);
  });

  it('rejects a non-array and a bad packet id', () => {
    expect(() => packetWalk(null as never, 1)).toThrow(/packetWalk: records must be an array/);
    expect(() => packetWalk([], -1)).toThrow(/packetWalk: pkt -1 is not allowed/);
  });
});

describe('walkSpans()', () => {
  it('lays steps of one CPU end to end, runs same-time steps after the previous one, spans the wire until phy_rx', () => {
    const walk = [
      row(1000, 'domU', 'udp_sendmsg', 1, 700),
      row(1000, 'domU', 'xennet_start_xmit', 1, 300),
      row(1000, 'domU', 'notify_remote_via_irq', 1, 0),
      row(5000, 'dom0', 'xenvif_tx_build_gops', 0, 100),
      row(5000, 'xen', 'gnttab_batch_copy', -1, 0),
      row(5000, 'bridge', 'br_forward', 0, 400),
      row(5000, 'wire', 'phy_tx', -1, 0),
      row(9000, 'wire', 'phy_rx', -1, 0),
      row(9000, 'nic', 'ixgbe_clean_rx_irq', -1, 200),
      row(9100, 'dom0', 'make_tx_response', 0, 50),
    ];
    const s = walkSpans(walk, { markNs: 10 });
    const at = (fn: string) => s.find((x) => x.fn === fn)!;
    expect(at('udp_sendmsg')).toMatchObject({ start_us: 0, end_us: 0.7, kind: 'cpu' });
    expect(at('xennet_start_xmit')).toMatchObject({ start_us: 0.7, end_us: 1 });
    expect(at('notify_remote_via_irq')).toMatchObject({ start_us: 1, end_us: 1.01, kind: 'mark' });
    expect(at('xenvif_tx_build_gops')).toMatchObject({ start_us: 4, end_us: 4.1 });
    expect(at('gnttab_batch_copy')).toMatchObject({ lane: 'xen', start_us: 4.1, end_us: 4.11 });
    expect(at('br_forward')).toMatchObject({ start_us: 4.11, end_us: 4.51 });
    expect(at('phy_tx')).toMatchObject({ kind: 'wire', start_us: 4.51, end_us: 8 });
    expect(at('ixgbe_clean_rx_irq')).toMatchObject({ lane: 'host', start_us: 8.01, end_us: 8.21 });
    // dom0's cursor is at 4.51 µs, long past: make_tx_response starts at its own time.
    expect(at('make_tx_response')).toMatchObject({ start_us: 8.1, end_us: 8.15 });
  });

  it('merge: joins consecutive steps on one lane and keeps their names', () => {
    const walk = [row(0, 'domU', 'a', 1, 100), row(0, 'domU', 'b', 1, 0), row(0, 'dom0', 'c', 0, 50), row(0, 'dom0', 'd', 0, 50)];
    const m = walkSpans(walk, { merge: true, markNs: 40 });
    expect(m.map((x) => [x.lane, x.steps, x.start_us, x.end_us, x.cpu_ns])).toEqual([
      ['domU', 'a → b', 0, 0.14, 100],
      ['dom0', 'c → d', 0.14, 0.24, 100],
    ]);
  });

  it('draws a real walk with every span ordered and of positive width', () => {
    const { host, web } = warmHost('classic');
    const rec = host.sim.trace.record('pkt.step');
    const id = web.endpoint.sendUdp('10.0.0.100', 9000, 1000);
    host.runFor(host.ms(1));
    const spans = walkSpans(packetWalk(rec.records, id));
    expect(new Set(spans.map((x) => x.lane))).toEqual(new Set(['domU', 'dom0', 'xen', 'bridge', 'nic', 'wire', 'host']));
    for (const x of spans) expect(x.end_us).toBeGreaterThan(x.start_us);
    const wire = spans.find((x) => x.fn === 'phy_tx')!;
    expect(wire.kind).toBe('wire');
    expect(wire.start_us).toBeGreaterThanOrEqual(spans.find((x) => x.fn === 'ixgbe_xmit_frame')!.end_us);
  });
});

describe('walkSpans() with propagationNs', () => {
  it('draws the wire bar from the first bit to phy_rx and the NIC\'s DMA read before it', () => {
    const tx = row(5000, 'wire', 'phy_tx', -1, 0);
    tx.detail = 'wire dir 0 1230 ns';
    const rx = row(9000, 'wire', 'phy_rx', -1, 0);
    rx.detail = 'wire dir 0';
    const walk = [row(5000, 'dom0', 'dev_queue_xmit', 0, 300), row(5000, 'nic', 'ixgbe_xmit_frame', 0, 200), tx, rx, row(9000, 'nic', 'ixgbe_clean_rx_irq', -1, 100)];
    const s = walkSpans(walk, { markNs: 10, propagationNs: 500 });
    expect(s.map((x) => [x.lane, x.fn, x.kind, x.start_us, x.end_us])).toEqual([
      ['dom0', 'dev_queue_xmit', 'cpu', 0, 0.3],
      ['nic', 'ixgbe_xmit_frame', 'cpu', 0.3, 0.5],
      ['nic', '(NIC DMA)', 'dma', 0.5, 2.27],      // first bit: 9000 − 500 − 1230 = 7270 ns
      ['wire', 'phy_tx', 'wire', 2.27, 4],
      ['wire', 'phy_rx', 'mark', 3.99, 4],
      ['host', 'ixgbe_clean_rx_irq', 'cpu', 4, 4.1],
    ]);
    const m = walkSpans(walk, { markNs: 10, propagationNs: 500, merge: true });
    expect(m.map((x) => [x.lane, x.steps, x.start_us, x.end_us])).toEqual([
      ['dom0', 'dev_queue_xmit', 0, 0.3],
      ['nic', 'ixgbe_xmit_frame → (NIC DMA)', 0.3, 2.27],
      ['wire', 'phy_tx → phy_rx', 2.27, 4],
      ['host', 'ixgbe_clean_rx_irq', 4, 4.1],
    ]);
    expect(() => walkSpans(walk, { propagationNs: -1 })).toThrow(/walkSpans: propagationNs -1 is not allowed/);
  });

  it('a real walk: the wire bar is serialisation plus propagation, after the NIC\'s DMA read', () => {
    const { host, web } = warmHost('modern');
    const rec = host.sim.trace.record('pkt.step');
    const id = web.endpoint.sendUdp('10.0.0.100', 9000, 1472);
    host.runFor(host.ms(1));
    const walk = packetWalk(rec.records, id);
    const prop = host.params.get('link.propagation_ns') as number;
    const spans = walkSpans(walk, { propagationNs: prop });
    const wire = spans.find((x) => x.fn === 'phy_tx')!;
    const ser = Number(/(\d+) ns$/.exec(walk.find((w) => w.fn === 'phy_tx')!.detail)![1]);
    expect(wire.kind).toBe('wire');
    expect(wire.end_us).toBe(walk.find((w) => w.fn === 'phy_rx')!.t_us);
    expect(Math.abs((wire.end_us - wire.start_us) * 1000 - (ser + prop))).toBeLessThanOrEqual(1);
    const dma = spans.find((x) => x.kind === 'dma')!;
    expect(dma).toMatchObject({ lane: 'nic', fn: '(NIC DMA)', cpu_ns: 0 });
    expect(dma.start_us).toBe(spans.find((x) => x.fn === 'ixgbe_xmit_frame')!.end_us);
    expect(dma.end_us).toBe(wire.start_us);
    // At least the NIC's DMA latency and the frame's bytes at the DMA rate.
    expect((dma.end_us - dma.start_us) * 1000).toBeGreaterThanOrEqual((host.params.get('nic.dma_latency_ns') as number) + 1514 * (host.params.get('nic.dma_byte_ns') as number) - 1);
  });

  it('pairs each TSO frame with its own arrival', () => {
    const { host, web } = warmHost('modern');
    const rec = host.sim.trace.record('pkt.step');
    const gso = buildGsoSkb(host, web, { payload: 8000, mss: 1448, fragOffset: 2500 });
    web.stack.dev_queue_xmit(gso.skb, web.eth0);
    host.runFor(host.ms(1));
    const walk = packetWalk(rec.records, gso.id);
    const spans = walkSpans(walk, { propagationNs: host.params.get('link.propagation_ns') as number });
    const wires = spans.filter((x) => x.kind === 'wire');
    const arrivals = walk.filter((w) => w.fn === 'phy_rx').map((w) => w.t_us);
    expect(wires.length).toBe(6);
    expect(wires.map((x) => x.end_us)).toEqual(arrivals);
    for (let i = 1; i < wires.length; i++) expect(wires[i]!.start_us).toBeGreaterThanOrEqual(wires[i - 1]!.start_us);
    expect(spans.filter((x) => x.kind === 'dma').length).toBe(1);
  });
});

describe('buildGsoSkb() and txSlotRows()', () => {
  it('a GSO skb with a frag crossing two page boundaries takes first + extra + 3 frag slots; bytes add up to the packet', () => {
    const { host, web } = warmHost();
    web.eth0.features |= NETIF_F_SG | NETIF_F_IP_CSUM | NETIF_F_TSO;
    const gso = buildGsoSkb(host, web, { payload: 8000, mss: 1448, fragOffset: 2500 });
    expect(gso.frames.mfns.length).toBe(3);
    expect(gso.skb.len).toBe(8054);
    const q = web.netfront.queues[0]!;
    let pushed = false;
    const stop = host.sim.trace.on('netfront.tx.push', () => { pushed = true; });
    web.stack.dev_queue_xmit(gso.skb, web.eth0);
    stop();
    expect(pushed).toBe(true);
    const slots = txSlotRows(q, web.vif.queues[0]!.tx!);
    expect(slots.map((x) => x.kind)).toEqual(['first', 'extra', 'more', 'more', 'more']);
    expect(slots[0]!.size).toBe(8054);
    expect(slots[0]!.bytes).toBe(54);
    expect(slots[0]!.flags).toContain('extra_info');
    expect(slots[1]!.decoded).toMatch(/GSO size=1448/);
    expect(slots.slice(2).map((x) => [x.offset, x.bytes])).toEqual([[2500, 1596], [0, 4096], [0, 2308]]);
    expect(slots.reduce((n, x) => n + x.bytes, 0)).toBe(8054);
    for (const x of slots) expect(x.end).toBeLessThanOrEqual(4096);
    host.runFor(host.ms(1));
    // The NIC cut the payload into ceil(8000 / 1448) = 6 TSO segments; the ring is empty again.
    expect(host.sim.counters.snapshot()['dom0.eth0.ixgbe']!.tx_tso_segments).toBe(6);
    expect(txSlotRows(q)).toEqual([]);
  });

  it('guestFrames() returns contiguous guest frames as one view of host memory', () => {
    const { host, web } = warmHost();
    const f = guestFrames(host, web, 2);
    expect(f.mfns[1]).toBe(f.mfns[0]! + 1);
    expect(f.bytes.length).toBe(8192);
    f.bytes[4096] = 0xab;
    expect(host.hv.mem.bytes[f.mfns[1]! * 4096]).toBe(0xab);
    expect(() => guestFrames(host, web, 0)).toThrow(/guestFrames: n 0 is not allowed/);
    expect(() => buildGsoSkb(host, web, { fragOffset: 5000 })).toThrow(/fragOffset 5000 is not allowed/);
  });
});

describe('sendBursts(), txRingOccupancy() and notificationStats()', () => {
  it('ring occupancy from the trace equals the ring indices read at every event', () => {
    const { host, web } = warmHost();
    const q = web.netfront.queues[0]!;
    const bq = web.vif.queues[0]!;
    const startProd = q.txSring.req_prod;
    const actual: [number, number][] = [];
    host.sim.trace.on('netfront.tx.push', () => actual.push([(q.txSring.req_prod - bq.tx!.req_cons) >>> 0, (q.txSring.req_prod - bq.tx!.rsp_prod_pvt) >>> 0]));
    host.sim.trace.on('netback.tx.batch', () => actual.push([(q.txSring.req_prod - bq.tx!.req_cons) >>> 0, -1]));
    host.sim.trace.on('netback.tx.response', () => actual.push([-1, (q.txSring.req_prod - bq.tx!.rsp_prod_pvt) >>> 0]));
    const rec = host.sim.trace.record('*');
    const ids = sendBursts(host, web, { packets: 40, burst: 8, gapNs: 10_000 });
    host.runFor(host.ms(2));
    expect(ids.length).toBe(40);
    const occ = txRingOccupancy(rec.records, { startProd });
    expect(occ.length).toBe(actual.length);
    expect(Math.max(...occ.map((r) => r.unconsumed))).toBeGreaterThanOrEqual(8);
    occ.forEach((r, i) => {
      if (actual[i]![0] >= 0) expect(r.unconsumed).toBe(actual[i]![0]);
      if (actual[i]![1] >= 0) expect(r.unanswered).toBe(actual[i]![1]);
    });
    expect(occ[occ.length - 1]).toMatchObject({ unconsumed: 0, unanswered: 0 });
    // Without startProd the first push fixes the origin.
    expect(txRingOccupancy(rec.records)).toEqual(occ);
  });

  it('bursts of 8 with idle gaps notify netback once per burst; bursts of 1 on a busy ring less than once per packet', () => {
    const count = (burst: number, gapNs: number) => {
      const { host, web } = warmHost();
      const rec = host.sim.trace.record('*');
      sendBursts(host, web, { packets: 64, burst, gapNs });
      host.runFor(Math.ceil(64 / burst) * gapNs + host.ms(1));
      return notificationStats(rec.records, { domid: web.domid, port: web.netfront.queues[0]!.tx_evtchn });
    };
    const b8 = count(8, 100_000);
    expect(b8).toMatchObject({ pushes: 64, pushNotifies: 8, kicksToBackend: 8, responses: 64 });
    expect(b8.kicksToFrontend).toBeGreaterThan(0);
    expect(b8.kicksToFrontend).toBeLessThanOrEqual(64);
    const idle1 = count(1, 100_000);
    expect(idle1.pushNotifies).toBe(64);
    const busy1 = count(1, 2_000);
    expect(busy1.pushNotifies).toBeLessThan(64);
    expect(busy1.kicksToBackend).toBe(busy1.pushNotifies);
    expect(notificationStats([]).pushes).toBe(0);
  });

  it('sendBursts() rejects bad options', () => {
    const { host, web } = warmHost();
    expect(() => sendBursts(host, web, { packets: 10, burst: 0, gapNs: 1 })).toThrow(/sendBursts: burst 0 is not allowed/);
    expect(() => sendBursts(host, web, { packets: 10, burst: 1, gapNs: 1.5 })).toThrow(/gapNs 1.5 is not allowed/);
    // Refused when called, not later inside the event loop when the first burst goes out.
    expect(() => sendBursts(host, web, { packets: 10, burst: 1, gapNs: 1, port: 99999 })).toThrow(/sendBursts: port 99999 is not allowed; use an integer in 0..65535/);
    expect(() => sendBursts(host, web, { packets: 10, burst: 1, gapNs: 1, payload: 5000 })).toThrow(/sendBursts: payload 5000 is not allowed; use an integer in 0..1472/);
    expect(() => sendBursts(host, web, { packets: 10, burst: 1, gapNs: 1, dst: '10.0.0.256' })).toThrow(/'10.0.0.256' is not allowed/);
  });
});

describe('dom0CpuByStep()', () => {
  it('steps + grant hypercalls + other add up to dom0\'s busy time; modern copies, classic only maps', () => {
    for (const design of ['modern', 'classic'] as const) {
      const { host, web } = warmHost(design);
      const rec = host.sim.trace.record('*');
      const busy0 = host.dom0.cpu.busyNs;
      sendBursts(host, web, { packets: 32, burst: 4, gapNs: 40_000 });
      host.runFor(host.ms(2));
      const busy = host.dom0.cpu.busyNs - busy0;
      const rows = dom0CpuByStep(rec.records, { packets: 32, busyNs: busy });
      const total = rows.reduce((s, r) => s + r.cpu_ns, 0);
      expect(total).toBe(busy);
      const fns = rows.map((r) => r.fn);
      expect(fns[fns.length - 1]).toBe('other');
      expect(fns).toContain('br_handle_frame');
      expect(fns).toContain('GNTTABOP_map_grant_ref');
      expect(fns).toContain('GNTTABOP_unmap_grant_ref');
      expect(fns.includes('GNTTABOP_copy')).toBe(design === 'modern');
      expect(fns).toContain(design === 'modern' ? 'xenvif_tx_build_gops' : 'net_tx_action');
      const br = rows.find((r) => r.fn === 'br_handle_frame')!;
      expect(br.calls).toBe(32);
      expect(br.cpu_ns_per_packet).toBe(Math.round((br.cpu_ns / 32) * 10) / 10);
      // Only dom0's steps: none of the guest's functions.
      expect(fns).not.toContain('xennet_start_xmit');
    }
    expect(() => dom0CpuByStep([], { packets: 0 })).toThrow(/packets 0 is not allowed/);
  });
});
