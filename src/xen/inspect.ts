/**
 * Inspection rows for notebooks and tests: a domain's grant table (entries decoded, with Xen's
 * pin counts), its event-channel ports (state, peer, pending and mask bits from shared_info) and
 * the xenstore tree. Plain data arrays plus a fixed-width text rendering; no display code (the
 * lab layer turns rows into tables).
 */
import {
  EVTCHN_2L_NR_CHANNELS, GTF_accept_transfer, GTF_permit_access, GTF_reading, GTF_readonly, GTF_sub_page,
  GTF_transitive, GTF_type_mask, GTF_writing, GTF_transfer_completed, GTF_transfer_committed,
} from '../io/xen-constants';
import {
  ECS_FREE, ECS_INTERDOMAIN, ECS_NAMES, ECS_RESERVED, ECS_UNBOUND, GNTPIN_devr_shift, GNTPIN_devw_shift,
  GNTPIN_hstr_shift, GNTPIN_hstw_shift,
} from './constants';
import type { Hypervisor } from './hypervisor';

export interface GrantRow {
  ref: number;
  /** Raw flags value. */
  flags: number;
  /** Decoded flags, e.g. "permit_access|readonly|reading". */
  decoded: string;
  domid: number;
  frame: number;
  /** Xen's active-entry pins: host read/write and device read/write counts. */
  pinHostRead: number;
  pinHostWrite: number;
  pinDevRead: number;
  pinDevWrite: number;
  /** Domain holding the pins (when pinned). */
  pinnedBy: number | null;
}

/** Decodes grant_entry_v1.flags into names joined by '|' ("invalid" for 0). */
export function decodeGrantFlags(flags: number): string {
  const type = flags & GTF_type_mask;
  const parts: string[] = [];
  if (type === GTF_permit_access) parts.push('permit_access');
  else if (type === GTF_accept_transfer) parts.push('accept_transfer');
  else if (type === GTF_transitive) parts.push('transitive');
  if (type === GTF_accept_transfer) {
    if (flags & GTF_transfer_committed) parts.push('transfer_committed');
    if (flags & GTF_transfer_completed) parts.push('transfer_completed');
  } else {
    if (flags & GTF_readonly) parts.push('readonly');
    if (flags & GTF_reading) parts.push('reading');
    if (flags & GTF_writing) parts.push('writing');
  }
  if (flags & GTF_sub_page) parts.push('sub_page');
  const known = GTF_type_mask | GTF_readonly | GTF_reading | GTF_writing | GTF_sub_page;
  if (flags & ~known & 0xffff) parts.push(`0x${(flags & ~known & 0xffff).toString(16)}`);
  return parts.length ? parts.join('|') : 'invalid';
}

/**
 * Grant entries of domain `domid` that are in use (non-zero flags, or pinned); `all` lists
 * every entry of the table.
 */
export function grantTableRows(hv: Hypervisor, domid: number, all = false): GrantRow[] {
  const d = hv.domainById(domid);
  const m = hv.mem;
  const rows: GrantRow[] = [];
  for (let ref = 0; ref < d.nrGrantEntries; ref++) {
    const a = d.grantEntryAddr(ref);
    const flags = m.u16[a >>> 1]!;
    const pin = d.actPin[ref]!;
    if (!all && flags === 0 && pin === 0) continue;
    rows.push({
      ref, flags, decoded: decodeGrantFlags(flags), domid: m.u16[(a >>> 1) + 1]!, frame: m.u32[(a >>> 2) + 1]!,
      pinHostWrite: (pin >>> GNTPIN_hstw_shift) & 0xff, pinHostRead: (pin >>> GNTPIN_hstr_shift) & 0xff,
      pinDevWrite: (pin >>> GNTPIN_devw_shift) & 0xff, pinDevRead: (pin >>> GNTPIN_devr_shift) & 0xff,
      pinnedBy: pin !== 0 ? d.actDomid[ref]! : null,
    });
  }
  return rows;
}

export interface EvtchnRow {
  port: number;
  state: string;
  remoteDom: number | null;
  remotePort: number | null;
  pending: boolean;
  masked: boolean;
  handler: boolean;
}

/** Ports of domain `domid` that are not free (plus free ports left pending). */
export function evtchnRows(hv: Hypervisor, domid: number): EvtchnRow[] {
  const d = hv.domainById(domid);
  const rows: EvtchnRow[] = [];
  for (let port = 0; port < EVTCHN_2L_NR_CHANNELS; port++) {
    const st = d.evState[port]!;
    const pending = hv.evtchnPending(domid, port);
    if (st === ECS_FREE && !pending) continue;
    rows.push({
      port, state: ECS_NAMES[st] ?? String(st),
      remoteDom: st === ECS_UNBOUND || st === ECS_INTERDOMAIN ? d.evRemoteDom[port]! : null,
      remotePort: st === ECS_INTERDOMAIN ? d.evRemotePort[port]! : null,
      pending, masked: st === ECS_RESERVED ? true : hv.evtchnMasked(domid, port), handler: d.irqHandlers[port] !== undefined,
    });
  }
  return rows;
}

export interface XenstoreTreeRow {
  path: string;
  value: string;
  depth: number;
}

/** The xenstore tree below `root` as rows (depth-first, creation order). */
export function xenstoreRows(hv: Hypervisor, root = '/'): XenstoreTreeRow[] {
  return hv.xenstore.rows(root);
}

/** Renders rows as a fixed-width text table (columns in the order of the first row's keys). */
export function renderRows(rows: readonly object[], columns?: string[]): string {
  if (rows.length === 0) return '(none)\n';
  const cols = columns ?? Object.keys(rows[0]!);
  const cell = (v: unknown): string => (v === null || v === undefined ? '-' : typeof v === 'boolean' ? (v ? 'yes' : 'no') : String(v));
  const table = rows.map((r) => cols.map((c) => cell((r as Record<string, unknown>)[c])));
  const widths = cols.map((c, i) => Math.max(c.length, ...table.map((t) => t[i]!.length)));
  const line = (vals: string[]): string => vals.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(cols), line(widths.map((w) => '-'.repeat(w))), ...table.map(line)].join('\n') + '\n';
}

/** The xenstore tree as indented text ("name = value"), like `xenstore-ls`. */
export function renderXenstore(hv: Hypervisor, root = '/'): string {
  return xenstoreRows(hv, root)
    .filter((r) => r.path !== '/')
    .map((r) => `${'  '.repeat(Math.max(0, r.depth - (root === '/' ? 1 : 0)))}${r.path.slice(r.path.lastIndexOf('/') + 1)} = "${r.value}"`)
    .join('\n') + '\n';
}
