/**
 * Xen public-interface constants and struct layouts that the hypervisor model (grant tables,
 * event channels, xenbus) is built on, under their Xen names.
 *
 * Modeled from the Xen public headers (Debian libxen-dev 4.17, `__XEN_INTERFACE_VERSION__`
 * 0x00040e00, x86_64):
 *   xen/include/public/grant_table.h    GTF_*, GNTST_*, GNTTABOP_*, GNTMAP_*, GNTCOPY_*, gnttab_* structs
 *   xen/include/public/event_channel.h  EVTCHNOP_*, EVTCHNSTAT_*, evtchn_* structs
 *   xen/include/public/io/xenbus.h      enum xenbus_state
 *   xen/include/public/xen.h            DOMID_*, vcpu_info, shared_info
 * Every value and offset here is checked against those headers by test/io/conformance.test.ts,
 * which compiles a C program against them.
 *
 * A layout is a table `field: [byteOffset, byteSize]`; nested members use C's dotted path
 * (`source.domid`). Multi-byte fields are little-endian. Layouts that contain `unsigned long`
 * or pointers (vcpu_info, shared_info, gnttab_* with 64-bit frames) are the x86_64 ones.
 *
 * grant_entry_v1 (8 bytes, 512 per 4 KiB grant frame):
 *
 *    0        2        4                 8
 *   +--------+--------+-----------------+
 *   | flags  | domid  | frame           |
 *   +--------+--------+-----------------+
 *
 * Differences from Xen: none in values; the v2 sub-structures are given as flat offsets.
 */

/** A C struct layout: each member's `[byte offset, byte size]`. */
export type StructLayout = Readonly<Record<string, readonly [offset: number, size: number]>>;

// ---------------------------------------------------------------------------------------------
// xen.h / xen-compat.h: pages, domain ids, interface version

/** Latest public interface version of the 4.17 headers (`__XEN_LATEST_INTERFACE_VERSION__`). */
export const __XEN_LATEST_INTERFACE_VERSION__ = 0x00040e00;
/** Ring protocols and hypercalls always use 4 KiB pages, whatever the guest's page size. */
export const XEN_PAGE_SHIFT = 12;
/** 4096: the size of every shared ring page and grant frame. */
export const XEN_PAGE_SIZE = 1 << XEN_PAGE_SHIFT;

/** Domain ids at or above this value are reserved and name no real domain. */
export const DOMID_FIRST_RESERVED = 0x7ff0;
/** "The calling domain", accepted by most hypercalls in place of its own id. */
export const DOMID_SELF = 0x7ff0;
/** Restricts page-table updates to I/O memory. */
export const DOMID_IO = 0x7ff1;
/** Lets privileged domains map Xen's own heap pages. */
export const DOMID_XEN = 0x7ff2;
/** Owner of sharable (copy-on-write) pages. */
export const DOMID_COW = 0x7ff3;
/** Owner of pages whose owner is unknown. */
export const DOMID_INVALID = 0x7ff4;
/** The idle domain. */
export const DOMID_IDLE = 0x7fff;
/** Mask of the valid bits of a domid_t. */
export const DOMID_MASK = 0x7fff;

/** vCPUs whose vcpu_info lives in the shared_info page (x86). */
export const XEN_LEGACY_MAX_VCPUS = 32;

// ---------------------------------------------------------------------------------------------
// grant_table.h

/** Grant refs 0..7 are reserved for the toolstack (0 = console ring, 1 = xenstore ring). */
export const GNTTAB_NR_RESERVED_ENTRIES = 8;
/** Ref of the console ring page (reserved entry 0). */
export const GNTTAB_RESERVED_CONSOLE = 0;
/** Ref of the xenstore ring page (reserved entry 1). */
export const GNTTAB_RESERVED_XENSTORE = 1;

