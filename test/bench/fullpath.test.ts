import { describe, expect, it } from 'vitest';
import { FullPathFlow, baselineLoop, baselineSink } from '../../src/bench/fullpath';

describe('the full-path benchmark driver (src/bench/fullpath.ts)', () => {
  for (const direction of ['tx', 'rx'] as const) {
    for (const design of ['modern', 'classic'] as const) {
      it(`FullPathFlow.run() delivers every ${direction} datagram (${design}) with nothing dropped`, () => {
        const flow = new FullPathFlow(direction, design);
        const r = flow.run(3000);
        expect(r.sent).toBe(3000);
        expect(r.delivered).toBe(3000);
        expect(r.drops).toBe(0);
        expect(r.virtualNs).toBeGreaterThan(0);
        // 1500-byte IP packets: the far socket counted 1472 bytes of payload per datagram.
        const sock = direction === 'tx' ? flow.host.external.endpoint.socket(9000)! : flow.host.guest('g').endpoint.socket(9000)!;
        expect(sock.bytes).toBe(sock.packets * 1472);
      });
    }
  }

  it('FullPathFlow keeps at most `window` datagrams in flight', () => {
    const flow = new FullPathFlow('tx', 'modern', { window: 8, batch: 64 });
    const sock = flow.host.external.endpoint.socket(9000)!;
    let maxInFlight = 0;
    let sent = 0;
    flow.host.sim.trace.on('netfront.tx.push', () => {
      sent++;
      maxInFlight = Math.max(maxInFlight, sent - (sock.packets - 1));
    });
    const r = flow.run(500);
    expect(r.delivered).toBe(500);
    expect(maxInFlight).toBeGreaterThan(1);
    expect(maxInFlight).toBeLessThanOrEqual(8);
  });

  it('a traced flow sees every pkt.step and more records per packet than steps in the walk of one packet', () => {
    const flow = new FullPathFlow('rx', 'modern', { traced: true });
    const r = flow.run(1000);
    expect(r.delivered).toBe(1000);
    expect(r.traceRecords / r.delivered).toBeGreaterThan(10);
  });

  it('baselineLoop() moves the bytes (the copy is not optimised away)', () => {
    const before = baselineSink();
    baselineLoop(100);
    // sizes read back by the consumer + ids read back from the responses + a byte of copied page 3
    const ids = (99 * 100) / 2;
    expect(baselineSink() - before).toBe(100 * 1500 + ids + 3);
  });
});
