/**
 * Classic libpcap capture files (https://wiki.wireshark.org/Development/LibpcapFileFormat,
 * draft-ietf-opsawg-pcap), so any capture point — a vif, the bridge, the NIC, the wire — can be
 * opened in Wireshark or checked with tshark.
 *
 *   global header, 24 bytes (written little-endian):
 *     0        4      6      8          12        16        20
 *    +--------+------+------+----------+---------+---------+---------+
 *    | magic  |major |minor | thiszone | sigfigs | snaplen | network |
 *     a1b2c3d4  2      4      0          0         65535     1 (LINKTYPE_ETHERNET)
 *     (a1b23c4d: timestamps in nanoseconds instead of microseconds)
 *
 *   per frame, 16 bytes then incl_len bytes of frame:
 *     0        4                8          12         16
 *    +--------+----------------+----------+----------+-------------
 *    | ts_sec | ts_usec/ts_nsec| incl_len | orig_len | frame …
 *
 * Time comes from the model's virtual clock in integer nanoseconds: ts_sec = ⌊t / 1e9⌋ and the
 * fraction in µs (truncated) or ns. Frames longer than snaplen are cut to snaplen
 * (incl_len < orig_len), as libpcap does.
 */
import { writeFileSync } from 'node:fs';
import { badArg, fail, ok, wireError, type Result } from './error';

export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const PCAP_MAGIC_NS = 0xa1b23c4d;
export const PCAP_VERSION_MAJOR = 2;
export const PCAP_VERSION_MINOR = 4;
/** LINKTYPE_ETHERNET: IEEE 802.3 frames without preamble or FCS. */
export const LINKTYPE_ETHERNET = 1;
export const PCAP_GLOBAL_HEADER_LEN = 24;
export const PCAP_RECORD_HEADER_LEN = 16;
export const PCAP_DEFAULT_SNAPLEN = 65535;

export type PcapPrecision = 'us' | 'ns';

export interface PcapWriteOptions {
  /** Timestamp precision: 'us' (magic a1b2c3d4, default) or 'ns' (magic a1b23c4d). */
  precision?: PcapPrecision;
}

/** One captured frame. */
export interface PcapRecord {
  /** Virtual time in integer nanoseconds (µs precision files give multiples of 1000). */
  timeNs: number;
  /** The captured bytes (incl_len of them). */
  data: Uint8Array;
  /** The frame's length on the wire (>= data.length). */
  origLen: number;
}

export interface CaptureOptions {
  /** A name for display (e.g. "vif1.0 rx"). */
  name?: string;
  /** Bytes kept per frame (default 65535). */
  snaplen?: number;
  /** Frames kept before further frames are dropped and counted (default 1,000,000). */
  maxFrames?: number;
  /** Captured bytes kept before further frames are dropped and counted (default 256 MiB). */
  maxBytes?: number;
  /** Initial data buffer size in bytes (default 64 KiB); grows by doubling. */
  initialBytes?: number;
}

function positiveInt(fn: string, name: string, v: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(v) || v < 1 || v > max) badArg(fn, name, v, `use an integer in 1..${max}`);
}

/**
 * An in-memory capture that a capture point appends frames to cheaply: one copy of the frame
 * bytes into a growable buffer plus three numbers, no object per frame. Past `maxFrames` or
 * `maxBytes`, frames are not kept and are counted in `droppedFrames` (a capture never grows
 * without bound and never loses frames silently).
 */
export class Capture {
  readonly name: string;
  readonly snaplen: number;
  readonly maxFrames: number;
  readonly maxBytes: number;
  private data: Uint8Array;
  private used = 0;
  private count = 0;
  private times: Float64Array;
  private starts: Float64Array;
  private inclLens: Uint32Array;
  private origLens: Uint32Array;
  private dropFrames = 0;
  private dropBytes = 0;

