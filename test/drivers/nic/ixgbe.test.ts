import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Simulator } from '../../../src/sim';
import { Params } from '../../../src/params';
import { EthernetLink } from '../../../src/net/link';
import { ExternalHost } from '../../../src/drivers/nic/host';
import { l4ChecksumStatus, TX_WAKE_THRESHOLD } from '../../../src/drivers/nic/ixgbe';
import { FrameCapture } from '../../../src/net/capture';
import { NET_PARAMS, NIC_PARAMS, LINK_PARAMS, wireTimeNs } from '../../../src/net/costs';
import { buildUdpFrame, buildUdpFrameInto } from '../../../src/wire/build';
import { MacAddr, Ipv4Addr } from '../../../src/wire/address';
import { CHECKSUM_NONE, CHECKSUM_PARTIAL } from '../../../src/net/skb';
import { QUEUE_STATE_DRV_XOFF, QUEUE_STATE_STACK_XOFF } from '../../../src/net/netdevice';
import { DQL_MAX_LIMIT } from '../../../src/net/dql';
import { requireTshark, tsharkValidate } from '../../wire/tshark-helper';
import { tcpGsoSkb } from '../../net/helpers';

const MAC_A = '02:00:00:00:00:0a';
const MAC_B = '02:00:00:00:00:0b';

function pair(overrides: Record<string, number | string | boolean> = {}, seed = 1) {
  const params = Params.defaults().with(overrides);
  const sim = new Simulator({ seed });
  const a = new ExternalHost(sim, { name: 'hostA', mac: MAC_A, ip: '10.0.0.10', params, neighbours: { '10.0.0.11': MAC_B } });
  const b = new ExternalHost(sim, { name: 'hostB', mac: MAC_B, ip: '10.0.0.11', params, neighbours: { '10.0.0.10': MAC_A } });
  const wire = new EthernetLink(sim, { name: 'wire0', params });
  a.plug(wire, 0);
  b.plug(wire, 1);
  return { sim, a, b, wire, params };
}

const SPEC = {
  srcMac: MacAddr.parse(MAC_A), dstMac: MacAddr.parse(MAC_B), srcIp: Ipv4Addr.parse('10.0.0.10'), dstIp: Ipv4Addr.parse('10.0.0.11'),
  srcPort: 9, dstPort: 9, payloadLength: 1472,
};

/** Queues `n` 1514-byte UDP frames on host A's NIC at the current time, straight into dev_queue_xmit. */
function blast(h: ExternalHost, n: number): number {
  let dropped = 0;
  for (let i = 0; i < n; i++) {
    const skb = h.stack.pool.alloc();
    skb.bornAt = h.stack.sim.now;
    buildUdpFrameInto(skb.head, skb.put(1514), { ...SPEC, ipId: i & 0xffff });
    dropped += h.stack.dev_queue_xmit(skb, h.nic);
  }
  return dropped;
}

