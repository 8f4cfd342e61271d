/**
 * How the classic (2.6.18-xen) netback answers malformed transmit requests, pinned to the source:
 * bronson/linux-2.6.18.8-ovz-xen drivers/xen/netback/netback.c (net_tx_action, netbk_get_extras,
 * netbk_count_requests, netbk_tx_err, netbk_tx_check_mop, net_tx_action_dealloc, make_tx_response).
 * Nothing in that file is fatal: every error is answered and the ring keeps being read.
 */
import { describe, expect, it } from 'vitest';
import { makeHost, Frontend, udpFrame, type Host } from './harness';
import {
  NETIF_RSP_ERROR, NETIF_RSP_NULL, NETIF_RSP_OKAY, NETTXF_extra_info, NETTXF_more_data,
} from '../../../src/io/netif';

function rig(): { h: Host; fe: Frontend; good: Frontend } {
  const h = makeHost();
  const fe = new Frontend(h, 'rogue');
  const good = new Frontend(h, 'good');
  fe.connect('classic');
  good.connect('classic');
  return { h, fe, good };
}

function responses(fe: Frontend, from = 0): [number, number][] {
  const out: [number, number][] = [];
  for (let i = from; i !== fe.tx.sring.rsp_prod; i = (i + 1) >>> 0) { const r = fe.txRsp(i); out.push([r.id, r.status]); }
  return out;
}

function reqCons(fe: Frontend): number { return fe.vif.queues[0]!.tx!.req_cons; }

function drops(h: Host, fe: Frontend): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of h.sim.drops.table()) if (r.where === fe.vif.name) out[r.reason] = r.packets;
  return out;
}

/** The good guest's packet still goes through, answered OKAY once dom0 frees it. */
function goodDelivers(h: Host, good: Frontend): void {
  const n = h.stack.received.filter((s) => s.dev === good.vif).length;
  const r0 = good.tx.sring.rsp_prod;
  good.sendOne(udpFrame(300), 77);
  good.pushTx();
  h.sim.run();
  expect(h.stack.received.filter((s) => s.dev === good.vif)).toHaveLength(n + 1);
  h.stack.freeAll();
  h.sim.run();
  expect(responses(good, r0)).toEqual([[77, NETIF_RSP_OKAY]]);
}

/** The chain lab 05's sendMalformedTx('slots') writes: 24 slots, ids 200.., sizes 192, 8, 8, …, 8. */
function chain(fe: Frontend, n: number, firstId = 200): void {
  const p = fe.page(udpFrame(300), 0);
  const g = fe.grantRO(p.pfn);
  for (let i = 0; i < n; i++) fe.txReq(g, 0, i < n - 1 ? NETTXF_more_data : 0, firstId + i, i === 0 ? n * 8 : 8);
}

