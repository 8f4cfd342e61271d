/**
 * Event channels with the 2-level ABI: hypercalls (alloc_unbound, bind_interdomain, send, close,
 * unmask, status), Xen's set-pending/unmask logic over real bitmaps in each domain's shared_info
 * page, and the guest's upcall (Linux's 2-level scan dispatching bound handlers).
 *
 *   shared_info (x86_64)              vcpu_info[0] at offset 0
 *   0      1      2        8          16
 *   +------+------+--------+----------+ ...
 *   |upcall|upcall|  pad   |pending_  |        evtchn_pending[64 x u64] at 2048
 *   |pend. |mask  |        |sel (u64) |        evtchn_mask[64 x u64]    at 2560
 *
 *   port p: bit (p & 63) of pending/mask word p >> 6;  pending_sel bit p >> 6.
 *
 * Sending on a bound port sets the peer's pending bit. Only a 0 -> 1 change of a pending bit
 * whose port is unmasked, and whose selector bit was clear, marks the vCPU's upcall pending; only
 * a 0 -> 1 change of evtchn_upcall_pending kicks the vCPU. So repeated sends before the guest
 * runs coalesce into one bit and one upcall. The upcall is a simulator event `upcall_latency_ns`
 * later; it runs the guest's scan, which clears each port's pending bit before calling its
 * handler (edge semantics: a handler must re-check its ring).
 *
 * Modeled on xen-project/xen xen/common/event_channel.c, xen/common/event_2l.c,
 * xen/arch/x86/domain.c vcpu_mark_events_pending(), and torvalds/linux
 * drivers/xen/events/events_2l.c evtchn_2l_handle_events() / events_base.c.
 *
 * Differences: one vCPU per domain; no VIRQ/PIRQ/IPI bindings; all 4096 ports are valid (Xen
 * allocates port buckets lazily and answers -EINVAL beyond them); no XSM (dom0 is privileged);
 * Linux masks every port at boot and unmasks a port when a handler is bound, which this model
 * does at domain creation and in bind_evtchn_to_irqhandler().
 *
 * Late EOI (XSA-332): a port bound with bind_evtchn_to_irqhandler_lateeoi() uses Linux's
 * xen_lateeoi_chip, whose ack masks the port before the handler runs. It stays masked — events
 * the peer sends meanwhile only set its pending bit — until the driver calls xen_irq_lateeoi()
 * once it has done the work. An EOI flagged XEN_EOI_FLAG_SPURIOUS (the interrupt found no work)
 * counts in the port's spurious_cnt; past the threshold the unmask is deferred by
 * 1 << (spurious_cnt - 1 - threshold) jiffies (at most HZ) to a per-CPU delayed work item.
 *
 *   event ──▶ upcall ──▶ lateeoi_ack_dynirq: mask (EOI_PENDING) + clear pending ──▶ handler
 *   handler / driver, work done ──▶ xen_irq_lateeoi(0) ────────────────▶ unmask (pending? re-raise)
 *   handler, no work ──▶ xen_irq_lateeoi(SPURIOUS): spurious_cnt++
 *        spurious_cnt <= threshold ─────────────────────────────────▶ unmask
 *        spurious_cnt >  threshold ──▶ eoi list, eoi_time = jiffies + delay
 *                                      ──▶ xen_irq_lateeoi_worker (a jiffy tick) ──▶ EOI(0) ──▶ unmask
 *
 * Late EOI differences: one CPU, so one eoi list per domain and no irq_epoch / is_active
 * (they matter only across CPUs or with the upcall loop's event_loop_timeout deferral, which is
 * not modeled: eoi_time is set only by a spurious delay); the delayed work fires on jiffy ticks
 * of the HZ given at bind time; the xenbus device's statistics (events, spurious_events,
 * jiffies_eoi_delayed in sysfs) are kept per port and summed by the driver.
 */
import {
  DOMID_SELF, EVTCHN_2L_NR_CHANNELS, EVTCHNSTAT_closed, EVTCHNSTAT_interdomain, EVTCHNSTAT_unbound,
} from '../io/xen-constants';
import { ECS_FREE, ECS_INTERDOMAIN, ECS_RESERVED, ECS_UNBOUND, EINVAL, ENOSPC, EPERM, ESRCH } from './constants';
import type { Domain, EvtchnHandler } from './domain';
import type { Hypervisor } from './hypervisor';
import type { EvtchnSendResult } from './trace';
import { defineTraceEvents, type TracePoint } from '../sim/trace';
import { jiffyNs } from '../sim/units';

declare module '../sim/trace' {
  interface TraceEvents {
    'xen.evtchn.lateeoi': {
      dom: number; port: number; spurious: boolean; from: 'driver' | 'worker'; spuriousCnt: number;
      action: 'unmask' | 'delayed' | 'held'; delayJiffies: number; eoiAtNs: number;
    };
  }
}

defineTraceEvents({
  'xen.evtchn.lateeoi': 'A Linux driver (or the lateeoi worker) signalled EOI on a lateeoi port: unmask now, delayed by delayJiffies after spurious events (unmasked at eoiAtNs), or held while another mask reason remains.',
});

/** include/xen/events.h: the interrupt found no work. */
export const XEN_EOI_FLAG_SPURIOUS = 0x00000001;
/** events_base.c irq_info.mask_reason bits. */
const EVT_MASK_REASON_EOI_PENDING = 0x04;

/** Statistics of one lateeoi port, as sysfs shows them for a xenbus device (summed over its ports). */
export interface LateEoiStats {
  /** Events the upcall dispatched to the port's handler (xenbus_device.events). */
  events: number;
  /** EOIs flagged XEN_EOI_FLAG_SPURIOUS (xenbus_device.spurious_events). */
  spurious_events: number;
  /** Jiffies the unmask was deferred by, summed (xenbus_device.jiffies_eoi_delayed). */
  jiffies_eoi_delayed: number;
  /** EOIs deferred to the lateeoi worker. */
  delayed_eois: number;
  /** irq_info.spurious_cnt now. */
  spurious_cnt: number;
  /** The port is masked waiting for its EOI (mask_reason EOI_PENDING). */
  eoi_pending: boolean;
  /** The port is on the eoi list (its unmask is delayed). */
  delayed: boolean;
}

