/**
 * Fidelity audit of modern netback's guest-transmit side against Linux's
 * drivers/net/xen-netback/netback.c (with the XSA-423, -432 and -448 fixes): the order of the
 * checks in xenvif_tx_build_gops, what each malformed request gets (responses, drops, fatal
 * errors and their log lines), the multi-slot header copy, zero-size slots, credit scheduling.
 */
import { describe, expect, it } from 'vitest';
import { csum_tcpudp_magic } from '../../../src/wire/checksum';
import { makeHost, Frontend, udpFrame, skbBytes, type Host } from './harness';
import {
  NETIF_RSP_OKAY, NETIF_RSP_ERROR, NETIF_RSP_NULL, NETTXF_more_data, NETTXF_extra_info, NETTXF_csum_blank,
  XEN_NETIF_EXTRA_FLAG_MORE, writeTxRequest,
} from '../../../src/io/netif';
import { RING_GET_RESPONSE, RING_GET_REQUEST, RING_PUSH_REQUESTS_AND_CHECK_NOTIFY, SharedRing, XEN_FRONT_RING_INIT } from '../../../src/io/ring';
import { CHECKSUM_PARTIAL, type SkBuff } from '../../../src/net/skb';
import { netbackKernelLog } from '../../../src/topo/lab-misbehave';
import { tx_add_credit } from '../../../src/drivers/netback/modern/netback';
import { creditWindowNs } from '../../../src/drivers/netback/common';
import { writeMacKey } from '../../../src/wire/address';
import type { AnyTraceRecord } from '../../../src/sim/trace';

const MS = 1_000_000;

/** Writes one packet over several slots: slot i holds `sizes[i]` bytes of `frame` at `offsets[i]`. */
function sendSlots(fe: Frontend, frame: Uint8Array, sizes: number[], opts: { ids?: number[]; offsets?: number[]; total?: number; flags0?: number; grefs?: (number | undefined)[] } = {}): number[] {
  const grefs: number[] = [];
  let at = 0;
  for (let i = 0; i < sizes.length; i++) {
    const off = opts.offsets?.[i] ?? 0;
    const given = opts.grefs?.[i];
    const gref = given ?? fe.grantRO(fe.page(frame.subarray(at, at + sizes[i]!), off).pfn);
    at += sizes[i]!;
    grefs.push(gref);
  }
  const total = opts.total ?? sizes.reduce((a, b) => a + b, 0);
  for (let i = 0; i < sizes.length; i++) {
    const more = i < sizes.length - 1 ? NETTXF_more_data : 0;
    fe.txReq(grefs[i]!, opts.offsets?.[i] ?? 0, more | (i === 0 ? opts.flags0 ?? 0 : 0), opts.ids?.[i] ?? i, i === 0 ? total : sizes[i]!);
  }
  return grefs;
}

/** sendSlots, then RING_PUSH_REQUESTS_AND_CHECK_NOTIFY and run the host until it is idle. */
function sendAndRun(h: Host, fe: Frontend, frame: Uint8Array, sizes: number[], opts: Parameters<typeof sendSlots>[3] = {}): number[] {
  const grefs = sendSlots(fe, frame, sizes, opts);
  fe.pushTx();
  h.sim.run();
  return grefs;
}

function setup(overrides: Record<string, number | boolean | string> = {}): { h: Host; fe: Frontend } {
  const h = makeHost(overrides);
  const fe = new Frontend(h, 'guest1');
  fe.connect('modern');
  return { h, fe };
}

function responses(fe: Frontend, n: number): { id: number; status: number }[] {
  const out = [];
  for (let i = 0; i < n; i++) out.push(fe.txRsp(i));
  return out;
}

function fatalReasons(h: Host): string[] {
  const out: string[] = [];
  h.sim.trace.on('netback.fatal', (r) => out.push(r.reason as string));
  return out;
}

describe('xenvif_tx_build_gops(): the edges of the first slot\'s checks', () => {
  it('a 14-byte (ETH_HLEN) first slot is taken, 13 bytes is dropped as bad_size; a slot ending at the page end is taken, one byte further is fatal', () => {
    const { h, fe } = setup();
    const reasons = fatalReasons(h);
    const frame = udpFrame(300);
    sendAndRun(h, fe, frame, [14], { ids: [1] });
    expect(h.stack.received).toHaveLength(1);
    sendAndRun(h, fe, frame, [13], { ids: [2] });
    expect(h.stack.received).toHaveLength(1);
    expect(h.sim.drops.total({ where: fe.vif.name, reason: 'bad_size' })).toBe(1);
    sendAndRun(h, fe, frame, [96], { ids: [3], offsets: [4000] }); // [4000, 4096)
    expect(h.stack.received).toHaveLength(2);
    expect(reasons).toEqual([]);
    const g = fe.grantRO(fe.page(frame.subarray(0, 96), 4000).pfn);
    sendAndRun(h, fe, frame, [97], { ids: [4], offsets: [4000], grefs: [g] }); // [4000, 4097)
    expect(reasons).toEqual(['txreq.offset: 4000, size: 97, end: 4097']);
    expect(fe.vif.disabled).toBe(true);
  });
});

