import { buildXenHost, type XenHost } from '../../src/topo';

/** One jiffy at the model's default HZ (250, bridge.hz and netfront.hz). */
export const JIFFY = 4_000_000;

/**
 * A host with two guests (`subject` and 'good') with UDP sockets bound at both ends and ARP
 * resolved both ways, for tests that make one guest (or its backend) misbehave.
 */
export function twoGuests(subject: string, params: Record<string, number | boolean> = {}): XenHost {
  const host = buildXenHost({ seed: 5, params, guests: [{ name: subject, pages: 2048 }, { name: 'good', pages: 2048 }] });
  host.external.endpoint.bind(9001);
  host.external.endpoint.bind(9002);
  host.guest(subject).endpoint.bind(7001);
  host.guest('good').endpoint.bind(7002);
  // One packet each way first, so ARP is resolved before the tests measure anything.
  host.guest(subject).endpoint.sendUdp('10.0.0.100', 9001, 64);
  host.guest('good').endpoint.sendUdp('10.0.0.100', 9002, 64);
  host.runFor(host.ms(2));
  return host;
}

/**
 * 200 datagrams each way between `guest` and the client, 20 µs apart, of varied sizes; runs the
 * host 10 ms (everything arrives).
 */
export function twoWayTraffic(host: XenHost, guest: string): void {
  const g = host.guest(guest);
  const fire = host.sim.register('test.traffic', (i) => {
    g.endpoint.sendUdp('10.0.0.100', 9002, 200 + (i % 7) * 150);
    host.external.endpoint.sendUdp(g.ip, 7002, 300 + (i % 5) * 200, 9002);
  });
  const t0 = host.sim.now;
  for (let i = 0; i < 200; i++) host.sim.at(t0 + i * 20_000, fire, i);
  host.runFor(host.ms(10));
}