/**
 * One queue's event channel as /proc/interrupts and the xenbus device's sysfs statistics show it
 * (`events` is the irq's count in /proc/interrupts), on either end of a split driver.
 */
export interface IrqRow extends LateEoiStats {
  queue: number;
  /** 'tx' / 'rx' (split channels) or 'tx+rx' (one shared channel). */
  channel: 'tx' | 'rx' | 'tx+rx';
  /** This domain's local port. */
  port: number;
}

/**
 * The irq rows of a driver's queues: one per channel (one per queue when tx and rx share a port),
 * for the lateeoi ports `stats` knows (null for a plainly bound port: no row).
 */
export function lateeoiIrqRows(queues: readonly { id: number; txPort: number; rxPort: number }[], stats: (port: number) => LateEoiStats | null): IrqRow[] {
  const rows: IrqRow[] = [];
  for (const q of queues) {
    const ports: [IrqRow['channel'], number][] = q.txPort === q.rxPort ? [['tx+rx', q.txPort]] : [['tx', q.txPort], ['rx', q.rxPort]];
    for (const [channel, port] of ports) {
      const st = stats(port);
      if (st !== null) rows.push({ queue: q.id, channel, port, ...st });
    }
  }
  return rows;
}

/**
 * Linux's late-EOI state of one domain: the irq_info fields of its lateeoi ports (by port) and
 * the per-CPU lateeoi work (one CPU: one eoi list, kept sorted by eoi_time, and one delayed work).
 */
class LateEoiTable {
  /** 1 when the port is bound with xen_lateeoi_chip. */
  readonly chip = new Uint8Array(EVTCHN_2L_NR_CHANNELS);
  readonly maskReason = new Uint8Array(EVTCHN_2L_NR_CHANNELS);
  readonly spuriousCnt = new Uint8Array(EVTCHN_2L_NR_CHANNELS);
  /** xenbus_device.spurious_threshold (0: the default, 1). */
  readonly threshold = new Uint16Array(EVTCHN_2L_NR_CHANNELS);
  /** irq_info.eoi_time in jiffies (0: none). */
  readonly eoiTime = new Float64Array(EVTCHN_2L_NR_CHANNELS);
  readonly onList = new Uint8Array(EVTCHN_2L_NR_CHANNELS);
  readonly events = new Float64Array(EVTCHN_2L_NR_CHANNELS);
  readonly spuriousEvents = new Float64Array(EVTCHN_2L_NR_CHANNELS);
  readonly jiffiesEoiDelayed = new Float64Array(EVTCHN_2L_NR_CHANNELS);
  readonly delayedEois = new Float64Array(EVTCHN_2L_NR_CHANNELS);
  /** lateeoi_work.eoi_list: ports in eoi_time order. */
  readonly eoiList: number[] = [];
  /** The scheduled xen_irq_lateeoi_worker event (-1: none). */
  workId = -1;

  constructor(readonly hz: number, readonly jiffyNs: number) {}
}

/** struct evtchn_alloc_unbound: IN dom, remote_dom; OUT port. */
export interface EvtchnAllocUnbound { dom: number; remote_dom: number; port: number }
/** struct evtchn_bind_interdomain: IN remote_dom, remote_port; OUT local_port. */
export interface EvtchnBindInterdomain { remote_dom: number; remote_port: number; local_port: number }
/** struct evtchn_status (interdomain/unbound parts): IN dom, port; OUT status, vcpu, remote. */
export interface EvtchnStatus { dom: number; port: number; status: number; vcpu: number; remote_dom: number; remote_port: number }

// Offsets in the shared_info page, in u32 words.
const SI_PENDING_SEL_W = 8 >> 2;
const SI_PENDING_W = 2048 >> 2;
const SI_MASK_W = 2560 >> 2;

// How a send ended, as small integers on the hot path (SEND_RESULTS names them for traces).
const SEND_DELIVERED = 0, SEND_COALESCED = 1, SEND_MASKED = 2, SEND_DROPPED_UNBOUND = 3, SEND_EINVAL = 4;
const SEND_RESULTS: readonly EvtchnSendResult[] = ['delivered', 'coalesced', 'masked', 'dropped_unbound', 'einval'];

export interface EvtchnCounters {
  sends: number; delivered: number; coalesced: number; masked: number; dropped_unbound: number; send_einval: number;
  upcalls: number; dispatched: number; binds: number; closes: number;
  /** Late EOIs (Linux side): EOIs given, of which flagged spurious, and unmasks deferred to the worker. */
  lateeoi_eois: number; lateeoi_spurious: number; lateeoi_delayed: number;
}

export class EventChannelOps {
  readonly counters: EvtchnCounters = {
    sends: 0, delivered: 0, coalesced: 0, masked: 0, dropped_unbound: 0, send_einval: 0,
    upcalls: 0, dispatched: 0, binds: 0, closes: 0,
    lateeoi_eois: 0, lateeoi_spurious: 0, lateeoi_delayed: 0,
  };
  private readonly hUpcall: number;
  private readonly hLateEoiWorker: number;
  private readonly tpLateEoi: TracePoint<'xen.evtchn.lateeoi'>;
  /** Linux late-EOI state by domid (only domains that bound a lateeoi port). */
  private readonly lateeoi: (LateEoiTable | undefined)[] = [];
  /** Machine memory as u32 words and bytes (HostMemory's views, fixed for its lifetime). */
  private readonly u32: Uint32Array;
  private readonly bytes: Uint8Array;

