/**
 * Guest receive (dom0 → guest) of the classic netback, checked line by line against
 * linux-2.6.18-xen drivers/xen/netback/netback.c (bronson/linux-2.6.18.8-ovz-xen): each test quotes
 * the source line it pins. netif_be_start_xmit, netbk_queue_full, netbk_copy_skb, the 500 ms queue
 * timer, net_rx_action's batching and memory squeeze, netbk_gop_skb / netbk_gop_frag (copy and
 * flip), netbk_check_gop, make_rx_response / netbk_add_frag_responses and notify_list.
 */
import { describe, expect, it } from 'vitest';
import { makeHost, Frontend, udpFrame, type Host, skbOf } from './harness';
import {
  NETIF_RSP_ERROR, NETRXF_csum_blank, NETRXF_data_validated, NETRXF_extra_info, NETRXF_more_data,
  writeRxRequest,
} from '../../../src/io/netif';
import { RING_GET_REQUEST, RING_GET_RESPONSE, RING_PUSH_REQUESTS_AND_CHECK_NOTIFY } from '../../../src/io/ring';
import { GNTCOPY_dest_gref, GNTCOPY_source_gref, DOMID_SELF } from '../../../src/io/xen-constants';
import { CHECKSUM_NONE, CHECKSUM_PARTIAL, CHECKSUM_UNNECESSARY, SKB_GSO_TCPV4, type SkBuff } from '../../../src/net/skb';
import { PAGE_RAM } from '../../../src/xen/memory';
import {
  CLASSIC_MAX_SKB_FRAGS, MAX_MFN_ALLOC, NETBK_COPY_SKB_HEAD_OFFSET, NETBK_COPY_SKB_HEADLEN, TX_QUEUE_TIMEOUT_NS,
} from '../../../src/drivers/netback/classic/netback';

const PAGE = 4096;

/** An skb with a linear part and page frags (each frag in its own 4 KiB buffer at `fragOff`). */
function fragSkb(h: Host, head: Uint8Array, frags: Uint8Array[], fragOff = 0): SkBuff {
  const skb = skbOf(h, head);
  for (const f of frags) {
    const page = new Uint8Array(PAGE);
    page.set(f, fragOff);
    skb.addFrag(page, fragOff, f.length);
  }
  return skb;
}

function fill(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 13 + seed) & 255;
  return b;
}

/**
 * Posts rx requests with the given ids, one fresh writable page each (or, with `oneBuffer`, the
 * same granted page in every request); returns gref and page per request.
 */
function postIds(fe: Frontend, ids: number[], push = true, oneBuffer = false): { gref: number; page: Uint8Array }[] {
  const out = [];
  let shared: { gref: number; page: Uint8Array } | null = null;
  for (const id of ids) {
    if (shared === null || !oneBuffer) {
      const { pfn, page } = fe.page();
      shared = { gref: fe.g.gnttab.gnttab_grant_foreign_access(0, fe.g.pfn_to_gfn(pfn), false), page };
    }
    const { gref, page } = shared;
    const i = fe.rx.req_prod_pvt;
    writeRxRequest(fe.rx.sring.view, RING_GET_REQUEST(fe.rx, i), id, gref);
    fe.rx.req_prod_pvt = (i + 1) >>> 0;
    out.push({ gref, page });
  }
  if (push && RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(fe.rx)) fe.g.notify_remote_via_evtchn(fe.port);
  return out;
}

/** A flipping frontend's buffers: pfns given back to Xen, granted with GTF_accept_transfer. */
function postFlip(h: Host, fe: Frontend, n: number, firstPfn = 200): number[] {
  const grefs = [];
  for (let k = 0; k < n; k++) {
    const pfn = firstPfn + k;
    h.hv.decrease_reservation(fe.domid, pfn);
    const gref = fe.g.gnttab.gnttab_grant_foreign_transfer(0, pfn);
    const i = fe.rx.req_prod_pvt;
    writeRxRequest(fe.rx.sring.view, RING_GET_REQUEST(fe.rx, i), 50 + k, gref);
    fe.rx.req_prod_pvt = (i + 1) >>> 0;
    grefs.push(gref);
  }
  fe.rx.sring.req_prod = fe.rx.req_prod_pvt;
  return grefs;
}

function connected(h: Host, name = 'guest1', extra: { rxCopy?: boolean; rxNotify?: boolean } = {}): Frontend {
  const fe = new Frontend(h, name);
  fe.connect('classic', extra);
  return fe;
}

function responses(fe: Frontend): { id: number; offset: number; flags: number; status: number }[] {
  const out = [];
  for (let i = 0; i < fe.rx.sring.rsp_prod; i++) out.push(fe.rxRsp(i));
  return out;
}

