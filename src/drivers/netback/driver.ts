/**
 * The netback driver instance of one backend domain: what the Linux module's globals are — the
 * parameters, the handlers its threads, softirqs, tasklets and timers run as, the foreign-page
 * table (xen_page_foreign), cost accounting on dom0's CPU and the trace points — plus, for the
 * classic design, the 2.6.18 driver's host-wide state (classic/netback.ts).
 *
 *   const nb = new NetbackDriver(sim, params, hv, stack);   // one per backend domain
 *   const vif = nb.xenvif_alloc(1, 0);                      // vif1.0, design from params
 *   const be = new NetbackXenbus(nb, store, 1, 0, vif);     // xenbus backend (or connect by hand:)
 *   vif.connect({ txRingRef, rxRingRef, txEvtchn, rxEvtchn, ... });
 *
 * Timing: a handler that finds dom0's CPU busy re-runs when it is free; its CPU cost (the sum of
 * its steps and the hypercalls it made) is charged to the CPU, so later work queues behind it.
 */
import type { Simulator } from '../../sim/simulator';
import type { Params, GroupValues } from '../../params';
import type { TracePoint } from '../../sim/trace';
import { emitStep, type Lane } from '../../net/walk';
import { NETBACK_PARAMS } from './params';
type NetbackSpecs = (typeof NETBACK_PARAMS)['specs'];
import './trace';
import type { NetbackHypervisor, NetbackStack } from './platform';
import type { NetbackLateEoi } from './xen-adapter';
import { BRIDGE_PARAMS } from '../../net/bridge/params';
import { THREAD_IDLE, THREAD_SHARE, THREAD_WAIT, type XenvifQueue } from './common';
import { XenVif, type VifDesign } from './interface';
import {
  xenvif_poll, xenvif_tx_dealloc_action, xenvif_zerocopy_callback, tx_add_credit,
  xenvif_napi_schedule_or_enable_events,
} from './modern/netback';
import { xenvif_kthread_guest_rx } from './modern/rx';
import { ClassicNetback } from './classic/netback';
import type { SkBuff } from '../../net/skb';

/** MAX_SOFTIRQ_TIME (kernel/softirq.c): softirq work on irq exit past 2 ms goes to ksoftirqd. */
const MAX_SOFTIRQ_NS = 2_000_000;

export class NetbackDriver {
  readonly params: GroupValues<NetbackSpecs>;
  /** CPU costs by name (the `*_ns` parameters). */
  readonly costs: GroupValues<NetbackSpecs>;
  readonly vifs: XenVif[] = [];
  /** Every modern queue of every vif, by uid (the argument of scheduled events). */
  readonly queues: XenvifQueue[] = [];
  /** xen_page_foreign(): for each machine frame netback has mapped, the granting domain and ref. */
  readonly foreignDom: Int32Array;
  readonly foreignRef: Uint32Array;
  /** CPU ns accumulated by the running step, charged by flushCost(). */
  stepCost = 0;
  /** CONFIG_HZ of the backend kernel (the `bridge.hz` parameter): the lateeoi delay counts jiffies. */
  readonly hz: number;
  /** Modern vifs bind their event channels with the lateeoi chip (param `lateeoi` and a hypervisor that offers it). */
  readonly useLateEoi: boolean;
  readonly classic: ClassicNetback;

  readonly tpStep: TracePoint<'pkt.step'>;
  readonly tpBatch: TracePoint<'netback.tx.batch'>;
  readonly tpDealloc: TracePoint<'netback.tx.dealloc'>;
  readonly tpResponse: TracePoint<'netback.tx.response'>;
  readonly tpRxBatch: TracePoint<'netback.rx.batch'>;
  readonly tpFatal: TracePoint<'netback.fatal'>;
  readonly tpCarrier: TracePoint<'netback.carrier'>;
  readonly tpConnect: TracePoint<'netback.connect'>;
  readonly tpDisconnect: TracePoint<'netback.disconnect'>;

  private readonly hPoll: number;
  private readonly hDealloc: number;
  private readonly hRxThread: number;
  private readonly hRxTimer: number;
  private readonly hNotify: number;
  private readonly hCredit: number;
  private nextKaddr = 1;