  constructor(private readonly hv: Hypervisor) {
    this.u32 = hv.mem.u32;
    this.bytes = hv.mem.bytes;
    this.hUpcall = hv.sim.register('xen.evtchn.upcall', (domid) => this.xen_evtchn_do_upcall(hv.domainById(domid)));
    this.hLateEoiWorker = hv.sim.register('xen.evtchn.lateeoi_worker', (domid) => this.xen_irq_lateeoi_worker(hv.domainById(domid)));
    this.tpLateEoi = hv.sim.trace.point('xen.evtchn.lateeoi');
  }

  /** Sets up a new domain's ports: port 0 reserved, every port masked (Linux does this at boot). */
  initDomain(d: Domain): void {
    d.evState[0] = ECS_RESERVED;
    const u32 = this.u32;
    const base = d.sharedInfoW + SI_MASK_W;
    u32.fill(0xffffffff, base, base + EVTCHN_2L_NR_CHANNELS / 32);
  }

  // ---- bit helpers over shared_info ------------------------------------------------------------

  /** True when `port` is pending in `d`'s shared_info. */
  isPending(d: Domain, port: number): boolean {
    return (this.u32[d.sharedInfoW + SI_PENDING_W + (port >>> 5)]! & (1 << (port & 31))) !== 0;
  }

  /** True when `port` is masked in `d`'s shared_info. */
  isMasked(d: Domain, port: number): boolean {
    return (this.u32[d.sharedInfoW + SI_MASK_W + (port >>> 5)]! & (1 << (port & 31))) !== 0;
  }

  /** vcpu_info[0].evtchn_upcall_pending. */
  upcallPending(d: Domain): boolean {
    return this.bytes[d.sharedInfoW << 2] !== 0;
  }

  /** vcpu_info[0].evtchn_upcall_mask (the PV "interrupts disabled" flag). */
  upcallMasked(d: Domain): boolean {
    return this.bytes[(d.sharedInfoW << 2) + 1] !== 0;
  }

  /** Sets bit `bit` of word `w`; returns whether it was already set. */
  private testAndSet(w: number, bit: number): boolean {
    const u32 = this.u32;
    const m = 1 << bit;
    const old = u32[w]!;
    u32[w] = old | m;
    return (old & m) !== 0;
  }

  private testAndClear(w: number, bit: number): boolean {
    const u32 = this.u32;
    const m = 1 << bit;
    const old = u32[w]!;
    u32[w] = old & ~m;
    return (old & m) !== 0;
  }

  private testAndSetSel(d: Domain, port: number): boolean {
    const word = port >>> 6; // index of the 64-bit pending word
    return this.testAndSet(d.sharedInfoW + SI_PENDING_SEL_W + (word >>> 5), word & 31);
  }

  /**
   * @models xen-project/xen xen/arch/x86/domain.c vcpu_mark_events_pending()
   */
  private vcpu_mark_events_pending(d: Domain, delayNs: number = this.hv.costs.upcall_latency_ns): void {
    const bytes = this.bytes;
    const a = d.sharedInfoW << 2;
    if (bytes[a] !== 0) return; // already pending: the vCPU has been kicked
    bytes[a] = 1;
    this.vcpu_kick(d, delayNs);
  }

  /**
   * Schedules the upcall unless one is due or running, or the guest has events disabled: after
   * `upcall_latency_ns` when another domain (or Xen) raised it, at once when the guest raised it on
   * its own vCPU (xen_force_evtchn_callback when it re-enables events).
   */
  private vcpu_kick(d: Domain, delayNs: number = this.hv.costs.upcall_latency_ns): void {
    if (d.upcallScheduled || d.upcallRunning || this.upcallMasked(d)) return;
    d.upcallScheduled = true;
    this.hv.sim.after(delayNs, this.hUpcall, d.domid);
  }

  /**
   * @models xen-project/xen xen/common/event_2l.c evtchn_2l_set_pending()
   */
  evtchn_2l_set_pending(d: Domain, port: number): EvtchnSendResult {
    return SEND_RESULTS[this.setPending(d, port)]!;
  }

  /**
   * evtchn_2l_set_pending() on the hot path: test-and-set the pending bit (set already:
   * coalesced), then the mask bit (set: masked, no upcall), then test-and-set the selector bit
   * (clear before: mark the vCPU's upcall pending). Returns a SEND_* code.
   */
  private setPending(d: Domain, port: number): number {
    const u32 = this.u32;
    const w = d.sharedInfoW;
    const i = port >>> 5, m = 1 << (port & 31);
    const pending = u32[w + SI_PENDING_W + i]!;
    if ((pending & m) !== 0) return SEND_COALESCED;
    u32[w + SI_PENDING_W + i] = pending | m;
    if ((u32[w + SI_MASK_W + i]! & m) !== 0) return SEND_MASKED;
    const word = port >>> 6, si = w + SI_PENDING_SEL_W + (word >>> 5), sm = 1 << (word & 31);
    const sel = u32[si]!;
    if ((sel & sm) === 0) {
      u32[si] = sel | sm;
      this.vcpu_mark_events_pending(d);
    }
    return SEND_DELIVERED;
  }

  /**
   * @models xen-project/xen xen/common/event_2l.c evtchn_2l_unmask()
   */
  evtchn_2l_unmask(d: Domain, port: number): void {
    const w = d.sharedInfoW;
    if (this.testAndClear(w + SI_MASK_W + (port >>> 5), port & 31) && this.isPending(d, port) && !this.testAndSetSel(d, port)) {
      this.vcpu_mark_events_pending(d);
    }
  }

  /**
   * The guest unmasking one of its own ports (no hypercall for a port bound to this vCPU): clear
   * the mask bit, and if the port is pending mark the upcall pending; the guest takes it at once.
   * @models torvalds/linux drivers/xen/events/events_2l.c evtchn_2l_unmask() (local port)
   */
  linux_unmask_evtchn(d: Domain, port: number): void {
    const w = d.sharedInfoW;
    this.testAndClear(w + SI_MASK_W + (port >>> 5), port & 31);
    if (this.isPending(d, port) && !this.testAndSetSel(d, port)) this.vcpu_mark_events_pending(d, 0);
  }

