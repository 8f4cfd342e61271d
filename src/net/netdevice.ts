/**
 * A network device (Linux `struct net_device`) as the Xen path needs it: a name, a MAC, an MTU,
 * up/carrier state, counters, a transmit entry point (`ndo_start_xmit`), an rx handler hook (the
 * bridge registers one on each port, as `netdev_rx_handler_register` does), taps for captures,
 * and the transmit-queue stop/wake state drivers use for flow control.
 *
 * Directions are the device's own: `tx_*` counts what the device sent, `rx_*` what it received.
 * For a vif in dom0 that is the opposite of the guest's view — a guest's transmit is the vif's
 * receive — exactly as `ip -s link show vif1.0` reports it.
 *
 * @models linux include/linux/netdevice.h struct net_device, enum netdev_tx, enum rx_handler_result
 */
import type { SkBuff, NetDeviceRef } from './skb';
import { DQL_MAX_LIMIT, Dql, dql_avail, dql_completed, dql_queued } from './dql';

/** __QUEUE_STATE_DRV_XOFF: the driver stopped the queue (its ring is full). */
export const QUEUE_STATE_DRV_XOFF = 1;
/** __QUEUE_STATE_STACK_XOFF: Byte Queue Limits stopped the queue (enough bytes in flight). */
export const QUEUE_STATE_STACK_XOFF = 2;

/** /sys/class/net/<dev>/queues/tx-<n>/byte_queue_limits/ */
export interface ByteQueueLimits {
  /** The current limit in bytes (`limit`). */
  limit: number;
  limit_min: number;
  limit_max: number;
  /** Jiffies over which slack is measured, and the same in ms as sysfs shows it (`hold_time`). */
  hold_time_jiffies: number;
  hold_time: number;
  /** Bytes posted to the hardware and not yet completed (`inflight`). */
  inflight: number;
}

/** enum netdev_tx */
export const NETDEV_TX_OK = 0x00;
export const NETDEV_TX_BUSY = 0x10;
export type NetdevTx = typeof NETDEV_TX_OK | typeof NETDEV_TX_BUSY;

/** enum rx_handler_result */
export const RX_HANDLER_CONSUMED = 0;
export const RX_HANDLER_ANOTHER = 1;
export const RX_HANDLER_EXACT = 2;
export const RX_HANDLER_PASS = 3;
export type RxHandlerResult = 0 | 1 | 2 | 3;

export type RxHandler = (skb: SkBuff) => RxHandlerResult;

/**
 * Device feature bits (`netdev_features_t`, include/linux/netdev_features.h), the ones the Xen
 * path negotiates. Only bits below 32 are defined so that `features & NETIF_F_X` works on a JS
 * number (NETIF_F_RXCSUM is bit 40 in Linux; receive checksum offload is a NIC parameter here).
 */
export const NETIF_F_SG = 1 << 0;
export const NETIF_F_IP_CSUM = 1 << 1;
export const NETIF_F_HW_CSUM = 1 << 3;
export const NETIF_F_IPV6_CSUM = 1 << 4;
/** The device takes a GSO skb with a frag_list (xen-netback's vif does; a NIC's TSO does not). */
export const NETIF_F_FRAGLIST = 1 << 6;
export const NETIF_F_GSO = 1 << 11;
export const NETIF_F_GRO = 1 << 14;
export const NETIF_F_TSO = 1 << 16;
export const NETIF_F_GSO_ROBUST = 1 << 17;
export const NETIF_F_TSO6 = 1 << 20;
/** NETIF_F_CSUM_MASK: any transmit checksum offload. */
export const NETIF_F_CSUM_MASK = NETIF_F_IP_CSUM | NETIF_F_IPV6_CSUM | NETIF_F_HW_CSUM;

/** A frame tap (AF_PACKET / tcpdump on the device); sees every frame in and out. */
export interface FrameTap {
  tap(dev: NetDevice, direction: 'rx' | 'tx', skb: SkBuff): void;
}

