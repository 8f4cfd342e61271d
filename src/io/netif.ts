/**
 * netif.h: the slots of the network rings, their flags and constants, under the Xen names.
 *
 * Modeled from xen-project/xen xen/include/public/io/netif.h (identical in Debian libxen-dev
 * 4.17); Linux's copy (include/xen/interface/io/netif.h) prefixes the names with XEN_ and adds an
 * XDP extra — both spellings are exported where Linux drivers use them. Checked byte for byte
 * against the C header by test/io/conformance.test.ts.
 *
 * TX ring slot (12 bytes; union of request and response, sized by the request):
 *
 *    0               4       6       8       10      12
 *   +---------------+-------+-------+-------+-------+
 *   | gref          |offset | flags | id    | size  |  netif_tx_request  (front writes)
 *   +-------+-------+-------+-------+-------+-------+
 *   | id    |status |  bytes 4..11 untouched: stale request bytes stay   netif_tx_response
 *   +-------+-------+
 *   |ty|fl| u (gso / mcast / hash)  | pad (tx)      |  netif_extra_info in a tx slot
 *
 * RX ring slot (8 bytes):
 *
 *    0       2       4               8
 *   +-------+-------+---------------+
 *   | id    | pad   | gref          |  netif_rx_request  (pad is never written by netfront)
 *   +-------+-------+-------+-------+
 *   | id    |offset | flags |status |  netif_rx_response (status = bytes, or < 0 = error)
 *   +-------+-------+-------+-------+
 *
 * netif_extra_info (8 bytes): type 0, flags 1, then the union `u` at 2..7:
 *   gso:   size 2/2, type 4/1, pad 5/1, features 6/2
 *   mcast: addr 2/6
 *   hash:  type 2/1, algorithm 3/1, value 4/4 (u8[4], LSB first)
 *
 * Control ring (16-byte slots, 128 per page): request {id, type, data[3]}, response
 * {id, type, status, data}.
 *
 * Functions come in two forms: a hot-path form with positional arguments and one accessor per
 * field (`writeTxRequest(view, off, gref, offset, flags, id, size)`, `txRequestSize(view, off)`),
 * and an object form for inspection (`readTxRequest(view, off)`). `off` is a byte offset in
 * `view` — typically what RING_GET_REQUEST() returned. All fields are little-endian.
 * Response writers write only the bytes of the response struct, as C field stores do.
 *
 * Differences from Xen: none in layout. Bytes are read with DataView; a read never throws on
 * guest-controlled values (a bad `off` is a programming error and DataView throws RangeError).
 */
import type { StructLayout } from './xen-constants';

// ---------------------------------------------------------------------------------------------
// Constants

/** Minimum number of tx slots a backend must accept for one packet (netfront's MAX_SKB_FRAGS+1 budget). */
export const XEN_NETIF_NR_SLOTS_MIN = 18;
/** Largest packet a tx request chain may describe (the first request's 16-bit `size`). */
export const XEN_NETIF_MAX_TX_SIZE = 0xffff;

/** Bit numbers and masks of netif_tx_request.flags. */
export const _NETTXF_csum_blank = 0;
/** Protocol checksum field is blank in the packet (hardware offload). */
export const NETTXF_csum_blank = 1 << _NETTXF_csum_blank;
export const _NETTXF_data_validated = 1;
/** Packet data has been validated against the protocol checksum. */
export const NETTXF_data_validated = 1 << _NETTXF_data_validated;
export const _NETTXF_more_data = 2;
/** Packet continues in the next request. */
export const NETTXF_more_data = 1 << _NETTXF_more_data;
export const _NETTXF_extra_info = 3;
/** Packet to be followed by extra descriptor(s). */
export const NETTXF_extra_info = 1 << _NETTXF_extra_info;

/** Bit numbers and masks of netif_rx_response.flags (csum_blank / data_validated swapped vs TX). */
export const _NETRXF_data_validated = 0;
/** Packet data has been validated against the protocol checksum. */
export const NETRXF_data_validated = 1 << _NETRXF_data_validated;
export const _NETRXF_csum_blank = 1;
/** Protocol checksum field is blank in the packet. */
export const NETRXF_csum_blank = 1 << _NETRXF_csum_blank;
export const _NETRXF_more_data = 2;
/** Packet continues in the next response. */
export const NETRXF_more_data = 1 << _NETRXF_more_data;
export const _NETRXF_extra_info = 3;
/** Packet to be followed by extra descriptor(s). */
export const NETRXF_extra_info = 1 << _NETRXF_extra_info;
export const _NETRXF_gso_prefix = 4;
/** Deprecated: the GSO extra comes in a prefix slot. */
export const NETRXF_gso_prefix = 1 << _NETRXF_gso_prefix;

