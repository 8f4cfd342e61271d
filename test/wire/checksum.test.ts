import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  buildTcpFrame, buildUdpFrame, csum_fold, csum_partial, csum_replace2, csum_tcpudp_magic, foldSum,
  internetChecksum, IpSummed, ipSummedName, Ipv4Addr, MacAddr, parseFrame, skb_checksum_help,
  skb_checksum_setup_ipv4, tcpPartialChecksum, udpPartialChecksum, type L4Checksum,
} from '../../src/wire';
import { hex, UDP_HI, UDP_HI_PSEUDO_SUM, UDP_HI_VLAN } from './fixtures';

const addrs = {
  srcMac: MacAddr.parse('02:00:00:00:00:01'),
  dstMac: MacAddr.parse('02:00:00:00:00:02'),
  srcIp: Ipv4Addr.parse('10.0.0.1'),
  dstIp: Ipv4Addr.parse('10.0.0.2'),
};

/** A plain reference: sum 16-bit words one at a time, fold with carries at each step. */
function referenceChecksum(b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < b.length; i += 2) {
    s += (b[i]! << 8) | (i + 1 < b.length ? b[i + 1]! : 0);
    s = (s & 0xffff) + (s >>> 16);
  }
  return ~s & 0xffff;
}

describe('internet checksum', () => {
  it('csum_partial() gives the RFC 1071 §3 example sum 0xddf2 and checksum 0x220d', () => {
    const b = hex('00 01 f2 03 f4 f5 f6 f7');
    expect(foldSum(csum_partial(b, 0, b.length, 0))).toBe(0xddf2);
    expect(internetChecksum(b, 0, b.length)).toBe(0x220d);
  });

  it('internetChecksum() gives 0xb861 for the well-known IPv4 header 4500 0073 … c0a8 00c7', () => {
    const h = hex('45 00 00 73 00 00 40 00 40 11 00 00 c0 a8 00 01 c0 a8 00 c7');
    expect(internetChecksum(h, 0, h.length)).toBe(0xb861);
    h[10] = 0xb8;
    h[11] = 0x61;
    expect(internetChecksum(h, 0, h.length)).toBe(0); // a correct header sums to 0xffff
  });

  it('internetChecksum() matches a step-by-step reference over any bytes and any sub-range, odd lengths included', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.nat(), fc.nat(), (b, x, y) => {
        const s = b.length === 0 ? 0 : x % (b.length + 1);
        const e = s + (b.length === 0 ? 0 : y % (b.length - s + 1));
        expect(internetChecksum(b, s, e)).toBe(referenceChecksum(b.subarray(s, e)));
      }),
    );
  });

  it('csum_partial() chained at an even boundary equals one pass', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 2, maxLength: 500 }), fc.nat(), (b, x) => {
        const mid = (x % b.length) & ~1;
        expect(csum_fold(csum_partial(b, mid, b.length, csum_partial(b, 0, mid, 0)))).toBe(internetChecksum(b, 0, b.length));
      }),
    );
  });

  it('csum_replace2() gives a checksum that verifies, like recomputing, when one word changes (RFC 1624)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 8, maxLength: 64 }), fc.nat(), fc.integer({ min: 0, max: 0xffff }), (raw, at, nw) => {
        const b = raw.slice(0, raw.length & ~1);
        const i = (at % (b.length / 2 - 1)) * 2 + 2; // any word but the check field at 0..1
        b[0] = 0;
        b[1] = 0;
        const c = internetChecksum(b, 0, b.length);
        b[0] = c >>> 8;
        b[1] = c & 0xff;
        const old = (b[i]! << 8) | b[i + 1]!;
        b[i] = nw >>> 8;
        b[i + 1] = nw & 0xff;
        const c2 = csum_replace2(c, old, nw);
        b[0] = c2 >>> 8;
        b[1] = c2 & 0xff;
        expect(internetChecksum(b, 0, b.length)).toBe(0);
      }),
    );
  });
});

