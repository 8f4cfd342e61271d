/**
 * Helpers for the misbehaving-guest lab (notebooks/05-misbehaving-guests.ipynb): they let a
 * notebook play a malicious or broken guest — one that writes into its shared ring page what no
 * correct netfront writes — through the model's real paths, and read back what netback did.
 *
 * A guest owns its ring pages, so a hostile guest kernel can write anything there at any time.
 * These helpers do exactly that, with the netif.h accessors on the guest's own ring page and
 * grant table, then notify the backend as netfront would (`notify_remote_via_evtchn`). Nothing
 * here changes netback or netfront; what happens next is the drivers' own code.
 *
 * | helper                 | plays / reads                                                              |
 * | ---------------------- | -------------------------------------------------------------------------- |
 * | `grantGuestPage`       | a guest page (optionally holding bytes) granted read-only to dom0          |
 * | `injectTxSlots`        | raw tx requests / extra slots written at req_prod_pvt, pushed, notified     |
 * | `sendMalformedTx`      | one of the malformed packets netback's fatal checks catch                  |
 * | `rewriteTxSlot`        | the guest rewrites the slot of its next packet, before or after netback reads it |
 * | `txResponseRows`       | the tx responses on the guest's ring page (id, status)                     |
 * | `hangGuestRx`          | a hung guest kernel: its rx event channel masked (no poll, no refill), and back |
 * | `vifRxState`           | netback's guest-rx queue of a vif: packets, bytes, free requests, carrier  |
 * | `netbackKernelLog`     | `netback.fatal` / `netback.carrier` records as the lines Linux's netback logs |
 * | `scheduleAt`           | a one-shot callback at an absolute virtual time                            |
 *
 * @models torvalds/linux drivers/net/xen-netback/netback.c (what the checks react to; the checks
 *   themselves are in src/drivers/netback)
 */
import type { AnyTraceRecord } from '../sim/trace';
import { RING_GET_REQUEST, RING_GET_RESPONSE, RING_PUSH_REQUESTS_AND_CHECK_NOTIFY } from '../io/ring';
import {
  NETIF_RSP_DROPPED, NETIF_RSP_ERROR, NETIF_RSP_NULL, NETIF_RSP_OKAY, NETTXF_extra_info, NETTXF_more_data,
  readTxRequest, txFlagNames, writeTxRequest, type TxRequest,
} from '../io/netif';
import { buildUdpFrame } from '../wire/build';
import { checkInt } from '../wire/error';
import type { Guest, XenHost } from './host';

const PAGE_SIZE = 4096;
const EXTRA_TYPE = 0;
const EXTRA_FLAGS = 1;

function fail(fn: string, what: string): never {
  throw new Error(`${fn}: ${what}`);
}

function queue0(fn: string, guest: Guest) {
  const q = guest?.netfront?.queues?.[0];
  if (q === undefined) fail(fn, `guest ${String(guest?.name)} has no connected netfront queue`);
  return q;
}

// ---------------------------------------------------------------------------------------------
// Writing into the tx ring as a hostile guest
// ---------------------------------------------------------------------------------------------

/** A guest page granted read-only to dom0 (what netfront does for each tx slot). */
export interface GrantedPage {
  pfn: number;
  gref: number;
  /** Bytes written at offset 0 of the page (0 when none). */
  size: number;
}

/**
 * Allocates one guest page, writes `bytes` at its start (if given) and grants it read-only to
 * dom0 (`gnttab_grant_foreign_access`), as netfront grants a tx slot's page.
 */
export function grantGuestPage(guest: Guest, bytes?: Uint8Array): GrantedPage {
  const fn = 'grantGuestPage';
  if (bytes !== undefined && (!(bytes instanceof Uint8Array) || bytes.length > PAGE_SIZE)) {
    fail(fn, `bytes must be a Uint8Array of at most ${PAGE_SIZE} bytes`);
  }
  const xen = guest.netfront.xen;
  const [pfn] = xen.allocPages(1) as [number];
  if (bytes !== undefined) xen.page(pfn).set(bytes, 0);
  const gref = xen.gnttab_grant_foreign_access(0, xen.pfn_to_gfn(pfn), true);
  return { pfn, gref, size: bytes?.length ?? 0 };
}

