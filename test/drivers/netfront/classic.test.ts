/**
 * The 2.6.18 netfront (`netfront.design` 'classic') where it differs from Linux's: its stop
 * threshold (TX_MAX_TARGET − MAX_SKB_FRAGS − 2 = 236), network_start_xmit's "rides the rocket"
 * drop instead of skb_linearize (and no bounce), MAX_SKB_FRAGS 18 on receive, and no
 * checksum_setup on receive (the flags alone, proto_data_valid / proto_csum_blank).
 * bronson/linux-2.6.18.8-ovz-xen drivers/xen/netfront/netfront.c.
 */
import { describe, expect, it } from 'vitest';
import { CHECKSUM_UNNECESSARY, SKB_GSO_TCPV4 } from '../../../src/net/skb';
import { NETDEV_TX_OK } from '../../../src/net/netdevice';
import { NETRXF_csum_blank, NETRXF_extra_info, XEN_NETIF_GSO_TYPE_TCPV4 } from '../../../src/io/netif';
import { xennet_count_skb_slots } from '../../../src/drivers/netfront/tx';
import { DEFAULT_FEATURES, linearSkb, makeRig, run, rxChain, tcpFrame, type Rig } from './backend';
import { grantTableRows } from '../../../src/xen/inspect';

const classic = (): Rig => makeRig({ params: { 'netfront.design': 'classic' } });
const modern = (): Rig => makeRig();

describe('classic netfront transmit', () => {
  it('stops its queue at 236 outstanding requests (modern: 237)', () => {
    for (const [rig, at] of [[classic, 236], [modern, 237]] as const) {
      const r = rig();
      const q = r.np.queues[0]!;
      while (!r.np.netdev.txStopped) r.np.netdev.ndo_start_xmit(linearSkb(r.pool, 60));
      expect(q.txOutstanding).toBe(at);
    }
  });

  it('a 20-slot skb "rides the rocket": dropped (tx_rocket), never linearised; 19 slots go as they are', () => {
    const r = classic();
    // 100 linear bytes and 18 frags of 200 bytes; `cross` puts the first across a page boundary.
    const skbOf = (cross: boolean): ReturnType<typeof linearSkb> => {
      const skb = linearSkb(r.pool, 100, 1);
      const page = new Uint8Array(4096 * 20);
      for (let k = 0; k < 18; k++) skb.addFrag(page, k * 4096 + (cross && k === 0 ? 4000 : 0), 200, 18);
      return skb;
    };
    const big = skbOf(true);
    expect(xennet_count_skb_slots(big)).toBe(20);
    expect(r.np.netdev.ndo_start_xmit(big)).toBe(NETDEV_TX_OK);
    expect(r.sim.drops.total({ reason: 'tx_rocket' })).toBe(1);
    expect(r.np.counters.tx_linearize).toBe(0);
    const ok = skbOf(false);
    expect(xennet_count_skb_slots(ok)).toBe(19);
    r.np.netdev.ndo_start_xmit(ok);
    expect(r.be.readTxPacket()!.reqs.length).toBe(19);
  });

  it('linear data starting fewer than ETH_HLEN bytes before its page end is sent as it is (no bounce in 2.6.18)', () => {
    const r = classic();
    const skb = r.pool.alloc();
    skb.data = 4090;
    skb.put(300);
    r.np.netdev.ndo_start_xmit(skb);
    expect(r.np.counters.tx_bounce).toBe(0);
    expect(r.be.readTxPacket()!.reqs.map((q) => q.size)).toEqual([300, 294]);
  });
});

describe('classic netfront receive', () => {
  it('18 slots, the first 1000 bytes: delivered with 18 frags (MAX_SKB_FRAGS 18); modern refuses them (rx_too_many_frags)', () => {
    const c = classic();
    const f = rxChain(c, 18, 1000);
    c.be.pushRx();
    run(c);
    expect(c.received.length).toBe(1);
    expect(Array.from(c.received[0]!.bytes)).toEqual(Array.from(f));
    expect(c.received[0]!.skb.nrFrags).toBe(18);
    const m = modern();
    rxChain(m, 18, 1000);
    m.be.pushRx();
    run(m);
    expect(m.sim.drops.total({ reason: 'rx_too_many_frags' })).toBe(1);
  });

  it('no checksum_setup: a GSO packet without csum_blank stays CHECKSUM_NONE, csum_blank gives CHECKSUM_UNNECESSARY, and a fragment with csum_blank is delivered', () => {
    const r = classic();
    r.be.rxSlot(tcpFrame(1000), NETRXF_extra_info);
    r.be.rxGsoExtra(500, XEN_NETIF_GSO_TYPE_TCPV4);
    const frag = tcpFrame(300);
    frag[20] = 0x20; // MF: skb_checksum_setup would refuse it
    r.be.rxSlot(frag, NETRXF_csum_blank);
    r.be.pushRx();
    run(r);
    expect(r.received.map((x) => [x.skb.ipSummed, x.skb.gsoType])).toEqual([[0, SKB_GSO_TCPV4 | 2], [CHECKSUM_UNNECESSARY, 0]]);
    expect(r.np.counters.rx_gso_checksum_fixup).toBe(0);
    expect(r.np.netdev.stats.rx_errors).toBe(0);
  });
});

describe('classic netfront page flipping: an unfulfilled request', () => {
  it('a response with nothing transferred: the revoked transfer grant is re-posted as it is (entry cleared), so that slot stays unfulfilled', () => {
    const r = makeRig({ params: { 'netfront.design': 'classic', 'netfront.rx_mode': 'flip' }, features: { ...DEFAULT_FEATURES, 'feature-rx-flip': '1' } });
    expect(r.np.copyingReceiver).toBe(false);
    const gref = r.be.rxSlot(tcpFrame(100), 0, { noCopy: true });
    expect(grantTableRows(r.hv, r.np.xen.domid, true)[gref]!.flags).not.toBe(0); // GTF_accept_transfer
    r.be.pushRx();
    run(r);
    expect(r.received.length).toBe(0);
    expect(r.sim.drops.total({ reason: 'rx_unfulfilled' })).toBe(1);
    // gnttab_end_foreign_transfer_ref cleared the entry; xennet_move_rx_slot re-posts the same ref.
    expect(grantTableRows(r.hv, r.np.xen.domid, true)[gref]!.flags).toBe(0);
  });
});
