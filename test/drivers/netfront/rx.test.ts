import { describe, expect, it } from 'vitest';
import { CHECKSUM_NONE, CHECKSUM_PARTIAL, CHECKSUM_UNNECESSARY, SKB_GSO_DODGY, SKB_GSO_TCPV4 } from '../../../src/net/skb';
import {
  NETRXF_csum_blank, NETRXF_data_validated, NETRXF_extra_info, NETRXF_more_data, XEN_NETIF_GSO_TYPE_TCPV4,
} from '../../../src/io/netif';
import { GTF_accept_transfer, GTF_permit_access } from '../../../src/io/xen-constants';
import { INVALID_MFN } from '../../../src/xen/constants';
import { NET_RX_SLOTS_MIN, RX_DFL_MIN_TARGET } from '../../../src/drivers/netfront';
import { DEFAULT_FEATURES, makeRig, type Rig, run, tcpFrame } from './backend';



function deliver(r: Rig, ...slots: [Uint8Array, number][]): void {
  for (const [b, fl] of slots) r.be.rxSlot(b, fl);
  r.be.pushRx();
  run(r);
}

describe('xennet_alloc_rx_buffers() (modern)', () => {
  it('fills every slot with a writable grant on connect and publishes all 256', () => {
    const r = makeRig();
    const q = r.np.queues[0]!;
    expect(q.rx.sring.req_prod).toBe(256);
    expect(r.be.rxAvailable).toBe(256);
    const e = r.hv.lookup(1)!;
    const ref = q.grant_rx_ref[5]!;
    expect(r.hv.mem.u16[e.grantEntryAddr(ref) >>> 1]).toBe(GTF_permit_access);
  });

  it('writes requests but publishes none while pages run short (err or < 19 outstanding), then retries on the refill timer', () => {
    const r = makeRig({ keepRx: true, params: { 'netfront.rx_pool_pages': 256 } });
    const q = r.np.queues[0]!;
    // 240 packets held by the stack keep their pages: nothing left to refill with.
    for (let k = 0; k < 240; k++) r.be.rxSlot(tcpFrame(1000, k), NETRXF_data_validated);
    r.be.pushRx();
    run(r);
    expect(r.received.length).toBe(240);
    expect(q.rxOutstanding).toBe(16);
    expect(q.rxOutstanding).toBeLessThan(NET_RX_SLOTS_MIN);
    expect(q.refillArmed).toBe(true);
    const prodBefore = q.rx.sring.req_prod;
    // Three pages come back: the timer (HZ/10) writes 3 requests, but allocation still fails → no push.
    for (let k = 0; k < 3; k++) r.pool.free(r.keep.pop()!);
    run(r, 150_000_000);
    expect(r.np.counters.rx_refill_timer).toBe(1);
    expect(q.rx.req_prod_pvt - q.rx.rsp_cons).toBe(NET_RX_SLOTS_MIN);
    expect(q.rx.sring.req_prod).toBe(prodBefore);
    expect(r.be.rxAvailable).toBe(16);
    // All pages back: the ring fills completely and is published.
    while (r.keep.length > 0) r.pool.free(r.keep.pop()!);
    run(r, 150_000_000);
    expect(q.rx.sring.req_prod).toBe(q.rx.req_prod_pvt);
    expect(r.be.rxAvailable).toBe(256);
  });

  it('with spare pages in the pool the ring is refilled and published at once', () => {
    const r = makeRig({ keepRx: true });
    const q = r.np.queues[0]!;
    for (let k = 0; k < 240; k++) r.be.rxSlot(tcpFrame(1000, k), 0);
    r.be.pushRx();
    run(r);
    expect(r.be.rxAvailable).toBe(256);
    expect(q.refillArmed).toBe(false);
  });
});