/** A UDP frame from `guest` to `dstIp`:`port` (dst MAC `dstMac`), `frameLen` bytes on the wire minus FCS. */
export function guestUdpFrame(guest: Guest, dstIp: string, dstMac: string, port: number, frameLen: number): Uint8Array {
  checkInt('guestUdpFrame', 'frameLen', frameLen, 60, 1514);
  return buildUdpFrame({
    srcMac: guest.mac, dstMac, srcIp: guest.ip, dstIp, srcPort: port, dstPort: port, payloadLength: frameLen - 42,
  });
}

/** One raw slot: a `netif_tx_request`, or an extra_info slot (`extraType`, `extraFlags`). */
export type RawTxSlot =
  | { gref: number; offset: number; flags: number; id: number; size: number }
  | { extraType: number; extraFlags?: number };

/** Where injected slots landed on the ring. */
export interface InjectedSlots {
  /** Free-running ring index of the first slot written. */
  first: number;
  /** req_prod as published. */
  reqProd: number;
}

/**
 * Writes `slots` into the guest's tx ring at its `req_prod_pvt` (queue 0), publishes them with
 * `RING_PUSH_REQUESTS_AND_CHECK_NOTIFY`, optionally overwrites the shared `req_prod` with
 * `reqProd` (an impossible producer index), and notifies the backend.
 */
export function injectTxSlots(guest: Guest, slots: readonly RawTxSlot[], opts: { reqProd?: number } = {}): InjectedSlots {
  const fn = 'injectTxSlots';
  if (!Array.isArray(slots)) fail(fn, 'slots must be an array of {gref, offset, flags, id, size} or {extraType}');
  const q = queue0(fn, guest);
  const view = q.tx.sring.view;
  const first = q.tx.req_prod_pvt;
  for (const s of slots) {
    const idx = q.tx.req_prod_pvt;
    const o = RING_GET_REQUEST(q.tx, idx);
    if ('extraType' in s) {
      view.setUint8(o + EXTRA_TYPE, checkInt(fn, 'extraType', s.extraType, 0, 255));
      view.setUint8(o + EXTRA_FLAGS, checkInt(fn, 'extraFlags', s.extraFlags ?? 0, 0, 255));
    } else {
      writeTxRequest(view, o, checkInt(fn, 'gref', s.gref, 0, 0xffffffff), checkInt(fn, 'offset', s.offset, 0, 0xffff),
        checkInt(fn, 'flags', s.flags, 0, 0xffff), checkInt(fn, 'id', s.id, 0, 0xffff), checkInt(fn, 'size', s.size, 0, 0xffff));
    }
    q.tx.req_prod_pvt = (idx + 1) >>> 0;
  }
  RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(q.tx);
  if (opts.reqProd !== undefined) q.tx.sring.req_prod = checkInt(fn, 'reqProd', opts.reqProd, 0, 0xffffffff);
  guest.netfront.xen.notify_remote_via_evtchn(q.tx_evtchn);
  return { first, reqProd: q.tx.sring.req_prod };
}

/** Malformed packets that modern netback treats as fatal. */
export type MalformedTx = 'offset' | 'slots' | 'req_prod' | 'extra';

/** The malformed kinds with the check that catches each in Linux's netback. */
export const MALFORMED_TX: Readonly<Record<MalformedTx, { what: string; check: string }>> = {
  offset: { what: 'a request whose offset + size runs past its 4 KiB page', check: 'xenvif_tx_build_gops: txreq.offset + txreq.size > XEN_PAGE_SIZE' },
  slots: { what: 'one packet chained over fatal_skb_slots + 4 slots (more_data)', check: 'xenvif_count_requests: slots >= fatal_skb_slots' },
  req_prod: { what: 'req_prod moved 1000 slots ahead (a ring holds 256)', check: 'xenvif_tx_build_gops: req_prod - req_cons > XEN_NETIF_TX_RING_SIZE' },
  extra: { what: 'an extra_info slot of type 9 (types end at XEN_NETIF_EXTRA_TYPE_MAX)', check: 'xenvif_get_extras: !extra.type || extra.type >= XEN_NETIF_EXTRA_TYPE_MAX' },
};

