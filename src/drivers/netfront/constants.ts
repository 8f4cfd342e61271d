/**
 * Constants of xen-netfront (torvalds/linux drivers/net/xen-netfront.c and, for the classic
 * receive policy, the 2.6.18-xen drivers/xen/netfront/netfront.{c,h}).
 */
import { NET_RX_RING_SIZE as IO_NET_RX_RING_SIZE, NET_TX_RING_SIZE as IO_NET_TX_RING_SIZE, XEN_NETIF_NR_SLOTS_MIN } from '../../io/netif';
import { XEN_EOI_FLAG_SPURIOUS as EVTCHN_XEN_EOI_FLAG_SPURIOUS } from '../../xen/event_channel';

// Aliases as values, not `export { … } from`: a re-export compiles to an accessor, which turns
// this module's exports object (read on every packet) into a hash table in V8.
/** NET_RX_RING_SIZE / NET_TX_RING_SIZE of io/netif, as netfront's code names them. */
export const NET_RX_RING_SIZE = IO_NET_RX_RING_SIZE;
export const NET_TX_RING_SIZE = IO_NET_TX_RING_SIZE;

/** Free-list terminator of `tx_link[]`. */
export const TX_LINK_NONE = 0xffff;
/** `tx_link[id]` of a request published to the backend and not yet answered. */
export const TX_PENDING = 0xfffe;
/** `grant_ref_t` value meaning "no grant" (`INVALID_GRANT_REF`, ((grant_ref_t)-1)). */
export const INVALID_GRANT_REF = 0xffffffff;
/** Bytes pulled into the linear area of a received skb (the rest stays as page frags). */
export const RX_COPY_THRESHOLD = 256;
/** Publish rx requests only when at least this many are outstanding (XEN_NETIF_NR_SLOTS_MIN + 1). */
export const NET_RX_SLOTS_MIN = XEN_NETIF_NR_SLOTS_MIN + 1;
/** 65536 / XEN_PAGE_SIZE + 1: an skb needing more than MAX_XEN_SKB_FRAGS + 1 slots is linearised. */
export const MAX_XEN_SKB_FRAGS = 65536 / 4096 + 1;
/** ETH_HLEN: the first tx request must carry at least a whole Ethernet header. */
export const ETH_HLEN = 14;
/** Stop the queue when this many tx slots are outstanding: NET_TX_RING_SIZE - XEN_NETIF_NR_SLOTS_MIN - 1. */
export const TX_STOP_THRESHOLD = NET_TX_RING_SIZE - XEN_NETIF_NR_SLOTS_MIN - 1;
/** 2.6.18's MAX_SKB_FRAGS with 4 KiB pages: 65536 / 4096 + 2. */
export const CLASSIC_MAX_SKB_FRAGS = 18;
/** 2.6.18's netfront_tx_slot_available: TX_MAX_TARGET (256) - MAX_SKB_FRAGS - 2 = 236. */
export const CLASSIC_TX_STOP_THRESHOLD = Math.min(NET_TX_RING_SIZE, 256) - CLASSIC_MAX_SKB_FRAGS - 2;

/** 2.6.18 adaptive rx fill target (drivers/xen/netfront/netfront.h). */
export const RX_MIN_TARGET = 8;
export const RX_DFL_MIN_TARGET = 64;
export const RX_MAX_TARGET = Math.min(NET_RX_RING_SIZE, 256);

/** Errno values netfront returns (Linux numbering). */
export const EINVAL = 22;
export const ENOENT = 2;
export const E2BIG = 7;
export const EBADR = 53;
export const ENOMEM = 12;
export const ENODEV = 19;
export const EAGAIN = 11;
export const EPROTO = 71;

export const XENBUS_STATE_NAMES: readonly string[] = [
  'Unknown', 'Initialising', 'InitWait', 'Initialised', 'Connected', 'Closing', 'Closed', 'Reconfiguring', 'Reconfigured',
];

/**
 * Packet-walk step names (`pkt.step` fn) of the functions whose name differs between Linux's
 * xen-netfront (`design: 'modern'`) and the 2.6.18-xen netfront (`design: 'classic'`,
 * bronson/linux-2.6.18.8-ovz-xen drivers/xen/netfront/netfront.c). Names both drivers share
 * (gnttab_grant_foreign_access_ref, RING_PUSH_REQUESTS_AND_CHECK_NOTIFY, notify_remote_via_irq,
 * gnttab_end_foreign_access_ref, xennet_get_responses) are used as they are. 2.6.18 has no
 * xennet_mark_tx_pending (ids are never "pending": the ring push publishes them) and no GRO
 * (netif_poll calls netif_receive_skb, which the guest stack's own step shows), so a classic
 * walk emits nothing for those two steps.
 */
export interface NetfrontStepNames {
  /** hard_start_xmit. */
  readonly startXmit: string;
  /** The tx completion loop. */
  readonly txBufGc: string;
  /** The handler that sees tx responses, and the detail prefix naming its tx half. */
  readonly txInterrupt: string;
  readonly txInterruptHalf: string;
  /** The handler that sees rx responses, and the detail prefix naming its rx half. */
  readonly rxInterrupt: string;
  readonly rxInterruptHalf: string;
  /** The rx poll. */
  readonly poll: string;
}

export const MODERN_STEP_NAMES: NetfrontStepNames = {
  startXmit: 'xennet_start_xmit',
  txBufGc: 'xennet_tx_buf_gc',
  txInterrupt: 'xennet_tx_interrupt',
  txInterruptHalf: '',
  rxInterrupt: 'xennet_rx_interrupt',
  rxInterruptHalf: '',
  poll: 'xennet_poll',
};

/**
 * 2.6.18: `static int network_start_xmit(struct sk_buff *skb, struct net_device *dev)`;
 * `static void network_tx_buf_gc(struct net_device *dev)`; `static irqreturn_t netif_int(int irq,
 * void *dev_id, struct pt_regs *ptregs)`, the one handler of the one event channel:
 * network_tx_buf_gc(dev), then netif_rx_schedule(dev) when the rx ring has unconsumed responses
 * (its step's detail starts with the half that saw the packet); `static int netif_poll(struct
 * net_device *dev, int *pbudget)` (dev->poll, pre-NAPI-struct).
 */
export const CLASSIC_STEP_NAMES: NetfrontStepNames = {
  startXmit: 'network_start_xmit',
  txBufGc: 'network_tx_buf_gc',
  txInterrupt: 'netif_int',
  txInterruptHalf: 'network_tx_buf_gc: ',
  rxInterrupt: 'netif_int',
  rxInterruptHalf: 'netif_rx_schedule: ',
  poll: 'netif_poll',
};

/** XEN_EOI_FLAG_SPURIOUS (lateeoi, XSA-391): defined with the event channels. */
export const XEN_EOI_FLAG_SPURIOUS = EVTCHN_XEN_EOI_FLAG_SPURIOUS;
