/**
 * A physical 10 GbE NIC and its driver, modeled on Intel's ixgbe (82599) and its Linux driver
 * (drivers/net/ethernet/intel/ixgbe/ixgbe_main.c): one transmit and one receive descriptor ring,
 * one MSI-X vector and one NAPI instance serving both ("ixgbe-eth0-TxRx-0").
 *
 *  transmit                                           receive
 *  ────────                                           ───────
 *  dev_queue_xmit → ixgbe_xmit_frame                  frame arrives from the link (linkRx)
 *    descriptors at next_to_use, tail write              no free descriptor → drop rx_ring_full
 *    netdev_tx_sent_queue (BQL: over the byte             else DMA into the descriptor's buffer,
 *      limit → the stack stops feeding, STACK_XOFF)
 *    ring nearly full → netif_stop_queue
 *  hardware: DMA reads linear + frags (finishing          write-back after dma latency
 *    CHECKSUM_PARTIAL, TSO segmentation, padding)     interrupt (throttled by EITR, ./itr)
 *    → serializes on the link at line rate            → ixgbe_msix_clean_rings → napi_schedule
 *    → descriptor done (DD) when the last bit leaves  ixgbe_poll(budget):
 *  interrupt → ixgbe_poll → ixgbe_clean_tx_irq:          ixgbe_clean_tx_irq (frees skbs, wakes queue)
 *    frees skbs (napi_consume_skb),                      ixgbe_clean_rx_irq (skb per frame,
 *    netdev_tx_completed_queue (BQL), wakes the queue
 *                                                         checksum status, netif_receive_skb)
 *                                                       done < budget → napi_complete_done,
 *                                                         ixgbe_set_itr (adaptive moderation,
 *                                                         ./itr), re-enable the interrupt
 *
 * Every packet step is a `pkt.step` event in lane 'nic' (ixgbe_xmit_frame, ixgbe_clean_tx_irq,
 * ixgbe_clean_rx_irq). Counters: `<name>.ixgbe` (ethtool -S style).
 *
 * Byte Queue Limits (`nic.bql`, on as in Debian's kernels): each posted skb's bytes go to the
 * queue's dql (src/net/dql.ts) and each completion round's bytes come off it; while the bytes in
 * flight exceed the limit the stack keeps the rest in the qdisc. The limit starts at 0, grows
 * when the ring runs dry while over it, and shrinks by the slack seen over a second of busy ring
 * (`dev.byteQueueLimits()`, `setByteQueueLimits()` as sysfs byte_queue_limits/).
 *
 * Descriptor rings are index arithmetic over free-running counters: used = next_to_use -
 * next_to_clean, unused = size - used - 1 (ixgbe_desc_unused). A transmitted skb takes 1
 * descriptor per buffer (linear + each frag) plus a context descriptor when it needs an offload.
 *
 * @models linux drivers/net/ethernet/intel/ixgbe/ixgbe_main.c ixgbe_xmit_frame_ring(),
 *   ixgbe_maybe_stop_tx(), ixgbe_clean_tx_irq(), ixgbe_clean_rx_irq(), ixgbe_poll(),
 *   ixgbe_msix_clean_rings(), ixgbe_rx_checksum()
 * Buffers: the wire hands frames over by swapping buffers (see src/net/link.ts). When the stack's
 * skb pool takes its heads from host memory (dom0 frames in a Xen host, `SkbPool.headBuffer`), the
 * rx descriptor buffers are such heads too and the driver keeps it that way: a wire buffer from
 * elsewhere is copied into the descriptor's frame (and replaced by a frame), and an skb that gave
 * its head to the wire gets a frame rather than a foreign spare. So dom0's received skbs have
 * their data in dom0 frames, and netback's grant copy names the frame directly, as in Linux.
 *
 * @simplified the rx path builds the skb around the descriptor's buffer by swapping it for the
 *   new skb's head (build_skb; not charged as CPU time, since the driver does not copy);
 *   hardware reads a transmitted frame when the tail is written (the bytes cannot change before
 *   completion); no RSS, one queue pair; rx buffers go back to the hardware one by one
 *   (Linux refills in batches of 16); no IPv6 receive checksum offload.
 */
