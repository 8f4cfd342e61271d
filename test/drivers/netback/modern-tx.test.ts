import { describe, expect, it } from 'vitest';
import { makeHost, Frontend, udpFrame, skbBytes } from './harness';
import {
  NETIF_RSP_OKAY, NETIF_RSP_ERROR, NETIF_RSP_NULL, NETTXF_more_data, NETTXF_extra_info, NETTXF_csum_blank,
  NETTXF_data_validated,
} from '../../../src/io/netif';
import { CHECKSUM_PARTIAL, CHECKSUM_UNNECESSARY, SKB_GSO_TCPV4 } from '../../../src/net/skb';

describe('modern netback guest transmit', () => {
  it('xenvif_tx_build_gops() delivers a 1500-byte packet as one skb with the right bytes, answered OKAY after dom0 frees it', () => {
    const h = makeHost();
    const fe = new Frontend(h, 'guest1');
    fe.connect('modern');
    const frame = udpFrame(1500);
    fe.sendOne(frame, 7);
    expect(fe.pushTx()).toBe(true);
    h.sim.run();
    expect(h.stack.received).toHaveLength(1);
    const skb = h.stack.received[0]!;
    expect(skb.len).toBe(1500);
    expect(skb.headLen).toBe(128); // XEN_NETBACK_TX_COPY_LEN copied
    expect(skb.nrFrags).toBe(1); // the rest of slot 0, mapped
    expect(Array.from(skbBytes(skb))).toEqual(Array.from(frame));
    expect(h.stack.via[0]).toBe('netif_receive_skb');
    // Nothing answered while dom0 holds the mapped page (zero copy).
    expect(fe.tx.sring.rsp_prod).toBe(0);
    const c = fe.vif.counters;
    expect(c.tx_copy_ops).toBe(1);
    expect(c.tx_map_ops).toBe(1);
    h.stack.freeAll();
    h.sim.run();
    expect(fe.tx.sring.rsp_prod).toBe(1);
    expect(fe.txRsp(0)).toEqual({ id: 7, status: NETIF_RSP_OKAY });
    expect(c.tx_unmap_ops).toBe(1);
    expect(fe.notifications).toBeGreaterThan(0);
    expect(fe.vif.stats.rx_packets).toBe(1);
    expect(h.stack.pool.outstanding).toBe(0);
  });

  it('a short packet (<= 128 bytes) is copied whole and answered at once', () => {
    const h = makeHost();
    const fe = new Frontend(h, 'guest1');
    fe.connect('modern');
    fe.sendOne(udpFrame(100), 3);
    fe.pushTx();
    h.sim.run();
    expect(h.stack.received[0]!.nrFrags).toBe(0);
    expect(fe.tx.sring.rsp_prod).toBe(1);
    expect(fe.txRsp(0)).toEqual({ id: 3, status: NETIF_RSP_OKAY });
  });

  it('a packet split over three slots becomes linear + frags with the right bytes; every slot answered', () => {
    const h = makeHost();
    const fe = new Frontend(h, 'guest1');
    fe.connect('modern');
    const frame = udpFrame(5000);
    const a = fe.page(frame.subarray(0, 2000), 100);
    const b = fe.page(frame.subarray(2000, 4096 + 2000 - 2000), 0);
    const c = fe.page(frame.subarray(4096), 0);
    fe.txReq(fe.grantRO(a.pfn), 100, NETTXF_more_data, 1, 5000);
    fe.txReq(fe.grantRO(b.pfn), 0, NETTXF_more_data, 2, 2096);
    fe.txReq(fe.grantRO(c.pfn), 0, 0, 3, 5000 - 4096);
    fe.pushTx();
    h.sim.run();
    const skb = h.stack.received[0]!;
    expect(skb.len).toBe(5000);
    expect(skb.nrFrags).toBe(3);
    expect(Array.from(skbBytes(skb))).toEqual(Array.from(frame));
    h.stack.freeAll();
    h.sim.run();
    const ids = [0, 1, 2].map((i) => fe.txRsp(i));
    expect(ids.map((r) => r.status)).toEqual([0, 0, 0]);
    expect(ids.map((r) => r.id).sort()).toEqual([1, 2, 3]);
  });

  it('a GSO extra sets gso_size/type and gets a NULL response in its slot', () => {
    const h = makeHost();
    const fe = new Frontend(h, 'guest1');
    fe.connect('modern');
    const frame = udpFrame(3000);
    frame[23] = 6; // TCP
    frame[46] = 0x50; // data offset 5
    const p = fe.page(frame, 0);
    fe.txReq(fe.grantRO(p.pfn), 0, NETTXF_extra_info | NETTXF_csum_blank, 9, 3000);
    fe.txExtra([1, 0, 0xa8, 0x05, 1, 0, 0, 0]); // GSO, size 1448, TCPV4
    fe.pushTx();
    h.sim.run();
    const skb = h.stack.received[0]!;
    expect(skb.gsoSize).toBe(1448);
    expect(skb.gsoType).toBe(SKB_GSO_TCPV4);
    expect(skb.ipSummed).toBe(CHECKSUM_PARTIAL);
    expect(skb.csumStart).toBe(34);
    expect(skb.csumOffset).toBe(16);
    expect(skb.gsoSegs).toBe(Math.ceil((3000 - 54) / 1448));
    h.stack.freeAll();
    h.sim.run();
    expect(fe.tx.sring.rsp_prod).toBe(2);
    expect(fe.txRsp(0)).toEqual({ id: 9, status: NETIF_RSP_OKAY });
    expect(fe.txRsp(1).status).toBe(NETIF_RSP_NULL);
  });

  it('checksum flags map to skb state: csum_blank → PARTIAL, data_validated → UNNECESSARY', () => {
    const h = makeHost();
    const fe = new Frontend(h, 'guest1');
    fe.connect('modern');
    fe.sendOne(udpFrame(200), 1, NETTXF_csum_blank | NETTXF_data_validated);
    fe.sendOne(udpFrame(200), 2, NETTXF_data_validated);
    fe.pushTx();
    h.sim.run();
    expect(h.stack.received[0]!.ipSummed).toBe(CHECKSUM_PARTIAL);
    expect(h.stack.received[0]!.csumOffset).toBe(6);
    expect(h.stack.received[1]!.ipSummed).toBe(CHECKSUM_UNNECESSARY);
  });

  it('many packets in one poll make one copy and one map hypercall; responses pushed with few notifications', () => {
    const h = makeHost();
    const fe = new Frontend(h, 'guest1');
    fe.connect('modern');
    const batches: { copies: number; maps: number }[] = [];
    h.sim.trace.on('netback.tx.batch', (r) => batches.push({ copies: r.copies as number, maps: r.maps as number }));
    for (let i = 0; i < 40; i++) fe.sendOne(udpFrame(1000, i), i);
    fe.pushTx();
    h.sim.run();
    expect(h.stack.received).toHaveLength(40);
    expect(batches[0]).toEqual({ copies: 40, maps: 40 });
    h.stack.freeAll();
    h.sim.run();
    expect(fe.tx.sring.rsp_prod).toBe(40);
    for (let i = 0; i < 40; i++) expect(fe.txRsp(i).status).toBe(NETIF_RSP_OKAY);
    // The frontend never consumed responses (rsp_event stays 1): one notification only.
    expect(fe.vif.counters.tx_notifies).toBe(1);
  });

  it('the packet walk lists the netback steps in order', () => {
    const h = makeHost();
    const fe = new Frontend(h, 'guest1');
    fe.connect('modern');
    const rec = h.sim.trace.record('pkt.step');
    fe.sendOne(udpFrame(1500), 1);
    fe.pushTx();
    h.sim.run();
    h.stack.freeAll();
    h.sim.run();
    const fns = rec.records.map((r) => r.fn);
    expect(fns).toEqual([
      'xenvif_tx_interrupt', 'xenvif_tx_build_gops', 'xenvif_count_requests', 'xenvif_get_requests', 'gnttab_batch_copy', 'gnttab_map_refs',
      'xenvif_tx_submit', 'xenvif_tx_check_gop', 'xenvif_fill_frags',
      'xenvif_zerocopy_callback', 'xenvif_tx_dealloc_action', 'gnttab_unmap_refs', 'make_tx_response',
    ]);
  });
});

