import { describe, expect, it } from 'vitest';
import {
  answerIcmpEcho, buildArp, buildArpInto, buildIcmpEcho, buildIcmpEchoInto, buildTcpFrame, buildUdpFrame, buildUdpFrameInto,
  Ipv4Addr, MacAddr, parseFrame, TcpFlags, udpFrameLength,
} from '../../src/wire';
import { ARP_REQ, ICMP_ECHO_REPLY, ICMP_ECHO_REQ, IP_A, IP_B, MAC_A, MAC_B, TCP_SYN, UDP_HI, UDP_HI_VLAN, hex } from './fixtures';

const base = { srcMac: MAC_A, dstMac: MAC_B, srcIp: IP_A, dstIp: IP_B };

describe('builders', () => {
  it('buildUdpFrame() builds the golden UDP frame byte for byte, with and without an 802.1Q tag', () => {
    expect(buildUdpFrame({ ...base, srcPort: 1000, dstPort: 2000, payload: hex('68 69') })).toEqual(UDP_HI);
    expect(buildUdpFrame({ ...base, srcPort: 1000, dstPort: 2000, payload: hex('68 69'), vlan: { vid: 10, pcp: 5, dei: false } })).toEqual(UDP_HI_VLAN);
  });

  it('buildUdpFrameInto() writes at an offset into a 0xa5 buffer, touches nothing else, and returns the length', () => {
    const buf = new Uint8Array(100).fill(0xa5);
    const n = buildUdpFrameInto(buf, 7, { ...base, srcMac: MacAddr.parse(MAC_A), srcIp: Ipv4Addr.parse(IP_A), srcPort: 1000, dstPort: 2000, payload: hex('68 69') });
    expect(n).toBe(44);
    expect(buf.subarray(7, 51)).toEqual(UDP_HI);
    expect(buf.subarray(0, 7).every((b) => b === 0xa5)).toBe(true);
    expect(buf.subarray(51).every((b) => b === 0xa5)).toBe(true);
  });

  it('buildUdpFrameInto() with payloadLength checksums the payload bytes already in the buffer', () => {
    const buf = new Uint8Array(44);
    buf[42] = 0x68;
    buf[43] = 0x69;
    expect(buildUdpFrameInto(buf, 0, { ...base, srcPort: 1000, dstPort: 2000, payloadLength: 2 })).toBe(44);
    expect(buf).toEqual(UDP_HI);
    expect(udpFrameLength({ ...base, srcPort: 1, dstPort: 2, payloadLength: 1472 })).toBe(1514);
  });

  it("buildUdpFrame() with checksum 'none' writes 0 and sets ipId, ttl and DF as asked", () => {
    const f = buildUdpFrame({ ...base, srcPort: 1, dstPort: 2, payloadLength: 4, checksum: 'none', ipId: 0x1234, ttl: 3, dontFrag: false });
    const p = parseFrame(f);
    expect(p.ok).toBe(true);
    if (!p.ok) return;
    expect(p.value.udp?.checksum).toBe('none');
    expect(p.value.ipv4).toMatchObject({ ident: 0x1234, ttl: 3, dontFrag: false });
  });

  it('builders throw naming the parameter, the value and what is allowed', () => {
    expect(() => buildUdpFrame({ ...base, srcPort: 70000, dstPort: 1 })).toThrow(/buildUdpFrameInto: srcPort 70000 is not allowed; use an integer in 0\.\.65535/);
    expect(() => buildUdpFrame({ ...base, srcPort: 1, dstPort: 1, ttl: 256 })).toThrow(/ttl 256/);
    expect(() => buildUdpFrame({ ...base, srcPort: 1, dstPort: 1, vlan: 5000 })).toThrow(/vlan 5000 is not allowed; use a VLAN id in 0\.\.4095/);
    expect(() => buildUdpFrame({ ...base, srcPort: 1, dstPort: 1, payloadLength: 70000 })).toThrow(/payloadLength 70000/);
    expect(() => buildUdpFrame({ ...base, srcPort: 1, dstPort: 1, checksum: 'some' as never })).toThrow(/checksum 'some'/);
    expect(() => buildUdpFrame({ ...base, srcIp: '10.0.0', srcPort: 1, dstPort: 1 })).toThrow(/Ipv4Addr\.parse: s '10\.0\.0'/);
    expect(() => buildUdpFrameInto(new Uint8Array(40), 0, { ...base, srcPort: 1, dstPort: 1 })).toThrow(/offset 0 is not allowed; the 42-byte frame must fit in the 40-byte buffer/);
    expect(() => buildArp({ operation: 'reply', senderMac: MAC_A, senderIp: IP_A, targetIp: IP_B })).toThrow(/targetMac undefined/);
  });

  it('buildIcmpEcho() builds the golden echo request and reply', () => {
    expect(buildIcmpEcho({ ...base, ident: 1, seqNo: 1 })).toEqual(ICMP_ECHO_REQ);
    expect(buildIcmpEcho({ srcMac: MAC_B, dstMac: MAC_A, srcIp: IP_B, dstIp: IP_A, type: 'reply', ident: 1, seqNo: 1 })).toEqual(ICMP_ECHO_REPLY);
    const buf = new Uint8Array(200).fill(0xa5);
    const n = buildIcmpEchoInto(buf, 0, { ...base, ident: 7, seqNo: 9, payload: new Uint8Array(56).fill(0x42), vlan: 3 });
    expect(n).toBe(18 + 20 + 8 + 56);
    const p = parseFrame(buf, 0, n);
    expect(p.ok && p.value.icmpv4).toEqual({ type: 8, code: 0, ident: 7, seqNo: 9, payloadLen: 56 });
    expect(p.ok && p.value.eth.vlan?.vid).toBe(3);
  });

  it('buildArp() builds the golden who-has (broadcast, zero target MAC) and pads to 60 bytes when asked', () => {
    expect(buildArp({ senderMac: MAC_A, senderIp: IP_A, targetIp: IP_B })).toEqual(ARP_REQ);
    const padded = buildArp({ senderMac: MAC_A, senderIp: IP_A, targetIp: IP_B, padToMin: true });
    expect(padded.length).toBe(60);
    expect(padded.subarray(0, 42)).toEqual(ARP_REQ);
    expect(padded.subarray(42).every((b) => b === 0)).toBe(true);
    const buf = new Uint8Array(64).fill(0xa5);
    const n = buildArpInto(buf, 0, { operation: 'reply', senderMac: MAC_B, senderIp: IP_B, targetMac: MAC_A, targetIp: IP_A });
    const p = parseFrame(buf, 0, n);
    expect(p.ok && p.value.eth.dst.toString()).toBe(MAC_A);
    expect(p.ok && p.value.arp?.operation).toBe(2);
  });

  it('buildTcpFrame() builds the golden SYN', () => {
    expect(buildTcpFrame({ ...base, srcPort: 40000, dstPort: 80, seq: 1, flags: TcpFlags.SYN })).toEqual(TCP_SYN);
  });
});

