/**
 * The wire's sum token (src/net/link.ts `l4SumToken`): the sending MAC passes on the sum of the
 * L4 segment it just checksummed, the receiving MAC's checksum check uses it instead of summing
 * the segment again. It must never change an answer.
 */
import { describe, expect, it } from 'vitest';
import { Simulator } from '../../../src/sim';
import { Params } from '../../../src/params';
import { EthernetLink, l4SumToken, sumTokenEnd, sumTokenFold, sumTokenStart, type LinkEndpoint } from '../../../src/net/link';
import { ExternalHost } from '../../../src/drivers/nic/host';
import { l4ChecksumStatus } from '../../../src/drivers/nic/ixgbe';
import { buildTcpFrame, buildUdpFrame } from '../../../src/wire/build';
import { MacAddr, Ipv4Addr } from '../../../src/wire/address';
import { csum_partial, foldSum } from '../../../src/wire/checksum';
import { CHECKSUM_PARTIAL } from '../../../src/net/skb';

const MAC_A = '02:00:00:00:00:0a';
const MAC_B = '02:00:00:00:00:0b';
const SPEC = {
  srcMac: MacAddr.parse(MAC_A), dstMac: MacAddr.parse(MAC_B), srcIp: Ipv4Addr.parse('10.0.0.10'), dstIp: Ipv4Addr.parse('10.0.0.11'),
  srcPort: 9, dstPort: 9,
};

/** A deterministic byte pattern (no Math.random in tests either: failures must replay). */
function pattern(n: number, k: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = 0x9e3779b9 ^ k;
  for (let i = 0; i < n; i++) {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    b[i] = x & 0xff;
  }
  return b;
}

/** The far end of a link that records each frame's bytes and token. */
class Recorder implements LinkEndpoint {
  readonly name = 'recorder';
  readonly frames: { bytes: Uint8Array; token: number }[] = [];
  linkRx(buf: Uint8Array, off: number, len: number, _pkt: number, _bornAt: number, sumToken: number): Uint8Array {
    this.frames.push({ bytes: buf.slice(off, off + len), token: sumToken });
    return buf;
  }
}

