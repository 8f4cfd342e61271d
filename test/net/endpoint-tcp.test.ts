import { describe, expect, it } from 'vitest';
import { Simulator } from '../../src/sim';
import { Params } from '../../src/params';
import { EthernetLink } from '../../src/net/link';
import { FrameCapture } from '../../src/net/capture';
import { ExternalHost } from '../../src/drivers/nic/host';
import { csum_fold, csum_partial, pseudoHeaderSumAt } from '../../src/wire/checksum';
import { buildTcpFrame } from '../../src/wire/build';
import { TCP_DELACK_NS } from '../../src/net/endpoint';

function pair(params?: Params) {
  const sim = new Simulator();
  const opts = params === undefined ? {} : { params };
  const a = new ExternalHost(sim, { name: 'hostA', mac: '02:00:00:00:00:0a', ip: '10.0.0.10', ...opts });
  const b = new ExternalHost(sim, { name: 'hostB', mac: '02:00:00:00:00:0b', ip: '10.0.0.11', ...opts });
  const wire = new EthernetLink(sim, { name: 'wire0' });
  a.plug(wire, 0);
  b.plug(wire, 1);
  a.endpoint.addNeighbour('10.0.0.11', '02:00:00:00:00:0b');
  b.endpoint.addNeighbour('10.0.0.10', '02:00:00:00:00:0a');
  return { sim, a, b, wire };
}

