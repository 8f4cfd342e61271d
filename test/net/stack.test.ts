import { describe, expect, it } from 'vitest';
import { Simulator } from '../../src/sim';
import { Params } from '../../src/params';
import { NetStack, NapiStruct } from '../../src/net/stack';
import { RX_HANDLER_CONSUMED, RX_HANDLER_PASS } from '../../src/net/netdevice';
import { CHECKSUM_NONE, CHECKSUM_PARTIAL, SKB_GSO_TCPV4, type SkBuff } from '../../src/net/skb';
import { NETIF_F_IP_CSUM } from '../../src/net/netdevice';
import { Ipv4Addr, MacAddr } from '../../src/wire/address';
import { csum_fold, csum_partial, skb_checksum_help } from '../../src/wire/checksum';
import { l4ChecksumStatus } from '../../src/drivers/nic/ixgbe';
import { SlotDevice, Sink, rxSkb, tcpGsoSkb } from './helpers';

function setup(overrides: Record<string, number> = {}) {
  const sim = new Simulator();
  const stack = new NetStack(sim, { name: 'dom0', domid: 0, params: Params.defaults().with(overrides) });
  return { sim, stack };
}

describe('netif_rx() and the backlog', () => {
  it('netif_rx() queues up to netdev_max_backlog + 1 (qlen <= max accepts) and drops the rest as backlog_full', () => {
    const { sim, stack } = setup({ 'net.netdev_max_backlog': 100 });
    const dev = new SlotDevice(stack, 'vif1.0', 10);
    const sink = new Sink(stack);
    stack.setProtocolHandler(dev, sink);
    let dropped = 0;
    for (let i = 0; i < 150; i++) dropped += stack.netif_rx(rxSkb(stack, dev));
    expect(dropped).toBe(49);
    expect(stack.backlogLength).toBe(101);
    expect(sim.drops.total({ where: 'dom0.backlog', reason: 'backlog_full' })).toBe(49);
    expect(dev.stats.rx_dropped).toBe(49);
    sim.run();
    expect(sink.ids.length).toBe(101);
    expect(stack.counters.processed).toBe(101);
    expect(stack.pool.outstanding).toBe(0);
  });

  it('process_backlog() delivers in arrival order in polls of dev_weight packets', () => {
    const { sim, stack } = setup({ 'net.dev_weight': 16 });
    const dev = new SlotDevice(stack, 'vif1.0', 10);
    const sink = new Sink(stack);
    stack.setProtocolHandler(dev, sink);
    const ids: number[] = [];
    for (let i = 0; i < 40; i++) {
      const skb = rxSkb(stack, dev);
      ids.push(skb.id);
      stack.netif_rx(skb);
    }
    sim.run();
    expect(sink.ids).toEqual(ids);
    expect(stack.backlogNapi.polls).toBe(3); // 16 + 16 + 8
    expect(stack.backlogNapi.repolls).toBe(2);
  });
});

describe('NAPI and net_rx_action()', () => {
  it('net_rx_action() polls round-robin by weight and stops at netdev_budget with a time_squeeze', () => {
    const { sim, stack } = setup();
    const order: string[] = [];
    const left = { a: 1000, b: 10 };
    const mk = (name: 'a' | 'b') => {
      const n: NapiStruct = new NapiStruct(name, (budget) => {
        const w = Math.min(budget, left[name]);
        left[name] -= w;
        order.push(`${name}${w}`);
        if (w < budget) stack.napi_complete_done(n, w);
        return w;
      });
      stack.netif_napi_add(n);
      return n;
    };
    const a = mk('a');
    const b = mk('b');
    expect(stack.napi_schedule(a)).toBe(true);
    expect(stack.napi_schedule(a)).toBe(false); // already scheduled
    stack.napi_schedule(b);
    sim.run({ maxEvents: 1 });
    // a64, b10 (done), a64 ×3 = 266, then a64 → 330 ≥ 300: squeeze with a still listed
    expect(order).toEqual(['a64', 'b10', 'a64', 'a64', 'a64', 'a64']);
    expect(stack.counters.time_squeeze).toBe(1);
    expect(b.scheduled).toBe(false);
    expect(a.scheduled).toBe(true);
    sim.run();
    expect(left.a).toBe(0);
    expect(a.scheduled).toBe(false);
    expect(stack.counters.net_rx_action).toBeGreaterThan(3);
  });

  it('a NAPI poll returning more than its weight is a programming error', () => {
    const { sim, stack } = setup();
    const n = new NapiStruct('bad', () => 65);
    stack.netif_napi_add(n);
    stack.napi_schedule(n);
    expect(() => sim.run()).toThrow(/returned 65/);
  });

  it('NET_RX_SOFTIRQ runs softirq_latency_ns after the CPU is free, and charges the poll', () => {
    const { sim, stack } = setup({ 'net.softirq_latency_ns': 300, 'net.napi_schedule_ns': 50, 'net.napi_poll_ns': 100 });
    let polledAt = -1;
    const n = new NapiStruct('x', () => {
      polledAt = sim.now;
      return 0;
    });
    stack.netif_napi_add(n);
    stack.charge(1000);
    stack.napi_schedule(n);
    sim.run();
    expect(polledAt).toBe(1000 + 50 + 300);
    expect(stack.cpu.busyNs).toBe(1000 + 50 + 100);
  });
});