describe('answerIcmpEcho()', () => {
  it('turns the golden echo request into the golden reply in place', () => {
    const f = ICMP_ECHO_REQ.slice();
    expect(answerIcmpEcho(f, 0, f.length)).toBeUndefined();
    expect(f).toEqual(ICMP_ECHO_REPLY);
  });

  it('answers a request with data, a tag and a different TTL; the reply parses with good checksums', () => {
    const payload = Uint8Array.from({ length: 57 }, (_, i) => (i * 37) & 0xff);
    const f = buildIcmpEcho({ ...base, ident: 0xbeef, seqNo: 0xffff, payload, vlan: 12, ttl: 17, ipId: 99 });
    expect(answerIcmpEcho(f, 0, f.length, 64)).toBeUndefined();
    const p = parseFrame(f);
    expect(p.ok).toBe(true);
    if (!p.ok) return;
    expect(p.value.icmpv4).toEqual({ type: 0, code: 0, ident: 0xbeef, seqNo: 0xffff, payloadLen: 57 });
    expect(p.value.ipv4?.src.toString()).toBe(IP_B);
    expect(p.value.ipv4?.ttl).toBe(64);
    expect(p.value.eth.dst.toString()).toBe(MAC_A);
    expect(f.subarray(f.length - 57)).toEqual(payload);
  });

  it('refuses anything but a well-formed echo request, naming the field, and leaves the frame untouched', () => {
    const reply = ICMP_ECHO_REPLY.slice();
    expect(answerIcmpEcho(reply, 0, reply.length)).toMatchObject({ layer: 'icmpv4', field: 'type' });
    expect(reply).toEqual(ICMP_ECHO_REPLY);
    const bad = ICMP_ECHO_REQ.slice();
    bad[41] ^= 1;
    expect(answerIcmpEcho(bad, 0, bad.length)).toMatchObject({ field: 'checksum', layer: 'icmpv4' });
    expect(answerIcmpEcho(UDP_HI.slice(), 0, UDP_HI.length)).toMatchObject({ field: 'protocol' });
    expect(answerIcmpEcho(ARP_REQ.slice(), 0, ARP_REQ.length)).toMatchObject({ field: 'ethertype' });
    expect(answerIcmpEcho(ICMP_ECHO_REQ.slice(), 0, 40)).toMatchObject({ layer: 'ipv4', field: 'total_len' });
  });
});
