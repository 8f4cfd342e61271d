/**
 * netfront receive checked line by line against Linux drivers/net/xen-netfront.c (xennet_poll,
 * xennet_get_responses, xennet_get_extras, xennet_fill_frags, handle_incoming_queue, the `broken`
 * state). Each case names the source behaviour it pins.
 */
import { describe, expect, it } from 'vitest';
import { CHECKSUM_PARTIAL, CHECKSUM_UNNECESSARY } from '../../../src/net/skb';
import { RING_GET_REQUEST, RING_GET_RESPONSE } from '../../../src/io/ring';
import { NETRXF_csum_blank, NETRXF_extra_info, NETRXF_more_data, XEN_NETIF_GSO_TYPE_TCPV4, rxRequestGref, rxRequestId } from '../../../src/io/netif';
import { csum_tcpudp_magic } from '../../../src/wire/checksum';
import { INVALID_GRANT_REF } from '../../../src/drivers/netfront/constants';
import { linearSkb, makeRig, type Rig, run, rxChain, tcpFrame } from './backend';

/** Writes a raw extra_info response (8 bytes) in the next rx slot, consuming its request. */
function rxRawExtra(r: Rig, bytes: number[]): void {
  const rx = r.be.rx;
  const o = RING_GET_RESPONSE(rx, rx.req_cons);
  for (let k = 0; k < 8; k++) rx.sring.view.setUint8(o + k, bytes[k] ?? 0);
  rx.req_cons = (rx.req_cons + 1) >>> 0;
  rx.rsp_prod_pvt = rx.req_cons;
}

/** Takes the buffer out of rx slot `i` (grant ended, ref and page back in their pools), as if consumed. */
function loseBuffer(r: Rig, i: number): number {
  const q = r.np.queues[0]!;
  const ref = q.grant_rx_ref[i]!;
  expect(r.np.xen.gnttab_end_foreign_access_ref(ref)).toBe(true);
  r.np.xen.gnttab_release_grant_reference(q.gref_rx_head!, ref);
  q.rxPages.push(q.rx_pfn[i]!);
  q.grant_rx_ref[i] = INVALID_GRANT_REF;
  q.rx_pfn[i] = -1;
  return ref;
}

describe('xennet_poll() flags and bookkeeping', () => {
  it('rx flag bits are swapped against tx: raw 0x0002 (csum_blank) gives CHECKSUM_PARTIAL, raw 0x0001 (data_validated) CHECKSUM_UNNECESSARY', () => {
    const r = makeRig();
    r.be.rxSlot(tcpFrame(300, 1), 0x0002);
    r.be.rxSlot(tcpFrame(300, 2), 0x0001);
    r.be.pushRx();
    run(r);
    expect(r.received.map((x) => x.skb.ipSummed)).toEqual([CHECKSUM_PARTIAL, CHECKSUM_UNNECESSARY]);
  });

  it('the buffer is found by ring index, not by the response id: a wrong id still delivers that slot\'s bytes', () => {
    const r = makeRig();
    const f = tcpFrame(500, 3);
    r.be.rxSlot(f, 0);
    r.be.rx.sring.view.setUint16(RING_GET_RESPONSE(r.be.rx, 0), 77, true);
    r.be.pushRx();
    run(r);
    expect(r.received.length).toBe(1);
    expect(Array.from(r.received[0]!.bytes)).toEqual(Array.from(f));
  });

  it('work_done does not count packets that checksum_setup dropped (work_done -= handle_incoming_queue())', () => {
    const r = makeRig();
    const polls = r.sim.trace.record('netfront.rx.poll');
    // csum_blank on a frame that is not IP (ARP): checksum_setup fails, the packet is dropped.
    const bad = tcpFrame(200, 4);
    bad[12] = 0x08; bad[13] = 0x06;
    r.be.rxSlot(bad, 0x0002);
    r.be.rxSlot(bad, 0x0002);
    r.be.rxSlot(tcpFrame(200, 5), 0);
    r.be.pushRx();
    run(r);
    expect(r.received.length).toBe(1);
    expect(polls.records[0]!.work).toBe(1);
    expect(r.sim.drops.total({ reason: 'rx_csum_setup' })).toBe(2);
    // handle_incoming_queue: dev->stats.rx_errors++ for each.
    expect(r.np.netdev.stats.rx_errors).toBe(2);
  });
});