describe('modern netback and a misbehaving guest', () => {
  it('a bad grant ref gets an ERROR response and the skb is dropped', () => {
    const h = makeHost();
    const fe = new Frontend(h, 'guest1');
    fe.connect('modern');
    fe.txReq(99999, 0, 0, 4, 1000);
    fe.pushTx();
    h.sim.run();
    expect(h.stack.received).toHaveLength(0);
    expect(fe.txRsp(0)).toEqual({ id: 4, status: NETIF_RSP_ERROR });
    expect(h.sim.drops.total({ where: 'vif1.0', reason: 'bad_grant' })).toBe(1);
    expect(fe.vif.disabled).toBe(false);
    expect(h.stack.pool.outstanding).toBe(0);
  });

  it('offset + size past the page is fatal: vif disabled, carrier off', () => {
    const h = makeHost();
    const fe = new Frontend(h, 'guest1');
    fe.connect('modern');
    const p = fe.page(udpFrame(1000), 0);
    fe.txReq(fe.grantRO(p.pfn), 3500, 0, 1, 1000);
    fe.pushTx();
    h.sim.run();
    expect(fe.vif.disabled).toBe(true);
    expect(fe.vif.carrier).toBe(false);
    expect(h.stack.received).toHaveLength(0);
  });

  it('more slots than fatal_skb_slots disables that vif; another vif on the host keeps working', () => {
    const h = makeHost();
    const bad = new Frontend(h, 'bad');
    const good = new Frontend(h, 'good');
    bad.connect('modern');
    good.connect('modern');
    const fatal: string[] = [];
    h.sim.trace.on('netback.fatal', (r) => fatal.push(r.reason as string));
    const p = bad.page(udpFrame(100), 0);
    const g = bad.grantRO(p.pfn);
    for (let i = 0; i < 22; i++) bad.txReq(g, 0, i < 21 ? NETTXF_more_data : 0, i, i === 0 ? 2200 : 100);
    bad.pushTx();
    good.sendOne(udpFrame(1500), 5);
    good.pushTx();
    h.sim.run();
    expect(bad.vif.disabled).toBe(true);
    expect(bad.vif.carrier).toBe(false);
    expect(fatal[0]).toMatch(/Malicious frontend using 20 slots/);
    expect(good.vif.disabled).toBe(false);
    expect(h.stack.received).toHaveLength(1);
    expect(h.stack.received[0]!.dev).toBe(good.vif);
    // The disabled vif ignores further requests.
    bad.sendOne(udpFrame(100), 1);
    bad.pushTx();
    h.sim.run();
    expect(h.stack.received).toHaveLength(1);
  });

  it('19 slots are accepted (frag_list consolidated into local pages, guest pages released at once)', () => {
    const h = makeHost();
    const fe = new Frontend(h, 'guest1');
    fe.connect('modern');
    const frame = udpFrame(1900);
    const grefs = [];
    for (let i = 0; i < 19; i++) grefs.push(fe.grantRO(fe.page(frame.subarray(i * 100, i * 100 + 100), 0).pfn));
    for (let i = 0; i < 19; i++) fe.txReq(grefs[i]!, 0, i < 18 ? NETTXF_more_data : 0, i, i === 0 ? 1900 : 100);
    fe.pushTx();
    h.sim.run();
    expect(h.stack.received).toHaveLength(1);
    expect(Array.from(skbBytes(h.stack.received[0]!))).toEqual(Array.from(frame));
    expect(fe.vif.counters.tx_frag_overflow).toBe(1);
    expect(fe.tx.sring.rsp_prod).toBe(19);
    for (let i = 0; i < 19; i++) expect(fe.txRsp(i).status).toBe(NETIF_RSP_OKAY);
    h.stack.freeAll();
  });

  it('20 slots (XEN_NETBK_LEGACY_SLOTS_MAX further slots, below fatal) are dropped with ERROR, not fatal', () => {
    const h = makeHost();
    const fe = new Frontend(h, 'guest1');
    fe.connect('modern');
    const p = fe.page(udpFrame(100), 0);
    const g = fe.grantRO(p.pfn);
    for (let i = 0; i < 20; i++) fe.txReq(g, 0, i < 19 ? NETTXF_more_data : 0, i, i === 0 ? 2000 : 100);
    fe.pushTx();
    h.sim.run();
    expect(fe.vif.disabled).toBe(false);
    expect(fe.tx.sring.rsp_prod).toBe(20);
    for (let i = 0; i < 20; i++) expect(fe.txRsp(i).status).toBe(NETIF_RSP_ERROR);
    expect(h.sim.drops.total({ reason: 'too_many_slots' })).toBe(1);
  });

  it('an impossible req_prod is fatal', () => {
    const h = makeHost();
    const fe = new Frontend(h, 'guest1');
    fe.connect('modern');
    fe.tx.sring.req_prod = 1000;
    fe.g.notify_remote_via_evtchn(fe.port);
    h.sim.run();
    expect(fe.vif.disabled).toBe(true);
  });

  it('a bad extra type is fatal', () => {
    const h = makeHost();
    const fe = new Frontend(h, 'guest1');
    fe.connect('modern');
    const p = fe.page(udpFrame(500), 0);
    fe.txReq(fe.grantRO(p.pfn), 0, NETTXF_extra_info, 1, 500);
    fe.txExtra([7, 0, 0, 0, 0, 0, 0, 0]);
    fe.pushTx();
    h.sim.run();
    expect(fe.vif.disabled).toBe(true);
    expect(fe.vif.counters.fatal_errors).toBe(1);
  });

  it('size < ETH_HLEN gets an ERROR response, not fatal', () => {
    const h = makeHost();
    const fe = new Frontend(h, 'guest1');
    fe.connect('modern');
    fe.sendOne(udpFrame(100).subarray(0, 10), 6);
    fe.pushTx();
    h.sim.run();
    expect(fe.txRsp(0)).toEqual({ id: 6, status: NETIF_RSP_ERROR });
    expect(fe.vif.disabled).toBe(false);
    expect(h.sim.drops.total({ reason: 'bad_size' })).toBe(1);
  });
});