describe('ixgbe NIC transmit on a 10G wire', () => {
  it('sends N back-to-back 1514-byte frames in N × (1538 × 8 / 10e9) s: 812,743 frames/s (without BQL, so the ring fills)', () => {
    const { sim, a, b, wire } = pair({ 'nic.bql': false });
    const sock = b.endpoint.bind(9);
    const cap = FrameCapture.onLink(sim, wire);
    const N = 1200;
    expect(blast(a, N)).toBe(0); // ring (512) + qdisc (1000) hold them all
    expect(a.nic.txStopped).toBe(true);
    sim.run();
    expect(sock.packets).toBe(N);
    const perFrame = (1538 * 8) / 10e9 * 1e9; // 1230.4 ns
    expect(wire.stats(0).busyNs).toBeCloseTo(N * perFrame, 6);
    // serialization starts are back to back once the first frame is on the wire
    const first = cap.capture.frame(0).timeNs;
    const last = cap.capture.frame(N - 1).timeNs;
    expect(Math.abs(last - first - (N - 1) * perFrame)).toBeLessThanOrEqual(1);
    expect(Math.floor(1e9 / perFrame)).toBe(812_743);
    expect(wireTimeNs(1514, Params.defaults().group(NIC_PARAMS))).toBeCloseTo(perFrame, 9);
    // completions freed every skb and restarted the queue
    expect(sim.drops.total()).toBe(0);
    expect(a.stack.pool.outstanding).toBe(0);
    expect(a.nic.counters.tx_restart_queue).toBeGreaterThan(0);
    expect(a.nic.txInUse).toBe(0);
    expect(a.nic.stats.tx_packets).toBe(N);
  });

  it('stops the queue when fewer than DESC_NEEDED descriptors remain, and returns busy when full', () => {
    const { a } = pair({ 'nic.tx_ring_size': 64, 'net.tx_queue_len': 0, 'nic.bql': false });
    // noqueue: the driver's busy return is a drop (noqueue_stopped) we can count
    let sent = 0;
    for (let i = 0; i < 64; i++) if (blast(a, 1) === 0) sent++;
    // 64 - 1 (one slot kept empty) - 21 (DESC_NEEDED) → stops after 43 in use
    expect(sent).toBe(43);
    expect(a.nic.txInUse).toBe(43);
    expect(a.stack.sim.drops.total({ reason: 'noqueue_stopped' })).toBe(21);
  });

  it('wakes a stopped queue only once TX_WAKE_THRESHOLD (2 × DESC_NEEDED = 42) descriptors are free', () => {
    // One completion per poll, so the queue's state can be read after each one.
    const { sim, a } = pair({ 'nic.tx_ring_size': 64, 'net.tx_queue_len': 0, 'nic.tx_work_limit': 1, 'nic.bql': false });
    while (!a.nic.txStopped) blast(a, 1);
    expect(a.nic.txUnused).toBe(20);
    const unusedWhileStopped: number[] = [];
    let wokeAt = -1;
    const wake = a.nic.netif_wake_queue.bind(a.nic);
    a.nic.netif_wake_queue = () => { if (wokeAt < 0) wokeAt = a.nic.txUnused; wake(); };
    while (a.nic.txStopped) {
      unusedWhileStopped.push(a.nic.txUnused);
      sim.run({ maxEvents: 1 });
    }
    // Several polls may run in one softirq event: the queue was still stopped with 40 free (or
    // fewer) before the event that woke it, and it woke as the 42nd became free.
    expect(Math.max(...unusedWhileStopped)).toBeLessThan(TX_WAKE_THRESHOLD);
    expect(a.nic.counters.tx_restart_queue).toBe(1);
    expect(wokeAt).toBe(TX_WAKE_THRESHOLD);
    expect(TX_WAKE_THRESHOLD).toBe(42);
  });

  it('an rx ring of 64 descriptors holds 63 frames (one is always left unused): the 64th arriving at once is rx_ring_full', () => {
    const { sim, b } = pair({ 'nic.rx_ring_size': 64 });
    const sock = b.endpoint.bind(9);
    let buf = new Uint8Array(2048);
    for (let i = 0; i < 70; i++) {
      buildUdpFrameInto(buf, 0, { ...SPEC, ipId: i });
      buf = b.nic.linkRx(buf, 0, 1514, 1000 + i, 0, -1);
    }
    expect(sim.drops.total({ reason: 'rx_ring_full' })).toBe(7);
    sim.run();
    expect(sock.packets).toBe(63);
  });

  it('drops frames as rx_ring_full when NAPI does not keep up, and every frame is delivered or counted', () => {
    const { sim, a, b } = pair({ 'nic.rx_usecs': 1000, 'nic.bql': false });
    const sock = b.endpoint.bind(9);
    const N = 1400;
    expect(blast(a, N)).toBe(0);
    sim.run();
    const ringDrops = sim.drops.total({ where: 'eth0', reason: 'rx_ring_full' });
    expect(ringDrops).toBeGreaterThan(0);
    expect(b.nic.counters.rx_no_dma_resources).toBe(ringDrops);
    expect(sock.packets + ringDrops).toBe(N);
    expect(sim.drops.total()).toBe(ringDrops);
    expect(a.stack.pool.outstanding).toBe(0);
  });

  it('delivers a UDP datagram with the latency the cost model adds up to', () => {
    const { sim, a, b, params } = pair();
    const sock = b.endpoint.bind(9);
    a.endpoint.sendUdp('10.0.0.11', 9, 1472);
    sim.run();
    expect(sock.packets).toBe(1);
    expect(sock.bytes).toBe(1472);
    const n = params.group(NET_PARAMS);
    const c = params.group(NIC_PARAMS);
    const l = params.group(LINK_PARAMS);
    const len = 1514;
    const doorbell = n.l4_send_ns + n.skb_alloc_ns + Math.round(1472 * n.memcpy_byte_ns) + n.dev_queue_xmit_ns + c.driver_xmit_ns;
    const lastBit = doorbell + c.dma_latency_ns + len * c.dma_byte_ns + wireTimeNs(len, c);
    const arrive = Math.ceil(lastBit + l.propagation_ns);
    const rxReady = Math.ceil(arrive + c.dma_latency_ns + len * c.dma_byte_ns);
    const softirq = rxReady + n.irq_entry_ns + n.napi_schedule_ns + n.softirq_latency_ns;
    const delivered = softirq + n.napi_poll_ns + c.clean_rx_ns + n.skb_alloc_ns + n.netif_receive_skb_core_ns + n.ip_rcv_ns + n.l4_rcv_ns;
    expect(sock.latencyMaxNs).toBe(delivered);
    expect(delivered).toBe(6223); // with the default parameters
  });

  it('finishes CHECKSUM_PARTIAL in the frame it puts on the wire (tx checksum offload)', () => {
    const { sim, a, b, wire } = pair();
    const cap = FrameCapture.onLink(sim, wire);
    const sock = b.endpoint.bind(9);
    a.endpoint.sendUdp('10.0.0.11', 9, 100);
    sim.run();
    expect(a.nic.counters.tx_csum_offload).toBe(1);
    const f = cap.capture.frame(0);
    expect(l4ChecksumStatus(f.data, 0, f.data.length)).toBe(1);
    expect(b.nic.counters.rx_csum_good).toBe(1);
    expect(sock.packets).toBe(1);
  });

  it('a UDP datagram without checksum (0) is left unverified, neither good nor an error (the 82599 UDP-zero erratum), and delivered', () => {
    const { sim, b } = pair();
    const sock = b.endpoint.bind(9);
    const f = buildUdpFrame({ ...SPEC, payloadLength: 100, checksum: 'none' });
    expect(l4ChecksumStatus(f, 0, f.length)).toBe(-2);
    const seen: number[] = [];
    b.nic.taps.push({ tap: (_d, dir, skb) => { if (dir === 'rx') seen.push(skb.ipSummed); } });
    const buf = new Uint8Array(2048);
    buf.set(f);
    b.nic.linkRx(buf, 0, f.length, 1, 0, -1);
    sim.run();
    expect(seen).toEqual([CHECKSUM_NONE]);
    expect([b.nic.counters.rx_csum_good, b.nic.counters.rx_csum_bad]).toEqual([0, 0]);
    expect(sock.packets).toBe(1); // udp_rcv: no checksum to check
  });

  it('a frame whose IPv4 header checksum is wrong is a checksum error (IXGBE_RXDADV_ERR_IPE), whatever its UDP checksum', () => {
    const f = buildUdpFrame({ ...SPEC, payloadLength: 100, checksum: 'full' });
    expect(l4ChecksumStatus(f, 0, f.length)).toBe(1);
    f[24] ^= 0x01; // the IPv4 header checksum
    expect(l4ChecksumStatus(f, 0, f.length)).toBe(0);
  });

  it('a UDP checksum that folds to 0 goes on the wire as 0xffff (0 would mean "no checksum"), by the NIC and by skb_checksum_help', () => {
    // A payload whose last word cancels the rest: the complete checksum folds to 0.
    const payload = new Uint8Array(100);
    const c0 = buildUdpFrame({ ...SPEC, payloadLength: 100, payload, checksum: 'full' });
    payload[98] = c0[40]!;
    payload[99] = c0[41]!;
    const partial = buildUdpFrame({ ...SPEC, payloadLength: 100, payload, checksum: 'partial' });
    const skbOf = (h: ExternalHost) => {
      const skb = h.stack.pool.alloc();
      skb.head.set(partial, skb.put(partial.length));
      skb.ipSummed = CHECKSUM_PARTIAL;
      skb.csumStart = 34;
      skb.csumOffset = 6;
      return skb;
    };
    const { sim, a, b, wire } = pair();
    const cap = FrameCapture.onLink(sim, wire);
    const sock = b.endpoint.bind(9);
    a.stack.dev_queue_xmit(skbOf(a), a.nic);
    sim.run();
    const f = cap.capture.frame(0).data;
    expect([f[40], f[41]]).toEqual([0xff, 0xff]);
    expect(sock.packets).toBe(1);
    const sw = skbOf(a);
    expect(a.stack.skb_checksum_help(sw)).toBe(true);
    expect([sw.head[sw.data + 40], sw.head[sw.data + 41]]).toEqual([0xff, 0xff]);
    a.stack.pool.free(sw);
  });

  it('a receiver with rx_csum off verifies in software and drops a corrupted datagram as udp_csum', () => {
    const { sim, a, b } = pair({ 'nic.rx_csum': 'off' });
    const sock = b.endpoint.bind(9);
    const frame = new Uint8Array(1514);
    buildUdpFrameInto(frame, 0, SPEC);
    a.endpoint.sendFrame(frame);
    frame[100] ^= 0xff;
    a.endpoint.sendFrame(frame);
    sim.run();
    expect(sock.packets).toBe(1);
    expect(sim.drops.total({ reason: 'udp_csum' })).toBe(1);
  });

  it('segments a TCPv4 GSO packet into MSS-sized frames with correct sequence numbers and checksums (TSO)', () => {
    const { sim, a, wire } = pair();
    const cap = FrameCapture.onLink(sim, wire);
    // 200 linear bytes, the rest as page fragments, as netback builds them
    const { skb, payload, frame: big } = tcpGsoSkb(a.stack.pool, { ...SPEC, payloadLength: undefined, seq: 1000, flags: 0x18 });
    a.stack.dev_queue_xmit(skb, a.nic);
    sim.run();
    const segs = Math.ceil(10_000 / 1448);
    expect(cap.capture.frames).toBe(segs);
    expect(a.nic.counters.tx_tso_segments).toBe(segs);
    // ip -s link counts what left: one packet per segment, the headers once per segment.
    expect([a.nic.stats.tx_packets, a.nic.stats.tx_bytes]).toEqual([segs, big.length + (segs - 1) * 54]);
    let bytes = 0;
    for (let i = 0; i < segs; i++) {
      const f = cap.capture.frame(i).data;
      expect(l4ChecksumStatus(f, 0, f.length)).toBe(1);
      const seq = ((f[38]! << 24) | (f[39]! << 16) | (f[40]! << 8) | f[41]!) >>> 0;
      expect(seq).toBe(1000 + i * 1448);
      expect(f[47]! & 0x08).toBe(i === segs - 1 ? 0x08 : 0); // PSH only on the last
      expect(Buffer.from(f.subarray(54)).equals(Buffer.from(payload.subarray(i * 1448, i * 1448 + f.length - 54)))).toBe(true);
      bytes += f.length - 54;
    }
    expect(bytes).toBe(10_000);
    expect(a.stack.pool.outstanding).toBe(0);
  });

  it('loses frames on a lossy wire from its named random stream; same seed, same losses; conservation holds', () => {
    const run = (seed: number) => {
      const { sim, a, b } = pair({ 'link.loss_rate': 0.1 }, seed);
      const sock = b.endpoint.bind(9);
      for (let i = 0; i < 500; i++) sim.at(i * 2000, sim.register(`send${i}`, () => a.endpoint.sendUdp('10.0.0.11', 9, 1000)));
      sim.run();
      const lost = sim.drops.total({ where: 'wire0', reason: 'wire_loss' });
      expect(sock.packets + sim.drops.total()).toBe(500);
      expect(a.stack.pool.outstanding).toBe(0);
      return lost;
    };
    const l1 = run(7);
    expect(l1).toBeGreaterThan(20);
    expect(l1).toBeLessThan(90);
    expect(run(7)).toBe(l1);
  });
});

