/**
 * The cost model of the kernel network pieces (group `net`), of the physical NIC (group `nic`)
 * and of the wire (group `link`).
 *
 * CPU costs are virtual nanoseconds charged on the `Cpu` of the domain doing the work (dom0's
 * CPU for the backlog, the bridge and the NIC driver; a guest's vCPU for its own stack; the
 * external host's CPU for its stack). NIC and wire figures are latencies and rates of the
 * hardware, charged to no CPU.
 *
 * Calibration. performance.md measured the real Linux bridge on this machine, veth → bridge →
 * veth on one core: ~2.7 µs of CPU per packet in total, of which the bridge hop alone is
 * ~0.95 µs. The per-step defaults below are chosen so that the same walk in the model adds up
 * to those figures:
 *
 *   veth_xmit → netif_rx (enqueue_to_backlog)             netif_rx_ns                 120
 *   NET_RX softirq, process_backlog (per packet share)    napi_poll_ns / 64 + …        ~5
 *   __netif_receive_skb_core on the port                  netif_receive_skb_core_ns   180
 *   br_handle_frame + fdb lookup + br_forward             br_handle_frame_ns + br_forward_ns = 950
 *   dev_queue_xmit + qdisc enqueue/dequeue                dev_queue_xmit_ns           350
 *   veth_xmit on the far side, netif_rx, backlog, rx core 120 + 180 + …
 *   the final consumer (packet socket) and skb free       skb_free_ns + …             ~600
 *                                                                           total  ≈ 2.7 µs
 *
 * Figures without a measurement are estimates and say so in `models`.
 */
import { bool, choice, defineParams, int, num, Params, type GroupValues } from '../params';