  constructor(
    readonly sim: Simulator,
    params: Params,
    readonly hv: NetbackHypervisor & Partial<NetbackLateEoi>,
    readonly stack: NetbackStack,
  ) {
    this.params = params.group(NETBACK_PARAMS);
    this.costs = this.params;
    this.hz = params.group(BRIDGE_PARAMS).hz;
    this.useLateEoi = this.params.lateeoi && typeof hv.bindInterdomainLateeoi === 'function';
    const n = hv.mem.nrPages;
    this.foreignDom = new Int32Array(n).fill(-1);
    this.foreignRef = new Uint32Array(n);
    const t = sim.trace;
    this.tpStep = t.point('pkt.step');
    this.tpBatch = t.point('netback.tx.batch');
    this.tpDealloc = t.point('netback.tx.dealloc');
    this.tpResponse = t.point('netback.tx.response');
    this.tpRxBatch = t.point('netback.rx.batch');
    this.tpFatal = t.point('netback.fatal');
    this.tpCarrier = t.point('netback.carrier');
    this.tpConnect = t.point('netback.connect');
    this.tpDisconnect = t.point('netback.disconnect');
    const dom = hv.backend.domid;
    this.hPoll = sim.register(`netback.d${dom}.xenvif_poll`, (uid) => this.runPoll(uid));
    this.hDealloc = sim.register(`netback.d${dom}.dealloc`, (uid) => this.runDealloc(uid));
    this.hRxThread = sim.register(`netback.d${dom}.guest_rx`, (uid) => this.runRxThread(uid, false));
    this.hRxTimer = sim.register(`netback.d${dom}.guest_rx_timeout`, (uid) => this.runRxThread(uid, true));
    this.hCredit = sim.register(`netback.d${dom}.credit_timeout`, (uid) => this.runCredit(uid));
    this.hNotify = sim.register(`netback.d${dom}.notify_remote_via_irq`, (port) => this.notifyNow(port));
    this.classic = new ClassicNetback(this);
  }

  /**
   * Creates the vif net_device `vif<domid>.<handle>` for a frontend in domain `domid`.
   * @models torvalds/linux drivers/net/xen-netback/interface.c xenvif_alloc()
   */
  xenvif_alloc(domid: number, handle: number, design: VifDesign = this.params.design as VifDesign): XenVif {
    if (!Number.isInteger(domid) || domid < 1 || domid >= 0x7ff0) {
      throw new RangeError(`xenvif_alloc: domid ${domid} is not allowed; use a guest domain id in 1..32751`);
    }
    if (!Number.isInteger(handle) || handle < 0 || handle > 0xffff) {
      throw new RangeError(`xenvif_alloc: handle ${handle} is not allowed; use an integer in 0..65535`);
    }
    if (design !== 'modern' && design !== 'classic') {
      throw new Error(`xenvif_alloc: design ${String(design)} is not allowed; use 'modern' or 'classic'`);
    }
    const name = `vif${domid}.${handle}`;
    if (this.vifs.some((v) => v.name === name)) throw new Error(`xenvif_alloc: ${name} already exists`);
    const vif = new XenVif(this, domid, handle, design);
    this.vifs.push(vif);
    return vif;
  }

  /** @internal a fresh range of opaque host_addr cookies (idx_to_kaddr) for 256 pending slots. */
  allocKaddrRange(): number {
    const base = this.nextKaddr * 0x100000000;
    this.nextKaddr++;
    return base;
  }

  /** @internal registers a modern queue and returns its uid. */
  addQueue(q: XenvifQueue): number {
    this.queues.push(q);
    return this.queues.length - 1;
  }

  // ---- foreign pages ---------------------------------------------------------------------

  setForeign(mfn: number, domid: number, gref: number): void {
    this.foreignDom[mfn] = domid;
    this.foreignRef[mfn] = gref;
  }

  clearForeign(mfn: number): void {
    if (mfn >= 0) this.foreignDom[mfn] = -1;
  }

  // ---- cost and trace --------------------------------------------------------------------

  /** Charges the accumulated step cost to dom0's CPU. */
  flushCost(): void {
    if (this.stepCost !== 0) {
      this.stack.cpu.run(this.sim.now, this.stepCost);
      this.stepCost = 0;
    }
  }

