import { describe, expect, it } from 'vitest';
import { CHECKSUM_PARTIAL, CHECKSUM_UNNECESSARY, SKB_GSO_TCPV4 } from '../../../src/net/skb';
import {
  NETTXF_csum_blank, NETTXF_data_validated, NETTXF_extra_info, NETTXF_more_data, XEN_NETIF_EXTRA_TYPE_GSO,
  XEN_NETIF_GSO_TYPE_TCPV4,
} from '../../../src/io/netif';
import { GTF_permit_access, GTF_readonly } from '../../../src/io/xen-constants';
import { TX_STOP_THRESHOLD, xennet_count_skb_slots } from '../../../src/drivers/netfront';
import { INVALID_GRANT_REF } from '../../../src/drivers/netfront/constants';
import { NETDEV_TX_BUSY, NETDEV_TX_OK } from '../../../src/net/netdevice';
import { linearSkb, makeRig, run } from './backend';

function grantFlags(r: ReturnType<typeof makeRig>, ref: number): number {
  return r.hv.guest(1).gnttab.flags(ref);
}

describe('netfront xenbus handshake', () => {
  it('netfront_probe() connects on backend InitWait and writes the keys of talk_to_netback in one transaction', () => {
    const r = makeRig();
    const st = r.hv.xenstore;
    const fe = r.np.nodename;
    expect(st.read(`${fe}/state`)).toBe('4');
    expect(r.be.connected).toBe(true);
    expect(st.read(`${fe}/request-rx-copy`)).toBe('1');
    expect(st.read(`${fe}/feature-rx-notify`)).toBe('1');
    expect(st.read(`${fe}/feature-sg`)).toBe('1');
    expect(st.read(`${fe}/feature-gso-tcpv4`)).toBe('1');
    expect(st.read(`${fe}/multi-queue-num-queues`)).toBe('1');
    // split channels offered and taken
    expect(Number(st.read(`${fe}/event-channel-tx`))).toBeGreaterThan(0);
    expect(st.read(`${fe}/event-channel-rx`)).not.toBe(st.read(`${fe}/event-channel-tx`));
    expect(r.np.netdev.carrier).toBe(true);
    expect(Array.from(r.np.netdev.mac)).toEqual([0, 0x16, 0x3e, 0, 0, 1]);
    // ring pages granted writable to dom0
    const ref = Number(st.read(`${fe}/tx-ring-ref`));
    expect(grantFlags(r, ref) & 7).toBe(GTF_permit_access);
  });

  it('talk_to_netback() uses queue-N directories when the backend offers several queues', () => {
    const r = makeRig({ params: { 'netfront.max_queues': 2 } });
    const st = r.hv.xenstore;
    expect(st.read(`${r.np.nodename}/multi-queue-num-queues`)).toBe('2');
    expect(st.read(`${r.np.nodename}/queue-1/tx-ring-ref`)).toBeDefined();
    expect(st.read(`${r.np.nodename}/tx-ring-ref`)).toBeUndefined();
    expect(r.np.queues.length).toBe(2);
  });

  it('reads the backend\'s keys as the kernel\'s sscanf %u does: multi-queue-max-queues 4294967298 is 2, \'+1\' is no feature', () => {
    const r = makeRig({ params: { 'netfront.max_queues': 4 }, features: { 'feature-sg': '+1', 'feature-rx-copy': '1', 'multi-queue-max-queues': '4294967298' } });
    expect(r.np.queues.length).toBe(2);
    expect(r.np.featureSg).toBe(false);
  });

  it('a backend that closes with packets unanswered: xennet_disconnect_backend frees every tx skb and ends every grant', () => {
    const r = makeRig();
    const q = r.np.queues[0]!;
    const out0 = r.pool.outstanding;
    for (let i = 0; i < 3; i++) r.np.netdev.ndo_start_xmit(linearSkb(r.pool, 200 + i, i));
    run(r);
    expect(r.pool.outstanding).toBe(out0 + 3); // held by netfront until their responses come
    expect(Array.from(q.grant_tx_ref).filter((g) => g !== INVALID_GRANT_REF).length).toBe(3);
    r.hv.xenstore.write(`${r.be.be}/state`, '5'); // Closing
    run(r);
    expect(r.hv.xenstore.read(`${r.np.nodename}/state`)).toBe('6');
    expect(r.np.netdev.carrier).toBe(false);
    expect(r.pool.outstanding).toBe(out0);
    expect(Array.from(q.tx_skbs).every((s) => s === null || s === undefined)).toBe(true);
    expect(Array.from(q.grant_tx_ref).every((g) => g === INVALID_GRANT_REF)).toBe(true);
  });

  it('a single event-channel is used when feature-split-event-channels is absent', () => {
    const r = makeRig({ features: { 'feature-sg': '1', 'feature-rx-copy': '1' } });
    const st = r.hv.xenstore;
    expect(st.read(`${r.np.nodename}/event-channel`)).toBeDefined();
    expect(st.read(`${r.np.nodename}/multi-queue-num-queues`)).toBeUndefined();
    expect(r.np.queues[0]!.tx_evtchn).toBe(r.np.queues[0]!.rx_evtchn);
  });

  it('xennet_connect() refuses a backend without feature-rx-copy (modern)', () => {
    const r = makeRig({ features: { 'feature-sg': '1' } });
    expect(r.hv.xenstore.read(`${r.np.nodename}/state`)).toBe('1');
    expect(r.np.netdev.carrier).toBe(false);
  });
});

