/**
 * A host's IPv4 endpoint on one network device: ARP, ICMP echo, UDP sockets and raw frames —
 * the part of a Linux stack that a guest (on top of netfront), dom0 (on br0) or an external host
 * (on its NIC) needs to originate and sink traffic with real bytes.
 *
 *   receive: __netif_receive_skb_core ─► protoRcv ─┬─ ARP  ─► arp_rcv (answer requests for our IP,
 *                                                  │                   learn, flush queued packets)
 *                                                  └─ IPv4 ─► ip_rcv ─┬─ ICMP ─► icmp_rcv (echo → reply,
 *                                                                     │                   reply → RTT)
 *                                                                     └─ UDP  ─► udp_rcv ─► socket
 *   send:    sendUdp / ping / sendFrame ─► (neigh_resolve_output: ARP if needed) ─► dev_queue_xmit
 *
 * Frames are built with the wire module's builders into skbs from the pool. UDP checksums are
 * left CHECKSUM_PARTIAL (pseudo-header sum in the field, csum_start/csum_offset set) when the
 * device offloads checksums (NETIF_F_IP_CSUM/HW_CSUM), and computed in full otherwise — as
 * udp_send_skb() does. Received UDP checksums are verified unless the device vouched for them
 * (CHECKSUM_UNNECESSARY) or the packet is local (CHECKSUM_PARTIAL).
 *
 * Sizes: `sendUdp(dst, port, payloadBytes)` sends a datagram of `payloadBytes` UDP payload; the
 * frame is 42 bytes longer (Ethernet 14 + IPv4 20 + UDP 8). A 1500-byte IP packet is 1472 bytes of
 * payload (`UDP_PAYLOAD_FOR_MTU`).
 *
 * Drops (where = `<stack>/<dev>`): otherhost, ip_inhdr, ip_not_local, ip_frag, unhandled_proto,
 * udp_csum, no_socket, arp_malformed, neigh_queuefull, neigh_failed, icmp_bad.
 *
 * @models linux net/ipv4/ip_input.c ip_rcv(); net/ipv4/arp.c arp_rcv(), arp_process(), arp_send();
 *   net/ipv4/icmp.c icmp_rcv(), icmp_echo(); net/ipv4/udp.c udp_rcv(), udp_sendmsg();
 *   net/core/neighbour.c neigh_resolve_output(), __neigh_event_send()
 * @simplified one device and one address per endpoint, no routing (every destination is on-link),
 *   no IP fragmentation or reassembly, no ICMP errors sent; ARP: 3 requests 1 s apart
 *   (mcast_solicit, retrans_time), then queued packets are dropped.
 */
import type { NetDevice } from './netdevice';
import { NETIF_F_CSUM_MASK } from './netdevice';
import type { NetStack, ProtocolHandler } from './stack';
import { CHECKSUM_NONE, CHECKSUM_PARTIAL, CHECKSUM_UNNECESSARY, SKB_GSO_TCPV4, type SkBuff } from './skb';
import { Ipv4Addr, MacAddr, ipv4At, macKeyAt, writeMacKey } from '../wire/address';
import { answerIcmpEcho, buildArpInto, buildIcmpEchoInto, buildTcpFrameInto, buildUdpFrameInto, type IcmpEchoSpec, type UdpFrameSpec } from '../wire/build';
import { csum_fold, csum_partial, csum_tcpudp_nofold } from '../wire/checksum';
import { copyBytes } from '../wire/copy';
import { checkPort } from '../wire/udp';
import { emitStep } from './walk';

/** UDP payload that fills a 1500-byte IPv4 packet. */
export const UDP_PAYLOAD_FOR_MTU = 1500 - 20 - 8;

const ETH_P_IP = 0x0800;
const ETH_P_ARP = 0x0806;
const BROADCAST_KEY = 0xffff_ffff_ffff;
/**
 * neigh unres_qlen: packets queued per unresolved neighbour (Linux counts bytes, unres_qlen_bytes;
 * here packets). A packet that finds the queue full pushes out the oldest.
 */
export const NEIGH_UNRES_QLEN = 101;
/** ARP mcast_solicit: requests sent before giving up. */
export const ARP_MCAST_SOLICIT = 3;
/** ARP retrans_time: 1 s between requests. */
export const ARP_RETRANS_NS = 1_000_000_000;

export interface IpEndpointOptions {
  /** Our IPv4 address. */
  ip: string | Ipv4Addr;
  /** Static neighbour entries: IPv4 → MAC (`ip neigh add … nud permanent`). */
  neighbours?: Record<string, string>;
  /** Resolve unknown neighbours with ARP (default true); false drops packets to unknown neighbours (neigh_failed). */
  arp?: boolean;
  /** TTL of packets we originate (default 64). */
  ttl?: number;
}

/** One UDP socket bound to a port: what it received, and how late. */
export class UdpSocket {
  packets = 0;
  bytes = 0;
  /** Sum, min and max of (delivery time − skb.bornAt) in ns. */
  latencySumNs = 0;
  latencyMinNs = Infinity;
  latencyMaxNs = 0;
  lastRxAt = -1;
  /** Latency samples of the first `sampleLimit` packets (set sampleLimit before traffic). */
  samples: number[] = [];
  sampleLimit = 0;
  /** Called for each datagram (optional; the skb is freed right after). */
  onReceive: ((sock: UdpSocket, skb: SkBuff, payloadOff: number, payloadLen: number) => void) | null = null;

  constructor(readonly port: number) {}

  get meanLatencyNs(): number {
    return this.packets === 0 ? 0 : this.latencySumNs / this.packets;
  }
}

