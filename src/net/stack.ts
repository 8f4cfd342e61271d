/**
 * The core of one domain's kernel network stack (dom0, a guest, or an external host): the per-CPU
 * backlog and NAPI softirq, the receive core, and the transmit path through a qdisc to a driver.
 *
 *   driver (NIC, netback, netfront…)                          bridge / local endpoint
 *      │ netif_rx(skb) ──► enqueue_to_backlog ─┐                  ▲
 *      │                   (netdev_max_backlog)│ process_backlog  │ rx_handler, else
 *      │ napi_schedule(napi) ─► poll list ─────┴─► net_rx_action ─┴► __netif_receive_skb_core
 *      │                        (NET_RX_SOFTIRQ)   budget 300 / 2 ms, weight 64 per poll
 *      │ napi_gro_receive (from a poll) ─► GRO (./gro) ─► netif_receive_skb ─► (the same core)
 *      │
 *   dev_queue_xmit(skb) ─► qdisc (pfifo, tx_queue_len) ─► dev_hard_start_xmit ─► ndo_start_xmit
 *          ▲ requeue on NETDEV_TX_BUSY; netif_wake_queue ─► __netif_schedule ─► net_tx_action
 *
 * One `Cpu` per stack: every step charges its cost (from the `net` parameter group) on it, so a
 * busy dom0 delays everything behind it. Hardware events the drivers schedule use the time the
 * CPU finishes the work submitted so far (`stack.cpu.busyUntil`).
 *
 * The packet walk. Every step a packet takes is one `pkt.step` trace event (see ./walk):
 * `{pkt: skb.id, fn: '<real function name>', lane, dom, cpuNs}` — "packet P passed function F in
 * domain D, costing cpuNs of CPU". The stack emits `netif_rx`, `process_backlog`,
 * `netif_receive_skb`, `__netif_receive_skb_core`, `dev_queue_xmit`, `dev_hard_start_xmit`; the
 * drivers (netfront, netback, the NIC), the bridge glue and the endpoints emit theirs with the
 * same shape through `stack.step()` or `emitStep()`.
 *
 * Drops (all counted through `sim.drops.count(where, reason, bytes)`):
 *   `<stack>.backlog` backlog_full      netif_rx with more than netdev_max_backlog packets queued
 *   `<dev>`          qdisc_full         the transmit queue's qdisc holds tx_queue_len packets
 *   `<dev>`          noqueue_stopped    a noqueue device (tx_queue_len 0) returned busy / was stopped
 *   `<dev>`          dev_down           transmit on a device that is not up
 *   `<dev>`          unhandled_proto    received frame with no rx handler and no protocol handler
 *   `<dev>`          gso_unsupported    a GSO skb of a type other than TCPv4 on a device without TSO (software GSO is TCPv4 only)
 *   `<dev>`          gso_segment_error  a TCPv4 GSO skb whose headers do not parse, on a device without TSO
 *   `<dev>`          csum_error         skb_checksum_help failed on a CHECKSUM_PARTIAL skb
 *
 * @models linux net/core/dev.c netif_rx(), enqueue_to_backlog(), process_backlog(), napi_schedule(),
 *   net_rx_action(), napi_poll(), napi_complete_done(), __netif_receive_skb_core(), dev_queue_xmit(),
 *   __dev_xmit_skb(), dev_hard_start_xmit(), __netif_schedule(), net_tx_action();
 *   net/sched/sch_generic.c __qdisc_run(), dev_requeue_skb(), pfifo_fast; net/sched/sch_mq.c (a
 *   multi-queue device: one pfifo per transmit queue, each stopped and woken on its own)
 * @simplified one CPU per stack (no RPS/XPS), pfifo_fast's three bands are one FIFO; GRO (./gro) is TCP/IPv4 only; a NAPI poll that does less than its weight without
 *   calling napi_complete_done is completed for it (Linux would leave it scheduled forever); a
 *   NAPI instance that used its whole weight is polled again in the same net_rx_action run (as
 *   2.6.18 and Linux before 3.19 do; later kernels put it on a repoll list for the next run); the
 *   backlog is one queue (no process_queue split, 2.6.35+).
 */
import type { Simulator } from '../sim/simulator';
import { Cpu } from '../sim/cpu';
import { defineTraceEvents, type TracePoint } from '../sim/trace';
import { Params } from '../params';
import { CHECKSUM_NONE, CHECKSUM_PARTIAL, MAX_SKB_FRAGS, SKB_GSO_TCPV4, SkbPool, type SkBuff } from './skb';
import {
  NETDEV_TX_BUSY, NETDEV_TX_OK, NETIF_F_CSUM_MASK, NETIF_F_FRAGLIST, NETIF_F_GRO, NETIF_F_TSO, RX_HANDLER_ANOTHER, RX_HANDLER_CONSUMED,
  type NetDevice, type NetdevTx,
} from './netdevice';
import { NET_PARAMS, type NetCosts } from './costs';
import { emitStep, type Lane } from './walk';
import { skb_checksum_setup, xenProtoDataValid } from './xen-csum';
import { csum_fold, csum_partial, CSUM_MANGLED_0 } from '../wire/checksum';
import { tsoLayout, tsoSegment, type TsoLayout } from './gso';
import { dev_gro_receive, napi_gro_flush, GroLists, type GroFlushReason, type GroResult } from './gro';
import { BRIDGE_PARAMS } from './bridge/params';

declare module '../sim/trace' {
  interface TraceEvents {
    'net.qdisc': { host: string; dev: string; queue: number; op: 'enqueue' | 'dequeue' | 'requeue'; pkt: number; qlen: number };
    'net.gro': { host: string; dev: string; pkt: number; segs: number; bytes: number; why: GroFlushReason };
  }
}
defineTraceEvents({
  'net.gro': 'GRO on stack `host` handed up a packet it held for `dev`: `segs` TCP segments merged into `bytes` bytes (1 = as it came), and why it went up then (poll_done, poll_full, mismatch, size, flags, short, bucket_full).',
  'net.qdisc': 'A packet entered (enqueue), left for the driver (dequeue) or came back from a busy driver (requeue) the qdisc of transmit queue `queue` of `dev` on stack `host`; qlen is the qdisc\'s length after it.',
});