/** netif_extra_info.type values. */
export const XEN_NETIF_EXTRA_TYPE_NONE = 0;
export const XEN_NETIF_EXTRA_TYPE_GSO = 1;
export const XEN_NETIF_EXTRA_TYPE_MCAST_ADD = 2;
export const XEN_NETIF_EXTRA_TYPE_MCAST_DEL = 3;
export const XEN_NETIF_EXTRA_TYPE_HASH = 4;
/** One past the last type the Xen header defines (a Xen-strict backend rejects types >= this). */
export const XEN_NETIF_EXTRA_TYPE_MAX = 5;
/** Linux-only (include/xen/interface/io/netif.h): XDP headroom extra. Not in the Xen header. */
export const XEN_NETIF_EXTRA_TYPE_XDP = 5;
/** Linux-only: XEN_NETIF_EXTRA_TYPE_MAX in Linux's copy of the header (6). */
export const XEN_NETIF_EXTRA_TYPE_MAX_LINUX = 6;

export const _XEN_NETIF_EXTRA_FLAG_MORE = 0;
/** Another extra_info slot follows this one. */
export const XEN_NETIF_EXTRA_FLAG_MORE = 1 << _XEN_NETIF_EXTRA_FLAG_MORE;

/** u.gso.type values. */
export const XEN_NETIF_GSO_TYPE_NONE = 0;
export const XEN_NETIF_GSO_TYPE_TCPV4 = 1;
export const XEN_NETIF_GSO_TYPE_TCPV6 = 2;

/** Response status values (tx status; rx status when negative). */
export const NETIF_RSP_DROPPED = -2;
export const NETIF_RSP_ERROR = -1;
export const NETIF_RSP_OKAY = 0;
/** No response: used for the response slots of extra_info requests. */
export const NETIF_RSP_NULL = 1;

/** Linux spellings (include/xen/interface/io/netif.h), same values. */
export const XEN_NETTXF_csum_blank = NETTXF_csum_blank;
export const XEN_NETTXF_data_validated = NETTXF_data_validated;
export const XEN_NETTXF_more_data = NETTXF_more_data;
export const XEN_NETTXF_extra_info = NETTXF_extra_info;
export const XEN_NETRXF_data_validated = NETRXF_data_validated;
export const XEN_NETRXF_csum_blank = NETRXF_csum_blank;
export const XEN_NETRXF_more_data = NETRXF_more_data;
export const XEN_NETRXF_extra_info = NETRXF_extra_info;
export const XEN_NETRXF_gso_prefix = NETRXF_gso_prefix;
export const XEN_NETIF_RSP_DROPPED = NETIF_RSP_DROPPED;
export const XEN_NETIF_RSP_ERROR = NETIF_RSP_ERROR;
export const XEN_NETIF_RSP_OKAY = NETIF_RSP_OKAY;
export const XEN_NETIF_RSP_NULL = NETIF_RSP_NULL;

/** Control-ring hash types: bit numbers (what goes in u.hash.type) and masks. */
export const _XEN_NETIF_CTRL_HASH_TYPE_IPV4 = 0;
export const XEN_NETIF_CTRL_HASH_TYPE_IPV4 = 1 << _XEN_NETIF_CTRL_HASH_TYPE_IPV4;
export const _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP = 1;
export const XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP = 1 << _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP;
export const _XEN_NETIF_CTRL_HASH_TYPE_IPV6 = 2;
export const XEN_NETIF_CTRL_HASH_TYPE_IPV6 = 1 << _XEN_NETIF_CTRL_HASH_TYPE_IPV6;
export const _XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP = 3;
export const XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP = 1 << _XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP;
export const XEN_NETIF_CTRL_HASH_ALGORITHM_NONE = 0;
export const XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ = 1;

/** Control-ring request types. */
export const XEN_NETIF_CTRL_TYPE_INVALID = 0;
export const XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS = 1;
export const XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS = 2;
export const XEN_NETIF_CTRL_TYPE_SET_HASH_KEY = 3;
export const XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE = 4;
export const XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE = 5;
export const XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING = 6;
export const XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM = 7;
export const XEN_NETIF_CTRL_TYPE_GET_GREF_MAPPING_SIZE = 8;
export const XEN_NETIF_CTRL_TYPE_ADD_GREF_MAPPING = 9;
export const XEN_NETIF_CTRL_TYPE_DEL_GREF_MAPPING = 10;

