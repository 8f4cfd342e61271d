/**
 * Hypervisor figures:
 * - xen.gnttab_copy_1500: ns per 1500-byte GNTTABOP_copy (grant-ref source -> caller's frame)
 *   through the hot-path `gnttab_copy_one`, against a bare `Uint8Array.set` of the same bytes
 *   between preallocated views plus the same bounds checks done inline (target <= 2x).
 * - xen.evtchn_send_upcall: ns per EVTCHNOP_send + upcall + handler dispatch through the model,
 *   against a bare Simulator schedule + dispatch of one event (target <= 2x).
 */
import { Params } from '../params';
import { Simulator } from '../sim/simulator';
import { DOMID_SELF, GNTCOPY_source_gref, GNTST_okay } from '../io/xen-constants';
import { Hypervisor } from '../xen/hypervisor';
import { bestNsPerOp, type BenchContext } from './harness';

function copyFigure(ctx: BenchContext): void {
  const iterations = ctx.quick ? 20_000 : 2_000_000;
  const sim = new Simulator();
  const hv = new Hypervisor(sim, Params.defaults().with({ 'xen.host_pages': 1024 }), { name: 'bench.xen' });
  const dom0 = hv.createDomain({ name: 'Domain-0', pages: 64 });
  const guest = hv.createDomain({ name: 'guest', pages: 64 });
  const src = guest.page(3);
  for (let i = 0; i < 4096; i++) src[i] = i & 0xff;
  const ref = guest.gnttab.gnttab_grant_foreign_access(0, guest.pfn_to_gfn(3), true);
  const local = dom0.pfn_to_gfn(2);
  const model = (n: number): void => {
    for (let i = 0; i < n; i++) {
      const off = (i & 7) * 64;
      if (hv.gnttab_copy_one(0, GNTCOPY_source_gref, ref, 1, off, local, DOMID_SELF, off, 1500) !== GNTST_okay) throw new Error('copy failed');
    }
  };
  // Baseline: the same bytes with the checks a copy needs (offsets and length within the page,
  // a valid source), no grant bookkeeping.
  const srcPage = new Uint8Array(4096), dstPage = new Uint8Array(4096);
  const srcViews = Array.from({ length: 8 }, (_, k) => srcPage.subarray(k * 64, k * 64 + 1500));
  let sink = 0;
  const baseline = (n: number): void => {
    for (let i = 0; i < n; i++) {
      const k = i & 7, off = k * 64;
      if (off + 1500 > 4096 || off + 1500 > 4096 || ref >= 512) throw new Error('bounds');
      dstPage.set(srcViews[k]!, off);
      sink += dstPage[off]!;
    }
  };
  let m = Infinity, b = Infinity;
  for (let r = 0; r < 5; r++) {
    m = Math.min(m, bestNsPerOp(model, iterations, 1));
    b = Math.min(b, bestNsPerOp(baseline, iterations, 1));
  }
  if (sink < 0) throw new Error('unreachable');
  ctx.report('xen.gnttab_copy_1500', {
    value: m, unit: 'ns/copy', vs_baseline: m / b,
    note: 'gnttab_copy_one of 1500 bytes (gref source -> local frame, pins and busy bits) vs Uint8Array.set plus inline bounds checks (target ≤ 2×)',
  });
}

function evtchnFigure(ctx: BenchContext): void {
  const iterations = ctx.quick ? 20_000 : 1_000_000;
  // Ping-pong between dom0 and a guest: each handler run notifies the *other* domain, so every
  // iteration is one EVTCHNOP_send, one upcall scheduled `upcall_latency_ns` later as a
  // simulator event, one scan and one handler call. (A handler that notified its own domain would
  // be served by the running upcall's rescan loop, with no simulator event at all.)
  let upcalls = 0;
  const model = (n: number): void => {
    const sim = new Simulator();
    const hv = new Hypervisor(sim, Params.defaults().with({ 'xen.host_pages': 256 }), { name: 'bench.evtchn' });
    const dom0 = hv.createDomain({ name: 'Domain-0', pages: 8 });
    const guest = hv.createDomain({ name: 'guest', pages: 8 });
    const gport = guest.xenbus_alloc_evtchn(0);
    let left = n, dport = 0;
    guest.bind_evtchn_to_irqhandler(gport, () => { if (--left > 0) guest.notify_remote_via_evtchn(gport); });
    dport = dom0.bind_interdomain_evtchn_to_irqhandler(1, gport, () => { if (--left > 0) dom0.notify_remote_via_evtchn(dport); });
    sim.run(); // the bind sets dom0's port pending: the first upcall starts the ping-pong
    upcalls = hv.evtchn.counters.upcalls;
  };
  // Baseline: the same schedule + dispatch with nothing modeled, one event per iteration.
  const baseline = (n: number): void => {
    const sim = new Simulator();
    let left = n;
    const h = sim.register('bare', () => { if (--left > 0) sim.after(3000, h); });
    sim.after(3000, h);
    sim.run();
  };
  let m = Infinity, b = Infinity;
  for (let r = 0; r < 5; r++) {
    m = Math.min(m, bestNsPerOp(model, iterations, 1));
    b = Math.min(b, bestNsPerOp(baseline, iterations, 1));
  }
  if (upcalls !== iterations) throw new Error(`evtchn bench: ${upcalls} upcalls for ${iterations} iterations`);
  ctx.report('xen.evtchn_send_upcall', {
    value: m, unit: 'ns/event', vs_baseline: m / b,
    note: 'dom0<->guest ping-pong, each event one EVTCHNOP_send + one upcall scheduled as a simulator event + 2-level scan + handler, vs a bare Simulator schedule+dispatch of one event; '
      + 'the extra is the modeled work per event: CPU charges and counters for the send and the upcall, the port and peer lookup, and real shared_info bits '
      + '(pending, mask, selector, upcall_pending set, then upcall_pending cleared, selector xchg, ctz scan of pending & ~mask, pending ack); no target is set',
  });
}

export function run(ctx: BenchContext): void {
  copyFigure(ctx);
  evtchnFigure(ctx);
}
