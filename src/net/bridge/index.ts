/**
 * The Linux bridge model: `Bridge` (struct net_bridge) with its ports, forwarding database and
 * decision core. See README.md in this folder for the frame-level API.
 */
export {
  Bridge, BridgePort, BridgeVerdict,
  BR_STATE_DISABLED, BR_STATE_LISTENING, BR_STATE_LEARNING, BR_STATE_FORWARDING, BR_STATE_BLOCKING,
  BR_MAX_PORTS, PORT_STATE_NAMES, ipv4CheckedLength,
  type BridgeOptions, type AddPortOptions, type PortFlagsUpdate, type PortKind, type PortStateName,
  type FdbRow, type FdbState, type FdbAddOptions, type InjectResult, type BridgeAction, type BridgeCounters,
} from './bridge';
export { FdbTable, FDB_LOCAL, FDB_STATIC, FDB_STICKY, FDB_ADDED_BY_USER } from './fdb';
export { BRIDGE_PARAMS } from './params';
export { macKeyFrom, formatMac, parseMac, isValidKey, isMulticastKey, isLinkLocalKey, XEN_VIF_MAC, MAC_BROADCAST } from './mac';