  /**
   * notify_remote_via_irq() from the running step: the EVTCHNOP_send runs on dom0's CPU after the
   * work charged before it (the grant copies, the responses), so the frontend's upcall cannot
   * overtake that work. (netfront's chargeAndNotify does the same on the guest's vCPU.)
   */
  notifyRemote(port: number): void {
    this.flushCost();
    const busy = this.stack.cpu.busyUntil;
    if (busy > this.sim.now) this.sim.at(busy, this.hNotify, port);
    else this.stepCost += this.hv.send(port);
  }

  private notifyNow(port: number): void {
    this.stack.cpu.run(this.sim.now, this.hv.send(port));
  }

  /**
   * Emits one pkt.step (callers check tpStep.on first). A step on the 'xen' lane is a hypercall
   * dom0 made: it runs on dom0's CPU, so it carries dom0's domid, and its cpuNs is the packet's
   * share of the batch's cost (`hypercallShare`).
   */
  step(pkt: number, fn: string, cpuNs: number, detail?: string, lane: Lane = 'dom0'): void {
    emitStep(this.tpStep, pkt, fn, lane, this.hv.backend.domid, cpuNs, detail);
  }

  /** True (and the event re-queued) when dom0's CPU is still busy: the caller must return. */
  private deferIfBusy(handler: number, uid: number): boolean {
    const busy = this.stack.cpu.busyUntil;
    if (busy > this.sim.now) {
      this.sim.at(busy, handler, uid);
      return true;
    }
    return false;
  }

  /**
   * When a kthread runs. It waits behind softirq work until dom0's CPU is idle (THREAD_IDLE), but
   * not forever: once it has been runnable for MAX_SOFTIRQ_NS since `since`, the softirq work
   * would have moved to ksoftirqd, and it gets kthread_cpu_share of the CPU from then on
   * (THREAD_SHARE, while the CPU stays busy; `cpuNs` is what it used since `since`). Otherwise it
   * is re-queued (THREAD_WAIT). Its work always queues behind what the CPU already has.
   * The guest-rx kthread is runnable from its wake-up until it sleeps again (it loops while it
   * has work); the dealloc kthread from a wake-up until it runs on an idle CPU.
   * @simplified classic netback's tasklets and the NAPI polls still wait for an idle CPU: each run
   *   finishes its work, so they never stay runnable long enough for a share.
   */
  private threadTurn(handler: number, uid: number, since: number, cpuNs: number): number {
    const now = this.sim.now;
    const busy = this.stack.cpu.busyUntil;
    if (busy <= now) return THREAD_IDLE;
    const share = this.params.kthread_cpu_share;
    const starved = now - since >= MAX_SOFTIRQ_NS;
    if (share > 0 && starved && cpuNs < share * (now - since)) return THREAD_SHARE;
    let at = busy;
    if (share > 0) {
      const due = starved ? Math.ceil(since + cpuNs / share) : since + MAX_SOFTIRQ_NS;
      if (due < at) at = due;
    }
    this.sim.at(Math.max(now + 1, at), handler, uid);
    return THREAD_WAIT;
  }

  // ---- event channels --------------------------------------------------------------------

  /**
   * xen_irq_lateeoi(irq, flags) on one of this backend's ports. Returns the jiffies the unmask
   * was deferred by, 0 when unmasked now, -1 when the port is not a lateeoi port.
   */
  xen_irq_lateeoi(port: number, eoiFlags: number): number {
    const hv = this.hv;
    return hv.lateeoi !== undefined ? hv.lateeoi(port, eoiFlags) : -1;
  }

  // ---- modern scheduling -----------------------------------------------------------------

  /** napi_schedule(): run xenvif_poll from NET_RX softirq. */
  schedulePoll(q: XenvifQueue): void {
    this.sim.after(0, this.hPoll, q.uid);
  }

  private runPoll(uid: number): void {
    if (this.deferIfBusy(this.hPoll, uid)) return;
    const q = this.queues[uid]!;
    this.stepCost += this.costs.poll_ns;
    xenvif_poll(q, this.params.napi_weight);
    this.flushCost();
  }

