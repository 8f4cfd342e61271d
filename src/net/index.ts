/**
 * dom0's and the guests' kernel network pieces: sk_buff, net_device, the stack core (backlog,
 * NAPI, receive core, qdisc transmit), the bridge device glue, the wire, IPv4 endpoints,
 * captures, the packet walk, the flow hash (queue selection) and the cost parameters. The bridge decision core is re-exported
 * as `bridge` (src/net/bridge).
 */
export * from './skb';
export * from './netdevice';
export * from './walk';
export * from './costs';
export { NetStack, NapiStruct, simPool, writeU16InSkb, type ProtocolHandler, type NetStackOptions } from './stack';
export { EthernetLink, type LinkEndpoint, type LinkTap, type EthernetLinkOptions } from './link';
export { IpEndpoint, UdpSocket, TcpSink, type SendTcpOptions, UDP_PAYLOAD_FOR_MTU, NEIGH_UNRES_QLEN, ARP_MCAST_SOLICIT, ARP_RETRANS_NS, type IpEndpointOptions, type PingResult } from './endpoint';
export { FrameCapture, type FrameCaptureOptions } from './capture';
export { BridgeDevice } from './brdev';
export { skb_get_hash, skb_tx_hash, skb_record_rx_queue, jhash_3words, reciprocal_scale } from './flow-hash';
export * as bridge from './bridge';
export { GroLists, GRO_HASH_BUCKETS, MAX_GRO_SKBS, GRO_MAX_SIZE, type GroResult } from './gro';