describe('XSA-423: the first data_len = min(total, 128) bytes are copied slot by slot', () => {
  it('xenvif_get_requests() copies a header split over 20 + 30 + 78 bytes of three slots into the linear area', () => {
    const { h, fe } = setup();
    const frame = udpFrame(1500);
    const batches: AnyTraceRecord[] = [];
    h.sim.trace.on('netback.tx.batch', (r) => batches.push(r));
    sendAndRun(h, fe, frame, [20, 30, 1450], { ids: [11, 12, 13] });
    expect(h.stack.received).toHaveLength(1);
    const skb = h.stack.received[0]!;
    expect(skb.headLen).toBe(128);
    expect(skb.nrFrags).toBe(1); // the last 1372 bytes of slot 2, mapped
    expect(skb.len).toBe(1500);
    expect(Array.from(skbBytes(skb))).toEqual(Array.from(frame));
    expect(batches[0]).toMatchObject({ copies: 3, maps: 1 });
    // The two fully copied slots are answered right after the copy; slot 2 waits for dom0.
    expect(fe.tx.sring.rsp_prod).toBe(2);
    expect(responses(fe, 2)).toEqual([{ id: 11, status: NETIF_RSP_OKAY }, { id: 12, status: NETIF_RSP_OKAY }]);
    h.stack.freeAll();
    h.sim.run();
    expect(fe.tx.sring.rsp_prod).toBe(3);
    expect(fe.txRsp(2)).toEqual({ id: 13, status: NETIF_RSP_OKAY });
    expect(fe.vif.counters.tx_unmap_ops).toBe(1);
  });

  it('a header that ends exactly at a slot boundary maps nothing of that slot (20 + 108 bytes, then a 600-byte slot)', () => {
    const { h, fe } = setup();
    const frame = udpFrame(728);
    sendAndRun(h, fe, frame, [20, 108, 600]);
    const skb = h.stack.received[0]!;
    expect(skb.headLen).toBe(128);
    expect(skb.nrFrags).toBe(1);
    expect(Array.from(skbBytes(skb))).toEqual(Array.from(frame));
    expect(fe.vif.counters.tx_copy_ops).toBe(2);
    expect(fe.vif.counters.tx_map_ops).toBe(1);
  });

  it('split headers of several packets in one poll each land in their own skb', () => {
    const { h, fe } = setup();
    const frames = [udpFrame(300, 1), udpFrame(900, 2), udpFrame(60, 3)];
    sendSlots(fe, frames[0]!, [14, 14, 272]);
    sendSlots(fe, frames[1]!, [100, 800]);
    sendAndRun(h, fe, frames[2]!, [30, 30]);
    expect(h.stack.received).toHaveLength(3);
    expect(h.stack.received.map((s) => s.headLen)).toEqual([128, 128, 60]);
    for (let i = 0; i < 3; i++) expect(Array.from(skbBytes(h.stack.received[i]!))).toEqual(Array.from(frames[i]!));
    h.stack.freeAll();
    h.sim.run();
    expect(fe.tx.sring.rsp_prod).toBe(7);
    expect(responses(fe, 7).every((r) => r.status === NETIF_RSP_OKAY)).toBe(true);
    expect(h.stack.pool.outstanding).toBe(0);
  });

  it('xenvif_tx_check_gop(): a failed copy of a middle header slot answers it ERROR, the copied slot before it OKAY, the shared slot ERROR; the skb is dropped', () => {
    const { h, fe } = setup();
    const frame = udpFrame(1500);
    sendAndRun(h, fe, frame, [20, 30, 1450], { ids: [1, 2, 3], grefs: [undefined, 4242, undefined] });
    expect(h.stack.received).toHaveLength(0);
    expect(fe.tx.sring.rsp_prod).toBe(3);
    expect(responses(fe, 3)).toEqual([
      { id: 1, status: NETIF_RSP_OKAY }, { id: 2, status: NETIF_RSP_ERROR }, { id: 3, status: NETIF_RSP_ERROR },
    ]);
    expect(h.sim.drops.total({ where: 'vif1.0', reason: 'bad_grant' })).toBe(1);
    expect(fe.vif.counters.tx_unmap_ops).toBe(1); // the mapped remainder of slot 2, unmapped at once
    expect(fe.vif.queues[0]!.nrPendingReqs).toBe(0);
    expect(fe.vif.disabled).toBe(false);
  });
});

describe('XSA-448: zero-size slots', () => {
  it('a zero-size fragment slot is answered OKAY while the ops are built and never becomes a frag; its grant is never used', () => {
    const { h, fe } = setup();
    const frame = udpFrame(1500);
    // Slot 1 carries no data and a grant ref that does not exist.
    sendAndRun(h, fe, frame, [1000, 0, 500], { ids: [21, 22, 23], grefs: [undefined, 999999, undefined] });
    expect(h.stack.received).toHaveLength(1);
    const skb = h.stack.received[0]!;
    expect(skb.nrFrags).toBe(2);
    for (let i = 0; i < skb.nrFrags; i++) expect(skb.fragLen[i]!).toBeGreaterThan(0);
    expect(Array.from(skbBytes(skb))).toEqual(Array.from(frame));
    expect(fe.vif.counters.tx_map_ops).toBe(2);
    // The empty slot's response is the first on the ring: written before the copy hypercall.
    expect(fe.tx.sring.rsp_prod).toBe(1);
    expect(fe.txRsp(0)).toEqual({ id: 22, status: NETIF_RSP_OKAY });
    h.stack.freeAll();
    h.sim.run();
    expect(responses(fe, 3).map((r) => r.id).sort()).toEqual([21, 22, 23]);
    expect(responses(fe, 3).every((r) => r.status === NETIF_RSP_OKAY)).toBe(true);
    expect(h.sim.drops.total()).toBe(0);
  });

  it('a zero-size slot inside the copied header area becomes a zero-length copy op (answered after the copy)', () => {
    const { h, fe } = setup();
    const frame = udpFrame(1500);
    sendAndRun(h, fe, frame, [100, 0, 1400]);
    const skb = h.stack.received[0]!;
    expect(skb.headLen).toBe(128);
    expect(Array.from(skbBytes(skb))).toEqual(Array.from(frame));
    expect(fe.vif.counters.tx_copy_ops).toBe(3);
    const q = fe.vif.queues[0]!;
    expect(q.txCopyOps.len(1)).toBe(0);
    expect(fe.tx.sring.rsp_prod).toBe(2);
  });

  it('several trailing zero-size slots: each answered at once, the packet keeps only its data frags', () => {
    const { h, fe } = setup();
    const frame = udpFrame(600);
    sendAndRun(h, fe, frame, [600, 0, 0, 0], { ids: [1, 2, 3, 4] });
    expect(h.stack.received[0]!.nrFrags).toBe(1);
    expect(responses(fe, 3)).toEqual([2, 3, 4].map((id) => ({ id, status: NETIF_RSP_OKAY })));
  });
});