/**
 * Makes `guest` write one malformed packet (`kind`, see MALFORMED_TX) into its tx ring and
 * notify netback. The packet's bytes are a valid UDP frame to `dstIp` in a granted guest page,
 * so only the ring fields are wrong. Request ids start at `firstId` (default 200). `fatalSlots`
 * is netback's fatal_skb_slots (for kind 'slots'; default 20). Returns what was written.
 */
export function sendMalformedTx(
  guest: Guest, kind: MalformedTx,
  opts: { dstIp?: string; dstMac?: string; port?: number; firstId?: number; fatalSlots?: number } = {},
): InjectedSlots & { kind: MalformedTx; slots: number } {
  const fn = 'sendMalformedTx';
  if (!(kind in MALFORMED_TX)) fail(fn, `kind ${JSON.stringify(kind)} is not allowed; use ${Object.keys(MALFORMED_TX).join(', ')}`);
  const q = queue0(fn, guest);
  const id = checkInt(fn, 'firstId', opts.firstId ?? 200, 0, 0xffff - 64);
  const frame = guestUdpFrame(guest, opts.dstIp ?? '10.0.0.100', opts.dstMac ?? '00:1b:21:aa:bb:cc', opts.port ?? 9000, 200);
  const page = grantGuestPage(guest, frame);
  let slots: RawTxSlot[];
  let reqProd: number | undefined;
  switch (kind) {
    case 'offset':
      slots = [{ gref: page.gref, offset: 4000, flags: 0, id, size: page.size }];
      break;
    case 'slots': {
      const n = checkInt(fn, 'fatalSlots', opts.fatalSlots ?? 20, 1, 240) + 4;
      slots = [];
      for (let i = 0; i < n; i++) {
        slots.push({ gref: page.gref, offset: 0, flags: i < n - 1 ? NETTXF_more_data : 0, id: id + i, size: i === 0 ? n * 8 : 8 });
      }
      break;
    }
    case 'req_prod':
      slots = [];
      reqProd = (q.tx.sring.rsp_prod + 1000) >>> 0;
      break;
    case 'extra':
      slots = [{ gref: page.gref, offset: 0, flags: NETTXF_extra_info, id, size: page.size }, { extraType: 9 }];
      break;
  }
  const r = injectTxSlots(guest, slots, reqProd === undefined ? {} : { reqProd });
  return { ...r, kind, slots: slots.length };
}

/** What `rewriteTxSlot` saw and did. */
export interface TxRewrite {
  /** Free-running ring index of the rewritten slot (-1 until netfront pushed). */
  index: number;
  /** The request as netfront wrote it. */
  written: TxRequest | null;
  /** The request after the guest's rewrite (null until done). */
  rewritten: TxRequest | null;
  /** netback's req_cons at the moment of the rewrite. */
  reqConsAtRewrite: number;
  /** Virtual time of the rewrite (ns). */
  t: number;
  /** Stops watching (if the rewrite never happened). */
  stop(): void;
}

/**
 * Arms a one-shot rewrite of the first request netfront pushes next on `guest`'s tx ring
 * (queue 0): fields in `patch` replace the ones netfront wrote. `when` is
 * - 'before-read': right after `RING_PUSH_REQUESTS_AND_CHECK_NOTIFY`, before netback's interrupt
 *   runs — netback reads the rewritten slot;
 * - 'after-read': at netback's first grant-copy hypercall after its `req_cons` passed the slot —
 *   netback has already taken its private copy (RING_COPY_REQUEST), as a guest's second vCPU
 *   racing with netback would (the XSA-155 double fetch).
 */
