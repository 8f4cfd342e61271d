import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  ArpPacket, buildArp, buildIcmpEcho, buildTcpFrame, buildUdpFrame, emitFrame, EthernetFrame, Icmpv4Packet, Ipv4Packet,
  parseFrame, prettyLine, prettyTree, TcpPacket, UdpPacket, type FrameParseOptions, type FrameRepr,
} from '../../src/wire';
import { ARP_REQ, ICMP_ECHO_REQ, TCP_SYN, UDP_HI, UDP_HI_VLAN } from './fixtures';

const RUNS = 2000;

/** Arbitrary valid frames of every kind the builders make. */
const validFrame = fc
  .record({
    kind: fc.constantFrom('udp', 'tcp', 'icmp', 'arp'),
    vlan: fc.option(fc.integer({ min: 0, max: 4095 }), { nil: undefined }),
    payload: fc.uint8Array({ maxLength: 200 }),
    port: fc.integer({ min: 0, max: 0xffff }),
    id: fc.integer({ min: 0, max: 0xffff }),
    ttl: fc.integer({ min: 0, max: 255 }),
    checksum: fc.constantFrom('full' as const, 'none' as const),
    mac: fc.integer({ min: 0, max: 2 ** 48 - 1 }),
    ip: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
    opt: fc.constantFrom(0, 4, 8, 40),
  })
  .map((p) => {
    const srcMac = '02:00:00:00:00:01';
    const dstMac = p.mac.toString(16).padStart(12, '0').replace(/(..)(?!$)/g, '$1:');
    const dstIp = `${p.ip >>> 24}.${(p.ip >>> 16) & 255}.${(p.ip >>> 8) & 255}.${p.ip & 255}`;
    const common = { srcMac, dstMac, srcIp: '10.0.0.1', dstIp, vlan: p.vlan, ipId: p.id, ttl: p.ttl, payload: p.payload };
    switch (p.kind) {
      case 'udp':
        return buildUdpFrame({ ...common, srcPort: p.port, dstPort: 53, checksum: p.checksum });
      case 'tcp':
        return buildTcpFrame({ ...common, srcPort: p.port, dstPort: 80, seq: p.ip, flags: p.id & 0xfff, options: new Uint8Array(p.opt).fill(1) });
      case 'icmp':
        return buildIcmpEcho({ ...common, ident: p.port, seqNo: p.id });
      default:
        return buildArp({ senderMac: srcMac, senderIp: '10.0.0.1', targetIp: dstIp, vlan: p.vlan, operation: (p.id % 3) + 1, targetMac: dstMac, padToMin: p.ttl % 2 === 0 });
    }
  });

/** A valid frame with random damage: flipped bytes, overwritten bytes, truncation, extra bytes. */
const mutatedFrame = fc
  .tuple(
    validFrame,
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
    fc.option(fc.nat(), { nil: undefined }),
    fc.uint8Array({ maxLength: 8 }),
  )
  .map(([f, writes, cut, extra]) => {
    const b = f.slice();
    for (const [at, v] of writes) b[at % b.length] = v;
    const len = cut === undefined ? b.length : cut % (b.length + 1);
    const out = new Uint8Array(len + extra.length);
    out.set(b.subarray(0, len));
    out.set(extra, len);
    return out;
  });

/** emit(parse(x)) written over a copy whose header bytes are 0xa5. */
function reEmit(x: Uint8Array, r: FrameRepr): Uint8Array {
  const y = x.slice();
  y.fill(0xa5, 0, r.payloadOffset);
  emitFrame(r, y, 0);
  return y;
}

/** Byte positions of every checksum field in x according to r. */
function checksumPositions(x: Uint8Array, r: FrameRepr): number[] {
  if (!r.ipv4) return [];
  const ip = r.eth.vlan ? 18 : 14;
  const l4 = ip + 20 + r.ipv4.options.length;
  const pos = [ip + 10, ip + 11];
  if (r.udp) pos.push(l4 + 6, l4 + 7);
  if (r.tcp) pos.push(l4 + 16, l4 + 17);
  if (r.icmpv4) pos.push(l4 + 2, l4 + 3);
  return pos.filter((p) => p < x.length);
}

/** Everything that reads a frame, with no verification turned off. */
function readAll(buf: Uint8Array, off: number, len: number, opts: FrameParseOptions) {
  return { parsed: parseFrame(buf, off, len, opts), line: prettyLine(buf, off, len), tree: prettyTree(buf, off, len) };
}