describe('ixgbe Byte Queue Limits (netdev_tx_sent_queue / netdev_tx_completed_queue)', () => {
  /** Blasts `n` frames; records, at every frame the driver posts, the bytes in flight before it and the limit. */
  function bqlRun(n: number, overrides: Record<string, number | boolean> = {}) {
    const { sim, a, b } = pair(overrides);
    const sock = b.endpoint.bind(9);
    const posts: { before: number; limit: number }[] = [];
    let maxInUse = 0;
    const sent = a.nic.netdev_tx_sent_queue.bind(a.nic);
    a.nic.netdev_tx_sent_queue = (q, bytes) => {
      const l = a.nic.byteQueueLimits(q);
      posts.push({ before: l.inflight, limit: l.limit });
      sent(q, bytes);
      maxInUse = Math.max(maxInUse, a.nic.txInUse);
    };
    const dropped = blast(a, n);
    const afterBlast = { stopped: a.nic.txqStopped[0], qlen: a.stack.qdiscStats(a.nic).qlen, inUse: a.nic.txInUse };
    sim.run();
    return { sim, a, sock, posts, maxInUse, dropped, afterBlast };
  }

  it('a burst: the first frame stops the queue for the stack (limit 0), the rest wait in the qdisc and leave as completions raise the limit', () => {
    const { a, sock, posts, maxInUse, dropped, afterBlast } = bqlRun(800);
    expect(dropped).toBe(0);
    // STACK_XOFF (2), not the driver's DRV_XOFF (1): the ring has room, the qdisc holds 799.
    expect(afterBlast).toEqual({ stopped: QUEUE_STATE_STACK_XOFF, qlen: 799, inUse: 1 });
    expect(sock.packets).toBe(800);
    // The stack posted a frame only while the bytes in flight were within the limit (dql_avail >= 0).
    expect(posts.length).toBe(800);
    for (const p of posts) expect(p.before).toBeLessThanOrEqual(p.limit);
    // The limit started at 0 and grew each time the ring ran dry while over it.
    expect(posts[0]!.limit).toBe(0);
    const limits = posts.map((p) => p.limit);
    expect(Math.max(...limits)).toBeGreaterThan(20 * 1514);
    for (let k = 1; k < limits.length; k++) expect(limits[k]).toBeGreaterThanOrEqual(limits[k - 1]!);
    // Everything completed: nothing in flight, the queue running, the limit kept for the next burst.
    const bql = a.nic.byteQueueLimits();
    expect(bql.inflight).toBe(0);
    expect(bql.limit).toBe(Math.max(...limits));
    expect(bql.hold_time_jiffies).toBe(250); // HZ: one second
    expect(a.nic.txqStopped[0]).toBe(0);
    expect(a.nic.stats.tx_packets).toBe(800);
    // Without BQL the same burst fills the ring to its stop threshold.
    const off = bqlRun(800, { 'nic.bql': false });
    // (one descriptor per frame; the driver stops with fewer than DESC_NEEDED = 21 unused, one always kept empty)
    expect(off.afterBlast).toEqual({ stopped: QUEUE_STATE_DRV_XOFF, qlen: 800 - 491, inUse: a.nic.txRingSize - 1 - 20 });
    expect(maxInUse).toBeLessThan(off.afterBlast.inUse / 4);
    expect(off.posts.length).toBe(0);
    expect(off.a.nic.byteQueueLimits()).toMatchObject({ limit: 0, inflight: 0 });
  });

  it('limit_max caps the limit at the next completion (echo 3028 > limit_max): then the ring holds at most three frames', () => {
    const { sim, a, b } = pair();
    const sock = b.endpoint.bind(9);
    a.nic.setByteQueueLimits(0, { limit_max: 3028 });
    expect(a.nic.byteQueueLimits()).toMatchObject({ limit_min: 0, limit_max: 3028 });
    let maxInflight = 0;
    const sent = a.nic.netdev_tx_sent_queue.bind(a.nic);
    a.nic.netdev_tx_sent_queue = (q, bytes) => { sent(q, bytes); maxInflight = Math.max(maxInflight, a.nic.byteQueueLimits(q).inflight); };
    expect(blast(a, 300)).toBe(0);
    sim.run();
    expect(sock.packets).toBe(300);
    expect(a.nic.byteQueueLimits().limit).toBe(3028);
    // One frame may go while in flight <= limit: 3028 + 1514.
    expect(maxInflight).toBe(3 * 1514);
  });

  it('limit_min at DQL_MAX_LIMIT ("echo max > limit_min") turns the limit off from the next completion', () => {
    const { sim, a, b } = pair();
    const sock = b.endpoint.bind(9);
    a.nic.setByteQueueLimits(0, { limit_min: DQL_MAX_LIMIT });
    expect(blast(a, 1)).toBe(0);
    sim.run();
    expect(a.nic.byteQueueLimits().limit).toBe(DQL_MAX_LIMIT);
    expect(blast(a, 600)).toBe(0);
    expect(a.nic.txqStopped[0]).toBe(QUEUE_STATE_DRV_XOFF); // the ring filled, as without BQL
    sim.run();
    expect(sock.packets).toBe(601);
  });

  it('traces the queue: nic.txq at every post and completion round, net.qdisc at every enqueue, dequeue and requeue, consistent with the counts', () => {
    const { sim, a, b } = pair({ 'nic.line_rate_bps': 1e9 });
    const sock = b.endpoint.bind(9);
    const rec = sim.trace.record('nic.txq');
    const recQ = sim.trace.record('net.qdisc');
    expect(blast(a, 300)).toBe(0);
    sim.run();
    expect(sock.packets).toBe(300);
    const txq = rec.of('nic.txq').filter((r) => r.host === 'hostA');
    const qd = recQ.of('net.qdisc').filter((r) => r.host === 'hostA' && r.dev === 'eth0');
    // bytes on the ring: every post adds its bytes, every completion round takes what it cleaned
    let ring = 0;
    for (const r of txq) {
      ring += r.op === 'sent' ? r.bytes : -r.bytes;
      expect(r.inflight).toBe(ring);
      expect(r.bqlLimit).toBeGreaterThanOrEqual(0);
    }
    expect(txq.filter((r) => r.op === 'sent').length).toBe(300);
    expect(ring).toBe(0);
    // the qdisc: +1 per enqueue and requeue, -1 per dequeue; everything but the first frame (bypass) went through it
    let qlen = 0;
    for (const r of qd) {
      qlen += r.op === 'dequeue' ? -1 : 1;
      expect(r.qlen).toBe(qlen);
    }
    expect(qd.filter((r) => r.op === 'enqueue').length).toBe(299);
    expect(Math.max(...qd.map((r) => r.qlen))).toBeGreaterThan(200); // BQL kept the backlog in the qdisc
    expect(Math.max(...txq.map((r) => r.inflight))).toBeLessThan(40 * 1514);
    expect(qlen).toBe(0);
  });

  it('hold_time (echo 10 > hold_time) is kept in jiffies rounded up (msecs_to_jiffies) and shown back in ms (jiffies_to_msecs)', () => {
    // What dql_completed does with slack_hold_time is checked against the kernel's C (dql-conformance).
    const { a } = pair();
    expect(a.nic.byteQueueLimits()).toMatchObject({ hold_time_jiffies: 250, hold_time: 1000 }); // dql_init(HZ)
    a.nic.setByteQueueLimits(0, { hold_time: 10 });
    expect(a.nic.byteQueueLimits()).toMatchObject({ hold_time_jiffies: 3, hold_time: 12 });
    expect(a.nic.txqDql[0]!.slack_hold_time).toBe(3);
    const h1000 = pair({ 'bridge.hz': 1000 }).a;
    h1000.nic.setByteQueueLimits(0, { hold_time: 10 });
    expect(h1000.nic.byteQueueLimits()).toMatchObject({ hold_time_jiffies: 10, hold_time: 10 });
    const h = pair().a;
    h.nic.setByteQueueLimits(0, { hold_time: 0 });
    expect(h.nic.byteQueueLimits()).toMatchObject({ hold_time_jiffies: 0, hold_time: 0 });
    h.nic.setByteQueueLimits(0, { hold_time: 4294967295 });
    expect(h.nic.byteQueueLimits().hold_time_jiffies).toBe(1073741824);
  });

  it('refuses limits outside 0..DQL_MAX_LIMIT by name, as sysfs does (-EINVAL)', () => {
    const h = pair().a;
    expect(() => h.nic.setByteQueueLimits(0, { hold_time: -1 })).toThrow(/byte_queue_limits\/hold_time -1 is not allowed; use an integer number of ms in 0\.\.4294967295/);
    expect(() => h.nic.setByteQueueLimits(0, { hold_time: 1.5 })).toThrow(/hold_time 1.5 is not allowed/);
    const { a } = pair();
    expect(() => a.nic.setByteQueueLimits(0, { limit_max: DQL_MAX_LIMIT + 1 })).toThrow(/eth0 tx-0 byte_queue_limits\/limit_max 1879048193 is not allowed; use an integer in 0\.\.1879048192 \(-EINVAL\)/);
    expect(() => a.nic.setByteQueueLimits(0, { limit_min: -1 })).toThrow(/limit_min -1 is not allowed/);
    expect(() => a.nic.setByteQueueLimits(1, { limit_min: 0 })).toThrow(/setByteQueueLimits: eth0 queue 1 is not allowed/);
    expect(a.nic.byteQueueLimits()).toMatchObject({ limit_min: 0, limit_max: DQL_MAX_LIMIT });
  });
});