import { skb_record_rx_queue } from '../../net/flow-hash';
import type { NetStack } from '../../net/stack';
import { NapiStruct } from '../../net/stack';
import { CHECKSUM_NONE, CHECKSUM_PARTIAL, CHECKSUM_UNNECESSARY, MAX_SKB_FRAGS, SKB_GSO_TCPV4, type SkBuff } from '../../net/skb';
import {
  NetDevice, NETDEV_TX_BUSY, NETDEV_TX_OK, NETIF_F_GRO, NETIF_F_IP_CSUM, NETIF_F_IPV6_CSUM, NETIF_F_SG, NETIF_F_TSO, QUEUE_STATE_STACK_XOFF, type NetdevTx,
} from '../../net/netdevice';
import { NET_PARAMS, NIC_PARAMS, type NetCosts, type NicCosts } from '../../net/costs';
import { l4SumToken, sumTokenEnd, sumTokenFold, sumTokenStart, type EthernetLink, type LinkEndpoint } from '../../net/link';
import { emitStep } from '../../net/walk';
import { defineTraceEvents, type TracePoint } from '../../sim/trace';
import { csum_fold, csum_partial, csum_tcpudp_nofold, CSUM_MANGLED_0, foldSum } from '../../wire/checksum';
import { MacAddr } from '../../wire/address';
import type { Params } from '../../params';
import { tsoLayout, tsoSegment, type TsoLayout } from '../../net/gso';
import { copyBytes } from '../../wire/copy';
import { bufferOf, taggedBytes } from '../../wire/views';
import { BRIDGE_PARAMS } from '../../net/bridge/params';
import { jiffyNs } from '../../sim/units';
import { dql_init } from '../../net/dql';
import { eitrIntervalNs, initialItr, ixgbe_set_itr, newRingContainer, RX_USECS_MAX, slowItrLink } from './itr';

declare module '../../sim/trace' {
  interface TraceEvents {
    'nic.irq': { host: string; nic: string; txPending: number; rxPending: number; itrUsecs: number };
    'nic.txq': { host: string; nic: string; op: 'sent' | 'completed'; bytes: number; inflight: number; bqlLimit: number; stackXoff: boolean; drvXoff: boolean };
  }
}
defineTraceEvents({
  'nic.irq': 'The NIC of `host` raised its (throttled) interrupt; txPending/rxPending count completed descriptors waiting for the driver; itrUsecs is the moderation interval (EITR) it ran under.',
  'nic.txq': 'The NIC\'s transmit queue after the driver posted an skb of `bytes` (op sent) or cleaned one round of completions of `bytes` (op completed): bytes on the ring not yet cleaned (inflight), the Byte Queue Limits limit (-1 with nic.bql off), and whether the stack is held off by BQL (stackXoff) or by the driver (drvXoff, ring nearly full). The qdisc in front of it: net.qdisc.',
});

/** ixgbe DESC_NEEDED: MAX_SKB_FRAGS + 4 descriptors must stay free after a transmit. */
export const DESC_NEEDED = MAX_SKB_FRAGS + 4;
/** ixgbe TX_WAKE_THRESHOLD: wake a stopped queue once this many descriptors are free. */
export const TX_WAKE_THRESHOLD = DESC_NEEDED * 2;
/** IXGBE_RXBUFFER_2K: receive buffer size for an MTU of 1500. */
export const IXGBE_RXBUFFER_2K = 2048;

export interface IxgbeNicOptions {
  /** Interface name, e.g. 'eth0'. */
  name: string;
  /** MAC address (string or MacAddr). */
  mac: string | MacAddr;
  /** Default 1500. */
  mtu?: number;
  /** Parameters (default: the stack's). */
  params?: Params;
}

export class IxgbeNic extends NetDevice implements LinkEndpoint {
  readonly nic: NicCosts;
  readonly net: NetCosts;
  readonly napi: NapiStruct;
  /** ethtool -S style counters. */
  readonly counters: {
    tx_busy: number; tx_restart_queue: number; tx_timeout_count: number; tx_tso_segments: number; tx_csum_offload: number;
    rx_no_dma_resources: number; rx_length_errors: number; rx_csum_good: number; rx_csum_bad: number;
    interrupts: number; tx_descriptors: number;
  };
  private link: EthernetLink | null = null;
  private linkEnd: 0 | 1 = 0;

  // Transmit ring: the skb at its first descriptor, its descriptor count, when the hardware is done with it.
  readonly txRingSize: number;
  private readonly txSkb: (SkBuff | null)[];
  private readonly txDescs: Int32Array;
  private readonly txDoneAt: Float64Array;
  /** Frames and bytes the hardware sent for the skb (ixgbe_tx_buffer gso_segs, bytecount). */
  private readonly txSegs: Int32Array;
  private readonly txBytes: Float64Array;
  private txNtu = 0;
  private txNtc = 0;
  private txFrames = 0;

  // Receive ring: one preallocated buffer per descriptor.
  readonly rxRingSize: number;
  private readonly rxBuf: Uint8Array[];
  private readonly rxLen: Int32Array;
  private readonly rxOff: Int32Array;
  private readonly rxPkt: Float64Array;
  private readonly rxBorn: Float64Array;
  /** The sum token each received frame came with (src/net/link.ts `l4SumToken`; -1 none). */
  private readonly rxSum: Float64Array;
  private readonly rxReadyAt: Float64Array;
  /** Hardware's next descriptor to fill / driver's next to clean (free-running). */
  private rxNtu = 0;
  private rxNtc = 0;