describe('parseFrame() over untrusted bytes', () => {
  it('the golden frames parse, with every layer found', () => {
    const u = parseFrame(UDP_HI);
    expect(u.ok && [!!u.value.ipv4, u.value.udp?.dstPort, u.value.payloadOffset, u.value.payloadLength, u.value.trailerLength]).toEqual([true, 2000, 42, 2, 0]);
    const v = parseFrame(UDP_HI_VLAN);
    expect(v.ok && v.value.payloadOffset).toBe(46);
    expect(parseFrame(ICMP_ECHO_REQ)).toMatchObject({ ok: true, value: { icmpv4: { type: 8 } } });
    expect(parseFrame(ARP_REQ)).toMatchObject({ ok: true, value: { arp: { operation: 1 }, payloadLength: 0 } });
    expect(parseFrame(TCP_SYN)).toMatchObject({ ok: true, value: { tcp: { dstPort: 80 } } });
  });

  it('a padded frame reports the padding as trailer and a fragment stops at IPv4', () => {
    const padded = new Uint8Array(60);
    padded.set(UDP_HI);
    expect(parseFrame(padded)).toMatchObject({ ok: true, value: { trailerLength: 16, payloadLength: 2 } });
    const frag = buildUdpFrame({ srcMac: '02:00:00:00:00:01', dstMac: '02:00:00:00:00:02', srcIp: '10.0.0.1', dstIp: '10.0.0.2', srcPort: 1, dstPort: 2, payloadLength: 8 });
    frag[20] = 0x20; // MF
    new Ipv4Packet(frag, 14).fillChecksum();
    const p = parseFrame(frag);
    expect(p.ok && p.value.udp).toBeUndefined();
    expect(p.ok && p.value.payloadOffset).toBe(34);
  });

  it('never throws on random bytes, and whatever parses re-emits to the same header bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), fc.boolean(), (x, verify) => {
        const { parsed } = readAll(x, 0, x.length, { verifyIpChecksum: verify, verifyL4Checksum: verify });
        if (parsed.ok && verify) expect(reEmit(x, parsed.value)).toEqual(x);
      }),
      { numRuns: RUNS },
    );
  });

  it('never throws on random bytes that start like Ethernet/IPv4 (to reach the deeper layers)', () => {
    const prefix = (t: number) => fc.uint8Array({ maxLength: 80 }).map((b) => {
      const x = new Uint8Array(14 + b.length);
      x.set(UDP_HI.subarray(0, 12));
      x[12] = t >> 8;
      x[13] = t & 0xff;
      x.set(b, 14);
      if (b.length > 0) x[14] = 0x45;
      return x;
    });
    fc.assert(
      fc.property(fc.oneof(prefix(0x0800), prefix(0x0806), prefix(0x8100)), (x) => {
        readAll(x, 0, x.length, { verifyIpChecksum: false, verifyL4Checksum: false });
      }),
      { numRuns: RUNS },
    );
  });

  it('valid frames round-trip exactly: emit(parse(x)) reproduces every header byte', () => {
    fc.assert(
      fc.property(validFrame, (x) => {
        const p = parseFrame(x);
        expect(p.ok).toBe(true);
        if (p.ok) expect(reEmit(x, p.value)).toEqual(x);
      }),
      { numRuns: RUNS },
    );
  });

  it('never throws on mutated valid frames; with checksums verified, whatever parses re-emits exactly; unverified, all but the checksum fields', () => {
    fc.assert(
      fc.property(mutatedFrame, (x) => {
        const strict = readAll(x, 0, x.length, {}).parsed;
        if (strict.ok) expect(reEmit(x, strict.value)).toEqual(x);
        const loose = parseFrame(x, 0, x.length, { verifyIpChecksum: false, verifyL4Checksum: false });
        if (loose.ok) {
          const y = reEmit(x, loose.value);
          for (const p of checksumPositions(x, loose.value)) y[p] = x[p]!;
          expect(y).toEqual(x);
        }
        if (!strict.ok) {
          expect(typeof strict.error.field).toBe('string');
          expect(strict.error.message.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('never reads outside [off, off+len): the result is the same whatever bytes surround the window', () => {
    fc.assert(
      fc.property(mutatedFrame, fc.nat(16), fc.uint8Array({ minLength: 100, maxLength: 100 }), (x, pad, noise) => {
        const a = new Uint8Array(pad + x.length + 64).fill(0x00);
        const b = new Uint8Array(pad + x.length + 64);
        for (let i = 0; i < b.length; i++) b[i] = noise[i % 100]! ^ 0xff;
        a.set(x, pad);
        b.set(x, pad);
        for (const opts of [{}, { verifyIpChecksum: false, verifyL4Checksum: false }]) {
          const ra = readAll(a, pad, x.length, opts);
          const rb = readAll(b, pad, x.length, opts);
          expect(rb).toEqual(ra);
          expect(readAll(x, 0, x.length, opts).line).toEqual(ra.line);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('every view.checked() returns an error value, never throws, for windows outside the buffer or of any length', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.integer({ min: -5, max: 80 }), fc.integer({ min: -5, max: 80 }), (b, off, len) => {
        for (const V of [EthernetFrame, Ipv4Packet, UdpPacket, TcpPacket, Icmpv4Packet, ArpPacket]) {
          const r = V.checked(b, off, len);
          if (off < 0 || len < 0 || off + len > b.length) expect(r.ok).toBe(false);
        }
        expect(parseFrame(b, Math.max(0, off), len).ok === true || true).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });
});
