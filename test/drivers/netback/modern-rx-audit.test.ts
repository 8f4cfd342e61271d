/**
 * Modern netback guest receive checked line by line against Linux drivers/net/xen-netback/rx.c
 * (xenvif_rx_ring_slots_available, xenvif_rx_action, xenvif_rx_skb, xenvif_rx_next_chunk,
 * xenvif_rx_data_slot, xenvif_rx_extra_slot, xenvif_rx_copy_flush, the kthread's drain and stall
 * logic). Each case names the source behaviour it pins.
 */
import { describe, expect, it } from 'vitest';
import { makeHost, Frontend, udpFrame, type Host, skbOf } from './harness';
import { RING_GET_REQUEST, RING_GET_RESPONSE } from '../../../src/io/ring';
import { GNTST_bad_gntref } from '../../../src/io/xen-constants';
import { CHECKSUM_UNNECESSARY, SKB_GSO_TCPV4, SKB_GSO_TCPV6, type SkBuff } from '../../../src/net/skb';
import {
  xenvif_have_rx_work, xenvif_rx_queue_ready, xenvif_rx_queue_stalled, rx_slots_needed,
} from '../../../src/drivers/netback/modern/rx';

/** The 8 raw bytes of rx ring slot `i` (response or extra). */
function slotBytes(fe: Frontend, i: number): number[] {
  const o = RING_GET_RESPONSE(fe.rx, i);
  return Array.from({ length: 8 }, (_, k) => fe.rx.sring.view.getUint8(o + k));
}

function connected(overrides: Record<string, number | boolean | string> = {}): { h: Host; fe: Frontend } {
  const h = makeHost(overrides);
  const fe = new Frontend(h, 'guest1');
  fe.connect('modern');
  return { h, fe };
}

describe('xenvif_rx_ring_slots_available() / rx_slots_needed', () => {
  it('a GSO packet reserves a slot for the extra even when the frontend did not ask for that GSO type, and then sends no extra', () => {
    const { h, fe } = connected();
    fe.vif.gsoMask = 1 << 1; // feature-gso-tcpv4 only
    fe.postRx(1);
    h.sim.run({ until: h.sim.now + 1_000_000 });
    const skb = skbOf(h, udpFrame(1000));
    skb.gsoSize = 500;
    skb.gsoType = SKB_GSO_TCPV6;
    expect(rx_slots_needed(skb)).toBe(2);
    fe.vif.ndo_start_xmit(skb);
    h.sim.run({ until: h.sim.now + 1_000_000 });
    // One request posted, two needed: nothing placed, and req_event asks for the next request.
    expect(fe.rx.sring.rsp_prod).toBe(0);
    expect(fe.rx.sring.req_event).toBe(fe.rx.sring.req_prod + 1);
    fe.postRx(1);
    h.sim.run({ until: h.sim.now + 1_000_000 });
    // (1 << TCPV6) is not in gso_mask: no extra, one data slot, the second request stays unused.
    expect(fe.rx.sring.rsp_prod).toBe(1);
    expect(fe.rxRsp(0).flags).toBe(0);
    expect(fe.rxRsp(0).status).toBe(1000);
    expect(fe.vif.queues[0]!.rx!.req_cons).toBe(1);
  });

  it('needed is ceil(len / 4096): a 4097-byte packet waits for two requests', () => {
    const { h, fe } = connected();
    fe.postRx(1);
    h.sim.run({ until: h.sim.now + 1_000_000 });
    fe.vif.ndo_start_xmit(skbOf(h, udpFrame(4097)));
    h.sim.run({ until: h.sim.now + 1_000_000 });
    expect(fe.rx.sring.rsp_prod).toBe(0);
    fe.postRx(1);
    h.sim.run({ until: h.sim.now + 1_000_000 });
    expect(fe.rx.sring.rsp_prod).toBe(2);
    expect([fe.rxRsp(0).status, fe.rxRsp(1).status]).toEqual([4096, 1]);
  });
});

