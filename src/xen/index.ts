/**
 * The hypervisor model: machine memory and domains, grant tables (v1), event channels (2-level),
 * xenstore and xenbus, with inspection rows for notebooks.
 */
export {
  EPERM, ESRCH, EAGAIN, EINVAL, ENOSPC, ENOENT, EEXIST, EOPNOTSUPP, EBUSY,
  GNTPIN_hstw_shift, GNTPIN_hstw_inc, GNTPIN_hstw_mask, GNTPIN_hstr_shift, GNTPIN_hstr_inc, GNTPIN_hstr_mask,
  GNTPIN_devw_shift, GNTPIN_devw_inc, GNTPIN_devw_mask, GNTPIN_devr_shift, GNTPIN_devr_inc, GNTPIN_devr_mask,
  GNTPIN_overflow_mask, INITIAL_NR_GRANT_FRAMES, GRANT_ENTRIES_PER_FRAME_V1, MAPTRACK_PER_PAGE,
  ECS_FREE, ECS_RESERVED, ECS_UNBOUND, ECS_INTERDOMAIN, ECS_PIRQ, ECS_VIRQ, ECS_IPI, ECS_NAMES, INVALID_MFN,
} from './constants';
export { XEN_PARAMS } from './params';
export type { EvtchnSendResult } from './trace';
export { HostMemory, OWNER_FREE, PAGE_FREE, PAGE_RAM, PAGE_XEN_SHARED, PAGE_XEN, PAGE_KIND_NAMES } from './memory';
export { Domain, type DomainConfig, type EvtchnHandler } from './domain';
export {
  GrantTableOps, GnttabCopyBatch, gnttab_set_map_op, gnttab_set_unmap_op,
  type GnttabMapGrantRef, type GnttabUnmapGrantRef, type GnttabTransfer, type GnttabSetupTable,
  type GnttabQuerySize, type GnttabCopy, type GnttabCopyPtr, type GnttabCounters,
} from './grant_table';
export { GuestGrantTable, type GrantRefPool, type GrantEntryV1 } from './grant_guest';
export {
  EventChannelOps, lateeoiIrqRows, type EvtchnAllocUnbound, type EvtchnBindInterdomain, type EvtchnStatus, type EvtchnCounters,
  type IrqRow, type LateEoiStats,
} from './event_channel';
export { Hypervisor, GuestHandle, type HypervisorOptions } from './hypervisor';
export { XenStore, type WatchCallback, type XenstoreRow, type XenstoreCounters } from './xenstore';
export {
  XenbusDevice, xenbus_printf, xenbus_read_unsigned, xenbus_scan_u32, xenbus_read_driver_state, libxl_device_nic_add, hotplugConnected,
  type OtherendChanged, type XenbusDeviceOptions, type NicConfig, type NicPaths,
} from './xenbus';
export {
  grantTableRows, evtchnRows, xenstoreRows, renderRows, renderXenstore, decodeGrantFlags,
  type GrantRow, type EvtchnRow, type XenstoreTreeRow,
} from './inspect';