describe('CHECKSUM_PARTIAL', () => {
  it('IpSummed carries the Linux values and names', () => {
    expect([IpSummed.CHECKSUM_NONE, IpSummed.CHECKSUM_UNNECESSARY, IpSummed.CHECKSUM_COMPLETE, IpSummed.CHECKSUM_PARTIAL]).toEqual([0, 1, 2, 3]);
    expect(ipSummedName(IpSummed.CHECKSUM_PARTIAL)).toBe('CHECKSUM_PARTIAL');
  });

  it('a partial UDP frame holds the folded pseudo-header sum, and skb_checksum_help() completes it to the golden bytes', () => {
    const f = buildUdpFrame({ ...addrs, srcPort: 1000, dstPort: 2000, payload: hex('68 69'), checksum: 'partial' });
    expect(((f[40]! << 8) | f[41]!)).toBe(UDP_HI_PSEUDO_SUM);
    expect(((f[40]! << 8) | f[41]!)).toBe(~csum_tcpudp_magic(0x0a000001, 0x0a000002, 10, 17, 0) & 0xffff);
    const r = skb_checksum_help(f, 0, f.length, udpPartialChecksum(false));
    expect(r.ok).toBe(true);
    expect(Array.from(f)).toEqual(Array.from(UDP_HI));
  });

  it('a UDP or TCP frame left partial then completed equals the fully computed one (any payload, tagged or not)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 1500 }), fc.boolean(), fc.boolean(), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }),
        (payload, vlan, tcp, sp, dp) => {
          const spec = { ...addrs, srcPort: sp, dstPort: dp, payload, vlan: vlan ? 42 : undefined };
          const build = (checksum: L4Checksum) => (tcp ? buildTcpFrame({ ...spec, checksum }) : buildUdpFrame({ ...spec, checksum }));
          const full = build('full');
          const partial = build('partial');
          const where = tcp ? tcpPartialChecksum(vlan) : udpPartialChecksum(vlan);
          expect(skb_checksum_help(partial, 0, partial.length, where).ok).toBe(true);
          expect(partial).toEqual(full);
          expect(parseFrame(full).ok).toBe(true);
        },
      ),
    );
  });

  it('skb_checksum_help() writes 0xffff (CSUM_MANGLED_0) when the sum comes to 0, and the UDP frame still verifies', () => {
    // Without payload the UDP sum of the golden frame is 0x1fe0; a payload word 0xe01f makes it 0xffff.
    const f = buildUdpFrame({ ...addrs, srcPort: 1000, dstPort: 2000, payload: hex('e0 1f'), checksum: 'partial' });
    expect(skb_checksum_help(f, 0, f.length, udpPartialChecksum(false)).ok).toBe(true);
    expect(((f[40]! << 8) | f[41]!)).toBe(0xffff);
    const full = buildUdpFrame({ ...addrs, srcPort: 1000, dstPort: 2000, payload: hex('e0 1f') });
    expect(((full[40]! << 8) | full[41]!)).toBe(0xffff);
    const p = parseFrame(f);
    expect(p.ok && p.value.udp?.checksum).toBe('full');
  });

  it('skb_checksum_help() returns an error value naming csum_start/csum_offset when they lie outside the frame, and leaves it untouched', () => {
    const f = UDP_HI.slice();
    const r1 = skb_checksum_help(f, 0, f.length, { csumStart: f.length, csumOffset: 6 });
    expect(r1.ok === false && r1.error.field).toBe('csum_start');
    const r2 = skb_checksum_help(f, 0, f.length, { csumStart: 34, csumOffset: 9 });
    expect(r2.ok === false && r2.error.field).toBe('csum_offset');
    expect(f).toEqual(UDP_HI);
  });

  it('skb_checksum_setup_ipv4() finds csum_start/csum_offset and, with recalculate, rewrites the pseudo-header sum over whatever the guest left', () => {
    const f = UDP_HI_VLAN.slice();
    f[44] = 0x12; // garbage in the UDP check field (at 18 + 20 + 6)
    f[45] = 0x34;
    const r = skb_checksum_setup_ipv4(f, 0, f.length, 18, true);
    expect(r).toEqual({ ok: true, value: { csumStart: 38, csumOffset: 6 } });
    expect(((f[44]! << 8) | f[45]!)).toBe(UDP_HI_PSEUDO_SUM);
    expect(skb_checksum_help(f, 0, f.length, { csumStart: 38, csumOffset: 6 }).ok).toBe(true);
    expect(f).toEqual(UDP_HI_VLAN);
  });

  it('skb_checksum_setup_ipv4() rejects fragments, other protocols and short packets with error values (-EPROTO in Linux)', () => {
    const frag = UDP_HI.slice();
    frag[20] = 0x20; // MF
    expect(skb_checksum_setup_ipv4(frag, 0, frag.length, 14, false)).toMatchObject({ ok: false, error: { field: 'flags_frag' } });
    const icmp = UDP_HI.slice();
    icmp[23] = 1;
    expect(skb_checksum_setup_ipv4(icmp, 0, icmp.length, 14, false)).toMatchObject({ ok: false, error: { field: 'protocol' } });
    expect(skb_checksum_setup_ipv4(UDP_HI, 0, 30, 14, false)).toMatchObject({ ok: false, error: { layer: 'ipv4' } });
    const badLen = UDP_HI.slice();
    badLen[17] = 0xff; // total_len 0x00ff > frame
    expect(skb_checksum_setup_ipv4(badLen, 0, badLen.length, 14, false)).toMatchObject({ ok: false, error: { field: 'total_len' } });
  });
});
