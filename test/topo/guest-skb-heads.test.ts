import { describe, expect, it } from 'vitest';
import { buildXenHost, type XenHost } from '../../src/topo';
import { grantTableRows } from '../../src/xen/inspect';
import { TX_PENDING } from '../../src/drivers/netfront/constants';

function host(trusted: boolean): XenHost {
  const h = buildXenHost({ guests: [{ name: 'g', params: { 'netfront.trusted': trusted } }] });
  h.external.endpoint.bind(9000);
  h.guest('g').endpoint.sendUdp('10.0.0.100', 9000, 64); // ARP both ways
  h.runFor(h.ms(5));
  return h;
}

/** Sends `n` datagrams and stops as soon as netfront has pushed them; returns the pending tx ids. */
function pushed(h: XenHost, n: number): number[] {
  const g = h.guest('g');
  const q = g.netfront.queues[0]!;
  const prod0 = q.tx.req_prod_pvt;
  for (let i = 0; i < n; i++) g.endpoint.sendUdp('10.0.0.100', 9000, 1472);
  h.sim.run({ until: h.now + h.ms(1), stopWhen: () => q.tx.req_prod_pvt - prod0 >= n });
  const ids: number[] = [];
  for (let id = 0; id < 256; id++) if (q.tx_link[id] === TX_PENDING) ids.push(id);
  return ids;
}

describe('guest skb heads in guest memory (netfront grants the skb page in place)', () => {
  it('each request grants the frame under skb->data, one distinct frame per in-flight skb, no tx pool page', () => {
    const h = host(true);
    const g = h.guest('g');
    const q = g.netfront.queues[0]!;
    const ids = pushed(h, 8);
    expect(ids.length).toBe(8);
    const rows = new Map(grantTableRows(h.hv, g.domid).map((r) => [r.ref, r]));
    const frames = new Set<number>();
    for (const id of ids) {
      const skb = q.tx_skbs[id]!;
      const mfn = g.netfront.xen.gfnOfView(skb.head, skb.data);
      expect(mfn).toBeGreaterThan(0);
      expect(rows.get(q.grant_tx_ref[id]!)!.frame).toBe(mfn);
      expect(q.grant_tx_page[id]).toBe(-1);
      frames.add(mfn);
    }
    expect(frames.size).toBe(8);
    expect(q.txPages.outstanding).toBe(0);
    const sock = h.external.endpoint.socket(9000)!;
    const before = sock.packets;
    h.runFor(h.ms(5));
    expect(sock.packets - before).toBe(8);
    expect(h.sim.drops.total()).toBe(0);
    expect(g.stack.pool.outstanding).toBe(0);
  });

  it('an untrusted backend still gets bounced copies in zeroed tx pool pages, and the bytes delivered are the same', () => {
    const payloads: string[][] = [];
    for (const trusted of [true, false]) {
      const h = host(trusted);
      const g = h.guest('g');
      const q = g.netfront.queues[0]!;
      const got: string[] = [];
      h.external.endpoint.socket(9000)!.onReceive = (_s, skb, off, len) => {
        const b = new Uint8Array(len);
        skb.copyBits(off, b, 0, len);
        got.push(Buffer.from(b).toString('hex'));
      };
      const ids = pushed(h, 3);
      for (const id of ids) {
        const skb = q.tx_skbs[id]!;
        if (trusted) {
          expect(q.grant_tx_page[id]).toBe(-1);
        } else {
          const pfn = q.grant_tx_page[id]!;
          expect(pfn).toBeGreaterThanOrEqual(0);
          const mfn = g.netfront.xen.pfn_to_gfn(pfn);
          expect(mfn).not.toBe(g.netfront.xen.gfnOfView(skb.head, skb.data));
          const page = g.netfront.xen.page(pfn);
          expect(page.subarray(0, skb.data).every((x) => x === 0)).toBe(true); // zeroed around the packet
        }
      }
      h.runFor(h.ms(5));
      expect(got.length).toBe(3);
      if (!trusted) expect(g.netfront.counters.tx_bounce).toBeGreaterThanOrEqual(3);
      payloads.push(got);
    }
    expect(payloads[1]).toEqual(payloads[0]);
  });
});

describe('dom0 skb heads in dom0 frames (netback copies to the guest straight from the frame)', () => {
  it('the external host\'s datagrams reach the guest with the same bytes and no netback staging page', () => {
    const h = buildXenHost({ guests: [{ name: 'g' }] });
    const g = h.guest('g');
    expect(h.dom0.pool.headBuffer).toBe(h.hv.mem.buffer);
    const sock = g.endpoint.bind(7000);
    const got: string[] = [];
    sock.onReceive = (_s, skb, off, len) => {
      const b = new Uint8Array(len);
      skb.copyBits(off, b, 0, len);
      got.push(Buffer.from(b).toString('hex'));
    };
    for (let i = 0; i < 200; i++) {
      h.external.endpoint.sendUdp(g.ip, 7000, 1472 - (i % 7));
      if (i % 16 === 15) h.runFor(h.us(200));
    }
    h.runFor(h.ms(20));
    expect(got.length).toBe(200);
    expect(got.map((x) => x.length / 2)).toEqual(Array.from({ length: 200 }, (_, i) => 1472 - (i % 7)));
    // the payload is the sender's pattern: the same bytes for the same size
    expect(got[7]).toBe(got[0]);
    expect(h.sim.drops.total()).toBe(0);
    const q = g.vif.queues[0]!;
    expect(Array.from(q.rxStageMfn).every((m) => m < 0)).toBe(true);
  });
});

describe('modern netback copies a guest packet\'s header straight into skb->data (a dom0 frame)', () => {
  it('the staging spots stay unused and the external host still gets every datagram', () => {
    const h = host(true);
    const g = h.guest('g');
    const sock = h.external.endpoint.socket(9000)!;
    const before = sock.packets;
    for (let i = 0; i < 100; i++) {
      g.endpoint.sendUdp('10.0.0.100', 9000, 1472 - (i % 50));
      if (i % 16 === 15) h.runFor(h.us(200));
    }
    h.runFor(h.ms(10));
    expect(sock.packets - before).toBe(100);
    expect(h.sim.drops.total()).toBe(0);
    const q = g.vif.queues[0]!;
    expect(q.landSmall.length).toBeGreaterThan(0);
    for (const mfn of [...q.landSmall, ...q.landBig]) expect(h.hv.mem.page(mfn).every((b) => b === 0)).toBe(true);
  });
});