export const NET_PARAMS = defineParams('net', {
  memcpy_byte_ns: num({
    default: 0.07, min: 0, max: 100, unit: 'ns/byte',
    help: 'CPU cost per byte of a kernel memory copy (skb_copy_bits, copying a received frame into an skb, bouncing).',
    models: 'performance.md: a 1500-byte copy between preallocated buffers takes ~100 ns on this machine (~15 GB/s)',
  }),
  skb_alloc_ns: int({
    default: 60, min: 0, unit: 'ns',
    help: 'CPU cost of allocating an skb (__netdev_alloc_skb / napi_alloc_skb from the per-CPU cache).',
    models: 'estimate: slab fast path plus sk_buff initialisation, a few tens of ns on current x86',
  }),
  skb_free_ns: int({
    default: 50, min: 0, unit: 'ns',
    help: 'CPU cost of freeing an skb (kfree_skb / consume_skb / napi_consume_skb), destructor excluded.',
    models: 'estimate: slab free fast path; napi_consume_skb batches frees',
  }),
  netif_rx_ns: int({
    default: 120, min: 0, unit: 'ns',
    help: 'CPU cost of netif_rx(): enqueue_to_backlog onto the per-CPU backlog queue.',
    models: 'estimate, calibrated so veth → bridge → veth totals ~2.7 µs/packet (performance.md)',
  }),
  irq_entry_ns: int({
    default: 500, min: 0, unit: 'ns',
    help: 'CPU cost of taking a hardware interrupt (entry, the driver\'s handler prologue, exit) before the handler\'s own work.',
    models: 'estimate: interrupt entry/exit plus APIC EOI, ~0.3-1 µs on current x86 (bare metal; more inside a VM)',
  }),
  softirq_latency_ns: int({
    default: 200, min: 0, unit: 'ns',
    help: 'Time from raising NET_RX_SOFTIRQ / NET_TX_SOFTIRQ to net_rx_action / net_tx_action running (on irq exit or in ksoftirqd).',
    models: 'estimate: raise_softirq_irqoff then __do_softirq on the same CPU at irq exit',
  }),
  napi_schedule_ns: int({
    default: 60, min: 0, unit: 'ns',
    help: 'CPU cost of napi_schedule(): test-and-set NAPI_STATE_SCHED, add to the poll list, raise the softirq.',
    models: 'estimate (____napi_schedule)',
  }),
  napi_poll_ns: int({
    default: 150, min: 0, unit: 'ns',
    help: 'CPU cost of one NAPI poll call in net_rx_action besides the per-packet work (list handling, napi_complete_done).',
    models: 'estimate (napi_poll + napi_complete_done); amortised over up to dev_weight packets',
  }),
  gro_receive_ns: int({
    default: 120, min: 0, unit: 'ns',
    help: "CPU cost of GRO for one TCP/IPv4 segment on a device with GRO on: dev_gro_receive, inet_gro_receive, tcp4_gro_receive and the merge. A packet that is not TCP/IPv4 leaves GRO at once (part of netif_receive_skb_core_ns).",
    models: 'estimate (net/core/gro.c, net/ipv4/tcp_offload.c: header compares per held flow, no copy)',
  }),
  netif_receive_skb_core_ns: int({
    default: 180, min: 0, unit: 'ns',
    help: 'CPU cost of __netif_receive_skb_core(): ptype_all taps, ingress hooks, the rx_handler call or protocol lookup.',
    models: 'estimate, calibrated with the 2.7 µs veth → bridge → veth walk (performance.md)',
  }),
  br_handle_frame_ns: int({
    default: 550, min: 0, unit: 'ns',
    help: 'CPU cost of the bridge\'s ingress: br_handle_frame, br_handle_frame_finish, learning (br_fdb_update) and the FDB lookup.',
    models: 'performance.md: the real bridge hop costs ~0.95 µs; this is its ingress share (estimate of the split)',
  }),
  br_forward_ns: int({
    default: 400, min: 0, unit: 'ns',
    help: 'CPU cost of sending a frame out of one bridge port: br_forward / __br_forward / br_dev_queue_push_xmit (per egress port when flooding).',
    models: 'performance.md: the real bridge hop costs ~0.95 µs; this is its egress share (estimate of the split)',
  }),
  br_pass_frame_up_ns: int({
    default: 150, min: 0, unit: 'ns',
    help: 'CPU cost of br_pass_frame_up(): handing a frame to br0 itself for local delivery.',
    models: 'estimate',
  }),
  dev_queue_xmit_ns: int({
    default: 350, min: 0, unit: 'ns',
    help: 'CPU cost of dev_queue_xmit(): queue selection, qdisc enqueue and dequeue (or bypass), dev_hard_start_xmit.',
    models: 'estimate, calibrated with the 2.7 µs veth → bridge → veth walk (performance.md)',
  }),
  ip_rcv_ns: int({
    default: 250, min: 0, unit: 'ns',
    help: 'CPU cost of ip_rcv + ip_rcv_finish + ip_local_deliver (header checks, route lookup for a local address).',
    models: 'estimate',
  }),
  l4_rcv_ns: int({
    default: 300, min: 0, unit: 'ns',
    help: 'CPU cost of udp_rcv / icmp_rcv / arp_rcv up to the socket or the reply (socket lookup, queueing, wakeup).',
    models: 'estimate',
  }),
  l4_send_ns: int({
    default: 600, min: 0, unit: 'ns',
    help: 'CPU cost of udp_sendmsg / icmp reply / arp_send down to dev_queue_xmit (route, headers, neighbour output), payload copy excluded.',
    models: 'estimate',
  }),
  netdev_max_backlog: int({
    default: 1000, min: 1, max: 1 << 20, unit: 'packets',
    help: 'Per-CPU backlog queue limit of netif_rx(); beyond it packets are dropped (reason backlog_full).',
    models: 'linux net/core/net-sysctl: net.core.netdev_max_backlog, default 1000',
  }),
  dev_weight: int({
    default: 64, min: 1, max: 1 << 16, unit: 'packets',
    help: 'NAPI weight: packets one poll may process before yielding (the backlog\'s weight; drivers use NAPI_POLL_WEIGHT 64).',
    models: 'linux net.core.dev_weight = 64, NAPI_POLL_WEIGHT = 64',
  }),
  netdev_budget: int({
    default: 300, min: 1, max: 1 << 20, unit: 'packets',
    help: 'Packets one run of net_rx_action may process across all NAPI instances before re-raising the softirq (time_squeeze).',
    models: 'linux net.core.netdev_budget = 300',
  }),
  netdev_budget_usecs: int({
    default: 8000, min: 1, max: 1 << 20, unit: 'µs',
    help: 'CPU time one run of net_rx_action may use before yielding (time_squeeze).',
    models: 'linux net.core.netdev_budget_usecs = 2 * USEC_PER_SEC / HZ: 8000 at the model\'s HZ 250 (bridge.hz); 2000 at HZ 1000',
  }),
  tx_queue_len: int({
    default: 1000, min: 0, max: 1 << 20, unit: 'packets',
    help: 'Default transmit queue length (qdisc limit) of an Ethernet device; 0 means noqueue.',
    models: 'linux DEFAULT_TX_QUEUE_LEN = 1000 (ether_setup); pfifo_fast limit = dev->tx_queue_len',
  }),
});

