/**
 * A host for tests of both directions at once: one guest (its netback design, netfront design and
 * rx mode), a socket on the client (9001) and one on the guest (9002), ARP resolved both ways.
 */
import { buildXenHost, type XenHost } from '../../src/topo/host';

export interface TwoWay {
  host: XenHost;
  send(payload: number): void;
}

export function twoWayHost(seed: number, design: 'modern' | 'classic', rxMode?: 'copy' | 'flip'): TwoWay {
  const host = buildXenHost({ seed, guests: [{ name: 'g', design, rxMode, params: { 'netfront.design': design } }] });
  const g = host.guest('g');
  const ext = host.external;
  ext.endpoint.bind(9001);
  g.endpoint.bind(9002);
  const send = (payload: number): void => {
    g.endpoint.sendUdp(ext.endpoint.ip, 9001, payload);
    ext.endpoint.sendUdp(g.ip, 9002, payload);
  };
  send(64);
  host.runFor(host.ms(2));
  return { host, send };
}

/** `bursts` bursts of `per` 1400-byte datagrams each way, `gapUs` apart, then 3 ms to finish. */
export function twoWayBursts(t: TwoWay, bursts: number, per: number, gapUs: number): void {
  for (let b = 0; b < bursts; b++) {
    for (let i = 0; i < per; i++) t.send(1400);
    t.host.runFor(t.host.us(gapUs));
  }
  t.host.runFor(t.host.ms(3));
}
