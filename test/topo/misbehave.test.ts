/**
 * A misbehaving guest on a host with three guests (issue #5 and #6, "A misbehaving guest"): one
 * guest writes things no correct netfront writes straight into its shared ring pages and grant
 * table, and netback must react as Linux's does —
 *   - an ERROR response and a counted drop for a bad grant ref, the vif staying up;
 *   - xenvif_fatal_tx_err for offset + size past the page, a packet of fatal_skb_slots or more
 *     slots, an impossible req_prod, an unknown extra type: the vif disabled, its carrier off;
 *   - on the receive side: a bad rx request grant ref gets the GNTST code as the response status,
 *     a guest with no posted buffers gets its packets queued then dropped with named reasons,
 *     requests beyond the ring only hurt the guest itself, a guest that stops consuming
 *     responses just stops receiving;
 *   - and toward netfront, a backend answering a request id netfront never sent makes netfront
 *     mark itself broken.
 * In every case the two other guests keep exchanging traffic with the external host and with
 * each other afterwards.
 */
import { describe, expect, it } from 'vitest';
import { buildXenHost, type Guest, type XenHost } from '../../src/topo';
import {
  RING_GET_REQUEST, RING_GET_RESPONSE, RING_PUSH_REQUESTS_AND_CHECK_NOTIFY, RING_PUSH_RESPONSES_AND_CHECK_NOTIFY,
} from '../../src/io/ring';
import {
  NETIF_RSP_ERROR, NETTXF_extra_info, NETTXF_more_data, txResponseId, txResponseStatus, writeRxRequest, writeTxRequest,
  writeTxResponse, rxResponseStatus,
} from '../../src/io/netif';
import { buildUdpFrame } from '../../src/wire/build';
import type { Overrides } from '../../src/params';

function threeGuests(params: Overrides = {}): XenHost {
  const host = buildXenHost({
    params,
    guests: [
      { name: 'bad', ip: '10.0.0.11', pages: 2048 },
      { name: 'good1', ip: '10.0.0.12', pages: 2048 },
      { name: 'good2', ip: '10.0.0.13', design: 'classic', pages: 2048 },
    ],
  });
  host.external.endpoint.bind(9000);
  for (const g of host.guests) g.endpoint.bind(7000);
  // Warm up ARP everywhere so the checks below are about the data path only.
  for (const g of host.guests) {
    g.endpoint.sendUdp('10.0.0.100', 9000, 64);
    host.runFor(host.ms(1));
  }
  host.guest('good1').endpoint.sendUdp('10.0.0.13', 7000, 64);
  host.guest('good2').endpoint.sendUdp('10.0.0.12', 7000, 64);
  host.runFor(host.ms(2));
  return host;
}

/** The two good guests still talk to the external host, it to them, and they to each other. */
function othersStillWork(host: XenHost): void {
  const ext = host.external.endpoint.socket(9000)!;
  const g1 = host.guest('good1');
  const g2 = host.guest('good2');
  const s1 = g1.endpoint.socket(7000)!;
  const s2 = g2.endpoint.socket(7000)!;
  const before = [ext.packets, s1.packets, s2.packets];
  for (let i = 0; i < 5; i++) {
    g1.endpoint.sendUdp('10.0.0.100', 9000, 1000);
    g2.endpoint.sendUdp('10.0.0.100', 9000, 1000);
    g1.endpoint.sendUdp('10.0.0.13', 7000, 500);
    g2.endpoint.sendUdp('10.0.0.12', 7000, 500);
    host.external.endpoint.sendUdp('10.0.0.12', 7000, 800);
    host.external.endpoint.sendUdp('10.0.0.13', 7000, 800);
  }
  const p1 = host.external.endpoint.ping('10.0.0.12', { ident: 99, seq: 1 });
  const p2 = host.external.endpoint.ping('10.0.0.13', { ident: 99, seq: 2 });
  host.runFor(host.ms(5));
  expect([ext.packets - before[0]!, s1.packets - before[1]!, s2.packets - before[2]!]).toEqual([10, 10, 10]);
  expect(p1.rttNs).toBeGreaterThan(0);
  expect(p2.rttNs).toBeGreaterThan(0);
  expect(g1.vif.carrier && g2.vif.carrier).toBe(true);
  expect(g1.netfront.broken || g2.netfront.broken).toBe(false);
}

