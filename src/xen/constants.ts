/**
 * Constants of the hypervisor model that are not public ABI.
 *
 * Xen's public-ABI values (GTF_*, GNTST_*, GNTMAP_*, GNTCOPY_*, EVTCHNSTAT_*, XenbusState, DOMID_*)
 * live in `src/io/xen-constants.ts` and are imported from there directly (not re-exported: a
 * CommonJS `export *` turns every constant into a getter, which cost ~10x on the copy hot path).
 *
 * Defined here because they are hypervisor-internal or Linux-internal, not public ABI:
 * - errno values the hypercalls return (Xen's and Linux's share the numbering on x86),
 * - the pin-count layout of the active grant entry (`GNTPIN_*`, xen/common/grant_table.c),
 * - the internal event-channel states (`ECS_*`, xen/include/xen/sched.h),
 * - `INITIAL_NR_GRANT_FRAMES` (xen/include/xen/grant_table.h).
 */

// ---------------------------------------------------------------------------------------------
// errno (xen/include/public/errno.h; same numbers as Linux on x86)

/** Operation not permitted. */
export const EPERM = 1;
/** No such domain ("no such process"). */
export const ESRCH = 3;
/** Try again (xenstore transaction conflict). */
export const EAGAIN = 11;
/** Invalid argument. */
export const EINVAL = 22;
/** No space left (no free event-channel port, no free grant reference). */
export const ENOSPC = 28;
/** No such file or directory (xenstore node missing). */
export const ENOENT = 2;
/** File exists. */
export const EEXIST = 17;
/** Operation not supported (grant transfer disabled). */
export const EOPNOTSUPP = 95;
/** Device or resource busy. */
export const EBUSY = 16;

// ---------------------------------------------------------------------------------------------
// xen/common/grant_table.c: active grant entry pin counts (4 x 8-bit counters in one u32)

/** Count of writable host-CPU mappings (bits 0-7). */
export const GNTPIN_hstw_shift = 0;
export const GNTPIN_hstw_inc = 1 << GNTPIN_hstw_shift;
export const GNTPIN_hstw_mask = 0xff << GNTPIN_hstw_shift;
/** Count of read-only host-CPU mappings (bits 8-15). */
export const GNTPIN_hstr_shift = 8;
export const GNTPIN_hstr_inc = 1 << GNTPIN_hstr_shift;
export const GNTPIN_hstr_mask = 0xff << GNTPIN_hstr_shift;
/** Count of writable device-bus mappings (bits 16-23). */
export const GNTPIN_devw_shift = 16;
export const GNTPIN_devw_inc = 1 << GNTPIN_devw_shift;
export const GNTPIN_devw_mask = 0xff << GNTPIN_devw_shift;
/** Count of read-only device-bus mappings (bits 24-31). */
export const GNTPIN_devr_shift = 24;
export const GNTPIN_devr_inc = 1 << GNTPIN_devr_shift;
export const GNTPIN_devr_mask = (0xff << GNTPIN_devr_shift) >>> 0;
/** A pin counter about to overflow (top bit of any of the four) makes map/copy fail. */
export const GNTPIN_overflow_mask = 0x80808080;

/** Grant frames a domain's table starts with (xen/include/xen/grant_table.h). */
export const INITIAL_NR_GRANT_FRAMES = 1;
/** v1 entries per 4 KiB grant frame. */
export const GRANT_ENTRIES_PER_FRAME_V1 = 512;
/** struct grant_mapping entries per maptrack frame (4096 / 16). */
export const MAPTRACK_PER_PAGE = 256;

// ---------------------------------------------------------------------------------------------
// xen/include/xen/sched.h: internal event-channel states (struct evtchn.state)

export const ECS_FREE = 0;
export const ECS_RESERVED = 1;
export const ECS_UNBOUND = 2;
export const ECS_INTERDOMAIN = 3;
export const ECS_PIRQ = 4;
export const ECS_VIRQ = 5;
export const ECS_IPI = 6;

/** Names of the ECS_* states, by value. */
export const ECS_NAMES: readonly string[] = Object.freeze(['free', 'reserved', 'unbound', 'interdomain', 'pirq', 'virq', 'ipi']);

/** An invalid machine frame number (INVALID_MFN), as stored in p2m tables. */
export const INVALID_MFN = 0xffffffff;