  // Interrupt state.
  private irqEnabled = true;
  private irqArmedAt = -1;
  private irqEvent = -1;
  private lastIrqAt = -Infinity;
  private readonly hIrq: number;
  // Interrupt moderation (./itr): q_vector->itr (µs × 4) and the interval the EITR holds.
  private itr = 0;
  private irqIntervalNs = 0;
  /** adapter->rx_itr_setting as ethtool -c reports it (1 adaptive, 0 off, else µs). */
  private rxUsecsSetting = 1;
  private readonly itrTx = newRingContainer();
  private readonly itrRx = newRingContainer();
  private readonly jiffyNs: number;
  private readonly slowLink: boolean;

  private readonly tpStep: TracePoint<'pkt.step'>;
  private readonly tpIrq: TracePoint<'nic.irq'>;
  private readonly tpTxq: TracePoint<'nic.txq'>;
  /** Bytes of the skbs on the transmit ring, posted and not yet cleaned. */
  private txRingBytes = 0;
  private readonly layout: TsoLayout = { ip: 0, tcp: 0, hdrLen: 0, payload: 0 };
  private tsoScratch = new Uint8Array(65536 + 256);
  private readonly where: string;

  constructor(readonly stack: NetStack, opts: IxgbeNicOptions) {
    super(opts.name, MacAddr.from(opts.mac).octets(), opts.mtu ?? 1500);
    const params = opts.params ?? stack.params;
    this.nic = params.group(NIC_PARAMS);
    this.net = params.group(NET_PARAMS);
    this.where = opts.name;
    this.features = NETIF_F_SG | NETIF_F_TSO | (this.nic.tx_csum_offload ? NETIF_F_IP_CSUM | NETIF_F_IPV6_CSUM : 0)
      | (this.nic.gro ? NETIF_F_GRO : 0);
    this.txQueueLen = this.net.tx_queue_len;
    this.carrier = false;
    this.txRingSize = this.nic.tx_ring_size;
    this.txSkb = new Array<SkBuff | null>(this.txRingSize).fill(null);
    this.txDescs = new Int32Array(this.txRingSize);
    this.txDoneAt = new Float64Array(this.txRingSize);
    this.txSegs = new Int32Array(this.txRingSize);
    this.txBytes = new Float64Array(this.txRingSize);
    this.rxRingSize = this.nic.rx_ring_size;
    this.rxBuf = [];
    // Descriptor buffers from the stack's head allocator (host frames in a Xen host), else plain.
    for (let i = 0; i < this.rxRingSize; i++) this.rxBuf.push(stack.pool.newHead() ?? taggedBytes(IXGBE_RXBUFFER_2K));
    this.rxLen = new Int32Array(this.rxRingSize);
    this.rxOff = new Int32Array(this.rxRingSize);
    this.rxPkt = new Float64Array(this.rxRingSize);
    this.rxBorn = new Float64Array(this.rxRingSize);
    this.rxSum = new Float64Array(this.rxRingSize);
    this.rxReadyAt = new Float64Array(this.rxRingSize);
    this.setRxUsecs(this.nic.rx_usecs);
    const hz = params.group(BRIDGE_PARAMS).hz;
    this.jiffyNs = jiffyNs(hz, 'bridge.hz:');
    // netdev_init_one_queue: dql_init(&queue->dql, HZ) — slack is measured over one second.
    this.hz = hz;
    dql_init(this.txqDql[0]!, hz, 0);
    this.slowLink = slowItrLink(this.nic.line_rate_bps);
    this.counters = stack.sim.counters.register(`${stack.name}.${opts.name}.ixgbe`, {
      tx_busy: 0, tx_restart_queue: 0, tx_timeout_count: 0, tx_tso_segments: 0, tx_csum_offload: 0,
      rx_no_dma_resources: 0, rx_length_errors: 0, rx_csum_good: 0, rx_csum_bad: 0, interrupts: 0, tx_descriptors: 0,
    });
    this.napi = new NapiStruct(`ixgbe-${opts.name}-TxRx-0`, (budget) => this.ixgbe_poll(budget), this.net.dev_weight);
    stack.netif_napi_add(this.napi);
    stack.register_netdev(this);
    this.hIrq = stack.sim.register(`${stack.name}.${opts.name}.irq`, () => this.ixgbe_msix_clean_rings());
    this.tpStep = stack.sim.trace.point('pkt.step');
    this.tpIrq = stack.sim.trace.point('nic.irq');
    this.tpTxq = stack.sim.trace.point('nic.txq');
  }