describe('xennet_poll()', () => {
  it('receives a 1500-byte frame: bytes intact, 256 bytes pulled into the head, the rest as a page frag', () => {
    const r = makeRig({ keepRx: true });
    const f = tcpFrame(1500);
    deliver(r, [f, NETRXF_data_validated]);
    expect(r.received.length).toBe(1);
    const got = r.received[0]!;
    expect(Array.from(got.bytes)).toEqual(Array.from(f));
    expect(got.skb.headLen).toBe(256);
    expect(got.skb.nrFrags).toBe(1);
    expect(got.skb.ipSummed).toBe(CHECKSUM_UNNECESSARY);
    const q = r.np.queues[0]!;
    expect(q.rxPages.outstanding).toBe(257); // 256 posted (refilled) + 1 held by the skb
    r.pool.free(r.keep.pop()!);
    expect(r.pool.outstanding).toBe(0);
  });

  it('builds one skb from a more_data chain with a GSO extra: frags, gso fields, CHECKSUM_PARTIAL', () => {
    const r = makeRig();
    const f = tcpFrame(4096 + 3000, 7);
    r.be.rxSlot(f.subarray(0, 4096), NETRXF_more_data | NETRXF_extra_info | NETRXF_csum_blank | NETRXF_data_validated);
    r.be.rxGsoExtra(1448, XEN_NETIF_GSO_TYPE_TCPV4);
    r.be.rxSlot(f.subarray(4096), 0);
    r.be.pushRx();
    run(r);
    expect(r.received.length).toBe(1);
    const got = r.received[0]!;
    expect(Array.from(got.bytes)).toEqual(Array.from(f));
    expect(got.skb.nrFrags).toBe(2);
    expect(got.skb.gsoSize).toBe(1448);
    expect(got.skb.gsoType).toBe(SKB_GSO_TCPV4 | SKB_GSO_DODGY);
    expect(got.skb.ipSummed).toBe(CHECKSUM_PARTIAL);
    const q = r.np.queues[0]!;
    expect(q.rx.rsp_cons).toBe(3);
    expect(q.rxOutstanding).toBe(256); // extra slot's buffer recycled, the rest refilled
    expect(r.pool.outstanding).toBe(0);
    expect(q.rxPages.outstanding).toBe(256);
  });

  it('a GSO packet without csum_blank is forced to CHECKSUM_PARTIAL and counted (rx_gso_checksum_fixup)', () => {
    const r = makeRig();
    r.be.rxSlot(tcpFrame(1000), NETRXF_extra_info);
    r.be.rxGsoExtra(500, XEN_NETIF_GSO_TYPE_TCPV4);
    r.be.pushRx();
    run(r);
    expect(r.received[0]!.skb.ipSummed).toBe(CHECKSUM_PARTIAL);
    expect(r.np.counters.rx_gso_checksum_fixup).toBe(1);
  });

  it('delivers at most napi_budget packets per poll and polls again', () => {
    const r = makeRig({ params: { 'netfront.napi_budget': 8 } });
    const polls = r.sim.trace.record('netfront.rx.poll');
    for (let k = 0; k < 20; k++) r.be.rxSlot(tcpFrame(200, k), 0);
    r.be.pushRx();
    run(r);
    expect(r.received.length).toBe(20);
    expect(polls.records.map((x) => x.work)).toEqual([8, 8, 4]);
    expect(r.received[0]!.skb.ipSummed).toBe(CHECKSUM_NONE);
  });
});

describe('misbehaving backend on rx', () => {
  it('a negative status drops the packet as rx_bad_response and recycles the slot; later packets still arrive', () => {
    const r = makeRig();
    const q = r.np.queues[0]!;
    const gref = r.be.rxSlot(new Uint8Array(0), 0, { status: -1, noCopy: true });
    r.be.pushRx();
    run(r);
    expect(r.sim.drops.total({ reason: 'rx_bad_response' })).toBe(1);
    // xennet_poll's err path: dev->stats.rx_errors++ (not rx_dropped).
    expect(r.np.netdev.stats.rx_errors).toBe(1);
    expect(r.np.netdev.stats.rx_dropped).toBe(0);
    // the same grant is posted again at the next free request slot
    expect(q.grant_rx_ref[(q.rx.req_prod_pvt - 1) & 255]).toBe(gref);
    expect(q.rxOutstanding).toBe(256);
    deliver(r, [tcpFrame(100), 0]);
    expect(r.received.length).toBe(1);
    expect(r.np.broken).toBe(false);
  });

  it('offset + status past the page is dropped with a reason; ending exactly at the page end is fine', () => {
    const r = makeRig();
    r.be.rxSlot(new Uint8Array(0), 0, { offset: 4000, status: 200, noCopy: true });
    r.be.pushRx();
    run(r);
    expect(r.sim.drops.total({ reason: 'rx_bad_response' })).toBe(1);
    expect(r.received.length).toBe(0);
    // One byte past the page (offset + status = 4097) is refused too; 4096 is a whole page's end.
    r.be.rxSlot(new Uint8Array(0), 0, { offset: 3997, status: 100, noCopy: true });
    r.be.pushRx();
    run(r);
    expect(r.sim.drops.total({ reason: 'rx_bad_response' })).toBe(2);
    r.be.rxSlot(tcpFrame(100), 0, { offset: 3996 });
    r.be.pushRx();
    run(r);
    expect(r.sim.drops.total({ reason: 'rx_bad_response' })).toBe(2);
    expect(r.received.length).toBe(1);
  });

  it('a more_data chain that ends at rsp_prod is dropped as rx_missing_slots', () => {
    const r = makeRig();
    r.be.rxSlot(tcpFrame(4096), NETRXF_more_data);
    r.be.pushRx();
    run(r);
    expect(r.sim.drops.total({ reason: 'rx_missing_slots' })).toBe(1);
    expect(r.np.queues[0]!.rxPages.free + r.np.queues[0]!.rxOutstanding).toBe(512);
  });

  it('an invalid extra type is dropped as rx_bad_extra', () => {
    const r = makeRig();
    r.be.rxSlot(tcpFrame(100), NETRXF_extra_info);
    r.be.rxGsoExtra(100, 1);
    // corrupt the extra's type to 9
    const q = r.be.rx;
    q.sring.view.setUint8(64 + 8 * 1, 9);
    r.be.pushRx();
    run(r);
    expect(r.sim.drops.total({ reason: 'rx_bad_extra' })).toBe(1);
  });

  it('an rx producer index going backwards marks the device broken without throwing', () => {
    const r = makeRig({ params: { 'netfront.softirq_latency_ns': 10_000 } });
    r.be.rxSlot(tcpFrame(100), 0);
    r.be.rxSlot(tcpFrame(100), 0);
    r.be.pushRx();
    // the handler records 2 unconsumed responses; then the backend rewinds rsp_prod before the poll
    r.sim.run({ until: r.sim.now + 3500 });
    r.be.rx.sring.rsp_prod = 1;
    r.hv.guest(0).notify_remote_via_evtchn(r.be.rxPort);
    expect(() => run(r)).not.toThrow();
    expect(r.np.broken).toBe(true);
  });
});

