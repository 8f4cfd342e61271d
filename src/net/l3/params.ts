/**
 * CPU costs of dom0's IPv4 forwarding path in the routed and NAT modes (group `l3`), charged on
 * dom0's CPU by the glue that plugs the frame-level `Dom0Router` into dom0's stack
 * (src/topo/modes.ts). Receive-side costs (`net.ip_rcv_ns`, `net.l4_rcv_ns`) and transmit costs
 * (`net.dev_queue_xmit_ns`) come from the `net` group, as for every other path.
 */
import { defineParams, int } from '../../params';

export const L3_PARAMS = defineParams('l3', {
  ip_forward_ns: int({
    default: 400, min: 0, unit: 'ns',
    help: 'CPU cost of forwarding one IPv4 packet after ip_rcv: the route lookup (ip_route_input_noref, fib_lookup), ip_forward (TTL, checksum), ip_forward_finish and ip_output down to the neighbour output.',
    models: 'estimate: a routed packet costs about as much as a bridged one on current x86 (fib trie lookup ~50-100 ns, the rest is the output path)',
  }),
  nf_conntrack_ns: int({
    default: 150, min: 0, unit: 'ns',
    help: 'CPU cost of the connection-tracking lookup every packet pays in NAT mode (nf_conntrack_in at PREROUTING and the confirm at POSTROUTING).',
    models: 'estimate: one hash lookup of the conntrack table plus the netfilter hook calls',
  }),
  nf_nat_ns: int({
    default: 200, min: 0, unit: 'ns',
    help: 'CPU cost of rewriting a packet in NAT mode (nf_nat_packet: MASQUERADE on the way out, the reverse translation of replies): addresses, port or ICMP id, incremental checksums.',
    models: 'estimate: nf_nat_ipv4_manip_pkt with inet_proto_csum_replace4/2; the first packet of a connection also runs nf_nat_masquerade_ipv4 (not charged separately)',
  }),
});
