/**
 * netfront transmit checked line by line against Linux drivers/net/xen-netfront.c
 * (xennet_start_xmit, xennet_count_skb_slots, bounce_skb, xennet_tx_buf_gc). Each case names the
 * source behaviour it pins.
 */
import { describe, expect, it } from 'vitest';
import { CHECKSUM_NONE, CHECKSUM_PARTIAL, CHECKSUM_UNNECESSARY, SKB_GSO_DODGY, SKB_GSO_TCP_ECN, SKB_GSO_TCPV4, SKB_GSO_TCPV6 } from '../../../src/net/skb';
import { NETDEV_TX_BUSY, NETDEV_TX_OK } from '../../../src/net/netdevice';
import { NETIF_RSP_DROPPED, NETIF_RSP_ERROR } from '../../../src/io/netif';
import { xennet_count_skb_slots } from '../../../src/drivers/netfront/tx';
import { DEFAULT_FEATURES, linearSkb, makeRig, run } from './backend';

describe('xennet_start_xmit(): request flags', () => {
  it('tx flag bits are swapped against rx: CHECKSUM_PARTIAL = raw 0x0003, CHECKSUM_UNNECESSARY = raw 0x0002 (data_validated is tx bit 1)', () => {
    const r = makeRig();
    const a = linearSkb(r.pool, 200, 1);
    a.ipSummed = CHECKSUM_PARTIAL;
    const b = linearSkb(r.pool, 200, 2);
    b.ipSummed = CHECKSUM_UNNECESSARY;
    r.np.netdev.ndo_start_xmit(a);
    r.np.netdev.ndo_start_xmit(b);
    expect(r.be.readTxPacket()!.reqs[0]!.flags).toBe(0x0003);
    expect(r.be.readTxPacket()!.reqs[0]!.flags).toBe(0x0002);
  });

  it('the GSO extra says TCPV6 whenever SKB_GSO_TCPV6 is set (netback rx tests TCPV4 first); the first request gets extra_info (raw 0x0008)', () => {
    const r = makeRig();
    const skb = linearSkb(r.pool, 3000, 3);
    skb.gsoSize = 1400;
    skb.gsoType = SKB_GSO_TCPV4 | SKB_GSO_TCPV6;
    skb.ipSummed = CHECKSUM_PARTIAL;
    r.np.netdev.ndo_start_xmit(skb);
    const p = r.be.readTxPacket()!;
    expect(p.extras.map((e) => [e.type, e.flags, e.gso?.size, e.gso?.type])).toEqual([[1, 0, 1400, 2]]);
    expect(p.reqs[0]!.flags & 0x0008).toBe(0x0008);
    expect(p.slots[1]!.kind).toBe('extra');
  });
});