  constructor(opts: CaptureOptions = {}) {
    this.name = opts.name ?? 'capture';
    this.snaplen = opts.snaplen ?? PCAP_DEFAULT_SNAPLEN;
    this.maxFrames = opts.maxFrames ?? 1_000_000;
    this.maxBytes = opts.maxBytes ?? 256 * 1024 * 1024;
    positiveInt('Capture', 'snaplen', this.snaplen, 0x7fff_ffff);
    positiveInt('Capture', 'maxFrames', this.maxFrames, 0x7fff_ffff);
    positiveInt('Capture', 'maxBytes', this.maxBytes, 2 ** 40);
    const initial = opts.initialBytes ?? 64 * 1024;
    positiveInt('Capture', 'initialBytes', initial, 2 ** 31);
    this.data = new Uint8Array(Math.min(initial, this.maxBytes));
    const slots = Math.min(1024, this.maxFrames);
    this.times = new Float64Array(slots);
    this.starts = new Float64Array(slots);
    this.inclLens = new Uint32Array(slots);
    this.origLens = new Uint32Array(slots);
  }

  /**
   * Appends the frame `bytes[offset..offset+len)` seen at virtual time `timeNs`. Returns false
   * if the frame was dropped by the capture's limits (and counts it).
   */
  record(timeNs: number, bytes: Uint8Array, offset = 0, len = bytes.length - offset): boolean {
    if (!(timeNs >= 0) || !Number.isInteger(timeNs)) badArg('Capture.record', 'timeNs', timeNs, 'use a non-negative integer number of nanoseconds');
    if (!(offset >= 0 && len >= 0 && offset + len <= bytes.length)) badArg('Capture.record', 'offset/len', `${offset}/${len}`, `the range must lie in the ${bytes.length}-byte buffer`);
    const incl = len < this.snaplen ? len : this.snaplen;
    if (this.count >= this.maxFrames || this.used + incl > this.maxBytes) {
      this.dropFrames++;
      this.dropBytes += len;
      return false;
    }
    if (this.count === this.times.length) this.growIndex();
    if (this.used + incl > this.data.length) this.growData(this.used + incl);
    this.data.set(bytes.subarray(offset, offset + incl), this.used);
    const i = this.count++;
    this.times[i] = timeNs;
    this.starts[i] = this.used;
    this.inclLens[i] = incl;
    this.origLens[i] = len;
    this.used += incl;
    return true;
  }

  /** Frames kept. */
  get frames(): number {
    return this.count;
  }
  /** Captured bytes kept (after snaplen). */
  get bytes(): number {
    return this.used;
  }
  /** Frames not kept because a limit was reached. */
  get droppedFrames(): number {
    return this.dropFrames;
  }
  /** Wire bytes of the frames not kept. */
  get droppedBytes(): number {
    return this.dropBytes;
  }

  /** Frame `i` (a view into the capture's buffer: copy it if you keep it past `clear()`). */
  frame(i: number): PcapRecord {
    if (!Number.isInteger(i) || i < 0 || i >= this.count) badArg('Capture.frame', 'i', i, `use an integer in 0..${this.count - 1}`);
    const s = this.starts[i]!;
    return { timeNs: this.times[i]!, data: this.data.subarray(s, s + this.inclLens[i]!), origLen: this.origLens[i]! };
  }

  *[Symbol.iterator](): IterableIterator<PcapRecord> {
    for (let i = 0; i < this.count; i++) yield this.frame(i);
  }

  /** Forgets every frame and the drop counts; keeps the buffers. */
  clear(): void {
    this.count = 0;
    this.used = 0;
    this.dropFrames = 0;
    this.dropBytes = 0;
  }

  /** The capture as a classic pcap file. */
  toPcap(opts: PcapWriteOptions = {}): Uint8Array {
    const w = new PcapWriter(this.snaplen, opts, PCAP_GLOBAL_HEADER_LEN + this.count * PCAP_RECORD_HEADER_LEN + this.used);
    for (let i = 0; i < this.count; i++) {
      const s = this.starts[i]!;
      w.write(this.times[i]!, this.data, s, this.inclLens[i]!, this.origLens[i]!);
    }
    return w.finish();
  }

