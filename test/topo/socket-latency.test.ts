/**
 * A socket's latency is the sender's udp_sendmsg to the receiver's udp_rcv: the birth time of the
 * packet rides beside the shared ring slot (src/net/walk.ts ringPageWalkBorn) as it rides the wire,
 * so neither direction restarts the clock where netback or netfront builds a new skb.
 */
import { describe, expect, it } from 'vitest';
import { buildXenHost } from '../../src/topo/host';

describe.each(['modern', 'classic'] as const)('socket latency across the ring, %s', (design) => {
  it('guest → client and client → guest: latency = delivery time − send time, for every datagram of a stream', () => {
    const host = buildXenHost({ seed: 3, guests: [{ name: 'g', design, params: { 'netfront.design': design } }] });
    const g = host.guest('g');
    const ext = host.external;
    const toExt = ext.endpoint.bind(9001);
    const toGuest = g.endpoint.bind(9002);
    g.endpoint.sendUdp(ext.endpoint.ip, 9001, 64);
    ext.endpoint.sendUdp(g.ip, 9002, 64);
    host.runFor(host.ms(2)); // ARP both ways
    for (const [sock, send] of [
      [toExt, () => g.endpoint.sendUdp(ext.endpoint.ip, 9001, 1000)],
      [toGuest, () => ext.endpoint.sendUdp(g.ip, 9002, 1000)],
    ] as const) {
      sock.sampleLimit = 1000;
      sock.samples.length = 0;
      const sent: number[] = [];
      const got: number[] = [];
      sock.onReceive = (k) => { got.push(k.lastRxAt); };
      // Bursts of 20 back to back: the later ones queue in the sender's stack and ring.
      for (let b = 0; b < 5; b++) {
        for (let i = 0; i < 20; i++) { sent.push(host.now); send(); }
        host.runFor(host.us(200));
      }
      host.runFor(host.ms(2));
      expect(got.length).toBe(100);
      const lat = sock.samples.slice(-100);
      const want = got.map((t, i) => t - sent[i]!);
      expect(lat).toEqual(want);
      // Queueing on the sending side shows: the 20th of a burst waits far longer than the first.
      expect(lat[19]! - lat[0]!).toBeGreaterThan(20_000);
    }
  });
});