/**
 * One TCP port that receives: what arrived, and how late, and the ACKs it sent back. Not a whole
 * connection: no handshake and no window management; it acknowledges as Linux's receiver does
 * (`__tcp_ack_snd_check`): at once while in quick-ACK mode (the first 16 ACKs) or when more than one
 * full-sized segment arrived since the last ACK, else from the delayed-ACK timer. `sendTcp` on the
 * other end sends the stream; the sender counts the ACKs (`tcpFlow`) but does not react to them.
 */
export class TcpSink {
  /** skbs received (a GRO packet is one). */
  packets = 0;
  /** Wire segments they stand for (gso_segs of a GRO packet, else 1). */
  segments = 0;
  /** Payload bytes. */
  bytes = 0;
  /** The sequence number expected next (-1 before the first segment). */
  nextSeq = -1;
  /** Segments whose sequence number was not the one expected. */
  outOfOrder = 0;
  lastRxAt = -1;
  /** Sum of (delivery time − skb.bornAt) in ns over the packets. */
  latencySumNs = 0;
  /** ACKs sent: at once, and from the delayed-ACK timer. */
  acksSent = 0;
  delayedAcks = 0;
  /** @internal tp->rcv_wup: the sequence number the last ACK acknowledged (-1: none yet). */
  rcvWup = -1;
  /** @internal icsk_ack.rcv_mss: the largest segment seen, up to the advertised MSS. */
  rcvMss = TCP_MSS_DEFAULT;
  /** @internal icsk_ack.quick: ACKs still to send at once (quick-ACK mode). */
  quick = 0;
  /** @internal the peer the ACKs go to. */
  peerIp = 0;
  peerPort = 0;
  /** @internal the delayed-ACK timer (event id, -1 when not armed). */
  delack = -1;

  constructor(readonly port: number) {}
}

/** What a sender knows of one TCP stream it sends with `sendTcp`. */
export interface TcpSendFlow {
  /** The sequence number the next send starts at. */
  nextSeq: number;
  /** ACKs received for the stream, and the highest sequence number acknowledged. */
  acks: number;
  acked: number;
}

/** TCP_MSS_DEFAULT: the receiver's first guess of the peer's MSS (tcp_initialize_rcv_mss). */
const TCP_MSS_DEFAULT = 536;
/** TCP_MAX_QUICKACKS: ACKs sent at once at the start of a stream (tcp_incr_quickack). */
const TCP_MAX_QUICKACKS = 16;
/** TCP_DELACK_MIN (HZ/25): the delayed-ACK timeout. */
export const TCP_DELACK_NS = 40_000_000;

/** Options of `sendTcp`. */
export interface SendTcpOptions {
  /** Source port (default the destination port). */
  srcPort?: number;
  /** Sequence number of the first payload byte (default: where the last send to this address and port ended, else 0). */
  seq?: number;
  /** Maximum segment size (default MTU − 40). A larger payload is sent as one GSO packet of this gso_size. */
  mss?: number;
  /** TCP flags (default ACK | PSH: 0x018). */
  flags?: number;
}

/** One ping's outcome. */
export interface PingResult {
  ident: number;
  seq: number;
  sentAt: number;
  /** Round-trip time in ns, or -1 while unanswered. */
  rttNs: number;
  /** Packet id of the request (for the walk). */
  pkt: number;
}

export class IpEndpoint implements ProtocolHandler {
  readonly ip: Ipv4Addr;
  readonly macAddr: MacAddr;
  private readonly macKey: number;
  readonly counters: {
    ip_rcv: number; udp_rx: number; udp_tx: number; icmp_echo_rx: number; icmp_reply_tx: number; icmp_reply_rx: number;
    icmp_echo_tx: number; arp_req_rx: number; arp_reply_tx: number; arp_req_tx: number; arp_reply_rx: number; raw_tx: number; dropped: number;
  };
  /** Neighbour table: IPv4 (u32) → MAC. */
  private readonly neigh = new Map<number, MacAddr>();
  private readonly staticNeigh = new Set<number>();
  private readonly pending = new Map<number, SkBuff[]>();
  private readonly probes = new Map<number, number>();
  private readonly sockets = new Map<number, UdpSocket>();
  private readonly tcpSinks = new Map<number, TcpSink>();
  /** The streams sendTcp sends, by (address, port). */
  private readonly tcpFlows = new Map<number, TcpSendFlow>();
  private readonly hDelack: number;
  /** Pings sent, by (ident << 16 | seq). */
  readonly pings = new Map<number, PingResult>();
  private readonly useArp: boolean;
  private readonly ttl: number;
  private readonly where: string;
  private ipId = 0;
  private readonly hArpTimer: number;
  private readonly udpSpec: UdpFrameSpec;
  private readonly icmpSpec: IcmpEchoSpec;

