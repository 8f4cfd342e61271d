/**
 * Wire-format figures:
 * - wire.build_udp_1500: building a 1500-byte IPv4/UDP packet (1514-byte frame) into a
 *   preallocated buffer with `buildUdpFrameInto()` — Ethernet, IPv4 with header checksum, UDP with
 *   the full pseudo-header checksum, payload copied in — against the bare minimum of the same
 *   work: one `Uint8Array.set` of the payload plus a loop summing the 16-bit words of the 1500
 *   bytes.
 * - wire.parse_eth_ipv4_udp: viewing a frame through the checked views (`EthernetFrame`,
 *   `Ipv4Packet`, `UdpPacket` with `checkLen()`) and reading the fields a forwarding decision
 *   needs, against raw DataView reads of the same fields with the same length checks.
 */
import { Ipv4Addr, MacAddr } from '../wire/address';
import { buildUdpFrameInto, type UdpFrameSpec } from '../wire/build';
import { EthernetFrame, EtherType } from '../wire/ethernet';
import { Ipv4Packet, IpProtocol } from '../wire/ipv4';
import { UdpPacket } from '../wire/udp';
import { bestNsPerOp, type BenchContext } from './harness';

const PAYLOAD = 1500 - 20 - 8;

function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

let sink = 0;

function buildFigure(ctx: BenchContext): void {
  const iterations = ctx.quick ? 5_000 : 500_000;
  const slots = 64;
  const frameLen = 14 + 1500;
  const buf = new Uint8Array(slots * 2048);
  const payload = pattern(PAYLOAD, 7);
  const spec: UdpFrameSpec = {
    srcMac: MacAddr.parse('00:16:3e:00:00:01'),
    dstMac: MacAddr.parse('00:16:3e:00:00:02'),
    srcIp: Ipv4Addr.parse('10.0.0.1'),
    dstIp: Ipv4Addr.parse('10.0.0.2'),
    srcPort: 5000,
    dstPort: 6000,
    payload,
    checksum: 'full',
  };
  const model = (n: number) => {
    for (let i = 0; i < n; i++) {
      spec.ipId = i & 0xffff;
      sink += buildUdpFrameInto(buf, (i & (slots - 1)) * 2048, spec);
    }
  };
  const baseline = (n: number) => {
    for (let i = 0; i < n; i++) {
      const off = (i & (slots - 1)) * 2048;
      buf.set(payload, off + 42);
      let s = 0;
      const end = off + 14 + 1500;
      for (let j = off + 14; j < end; j += 2) s += (buf[j]! << 8) | buf[j + 1]!;
      sink += s;
    }
  };
  let m = Infinity;
  let b = Infinity;
  for (let r = 0; r < 5; r++) {
    m = Math.min(m, bestNsPerOp(model, iterations, 1));
    b = Math.min(b, bestNsPerOp(baseline, iterations, 1));
  }
  ctx.report('wire.build_udp_1500', {
    value: m, unit: 'ns/frame', vs_baseline: m / b,
    note: `buildUdpFrameInto(), ${frameLen}-byte frame, full checksums, vs Uint8Array.set + a 16-bit word sum of 1500 bytes`,
  });
}

function parseFigure(ctx: BenchContext): void {
  const iterations = ctx.quick ? 20_000 : 5_000_000;
  const slots = 64;
  const buf = new Uint8Array(slots * 128);
  for (let i = 0; i < slots; i++) {
    buildUdpFrameInto(buf, i * 128, {
      srcMac: MacAddr.fromKey(0x00163e000000 + i), dstMac: MacAddr.fromKey(0x00163e100000 + i),
      srcIp: Ipv4Addr.fromU32(0x0a000000 + i), dstIp: Ipv4Addr.fromU32(0x0a010000 + i),
      srcPort: 1000 + i, dstPort: 2000 + i, payloadLength: 18 + (i & 31),
    });
  }
  const lens = new Int32Array(slots);
  for (let i = 0; i < slots; i++) lens[i] = 14 + 20 + 8 + 18 + (i & 31);

  const model = (n: number) => {
    let acc = 0;
    for (let i = 0; i < n; i++) {
      const k = i & (slots - 1);
      const eth = new EthernetFrame(buf, k * 128, lens[k]!);
      if (eth.checkLen() !== undefined) continue;
      acc += eth.dstKey + eth.srcKey;
      if (eth.etherType !== EtherType.IPv4) continue;
      const ip = new Ipv4Packet(buf, eth.payloadOffset, eth.payloadLength);
      if (ip.checkLen() !== undefined) continue;
      acc += ip.srcU32 + ip.dstU32 + ip.ttl;
      if (ip.protocol !== IpProtocol.UDP) continue;
      const udp = new UdpPacket(buf, ip.payloadOffset, ip.payloadLength);
      if (udp.checkLen() !== undefined) continue;
      acc += udp.srcPort + udp.dstPort + udp.length;
    }
    sink += acc;
  };
  const dv = new DataView(buf.buffer);
  const baseline = (n: number) => {
    let acc = 0;
    for (let i = 0; i < n; i++) {
      const k = i & (slots - 1);
      const o = k * 128;
      const len = lens[k]!;
      if (len < 14) continue;
      acc += dv.getUint16(o) * 4294967296 + dv.getUint32(o + 2) + dv.getUint16(o + 6) * 4294967296 + dv.getUint32(o + 8);
      if (dv.getUint16(o + 12) !== 0x0800) continue;
      const ip = o + 14;
      if (len - 14 < 20) continue;
      const hl = (dv.getUint8(ip) & 15) << 2;
      const tl = dv.getUint16(ip + 2);
      if (hl < 20 || hl > len - 14 || tl < hl || tl > len - 14) continue;
      acc += dv.getUint32(ip + 12) + dv.getUint32(ip + 16) + dv.getUint8(ip + 8);
      if (dv.getUint8(ip + 9) !== 17) continue;
      const u = ip + hl;
      if (tl - hl < 8) continue;
      const ul = dv.getUint16(u + 4);
      if (ul < 8 || ul > tl - hl) continue;
      acc += dv.getUint16(u) + dv.getUint16(u + 2) + ul;
    }
    sink += acc;
  };
  let m = Infinity;
  let b = Infinity;
  for (let r = 0; r < 5; r++) {
    m = Math.min(m, bestNsPerOp(model, iterations, 1));
    b = Math.min(b, bestNsPerOp(baseline, iterations, 1));
  }
  ctx.report('wire.parse_eth_ipv4_udp', {
    value: m, unit: 'ns/frame', vs_baseline: m / b,
    note: 'checked views over Ethernet+IPv4+UDP reading MACs, addresses, ports vs raw DataView reads with the same checks',
  });
}

export function run(ctx: BenchContext): void {
  buildFigure(ctx);
  parseFigure(ctx);
  if (sink === 0.5) console.log(''); // keep results observable
}