/** Writes raw tx requests into `g`'s tx ring as a malicious guest would, pushes and notifies. */
function rawTx(g: Guest, reqs: { gref: number; off: number; flags: number; id: number; size: number }[], reqProd?: number): void {
  const q = g.netfront.queues[0]!;
  const view = q.tx.sring.view;
  for (const r of reqs) {
    const idx = q.tx.req_prod_pvt;
    writeTxRequest(view, RING_GET_REQUEST(q.tx, idx), r.gref, r.off, r.flags, r.id, r.size);
    q.tx.req_prod_pvt = (idx + 1) >>> 0;
  }
  RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(q.tx);
  if (reqProd !== undefined) q.tx.sring.req_prod = reqProd;
  g.netfront.xen.notify_remote_via_evtchn(q.tx_evtchn);
}

/** A granted guest page holding a valid UDP frame, for well-formed-looking requests. */
function grantedFrame(g: Guest, len: number): { gref: number; size: number } {
  const xen = g.netfront.xen;
  const [pfn] = xen.allocPages(1) as [number];
  const frame = buildUdpFrame({ srcMac: g.mac, dstMac: '00:1b:21:aa:bb:cc', srcIp: g.ip, dstIp: '10.0.0.100', srcPort: 9000, dstPort: 9000, payloadLength: len - 42 });
  xen.page(pfn).set(frame, 0);
  const gref = xen.gnttab_grant_foreign_access(0, xen.pfn_to_gfn(pfn), true);
  return { gref, size: frame.length };
}

function fatalReasons(host: XenHost, run: () => void): string[] {
  const rec = host.sim.trace.record('netback.');
  run();
  rec.stop();
  return rec.records.filter((r) => /fatal/.test(r.ev)).map((r) => String(r.reason));
}

describe('a misbehaving guest transmitting (netback guest-tx validation, modern design)', () => {
  it('a bad grant ref: an ERROR response, a bad_grant drop, the vif stays up', () => {
    const host = threeGuests();
    const bad = host.guest('bad');
    const q = bad.netfront.queues[0]!;
    const rsp0 = q.tx.sring.rsp_prod;
    rawTx(bad, [{ gref: 4000, off: 0, flags: 0, id: 200, size: 500 }]);
    host.runFor(host.ms(1));
    const off = RING_GET_RESPONSE(q.tx, rsp0);
    expect([txResponseId(q.tx.sring.view, off), txResponseStatus(q.tx.sring.view, off)]).toEqual([200, NETIF_RSP_ERROR]);
    expect(host.sim.drops.total({ where: bad.vif.name, reason: 'bad_grant' })).toBe(1);
    expect(bad.vif.disabled).toBe(false);
    expect(bad.vif.carrier).toBe(true);
    // netfront never sent id 200: it finds the response for an inactive request and gives up.
    expect(bad.netfront.broken).toBe(true);
    othersStillWork(host);
  });

  it('offset + size past the page is fatal: vif disabled, carrier off', () => {
    const host = threeGuests();
    const bad = host.guest('bad');
    const { gref } = grantedFrame(bad, 200);
    const reasons = fatalReasons(host, () => {
      rawTx(bad, [{ gref, off: 4000, flags: 0, id: 201, size: 200 }]);
      host.runFor(host.ms(2));
    });
    expect(reasons.join()).toMatch(/crosses a page boundary|past the page|offset/i);
    expect(bad.vif.disabled).toBe(true);
    expect(bad.vif.carrier).toBe(false);
    expect(host.bridge.fdb().length).toBeGreaterThan(0);
    othersStillWork(host);
  });

  it('a packet of fatal_skb_slots (20) or more slots is fatal ("Malicious frontend")', () => {
    const host = threeGuests();
    const bad = host.guest('bad');
    const { gref } = grantedFrame(bad, 1000);
    const reqs = [];
    for (let i = 0; i < 24; i++) reqs.push({ gref, off: 0, flags: i < 23 ? NETTXF_more_data : 0, id: 210 + i, size: i === 0 ? 24 * 40 : 40 });
    const reasons = fatalReasons(host, () => {
      rawTx(bad, reqs);
      host.runFor(host.ms(2));
    });
    expect(reasons.join()).toMatch(/Malicious frontend using \d+ slots/);
    expect(bad.vif.disabled).toBe(true);
    expect(bad.vif.carrier).toBe(false);
    othersStillWork(host);
  });

  it('an impossible req_prod is fatal', () => {
    const host = threeGuests();
    const bad = host.guest('bad');
    const q = bad.netfront.queues[0]!;
    const reasons = fatalReasons(host, () => {
      rawTx(bad, [], (q.tx.sring.rsp_prod + 1000) >>> 0);
      host.runFor(host.ms(2));
    });
    expect(reasons.join()).toMatch(/Impossible number of requests/);
    expect(bad.vif.disabled).toBe(true);
    expect(bad.vif.carrier).toBe(false);
    othersStillWork(host);
  });

  it('a bad extra type is fatal', () => {
    const host = threeGuests();
    const bad = host.guest('bad');
    const { gref, size } = grantedFrame(bad, 200);
    const q = bad.netfront.queues[0]!;
    const reasons = fatalReasons(host, () => {
      rawTx(bad, [{ gref, off: 0, flags: NETTXF_extra_info, id: 220, size }]);
      // The extra slot right after it: type 9 does not exist (XEN_NETIF_EXTRA_TYPE_MAX is 5).
      const idx = q.tx.req_prod_pvt;
      const o = RING_GET_REQUEST(q.tx, idx);
      q.tx.sring.view.setUint8(o, 9);
      q.tx.sring.view.setUint8(o + 1, 0);
      q.tx.req_prod_pvt = (idx + 1) >>> 0;
      RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(q.tx);
      bad.netfront.xen.notify_remote_via_evtchn(q.tx_evtchn);
      host.runFor(host.ms(2));
    });
    expect(reasons.join()).toMatch(/Invalid extra type: 9|Missing extra info/);
    expect(bad.vif.disabled).toBe(true);
    othersStillWork(host);
  });
});