/** Control-ring response status values. */
export const XEN_NETIF_CTRL_STATUS_SUCCESS = 0;
export const XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED = 1;
export const XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER = 2;
export const XEN_NETIF_CTRL_STATUS_BUFFER_OVERFLOW = 3;

/** xen_netif_gref.flags: map read-only. */
export const _XEN_NETIF_CTRLF_GREF_readonly = 0;
export const XEN_NETIF_CTRLF_GREF_readonly = 1 << _XEN_NETIF_CTRLF_GREF_readonly;

// ---------------------------------------------------------------------------------------------
// Layouts

/** struct netif_tx_request (12 bytes). */
export const netif_tx_request = {
  gref: [0, 4],
  offset: [4, 2],
  flags: [6, 2],
  id: [8, 2],
  size: [10, 2],
} as const satisfies StructLayout;

/** struct netif_tx_response (4 bytes; occupies the start of a 12-byte tx slot). */
export const netif_tx_response = {
  id: [0, 2],
  status: [2, 2],
} as const satisfies StructLayout;

/** struct netif_rx_request (8 bytes). */
export const netif_rx_request = {
  id: [0, 2],
  pad: [2, 2],
  gref: [4, 4],
} as const satisfies StructLayout;

/** struct netif_rx_response (8 bytes). */
export const netif_rx_response = {
  id: [0, 2],
  offset: [2, 2],
  flags: [4, 2],
  status: [6, 2],
} as const satisfies StructLayout;

/** struct netif_extra_info (8 bytes). */
export const netif_extra_info = {
  type: [0, 1],
  flags: [1, 1],
  u: [2, 6],
  'u.gso': [2, 6],
  'u.gso.size': [2, 2],
  'u.gso.type': [4, 1],
  'u.gso.pad': [5, 1],
  'u.gso.features': [6, 2],
  'u.mcast': [2, 6],
  'u.mcast.addr': [2, 6],
  'u.hash': [2, 6],
  'u.hash.type': [2, 1],
  'u.hash.algorithm': [3, 1],
  'u.hash.value': [4, 4],
  'u.pad': [2, 6],
} as const satisfies StructLayout;

/** The shared ring page header common to every ring (DEFINE_RING_TYPES' `struct X_sring`). */
export const netif_tx_sring = {
  req_prod: [0, 4],
  req_event: [4, 4],
  rsp_prod: [8, 4],
  rsp_event: [12, 4],
  pvt: [16, 4],
  'pvt.netif.smartpoll_active': [16, 1],
  'pvt.tapif_user.msg': [16, 1],
  'pvt.pvt_pad': [16, 4],
  __pad: [20, 44],
  ring: [64, 12],
} as const satisfies StructLayout;

/** The rx shared ring: same header, 8-byte entries. */
export const netif_rx_sring = { ...netif_tx_sring, ring: [64, 8] } as const satisfies StructLayout;

/** struct xen_netif_ctrl_request (16 bytes). */
export const xen_netif_ctrl_request = {
  id: [0, 2],
  type: [2, 2],
  data: [4, 12],
} as const satisfies StructLayout;

/** struct xen_netif_ctrl_response (12 bytes). */
export const xen_netif_ctrl_response = {
  id: [0, 2],
  type: [2, 2],
  status: [4, 4],
  data: [8, 4],
} as const satisfies StructLayout;

/** struct xen_netif_gref (8 bytes): an entry of the ADD/DEL_GREF_MAPPING page. */
export const xen_netif_gref = {
  ref: [0, 4],
  flags: [4, 2],
  status: [6, 2],
} as const satisfies StructLayout;

/** The control shared ring: same header, 16-byte entries. */
export const xen_netif_ctrl_sring = { ...netif_tx_sring, ring: [64, 16] } as const satisfies StructLayout;

