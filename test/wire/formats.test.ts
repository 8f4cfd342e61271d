import { describe, expect, it } from 'vitest';
import {
  ArpPacket, ArpRepr, EthernetFrame, EthernetRepr, EtherType, etherTypeName, Icmpv4Packet, Icmpv4Repr, IpProtocol,
  ipProtocolName, Ipv4Addr, Ipv4Packet, Ipv4Repr, MacAddr, TcpFlags, tcpFlagsString, TcpPacket, TcpRepr, UdpPacket, UdpRepr,
  ETHERNET_HEADER_LEN, ETHERNET_VLAN_HEADER_LEN, IPV4_HEADER_LEN, UDP_HEADER_LEN, TCP_HEADER_LEN, ICMPV4_HEADER_LEN, ARP_LEN,
} from '../../src/wire';
import { ARP_REQ, ICMP_ECHO_REQ, TCP_SYN, UDP_HI, UDP_HI_VLAN, hex } from './fixtures';

const A5 = (n: number) => new Uint8Array(n).fill(0xa5);

describe('field tables', () => {
  it('header lengths are derived from the tables: 14/18, 20, 8, 20, 8, 28', () => {
    expect([ETHERNET_HEADER_LEN, ETHERNET_VLAN_HEADER_LEN, IPV4_HEADER_LEN, UDP_HEADER_LEN, TCP_HEADER_LEN, ICMPV4_HEADER_LEN, ARP_LEN]).toEqual([14, 18, 20, 8, 20, 8, 28]);
  });
  it('EtherType and IP protocol names keep unknown values as numbers', () => {
    expect(etherTypeName(EtherType.IPv4)).toBe('IPv4');
    expect(etherTypeName(0x88b5)).toBe('0x88b5');
    expect(ipProtocolName(IpProtocol.UDP)).toBe('UDP');
    expect(ipProtocolName(253)).toBe('proto 253');
  });
});

describe('Ethernet II and 802.1Q', () => {
  it('EthernetRepr.parse() reads the golden frame, and emit() into a 0xa5 buffer writes exactly its header', () => {
    const r = EthernetRepr.parse(new EthernetFrame(UDP_HI));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.dst.toString()).toBe('02:00:00:00:00:02');
    expect(r.value.src.toString()).toBe('02:00:00:00:00:01');
    expect(r.value.etherType).toBe(EtherType.IPv4);
    expect(r.value.vlan).toBeUndefined();
    const out = A5(20);
    EthernetRepr.emit(r.value, new EthernetFrame(out, 2, 14));
    expect(Array.from(out)).toEqual([0xa5, 0xa5, ...UDP_HI.subarray(0, 14), 0xa5, 0xa5, 0xa5, 0xa5]);
  });

  it('EthernetRepr parses and emits an 802.1Q tag (vid 10, pcp 5 → TCI 0xa00a)', () => {
    const f = new EthernetFrame(UDP_HI_VLAN);
    expect(f.hasVlan).toBe(true);
    expect(f.vid).toBe(10);
    expect(f.headerLen).toBe(18);
    expect(f.etherType).toBe(EtherType.IPv4);
    const r = EthernetRepr.parse(f);
    expect(r.ok && r.value.vlan).toEqual({ vid: 10, pcp: 5, dei: false });
    const out = A5(18);
    if (r.ok) EthernetRepr.emit(r.value, new EthernetFrame(out));
    expect(out).toEqual(UDP_HI_VLAN.subarray(0, 18));
  });

  it('reset() re-points a view at another frame, re-reading whether it is tagged', () => {
    const f = new EthernetFrame(UDP_HI);
    expect([f.headerLen, f.etherType]).toEqual([14, EtherType.IPv4]);
    expect(f.reset(UDP_HI_VLAN, 0, UDP_HI_VLAN.length)).toBe(f);
    expect([f.headerLen, f.vid, f.payloadOffset, f.etherType]).toEqual([18, 10, 18, EtherType.IPv4]);
    expect(f.reset(UDP_HI, 0, 16).checkLen()).toBeUndefined();
    expect(f.reset(UDP_HI_VLAN, 0, 16).checkLen()).toMatchObject({ layer: 'vlan' });
    const ip = new Ipv4Packet(UDP_HI, 14).reset(UDP_HI_VLAN, 18, 30);
    expect([ip.checkLen(), ip.ttl, ip.payloadLength]).toEqual([undefined, 64, 10]);
  });

  it('EthernetFrame.checked() names the field that is cut: ethertype at 13 bytes, the tag when tagged and short', () => {
    expect(EthernetFrame.checked(UDP_HI, 0, 13)).toMatchObject({ ok: false, error: { layer: 'ethernet', field: 'ethertype' } });
    expect(EthernetFrame.checked(UDP_HI, 0, 5)).toMatchObject({ ok: false, error: { layer: 'ethernet', field: 'dst' } });
    expect(EthernetFrame.checked(UDP_HI_VLAN, 0, 16)).toMatchObject({ ok: false, error: { layer: 'vlan', field: 'ethertype' } });
    expect(EthernetFrame.checked(UDP_HI, 40, 10)).toMatchObject({ ok: false, error: { layer: 'ethernet', field: 'header' } });
  });

  it('EthernetRepr.emit() throws naming the parameter on a bad VLAN id or an untagged 0x8100 type', () => {
    const r = { src: MacAddr.ZERO, dst: MacAddr.BROADCAST, etherType: EtherType.IPv4, vlan: { vid: 4096, pcp: 0, dei: false } };
    expect(() => EthernetRepr.emit(r, new EthernetFrame(new Uint8Array(18)))).toThrow(/vlan\.vid 4096 is not allowed; use an integer in 0\.\.4095/);
    expect(() => EthernetRepr.emit({ ...r, vlan: undefined, etherType: 0x8100 }, new EthernetFrame(new Uint8Array(18)))).toThrow(/etherType 33024/);
    expect(() => EthernetRepr.emit({ ...r, vlan: undefined }, new EthernetFrame(new Uint8Array(10)))).toThrow(/frame length 10/);
  });
});