describe('__netif_receive_skb_core()', () => {
  it('runs taps, then the rx handler; PASS falls through to the protocol handler, CONSUMED does not', () => {
    const { sim, stack } = setup();
    const dev = new SlotDevice(stack, 'eth0', 10);
    const sink = new Sink(stack);
    stack.setProtocolHandler(dev, sink);
    const seen: string[] = [];
    dev.taps.push({ tap: (_d, dir, skb) => seen.push(`tap-${dir}-${skb.id}`) });
    let verdict: 0 | 3 = RX_HANDLER_PASS;
    dev.netdev_rx_handler_register((skb) => {
      seen.push(`handler-${skb.id}`);
      if (verdict === RX_HANDLER_CONSUMED) stack.consume_skb(skb);
      return verdict;
    });
    const s1 = rxSkb(stack, dev);
    const id1 = s1.id;
    stack.netif_receive_skb(s1);
    verdict = RX_HANDLER_CONSUMED;
    const s2 = rxSkb(stack, dev);
    const id2 = s2.id;
    stack.netif_receive_skb(s2);
    expect(seen).toEqual([`tap-rx-${id1}`, `handler-${id1}`, `tap-rx-${id2}`, `handler-${id2}`]);
    expect(sink.ids).toEqual([id1]);
    expect(sim.drops.total()).toBe(0);
  });

  it('drops a frame nobody handles as unhandled_proto, counted in the device\'s rx_dropped', () => {
    const { sim, stack } = setup();
    const dev = new SlotDevice(stack, 'eth0', 10);
    stack.netif_receive_skb(rxSkb(stack, dev, 60));
    expect(sim.drops.table()).toEqual([{ where: 'eth0', reason: 'unhandled_proto', packets: 1, bytes: 60 }]);
    expect(dev.stats.rx_dropped).toBe(1);
    expect(stack.pool.outstanding).toBe(0);
  });
});

