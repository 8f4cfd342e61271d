/**
 * Inspection of a ring page for notebooks and debugging: the four shared indices and every
 * slot of interest, decoded as netif requests / responses / extras, with the state of each slot
 * given the private indices of the two ends (when known).
 *
 * Plain data and text only: `ringPageRows()` returns row arrays that the lab display module can
 * render as tables; `hexdumpRing()` returns an annotated hexdump as a string.
 *
 * Slot states, for ring index i (all comparisons mod 2^32, relative to the oldest index shown):
 *
 *   rsp_cons        rsp_prod       rsp_prod_pvt     req_cons        req_prod       req_prod_pvt
 *   ----|--consumed--|--unconsumed--|---unpushed----|---in flight---|--unconsumed--|--unpushed--|
 *        response       response        response        request         request       request
 *
 * Without the back end's private indices, requests in [rsp_prod, req_prod) are "request pending";
 * without the front end's, responses below rsp_prod are "response published", and 'used' shows
 * them from rsp_event - 1 (the front's rsp_cons at its last RING_FINAL_CHECK_FOR_RESPONSES).
 * Extras are recognised by following NETTXF_extra_info / NETRXF_extra_info and
 * XEN_NETIF_EXTRA_FLAG_MORE from the oldest slot shown (best effort if that slot is mid-packet);
 * tx response slots with status NETIF_RSP_NULL are the responses of extras.
 */
import {
  NETIF_RING_KINDS,
  NETIF_RSP_NULL,
  NETRXF_extra_info,
  NETTXF_extra_info,
  XEN_NETIF_EXTRA_FLAG_MORE,
  XEN_NETIF_EXTRA_TYPE_GSO,
  XEN_NETIF_EXTRA_TYPE_HASH,
  XEN_NETIF_EXTRA_TYPE_MCAST_ADD,
  XEN_NETIF_EXTRA_TYPE_MCAST_DEL,
  extraTypeName,
  netifRspName,
  readCtrlRequest,
  readCtrlResponse,
  readExtraInfo,
  readRxRequest,
  readRxResponse,
  readTxRequest,
  readTxResponse,
  rxFlagNames,
  txFlagNames,
  type NetifRingKind,
} from './netif';
import { SRING_RING_OFFSET, __CONST_RING_SIZE, ringBytesFor } from './ring';
import { XEN_PAGE_SIZE } from './xen-constants';

/** What a slot holds given the indices. */
export type RingSlotState =
  | 'request unpushed'
  | 'request unconsumed'
  | 'request pending'
  | 'request in flight'
  | 'response unpushed'
  | 'response unconsumed'
  | 'response published'
  | 'response consumed';

/** One of the four shared indices. */
export interface RingHeaderRow {
  field: 'req_prod' | 'req_event' | 'rsp_prod' | 'rsp_event';
  /** Byte offset in the page. */
  offset: number;
  value: number;
  /** The 4 bytes as they sit in memory (little-endian). */
  hex: string;
  /** Which end writes this field. */
  writer: 'front' | 'back';
  note: string;
}

/** One ring slot. */
export interface RingSlotRow {
  /** Free-running ring index whose request/response this slot holds. */
  index: number;
  /** index & (nr_ents - 1) */
  slot: number;
  /** Byte offset of the slot in the page. */
  offset: number;
  /** The slot's bytes (entry size) as hex pairs separated by spaces. */
  hex: string;
  state: RingSlotState;
  /** 'request', 'response', 'extra' (an extra_info in a request or response slot) or 'null' (tx NULL response). */
  role: 'request' | 'response' | 'extra' | 'null';
  /** One line, e.g. `tx req id=5 gref=0x11223344 offset=258 size=1514 flags=csum_blank|more_data`. */
  decoded: string;
  /** Decoded fields by C member name. */
  fields: Record<string, number | string>;
}

/** Everything `ringPageRows()` returns. */
export interface RingPageRows {
  kind: NetifRingKind;
  /** C name of the ring (netif_tx, netif_rx, xen_netif_ctrl). */
  ringName: string;
  nr_ents: number;
  entrySize: number;
  header: RingHeaderRow[];
  slots: RingSlotRow[];
  /** Counts derived from the indices (u32 differences). */
  summary: {
    requestsPublishedUnanswered: number;
    responsesUnconsumed: number | null;
    requestsUnconsumed: number | null;
    requestsUnpushed: number | null;
    responsesUnpushed: number | null;
  };
}