  /** Masks a port (the guest sets its own mask bit; Linux mask_evtchn()). */
  mask_evtchn(d: Domain, port: number): void {
    this.testAndSet(d.sharedInfoW + SI_MASK_W + (port >>> 5), port & 31);
  }

  private clear_pending(d: Domain, port: number): void {
    this.testAndClear(d.sharedInfoW + SI_PENDING_W + (port >>> 5), port & 31);
  }

  /** @models xen-project/xen xen/common/event_channel.c get_free_port() */
  private get_free_port(d: Domain): number {
    const st = d.evState;
    for (let p = 0; p < EVTCHN_2L_NR_CHANNELS; p++) if (st[p] === ECS_FREE) return p;
    return -ENOSPC;
  }

  private static validPort(port: number): boolean {
    return port >>> 0 === port && port < EVTCHN_2L_NR_CHANNELS;
  }

  // ---- hypercalls ----------------------------------------------------------------------------

  /**
   * Allocates an unbound port in `op.dom` that `op.remote_dom` may bind to. Returns 0, -ESRCH
   * (no such domain), -EPERM (a domU allocating in another domain) or -ENOSPC.
   * @models xen-project/xen xen/common/event_channel.c evtchn_alloc_unbound()
   */
  evtchn_alloc_unbound(caller: Domain, op: EvtchnAllocUnbound): number {
    this.hv.charge(caller, this.hv.costs.hypercall_ns);
    const d = op.dom === DOMID_SELF ? caller : this.hv.lookup(op.dom);
    if (d === undefined) return -ESRCH;
    // get_free_port() first, then the XSM check (the port stays free if it refuses).
    const port = this.get_free_port(d);
    if (port < 0) return port;
    if (d !== caller && caller.domid !== 0) return -EPERM;
    d.evState[port] = ECS_UNBOUND;
    d.evRemoteDom[port] = op.remote_dom === DOMID_SELF ? caller.domid : op.remote_dom;
    d.evRemotePort[port] = 0;
    op.port = port;
    return 0;
  }

  /**
   * Binds a new local port to `op.remote_dom`'s unbound port `op.remote_port`, which must have
   * been allocated for the caller; both ends become interdomain and the new local port is set
   * pending (notifications sent while the peer was unbound were dropped). Returns 0, -ESRCH,
   * -ENOSPC or -EINVAL.
   * @models xen-project/xen xen/common/event_channel.c evtchn_bind_interdomain()
   */
  evtchn_bind_interdomain(caller: Domain, op: EvtchnBindInterdomain): number {
    this.hv.charge(caller, this.hv.costs.hypercall_ns);
    const rdom = op.remote_dom === DOMID_SELF ? caller.domid : op.remote_dom;
    const rd = this.hv.lookup(rdom);
    if (rd === undefined) return -ESRCH;
    const lport = this.get_free_port(caller);
    if (lport < 0) return lport;
    const rport = op.remote_port;
    if (!EventChannelOps.validPort(rport)) return -EINVAL;
    if (rd.evState[rport] !== ECS_UNBOUND || rd.evRemoteDom[rport] !== caller.domid) return -EINVAL;
    caller.evState[lport] = ECS_INTERDOMAIN;
    caller.evRemoteDom[lport] = rd.domid;
    caller.evRemotePort[lport] = rport;
    rd.evState[rport] = ECS_INTERDOMAIN;
    rd.evRemoteDom[rport] = caller.domid;
    rd.evRemotePort[rport] = lport;
    this.evtchn_2l_set_pending(caller, lport);
    op.local_port = lport;
    this.counters.binds++;
    const tp = this.hv.tp.bind;
    if (tp.on) tp.emit({ dom: caller.domid, port: lport, remoteDom: rd.domid, remotePort: rport });
    return 0;
  }

  /**
   * Notifies the peer of an interdomain port. An unbound port drops the notification and
   * returns 0; a free, reserved or invalid port returns -EINVAL.
   * @models xen-project/xen xen/common/event_channel.c evtchn_send()
   */
  evtchn_send(caller: Domain, port: number): number {
    const hv = this.hv, costs = hv.costs;
    hv.charge(caller, costs.hypercall_ns + costs.evtchn_send_ns);
    const c = this.counters;
    c.sends++;
    let result = SEND_EINVAL, rdom = -1, rport = -1;
    if (EventChannelOps.validPort(port)) {
      const st = caller.evState[port];
      if (st === ECS_INTERDOMAIN) {
        rdom = caller.evRemoteDom[port]!;
        rport = caller.evRemotePort[port]!;
        result = this.setPending(hv.domainById(rdom), rport);
      } else if (st === ECS_UNBOUND) {
        result = SEND_DROPPED_UNBOUND;
      }
    }
    if (result === SEND_DELIVERED) c.delivered++;
    else if (result === SEND_COALESCED) c.coalesced++;
    else if (result === SEND_MASKED) c.masked++;
    else if (result === SEND_DROPPED_UNBOUND) c.dropped_unbound++;
    else c.send_einval++;
    const tp = hv.tp.send;
    if (tp.on) tp.emit({ dom: caller.domid, port, remoteDom: rdom, remotePort: rport, result: SEND_RESULTS[result]! });
    return result === SEND_EINVAL ? -EINVAL : 0;
  }

