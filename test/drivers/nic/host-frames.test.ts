import { describe, expect, it } from 'vitest';
import { Simulator } from '../../../src/sim';
import { EthernetLink } from '../../../src/net/link';
import { NetStack } from '../../../src/net/stack';
import { IpEndpoint } from '../../../src/net/endpoint';
import { SkbPool, SKB_LINEAR_CAPACITY } from '../../../src/net/skb';
import { IxgbeNic } from '../../../src/drivers/nic/ixgbe';

/**
 * Two NICs on a wire; host b's skb pool (optionally) takes its heads from one "host memory"
 * buffer. a sends `n` datagrams to b, b sends `n` back; returns what b and a received.
 */
function run(withFrames: boolean, rounds: number[]) {
  const sim = new Simulator({ seed: 1 });
  const mem = new ArrayBuffer(2048 * SKB_LINEAR_CAPACITY);
  let calls = 0;
  let next = 0;
  const bp = new SkbPool();
  if (withFrames) {
    bp.setHeads(() => {
      calls++;
      return next < 2048 ? new Uint8Array(mem, SKB_LINEAR_CAPACITY * next++, SKB_LINEAR_CAPACITY) : null;
    });
  }
  const a = new NetStack(sim, { name: 'a', domid: -1, pool: new SkbPool() });
  const b = new NetStack(sim, { name: 'b', domid: -1, pool: bp });
  const na = new IxgbeNic(a, { name: 'eth0', mac: '02:00:00:00:00:0a' });
  const nb = new IxgbeNic(b, { name: 'eth0', mac: '02:00:00:00:00:0b' });
  const ea = new IpEndpoint(a, na, { ip: '10.0.0.10', neighbours: { '10.0.0.11': '02:00:00:00:00:0b' } });
  const eb = new IpEndpoint(b, nb, { ip: '10.0.0.11', neighbours: { '10.0.0.10': '02:00:00:00:00:0a' } });
  const wire = new EthernetLink(sim, { name: 'wire0' });
  na.attachLink(wire, 0);
  nb.attachLink(wire, 1);
  const atB: string[] = [];
  const atA: string[] = [];
  let inFrames = 0;
  const sb = eb.bind(9000);
  sb.onReceive = (_s, skb, off, len) => {
    if (skb.head.buffer === mem) inFrames++;
    const x = new Uint8Array(len);
    skb.copyBits(off, x, 0, len);
    atB.push(Buffer.from(x).toString('hex'));
  };
  ea.bind(9000).onReceive = (_s, skb, off, len) => {
    const x = new Uint8Array(len);
    skb.copyBits(off, x, 0, len);
    atA.push(Buffer.from(x).toString('hex'));
  };
  const callsAfter: number[] = [];
  for (const n of rounds) {
    for (let i = 0; i < n; i++) {
      ea.sendUdp('10.0.0.11', 9000, 1000 + (i % 400));
      eb.sendUdp('10.0.0.10', 9000, 1200 + (i % 200));
      if (i % 32 === 31) sim.run({ until: sim.now + 200_000 });
    }
    sim.run({ until: sim.now + 5_000_000 });
    callsAfter.push(calls);
  }
  return { atA, atB, inFrames, callsAfter, drops: sim.drops.total(), outstanding: [a.pool.outstanding, bp.outstanding] };
}

describe('ixgbe keeps its stack’s buffers in the pool’s memory (host frames) across wire buffer swaps', () => {
  it('every frame b receives sits in the pool’s memory, the bytes are those of a run without it, and frames are allocated only during warm-up', () => {
    const plain = run(false, [300, 300, 300, 300]);
    const framed = run(true, [300, 300, 300, 300]);
    expect(plain.atB.length).toBe(1200);
    expect(framed.atB).toEqual(plain.atB);
    expect(framed.atA).toEqual(plain.atA);
    expect(framed.inFrames).toBe(1200);
    expect(plain.inFrames).toBe(0);
    // Each foreign buffer (the wire's, a's ring and skbs) is replaced once; after that buffers
    // only change hands (a's rx ring turns over slowly, hence the rounds of warm-up).
    expect(framed.callsAfter[0]).toBeGreaterThan(0);
    expect(framed.callsAfter[3]).toBe(framed.callsAfter[2]);
    expect(framed.callsAfter[3]).toBeLessThan(2048);
    expect(framed.drops).toBe(0);
    expect(framed.outstanding).toEqual([0, 0]);
  });
});