/** Options for ringPageRows / hexdumpRing. */
export interface RingInspectOptions {
  /** Front end private indices (a FrontRing fits). */
  front?: { req_prod_pvt: number; rsp_cons: number };
  /** Back end private indices (a BackRing fits). */
  back?: { rsp_prod_pvt: number; req_cons: number };
  /** 'used' (default): slots holding live requests or unconsumed responses; 'all': every slot; n: the last n indices. */
  slots?: 'used' | 'all' | number;
  /** Where the ring starts in `page` (default 0). */
  byteOffset?: number;
  /** Ring size if smaller than a page holds (a power of two). */
  ringSize?: number;
}

function hex(bytes: Uint8Array, start: number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) {
    if (i) s += ' ';
    s += bytes[start + i]!.toString(16).padStart(2, '0');
  }
  return s;
}

/**
 * Decodes the header and slots of a netif ring page into rows.
 * @param page the ring page (Uint8Array or DataView)
 * @param kind 'tx', 'rx' or 'ctrl'
 */
export function ringPageRows(page: Uint8Array | DataView, kind: NetifRingKind, opts: RingInspectOptions = {}): RingPageRows {
  const k = NETIF_RING_KINDS[kind];
  if (k === undefined) {
    throw new Error(`ringPageRows: kind ${JSON.stringify(kind)} is not a ring kind; use 'tx', 'rx' or 'ctrl'`);
  }
  if (!(page instanceof Uint8Array) && !(page instanceof DataView)) {
    throw new Error('ringPageRows: page must be a Uint8Array or DataView over the ring page');
  }
  const base = opts.byteOffset ?? 0;
  if (!Number.isInteger(base) || base < 0 || base > page.byteLength) {
    throw new Error(`ringPageRows: byteOffset ${base} is outside the page (0..${page.byteLength})`);
  }
  const avail = page.byteLength - base;
  const sizeBytes = opts.ringSize === undefined ? Math.min(XEN_PAGE_SIZE, avail) : ringBytesFor(k.entrySize, opts.ringSize);
  if (sizeBytes > avail || avail < SRING_RING_OFFSET + k.entrySize) {
    throw new Error(`ringPageRows: page too small: ${avail} bytes from byteOffset ${base}, the ring needs ${Math.max(sizeBytes, SRING_RING_OFFSET + k.entrySize)}`);
  }
  const N = __CONST_RING_SIZE(k.entrySize, sizeBytes);
  const bytes = new Uint8Array(page.buffer, page.byteOffset + base, avail);
  const view = new DataView(page.buffer, page.byteOffset + base, avail);

  const req_prod = view.getUint32(0, true);
  const req_event = view.getUint32(4, true);
  const rsp_prod = view.getUint32(8, true);
  const rsp_event = view.getUint32(12, true);
  const header: RingHeaderRow[] = [
    { field: 'req_prod', offset: base + 0, value: req_prod, hex: hex(bytes, 0, 4), writer: 'front', note: 'requests published by the front end' },
    { field: 'req_event', offset: base + 4, value: req_event, hex: hex(bytes, 4, 4), writer: 'back', note: `back end asks for an event when req_prod reaches ${req_event}` },
    { field: 'rsp_prod', offset: base + 8, value: rsp_prod, hex: hex(bytes, 8, 4), writer: 'back', note: 'responses published by the back end' },
    { field: 'rsp_event', offset: base + 12, value: rsp_event, hex: hex(bytes, 12, 4), writer: 'front', note: `front end asks for an event when rsp_prod reaches ${rsp_event}` },
  ];

  const front = opts.front;
  const back = opts.back;
  const hi = front ? front.req_prod_pvt >>> 0 : req_prod;
  const lo = (hi - N) >>> 0;
  const P = (x: number): number => {
    const d = (x - lo) >>> 0;
    return d > N ? N : d;
  };
  const pReqProd = P(req_prod);
  const pRspProd = P(rsp_prod);
  const pReqCons = back ? P(back.req_cons) : -1;
  const pRspProdPvt = back ? P(back.rsp_prod_pvt) : -1;
  const pRspCons = front ? P(front.rsp_cons) : -1;

  const stateOf = (p: number): RingSlotState => {
    if (p >= pReqProd) return 'request unpushed';
    if (back) {
      if (p >= pReqCons) return 'request unconsumed';
      if (p >= pRspProdPvt) return 'request in flight';
      if (p >= pRspProd) return 'response unpushed';
    } else if (p >= pRspProd) {
      return 'request pending';
    }
    if (front) return p >= pRspCons ? 'response unconsumed' : 'response consumed';
    return 'response published';
  };

  // Which positions to show.
  let first: number;
  const mode = opts.slots ?? 'used';
  if (mode === 'all') first = 0;
  else if (typeof mode === 'number') {
    if (!Number.isInteger(mode) || mode < 0) {
      throw new Error(`ringPageRows: slots ${mode} is not allowed: use 'used', 'all' or a count of slots >= 0`);
    }
    first = Math.max(0, N - Math.min(mode, N));
  } else if (mode === 'used') {
    // Without the front's rsp_cons, rsp_event - 1 (its rsp_cons at its last final check) stands in.
    first = Math.min(front ? pRspCons : P((rsp_event - 1) >>> 0), pRspProd);
    if (back) first = Math.min(first, pRspProdPvt);
  } else {
    throw new Error(`ringPageRows: slots ${JSON.stringify(mode)} is not allowed: use 'used', 'all' or a count`);
  }

  const slots: RingSlotRow[] = [];
  const esz = k.entrySize;
  let reqExtras = false; // next request slot is an extra
  let rspExtras = false; // next response slot is an extra
  for (let p = first; p < N; p++) {
    const index = (lo + p) >>> 0;
    const slot = index & (N - 1);
    const off = SRING_RING_OFFSET + slot * esz;
    const state = stateOf(p);
    const isRequest = state.startsWith('request');
    let role: RingSlotRow['role'] = isRequest ? 'request' : 'response';
    let decoded = '';
    let fields: Record<string, number | string> = {};
    if (kind === 'ctrl') {
      if (isRequest) {
        const q = readCtrlRequest(view, off);
        fields = { id: q.id, type: q.type, 'data[0]': q.data[0], 'data[1]': q.data[1], 'data[2]': q.data[2] };
        decoded = `ctrl req id=${q.id} type=${q.type} data=[${q.data.map((d) => '0x' + d.toString(16)).join(', ')}]`;
      } else {
        const r = readCtrlResponse(view, off);
        fields = { id: r.id, type: r.type, status: r.status, data: r.data };
        decoded = `ctrl rsp id=${r.id} type=${r.type} status=${r.status} data=0x${r.data.toString(16)}`;
      }
    } else if (isRequest && kind === 'tx' && reqExtras) {
      role = 'extra';
      const ex = describeExtra(view, off);
      fields = ex.fields;
      decoded = `tx ${ex.text}`;
      reqExtras = (view.getUint8(off + 1) & XEN_NETIF_EXTRA_FLAG_MORE) !== 0;
    } else if (isRequest && kind === 'tx') {
      const q = readTxRequest(view, off);
      const fl = txFlagNames(q.flags);
      fields = { gref: q.gref, offset: q.offset, flags: q.flags, flagNames: fl.join('|'), id: q.id, size: q.size };
      decoded = `tx req id=${q.id} gref=0x${q.gref.toString(16)} offset=${q.offset} size=${q.size} flags=${fl.join('|') || '0'}`;
      reqExtras = (q.flags & NETTXF_extra_info) !== 0;
    } else if (isRequest) {
      const q = readRxRequest(view, off);
      fields = { id: q.id, pad: q.pad, gref: q.gref };
      decoded = `rx req id=${q.id} gref=0x${q.gref.toString(16)}`;
    } else if (kind === 'tx') {
      const r = readTxResponse(view, off);
      if (r.status === NETIF_RSP_NULL) {
        role = 'null';
        fields = { status: r.status, statusName: 'NULL' };
        decoded = 'tx rsp NULL (response slot of an extra)';
      } else {
        fields = { id: r.id, status: r.status, statusName: netifRspName(r.status) };
        decoded = `tx rsp id=${r.id} status=${netifRspName(r.status)}`;
      }
    } else if (rspExtras) {
      role = 'extra';
      const ex = describeExtra(view, off);
      fields = ex.fields;
      decoded = `rx ${ex.text}`;
      rspExtras = (view.getUint8(off + 1) & XEN_NETIF_EXTRA_FLAG_MORE) !== 0;
    } else {
      const r = readRxResponse(view, off);
      const fl = rxFlagNames(r.flags);
      fields = { id: r.id, offset: r.offset, flags: r.flags, flagNames: fl.join('|'), status: r.status };
      decoded = `rx rsp id=${r.id} offset=${r.offset} flags=${fl.join('|') || '0'} status=${r.status < 0 ? r.status + ' (error)' : r.status + ' bytes'}`;
      rspExtras = (r.flags & NETRXF_extra_info) !== 0;
    }
    slots.push({ index, slot, offset: base + off, hex: hex(bytes, off, esz), state, role, decoded, fields });
  }

  return {
    kind,
    ringName: k.name,
    nr_ents: N,
    entrySize: esz,
    header,
    slots,
    summary: {
      requestsPublishedUnanswered: (req_prod - rsp_prod) >>> 0,
      responsesUnconsumed: front ? (rsp_prod - front.rsp_cons) >>> 0 : null,
      requestsUnconsumed: back ? (req_prod - back.req_cons) >>> 0 : null,
      requestsUnpushed: front ? (front.req_prod_pvt - req_prod) >>> 0 : null,
      responsesUnpushed: back ? (back.rsp_prod_pvt - rsp_prod) >>> 0 : null,
    },
  };
}