export const NIC_PARAMS = defineParams('nic', {
  line_rate_bps: num({
    default: 10e9, min: 1e6, max: 1e12, unit: 'bit/s',
    help: 'Line rate of the physical NIC and its link.',
    models: '10GBASE-*: 10 Gbit/s (ixgbe: Intel 82599)',
  }),
  tx_ring_size: int({
    default: 512, min: 64, max: 8192, unit: 'descriptors',
    help: 'Transmit descriptor ring size (ethtool -G tx).',
    models: 'linux drivers/net/ethernet/intel/ixgbe/ixgbe.h IXGBE_DEFAULT_TXD = 512',
  }),
  rx_ring_size: int({
    default: 512, min: 64, max: 8192, unit: 'descriptors',
    help: 'Receive descriptor ring size (ethtool -G rx); buffers are preallocated for every descriptor.',
    models: 'linux drivers/net/ethernet/intel/ixgbe/ixgbe.h IXGBE_DEFAULT_RXD = 512',
  }),
  rx_usecs: int({
    default: 1, min: 0, max: 1022, unit: 'µs',
    help: 'Interrupt moderation as `ethtool -C eth0 rx-usecs N` sets it: 1 (the default) is adaptive — the driver re-tunes the interval after every NAPI poll from the packets and bytes it saw (10 µs for a lone packet, up to 126 µs, ~8.5 k interrupts/s, for a stream of 1514-byte frames); 0 interrupts at once; 2-1022 is a fixed minimum interval between interrupts (2 µs steps). Events in between are coalesced into the next interrupt.',
    models: 'linux drivers/net/ethernet/intel/ixgbe/ixgbe_main.c ixgbe_update_itr(), ixgbe_set_itr(); ixgbe_ethtool.c ixgbe_set_coalesce() (rx_itr_setting 1 = adaptive, the default; IXGBE_MAX_EITR >> 2 = 1022)',
  }),
  dma_latency_ns: int({
    default: 500, min: 0, max: 1_000_000, unit: 'ns',
    help: 'Time from the tail (doorbell) write to the first byte of the frame fetched over PCIe (descriptor fetch + data read round trip), and from the last byte received to the descriptor write-back.',
    models: 'estimate: a PCIe read round trip is ~0.5-1 µs',
  }),
  dma_byte_ns: num({
    default: 0.125, min: 0, max: 100, unit: 'ns/byte',
    help: 'DMA transfer time per byte over PCIe (added to dma_latency_ns for each frame).',
    models: 'PCIe 2.0 x8 as on the 82599: ~32 Gbit/s usable → 0.125 ns/byte (estimate)',
  }),
  driver_xmit_ns: int({
    default: 200, min: 0, unit: 'ns',
    help: 'CPU cost of the driver\'s ndo_start_xmit (ixgbe_xmit_frame_ring: DMA-map, fill descriptors, tail write).',
    models: 'estimate',
  }),
  clean_tx_ns: int({
    default: 40, min: 0, unit: 'ns',
    help: 'CPU cost per completed transmit descriptor in ixgbe_clean_tx_irq (unmap, free), skb free excluded.',
    models: 'estimate',
  }),
  clean_rx_ns: int({
    default: 100, min: 0, unit: 'ns',
    help: 'CPU cost per received frame in ixgbe_clean_rx_irq (descriptor, eth_type_trans, buffer refill), skb alloc and copy excluded.',
    models: 'estimate',
  }),
  preamble_ifg_bytes: int({
    default: 20, min: 0, max: 64, unit: 'bytes',
    help: 'Per-frame wire overhead outside the frame: preamble (7) + start-of-frame delimiter (1) + inter-frame gap (12).',
    models: 'IEEE 802.3 clause 4/46: 8-byte preamble+SFD and 96-bit IFG; 10G gives 812,743 frames/s at 1518 bytes',
  }),
  fcs_bytes: int({
    default: 4, min: 0, max: 4, unit: 'bytes',
    help: 'Frame check sequence appended by the MAC (counted in wire time; not carried in captures, as LINKTYPE_ETHERNET).',
    models: 'IEEE 802.3 CRC-32 FCS',
  }),
  tx_csum_offload: bool({
    default: true,
    help: 'The NIC finishes CHECKSUM_PARTIAL checksums itself (NETIF_F_IP_CSUM); otherwise dev_queue_xmit finishes them in software (skb_checksum_help).',
    models: 'ixgbe advertises NETIF_F_IP_CSUM | NETIF_F_IPV6_CSUM | NETIF_F_SG | NETIF_F_TSO',
  }),
  rx_csum: choice({
    default: 'verify', choices: ['verify', 'trust', 'off'] as const,
    help: "Receive checksum offload: 'verify' checks TCP/UDP checksums and marks good ones CHECKSUM_UNNECESSARY; 'trust' marks every TCP/UDP frame good without computing (fast, for benchmarks); 'off' leaves CHECKSUM_NONE.",
    models: 'ixgbe NETIF_F_RXCSUM: the L4 checksum is checked in hardware (ixgbe_rx_checksum)',
  }),
  bql: bool({
    default: true,
    help: 'Byte Queue Limits on the transmit queue: the driver reports bytes posted and completed, and the stack stops feeding the ring once it holds enough to never run dry (the rest waits in the qdisc). false = a kernel built without CONFIG_BQL: the ring fills to its size.',
    models: 'linux CONFIG_BQL (y in Debian): ixgbe_tx_map netdev_tx_sent_queue(), ixgbe_clean_tx_irq netdev_tx_completed_queue(), lib/dynamic_queue_limits.c',
  }),
  gro: bool({
    default: true,
    help: "Generic Receive Offload on the NIC's receive path (ethtool -K eth0 gro on|off): consecutive TCP/IPv4 segments of a flow are merged into one GSO packet before the stack sees them. false = every segment goes up on its own.",
    models: 'linux NETIF_F_GRO (on by default: NETIF_F_SOFT_FEATURES); ixgbe_rx_skb napi_gro_receive(), net/core/gro.c',
  }),
  tx_work_limit: int({
    default: 256, min: 1, max: 65536, unit: 'descriptors',
    help: 'Transmit descriptors ixgbe_clean_tx_irq completes per NAPI poll at most.',
    models: 'linux ixgbe IXGBE_DEFAULT_TX_WORK = 256 (ethtool -C tx-frames-irq)',
  }),
});