describe('the wire sum token', () => {
  it('packs a range and a folded sum into one number and back; out-of-range input gives -1', () => {
    const t = l4SumToken(34, 1514, 0xbeef);
    expect([sumTokenStart(t), sumTokenEnd(t), sumTokenFold(t)]).toEqual([34, 1514, 0xbeef]);
    expect(sumTokenEnd(l4SumToken(0, 0xffff, 0xffff))).toBe(0xffff);
    expect(l4SumToken(-1, 10, 0)).toBe(-1);
    expect(l4SumToken(40, 30, 0)).toBe(-1);
    expect(l4SumToken(0, 0x10000, 0)).toBe(-1);
    expect(l4SumToken(0, 10, 0x10000)).toBe(-1);
  });

  it('an ixgbe that finishes a CHECKSUM_PARTIAL checksum sends the exact sum of the segment as written, linear or from frags, UDP or TCP', () => {
    const params = Params.defaults();
    const sim = new Simulator({ seed: 1 });
    const a = new ExternalHost(sim, { name: 'hostA', mac: MAC_A, ip: '10.0.0.10', params, neighbours: { '10.0.0.11': MAC_B } });
    const wire = new EthernetLink(sim, { name: 'wire0', params });
    a.plug(wire, 0);
    const rec = new Recorder();
    wire.attach(1, rec);
    const sizes = [0, 1, 17, 18, 63, 1000, 1471, 1472];
    sizes.forEach((n, k) => {
      const tcp = k % 3 === 2;
      const f = tcp
        ? buildTcpFrame({ ...SPEC, payload: pattern(n, k), seq: k, flags: 0x18, checksum: 'partial' })
        : buildUdpFrame({ ...SPEC, payload: pattern(n, k), checksum: 'partial' });
      const skb = a.stack.pool.alloc();
      if (k % 2 === 0) {
        skb.head.set(f, skb.put(f.length));
      } else {
        // header in the linear area, the rest in a page fragment (the DMA gathers them)
        const h = Math.min(54, f.length);
        skb.head.set(f.subarray(0, h), skb.put(h));
        if (f.length > h) skb.addFrag(f.slice(h), 0, f.length - h);
      }
      skb.ipSummed = CHECKSUM_PARTIAL;
      skb.csumStart = 34;
      skb.csumOffset = tcp ? 16 : 6;
      a.stack.dev_queue_xmit(skb, a.nic);
    });
    sim.run();
    expect(rec.frames.length).toBe(sizes.length);
    rec.frames.forEach(({ bytes, token }, k) => {
      const len = 34 + (k % 3 === 2 ? 20 : 8) + sizes[k]!;
      expect(token).toBeGreaterThanOrEqual(0);
      expect([sumTokenStart(token), sumTokenEnd(token)]).toEqual([34, len]);
      expect(sumTokenFold(token)).toBe(foldSum(csum_partial(bytes, 34, len, 0)));
      expect(l4ChecksumStatus(bytes, 0, bytes.length, token)).toBe(1);
      expect(l4ChecksumStatus(bytes, 0, bytes.length)).toBe(1);
    });
  });

  it('l4ChecksumStatus() answers the same with a true token as without one, for good and corrupted frames', () => {
    for (let k = 0; k < 200; k++) {
      const n = (k * 37) % 1473;
      const f = k % 2 === 0
        ? buildUdpFrame({ ...SPEC, payload: pattern(n, k) })
        : buildTcpFrame({ ...SPEC, payload: pattern(n, k), seq: k, flags: 0x10 });
      if (k % 3 === 0 && f.length > 42) f[34 + 8 + ((k * 11) % (f.length - 42))] ^= 1 << (k % 8); // a flipped bit after the checksum was made
      const l4End = f.length;
      const token = l4SumToken(34, l4End, foldSum(csum_partial(f, 34, l4End, 0)));
      expect(l4ChecksumStatus(f, 0, f.length, token)).toBe(l4ChecksumStatus(f, 0, f.length));
    }
  });

  it('a token for the segment is used (a wrong sum gives a wrong answer); one for another range is ignored', () => {
    const f = buildUdpFrame({ ...SPEC, payload: pattern(100, 1) });
    const good = foldSum(csum_partial(f, 34, f.length, 0));
    expect(l4ChecksumStatus(f, 0, f.length, l4SumToken(34, f.length, good))).toBe(1);
    // the same range with another sum: the check believes the token (so it is not summing again)
    expect(l4ChecksumStatus(f, 0, f.length, l4SumToken(34, f.length, good ^ 0x0100))).toBe(0);
    // another range: not this segment's sum, so the segment is summed and verifies
    expect(l4ChecksumStatus(f, 0, f.length, l4SumToken(36, f.length, good ^ 0x0100))).toBe(1);
    expect(l4ChecksumStatus(f, 0, f.length, l4SumToken(34, f.length - 2, good ^ 0x0100))).toBe(1);
  });

  it('frames whose checksum the sender computed in software carry no token, and a bad one is still caught (rx_csum_bad)', () => {
    const params = Params.defaults();
    const sim = new Simulator({ seed: 1 });
    const a = new ExternalHost(sim, { name: 'hostA', mac: MAC_A, ip: '10.0.0.10', params, neighbours: { '10.0.0.11': MAC_B } });
    const b = new ExternalHost(sim, { name: 'hostB', mac: MAC_B, ip: '10.0.0.11', params, neighbours: { '10.0.0.10': MAC_A } });
    const wire = new EthernetLink(sim, { name: 'wire0', params });
    a.plug(wire, 0);
    b.plug(wire, 1);
    const f = buildUdpFrame({ ...SPEC, payload: pattern(200, 3) });
    f[100] ^= 0x40; // after the (software) checksum: the receiving MAC must see it
    const skb = a.stack.pool.alloc();
    skb.head.set(f, skb.put(f.length));
    a.stack.dev_queue_xmit(skb, a.nic);
    sim.run();
    expect(b.nic.counters.rx_csum_bad).toBe(1);
    expect(b.nic.counters.rx_csum_good).toBe(0);
  });
});