/** sizeof of each netif struct (and the shared-ring unions), as the C compiler computes it. */
export const NETIF_SIZEOF = Object.freeze({
  netif_tx_request: 12,
  netif_tx_response: 4,
  netif_rx_request: 8,
  netif_rx_response: 8,
  netif_extra_info: 8,
  'netif_extra_info.u': 6,
  netif_tx_sring_entry: 12,
  netif_rx_sring_entry: 8,
  netif_tx_sring: 76,
  netif_rx_sring: 72,
  xen_netif_ctrl_request: 16,
  xen_netif_ctrl_response: 12,
  xen_netif_ctrl_sring_entry: 16,
  xen_netif_ctrl_sring: 80,
  xen_netif_gref: 8,
  RING_IDX: 4,
});

/** Every netif layout, by C struct name. */
export const NETIF_LAYOUTS: Readonly<Record<string, StructLayout>> = Object.freeze({
  netif_tx_request,
  netif_tx_response,
  netif_rx_request,
  netif_rx_response,
  netif_extra_info,
  netif_tx_sring,
  netif_rx_sring,
  xen_netif_ctrl_request,
  xen_netif_ctrl_response,
  xen_netif_gref,
  xen_netif_ctrl_sring,
});

/** Slots per 4 KiB page: `__CONST_RING_SIZE(netif_tx, XEN_PAGE_SIZE)` (Linux NET_TX_RING_SIZE). */
export const NET_TX_RING_SIZE = 256;
/** `__CONST_RING_SIZE(netif_rx, XEN_PAGE_SIZE)` (Linux NET_RX_RING_SIZE). */
export const NET_RX_RING_SIZE = 256;
/** `__CONST_RING_SIZE(xen_netif_ctrl, XEN_PAGE_SIZE)`. */
export const XEN_NETIF_CTRL_RING_SIZE = 128;

/** The three netif ring kinds: entry (union) size and the request / response struct sizes. */
export const NETIF_RING_KINDS = Object.freeze({
  tx: Object.freeze({ name: 'netif_tx', entrySize: 12, requestSize: 12, responseSize: 4 }),
  rx: Object.freeze({ name: 'netif_rx', entrySize: 8, requestSize: 8, responseSize: 8 }),
  ctrl: Object.freeze({ name: 'xen_netif_ctrl', entrySize: 16, requestSize: 16, responseSize: 12 }),
});
export type NetifRingKind = keyof typeof NETIF_RING_KINDS;

// Field offsets used by the hot-path accessors, derived from the tables (never retyped).
const TXQ_GREF = netif_tx_request.gref[0];
const TXQ_OFFSET = netif_tx_request.offset[0];
const TXQ_FLAGS = netif_tx_request.flags[0];
const TXQ_ID = netif_tx_request.id[0];
const TXQ_SIZE = netif_tx_request.size[0];
const TXS_ID = netif_tx_response.id[0];
const TXS_STATUS = netif_tx_response.status[0];
const RXQ_ID = netif_rx_request.id[0];
const RXQ_GREF = netif_rx_request.gref[0];
const RXS_ID = netif_rx_response.id[0];
const RXS_OFFSET = netif_rx_response.offset[0];
const RXS_FLAGS = netif_rx_response.flags[0];
const RXS_STATUS = netif_rx_response.status[0];
const EX_TYPE = netif_extra_info.type[0];
const EX_FLAGS = netif_extra_info.flags[0];
const EX_GSO_SIZE = netif_extra_info['u.gso.size'][0];
const EX_GSO_TYPE = netif_extra_info['u.gso.type'][0];
const EX_GSO_PAD = netif_extra_info['u.gso.pad'][0];
const EX_GSO_FEATURES = netif_extra_info['u.gso.features'][0];
const EX_MCAST_ADDR = netif_extra_info['u.mcast.addr'][0];
const EX_HASH_TYPE = netif_extra_info['u.hash.type'][0];
const EX_HASH_ALG = netif_extra_info['u.hash.algorithm'][0];
const EX_HASH_VALUE = netif_extra_info['u.hash.value'][0];
const CQ_ID = xen_netif_ctrl_request.id[0];
const CQ_TYPE = xen_netif_ctrl_request.type[0];
const CQ_DATA = xen_netif_ctrl_request.data[0];
const CS_ID = xen_netif_ctrl_response.id[0];
const CS_TYPE = xen_netif_ctrl_response.type[0];
const CS_STATUS = xen_netif_ctrl_response.status[0];
const CS_DATA = xen_netif_ctrl_response.data[0];

// ---------------------------------------------------------------------------------------------
// netif_tx_request

/** Parsed netif_tx_request. */
export interface TxRequest {
  gref: number;
  offset: number;
  flags: number;
  id: number;
  size: number;
}