/** Grant type: this entry grants nothing. */
export const GTF_invalid = 0;
/** Grant type: `domid` may map and access `frame`. */
export const GTF_permit_access = 1;
/** Grant type: `domid` may transfer a page into this slot (page flipping). */
export const GTF_accept_transfer = 2;
/** Grant type: re-export of another domain's grant (v2 only, copy only). */
export const GTF_transitive = 3;
/** Mask of the grant type bits. */
export const GTF_type_mask = 3;
/** Bit number of GTF_readonly. */
export const _GTF_readonly = 2;
/** Restrict `domid` to read-only mappings and copies. [guest] */
export const GTF_readonly = 1 << _GTF_readonly;
/** Bit number of GTF_reading. */
export const _GTF_reading = 3;
/** Xen has the frame pinned (mapped or being copied) for reading. [Xen] */
export const GTF_reading = 1 << _GTF_reading;
/** Bit number of GTF_writing. */
export const _GTF_writing = 4;
/** Xen has the frame pinned for writing. [Xen] */
export const GTF_writing = 1 << _GTF_writing;
/** x86 cache attribute: page write-through. */
export const GTF_PWT = 1 << 5;
/** x86 cache attribute: page cache disable. */
export const GTF_PCD = 1 << 6;
/** x86 cache attribute: page attribute table. */
export const GTF_PAT = 1 << 7;
/** Grant only [page_off, page_off+length) of the frame (v2). */
export const GTF_sub_page = 1 << 8;
/** Accept-transfer: Xen has committed to transferring a page (aliases GTF_readonly's bit). */
export const GTF_transfer_committed = 1 << 2;
/** Accept-transfer: the new frame number is in `frame` (aliases GTF_reading's bit). */
export const GTF_transfer_completed = 1 << 3;

/** GNTTABOP_* hypercall sub-operations. */
export const GNTTABOP_map_grant_ref = 0;
export const GNTTABOP_unmap_grant_ref = 1;
export const GNTTABOP_setup_table = 2;
export const GNTTABOP_dump_table = 3;
export const GNTTABOP_transfer = 4;
export const GNTTABOP_copy = 5;
export const GNTTABOP_query_size = 6;
export const GNTTABOP_unmap_and_replace = 7;
export const GNTTABOP_set_version = 8;
export const GNTTABOP_get_status_frames = 9;
export const GNTTABOP_get_version = 10;
export const GNTTABOP_swap_grant_ref = 11;
export const GNTTABOP_cache_flush = 12;

/** Map for I/O devices (fills `dev_bus_addr`). */
export const GNTMAP_device_map = 1 << 0;
/** Map for host CPUs. */
export const GNTMAP_host_map = 1 << 1;
/** Map read-only. */
export const GNTMAP_readonly = 1 << 2;
/** Host mapping usable by the current application too. */
export const GNTMAP_application_map = 1 << 3;
/** `host_addr` is the machine address of the PTE to update. */
export const GNTMAP_contains_pte = 1 << 4;

/** gnttab_copy.flags: `source.u.ref` is a grant ref (else `source.u.gmfn` is a frame). */
export const GNTCOPY_source_gref = 1 << 0;
/** gnttab_copy.flags: `dest.u.ref` is a grant ref (else `dest.u.gmfn` is a frame). */
export const GNTCOPY_dest_gref = 1 << 1;

/** Per-op status values (`enum grant_status`), written into each op's `status` field. */
export const GNTST_okay = 0;
export const GNTST_general_error = -1;
export const GNTST_bad_domain = -2;
export const GNTST_bad_gntref = -3;
export const GNTST_bad_handle = -4;
export const GNTST_bad_virt_addr = -5;
export const GNTST_bad_dev_addr = -6;
export const GNTST_no_device_space = -7;
export const GNTST_permission_denied = -8;
export const GNTST_bad_page = -9;
export const GNTST_bad_copy_arg = -10;
export const GNTST_address_too_big = -11;
export const GNTST_eagain = -12;
export const GNTST_no_space = -13;

/** `GNTTABOP_error_msgs`: index `-status` gives Xen's message for a GNTST_* code. */
export const GNTTABOP_error_msgs: readonly string[] = Object.freeze([
  'okay',
  'undefined error',
  'unrecognised domain id',
  'invalid grant reference',
  'invalid mapping handle',
  'invalid virtual address',
  'invalid device address',
  'no spare translation slot in the I/O MMU',
  'permission denied',
  'bad page',
  'copy arguments cross page boundary',
  'page address size too large',
  'operation not done; try again',
  'out of space',
]);

/** Names of the GNTST_* codes, index `-status`. */
export const GNTST_NAMES: readonly string[] = Object.freeze([
  'GNTST_okay',
  'GNTST_general_error',
  'GNTST_bad_domain',
  'GNTST_bad_gntref',
  'GNTST_bad_handle',
  'GNTST_bad_virt_addr',
  'GNTST_bad_dev_addr',
  'GNTST_no_device_space',
  'GNTST_permission_denied',
  'GNTST_bad_page',
  'GNTST_bad_copy_arg',
  'GNTST_address_too_big',
  'GNTST_eagain',
  'GNTST_no_space',
]);