describe('handle_incoming_queue(): checksum_setup() is skb_checksum_setup()', () => {
  /** Delivers one frame with `flags` (and a GSO extra when gsoSize > 0); returns the received skb's bytes or null. */
  function deliverOne(frame: Uint8Array, flags: number, gsoSize = 0): { r: Rig; bytes: Uint8Array | null } {
    const r = makeRig();
    r.be.rxSlot(frame, flags | (gsoSize > 0 ? NETRXF_extra_info : 0));
    if (gsoSize > 0) r.be.rxGsoExtra(gsoSize, XEN_NETIF_GSO_TYPE_TCPV4);
    r.be.pushRx();
    run(r);
    return { r, bytes: r.received.length === 1 ? r.received[0]!.bytes : null };
  }

  it('csum_blank on an IPv4 fragment (MF, or an offset) or on a frame too short for its TCP header: -EPROTO, dropped with rx_errors', () => {
    const mf = tcpFrame(300); mf[20] = 0x20;
    const off = tcpFrame(300); off[21] = 0x08;
    const short = tcpFrame(14 + 20 + 12);
    for (const f of [mf, off, short]) {
      const { r, bytes } = deliverOne(f, NETRXF_csum_blank);
      expect(bytes).toBeNull();
      expect(r.sim.drops.total({ reason: 'rx_csum_setup' })).toBe(1);
      expect(r.np.netdev.stats.rx_errors).toBe(1);
    }
    expect(deliverOne(tcpFrame(14 + 20 + 20), NETRXF_csum_blank).bytes).not.toBeNull();
  });

  it('csum_blank on IPv6/TCP is set up (csum_start 54, csum_offset 16), not dropped', () => {
    const f = tcpFrame(400);
    f[12] = 0x86; f[13] = 0xdd; f[14] = 0x60; f[20] = 6;
    const { r } = deliverOne(f, NETRXF_csum_blank);
    expect(r.received.length).toBe(1);
    expect(r.received[0]!.skb.ipSummed).toBe(CHECKSUM_PARTIAL);
  });

  it('a GSO packet without csum_blank gets its TCP check field rewritten with the pseudo-header sum (recalculate_partial_csum)', () => {
    const f = tcpFrame(1000);
    const { bytes } = deliverOne(f, 0, 500);
    expect(bytes).not.toBeNull();
    const saddr = ((f[26]! << 24) | (f[27]! << 16) | (f[28]! << 8) | f[29]!) >>> 0;
    const daddr = ((f[30]! << 24) | (f[31]! << 16) | (f[32]! << 8) | f[33]!) >>> 0;
    const check = ~csum_tcpudp_magic(saddr, daddr, 1000 - 34, 6, 0) & 0xffff;
    expect((bytes![34 + 16]! << 8) | bytes![34 + 17]!).toBe(check);
    expect(check).not.toBe((f[50]! << 8) | f[51]!);
    expect(Array.from(bytes!.subarray(52))).toEqual(Array.from(f.subarray(52)));
    // With csum_blank the guest's field is kept as it came.
    const kept = deliverOne(f, NETRXF_csum_blank, 500).bytes!;
    expect(Array.from(kept)).toEqual(Array.from(f));
  });
});

describe('xennet_get_responses() / xennet_fill_frags(): slot limits', () => {
  const cases: [number, number, string | null][] = [
    [17, 1000, null],
    [18, 1000, 'rx_too_many_frags'],
    [18, 200, null],
    [19, 200, 'rx_too_many_frags'],
    [19, 1000, 'rx_too_many_slots'],
    [20, 200, 'rx_too_many_slots'],
  ];
  for (const [n, first, reason] of cases) {
    it(`${n} data slots, the first holding ${first} bytes: ${reason ?? 'delivered'}, every slot consumed`, () => {
      const r = makeRig();
      const f = rxChain(r, n, first);
      r.be.pushRx();
      run(r);
      const q = r.np.queues[0]!;
      expect(q.rx.rsp_cons).toBe(n);
      if (reason === null) {
        expect(r.received.length).toBe(1);
        expect(Array.from(r.received[0]!.bytes)).toEqual(Array.from(f));
      } else {
        expect(r.received.length).toBe(0);
        expect(r.sim.drops.total({ reason })).toBe(1);
      }
      // The next packet is found at the right slot.
      r.be.rxSlot(tcpFrame(100, 9), 0);
      r.be.pushRx();
      run(r);
      expect(r.received.at(-1)!.bytes.length).toBe(100);
    });
  }
});