  /** Wakes the dealloc kthread of a queue. */
  scheduleDealloc(q: XenvifQueue): void {
    if (q.deallocScheduled) return;
    q.deallocScheduled = true;
    this.sim.after(this.costs.rx_kick_ns, this.hDealloc, q.uid);
  }

  private runDealloc(uid: number): void {
    const q = this.queues[uid]!;
    if (q.deallocWaitSince < 0) { q.deallocWaitSince = this.sim.now; q.deallocWaitCpuNs = 0; }
    const turn = this.threadTurn(this.hDealloc, uid, q.deallocWaitSince, q.deallocWaitCpuNs);
    if (turn === THREAD_WAIT) return;
    if (turn === THREAD_IDLE) q.deallocWaitSince = -1;
    if (q.tx === null) { q.deallocScheduled = false; return; }
    const cpu = this.stack.cpu;
    const before = cpu.busyNs;
    xenvif_tx_dealloc_action(q);
    q.deallocWaitCpuNs += cpu.busyNs - before;
  }

  /** xenvif_kick_thread(): wake the guest-receive kthread of a queue. */
  kickRxThread(q: XenvifQueue, delay: number = this.costs.rx_kick_ns): void {
    if (q.kthreadScheduled || q.kthreadStopped) return;
    q.kthreadScheduled = true;
    this.sim.after(delay, this.hRxThread, q.uid);
  }

  private runRxThread(uid: number, timer: boolean): void {
    const q = this.queues[uid]!;
    if (timer) {
      if (q.rxTimerId < 0) return;
      q.rxTimerId = -1;
      if (q.kthreadScheduled) return;
    } else if (!q.kthreadScheduled) {
      return;
    }
    if (q.rxWaitSince < 0) { q.rxWaitSince = this.sim.now; q.rxWaitCpuNs = 0; }
    const turn = this.threadTurn(this.hRxThread, uid, q.rxWaitSince, q.rxWaitCpuNs);
    if (turn === THREAD_WAIT) {
      q.kthreadScheduled = true;
      return;
    }
    const cpu = this.stack.cpu;
    const before = cpu.busyNs;
    xenvif_kthread_guest_rx(q, timer);
    q.rxWaitCpuNs += cpu.busyNs - before;
    // Still runnable (it loops while xenvif_have_rx_work), or asleep until the next kick.
    if (!q.kthreadScheduled) q.rxWaitSince = -1;
  }

  /** schedule_timeout(): the kthread sleeps until the head packet's drain deadline. */
  armRxTimer(q: XenvifQueue): void {
    if (q.rx_queue.length === 0 || q.kthreadStopped) return;
    const at = Math.max(this.sim.now, q.rx_queue.peekAux());
    if (q.rxTimerId >= 0 && q.rxTimerAt === at) return;
    if (q.rxTimerId >= 0) this.sim.cancel(q.rxTimerId);
    q.rxTimerAt = at;
    q.rxTimerId = this.sim.at(at, this.hRxTimer, q.uid);
  }

  armCreditTimer(q: XenvifQueue, at: number): void {
    q.creditTimerPending = true;
    q.creditTimerId = this.sim.at(Math.max(at, this.sim.now), this.hCredit, q.uid);
  }

  /**
   * mod_timer_pending(&queue->credit_timeout, at): moves a pending credit timer to `at`; returns
   * false (and arms nothing) when none is pending.
   */
  modCreditTimerPending(q: XenvifQueue, at: number): boolean {
    if (!q.creditTimerPending) return false;
    this.sim.cancel(q.creditTimerId);
    this.armCreditTimer(q, at);
    return true;
  }

  private runCredit(uid: number): void {
    const q = this.queues[uid]!;
    q.creditTimerPending = false;
    q.creditTimerId = -1;
    if (q.vif.design === 'classic') {
      this.classic.tx_credit_callback(q);
      return;
    }
    tx_add_credit(q);
    xenvif_napi_schedule_or_enable_events(q);
  }

  /** @internal the modern skb destructor. */
  modernZerocopyCallback(q: XenvifQueue, skb: SkBuff): void {
    xenvif_zerocopy_callback(q, skb);
  }
}