  /**
   * Closes a port; an interdomain peer goes back to unbound (bindable again by the closer).
   * The closed port's pending bit is cleared. Returns 0 or -EINVAL.
   * @models xen-project/xen xen/common/event_channel.c __evtchn_close() free_evtchn()
   */
  evtchn_close(caller: Domain, port: number): number {
    this.hv.charge(caller, this.hv.costs.hypercall_ns);
    let rc = 0;
    if (!EventChannelOps.validPort(port)) rc = -EINVAL;
    else {
      const st = caller.evState[port];
      if (st === ECS_FREE || st === ECS_RESERVED) rc = -EINVAL;
      else {
        if (st === ECS_INTERDOMAIN) {
          const d2 = this.hv.domainById(caller.evRemoteDom[port]!);
          const p2 = caller.evRemotePort[port]!;
          d2.evState[p2] = ECS_UNBOUND;
          d2.evRemoteDom[p2] = caller.domid;
          d2.evRemotePort[p2] = 0;
        }
        this.clear_pending(caller, port);
        caller.evState[port] = ECS_FREE;
        caller.evRemoteDom[port] = 0;
        caller.evRemotePort[port] = 0;
        this.counters.closes++;
      }
    }
    const tp = this.hv.tp.close;
    if (tp.on) tp.emit({ dom: caller.domid, port, rc });
    return rc;
  }

  /**
   * Clears the port's mask bit and, if it is pending, raises the upcall. Returns 0 or -EINVAL.
   * @models xen-project/xen xen/common/event_channel.c evtchn_unmask()
   */
  evtchn_unmask(caller: Domain, port: number): number {
    this.hv.charge(caller, this.hv.costs.hypercall_ns);
    if (!EventChannelOps.validPort(port)) return -EINVAL;
    this.evtchn_2l_unmask(caller, port);
    return 0;
  }

  /**
   * Reports a port's state. Returns 0, -ESRCH, -EPERM or -EINVAL.
   * @models xen-project/xen xen/common/event_channel.c evtchn_status()
   */
  evtchn_status(caller: Domain, op: EvtchnStatus): number {
    this.hv.charge(caller, this.hv.costs.hypercall_ns);
    const d = op.dom === DOMID_SELF ? caller : this.hv.lookup(op.dom);
    if (d === undefined) return -ESRCH;
    if (!EventChannelOps.validPort(op.port)) return -EINVAL;
    if (d !== caller && caller.domid !== 0) return -EPERM;
    const st = d.evState[op.port];
    op.vcpu = 0;
    // Only the union member of the port's state is written; a closed port leaves it as passed.
    if (st === ECS_UNBOUND) { op.status = EVTCHNSTAT_unbound; op.remote_dom = d.evRemoteDom[op.port]!; }
    else if (st === ECS_INTERDOMAIN) { op.status = EVTCHNSTAT_interdomain; op.remote_dom = d.evRemoteDom[op.port]!; op.remote_port = d.evRemotePort[op.port]!; }
    else op.status = EVTCHNSTAT_closed;
    return 0;
  }

  // ---- guest side (Linux) ----------------------------------------------------------------------

  /**
   * Binds `handler` to a port of `d` and unmasks it (an event already pending fires at once).
   * @models torvalds/linux drivers/xen/events/events_base.c bind_evtchn_to_irqhandler()
   */
  bind_evtchn_to_irqhandler(d: Domain, port: number, handler: EvtchnHandler): void {
    if (!EventChannelOps.validPort(port)) throw new RangeError(`bind_evtchn_to_irqhandler: port ${port} is out of range; use 1..${EVTCHN_2L_NR_CHANNELS - 1}`);
    if (typeof handler !== 'function') throw new TypeError('bind_evtchn_to_irqhandler: handler must be a function (port) => void');
    if (d.irqHandlers[port] !== undefined) throw new Error(`bind_evtchn_to_irqhandler: d${d.domid} port ${port} already has a handler; unbind it first`);
    d.irqHandlers[port] = handler;
    this.linux_unmask_evtchn(d, port);
  }

  /**
   * Masks the port, drops its handler and closes it.
   * @models torvalds/linux drivers/xen/events/events_base.c unbind_from_irqhandler()
   */
  unbind_from_irqhandler(d: Domain, port: number): number {
    if (!EventChannelOps.validPort(port)) throw new RangeError(`unbind_from_irqhandler: port ${port} is out of range; use 1..${EVTCHN_2L_NR_CHANNELS - 1}`);
    this.mask_evtchn(d, port);
    d.irqHandlers[port] = undefined;
    const le = this.lateeoi[d.domid];
    if (le !== undefined && le.chip[port] !== 0) {
      // xen_free_irq(): "if (!list_empty(&info->eoi_list)) lateeoi_list_del(info);"
      if (le.onList[port] !== 0) this.lateeoi_list_del(le, port);
      EventChannelOps.resetLateEoi(le, port);
    }
    return this.evtchn_close(d, port);
  }

  // ---- late EOI (Linux drivers/xen/events/events_base.c, XSA-332) ----------------------------

  /**
   * Binds `handler` to a port of `d` with the lateeoi irq chip and unmasks it: from now on each
   * event masks the port until the driver calls xen_irq_lateeoi(). `hz` is the domain's
   * CONFIG_HZ (the spurious delay is counted in jiffies); `spuriousThreshold` is the xenbus
   * device's spurious_threshold (sysfs; 0 means the default, 1).
   * @models torvalds/linux drivers/xen/events/events_base.c bind_evtchn_to_irqhandler_lateeoi()
   *   (the irq_chip xen_lateeoi_chip: `.irq_ack = lateeoi_ack_dynirq`)
   */
  bind_evtchn_to_irqhandler_lateeoi(d: Domain, port: number, handler: EvtchnHandler, opts: { hz: number; spuriousThreshold?: number }): void {
    const hz = opts?.hz;
    const tick = jiffyNs(hz, 'bind_evtchn_to_irqhandler_lateeoi: hz');
    const threshold = opts.spuriousThreshold ?? 0;
    if (!Number.isInteger(threshold) || threshold < 0 || threshold > 0xffff) {
      throw new RangeError(`bind_evtchn_to_irqhandler_lateeoi: spuriousThreshold ${String(threshold)} is not allowed; use an integer in 0..65535 (0: the default, 1)`);
    }
    if (!EventChannelOps.validPort(port)) throw new RangeError(`bind_evtchn_to_irqhandler_lateeoi: port ${port} is out of range; use 1..${EVTCHN_2L_NR_CHANNELS - 1}`);
    let le = this.lateeoi[d.domid];
    if (le === undefined) {
      le = new LateEoiTable(hz, tick);
      this.lateeoi[d.domid] = le;
    } else if (le.hz !== hz) {
      throw new Error(`bind_evtchn_to_irqhandler_lateeoi: d${d.domid} already runs with hz ${le.hz}; one kernel has one CONFIG_HZ (got ${hz})`);
    }
    if (d.irqHandlers[port] !== undefined) throw new Error(`bind_evtchn_to_irqhandler_lateeoi: d${d.domid} port ${port} already has a handler; unbind it first`);
    EventChannelOps.resetLateEoi(le, port);
    le.chip[port] = 1;
    le.threshold[port] = threshold;
    this.bind_evtchn_to_irqhandler(d, port, handler);
  }

