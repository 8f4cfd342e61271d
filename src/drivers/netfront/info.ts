/**
 * The netfront device: `struct netfront_info` (per device) and its `net_device` (eth0 in the
 * guest), with everything a queue needs at hand — the simulator, parameters, the Xen port, the
 * guest stack, trace points and counters.
 *
 * Construction does no xenbus work; see xenbus.ts (`netfront_probe`) for the handshake.
 *
 * @models torvalds/linux drivers/net/xen-netfront.c struct netfront_info, xennet_create_dev()
 */
import type { Simulator } from '../../sim/simulator';
import type { TracePoint } from '../../sim/trace';
import type { Cpu } from '../../sim/cpu';
import type { Params } from '../../params';
import { NetDevice, type NetdevTx } from '../../net/netdevice';
import type { SkBuff, SkbPool } from '../../net/skb';
import type { GroHolder } from '../../net/stack';
import '../../net/walk';
import './trace';
import { NETFRONT_PARAMS, type NetfrontParams } from './params';
import type { NetfrontXen } from './xen-port';
import { lateeoiIrqRows, type IrqRow } from '../../xen/event_channel';
import type { NetfrontQueue } from './queue';
import { xennet_select_queue, xennet_start_xmit } from './tx';
import { CLASSIC_STEP_NAMES, MODERN_STEP_NAMES, XEN_EOI_FLAG_SPURIOUS, type NetfrontStepNames } from './constants';
import { jiffyNs } from '../../sim/units';

/** What netfront needs from the guest's network stack. */
export interface NetfrontStack {
  /** The guest's skb pool: transmitted skbs are freed to it, received skbs come from it. */
  readonly skbs: SkbPool;
  /** The guest vCPU that runs netfront's code (and the stack's). */
  readonly cpu: Cpu;
  /**
   * Hands one received skb (data at the Ethernet header) to the stack: napi_gro_receive with the
   * queue's NAPI (`napi`, whose GRO lists the stack keeps), or netif_receive_skb (no `napi`: the
   * 2.6.18 netfront, which has no GRO).
   */
  napi_gro_receive(dev: NetDevice, skb: SkBuff, napi?: GroHolder): void;
  /** napi_gro_flush of the queue's NAPI: at napi_complete_done, or after a poll that used its whole budget (`pollFull`). */
  napi_gro_flush?(napi: GroHolder, pollFull: boolean): void;
  /** The guest kernel's flow-hash secret (NetStack.hashrnd); 0 when absent. */
  flowHashSecret?(): number;
}

/** Counters of one netfront device (guest view: tx = sent by the guest). */
export interface NetfrontCounters {
  [name: string]: number;
  tx_packets: number; tx_bytes: number; tx_dropped: number; tx_slots: number; tx_notify: number; tx_push: number;
  tx_gc_responses: number; tx_stop: number; tx_wake: number; tx_bounce: number; tx_linearize: number;
  rx_packets: number; rx_bytes: number; rx_errors: number; rx_slots: number; rx_notify: number; rx_push: number;
  rx_refill_posted: number; rx_refill_deferred: number; rx_refill_timer: number; rx_polls: number; rx_irqs: number;
  tx_irqs: number; rx_gso_checksum_fixup: number; rx_flipped: number; broken: number;
  /**
   * Late EOI (modern netfront, XSA-391): EOIs flagged XEN_EOI_FLAG_SPURIOUS (the interrupt found no
   * new responses) and the jiffies their unmask was deferred by, as the xenbus device's sysfs
   * spurious_events / jiffies_eoi_delayed show them.
   */
  spurious_events: number; jiffies_eoi_delayed: number;
}

/** The guest's eth0: `ndo_start_xmit` is xennet_start_xmit. */
export class XennetDevice extends NetDevice {
  constructor(name: string, readonly np: NetfrontInfo) {
    super(name, new Uint8Array(6), 1500);
    this.carrier = false; // netif_carrier_off() in xennet_create_dev
  }

  ndo_start_xmit(skb: SkBuff): NetdevTx {
    return xennet_start_xmit(this.np, skb);
  }

  override ndo_select_queue(skb: SkBuff): number {
    return xennet_select_queue(this.np, skb);
  }
}

export interface NetfrontInfoOptions {
  sim: Simulator;
  params: Params;
  xen: NetfrontXen;
  stack: NetfrontStack;
  /** Frontend xenstore directory, e.g. `/local/domain/1/device/vif/0`. */
  nodename: string;
  /** Interface name in the guest (default `eth0`). */
  name?: string;
}