describe('ixgbe interrupt moderation (ethtool -C rx-usecs)', () => {
  /** Host B's interrupts (time, interval in force) while A blasts `n` frames at line rate. */
  function blastIrqs(overrides: Record<string, number>, n = 1200) {
    // Without BQL on the sender, so that the frames arrive back to back from the first.
    const { sim, a, b } = pair({ 'nic.bql': false, ...overrides });
    const rec = sim.trace.record('nic.irq');
    const sock = b.endpoint.bind(9);
    expect(blast(a, n)).toBe(0);
    sim.run();
    expect(sock.packets).toBe(n);
    const irqs = rec.of('nic.irq').filter((r) => r.host === 'hostB');
    expect(irqs.length).toBe(b.nic.counters.interrupts);
    // the hardware never raises two interrupts closer than the interval in force
    for (let k = 1; k < irqs.length; k++) expect(irqs[k]!.t - irqs[k - 1]!.t).toBeGreaterThanOrEqual(irqs[k]!.itrUsecs * 1000);
    return irqs;
  }

  it('adaptive (rx-usecs 1, the default): a line-rate stream walks the interval up from 50 µs in 2 µs steps and holds it where a poll takes 48-95 frames', () => {
    const irqs = blastIrqs({});
    const itrs = irqs.map((r) => r.itrUsecs);
    // 50 µs holds ~40 frames of 1.23 µs (4-47: +2 µs); 60 µs holds ~49 (48-95: keep)
    expect(itrs.slice(0, 7)).toEqual([50, 52, 54, 56, 58, 60, 60]);
    expect(new Set(itrs.slice(5))).toEqual(new Set([60]));
    const fixed = blastIrqs({ 'nic.rx_usecs': 10 });
    expect(new Set(fixed.map((r) => r.itrUsecs))).toEqual(new Set([10]));
    expect(irqs.length * 4).toBeLessThan(fixed.length); // 26 against 149
  });

  it('rx-usecs 0 interrupts as soon as a frame is written back; a fixed rx-usecs never adapts', () => {
    const none = blastIrqs({ 'nic.rx_usecs': 0 });
    expect(none.every((r) => r.itrUsecs === 0)).toBe(true);
    expect(none.length).toBeGreaterThan(300);
    const slow = blastIrqs({ 'nic.rx_usecs': 200 });
    expect(slow.every((r) => r.itrUsecs === 200)).toBe(true);
    expect(slow.length).toBeLessThanOrEqual(Math.ceil((1200 * 1.2304) / 200) + 1);
  });

  it('adaptive: a lone small frame a millisecond apart gets a latency-mode 14 µs, and one after an idle jiffy starts again at 10 µs', () => {
    const { sim, a, b } = pair();
    b.endpoint.bind(9);
    const sendAt = (ms: number) => {
      const h = sim.register(`send${ms}`, () => a.endpoint.sendUdp('10.0.0.11', 9, 56)); // a 98-byte frame
      sim.at(ms * 1_000_000, h);
    };
    for (const ms of [1, 2, 3, 4, 5]) sendAt(ms);
    sim.run({ until: 5_500_000 });
    expect(b.nic.itrUsecs).toBe(14); // (98 × 40 + 2720) / 2 → 7 × 2 µs
    sendAt(20); // 14.5 ms of silence: more than a jiffy (4 ms at HZ 250) since the last update
    sim.run();
    expect(b.nic.itrUsecs).toBe(10);
  });
});