/** A protocol handler for frames delivered up on a device (ptype: ip_rcv / arp_rcv of an endpoint). */
export interface ProtocolHandler {
  /** Takes ownership of the skb: it must free it (consume or drop) or pass it on. */
  protoRcv(skb: SkBuff): void;
}

/** What owns a NAPI instance's GRO lists: a NapiStruct, or a driver's own NAPI (netfront's queue). */
export interface GroHolder {
  gro: GroLists | null;
}

/** NAPI_STATE_SCHED and friends, as plain booleans. */
export class NapiStruct implements GroHolder {
  /** NAPI_STATE_SCHED: scheduled or being polled, until napi_complete_done. */
  scheduled = false;
  /** On the stack's poll list. */
  onList = false;
  /** Polls done and packets processed (for charts and tests). */
  polls = 0;
  work = 0;
  /** Polls that used the whole weight (repolled). */
  repolls = 0;
  /** napi->gro_hash: the packets GRO holds for this instance (created by the first napi_gro_receive). */
  gro: GroLists | null = null;
  /** @internal set by netif_napi_add */
  stack: NetStack | null = null;

  /**
   * @param name e.g. 'ixgbe-eth0-TxRx-0', 'vif1.0-q0', 'backlog'
   * @param poll the driver's poll function: processes at most `budget` packets, returns how many;
   *   when it returns less than `budget` it has finished (it should call napi_complete_done).
   * @param weight the NAPI weight (NAPI_POLL_WEIGHT 64)
   */
  constructor(
    readonly name: string,
    readonly poll: (budget: number) => number,
    readonly weight = 64,
  ) {
    if (!Number.isInteger(weight) || weight < 1) {
      throw new RangeError(`NapiStruct ${name}: weight ${weight} is not allowed; use an integer >= 1`);
    }
  }
}

/**
 * One transmit queue's queue discipline: a pfifo of `limit` skbs (0 = noqueue). A multi-queue
 * device has one per transmit queue, as Linux's mq qdisc gives each queue its own pfifo_fast.
 */
class Qdisc {
  head = 0;
  len = 0;
  /** __QDISC_STATE_SCHED: a net_tx_action run is pending. */
  scheduled = false;
  readonly stats = { enqueued: 0, dropped: 0, requeues: 0, overlimits: 0, bypass: 0 };

  /** A device registered with tx_queue_len 0 gets noqueue (dev_activate); the rest pfifo. */
  readonly noqueue: boolean;
  ring: (SkBuff | null)[];

  constructor(readonly dev: NetDevice, readonly queue: number) {
    this.noqueue = dev.txQueueLen === 0;
    this.ring = new Array<SkBuff | null>(Math.max(dev.txQueueLen, 1)).fill(null);
  }

  /** The pfifo limit: the device's tx_queue_len now (2.6.18's pfifo_fast reads it on every enqueue). */
  get limit(): number {
    return this.dev.txQueueLen;
  }

  enqueue(skb: SkBuff): void {
    if (this.len === this.ring.length) this.grow();
    this.ring[(this.head + this.len) % this.ring.length] = skb;
    this.len++;
  }

  /** A bigger ring for a tx_queue_len raised after registration. */
  private grow(): void {
    const n = new Array<SkBuff | null>(this.ring.length * 2).fill(null);
    for (let i = 0; i < this.len; i++) n[i] = this.ring[(this.head + i) % this.ring.length]!;
    this.ring = n;
    this.head = 0;
  }

  /** dev_requeue_skb: back to the head. */
  requeue(skb: SkBuff): void {
    if (this.len === this.ring.length) this.grow();
    this.head = (this.head + this.ring.length - 1) % this.ring.length;
    this.ring[this.head] = skb;
    this.len++;
  }

  dequeue(): SkBuff {
    const skb = this.ring[this.head]!;
    this.ring[this.head] = null;
    this.head = this.head + 1 === this.ring.length ? 0 : this.head + 1;
    this.len--;
    return skb;
  }
}

export interface NetStackOptions {
  /** Name of the domain or host, e.g. 'dom0', 'domU1', 'hostB'; prefixes counters and drop sites. */
  name: string;
  /** Xen domain id (-1 for an external host). */
  domid: number;
  /** Swimlane of the stack's own steps (default 'dom0' for domid 0, 'domU' for a guest, 'host' for domid -1). */
  lane?: Lane;
  /** The CPU the stack runs on (default a new Cpu named after the stack). */
  cpu?: Cpu;
  /** The skb pool (default: one pool per simulator, so packet ids are unique across hosts). */
  pool?: SkbPool;
  params?: Params;
}

const POOLS = new WeakMap<Simulator, SkbPool>();

/** The simulator-wide skb pool: packet ids stay unique across every host of one simulation. */
export function simPool(sim: Simulator): SkbPool {
  let p = POOLS.get(sim);
  if (p === undefined) {
    p = new SkbPool();
    POOLS.set(sim, p);
  }
  return p;
}

/** __QDISC run quota (dev_tx_weight). */
const DEV_TX_WEIGHT = 64;

export class NetStack {
  readonly name: string;
  readonly domid: number;
  readonly lane: Lane;
  readonly cpu: Cpu;
  readonly pool: SkbPool;
  readonly params: Params;
  readonly costs: NetCosts;
  /** CONFIG_HZ (the `bridge.hz` parameter): GRO ages held packets in jiffies. */
  readonly hz: number;
  /** Devices by ifindex (index 0 unused). */
  readonly devices: (NetDevice | null)[] = [null];
  /** Per device (by ifindex), one qdisc per transmit queue (created when the queue is first used). */
  private readonly qdiscs: Qdisc[][] = [[]];
  private readonly protoHandlers: (ProtocolHandler | null)[] = [null];

