import { describe, expect, it } from 'vitest';
import { Simulator } from '../../../src/sim';
import { Params } from '../../../src/params';
import { EthernetLink } from '../../../src/net/link';
import { ExternalHost } from '../../../src/drivers/nic/host';
import { FrameCapture } from '../../../src/net/capture';
import { parseFrame } from '../../../src/wire/frame';

function pair(params = Params.defaults(), seed = 1) {
  const sim = new Simulator({ seed });
  const a = new ExternalHost(sim, { name: 'hostA', mac: '02:00:00:00:00:0a', ip: '10.0.0.10', params });
  const b = new ExternalHost(sim, { name: 'hostB', mac: '02:00:00:00:00:0b', ip: '10.0.0.11', params });
  const wire = new EthernetLink(sim, { name: 'wire0', params });
  a.plug(wire, 0);
  b.plug(wire, 1);
  return { sim, a, b, wire };
}

describe('ExternalHost over NIC ↔ wire ↔ NIC', () => {
  it('ping() resolves the neighbour with ARP and gets a real ICMP echo reply with a positive RTT', () => {
    const { sim, a, b, wire } = pair();
    const cap = FrameCapture.onLink(sim, wire);
    const p = a.endpoint.ping('10.0.0.11', { ident: 7, seq: 1, size: 56 });
    sim.run({ until: 1_000_000_000 });
    expect(p.rttNs).toBeGreaterThan(0);
    expect(a.endpoint.neighbour('10.0.0.11')?.toString()).toBe('02:00:00:00:00:0b');
    expect(b.endpoint.neighbour('10.0.0.10')?.toString()).toBe('02:00:00:00:00:0a');
    expect(b.endpoint.counters.icmp_echo_rx).toBe(1);
    expect(a.endpoint.counters.icmp_reply_rx).toBe(1);
    // ARP request, ARP reply, echo request, echo reply — all parse, with good checksums
    expect(cap.capture.frames).toBe(4);
    const kinds: string[] = [];
    for (const f of cap.capture) {
      const r = parseFrame(f.data);
      expect(r.ok).toBe(true);
      if (!r.ok) continue;
      kinds.push(JSON.stringify(r.value).includes('"icmp') ? 'icmp' : 'arp');
    }
    expect(kinds).toEqual(['arp', 'arp', 'icmp', 'icmp']);
    expect(sim.drops.total()).toBe(0);
    expect(a.stack.pool.outstanding).toBe(0);
  });
});
