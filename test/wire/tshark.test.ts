/**
 * Conformance against Wireshark's dissectors: every frame kind we build decodes as the expected
 * protocol stack, with IP/UDP/TCP/ICMP checksums verified Good and no malformed packets or
 * expert warnings. In CI a missing tshark fails the suite (see requireTshark()).
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  answerIcmpEcho, buildArp, buildIcmpEcho, buildTcpFrame, buildUdpFrame, Capture, emitFrame, Ipv4Packet, Ipv4Repr, parseFrame,
  skb_checksum_help, TcpFlags, udpPartialChecksum, writePcapFile,
} from '../../src/wire';
import { requireTshark, tsharkValidate } from './tshark-helper';
import { ARP_REQ, ICMP_ECHO_REPLY, ICMP_ECHO_REQ, TCP_SYN, UDP_HI, UDP_HI_VLAN, hex } from './fixtures';

const RUN = requireTshark();
const dir = mkdtempSync(join(tmpdir(), 'wire-tshark-'));
const A = { srcMac: '02:00:00:00:00:01', dstMac: '02:00:00:00:00:02', srcIp: '10.0.0.1', dstIp: '10.0.0.2' };
const B = { srcMac: '02:00:00:00:00:02', dstMac: '02:00:00:00:00:01', srcIp: '10.0.0.2', dstIp: '10.0.0.1' };

/** A deterministic byte pattern (no Math.random in tests either: failures must reproduce). */
function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

function frames(): Array<{ data: Uint8Array; stack: string }> {
  const out: Array<{ data: Uint8Array; stack: string }> = [];
  const add = (data: Uint8Array, stack: string) => out.push({ data, stack });
  add(ARP_REQ, 'eth:ethertype:arp');
  add(buildArp({ operation: 'reply', senderMac: B.srcMac, senderIp: B.srcIp, targetMac: A.srcMac, targetIp: A.srcIp }), 'eth:ethertype:arp');
  add(buildArp({ senderMac: A.srcMac, senderIp: A.srcIp, targetIp: A.dstIp, padToMin: true, vlan: 7 }), 'eth:ethertype:vlan:ethertype:arp');
  add(ICMP_ECHO_REQ, 'eth:ethertype:ip:icmp');
  add(ICMP_ECHO_REPLY, 'eth:ethertype:ip:icmp');
  const ping = buildIcmpEcho({ ...A, ident: 0x1c2d, seqNo: 3, payload: pattern(56, 1), ipId: 0x4d2 });
  add(ping, 'eth:ethertype:ip:icmp:data');
  const pong = ping.slice();
  expect(answerIcmpEcho(pong, 0, pong.length)).toBeUndefined();
  add(pong, 'eth:ethertype:ip:icmp:data');
  add(UDP_HI, 'eth:ethertype:ip:udp:data');
  add(UDP_HI_VLAN, 'eth:ethertype:vlan:ethertype:ip:udp:data');
  add(buildUdpFrame({ ...A, srcPort: 5000, dstPort: 6000, payload: pattern(1472, 2) }), 'eth:ethertype:ip:udp:data');
  add(buildUdpFrame({ ...A, srcPort: 5000, dstPort: 6001, payload: pattern(33, 3), checksum: 'none' }), 'eth:ethertype:ip:udp:data');
  const partial = buildUdpFrame({ ...A, srcPort: 5001, dstPort: 6002, payload: pattern(101, 4), checksum: 'partial', vlan: { vid: 100, pcp: 3, dei: true } });
  expect(skb_checksum_help(partial, 0, partial.length, udpPartialChecksum(true)).ok).toBe(true);
  add(partial, 'eth:ethertype:vlan:ethertype:ip:udp:data');
  add(buildUdpFrame({ ...A, srcPort: 1000, dstPort: 2000, payload: hex('e0 1f') }), 'eth:ethertype:ip:udp:data'); // checksum 0 → 0xffff
  const bcast = new Uint8Array(60);
  bcast.set(buildUdpFrame({ srcMac: A.srcMac, dstMac: 'ff:ff:ff:ff:ff:ff', srcIp: A.srcIp, dstIp: '10.0.0.255', srcPort: 5002, dstPort: 6003, payload: pattern(5, 5) }));
  add(bcast, 'eth:ethertype:ip:udp:data');
  // IPv4 with options (NOP NOP NOP EOL): re-emit a parsed UDP frame with 4 option bytes.
  const base = parseFrame(UDP_HI);
  if (!base.ok || !base.value.ipv4) throw new Error('fixture');
  const withOpts = new Uint8Array(48);
  withOpts.set(hex('68 69'), 46);
  emitFrame({ ...base.value, ipv4: { ...base.value.ipv4, options: hex('01 01 01 00') as Uint8Array }, payloadOffset: 46 }, withOpts, 0);
  add(withOpts, 'eth:ethertype:ip:udp:data');
  add(TCP_SYN, 'eth:ethertype:ip:tcp');
  add(buildTcpFrame({ ...B, srcPort: 80, dstPort: 40000, seq: 0x12345678, ack: 2, flags: TcpFlags.SYN | TcpFlags.ACK, options: hex('02 04 05 b4 01 01 04 02') }), 'eth:ethertype:ip:tcp');
  // (not port 80: there tshark hands the payload to HTTP, which claims it without a 'data' layer)
  add(buildTcpFrame({ ...A, srcPort: 40000, dstPort: 5555, seq: 2, ack: 0x12345679, flags: TcpFlags.PSH | TcpFlags.ACK, payload: pattern(300, 6), vlan: 5 }), 'eth:ethertype:vlan:ethertype:ip:tcp:data');
  for (let i = 0; i < 20; i++) {
    add(buildUdpFrame({ ...A, srcPort: 1024 + i, dstPort: 9, payload: pattern(i * 37 + 1, 100 + i), ipId: i, ttl: 1 + i }), 'eth:ethertype:ip:udp:data');
  }
  return out;
}