  /** softnet_data counters (as /proc/net/softnet_stat) and more. */
  readonly counters: {
    processed: number; dropped: number; time_squeeze: number; net_rx_action: number; net_tx_action: number;
    napi_polls: number; backlog_max: number;
  };

  // Per-CPU backlog (softnet_data.input_pkt_queue) as a ring.
  private readonly backlog: (SkBuff | null)[];
  private backlogHead = 0;
  private backlogLen = 0;
  readonly backlogNapi: NapiStruct;

  // Poll list (softnet_data.poll_list) as a ring of NAPI instances.
  private pollList: (NapiStruct | null)[] = new Array<NapiStruct | null>(64).fill(null);
  private pollHead = 0;
  private pollLen = 0;
  private rxSoftirqPending = false;
  /** validate_xmit_skb's output, the list to send (the packet or its GSO segments; reused), and skb_gso_segment's header layout. */
  private readonly segs: SkBuff[] = [];
  private readonly gsoLayout: TsoLayout = { ip: 0, tcp: 0, hdrLen: 0, payload: 0 };
  private inRxAction = false;

  private readonly hNetRx: number;
  private readonly hNetTx: number;
  private hashrndValue = -1;
  private readonly tpCsumSetup: TracePoint<'dev.checksum_setup'>;
  private readonly tpQdisc: TracePoint<'net.qdisc'>;
  private readonly tpGro: TracePoint<'net.gro'>;
  /** The `pkt.step` trace point; drivers built on this stack may emit through it. */
  readonly tpStep: TracePoint<'pkt.step'>;

  constructor(readonly sim: Simulator, opts: NetStackOptions) {
    if (typeof opts.name !== 'string' || opts.name.length === 0) {
      throw new Error(`NetStack: name ${JSON.stringify(opts.name)} is not allowed; use a non-empty string such as 'dom0'`);
    }
    if (!Number.isInteger(opts.domid) || opts.domid < -1 || opts.domid > 0x7fef) {
      throw new RangeError(`NetStack ${opts.name}: domid ${opts.domid} is not allowed; use -1 (external host) or a Xen domain id 0..32751`);
    }
    this.name = opts.name;
    this.domid = opts.domid;
    this.lane = opts.lane ?? (opts.domid === 0 ? 'dom0' : opts.domid < 0 ? 'host' : 'domU');
    this.cpu = opts.cpu ?? new Cpu(`${opts.name}.cpu0`);
    this.pool = opts.pool ?? simPool(sim);
    this.params = opts.params ?? Params.defaults();
    this.costs = this.params.group(NET_PARAMS);
    this.hz = this.params.group(BRIDGE_PARAMS).hz;
    // enqueue_to_backlog takes a packet while qlen <= netdev_max_backlog: one more than the limit.
    this.backlog = new Array<SkBuff | null>(this.costs.netdev_max_backlog + 1).fill(null);
    this.counters = sim.counters.register(`${this.name}.softnet`, {
      processed: 0, dropped: 0, time_squeeze: 0, net_rx_action: 0, net_tx_action: 0, napi_polls: 0, backlog_max: 0,
    });
    this.tpStep = sim.trace.point('pkt.step');
    this.tpCsumSetup = sim.trace.point('dev.checksum_setup');
    this.tpQdisc = sim.trace.point('net.qdisc');
    this.tpGro = sim.trace.point('net.gro');
    this.hNetRx = sim.register(`${this.name}.net_rx_action`, () => this.net_rx_action());
    this.hNetTx = sim.register(`${this.name}.net_tx_action`, (ifindex, queue) => this.net_tx_action(ifindex, queue));
    this.backlogNapi = new NapiStruct('backlog', (budget) => this.process_backlog(budget), this.costs.dev_weight);
    this.netif_napi_add(this.backlogNapi);
  }

  // ---------------------------------------------------------------------------------------------
  // Devices

  /**
   * register_netdev(): gives the device an ifindex in this stack and a qdisc of `dev.txQueueLen`
   * packets (0 = noqueue), and hooks netif_wake_queue to the qdisc.
   */
  register_netdev(dev: NetDevice): void {
    if (dev.ifindex !== 0) throw new Error(`register_netdev: ${dev.name} is already registered (ifindex ${dev.ifindex})`);
    for (const d of this.devices) {
      if (d !== null && d.name === dev.name) throw new Error(`register_netdev: ${this.name} already has a device named '${dev.name}' (-EEXIST)`);
    }
    if (!Number.isInteger(dev.txQueueLen) || dev.txQueueLen < 0) {
      throw new RangeError(`register_netdev: ${dev.name}.txQueueLen ${dev.txQueueLen} is not allowed; use an integer >= 0`);
    }
    dev.ifindex = this.devices.length;
    this.devices.push(dev);
    this.qdiscs.push([new Qdisc(dev, 0)]);
    this.protoHandlers.push(null);
    const ifindex = dev.ifindex;
    dev.onWake = (queue) => this.__netif_schedule(ifindex, queue);
  }

  /** The registered device called `name`. */
  dev(name: string): NetDevice {
    for (const d of this.devices) if (d !== null && d.name === name) return d;
    throw new Error(`${this.name}: no device '${name}'; devices: ${this.devices.filter((d) => d !== null).map((d) => d!.name).join(', ') || '(none)'}`);
  }

  /** Attaches the protocol handler (an IP endpoint) that receives frames delivered up on `dev`. */
  setProtocolHandler(dev: NetDevice, handler: ProtocolHandler | null): void {
    this.checkDev('setProtocolHandler', dev);
    this.protoHandlers[dev.ifindex] = handler;
  }