export const LINK_PARAMS = defineParams('link', {
  propagation_ns: int({
    default: 500, min: 0, max: 1_000_000_000, unit: 'ns',
    help: 'Propagation delay of the cable (one way).',
    models: '~100 m of fibre or copper at ~5 ns/m',
  }),
  loss_rate: num({
    default: 0, min: 0, max: 1,
    help: 'Probability that a frame is lost on the wire (a bad FCS at the receiver); drawn from the link\'s named random stream.',
    models: 'none: a modeling knob (a healthy link loses ~0 frames)',
  }),
});

export type NetCosts = GroupValues<typeof NET_PARAMS['specs']>;
export type NicCosts = GroupValues<typeof NIC_PARAMS['specs']>;
export type LinkCosts = GroupValues<typeof LINK_PARAMS['specs']>;

/** The `net` group's values from a parameter set (defaults when none is given). */
export function netCosts(params: Params = Params.defaults()): NetCosts {
  return params.group(NET_PARAMS);
}
export function nicCosts(params: Params = Params.defaults()): NicCosts {
  return params.group(NIC_PARAMS);
}
export function linkCosts(params: Params = Params.defaults()): LinkCosts {
  return params.group(LINK_PARAMS);
}

/**
 * Wire time of a frame of `frameLen` bytes (as held in an skb: no FCS, no preamble), in ns, as a
 * real number: (len + FCS + preamble/SFD + IFG) × 8 / rate. Frames shorter than 60 bytes are
 * padded to 60 by the MAC first.
 */
export function wireTimeNs(frameLen: number, nic: NicCosts): number {
  const l = frameLen < 60 ? 60 : frameLen;
  return ((l + nic.fcs_bytes + nic.preamble_ifg_bytes) * 8 * 1e9) / nic.line_rate_bps;
}