export interface NetDeviceStats {
  rx_packets: number;
  rx_bytes: number;
  rx_dropped: number;
  /** Malformed receives the driver refused (netfront: a bad response, a failed checksum_setup). */
  rx_errors: number;
  tx_packets: number;
  tx_bytes: number;
  tx_dropped: number;
}

export abstract class NetDevice implements NetDeviceRef {
  /** IFF_UP (administratively up). */
  up = true;
  /** netif_carrier_ok() */
  carrier = true;
  /** dev->real_num_tx_queues: a multi-queue driver sets it when it knows (netif_set_real_num_tx_queues). */
  numTxQueues = 1;
  /**
   * Each transmit queue's XOFF state, indexed by queue: QUEUE_STATE_DRV_XOFF (the driver stopped
   * it) | QUEUE_STATE_STACK_XOFF (Byte Queue Limits stopped it); 0 = running (!netif_xmit_stopped).
   */
  txqStopped: Uint8Array = new Uint8Array(1);
  /** dev_queue->dql of each transmit queue: Byte Queue Limits, for drivers that report their bytes (ixgbe). */
  txqDql: Dql[] = [new Dql()];
  /** CONFIG_HZ of the kernel the device belongs to (BQL's hold time is in its jiffies); drivers with BQL set it. */
  hz = 250;
  /** The bridge's (or another master's) rx handler, if the device is enslaved. */
  rxHandler: RxHandler | null = null;
  /** Taps that see every frame (captures). */
  readonly taps: FrameTap[] = [];
  readonly stats: NetDeviceStats = { rx_packets: 0, rx_bytes: 0, rx_dropped: 0, rx_errors: 0, tx_packets: 0, tx_bytes: 0, tx_dropped: 0 };
  /** Called with the queue when a stopped queue is woken (netif_tx_wake_queue), so its qdisc can run again. */
  onWake: ((queue: number) => void) | null = null;
  /** dev->features: NETIF_F_* bits (offloads the device does itself). */
  features = 0;
  /** dev->tx_queue_len: the pfifo qdisc's limit, read on each enqueue (0 when registered = noqueue). */
  txQueueLen = 1000;
  /** dev->ifindex within the stack the device is registered with (0 = not registered). */
  ifindex = 0;