export function rewriteTxSlot(host: XenHost, guest: Guest, patch: Partial<TxRequest>, when: 'before-read' | 'after-read'): TxRewrite {
  const fn = 'rewriteTxSlot';
  if (when !== 'before-read' && when !== 'after-read') fail(fn, `when ${JSON.stringify(when)} is not allowed; use 'before-read' or 'after-read'`);
  const q = queue0(fn, guest);
  const vq = guest.vif.queues[0]!;
  const view = q.tx.sring.view;
  const prodBefore = q.tx.sring.req_prod;
  const out: TxRewrite = { index: -1, written: null, rewritten: null, reqConsAtRewrite: 0, t: 0, stop: () => undefined };
  const apply = (): void => {
    const o = RING_GET_REQUEST(q.tx, out.index);
    const r = { ...out.written!, ...patch };
    writeTxRequest(view, o, r.gref, r.offset, r.flags, r.id, r.size);
    out.rewritten = readTxRequest(view, o);
    out.reqConsAtRewrite = vq.tx!.req_cons;
    out.t = host.sim.now;
    stop();
  };
  const offPush = host.sim.trace.on('netfront.tx.push', () => {
    if (out.index >= 0 || q.tx.sring.req_prod === prodBefore) return; // another guest's push
    out.index = prodBefore;
    out.written = readTxRequest(view, RING_GET_REQUEST(q.tx, out.index));
    if (when === 'before-read') apply();
  });
  const offCopy = host.sim.trace.on('xen.gnttab.copy', () => {
    if (when !== 'after-read' || out.index < 0 || out.rewritten !== null) return;
    if (((vq.tx!.req_cons - out.index) | 0) <= 0) return; // netback has not read the slot yet
    apply();
  });
  const stop = (): void => { offPush(); offCopy(); };
  out.stop = stop;
  return out;
}

/** Names of tx response statuses (netif.h). */
export function txStatusName(status: number): string {
  switch (status) {
    case NETIF_RSP_OKAY: return 'NETIF_RSP_OKAY';
    case NETIF_RSP_ERROR: return 'NETIF_RSP_ERROR';
    case NETIF_RSP_DROPPED: return 'NETIF_RSP_DROPPED';
    case NETIF_RSP_NULL: return 'NETIF_RSP_NULL';
    default: return `status ${status}`;
  }
}

/** One tx response read from the ring page. */
export interface TxResponseRow {
  index: number;
  slot: number;
  id: number;
  status: number;
  status_name: string;
}

/**
 * The tx responses of `guest`'s queue 0 from ring index `from` up to the shared rsp_prod, read
 * from the page. A ring holds 256 slots: when more responses than that were written since
 * `from`, only the last 256 are still on the page and only those are returned.
 */
export function txResponseRows(guest: Guest, from: number): TxResponseRow[] {
  const q = queue0('txResponseRows', guest);
  checkInt('txResponseRows', 'from', from, 0, 0xffffffff);
  const view = q.tx.sring.view;
  const rows: TxResponseRow[] = [];
  const prod = q.tx.sring.rsp_prod;
  let n = (prod - from) >>> 0;
  let start = from;
  if (n > 256) {
    start = (prod - 256) >>> 0;
    n = 256;
  }
  for (let i = 0; i < n; i++) {
    const idx = (start + i) >>> 0;
    const o = RING_GET_RESPONSE(q.tx, idx);
    const status = view.getInt16(o + 2, true);
    rows.push({ index: idx, slot: idx & 255, id: view.getUint16(o, true), status, status_name: txStatusName(status) });
  }
  return rows;
}

/** `netif_tx_request` fields as a table row (flags by name). */
export function txRequestRow(req: TxRequest): { gref: number; offset: number; size: number; id: number; flags: string; end: number } {
  return { gref: req.gref, offset: req.offset, size: req.size, id: req.id, flags: txFlagNames(req.flags).join('|') || '0', end: req.offset + req.size };
}

// ---------------------------------------------------------------------------------------------
// The receive side
// ---------------------------------------------------------------------------------------------

/**
 * A hung guest kernel on the receive side: masks (hang = true) or unmasks (false) the guest's rx
 * event channel of queue 0, so netfront's interrupt never runs: it neither consumes responses
 * nor posts new buffers. Unmasking delivers the pending event (Linux unmask_evtchn).
 */
export function hangGuestRx(host: XenHost, guest: Guest, hang: boolean): void {
  const q = queue0('hangGuestRx', guest);
  const h = host.hv.guest(guest.domid);
  if (hang) h.mask_evtchn(q.rx_evtchn);
  else h.unmask_evtchn(q.rx_evtchn);
}