describe('a misbehaving backend toward netfront', () => {
  it('a tx response id netfront never sent: netfront marks itself broken and stops; others unaffected', () => {
    const host = threeGuests();
    const victim = host.guest('bad');
    const vq = victim.vif.queues[0]!;
    const broken = host.sim.trace.record('netfront.broken');
    // Write a response for id 77 (never used: netfront has nothing in flight) as a buggy backend would.
    const back = vq.tx!;
    const idx = back.rsp_prod_pvt;
    writeTxResponse(back.sring.view, RING_GET_RESPONSE(back, idx), 77, 0);
    back.rsp_prod_pvt = (idx + 1) >>> 0;
    RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(back);
    host.netback.hv.send(vq.txIrq);
    host.runFor(host.ms(1));
    expect(victim.netfront.broken).toBe(true);
    expect(broken.records.map((r) => String(r.reason)).join()).toMatch(/inactive request|incorrect id/);
    // A broken netfront sends nothing more.
    const sent = host.sim.counters.get(`netfront.d${victim.domid}.eth0`).tx_packets!;
    victim.endpoint.sendUdp('10.0.0.100', 9000, 100);
    host.runFor(host.ms(1));
    expect(host.sim.counters.get(`netfront.d${victim.domid}.eth0`).tx_packets).toBe(sent);
    othersStillWork(host);
  });
});