export class NetfrontInfo {
  readonly sim: Simulator;
  readonly p: NetfrontParams;
  readonly xen: NetfrontXen;
  readonly stack: NetfrontStack;
  readonly cpu: Cpu;
  readonly netdev: XennetDevice;
  readonly nodename: string;
  /** The device handle (last path component of nodename). */
  readonly handle: string;
  /** Backend directory and domain (read from `backend` / `backend-id`). */
  otherend = '';
  otherendId = 0;
  /** Frontend XenbusState. */
  state = 0;
  queues: NetfrontQueue[] = [];
  /** Is device behaving sane? */
  broken = false;
  /** Bounce every skb into zeroed pages (untrusted backend). */
  bounce = false;
  /** 2.6.18 netfront (adaptive rx_target, page flipping, half-outstanding tx event). */
  readonly classic: boolean;
  /** The packet-walk names of this design's functions. */
  readonly steps: NetfrontStepNames;
  /** Receive by copy (always in modern netfront) or by page transfer. */
  copyingReceiver = true;
  /** NETIF_F_SG / NETIF_F_TSO / NETIF_F_TSO6 after xennet_fix_features. */
  featureSg = true;
  featureTso = true;
  featureTso6 = true;
  /**
   * The event channels are bound with the lateeoi chip and the handlers EOI (XSA-391): modern
   * netfront with `netfront.lateeoi` on and a Xen port that offers it. Classic never does.
   */
  readonly useLateEoi: boolean;
  /** Last protocol violation message (for tables and tests). */
  brokenReason = '';
  readonly counters: NetfrontCounters;
  /** Drop-counter component name (`netfront.d<domid>.<ifname>`). */
  readonly where: string;

  // Trace points (taken once).
  readonly tpStep: TracePoint<'pkt.step'>;
  readonly tpTxPush: TracePoint<'netfront.tx.push'>;
  readonly tpTxGc: TracePoint<'netfront.tx.gc'>;
  readonly tpTxStop: TracePoint<'netfront.tx.stop'>;
  readonly tpTxWake: TracePoint<'netfront.tx.wake'>;
  readonly tpRxRefill: TracePoint<'netfront.rx.refill'>;
  readonly tpRxPoll: TracePoint<'netfront.rx.poll'>;
  readonly tpRxError: TracePoint<'netfront.rx.error'>;
  readonly tpBroken: TracePoint<'netfront.broken'>;
  readonly tpState: TracePoint<'netfront.state'>;

  /** Simulator handlers: (queue index, 0 = tx / 1 = rx). */
  readonly hNotify: number;
  readonly hPoll: number;
  readonly hRefill: number;

  constructor(o: NetfrontInfoOptions) {
    if (o === null || typeof o !== 'object') throw new Error('NetfrontInfo: options must be an object {sim, params, xen, stack, nodename}');
    for (const k of ['sim', 'params', 'xen', 'stack'] as const) {
      if (o[k] === undefined || o[k] === null) throw new Error(`NetfrontInfo: option '${k}' is required`);
    }
    if (typeof o.nodename !== 'string' || !/^\/local\/domain\/\d+\/device\/vif\/\d+$/.test(o.nodename)) {
      throw new Error(`NetfrontInfo: nodename ${JSON.stringify(o.nodename)} is not allowed; use /local/domain/<domid>/device/vif/<handle>`);
    }
    this.sim = o.sim;
    this.p = o.params.group(NETFRONT_PARAMS);
    this.xen = o.xen;
    this.stack = o.stack;
    this.cpu = o.stack.cpu;
    this.nodename = o.nodename;
    this.handle = o.nodename.slice(o.nodename.lastIndexOf('/') + 1);
    this.classic = this.p.design === 'classic';
    this.steps = this.classic ? CLASSIC_STEP_NAMES : MODERN_STEP_NAMES;
    this.useLateEoi = !this.classic && this.p.lateeoi && typeof o.xen.bind_evtchn_to_irqhandler_lateeoi === 'function'
      && typeof o.xen.xen_irq_lateeoi === 'function';
    if (this.useLateEoi) jiffyNs(this.p.hz, 'netfront.hz:'); // lateeoi delays count its jiffies
    this.netdev = new XennetDevice(o.name ?? 'eth0', this);
    this.where = `netfront.d${o.xen.domid}.${this.netdev.name}`;
    this.counters = o.sim.counters.register(this.where, {
      tx_packets: 0, tx_bytes: 0, tx_dropped: 0, tx_slots: 0, tx_notify: 0, tx_push: 0,
      tx_gc_responses: 0, tx_stop: 0, tx_wake: 0, tx_bounce: 0, tx_linearize: 0,
      rx_packets: 0, rx_bytes: 0, rx_errors: 0, rx_slots: 0, rx_notify: 0, rx_push: 0,
      rx_refill_posted: 0, rx_refill_deferred: 0, rx_refill_timer: 0, rx_polls: 0, rx_irqs: 0,
      tx_irqs: 0, rx_gso_checksum_fixup: 0, rx_flipped: 0, broken: 0,
      spurious_events: 0, jiffies_eoi_delayed: 0,
    });
    const t = o.sim.trace;
    this.tpStep = t.point('pkt.step');
    this.tpTxPush = t.point('netfront.tx.push');
    this.tpTxGc = t.point('netfront.tx.gc');
    this.tpTxStop = t.point('netfront.tx.stop');
    this.tpTxWake = t.point('netfront.tx.wake');
    this.tpRxRefill = t.point('netfront.rx.refill');
    this.tpRxPoll = t.point('netfront.rx.poll');
    this.tpRxError = t.point('netfront.rx.error');
    this.tpBroken = t.point('netfront.broken');
    this.tpState = t.point('netfront.state');
    // Handlers are bound lazily to avoid an import cycle at module load; see rx.ts / tx.ts.
    this.hNotify = o.sim.register(`${this.where}.notify`, (qi, rx) => this.onNotify(qi, rx));
    this.hPoll = o.sim.register(`${this.where}.napi_poll`, (qi) => this.onPoll(qi));
    this.hRefill = o.sim.register(`${this.where}.rx_refill_timeout`, (qi) => this.onRefill(qi));
  }