/** netback's view of one vif's guest-receive side (queue 0). */
export interface VifRxState {
  /** Packets waiting in netback's rx_queue for guest buffers. */
  queued: number;
  /** Their bytes (rx_queue_len; capped near rx_queue_max, XSA-392). */
  queued_bytes: number;
  /** Requests the guest has posted that netback has not used (req_prod - req_cons). */
  free_requests: number;
  carrier: boolean;
  disabled: boolean;
  stalled: boolean;
}

export function vifRxState(guest: Guest): VifRxState {
  const vq = guest.vif.queues[0];
  if (vq === undefined || vq.rx === null) fail('vifRxState', `vif of guest ${guest.name} has no connected rx ring`);
  return {
    queued: vq.rx_queue.length,
    queued_bytes: vq.rx_queue_len,
    free_requests: (vq.rx.sring.req_prod - vq.rx.req_cons) >>> 0,
    carrier: guest.vif.carrier,
    disabled: guest.vif.disabled,
    stalled: vq.stalled,
  };
}

// ---------------------------------------------------------------------------------------------
// What Linux logs
// ---------------------------------------------------------------------------------------------

/** One kernel log line. */
export interface KernelLogLine {
  t_ns: number;
  line: string;
}

/** `[    0.012345]`: printk's timestamp of a virtual time. */
function printkTime(ns: number): string {
  const us = Math.floor(ns / 1000);
  const s = Math.floor(us / 1_000_000);
  return `[${String(s).padStart(5, ' ')}.${String(us % 1_000_000).padStart(6, '0')}]`;
}

/**
 * dom0's kernel log as Linux's netback writes it for the given `netback.fatal` and
 * `netback.carrier` records: for a fatal error the check's own `netdev_err` message, then
 * `xenvif_fatal_tx_err`'s "fatal error; disabling device"; for a guest-rx stall or recovery
 * "Guest Rx stalled" / "Guest Rx ready" (a modern vif's connect logs "Guest Rx ready" too: its
 * carrier comes on from the queues' kthreads). netdev_err prefixes the driver and bus id of the
 * xen-backend device (`vif vif-<domid>-<handle>`) and the interface name. Carrier changes of
 * other causes (a classic vif's connect, the kthread acting on a fatal error) log nothing.
 */
export function netbackKernelLog(records: readonly AnyTraceRecord[]): KernelLogLine[] {
  if (!Array.isArray(records)) fail('netbackKernelLog', 'records must be an array of trace records');
  const out: KernelLogLine[] = [];
  const prefix = (vif: string): string => {
    const m = /^vif(\d+)\.(\d+)$/.exec(vif);
    return m === null ? `${vif}:` : `vif vif-${m[1]}-${m[2]} ${vif}:`;
  };
  for (const r of records as readonly Record<string, unknown>[]) {
    const t = Number(r.t);
    if (r.ev === 'netback.fatal') {
      const p = prefix(String(r.vif));
      out.push({ t_ns: t, line: `${printkTime(t)} ${p} ${String(r.reason)}` });
      out.push({ t_ns: t, line: `${printkTime(t)} ${p} fatal error; disabling device` });
    } else if (r.ev === 'netback.carrier' && (r.reason === 'Guest Rx stalled' || r.reason === 'Guest Rx ready')) {
      out.push({ t_ns: t, line: `${printkTime(t)} ${prefix(String(r.vif))} ${String(r.reason)}` });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Scheduling
// ---------------------------------------------------------------------------------------------

/** Runs `fn` once at absolute virtual time `atNs` (≥ now), from the simulator's event loop. */
export function scheduleAt(host: XenHost, atNs: number, fn: () => void): void {
  if (typeof atNs !== 'number' || !Number.isInteger(atNs) || atNs < host.sim.now) {
    fail('scheduleAt', `atNs ${String(atNs)} is not allowed; use an integer time ≥ now (${host.sim.now})`);
  }
  if (typeof fn !== 'function') fail('scheduleAt', 'fn must be a function');
  const h = host.sim.register('lab.scheduleAt', () => fn());
  host.sim.after(atNs - host.sim.now, h);
}