describe('ixgbe interrupt moderation changed at run time (ethtool -C)', () => {
  it('setRxUsecs(0) mid-stream: the next interrupts are immediate; setRxUsecs(1) adapts again from 50 µs; bad values are refused by name', () => {
    const { sim, a, b } = pair();
    const rec = sim.trace.record('nic.irq');
    b.endpoint.bind(9);
    expect(b.nic.rxUsecs).toBe(1);
    blast(a, 400);
    sim.run({ until: 200_000 });
    b.nic.setRxUsecs(0);
    expect([b.nic.rxUsecs, b.nic.itrUsecs]).toEqual([0, 0]);
    const cut = sim.now;
    sim.run({ until: 350_000 });
    b.nic.setRxUsecs(1);
    expect([b.nic.rxUsecs, b.nic.itrUsecs]).toEqual([1, 50]);
    const back = sim.now;
    sim.run();
    const irqs = rec.of('nic.irq').filter((r) => r.host === 'hostB');
    const before = irqs.filter((r) => r.t < cut);
    const off = irqs.filter((r) => r.t >= cut && r.t < back);
    const after = irqs.filter((r) => r.t >= back);
    expect(before.every((r) => r.itrUsecs >= 50)).toBe(true);
    expect(off.length).toBeGreaterThan(before.length);
    expect(off.every((r) => r.itrUsecs === 0)).toBe(true);
    // adaptive again: the first completed poll re-tunes from what the rings counted meanwhile
    expect(after.length).toBeGreaterThan(1);
    expect(after.every((r) => r.itrUsecs >= 10 && r.itrUsecs <= 126)).toBe(true);
    for (const bad of [-1, 1023, 2.5, Number.NaN]) {
      expect(() => b.nic.setRxUsecs(bad)).toThrow(new RegExp(`eth0.setRxUsecs: rx-usecs ${String(bad).replace('.', '\\.')} is not allowed; use an integer in 0..1022`));
    }
  });
});

