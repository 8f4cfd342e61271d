import { describe, expect, it } from 'vitest';
import { dev_gro_receive, napi_gro_flush, GroLists, MAX_GRO_SKBS, type GroFlushReason, type GroStack } from '../../src/net/gro';
import {
  CHECKSUM_NONE, CHECKSUM_PARTIAL, CHECKSUM_UNNECESSARY, SKB_GSO_TCP_FIXEDID, SKB_GSO_TCPV4, SkbPool, type SkBuff,
} from '../../src/net/skb';
import { buildTcpFrame, buildUdpFrame, type TcpFrameSpec } from '../../src/wire/build';
import { csum_fold, csum_partial, foldSum, pseudoHeaderSumAt } from '../../src/wire/checksum';
import { tsoLayout, tsoSegment, type TsoLayout } from '../../src/net/gso';

const MSS = 1448;
const DEV = { name: 'eth0' };

/** A stack double: what GRO hands up, at a settable jiffy. */
class Up implements GroStack {
  readonly got: SkBuff[] = [];
  readonly why: string[] = [];
  jiffy = 0;
  groComplete(_skb: SkBuff, _segs: number, why: GroFlushReason): void {
    this.why.push(why);
  }
  netif_receive_skb(skb: SkBuff): void {
    this.got.push(skb);
  }
  jiffies(): number {
    return this.jiffy;
  }
}

function seg(pool: SkbPool, o: Partial<TcpFrameSpec> & { i: number }): SkBuff {
  const payload = new Uint8Array(o.payloadLength ?? MSS);
  for (let k = 0; k < payload.length; k++) payload[k] = (o.i * 7 + k) & 0xff;
  const frame = buildTcpFrame({
    srcMac: '02:00:00:00:00:01', dstMac: '02:00:00:00:00:02', srcIp: '10.0.0.1', dstIp: '10.0.0.2',
    srcPort: 40000, dstPort: 5001, seq: 1000 + o.i * MSS, ack: 1, flags: 0x010, ipId: 100 + o.i, dontFrag: true,
    payload, ...o,
  });
  const skb = pool.alloc();
  const at = skb.put(frame.length); // put may give the skb a bigger head: read skb.head after it
  skb.head.set(frame, at);
  skb.dev = DEV;
  skb.ipSummed = CHECKSUM_UNNECESSARY; // the NIC verified it
  return skb;
}

function bytes(skb: SkBuff): Uint8Array {
  const out = new Uint8Array(skb.len);
  skb.copyBits(0, out, 0, skb.len);
  return out;
}

function setup(): { pool: SkbPool; gro: GroLists; up: Up } {
  return { pool: new SkbPool(), gro: new GroLists(), up: new Up() };
}

