import { describe, expect, it } from 'vitest';
import { makeHost, Frontend, udpFrame, skbOf } from './harness';
import { NETRXF_more_data, NETRXF_extra_info, NETRXF_data_validated, NETRXF_csum_blank } from '../../../src/io/netif';
import { GNTST_bad_gntref } from '../../../src/io/xen-constants';
import { RING_GET_REQUEST } from '../../../src/io/ring';
import { CHECKSUM_PARTIAL, SKB_GSO_TCPV4, type SkBuff } from '../../../src/net/skb';
import type { Host } from './harness';

/** A TCPv4 GSO skb (MSS 1448, CHECKSUM_PARTIAL) holding `frame`, as dom0's stack hands one to a vif. */
function gsoSkbOf(h: Host, frame: Uint8Array): SkBuff {
  const skb = skbOf(h, frame);
  skb.gsoSize = 1448;
  skb.gsoType = SKB_GSO_TCPV4;
  skb.ipSummed = CHECKSUM_PARTIAL;
  return skb;
}

describe('modern netback guest receive', () => {
  it('xenvif_rx_action() copies a queued packet into the posted buffer and answers with its length', () => {
    const h = makeHost();
    const fe = new Frontend(h, 'guest1');
    fe.connect('modern');
    const bufs = fe.postRx(4);
    h.sim.run();
    const frame = udpFrame(1400);
    fe.vif.ndo_start_xmit(skbOf(h, frame));
    h.sim.run();
    expect(fe.rx.sring.rsp_prod).toBe(1);
    const r = fe.rxRsp(0);
    expect(r).toEqual({ id: bufs[0]!.id, offset: 0, flags: 0, status: 1400 });
    expect(Array.from(bufs[0]!.page.subarray(0, 1400))).toEqual(Array.from(frame));
    expect(fe.vif.stats.tx_packets).toBe(1);
    expect(h.stack.pool.outstanding).toBe(0);
    expect(fe.notifications).toBeGreaterThan(0);
  });

  it('a large GSO packet spans slots with more_data, a GSO extra after slot 0 and csum flags', () => {
    const h = makeHost();
    const fe = new Frontend(h, 'guest1');
    fe.connect('modern');
    const bufs = fe.postRx(8);
    h.sim.run();
    const frame = udpFrame(9000);
    fe.vif.ndo_start_xmit(gsoSkbOf(h, frame));
    h.sim.run();
    // 9000 bytes = 3 data slots + 1 extra
    expect(fe.rx.sring.rsp_prod).toBe(4);
    const r0 = fe.rxRsp(0);
    expect(r0.flags).toBe(NETRXF_more_data | NETRXF_csum_blank | NETRXF_data_validated | NETRXF_extra_info);
    expect(r0.status).toBe(4096);
    const ex = fe.rx.sring.view;
    const o1 = RING_GET_REQUEST(fe.rx, 1);
    expect([ex.getUint8(o1), ex.getUint8(o1 + 1), ex.getUint16(o1 + 2, true), ex.getUint8(o1 + 4)]).toEqual([1, 0, 1448, 1]);
    expect(fe.rxRsp(2)).toMatchObject({ id: bufs[2]!.id, status: 4096, flags: NETRXF_more_data });
    expect(fe.rxRsp(3)).toMatchObject({ id: bufs[3]!.id, status: 9000 - 8192, flags: 0 });
    const got = new Uint8Array(9000);
    got.set(bufs[0]!.page.subarray(0, 4096), 0);
    got.set(bufs[2]!.page.subarray(0, 4096), 4096);
    got.set(bufs[3]!.page.subarray(0, 808), 8192);
    expect(Array.from(got)).toEqual(Array.from(frame));
  });

  it('more grant-copy ops than one batch holds (COPY_BATCH_SIZE 64) in one xenvif_rx_action run: flushed mid-way, every byte arrives', () => {
    const h = makeHost();
    const fe = new Frontend(h, 'guest1');
    fe.connect('modern');
    const bufs = fe.postRx(90);
    h.sim.run();
    const frames = Array.from({ length: 5 }, (_, i) => udpFrame(60_000, i));
    const gt0 = h.sim.counters.snapshot()['xen.gnttab']!;
    for (const f of frames) fe.vif.ndo_start_xmit(gsoSkbOf(h, f));
    h.sim.run();
    const gt = h.sim.counters.snapshot()['xen.gnttab']!;
    // 15 data slots (⌈60000 / 4096⌉) + 1 extra per packet
    expect(fe.rx.sring.rsp_prod).toBe(80);
    const copyOps = gt.copy_ops! - gt0.copy_ops!;
    expect(copyOps).toBeGreaterThanOrEqual(75);
    expect(gt.copy_hypercalls! - gt0.copy_hypercalls!).toBeGreaterThanOrEqual(Math.ceil(copyOps / 64));
    let slot = 0;
    for (const f of frames) {
      const got = new Uint8Array(f.length);
      let at = 0;
      for (let k = 0; at < f.length; k++, slot++) {
        if (k === 1) slot++; // the GSO extra after the first slot
        const r = fe.rxRsp(slot);
        const n = k === 0 ? 4096 : Math.min(4096, f.length - at);
        expect(r.id).toBe(bufs[slot]!.id);
        got.set(bufs[slot]!.page.subarray(r.offset, r.offset + n), at);
        at += n;
      }
      expect(Array.from(got)).toEqual(Array.from(f));
    }
    expect(h.stack.pool.outstanding).toBe(0);
  });

  it('a bad rx request grant ref: the copy fails and the GNTST code is the response status', () => {
    const h = makeHost();
    const fe = new Frontend(h, 'guest1');
    fe.connect('modern');
    fe.postRx(1, false);
    const o = RING_GET_REQUEST(fe.rx, 0);
    fe.rx.sring.view.setUint32(o + 4, 77777, true);
    fe.postRx(1);
    h.sim.run();
    fe.vif.ndo_start_xmit(skbOf(h, udpFrame(600)));
    h.sim.run();
    expect(fe.rxRsp(0).status).toBe(GNTST_bad_gntref);
    expect(fe.vif.counters.rx_copy_errors).toBe(1);
    expect(fe.vif.disabled).toBe(false);
  });

  it('a guest that never posts buffers: the queue fills to rx_queue_max, further packets dropped and counted, the rest expire', () => {
    const h = makeHost({ 'netback.rx_queue_max_bytes': 8192 });
    const fe = new Frontend(h, 'guest1');
    const other = new Frontend(h, 'guest2');
    fe.connect('modern');
    other.connect('modern');
    other.postRx(4);
    h.sim.run();
    for (let i = 0; i < 10; i++) fe.vif.ndo_start_xmit(skbOf(h, udpFrame(1500, i)));
    other.vif.ndo_start_xmit(skbOf(h, udpFrame(1000)));
    h.sim.run({ until: h.sim.now + 1_000_000 });
    // 6 x 1500 reach >= 8192 bytes: the 7th and later are refused.
    expect(h.sim.drops.total({ where: 'vif1.0', reason: 'rx_queue_full' })).toBe(4);
    expect(fe.vif.txStopped).toBe(true);
    expect(other.rx.sring.rsp_prod).toBe(1);
    // 10 s later the drain timeout drops what is queued.
    h.sim.run({ until: h.sim.now + 11_000_000_000 });
    expect(h.sim.drops.total({ where: 'vif1.0', reason: 'drain_timeout' })).toBe(6);
    expect(fe.vif.txStopped).toBe(false);
    expect(h.stack.pool.outstanding).toBe(0);
  });

  it('xenvif_rx_queue_tail refuses a packet once exactly rx_queue_max bytes are queued', () => {
    const h = makeHost({ 'netback.rx_queue_max_bytes': 4500 });
    const fe = new Frontend(h, 'guest1');
    fe.connect('modern');
    h.sim.run();
    for (const n of [1500, 1500, 1500, 1000]) fe.vif.ndo_start_xmit(skbOf(h, udpFrame(n, n)));
    h.sim.run({ until: h.sim.now + 1_000_000 });
    expect(fe.vif.queues[0]!.rx_queue_len).toBe(4500);
    expect(h.sim.drops.total({ where: 'vif1.0', reason: 'rx_queue_full' })).toBe(1);
    expect(fe.vif.txStopped).toBe(true);
  });

  it('xenvif_rx_dequeue wakes the stopped vif only when the queue drops below rx_queue_max', () => {
    const h = makeHost({ 'netback.rx_queue_max_bytes': 4500 });
    const fe = new Frontend(h, 'guest1');
    fe.connect('modern');
    h.sim.run();
    const q = fe.vif.queues[0]!;
    // 100 + 3 × 1500 = 4600 (the last taken at 3100 < 4500); the next is refused and the vif stops.
    for (const n of [100, 1500, 1500, 1500, 100]) fe.vif.ndo_start_xmit(skbOf(h, udpFrame(n, n)));
    h.sim.run({ until: h.sim.now + 1_000_000 });
    expect(q.rx_queue_len).toBe(4600);
    expect(fe.vif.txStopped).toBe(true);
    fe.postRx(1); // the 100-byte packet leaves: 4500 is not below the limit
    h.sim.run({ until: h.sim.now + 1_000_000 });
    expect(fe.rx.sring.rsp_prod).toBe(1);
    expect(q.rx_queue_len).toBe(4500);
    expect(fe.vif.txStopped).toBe(true);
    fe.postRx(1);
    h.sim.run({ until: h.sim.now + 1_000_000 });
    expect(q.rx_queue_len).toBe(3000);
    expect(fe.vif.txStopped).toBe(false);
  });

  it('a guest that stops posting buffers stalls: carrier off after rx_stall_timeout, on again once the drain timeout empties the queue (rx_slots_needed 0), and it receives when it posts', () => {
    const h = makeHost({ 'netback.rx_stall_timeout_msecs': 1000, 'netback.rx_drain_timeout_msecs': 100 });
    const fe = new Frontend(h, 'guest1');
    fe.connect('modern');
    const carrier: { t: number; on: boolean; reason: string }[] = [];
    h.sim.trace.on('netback.carrier', (r) => carrier.push({ t: r.t, on: r.on as boolean, reason: r.reason as string }));
    fe.postRx(1);
    h.sim.run();
    fe.vif.ndo_start_xmit(skbOf(h, udpFrame(500)));
    h.sim.run();
    expect(fe.rx.sring.rsp_prod).toBe(1);
    const lastPlaced = h.sim.now;
    expect(fe.vif.carrier).toBe(true);
    expect(fe.vif.queues[0]!.rx_slots_needed).toBe(0);
    // No more buffers; a packet arrives every 200 ms and expires 100 ms later.
    for (let t = 0; t < 8; t++) {
      fe.vif.ndo_start_xmit(skbOf(h, udpFrame(500)));
      h.sim.run({ until: h.sim.now + 200_000_000 });
    }
    // rx.c: stalled = !stalled && slots < rx_slots_needed && now after last_rx_time + stall_timeout:
    // the first packet that finds no buffer more than 1 s after the last placed one turns the
    // carrier off; the drain timeout then empties the queue, rx_slots_needed becomes 0, and
    // xenvif_rx_queue_ready (stalled && slots >= 0) turns it on again, although nothing was posted.
    // The first record is the connect's: the queue's kthread found it ready ("Guest Rx ready").
    expect(carrier[0]).toMatchObject({ on: true, reason: 'Guest Rx ready' });
    const stalled = carrier.filter((c) => c.reason === 'Guest Rx stalled');
    const ready = carrier.slice(1).filter((c) => c.reason === 'Guest Rx ready');
    expect(stalled.length).toBeGreaterThanOrEqual(1);
    expect(stalled[0]!.t - lastPlaced).toBeGreaterThan(1_000_000_000);
    expect(stalled[0]!.t - lastPlaced).toBeLessThanOrEqual(1_200_000_000);
    expect(ready.length).toBeGreaterThanOrEqual(1);
    // The packet that found the stall expires 100 ms after it was queued (a few µs before the stall was seen).
    expect(ready[0]!.t - stalled[0]!.t).toBeGreaterThan(99_990_000);
    expect(ready[0]!.t - stalled[0]!.t).toBeLessThanOrEqual(100_000_000);
    expect(fe.rx.sring.rsp_prod).toBe(1);
    expect(h.sim.drops.total({ where: 'vif1.0', reason: 'drain_timeout' })).toBe(8);
    // last_rx_time was reset by the recovery: no second stall within one stall timeout of it.
    expect(stalled.every((c) => c === stalled[0] || c.t - ready[0]!.t > 1_000_000_000)).toBe(true);
    // The guest posts buffers: the next packet is placed.
    fe.postRx(2);
    fe.vif.ndo_start_xmit(skbOf(h, udpFrame(500)));
    h.sim.run({ until: h.sim.now + 1_000_000 });
    expect(fe.vif.carrier).toBe(true);
    expect(fe.rx.sring.rsp_prod).toBe(2);
  });

  it('requests beyond the ring: netback follows the garbage req_prod (as Linux), every copy fails, the guest only hurts itself', () => {
    const h = makeHost();
    const fe = new Frontend(h, 'guest1');
    const other = new Frontend(h, 'guest2');
    fe.connect('modern');
    other.connect('modern');
    other.postRx(2);
    fe.rx.sring.req_prod = 100000; // garbage producer index; slots hold no valid grants
    for (let i = 0; i < 300; i++) fe.vif.ndo_start_xmit(skbOf(h, udpFrame(100, i)));
    other.vif.ndo_start_xmit(skbOf(h, udpFrame(100)));
    h.sim.run({ until: h.sim.now + 100_000_000 });
    expect(fe.rx.sring.rsp_prod).toBe(300);
    expect(fe.vif.counters.rx_copy_errors).toBe(300);
    expect(fe.rxRsp(299).status).toBeLessThan(0);
    expect(other.rx.sring.rsp_prod).toBe(1);
    expect(other.rxRsp(0).status).toBe(100);
    expect(h.stack.pool.outstanding).toBe(0);
  });

  it('a guest that stops consuming responses gets no more packets once its posted requests are used up', () => {
    const h = makeHost();
    const fe = new Frontend(h, 'guest1');
    fe.connect('modern');
    fe.postRx(8);
    h.sim.run();
    for (let i = 0; i < 20; i++) fe.vif.ndo_start_xmit(skbOf(h, udpFrame(300, i)));
    h.sim.run({ until: h.sim.now + 1_000_000 });
    expect(fe.rx.sring.rsp_prod).toBe(8);
    expect(fe.vif.queues[0]!.rx_queue.length).toBe(12);
    h.sim.run({ until: h.sim.now + 11_000_000_000 });
    expect(h.sim.drops.total({ reason: 'drain_timeout' })).toBe(12);
  });
});