  /** Plugs the NIC into one end of a link (carrier on). */
  attachLink(link: EthernetLink, end: 0 | 1): void {
    if (this.link !== null) throw new Error(`${this.name}: already attached to link ${this.link.name}`);
    link.attach(end, this);
    this.link = link;
    this.linkEnd = end;
    this.netif_carrier_on();
  }

  /** Transmit descriptors in use (posted, not yet cleaned). */
  get txInUse(): number {
    return this.txNtu - this.txNtc;
  }

  /** ixgbe_desc_unused() */
  get txUnused(): number {
    return this.txRingSize - (this.txNtu - this.txNtc) - 1;
  }

  /** The interrupt moderation interval (EITR) now, in µs (`ethtool -c`'s rx-usecs shows 1 when adaptive). */
  get itrUsecs(): number {
    return this.irqIntervalNs / 1000;
  }

  /** rx-usecs as `ethtool -c eth0` shows it: 1 adaptive, 0 no moderation, else the fixed interval in µs. */
  get rxUsecs(): number {
    return this.rxUsecsSetting;
  }

  /**
   * `ethtool -C eth0 rx-usecs N` on a running NIC: 1 adaptive, 0 no moderation, 2-1022 a fixed
   * interval. The vector restarts from the setting's interval (adaptive: IXGBE_20K_ITR, 50 µs).
   * @models linux drivers/net/ethernet/intel/ixgbe/ixgbe_ethtool.c ixgbe_set_coalesce()
   */
  setRxUsecs(rxUsecs: number): void {
    if (!Number.isInteger(rxUsecs) || rxUsecs < 0 || rxUsecs > RX_USECS_MAX) {
      throw new RangeError(`${this.name}.setRxUsecs: rx-usecs ${String(rxUsecs)} is not allowed; use an integer in 0..${RX_USECS_MAX} (1 = adaptive) (ethtool: -EINVAL)`);
    }
    this.rxUsecsSetting = rxUsecs;
    this.ixgbe_write_eitr(initialItr(rxUsecs));
  }

  /** The vector's itr (µs × 4) into the EITR: the interval the hardware now throttles to. @models linux ixgbe_main.c ixgbe_write_eitr() */
  private ixgbe_write_eitr(itr: number): void {
    this.itr = itr;
    this.irqIntervalNs = eitrIntervalNs(itr);
  }

  /** Received frames waiting for the driver. */
  get rxPending(): number {
    return this.rxNtu - this.rxNtc;
  }

  private hwNow(): number {
    const n = this.stack.sim.now;
    const b = this.stack.cpu.busyUntil;
    return b > n ? b : n;
  }

  // ---------------------------------------------------------------------------------------------
  // Transmit

  /**
   * ndo_start_xmit. Puts the skb on the transmit ring and rings the doorbell; the hardware sends
   * it on the link. Returns NETDEV_TX_BUSY (queue stopped) when the ring lacks descriptors.
   * @models linux ixgbe_main.c ixgbe_xmit_frame(), ixgbe_xmit_frame_ring(), ixgbe_maybe_stop_tx()
   */
  ndo_start_xmit(skb: SkBuff): NetdevTx {
    const st = this.stack;
    st.cpu.run(st.sim.now, this.nic.driver_xmit_ns);
    if (this.tpStep.on) emitStep(this.tpStep, skb.id, 'ixgbe_xmit_frame', 'nic', st.domid, this.nic.driver_xmit_ns, this.name);
    const offload = skb.ipSummed === CHECKSUM_PARTIAL || skb.gsoSize !== 0 ? 1 : 0;
    const count = 1 + skb.nrFrags + offload;
    if (this.txUnused < count + 3) {
      this.netif_stop_queue();
      this.counters.tx_busy++;
      return NETDEV_TX_BUSY;
    }
    if (this.link === null || !this.carrier) {
      // No link: the hardware never sends it; the driver frees it.
      this.stats.tx_dropped++;
      st.kfree_skb(skb, this.where, 'no_carrier');
      return NETDEV_TX_OK;
    }
    const i = this.txNtu % this.txRingSize;
    this.txSkb[i] = skb;
    this.txDescs[i] = count;
    this.txNtu += count;
    this.counters.tx_descriptors += count;
    this.txFrames++;
    this.txSegs[i] = 1;
    this.txBytes[i] = skb.len;
    this.txDoneAt[i] = this.hardwareTransmit(skb, i);
    // ixgbe_tx_map: netdev_tx_sent_queue(txq, first->bytecount), then ixgbe_maybe_stop_tx.
    this.txRingBytes += this.txBytes[i]!;
    if (this.nic.bql) this.netdev_tx_sent_queue(0, this.txBytes[i]!);
    this.scheduleIrq(Math.ceil(this.txDoneAt[i]!));
    if (this.txUnused < DESC_NEEDED) this.netif_stop_queue();
    if (this.tpTxq.on) this.emitTxq('sent', this.txBytes[i]!);
    return NETDEV_TX_OK;
  }