describe('XSA-432 and the frag_list', () => {
  it('18 slots with a 200-byte first slot: the whole first slot is copied (17 frags left for the rest)', () => {
    const { h, fe } = setup();
    const frame = udpFrame(200 + 17 * 100);
    sendAndRun(h, fe, frame, [200, ...Array<number>(17).fill(100)]);
    const skb = h.stack.received[0]!;
    expect(skb.headLen).toBe(200);
    expect(skb.nrFrags).toBe(17);
    expect(Array.from(skbBytes(skb))).toEqual(Array.from(frame));
    expect(fe.vif.counters.tx_frag_overflow).toBe(0);
  });

  it('six XSA-432 packets (whole first slot copied) are built in one poll', () => {
    const { h, fe } = setup();
    const batches: AnyTraceRecord[] = [];
    h.sim.trace.on('netback.tx.batch', (r) => batches.push(r));
    const frame = udpFrame(300 + 17 * 100);
    const g = fe.grantRO(fe.page(frame.subarray(0, 300)).pfn);
    const gf = fe.grantRO(fe.page(frame.subarray(300, 400)).pfn);
    for (let p = 0; p < 6; p++) {
      for (let i = 0; i < 18; i++) fe.txReq(i === 0 ? g : gf, 0, i < 17 ? NETTXF_more_data : 0, p * 18 + i, i === 0 ? frame.length : 100);
    }
    fe.pushTx();
    h.sim.run();
    expect(batches[0]).toMatchObject({ skbs: 6, copies: 6, maps: 6 * 17 });
    expect(h.stack.received.map((s) => s.headLen)).toEqual([300, 300, 300, 300, 300, 300]);
  });

  it('18 slots with a 20-byte first slot: data_len stays 128 and spans slots 0 and 1', () => {
    const { h, fe } = setup();
    const frame = udpFrame(20 + 17 * 100);
    sendAndRun(h, fe, frame, [20, ...Array<number>(17).fill(100)]);
    const skb = h.stack.received[0]!;
    expect(skb.headLen).toBe(128);
    expect(skb.nrFrags).toBe(16);
    expect(Array.from(skbBytes(skb))).toEqual(Array.from(frame));
    expect(fe.vif.counters.tx_copy_ops).toBe(3); // 20 + 100 + 8
  });

  it('19 slots of 100 bytes: 18 mapped frags overflow MAX_SKB_FRAGS; xenvif_handle_frag_list copies them and both ubuf chains complete', () => {
    const { h, fe } = setup();
    const frame = udpFrame(1900);
    sendAndRun(h, fe, frame, Array<number>(19).fill(100));
    const skb = h.stack.received[0]!;
    expect(Array.from(skbBytes(skb))).toEqual(Array.from(frame));
    expect(skb.headLen).toBe(128);
    const c = fe.vif.counters;
    expect(c.tx_frag_overflow).toBe(1);
    expect(c.tx_zerocopy_sent).toBe(2);
    expect(c.tx_zerocopy_success).toBe(2);
    expect(fe.tx.sring.rsp_prod).toBe(19);
    expect(responses(fe, 19).every((r) => r.status === NETIF_RSP_OKAY)).toBe(true);
    expect(fe.vif.queues[0]!.nrPendingReqs).toBe(0);
  });
});