  constructor(
    readonly name: string,
    /** dev->dev_addr (6 bytes). */
    readonly mac: Uint8Array,
    public mtu: number,
  ) {
    if (mac.length !== 6) throw new Error(`net_device ${name}: mac must be 6 bytes, got ${mac.length}`);
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) {
      throw new RangeError(`net_device ${name}: mtu ${mtu} is not allowed; use an integer in 68..65535`);
    }
  }

  /** Transmits one skb; returns NETDEV_TX_OK (the driver owns the skb now) or NETDEV_TX_BUSY. */
  abstract ndo_start_xmit(skb: SkBuff): NetdevTx;

  /**
   * ndo_select_queue: a multi-queue driver's choice of transmit queue for `skb` (dev_queue_xmit
   * stores it in skb.queueMapping). Devices without one have a single queue: 0.
   */
  ndo_select_queue?(skb: SkBuff): number;

  /** netif_queue_stopped(): whether the driver stopped transmit queue 0 (a single-queue device's only one). */
  get txStopped(): boolean {
    return (this.txqStopped[0]! & QUEUE_STATE_DRV_XOFF) !== 0;
  }

  set txStopped(stopped: boolean) {
    this.txqStopped[0] = stopped ? this.txqStopped[0]! | QUEUE_STATE_DRV_XOFF : this.txqStopped[0]! & ~QUEUE_STATE_DRV_XOFF;
  }

  /**
   * netif_set_real_num_tx_queues(): the number of transmit queues in use, 1..64 (a driver sets
   * it when it knows, e.g. after negotiating queues with its peer). Queues added start running.
   */
  netif_set_real_num_tx_queues(n: number): void {
    if (!Number.isInteger(n) || n < 1 || n > 64) {
      throw new RangeError(`netif_set_real_num_tx_queues: ${this.name} n ${n} is not allowed; use an integer in 1..64`);
    }
    if (n > this.txqStopped.length) {
      const t = new Uint8Array(n);
      t.set(this.txqStopped);
      this.txqStopped = t;
    }
    while (this.txqDql.length < n) this.txqDql.push(new Dql());
    this.numTxQueues = n;
  }

  /** netif_tx_queue_stopped(): whether the driver stopped this queue (DRV_XOFF). */
  netif_tx_queue_stopped(queue: number): boolean {
    return (this.txqStopped[queue]! & QUEUE_STATE_DRV_XOFF) !== 0;
  }

  /** netif_xmit_stopped(): whether the queue may not transmit now (DRV_XOFF or STACK_XOFF), as the qdisc sees it. */
  netif_xmit_stopped(queue: number): boolean {
    return this.txqStopped[queue] !== 0;
  }

  /** netif_tx_stop_queue(): stops one transmit queue; the others keep going. */
  netif_tx_stop_queue(queue: number): void {
    this.checkQueue('netif_tx_stop_queue', queue);
    this.txqStopped[queue]! |= QUEUE_STATE_DRV_XOFF;
  }

  /**
   * netif_tx_wake_queue(): clears the driver's stop and lets the queue's qdisc send what it holds
   * (the qdisc still waits while Byte Queue Limits hold the queue).
   */
  netif_tx_wake_queue(queue: number): void {
    this.checkQueue('netif_tx_wake_queue', queue);
    if ((this.txqStopped[queue]! & QUEUE_STATE_DRV_XOFF) === 0) return;
    this.txqStopped[queue]! &= ~QUEUE_STATE_DRV_XOFF;
    if (this.onWake !== null) this.onWake(queue);
  }

  // ---------------------------------------------------------------------------------------------
  // Byte Queue Limits (CONFIG_BQL): the driver reports bytes posted and completed per queue.

  /**
   * netdev_tx_sent_queue(): `bytes` posted to the hardware on `queue`; over the limit, the queue
   * is stopped for the stack (STACK_XOFF) until completions bring it back under.
   * @models linux include/linux/netdevice.h netdev_tx_sent_queue()
   */
  netdev_tx_sent_queue(queue: number, bytes: number): void {
    const dql = this.txqDql[queue]!;
    dql_queued(dql, bytes);
    if (dql_avail(dql) >= 0) return;
    this.txqStopped[queue]! |= QUEUE_STATE_STACK_XOFF;
  }

  /**
   * netdev_tx_completed_queue(): one completion round's packets and bytes on `queue` (`jiffies`
   * now); recalculates the limit and, back under it, clears STACK_XOFF and reschedules the qdisc.
   * @models linux include/linux/netdevice.h netdev_tx_completed_queue(), netif_schedule_queue()
   */
  netdev_tx_completed_queue(queue: number, _pkts: number, bytes: number, jiffies: number): void {
    if (bytes === 0) return;
    const dql = this.txqDql[queue]!;
    dql_completed(dql, bytes, jiffies);
    if (dql_avail(dql) < 0) return;
    const st = this.txqStopped[queue]!;
    if ((st & QUEUE_STATE_STACK_XOFF) === 0) return;
    this.txqStopped[queue] = st & ~QUEUE_STATE_STACK_XOFF;
    if (st === QUEUE_STATE_STACK_XOFF && this.onWake !== null) this.onWake(queue);
  }

  /**
   * The queue's byte_queue_limits as sysfs shows them.
   * @models linux net/core/net-sysfs.c bql_show_limit(), bql_show_inflight(), bql_show_hold_time()
   */
  byteQueueLimits(queue = 0): ByteQueueLimits {
    this.checkQueue('byteQueueLimits', queue);
    const d = this.txqDql[queue]!;
    return {
      limit: d.limit, limit_min: d.min_limit, limit_max: d.max_limit,
      hold_time_jiffies: d.slack_hold_time, hold_time: Math.floor(d.slack_hold_time * 1000 / this.hz),
      inflight: (d.num_queued - d.num_completed) >>> 0,
    };
  }

  /**
   * Writes byte_queue_limits/limit_min or limit_max (bytes, 0..DQL_MAX_LIMIT; `echo max >
   * limit_min` is `setByteQueueLimits(q, { limit_min: DQL_MAX_LIMIT })` and turns BQL off in
   * effect), or hold_time (ms, kstrtouint's 0..4294967295, kept in jiffies rounded up as
   * msecs_to_jiffies does: the time over which BQL looks for slack before it lowers the limit).
   * The limit moves into the new bounds at the next completion, as in Linux.
   * @models linux net/core/net-sysfs.c bql_set(), bql_set_limit_min(), bql_set_limit_max(), bql_set_hold_time()
   */
  setByteQueueLimits(queue: number, limits: { limit_min?: number; limit_max?: number; hold_time?: number }): void {
    this.checkQueue('setByteQueueLimits', queue);
    const d = this.txqDql[queue]!;
    for (const key of ['limit_min', 'limit_max'] as const) {
      const v = limits[key];
      if (v === undefined) continue;
      if (!Number.isInteger(v) || v < 0 || v > DQL_MAX_LIMIT) {
        throw new RangeError(`${this.name} tx-${queue} byte_queue_limits/${key} ${String(v)} is not allowed; use an integer in 0..${DQL_MAX_LIMIT} (-EINVAL)`);
      }
    }
    const ms = limits.hold_time;
    if (ms !== undefined && (!Number.isInteger(ms) || ms < 0 || ms > 0xffffffff)) {
      throw new RangeError(`${this.name} tx-${queue} byte_queue_limits/hold_time ${String(ms)} is not allowed; use an integer number of ms in 0..4294967295 (-EINVAL)`);
    }
    if (limits.limit_min !== undefined) d.min_limit = limits.limit_min;
    if (limits.limit_max !== undefined) d.max_limit = limits.limit_max;
    // msecs_to_jiffies, rounded up (at HZ <= 1000 a u32 of ms always fits slack_hold_time's u32).
    if (ms !== undefined) d.slack_hold_time = Math.ceil(ms * this.hz / 1000);
  }

  /** netif_tx_wake_all_queues() */
  netif_tx_wake_all_queues(): void {
    for (let q = 0; q < this.numTxQueues; q++) this.netif_tx_wake_queue(q);
  }

  /** netif_stop_queue(): stops queue 0. */
  netif_stop_queue(): void {
    this.netif_tx_stop_queue(0);
  }

  /** netif_wake_queue(): restarts queue 0 and lets its qdisc send what it holds. */
  netif_wake_queue(): void {
    this.netif_tx_wake_queue(0);
  }

  private checkQueue(fn: string, queue: number): void {
    if (!Number.isInteger(queue) || queue < 0 || queue >= this.numTxQueues) {
      throw new RangeError(`${fn}: ${this.name} queue ${queue} is not allowed; use an integer in 0..${this.numTxQueues - 1}`);
    }
  }

  /**
   * Notifier chain for carrier changes (netdev notifier NETDEV_CHANGE): the bridge listens so a
   * port whose carrier comes up starts forwarding.
   */
  readonly carrierNotifiers: ((dev: NetDevice) => void)[] = [];

  /** netif_carrier_on() */
  netif_carrier_on(): void {
    if (this.carrier) return;
    this.carrier = true;
    for (const n of this.carrierNotifiers) n(this);
  }

  /** netif_carrier_off() */
  netif_carrier_off(): void {
    if (!this.carrier) return;
    this.carrier = false;
    for (const n of this.carrierNotifiers) n(this);
  }

  /** netdev_rx_handler_register() */
  netdev_rx_handler_register(handler: RxHandler): void {
    if (this.rxHandler !== null) throw new Error(`netdev_rx_handler_register: ${this.name} already has an rx handler (-EBUSY)`);
    this.rxHandler = handler;
  }

  netdev_rx_handler_unregister(): void {
    this.rxHandler = null;
  }

  /** Runs the taps for one frame (cheap when there are none). */
  tapFrame(direction: 'rx' | 'tx', skb: SkBuff): void {
    const taps = this.taps;
    for (let i = 0; i < taps.length; i++) taps[i]!.tap(this, direction, skb);
  }
}