/** Writes all 12 bytes of a netif_tx_request (netfront stores the whole struct: `*tx = tx_local`). */
export function writeTxRequest(
  view: DataView, off: number, gref: number, offset: number, flags: number, id: number, size: number,
): void {
  view.setUint32(off + TXQ_GREF, gref, true);
  view.setUint16(off + TXQ_OFFSET, offset, true);
  view.setUint16(off + TXQ_FLAGS, flags, true);
  view.setUint16(off + TXQ_ID, id, true);
  view.setUint16(off + TXQ_SIZE, size, true);
}
export function txRequestGref(view: DataView, off: number): number {
  return view.getUint32(off + TXQ_GREF, true);
}
export function txRequestOffset(view: DataView, off: number): number {
  return view.getUint16(off + TXQ_OFFSET, true);
}
export function txRequestFlags(view: DataView, off: number): number {
  return view.getUint16(off + TXQ_FLAGS, true);
}
export function txRequestId(view: DataView, off: number): number {
  return view.getUint16(off + TXQ_ID, true);
}
export function txRequestSize(view: DataView, off: number): number {
  return view.getUint16(off + TXQ_SIZE, true);
}
/** Stores only `flags` (netfront sets NETTXF_more_data on the previous request this way). */
export function setTxRequestFlags(view: DataView, off: number, flags: number): void {
  view.setUint16(off + TXQ_FLAGS, flags, true);
}
/** Stores only `size` (netfront's final `first_tx->size = skb->len`). */
export function setTxRequestSize(view: DataView, off: number, size: number): void {
  view.setUint16(off + TXQ_SIZE, size, true);
}
/** Reads a netif_tx_request into a new object (inspection form). */
export function readTxRequest(view: DataView, off: number): TxRequest {
  return readTxRequestInto(view, off, { gref: 0, offset: 0, flags: 0, id: 0, size: 0 });
}
/** Reads a netif_tx_request into `out` without allocating (RING_COPY_REQUEST into a local). */
export function readTxRequestInto(view: DataView, off: number, out: TxRequest): TxRequest {
  out.gref = view.getUint32(off + TXQ_GREF, true);
  out.offset = view.getUint16(off + TXQ_OFFSET, true);
  out.flags = view.getUint16(off + TXQ_FLAGS, true);
  out.id = view.getUint16(off + TXQ_ID, true);
  out.size = view.getUint16(off + TXQ_SIZE, true);
  return out;
}

// ---------------------------------------------------------------------------------------------
// netif_tx_response

/** Parsed netif_tx_response. */
export interface TxResponse {
  id: number;
  /** int16: NETIF_RSP_* */
  status: number;
}

/** Writes a netif_tx_response: bytes 0..3 of the slot only; bytes 4..11 keep the request's. */
export function writeTxResponse(view: DataView, off: number, id: number, status: number): void {
  view.setUint16(off + TXS_ID, id, true);
  view.setInt16(off + TXS_STATUS, status, true);
}
/**
 * Writes the response of an extra_info slot: only `status = NETIF_RSP_NULL` (2 bytes); the
 * slot's `id` bytes keep whatever the extra_info request left there.
 * @models torvalds/linux drivers/net/xen-netback/netback.c make_tx_response()
 * @simplified only the per-extra-slot store `RING_GET_RESPONSE(&queue->tx, ++i)->status = XEN_NETIF_RSP_NULL`.
 */
export function writeTxNullResponse(view: DataView, off: number): void {
  view.setInt16(off + TXS_STATUS, NETIF_RSP_NULL, true);
}
export function txResponseId(view: DataView, off: number): number {
  return view.getUint16(off + TXS_ID, true);
}
export function txResponseStatus(view: DataView, off: number): number {
  return view.getInt16(off + TXS_STATUS, true);
}
export function readTxResponse(view: DataView, off: number): TxResponse {
  return { id: view.getUint16(off + TXS_ID, true), status: view.getInt16(off + TXS_STATUS, true) };
}

// ---------------------------------------------------------------------------------------------
// netif_rx_request

/** Parsed netif_rx_request. */
export interface RxRequest {
  id: number;
  pad: number;
  gref: number;
}

