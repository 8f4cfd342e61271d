import { describe, expect, it } from 'vitest';
import { makeHost, Frontend, udpFrame, skbBytes, type Host, skbOf } from './harness';
import {
  NETIF_RSP_OKAY, NETIF_RSP_ERROR, NETIF_RSP_NULL, NETTXF_more_data, NETTXF_extra_info, NETTXF_csum_blank,
  NETRXF_more_data,
} from '../../../src/io/netif';
import { RING_GET_REQUEST } from '../../../src/io/ring';
import { CHECKSUM_PARTIAL, SKB_GSO_TCPV4, type SkBuff } from '../../../src/net/skb';
import type { VifDesign } from '../../../src/drivers/netback';

/** Runs the same well-behaved guest traffic through a design; returns what the guest saw. */
function scenario(design: VifDesign): { tx: { id: number; status: number }[]; bytes: number[][]; rx: { id: number; flags: number; status: number }[] } {
  const h = makeHost();
  const fe = new Frontend(h, 'guest1');
  fe.connect(design);
  fe.sendOne(udpFrame(1500), 1);
  fe.sendOne(udpFrame(60), 2);
  const f = udpFrame(3000);
  const a = fe.page(f.subarray(0, 2000), 0);
  const b = fe.page(f.subarray(2000), 0);
  fe.txReq(fe.grantRO(a.pfn), 0, NETTXF_more_data | NETTXF_extra_info | NETTXF_csum_blank, 3, 3000);
  fe.txExtra([1, 0, 0xa8, 0x05, 1, 0, 0, 0]);
  fe.txReq(fe.grantRO(b.pfn), 0, 0, 4, 1000);
  fe.pushTx();
  h.sim.run();
  const bytes = h.stack.received.map((s) => Array.from(skbBytes(s)));
  h.stack.freeAll();
  h.sim.run();
  const tx = [];
  for (let i = 0; i < fe.tx.sring.rsp_prod; i++) tx.push(fe.txRsp(i));
  fe.postRx(24); // 2.6.18 wants MAX_SKB_FRAGS + 2 free requests for an SG frontend
  h.sim.run();
  fe.vif.ndo_start_xmit(skbOf(h, udpFrame(1200, 5)));
  h.sim.run();
  const rx = [];
  for (let i = 0; i < fe.rx.sring.rsp_prod; i++) { const r = fe.rxRsp(i); rx.push({ id: r.id, flags: r.flags, status: r.status }); }
  return { tx: tx.sort((x, y) => x.id - y.id || x.status - y.status), bytes, rx };
}

