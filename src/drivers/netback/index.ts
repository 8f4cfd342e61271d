/**
 * xen-netback: dom0's half of the PV network driver, in two designs chosen per vif — modern
 * (torvalds/linux drivers/net/xen-netback) and classic (linux-2.6.18-xen drivers/xen/netback).
 * See driver.ts for how a host wires it.
 */
export { NETBACK_PARAMS } from './params';
export { NetbackDriver } from './driver';
export { XenVif, type VifDesign, type VifConnectConfig, type VifQueueKeys, type VifCounters } from './interface';
export { XenvifQueue, MAX_PENDING_REQS, XEN_NETBACK_TX_COPY_LEN, XEN_NETBK_LEGACY_SLOTS_MAX } from './common';
export type { NetbackHypervisor, NetbackStack } from './platform';
export { ringWalkIds } from './walk-ids';
export { skbChecksumSetup } from '../../net/checksum-setup';
export { ClassicNetback, CLASSIC_MAX_SKB_FRAGS, PKT_PROT_LEN } from './classic/netback';
export { netbackHypervisor } from './xen-adapter';
export { netback_probe, netback_remove, frontend_changed, set_backend_state, backend_switch_state, backend_create_xenvif, backend_disconnect, connect, connect_data_rings, read_xenbus_vif_flags, xen_net_read_rate, xen_net_read_mac, xen_net_rate_changed, hotplug_status_changed, xenbus_dev_is_online, toolstackCreateVif, toolstackRemoveVif, vifBridgeHotplug, BackendInfo, type NetbackProbeOptions, type ToolstackVifConfig, type VifBridgeOptions } from './xenbus';