/** Writes `id` and `gref` of a netif_rx_request; `pad` (bytes 2..3) is not written, as in netfront. */
export function writeRxRequest(view: DataView, off: number, id: number, gref: number): void {
  view.setUint16(off + RXQ_ID, id, true);
  view.setUint32(off + RXQ_GREF, gref, true);
}
export function rxRequestId(view: DataView, off: number): number {
  return view.getUint16(off + RXQ_ID, true);
}
export function rxRequestGref(view: DataView, off: number): number {
  return view.getUint32(off + RXQ_GREF, true);
}
export function readRxRequest(view: DataView, off: number): RxRequest {
  return {
    id: view.getUint16(off + RXQ_ID, true),
    pad: view.getUint16(off + netif_rx_request.pad[0], true),
    gref: view.getUint32(off + RXQ_GREF, true),
  };
}

// ---------------------------------------------------------------------------------------------
// netif_rx_response

/** Parsed netif_rx_response. */
export interface RxResponse {
  id: number;
  offset: number;
  flags: number;
  /** int16: bytes in this fragment (>= 0) or an error (NETIF_RSP_* or a raw GNTST_* code). */
  status: number;
}

/** Writes all 8 bytes of a netif_rx_response. */
export function writeRxResponse(view: DataView, off: number, id: number, offset: number, flags: number, status: number): void {
  view.setUint16(off + RXS_ID, id, true);
  view.setUint16(off + RXS_OFFSET, offset, true);
  view.setUint16(off + RXS_FLAGS, flags, true);
  view.setInt16(off + RXS_STATUS, status, true);
}
/** Stores only `status` (netback overwrites it with the GNTST_* code of a failed copy). */
export function setRxResponseStatus(view: DataView, off: number, status: number): void {
  view.setInt16(off + RXS_STATUS, status, true);
}
/** Stores only `flags`. */
export function setRxResponseFlags(view: DataView, off: number, flags: number): void {
  view.setUint16(off + RXS_FLAGS, flags, true);
}
export function rxResponseId(view: DataView, off: number): number {
  return view.getUint16(off + RXS_ID, true);
}
export function rxResponseOffset(view: DataView, off: number): number {
  return view.getUint16(off + RXS_OFFSET, true);
}
export function rxResponseFlags(view: DataView, off: number): number {
  return view.getUint16(off + RXS_FLAGS, true);
}
export function rxResponseStatus(view: DataView, off: number): number {
  return view.getInt16(off + RXS_STATUS, true);
}
export function readRxResponse(view: DataView, off: number): RxResponse {
  return readRxResponseInto(view, off, { id: 0, offset: 0, flags: 0, status: 0 });
}
export function readRxResponseInto(view: DataView, off: number, out: RxResponse): RxResponse {
  out.id = view.getUint16(off + RXS_ID, true);
  out.offset = view.getUint16(off + RXS_OFFSET, true);
  out.flags = view.getUint16(off + RXS_FLAGS, true);
  out.status = view.getInt16(off + RXS_STATUS, true);
  return out;
}

// ---------------------------------------------------------------------------------------------
// netif_extra_info

/** Parsed netif_extra_info, discriminated by `type`; `raw` is the 6-byte union as u16[3]. */
export type ExtraInfo =
  | { type: typeof XEN_NETIF_EXTRA_TYPE_GSO; flags: number; gso: { size: number; type: number; pad: number; features: number } }
  | { type: typeof XEN_NETIF_EXTRA_TYPE_MCAST_ADD | typeof XEN_NETIF_EXTRA_TYPE_MCAST_DEL; flags: number; mcast: { addr: number[] } }
  | { type: typeof XEN_NETIF_EXTRA_TYPE_HASH; flags: number; hash: { type: number; algorithm: number; value: number } }
  | { type: number; flags: number; raw: [number, number, number] };

/**
 * Writes a GSO extra_info (all 8 bytes; in a tx slot bytes 8..11 are untouched padding).
 * netfront writes flags 0, pad 0, features 0.
 */
export function writeExtraGso(view: DataView, off: number, flags: number, gsoSize: number, gsoType: number, features = 0): void {
  view.setUint8(off + EX_TYPE, XEN_NETIF_EXTRA_TYPE_GSO);
  view.setUint8(off + EX_FLAGS, flags);
  view.setUint16(off + EX_GSO_SIZE, gsoSize, true);
  view.setUint8(off + EX_GSO_TYPE, gsoType);
  view.setUint8(off + EX_GSO_PAD, 0);
  view.setUint16(off + EX_GSO_FEATURES, features, true);
}