  /**
   * Qdisc statistics of a device (tc -s qdisc show dev X): summed over its transmit queues' qdiscs
   * (as the mq root shows them), or of one queue's.
   */
  qdiscStats(dev: NetDevice, queue?: number): { qlen: number; limit: number; enqueued: number; dropped: number; requeues: number; bypass: number } {
    this.checkDev('qdiscStats', dev);
    const all = this.qdiscs[dev.ifindex]!;
    if (queue !== undefined && (!Number.isInteger(queue) || queue < 0 || queue >= dev.numTxQueues)) {
      throw new RangeError(`qdiscStats: ${dev.name} queue ${queue} is not allowed; use an integer in 0..${dev.numTxQueues - 1}`);
    }
    const qs = queue === undefined ? all : [this.qdiscOf(dev, queue)];
    const out = { qlen: 0, limit: dev.txQueueLen, enqueued: 0, dropped: 0, requeues: 0, bypass: 0 };
    for (const q of qs) {
      out.qlen += q.len;
      out.enqueued += q.stats.enqueued;
      out.dropped += q.stats.dropped;
      out.requeues += q.stats.requeues;
      out.bypass += q.stats.bypass;
    }
    return out;
  }

  /** The qdisc of transmit queue `queue` of a registered device. */
  private qdiscOf(d: NetDevice, queue: number): Qdisc {
    const qs = this.qdiscs[d.ifindex]!;
    let q = qs[queue];
    if (q === undefined) {
      while (qs.length <= queue) qs.push(new Qdisc(d, qs.length));
      q = qs[queue]!;
    }
    return q;
  }

  /** Packets waiting in the backlog. */
  get backlogLength(): number {
    return this.backlogLen;
  }

  private checkDev(fn: string, dev: NetDevice): void {
    if (dev.ifindex <= 0 || this.devices[dev.ifindex] !== dev) {
      throw new Error(`${fn}: device ${dev.name} is not registered with stack ${this.name}; call register_netdev first`);
    }
  }

  /**
   * This kernel's flow-hash secret (hashrnd), drawn on first use from the random stream
   * `<name>.hashrnd` as net_get_random_once() draws it once per boot (./flow-hash).
   */
  get hashrnd(): number {
    if (this.hashrndValue < 0) this.hashrndValue = this.sim.random.stream(`${this.name}.hashrnd`).nextU32();
    return this.hashrndValue;
  }

  // ---------------------------------------------------------------------------------------------
  // Cost accounting and the walk

  /** Charges `cost` ns of CPU now; returns when that work completes. */
  charge(cost: number): number {
    return this.cpu.run(this.sim.now, cost);
  }

  /** Charges `cost` and records the step `fn` of packet `skb` (a `pkt.step` event when tracing). */
  step(skb: SkBuff, fn: string, cost: number): void {
    this.cpu.run(this.sim.now, cost);
    if (this.tpStep.on) emitStep(this.tpStep, skb.id, fn, this.lane, this.domid, cost);
  }

  /** Same as `step` with another lane (the bridge glue, the NIC driver). */
  stepIn(skb: SkBuff, fn: string, lane: Lane, cost: number, detail?: string): void {
    this.cpu.run(this.sim.now, cost);
    if (this.tpStep.on) emitStep(this.tpStep, skb.id, fn, lane, this.domid, cost, detail);
  }

  /** Frees an skb normally (consume_skb), charging skb_free_ns. */
  consume_skb(skb: SkBuff): void {
    this.cpu.run(this.sim.now, this.costs.skb_free_ns);
    this.pool.free(skb);
  }

  /** Drops an skb (kfree_skb with a reason): counts it and frees it. */
  kfree_skb(skb: SkBuff, where: string, reason: string): void {
    this.sim.drops.count(where, reason, skb.len, skb.id);
    this.cpu.run(this.sim.now, this.costs.skb_free_ns);
    this.pool.free(skb);
  }

  // ---------------------------------------------------------------------------------------------
  // NAPI

  /** netif_napi_add(): attaches a NAPI instance to this stack's CPU. */
  netif_napi_add(napi: NapiStruct): void {
    if (napi.stack !== null && napi.stack !== this) throw new Error(`netif_napi_add: ${napi.name} already belongs to stack ${napi.stack.name}`);
    napi.stack = this;
  }

  /**
   * napi_schedule(): marks the instance scheduled, puts it on the poll list and raises
   * NET_RX_SOFTIRQ. Returns false if it was already scheduled (the call is then free).
   */
  napi_schedule(napi: NapiStruct): boolean {
    if (napi.scheduled) return false;
    if (napi.stack !== this) throw new Error(`napi_schedule: ${napi.name} is not attached to stack ${this.name}; call netif_napi_add`);
    napi.scheduled = true;
    this.cpu.run(this.sim.now, this.costs.napi_schedule_ns);
    this.listAdd(napi);
    this.raiseRxSoftirq();
    return true;
  }

  /**
   * napi_complete_done(): the driver has no more work; GRO hands up what it holds and the instance
   * may be scheduled again.
   */
  napi_complete_done(napi: NapiStruct, _workDone: number): void {
    if (napi.gro !== null) napi_gro_flush(napi.gro, this, false, 'poll_done');
    napi.scheduled = false;
  }

  private listAdd(napi: NapiStruct): void {
    if (this.pollLen === this.pollList.length) {
      const bigger = new Array<NapiStruct | null>(this.pollList.length * 2).fill(null);
      for (let i = 0; i < this.pollLen; i++) bigger[i] = this.pollList[(this.pollHead + i) % this.pollList.length]!;
      this.pollList = bigger;
      this.pollHead = 0;
    }
    this.pollList[(this.pollHead + this.pollLen) % this.pollList.length] = napi;
    this.pollLen++;
    napi.onList = true;
  }

  private raiseRxSoftirq(): void {
    if (this.rxSoftirqPending || this.inRxAction) return;
    this.rxSoftirqPending = true;
    const t = Math.max(this.sim.now, this.cpu.busyUntil) + this.costs.softirq_latency_ns;
    this.sim.at(t, this.hNetRx);
  }

