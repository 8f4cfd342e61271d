/**
 * Error values for untrusted bytes.
 *
 * Bytes that come from a guest or from the wire are never trusted: a truncated or malformed
 * frame parses to `{ ok: false, error }` naming the layer and the field at fault, never to an
 * exception and never to an out-of-bounds read. This is the contract smoltcp writes down in
 * `wire/mod.rs`: once a view's `checkLen()` has passed, no accessor reads outside the buffer.
 *
 * Exceptions are kept for programmer errors (bad arguments to a builder or an emitter), with a
 * message naming the parameter, the value and what is allowed (see `badArg`).
 */

/** The protocol layer a wire error belongs to. */
export type WireLayer = 'ethernet' | 'vlan' | 'arp' | 'ipv4' | 'icmpv4' | 'udp' | 'tcp' | 'pcap';

/** What is wrong with a frame: which layer, which header field, and a sentence saying why. */
export interface WireError {
  readonly layer: WireLayer;
  /** The header field at fault, as named in the format's field table (e.g. `total_len`). */
  readonly field: string;
  readonly message: string;
}

/** A parse result: a value, or an error value naming the field. */
export type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: WireError };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function fail<T = never>(error: WireError): Result<T> {
  return { ok: false, error };
}

export function wireError(layer: WireLayer, field: string, message: string): WireError {
  return { layer, field, message };
}

/** Formats an error value as one line: `ipv4.total_len: …`. */
export function formatWireError(e: WireError): string {
  return `${e.layer}.${e.field}: ${e.message}`;
}

/**
 * A field table: name → [start, end) byte offsets from the start of the header.
 * Header lengths are derived from it (`fieldsEnd`), never retyped.
 */
export type FieldTable = Readonly<Record<string, readonly [number, number]>>;

/** The end of the last fixed field: the fixed header length. */
export function fieldsEnd(table: FieldTable): number {
  let end = 0;
  for (const k in table) end = Math.max(end, table[k]![1]);
  return end;
}

/**
 * A truncation error naming the first field of `table` that does not fit in `have` bytes.
 * Used by every `checkLen()`, so "which field was cut" is always the real one.
 */
export function truncated(layer: WireLayer, table: FieldTable, have: number, need: number): WireError {
  let field = 'header';
  let best = Infinity;
  for (const k in table) {
    const [s, e] = table[k]!;
    if (e > have && s < best) {
      best = s;
      field = k;
    }
  }
  return wireError(layer, field, `truncated: the header needs ${need} bytes, only ${have} present`);
}

/**
 * Throws the project's bad-argument error: names the parameter, the value and what is allowed.
 * For programmer errors only, never for untrusted bytes.
 */
export function badArg(fn: string, param: string, value: unknown, allowed: string): never {
  const v = typeof value === 'string' ? `'${value}'` : value instanceof Uint8Array ? `Uint8Array(${value.length})` : String(value);
  throw new RangeError(`${fn}: ${param} ${v} is not allowed; ${allowed}`);
}

/**
 * `v` when it is a finite number in `[min, max]` (and an integer when `integer`); otherwise the
 * bad-argument error naming `fn`, `param`, the value and the range.
 */
export function checkNumber(fn: string, param: string, v: unknown, min: number, max: number, integer = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
    badArg(fn, param, v, `use ${integer ? 'an integer' : 'a number'} in ${min}..${max}`);
  }
  return v;
}

/** `v` when it is an integer in `[min, max]`; otherwise the bad-argument error (see checkNumber). */
export function checkInt(fn: string, param: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  return checkNumber(fn, param, v, min, max, true);
}

/** Checks that `[off, off+len)` lies in `buf`; throws a bad-argument error otherwise. */
export function checkRange(fn: string, buf: Uint8Array, off: number, len: number): void {
  if (!Number.isInteger(off) || off < 0 || off > buf.length) badArg(fn, 'offset', off, `use an integer in 0..${buf.length}`);
  if (!Number.isInteger(len) || len < 0 || off + len > buf.length) badArg(fn, 'length', len, `use an integer in 0..${buf.length - off} (buffer of ${buf.length} bytes, offset ${off})`);
}