describe('xenvif_count_requests() and the size checks', () => {
  it('a fragment larger than the remaining size (a >= 64 KiB packet wrapped the u16) drops the packet with ERROR for every slot, not fatal, and ends the poll', () => {
    const { h, fe } = setup();
    const batches: AnyTraceRecord[] = [];
    h.sim.trace.on('netback.tx.batch', (r) => batches.push(r));
    const frame = udpFrame(3000);
    sendSlots(fe, frame, [1000, 2000, 1000], { ids: [5, 6, 7], total: 2500 });
    fe.sendOne(udpFrame(500), 8);
    fe.pushTx();
    h.sim.run();
    expect(fe.vif.disabled).toBe(false);
    expect(responses(fe, 3)).toEqual([5, 6, 7].map((id) => ({ id, status: NETIF_RSP_ERROR })));
    expect(h.sim.drops.total({ reason: 'frag_size_overflow' })).toBe(1);
    // Linux breaks out of xenvif_tx_build_gops after the drop: the next packet goes in a new poll.
    expect(batches.map((b) => b.copies)).toEqual([0, 1]);
    expect(h.stack.received).toHaveLength(1);
  });

  it('a packet of 19 further slots (below fatal_skb_slots) is dropped with ERROR; the next packet is built in the following poll', () => {
    const { h, fe } = setup();
    const batches: AnyTraceRecord[] = [];
    h.sim.trace.on('netback.tx.batch', (r) => batches.push(r));
    const p = fe.page(udpFrame(100), 0);
    const g = fe.grantRO(p.pfn);
    for (let i = 0; i < 20; i++) fe.txReq(g, 0, i < 19 ? NETTXF_more_data : 0, i, i === 0 ? 2000 : 100);
    fe.sendOne(udpFrame(400), 77);
    fe.pushTx();
    h.sim.run();
    expect(responses(fe, 20).every((r) => r.status === NETIF_RSP_ERROR)).toBe(true);
    expect(batches.map((b) => b.copies)).toEqual([0, 1]);
    expect(h.stack.received).toHaveLength(1);
  });

  it('"Asked for N slots": a more_data chain running past the pushed requests is fatal', () => {
    const { h, fe } = setup();
    const reasons = fatalReasons(h);
    const frame = udpFrame(1000);
    const g = fe.grantRO(fe.page(frame).pfn);
    fe.txReq(g, 0, NETTXF_more_data, 1, 1000);
    fe.txReq(g, 0, NETTXF_more_data, 2, 500);
    fe.pushTx();
    h.sim.run();
    expect(reasons).toEqual(['Asked for 1 slots but exceeds this limit']);
    expect(fe.vif.disabled).toBe(true);
    expect(fe.tx.sring.rsp_prod).toBe(0);
  });

  it('"Cross page boundary": a fragment with offset + size > 4096 is fatal, even inside a packet already being dropped', () => {
    for (const dropping of [false, true]) {
      const { h, fe } = setup();
      const reasons = fatalReasons(h);
      const g = fe.grantRO(fe.page(udpFrame(1000)).pfn);
      // dropping: slot 1 is larger than what remains of the total, then slot 2 crosses the page.
      fe.txReq(g, 0, NETTXF_more_data, 1, dropping ? 1100 : 3000);
      fe.txReq(g, 0, NETTXF_more_data, 2, 1000);
      fe.txReq(g, 4000, 0, 3, 200);
      fe.pushTx();
      h.sim.run();
      expect(reasons).toEqual(['Cross page boundary, txp->offset: 4000, size: 200']);
      expect(fe.vif.disabled).toBe(true);
      expect(fe.tx.sring.rsp_prod).toBe(0);
    }
  });

  it('size < ETH_HLEN applies to the first slot\'s own length: 10 + 90 bytes get ERROR for both slots, not fatal', () => {
    const { h, fe } = setup();
    const frame = udpFrame(100);
    sendAndRun(h, fe, frame, [10, 90], { ids: [31, 32] });
    expect(h.stack.received).toHaveLength(0);
    expect(responses(fe, 2)).toEqual([{ id: 31, status: NETIF_RSP_ERROR }, { id: 32, status: NETIF_RSP_ERROR }]);
    expect(h.sim.drops.total({ reason: 'bad_size' })).toBe(1);
    expect(fe.vif.disabled).toBe(false);
  });

  it('xenvif_tx_err(): an ERROR response for a packet with an extra is followed by one NULL response per extra slot', () => {
    const { h, fe } = setup();
    const g = fe.grantRO(fe.page(udpFrame(100)).pfn);
    fe.txReq(g, 0, NETTXF_extra_info | NETTXF_more_data, 41, 100);
    fe.txExtra([1, XEN_NETIF_EXTRA_FLAG_MORE, 0xa8, 0x05, 1, 0, 0, 0]); // GSO, more extras follow
    fe.txExtra([5, 0, 0, 0, 0, 0, 0, 0]); // XDP headroom (Linux-only type 5)
    fe.txReq(g, 0, 0, 42, 92); // first slot keeps 8 bytes < ETH_HLEN
    fe.pushTx();
    h.sim.run();
    expect(fe.tx.sring.rsp_prod).toBe(4);
    expect(responses(fe, 4).map((r) => r.status)).toEqual([NETIF_RSP_ERROR, NETIF_RSP_NULL, NETIF_RSP_NULL, NETIF_RSP_ERROR]);
    expect(fe.txRsp(0).id).toBe(41);
    expect(fe.txRsp(3).id).toBe(42);
  });

  it('the first slot\'s page check uses its own length: offset 3000 + 1000 bytes of a 1500-byte packet is accepted', () => {
    const { h, fe } = setup();
    const frame = udpFrame(1500);
    sendAndRun(h, fe, frame, [1000, 500], { offsets: [3000, 0] });
    expect(fe.vif.disabled).toBe(false);
    expect(Array.from(skbBytes(h.stack.received[0]!))).toEqual(Array.from(frame));
  });
});

describe('xenvif_tx_check_gop() map errors and xenvif_tx_submit()', () => {
  it('XSA-367: a failed map of a middle frag answers it ERROR, then the frags before it and after it are unmapped and answered OKAY; the skb is dropped', () => {
    const { h, fe } = setup();
    const frame = udpFrame(2500);
    sendAndRun(h, fe, frame, [1000, 1000, 500], { ids: [1, 2, 3], grefs: [undefined, 31337, undefined] });
    expect(h.stack.received).toHaveLength(0);
    // Order of the releases: the failing frag, the preceding frag (slot 0's mapped rest), the next frag.
    expect(responses(fe, 3)).toEqual([
      { id: 2, status: NETIF_RSP_ERROR }, { id: 1, status: NETIF_RSP_OKAY }, { id: 3, status: NETIF_RSP_OKAY },
    ]);
    expect(fe.vif.counters.tx_unmap_ops).toBe(2);
    expect(fe.vif.queues[0]!.nrPendingReqs).toBe(0);
    expect(h.sim.drops.total({ reason: 'bad_grant' })).toBe(1);
  });

  it('checksum_setup(): a GSO packet without csum_blank is forced to CHECKSUM_PARTIAL and counted; csum_blank on a non-IP frame drops the skb, its slots answered OKAY when freed', () => {
    const { h, fe } = setup();
    const frame = udpFrame(3000);
    frame[23] = 6;
    frame[46] = 0x50;
    fe.sendOne(frame, 1, NETTXF_extra_info);
    fe.txExtra([1, 0, 0xa8, 0x05, 1, 0, 0, 0]);
    const arp = udpFrame(600);
    arp[12] = 0x08;
    arp[13] = 0x06;
    fe.sendOne(arp, 2, NETTXF_csum_blank);
    fe.pushTx();
    h.sim.run();
    expect(h.stack.received).toHaveLength(1);
    expect(h.stack.received[0]!.ipSummed).toBe(CHECKSUM_PARTIAL);
    expect(fe.vif.counters.rx_gso_checksum_fixup).toBe(1);
    // recalculate_partial_csum: the TCP check field now holds the pseudo-header sum.
    const got = new Uint8Array(3000);
    h.stack.received[0]!.copyBits(0, got, 0, 3000);
    const ip = (o: number): number => ((frame[o]! << 24) | (frame[o + 1]! << 16) | (frame[o + 2]! << 8) | frame[o + 3]!) >>> 0;
    expect((got[50]! << 8) | got[51]!).toBe(~csum_tcpudp_magic(ip(26), ip(30), 3000 - 34, 6, 0) & 0xffff);
    expect(h.sim.drops.total({ reason: 'checksum_setup' })).toBe(1);
    // The dropped skb's mapped page went back through the zerocopy callback: answered OKAY.
    expect(fe.tx.sring.rsp_prod).toBe(1);
    expect(fe.txRsp(0)).toEqual({ id: 2, status: NETIF_RSP_OKAY });
  });
});