/** `'GNTST_bad_gntref'` for -3; `'GNTST_unknown(<n>)'` for a value Xen does not define. */
export function gntstName(status: number): string {
  const i = -status;
  return Number.isInteger(i) && i >= 0 && i < GNTST_NAMES.length ? GNTST_NAMES[i]! : `GNTST_unknown(${status})`;
}

/** Xen's message for a GNTST_* code (from GNTTABOP_error_msgs), or `'unknown status <n>'`. */
export function gntstMessage(status: number): string {
  const i = -status;
  return Number.isInteger(i) && i >= 0 && i < GNTTABOP_error_msgs.length
    ? GNTTABOP_error_msgs[i]!
    : `unknown status ${status}`;
}

/** struct grant_entry_v1 (8 bytes). */
export const grant_entry_v1 = {
  flags: [0, 2],
  domid: [2, 2],
  frame: [4, 4],
} as const satisfies StructLayout;

/** struct grant_entry_header (the first 4 bytes of a v2 entry). */
export const grant_entry_header = {
  flags: [0, 2],
  domid: [2, 2],
} as const satisfies StructLayout;

/** union grant_entry_v2 (16 bytes). */
export const grant_entry_v2 = {
  hdr: [0, 4],
  'hdr.flags': [0, 2],
  'hdr.domid': [2, 2],
  'full_page.pad0': [4, 4],
  'full_page.frame': [8, 8],
  'sub_page.page_off': [4, 2],
  'sub_page.length': [6, 2],
  'sub_page.frame': [8, 8],
  'transitive.trans_domid': [4, 2],
  'transitive.pad0': [6, 2],
  'transitive.gref': [8, 4],
} as const satisfies StructLayout;

/** struct gnttab_map_grant_ref (32 bytes). */
export const gnttab_map_grant_ref = {
  host_addr: [0, 8],
  flags: [8, 4],
  ref: [12, 4],
  dom: [16, 2],
  status: [18, 2],
  handle: [20, 4],
  dev_bus_addr: [24, 8],
} as const satisfies StructLayout;

/** struct gnttab_unmap_grant_ref (24 bytes). */
export const gnttab_unmap_grant_ref = {
  host_addr: [0, 8],
  dev_bus_addr: [8, 8],
  handle: [16, 4],
  status: [20, 2],
} as const satisfies StructLayout;

/** struct gnttab_copy (40 bytes); `u.ref` and `u.gmfn` overlay each other. */
export const gnttab_copy = {
  source: [0, 16],
  'source.u.ref': [0, 4],
  'source.u.gmfn': [0, 8],
  'source.domid': [8, 2],
  'source.offset': [10, 2],
  dest: [16, 16],
  'dest.u.ref': [16, 4],
  'dest.u.gmfn': [16, 8],
  'dest.domid': [24, 2],
  'dest.offset': [26, 2],
  len: [32, 2],
  flags: [34, 2],
  status: [36, 2],
} as const satisfies StructLayout;

/** struct gnttab_transfer (24 bytes). */
export const gnttab_transfer = {
  mfn: [0, 8],
  domid: [8, 2],
  ref: [12, 4],
  status: [16, 2],
} as const satisfies StructLayout;

/** struct gnttab_setup_table (24 bytes; frame_list is a guest handle). */
export const gnttab_setup_table = {
  dom: [0, 2],
  nr_frames: [4, 4],
  status: [8, 2],
  frame_list: [16, 8],
} as const satisfies StructLayout;

/** struct gnttab_query_size (16 bytes). */
export const gnttab_query_size = {
  dom: [0, 2],
  nr_frames: [4, 4],
  max_nr_frames: [8, 4],
  status: [12, 2],
} as const satisfies StructLayout;

// ---------------------------------------------------------------------------------------------
// event_channel.h

export const EVTCHNOP_bind_interdomain = 0;
export const EVTCHNOP_bind_virq = 1;
export const EVTCHNOP_bind_pirq = 2;
export const EVTCHNOP_close = 3;
export const EVTCHNOP_send = 4;
export const EVTCHNOP_status = 5;
export const EVTCHNOP_alloc_unbound = 6;
export const EVTCHNOP_bind_ipi = 7;
export const EVTCHNOP_bind_vcpu = 8;
export const EVTCHNOP_unmask = 9;
export const EVTCHNOP_reset = 10;
export const EVTCHNOP_init_control = 11;
export const EVTCHNOP_expand_array = 12;
export const EVTCHNOP_set_priority = 13;