  /** Writes the capture as a pcap file; returns the number of bytes written. */
  writeFile(path: string, opts: PcapWriteOptions = {}): number {
    const bytes = this.toPcap(opts);
    writeFileSync(path, bytes);
    return bytes.length;
  }

  private growIndex(): void {
    const n = Math.min(this.times.length * 2, this.maxFrames);
    const t = new Float64Array(n);
    t.set(this.times);
    this.times = t;
    const s = new Float64Array(n);
    s.set(this.starts);
    this.starts = s;
    const a = new Uint32Array(n);
    a.set(this.inclLens);
    this.inclLens = a;
    const b = new Uint32Array(n);
    b.set(this.origLens);
    this.origLens = b;
  }

  private growData(need: number): void {
    let n = this.data.length * 2;
    while (n < need) n *= 2;
    const d = new Uint8Array(Math.min(n, this.maxBytes));
    d.set(this.data.subarray(0, this.used));
    this.data = d;
  }
}

/** Serialises records into a pcap byte image of known size. */
class PcapWriter {
  private readonly out: Uint8Array;
  private readonly dv: DataView;
  private pos = PCAP_GLOBAL_HEADER_LEN;
  private readonly ns: boolean;

  constructor(
    private readonly snaplen: number,
    opts: PcapWriteOptions,
    size: number,
  ) {
    const precision = opts.precision ?? 'us';
    if (precision !== 'us' && precision !== 'ns') badArg('toPcap', 'precision', precision, "use 'us' or 'ns'");
    this.ns = precision === 'ns';
    this.out = new Uint8Array(size);
    this.dv = new DataView(this.out.buffer);
    const dv = this.dv;
    dv.setUint32(0, this.ns ? PCAP_MAGIC_NS : PCAP_MAGIC_US, true);
    dv.setUint16(4, PCAP_VERSION_MAJOR, true);
    dv.setUint16(6, PCAP_VERSION_MINOR, true);
    dv.setInt32(8, 0, true); // thiszone: UTC
    dv.setUint32(12, 0, true); // sigfigs
    dv.setUint32(16, snaplen, true);
    dv.setUint32(20, LINKTYPE_ETHERNET, true);
  }

  write(timeNs: number, data: Uint8Array, off: number, incl: number, origLen: number): void {
    const sec = Math.floor(timeNs / 1e9);
    const frac = timeNs - sec * 1e9;
    const dv = this.dv;
    dv.setUint32(this.pos, sec, true);
    dv.setUint32(this.pos + 4, this.ns ? frac : Math.floor(frac / 1000), true);
    dv.setUint32(this.pos + 8, incl, true);
    dv.setUint32(this.pos + 12, origLen, true);
    this.out.set(data.subarray(off, off + incl), this.pos + PCAP_RECORD_HEADER_LEN);
    this.pos += PCAP_RECORD_HEADER_LEN + incl;
  }

  finish(): Uint8Array {
    return this.pos === this.out.length ? this.out : this.out.subarray(0, this.pos);
  }
}

/** Writes records (e.g. built frames in a test) as a pcap byte image. */
export function writePcap(records: Iterable<{ timeNs: number; data: Uint8Array; origLen?: number }>, opts: PcapWriteOptions & { snaplen?: number } = {}): Uint8Array {
  const list = Array.from(records);
  const cap = new Capture({ snaplen: opts.snaplen, maxBytes: 2 ** 40, maxFrames: 0x7fff_ffff });
  for (const r of list) cap.record(r.timeNs, r.data);
  const bytes = cap.toPcap(opts);
  // origLen may exceed data (a record cut earlier): patch it in.
  let pos = PCAP_GLOBAL_HEADER_LEN;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const r of list) {
    const incl = dv.getUint32(pos + 8, true);
    if (r.origLen !== undefined) {
      if (!Number.isInteger(r.origLen) || r.origLen < r.data.length) badArg('writePcap', 'origLen', r.origLen, `use an integer >= the ${r.data.length} captured bytes`);
      dv.setUint32(pos + 12, r.origLen, true);
    }
    pos += PCAP_RECORD_HEADER_LEN + incl;
  }
  return bytes;
}