describe('a misbehaving guest receiving (netback guest-rx)', () => {
  it('a bad rx request grant ref: the copy fails with a GNTST status in the response; netfront drops it', () => {
    const host = threeGuests();
    const bad = host.guest('bad');
    const q = bad.netfront.queues[0]!;
    const vq = bad.vif.queues[0]!;
    // Overwrite the next request netback will consume with a grant ref the guest never granted.
    const next = vq.rx!.req_cons;
    const o = RING_GET_REQUEST(q.rx, next);
    writeRxRequest(q.rx.sring.view, o, q.rx.sring.view.getUint16(o, true), 4001);
    const sock = bad.endpoint.socket(7000)!;
    const before = sock.packets;
    const copies = host.sim.trace.record('xen.gnttab.copy');
    const errors = host.sim.trace.record('netfront.rx.error');
    host.external.endpoint.sendUdp('10.0.0.11', 7000, 300);
    host.runFor(host.ms(2));
    // Xen refused the copy (GNTST_bad_gntref = -3); netback wrote that status as the response.
    expect(copies.records.map((r) => [r.failed, r.firstStatus])).toEqual([[1, -3]]);
    expect(errors.records.map((r) => r.reason)).toEqual(['rx_bad_response']);
    expect(host.sim.drops.total({ where: `netfront.d${bad.domid}.eth0`, reason: 'rx_bad_response' })).toBe(1);
    expect(sock.packets).toBe(before);
    expect(bad.vif.disabled).toBe(false);
    // The guest only hurt itself: the next packet to it arrives.
    host.external.endpoint.sendUdp('10.0.0.11', 7000, 300);
    host.runFor(host.ms(2));
    expect(sock.packets).toBe(before + 1);
    othersStillWork(host);
  });

  it('a guest that never posts buffers: packets queue, expire (drain_timeout), carrier off after the stall timeout and on again once the queue has drained', () => {
    // Linux's defaults are 10 s and 60 s; shortened here so the run stays short.
    const host = threeGuests({ 'netback.rx_drain_timeout_msecs': 20, 'netback.rx_stall_timeout_msecs': 50 });
    const bad = host.guest('bad');
    const q = bad.netfront.queues[0]!;
    const vq = bad.vif.queues[0]!;
    // Take back every posted request: the ring shows none beyond what netback consumed.
    q.rx.sring.req_prod = vq.rx!.req_cons;
    q.rx.req_prod_pvt = vq.rx!.req_cons;
    const dropsBefore = host.sim.drops.total();
    for (let i = 0; i < 400; i++) host.external.endpoint.sendUdp('10.0.0.11', 7000, 1400);
    host.runFor(host.ms(100));
    // The queue has drained by expiry; an empty queue needs no slots (rx_slots_needed 0), so it is
    // never found stalled: the stall is noticed when the next packet is queued.
    expect(bad.vif.carrier).toBe(true);
    const carrier: { on: boolean; reason: string }[] = [];
    host.sim.trace.on('netback.carrier', (r) => { if (r.vif === bad.vif.name) carrier.push({ on: r.on as boolean, reason: r.reason as string }); });
    for (let i = 0; i < 10; i++) host.external.endpoint.sendUdp('10.0.0.11', 7000, 1400);
    host.runFor(host.ms(10));
    // The new packets find no buffer more than rx_stall_timeout after the last one placed.
    expect(bad.vif.carrier).toBe(false);
    host.runFor(host.ms(90));
    // Linux's xenvif_update_needed_slots() sets rx_slots_needed to 0 when the drain timeout has
    // emptied the queue, so xenvif_rx_queue_ready() holds and the carrier comes back on, although
    // the guest still posts nothing.
    expect(carrier).toEqual([{ on: false, reason: 'Guest Rx stalled' }, { on: true, reason: 'Guest Rx ready' }]);
    expect(bad.vif.carrier).toBe(true);
    const reasons = new Set(host.sim.drops.table().filter((d) => d.where === bad.vif.name).map((d) => d.reason));
    expect(reasons.has('drain_timeout')).toBe(true);
    // Nothing reached the guest; every one of the 410 is a counted drop: at the vif (queue full,
    // expired), or — once the carrier went off, the bridge port with it and its FDB entry — as
    // unknown unicast flooded to the other guests, which drop it as not for them (otherhost).
    expect(bad.endpoint.socket(7000)!.packets).toBe(0);
    const atVif = host.sim.drops.total({ where: bad.vif.name });
    const flooded1 = host.sim.drops.total({ where: 'good1/eth0', reason: 'otherhost' });
    const flooded2 = host.sim.drops.total({ where: 'good2/eth0', reason: 'otherhost' });
    expect(flooded1).toBe(flooded2);
    expect(atVif + flooded1).toBe(410);
    expect(host.sim.drops.total() - dropsBefore).toBe(atVif + flooded1 + flooded2);
    othersStillWork(host);
  });

  it('requests beyond the ring: netback follows the bogus req_prod, the guest only hurts itself', () => {
    const host = threeGuests();
    const bad = host.guest('bad');
    const q = bad.netfront.queues[0]!;
    q.rx.sring.req_prod = (q.rx.sring.req_prod + 5000) >>> 0;
    for (let i = 0; i < 20; i++) host.external.endpoint.sendUdp('10.0.0.11', 7000, 1000);
    host.runFor(host.ms(5));
    expect(bad.vif.disabled).toBe(false);
    othersStillWork(host);
  });

  it('a guest that stops consuming responses stops receiving; netback is not stuck', () => {
    const host = threeGuests();
    const bad = host.guest('bad');
    const q = bad.netfront.queues[0]!;
    // The guest masks its rx event channel and never polls again (a hung guest kernel).
    host.hv.guest(bad.domid).mask_evtchn(q.rx_evtchn);
    const sock = bad.endpoint.socket(7000)!;
    const before = sock.packets;
    for (let i = 0; i < 600; i++) host.external.endpoint.sendUdp('10.0.0.11', 7000, 1000);
    host.runFor(host.ms(100));
    expect(sock.packets).toBe(before);
    const lost = host.sim.drops.table().filter((d) => d.where === bad.vif.name).reduce((n, d) => n + d.packets, 0);
    // Every packet the guest never took is either in its unconsumed responses or a counted drop.
    const unconsumed = (q.rx.sring.rsp_prod - q.rx.rsp_cons) >>> 0;
    expect(unconsumed + lost + bad.vif.queues[0]!.rx_queue.length).toBe(600);
    othersStillWork(host);
  });
});