describe('xenvif_rx_skb() / xenvif_rx_next_skb()', () => {
  it('the GSO type is TCPV4 when SKB_GSO_TCPV4 is set, else TCPV6 (netfront tx tests TCPV6 first: the two differ)', () => {
    const { h, fe } = connected();
    fe.postRx(8);
    h.sim.run();
    const a = skbOf(h, udpFrame(2000, 1));
    a.gsoSize = 1000;
    a.gsoType = SKB_GSO_TCPV4 | SKB_GSO_TCPV6;
    const b = skbOf(h, udpFrame(2000, 2));
    b.gsoSize = 1200;
    b.gsoType = SKB_GSO_TCPV6;
    fe.vif.ndo_start_xmit(a);
    fe.vif.ndo_start_xmit(b);
    h.sim.run();
    // slot 0 data, slot 1 GSO extra {type 1, flags 0, size, gso type, pad 0, features 0}
    expect(slotBytes(fe, 1)).toEqual([1, 0, 1000 & 255, 1000 >> 8, 1, 0, 0, 0]);
    expect(slotBytes(fe, 3)).toEqual([1, 0, 1200 & 255, 1200 >> 8, 2, 0, 0, 0]);
    expect(fe.rx.sring.rsp_prod).toBe(4);
  });

  it('responses carry the request id from the same slot, offset 0, and rsp_prod_pvt = req_cons', () => {
    const { h, fe } = connected();
    // Post requests whose ids are not their slot numbers.
    const bufs = fe.postRx(3, false);
    const view = fe.rx.sring.view;
    for (let i = 0; i < 3; i++) view.setUint16(RING_GET_REQUEST(fe.rx, i), 200 + i, true);
    fe.postRx(0);
    h.sim.run();
    fe.vif.ndo_start_xmit(skbOf(h, udpFrame(9000)));
    h.sim.run();
    expect([0, 1, 2].map((i) => fe.rxRsp(i).id)).toEqual([200, 201, 202]);
    expect([0, 1, 2].map((i) => fe.rxRsp(i).offset)).toEqual([0, 0, 0]);
    expect(fe.vif.queues[0]!.rx!.rsp_prod_pvt).toBe(3);
    expect(bufs.length).toBe(3);
  });

  it('checksum flags only on slot 0; CHECKSUM_UNNECESSARY is the raw rx bit 0 (data_validated), more_data on all but the last', () => {
    const { h, fe } = connected();
    fe.postRx(3);
    h.sim.run();
    const skb = skbOf(h, udpFrame(9000));
    skb.ipSummed = CHECKSUM_UNNECESSARY;
    fe.vif.ndo_start_xmit(skb);
    h.sim.run();
    // rx flags: bit 0 data_validated, bit 1 csum_blank, bit 2 more_data, bit 3 extra_info
    expect([0, 1, 2].map((i) => fe.rxRsp(i).flags)).toEqual([0x0005, 0x0004, 0x0000]);
    expect([0, 1, 2].map((i) => fe.rxRsp(i).status)).toEqual([4096, 4096, 808]);
  });

  it('stats: the dom0 view counts a packet placed for the guest as vif tx (at dequeue)', () => {
    const { h, fe } = connected();
    fe.postRx(2);
    h.sim.run();
    fe.vif.ndo_start_xmit(skbOf(h, udpFrame(700)));
    h.sim.run();
    expect([fe.vif.stats.tx_packets, fe.vif.stats.tx_bytes]).toEqual([1, 700]);
  });
});

describe('xenvif_rx_next_chunk() / xenvif_rx_copy_add()', () => {
  it('a data slot is filled across the linear area and a frag, each chunk cut at the source page boundary: one copy op per chunk', () => {
    const { h, fe } = connected();
    const bufs = fe.postRx(2);
    h.sim.run();
    const head = udpFrame(1000, 3);
    const skb = skbOf(h, head);
    // A frag of 3000 bytes starting 3000 bytes into a dom0 page: it crosses into the next page.
    const dom0 = h.hv.guest(0);
    const pfn = 40;
    const two = new Uint8Array(3000);
    for (let i = 0; i < 3000; i++) two[i] = (i * 13 + 5) & 255;
    dom0.page(pfn).set(two.subarray(0, 1096), 3000);
    dom0.page(pfn + 1).set(two.subarray(1096), 0);
    // The two frames must be adjacent in machine memory for one Uint8Array to span them.
    expect(dom0.pfn_to_gfn(pfn + 1)).toBe(dom0.pfn_to_gfn(pfn) + 1);
    const span = new Uint8Array(h.hv.mem.buffer, dom0.pfn_to_gfn(pfn) * 4096, 8192);
    skb.addFrag(span, 3000, 3000);
    const opsBefore = fe.vif.counters.rx_copy_ops;
    fe.vif.ndo_start_xmit(skb);
    h.sim.run();
    // slot 0: 1000 (linear) + 1096 (frag to the page end) + 1904 (frag, next page) = 4000 bytes
    expect(fe.rx.sring.rsp_prod).toBe(1);
    expect(fe.rxRsp(0)).toMatchObject({ status: 4000, flags: 0 });
    expect(fe.vif.counters.rx_copy_ops - opsBefore).toBe(3);
    const want = new Uint8Array(4000);
    want.set(head, 0);
    want.set(two, 1000);
    expect(Array.from(bufs[0]!.page.subarray(0, 4000))).toEqual(Array.from(want));
  });
});