describe('GRO (dev_gro_receive, tcp_gro_receive, napi_gro_complete)', () => {
  it('merges consecutive segments of a flow into one GSO packet that TSO cuts back into the same frames', () => {
    const { pool, gro, up } = setup();
    const frames: Uint8Array[] = [];
    const results: string[] = [];
    for (let i = 0; i < 5; i++) {
      const s = seg(pool, { i });
      frames.push(bytes(s));
      results.push(dev_gro_receive(gro, up, s));
    }
    expect(results).toEqual(['held', 'merged', 'merged', 'merged', 'merged']);
    expect(up.got).toHaveLength(0);
    napi_gro_flush(gro, up, false, 'poll_done');
    expect(up.got).toHaveLength(1);
    const p = up.got[0]!;
    expect(p.len).toBe(54 + 5 * MSS);
    expect(p.nrFrags).toBe(4); // each later segment's buffer is one fragment
    expect([p.gsoSize, p.gsoSegs, p.gsoType]).toEqual([MSS, 5, SKB_GSO_TCPV4]);
    expect([p.ipSummed, p.csumStart, p.csumOffset]).toEqual([CHECKSUM_PARTIAL, 34, 16]);
    const b = bytes(p);
    expect((b[16]! << 8) | b[17]!).toBe(20 + 20 + 5 * MSS); // inet_gro_complete: total length
    expect(csum_fold(csum_partial(b, 14, 34, 0))).toBe(0); // and a valid header checksum
    expect((b[50]! << 8) | b[51]!).toBe(foldSum(pseudoHeaderSumAt(b, 14, 20 + 5 * MSS))); // pseudo-header sum
    // The NIC's TSO (or software GSO) gives back exactly the frames that arrived.
    const l: TsoLayout = { ip: 0, tcp: 0, hdrLen: 0, payload: 0 };
    expect(tsoLayout(b, b.length, l)).toBeUndefined();
    for (let s = 0; s < 5; s++) {
      const out = new Uint8Array(1514);
      const n = tsoSegment(b, l, MSS, s, out);
      expect(out.subarray(0, n)).toEqual(frames[s]);
    }
    // Freeing the GRO packet frees the merged segments too.
    expect(pool.outstanding).toBe(5);
    pool.free(p);
    expect(pool.outstanding).toBe(0);
  });

  it('a segment with PSH is merged and ends the packet at once', () => {
    const { pool, gro, up } = setup();
    dev_gro_receive(gro, up, seg(pool, { i: 0 }));
    expect(dev_gro_receive(gro, up, seg(pool, { i: 1, flags: 0x018 }))).toBe('merged');
    expect(up.got).toHaveLength(1);
    expect(up.got[0]!.gsoSegs).toBe(2);
    expect(bytes(up.got[0]!)[47]).toBe(0x18); // PSH carried into the merged header
    expect(gro.held).toBe(0);
    expect(up.why).toEqual(['flags']);
  });

  it('a sequence gap hands up what is held and holds the new segment', () => {
    const { pool, gro, up } = setup();
    dev_gro_receive(gro, up, seg(pool, { i: 0 }));
    dev_gro_receive(gro, up, seg(pool, { i: 1 }));
    expect(dev_gro_receive(gro, up, seg(pool, { i: 3 }))).toBe('held');
    expect(up.got.map((s) => s.gsoSegs)).toEqual([2]);
    expect(gro.held).toBe(1);
    expect(up.why).toEqual(['mismatch']);
  });

  it('a single held segment goes up as it came (no GSO)', () => {
    const { pool, gro, up } = setup();
    const s = seg(pool, { i: 0 });
    const before = bytes(s);
    dev_gro_receive(gro, up, s);
    napi_gro_flush(gro, up, false, 'poll_done');
    expect(up.got[0]!.gsoSize).toBe(0);
    expect(up.got[0]!.ipSummed).toBe(CHECKSUM_UNNECESSARY);
    expect(bytes(up.got[0]!)).toEqual(before);
  });

  it('UDP, a bad checksum, a different window and a TTL change are not merged', () => {
    const { pool, gro, up } = setup();
    dev_gro_receive(gro, up, seg(pool, { i: 0 }));
    const udp = pool.alloc();
    const f = buildUdpFrame({ srcMac: '02:00:00:00:00:01', dstMac: '02:00:00:00:00:02', srcIp: '10.0.0.1', dstIp: '10.0.0.2', srcPort: 1, dstPort: 2, payloadLength: 100 });
    udp.head.set(f, udp.put(f.length));
    udp.dev = DEV;
    expect(dev_gro_receive(gro, up, udp)).toBe('normal');
    expect(gro.held).toBe(1); // the held TCP packet is left alone
    const bad = seg(pool, { i: 1 });
    bad.ipSummed = CHECKSUM_NONE;
    bad.head[bad.data + 60] ^= 0xff; // payload corrupted: the software check fails
    expect(dev_gro_receive(gro, up, bad)).toBe('normal');
    expect(dev_gro_receive(gro, up, seg(pool, { i: 1, window: 1000 }))).toBe('held'); // flushed the first
    expect(up.got.at(-1)!.gsoSegs).toBe(0);
    expect(dev_gro_receive(gro, up, seg(pool, { i: 2, window: 1000, ttl: 63 }))).toBe('held');
    expect(gro.stats.merged).toBe(0);
  });

  it("another flow's differences do not stop a held flow from merging (flush is per received packet)", () => {
    const { pool, gro, up } = setup();
    dev_gro_receive(gro, up, seg(pool, { i: 0, srcPort: 1 }));
    // Same addresses, other ports, another TTL: it marks flow 1 "flush" for itself only.
    expect(dev_gro_receive(gro, up, seg(pool, { i: 0, srcPort: 2, ttl: 9 }))).toBe('held');
    expect(dev_gro_receive(gro, up, seg(pool, { i: 1, srcPort: 1 }))).toBe('merged');
  });

  it('software-checks a segment the NIC did not verify, then merges it', () => {
    const { pool, gro, up } = setup();
    dev_gro_receive(gro, up, seg(pool, { i: 0 }));
    const s = seg(pool, { i: 1 });
    s.ipSummed = CHECKSUM_NONE;
    expect(dev_gro_receive(gro, up, s)).toBe('merged');
  });

  it('IP ids must increment by one per segment unless DF is set and the id is fixed (SKB_GSO_TCP_FIXEDID)', () => {
    const { pool, gro, up } = setup();
    dev_gro_receive(gro, up, seg(pool, { i: 0, dontFrag: false }));
    expect(dev_gro_receive(gro, up, seg(pool, { i: 1, dontFrag: false, ipId: 500 }))).toBe('held');
    napi_gro_flush(gro, up, false, 'poll_done');
    up.got.length = 0;
    for (let i = 0; i < 3; i++) dev_gro_receive(gro, up, seg(pool, { i, ipId: 7 }));
    napi_gro_flush(gro, up, false, 'poll_done');
    expect(up.got).toHaveLength(1);
    expect(up.got[0]!.gsoType).toBe(SKB_GSO_TCPV4 | SKB_GSO_TCP_FIXEDID);
  });

  it("merges segments whose payload is partly in page fragments (netfront's skbs): each page is released once, with the merged packet", () => {
    const { pool, gro, up } = setup();
    const released: Uint8Array[] = [];
    const frames: Uint8Array[] = [];
    const pages: Uint8Array[] = [];
    // As netfront's: the pool's pages among the frags go back (not other buffers, e.g. skb heads).
    const destructor = {
      skbFreed(s: SkBuff): void {
        for (let i = 0; i < s.nrFrags; i++) if (pages.includes(s.fragPage[i]!)) released.push(s.fragPage[i]!);
      },
    };
    for (let i = 0; i < 3; i++) {
      // The first 256 bytes linear (netfront's pull), the rest in a page of its own.
      const tmp = seg(pool, { i });
      const whole = bytes(tmp);
      pool.free(tmp);
      frames.push(whole);
      const s = pool.alloc();
      s.head.set(whole.subarray(0, 256), s.put(256));
      const page = new Uint8Array(4096);
      page.set(whole.subarray(256), 100);
      s.addFrag(page, 100, whole.length - 256);
      pages.push(page);
      s.dev = DEV;
      s.ipSummed = CHECKSUM_NONE; // checked in software across the fragment
      s.destructor = destructor;
      expect(dev_gro_receive(gro, up, s)).toBe(i === 0 ? 'held' : 'merged');
    }
    napi_gro_flush(gro, up, false, 'poll_done');
    const p = up.got[0]!;
    expect(p.gsoSegs).toBe(3);
    const payload = (f: Uint8Array) => f.subarray(54);
    const want = new Uint8Array([...payload(frames[0]!), ...payload(frames[1]!), ...payload(frames[2]!)]);
    expect(bytes(p).subarray(54)).toEqual(want);
    pool.free(p);
    expect(released).toHaveLength(3);
    expect(new Set(released)).toEqual(new Set(pages));
    expect(pool.outstanding).toBe(0);
  });

  it("a GSO packet that does not say how many segments it holds (netfront's gso_segs 0) goes up as it came", () => {
    const { pool, gro, up } = setup();
    const s = seg(pool, { i: 0, payloadLength: 2 * MSS });
    s.gsoSize = MSS;
    s.gsoType = SKB_GSO_TCPV4;
    s.gsoSegs = 0;
    expect(dev_gro_receive(gro, up, s)).toBe('normal');
    // One that does (2 segments, ids 100 and 101) is held, and the next segment (id 102) merges.
    // (Without DF: a DF flow's id must stay fixed once a packet of several segments is held.)
    const t = seg(pool, { i: 0, payloadLength: 2 * MSS, dontFrag: false });
    t.gsoSize = MSS;
    t.gsoType = SKB_GSO_TCPV4;
    t.gsoSegs = 2;
    expect(dev_gro_receive(gro, up, t)).toBe('held');
    expect(dev_gro_receive(gro, up, seg(pool, { i: 2, dontFrag: false }))).toBe('merged');
    napi_gro_flush(gro, up, false, 'poll_done');
    expect(up.got.at(-1)!.gsoSegs).toBe(3);
  });

  it('stays below 64 KiB', () => {
    const { pool, gro, up } = setup();
    for (let i = 0; i < 50; i++) dev_gro_receive(gro, up, seg(pool, { i }));
    napi_gro_flush(gro, up, false, 'poll_done');
    expect(up.got.map((s) => s.gsoSegs)).toEqual([45, 5]);
    expect(up.why).toEqual(['size', 'poll_done']);
    expect(up.got[0]!.len - 14).toBeLessThan(65536);
  });

  it('holds at most MAX_GRO_SKBS flows per bucket: the oldest goes up first', () => {
    const { pool, gro, up } = setup();
    for (let f = 0; f <= MAX_GRO_SKBS; f++) dev_gro_receive(gro, up, seg(pool, { i: 0, srcPort: 1000 + f }));
    expect(gro.held).toBe(MAX_GRO_SKBS);
    expect(up.got).toHaveLength(1);
    expect(up.why).toEqual(['bucket_full']);
    expect((bytes(up.got[0]!)[34]! << 8) | bytes(up.got[0]!)[35]!).toBe(1000);
  });

  it('a flush of old packets only hands up those held before this jiffy', () => {
    const { pool, gro, up } = setup();
    dev_gro_receive(gro, up, seg(pool, { i: 0, srcPort: 1 }));
    up.jiffy = 1;
    dev_gro_receive(gro, up, seg(pool, { i: 0, srcPort: 2 }));
    napi_gro_flush(gro, up, true, 'poll_full');
    expect(up.got).toHaveLength(1);
    expect(gro.held).toBe(1);
  });
});

