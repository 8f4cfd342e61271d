/**
 * 2.6.18's proto_data_valid end to end: a classic backend flags NETRXF_data_validated only for
 * packets a Xen frontend vouched for, so a classic guest checks the checksum of frames from the
 * wire itself (and must get its receive pages back after pulling them into the linear area).
 */
import { describe, expect, it } from 'vitest';
import { buildRxLabHost, rxWarmUp, rxStream } from '../../src/topo/lab-rx';
import { CHECKSUM_NONE, CHECKSUM_UNNECESSARY } from '../../src/net/skb';

describe('classic netback and proto_data_valid', () => {
  it('frames from the wire reach a classic guest unvalidated (it verifies them), frames from another classic guest validated', () => {
    const host = buildRxLabHost({ guests: [{ name: 'a', design: 'classic' }, { name: 'b', design: 'classic' }] });
    rxWarmUp(host);
    const b = host.guest('b');
    const sock = b.endpoint.socket(7000) ?? b.endpoint.bind(7000);
    const seen: number[] = [];
    sock.onReceive = (_k, skb) => { seen.push(skb.ipSummed); };
    host.external.endpoint.sendUdp(b.ip, 7000, 1472);
    host.runFor(host.ms(1));
    host.guest('a').endpoint.sendUdp(b.ip, 7000, 1472);
    host.runFor(host.ms(1));
    expect(seen).toEqual([CHECKSUM_NONE, CHECKSUM_UNNECESSARY]);
    expect(host.sim.drops.total()).toBe(0);
  });

  it('a classic guest verifying every frame in software keeps receiving far past its rx page pool (linearize gives the pages back)', () => {
    const host = buildRxLabHost({ guests: [{ name: 'g', design: 'classic' }] });
    rxWarmUp(host);
    const q = host.guest('g').netfront.queues[0]!;
    const pool = q.rxPages.free + ((q.rx.req_prod_pvt - q.rx.rsp_cons) >>> 0);
    const s = rxStream(host, { to: 'g', packets: 3 * pool, gapNs: 20_000 });
    host.runFor(host.ms(3 * pool * 0.02 + 5));
    expect(s.latenciesNs).toHaveLength(3 * pool);
    expect(host.sim.drops.total()).toBe(0);
    // Every page is either free or posted again.
    expect(q.rxPages.free + ((q.rx.req_prod_pvt - q.rx.rsp_cons) >>> 0)).toBe(pool);
  });
});