describe('xenvif_get_extras() and xenvif_set_skb_gso()', () => {
  it('"Missing extra info": extra_info on the last pushed request is fatal', () => {
    const { h, fe } = setup();
    const reasons = fatalReasons(h);
    fe.sendOne(udpFrame(500), 1, NETTXF_extra_info);
    fe.pushTx();
    h.sim.run();
    expect(reasons).toEqual(['Missing extra info']);
    expect(fe.vif.disabled).toBe(true);
  });

  it('type 5 (XDP, in Linux\'s netif.h) is accepted and ignored; type 6 is "Invalid extra type: 6"', () => {
    const ok = setup();
    ok.fe.sendOne(udpFrame(500), 1, NETTXF_extra_info);
    ok.fe.txExtra([5, 0, 0, 0, 0, 0, 0, 0]);
    ok.fe.pushTx();
    ok.h.sim.run();
    expect(ok.fe.vif.disabled).toBe(false);
    expect(ok.h.stack.received).toHaveLength(1);
    ok.h.stack.freeAll();
    ok.h.sim.run();
    expect(responses(ok.fe, 2)).toEqual([{ id: 1, status: NETIF_RSP_OKAY }, expect.objectContaining({ status: NETIF_RSP_NULL })]);
    const bad = setup();
    const reasons = fatalReasons(bad.h);
    bad.fe.sendOne(udpFrame(500), 1, NETTXF_extra_info);
    bad.fe.txExtra([6, 0, 0, 0, 0, 0, 0, 0]);
    bad.fe.pushTx();
    bad.h.sim.run();
    expect(reasons).toEqual(['Invalid extra type: 6']);
  });

  it('the last extra of a type wins: two GSO extras, the second one\'s size is used, two NULL responses', () => {
    const { h, fe } = setup();
    const frame = udpFrame(3000);
    frame[23] = 6;
    frame[46] = 0x50;
    fe.sendOne(frame, 9, NETTXF_extra_info | NETTXF_csum_blank);
    fe.txExtra([1, XEN_NETIF_EXTRA_FLAG_MORE, 0x00, 0x04, 1, 0, 0, 0]); // 1024
    fe.txExtra([1, 0, 0xa8, 0x05, 1, 0, 0, 0]); // 1448
    fe.pushTx();
    h.sim.run();
    expect(h.stack.received[0]!.gsoSize).toBe(1448);
    h.stack.freeAll();
    h.sim.run();
    expect(responses(fe, 3).map((r) => r.status)).toEqual([NETIF_RSP_OKAY, NETIF_RSP_NULL, NETIF_RSP_NULL]);
  });

  it('GSO size 0 and an unknown GSO type are fatal with Linux\'s messages', () => {
    for (const [bytes, msg] of [[[1, 0, 0, 0, 1, 0, 0, 0], 'GSO size must not be zero.'], [[1, 0, 0xa8, 0x05, 3, 0, 0, 0], 'Bad GSO type 3.']] as const) {
      const { h, fe } = setup();
      const reasons = fatalReasons(h);
      fe.sendOne(udpFrame(3000), 1, NETTXF_extra_info);
      fe.txExtra([...bytes]);
      fe.pushTx();
      h.sim.run();
      expect(reasons).toEqual([msg]);
      expect(h.stack.received).toHaveLength(0);
      expect(h.stack.pool.outstanding).toBe(0);
    }
  });
});

