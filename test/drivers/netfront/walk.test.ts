import { describe, expect, it } from 'vitest';
import { linearSkb, makeRig, run } from './backend';

describe('netfront packet walk', () => {
  it('pkt.step lists the transmit steps in order, then the completion in the tx interrupt', () => {
    const r = makeRig();
    const rec = r.sim.trace.record('pkt.step');
    const push = r.sim.trace.record('netfront.tx.push');
    const skb = linearSkb(r.pool, 1500);
    const id = skb.id;
    r.np.netdev.ndo_start_xmit(skb);
    expect(r.np.queues[0]!.txSlotPkt[0]).toBe(id);
    run(r);
    const p = r.be.readTxPacket()!;
    r.be.respond(p);
    r.be.pushTx();
    run(r);
    const fns = rec.records.filter((x) => x.pkt === id).map((x) => x.fn);
    expect(fns).toEqual([
      'xennet_start_xmit', 'gnttab_grant_foreign_access_ref', 'xennet_mark_tx_pending',
      'RING_PUSH_REQUESTS_AND_CHECK_NOTIFY', 'notify_remote_via_irq',
      'xennet_tx_interrupt', 'gnttab_end_foreign_access_ref', 'xennet_tx_buf_gc',
    ]);
    expect(push.records[0]).toMatchObject({ prod: 1, notify: true, slots: 1 });
    expect(rec.records.every((x) => x.lane === 'domU' && x.dom === 1)).toBe(true);
  });

  it('the 2.6.18 netfront (design classic) walks as network_start_xmit … netif_int → network_tx_buf_gc', () => {
    // netfront.c (2.6.18): network_start_xmit grants the slot, RING_PUSH_REQUESTS_AND_CHECK_NOTIFY,
    // notify_remote_via_irq; netif_int → network_tx_buf_gc: gnttab_end_foreign_access_ref,
    // dev_kfree_skb_irq. No xennet_mark_tx_pending there.
    const r = makeRig({ params: { 'netfront.design': 'classic' } });
    expect(r.np.classic).toBe(true);
    const rec = r.sim.trace.record('pkt.step');
    const skb = linearSkb(r.pool, 1500);
    const id = skb.id;
    r.np.netdev.ndo_start_xmit(skb);
    run(r);
    const p = r.be.readTxPacket()!;
    r.be.respond(p);
    r.be.pushTx();
    run(r);
    const mine = rec.records.filter((x) => x.pkt === id);
    expect(mine.map((x) => x.fn)).toEqual([
      'network_start_xmit', 'gnttab_grant_foreign_access_ref',
      'RING_PUSH_REQUESTS_AND_CHECK_NOTIFY', 'notify_remote_via_irq',
      'netif_int', 'gnttab_end_foreign_access_ref', 'network_tx_buf_gc',
    ]);
    expect(mine[4]!.detail).toMatch(/^network_tx_buf_gc: /);
    expect(mine[6]!.detail).toBe('dev_kfree_skb_irq');
    expect(rec.records.every((x) => x.lane === 'domU' && x.dom === 1)).toBe(true);
  });

  it('the 2.6.18 netfront drops under network_start_xmit', () => {
    const r = makeRig({ params: { 'netfront.design': 'classic' } });
    const rec = r.sim.trace.record('pkt.step');
    r.np.netdev.carrier = false;
    const skb = linearSkb(r.pool, 1500);
    const id = skb.id;
    r.np.netdev.ndo_start_xmit(skb);
    const mine = rec.records.filter((x) => x.pkt === id);
    expect(mine.map((x) => [x.fn, x.detail])).toEqual([['network_start_xmit', 'drop tx_carrier_off']]);
  });

  it('guest CPU is charged per step and the notification leaves when that work is done', () => {
    const r = makeRig();
    const sends = r.sim.trace.record('xen.evtchn.send');
    const cpu = r.np.cpu;
    const before = cpu.busyNs;
    const t0 = r.sim.now;
    r.np.netdev.ndo_start_xmit(linearSkb(r.pool, 1500));
    run(r);
    const p = r.np.p;
    expect(cpu.busyNs - before).toBeGreaterThanOrEqual(p.start_xmit_ns + p.tx_slot_ns);
    expect(sends.records[0]!.t).toBe(t0 + p.start_xmit_ns + p.tx_slot_ns);
  });
});