  constructor(readonly stack: NetStack, readonly dev: NetDevice, opts: IpEndpointOptions) {
    this.ip = Ipv4Addr.from(opts.ip);
    this.macAddr = MacAddr.fromBytes(dev.mac);
    this.macKey = this.macAddr.key;
    this.useArp = opts.arp ?? true;
    this.ttl = opts.ttl ?? 64;
    if (!Number.isInteger(this.ttl) || this.ttl < 1 || this.ttl > 255) {
      throw new RangeError(`IpEndpoint: ttl ${this.ttl} is not allowed; use an integer in 1..255`);
    }
    this.where = `${stack.name}/${dev.name}`;
    for (const [ip, mac] of Object.entries(opts.neighbours ?? {})) this.addNeighbour(ip, mac);
    this.counters = stack.sim.counters.register(`${stack.name}.${dev.name}.ip`, {
      ip_rcv: 0, udp_rx: 0, udp_tx: 0, icmp_echo_rx: 0, icmp_reply_tx: 0, icmp_reply_rx: 0, icmp_echo_tx: 0,
      arp_req_rx: 0, arp_reply_tx: 0, arp_req_tx: 0, arp_reply_rx: 0, raw_tx: 0, dropped: 0,
    });
    this.hArpTimer = stack.sim.register(`${this.where}.arp_timer`, (ip) => this.neigh_timer_handler(ip));
    this.hDelack = stack.sim.register(`${this.where}.tcp_delack_timer`, (port) => this.tcp_delack_timer(port));
    this.udpSpec = {
      srcMac: this.macAddr, dstMac: MacAddr.ZERO, srcIp: this.ip, dstIp: Ipv4Addr.ANY,
      srcPort: 0, dstPort: 0, payloadLength: 0, ttl: this.ttl, ipId: 0, checksum: 'full',
    };
    this.icmpSpec = {
      srcMac: this.macAddr, dstMac: MacAddr.ZERO, srcIp: this.ip, dstIp: Ipv4Addr.ANY,
      ident: 0, seqNo: 0, payloadLength: 56, ttl: this.ttl, ipId: 0,
    };
    stack.setProtocolHandler(dev, this);
  }

  // ---------------------------------------------------------------------------------------------
  // Configuration

  /** A permanent neighbour entry. */
  addNeighbour(ip: string | Ipv4Addr, mac: string | MacAddr): void {
    const v = Ipv4Addr.from(ip).value;
    this.neigh.set(v, MacAddr.from(mac));
    this.staticNeigh.add(v);
  }

  /** The MAC we know for `ip` (undefined when unresolved). */
  neighbour(ip: string | Ipv4Addr): MacAddr | undefined {
    return this.neigh.get(Ipv4Addr.from(ip).value);
  }