  /**
   * NET_RX_SOFTIRQ: polls the scheduled NAPI instances round-robin, each up to its weight, until
   * the list is empty or netdev_budget packets / netdev_budget_usecs are used (then time_squeeze
   * and the softirq is raised again).
   * @models linux net/core/dev.c net_rx_action(), napi_poll()
   */
  net_rx_action(): void {
    this.rxSoftirqPending = false;
    this.inRxAction = true;
    this.counters.net_rx_action++;
    const c = this.costs;
    const start = Math.max(this.sim.now, this.cpu.busyUntil);
    const timeLimit = start + c.netdev_budget_usecs * 1000;
    let budget = c.netdev_budget;
    while (this.pollLen > 0) {
      const n = this.pollList[this.pollHead]!;
      this.pollList[this.pollHead] = null;
      this.pollHead = this.pollHead + 1 === this.pollList.length ? 0 : this.pollHead + 1;
      this.pollLen--;
      n.onList = false;
      this.cpu.run(this.sim.now, c.napi_poll_ns);
      const work = n.poll(n.weight);
      if (!(work >= 0 && work <= n.weight)) {
        throw new Error(`NAPI poll ${n.name} returned ${work}; a poll must return 0..weight (${n.weight})`);
      }
      n.polls++;
      n.work += work;
      this.counters.napi_polls++;
      budget -= work;
      if (work === n.weight) {
        // __napi_poll: GRO hands up what it holds — all of it with HZ < 1000, else what is older
        // than this jiffy.
        if (n.gro !== null) napi_gro_flush(n.gro, this, this.hz >= 1000, 'poll_full');
        // Still scheduled: the driver has more; go to the tail (repoll).
        if (n.scheduled && !n.onList) {
          n.repolls++;
          this.listAdd(n);
        }
      } else if (n.scheduled && !n.onList) {
        n.scheduled = false; // @simplified: completed on the driver's behalf
      }
      if (this.pollLen > 0 && (budget <= 0 || this.cpu.busyUntil > timeLimit)) {
        this.counters.time_squeeze++;
        this.inRxAction = false;
        this.raiseRxSoftirq();
        return;
      }
    }
    this.inRxAction = false;
  }

  // ---------------------------------------------------------------------------------------------
  // Receive

  /**
   * netif_rx(): queues a received skb (skb.dev = the receiving device) on this CPU's backlog;
   * the backlog's NAPI instance delivers it from the softirq. Drops with `backlog_full` when
   * more than netdev_max_backlog packets are already queued (`qlen <= netdev_max_backlog` accepts). Returns NET_RX_SUCCESS (0) or NET_RX_DROP (1).
   * @models linux net/core/dev.c netif_rx(), enqueue_to_backlog()
   */
  netif_rx(skb: SkBuff): number {
    this.step(skb, 'netif_rx', this.costs.netif_rx_ns);
    if (this.backlogLen >= this.backlog.length) {
      this.counters.dropped++;
      const dev = skb.dev as NetDevice | null;
      if (dev !== null && dev.stats !== undefined) dev.stats.rx_dropped++;
      this.kfree_skb(skb, `${this.name}.backlog`, 'backlog_full');
      return 1;
    }
    this.backlog[(this.backlogHead + this.backlogLen) % this.backlog.length] = skb;
    this.backlogLen++;
    if (this.backlogLen > this.counters.backlog_max) this.counters.backlog_max = this.backlogLen;
    if (!this.backlogNapi.scheduled) this.napi_schedule(this.backlogNapi);
    return 0;
  }

  /** @models linux net/core/dev.c process_backlog() */
  private process_backlog(budget: number): number {
    let work = 0;
    while (work < budget && this.backlogLen > 0) {
      const skb = this.backlog[this.backlogHead]!;
      this.backlog[this.backlogHead] = null;
      this.backlogHead = this.backlogHead + 1 === this.backlog.length ? 0 : this.backlogHead + 1;
      this.backlogLen--;
      if (this.tpStep.on) emitStep(this.tpStep, skb.id, 'process_backlog', this.lane, this.domid, 0);
      this.__netif_receive_skb_core(skb);
      work++;
    }
    if (this.backlogLen === 0 && work < budget) this.napi_complete_done(this.backlogNapi, work);
    return work;
  }

  /**
   * napi_gro_receive(): a NAPI driver's receive entry. With NETIF_F_GRO on the device, TCP/IPv4
   * segments go through GRO (./gro); the rest, and everything on a device without it, to
   * netif_receive_skb.
   * @models linux net/core/gro.c napi_gro_receive()
   */
  napi_gro_receive(napi: GroHolder, skb: SkBuff): GroResult {
    const dev = skb.dev as NetDevice | null;
    // netif_elide_gro: a device without NETIF_F_GRO. Anything but TCP/IPv4 leaves GRO at its first
    // tests (no gro_receive for its protocol, or udp4_gro_receive's flush of a plain datagram),
    // untouched, as do the packets GRO holds.
    const b = skb.head;
    const d = skb.data;
    const tcp = dev !== null && (dev.features & NETIF_F_GRO) !== 0
      && skb.headLen >= 34 && b[d + 12] === 0x08 && b[d + 13] === 0x00 && b[d + 23] === 6;
    const cost = tcp ? this.costs.gro_receive_ns : 0;
    if (this.tpStep.on) emitStep(this.tpStep, skb.id, 'napi_gro_receive', this.lane, this.domid, cost, `len ${skb.len}`);
    if (!tcp) {
      this.netif_receive_skb(skb);
      return 'normal';
    }
    this.cpu.run(this.sim.now, cost);
    if (napi.gro === null) napi.gro = new GroLists();
    return dev_gro_receive(napi.gro, this, skb);
  }

  /**
   * napi_gro_flush() from a NAPI instance the driver polls itself (netfront): at
   * napi_complete_done (`pollFull` false: all of it) or after a poll that used its whole budget
   * (`pollFull`: all with HZ < 1000, else what was held before this jiffy).
   */
  napi_gro_flush(napi: GroHolder, pollFull: boolean): void {
    if (napi.gro !== null) napi_gro_flush(napi.gro, this, pollFull && this.hz >= 1000, pollFull ? 'poll_full' : 'poll_done');
  }

