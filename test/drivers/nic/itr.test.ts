import { describe, expect, it } from 'vitest';
import {
  eitrIntervalNs, initialItr, ITR_ADAPTIVE_LATENCY, ixgbe_set_itr, ixgbe_update_itr, IXGBE_20K_ITR, newRingContainer,
  slowItrLink, type RingContainer,
} from '../../../src/drivers/nic/itr';

// Expected values worked by hand from ixgbe_update_itr (drivers/net/ethernet/intel/ixgbe/ixgbe_main.c).
const L = ITR_ADAPTIVE_LATENCY;

function container(packets: number, bytes: number, itr = 126 | L, nextUpdate = 5): RingContainer {
  return { itr, total_packets: packets, total_bytes: bytes, next_update: nextUpdate };
}

/** The ring container's itr after one update at jiffy 5 (due by 5), vector itr `vectorItr`. */
function update(packets: number, bytes: number, vectorItr = IXGBE_20K_ITR, slow = false, itr = 126 | L): number {
  const rc = container(packets, bytes, itr);
  ixgbe_update_itr(vectorItr, rc, 5, slow);
  expect(rc).toMatchObject({ total_packets: 0, total_bytes: 0, next_update: 6 });
  return rc.itr;
}

describe('ixgbe_update_itr()', () => {
  it('goes back to 10 µs in latency mode when the last update is more than a jiffy old, whatever the counts', () => {
    const rc = container(1000, 1_514_000, 118, 3);
    ixgbe_update_itr(472, rc, 4, false);
    expect(rc).toEqual({ itr: 10 | L, total_packets: 0, total_bytes: 0, next_update: 5 });
    const due = container(1000, 1_514_000, 118, 4);
    ixgbe_update_itr(472, due, 4, false); // due this jiffy: the counts decide
    expect(due.itr).toBe(118);
  });

  it('adds 2 µs to the vector\'s delay when its rings saw no packet, keeping the latency flag, up to 126 µs', () => {
    expect(update(0, 0, 200)).toBe(52 | L);
    expect(update(0, 0, 200, false, 60)).toBe(52);
    expect(update(0, 0, 600)).toBe(126 | L);
  });

  it('sizes a latency-mode delay from the average frame for under 4 packets and under 9000 bytes', () => {
    // ping: (98 × 40 + 2720) / 2 = 3320 → ⌈3320 / 512⌉ × 2 = 14 µs
    expect(update(1, 98)).toBe(14 | L);
    // 1514-byte frames: (1514 × 5 + 22420) / 2 = 14995 → 60 µs
    expect(update(3, 3 * 1514)).toBe(60 | L);
    // 9000 bytes or more is not latency-driven: 3 packets are then "4 to 47", +2 µs
    expect(update(3, 9000)).toBe(52);
  });

  it('nudges the delay by the packet count: +2 µs below 48, as it is below 96, halved below 256 (at least 10 µs)', () => {
    expect(update(4, 4 * 64)).toBe(52);
    expect(update(47, 47 * 1514, 500)).toBe(126);
    expect(update(48, 48 * 1514)).toBe(50);
    expect(update(95, 95 * 1514)).toBe(50);
    expect(update(96, 96 * 1514)).toBe(25);
    expect(update(255, 255 * 1514, 40)).toBe(10);
  });

  it('computes a bulk delay from the average frame size for 256 packets or more, in 2 µs steps', () => {
    const bulk = (avg: number, slow = false) => update(256, 256 * avg, IXGBE_20K_ITR, slow);
    expect(bulk(60)).toBe(20); // 5120 → 10 × 2
    expect(bulk(64)).toBe(22); // 64 × 40 + 2720 = 5280
    expect(bulk(316)).toBe(60); // 15360
    expect(bulk(317)).toBe(64); // 317 × 15 + 11452 = 16207
    expect(bulk(1084)).toBe(110); // 27712
    expect(bulk(1514)).toBe(118); // 29990: ~8.5 k interrupts/s
    expect(bulk(1967)).toBe(126); // 32255
    expect(bulk(1968)).toBe(126); // the 32256 plateau
    expect(update(300, 300 * 1514 + 299)).toBe(118); // bytes / packets is an integer division
    // 1 GbE (and 2.5G, 10M) count in 64ths, capped at 8064
    expect(bulk(64, true)).toBe(84);
    expect(bulk(1514, true)).toBe(126);
  });
});

describe('ixgbe_set_itr(), the EITR and rx-usecs', () => {
  it('takes the smaller of the rx and tx delays without the latency flag, in µs × 4', () => {
    const tx = newRingContainer();
    const rx = newRingContainer();
    rx.total_packets = 300;
    rx.total_bytes = 300 * 1514;
    rx.next_update = 1;
    tx.next_update = 1;
    // tx saw nothing: 50 + 2 µs with its latency flag (180); rx: bulk 118 µs
    const itr = ixgbe_set_itr(IXGBE_20K_ITR, tx, rx, 1, false);
    expect([tx.itr, rx.itr, itr]).toEqual([52 | L, 118, 472]);
    expect(eitrIntervalNs(itr)).toBe(118_000);
    // a lone ping each way in latency mode: 14 µs
    tx.total_packets = 1;
    tx.total_bytes = 98;
    rx.total_packets = 1;
    rx.total_bytes = 98;
    expect(ixgbe_set_itr(itr, tx, rx, 2, false)).toBe(14 << 2);
  });

  it('starts adaptive moderation at 20 k interrupts/s and fixed settings at rx-usecs µs, in the register\'s 2 µs steps', () => {
    expect(initialItr(1)).toBe(200);
    expect(eitrIntervalNs(initialItr(1))).toBe(50_000);
    expect(eitrIntervalNs(initialItr(0))).toBe(0);
    expect(eitrIntervalNs(initialItr(10))).toBe(10_000);
    expect(eitrIntervalNs(initialItr(5))).toBe(4_000); // bits 3-11 only
    expect(eitrIntervalNs(initialItr(1022))).toBe(1_022_000);
    expect(eitrIntervalNs(25 << 2)).toBe(24_000);
  });

  it('knows which link speeds count the delay in 64ths', () => {
    expect([1e9, 2.5e9, 10e6].map(slowItrLink)).toEqual([true, true, true]);
    expect([10e9, 100e6, 40e9].map(slowItrLink)).toEqual([false, false, false]);
  });
});
