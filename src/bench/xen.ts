/**
 * Hypervisor figures:
 * - xen.gnttab_copy_1500: ns per 1500-byte copy op through GNTTABOP_copy as netback issues it
 *   (a byte-exact GnttabCopyBatch, 8 ops per hypercall, each from a different granted guest page
 *   into a different dom0 frame), against the same bytes copied with a bare `Uint8Array.set`
 *   plus the checks Xen makes per op, done inline on plain arrays (target <= 2x).
 * - xen.evtchn_send_upcall: ns per EVTCHNOP_send + upcall + handler dispatch through the model,
 *   against a bare Simulator schedule + dispatch of one event (no target).
 */
import { Params } from '../params';
import { Simulator } from '../sim/simulator';
import { DOMID_SELF, GNTCOPY_source_gref, GNTST_okay, GTF_permit_access, GTF_type_mask } from '../io/xen-constants';
import { Hypervisor } from '../xen/hypervisor';
import { GnttabCopyBatch } from '../xen/grant_table';
import { bestNsPerOp, type BenchContext } from './harness';

/** Ops per hypercall, and pages on each side. */
const COPY_BATCH = 8;
const COPY_LEN = 1500;

function copyFigure(ctx: BenchContext): void {
  const iterations = ctx.quick ? 24_000 : 2_400_000;
  const sim = new Simulator();
  const hv = new Hypervisor(sim, Params.defaults().with({ 'xen.host_pages': 1024 }), { name: 'bench.xen' });
  const dom0 = hv.createDomain({ name: 'Domain-0', pages: 64 });
  const guest = hv.createDomain({ name: 'guest', pages: 64 });
  const batch = new GnttabCopyBatch(COPY_BATCH);
  for (let k = 0; k < COPY_BATCH; k++) {
    const src = guest.page(3 + k);
    for (let i = 0; i < 4096; i++) src[i] = (i + k) & 0xff;
    const ref = guest.gnttab.gnttab_grant_foreign_access(0, guest.pfn_to_gfn(3 + k), true);
    batch.push(GNTCOPY_source_gref, ref, guest.domid, k * 64, dom0.pfn_to_gfn(20 + k), DOMID_SELF, k * 64, COPY_LEN);
  }
  const model = (n: number): void => {
    for (let i = 0; i < n; i += COPY_BATCH) {
      hv.gnttab_copy(0, batch, COPY_BATCH);
      if (batch.status(COPY_BATCH - 1) !== GNTST_okay) throw new Error('copy failed');
    }
  };
  // Baseline: the same bytes (8 source pages, 8 destination pages) copied with Uint8Array.set,
  // after the checks Xen makes for such an op, inline on plain arrays: the ref within the table,
  // the entry a permit_access grant to the caller, its frame a page of the granting domain, the
  // destination frame one of the caller's, both ranges within their pages.
  const srcPages = Array.from({ length: COPY_BATCH }, (_, k) => Uint8Array.from(guest.page(3 + k)));
  const dstPages = Array.from({ length: COPY_BATCH }, () => new Uint8Array(4096));
  // The source ranges as views made once (a subarray per op would cost about as much as the copy).
  const srcViews = srcPages.map((p, k) => p.subarray(k * 64, k * 64 + COPY_LEN));
  const entFlags = new Uint16Array(COPY_BATCH).fill(GTF_permit_access);
  const entDomid = new Uint16Array(COPY_BATCH);
  const entFrame = Uint32Array.from({ length: COPY_BATCH }, (_, k) => k);
  const frameOwner = new Int32Array(2 * COPY_BATCH);
  for (let k = 0; k < COPY_BATCH; k++) { frameOwner[k] = 1; frameOwner[COPY_BATCH + k] = 0; }
  let sink = 0;
  const baseline = (n: number): void => {
    for (let i = 0; i < n; i++) {
      const k = i & (COPY_BATCH - 1), off = k * 64;
      if (k >= entFlags.length || (entFlags[k]! & GTF_type_mask) !== GTF_permit_access || entDomid[k] !== 0) throw new Error('entry');
      const f = entFrame[k]!;
      if (f >= frameOwner.length || frameOwner[f] !== 1 || frameOwner[COPY_BATCH + k] !== 0) throw new Error('frame');
      if (off + COPY_LEN > 4096) throw new Error('bounds');
      dstPages[k]!.set(srcViews[f]!, off);
      sink += dstPages[k]![off]!;
    }
  };
  let m = Infinity, b = Infinity;
  for (let r = 0; r < 7; r++) {
    m = Math.min(m, bestNsPerOp(model, iterations, 1));
    b = Math.min(b, bestNsPerOp(baseline, iterations, 1));
  }
  if (sink < 0) throw new Error('unreachable');
  ctx.report('xen.gnttab_copy_1500', {
    value: m, unit: 'ns/copy', vs_baseline: m / b,
    note: `GNTTABOP_copy of ${COPY_LEN}-byte ops, ${COPY_BATCH} per hypercall as netback batches them (gref source -> dom0 frame; pins, busy bits, counters, cost) vs Uint8Array.set of the same bytes plus Xen's per-op checks inline (target ≤ 2×)`,
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