  /**
   * Packet walk: the id the backend gave the packet in rx ring slot `ringIdx` of queue `qi` (0 or
   * less when unknown). When set, received skbs keep that id so one frame has one id end to end.
   */
  rxPacketId: ((qi: number, ringIdx: number) => number) | null = null;

  /** Set by rx.ts: runs a NAPI poll of queue `qi`. */
  onPoll: (qi: number) => void = () => {};
  /** Set by rx.ts: the refill timer of queue `qi` fired. */
  onRefill: (qi: number) => void = () => {};

  /** A deferred notify_remote_via_irq (sent when the guest CPU finishes the work that decided it). */
  private onNotify(qi: number, rx: number): void {
    const q = this.queues[qi];
    if (q === undefined) return;
    const port = rx ? q.rx_evtchn : q.tx_evtchn;
    if (port === 0) return;
    this.cpu.run(this.sim.now, this.xen.notify_remote_via_evtchn(port));
  }

  /**
   * Charges `cost` ns of guest CPU now and sends the notification on queue `qi`'s tx (rx=0) or rx
   * (rx=1) channel when that work is done. Returns the completion time.
   */
  chargeAndNotify(cost: number, qi: number, rx: number, notify: boolean): number {
    const now = this.sim.now;
    const done = this.cpu.run(now, cost);
    if (notify) {
      if (done > now) this.sim.at(done, this.hNotify, qi, rx);
      else this.onNotify(qi, rx);
    }
    return done;
  }

  /** Marks the device broken ("Disabled for further use"); nothing more is processed. */
  markBroken(q: NetfrontQueue, reason: string): void {
    if (!this.broken) this.counters.broken++;
    this.broken = true;
    this.brokenReason = reason;
    if (this.tpBroken.on) this.tpBroken.emit({ dev: this.netdev.name, queue: q.id, reason });
  }

  /**
   * xen_irq_lateeoi(irq, flags) on one of this device's ports, counting a spurious EOI (and the
   * jiffies its unmask was deferred by) as the xenbus device's sysfs statistics do. Does nothing
   * when the channels are bound plainly (classic, or `netfront.lateeoi` false).
   * @models torvalds/linux drivers/xen/events/events_base.c xen_irq_lateeoi() (as netfront calls it)
   */
  lateeoi(port: number, eoiFlags: number): void {
    if (!this.useLateEoi) return;
    const delay = this.xen.xen_irq_lateeoi!(port, eoiFlags);
    if (delay >= 0 && (eoiFlags & XEN_EOI_FLAG_SPURIOUS) !== 0) {
      this.counters.spurious_events++;
      this.counters.jiffies_eoi_delayed += delay;
    }
  }

  /**
   * The event channels of every queue with their irq statistics, as the guest's /proc/interrupts
   * and the xenbus device's sysfs show them (lateeoi ports only: empty for classic netfront or
   * with `netfront.lateeoi` false). The same rows as the vif's `irqStats()` on the other end.
   */
  irqStats(): IrqRow[] {
    const xen = this.xen;
    if (!this.useLateEoi || xen.lateeoiStats === undefined) return [];
    return lateeoiIrqRows(this.queues.map((q) => ({ id: q.id, txPort: q.tx_evtchn, rxPort: q.rx_evtchn })), (port) => xen.lateeoiStats!(port));
  }

  /** Counts one dropped packet under this device. */
  drop(reason: string, bytes: number): void {
    this.sim.drops.count(this.where, reason, bytes);
  }
}