  /** GRO hands a held packet up (the `net.gro` trace event). */
  groComplete(skb: SkBuff, segs: number, why: GroFlushReason): void {
    if (this.tpGro.on) this.tpGro.emit({ host: this.name, dev: skb.dev === null ? '' : skb.dev.name, pkt: skb.id, segs, bytes: skb.len, why });
  }

  /** The current jiffy of this kernel (CONFIG_HZ = the `bridge.hz` parameter). */
  jiffies(): number {
    return Math.floor(this.sim.now * this.hz / 1e9);
  }

  /**
   * netif_receive_skb(): delivers an skb at once, from a NAPI poll (NIC, netback). skb.dev must
   * be the receiving device, registered with this stack.
   * @models linux net/core/dev.c netif_receive_skb()
   */
  netif_receive_skb(skb: SkBuff): void {
    if (this.tpStep.on) emitStep(this.tpStep, skb.id, 'netif_receive_skb', this.lane, this.domid, 0);
    this.__netif_receive_skb_core(skb);
  }

  /**
   * The receive core: taps (ptype_all), then the device's rx_handler (the bridge), else protocol
   * delivery to the handler attached to the device.
   * @models linux net/core/dev.c __netif_receive_skb_core()
   * @simplified no VLAN untagging, tc or netfilter ingress.
   */
  __netif_receive_skb_core(skb: SkBuff): void {
    this.counters.processed++;
    let dev = skb.dev as NetDevice | null;
    if (dev === null) throw new Error(`__netif_receive_skb_core: skb ${skb.id} has no skb.dev; the driver must set the receiving device`);
    this.step(skb, '__netif_receive_skb_core', this.costs.netif_receive_skb_core_ns);
    xenProtoDataValid(skb); // the 2.6.18 Xen core's proto_data_valid (./xen-csum)
    for (let round = 0; round < 8; round++) {
      if (dev.taps.length > 0) dev.tapFrame('rx', skb);
      const h = dev.rxHandler;
      if (h === null) break;
      const r = h(skb);
      if (r === RX_HANDLER_CONSUMED) return;
      if (r !== RX_HANDLER_ANOTHER) break; // PASS / EXACT: deliver on this device
      dev = skb.dev as NetDevice; // ANOTHER: go round again on the new device
    }
    const handler = dev.ifindex > 0 && this.devices[dev.ifindex] === dev ? this.protoHandlers[dev.ifindex]! : null;
    if (handler === null) {
      dev.stats.rx_dropped++; // `atomic_long_inc(&skb->dev->rx_dropped)`: no handler took it
      this.kfree_skb(skb, dev.name, 'unhandled_proto');
      return;
    }
    handler.protoRcv(skb);
  }

  // ---------------------------------------------------------------------------------------------
  // Transmit

  /**
   * The 2.6.18 Xen core's `if (skb_checksum_setup(skb)) goto out_kfree_skb;` at the top of
   * dev_queue_xmit, for a packet a Xen frontend left with a blank checksum (./xen-csum), traced
   * and counted against `d`. Returns false when it dropped the packet (checksum_setup).
   */
  xenChecksumSetup(skb: SkBuff, d: NetDevice): boolean {
    const r = skb_checksum_setup(skb);
    if (this.tpStep.on) {
      emitStep(this.tpStep, skb.id, 'skb_checksum_setup', this.lane, this.domid, 0,
        r === 0 ? `csum_start ${skb.csumStart} csum_offset ${skb.csumOffset}` : `-EPROTO: not IPv4 TCP/UDP in the linear area`);
    }
    if (this.tpCsumSetup.on) {
      this.tpCsumSetup.emit({ dev: d.name, pkt: skb.id, result: r, csumStart: r === 0 ? skb.csumStart : -1, csumOffset: r === 0 ? skb.csumOffset : -1 });
    }
    if (r === 0) return true;
    this.kfree_skb(skb, d.name, 'checksum_setup');
    return false;
  }

  /**
   * dev_queue_xmit(): transmits `skb` on `skb.dev` (or `dev` if given, which sets skb.dev)
   * through the device's qdisc. Returns NETDEV_TX_OK when the skb was sent or queued, or 1
   * (NET_XMIT_DROP) when it was dropped (and counted).
   * @models linux net/core/dev.c __dev_queue_xmit(), __dev_xmit_skb(), validate_xmit_skb()
   */
  dev_queue_xmit(skb: SkBuff, dev?: NetDevice): number {
    if (dev !== undefined) skb.dev = dev;
    const d = skb.dev as NetDevice | null;
    if (d === null || d.ifindex <= 0 || this.devices[d.ifindex] !== d) {
      throw new Error(`dev_queue_xmit: skb ${skb.id} has device ${d === null ? 'null' : d.name}, which is not registered with stack ${this.name}`);
    }
    this.step(skb, 'dev_queue_xmit', this.costs.dev_queue_xmit_ns);
    if (skb.protoCsumBlank && !this.xenChecksumSetup(skb, d)) return 1;
    // netdev_core_pick_tx: the driver's ndo_select_queue for a multi-queue device, else queue 0;
    // netdev_cap_txqueue: a choice past real_num_tx_queues falls back to 0.
    if (d.ndo_select_queue === undefined) skb.queueMapping = 0;
    else {
      const qm = d.ndo_select_queue(skb);
      skb.queueMapping = qm >= 0 && qm < d.numTxQueues ? qm : 0;
    }
    if (!d.up) {
      d.stats.tx_dropped++;
      this.kfree_skb(skb, d.name, 'dev_down');
      return 1;
    }
    const qi = skb.queueMapping;
    const q = qi === 0 ? this.qdiscs[d.ifindex]![0]! : this.qdiscOf(d, qi);
    const stopped = d.txqStopped;
    if (q.noqueue) {
      // noqueue (virtual devices): validated, then straight to the driver; what it refuses is dropped.
      const n = this.validate_xmit_skb(skb, d);
      if (n === 0) return 1;
      const taken = stopped[qi] === 0 ? this.xmit_list(n, d, qi) : 0;
      for (let i = taken; i < n; i++) {
        d.stats.tx_dropped++;
        this.kfree_skb(this.segs[i]!, d.name, 'noqueue_stopped');
      }
      return taken === n ? NETDEV_TX_OK : 1;
    }
    if (q.len === 0 && stopped[qi] === 0 && !q.scheduled) {
      // TCQ_F_CAN_BYPASS: an empty pfifo sends directly (sch_direct_xmit validates it first).
      q.stats.bypass++;
      const n = this.validate_xmit_skb(skb, d);
      if (n === 0) return 1;
      // The driver stopped its queue; netif_tx_wake_queue will run the qdisc.
      if (!this.xmit_list_or_requeue(q, n) && d.txqStopped[qi] === 0) this.__netif_schedule(d.ifindex, qi);
      return NETDEV_TX_OK;
    }
    if (q.len >= q.limit) {
      // A qdisc drop shows in `tc -s qdisc`, not in the device's tx_dropped.
      q.stats.dropped++;
      this.kfree_skb(skb, d.name, 'qdisc_full');
      return 1;
    }
    q.enqueue(skb);
    q.stats.enqueued++;
    if (this.tpQdisc.on) this.qdiscEvent(q, 'enqueue', skb);
    this.qdisc_run(q);
    return NETDEV_TX_OK;
  }