describe('GRO over random streams', () => {
  /** A small seeded generator (the tests' own; the model's streams are not needed here). */
  function lcg(seed: number): () => number {
    let s = seed >>> 0;
    return () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s / 2 ** 32;
    };
  }

  /** The frames a packet GRO handed up stands for: its segments, as TSO (or software GSO) cuts it. */
  function framesOf(p: SkBuff): Uint8Array[] {
    const b = bytes(p);
    if (p.gsoSize === 0) return [b];
    const l: TsoLayout = { ip: 0, tcp: 0, hdrLen: 0, payload: 0 };
    expect(tsoLayout(b, b.length, l)).toBeUndefined();
    const out: Uint8Array[] = [];
    for (let s = 0; s * p.gsoSize < l.payload; s++) {
      const f = new Uint8Array(l.hdrLen + p.gsoSize);
      out.push(f.slice(0, tsoSegment(b, l, p.gsoSize, s, f)));
    }
    expect(out).toHaveLength(p.gsoSegs);
    return out;
  }

  it('hands up every segment exactly once, each flow in order, and cutting the merged packets again gives back the frames that came in', () => {
    let merged = 0;
    let segments = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const rnd = lcg(seed);
      const { pool, gro, up } = setup();
      const flows = 1 + Math.floor(rnd() * 10); // up to 10: more than a bucket holds (the oldest goes up)
      const next = Array.from({ length: flows }, () => ({ i: 0, seq: 1000, id: 100, df: rnd() < 0.5 }));
      const sent: Uint8Array[][] = Array.from({ length: flows }, () => []);
      const n = 50 + Math.floor(rnd() * 250);
      for (let k = 0; k < n; k++) {
        const f = Math.floor(rnd() * flows);
        const st = next[f]!;
        if (rnd() < 0.05) st.seq += MSS; // a segment lost before the NIC: a gap
        const short = rnd() < 0.05;
        const psh = rnd() < 0.08;
        const len = short ? 1 + Math.floor(rnd() * (MSS - 1)) : MSS;
        const s = seg(pool, { i: st.i, srcPort: 40000 + f, seq: st.seq, ipId: st.id, payloadLength: len, flags: psh ? 0x018 : 0x010, dontFrag: rnd() < 0.02 ? !st.df : st.df });
        sent[f]!.push(bytes(s));
        st.i++;
        st.seq += len;
        st.id = (st.id + 1) & 0xffff;
        dev_gro_receive(gro, up, s);
        if (rnd() < 0.1) napi_gro_flush(gro, up, false, 'poll_done'); // the NIC's poll ended
      }
      napi_gro_flush(gro, up, false, 'poll_done');
      expect(gro.held).toBe(0);
      const got: Uint8Array[][] = Array.from({ length: flows }, () => []);
      for (const p of up.got) {
        expect(p.len - 14).toBeLessThan(65536);
        const frames = framesOf(p);
        const f = ((frames[0]![34]! << 8) | frames[0]![35]!) - 40000;
        got[f]!.push(...frames);
        pool.free(p);
      }
      for (let f = 0; f < flows; f++) {
        // Byte for byte (Buffer.compare: a deep toEqual over ~10 MB of frames takes seconds).
        const g = got[f]!;
        const s = sent[f]!;
        expect(g.length, `seed ${seed}, flow ${f}: frames`).toBe(s.length);
        const bad = s.findIndex((frame, i) => Buffer.compare(Buffer.from(frame), Buffer.from(g[i]!)) !== 0);
        expect(bad, `seed ${seed}, flow ${f}: first frame that differs`).toBe(-1);
      }
      expect(pool.outstanding).toBe(0);
      expect(gro.stats.merged + up.got.length).toBe(n);
      merged += gro.stats.merged;
      segments += n;
    }
    expect(merged / segments).toBeGreaterThan(0.5); // the streams did give GRO work to do
  });
});