describe('wire capture conformance', () => {
  const RUN = requireTshark();
  it.runIf(RUN)('a ping and UDP traffic captured on the wire decode cleanly in tshark, checksums good', () => {
    const sim = new Simulator();
    const a = new ExternalHost(sim, { name: 'hostA', mac: MAC_A, ip: '10.0.0.10' });
    const b = new ExternalHost(sim, { name: 'hostB', mac: MAC_B, ip: '10.0.0.11' });
    const wire = new EthernetLink(sim, { name: 'wire0' });
    a.plug(wire, 0);
    b.plug(wire, 1);
    b.endpoint.bind(5001);
    const cap = FrameCapture.onLink(sim, wire);
    a.endpoint.ping('10.0.0.11');
    for (let i = 0; i < 5; i++) a.endpoint.sendUdp('10.0.0.11', 5001, 100 + i * 300);
    sim.run();
    const path = join(mkdtempSync(join(tmpdir(), 'nic-')), 'wire.pcap');
    cap.capture.writeFile(path, { precision: 'ns' });
    const r = tsharkValidate(path);
    expect(r.problems).toEqual([]);
    // Byte Queue Limits start at 0: after the echo request and one datagram the rest wait in A's
    // qdisc for completions, and B's echo reply goes on the wire between them.
    expect(r.protocols.map((p) => p.join(':'))).toEqual([
      'eth:ethertype:arp', 'eth:ethertype:arp', 'eth:ethertype:ip:icmp:data', 'eth:ethertype:ip:udp:data',
      'eth:ethertype:ip:icmp:data', ...Array(4).fill('eth:ethertype:ip:udp:data'),
    ]);
  });
});