describe('xennet_fill_frags(): empty slots and the pull at MAX_SKB_FRAGS', () => {
  /** `n` data slots, the first holding `first` bytes, slot 1 empty, the others 1000 bytes each. */
  function chainWithEmpty(r: Rig, n: number, first: number): Uint8Array {
    const f = tcpFrame(first + (n - 2) * 1000, n);
    r.be.rxSlot(f.subarray(0, first), NETRXF_more_data);
    r.be.rxSlot(f.subarray(first, first), NETRXF_more_data);
    for (let k = 2; k < n; k++) r.be.rxSlot(f.subarray(first + (k - 2) * 1000, first + (k - 1) * 1000), k < n - 1 ? NETRXF_more_data : 0);
    return f;
  }

  it('19 slots, the first 200 bytes and one empty: the pull drops the empty frag, the packet is delivered and the empty slot\'s page recycled', () => {
    const r = makeRig();
    const f = chainWithEmpty(r, 19, 200);
    r.be.pushRx();
    run(r);
    expect(r.received.length).toBe(1);
    expect(Array.from(r.received[0]!.bytes)).toEqual(Array.from(f));
    expect(r.received[0]!.skb.nrFrags).toBe(17);
    expect(r.np.queues[0]!.rxPages.outstanding).toBe(256);
  });

  it('18 slots, the first 1000 bytes and one empty: the pull only trims the first frag, rx_too_many_frags', () => {
    const r = makeRig();
    chainWithEmpty(r, 18, 1000);
    r.be.pushRx();
    run(r);
    expect(r.received.length).toBe(0);
    expect(r.sim.drops.total({ reason: 'rx_too_many_frags' })).toBe(1);
  });
});

describe('xennet_get_extras()', () => {
  it('an XDP extra (Linux type 5) sets rx->offset to its headroom: the data is read from there', () => {
    const r = makeRig();
    const f = tcpFrame(600, 6);
    r.be.rxSlot(f, NETRXF_extra_info, { offset: 256 });
    // The response itself says offset 0; the XDP extra says 256.
    r.be.rx.sring.view.setUint16(RING_GET_RESPONSE(r.be.rx, 0) + 2, 0, true);
    rxRawExtra(r, [5, 0, 0x00, 0x01, 0, 0, 0, 0]);
    r.be.pushRx();
    run(r);
    expect(r.received.length).toBe(1);
    expect(Array.from(r.received[0]!.bytes)).toEqual(Array.from(f));
    expect(r.np.queues[0]!.rx.rsp_cons).toBe(2);
  });

  it('an XDP headroom that pushes the data past the page is a bad response', () => {
    const r = makeRig();
    r.be.rxSlot(tcpFrame(600, 7), NETRXF_extra_info);
    rxRawExtra(r, [5, 0, 0x00, 0x0f, 0, 0, 0, 0]); // headroom 3840 + 600 > 4096
    r.be.pushRx();
    run(r);
    expect(r.received.length).toBe(0);
    expect(r.sim.drops.total({ reason: 'rx_bad_response' })).toBe(1);
  });

  it('the extra slot\'s buffer is moved to the next request even when the slot held none (a request with INVALID_GRANT_REF is posted, as Linux does)', () => {
    const r = makeRig();
    const q = r.np.queues[0]!;
    // Slot 1 has lost its buffer (as after a slot answered twice).
    const lostRef = loseBuffer(r, 1);
    const prod = q.rx.req_prod_pvt;
    r.be.rxSlot(tcpFrame(300, 8), NETRXF_extra_info);
    r.be.rxGsoExtra(100, 1);
    r.be.pushRx();
    run(r);
    const view = q.rx.sring.view;
    const o = RING_GET_REQUEST(q.rx, prod);
    expect([rxRequestId(view, o), rxRequestGref(view, o)]).toEqual([prod & 255, INVALID_GRANT_REF]);
    expect(q.grant_rx_ref[prod & 255]).toBe(INVALID_GRANT_REF);
    expect(lostRef).not.toBe(INVALID_GRANT_REF);
    expect(r.received.length).toBe(1);
  });
});