describe('IPv4', () => {
  const ipOf = (f: Uint8Array) => new Ipv4Packet(f, 14, f.length - 14);

  it('Ipv4Repr.parse() reads the golden header and emit() into 0xa5 reproduces it, checksum included', () => {
    const r = Ipv4Repr.parse(ipOf(UDP_HI));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value).toMatchObject({ protocol: 17, ttl: 64, ident: 0, dontFrag: true, moreFrags: false, fragOffset: 0, payloadLen: 10, dscp: 0, ecn: 0 });
    expect(r.value.src.toString()).toBe('10.0.0.1');
    const out = A5(20);
    Ipv4Repr.emit(r.value, new Ipv4Packet(out));
    expect(out).toEqual(UDP_HI.subarray(14, 34));
  });

  it('Ipv4Repr honours options: ihl 6 carries 4 option bytes, covered by the checksum', () => {
    const base = Ipv4Repr.parse(ipOf(UDP_HI));
    if (!base.ok) throw new Error('fixture');
    const repr = { ...base.value, options: hex('01 01 01 00') }; // NOP NOP NOP EOL
    const out = A5(24);
    Ipv4Repr.emit(repr, new Ipv4Packet(out));
    expect(out[0]).toBe(0x46);
    expect(((out[2]! << 8) | out[3]!)).toBe(34);
    const back = new Ipv4Packet(out, 0, 24 + 10);
    // checkLen wants total_len (34) bytes present: a 24-byte view is truncated at total_len
    expect(Ipv4Packet.checked(out, 0, 24)).toMatchObject({ ok: false, error: { field: 'total_len' } });
    const full = new Uint8Array(34);
    full.set(out);
    const p = new Ipv4Packet(full);
    expect(p.verifyChecksum()).toBe(true);
    expect(p.headerLen).toBe(24);
    expect(p.payloadOffset).toBe(24);
    const again = Ipv4Repr.parse(p);
    expect(again.ok && Array.from(again.value.options)).toEqual([1, 1, 1, 0]);
    expect(back.headerLen).toBe(24);
  });

  it('Ipv4Packet.checked() names the field: truncated header, ihl below 5, options cut, total_len too short or too long', () => {
    expect(Ipv4Packet.checked(UDP_HI, 14, 8)).toMatchObject({ ok: false, error: { layer: 'ipv4', field: 'ttl' } });
    expect(Ipv4Packet.checked(UDP_HI, 14, 11)).toMatchObject({ ok: false, error: { layer: 'ipv4', field: 'checksum' } });
    const f = UDP_HI.slice(14);
    f[0] = 0x44;
    expect(Ipv4Packet.checked(f)).toMatchObject({ ok: false, error: { field: 'ihl' } });
    f[0] = 0x4f;
    expect(Ipv4Packet.checked(f)).toMatchObject({ ok: false, error: { field: 'options' } });
    f[0] = 0x45;
    f[3] = 19;
    expect(Ipv4Packet.checked(f)).toMatchObject({ ok: false, error: { field: 'total_len' } });
    f[3] = 31;
    expect(Ipv4Packet.checked(f)).toMatchObject({ ok: false, error: { field: 'total_len', message: expect.stringMatching(/truncated/) } });
  });

  it('Ipv4Repr.parse() rejects version 6 and a wrong checksum naming the field, unless told not to verify', () => {
    const f = UDP_HI.slice(14);
    f[8] = 63; // TTL changed, checksum now wrong
    expect(Ipv4Repr.parse(new Ipv4Packet(f))).toMatchObject({ ok: false, error: { field: 'checksum' } });
    expect(Ipv4Repr.parse(new Ipv4Packet(f), { verifyChecksum: false }).ok).toBe(true);
    f[0] = 0x65;
    expect(Ipv4Repr.parse(new Ipv4Packet(f), { verifyChecksum: false })).toMatchObject({ ok: false, error: { field: 'version' } });
  });

  it('a padded Ethernet frame keeps the IP payload at total_len, not the frame end', () => {
    const padded = new Uint8Array(60);
    padded.set(UDP_HI);
    const p = new Ipv4Packet(padded, 14, 46);
    expect(p.checkLen()).toBeUndefined();
    expect(p.payloadLength).toBe(10);
  });
});