  /**
   * The driver's end of interrupt for a lateeoi port, after it has done (or found no) work.
   * `eoiFlags` & XEN_EOI_FLAG_SPURIOUS says the interrupt found no work. Returns the jiffies the
   * unmask was deferred by (0: unmasked now), or -1 when the port is not a lateeoi port or its
   * unmask is already queued (the EOI is ignored, as Linux returns early).
   * @models torvalds/linux drivers/xen/events/events_base.c xen_irq_lateeoi()
   */
  xen_irq_lateeoi(d: Domain, port: number, eoiFlags: number): number {
    const le = this.lateeoi[d.domid];
    if (le === undefined || (port >>> 0) >= EVTCHN_2L_NR_CHANNELS) return -1;
    if (le.chip[port] !== 0) this.counters.lateeoi_eois++;
    return this.xen_irq_lateeoi_locked(d, le, port, (eoiFlags & XEN_EOI_FLAG_SPURIOUS) !== 0, 'driver');
  }

  /**
   * The spurious-event accounting and the unmask (or its deferral):
   *
   *   if (!VALID_EVTCHN(evtchn) || !list_empty(&info->eoi_list)) return;
   *   if (spurious) {
   *     if ((1 << info->spurious_cnt) < (HZ << 2)) { if (info->spurious_cnt != 0xFF) info->spurious_cnt++; }
   *     if (info->spurious_cnt > threshold) {
   *       delay = 1 << (info->spurious_cnt - 1 - threshold); if (delay > HZ) delay = HZ;
   *       info->eoi_time = get_jiffies_64() + delay; atomic_add(delay, &dev->jiffies_eoi_delayed);
   *     }
   *     atomic_inc(&dev->spurious_events);
   *   } else { info->spurious_cnt = 0; }
   *   if (info->eoi_time && (info->irq_epoch == per_cpu(irq_epoch, cpu) || delay)) { lateeoi_list_add(info); return; }
   *   info->eoi_time = 0; ... do_unmask(info, EVT_MASK_REASON_EOI_PENDING);
   *
   * Note what follows from it: the worker EOIs with spurious = false, which zeroes
   * spurious_cnt, so under a steady storm the count never climbs past threshold + 1 and the
   * delay stays at one jiffy (the growth to HZ needs spurious EOIs without a worker EOI between
   * them, which the early return for a queued port rules out).
   * @models torvalds/linux drivers/xen/events/events_base.c xen_irq_lateeoi_locked()
   * @simplified eoi_time is only ever set by a spurious delay (no event_loop_timeout deferral), so
   *   the irq_epoch test reduces to `delay != 0`.
   */
  private xen_irq_lateeoi_locked(d: Domain, le: LateEoiTable, port: number, spurious: boolean, from: 'driver' | 'worker'): number {
    if (le.chip[port] === 0 || le.onList[port] !== 0) return -1;
    const nowJ = Math.floor(this.hv.sim.now / le.jiffyNs);
    let delay = 0;
    if (spurious) {
      const threshold = le.threshold[port] || 1;
      let cnt = le.spuriousCnt[port]!;
      if ((1 << cnt) < (le.hz << 2) && cnt !== 0xff) cnt++;
      le.spuriousCnt[port] = cnt;
      if (cnt > threshold) {
        delay = 1 << (cnt - 1 - threshold);
        if (delay > le.hz) delay = le.hz;
        le.eoiTime[port] = nowJ + delay;
        le.jiffiesEoiDelayed[port] += delay;
      }
      le.spuriousEvents[port]++;
      this.counters.lateeoi_spurious++;
    } else {
      le.spuriousCnt[port] = 0;
    }
    const tp = this.tpLateEoi;
    if (delay !== 0) {
      this.lateeoi_list_add(d, le, port, nowJ);
      le.delayedEois[port]++;
      this.counters.lateeoi_delayed++;
      if (tp.on) tp.emit({ dom: d.domid, port, spurious, from, spuriousCnt: le.spuriousCnt[port]!, action: 'delayed', delayJiffies: delay, eoiAtNs: le.eoiTime[port]! * le.jiffyNs });
      return delay;
    }
    le.eoiTime[port] = 0;
    // do_unmask(info, EVT_MASK_REASON_EOI_PENDING): unmask only when no other reason remains.
    const reason = le.maskReason[port]! & ~EVT_MASK_REASON_EOI_PENDING;
    le.maskReason[port] = reason;
    if (reason === 0) this.linux_unmask_evtchn(d, port);
    if (tp.on) tp.emit({ dom: d.domid, port, spurious, from, spuriousCnt: le.spuriousCnt[port]!, action: reason === 0 ? 'unmask' : 'held', delayJiffies: 0, eoiAtNs: this.hv.sim.now });
    return 0;
  }