/** evtchn_status.status: port not in use. */
export const EVTCHNSTAT_closed = 0;
/** Waiting for an interdomain connection. */
export const EVTCHNSTAT_unbound = 1;
/** Connected to a port of another domain. */
export const EVTCHNSTAT_interdomain = 2;
/** Bound to a physical IRQ. */
export const EVTCHNSTAT_pirq = 3;
/** Bound to a virtual IRQ. */
export const EVTCHNSTAT_virq = 4;
/** Bound to an inter-processor interrupt. */
export const EVTCHNSTAT_ipi = 5;

/** Ports of the 2-level ABI on 64-bit: sizeof(xen_ulong_t) * sizeof(xen_ulong_t) * 64 = 4096. */
export const EVTCHN_2L_NR_CHANNELS = 8 * 8 * 64;
/** Bits in one word of the 2-level pending/mask bitmaps (xen_ulong_t on 64-bit). */
export const EVTCHN_2L_BITS_PER_WORD = 64;
/** FIFO ABI link bits and port count. */
export const EVTCHN_FIFO_LINK_BITS = 17;
export const EVTCHN_FIFO_NR_CHANNELS = 1 << EVTCHN_FIFO_LINK_BITS;
export const EVTCHN_FIFO_PRIORITY_MAX = 0;
export const EVTCHN_FIFO_PRIORITY_DEFAULT = 7;
export const EVTCHN_FIFO_PRIORITY_MIN = 15;

/** struct evtchn_alloc_unbound (8 bytes). */
export const evtchn_alloc_unbound = {
  dom: [0, 2],
  remote_dom: [2, 2],
  port: [4, 4],
} as const satisfies StructLayout;

/** struct evtchn_bind_interdomain (12 bytes). */
export const evtchn_bind_interdomain = {
  remote_dom: [0, 2],
  remote_port: [4, 4],
  local_port: [8, 4],
} as const satisfies StructLayout;

/** struct evtchn_bind_virq (12 bytes). */
export const evtchn_bind_virq = {
  virq: [0, 4],
  vcpu: [4, 4],
  port: [8, 4],
} as const satisfies StructLayout;

/** struct evtchn_bind_ipi (8 bytes). */
export const evtchn_bind_ipi = {
  vcpu: [0, 4],
  port: [4, 4],
} as const satisfies StructLayout;

/** struct evtchn_close (4 bytes). */
export const evtchn_close = { port: [0, 4] } as const satisfies StructLayout;
/** struct evtchn_send (4 bytes). */
export const evtchn_send = { port: [0, 4] } as const satisfies StructLayout;
/** struct evtchn_unmask (4 bytes). */
export const evtchn_unmask = { port: [0, 4] } as const satisfies StructLayout;

/** struct evtchn_bind_vcpu (8 bytes). */
export const evtchn_bind_vcpu = {
  port: [0, 4],
  vcpu: [4, 4],
} as const satisfies StructLayout;

/** struct evtchn_status (24 bytes). */
export const evtchn_status = {
  dom: [0, 2],
  port: [4, 4],
  status: [8, 4],
  vcpu: [12, 4],
  'u.unbound.dom': [16, 2],
  'u.interdomain.dom': [16, 2],
  'u.interdomain.port': [20, 4],
  'u.pirq': [16, 4],
  'u.virq': [16, 4],
} as const satisfies StructLayout;

// ---------------------------------------------------------------------------------------------
// xen.h: vcpu_info and shared_info (x86_64)

/** struct vcpu_info (64 bytes on x86). */
export const vcpu_info = {
  evtchn_upcall_pending: [0, 1],
  evtchn_upcall_mask: [1, 1],
  evtchn_pending_sel: [8, 8],
  arch: [16, 16],
  time: [32, 32],
} as const satisfies StructLayout;

/** struct shared_info (3136 bytes on x86_64): 32 vcpu_infos, then the 2-level bitmaps. */
export const shared_info = {
  vcpu_info: [0, 64 * XEN_LEGACY_MAX_VCPUS],
  evtchn_pending: [2048, 512],
  evtchn_mask: [2560, 512],
  wc_version: [3072, 4],
  wc_sec: [3076, 4],
  wc_nsec: [3080, 4],
  wc_sec_hi: [3084, 4],
  arch: [3088, 48],
} as const satisfies StructLayout;

// ---------------------------------------------------------------------------------------------
// io/xenbus.h