function describeExtra(view: DataView, off: number): { text: string; fields: Record<string, number | string> } {
  const ex = readExtraInfo(view, off);
  const more = ex.flags & XEN_NETIF_EXTRA_FLAG_MORE ? ' MORE' : '';
  const name = extraTypeName(ex.type);
  const fields: Record<string, number | string> = { type: ex.type, typeName: name, flags: ex.flags };
  let detail = '';
  if (ex.type === XEN_NETIF_EXTRA_TYPE_GSO && 'gso' in ex) {
    fields['u.gso.size'] = ex.gso.size;
    fields['u.gso.type'] = ex.gso.type;
    fields['u.gso.features'] = ex.gso.features;
    detail = ` size=${ex.gso.size} gso_type=${ex.gso.type === 1 ? 'TCPV4' : ex.gso.type === 2 ? 'TCPV6' : ex.gso.type}`;
  } else if ((ex.type === XEN_NETIF_EXTRA_TYPE_MCAST_ADD || ex.type === XEN_NETIF_EXTRA_TYPE_MCAST_DEL) && 'mcast' in ex) {
    const mac = ex.mcast.addr.map((b) => b.toString(16).padStart(2, '0')).join(':');
    fields['u.mcast.addr'] = mac;
    detail = ` addr=${mac}`;
  } else if (ex.type === XEN_NETIF_EXTRA_TYPE_HASH && 'hash' in ex) {
    fields['u.hash.type'] = ex.hash.type;
    fields['u.hash.algorithm'] = ex.hash.algorithm;
    fields['u.hash.value'] = ex.hash.value;
    detail = ` hash_type=${ex.hash.type} algorithm=${ex.hash.algorithm} value=0x${ex.hash.value.toString(16)}`;
  }
  return { text: `extra ${name}${more}${detail}`, fields };
}