  /**
   * The MAC: DMA-reads the frame (linear + frags) into the link's buffer, finishes offloads and
   * serializes it. Returns the time (real ns) the last bit leaves, when the descriptor is done.
   */
  private hardwareTransmit(skb: SkBuff, desc: number): number {
    const link = this.link!;
    const end = this.linkEnd;
    const doorbell = this.hwNow();
    const nic = this.nic;
    if (skb.gsoSize !== 0) return this.hardwareTso(skb, doorbell, desc);
    const len = skb.len;
    const wlen = len < 60 ? 60 : len;
    const ready = doorbell + nic.dma_latency_ns + len * nic.dma_byte_ns;
    const partial = skb.ipSummed === CHECKSUM_PARTIAL;
    if (partial) this.counters.tx_csum_offload++;
    if (skb.nrFrags === 0 && skb.data + wlen <= skb.head.length) {
      // A linear frame: the DMA moves the skb's buffer to the wire and the skb keeps a spare
      // (nobody reads an skb's bytes once the driver owns it).
      const buf = skb.head;
      const off = skb.data;
      if (len < 60) buf.fill(0, off + len, off + 60);
      const token = partial ? finishChecksum(buf, off, len, skb.csumStart, skb.csumOffset) : -1;
      const t = link.transmitBuffer(end, buf, off, wlen, skb.id, skb.bornAt, ready, token);
      const spare = link.spare;
      const hb = this.stack.pool.headBuffer;
      // Keep the skbs' heads in the pool's memory: a spare from elsewhere is replaced (once) by a new head.
      skb.head = hb === null || bufferOf(spare) === hb ? spare : this.stack.pool.newHead() ?? spare;
      return t;
    }
    const buf = link.txBuffer(end, wlen);
    skb.copyBits(0, buf, 0, len);
    if (len < 60) buf.fill(0, len, 60);
    const token = partial ? finishChecksum(buf, 0, len, skb.csumStart, skb.csumOffset) : -1;
    return link.transmit(end, wlen, skb.id, skb.bornAt, ready, token);
  }

  /** TSO: one wire frame per MSS of payload (TCPv4). */
  private hardwareTso(skb: SkBuff, doorbell: number, desc: number): number {
    const link = this.link!;
    const end = this.linkEnd;
    const len = skb.len;
    if (this.tsoScratch.length < len) this.tsoScratch = new Uint8Array(len);
    const src = this.tsoScratch;
    skb.copyBits(0, src, 0, len);
    const l = this.layout;
    const err = (skb.gsoType & SKB_GSO_TCPV4) === 0 ? 'not TCPv4' : tsoLayout(src, len, l);
    if (err !== undefined || skb.gsoSize <= 0) {
      // The hardware would send garbage; the model counts the packet as dropped by the MAC.
      this.stack.sim.drops.count(this.where, 'tso_bad_header', len, skb.id);
      return doorbell;
    }
    const mss = skb.gsoSize;
    const segs = Math.max(1, Math.ceil(l.payload / mss));
    let ready = doorbell + this.nic.dma_latency_ns;
    let last = doorbell;
    for (let s = 0; s < segs; s++) {
      const flen = l.hdrLen + Math.min(mss, l.payload - s * mss);
      const buf = link.txBuffer(end, Math.max(flen, 60));
      const n = tsoSegment(src, l, mss, s, buf);
      if (n < 60) buf.fill(0, n, 60);
      ready += n * this.nic.dma_byte_ns;
      last = link.transmit(end, n < 60 ? 60 : n, skb.id, skb.bornAt, ready);
      this.counters.tx_tso_segments++;
    }
    this.txSegs[desc] = segs;
    this.txBytes[desc] = len + (segs - 1) * l.hdrLen; // ixgbe_tso: bytecount += (gso_segs - 1) * hdr_len
    return last;
  }