describe('UDP', () => {
  it('UdpRepr.parse() verifies the hand-computed checksum 0x77b6, and emit() into 0xa5 reproduces the header', () => {
    const u = new UdpPacket(UDP_HI, 34, 10);
    expect(u.checksum).toBe(0x77b6);
    const r = UdpRepr.parse(u, Ipv4Addr.parse('10.0.0.1').value, Ipv4Addr.parse('10.0.0.2').value);
    expect(r).toEqual({ ok: true, value: { srcPort: 1000, dstPort: 2000, payloadLen: 2, checksum: 'full' } });
    const out = A5(10);
    out.set([0x68, 0x69], 8);
    if (r.ok) UdpRepr.emit(r.value, new UdpPacket(out), 0x0a000001, 0x0a000002);
    expect(out).toEqual(UDP_HI.subarray(34));
  });

  it('UdpRepr.parse() fails on a wrong checksum (other addresses), accepts a zero checksum as none', () => {
    const u = new UdpPacket(UDP_HI, 34, 10);
    expect(UdpRepr.parse(u, 0x0a000001, 0x0a000003)).toMatchObject({ ok: false, error: { layer: 'udp', field: 'checksum' } });
    const z = UDP_HI.slice(34);
    z[6] = 0;
    z[7] = 0;
    expect(UdpRepr.parse(new UdpPacket(z), 1, 2)).toMatchObject({ ok: true, value: { checksum: 'none' } });
  });

  it('UdpPacket.checked() names length when it is below 8 or beyond the bytes present', () => {
    const z = UDP_HI.slice(34);
    z[5] = 7;
    expect(UdpPacket.checked(z)).toMatchObject({ ok: false, error: { field: 'length' } });
    z[5] = 11;
    expect(UdpPacket.checked(z)).toMatchObject({ ok: false, error: { field: 'length' } });
    expect(UdpPacket.checked(z, 0, 5)).toMatchObject({ ok: false, error: { field: 'length', message: expect.stringMatching(/truncated/) } });
  });
});

describe('ICMPv4', () => {
  it('Icmpv4Repr.parse() verifies the hand-computed 0xf7fd and emit() into 0xa5 reproduces the message', () => {
    const m = new Icmpv4Packet(ICMP_ECHO_REQ, 34, 8);
    const r = Icmpv4Repr.parse(m);
    expect(r).toEqual({ ok: true, value: { type: 8, code: 0, ident: 1, seqNo: 1, payloadLen: 0 } });
    const out = A5(8);
    if (r.ok) Icmpv4Repr.emit(r.value, new Icmpv4Packet(out));
    expect(out).toEqual(ICMP_ECHO_REQ.subarray(34));
  });
  it('Icmpv4Repr.parse() names the checksum field when it is wrong and the truncated field when short', () => {
    const b = ICMP_ECHO_REQ.slice(34);
    b[7] = 2;
    expect(Icmpv4Repr.parse(new Icmpv4Packet(b))).toMatchObject({ ok: false, error: { layer: 'icmpv4', field: 'checksum' } });
    expect(Icmpv4Packet.checked(b, 0, 5)).toMatchObject({ ok: false, error: { field: 'ident' } });
  });
});