describe('dev_queue_xmit() and the qdisc', () => {
  /** A TCPv4 GSO skb as netback builds one: 10,000 bytes of payload, MSS 1448, IP id 7, seq 1000, PSH|ACK. */
  const gsoSkb = (stack: NetStack) => tcpGsoSkb(stack.pool, {
    srcMac: MacAddr.parse('02:00:00:00:00:0a'), dstMac: MacAddr.parse('02:00:00:00:00:0b'),
    srcIp: Ipv4Addr.parse('10.0.0.10'), dstIp: Ipv4Addr.parse('10.0.0.11'), srcPort: 5001, dstPort: 80, seq: 1000, flags: 0x18, ipId: 7,
  });
  const bytesOf = (skb: SkBuff) => { const b = new Uint8Array(skb.len); skb.copyBits(0, b, 0, skb.len); return b; };

  it('a TCPv4 GSO packet for a device without TSO is segmented in software (skb_gso_segment): one frame per MSS, headers rewritten, checksums right', () => {
    const { sim, stack } = setup({ 'net.memcpy_byte_ns': 1 });
    const dev = new SlotDevice(stack, 'eth0', 100); // no TSO, no checksum offload
    const { skb, payload } = gsoSkb(stack);
    const id = skb.id;
    const busy0 = stack.cpu.busyNs;
    expect(stack.dev_queue_xmit(skb, dev)).toBe(0);
    const segs = Math.ceil(10_000 / 1448);
    expect(dev.sent.length).toBe(segs);
    let got = 0;
    dev.sent.forEach((seg, i) => {
      const f = bytesOf(seg);
      expect(seg.id).toBe(id); // the segments keep the packet's id, as the NIC's TSO frames do
      expect(seg.ipSummed).toBe(CHECKSUM_NONE);
      expect(l4ChecksumStatus(f, 0, f.length)).toBe(1); // full TCP checksum, valid
      expect(csum_fold(csum_partial(f, 14, 34, 0))).toBe(0); // IPv4 header checksum valid
      expect(((f[16]! << 8) | f[17]!)).toBe(f.length - 14); // IPv4 total length
      expect(((f[18]! << 8) | f[19]!)).toBe(7 + i); // IP id + 1 per segment
      expect((((f[38]! << 24) | (f[39]! << 16) | (f[40]! << 8) | f[41]!) >>> 0)).toBe(1000 + i * 1448);
      expect(f[47]! & 0x08).toBe(i === segs - 1 ? 0x08 : 0); // PSH only on the last
      expect(Buffer.from(f.subarray(54)).equals(Buffer.from(payload.subarray(got, got + f.length - 54)))).toBe(true);
      got += f.length - 54;
    });
    expect(got).toBe(10_000);
    // copy and software checksum: twice the segments' bytes at 1 ns per byte, after dev_queue_xmit's own cost
    // (and consume_skb of the GSO packet)
    expect(stack.cpu.busyNs - busy0).toBe(stack.costs.dev_queue_xmit_ns + 2 * (10_000 + segs * 54) + stack.costs.skb_free_ns);
    expect(sim.drops.total()).toBe(0);
    // The original skb went back to the pool; the segments are the driver's.
    expect(stack.pool.outstanding).toBe(segs);
  });

  it('with checksum offload the segments stay CHECKSUM_PARTIAL for the device, and finishing them gives the same bytes', () => {
    const { stack } = setup({ 'net.memcpy_byte_ns': 1 });
    const plain = new SlotDevice(stack, 'eth0', 100);
    const csum = new SlotDevice(stack, 'eth1', 100);
    csum.features = NETIF_F_IP_CSUM;
    stack.dev_queue_xmit(gsoSkb(stack).skb, plain);
    const busy0 = stack.cpu.busyNs;
    stack.dev_queue_xmit(gsoSkb(stack).skb, csum);
    expect(stack.cpu.busyNs - busy0).toBe(stack.costs.dev_queue_xmit_ns + 10_000 + 7 * 54 + stack.costs.skb_free_ns); // the copy only
    expect(csum.sent.length).toBe(plain.sent.length);
    csum.sent.forEach((seg, i) => {
      expect([seg.ipSummed, seg.csumStart, seg.csumOffset]).toEqual([CHECKSUM_PARTIAL, 34, 16]);
      const f = bytesOf(seg);
      expect(skb_checksum_help(f, 0, f.length, { csumStart: seg.csumStart, csumOffset: seg.csumOffset }).ok).toBe(true);
      expect(Buffer.from(f).equals(Buffer.from(bytesOf(plain.sent[i]!)))).toBe(true);
    });
  });

  it('segments the driver does not take go back to the head of the qdisc in order; a GSO packet that does not parse is dropped as gso_segment_error', () => {
    const { sim, stack } = setup();
    const dev = new SlotDevice(stack, 'eth0', 3);
    const { skb } = gsoSkb(stack);
    stack.dev_queue_xmit(skb, dev);
    expect(dev.sent.length).toBe(3); // the driver stopped its queue after the third
    expect(stack.qdiscStats(dev)).toMatchObject({ qlen: 4, requeues: 1 });
    const seqOf = (s: SkBuff) => { const f = bytesOf(s); return (((f[38]! << 24) | (f[39]! << 16) | (f[40]! << 8) | f[41]!) >>> 0); };
    dev.slots = 100;
    dev.complete(0); // frees nothing, wakes the queue
    sim.run();
    expect(dev.sent.map(seqOf)).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => 1000 + i * 1448));
    const bad = gsoSkb(stack).skb;
    bad.head[bad.data + 23] = 17; // IPv4 protocol: UDP
    expect(stack.dev_queue_xmit(bad, dev)).toBe(1);
    expect(sim.drops.total({ where: 'eth0', reason: 'gso_segment_error' })).toBe(1);
    expect(dev.stats.tx_dropped).toBe(1);
  });

  it('validate_xmit_skb runs when a packet leaves the qdisc: a waiting CHECKSUM_PARTIAL packet is checksummed at dequeue, a GSO packet software GSO cannot cut dropped there', () => {
    const { sim, stack } = setup({ 'net.memcpy_byte_ns': 1 });
    const dev = new SlotDevice(stack, 'eth0', 100); // no NETIF_F_*CSUM, no TSO
    /** A 142-byte frame, CHECKSUM_PARTIAL (csum_start 34, offset 6) unless `plain`. */
    const frame = (plain = false) => {
      const skb = rxSkb(stack, dev, 142);
      if (!plain) {
        skb.ipSummed = CHECKSUM_PARTIAL;
        skb.csumStart = 34;
        skb.csumOffset = 6;
      }
      return skb;
    };
    /** CPU ns charged while `skb` waits in the stopped queue's qdisc, and then while it leaves it. */
    const through = (skb: ReturnType<typeof frame>) => {
      dev.netif_stop_queue();
      const b0 = stack.cpu.busyNs;
      const rc = stack.dev_queue_xmit(skb, dev);
      const b1 = stack.cpu.busyNs;
      const waiting = skb.ipSummed;
      dev.netif_wake_queue();
      sim.run();
      return { rc, enqueueNs: b1 - b0, dequeueNs: stack.cpu.busyNs - b1, waiting };
    };
    const plain = through(frame(true));
    const a = frame();
    const p = through(a);
    // Accepted by the qdisc and still partial while it waits; the checksum (142 − 34 bytes at 1 ns) is charged when it leaves.
    expect(p.rc).toBe(0);
    expect(p.waiting).toBe(CHECKSUM_PARTIAL);
    expect(p.enqueueNs).toBe(plain.enqueueNs);
    expect(p.dequeueNs - plain.dequeueNs).toBe(142 - 34);
    expect(a.ipSummed).toBe(CHECKSUM_NONE);
    expect(dev.sent.includes(a)).toBe(true);
    // A GSO packet of a type software GSO lacks (not TCPv4): accepted by the qdisc (as Linux's enqueue
    // accepts it), dropped when it leaves.
    const g = frame();
    g.gsoSize = 100;
    g.gsoType = 1 << 4; // SKB_GSO_TCPV6
    const gr = through(g);
    expect(gr.rc).toBe(0);
    expect([dev.stats.tx_dropped, sim.drops.total({ where: 'eth0', reason: 'gso_unsupported' }), dev.sent.length]).toEqual([1, 1, 2]);
    // Sent straight (empty qdisc, queue running), the same checks run at once.
    const b = frame();
    expect(stack.dev_queue_xmit(b, dev)).toBe(0);
    expect(b.ipSummed).toBe(CHECKSUM_NONE);
    const h = frame();
    h.gsoSize = 100;
    expect(stack.dev_queue_xmit(h, dev)).toBe(1);
    expect(dev.stats.tx_dropped).toBe(2);
  });

  it('the qdisc waits while either stop holds: the driver\'s (DRV_XOFF) or Byte Queue Limits\' (STACK_XOFF); each clears only its own', () => {
    const { sim, stack } = setup();
    const dev = new SlotDevice(stack, 'eth0', 100);
    // The driver reports 1000 bytes posted with a limit of 0: BQL stops the queue for the stack.
    dev.netdev_tx_sent_queue(0, 1000);
    expect([dev.netif_xmit_stopped(0), dev.netif_tx_queue_stopped(0), dev.txStopped]).toEqual([true, false, false]);
    dev.netif_stop_queue();
    for (let i = 0; i < 3; i++) stack.dev_queue_xmit(rxSkb(stack, dev), dev);
    expect(stack.qdiscStats(dev).qlen).toBe(3);
    // The driver wakes its stop: BQL's still holds the qdisc.
    dev.netif_wake_queue();
    sim.run();
    expect([dev.sent.length, stack.qdiscStats(dev).qlen, dev.netif_xmit_stopped(0)]).toEqual([0, 3, true]);
    // The completion brings the bytes in flight back under the limit: STACK_XOFF clears, the qdisc runs.
    dev.netdev_tx_completed_queue(0, 1, 1000, 0);
    expect(dev.netif_xmit_stopped(0)).toBe(false);
    sim.run();
    expect([dev.sent.length, stack.qdiscStats(dev).qlen]).toEqual([3, 0]);
    // And the other way round: a completion does not restart a queue the driver still holds.
    dev.netdev_tx_sent_queue(0, 5000);
    dev.netif_stop_queue();
    stack.dev_queue_xmit(rxSkb(stack, dev), dev);
    dev.netdev_tx_completed_queue(0, 1, 5000, 0);
    sim.run();
    expect([dev.sent.length, stack.qdiscStats(dev).qlen, dev.txStopped]).toEqual([3, 1, true]);
    dev.complete();
    sim.run();
    expect([dev.sent.length, stack.qdiscStats(dev).qlen]).toEqual([1, 0]);
  });

  it('bypasses an empty qdisc, queues while the driver is stopped, drops qdisc_full beyond tx_queue_len, drains on wake', () => {
    const { sim, stack } = setup();
    const dev = new SlotDevice(stack, 'eth0', 4, 10);
    const ids: number[] = [];
    let drops = 0;
    for (let i = 0; i < 20; i++) {
      const skb = rxSkb(stack, dev);
      ids.push(skb.id);
      drops += stack.dev_queue_xmit(skb, dev);
    }
    // 4 accepted by the driver, 10 in the qdisc, 6 dropped
    expect(dev.sent.map((s) => s.id)).toEqual(ids.slice(0, 4));
    expect(stack.qdiscStats(dev).qlen).toBe(10);
    expect(drops).toBe(6);
    expect(sim.drops.total({ where: 'eth0', reason: 'qdisc_full' })).toBe(6);
    expect([dev.stats.tx_dropped, stack.qdiscStats(dev).dropped]).toEqual([0, 6]); // qdisc drops show in tc -s qdisc only
    dev.complete(); // frees 4, netif_wake_queue → net_tx_action
    expect(stack.qdiscStats(dev).qlen).toBe(10); // runs from the softirq, not inline
    sim.run();
    expect(dev.sent.map((s) => s.id)).toEqual(ids.slice(4, 8));
    dev.complete();
    sim.run();
    dev.complete();
    sim.run();
    dev.complete();
    expect(stack.qdiscStats(dev).qlen).toBe(0);
    expect(stack.pool.outstanding).toBe(0);
    expect(stack.counters.net_tx_action).toBe(3);
  });

  it('the pfifo limit is the device\'s tx_queue_len at each enqueue (2.6.18 netback lowers it to 1 at connect); raising it past the ring grows the ring, in order', () => {
    const { sim, stack } = setup();
    const dev = new SlotDevice(stack, 'vif1.0', 1, 4);
    const send = (): number => stack.dev_queue_xmit(rxSkb(stack, dev), dev);
    expect([send(), send(), send(), send(), send()]).toEqual([0, 0, 0, 0, 0]); // 1 to the driver, 4 queued
    expect(send()).toBe(1);
    dev.txQueueLen = 1; // below what is queued: nothing more gets in
    expect(send()).toBe(1);
    expect(stack.qdiscStats(dev)).toMatchObject({ qlen: 4, limit: 1 });
    dev.txQueueLen = 9;
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) {
      const skb = rxSkb(stack, dev);
      ids.push(skb.id);
      expect(stack.dev_queue_xmit(skb, dev)).toBe(0);
    }
    expect(send()).toBe(1);
    expect(stack.qdiscStats(dev).qlen).toBe(9);
    expect(sim.drops.total({ where: 'vif1.0', reason: 'qdisc_full' })).toBe(3);
    // Drains in order across the grown ring.
    dev.slots = 100;
    dev.complete();
    sim.run();
    expect(dev.sent.slice(-5).map((s) => s.id)).toEqual(ids);
    expect(stack.qdiscStats(dev).qlen).toBe(0);
  });

  it('a device registered with tx_queue_len 0 stays noqueue', () => {
    const { stack } = setup();
    const dev = new SlotDevice(stack, 'br0', 1, 0);
    dev.txQueueLen = 10;
    expect(stack.dev_queue_xmit(rxSkb(stack, dev), dev)).toBe(0);
    expect(stack.dev_queue_xmit(rxSkb(stack, dev), dev)).toBe(1); // stopped driver, nothing queues
    expect(stack.qdiscStats(dev).qlen).toBe(0);
  });

  it('requeues the skb the driver refused (NETDEV_TX_BUSY) at the head of the qdisc, keeping order', () => {
    const { sim, stack } = setup();
    const dev = new SlotDevice(stack, 'eth0', 100, 10);
    // A driver that refuses without having stopped its queue first (a race Linux requeues).
    let refuse = 1;
    const real = dev.ndo_start_xmit.bind(dev);
    dev.ndo_start_xmit = (skb) => {
      if (refuse > 0) {
        refuse--;
        dev.netif_stop_queue();
        return 0x10;
      }
      return real(skb);
    };
    const a = rxSkb(stack, dev);
    const b = rxSkb(stack, dev);
    const ids = [a.id, b.id];
    stack.dev_queue_xmit(a, dev);
    stack.dev_queue_xmit(b, dev);
    expect(stack.qdiscStats(dev).requeues).toBe(1);
    expect(stack.qdiscStats(dev).qlen).toBe(2);
    dev.netif_wake_queue();
    sim.run();
    expect(dev.sent.map((s) => s.id)).toEqual(ids);
    dev.complete();
  });

  it('a noqueue device (tx_queue_len 0) drops when its driver is busy', () => {
    const { sim, stack } = setup();
    const dev = new SlotDevice(stack, 'br0', 1, 0);
    stack.dev_queue_xmit(rxSkb(stack, dev), dev);
    stack.dev_queue_xmit(rxSkb(stack, dev), dev);
    expect(sim.drops.total({ where: 'br0', reason: 'noqueue_stopped' })).toBe(1);
    dev.complete();
    expect(stack.pool.outstanding).toBe(0);
  });

  it('finishes CHECKSUM_PARTIAL in software for a device without checksum offload', () => {
    const { stack } = setup();
    const dev = new SlotDevice(stack, 'eth0', 10);
    const skb = rxSkb(stack, dev, 64);
    skb.head.fill(0, skb.data, skb.data + 64);
    skb.head[skb.data + 20] = 0x12;
    skb.head[skb.data + 21] = 0x34;
    skb.ipSummed = 3;
    skb.csumStart = 20;
    skb.csumOffset = 10;
    stack.dev_queue_xmit(skb, dev);
    const b = dev.sent[0]!.head;
    const d = dev.sent[0]!.data;
    expect((b[d + 30]! << 8) | b[d + 31]!).toBe(0xffff - 0x1234);
    expect(dev.sent[0]!.ipSummed).toBe(0);
    dev.complete();
  });

  it('rejects a device that is not registered with the stack', () => {
    const { stack } = setup();
    const other = new NetStack(stack.sim, { name: 'dom1', domid: 1 });
    const dev = new SlotDevice(other, 'eth0', 1);
    expect(() => stack.dev_queue_xmit(rxSkb(other, dev), dev)).toThrow(/not registered with stack dom0/);
  });
});

describe('NetStack options', () => {
  it('names the bad option and what is allowed', () => {
    const sim = new Simulator();
    expect(() => new NetStack(sim, { name: '', domid: 0 })).toThrow(/name "" is not allowed/);
    expect(() => new NetStack(sim, { name: 'x', domid: -5 })).toThrow(/domid -5 is not allowed/);
    expect(() => Params.defaults().with({ 'net.netdev_max_backlog': 0 })).toThrow(/net.netdev_max_backlog/);
  });
});