describe('IpEndpoint TCP: sendTcp and a listenTcp sink', () => {
  it('sends a payload larger than the MSS as one TSO packet: MSS segments on the wire, consecutive sequence numbers and IP ids, valid checksums, PSH on the last', () => {
    const { sim, a, b, wire } = pair(Params.defaults().with({ 'nic.gro': false }));
    const cap = FrameCapture.onLink(sim, wire);
    const sink = b.endpoint.listenTcp(5001);
    a.endpoint.sendTcp('10.0.0.11', 5001, 5000, { seq: 1000 });
    sim.run();
    const all = [...cap.capture].map((f) => f.data.slice());
    const fromA = (f: Uint8Array) => f[11] === 0x0a;
    const frames = all.filter(fromA);
    expect(frames.map((f) => f.length)).toEqual([1514, 1514, 1514, 54 + 5000 - 3 * 1460]);
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i]!;
      const tcpLen = f.length - 34;
      expect(csum_fold(csum_partial(f, 14, 34, 0))).toBe(0);
      expect(csum_fold(csum_partial(f, 34, f.length, pseudoHeaderSumAt(f, 14, tcpLen)))).toBe(0);
      expect(new DataView(f.buffer, f.byteOffset).getUint32(38)).toBe(1000 + i * 1460);
      expect(((f[18]! << 8) | f[19]!) - ((frames[0]![18]! << 8) | frames[0]![19]!)).toBe(i);
      expect(f[20]! & 0x40).toBe(0x40); // DF
      expect(f[47]! & 0x08).toBe(i === frames.length - 1 ? 0x08 : 0);
    }
    expect([sink.packets, sink.segments, sink.bytes, sink.outOfOrder]).toEqual([4, 4, 5000, 0]);
    // The receiver acknowledged each segment at once (quick-ACK mode at the start of a stream):
    // 54-byte ACKs (60 on the wire with padding) with the next expected sequence number.
    const acks = all.filter((f) => !fromA(f));
    expect(acks.map((f) => f.length)).toEqual([60, 60, 60, 60]);
    expect(acks.map((f) => new DataView(f.buffer, f.byteOffset).getUint32(42))).toEqual([2460, 3920, 5380, 6000]);
    expect(acks.every((f) => f[47] === 0x10)).toBe(true);
    expect(sink.acksSent).toBe(4);
    expect(a.endpoint.tcpFlow('10.0.0.11', 5001)).toEqual({ nextSeq: 6000, acks: 4, acked: 6000 });
  });

  it('after quick-ACK mode acknowledges every second full-sized segment, and a lone one from the delayed-ACK timer', () => {
    const { sim, a, b } = pair(Params.defaults().with({ 'nic.gro': false }));
    const sink = b.endpoint.listenTcp(5001);
    a.endpoint.sendTcp('10.0.0.11', 5001, 16 * 1460); // 16 segments: the 16 quick ACKs
    sim.run({ until: sim.now + 1_000_000 });
    expect(sink.acksSent).toBe(16);
    a.endpoint.sendTcp('10.0.0.11', 5001, 10 * 1460);
    sim.run({ until: sim.now + 1_000_000 });
    expect(sink.acksSent).toBe(16 + 5);
    a.endpoint.sendTcp('10.0.0.11', 5001, 1460);
    sim.run({ until: sim.now + 1_000_000 });
    expect(sink.acksSent).toBe(21); // one segment: the ACK waits …
    sim.run({ until: sim.now + TCP_DELACK_NS });
    expect([sink.acksSent, sink.delayedAcks]).toEqual([22, 1]); // … for the delayed-ACK timer
    expect(a.endpoint.tcpFlow('10.0.0.11', 5001)!.acked).toBe(27 * 1460);
    expect(sim.drops.total()).toBe(0);
  });

  it('goes on from where the last send to the same port ended, and counts a gap as out of order', () => {
    const { sim, a, b } = pair();
    const sink = b.endpoint.listenTcp(5001);
    a.endpoint.sendTcp('10.0.0.11', 5001, 1000);
    a.endpoint.sendTcp('10.0.0.11', 5001, 1000);
    sim.run();
    expect([sink.nextSeq, sink.outOfOrder]).toEqual([2000, 0]);
    a.endpoint.sendTcp('10.0.0.11', 5001, 100, { seq: 5000 });
    sim.run();
    expect([sink.nextSeq, sink.outOfOrder]).toEqual([5100, 1]);
  });

  it('drops a segment for a port nobody listens on (no_socket) and one with a bad checksum (tcp_csum)', () => {
    const { sim, a, b } = pair(Params.defaults().with({ 'nic.rx_csum': 'off' }));
    b.endpoint.listenTcp(5001);
    a.endpoint.sendTcp('10.0.0.11', 5002, 100);
    sim.run();
    expect(sim.drops.total({ reason: 'no_socket' })).toBe(1);
    // Verified in software (the receiving NIC's check is off) and accepted …
    const sink = b.endpoint.listenTcp(5003);
    a.endpoint.sendTcp('10.0.0.11', 5003, 100);
    sim.run();
    expect(sink.packets).toBe(1);
    // … unless the payload was damaged after the checksum was computed (sent raw).
    const f = buildTcpFrame({
      srcMac: '02:00:00:00:00:0a', dstMac: '02:00:00:00:00:0b', srcIp: '10.0.0.10', dstIp: '10.0.0.11',
      srcPort: 5003, dstPort: 5003, seq: 100, flags: 0x18, payloadLength: 100,
    });
    f[80] ^= 0x55;
    a.endpoint.sendFrame(f);
    sim.run();
    expect(sink.packets).toBe(1);
    expect(sim.drops.total({ reason: 'tcp_csum' })).toBe(1);
    expect(b.stack.pool.outstanding).toBe(0);
  });

  it('refuses bad arguments by name', () => {
    const { a, b } = pair();
    expect(() => a.endpoint.sendTcp('10.0.0.11', 5001, 0)).toThrow(/payloadBytes 0 is not allowed/);
    expect(() => a.endpoint.sendTcp('10.0.0.11', 5001, 70000)).toThrow(/payloadBytes 70000/);
    expect(() => a.endpoint.sendTcp('10.0.0.11', 5001, 10, { mss: 1461 })).toThrow(/mss 1461 is not allowed; use an integer in 1\.\.1460/);
    expect(() => a.endpoint.sendTcp('10.0.0.11', 5001, 10, { seq: -1 })).toThrow(/seq -1 is not allowed/);
    expect(() => a.endpoint.sendTcp('10.0.0.11', 70000, 10)).toThrow(/dstPort/);
    b.endpoint.listenTcp(5001);
    expect(() => b.endpoint.listenTcp(5001)).toThrow(/already listening/);
  });
});
