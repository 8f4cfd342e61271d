import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Capture, readPcap, writePcap, writePcapFile } from '../../src/wire';
import { ARP_REQ, UDP_HI, hex } from './fixtures';

describe('pcap writer', () => {
  it('writes the classic global header: magic a1b2c3d4, v2.4, zone 0, snaplen 65535, LINKTYPE_ETHERNET, little-endian', () => {
    const cap = new Capture();
    expect(Array.from(cap.toPcap())).toEqual(Array.from(hex('d4 c3 b2 a1 02 00 04 00 00 00 00 00 00 00 00 00 ff ff 00 00 01 00 00 00')));
    expect(Array.from(cap.toPcap({ precision: 'ns' }).subarray(0, 4))).toEqual([0x4d, 0x3c, 0xb2, 0xa1]);
  });

  it('writes a record header with seconds and truncated microseconds from integer nanoseconds', () => {
    const cap = new Capture();
    cap.record(3_000_123_999, ARP_REQ); // 3 s + 123.999 µs
    const b = cap.toPcap();
    expect(b.length).toBe(24 + 16 + 42);
    expect(Array.from(b.subarray(24, 40))).toEqual(Array.from(hex('03 00 00 00 7b 00 00 00 2a 00 00 00 2a 00 00 00')));
    expect(b.subarray(40)).toEqual(ARP_REQ);
    const ns = cap.toPcap({ precision: 'ns' });
    expect(Array.from(ns.subarray(28, 32))).toEqual(Array.from(hex('5f e4 01 00'))); // 123999 = 0x1e45f
  });

  it('readPcap() reads back what was written, in µs and ns precision', () => {
    const recs = [
      { timeNs: 0, data: UDP_HI },
      { timeNs: 1_500_000_001, data: ARP_REQ },
    ];
    const us = readPcap(writePcap(recs));
    expect(us.ok).toBe(true);
    if (!us.ok) return;
    expect(us.value).toMatchObject({ precision: 'us', littleEndian: true, versionMajor: 2, versionMinor: 4, snaplen: 65535, linktype: 1 });
    expect(us.value.records.map((r) => r.timeNs)).toEqual([0, 1_500_000_000]);
    expect(us.value.records[1]!.data).toEqual(ARP_REQ);
    const ns = readPcap(writePcap(recs, { precision: 'ns' }));
    expect(ns.ok && ns.value.records.map((r) => r.timeNs)).toEqual([0, 1_500_000_001]);
  });

  it('readPcap() reads a big-endian file too', () => {
    const be = hex('a1 b2 c3 d4 00 02 00 04 00 00 00 00 00 00 00 00 00 00 ff ff 00 00 00 01  00 00 00 02 00 00 00 05 00 00 00 02 00 00 00 02 ab cd');
    const r = readPcap(be);
    expect(r.ok && r.value.littleEndian).toBe(false);
    expect(r.ok && r.value.records).toEqual([{ timeNs: 2_000_005_000, data: hex('ab cd'), origLen: 2 }]);
  });

  it('readPcap() returns error values naming the field for a bad magic, a truncated record or incl_len > orig_len', () => {
    expect(readPcap(new Uint8Array(10))).toMatchObject({ ok: false, error: { layer: 'pcap', field: 'header' } });
    expect(readPcap(new Uint8Array(24))).toMatchObject({ ok: false, error: { field: 'magic' } });
    const good = writePcap([{ timeNs: 0, data: UDP_HI }]);
    expect(readPcap(good.subarray(0, good.length - 1))).toMatchObject({ ok: false, error: { field: 'incl_len' } });
    expect(readPcap(good.subarray(0, 30))).toMatchObject({ ok: false, error: { field: 'record_header' } });
    const lie = good.slice();
    lie[36] = 1; // orig_len 1 < incl_len 44
    expect(readPcap(lie)).toMatchObject({ ok: false, error: { field: 'incl_len' } });
  });

  it('writePcapFile() and Capture.writeFile() write the same bytes to disk', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wire-pcap-'));
    const cap = new Capture({ name: 'vif1.0' });
    cap.record(10, UDP_HI);
    const n = cap.writeFile(join(dir, 'a.pcap'));
    writePcapFile(join(dir, 'b.pcap'), [{ timeNs: 10, data: UDP_HI }]);
    expect(n).toBe(24 + 16 + 44);
    expect(readFileSync(join(dir, 'a.pcap'))).toEqual(readFileSync(join(dir, 'b.pcap')));
  });
});

describe('Capture', () => {
  it('record() copies the frame window, so later changes to the source buffer do not show', () => {
    const cap = new Capture({ initialBytes: 16 });
    const buf = new Uint8Array(100).fill(7);
    buf.set(UDP_HI, 30);
    for (let i = 0; i < 50; i++) expect(cap.record(i * 1000, buf, 30, UDP_HI.length)).toBe(true);
    buf.fill(0);
    expect(cap.frames).toBe(50);
    expect(cap.bytes).toBe(50 * 44);
    expect(cap.frame(49)).toEqual({ timeNs: 49_000, data: UDP_HI, origLen: 44 });
    expect([...cap].length).toBe(50);
  });

  it('cuts frames to snaplen, keeping orig_len', () => {
    const cap = new Capture({ snaplen: 20 });
    cap.record(0, UDP_HI);
    const r = readPcap(cap.toPcap());
    expect(r.ok && r.value.records[0]).toEqual({ timeNs: 0, data: UDP_HI.subarray(0, 20), origLen: 44 });
    expect(r.ok && r.value.snaplen).toBe(20);
  });

  it('stops at maxFrames or maxBytes and counts the frames and bytes it dropped', () => {
    const byFrames = new Capture({ maxFrames: 3 });
    for (let i = 0; i < 5; i++) byFrames.record(i, UDP_HI);
    expect([byFrames.frames, byFrames.droppedFrames, byFrames.droppedBytes]).toEqual([3, 2, 88]);
    const byBytes = new Capture({ maxBytes: 100 });
    expect([byBytes.record(0, UDP_HI), byBytes.record(1, UDP_HI), byBytes.record(2, UDP_HI), byBytes.record(3, ARP_REQ.subarray(0, 12))]).toEqual([true, true, false, true]);
    expect([byBytes.frames, byBytes.bytes, byBytes.droppedFrames]).toEqual([3, 100, 1]);
    byBytes.clear();
    expect([byBytes.frames, byBytes.droppedFrames]).toEqual([0, 0]);
  });

  it('throws naming the parameter for bad options and a bad time', () => {
    expect(() => new Capture({ maxFrames: 0 })).toThrow(/Capture: maxFrames 0 is not allowed/);
    expect(() => new Capture({ snaplen: 1.5 })).toThrow(/snaplen 1\.5/);
    expect(() => new Capture().record(-1, UDP_HI)).toThrow(/Capture\.record: timeNs -1 is not allowed; use a non-negative integer/);
    expect(() => new Capture().record(0, UDP_HI, 40, 10)).toThrow(/offset\/len '40\/10'/);
  });
});