describe('xennet_start_xmit()', () => {
  it('sends a linear 1500-byte packet in one read-only slot carrying the total size, with real bytes', () => {
    const r = makeRig();
    const skb = linearSkb(r.pool, 1500, 3);
    const expected = skb.linear().slice();
    expect(xennet_count_skb_slots(skb)).toBe(1);
    r.np.netdev.ndo_start_xmit(skb);
    const p = r.be.readTxPacket()!;
    expect(p.reqs.length).toBe(1);
    expect(p.reqs[0]!.size).toBe(1500);
    expect(p.reqs[0]!.offset).toBe(64); // SKB_HEADROOM: offset_in_page(skb->data)
    expect(p.reqs[0]!.flags).toBe(0);
    expect(grantFlags(r, p.reqs[0]!.gref)).toBe(GTF_permit_access | GTF_readonly);
    expect(Array.from(p.data)).toEqual(Array.from(expected));
  });

  it('splits linear data and frags at 4 KiB page boundaries with more_data chaining', () => {
    const r = makeRig();
    const skb = linearSkb(r.pool, 5000);
    // A frag in guest memory crossing a page boundary: 2 contiguous guest frames.
    const g = r.hv.guest(1);
    const pfn = 1000;
    const mfnA = g.pfn_to_gfn(pfn);
    expect(g.pfn_to_gfn(pfn + 1)).toBe(mfnA + 1);
    const big = r.hv.mem.bytes.subarray(mfnA << 12, (mfnA + 2) << 12);
    for (let i = 0; i < 8192; i++) big[i] = (i * 13) & 0xff;
    skb.addFrag(big, 3000, 2000); // 3000..4999: crosses at 4096
    const expected = new Uint8Array(skb.len);
    skb.copyBits(0, expected, 0, skb.len);
    expect(xennet_count_skb_slots(skb)).toBe(2 + 2);
    skb.ipSummed = CHECKSUM_PARTIAL;
    r.np.netdev.ndo_start_xmit(skb);
    const p = r.be.readTxPacket()!;
    expect(p.reqs.map((q) => [q.offset, q.size])).toEqual([[64, 7000], [0, 968], [3000, 1096], [0, 904]]);
    expect(p.reqs.map((q) => q.flags & NETTXF_more_data)).toEqual([4, 4, 4, 0]);
    expect(p.reqs[0]!.flags & (NETTXF_csum_blank | NETTXF_data_validated)).toBe(NETTXF_csum_blank | NETTXF_data_validated);
    expect(new Set(p.reqs.map((q) => q.id)).size).toBe(4);
    expect(Array.from(p.data)).toEqual(Array.from(expected));
    // the frag pieces are granted in place (the guest's own frames), not copied
    const frames = p.reqs.map((q) => r.hv.mem.u32[((r.hv.lookup(1)!.grantEntryAddr(q.gref)) >>> 2) + 1]);
    expect(frames[2]).toBe(mfnA);
    expect(frames[3]).toBe(mfnA + 1);
  });

  it('CHECKSUM_UNNECESSARY sets only data_validated', () => {
    const r = makeRig();
    const skb = linearSkb(r.pool, 100);
    skb.ipSummed = CHECKSUM_UNNECESSARY;
    r.np.netdev.ndo_start_xmit(skb);
    expect(r.be.readTxPacket()!.reqs[0]!.flags).toBe(NETTXF_data_validated);
  });

  it('a GSO packet gets one extra slot right after the first request, with size and type, and no id', () => {
    const r = makeRig();
    const skb = linearSkb(r.pool, 9000);
    skb.gsoSize = 1448;
    skb.gsoType = SKB_GSO_TCPV4;
    skb.ipSummed = CHECKSUM_PARTIAL;
    r.np.netdev.ndo_start_xmit(skb);
    const p = r.be.readTxPacket()!;
    expect(p.slots.map((s) => s.kind)).toEqual(['req', 'extra', 'req', 'req']);
    expect(p.reqs[0]!.flags & NETTXF_extra_info).toBe(NETTXF_extra_info);
    const e = p.extras[0] as { type: number; flags: number; gso: { size: number; type: number } };
    expect(e.type).toBe(XEN_NETIF_EXTRA_TYPE_GSO);
    expect(e.flags).toBe(0);
    expect(e.gso).toMatchObject({ size: 1448, type: XEN_NETIF_GSO_TYPE_TCPV4 });
    expect(p.reqs[0]!.size).toBe(9000);
    expect(p.data.length).toBe(9000);
  });

  it('responses free skbs, ids, grants and pages: grant entries cleared, pool outstanding back to 0', () => {
    const r = makeRig();
    const gt = r.hv.guest(1).gnttab;
    const free0 = gt.freeCount;
    for (let i = 0; i < 10; i++) {
      const skb = linearSkb(r.pool, 6000, i);
      skb.gsoSize = 1448; skb.gsoType = SKB_GSO_TCPV4; skb.ipSummed = CHECKSUM_PARTIAL;
      r.np.netdev.ndo_start_xmit(skb);
    }
    expect(r.pool.outstanding).toBe(10);
    const q = r.np.queues[0]!;
    const refs: number[] = [];
    let p;
    while ((p = r.be.readTxPacket()) !== null) {
      for (const x of p.reqs) refs.push(x.gref);
      r.be.respond(p);
    }
    r.be.pushTx();
    run(r);
    expect(r.pool.outstanding).toBe(0);
    expect(q.txOutstanding).toBe(0);
    expect(q.txPages.outstanding).toBe(0);
    for (const ref of refs) expect(grantFlags(r, ref)).toBe(0);
    expect(gt.freeCount).toBe(free0);
    expect(q.gref_tx_head).not.toBeNull();
    expect(r.np.broken).toBe(false);
    expect(r.np.counters.tx_packets).toBe(10);
  });

  it('stops the queue at 237 outstanding slots and wakes it when responses arrive', () => {
    const r = makeRig();
    const q = r.np.queues[0]!;
    let sent = 0;
    while (!r.np.netdev.txStopped) {
      r.np.netdev.ndo_start_xmit(linearSkb(r.pool, 60));
      sent++;
    }
    expect(sent).toBe(TX_STOP_THRESHOLD);
    expect(q.txOutstanding).toBe(237);
    // a backend that stops answering: nothing crashes, the queue stays stopped
    run(r, 50_000_000);
    expect(r.np.netdev.txStopped).toBe(true);
    expect(r.np.broken).toBe(false);
    for (let k = 0; k < 10; k++) r.be.respond(r.be.readTxPacket()!);
    r.be.pushTx();
    run(r);
    expect(r.np.netdev.txStopped).toBe(false);
    expect(r.np.counters.tx_wake).toBe(1);
  });

  it('a caller that ignores the stopped queue gets NETDEV_TX_BUSY before the ring overflows, counting the GSO extra slot', () => {
    const r = makeRig();
    const q = r.np.queues[0]!;
    while (!r.np.netdev.txStopped) r.np.netdev.ndo_start_xmit(linearSkb(r.pool, 60));
    const unconsumed = (): number => (q.tx.req_prod_pvt - q.tx.rsp_cons) >>> 0;
    expect(256 - unconsumed()).toBe(19);
    for (let i = 0; i < 17; i++) expect(r.np.netdev.ndo_start_xmit(linearSkb(r.pool, 60))).toBe(NETDEV_TX_OK);
    expect(256 - unconsumed()).toBe(2);
    // Two data slots plus the GSO extra do not fit in two free slots: the skb stays with the caller.
    const gso = linearSkb(r.pool, 5000);
    gso.gsoSize = 1448; gso.gsoType = SKB_GSO_TCPV4; gso.ipSummed = CHECKSUM_PARTIAL;
    expect(xennet_count_skb_slots(gso)).toBe(2);
    const packets = r.np.counters.tx_packets;
    expect(r.np.netdev.ndo_start_xmit(gso)).toBe(NETDEV_TX_BUSY);
    expect(unconsumed()).toBe(254);
    expect(r.np.counters.tx_packets).toBe(packets);
    expect(r.np.broken).toBe(false);
  });

  it('notification suppression: a batch of pushes before the backend re-arms req_event sends one notification', () => {
    const r = makeRig();
    const before = r.be.txEvents;
    for (let i = 0; i < 32; i++) r.np.netdev.ndo_start_xmit(linearSkb(r.pool, 60));
    run(r);
    expect(r.np.counters.tx_push).toBe(32);
    expect(r.np.counters.tx_notify).toBe(1);
    expect(r.be.txEvents - before).toBe(1);
  });
});