describe('classic (2.6.18) netback', () => {
  it('net_tx_action() maps every slot, copies PKT_PROT_LEN header bytes and hands the skb to netif_rx', () => {
    const h = makeHost();
    const fe = new Frontend(h, 'guest1');
    fe.connect('classic');
    const frame = udpFrame(1500);
    fe.sendOne(frame, 7);
    fe.pushTx();
    h.sim.run();
    const skb = h.stack.received[0]!;
    expect(h.stack.via[0]).toBe('netif_rx');
    expect(skb.headLen).toBe(64);
    expect(skb.nrFrags).toBe(1);
    expect(Array.from(skbBytes(skb))).toEqual(Array.from(frame));
    expect(fe.vif.counters.tx_map_ops).toBe(1);
    expect(fe.vif.counters.tx_copy_ops).toBe(0);
    expect(fe.tx.sring.rsp_prod).toBe(0);
    h.stack.freeAll();
    h.sim.run();
    expect(fe.txRsp(0)).toEqual({ id: 7, status: NETIF_RSP_OKAY });
    expect(fe.vif.counters.tx_unmap_ops).toBe(1);
  });

  it('both designs answer a well-behaved frontend with the same responses and deliver the same bytes', () => {
    const m = scenario('modern');
    const c = scenario('classic');
    expect(c.bytes).toEqual(m.bytes);
    expect(c.tx).toEqual(m.tx);
    expect(c.rx).toEqual(m.rx);
    expect(m.tx.filter((r) => r.status === NETIF_RSP_NULL)).toHaveLength(1);
    expect(m.rx[0]!.status).toBe(1200);
  });

  it('the classic walk: net_tx_action … net_tx_submit, then netif_idx_release, net_tx_action_dealloc, make_tx_response', () => {
    const h = makeHost();
    const fe = new Frontend(h, 'guest1');
    fe.connect('classic');
    const rec = h.sim.trace.record('pkt.step');
    fe.sendOne(udpFrame(1500), 1);
    fe.pushTx();
    h.sim.run();
    h.stack.freeAll();
    h.sim.run();
    expect(rec.records.map((r) => r.fn)).toEqual([
      'netif_be_int', 'net_tx_action', 'netbk_count_requests', 'netbk_get_requests', 'gnttab_map_grant_ref', 'netbk_tx_check_mop', 'netbk_fill_frags',
      'net_tx_submit', 'netif_idx_release', 'net_tx_action_dealloc', 'gnttab_unmap_grant_ref', 'make_tx_response',
    ]);
  });

  it('guest receive by page flipping: the guest gets the page itself, response offset and length', () => {
    const h = makeHost();
    const fe = new Frontend(h, 'guest1');
    fe.connect('classic', { rxCopy: false });
    // A flipping frontend posts accept-transfer grants for pfns it gave back to Xen.
    const pfn = 200;
    h.hv.decrease_reservation(fe.domid, pfn);
    const gref = fe.g.gnttab.gnttab_grant_foreign_transfer(0, pfn);
    const o = RING_GET_REQUEST(fe.rx, 0);
    fe.rx.sring.view.setUint16(o, 0, true);
    fe.rx.sring.view.setUint32(o + 4, gref, true);
    fe.rx.req_prod_pvt = 1;
    fe.rx.sring.req_prod = 1;
    const frame = udpFrame(700);
    // One request is not enough for netbk_queue_full with SG (needs MAX_SKB_FRAGS + 2): drop.
    fe.vif.ndo_start_xmit(skbOf(h, frame));
    expect(h.sim.drops.total({ reason: 'no_rx_slots' })).toBe(1);
    // A frontend without SG/GSO needs one slot.
    fe.vif.canSg = false;
    fe.vif.gsoMask = 0;
    fe.vif.ndo_start_xmit(skbOf(h, frame));
    h.sim.run();
    const r = fe.rxRsp(0);
    expect(r.status).toBe(700);
    expect(fe.vif.counters.rx_transfer_ops).toBe(1);
    const mfn = fe.g.gnttab.gnttab_end_foreign_transfer_ref(gref);
    expect(mfn).toBeGreaterThan(0);
    const page = h.hv.mem.page(mfn);
    expect(Array.from(page.subarray(r.offset, r.offset + 700))).toEqual(Array.from(frame));
  });

  it('copy failure in classic puts NETIF_RSP_ERROR in the status (not the GNTST code)', () => {
    const h = makeHost();
    const fe = new Frontend(h, 'guest1');
    fe.connect('classic');
    fe.postRx(24, false);
    fe.rx.sring.view.setUint32(RING_GET_REQUEST(fe.rx, 0) + 4, 88888, true);
    fe.postRx(0);
    fe.rx.sring.req_prod = fe.rx.req_prod_pvt;
    fe.vif.ndo_start_xmit(skbOf(h, udpFrame(400)));
    h.sim.run();
    expect(fe.rxRsp(0).status).toBe(NETIF_RSP_ERROR);
  });

  it('misbehaving guest: a bad grant ref → ERROR; too many slots, bad extra, short packet, cross-page → ERROR responses (2.6.18 never disables the vif)', () => {
    const h = makeHost();
    const fe = new Frontend(h, 'guest1');
    const good = new Frontend(h, 'good');
    fe.connect('classic');
    good.connect('classic');
    fe.txReq(99999, 0, 0, 1, 1000); // bad gref
    const p = fe.page(udpFrame(100), 0);
    const g = fe.grantRO(p.pfn);
    for (let i = 0; i < 20; i++) fe.txReq(g, 0, i < 19 ? NETTXF_more_data : 0, 10 + i, i === 0 ? 2000 : 100); // > MAX_SKB_FRAGS
    fe.txReq(g, 0, NETTXF_extra_info, 40, 100);
    fe.txExtra([9, 0, 0, 0, 0, 0, 0, 0]); // bad extra type
    fe.txReq(g, 0, 0, 41, 10); // < ETH_HLEN
    fe.txReq(g, 3000, 0, 42, 2000); // crosses the page
    fe.pushTx();
    good.sendOne(udpFrame(500), 5);
    good.pushTx();
    h.sim.run();
    expect(fe.vif.disabled).toBe(false);
    const statuses = [];
    for (let i = 0; i < fe.tx.sring.rsp_prod; i++) statuses.push(fe.txRsp(i).status);
    expect(statuses.filter((s) => s === NETIF_RSP_ERROR).length).toBeGreaterThanOrEqual(5);
    expect(statuses.every((s) => s === NETIF_RSP_ERROR || s === NETIF_RSP_NULL)).toBe(true);
    // netbk_count_requests gives up at MAX_SKB_FRAGS (18) further slots: netbk_tx_err consumes
    // the first 19 and the 20th (no more_data, 100 bytes) is read as a packet of its own.
    const fromBad = h.stack.received.filter((s) => s.dev === fe.vif);
    expect(fromBad.map((s) => s.len)).toEqual([100]);
    expect(h.stack.received.filter((s) => s.dev === good.vif)).toHaveLength(1);
    expect(h.sim.drops.total({ where: 'vif1.0' })).toBe(5);
    h.stack.freeAll();
  });

  it('guest rx with frags in copy mode: one slot per frag, GSO extra after the head', () => {
    const h = makeHost();
    const fe = new Frontend(h, 'guest1');
    fe.connect('classic');
    fe.postRx(24);
    h.sim.run();
    const skb = skbOf(h, udpFrame(200));
    const frag = new Uint8Array(4096).fill(0x5a);
    skb.addFrag(frag, 100, 1000);
    skb.gsoSize = 1000;
    skb.gsoType = SKB_GSO_TCPV4;
    skb.ipSummed = CHECKSUM_PARTIAL;
    fe.vif.ndo_start_xmit(skb);
    h.sim.run();
    expect(fe.rx.sring.rsp_prod).toBe(3);
    expect(fe.rxRsp(0).status).toBe(200);
    expect(fe.rxRsp(0).flags & NETRXF_more_data).toBeTruthy();
    expect(fe.rxRsp(2).status).toBe(1000);
  });
});