  /**
   * Frees the skbs whose descriptors are done, up to tx_work_limit; wakes the queue when enough
   * descriptors are free. Returns true when it finished (no done descriptor left behind).
   * @models linux ixgbe_main.c ixgbe_clean_tx_irq()
   */
  private ixgbe_clean_tx_irq(): boolean {
    const st = this.stack;
    const now = this.hwNow();
    let budget = this.nic.tx_work_limit;
    let cleaned = 0;
    let totalPackets = 0;
    let totalBytes = 0;
    while (this.txNtc !== this.txNtu && budget > 0) {
      const i = this.txNtc % this.txRingSize;
      if (this.txDoneAt[i]! > now) break;
      const skb = this.txSkb[i]!;
      this.txSkb[i] = null;
      this.txNtc += this.txDescs[i]!;
      this.txFrames--;
      // total_packets += gso_segs; total_bytes += bytecount (a TSO skb's headers once per segment)
      totalPackets += this.txSegs[i]!;
      totalBytes += this.txBytes[i]!;
      st.cpu.run(st.sim.now, this.nic.clean_tx_ns);
      if (this.tpStep.on) emitStep(this.tpStep, skb.id, 'ixgbe_clean_tx_irq', 'nic', st.domid, this.nic.clean_tx_ns, this.name);
      st.consume_skb(skb);
      budget--;
      cleaned++;
    }
    this.stats.tx_packets += totalPackets;
    this.stats.tx_bytes += totalBytes;
    this.itrTx.total_packets += totalPackets;
    this.itrTx.total_bytes += totalBytes;
    this.txRingBytes -= totalBytes;
    if (this.nic.bql) this.netdev_tx_completed_queue(0, totalPackets, totalBytes, Math.floor(st.sim.now / this.jiffyNs));
    // __netif_subqueue_stopped: the driver's own stop only (BQL's is netdev_tx_completed_queue's, above).
    if (cleaned > 0 && this.txStopped && this.txUnused >= TX_WAKE_THRESHOLD) {
      this.counters.tx_restart_queue++;
      this.netif_wake_queue();
    }
    if (totalBytes !== 0 && this.tpTxq.on) this.emitTxq('completed', totalBytes);
    return budget > 0;
  }