describe.skipIf(!RUN)('tshark conformance', () => {
  it('every frame we build decodes as the expected protocols with checksums Good and no problems', () => {
    const fs = frames();
    const path = join(dir, 'variety.pcap');
    writePcapFile(path, fs.map((f, i) => ({ timeNs: i * 1_000_000, data: f.data })));
    const report = tsharkValidate(path);
    expect(report.problems).toEqual([]);
    expect(report.frames).toBe(fs.length);
    expect(report.protocols.map((p) => p.join(':'))).toEqual(fs.map((f) => f.stack));
    for (const f of report.perFrame) {
      for (const [field, status] of Object.entries(f.checksums)) {
        const zeroUdp = field === 'udp.checksum.status' && status === 'Not present';
        expect(zeroUdp || status === 'Good', `frame ${f.number} ${field}`).toBe(true);
      }
    }
    // the checks really ran: the IP header checksum of every IPv4 frame was verified
    const ipFrames = report.perFrame.filter((f) => f.protocols.includes('ip'));
    expect(ipFrames.length).toBeGreaterThan(20);
    expect(ipFrames.every((f) => f.checksums['ip.checksum.status'] === 'Good')).toBe(true);
  });

  it('tsharkValidate() reports bad IP/UDP/TCP/ICMP checksums, a truncated packet and a partial checksum, by frame', () => {
    const badUdp = UDP_HI.slice();
    badUdp[41] ^= 1;
    const badIp = UDP_HI.slice();
    badIp[22] = 63; // TTL without fixing the checksum
    const badTcp = TCP_SYN.slice();
    badTcp[50] ^= 0xff;
    const badIcmp = ICMP_ECHO_REQ.slice();
    badIcmp[37] ^= 1;
    const cut = UDP_HI.slice(0, 38);
    const partial = buildUdpFrame({ ...A, srcPort: 1, dstPort: 2, payloadLength: 2, checksum: 'partial' });
    const path = join(dir, 'bad.pcap');
    writePcapFile(path, [UDP_HI, badUdp, badIp, badTcp, badIcmp, cut, partial].map((data, i) => ({ timeNs: i, data })));
    const report = tsharkValidate(path);
    const byFrame = (n: number) => report.problems.filter((p) => p.startsWith(`frame ${n}:`));
    expect(byFrame(1)).toEqual([]);
    expect(byFrame(2).join()).toMatch(/udp\.checksum\.status is Bad/);
    expect(byFrame(3).join()).toMatch(/ip\.checksum\.status is Bad/);
    expect(byFrame(4).join()).toMatch(/tcp\.checksum\.status is Bad/);
    expect(byFrame(5).join()).toMatch(/icmp\.checksum\.status is Bad/);
    expect(byFrame(6).join()).toMatch(/malformed/i);
    expect(byFrame(7).join()).toMatch(/Bad checksum \[should be 0x/);
  });

  it('tshark reads Capture files in µs and ns precision with the virtual timestamps', () => {
    const cap = new Capture({ name: 'wire' });
    cap.record(1_234_567_891, UDP_HI);
    cap.record(2_000_000_000, ARP_REQ);
    const times = (precision: 'us' | 'ns') => {
      const path = join(dir, `cap-${precision}.pcap`);
      cap.writeFile(path, { precision });
      expect(tsharkValidate(path).problems).toEqual([]);
      const r = spawnSync('tshark', ['-n', '-r', path, '-T', 'fields', '-e', 'frame.time_epoch'], { encoding: 'utf8' });
      return r.stdout.trim().split('\n');
    };
    expect(times('us')).toEqual(['1.234567000', '2.000000000']);
    expect(times('ns')).toEqual(['1.234567891', '2.000000000']);
  });

  it('Ipv4Repr agrees with tshark on a parsed field (sanity of the field table)', () => {
    const r = Ipv4Repr.parse(new Ipv4Packet(UDP_HI, 14));
    expect(r.ok).toBe(true);
    const path = join(dir, 'one.pcap');
    writePcapFile(path, [{ timeNs: 0, data: UDP_HI }]);
    const out = spawnSync('tshark', ['-n', '-r', path, '-T', 'fields', '-E', 'separator=,', '-e', 'ip.ttl', '-e', 'ip.flags.df', '-e', 'ip.len', '-e', 'udp.length', '-e', 'udp.checksum'], { encoding: 'utf8' });
    const [ttl, df, len, ulen, uck] = out.stdout.trim().split(',');
    expect(r.ok && [r.value.ttl, r.value.dontFrag ? '1' : '0', r.value.payloadLen + 20]).toEqual([Number(ttl), df === 'True' || df === '1' ? '1' : '0', Number(len)]);
    expect([Number(ulen), uck]).toEqual([10, '0x77b6']);
  });
});