describe('xennet_start_xmit(): drops, linearize, bounce', () => {
  it('more than MAX_XEN_SKB_FRAGS + 1 (18) slots: the skb is linearized and its 3500 bytes go in one slot', () => {
    const r = makeRig();
    const skb = linearSkb(r.pool, 100, 4);
    // 17 frags of 200 bytes, each straddling a page boundary: 2 slots each.
    const buf = new Uint8Array(18 * 4096);
    for (let i = 0; i < buf.length; i++) buf[i] = (i * 11) & 255;
    for (let k = 0; k < 17; k++) skb.addFrag(buf, k * 4096 + 4000, 200);
    expect(xennet_count_skb_slots(skb)).toBe(1 + 34);
    const want = new Uint8Array(skb.len);
    skb.copyBits(0, want, 0, skb.len);
    r.np.netdev.ndo_start_xmit(skb);
    expect(r.np.counters.tx_linearize).toBe(1);
    const p = r.be.readTxPacket()!;
    expect(p.reqs.length).toBe(1);
    expect(p.reqs[0]!.size).toBe(3500);
    expect(Array.from(p.data)).toEqual(Array.from(want));
  });

  it('linear data starting fewer than ETH_HLEN bytes before its page end is bounced (so the first slot holds the Ethernet header)', () => {
    const r = makeRig();
    const skb = r.pool.alloc();
    skb.data = 4090;
    const at = skb.put(300);
    for (let i = 0; i < 300; i++) skb.head[at + i] = (i * 3) & 255;
    r.np.netdev.ndo_start_xmit(skb);
    expect(r.np.counters.tx_bounce).toBe(1);
    const p = r.be.readTxPacket()!;
    expect(p.reqs.length).toBe(1);
    expect(p.reqs[0]!.size).toBe(300);
    expect(4096 - p.reqs[0]!.offset).toBeGreaterThanOrEqual(14);
  });

  it('an untrusted backend gets every skb bounced', () => {
    const r = makeRig({ trusted: false });
    r.np.netdev.ndo_start_xmit(linearSkb(r.pool, 300, 5));
    r.np.netdev.ndo_start_xmit(linearSkb(r.pool, 300, 6));
    expect(r.np.counters.tx_bounce).toBe(2);
  });

  it('drops in Linux\'s order: len > 65535 (tx_too_big); several slots without feature-sg (tx_no_sg); GSO the backend cannot take (tx_needs_gso)', () => {
    const big = makeRig();
    const s = linearSkb(big.pool, 100, 1);
    const buf = new Uint8Array(70000);
    s.addFrag(buf, 0, 66000);
    big.np.netdev.ndo_start_xmit(s);
    expect(big.sim.drops.total({ reason: 'tx_too_big' })).toBe(1);
    const nosg = makeRig({ features: { ...DEFAULT_FEATURES, 'feature-sg': '0', 'feature-gso-tcpv4': '0', 'feature-gso-tcpv6': '0' } });
    const two = linearSkb(nosg.pool, 100, 2);
    two.addFrag(new Uint8Array(4096), 0, 500);
    nosg.np.netdev.ndo_start_xmit(two);
    expect(nosg.sim.drops.total({ reason: 'tx_no_sg' })).toBe(1);
    const g = linearSkb(nosg.pool, 1000, 3);
    g.gsoSize = 500;
    g.gsoType = SKB_GSO_TCPV4;
    nosg.np.netdev.ndo_start_xmit(g);
    expect(nosg.sim.drops.total({ reason: 'tx_needs_gso' })).toBe(1);
    expect(nosg.np.netdev.stats.tx_dropped).toBe(2);
    expect(nosg.be.txPending).toBe(0);
  });
});