  /**
   * validate_xmit_skb(): the software fallbacks for offloads the device lacks, run just before the
   * driver (after the qdisc, when the packet waited there): a GSO packet on a device without TSO
   * is segmented in software (skb_gso_segment); a CHECKSUM_PARTIAL packet on a device without
   * checksum offload is checksummed in software (skb_checksum_help). The skbs to send are left in
   * `this.segs` (the packet itself, or its segments); returns how many, 0 when it dropped the
   * packet (counted in the device's tx_dropped, as dev_core_stats_tx_dropped_inc does).
   * @models linux net/core/dev.c validate_xmit_skb(); net/sched/sch_generic.c sch_direct_xmit()
   */
  private validate_xmit_skb(skb: SkBuff, d: NetDevice): number {
    // netif_needs_gso → skb_gso_ok: TSO, and a frag_list (a GRO packet past MAX_SKB_FRAGS) only for NETIF_F_FRAGLIST.
    if (skb.gsoSize !== 0 && ((d.features & NETIF_F_TSO) === 0 || (skb.nrFrags > MAX_SKB_FRAGS && (d.features & NETIF_F_FRAGLIST) === 0))) {
      return this.skb_gso_segment(skb, d);
    }
    if (skb.ipSummed === CHECKSUM_PARTIAL && (d.features & NETIF_F_CSUM_MASK) === 0 && !this.skb_checksum_help(skb)) {
      d.stats.tx_dropped++;
      this.kfree_skb(skb, d.name, 'csum_error');
      return 0;
    }
    this.segs[0] = skb;
    return 1;
  }

  /**
   * skb_gso_segment() for a TCPv4 GSO packet: one skb per MSS of payload, each with the packet's
   * headers rewritten as tcp_gso_segment does (src/net/gso.ts), the packet's id and birth time.
   * On a device with checksum offload each segment stays CHECKSUM_PARTIAL (its TCP check field the
   * pseudo-header sum, for the device to finish); without, the segments carry their full checksum.
   * Copying the bytes costs memcpy_byte_ns per byte (twice without checksum offload: the sum).
   * Another GSO type, or headers that do not parse as Ethernet/IPv4/TCP, is dropped
   * (`gso_unsupported`, `gso_segment_error`). The segments are in `this.segs`; returns their count
   * or 0.
   * @models linux net/core/gso.c skb_gso_segment(), net/ipv4/tcp_offload.c tcp_gso_segment()
   * @simplified TCPv4 only (no UFO, TCPv6 or tunnels); the segments are linear copies.
   */
  private skb_gso_segment(skb: SkBuff, d: NetDevice): number {
    const len = skb.len;
    const src = scratchFor(len);
    skb.copyBits(0, src, 0, len);
    const l = this.gsoLayout;
    const err = (skb.gsoType & SKB_GSO_TCPV4) === 0 ? 'gso_unsupported' : tsoLayout(src, len, l) === undefined ? '' : 'gso_segment_error';
    if (err !== '') {
      d.stats.tx_dropped++;
      this.kfree_skb(skb, d.name, err);
      return 0;
    }
    const mss = skb.gsoSize;
    const n = Math.max(1, Math.ceil(l.payload / mss));
    const partial = (d.features & NETIF_F_CSUM_MASK) !== 0;
    let bytes = 0;
    for (let s = 0; s < n; s++) {
      const seg = this.pool.alloc();
      seg.id = skb.id;
      seg.bornAt = skb.bornAt;
      seg.dev = d;
      seg.queueMapping = skb.queueMapping;
      const flen = l.hdrLen + Math.min(mss, l.payload - s * mss);
      const at = seg.put(flen);
      tsoSegment(src, l, mss, s, seg.head.subarray(at, at + flen), partial);
      if (partial) {
        seg.ipSummed = CHECKSUM_PARTIAL;
        seg.csumStart = l.tcp;
        seg.csumOffset = 16;
      }
      bytes += flen;
      this.segs[s] = seg;
    }
    this.cpu.run(this.sim.now, Math.round(bytes * this.costs.memcpy_byte_ns * (partial ? 1 : 2)));
    this.consume_skb(skb);
    return n;
  }

