/**
 * What netfront needs from the hypervisor and the guest kernel's Xen glue, as one narrow interface.
 *
 * netfront is written against this port rather than against src/xen directly, so that the driver
 * reads like the Linux source (the method names are the Linux helpers it calls) and so that the
 * host builder can bind it to the hypervisor model in one place. Every method is a guest-side
 * helper of Linux (drivers/xen/grant-table.c, drivers/xen/events, drivers/xen/xenbus) or a thin
 * hypercall wrapper.
 *
 * Costs: methods that make a hypercall return or charge its CPU cost through the hypervisor model
 * (the `xen` parameter group); netfront charges only its own per-step costs (`netfront` group).
 */
import type { LateEoiStats } from '../../xen/event_channel';

/** A private pool of grant references (Linux `grant_ref_t *head` from gnttab_alloc_grant_references). */
export interface GrantRefPool {
  /** References still free in this pool. */
  readonly free: number;
}

/** xenstore access as the guest's xenbus driver offers it. Paths are absolute. */
export interface NetfrontXenbus {
  /** xenbus_read: the value, or null when the node does not exist. */
  read(path: string): string | null;
  /** xenbus_write / xenbus_printf inside transaction `tx` (0 = XBT_NIL); returns 0 or -errno. */
  write(tx: number, path: string, value: string): number;
  /** xenbus_transaction_start: a transaction id (> 0), or -errno. */
  transactionStart(): number;
  /** xenbus_transaction_end: 0, or -EAGAIN when the transaction must be retried. */
  transactionEnd(tx: number, abort: boolean): number;
  /** register_xenbus_watch: `cb(path)` runs (later, in the guest) whenever `path` or a child changes. Returns unwatch. */
  watch(path: string, cb: (path: string) => void): () => void;
}

/** Guest-side Xen operations used by netfront. */
export interface NetfrontXen {
  /** This (the guest) domain's id. */
  readonly domid: number;
  readonly xenbus: NetfrontXenbus;

  // ---- guest memory -------------------------------------------------------------------------
  /** Allocates `n` free guest pages (the guest kernel's page allocator); returns their pfns. Throws when out of memory. */
  allocPages(n: number): number[];
  /** The current bytes of guest page `pfn` (a view of the machine frame behind it; changes after a page flip). */
  page(pfn: number): Uint8Array;
  /** pfn_to_gfn: the frame number a grant names (the MFN for a PV guest). */
  pfn_to_gfn(pfn: number): number;
  /**
   * If `buf[off]` lies in a machine frame owned by this guest, that frame's gfn; else -1 (a buffer
   * outside guest memory, which netfront must copy into a guest page before granting it).
   */
  gfnOfView(buf: Uint8Array, off: number): number;
  /** The guest pfn of the machine frame under `buf[off]`, or -1. */
  pfnOfView(buf: Uint8Array, off: number): number;

  // ---- grant table (guest side, writes the guest's own grant entries) ------------------------
  /** gnttab_alloc_grant_references: reserves `count` refs in a private pool, or returns null (-ENOSPC). */
  gnttab_alloc_grant_references(count: number): GrantRefPool | null;
  /** gnttab_claim_grant_reference: a ref from the pool, or -ENOSPC (negative). */
  gnttab_claim_grant_reference(pool: GrantRefPool): number;
  /** gnttab_release_grant_reference: gives a ref back to the pool. */
  gnttab_release_grant_reference(pool: GrantRefPool, ref: number): void;
  /** gnttab_free_grant_references: returns every ref of the pool to the domain. */
  gnttab_free_grant_references(pool: GrantRefPool): void;
  /** gnttab_grant_foreign_access_ref: entry = {domid, frame}, then flags permit_access (| readonly). */
  gnttab_grant_foreign_access_ref(ref: number, domid: number, gfn: number, readonly: boolean): void;
  /** gnttab_grant_foreign_access: claims a ref from the domain's free list and grants it; returns the ref or -errno. */
  gnttab_grant_foreign_access(domid: number, gfn: number, readonly: boolean): number;
  /** gnttab_end_foreign_access_ref: revokes an unused permit_access entry; false when the backend still has it mapped. */
  gnttab_end_foreign_access_ref(ref: number): boolean;
  /** gnttab_end_foreign_access: revoke and free a ref claimed with gnttab_grant_foreign_access (deferred if busy). */
  gnttab_end_foreign_access(ref: number): void;
  /** gnttab_grant_foreign_transfer_ref: entry = {domid, pfn}, flags accept_transfer. */
  gnttab_grant_foreign_transfer_ref(ref: number, domid: number, pfn: number): void;
  /**
   * gnttab_end_foreign_transfer_ref: the new MFN written by Xen when a page was transferred into
   * this entry, or 0 when nothing was transferred (the entry is revoked).
   */
  gnttab_end_foreign_transfer_ref(ref: number): number;

  // ---- page flipping (classic) -------------------------------------------------------------
  /**
   * Gives the frames behind `pfns` back to Xen (XENMEM_decrease_reservation) after invalidating
   * their p2m entries, as 2.6.18 netfront does for flip-mode rx buffers. Returns the guest CPU cost (ns).
   */
  decrease_reservation(pfns: ArrayLike<number>, count: number): number;
  /**
   * Maps transferred machine frame `mfn` at `pfn` (set_phys_to_machine + MMU_MACHPHYS_UPDATE +
   * update_va_mapping). Returns the guest CPU cost of the hypercall part (ns).
   */
  remapTransferredPage(pfn: number, mfn: number): number;

  // ---- event channels -----------------------------------------------------------------------
  /** xenbus_alloc_evtchn: EVTCHNOP_alloc_unbound for `remoteDomid`; the port, or -errno. */
  xenbus_alloc_evtchn(remoteDomid: number): number;
  /** xenbus_free_evtchn / EVTCHNOP_close. */
  xenbus_free_evtchn(port: number): void;
  /** bind_evtchn_to_irqhandler: `handler(port)` runs in the guest's upcall when the port fires. */
  bind_evtchn_to_irqhandler(port: number, handler: (port: number) => void): void;
  /**
   * bind_evtchn_to_irqhandler_lateeoi (XSA-391): as above, but each event masks the port until
   * xen_irq_lateeoi(). `hz` is the guest kernel's CONFIG_HZ, `spuriousThreshold` the xenbus
   * device's sysfs spurious_threshold (0: default 1). A port without it makes modern netfront bind
   * plain handlers (as netfront before XSA-391 did).
   */
  bind_evtchn_to_irqhandler_lateeoi?(port: number, handler: (port: number) => void, opts: { hz: number; spuriousThreshold?: number }): void;
  /** xen_irq_lateeoi(irq, flags): jiffies the unmask was deferred by, 0 (unmasked now) or -1 (ignored). */
  xen_irq_lateeoi?(port: number, eoiFlags: number): number;
  /** The port's irq statistics (events, spurious_events, jiffies_eoi_delayed, ...), or null for a plain port. */
  lateeoiStats?(port: number): LateEoiStats | null;
  /** unbind_from_irqhandler. */
  unbind_from_irqhandler(port: number): void;
  /** notify_remote_via_irq → EVTCHNOP_send on the port; returns the guest CPU cost of the hypercall (ns). */
  notify_remote_via_evtchn(port: number): number;
}