describe('classic netback guest receive, audited against 2.6.18 netback.c', () => {
  it('netbk_queue_full() with SG needs MAX_SKB_FRAGS + 2 = 20 requests beyond rx_req_cons_peek: 19 drop, 20 pass', () => {
    // `return MAX_SKB_FRAGS + 2; /* header + extra_info + frags */`
    // `return ((netif->rx.sring->req_prod - peek) < needed) || …`
    const h = makeHost();
    const fe = connected(h);
    postIds(fe, Array.from({ length: 19 }, (_, i) => i));
    fe.vif.ndo_start_xmit(skbOf(h, udpFrame(100)));
    // drop: `netif->stats.tx_dropped++;`
    expect(fe.vif.stats.tx_dropped).toBe(1);
    expect(h.sim.drops.total({ reason: 'no_rx_slots' })).toBe(1);
    postIds(fe, [19]);
    fe.vif.ndo_start_xmit(skbOf(h, udpFrame(100)));
    h.sim.run();
    expect(fe.vif.stats.tx_dropped).toBe(1);
    expect(responses(fe).map((r) => r.status)).toEqual([100]);
  });

  it('netif_be_start_xmit() drops (tx_dropped) when the vif is not schedulable, even with requests posted', () => {
    // `if (unlikely(!netif_schedulable(netif) || netbk_queue_full(netif))) goto drop;`
    // `#define netif_schedulable(netif) (netif_running((netif)->dev) && netback_carrier_ok(netif))`
    const h = makeHost();
    const fe = connected(h);
    postIds(fe, Array.from({ length: 30 }, (_, i) => i));
    fe.vif.up = false;
    fe.vif.ndo_start_xmit(skbOf(h, udpFrame(100)));
    expect(fe.vif.stats.tx_dropped).toBe(1);
    expect(h.sim.drops.total({ reason: 'not_connected' })).toBe(1);
    expect(h.nb.classic.rxReqConsPeek(fe.vif)).toBe(0);
    fe.vif.up = true;
    fe.vif.ndo_start_xmit(skbOf(h, udpFrame(100)));
    h.sim.run();
    expect(responses(fe).map((r) => r.status)).toEqual([100]);
  });

  it('netbk_queue_full() without SG/TSO needs one request ("all in one")', () => {
    // `return 1; /* all in one */`
    const h = makeHost();
    const fe = connected(h);
    fe.vif.canSg = false;
    fe.vif.gsoMask = 0;
    postIds(fe, [7]);
    fe.vif.ndo_start_xmit(skbOf(h, udpFrame(300)));
    h.sim.run();
    expect(responses(fe)).toEqual([{ id: 7, offset: 0, flags: 0, status: 300 }]);
    fe.vif.ndo_start_xmit(skbOf(h, udpFrame(300)));
    expect(fe.vif.stats.tx_dropped).toBe(1);
  });

  it('netbk_queue_full() also refuses when rsp_prod_pvt + NET_RX_RING_SIZE - peek < needed (a req_prod far ahead)', () => {
    // `((netif->rx.rsp_prod_pvt + NET_RX_RING_SIZE - peek) < needed)`
    const h = makeHost();
    const fe = connected(h);
    postIds(fe, Array.from({ length: 256 }, (_, i) => i), false, true);
    fe.rx.sring.req_prod = 100000; // a frontend claiming far more requests than the ring holds
    let accepted = 0;
    for (let i = 0; i < 240; i++) {
      const before = fe.vif.stats.tx_dropped;
      fe.vif.ndo_start_xmit(skbOf(h, udpFrame(60)));
      if (fe.vif.stats.tx_dropped === before) accepted++;
    }
    // peek 236 → 0 + 256 - 236 = 20 ≥ 20 still accepted; at 237 it is 19.
    expect(accepted).toBe(237);
    expect(h.nb.classic.rxReqConsPeek(fe.vif)).toBe(237);
  });

  it('netif_be_start_xmit() reserves nr_frags + 1 + !!gso_size slots in rx_req_cons_peek', () => {
    // `netif->rx_req_cons_peek += skb_shinfo(skb)->nr_frags + 1 + !!skb_shinfo(skb)->gso_size;`
    const h = makeHost();
    const fe = connected(h);
    postIds(fe, Array.from({ length: 40 }, (_, i) => i));
    const skb = fragSkb(h, udpFrame(200), [fill(1000, 1), fill(500, 2)]);
    skb.gsoSize = 1400;
    skb.gsoType = SKB_GSO_TCPV4;
    fe.vif.ndo_start_xmit(skb);
    expect(h.nb.classic.rxReqConsPeek(fe.vif)).toBe(4);
    fe.vif.ndo_start_xmit(fragSkb(h, udpFrame(200), [fill(10, 3)]));
    expect(h.nb.classic.rxReqConsPeek(fe.vif)).toBe(6);
    h.sim.run();
    // net_rx_action consumed the same slots: `netif->rx.req_cons += nr_frags + extra;`
    expect(fe.rx.sring.rsp_prod).toBe(6);
  });

  it('netif_be_start_xmit() stops the queue with req_event = peek + needed when full after the reservation', () => {
    // `netif->rx.sring->req_event = netif->rx_req_cons_peek + netbk_max_required_rx_slots(netif);`
    // `if (netbk_queue_full(netif)) { netif_stop_queue(dev); … }`
    const h = makeHost();
    const fe = connected(h);
    postIds(fe, Array.from({ length: 21 }, (_, i) => i));
    fe.vif.ndo_start_xmit(skbOf(h, udpFrame(100)));
    expect(fe.vif.txStopped).toBe(false); // 21 - 1 = 20 left: not full
    fe.vif.ndo_start_xmit(skbOf(h, udpFrame(100)));
    expect(fe.vif.txStopped).toBe(true);
    expect(fe.rx.sring.req_event).toBe(2 + 20);
    expect(fe.vif.counters.rx_queue_stops).toBe(1);
    h.sim.run({ until: h.sim.now + 1_000_000 });
    // netif_be_int(): `if (netif_schedulable(netif) && !netbk_queue_full(netif)) netif_wake_queue(netif->dev);`
    postIds(fe, [21, 22]);
    h.sim.run({ until: h.sim.now + 1_000_000 });
    expect(fe.vif.txStopped).toBe(false);
  });

  it('a frontend without feature-rx-notify (can_queue 0) never has its queue stopped', () => {
    // `if (netbk_can_queue(dev) && netbk_queue_full(netif)) {`
    // connect_rings(): `if (xenbus_scanf(..., "feature-rx-notify", ...) < 0) val = 0; if (val) netif->can_queue = 1;`
    const h = makeHost();
    const fe = connected(h, 'guest1', { rxNotify: false });
    postIds(fe, Array.from({ length: 21 }, (_, i) => i));
    const reqEvent = fe.rx.sring.req_event;
    fe.vif.ndo_start_xmit(skbOf(h, udpFrame(100)));
    fe.vif.ndo_start_xmit(skbOf(h, udpFrame(100)));
    expect(fe.vif.txStopped).toBe(false);
    expect(fe.rx.sring.req_event).toBe(reqEvent);
    // The next packet is dropped by netbk_queue_full instead.
    fe.vif.ndo_start_xmit(skbOf(h, udpFrame(100)));
    expect(fe.vif.stats.tx_dropped).toBe(1);
  });

  it('the stopped queue is woken by tx_queue_timeout after HZ/2 (500 ms) even without new requests, only if schedulable', () => {
    // `__mod_timer(&netif->tx_queue_timeout, jiffies + HZ/2);`
    // tx_queue_callback(): `if (netif_schedulable(netif)) netif_wake_queue(netif->dev);`
    const h = makeHost();
    const fe = connected(h);
    postIds(fe, Array.from({ length: 21 }, (_, i) => i));
    const t0 = h.sim.now;
    fe.vif.ndo_start_xmit(skbOf(h, udpFrame(100)));
    fe.vif.ndo_start_xmit(skbOf(h, udpFrame(100)));
    expect(fe.vif.txStopped).toBe(true);
    h.sim.run({ until: t0 + TX_QUEUE_TIMEOUT_NS - 1 });
    expect(fe.vif.txStopped).toBe(true);
    h.sim.run({ until: t0 + TX_QUEUE_TIMEOUT_NS });
    expect(fe.vif.txStopped).toBe(false);
    // Woken with a full ring: the next packet is dropped, not queued.
    fe.vif.ndo_start_xmit(skbOf(h, udpFrame(100)));
    expect(fe.vif.stats.tx_dropped).toBe(1);

    // A vif that is no longer schedulable stays stopped.
    const h2 = makeHost();
    const fe2 = connected(h2);
    postIds(fe2, Array.from({ length: 21 }, (_, i) => i));
    const t1 = h2.sim.now;
    fe2.vif.ndo_start_xmit(skbOf(h2, udpFrame(100)));
    fe2.vif.ndo_start_xmit(skbOf(h2, udpFrame(100)));
    h2.sim.run({ until: t1 + 1_000_000 });
    fe2.vif.up = false;
    h2.sim.run({ until: t1 + TX_QUEUE_TIMEOUT_NS + 1 });
    expect(fe2.vif.txStopped).toBe(true);
  });

  it('netbk_gop_skb() issues the frags first and the head last; head in slot 0, GSO extra slot 1, frags from slot 2', () => {
    // `meta->id = netbk_gop_frag(netif, meta, i + extra, …)` for each frag, then
    // "This must occur at the end …": `head_meta->id = netbk_gop_frag(netif, head_meta, 0, …)`
    const h = makeHost();
    const fe = connected(h);
    const posted = postIds(fe, [100, 101, 102, 103, ...Array.from({ length: 20 }, (_, i) => 110 + i)]);
    const head = udpFrame(200);
    const f0 = fill(1000, 5), f1 = fill(700, 9);
    const skb = fragSkb(h, head, [f0, f1], 100);
    skb.gsoSize = 1448;
    skb.gsoType = SKB_GSO_TCPV4;
    fe.vif.ndo_start_xmit(skb);
    h.sim.run();
    const ops = h.nb.classic.rxCopy;
    expect(ops.count).toBe(3);
    expect([0, 1, 2].map((i) => ops.dstU(i))).toEqual([posted[2]!.gref, posted[3]!.gref, posted[0]!.gref]);
    expect([0, 1, 2].map((i) => ops.len(i))).toEqual([1000, 700, 200]);
    // `copy_gop->dest.offset = 0;` `copy_gop->flags = GNTCOPY_dest_gref;` (dom0 memory: DOMID_SELF)
    for (let i = 0; i < 3; i++) {
      expect(ops.dstOffset(i)).toBe(0);
      expect(ops.flags(i)).toBe(GNTCOPY_dest_gref);
      expect(ops.srcDomid(i)).toBe(DOMID_SELF);
    }
    const rs = responses(fe);
    expect(rs.map((r) => r.id)).toEqual([100, rs[1]!.id, 102, 103]);
    // The request in the extra slot (id 101, its grant) is consumed but never used.
    expect(Array.from(posted[1]!.page.subarray(0, 64)).every((b) => b === 0)).toBe(true);
    expect(Array.from(posted[0]!.page.subarray(0, 200))).toEqual(Array.from(head));
    expect(Array.from(posted[2]!.page.subarray(0, 1000))).toEqual(Array.from(f0));
    expect(Array.from(posted[3]!.page.subarray(0, 700))).toEqual(Array.from(f1));
  });

  it('make_rx_response(): head {more_data|extra_info|csum flags, offset 0, headlen}, one GSO extra (TCPV4), frags more_data but the last', () => {
    // `flags = nr_frags ? NETRXF_more_data : 0;` `resp->flags |= NETRXF_extra_info;`
    // `gso->u.gso.size = …; gso->u.gso.type = XEN_NETIF_GSO_TYPE_TCPV4; gso->u.gso.pad = 0;
    //  gso->u.gso.features = 0; gso->type = XEN_NETIF_EXTRA_TYPE_GSO; gso->flags = 0;`
    // netbk_add_frag_responses(): `int flags = (i == nr_frags - 1) ? 0 : NETRXF_more_data;`
    const h = makeHost();
    const fe = connected(h);
    postIds(fe, Array.from({ length: 30 }, (_, i) => 10 + i));
    const skb = fragSkb(h, udpFrame(120), [fill(1000, 1), fill(2000, 2), fill(300, 3)], 256);
    skb.gsoSize = 1448;
    skb.gsoType = SKB_GSO_TCPV4;
    skb.ipSummed = CHECKSUM_PARTIAL;
    fe.vif.ndo_start_xmit(skb);
    h.sim.run();
    const rs = responses(fe);
    expect(rs[0]).toEqual({ id: 10, offset: 0, flags: NETRXF_more_data | NETRXF_extra_info | NETRXF_csum_blank | NETRXF_data_validated, status: 120 });
    const x = RING_GET_RESPONSE(fe.rx, 1);
    expect(Array.from(fe.rx.sring.bytes.subarray(x, x + 8))).toEqual([1, 0, 1448 & 255, 1448 >> 8, 1, 0, 0, 0]);
    expect(rs.slice(2)).toEqual([
      { id: 12, offset: 0, flags: NETRXF_more_data, status: 1000 },
      { id: 13, offset: 0, flags: NETRXF_more_data, status: 2000 },
      { id: 14, offset: 0, flags: 0, status: 300 },
    ]);
  });

  it('checksum flags: CHECKSUM_HW (PARTIAL) → csum_blank|data_validated, proto_data_valid → data_validated, a NIC-verified or unverified frame → 0', () => {
    // `if (skb->ip_summed == CHECKSUM_HW) flags |= NETRXF_csum_blank | NETRXF_data_validated;
    //  else if (skb->proto_data_valid) flags |= NETRXF_data_validated;`
    const h = makeHost();
    const fe = connected(h);
    postIds(fe, Array.from({ length: 40 }, (_, i) => i));
    // A guest's packet (netback tx set proto_data_valid), a frame a NIC verified (CHECKSUM_UNNECESSARY
    // without proto_data_valid: not flagged under 2.6.18), and an unverified one.
    const cases: [number, boolean][] = [[CHECKSUM_PARTIAL, true], [CHECKSUM_UNNECESSARY, true], [CHECKSUM_UNNECESSARY, false], [CHECKSUM_NONE, false]];
    for (const [s, valid] of cases) {
      const skb = skbOf(h, udpFrame(100));
      skb.ipSummed = s as typeof skb.ipSummed;
      skb.protoDataValid = valid;
      fe.vif.ndo_start_xmit(skb);
    }
    h.sim.run();
    expect(responses(fe).map((r) => r.flags)).toEqual([NETRXF_csum_blank | NETRXF_data_validated, NETRXF_data_validated, 0, 0]);
  });

  it('netbk_check_gop(): one failed copy makes every response of that packet NETIF_RSP_ERROR; the next packet is fine', () => {
    // `status = NETIF_RSP_ERROR;` … `if (st < 0) resp->status = (s16)st;`
    const h = makeHost();
    const fe = connected(h);
    const posted = postIds(fe, Array.from({ length: 30 }, (_, i) => i), false);
    // The second frag's request names a grant that does not exist.
    fe.rx.sring.view.setUint32(RING_GET_REQUEST(fe.rx, 2) + 4, 60000, true);
    fe.rx.sring.req_prod = fe.rx.req_prod_pvt;
    fe.vif.ndo_start_xmit(fragSkb(h, udpFrame(100), [fill(500, 1), fill(600, 2)]));
    fe.vif.ndo_start_xmit(skbOf(h, udpFrame(90)));
    h.sim.run();
    const rs = responses(fe);
    expect(rs.map((r) => r.status)).toEqual([NETIF_RSP_ERROR, NETIF_RSP_ERROR, NETIF_RSP_ERROR, 90]);
    expect(rs.map((r) => r.flags & NETRXF_more_data)).toEqual([NETRXF_more_data, NETRXF_more_data, 0, 0]);
    expect(fe.vif.counters.rx_copy_errors).toBe(1);
    // `netif->stats.tx_bytes += skb->len; netif->stats.tx_packets++;` come before the check.
    expect(fe.vif.stats.tx_packets).toBe(2);
    expect(Array.from(posted[3]!.page.subarray(0, 90))).toEqual(Array.from(udpFrame(90)));
  });

  it('notify_list: one notification per irq per net_rx_action run however many packets, none when rsp_event is not reached', () => {
    // `if (ret && !rx_notify[irq]) { rx_notify[irq] = 1; notify_list[notify_nr++] = irq; }`
    const h = makeHost();
    const a = connected(h, 'a');
    const b = connected(h, 'b');
    postIds(a, Array.from({ length: 30 }, (_, i) => i));
    postIds(b, Array.from({ length: 30 }, (_, i) => i));
    h.sim.run();
    const na = a.notifications, nb = b.notifications;
    for (let i = 0; i < 4; i++) a.vif.ndo_start_xmit(skbOf(h, udpFrame(100 + i)));
    for (let i = 0; i < 3; i++) b.vif.ndo_start_xmit(skbOf(h, udpFrame(100 + i)));
    h.sim.run();
    expect(a.vif.counters.rx_runs).toBe(1);
    expect(a.vif.counters.rx_notifies).toBe(1);
    expect(b.vif.counters.rx_notifies).toBe(1);
    expect(a.notifications - na).toBe(1);
    expect(b.notifications - nb).toBe(1);
    // RING_PUSH_RESPONSES_AND_CHECK_NOTIFY: no event when rsp_event lies beyond the new responses.
    a.rx.sring.rsp_event = a.rx.sring.rsp_prod + 50;
    a.vif.ndo_start_xmit(skbOf(h, udpFrame(100)));
    h.sim.run();
    expect(a.vif.counters.rx_notifies).toBe(1);
    expect(a.rx.sring.rsp_prod).toBe(5);
  });

  it('net_rx_action() counts nr_frags + 1 per packet (not the GSO slot) and stops a batch at count + MAX_SKB_FRAGS >= NET_RX_RING_SIZE', () => {
    // `count += nr_frags + 1;` … `if (count + MAX_SKB_FRAGS >= NET_RX_RING_SIZE) break;`
    const h = makeHost();
    const a = connected(h, 'a');
    const b = connected(h, 'b');
    postIds(a, Array.from({ length: 256 }, (_, i) => i), true, true);
    postIds(b, Array.from({ length: 256 }, (_, i) => i), true, true);
    h.sim.run();
    const rec = h.sim.trace.record('netback.rx.batch');
    // 119 GSO packets of 2 slots each per vif: 238 slots reserved of 256.
    for (let i = 0; i < 119; i++) {
      for (const fe of [a, b]) {
        const skb = skbOf(h, udpFrame(100));
        skb.gsoSize = 1000;
        skb.gsoType = SKB_GSO_TCPV4;
        fe.vif.ndo_start_xmit(skb);
      }
    }
    expect(a.vif.stats.tx_dropped + b.vif.stats.tx_dropped).toBe(0);
    h.sim.run();
    // 238 packets count 238 (not 476): one run takes them all (238 + 18 >= 256 after the last).
    expect(rec.records.map((r) => r.copies)).toEqual([238, 238]);
    expect(a.rx.sring.rsp_prod).toBe(238);

    // Without GSO the batch ends after 238 single-slot packets; the rest go in the next run.
    const h2 = makeHost();
    const c = connected(h2, 'c');
    const d = connected(h2, 'd');
    for (const fe of [c, d]) { fe.vif.canSg = false; fe.vif.gsoMask = 0; postIds(fe, Array.from({ length: 256 }, (_, i) => i), true, true); }
    h2.sim.run();
    const rec2 = h2.sim.trace.record('netback.rx.batch');
    for (let i = 0; i < 150; i++) for (const fe of [c, d]) fe.vif.ndo_start_xmit(skbOf(h2, udpFrame(80)));
    h2.sim.run();
    const perRun = new Map<number, number>();
    let run = 0, prevCopies = -1;
    for (const r of rec2.records) {
      if (r.copies !== prevCopies) { run++; prevCopies = r.copies; }
      perRun.set(run, r.copies);
    }
    expect([...perRun.values()]).toEqual([238, 62]);
  });

  it('copy mode: a head reaching the end of its page (headlen + offset >= PAGE_SIZE) goes through netbk_copy_skb', () => {
    // `if (!netif->copying_receiver || ((skb_headlen(skb) + offset_in_page(skb->data)) >= PAGE_SIZE))`
    // netbk_copy_skb: head `nskb->end - nskb->data` bytes at 16 + NET_IP_ALIGN, the rest in whole pages.
    const h = makeHost();
    const fe = connected(h);
    const posted = postIds(fe, Array.from({ length: 40 }, (_, i) => i));
    const probe = skbOf(h, new Uint8Array(1));
    const off = probe.data & (PAGE - 1);
    h.stack.pool.free(probe);
    // One byte short of the page end: sent as it is (one slot).
    const fits = udpFrame(PAGE - off - 1);
    fe.vif.ndo_start_xmit(skbOf(h, fits));
    // Exactly at the page end: copied (head 3694 bytes, the rest in a page).
    const big = udpFrame(PAGE - off, 3);
    fe.vif.ndo_start_xmit(skbOf(h, big));
    expect(h.nb.classic.rxReqConsPeek(fe.vif)).toBe(1 + 2);
    h.sim.run();
    const rs = responses(fe);
    expect(rs.map((r) => [r.status, r.offset, r.flags])).toEqual([
      [fits.length, 0, 0],
      [NETBK_COPY_SKB_HEADLEN, 0, NETRXF_more_data],
      [big.length - NETBK_COPY_SKB_HEADLEN, 0, 0],
    ]);
    expect(NETBK_COPY_SKB_HEADLEN).toBe(3694);
    // The copied head is read from offset_in_page(nskb->data) = 18 (ops: frag first, head last).
    const ops = h.nb.classic.rxCopy;
    expect(ops.count).toBe(3);
    expect(ops.srcOffset(2)).toBe(NETBK_COPY_SKB_HEAD_OFFSET);
    expect(ops.srcOffset(1)).toBe(0);
    expect(Array.from(posted[1]!.page.subarray(0, NETBK_COPY_SKB_HEADLEN))).toEqual(Array.from(big.subarray(0, NETBK_COPY_SKB_HEADLEN)));
    expect(Array.from(posted[2]!.page.subarray(0, big.length - NETBK_COPY_SKB_HEADLEN))).toEqual(Array.from(big.subarray(NETBK_COPY_SKB_HEADLEN)));
  });

  it('copy mode: a 9000-byte linear skb arrives intact in three slots (3694 + 4096 + 1210)', () => {
    const h = makeHost();
    const fe = connected(h);
    const posted = postIds(fe, Array.from({ length: 30 }, (_, i) => i));
    const frame = udpFrame(9000, 11);
    fe.vif.ndo_start_xmit(skbOf(h, frame));
    h.sim.run();
    expect(responses(fe).map((r) => r.status)).toEqual([3694, 4096, 1210]);
    const got = new Uint8Array(9000);
    got.set(posted[0]!.page.subarray(0, 3694), 0);
    got.set(posted[1]!.page, 3694);
    got.set(posted[2]!.page.subarray(0, 1210), 3694 + 4096);
    expect(Array.from(got)).toEqual(Array.from(frame));
  });

  it('netbk_copy_skb() fails (the packet is dropped) when the copy needs more than MAX_SKB_FRAGS pages', () => {
    // `if (unlikely(ninfo->nr_frags >= MAX_SKB_FRAGS)) { dump_stack(); goto err_free; }` → `goto drop;`
    const h = makeHost();
    const fe = connected(h);
    postIds(fe, Array.from({ length: 40 }, (_, i) => i));
    fe.vif.ndo_start_xmit(skbOf(h, new Uint8Array(NETBK_COPY_SKB_HEADLEN + CLASSIC_MAX_SKB_FRAGS * PAGE + 1)));
    expect(fe.vif.stats.tx_dropped).toBe(1);
    expect(h.sim.drops.total({ reason: 'netbk_copy_skb' })).toBe(1);
    fe.vif.ndo_start_xmit(skbOf(h, new Uint8Array(NETBK_COPY_SKB_HEADLEN + CLASSIC_MAX_SKB_FRAGS * PAGE)));
    h.sim.run();
    expect(fe.rx.sring.rsp_prod).toBe(1 + CLASSIC_MAX_SKB_FRAGS);
  });

  it('copy mode: a frag netback mapped from another guest is copied from that guest\'s grant (GNTCOPY_source_gref)', () => {
    // `if (PageForeign(page)) { … copy_gop->source.domid = src_pend->netif->domid;
    //   copy_gop->source.u.ref = src_pend->req.gref; copy_gop->flags |= GNTCOPY_source_gref; }`
    const h = makeHost();
    const a = connected(h, 'a');
    const b = connected(h, 'b');
    const posted = postIds(b, Array.from({ length: 30 }, (_, i) => i));
    const frame = udpFrame(1500, 4);
    const txGref = a.sendOne(frame, 9);
    a.pushTx();
    h.sim.run();
    const skb = h.stack.received.pop()!;
    expect(skb.nrFrags).toBe(1);
    b.vif.ndo_start_xmit(skb);
    h.sim.run();
    const ops = h.nb.classic.rxCopy;
    expect(ops.flags(0)).toBe(GNTCOPY_dest_gref | GNTCOPY_source_gref);
    expect(ops.srcDomid(0)).toBe(a.domid);
    expect(ops.srcU(0)).toBe(txGref);
    expect(ops.srcOffset(0)).toBe(64);
    expect(ops.srcDomid(1)).toBe(DOMID_SELF);
    const got = new Uint8Array(1500);
    got.set(posted[0]!.page.subarray(0, 64), 0);
    got.set(posted[1]!.page.subarray(0, 1436), 64);
    expect(Array.from(got)).toEqual(Array.from(frame));
    // dev_kfree_skb released a's mapped page: a gets its OKAY.
    h.sim.run();
    expect(a.txRsp(0)).toEqual({ id: 9, status: 0 });
  });

  it('flip mode: the packet is copied (head at offset 18, the rest in whole pages) and each page transferred; offsets in the responses', () => {
    // `offset = offset_in_page(skb->data);` (flip) and `offset = meta[i].frag.page_offset;` (0 after netbk_copy_skb)
    const h = makeHost();
    const fe = connected(h, 'guest1', { rxCopy: false });
    const grefs = postFlip(h, fe, 25);
    const head = udpFrame(300, 6);
    const f0 = fill(3000, 1), f1 = fill(2000, 2);
    fe.vif.ndo_start_xmit(fragSkb(h, head, [f0, f1], 512));
    h.sim.run();
    const rs = responses(fe);
    // 5300 bytes: a 300-byte head (under 3694), then 4096 + 904 in whole pages.
    expect(rs.map((r) => [r.id, r.offset, r.flags, r.status])).toEqual([
      [50, NETBK_COPY_SKB_HEAD_OFFSET, NETRXF_more_data, 300],
      [51, 0, NETRXF_more_data, 4096],
      [52, 0, 0, 904],
    ]);
    expect(fe.vif.counters.rx_transfer_ops).toBe(3);
    const all = new Uint8Array(5300);
    all.set(head, 0); all.set(f0, 300); all.set(f1, 3300);
    const pieces = [[0, NETBK_COPY_SKB_HEAD_OFFSET, 300], [1, 0, 4096], [2, 0, 904]] as const;
    let at = 0;
    for (const [k, off, len] of pieces) {
      const mfn = fe.g.gnttab.gnttab_end_foreign_transfer_ref(grefs[k]!);
      expect(h.hv.mem.owner[mfn]).toBe(fe.domid);
      expect(Array.from(h.hv.mem.page(mfn).subarray(off, off + len))).toEqual(Array.from(all.subarray(at, at + len)));
      at += len;
    }
  });

  it('flip mode: check_mfn() tops the spare-frame pool up to MAX_MFN_ALLOC and alloc_mfn() takes one frame per piece', () => {
    // `reservation.nr_extents = MAX_MFN_ALLOC - alloc_index;` … `return mfn_list[--alloc_index];`
    const h = makeHost();
    const fe = connected(h, 'guest1', { rxCopy: false });
    postFlip(h, fe, 25);
    expect(h.nb.classic.alloc_index).toBe(0);
    fe.vif.ndo_start_xmit(fragSkb(h, udpFrame(100), [fill(100, 1)]));
    h.sim.run();
    expect(h.nb.classic.alloc_index).toBe(MAX_MFN_ALLOC - 2);
    fe.vif.ndo_start_xmit(skbOf(h, udpFrame(100)));
    h.sim.run();
    // `if (likely(alloc_index >= nr)) return 0;` — no refill while the pool has enough.
    expect(h.nb.classic.alloc_index).toBe(MAX_MFN_ALLOC - 3);
  });

  it('flip mode: a memory squeeze puts the packet back and retries after HZ (1 s), not before', () => {
    // `WPRINTK("Memory squeeze in netback driver.\n"); mod_timer(&net_timer, jiffies + HZ);
    //  skb_queue_head(&rx_queue, skb); break;`
    const h = makeHost();
    const fe = connected(h, 'guest1', { rxCopy: false });
    postFlip(h, fe, 25);
    const held: number[] = [];
    for (;;) { const m = h.hv.mem.alloc(0, PAGE_RAM); if (m < 0) break; held.push(m); }
    const t0 = h.sim.now;
    fe.vif.ndo_start_xmit(skbOf(h, udpFrame(100)));
    h.sim.run({ until: t0 + 1_000_000 });
    expect(h.nb.classic.rxSqueezes).toBe(1);
    expect(h.nb.classic.rx_queue.length).toBe(1);
    expect(fe.rx.sring.rsp_prod).toBe(0);
    for (const m of held) h.hv.mem.free(m);
    h.sim.run({ until: t0 + 999_999_999 });
    expect(fe.rx.sring.rsp_prod).toBe(0);
    h.sim.run({ until: t0 + 1_001_000_000 });
    expect(responses(fe).map((r) => r.status)).toEqual([100]);
    expect(h.nb.classic.rxSqueezes).toBe(1);
    expect(h.nb.classic.rx_queue.length).toBe(0);
  });

  it('flip mode: a transfer refused by Xen (the entry does not accept it) answers NETIF_RSP_ERROR', () => {
    // netbk_check_gop(): `if (gop->status != 0) { … status = NETIF_RSP_ERROR; }`
    const h = makeHost();
    const fe = connected(h, 'guest1', { rxCopy: false });
    fe.vif.canSg = false;
    fe.vif.gsoMask = 0;
    // A permit-access grant, not GTF_accept_transfer.
    const { pfn } = fe.page();
    const gref = fe.g.gnttab.gnttab_grant_foreign_access(0, fe.g.pfn_to_gfn(pfn), false);
    writeRxRequest(fe.rx.sring.view, RING_GET_REQUEST(fe.rx, 0), 3, gref);
    fe.rx.req_prod_pvt = 1;
    fe.rx.sring.req_prod = 1;
    fe.vif.ndo_start_xmit(skbOf(h, udpFrame(200)));
    h.sim.run();
    expect(responses(fe)).toEqual([{ id: 3, offset: NETBK_COPY_SKB_HEAD_OFFSET, flags: 0, status: NETIF_RSP_ERROR }]);
  });

  it('net_rx_action() wakes a stopped queue once responses free ring space, if the vif is schedulable', () => {
    // `if (netif_queue_stopped(netif->dev) && netif_schedulable(netif) && !netbk_queue_full(netif))
    //    netif_wake_queue(netif->dev);`
    const h = makeHost();
    const fe = connected(h);
    postIds(fe, Array.from({ length: 256 }, (_, i) => i), false, true);
    fe.rx.sring.req_prod = 100000;
    for (let i = 0; i < 237; i++) fe.vif.ndo_start_xmit(skbOf(h, udpFrame(60)));
    // Full by the response-space clause only: stopped until net_rx_action answers.
    expect(fe.vif.txStopped).toBe(true);
    h.sim.run({ until: h.sim.now + 1_000_000 });
    expect(fe.rx.sring.rsp_prod).toBe(237);
    expect(fe.vif.txStopped).toBe(false);
  });
});