describe('xennet_start_xmit(): a stopped queue ignored, and the skb that must be copied', () => {
  /** Fills the ring (the backend never answers) until `free` request slots are left. */
  function fillTo(r: ReturnType<typeof makeRig>, free: number): void {
    const q = r.np.queues[0]!;
    const unconsumed = (): number => (q.tx.req_prod_pvt - q.tx.rsp_cons) >>> 0;
    while (256 - unconsumed() > free) r.np.netdev.ndo_start_xmit(linearSkb(r.pool, 60));
    expect(256 - unconsumed()).toBe(free);
  }

  /** 100 linear bytes and 17 frags of 200 bytes, each across a page boundary: 35 slots. */
  function rocket(r: ReturnType<typeof makeRig>): ReturnType<typeof linearSkb> {
    const skb = linearSkb(r.pool, 100, 9);
    const buf = new Uint8Array(18 * 4096);
    for (let k = 0; k < 17; k++) skb.addFrag(buf, k * 4096 + 4000, 200);
    expect(xennet_count_skb_slots(skb)).toBe(35);
    return skb;
  }

  it('a 35-slot skb with 24 slots free is linearised and sent (Linux has no TX_BUSY; the linear copy takes one slot)', () => {
    const r = makeRig();
    fillTo(r, 24);
    r.np.netdev.txStopped = false; // 24 free: the queue runs in Linux too (it stops below 19)
    expect(r.np.netdev.ndo_start_xmit(rocket(r))).toBe(NETDEV_TX_OK);
    expect(r.np.counters.tx_linearize).toBe(1);
  });

  it('TX_BUSY is decided before linearising or bouncing: the caller still owns its skb, untouched, and can send it later', () => {
    for (const bounce of [false, true]) {
      const r = makeRig();
      fillTo(r, 2);
      r.np.bounce = bounce; // as for an untrusted backend: every skb is copied to a fresh page
      const skb = bounce ? linearSkb(r.pool, 300, 7) : rocket(r);
      const len = skb.len;
      const allocated = r.pool.allocated;
      expect(r.np.netdev.ndo_start_xmit(skb)).toBe(NETDEV_TX_BUSY);
      expect([skb.len, skb.inPool, r.pool.allocated]).toEqual([len, false, allocated]);
      expect([r.np.counters.tx_linearize, r.np.counters.tx_bounce]).toEqual([0, 0]);
    }
  });

  it('netif_needs_gso(): a GSO skb whose checksum is neither PARTIAL nor UNNECESSARY, or with a gso_type bit netfront lacks (TCP_ECN), is dropped as tx_needs_gso; DODGY (NETIF_F_GSO_ROBUST) is taken', () => {
    const r = makeRig();
    const gso = (type: number, summed: number): ReturnType<typeof linearSkb> => {
      const skb = linearSkb(r.pool, 3000);
      skb.gsoSize = 1448; skb.gsoType = type; skb.ipSummed = summed;
      return skb;
    };
    r.np.netdev.ndo_start_xmit(gso(SKB_GSO_TCPV4, CHECKSUM_NONE));
    r.np.netdev.ndo_start_xmit(gso(SKB_GSO_TCPV4 | SKB_GSO_TCP_ECN, CHECKSUM_PARTIAL));
    expect(r.sim.drops.total({ reason: 'tx_needs_gso' })).toBe(2);
    r.np.netdev.ndo_start_xmit(gso(SKB_GSO_TCPV4, CHECKSUM_UNNECESSARY));
    r.np.netdev.ndo_start_xmit(gso(SKB_GSO_TCPV6 | SKB_GSO_DODGY, CHECKSUM_PARTIAL));
    expect(r.sim.drops.total({ reason: 'tx_needs_gso' })).toBe(2);
    expect(r.be.readTxPacket()!.extras[0]!.gso?.type).toBe(1);
    expect(r.be.readTxPacket()!.extras[0]!.gso?.type).toBe(2);
  });
});

describe('xennet_tx_buf_gc()', () => {
  it('ERROR and DROPPED responses are not acted upon: the skb, ids and grants are released as for OKAY, the device is fine', () => {
    const r = makeRig();
    const before = r.pool.outstanding;
    r.np.netdev.ndo_start_xmit(linearSkb(r.pool, 100, 1));
    r.np.netdev.ndo_start_xmit(linearSkb(r.pool, 100, 2));
    const a = r.be.readTxPacket()!;
    const b = r.be.readTxPacket()!;
    r.be.respond(a, NETIF_RSP_ERROR);
    r.be.respond(b, NETIF_RSP_DROPPED);
    r.be.pushTx();
    run(r);
    expect(r.np.broken).toBe(false);
    expect(r.pool.outstanding).toBe(before);
    expect(r.np.queues[0]!.txOutstanding).toBe(0);
  });

  it('a NULL response (the GSO extra\'s slot) is skipped, not taken for id 0', () => {
    const r = makeRig();
    const skb = linearSkb(r.pool, 3000, 3);
    skb.gsoSize = 1400;
    skb.gsoType = SKB_GSO_TCPV4;
    skb.ipSummed = CHECKSUM_PARTIAL;
    r.np.netdev.ndo_start_xmit(skb);
    const p = r.be.readTxPacket()!;
    r.be.respond(p);
    r.be.pushTx();
    run(r);
    expect(r.np.broken).toBe(false);
    expect(r.np.queues[0]!.tx.rsp_cons).toBe(2);
  });
});
