import { describe, expect, it } from 'vitest';
import { SkBuff } from '../../src/net/skb';
import { jhash_3words, reciprocal_scale, skb_get_hash, skb_record_rx_queue, skb_tx_hash } from '../../src/net/flow-hash';
import { buildArp, buildIcmpEcho, buildUdpFrame } from '../../src/wire/build';

function skbOf(frame: Uint8Array): SkBuff {
  const skb = new SkBuff();
  skb.head.set(frame, skb.put(frame.length));
  return skb;
}

const A = { srcMac: '00:16:3e:00:00:0b', dstMac: '00:16:3e:00:00:01' };
function udp(srcIp: string, sport: number, dstIp: string, dport: number): SkBuff {
  return skbOf(buildUdpFrame({ ...A, srcIp, dstIp, srcPort: sport, dstPort: dport, payloadLength: 18 }));
}

describe('jhash_3words', () => {
  it('matches the kernel macro compiled with gcc (include/linux/jhash.h before v4.1)', () => {
    // Values printed by a C program built from jhash_3words/__jhash_final as the header has them.
    expect(jhash_3words(0, 0, 0, 0)).toBe(3232801474);
    expect(jhash_3words(1, 2, 3, 4)).toBe(334331771);
    expect(jhash_3words(0xdeadbeef, 0x12345678, 0xffffffff, 0x9e3779b9)).toBe(2133487826);
  });

  it('reciprocal_scale takes the top bits of val × n', () => {
    expect(reciprocal_scale(3141560667, 3)).toBe(2);
    expect(reciprocal_scale(0, 8)).toBe(0);
    expect(reciprocal_scale(0xffffffff, 8)).toBe(7);
  });
});

describe('skb_get_hash', () => {
  it('hashes the IPv4 addresses and UDP ports as x86 reads them (same value as the C code)', () => {
    // 10.0.0.11:5000 → 10.0.0.1:6000 with hashrnd 0x01020304: 3141560667 from the C program.
    const skb = udp('10.0.0.11', 5000, '10.0.0.1', 6000);
    expect(skb_get_hash(skb, 0x01020304)).toBe(3141560667);
    expect(skb.swHash).toBe(true);
    expect(skb.l4Hash).toBe(true);
    expect(skb.hash).toBe(3141560667);
  });

  it('gives both directions of a flow the same hash, and another flow another one', () => {
    const r = 0x5eed1234;
    const there = skb_get_hash(udp('10.0.0.11', 5000, '10.0.0.1', 6000), r);
    const back = skb_get_hash(udp('10.0.0.1', 6000, '10.0.0.11', 5000), r);
    expect(back).toBe(there);
    expect(skb_get_hash(udp('10.0.0.11', 5001, '10.0.0.1', 6000), r)).not.toBe(there);
    expect(skb_get_hash(udp('10.0.0.11', 5000, '10.0.0.1', 6000), r + 1)).not.toBe(there);
  });

  it('is computed once: a cached hash is returned even with another secret', () => {
    const skb = udp('10.0.0.11', 5000, '10.0.0.1', 6000);
    const h = skb_get_hash(skb, 1);
    expect(skb_get_hash(skb, 2)).toBe(h);
    skb.reset();
    expect(skb.swHash).toBe(false);
    expect(skb.hash).toBe(0);
  });

  it('leaves the ports out of a fragment and of ICMP, and gives ARP no hash', () => {
    const r = 77;
    const frag = udp('10.0.0.11', 5000, '10.0.0.1', 6000);
    frag.head[frag.data + 14 + 6] = 0x20; // IP_MF
    const noPorts = udp('10.0.0.11', 1, '10.0.0.1', 2);
    noPorts.head.fill(0, noPorts.data + 34, noPorts.data + 38); // ports 0 → the hash of the addresses alone
    const hFrag = skb_get_hash(frag, r);
    expect(frag.l4Hash).toBe(false);
    expect(hFrag).toBe(skb_get_hash(noPorts, r));
    const ping = skbOf(buildIcmpEcho({ ...A, srcIp: '10.0.0.11', dstIp: '10.0.0.1', ident: 9, seqNo: 1, payloadLength: 56 }));
    expect(skb_get_hash(ping, r)).toBe(hFrag);
    expect(ping.l4Hash).toBe(false);
    const arp = skbOf(buildArp({ senderMac: A.srcMac, senderIp: '10.0.0.11', targetIp: '10.0.0.1' }));
    expect(skb_get_hash(arp, r)).toBe(0);
    expect(arp.swHash).toBe(false);
  });

  it('spreads many flows over the queues', () => {
    const used = new Array<number>(4).fill(0);
    for (let port = 1000; port < 1064; port++) used[skb_get_hash(udp('10.0.0.11', port, '10.0.0.1', 6000), 0xabcdef) % 4]!++;
    expect(used.every((n) => n >= 6)).toBe(true);
  });
});

describe('skb_tx_hash', () => {
  it('follows the rx queue the NIC recorded, wrapped to the number of queues', () => {
    const skb = udp('10.0.0.11', 5000, '10.0.0.1', 6000);
    skb_record_rx_queue(skb, 4);
    expect(skb.queueMapping).toBe(5);
    expect(skb_tx_hash(skb, 1, 3)).toBe(1);
    expect(skb.swHash).toBe(false); // no hash needed
  });

  it('scales the flow hash into [0, n) when no rx queue was recorded', () => {
    const skb = udp('10.0.0.11', 5000, '10.0.0.1', 6000);
    expect(skb_tx_hash(skb, 0x01020304, 3)).toBe(2);
  });
});