  /**
   * Queues a port whose unmask is delayed, in eoi_time order; only a list that was empty
   * (re)arms the delayed work, to fire `eoi_time - now` jiffies from now (at least one):
   *
   *   if (now < info->eoi_time) delay = info->eoi_time - now; else delay = 1;
   *   if (list_empty(&eoi->eoi_list)) { list_add(...); mod_delayed_work_on(..., &eoi->delayed, delay); }
   *   else { list_for_each_entry_reverse(elem, ...) if (elem->eoi_time <= info->eoi_time) break;
   *          list_add(&info->eoi_list, &elem->eoi_list); }
   *
   * @models torvalds/linux drivers/xen/events/events_base.c lateeoi_list_add()
   */
  private lateeoi_list_add(d: Domain, le: LateEoiTable, port: number, nowJ: number): void {
    const t = le.eoiTime[port]!;
    const delay = nowJ < t ? t - nowJ : 1;
    le.onList[port] = 1;
    const list = le.eoiList;
    if (list.length === 0) {
      list.push(port);
      this.modLateEoiWork(d, le, nowJ + delay);
    } else {
      let i = list.length;
      while (i > 0 && le.eoiTime[list[i - 1]!]! > t) i--;
      list.splice(i, 0, port);
    }
  }

  /** mod_delayed_work_on(): the worker runs at the tick of jiffy `atJ`. */
  private modLateEoiWork(d: Domain, le: LateEoiTable, atJ: number): void {
    const sim = this.hv.sim;
    if (le.workId >= 0) sim.cancel(le.workId);
    le.workId = sim.at(Math.max(sim.now, atJ * le.jiffyNs), this.hLateEoiWorker, d.domid);
  }

  /** @models torvalds/linux drivers/xen/events/events_base.c lateeoi_list_del() */
  private lateeoi_list_del(le: LateEoiTable, port: number): void {
    const i = le.eoiList.indexOf(port);
    if (i >= 0) le.eoiList.splice(i, 1);
    le.onList[port] = 0;
  }

  /**
   * The delayed work: EOIs (not spurious) every queued port whose eoi_time has come, then
   * re-arms itself for the next one:
   *
   *   if (info == NULL || now < info->eoi_time) break;
   *   list_del_init(&info->eoi_list); info->eoi_time = 0; xen_irq_lateeoi_locked(info, false);
   *   ...
   *   if (info) mod_delayed_work_on(info->eoi_cpu, system_wq, &eoi->delayed, info->eoi_time - now);
   *
   * @models torvalds/linux drivers/xen/events/events_base.c xen_irq_lateeoi_worker()
   * @simplified runs at no CPU cost to the domain.
   */
  private xen_irq_lateeoi_worker(d: Domain): void {
    const le = this.lateeoi[d.domid];
    if (le === undefined) return;
    le.workId = -1;
    const nowJ = Math.floor(this.hv.sim.now / le.jiffyNs);
    const list = le.eoiList;
    while (list.length !== 0) {
      const port = list[0]!;
      if (nowJ < le.eoiTime[port]!) {
        this.modLateEoiWork(d, le, le.eoiTime[port]!);
        return;
      }
      list.shift();
      le.onList[port] = 0;
      le.eoiTime[port] = 0;
      this.xen_irq_lateeoi_locked(d, le, port, false, 'worker');
    }
  }

  private static resetLateEoi(le: LateEoiTable, port: number): void {
    le.chip[port] = 0;
    le.maskReason[port] = 0;
    le.spuriousCnt[port] = 0;
    le.threshold[port] = 0;
    le.eoiTime[port] = 0;
    le.onList[port] = 0;
    le.events[port] = 0;
    le.spuriousEvents[port] = 0;
    le.jiffiesEoiDelayed[port] = 0;
    le.delayedEois[port] = 0;
  }

  /** The late-EOI statistics of a port of `d`, or null when it is not bound with the lateeoi chip. */
  lateeoiStats(d: Domain, port: number): LateEoiStats | null {
    const le = this.lateeoi[d.domid];
    if (le === undefined || (port >>> 0) >= EVTCHN_2L_NR_CHANNELS || le.chip[port] === 0) return null;
    return {
      events: le.events[port]!, spurious_events: le.spuriousEvents[port]!, jiffies_eoi_delayed: le.jiffiesEoiDelayed[port]!,
      delayed_eois: le.delayedEois[port]!, spurious_cnt: le.spuriousCnt[port]!,
      eoi_pending: (le.maskReason[port]! & EVT_MASK_REASON_EOI_PENDING) !== 0, delayed: le.onList[port] !== 0,
    };
  }

  /** Guest disables event delivery (sets evtchn_upcall_mask; Linux xen_irq_disable). */
  xen_irq_disable(d: Domain): void {
    this.bytes[(d.sharedInfoW << 2) + 1] = 1;
  }

  /**
   * Guest re-enables event delivery; if an upcall became pending meanwhile it is forced now.
   * @models torvalds/linux arch/x86/xen/irq.c xen_irq_enable() xen_force_evtchn_callback()
   */
  xen_irq_enable(d: Domain): void {
    this.bytes[(d.sharedInfoW << 2) + 1] = 0;
    if (this.upcallPending(d)) this.vcpu_kick(d, 0);
  }

  /**
   * The guest's event upcall: loop { clear evtchn_upcall_pending; scan } while Xen set it again.
   * @models torvalds/linux drivers/xen/events/events_base.c __xen_evtchn_do_upcall()
   */
  private xen_evtchn_do_upcall(d: Domain): void {
    d.upcallScheduled = false;
    const bytes = this.bytes;
    const a = d.sharedInfoW << 2; // vcpu_info[0]: upcall_pending at a, upcall_mask at a + 1
    if (bytes[a + 1] !== 0) return; // delivered when the guest re-enables events
    d.upcallRunning = true;
    this.hv.charge(d, this.hv.costs.upcall_ns);
    this.counters.upcalls++;
    try {
      do {
        bytes[a] = 0;
        this.evtchn_2l_handle_events(d);
      } while (bytes[a] !== 0 && bytes[a + 1] === 0);
    } finally {
      d.upcallRunning = false;
    }
  }