describe('multicast control extras', () => {
  const MAC_A = [0x01, 0x00, 0x5e, 0x00, 0x00, 0x01];
  const MAC_B = [0x01, 0x00, 0x5e, 0x00, 0x00, 0x02];
  function mcast(fe: Frontend, type: 2 | 3, mac: number[], id: number): void {
    fe.txReq(0, 0, NETTXF_extra_info, id, 0);
    fe.txExtra([type, 0, ...mac]);
  }

  it('MCAST_ADD / MCAST_DEL keep the address list; deleting an address never added changes nothing; each request gets a response and a NULL', () => {
    const { h, fe } = setup();
    mcast(fe, 2, MAC_A, 1);
    mcast(fe, 3, MAC_B, 2);
    fe.pushTx();
    h.sim.run();
    expect(fe.vif.mcastCount).toBe(1);
    const addr = new Uint8Array(6);
    writeMacKey(addr, 0, fe.vif.mcastAddrs[0]!);
    expect(Array.from(addr)).toEqual(MAC_A);
    mcast(fe, 3, MAC_A, 3);
    fe.pushTx();
    h.sim.run();
    expect(fe.vif.mcastCount).toBe(0);
    expect(responses(fe, 6)).toEqual([
      { id: 1, status: NETIF_RSP_OKAY }, expect.objectContaining({ status: NETIF_RSP_NULL }),
      { id: 2, status: NETIF_RSP_OKAY }, expect.objectContaining({ status: NETIF_RSP_NULL }),
      { id: 3, status: NETIF_RSP_OKAY }, expect.objectContaining({ status: NETIF_RSP_NULL }),
    ]);
    expect(h.stack.received).toHaveLength(0);
  });

  it('with request-multicast-control, xenvif_start_xmit() passes only subscribed multicast (broadcast and unicast always); the list is freed on disconnect', () => {
    const h = makeHost();
    const fe = new Frontend(h, 'guest1');
    fe.vif = h.nb.xenvif_alloc(fe.domid, 0, 'modern');
    expect(fe.vif.connect({
      queues: [{ txRingRef: fe.txRef, rxRingRef: fe.rxRef, txEvtchn: fe.port, rxEvtchn: fe.port }],
      rxCopy: true, canSg: true, multicastControl: true,
    })).toBe(0);
    h.sim.run();
    mcast(fe, 2, MAC_A, 1);
    fe.pushTx();
    fe.postRx(8);
    h.sim.run();
    expect(fe.vif.mcastCount).toBe(1);
    const to = (mac: number[]): SkBuff => {
      const f = udpFrame(200);
      f.set(mac, 0);
      const skb = h.stack.pool.alloc();
      skb.head.set(f, skb.put(f.length));
      return skb;
    };
    fe.vif.ndo_start_xmit(to(MAC_A));
    fe.vif.ndo_start_xmit(to(MAC_B));
    fe.vif.ndo_start_xmit(to([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
    fe.vif.ndo_start_xmit(to([0x00, 0x16, 0x3e, 0x00, 0x00, 0x09]));
    h.sim.run();
    expect(h.sim.drops.total({ where: 'vif1.0', reason: 'mcast_filtered' })).toBe(1);
    expect(fe.vif.stats.tx_dropped).toBe(1);
    expect(fe.rx.sring.rsp_prod).toBe(3);
    fe.vif.disconnect();
    expect(fe.vif.mcastCount).toBe(0);
  });

  it('the 65th MCAST_ADD is answered ERROR (XEN_NETBK_MCAST_MAX 64)', () => {
    const { h, fe } = setup();
    for (let i = 0; i < 65; i++) mcast(fe, 2, [0x01, 0, 0x5e, 0, 1, i], i);
    fe.pushTx();
    h.sim.run();
    expect(fe.vif.mcastCount).toBe(64);
    expect(fe.txRsp(128)).toEqual({ id: 64, status: NETIF_RSP_ERROR });
    expect(fe.txRsp(126)).toEqual({ id: 63, status: NETIF_RSP_OKAY });
  });
});

describe('make_tx_response() bytes', () => {
  it('a response writes only id and status (4 bytes); a NULL response only status; the rest of the slot keeps the request', () => {
    const { h, fe } = setup();
    fe.sendOne(udpFrame(100), 0x1234, NETTXF_extra_info);
    fe.txExtra([5, 0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6]);
    const v = fe.tx.sring.view;
    const o0 = RING_GET_RESPONSE(fe.tx, 0);
    const o1 = RING_GET_RESPONSE(fe.tx, 1);
    const before0 = Array.from(new Uint8Array(v.buffer, v.byteOffset + o0, 12));
    fe.pushTx();
    h.sim.run();
    const after0 = Array.from(new Uint8Array(v.buffer, v.byteOffset + o0, 12));
    const after1 = Array.from(new Uint8Array(v.buffer, v.byteOffset + o1, 12));
    expect(after0.slice(0, 4)).toEqual([0x34, 0x12, 0, 0]);
    expect(after0.slice(4)).toEqual(before0.slice(4));
    // NETIF_RSP_NULL (1) as int16 in bytes 2..3; bytes 0..1 keep the extra's type and flags,
    // 4..7 the rest of its payload.
    expect(after1).toEqual([5, 0, 1, 0, 0xa3, 0xa4, 0xa5, 0xa6, 0, 0, 0, 0]);
  });
});

describe('u32 ring indices', () => {
  it('packets and split headers across the 2^32 index wrap: every byte delivered, every slot answered OKAY in its slot', () => {
    const h = makeHost();
    const fe = new Frontend(h, 'guest1');
    const start = 0xfffffffd; // the split header sits in slots 0xfffffffe, 0xffffffff, 0, 1
    const sr = fe.tx.sring;
    sr.req_prod = start;
    sr.rsp_prod = start;
    sr.req_event = (start + 1) >>> 0;
    sr.rsp_event = (start + 1) >>> 0;
    fe.tx.req_prod_pvt = start;
    fe.tx.rsp_cons = start;
    fe.connect('modern');
    const frames = [udpFrame(1500, 1), udpFrame(300, 2), udpFrame(2000, 3), udpFrame(90, 4)];
    fe.sendOne(frames[0]!, 1);
    sendSlots(fe, frames[1]!, [20, 20, 20, 240], { ids: [2, 3, 4, 5] }); // straddles the wrap
    sendSlots(fe, frames[2]!, [1000, 0, 1000], { ids: [6, 7, 8] });
    for (let i = 0; i < 10; i++) fe.sendOne(frames[3]!, 9 + i);
    fe.pushTx();
    h.sim.run();
    expect(h.stack.received).toHaveLength(13);
    for (let i = 0; i < 3; i++) expect(Array.from(skbBytes(h.stack.received[i]!))).toEqual(Array.from(frames[i]!));
    h.stack.freeAll();
    h.sim.run();
    const n = 1 + 4 + 3 + 10;
    expect(sr.rsp_prod).toBe((start + n) >>> 0);
    const got = [];
    for (let i = 0; i < n; i++) got.push(fe.txRsp((start + i) >>> 0));
    expect(got.every((r) => r.status === NETIF_RSP_OKAY)).toBe(true);
    expect(got.map((r) => r.id).sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(fe.vif.queues[0]!.nrPendingReqs).toBe(0);
    expect(fe.vif.disabled).toBe(false);
  });
});

describe('push_tx_responses()', () => {
  it('netback.tx.response says whether the push notified: only when rsp_prod passes the frontend\'s rsp_event', () => {
    const { h, fe } = setup();
    const rsp: AnyTraceRecord[] = [];
    h.sim.trace.on('netback.tx.response', (r) => rsp.push(r));
    for (let i = 0; i < 3; i++) fe.sendOne(udpFrame(100, i), i);
    fe.pushTx();
    h.sim.run();
    // rsp_event is 1: the first response notifies, the next two do not.
    expect(rsp.map((r) => [r.id, r.status, r.nulls, r.notify])).toEqual([[0, 0, 0, true], [1, 0, 0, false], [2, 0, 0, false]]);
    expect(fe.vif.counters.tx_notifies).toBe(1);
  });
});

describe('pending ring', () => {
  it('no pending-slot limit beyond the ring: with 240 packets held by dom0, the next 16 requests are still processed', () => {
    const { h, fe } = setup();
    const g: number[] = [];
    for (let i = 0; i < 4; i++) g.push(fe.grantRO(fe.page(udpFrame(1000, i)).pfn));
    for (let i = 0; i < 240; i++) fe.txReq(g[i & 3]!, 0, 0, i, 1000);
    fe.pushTx();
    h.sim.run();
    expect(h.stack.received).toHaveLength(240);
    expect(fe.vif.queues[0]!.nrPendingReqs).toBe(240);
    for (let i = 0; i < 16; i++) fe.txReq(g[i & 3]!, 0, 0, 240 + i, 1000);
    fe.pushTx();
    h.sim.run();
    expect(h.stack.received).toHaveLength(256);
    expect(fe.vif.queues[0]!.nrPendingReqs).toBe(256);
    h.stack.freeAll();
    h.sim.run();
    expect(fe.tx.sring.rsp_prod).toBe(256);
    expect(fe.vif.queues[0]!.nrPendingReqs).toBe(0);
  });
});

describe('credit scheduling (tx_credit_exceeded / tx_add_credit / the credit timer)', () => {
  /**
   * A 50 ms window is msecs_to_jiffies(50) = 13 jiffies at dom0's HZ 250 (bridge.hz): 52 ms.
   */
  const WIN = creditWindowNs(50000, 250);
  /** Connects at t = 1 s with `bytes` per `usec` of credit, as xenbus connect() sets it. */
  function rated(bytes: number, usec: number): { h: Host; fe: Frontend; at: number[] } {
    const h = makeHost();
    h.sim.run({ until: 1000 * MS });
    const fe = new Frontend(h, 'guest1');
    fe.connect('modern');
    const q = fe.vif.queues[0]!;
    q.credit_bytes = bytes;
    q.remaining_credit = bytes;
    q.credit_usec = usec;
    const at: number[] = [];
    const orig = h.stack.netif_receive_skb.bind(h.stack);
    h.stack.netif_receive_skb = (skb) => { at.push(h.sim.now); orig(skb); };
    return { h, fe, at };
  }

  it('the credit window starts when the queue is set up: over budget right after connect waits for window start + credit_usec', () => {
    const { h, fe, at } = rated(10000, 50000);
    for (let i = 0; i < 8; i++) fe.sendOne(udpFrame(1500, i), i);
    fe.pushTx();
    h.sim.run();
    expect(at).toHaveLength(8);
    const t0 = 1000 * MS;
    expect(at.slice(0, 6).every((t) => t < t0 + MS)).toBe(true);
    expect(WIN).toBe(52 * MS);
    expect(at[6]).toBe(t0 + WIN);
    expect(at[7]).toBe(t0 + WIN);
    // tx_add_credit: remaining 1000 + 10000 = 11000, minus the two packets.
    expect(fe.vif.queues[0]!.remaining_credit).toBe(11000 - 3000);
  });

  it('while limited the request stays unconsumed, and a packet larger than credit_bytes passes once credit accumulates (max_burst 128 KiB)', () => {
    const { h, fe, at } = rated(1000, 50000);
    fe.sendOne(udpFrame(2500), 1);
    fe.pushTx();
    h.sim.run({ until: 1000 * MS + WIN + 8 * MS });
    const q = fe.vif.queues[0]!;
    expect(at).toHaveLength(0);
    expect(q.tx!.req_cons).toBe(0);
    expect(q.rate_limited).toBe(true);
    h.sim.run();
    // 1000 → 2000 after one window → 3000 after two.
    expect(at).toEqual([1000 * MS + 2 * WIN]);
    expect(q.remaining_credit).toBe(500);
  });

  it('the whole packet\'s size (first request) is charged, not the first slot\'s own length', () => {
    const { h, fe, at } = rated(4000, 50000);
    sendAndRun(h, fe, udpFrame(5000), [2000, 3000]);
    expect(at).toEqual([1000 * MS + WIN]);
  });

  it('tx_add_credit(): remaining = min(remaining + credit_bytes, max(131072, credit_bytes)), saturating', () => {
    const { fe } = rated(1000, 50000);
    const q = fe.vif.queues[0]!;
    q.remaining_credit = 131000;
    q.credit_bytes = 1000;
    tx_add_credit(q);
    expect(q.remaining_credit).toBe(131072);
    q.credit_bytes = 200000;
    q.remaining_credit = 150000;
    tx_add_credit(q);
    expect(q.remaining_credit).toBe(200000);
    q.credit_bytes = Number.MAX_SAFE_INTEGER;
    tx_add_credit(q);
    expect(q.remaining_credit).toBe(Number.MAX_SAFE_INTEGER);
    expect(q.rate_limited).toBe(false);
  });

  it('a notification while the credit timer is pending does not send early', () => {
    const { h, fe, at } = rated(1000, 50000);
    fe.sendOne(udpFrame(1500), 1);
    fe.pushTx();
    h.sim.run({ until: 1000 * MS + 10 * MS });
    fe.sendOne(udpFrame(100), 2);
    fe.pushTx();
    fe.g.notify_remote_via_evtchn(fe.port);
    h.sim.run({ until: 1000 * MS + 20 * MS });
    expect(at).toHaveLength(0);
    h.sim.run();
    expect(at).toEqual([1000 * MS + WIN, 1000 * MS + WIN]);
  });
});

describe('xenvif_fatal_tx_err()', () => {
  it('logs the check\'s message then "fatal error; disabling device", disables the vif, and queue 0\'s kthread turns the carrier off; other vifs carry on', () => {
    const h = makeHost();
    const bad = new Frontend(h, 'bad');
    const good = new Frontend(h, 'good');
    bad.connect('modern');
    good.connect('modern');
    const rec = h.sim.trace.record('netback.');
    h.sim.run();
    const g = bad.grantRO(bad.page(udpFrame(1000)).pfn);
    bad.txReq(g, 3500, 0, 1, 1000);
    bad.pushTx();
    good.sendOne(udpFrame(600), 2);
    good.pushTx();
    h.sim.run();
    const lines = netbackKernelLog(rec.records).map((l) => l.line.replace(/^\[[ .0-9]+\] /, ''));
    expect(lines).toEqual([
      // Each connect: the queue's kthread turns the carrier on (xenvif_queue_carrier_on).
      'vif vif-1-0 vif1.0: Guest Rx ready',
      'vif vif-2-0 vif2.0: Guest Rx ready',
      'vif vif-1-0 vif1.0: txreq.offset: 3500, size: 1000, end: 4500',
      'vif vif-1-0 vif1.0: fatal error; disabling device',
    ]);
    const fatal = rec.records.find((r) => r.ev === 'netback.fatal')!;
    const off = rec.records.find((r) => r.ev === 'netback.carrier' && r.on === false)!;
    expect(off.vif).toBe('vif1.0');
    expect(Number(off.t)).toBeGreaterThan(Number(fatal.t)); // deferred to the kthread (XSA-90)
    expect(bad.vif.disabled).toBe(true);
    expect(bad.vif.carrier).toBe(false);
    expect(bad.tx.sring.rsp_prod).toBe(0); // no response for the offending request
    expect(good.vif.carrier).toBe(true);
    expect(h.stack.received.map((s) => s.dev)).toEqual([good.vif]);
  });

  it('a fatal error on queue 1 disables the whole vif; queue 0\'s kthread turns the carrier off', () => {
    const h = makeHost({ 'netback.max_queues': 2 });
    const fe = new Frontend(h, 'guest1');
    // A second ring pair and event channel for queue 1.
    const txPage = fe.page();
    const rxPage = fe.page();
    const tx1 = XEN_FRONT_RING_INIT(new SharedRing(txPage.page, 12));
    XEN_FRONT_RING_INIT(new SharedRing(rxPage.page, 8));
    const txPfn = txPage.pfn, rxPfn = rxPage.pfn;
    const port1 = fe.g.xenbus_alloc_evtchn(0);
    fe.vif = h.nb.xenvif_alloc(fe.domid, 0, 'modern');
    const rc = fe.vif.connect({
      queues: [
        { txRingRef: fe.txRef, rxRingRef: fe.rxRef, txEvtchn: fe.port, rxEvtchn: fe.port },
        {
          txRingRef: fe.g.gnttab.gnttab_grant_foreign_access(0, fe.g.pfn_to_gfn(txPfn), false),
          rxRingRef: fe.g.gnttab.gnttab_grant_foreign_access(0, fe.g.pfn_to_gfn(rxPfn), false),
          txEvtchn: port1, rxEvtchn: port1,
        },
      ],
      rxCopy: true, canSg: true,
    });
    expect(rc).toBe(0);
    const rec = h.sim.trace.record('netback.');
    h.sim.run();
    const g = fe.grantRO(fe.page(udpFrame(1000)).pfn);
    writeTxRequest(tx1.sring.view, RING_GET_REQUEST(tx1, 0), g, 3900, 0, 7, 1000);
    tx1.req_prod_pvt = 1;
    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(tx1);
    fe.g.notify_remote_via_evtchn(port1);
    h.sim.run();
    const fatal = rec.records.filter((r) => r.ev === 'netback.fatal');
    expect(fatal.map((r) => [r.queue, r.reason])).toEqual([[1, 'txreq.offset: 3900, size: 1000, end: 4900']]);
    expect(fe.vif.disabled).toBe(true);
    expect(fe.vif.carrier).toBe(false);
    expect(rec.records.some((r) => r.ev === 'netback.carrier' && r.on === false)).toBe(true);
  });

  it('xenvif_map_frontend_data_rings(): a tx or rx ring with req_prod - rsp_prod > RING_SIZE fails the connect with -EIO, nothing left mapped', () => {
    for (const which of ['tx', 'rx'] as const) {
      const h = makeHost();
      const fe = new Frontend(h, 'guest1');
      fe[which].sring.req_prod = 300;
      const vif = h.nb.xenvif_alloc(fe.domid, 0, 'modern');
      const rc = vif.connect({ queues: [{ txRingRef: fe.txRef, rxRingRef: fe.rxRef, txEvtchn: fe.port, rxEvtchn: fe.port }], rxCopy: true });
      expect(rc).toBe(-5);
      expect(vif.connected).toBe(false);
      expect(vif.carrier).toBe(false);
      expect(vif.queues).toHaveLength(0);
      // The ring pages are unmapped again: the guest can revoke its grants.
      expect(fe.g.gnttab.gnttab_end_foreign_access_ref(fe.txRef)).toBe(true);
      expect(fe.g.gnttab.gnttab_end_foreign_access_ref(fe.rxRef)).toBe(true);
    }
  });

  it('"Impossible number of requests" prints req_prod and req_cons as %d', () => {
    const { h, fe } = setup();
    const reasons = fatalReasons(h);
    fe.tx.sring.req_prod = 0x90000000;
    fe.g.notify_remote_via_evtchn(fe.port);
    h.sim.run();
    expect(reasons).toEqual(['Impossible number of requests. req_prod -1879048192, req_cons 0, size 256']);
    expect(fe.vif.disabled).toBe(true);
  });
});