describe('classic netfront (2.6.18)', () => {
  it('posts rx_target (64) buffers and doubles the target whenever the backend nearly ran dry', () => {
    const r = makeRig({ params: { 'netfront.design': 'classic' } });
    const q = r.np.queues[0]!;
    // The first refill posts 64 and, with none outstanding (< 64/4), already doubles the target.
    expect(q.rx.sring.req_prod).toBe(RX_DFL_MIN_TARGET);
    expect(q.rx_target).toBe(128);
    expect(r.hv.xenstore.read(`${r.np.nodename}/request-rx-copy`)).toBe('1');
    for (let k = 0; k < 60; k++) r.be.rxSlot(tcpFrame(100, k), 0);
    r.be.pushRx();
    run(r);
    expect(r.received.length).toBe(60);
    // 4 left outstanding (< 128/4): doubled again, and the refill tops up to the old target.
    expect(q.rx_target).toBe(256);
    expect(q.rx.sring.req_prod - q.rx.rsp_cons).toBe(128);
  });

  it('rx_target doubles only when fewer than rx_target / 4 were outstanding, and never past RX_MAX_TARGET (256)', () => {
    const r = makeRig({ params: { 'netfront.design': 'classic' } });
    const q = r.np.queues[0]!;
    expect([q.rx_target, q.rx.sring.req_prod]).toEqual([128, 64]);
    const deliver = (n: number, seed: number): void => {
      for (let k = 0; k < n; k++) r.be.rxSlot(tcpFrame(100, seed + k), 0);
      r.be.pushRx();
      run(r);
    };
    deliver(32, 0); // 64 - 32 = 32 outstanding: not < 128 / 4
    expect(q.rx_target).toBe(128);
    deliver(97, 100); // 128 - 97 = 31 < 32: doubled
    expect(q.rx_target).toBe(256);
    deliver(250, 300); // nearly dry again: 512 would pass RX_MAX_TARGET
    expect(q.rx_target).toBe(256);
    expect(r.np.broken).toBe(false);
  });

  it('page flipping: buffers granted GTF_accept_transfer, pages given back, a transferred page delivered with its bytes', () => {
    const r = makeRig({ keepRx: true, params: { 'netfront.design': 'classic', 'netfront.rx_mode': 'flip' }, features: { ...DEFAULT_FEATURES, 'feature-rx-flip': '1' } });
    const q = r.np.queues[0]!;
    expect(r.hv.xenstore.read(`${r.np.nodename}/request-rx-copy`)).toBe('0');
    const d1 = r.hv.lookup(1)!;
    const pfn = q.rx_pfn[0]!;
    expect(d1.p2m[pfn]).toBe(INVALID_MFN); // given back to Xen
    const ref = q.grant_rx_ref[0]!;
    expect(r.hv.mem.u16[d1.grantEntryAddr(ref) >>> 1]).toBe(GTF_accept_transfer);
    // the backend flips a dom0 page holding the frame
    const dom0 = r.hv.guest(0);
    const f = tcpFrame(800, 5);
    dom0.page(50).set(f, 0);
    const mfn = dom0.pfn_to_gfn(50);
    const view = r.be.rx.sring.view;
    const gref = view.getUint32(64 + 4, true);
    const op = { mfn, domid: 1, ref: gref, status: 99 };
    r.hv.gnttab_transfer(0, [op]);
    expect(op.status).toBe(0);
    r.be.rxSlot(new Uint8Array(0), NETRXF_data_validated, { status: 800, noCopy: true });
    r.be.pushRx();
    run(r);
    expect(r.received.length).toBe(1);
    expect(Array.from(r.received[0]!.bytes)).toEqual(Array.from(f));
    expect(d1.p2m[pfn]).toBe(mfn);
    expect(r.np.counters.rx_flipped).toBe(1);
  });
});