/** Writes records to a pcap file; returns the bytes written. */
export function writePcapFile(path: string, records: Iterable<{ timeNs: number; data: Uint8Array; origLen?: number }>, opts: PcapWriteOptions & { snaplen?: number } = {}): number {
  const bytes = writePcap(records, opts);
  writeFileSync(path, bytes);
  return bytes.length;
}

/** A parsed pcap file. */
export interface PcapFile {
  precision: PcapPrecision;
  /** Byte order the file was written in. */
  littleEndian: boolean;
  versionMajor: number;
  versionMinor: number;
  snaplen: number;
  linktype: number;
  records: PcapRecord[];
}

/**
 * Reads a classic pcap file (either byte order, µs or ns magic). Files are untrusted input:
 * a bad magic or a truncated record is an error value naming the field.
 */
export function readPcap(bytes: Uint8Array): Result<PcapFile> {
  if (bytes.length < PCAP_GLOBAL_HEADER_LEN) return fail(wireError('pcap', 'header', `truncated: ${bytes.length} bytes, the global header needs 24`));
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magicLE = dv.getUint32(0, true);
  const magicBE = dv.getUint32(0, false);
  let le: boolean;
  let precision: PcapPrecision;
  if (magicLE === PCAP_MAGIC_US || magicLE === PCAP_MAGIC_NS) {
    le = true;
    precision = magicLE === PCAP_MAGIC_NS ? 'ns' : 'us';
  } else if (magicBE === PCAP_MAGIC_US || magicBE === PCAP_MAGIC_NS) {
    le = false;
    precision = magicBE === PCAP_MAGIC_NS ? 'ns' : 'us';
  } else {
    return fail(wireError('pcap', 'magic', `magic 0x${magicBE.toString(16)} is not a classic pcap magic (a1b2c3d4 / a1b23c4d)`));
  }
  const file: PcapFile = {
    precision,
    littleEndian: le,
    versionMajor: dv.getUint16(4, le),
    versionMinor: dv.getUint16(6, le),
    snaplen: dv.getUint32(16, le),
    linktype: dv.getUint32(20, le),
    records: [],
  };
  let pos = PCAP_GLOBAL_HEADER_LEN;
  while (pos < bytes.length) {
    if (pos + PCAP_RECORD_HEADER_LEN > bytes.length) return fail(wireError('pcap', 'record_header', `truncated record header at byte ${pos}`));
    const sec = dv.getUint32(pos, le);
    const frac = dv.getUint32(pos + 4, le);
    const incl = dv.getUint32(pos + 8, le);
    const orig = dv.getUint32(pos + 12, le);
    if (frac >= (precision === 'ns' ? 1e9 : 1e6)) return fail(wireError('pcap', precision === 'ns' ? 'ts_nsec' : 'ts_usec', `fraction ${frac} at byte ${pos} is not below one second`));
    if (incl > orig) return fail(wireError('pcap', 'incl_len', `incl_len ${incl} exceeds orig_len ${orig} at byte ${pos}`));
    if (pos + PCAP_RECORD_HEADER_LEN + incl > bytes.length) return fail(wireError('pcap', 'incl_len', `truncated: record at byte ${pos} needs ${incl} bytes, ${bytes.length - pos - PCAP_RECORD_HEADER_LEN} present`));
    const start = pos + PCAP_RECORD_HEADER_LEN;
    file.records.push({ timeNs: sec * 1e9 + (precision === 'ns' ? frac : frac * 1000), data: bytes.slice(start, start + incl), origLen: orig });
    pos = start + incl;
  }
  return ok(file);
}