/** Writes an MCAST_ADD / MCAST_DEL extra_info; `addr` is 6 bytes (or a 6-element array). */
export function writeExtraMcast(view: DataView, off: number, type: number, flags: number, addr: ArrayLike<number>): void {
  if (type !== XEN_NETIF_EXTRA_TYPE_MCAST_ADD && type !== XEN_NETIF_EXTRA_TYPE_MCAST_DEL) {
    throw new Error(`writeExtraMcast: type ${type} is not XEN_NETIF_EXTRA_TYPE_MCAST_ADD (2) or _MCAST_DEL (3)`);
  }
  if (addr.length !== 6) {
    throw new Error(`writeExtraMcast: addr has ${addr.length} bytes; a MAC address has exactly 6`);
  }
  view.setUint8(off + EX_TYPE, type);
  view.setUint8(off + EX_FLAGS, flags);
  for (let i = 0; i < 6; i++) view.setUint8(off + EX_MCAST_ADDR + i, addr[i]!);
}

/** Writes a HASH extra_info; `value` goes in u.hash.value LSB first (`*(u32 *)value = hash` on x86). */
export function writeExtraHash(view: DataView, off: number, flags: number, hashType: number, algorithm: number, value: number): void {
  view.setUint8(off + EX_TYPE, XEN_NETIF_EXTRA_TYPE_HASH);
  view.setUint8(off + EX_FLAGS, flags);
  view.setUint8(off + EX_HASH_TYPE, hashType);
  view.setUint8(off + EX_HASH_ALG, algorithm);
  view.setUint32(off + EX_HASH_VALUE, value, true);
}

export function extraType(view: DataView, off: number): number {
  return view.getUint8(off + EX_TYPE);
}
export function extraFlags(view: DataView, off: number): number {
  return view.getUint8(off + EX_FLAGS);
}
export function extraGsoSize(view: DataView, off: number): number {
  return view.getUint16(off + EX_GSO_SIZE, true);
}
export function extraGsoType(view: DataView, off: number): number {
  return view.getUint8(off + EX_GSO_TYPE);
}
export function extraGsoFeatures(view: DataView, off: number): number {
  return view.getUint16(off + EX_GSO_FEATURES, true);
}
/** Copies u.mcast.addr (6 bytes) into `out` at `outOff` without allocating; returns `out`. */
export function extraMcastAddr(view: DataView, off: number, out: Uint8Array, outOff = 0): Uint8Array {
  for (let i = 0; i < 6; i++) out[outOff + i] = view.getUint8(off + EX_MCAST_ADDR + i);
  return out;
}
export function extraHashType(view: DataView, off: number): number {
  return view.getUint8(off + EX_HASH_TYPE);
}
export function extraHashAlgorithm(view: DataView, off: number): number {
  return view.getUint8(off + EX_HASH_ALG);
}
export function extraHashValue(view: DataView, off: number): number {
  return view.getUint32(off + EX_HASH_VALUE, true);
}

/** Reads a netif_extra_info (inspection form). Unknown types return the raw union; never throws on values. */
export function readExtraInfo(view: DataView, off: number): ExtraInfo {
  const type = view.getUint8(off + EX_TYPE);
  const flags = view.getUint8(off + EX_FLAGS);
  switch (type) {
    case XEN_NETIF_EXTRA_TYPE_GSO:
      return {
        type,
        flags,
        gso: {
          size: view.getUint16(off + EX_GSO_SIZE, true),
          type: view.getUint8(off + EX_GSO_TYPE),
          pad: view.getUint8(off + EX_GSO_PAD),
          features: view.getUint16(off + EX_GSO_FEATURES, true),
        },
      };
    case XEN_NETIF_EXTRA_TYPE_MCAST_ADD:
    case XEN_NETIF_EXTRA_TYPE_MCAST_DEL: {
      const addr: number[] = [];
      for (let i = 0; i < 6; i++) addr.push(view.getUint8(off + EX_MCAST_ADDR + i));
      return { type, flags, mcast: { addr } };
    }
    case XEN_NETIF_EXTRA_TYPE_HASH:
      return {
        type,
        flags,
        hash: {
          type: view.getUint8(off + EX_HASH_TYPE),
          algorithm: view.getUint8(off + EX_HASH_ALG),
          value: view.getUint32(off + EX_HASH_VALUE, true),
        },
      };
    default:
      return {
        type,
        flags,
        raw: [view.getUint16(off + 2, true), view.getUint16(off + 4, true), view.getUint16(off + 6, true)],
      };
  }
}

