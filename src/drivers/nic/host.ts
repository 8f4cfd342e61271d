/**
 * An external host on the wire: a machine with its own CPU, kernel stack, NIC and IPv4 endpoint —
 * the traffic generator and sink at the far end of the physical link (ns-3's "node with a
 * device and an application").
 *
 *   const a = new ExternalHost(sim, { name: 'hostA', mac: '02:00:00:00:00:0a', ip: '10.0.0.10' });
 *   const b = new ExternalHost(sim, { name: 'hostB', mac: '02:00:00:00:00:0b', ip: '10.0.0.11' });
 *   const wire = new EthernetLink(sim, { name: 'wire0' });
 *   a.plug(wire, 0); b.plug(wire, 1);
 *   a.endpoint.ping('10.0.0.11');
 *
 * Its stack runs with domid -1 in lane 'host'. Same classes as dom0 and the guests, so its costs
 * come from the same parameters (an external host is just another Linux box).
 */
import type { Simulator } from '../../sim/simulator';
import type { Params } from '../../params';
import { NetStack } from '../../net/stack';
import { IpEndpoint } from '../../net/endpoint';
import type { EthernetLink } from '../../net/link';
import { IxgbeNic } from './ixgbe';

export interface ExternalHostOptions {
  name: string;
  mac: string;
  ip: string;
  /** Interface name (default 'eth0'). */
  ifname?: string;
  mtu?: number;
  params?: Params;
  /** Static neighbours (IPv4 → MAC); others are resolved with ARP. */
  neighbours?: Record<string, string>;
}

export class ExternalHost {
  readonly stack: NetStack;
  readonly nic: IxgbeNic;
  readonly endpoint: IpEndpoint;

  constructor(readonly sim: Simulator, opts: ExternalHostOptions) {
    this.stack = new NetStack(sim, { name: opts.name, domid: -1, lane: 'host', params: opts.params });
    this.nic = new IxgbeNic(this.stack, { name: opts.ifname ?? 'eth0', mac: opts.mac, mtu: opts.mtu, params: opts.params });
    this.endpoint = new IpEndpoint(this.stack, this.nic, { ip: opts.ip, neighbours: opts.neighbours });
  }

  get name(): string {
    return this.stack.name;
  }

  /** Plugs the host's NIC into one end of a link. */
  plug(link: EthernetLink, end: 0 | 1): void {
    this.nic.attachLink(link, end);
  }
}