/** enum xenbus_state, as written to the `state` key of each end in xenstore. */
export const XenbusStateUnknown = 0;
export const XenbusStateInitialising = 1;
/** Backend: waiting for information from the frontend before it can initialise. */
export const XenbusStateInitWait = 2;
/** Frontend: ring refs and event channels published. */
export const XenbusStateInitialised = 3;
export const XenbusStateConnected = 4;
/** The device is being closed because of an error or an unplug. */
export const XenbusStateClosing = 5;
export const XenbusStateClosed = 6;
export const XenbusStateReconfiguring = 7;
export const XenbusStateReconfigured = 8;

/** All XenbusState values by name. */
export const XenbusState = Object.freeze({
  Unknown: XenbusStateUnknown,
  Initialising: XenbusStateInitialising,
  InitWait: XenbusStateInitWait,
  Initialised: XenbusStateInitialised,
  Connected: XenbusStateConnected,
  Closing: XenbusStateClosing,
  Closed: XenbusStateClosed,
  Reconfiguring: XenbusStateReconfiguring,
  Reconfigured: XenbusStateReconfigured,
});
export type XenbusStateValue = (typeof XenbusState)[keyof typeof XenbusState];

const XENBUS_STATE_NAMES = Object.keys(XenbusState);

/** `'Connected'` for 4 (as Linux's xenbus_strstate prints); `'Invalid(<n>)'` otherwise. */
export function xenbusStateName(state: number): string {
  return Number.isInteger(state) && state >= 0 && state < XENBUS_STATE_NAMES.length
    ? XENBUS_STATE_NAMES[state]!
    : `Invalid(${state})`;
}

// ---------------------------------------------------------------------------------------------
// Sizes and the layout registry

/** sizeof of each struct above, as the C compiler computes it (x86_64). */
export const XEN_SIZEOF = Object.freeze({
  grant_entry_v1: 8,
  grant_entry_header: 4,
  grant_entry_v2: 16,
  grant_status_t: 2,
  grant_ref_t: 4,
  grant_handle_t: 4,
  domid_t: 2,
  evtchn_port_t: 4,
  gnttab_map_grant_ref: 32,
  gnttab_unmap_grant_ref: 24,
  gnttab_copy: 40,
  gnttab_transfer: 24,
  gnttab_setup_table: 24,
  gnttab_query_size: 16,
  evtchn_alloc_unbound: 8,
  evtchn_bind_interdomain: 12,
  evtchn_bind_virq: 12,
  evtchn_bind_ipi: 8,
  evtchn_close: 4,
  evtchn_send: 4,
  evtchn_unmask: 4,
  evtchn_bind_vcpu: 8,
  evtchn_status: 24,
  vcpu_info: 64,
  shared_info: 3136,
});

/** Every Xen struct layout in this file, by C struct name. */
export const XEN_LAYOUTS: Readonly<Record<string, StructLayout>> = Object.freeze({
  grant_entry_v1,
  grant_entry_header,
  grant_entry_v2,
  gnttab_map_grant_ref,
  gnttab_unmap_grant_ref,
  gnttab_copy,
  gnttab_transfer,
  gnttab_setup_table,
  gnttab_query_size,
  evtchn_alloc_unbound,
  evtchn_bind_interdomain,
  evtchn_bind_virq,
  evtchn_bind_ipi,
  evtchn_close,
  evtchn_send,
  evtchn_unmask,
  evtchn_bind_vcpu,
  evtchn_status,
  vcpu_info,
  shared_info,
});

// ---------------------------------------------------------------------------------------------
// grant_entry_v1 accessors (byte offset `off` in `view`, little-endian)

/** Reads grant_entry_v1.flags. */
export function grantEntryV1Flags(view: DataView, off: number): number {
  return view.getUint16(off, true);
}
/** Reads grant_entry_v1.domid. */
export function grantEntryV1Domid(view: DataView, off: number): number {
  return view.getUint16(off + 2, true);
}
/** Reads grant_entry_v1.frame. */
export function grantEntryV1Frame(view: DataView, off: number): number {
  return view.getUint32(off + 4, true);
}

/**
 * Writes a whole grant_entry_v1 in the order a guest must: domid and frame first, then
 * (after a write barrier in C) flags, which is what makes the grant live.
 * @models torvalds/linux drivers/xen/grant-table.c gnttab_update_entry_v1()
 */
export function writeGrantEntryV1(view: DataView, off: number, flags: number, domid: number, frame: number): void {
  view.setUint16(off + 2, domid, true);
  view.setUint32(off + 4, frame, true);
  view.setUint16(off, flags, true);
}