/**
 * An annotated hexdump of a ring page: the 16 header bytes with the indices, then one line per
 * slot shown (see RingInspectOptions.slots) with its bytes, state and decoding.
 */
export function hexdumpRing(page: Uint8Array | DataView, kind: NetifRingKind, opts: RingInspectOptions = {}): string {
  const rows = ringPageRows(page, kind, opts);
  const lines: string[] = [];
  lines.push(`${rows.ringName} ring: ${rows.nr_ents} slots of ${rows.entrySize} bytes at offset ${SRING_RING_OFFSET}`);
  for (const h of rows.header) {
    lines.push(`  ${h.offset.toString(16).padStart(4, '0')}  ${h.hex}  ${h.field.padEnd(9)} = ${String(h.value).padEnd(10)} (${h.writer}) ${h.note}`);
  }
  lines.push(`  0010  …           pvt + __pad (48 bytes)`);
  const s = rows.summary;
  const parts = [`published, unanswered requests: ${s.requestsPublishedUnanswered}`];
  if (s.requestsUnconsumed !== null) parts.push(`unconsumed requests: ${s.requestsUnconsumed}`);
  if (s.responsesUnconsumed !== null) parts.push(`unconsumed responses: ${s.responsesUnconsumed}`);
  if (s.requestsUnpushed !== null) parts.push(`unpushed requests: ${s.requestsUnpushed}`);
  if (s.responsesUnpushed !== null) parts.push(`unpushed responses: ${s.responsesUnpushed}`);
  lines.push(`  ${parts.join('; ')}`);
  if (rows.slots.length === 0) {
    lines.push('  (no slots in use)');
  } else {
    const hexw = rows.entrySize * 3 - 1;
    lines.push(`  ${'slot'.padStart(4)} ${'index'.padStart(10)}  ${'off'.padStart(4)}  ${'bytes'.padEnd(hexw)}  ${'state'.padEnd(19)}  decoded`);
    for (const r of rows.slots) {
      lines.push(`  ${String(r.slot).padStart(4)} ${String(r.index).padStart(10)}  ${r.offset.toString(16).padStart(4, '0')}  ${r.hex.padEnd(hexw)}  ${r.state.padEnd(19)}  ${r.decoded}`);
    }
  }
  return lines.join('\n');
}