describe('xenvif_rx_data_slot(): an empty linear area', () => {
  it('an skb with no linear data issues a zero-length copy op for it, then the frag (Linux copies chunk by chunk, empty ones too)', () => {
    const { h, fe } = connected();
    const bufs = fe.postRx(1);
    h.sim.run({ until: h.sim.now + 1_000_000 });
    const dom0 = h.hv.guest(0);
    const frame = udpFrame(500, 9);
    dom0.page(41).set(frame, 0);
    const skb = h.stack.pool.alloc();
    skb.addFrag(dom0.page(41), 0, 500);
    expect(skb.headLen).toBe(0);
    const opsBefore = fe.vif.counters.rx_copy_ops;
    fe.vif.ndo_start_xmit(skb);
    h.sim.run({ until: h.sim.now + 1_000_000 });
    expect(fe.vif.counters.rx_copy_ops - opsBefore).toBe(2);
    expect(fe.rxRsp(0)).toMatchObject({ status: 500, flags: 0 });
    expect(Array.from(bufs[0]!.page.subarray(0, 500))).toEqual(Array.from(frame));
  });
});

describe('xenvif_rx_copy_flush()', () => {
  it('a failed op overwrites only its own response status with the GNTST code; the other slots of the packet keep their lengths', () => {
    const { h, fe } = connected();
    fe.postRx(3);
    // Break the grant of the second request only.
    const o = RING_GET_REQUEST(fe.rx, 1);
    fe.rx.sring.view.setUint32(o + 4, 99999, true);
    h.sim.run();
    fe.vif.ndo_start_xmit(skbOf(h, udpFrame(9000)));
    h.sim.run();
    expect([0, 1, 2].map((i) => fe.rxRsp(i).status)).toEqual([4096, GNTST_bad_gntref, 808]);
    // flags are left as written: more_data still chains the packet
    expect([0, 1, 2].map((i) => fe.rxRsp(i).flags)).toEqual([0x0004, 0x0004, 0]);
    // one error per failed op (the slot's data may take more than one chunk)
    expect(fe.vif.counters.rx_copy_errors).toBeGreaterThan(0);
  });

  it('64 packets per xenvif_rx_action, one push per batch', () => {
    const { h, fe } = connected();
    const batches = h.sim.trace.record('netback.rx.batch');
    fe.postRx(200);
    h.sim.run();
    for (let i = 0; i < 100; i++) fe.vif.ndo_start_xmit(skbOf(h, udpFrame(100, i)));
    h.sim.run();
    const withWork = batches.records.filter((b) => b.skbs > 0);
    expect(withWork.map((b) => b.skbs)).toEqual([64, 36]);
    expect(fe.rx.sring.rsp_prod).toBe(100);
  });
});

describe('xenvif_kthread_guest_rx(): drain and stall', () => {
  it('an expired packet is dropped and counted in the vif rx_dropped (dev->stats), not given to the guest', () => {
    const { h, fe } = connected({ 'netback.rx_drain_timeout_msecs': 5 });
    fe.vif.ndo_start_xmit(skbOf(h, udpFrame(300)));
    h.sim.run({ until: h.sim.now + 6_000_000 });
    expect(fe.vif.stats.rx_dropped).toBe(1);
    expect(h.sim.drops.total({ reason: 'drain_timeout' })).toBe(1);
    expect(fe.rx.sring.rsp_prod).toBe(0);
    expect(h.stack.pool.outstanding).toBe(0);
  });

  it('stalled / ready / have_rx_work follow the posted requests against the head packet and last_rx_time', () => {
    const { h, fe } = connected({ 'netback.rx_stall_timeout_msecs': 50, 'netback.rx_drain_timeout_msecs': 1000 });
    const q = fe.vif.queues[0]!;
    fe.postRx(1);
    h.sim.run();
    expect(q.stalled).toBe(false); // ready at the first run: one request posted
    fe.vif.ndo_start_xmit(skbOf(h, udpFrame(300, 1)));
    h.sim.run({ until: h.sim.now + 1_000_000 });
    // The one request is used; a second packet waits. Not stalled before stall_timeout.
    fe.vif.ndo_start_xmit(skbOf(h, udpFrame(300, 2)));
    h.sim.run({ until: h.sim.now + 1_000_000 });
    expect(xenvif_rx_queue_stalled(q)).toBe(false);
    expect(xenvif_have_rx_work(q)).toBe(false);
    h.sim.run({ until: q.last_rx_time + 50_000_001 });
    // Past last_rx_time + stall_timeout with too few requests: stalled is due (have_rx_work).
    expect(xenvif_rx_queue_stalled(q) || q.stalled).toBe(true);
    fe.vif.ndo_start_xmit(skbOf(h, udpFrame(300, 3)));
    h.sim.run({ until: h.sim.now + 1_000_000 });
    expect(q.stalled).toBe(true);
    expect(fe.vif.carrier).toBe(false);
    expect(xenvif_rx_queue_ready(q)).toBe(false);
    // The guest posts: ready, the rx interrupt kicks the kthread, the carrier comes back, the queue drains.
    fe.postRx(4);
    h.sim.run({ until: h.sim.now + 1_000_000 });
    expect(q.stalled).toBe(false);
    expect(fe.vif.carrier).toBe(true);
    expect(fe.rx.sring.rsp_prod).toBe(3);
  });
});