  /** Binds a UDP socket to `port` (EADDRINUSE if taken). */
  bind(port: number): UdpSocket {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`bind: port ${port} is not allowed; use an integer in 1..65535`);
    if (this.sockets.has(port)) throw new Error(`bind: port ${port} is already bound on ${this.ip.toString()} (EADDRINUSE)`);
    const s = new UdpSocket(port);
    this.sockets.set(port, s);
    return s;
  }

  /** Opens TCP port `port` to receive (a sink: see TcpSink). Returns its counters. */
  listenTcp(port: number): TcpSink {
    checkPort('listenTcp', 'port', port);
    if (this.tcpSinks.has(port)) throw new Error(`listenTcp: TCP port ${port} is already listening on ${this.ip.toString()}`);
    const s = new TcpSink(port);
    this.tcpSinks.set(port, s);
    return s;
  }

  socket(port: number): UdpSocket | undefined {
    return this.sockets.get(port);
  }

  private drop(skb: SkBuff, reason: string): void {
    this.counters.dropped++;
    this.stack.kfree_skb(skb, this.where, reason);
  }

  /** Time the CPU has finished what it has been given (when the packet is really delivered). */
  private cpuNow(): number {
    const n = this.stack.sim.now;
    const b = this.stack.cpu.busyUntil;
    return b > n ? b : n;
  }

  // ---------------------------------------------------------------------------------------------
  // Receive

  /** Frames delivered up on our device. */
  protoRcv(skb: SkBuff): void {
    if (skb.headLen < 14 && !this.linearize(skb, skb.len)) {
      this.drop(skb, 'ip_inhdr');
      return;
    }
    const b = skb.head;
    const d = skb.data;
    const type = (b[d + 12]! << 8) | b[d + 13]!;
    if (type === ETH_P_IP) this.ip_rcv(skb);
    else if (type === ETH_P_ARP) this.arp_rcv(skb);
    else this.drop(skb, 'unhandled_proto');
  }

  /** Makes the first `n` bytes linear (pskb_may_pull); false if the packet is shorter. */
  private linearize(skb: SkBuff, n: number): boolean {
    if (skb.headLen >= n) return true;
    if (skb.len < n) return false;
    if (skb.nrFrags === 0) return false;
    // Pull everything into the linear area (a simple skb_linearize): the frags' bytes go into the
    // tailroom, or into a bigger head when they do not fit.
    if (skb.data + skb.len <= skb.head.length) {
      let at = skb.data + skb.headLen;
      for (let i = 0; i < skb.nrFrags; i++) {
        copyBytes(skb.head, at, skb.fragPage[i]!, skb.fragOff[i]!, skb.fragLen[i]!);
        at += skb.fragLen[i]!;
      }
      releaseFrags(skb);
      skb.headLen = skb.len;
      return true;
    }
    const tmp = new Uint8Array(skb.len);
    skb.copyBits(0, tmp, 0, skb.len);
    releaseFrags(skb);
    skb.headLen = 0;
    skb.len = 0;
    const at = skb.put(tmp.length);
    skb.head.set(tmp, at);
    return true;
  }

  /** @models linux net/ipv4/ip_input.c ip_rcv(), ip_rcv_core(), ip_local_deliver() */
  private ip_rcv(skb: SkBuff): void {
    const st = this.stack;
    st.step(skb, 'ip_rcv', st.costs.ip_rcv_ns);
    this.counters.ip_rcv++;
    const dstMac = macKeyAt(skb.head, skb.data);
    if (dstMac !== this.macKey && dstMac !== BROADCAST_KEY && (Math.floor(dstMac / 0x1_0000_0000) & 0x100) === 0) {
      this.drop(skb, 'otherhost');
      return;
    }
    if (!this.linearize(skb, 34)) {
      this.drop(skb, 'ip_inhdr');
      return;
    }
    const b = skb.head;
    const ip = skb.data + 14;
    const ihl = (b[ip]! & 0xf) * 4;
    const total = (b[ip + 2]! << 8) | b[ip + 3]!;
    if (b[ip]! >>> 4 !== 4 || ihl < 20 || total < ihl || 14 + total > skb.len || !this.linearize(skb, 14 + ihl)) {
      this.drop(skb, 'ip_inhdr');
      return;
    }
    if (csum_fold(csum_partial(skb.head, ip, ip + ihl, 0)) !== 0) {
      this.drop(skb, 'ip_csum');
      return;
    }
    // pskb_trim_rcsum: drop Ethernet padding beyond the IP total length
    if (14 + total < skb.len && skb.nrFrags === 0) {
      skb.len = 14 + total;
      skb.headLen = skb.len;
    }
    const dst = ((b[ip + 16]! << 24) | (b[ip + 17]! << 16) | (b[ip + 18]! << 8) | b[ip + 19]!) >>> 0;
    if (dst !== this.ip.value && dst !== 0xffff_ffff) {
      this.drop(skb, 'ip_not_local');
      return;
    }
    if ((((b[ip + 6]! << 8) | b[ip + 7]!) & 0x3fff) !== 0) {
      this.drop(skb, 'ip_frag');
      return;
    }
    const proto = b[ip + 9]!;
    if (proto === 17) this.udp_rcv(skb, ip, ihl, total);
    else if (proto === 1) this.icmp_rcv(skb, ip, ihl, total);
    else if (proto === 6) this.tcp_v4_rcv(skb, ip, ihl, total);
    else this.drop(skb, 'unhandled_proto');
  }

  /**
   * A TCP segment (or a GRO packet of several) for a port opened with `listenTcp`.
   * @models linux net/ipv4/tcp_ipv4.c tcp_v4_rcv(), tcp_v4_checksum_init()
   * @simplified no connection state: a listening port takes data segments as they come (no RST
   *   for a closed port: the segment is dropped as no_socket).
   */
  private tcp_v4_rcv(skb: SkBuff, ip: number, ihl: number, total: number): void {
    const st = this.stack;
    st.step(skb, 'tcp_v4_rcv', st.costs.l4_rcv_ns);
    const t = ip + ihl;
    const l4Len = total - ihl;
    if (l4Len < 20 || !this.linearize(skb, 14 + ihl + 20)) {
      this.drop(skb, 'pkt_too_small');
      return;
    }
    const doff = (skb.head[t + 12]! >>> 4) * 4;
    if (doff < 20 || doff > l4Len || !this.linearize(skb, 14 + ihl + doff)) {
      this.drop(skb, 'tcp_bad_doff');
      return;
    }
    if (skb.ipSummed !== CHECKSUM_UNNECESSARY && skb.ipSummed !== CHECKSUM_PARTIAL
      && !this.checksumComplete(skb, ihl, total, l4Len, 6, 'tcp_csum')) return;
    const b = skb.head;
    const port = (b[t + 2]! << 8) | b[t + 3]!;
    const sink = this.tcpSinks.get(port);
    const payload = l4Len - doff;
    const saddr = ipv4At(b, ip + 12);
    const sport = (b[t]! << 8) | b[t + 1]!;
    if (sink === undefined) {
      // An ACK for a stream this endpoint sends (tcp_ack on the sender's socket).
      const flow = payload === 0 && (b[t + 13]! & 0x10) !== 0 ? this.tcpFlows.get(saddr * 65536 + sport) : undefined;
      if (flow === undefined) {
        this.drop(skb, 'no_socket');
        return;
      }
      flow.acks++;
      flow.acked = ipv4At(b, t + 8); // ack_seq (ipv4At reads any big-endian u32)
      st.consume_skb(skb);
      return;
    }
    const seq = ipv4At(b, t + 4);
    if (sink.nextSeq >= 0 && seq !== sink.nextSeq) sink.outOfOrder++;
    sink.nextSeq = (seq + payload) >>> 0;
    sink.peerIp = saddr;
    sink.peerPort = sport;
    // tcp_event_data_recv: the first data starts quick-ACK mode; tcp_measure_rcv_mss.
    if (sink.rcvWup < 0) {
      sink.rcvWup = seq;
      sink.quick = TCP_MAX_QUICKACKS;
    }
    const segLen = skb.gsoSize !== 0 ? skb.gsoSize : payload;
    if (segLen >= sink.rcvMss) sink.rcvMss = Math.min(segLen, this.dev.mtu - 40);
    sink.packets++;
    // gso_segs, or what it will be: netfront leaves 0 for the stack to compute (SKB_GSO_DODGY).
    sink.segments += skb.gsoSize !== 0 ? Math.max(1, Math.ceil(payload / skb.gsoSize)) : 1;
    sink.bytes += payload;
    sink.lastRxAt = this.cpuNow();
    sink.latencySumNs += sink.lastRxAt - skb.bornAt;
    st.consume_skb(skb);
    if (payload > 0) this.__tcp_ack_snd_check(sink);
  }

  /**
   * ACK now when in quick-ACK mode or when more than one full-sized segment arrived since the last
   * ACK; otherwise arm the delayed-ACK timer.
   * @models linux net/ipv4/tcp_input.c __tcp_ack_snd_check(), tcp_send_delayed_ack()
   * @simplified the receive window always advances (the sink takes the data at once); no out-of-order
   *   queue: data after a gap counts as in order (the sender never retransmits); the delayed-ACK
   *   timeout is TCP_DELACK_MIN (no adaptive ato).
   */
  private __tcp_ack_snd_check(sink: TcpSink): void {
    if (sink.quick > 0 || ((sink.nextSeq - sink.rcvWup) >>> 0) > sink.rcvMss) {
      this.tcp_send_ack(sink);
    } else if (sink.delack < 0) {
      sink.delack = this.stack.sim.after(TCP_DELACK_NS, this.hDelack, sink.port);
    }
  }

  /** The delayed-ACK timer of a sink. @models linux net/ipv4/tcp_timer.c tcp_delack_timer_handler() */
  private tcp_delack_timer(port: number): void {
    const sink = this.tcpSinks.get(port);
    if (sink === undefined) return;
    sink.delack = -1;
    if (sink.nextSeq !== sink.rcvWup) {
      sink.delayedAcks++;
      this.tcp_send_ack(sink);
    }
  }

  /**
   * A pure ACK of everything received so far (54 bytes: no options), to the peer of the last segment.
   * @models linux net/ipv4/tcp_output.c tcp_send_ack(), tcp_event_ack_sent(), tcp_dec_quickack_mode()
   */
  private tcp_send_ack(sink: TcpSink): void {
    const st = this.stack;
    if (sink.delack >= 0) {
      st.sim.cancel(sink.delack);
      sink.delack = -1;
    }
    sink.rcvWup = sink.nextSeq;
    if (sink.quick > 0) sink.quick--;
    sink.acksSent++;
    const skb = this.tcpSkb(Ipv4Addr.fromU32(sink.peerIp), sink.port, sink.peerPort, 1, sink.nextSeq, 0x010, 0, 1);
    st.step(skb, 'tcp_send_ack', st.costs.l4_send_ns + st.costs.skb_alloc_ns);
    this.neigh_output(skb, sink.peerIp);
  }

  /**
   * A new skb holding one TCP/IPv4 frame (DF set, destination MAC left for neigh_output) of
   * `payloadBytes` that will leave as `segs` segments: it takes that many IP ids
   * (ip_select_ident_segs). CHECKSUM_PARTIAL when the device offloads checksums, and always for a
   * GSO packet (software GSO finishes each segment's checksum); else the full checksum.
   */
  private tcpSkb(to: Ipv4Addr, srcPort: number, dstPort: number, seq: number, ack: number, flags: number, payloadBytes: number, segs: number): SkBuff {
    const skb = this.stack.pool.alloc();
    skb.bornAt = this.stack.sim.now;
    const ipId = (this.ipId + 1) & 0xffff;
    this.ipId = (this.ipId + segs) & 0xffff;
    const partial = (this.dev.features & NETIF_F_CSUM_MASK) !== 0 || segs > 1;
    const at = skb.put(54 + payloadBytes);
    buildTcpFrameInto(skb.head, at, {
      srcMac: this.macAddr, dstMac: MacAddr.ZERO, srcIp: this.ip, dstIp: to, ttl: this.ttl, ipId, dontFrag: true,
      srcPort, dstPort, seq, ack, flags, payloadLength: payloadBytes, checksum: partial ? 'partial' : 'full',
    });
    if (partial) {
      skb.ipSummed = CHECKSUM_PARTIAL;
      skb.csumStart = 34;
      skb.csumOffset = 16;
    }
    return skb;
  }

  /** The stream `sendTcp` sends to `dst:dstPort`, with the ACKs it got back; undefined before the first send. */
  tcpFlow(dst: string | Ipv4Addr, dstPort: number): Readonly<TcpSendFlow> | undefined {
    return this.tcpFlows.get(Ipv4Addr.from(dst).value * 65536 + dstPort);
  }

  /**
   * The software check of a transport checksum nobody vouched for (udp4_csum_init /
   * tcp_v4_checksum_init, then __skb_checksum_complete): `len` bytes from the transport header,
   * with the pseudo-header. Drops the skb (`pkt_too_small`, or `reason` for a wrong sum) and
   * returns false when it fails.
   */
  private checksumComplete(skb: SkBuff, ihl: number, total: number, len: number, proto: number, reason: string): boolean {
    if (!this.linearize(skb, 14 + total)) {
      this.drop(skb, 'pkt_too_small');
      return false;
    }
    // Read through skb.head again: linearizing may have given the skb a bigger head.
    const h = skb.head;
    const ip = skb.data + 14;
    const l4 = ip + ihl;
    this.stack.step(skb, '__skb_checksum_complete', Math.round(len * this.stack.costs.memcpy_byte_ns));
    if (csum_fold(csum_partial(h, l4, l4 + len, csum_tcpudp_nofold(ipv4At(h, ip + 12), ipv4At(h, ip + 16), len, proto, 0))) !== 0) {
      this.drop(skb, reason);
      return false;
    }
    return true;
  }

  /** @models linux net/ipv4/udp.c udp_rcv(), __udp4_lib_rcv(), udp_queue_rcv_skb() */
  private udp_rcv(skb: SkBuff, ip: number, ihl: number, total: number): void {
    const st = this.stack;
    st.step(skb, 'udp_rcv', st.costs.l4_rcv_ns);
    const u = ip + ihl;
    const l4Len = total - ihl;
    if (l4Len < 8 || !this.linearize(skb, 14 + ihl + 8)) {
      this.drop(skb, 'pkt_too_small');
      return;
    }
    const b = skb.head;
    const ulen = (b[u + 4]! << 8) | b[u + 5]!;
    if (ulen < 8 || ulen > l4Len) {
      this.drop(skb, 'pkt_too_small');
      return;
    }
    const check = (b[u + 6]! << 8) | b[u + 7]!;
    if (check !== 0 && skb.ipSummed !== CHECKSUM_UNNECESSARY && skb.ipSummed !== CHECKSUM_PARTIAL
      && !this.checksumComplete(skb, ihl, total, ulen, 17, 'udp_csum')) return;
    const port = (b[u + 2]! << 8) | b[u + 3]!;
    const sock = this.sockets.get(port);
    if (sock === undefined) {
      this.drop(skb, 'no_socket');
      return;
    }
    this.counters.udp_rx++;
    const lat = this.cpuNow() - skb.bornAt;
    sock.packets++;
    sock.bytes += ulen - 8;
    sock.latencySumNs += lat;
    if (lat < sock.latencyMinNs) sock.latencyMinNs = lat;
    if (lat > sock.latencyMaxNs) sock.latencyMaxNs = lat;
    sock.lastRxAt = this.cpuNow();
    if (sock.samples.length < sock.sampleLimit) sock.samples.push(lat);
    if (sock.onReceive !== null) sock.onReceive(sock, skb, u + 8 - skb.data, ulen - 8);
    st.consume_skb(skb);
  }

  /** @models linux net/ipv4/icmp.c icmp_rcv(), icmp_echo() */
  private icmp_rcv(skb: SkBuff, ip: number, ihl: number, total: number): void {
    const st = this.stack;
    st.step(skb, 'icmp_rcv', st.costs.l4_rcv_ns);
    if (!this.linearize(skb, 14 + total) || total - ihl < 8) {
      this.drop(skb, 'icmp_bad');
      return;
    }
    const b = skb.head;
    const m = skb.data + 14 + ihl;
    const type = b[m]!;
    if (type === 8) {
      this.counters.icmp_echo_rx++;
      // The reply reuses the request's skb (the walk follows one id there and back).
      const err = answerIcmpEcho(skb.head, skb.data, skb.len, this.ttl);
      if (err !== undefined) {
        this.drop(skb, 'icmp_bad');
        return;
      }
      // Answer from our own address even for a broadcast ping.
      this.ip.writeTo(skb.head, skb.data + 14 + 12);
      const ipOff = skb.data + 14;
      b[ipOff + 10] = 0;
      b[ipOff + 11] = 0;
      const c = csum_fold(csum_partial(b, ipOff, ipOff + ihl, 0));
      b[ipOff + 10] = c >>> 8;
      b[ipOff + 11] = c & 0xff;
      writeMacKey(b, skb.data + 6, this.macKey);
      skb.ipSummed = CHECKSUM_NONE;
      this.counters.icmp_reply_tx++;
      st.step(skb, 'icmp_reply', st.costs.l4_send_ns);
      st.dev_queue_xmit(skb, this.dev);
      return;
    }
    if (type === 0) {
      this.counters.icmp_reply_rx++;
      const ident = (b[m + 4]! << 8) | b[m + 5]!;
      const seq = (b[m + 6]! << 8) | b[m + 7]!;
      const p = this.pings.get(ident * 65536 + seq);
      if (p !== undefined && p.rttNs < 0) p.rttNs = this.cpuNow() - p.sentAt;
      st.consume_skb(skb);
      return;
    }
    st.consume_skb(skb); // other ICMP types are accepted and ignored
  }

  /** @models linux net/ipv4/arp.c arp_rcv(), arp_process() */
  private arp_rcv(skb: SkBuff): void {
    const st = this.stack;
    st.step(skb, 'arp_rcv', st.costs.l4_rcv_ns);
    if (!this.linearize(skb, 14 + 28)) {
      this.drop(skb, 'arp_malformed');
      return;
    }
    const b = skb.head;
    const a = skb.data + 14;
    if (((b[a]! << 8) | b[a + 1]!) !== 1 || ((b[a + 2]! << 8) | b[a + 3]!) !== ETH_P_IP || b[a + 4] !== 6 || b[a + 5] !== 4) {
      this.drop(skb, 'arp_malformed');
      return;
    }
    const op = (b[a + 6]! << 8) | b[a + 7]!;
    const sha = macKeyAt(b, a + 8);
    const spa = ((b[a + 14]! << 24) | (b[a + 15]! << 16) | (b[a + 16]! << 8) | b[a + 17]!) >>> 0;
    const tpa = ((b[a + 24]! << 24) | (b[a + 25]! << 16) | (b[a + 26]! << 8) | b[a + 27]!) >>> 0;
    const forUs = tpa === this.ip.value;
    if (op === 1) this.counters.arp_req_rx++;
    else if (op === 2) this.counters.arp_reply_rx++;
    // Learn the sender when the packet is for us, or refresh an entry we already have.
    if (spa !== 0 && (forUs || this.neigh.has(spa)) && !this.staticNeigh.has(spa)) {
      const cur = this.neigh.get(spa);
      if (cur === undefined || cur.key !== sha) this.neigh.set(spa, MacAddr.fromKey(sha));
      this.flushPending(spa);
    }
    if (op === 1 && forUs) {
      // arp_send(ARPOP_REPLY): reuse the skb for the reply
      skb.len = 0;
      skb.headLen = 0;
      const at = skb.put(42);
      buildArpInto(skb.head, at, {
        operation: 'reply', senderMac: this.macAddr, senderIp: this.ip,
        targetMac: MacAddr.fromKey(sha), targetIp: Ipv4Addr.fromU32(spa),
      });
      skb.ipSummed = CHECKSUM_NONE;
      this.counters.arp_reply_tx++;
      st.step(skb, 'arp_send', st.costs.l4_send_ns);
      st.dev_queue_xmit(skb, this.dev);
      return;
    }
    st.consume_skb(skb);
  }

  // ---------------------------------------------------------------------------------------------
  // Send

  /**
   * Sends a UDP datagram of `payloadBytes` payload to `dst:dstPort` (from `srcPort`, default
   * `dstPort`). Returns the packet id.
   * @models linux net/ipv4/udp.c udp_sendmsg(), udp_send_skb()
   */
  sendUdp(dst: string | Ipv4Addr, dstPort: number, payloadBytes: number, srcPort = dstPort): number {
    const st = this.stack;
    const to = typeof dst === 'string' ? Ipv4Addr.parse(dst) : dst;
    const maxPayload = this.dev.mtu - 28;
    if (!Number.isInteger(payloadBytes) || payloadBytes < 0 || payloadBytes > maxPayload) {
      throw new RangeError(`sendUdp: payloadBytes ${payloadBytes} is not allowed; use an integer in 0..${maxPayload} (MTU ${this.dev.mtu} − 28)`);
    }
    checkPort('sendUdp', 'dstPort', dstPort);
    checkPort('sendUdp', 'srcPort', srcPort);
    const skb = st.pool.alloc();
    skb.bornAt = st.sim.now;
    const spec = this.udpSpec;
    spec.dstIp = to;
    spec.dstMac = MacAddr.ZERO;
    spec.dstPort = dstPort;
    spec.srcPort = srcPort;
    spec.payloadLength = payloadBytes;
    spec.ipId = this.ipId = (this.ipId + 1) & 0xffff;
    const offload = (this.dev.features & NETIF_F_CSUM_MASK) !== 0;
    spec.checksum = offload ? 'partial' : 'full';
    const len = 42 + payloadBytes;
    const at = skb.put(len);
    buildUdpFrameInto(skb.head, at, spec);
    if (offload) {
      skb.ipSummed = CHECKSUM_PARTIAL;
      skb.csumStart = 34;
      skb.csumOffset = 6;
    }
    this.counters.udp_tx++;
    st.step(skb, 'udp_sendmsg', st.costs.l4_send_ns + st.costs.skb_alloc_ns + Math.round(payloadBytes * st.costs.memcpy_byte_ns));
    this.neigh_output(skb, to.value);
    return skb.id;
  }

  /**
   * Sends `payloadBytes` of TCP data to `dst:dstPort` as the TCP stack hands data to the device:
   * one segment when it fits the MSS, else one GSO packet (gso_size = the MSS, SKB_GSO_TCPV4,
   * CHECKSUM_PARTIAL) that the NIC's TSO — or software GSO on a device without it — cuts into MSS
   * segments with consecutive IP ids. Don't-fragment set. The sequence numbers go on from the
   * last send to the same address and port. Returns the packet id.
   * @models linux net/ipv4/tcp.c tcp_sendmsg(), net/ipv4/tcp_output.c tcp_transmit_skb() (data only: no connection state)
   */
  sendTcp(dst: string | Ipv4Addr, dstPort: number, payloadBytes: number, opts: SendTcpOptions = {}): number {
    const st = this.stack;
    const to = Ipv4Addr.from(dst);
    const srcPort = opts.srcPort ?? dstPort;
    checkPort('sendTcp', 'dstPort', dstPort);
    checkPort('sendTcp', 'srcPort', srcPort);
    const mss = opts.mss ?? this.dev.mtu - 40;
    if (!Number.isInteger(mss) || mss < 1 || mss > this.dev.mtu - 40) {
      throw new RangeError(`sendTcp: mss ${mss} is not allowed; use an integer in 1..${this.dev.mtu - 40} (MTU ${this.dev.mtu} − 40)`);
    }
    if (!Number.isInteger(payloadBytes) || payloadBytes < 1 || payloadBytes > 65535 - 40) {
      throw new RangeError(`sendTcp: payloadBytes ${payloadBytes} is not allowed; use an integer in 1..65495 (one GSO packet at most)`);
    }
    if (opts.seq !== undefined && (!Number.isInteger(opts.seq) || opts.seq < 0 || opts.seq > 0xffffffff)) {
      throw new RangeError(`sendTcp: seq ${opts.seq} is not allowed; use an integer in 0..4294967295`);
    }
    const flags = opts.flags ?? 0x018;
    const key = to.value * 65536 + dstPort;
    let flow = this.tcpFlows.get(key);
    if (flow === undefined) {
      flow = { nextSeq: 0, acks: 0, acked: 0 };
      this.tcpFlows.set(key, flow);
    }
    const seq = (opts.seq ?? flow.nextSeq) >>> 0;
    flow.nextSeq = (seq + payloadBytes) >>> 0;
    const segs = Math.ceil(payloadBytes / mss);
    const skb = this.tcpSkb(to, srcPort, dstPort, seq, 1, flags, payloadBytes, segs);
    if (segs > 1) {
      skb.gsoSize = mss;
      skb.gsoType = SKB_GSO_TCPV4;
      skb.gsoSegs = segs;
    }
    st.step(skb, 'tcp_sendmsg', st.costs.l4_send_ns + st.costs.skb_alloc_ns + Math.round(payloadBytes * st.costs.memcpy_byte_ns));
    this.neigh_output(skb, to.value);
    return skb.id;
  }

  /**
   * Sends an ICMP echo request (`ping -s size`) and remembers it; the reply fills `rttNs`.
   * Returns the ping's record.
   */
  ping(dst: string | Ipv4Addr, opts: { ident?: number; seq?: number; size?: number } = {}): PingResult {
    const st = this.stack;
    const to = Ipv4Addr.from(dst);
    const ident = opts.ident ?? 0x1234;
    const seq = opts.seq ?? this.pings.size + 1;
    const size = opts.size ?? 56;
    if (!Number.isInteger(size) || size < 0 || size > this.dev.mtu - 28) {
      throw new RangeError(`ping: size ${size} is not allowed; use an integer in 0..${this.dev.mtu - 28}`);
    }
    const skb = st.pool.alloc();
    skb.bornAt = st.sim.now;
    const spec = this.icmpSpec;
    spec.dstIp = to;
    spec.ident = ident;
    spec.seqNo = seq;
    spec.payloadLength = size;
    spec.ipId = this.ipId = (this.ipId + 1) & 0xffff;
    const at = skb.put(42 + size);
    buildIcmpEchoInto(skb.head, at, spec);
    const rec: PingResult = { ident, seq, sentAt: st.sim.now, rttNs: -1, pkt: skb.id };
    this.pings.set(ident * 65536 + seq, rec);
    this.counters.icmp_echo_tx++;
    st.step(skb, 'ping_v4_sendmsg', st.costs.l4_send_ns + st.costs.skb_alloc_ns);
    this.neigh_output(skb, to.value);
    return rec;
  }

  /** Sends raw frame bytes as they are (AF_PACKET). Returns the packet id. */
  sendFrame(frame: Uint8Array): number {
    const st = this.stack;
    if (frame.length < 14 || frame.length > this.dev.mtu + 18) {
      throw new RangeError(`sendFrame: frame length ${frame.length} is not allowed; use 14..${this.dev.mtu + 18} bytes`);
    }
    const skb = st.pool.alloc();
    skb.bornAt = st.sim.now;
    skb.head.set(frame, skb.put(frame.length));
    this.counters.raw_tx++;
    st.step(skb, 'packet_sendmsg', st.costs.l4_send_ns + st.costs.skb_alloc_ns);
    st.dev_queue_xmit(skb, this.dev);
    return skb.id;
  }

  /**
   * Fills in the destination MAC and transmits, or queues the packet and resolves with ARP.
   * @models linux net/core/neighbour.c neigh_resolve_output(), __neigh_event_send()
   */
  private neigh_output(skb: SkBuff, dst: number): void {
    const st = this.stack;
    if (dst === 0xffff_ffff) {
      writeMacKey(skb.head, skb.data, BROADCAST_KEY);
      st.dev_queue_xmit(skb, this.dev);
      return;
    }
    const mac = this.neigh.get(dst);
    if (mac !== undefined) {
      writeMacKey(skb.head, skb.data, mac.key);
      st.dev_queue_xmit(skb, this.dev);
      return;
    }
    if (!this.useArp) {
      this.drop(skb, 'neigh_failed');
      return;
    }
    if (this.tpStepOn()) emitStep(st.tpStep, skb.id, 'neigh_resolve_output', st.lane, st.domid, 0, 'unresolved');
    let q = this.pending.get(dst);
    if (q === undefined) {
      q = [];
      this.pending.set(dst, q);
    }
    // A full queue loses its oldest packet, not the new one (`__skb_dequeue(&neigh->arp_queue)`).
    if (q.length >= NEIGH_UNRES_QLEN) this.drop(q.shift()!, 'neigh_queuefull');
    q.push(skb);
    if (!this.probes.has(dst)) {
      this.probes.set(dst, 1);
      this.arp_send_request(dst);
      st.sim.after(ARP_RETRANS_NS, this.hArpTimer, dst);
    }
  }

  private tpStepOn(): boolean {
    return this.stack.tpStep.on;
  }

  private arp_send_request(dst: number): void {
    const st = this.stack;
    const skb = st.pool.alloc();
    skb.bornAt = st.sim.now;
    const at = skb.put(42);
    buildArpInto(skb.head, at, { operation: 'request', senderMac: this.macAddr, senderIp: this.ip, targetIp: Ipv4Addr.fromU32(dst) });
    this.counters.arp_req_tx++;
    st.step(skb, 'arp_send', st.costs.l4_send_ns);
    st.dev_queue_xmit(skb, this.dev);
  }

  /** Re-sends the ARP request, or gives up after mcast_solicit tries. @models linux net/core/neighbour.c neigh_timer_handler() */
  private neigh_timer_handler(dst: number): void {
    if (this.neigh.has(dst) || !this.pending.has(dst)) {
      this.probes.delete(dst);
      return;
    }
    const n = this.probes.get(dst) ?? 0;
    if (n >= ARP_MCAST_SOLICIT) {
      const q = this.pending.get(dst)!;
      this.pending.delete(dst);
      this.probes.delete(dst);
      for (const skb of q) this.drop(skb, 'neigh_failed');
      return;
    }
    this.probes.set(dst, n + 1);
    this.arp_send_request(dst);
    this.stack.sim.after(ARP_RETRANS_NS, this.hArpTimer, dst);
  }

  private flushPending(ip: number): void {
    const q = this.pending.get(ip);
    if (q === undefined) return;
    this.pending.delete(ip);
    this.probes.delete(ip);
    const mac = this.neigh.get(ip)!;
    for (const skb of q) {
      writeMacKey(skb.head, skb.data, mac.key);
      this.stack.dev_queue_xmit(skb, this.dev);
    }
  }
}

/**
 * Drops an skb's frags after their bytes were pulled into the linear area. As __pskb_pull_tail
 * puts the pages it emptied, the pages go back to their owner now (netfront's rx page pool,
 * netback's zerocopy completion) through the skb's destructor, not when the skb is freed.
 */
function releaseFrags(skb: SkBuff): void {
  const d = skb.destructor;
  if (d !== null) {
    skb.destructor = null;
    d.skbFreed(skb);
  }
  for (let i = 0; i < skb.nrFrags; i++) skb.fragPage[i] = null;
  skb.nrFrags = 0;
}