  /**
   * The 2-level scan: take the selector word (xchg with 0), then visit pending & ~masked ports
   * word by word starting where the previous scan stopped (round robin), the starting word in two
   * parts. Each port's pending bit is cleared (the IRQ ack) before its handler runs; a pending
   * unmasked port without a handler is left pending, as Linux leaves a port with no IRQ.
   *
   * Visit order: word `scanWord` from bit `scanBit` up, then the words above it, then the words
   * below it, then word `scanWord` again below `scanBit`; a word's active bits (pending & ~mask)
   * are read once when the scan reaches it. Words and bits are found with count-trailing-zeros
   * over the two 32-bit halves, as Linux uses __ffs(), so the cost follows the pending bits and
   * not the 64 x 64 bitmap.
   * @models torvalds/linux drivers/xen/events/events_2l.c evtchn_2l_handle_events()
   */
  private evtchn_2l_handle_events(d: Domain): void {
    const u32 = this.u32;
    const w = d.sharedInfoW;
    let selLo = u32[w + SI_PENDING_SEL_W]!, selHi = u32[w + SI_PENDING_SEL_W + 1]!;
    if ((selLo | selHi) === 0) return;
    u32[w + SI_PENDING_SEL_W] = 0;
    u32[w + SI_PENDING_SEL_W + 1] = 0;
    const startWord = d.scanWord, startBit = d.scanBit;
    // Words >= startWord, and bits >= startBit, as masks over the low and high 32-bit halves.
    const aboveLo = startWord < 32 ? -1 << startWord : 0, aboveHi = startWord < 32 ? -1 : -1 << (startWord - 32);
    const upLo = startBit < 32 ? -1 << startBit : 0, upHi = startBit < 32 ? -1 : -1 << (startBit - 32);
    const swLo = startWord < 32 ? 1 << startWord : 0, swHi = startWord < 32 ? 0 : 1 << (startWord - 32);
    // The start word is scanned twice: its bits >= startBit first, and after the other words the
    // whole word again, read anew ("Scan start_l1i twice; all others once").
    const split = ((selLo & swLo) | (selHi & swHi)) !== 0;
    if (split) {
      this.scanWordBits(d, w, startWord, upLo, upHi);
      selLo &= ~swLo;
      selHi &= ~swHi;
    }
    // Then the selected words above it (or from it, when it is not split) and those below it.
    let lo = selLo & aboveLo, hi = selHi & aboveHi;
    while (lo !== 0) { const b = ctz32(lo); lo &= lo - 1; this.scanWordBits(d, w, b, -1, -1); }
    while (hi !== 0) { const b = ctz32(hi); hi &= hi - 1; this.scanWordBits(d, w, b + 32, -1, -1); }
    lo = selLo & ~aboveLo;
    hi = selHi & ~aboveHi;
    while (lo !== 0) { const b = ctz32(lo); lo &= lo - 1; this.scanWordBits(d, w, b, -1, -1); }
    while (hi !== 0) { const b = ctz32(hi); hi &= hi - 1; this.scanWordBits(d, w, b + 32, -1, -1); }
    // Last, the whole start word once more (read again: handlers may have changed it).
    if (split) this.scanWordBits(d, w, startWord, -1, -1);
  }

  /**
   * Handles the active ports of one 64-bit word, limited to the bits set in `loMask` (ports
   * 0..31 of the word) and `hiMask` (ports 32..63).
   */
  private scanWordBits(d: Domain, w: number, word: number, loMask: number, hiMask: number): void {
    const u32 = this.u32;
    // active_evtchns(): pending & ~mask, read once per word.
    const pw = w + SI_PENDING_W + word * 2, mw = w + SI_MASK_W + word * 2;
    let lo = u32[pw]! & ~u32[mw]! & loMask;
    let hi = u32[pw + 1]! & ~u32[mw + 1]! & hiMask;
    const base = word << 6;
    while (lo !== 0) {
      const bit = ctz32(lo);
      lo &= lo - 1;
      d.scanWord = word;
      d.scanBit = bit + 1;
      this.handle_irq_for_port(d, base + bit);
    }
    while (hi !== 0) {
      const bit = ctz32(hi) + 32;
      hi &= hi - 1;
      const next = (bit + 1) & 63;
      d.scanWord = next !== 0 ? word : (word + 1) & 63;
      d.scanBit = next;
      this.handle_irq_for_port(d, base + bit);
    }
  }

  private handle_irq_for_port(d: Domain, port: number): void {
    const h = d.irqHandlers[port];
    const tp = this.hv.tp.upcall;
    if (h === undefined) {
      if (tp.on) tp.emit({ dom: d.domid, port, handled: false });
      return;
    }
    const le = this.lateeoi[d.domid];
    if (le !== undefined && le.chip[port] !== 0) {
      // xen_lateeoi_chip's lateeoi_ack_dynirq(): do_mask(info, EVT_MASK_REASON_EOI_PENDING), then
      // clear_evtchn(); the port stays masked until the driver's xen_irq_lateeoi().
      if (le.maskReason[port] === 0) this.mask_evtchn(d, port);
      le.maskReason[port] = le.maskReason[port]! | EVT_MASK_REASON_EOI_PENDING;
      le.events[port]++; // handle_irq_for_port(): atomic_inc(&dev->events)
    }
    const i = d.sharedInfoW + SI_PENDING_W + (port >>> 5);
    this.u32[i] = this.u32[i]! & ~(1 << (port & 31)); // clear_pending(): the IRQ ack
    this.counters.dispatched++;
    if (tp.on) tp.emit({ dom: d.domid, port, handled: true });
    h(port);
  }
}

/** Index of the lowest set bit of a non-zero 32-bit value (__ffs). */
function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}
