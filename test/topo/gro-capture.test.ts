/**
 * What tcpdump shows of a TCP stream received with GRO (and the receiver's ACKs), decoded by the real Wireshark dissectors:
 * MSS-sized segments on the wire, and behind dom0's NIC (its eth0 tap, xenbr0's port vif1.0) the
 * packets GRO merged them into — up to 64 KB frames whose IPv4 total length covers every merged
 * segment and whose TCP checksum field holds the pseudo-header sum (CHECKSUM_PARTIAL), so tshark
 * reports a Bad checksum on exactly those frames and a clean capture once each is finished.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildXenHost, captureHost, type HostCaptures, type XenHost } from '../../src/topo';
import { writePcapFile } from '../../src/wire/pcap';
import type { TcpSink } from '../../src/net/endpoint';
import { skb_checksum_help } from '../../src/wire/checksum';
import { requireTshark, tsharkValidate } from '../wire/tshark-helper';

const HAVE_TSHARK = requireTshark();
const PARTIAL_PROBLEM = /^frame (\d+): (Error: Bad checksum \[should be 0x[0-9a-f]{4}\]|tcp\.checksum\.status is Bad)$/;
const SENDS = 3;
const BYTES = 64_000;

let dir = '';
let host: XenHost;
let caps: HostCaptures;
let files: Record<string, string> = {};
let sink: TcpSink;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'xen-netlab-gro-'));
  host = buildXenHost({ guests: [{ name: 'web', ip: '10.0.0.11' }] });
  const web = host.guest('web');
  sink = web.endpoint.listenTcp(5001);
  host.external.endpoint.ping('10.0.0.11'); // ARP both ways before the capture starts
  host.runFor(host.ms(2));
  caps = captureHost(host);
  for (let i = 0; i < SENDS; i++) {
    host.external.endpoint.sendTcp('10.0.0.11', 5001, BYTES);
    host.runFor(host.ms(1));
  }
  caps.detach();
  if (HAVE_TSHARK) {
    const paths = caps.writeFiles(dir);
    files = Object.fromEntries(caps.points.map((p, i) => [p.name, paths[i]!]));
  }
});

/** ACKs the guest's TCP port sent. */
function acks(): number {
  return sink.acksSent;
}

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Whether a captured frame comes from the client (10.0.0.100): the data, not the guest's ACKs. */
function fromClient(d: Uint8Array): boolean {
  return d[26] === 10 && d[27] === 0 && d[28] === 0 && d[29] === 100;
}

/** Frame number (1-based) and IPv4 total length of each captured frame of the client's stream. */
function dataFrames(name: string): { n: number; ipLen: number }[] {
  const cap = caps.point(name).capture;
  const out: { n: number; ipLen: number }[] = [];
  for (let i = 0; i < cap.frames; i++) {
    const d = cap.frame(i).data;
    if (fromClient(d)) out.push({ n: i + 1, ipLen: (d[16]! << 8) | d[17]! });
  }
  return out;
}

describe.skipIf(!HAVE_TSHARK)('a TCP stream received with GRO, checked by tshark', () => {
  it("the wire: MSS segments and the guest's ACKs, every checksum complete", () => {
    const r = tsharkValidate(files.wire!);
    expect(r.problems).toEqual([]);
    const data = dataFrames('wire');
    expect(data).toHaveLength(SENDS * Math.ceil(BYTES / 1460));
    expect(r.frames - data.length).toBe(acks());
    expect(r.protocols.every((p) => p[3] === 'tcp')).toBe(true);
  });

  it("dom0's eth0 and vif1.0: the merged packets, whose lengths add up to the stream and whose only problem is the partial checksum", () => {
    for (const name of ['eth0', 'vif1.0']) {
      const r = tsharkValidate(files[name]!);
      const data = dataFrames(name);
      const lens = data.map((f) => f.ipLen);
      expect(data.length).toBeLessThan(SENDS * Math.ceil(BYTES / 1460) / 4);
      expect(r.frames - data.length).toBe(acks());
      expect(Math.max(...lens)).toBeGreaterThan(20 * 1460);
      expect(lens.reduce((a, l) => a + l - 40, 0)).toBe(SENDS * BYTES);
      // Every merged packet (more than one segment) is CHECKSUM_PARTIAL, and so is every ACK the guest
      // sent (its stack leaves the sum to netfront's offload); a single segment from the wire is not.
      const bad = new Set<number>();
      for (const p of r.problems) {
        const m = PARTIAL_PROBLEM.exec(p);
        expect(m, `unexpected problem on ${name}: ${p}`).not.toBeNull();
        bad.add(Number(m![1]));
      }
      const dataNumbers = new Set(data.map((f) => f.n));
      const partial = [...data.filter((f) => f.ipLen > 1500).map((f) => f.n)];
      for (let n = 1; n <= r.frames; n++) if (!dataNumbers.has(n)) partial.push(n);
      expect([...bad].sort((a, b) => a - b)).toEqual(partial.sort((a, b) => a - b));
      // Finishing those checksums (what the stack or a device would do) leaves nothing to report.
      const cap = caps.point(name).capture;
      const recs = [];
      for (let i = 0; i < cap.frames; i++) {
        const rec = cap.frame(i);
        const data = rec.data.slice();
        if (bad.has(i + 1)) expect(skb_checksum_help(data, 0, data.length, { csumStart: 34, csumOffset: 16 }).ok).toBe(true);
        recs.push({ timeNs: rec.timeNs, data, origLen: rec.origLen });
      }
      const finished = join(dir, `${name}-finished.pcap`);
      writePcapFile(finished, recs);
      expect(tsharkValidate(finished).problems).toEqual([]);
    }
  });
});