describe('misbehaving backend on tx', () => {
  it('a response id netfront never sent marks the device broken and nothing more is processed', () => {
    const r = makeRig();
    r.np.netdev.ndo_start_xmit(linearSkb(r.pool, 100));
    const p = r.be.readTxPacket()!;
    r.be.rawTxResponse((p.reqs[0]!.id + 5) & 255, 0);
    r.be.pushTx();
    expect(() => run(r)).not.toThrow();
    expect(r.np.broken).toBe(true);
    expect(r.np.brokenReason).toMatch(/inactive request/);
    // later traffic is dropped and counted
    r.np.netdev.ndo_start_xmit(linearSkb(r.pool, 100));
    expect(r.sim.drops.total({ reason: 'tx_broken' })).toBe(1);
    expect(r.be.txPending).toBe(0);
  });

  it('an id >= RING_SIZE marks the device broken (256 is the first such id)', () => {
    for (const id of [300, 256]) {
      const r = makeRig();
      r.np.netdev.ndo_start_xmit(linearSkb(r.pool, 100));
      r.be.readTxPacket();
      r.be.rawTxResponse(id, 0);
      r.be.pushTx();
      run(r);
      expect(r.np.brokenReason).toBe(`Response has incorrect id (${id})`);
    }
  });

  it('a grant the backend still has mapped when it answers marks the device broken', () => {
    const r = makeRig();
    r.np.netdev.ndo_start_xmit(linearSkb(r.pool, 100));
    const p = r.be.readTxPacket()!;
    const op = { host_addr: 0x9000, flags: 2 | 4, ref: p.reqs[0]!.gref, dom: 1, status: 0, handle: -1, dev_bus_addr: 0 };
    r.hv.gnttab_map_grant_ref(0, [op]);
    expect(op.status).toBe(0);
    r.be.respond(p);
    r.be.pushTx();
    run(r);
    expect(r.np.broken).toBe(true);
    expect(r.np.brokenReason).toMatch(/still in use/);
  });

  it('an impossible rsp_prod marks the device broken and leaves rsp_cons where it was (goto err before the loop)', () => {
    const r = makeRig();
    r.np.netdev.ndo_start_xmit(linearSkb(r.pool, 100));
    r.be.readTxPacket();
    r.be.tx.rsp_prod_pvt = 1000;
    r.be.pushTx();
    r.hv.guest(0).notify_remote_via_evtchn(r.be.txPort);
    run(r);
    expect(r.np.brokenReason).toMatch(/Illegal number of responses/);
    expect(r.np.queues[0]!.tx.rsp_cons).toBe(0);
  });
});