// ---------------------------------------------------------------------------------------------
// Control ring

export interface CtrlRequest {
  id: number;
  type: number;
  data: [number, number, number];
}
export interface CtrlResponse {
  id: number;
  type: number;
  status: number;
  data: number;
}

/** Writes all 16 bytes of a xen_netif_ctrl_request. */
export function writeCtrlRequest(view: DataView, off: number, id: number, type: number, d0: number, d1: number, d2: number): void {
  view.setUint16(off + CQ_ID, id, true);
  view.setUint16(off + CQ_TYPE, type, true);
  view.setUint32(off + CQ_DATA, d0, true);
  view.setUint32(off + CQ_DATA + 4, d1, true);
  view.setUint32(off + CQ_DATA + 8, d2, true);
}
export function readCtrlRequest(view: DataView, off: number): CtrlRequest {
  return {
    id: view.getUint16(off + CQ_ID, true),
    type: view.getUint16(off + CQ_TYPE, true),
    data: [view.getUint32(off + CQ_DATA, true), view.getUint32(off + CQ_DATA + 4, true), view.getUint32(off + CQ_DATA + 8, true)],
  };
}
/** Writes the 12 bytes of a xen_netif_ctrl_response (bytes 12..15 of the slot are untouched). */
export function writeCtrlResponse(view: DataView, off: number, id: number, type: number, status: number, data: number): void {
  view.setUint16(off + CS_ID, id, true);
  view.setUint16(off + CS_TYPE, type, true);
  view.setUint32(off + CS_STATUS, status, true);
  view.setUint32(off + CS_DATA, data, true);
}
export function readCtrlResponse(view: DataView, off: number): CtrlResponse {
  return {
    id: view.getUint16(off + CS_ID, true),
    type: view.getUint16(off + CS_TYPE, true),
    status: view.getUint32(off + CS_STATUS, true),
    data: view.getUint32(off + CS_DATA, true),
  };
}

// ---------------------------------------------------------------------------------------------
// Flag names (for inspection and traces)

const TX_FLAG_NAMES: readonly (readonly [number, string])[] = [
  [NETTXF_csum_blank, 'csum_blank'],
  [NETTXF_data_validated, 'data_validated'],
  [NETTXF_more_data, 'more_data'],
  [NETTXF_extra_info, 'extra_info'],
];
const RX_FLAG_NAMES: readonly (readonly [number, string])[] = [
  [NETRXF_data_validated, 'data_validated'],
  [NETRXF_csum_blank, 'csum_blank'],
  [NETRXF_more_data, 'more_data'],
  [NETRXF_extra_info, 'extra_info'],
  [NETRXF_gso_prefix, 'gso_prefix'],
];

function flagNames(flags: number, table: readonly (readonly [number, string])[]): string[] {
  const out: string[] = [];
  let rest = flags;
  for (const [bit, name] of table) {
    if (flags & bit) {
      out.push(name);
      rest &= ~bit;
    }
  }
  if (rest !== 0) out.push(`0x${rest.toString(16)}`);
  return out;
}

/** `['csum_blank', 'more_data']` for NETTXF flags 0x5; unknown bits as hex. */
export function txFlagNames(flags: number): string[] {
  return flagNames(flags, TX_FLAG_NAMES);
}
/** Names of NETRXF_* bits (note the swapped csum_blank / data_validated positions). */
export function rxFlagNames(flags: number): string[] {
  return flagNames(flags, RX_FLAG_NAMES);
}

const EXTRA_TYPE_NAMES = ['NONE', 'GSO', 'MCAST_ADD', 'MCAST_DEL', 'HASH', 'XDP'];
/** `'GSO'` for 1 …; `'XDP'` (Linux-only) for 5; `'type<n>'` otherwise. */
export function extraTypeName(type: number): string {
  return EXTRA_TYPE_NAMES[type] ?? `type${type}`;
}

/** `'OKAY'`, `'ERROR'`, `'DROPPED'`, `'NULL'`, or the number as text. */
export function netifRspName(status: number): string {
  switch (status) {
    case NETIF_RSP_DROPPED: return 'DROPPED';
    case NETIF_RSP_ERROR: return 'ERROR';
    case NETIF_RSP_OKAY: return 'OKAY';
    case NETIF_RSP_NULL: return 'NULL';
    default: return String(status);
  }
}