describe('ARP', () => {
  it('ArpRepr.parse() reads a who-has and emit() into 0xa5 reproduces it', () => {
    const r = ArpRepr.parse(new ArpPacket(ARP_REQ, 14));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.operation).toBe(1);
    expect(r.value.senderIp.toString()).toBe('10.0.0.1');
    expect(r.value.targetIp.toString()).toBe('10.0.0.2');
    expect(r.value.targetMac.isZero()).toBe(true);
    const out = A5(28);
    ArpRepr.emit(r.value, new ArpPacket(out));
    expect(out).toEqual(ARP_REQ.subarray(14));
  });
  it('ArpPacket.checked() and ArpRepr.parse() name hlen, plen, htype, ptype and truncation', () => {
    const b = ARP_REQ.slice(14);
    expect(ArpPacket.checked(b, 0, 27)).toMatchObject({ ok: false, error: { field: 'tpa' } });
    expect(ArpPacket.checked(b, 0, 6)).toMatchObject({ ok: false, error: { field: 'oper' } });
    const h = b.slice();
    h[4] = 8;
    expect(ArpPacket.checked(h)).toMatchObject({ ok: false, error: { field: 'hlen' } });
    const p = b.slice();
    p[5] = 16;
    expect(ArpPacket.checked(p)).toMatchObject({ ok: false, error: { field: 'plen' } });
    const t = b.slice();
    t[1] = 6;
    expect(ArpRepr.parse(new ArpPacket(t))).toMatchObject({ ok: false, error: { field: 'htype' } });
    const q = b.slice();
    q[2] = 0x86;
    expect(ArpRepr.parse(new ArpPacket(q))).toMatchObject({ ok: false, error: { field: 'ptype' } });
  });
});

describe('TCP', () => {
  it('TcpRepr.parse() verifies the hand-computed 0x045e of a SYN and emit() into 0xa5 reproduces it', () => {
    const t = new TcpPacket(TCP_SYN, 34, 20);
    const r = TcpRepr.parse(t, 0x0a000001, 0x0a000002);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value).toMatchObject({ srcPort: 40000, dstPort: 80, seq: 1, ack: 0, flags: TcpFlags.SYN, window: 64240, urgent: 0, payloadLen: 0 });
    expect(tcpFlagsString(r.value.flags)).toBe('S');
    const out = A5(20);
    TcpRepr.emit(r.value, new TcpPacket(out), 0x0a000001, 0x0a000002);
    expect(out).toEqual(TCP_SYN.subarray(34));
  });

  it('TcpRepr keeps options (data offset 6) and flags letters follow tcpdump', () => {
    const r = { srcPort: 1, dstPort: 2, seq: 0xfffffffe, ack: 7, flags: TcpFlags.SYN | TcpFlags.ACK, window: 1000, urgent: 0, options: hex('02 04 05 b4'), payloadLen: 0, checksum: 'full' as const };
    const out = A5(24);
    TcpRepr.emit(r, new TcpPacket(out), 1, 2);
    expect(out[12]).toBe(0x60);
    const back = TcpRepr.parse(new TcpPacket(out), 1, 2);
    expect(back.ok && back.value.seq).toBe(0xfffffffe);
    expect(back.ok && Array.from(back.value.options)).toEqual([2, 4, 5, 0xb4]);
    expect(tcpFlagsString(r.flags)).toBe('S.');
    expect(tcpFlagsString(TcpFlags.FIN | TcpFlags.ACK)).toBe('F.');
    expect(tcpFlagsString(0)).toBe('none');
  });

  it('TcpPacket.checked() names data_offset below 5 and options past the end', () => {
    const b = TCP_SYN.slice(34);
    b[12] = 0x40;
    expect(TcpPacket.checked(b)).toMatchObject({ ok: false, error: { layer: 'tcp', field: 'data_offset' } });
    b[12] = 0x60;
    expect(TcpPacket.checked(b)).toMatchObject({ ok: false, error: { field: 'options' } });
    expect(TcpPacket.checked(b, 0, 17)).toMatchObject({ ok: false, error: { field: 'checksum' } });
  });
});
