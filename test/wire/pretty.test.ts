import { describe, expect, it } from 'vitest';
import { buildUdpFrame, describeFrame, prettyLine, prettyTree } from '../../src/wire';
import { ARP_REQ, ICMP_ECHO_REPLY, ICMP_ECHO_REQ, TCP_SYN, UDP_HI, UDP_HI_VLAN } from './fixtures';

describe('prettyLine()', () => {
  it('prints one line per frame with every layer', () => {
    expect(prettyLine(UDP_HI)).toBe('EthernetII src=02:00:00:00:00:01 dst=02:00:00:00:00:02 type=IPv4 | IPv4 10.0.0.1 > 10.0.0.2 ttl=64 id=0 len=30 [DF] | UDP 1000 > 2000 len=2');
    expect(prettyLine(UDP_HI_VLAN)).toBe('EthernetII src=02:00:00:00:00:01 dst=02:00:00:00:00:02 vlan=10 pcp=5 type=IPv4 | IPv4 10.0.0.1 > 10.0.0.2 ttl=64 id=0 len=30 [DF] | UDP 1000 > 2000 len=2');
    expect(prettyLine(ICMP_ECHO_REQ)).toMatch(/\| ICMPv4 echo request id=1 seq=1 len=0$/);
    expect(prettyLine(ICMP_ECHO_REPLY)).toMatch(/\| ICMPv4 echo reply id=1 seq=1 len=0$/);
    expect(prettyLine(ARP_REQ)).toBe('EthernetII src=02:00:00:00:00:01 dst=ff:ff:ff:ff:ff:ff type=ARP | ARP who-has 10.0.0.2 tell 10.0.0.1 (02:00:00:00:00:01)');
    expect(prettyLine(TCP_SYN)).toMatch(/\| TCP 40000 > 80 \[S\] seq=1 ack=0 win=64240 len=0$/);
  });

  it('flags a bad checksum, or not when told the frame is CHECKSUM_PARTIAL', () => {
    const f = buildUdpFrame({ srcMac: '02:00:00:00:00:01', dstMac: '02:00:00:00:00:02', srcIp: '10.0.0.1', dstIp: '10.0.0.2', srcPort: 1000, dstPort: 2000, payloadLength: 2, checksum: 'partial' });
    expect(prettyLine(f)).toMatch(/UDP 1000 > 2000 len=2 \[bad cksum 0x141e\]$/);
    expect(prettyLine(f, 0, f.length, { checksums: false })).toMatch(/UDP 1000 > 2000 len=2$/);
  });

  it('prints what decodes and then the malformed field', () => {
    expect(prettyLine(UDP_HI, 0, 22)).toMatch(/^EthernetII .* \| IPv4 \[malformed ttl: truncated/);
    expect(prettyLine(UDP_HI, 0, 13)).toMatch(/^EthernetII \[malformed ethertype: truncated/);
    const cut = UDP_HI.slice();
    cut[39] = 200; // UDP length 200
    expect(prettyLine(cut)).toMatch(/\| UDP \[malformed length: truncated: length 200/);
  });
});

describe('prettyTree()', () => {
  it('prints a nested block per layer with named fields', () => {
    const t = prettyTree(UDP_HI_VLAN);
    expect(t.split('\n')[0]).toBe('Frame: 48 bytes');
    expect(t).toContain('    802.1Q: vid=10 pcp=5 dei=0 (tci 0xa00a)');
    expect(t).toContain('checksum:        0x26cd [correct]');
    expect(t).toMatch(/\n  UDP 1000 > 2000 len=2\n    src port: 1000\n    dst port: 2000\n    length:   10\n    checksum: 0x77b6 \[correct\]\n  Payload\n    length: 2\n    bytes:  68 69$/);
    expect(prettyTree(ARP_REQ)).toContain('    dst:  ff:ff:ff:ff:ff:ff (broadcast)');
  });

  it('describeFrame() gives the layers as data for notebook tables', () => {
    expect(describeFrame(TCP_SYN).map((l) => l.name)).toEqual(['EthernetII', 'IPv4', 'TCP']);
    expect(describeFrame(UDP_HI, 0, 37).map((l) => [l.name, l.error?.field])).toEqual([['EthernetII', undefined], ['IPv4', 'total_len']]);
  });
});