describe('xennet_get_responses() / xennet_poll(): per-packet errors consume their slots', () => {
  it('a slot with no grant ref ("Bad rx response id"): -EINVAL, the slot is not re-posted, the device is not broken', () => {
    const r = makeRig();
    const q = r.np.queues[0]!;
    loseBuffer(r, 0);
    r.be.rxSlot(new Uint8Array(0), 0, { noCopy: true, status: 100 });
    r.be.rxSlot(tcpFrame(100, 1), 0);
    r.be.pushRx();
    run(r);
    expect(r.sim.drops.total({ reason: 'rx_bad_id' })).toBe(1);
    expect(r.np.broken).toBe(false);
    expect(r.received.length).toBe(1);
    expect(q.rx.rsp_cons).toBe(2);
  });

  it('extra_info on the last published slot: "Missing extra info" (-EBADR)', () => {
    const r = makeRig();
    r.be.rxSlot(tcpFrame(100, 2), NETRXF_extra_info);
    r.be.pushRx();
    run(r);
    expect(r.sim.drops.total({ reason: 'rx_missing_extra' })).toBe(1);
    expect(r.np.queues[0]!.rx.rsp_cons).toBe(1);
  });

  it('a GSO extra with size 0 fails xennet_set_skb_gso: the whole chain is consumed and the next packet is found', () => {
    const r = makeRig();
    const f = tcpFrame(5000, 3);
    r.be.rxSlot(f.subarray(0, 4096), NETRXF_extra_info | NETRXF_more_data);
    r.be.rxGsoExtra(0, 1);
    r.be.rxSlot(f.subarray(4096), 0);
    r.be.rxSlot(tcpFrame(100, 4), 0);
    r.be.pushRx();
    run(r);
    expect(r.sim.drops.total({ reason: 'rx_bad_gso' })).toBe(1);
    expect(r.received.map((x) => x.bytes.length)).toEqual([100]);
    expect(r.np.queues[0]!.rx.rsp_cons).toBe(4);
  });
});

describe('the broken state on receive', () => {
  it('an impossible rx rsp_prod ("Illegal number of responses"): broken in xennet_poll, nothing consumed', () => {
    const r = makeRig();
    const q = r.np.queues[0]!;
    r.be.rx.rsp_prod_pvt = 300;
    r.be.pushRx();
    r.hv.guest(0).notify_remote_via_evtchn(r.be.rxPort);
    expect(() => run(r)).not.toThrow();
    expect(r.np.broken).toBe(true);
    expect(r.np.brokenReason).toMatch(/Illegal number of responses 300/);
    expect(q.rx.rsp_cons).toBe(0);
    expect(r.received.length).toBe(0);
  });

  it('an rx grant the backend still holds: broken, rsp_cons not moved, the page and the ref stay with the backend', () => {
    const r = makeRig();
    const q = r.np.queues[0]!;
    const gref = rxRequestGref(q.rx.sring.view, RING_GET_REQUEST(q.rx, 0));
    const op = { host_addr: 0x9000, flags: 2, ref: gref, dom: 1, status: 0, handle: -1, dev_bus_addr: 0 };
    r.hv.gnttab_map_grant_ref(0, [op]);
    expect(op.status).toBe(0);
    const pagesOut = q.rxPages.outstanding;
    r.be.rxSlot(tcpFrame(300, 1), 0, { noCopy: true, status: 300 });
    r.be.pushRx();
    run(r);
    expect(r.np.broken).toBe(true);
    expect(r.np.brokenReason).toMatch(/still in use/);
    expect(q.rx.rsp_cons).toBe(0);
    expect(q.rxPages.outstanding).toBe(pagesOut);
    expect(r.received.length).toBe(0);
    // Later responses are not looked at: the interrupt handler sees `broken` and NAPI stays dead.
    r.be.rxSlot(tcpFrame(300, 2), 0);
    r.be.pushRx();
    run(r);
    expect(r.received.length).toBe(0);
  });

  it('a poll already scheduled when the device breaks (here on the tx side) still delivers; the next interrupt schedules none', () => {
    // start_xmit reaps tx responses itself (Linux before 2025: netfront.tx_gc_in_xmit).
    const r = makeRig({ params: { 'netfront.softirq_latency_ns': 20_000, 'netfront.tx_gc_in_xmit': true } });
    r.be.rxSlot(tcpFrame(300, 1), 0);
    r.be.pushRx();
    r.sim.run({ until: r.sim.now + 5_000 });
    expect(r.received.length).toBe(0);
    // A tx response for an id never sent, published without an event, found by start_xmit's gc.
    r.be.rawTxResponse(200, 0);
    r.be.tx.sring.rsp_prod = r.be.tx.rsp_prod_pvt;
    r.np.netdev.ndo_start_xmit(linearSkb(r.pool, 100));
    expect(r.np.broken).toBe(true);
    run(r);
    expect(r.received.length).toBe(1);
    r.be.rxSlot(tcpFrame(300, 2), 0);
    r.be.pushRx();
    run(r);
    expect(r.received.length).toBe(1);
  });
});