describe('classic netback: malformed transmit requests (2.6.18 source behaviour)', () => {
  it('a 24-slot chain: 19 slots answered for "Too many frags", the other 5 read as three more packets', () => {
    const { h, fe, good } = rig();
    chain(fe, 24);
    fe.pushTx();
    h.sim.run();
    // netbk_count_requests: `if (unlikely(frags >= MAX_SKB_FRAGS)) { DPRINTK("Too many frags\n");
    // return -frags; }` with MAX_SKB_FRAGS = 18 → -18; net_tx_action: `netbk_tx_err(netif, &txreq,
    // i - ret)` → end = i + 18. netbk_tx_err: `make_tx_response(netif, txp, NETIF_RSP_ERROR); if
    // (cons >= end) break; txp = RING_GET_REQUEST(&netif->tx, cons++);` → ids 200..218 (19),
    // `netif->tx.req_cons = cons` = 19; `netif_schedule_work(netif)` puts the vif back on the list.
    // Slot 19 (id 219, size 8, more_data) is then a packet's first slot: slot 20 (8 ≤ 8) leaves
    // first->size 0, slot 21 hits `if (txp->size > first->size) { DPRINTK("Frags galore\n");
    // return -frags; }` with frags = 1 → ids 219, 220. Same for 221, 222. Slot 23 (flags 0, 8 B):
    // `if (unlikely(txreq.size < ETH_HLEN)) { ... netbk_tx_err(netif, &txreq, i);` → id 223.
    const ids = Array.from({ length: 24 }, (_, k) => 200 + k);
    expect(responses(fe)).toEqual(ids.map((id) => [id, NETIF_RSP_ERROR]));
    expect(reqCons(fe)).toBe(24);
    expect(drops(h, fe)).toEqual({ too_many_slots: 1, frag_size_overflow: 2, bad_size: 1 });
    expect(h.stack.received.filter((s) => s.dev === fe.vif)).toHaveLength(0);
    expect(fe.vif.disabled).toBe(false);
    expect(h.nb.classic.nrPendingReqs).toBe(0);
    goodDelivers(h, good);
  });

  it('netbk_tx_err compares cons >= end unsigned: a bad chain across the 2^32 index wrap is answered one slot at a time', () => {
    const { h, fe, good } = rig();
    // Both ends of the tx ring at 0xfffffffe (free-running indices, as after 2^32 requests).
    const W = 0xfffffffe;
    const bq = fe.vif.queues[0]!.tx!;
    fe.tx.req_prod_pvt = W; fe.tx.rsp_cons = W;
    fe.tx.sring.req_prod = W; fe.tx.sring.rsp_prod = W;
    fe.tx.sring.req_event = (W + 1) >>> 0; fe.tx.sring.rsp_event = (W + 1) >>> 0;
    bq.req_cons = W; bq.rsp_prod_pvt = W;
    chain(fe, 20);
    fe.pushTx();
    h.sim.run();
    // Header at 0xfffffffe, i = 0xffffffff, "Too many frags" → end = i + 18 = 17 (wrapped).
    // netbk_tx_err: cons = 0xffffffff; after the header's response `if (cons >= end) break;` is
    // true at once (0xffffffff >= 17): one response, req_cons = 0xffffffff. The 19 slots behind
    // it are read as packets: (0xffffffff, 0) … pairs end in "Frags galore", slot 17 is too short.
    // Without the wrap the same chain gives 2 drops (19 slots + one short packet).
    const ids = Array.from({ length: 20 }, (_, k) => 200 + k);
    expect(responses(fe, W)).toEqual(ids.map((id) => [id, NETIF_RSP_ERROR]));
    expect(reqCons(fe)).toBe(18);
    expect(drops(h, fe)).toEqual({ too_many_slots: 1, frag_size_overflow: 9, bad_size: 1 });
    goodDelivers(h, good);
  });

  it('the same 20-slot chain away from the wrap: 19 slots for "Too many frags", the last one alone', () => {
    const { h, fe } = rig();
    chain(fe, 20);
    fe.pushTx();
    h.sim.run();
    expect(responses(fe)).toEqual(Array.from({ length: 20 }, (_, k) => [200 + k, NETIF_RSP_ERROR]));
    expect(drops(h, fe)).toEqual({ too_many_slots: 1, bad_size: 1 });
  });

  it('netbk_get_extras: a missing extra and an invalid type each get one ERROR and one NULL response', () => {
    const { h, fe, good } = rig();
    const p = fe.page(udpFrame(200), 0);
    const g = fe.grantRO(p.pfn);
    // Type 4 (HASH in later headers) is >= the 2.6.18 header's XEN_NETIF_EXTRA_TYPE_MAX (4):
    // `if (unlikely(!extra.type || extra.type >= XEN_NETIF_EXTRA_TYPE_MAX)) { netif->tx.req_cons =
    // ++cons; DPRINTK("Invalid extra type: %d\n", extra.type); return -EINVAL; }` → the extra slot
    // is consumed; `netbk_tx_err(netif, &txreq, i)` with i = req_cons answers only txreq, and
    // make_tx_response adds `RING_GET_RESPONSE(&netif->tx, ++i)->status = NETIF_RSP_NULL` because
    // txreq has NETTXF_extra_info.
    fe.txReq(g, 0, NETTXF_extra_info, 30, 200);
    fe.txExtra([4, 0, 0, 0, 0, 0, 0, 0]);
    // Type 2 (MCAST_ADD) is below MAX: stored in extras[1] and ignored; the packet goes through.
    fe.txReq(g, 0, NETTXF_extra_info, 31, 200);
    fe.txExtra([2, 0, 1, 2, 3, 4, 5, 6]);
    fe.pushTx();
    h.sim.run();
    // The NULL response sets only `->status`: its id is what the slot held, the extra's first two
    // bytes (type 4, flags 0 → 4).
    expect(responses(fe)).toEqual([[30, NETIF_RSP_ERROR], [4, NETIF_RSP_NULL]]);
    expect(reqCons(fe)).toBe(4);
    expect(h.stack.received.filter((s) => s.dev === fe.vif).map((s) => s.len)).toEqual([200]);
    h.stack.freeAll();
    h.sim.run();
    expect(responses(fe, 2)).toEqual([[31, NETIF_RSP_OKAY], [2, NETIF_RSP_NULL]]);
    // Missing extra: `if (unlikely(work_to_do-- <= 0)) { DPRINTK("Missing extra info\n"); return
    // -EBADR; }` before touching req_cons → one ERROR + one NULL, req_cons just past the header.
    fe.txReq(g, 0, NETTXF_extra_info, 32, 200);
    fe.pushTx();
    h.sim.run();
    expect(responses(fe, 4)).toEqual([[32, NETIF_RSP_ERROR], [0, NETIF_RSP_NULL]]);
    expect(reqCons(fe)).toBe(5);
    expect(drops(h, fe)).toEqual({ bad_extra: 2 });
    goodDelivers(h, good);
  });

  it('first-slot size and offset checks come after netbk_count_requests: every slot of the chain is answered', () => {
    const { h, fe, good } = rig();
    const p = fe.page(udpFrame(300), 0);
    const g = fe.grantRO(p.pfn);
    // `first->size -= txp->size;` leaves the first slot's own size: 20 - 10 = 10 < ETH_HLEN →
    // `netbk_tx_err(netif, &txreq, i)` with i already advanced by ret (`i += ret;`): 2 responses.
    fe.txReq(g, 0, NETTXF_more_data, 40, 20);
    fe.txReq(g, 0, 0, 41, 10);
    // `if (unlikely((txreq.offset + txreq.size) > PAGE_SIZE))`: 4000 + (300 - 100) > 4096 → 2.
    fe.txReq(g, 4000, NETTXF_more_data, 42, 300);
    fe.txReq(g, 0, 0, 43, 100);
    // A fragment past its page: `frags++; if (unlikely((txp->offset + txp->size) > PAGE_SIZE))
    // return -frags;` counts the bad fragment → header + 2 fragments answered.
    fe.txReq(g, 0, NETTXF_more_data, 44, 300);
    fe.txReq(g, 0, NETTXF_more_data, 45, 100);
    fe.txReq(g, 4090, 0, 46, 100);
    fe.pushTx();
    h.sim.run();
    expect(responses(fe)).toEqual([40, 41, 42, 43, 44, 45, 46].map((id) => [id, NETIF_RSP_ERROR]));
    expect(reqCons(fe)).toBe(7);
    expect(drops(h, fe)).toEqual({ bad_size: 1, cross_page: 2 });
    goodDelivers(h, good);
  });

  it('the checks\' edges are 2.6.18\'s: a 14-byte first slot and a fragment ending at the page end pass; 13 bytes, and a fragment one byte past, fail', () => {
    const { h, fe } = rig();
    const p = fe.page(udpFrame(300), 0);
    const g = fe.grantRO(p.pfn);
    fe.txReq(g, 0, NETTXF_more_data, 50, 14 + 96); // first slot ETH_HLEN bytes, fragment [4000, 4096)
    fe.txReq(g, 4000, 0, 51, 96);
    fe.txReq(g, 0, 0, 52, 13); // `txreq.size < ETH_HLEN`
    fe.txReq(g, 0, NETTXF_more_data, 53, 14 + 97); // fragment [4000, 4097)
    fe.txReq(g, 4000, 0, 54, 97);
    fe.pushTx();
    h.sim.run();
    expect(drops(h, fe)).toEqual({ bad_size: 1, cross_page: 1 });
    const mine = h.stack.received.filter((sk) => sk.dev === fe.vif);
    expect(mine.map((sk) => sk.len)).toEqual([110]);
    h.stack.freeAll();
    h.sim.run();
    expect(responses(fe).sort((a, b) => a[0] - b[0])).toEqual([
      [50, NETIF_RSP_OKAY], [51, NETIF_RSP_OKAY], [52, NETIF_RSP_ERROR], [53, NETIF_RSP_ERROR], [54, NETIF_RSP_ERROR],
    ]);
  });

  it('a packet with MAX_SKB_FRAGS (18) fragments keeps its whole first slot in the head; with 17, PKT_PROT_LEN (64) bytes', () => {
    for (const frags of [17, 18]) {
      const { h, fe } = rig();
      const p = fe.page(udpFrame(300), 0);
      const g = fe.grantRO(p.pfn);
      fe.txReq(g, 0, NETTXF_more_data, 60, 100 + frags * 8);
      for (let f = 0; f < frags; f++) fe.txReq(g, 0, f < frags - 1 ? NETTXF_more_data : 0, 61 + f, 8);
      fe.pushTx();
      h.sim.run();
      const mine = h.stack.received.filter((sk) => sk.dev === fe.vif);
      expect(mine).toHaveLength(1);
      // `data_len = (txreq.size > PKT_PROT_LEN && ret < MAX_SKB_FRAGS) ? PKT_PROT_LEN : txreq.size;`
      // then the rest of the first slot becomes a fragment of its own when it did not fit.
      expect(mine[0]!.headLen, `${frags} frags`).toBe(frags === 18 ? 100 : 64);
      expect(mine[0]!.len).toBe(100 + frags * 8);
    }
  });

  it('"Need more frags" before the first frag: netbk_count_requests returns -0, so the first slot goes on alone (OKAY); the rest arrives as new packets', () => {
    const { h, fe } = rig();
    const p = fe.page(udpFrame(300), 0);
    const g = fe.grantRO(p.pfn);
    fe.txReq(g, 0, NETTXF_more_data, 50, 300);
    fe.pushTx();
    h.sim.run();
    // `if (frags >= work_to_do) { DPRINTK("Need more frags\n"); return -frags; }` with
    // work_to_do = 0 and frags = 0 returns 0, and `if (unlikely(ret < 0))` in net_tx_action is
    // false: the first slot is a whole packet of txreq.size (300) bytes, no error.
    expect(h.stack.received.filter((s) => s.dev === fe.vif).map((s) => s.len)).toEqual([300]);
    expect(reqCons(fe)).toBe(1);
    h.stack.freeAll();
    h.sim.run();
    expect(responses(fe)).toEqual([[50, NETIF_RSP_OKAY]]);
    fe.txReq(g, 0, 0, 51, 100);
    fe.pushTx();
    h.sim.run();
    // The late fragment (flags 0, 100 B, offset 0) is a well-formed packet of its own.
    expect(h.stack.received.filter((s) => s.dev === fe.vif).map((s) => s.len)).toEqual([100]);
    expect(drops(h, fe)).toEqual({});
    h.stack.freeAll();
  });

  it('"Frags galore" before the first frag (a first frag bigger than the packet): also -0, the first slot goes on alone and the frag is a packet of its own', () => {
    const { h, fe } = rig();
    const g = fe.grantRO(fe.page(udpFrame(300), 0).pfn);
    const g2 = fe.grantRO(fe.page(udpFrame(400), 0).pfn);
    fe.txReq(g, 0, NETTXF_more_data, 10, 300);
    fe.txReq(g2, 0, 0, 11, 400);
    fe.pushTx();
    h.sim.run();
    expect(h.stack.received.filter((s) => s.dev === fe.vif).map((s) => s.len)).toEqual([300, 400]);
    h.stack.freeAll();
    h.sim.run();
    expect(responses(fe)).toEqual([[10, NETIF_RSP_OKAY], [11, NETIF_RSP_OKAY]]);
    expect(drops(h, fe)).toEqual({});
  });

  it('req_prod 1000 ahead: no "Impossible number of requests" check in 2.6.18; every garbage slot is read and answered', () => {
    const { h, fe, good } = rig();
    // net_tx_action takes `RING_FINAL_CHECK_FOR_REQUESTS(&netif->tx, work_to_do)` (at most the
    // ring's free response space) and reads the slot at req_cons whatever it holds. The untouched
    // ring is zeros: size 0 < ETH_HLEN → netbk_tx_err → one ERROR response, req_cons + 1,
    // netif_schedule_work re-queues the vif, and the loop goes round until req_cons = req_prod.
    fe.tx.sring.req_prod = 1000;
    fe.g.notify_remote_via_evtchn(fe.port);
    h.sim.run();
    expect(reqCons(fe)).toBe(1000);
    expect(fe.tx.sring.rsp_prod).toBe(1000);
    const st = responses(fe).map((r) => r[1]);
    expect(st.every((s) => s === NETIF_RSP_ERROR)).toBe(true);
    expect(drops(h, fe)).toEqual({ bad_size: 1000 });
    expect(fe.vif.disabled).toBe(false);
    goodDelivers(h, good);
  });

  it('netbk_tx_check_mop: a bad grant after a good fragment: ERROR for it, the header and the good fragment released (the XSA-39 fix, not CVE-2013-0217)', () => {
    const { h, fe, good } = rig();
    const a = fe.page(udpFrame(500), 0);
    const b = fe.page(new Uint8Array(100).fill(7), 0);
    const ga = fe.grantRO(a.pfn), gb = fe.grantRO(b.pfn);
    fe.txReq(ga, 0, NETTXF_more_data, 60, 500); // own size 300 → 64 B copied, the rest is frag 0
    fe.txReq(gb, 0, NETTXF_more_data, 61, 100); // maps
    fe.txReq(99999, 0, 0, 62, 100); // bad grant ref
    fe.pushTx();
    h.sim.run();
    // Failed fragment: `make_tx_response(netif, txp, NETIF_RSP_ERROR); pending_ring[...] =
    // pending_idx;`, then "invalidate header and preceding fragments". 2.6.18 reads
    // `shinfo->frags[i].page` there (CVE-2013-0217: the preceding fragment would leak, mapped and
    // unanswered, with its pending slot held for every vif); the model releases frags[j] as the
    // fix does, so net_tx_action_dealloc unmaps and answers the header and the good fragment OKAY.
    expect(responses(fe)).toEqual([[62, NETIF_RSP_ERROR], [60, NETIF_RSP_OKAY], [61, NETIF_RSP_OKAY]]);
    expect(h.stack.received.filter((s) => s.dev === fe.vif)).toHaveLength(0);
    expect(drops(h, fe)).toEqual({ bad_grant: 1 });
    expect(h.nb.classic.nrPendingReqs).toBe(0);
    expect(fe.vif.counters.tx_unmap_ops).toBe(2);
    goodDelivers(h, good);
    expect(h.nb.classic.nrPendingReqs).toBe(0);
  });
});
