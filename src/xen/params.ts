/**
 * Parameters of the hypervisor model (group `xen`): resource limits taken from Xen's defaults and
 * the CPU costs of hypercalls and event delivery.
 *
 * Costs are virtual nanoseconds charged to the domain that makes the hypercall (or, for upcalls,
 * to the domain that receives them). Where no published per-operation figure exists the default is
 * an estimate, and `models` says so; the published figures in reference/performance.md (Menon et
 * al. 2005/2006, Santos et al. 2008, the 2017 persistent-grant patches) bound them: grant copy was
 * the cheaper way to receive (replacing page flipping), unmap is dominated by the TLB flush.
 */
import { bool, defineParams, int, num } from '../params';

export const XEN_PARAMS = defineParams('xen', {
  host_pages: int({
    default: 16384, min: 64, max: 1 << 20, unit: 'pages',
    help: 'Machine memory of the simulated host in 4 KiB pages; every domain page, grant frame and shared_info page comes from it.',
    models: 'the host RAM Xen manages (64 MiB by default is plenty for a lab; the buffer is zero-filled lazily by the OS)',
  }),
  host_memory_wasm: bool({
    default: true,
    help: 'Keep machine memory in a WebAssembly.Memory (copies and checksums run in wasm, in place) where the runtime allows; false keeps it in an ordinary ArrayBuffer. The bytes are the same either way; only the simulator\'s speed differs.',
    models: 'not a Xen setting: how this model stores the host\'s RAM',
  }),
  max_grant_frames: int({
    default: 64, min: 1, max: 4096, unit: 'frames',
    help: 'Grant-table frames a domain may grow to (512 v1 entries each).',
    models: 'xen/common/grant_table.c opt_max_grant_frames (boot option gnttab_max_frames), default 64',
  }),
  max_maptrack_frames: int({
    default: 1024, min: 1, max: 65536, unit: 'frames',
    help: 'Maptrack frames a domain may use to track its foreign mappings (256 handles each); beyond this, map fails with GNTST_no_device_space.',
    models: 'xen/common/grant_table.c opt_max_maptrack_frames (boot option gnttab_max_maptrack_frames), default 1024',
  }),
  grant_transfer: bool({
    default: true,
    help: 'Whether GNTTABOP_transfer (page flipping) is available; when false the whole call fails with -EOPNOTSUPP.',
    models: 'xen/common/grant_table.c opt_grant_transfer (PV only; recent Xen can compile it out)',
  }),
  hypercall_ns: int({
    default: 150, min: 0, unit: 'ns',
    help: 'CPU cost of entering and leaving the hypervisor once (charged once per hypercall, whatever the batch size).',
    models: 'estimate: a 64-bit PV hypercall is a syscall into Xen and an iret/sysret back, ~100-200 ns on current x86',
  }),
  gnttab_map_ns: int({
    default: 800, min: 0, unit: 'ns',
    help: 'CPU cost of one GNTTABOP_map_grant_ref op (active-entry pin, page reference, page-table update).',
    models: 'estimate; the reason modern netback stopped mapping per packet (Menon et al. ATC 2006: remapping dominated guest transmit)',
  }),
  gnttab_unmap_ns: int({
    default: 600, min: 0, unit: 'ns',
    help: 'CPU cost of one GNTTABOP_unmap_grant_ref op, not counting the TLB flush.',
    models: 'estimate (unmap_common + unmap_common_complete)',
  }),
  tlb_flush_ns: int({
    default: 2000, min: 0, unit: 'ns',
    help: 'CPU cost of the TLB flush Xen does once per batch of up to 32 unmap ops (a page transfer\'s flush is part of gnttab_transfer_ns).',
    models: 'estimate: flush_tlb_mask() IPIs every CPU the domain ran on (GNTTAB_UNMAP_BATCH_SIZE = 32 in grant_table.c)',
  }),
  gnttab_copy_op_ns: int({
    default: 250, min: 0, unit: 'ns',
    help: 'CPU cost of one GNTTABOP_copy op besides the bytes: acquire/release of both grants and map_domain_page.',
    models: 'estimate; per-op overhead is why netback batches copies (performance.md: 4352 -> 64 ops per hypercall)',
  }),
  gnttab_copy_byte_ns: num({
    default: 0.1, min: 0, unit: 'ns/byte',
    help: 'CPU cost per byte copied by GNTTABOP_copy (memcpy bandwidth).',
    models: 'performance.md: a 1500-byte copy between preallocated buffers costs ~100 ns here (~15 GB/s); 10 GB/s assumed in Xen',
  }),
  gnttab_transfer_ns: int({
    default: 2500, min: 0, unit: 'ns',
    help: 'CPU cost of one GNTTABOP_transfer op (steal the page, update both domains, flush the TLB).',
    models: 'estimate; page flipping lost to copying on receive (Menon et al. ATC 2006, Santos et al. ATC 2008)',
  }),
  evtchn_send_ns: int({
    default: 100, min: 0, unit: 'ns',
    help: 'CPU cost of EVTCHNOP_send beyond the hypercall entry (set the pending bits, kick the vCPU).',
    models: 'estimate (evtchn_send + evtchn_2l_set_pending + vcpu_mark_events_pending)',
  }),
  upcall_latency_ns: int({
    default: 3000, min: 0, unit: 'ns',
    help: 'Time from marking a vCPU\'s events pending to its upcall handler running (vCPU assumed running on another pCPU).',
    models: 'estimate: vcpu_kick IPI plus the guest\'s callback entry; a descheduled vCPU would wait for the scheduler instead',
  }),
  upcall_ns: int({
    default: 200, min: 0, unit: 'ns',
    help: 'CPU cost to the guest of one upcall: entry, the 2-level bitmap scan, the exit (handlers charge their own work).',
    models: 'estimate (Linux __xen_evtchn_do_upcall + evtchn_2l_handle_events)',
  }),
  xenstore_latency_ns: int({
    default: 30000, min: 0, unit: 'ns',
    help: 'Time from a xenstore change to the watch callback running in the watching domain.',
    models: 'estimate: xenstored processes the request, queues the watch event on the domain\'s xenstore ring and notifies it',
  }),
});