  /**
   * dev_hard_start_xmit over the list `this.segs[0..n)` in order, stopping when the driver is
   * busy or has stopped its queue (as xmit_one's loop does). Returns how many the driver took.
   */
  private xmit_list(n: number, d: NetDevice, qi: number): number {
    for (let i = 0; i < n; i++) {
      if (i > 0 && d.netif_tx_queue_stopped(qi)) return i;
      if (this.dev_hard_start_xmit(this.segs[i]!, d) === NETDEV_TX_BUSY) return i;
    }
    return n;
  }

  /**
   * Sends the list `this.segs[0..n)`; what the driver did not take goes back to the head of the
   * qdisc in order (sch_direct_xmit → dev_requeue_skb). Returns whether all went.
   */
  private xmit_list_or_requeue(q: Qdisc, n: number): boolean {
    const taken = this.xmit_list(n, q.dev, q.queue);
    if (taken === n) return true;
    // dev_requeue_skb of the rest of the list: the first not taken at the head.
    q.stats.requeues++;
    for (let i = n - 1; i >= taken; i--) {
      q.requeue(this.segs[i]!);
      if (this.tpQdisc.on) this.qdiscEvent(q, 'requeue', this.segs[i]!);
    }
    return false;
  }

  /**
   * dev_hard_start_xmit(): taps (dev_queue_xmit_nit), then the driver.
   * @models linux net/core/dev.c dev_hard_start_xmit(), xmit_one()
   */
  dev_hard_start_xmit(skb: SkBuff, dev: NetDevice): NetdevTx {
    if (this.tpStep.on) emitStep(this.tpStep, skb.id, 'dev_hard_start_xmit', this.lane, this.domid, 0);
    if (dev.taps.length > 0) dev.tapFrame('tx', skb);
    return dev.ndo_start_xmit(skb);
  }

  /** @models linux net/sched/sch_generic.c __qdisc_run(), qdisc_restart(), sch_direct_xmit() */
  private qdisc_run(q: Qdisc): void {
    const d = q.dev;
    const qi = q.queue;
    let quota = DEV_TX_WEIGHT;
    // netif_xmit_frozen_or_stopped(txq): only this queue's state matters.
    while (q.len > 0 && d.txqStopped[qi] === 0) {
      if (quota-- === 0) {
        this.__netif_schedule(d.ifindex, qi);
        return;
      }
      const skb = q.dequeue();
      if (this.tpQdisc.on) this.qdiscEvent(q, 'dequeue', skb);
      // sch_direct_xmit(validate = true): a packet the device cannot take is dropped here, and the next one goes.
      const n = this.validate_xmit_skb(skb, d);
      if (n === 0) continue;
      if (!this.xmit_list_or_requeue(q, n)) {
        if (d.txqStopped[qi] === 0) this.__netif_schedule(d.ifindex, qi);
        return;
      }
    }
  }

  private qdiscEvent(q: Qdisc, op: 'enqueue' | 'dequeue' | 'requeue', skb: SkBuff): void {
    this.tpQdisc.emit({ host: this.name, dev: q.dev.name, queue: q.queue, op, pkt: skb.id, qlen: q.len });
  }

  /**
   * __netif_schedule(): raise NET_TX_SOFTIRQ to run the qdisc of transmit queue `queue`
   * (netif_tx_wake_queue lands here).
   */
  __netif_schedule(ifindex: number, queue = 0): void {
    const q = this.qdiscs[ifindex]![queue];
    if (q === undefined || q.scheduled || q.len === 0) return;
    q.scheduled = true;
    const t = Math.max(this.sim.now, this.cpu.busyUntil) + this.costs.softirq_latency_ns;
    this.sim.at(t, this.hNetTx, ifindex, queue);
  }

  /** NET_TX_SOFTIRQ for one qdisc. @models linux net/core/dev.c net_tx_action() */
  private net_tx_action(ifindex: number, queue: number): void {
    const q = this.qdiscs[ifindex]![queue]!;
    q.scheduled = false;
    this.counters.net_tx_action++;
    this.qdisc_run(q);
  }

  /**
   * skb_checksum_help(): finishes a CHECKSUM_PARTIAL checksum in software (linear or fragmented
   * skb), charging memcpy_byte_ns per summed byte. Returns false if csum_start/offset do not fit.
   * @models linux net/core/dev.c skb_checksum_help()
   */
  skb_checksum_help(skb: SkBuff): boolean {
    const start = skb.csumStart;
    const at = start + skb.csumOffset;
    if (start < 0 || at + 2 > skb.len) return false;
    let sum = 0;
    if (skb.nrFrags === 0) {
      sum = csum_partial(skb.head, skb.data + start, skb.data + skb.len, 0);
    } else {
      const tmp = scratchFor(skb.len);
      skb.copyBits(0, tmp, 0, skb.len);
      sum = csum_partial(tmp, start, skb.len, 0);
    }
    const c = csum_fold(sum) || CSUM_MANGLED_0;
    writeU16InSkb(skb, at, c);
    skb.ipSummed = CHECKSUM_NONE;
    this.cpu.run(this.sim.now, Math.round((skb.len - start) * this.costs.memcpy_byte_ns));
    return true;
  }
}

let scratch = new Uint8Array(65536 + 256);
function scratchFor(n: number): Uint8Array {
  if (scratch.length < n) scratch = new Uint8Array(n);
  return scratch;
}

/** Writes a big-endian u16 at packet offset `off` of an skb (linear area or a frag). */
export function writeU16InSkb(skb: SkBuff, off: number, v: number): void {
  for (let k = 0; k < 2; k++) {
    const o = off + k;
    const b = k === 0 ? v >>> 8 : v & 0xff;
    if (o < skb.headLen) {
      skb.head[skb.data + o] = b;
      continue;
    }
    let fs = skb.headLen;
    for (let i = 0; i < skb.nrFrags; i++) {
      const fl = skb.fragLen[i]!;
      if (o < fs + fl) {
        skb.fragPage[i]![skb.fragOff[i]! + o - fs] = b;
        break;
      }
      fs += fl;
    }
  }
}