  private emitTxq(op: 'sent' | 'completed', bytes: number): void {
    this.tpTxq.emit({
      host: this.stack.name, nic: this.name, op, bytes, inflight: this.txRingBytes, bqlLimit: this.nic.bql ? this.txqDql[0]!.limit : -1,
      stackXoff: (this.txqStopped[0]! & QUEUE_STATE_STACK_XOFF) !== 0, drvXoff: this.txStopped,
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Receive

  /** A frame arrives from the link: DMA into the next free descriptor, or drop. */
  linkRx(buf: Uint8Array, off: number, len: number, pkt: number, bornAt: number, sumToken: number): Uint8Array {
    if (!this.up) {
      this.stack.sim.drops.count(this.where, 'dev_down', len, pkt);
      return buf;
    }
    if (len > this.mtu + 18 || len > 65535) {
      this.counters.rx_length_errors++;
      this.stats.rx_dropped++;
      this.stack.sim.drops.count(this.where, 'rx_length_error', len, pkt);
      return buf;
    }
    if (this.rxNtu - this.rxNtc >= this.rxRingSize - 1) {
      this.counters.rx_no_dma_resources++;
      this.stats.rx_dropped++;
      this.stack.sim.drops.count(this.where, 'rx_ring_full', len, pkt);
      return buf;
    }
    const i = this.rxNtu % this.rxRingSize;
    const mine = this.rxBuf[i]!;
    let back: Uint8Array;
    const hb = this.stack.pool.headBuffer;
    if (hb !== null && bufferOf(buf) !== hb && bufferOf(mine) === hb && off + len <= mine.length) {
      // The descriptor's buffer is a host frame and the wire's is not: the DMA writes into the
      // frame, and the link gets a new frame for its slot (so this happens once per wire buffer).
      copyBytes(mine, off, buf, off, len);
      back = this.stack.pool.newHead() ?? buf;
    } else {
      this.rxBuf[i] = buf; // the DMA wrote into the descriptor's buffer: swap buffers
      back = mine;
    }
    this.rxLen[i] = len;
    this.rxOff[i] = off;
    this.rxPkt[i] = pkt;
    this.rxBorn[i] = bornAt;
    this.rxSum[i] = sumToken;
    const ready = Math.ceil(this.stack.sim.now + this.nic.dma_latency_ns + len * this.nic.dma_byte_ns);
    this.rxReadyAt[i] = ready;
    this.rxNtu++;
    this.scheduleIrq(ready);
    return back;
  }

  /**
   * Builds an skb for each received frame (up to `budget`) and hands it to the stack.
   * @models linux ixgbe_main.c ixgbe_clean_rx_irq(), ixgbe_process_skb_fields(), ixgbe_rx_checksum()
   */
  private ixgbe_clean_rx_irq(budget: number): number {
    const st = this.stack;
    const now = this.hwNow();
    const cost = this.nic.clean_rx_ns + this.net.skb_alloc_ns;
    const mode = this.nic.rx_csum;
    let work = 0;
    while (work < budget && this.rxNtc !== this.rxNtu) {
      const i = this.rxNtc % this.rxRingSize;
      if (this.rxReadyAt[i]! > now) break;
      this.rxNtc++;
      const len = this.rxLen[i]!;
      const off = this.rxOff[i]!;
      const buf = this.rxBuf[i]!;
      const skb = st.pool.alloc();
      skb.id = this.rxPkt[i]!;
      skb.bornAt = this.rxBorn[i]!;
      // build_skb: the skb takes the DMA buffer; the descriptor is refilled with the skb's old one
      this.rxBuf[i] = skb.head;
      skb.head = buf;
      skb.data = off;
      skb.put(len);
      skb.dev = this;
      skb_record_rx_queue(skb, 0); // ixgbe_process_skb_fields: rx_ring->queue_index (one ring here)
      if (mode !== 'off') {
        const r = mode === 'verify' ? l4ChecksumStatus(buf, off, len, this.rxSum[i]!) : isTcpUdpV4(buf, off, len) ? 1 : -1;
        if (r === 1) {
          skb.ipSummed = CHECKSUM_UNNECESSARY;
          this.counters.rx_csum_good++;
        } else {
          skb.ipSummed = CHECKSUM_NONE;
          if (r === 0) this.counters.rx_csum_bad++;
        }
      }
      this.stats.rx_packets++;
      this.stats.rx_bytes += len;
      this.itrRx.total_packets++;
      this.itrRx.total_bytes += len;
      st.cpu.run(st.sim.now, cost);
      if (this.tpStep.on) emitStep(this.tpStep, skb.id, 'ixgbe_clean_rx_irq', 'nic', st.domid, cost, this.name);
      st.napi_gro_receive(this.napi, skb);
      work++;
    }
    return work;
  }

  // ---------------------------------------------------------------------------------------------
  // Interrupts and NAPI

  /** Requests an interrupt for a cause that becomes visible at `t` (throttled by EITR). */
  private scheduleIrq(t: number): void {
    if (!this.irqEnabled) return; // masked while NAPI runs; ixgbe_poll re-checks on completion
    const sim = this.stack.sim;
    let when = Math.max(t, sim.now);
    const itrEnd = this.lastIrqAt + this.irqIntervalNs;
    if (when < itrEnd) when = Math.ceil(itrEnd);
    if (this.irqArmedAt >= 0) {
      if (this.irqArmedAt <= when) return;
      sim.cancel(this.irqEvent);
    }
    this.irqArmedAt = when;
    this.irqEvent = sim.at(when, this.hIrq);
  }

  /** The MSI-X vector's handler: mask, schedule NAPI. @models linux ixgbe_main.c ixgbe_msix_clean_rings() */
  private ixgbe_msix_clean_rings(): void {
    const st = this.stack;
    this.irqArmedAt = -1;
    this.lastIrqAt = st.sim.now;
    this.counters.interrupts++;
    this.irqEnabled = false;
    st.charge(this.net.irq_entry_ns);
    if (this.tpIrq.on) this.tpIrq.emit({ host: this.stack.name, nic: this.name, txPending: this.txFrames, rxPending: this.rxNtu - this.rxNtc, itrUsecs: this.irqIntervalNs / 1000 });
    st.napi_schedule(this.napi);
  }

  /**
   * NAPI poll: transmit completions, then up to `budget` received frames; when done, complete,
   * re-tune the moderation interval (adaptive rx-usecs) and re-enable the interrupt (which fires
   * again if work arrived meanwhile).
   * @models linux ixgbe_main.c ixgbe_poll()
   */
  private ixgbe_poll(budget: number): number {
    const cleanComplete = this.ixgbe_clean_tx_irq();
    const work = this.ixgbe_clean_rx_irq(budget);
    if (!cleanComplete || work >= budget) return budget;
    this.stack.napi_complete_done(this.napi, work);
    if (this.rxUsecsSetting === 1) { // adaptive
      this.ixgbe_write_eitr(ixgbe_set_itr(this.itr, this.itrTx, this.itrRx, Math.floor(this.stack.sim.now / this.jiffyNs), this.slowLink));
    }
    this.irqEnabled = true; // ixgbe_irq_enable_queues
    if (this.rxNtc !== this.rxNtu) this.scheduleIrq(this.rxReadyAt[this.rxNtc % this.rxRingSize]!);
    if (this.txNtc !== this.txNtu) this.scheduleIrq(Math.ceil(this.txDoneAt[this.txNtc % this.txRingSize]!));
    return work;
  }
}

/**
 * Finishes a CHECKSUM_PARTIAL checksum in a frame buffer (the NIC's checksum offload). Returns
 * the wire's sum token for the range it summed (src/net/link.ts `l4SumToken`), or -1.
 */
function finishChecksum(buf: Uint8Array, off: number, len: number, start: number, offset: number): number {
  if (start < 0 || start + offset + 2 > len) return -1; // garbage in, garbage out: the hardware would do the same
  const at = off + start + offset;
  const old = (buf[at]! << 8) | buf[at + 1]!;
  const sum = csum_partial(buf, off + start, off + len, 0);
  const c = csum_fold(sum) || CSUM_MANGLED_0;
  buf[at] = c >>> 8;
  buf[at + 1] = c & 0xff;
  // The range's sum with the check field as written: the old field's word out, the new one in
  // (when the field is one of the range's words, i.e. at an even distance from its start).
  return (offset & 1) === 0 ? l4SumToken(start, len, foldSum(sum - old + c)) : -1;
}

/** Offset of the IPv4 header (14 or 18) or -1; the frame is untrusted. */
function ipv4Offset(buf: Uint8Array, off: number, len: number): number {
  if (len < 34) return -1;
  let t = (buf[off + 12]! << 8) | buf[off + 13]!;
  let ip = off + 14;
  if (t === 0x8100) {
    if (len < 38) return -1;
    t = (buf[off + 16]! << 8) | buf[off + 17]!;
    ip = off + 18;
  }
  return t === 0x0800 && buf[ip]! >>> 4 === 4 ? ip : -1;
}

function isTcpUdpV4(buf: Uint8Array, off: number, len: number): boolean {
  const ip = ipv4Offset(buf, off, len);
  if (ip < 0) return false;
  const p = buf[ip + 9]!;
  return (p === 6 || p === 17) && (((buf[ip + 6]! << 8) | buf[ip + 7]!) & 0x3fff) === 0;
}

/**
 * What ixgbe's receive checksum offload reports for a frame: 1 when it is an unfragmented IPv4
 * TCP/UDP packet whose L4 checksum verifies, 0 when the IPv4 header checksum or the L4 checksum is
 * wrong, -2 for a UDP packet without checksum (0: the 82599 flags it as an L4 error, and
 * ixgbe_rx_checksum's UDP-zero erratum check leaves it unverified without counting an error), -1
 * when the hardware does not check this kind of frame. A `sumToken` from
 * the wire (src/net/link.ts) whose range is exactly this frame's L4 segment stands for the
 * segment's sum; any other token is ignored and the segment is summed.
 */
export function l4ChecksumStatus(buf: Uint8Array, off: number, len: number, sumToken = -1): -2 | -1 | 0 | 1 {
  const ip = ipv4Offset(buf, off, len);
  if (ip < 0) return -1;
  const ihl = (buf[ip]! & 0xf) * 4;
  const total = (buf[ip + 2]! << 8) | buf[ip + 3]!;
  if (ihl < 20 || total < ihl || ip + total > off + len) return -1;
  // IXGBE_RXD_STAT_IPCS with IXGBE_RXDADV_ERR_IPE: a bad IPv4 header checksum is an error too.
  if (csum_fold(csum_partial(buf, ip, ip + ihl, 0)) !== 0) return 0;
  if ((((buf[ip + 6]! << 8) | buf[ip + 7]!) & 0x3fff) !== 0) return -1;
  const proto = buf[ip + 9]!;
  if (proto !== 6 && proto !== 17) return -1;
  const l4 = ip + ihl;
  const l4Len = total - ihl;
  if (proto === 17) {
    if (l4Len < 8) return 0;
    // 82599 errata: UDP frames with a 0 checksum can be marked as checksum errors (__IXGBE_RX_CSUM_UDP_ZERO_ERR).
    if (buf[l4 + 6] === 0 && buf[l4 + 7] === 0) return -2;
  } else if (l4Len < 20) return 0;
  const saddr = ((buf[ip + 12]! << 24) | (buf[ip + 13]! << 16) | (buf[ip + 14]! << 8) | buf[ip + 15]!) >>> 0;
  const daddr = ((buf[ip + 16]! << 24) | (buf[ip + 17]! << 16) | (buf[ip + 18]! << 8) | buf[ip + 19]!) >>> 0;
  const pseudo = csum_tcpudp_nofold(saddr, daddr, l4Len, proto, 0);
  const known = sumToken >= 0 && sumTokenStart(sumToken) === l4 - off && sumTokenEnd(sumToken) === l4 - off + l4Len;
  const sum = known ? pseudo + sumTokenFold(sumToken) : csum_partial(buf, l4, l4 + l4Len, pseudo);
  return csum_fold(sum) === 0 ? 1 : 0;
}
