/**
 * Captures on a whole host at once: `tcpdump -i vif1.0`, `tcpdump -i xenbr0`, `tcpdump -i eth0`
 * in dom0, and a tap on the cable — each into its own in-memory pcap (src/net/capture.ts
 * FrameCapture over src/wire/pcap.ts Capture), ready to write to files for Wireshark/tshark.
 *
 *   const caps = captureHost(host, { guests: ['web'] });
 *   host.guest('web').endpoint.sendUdp('10.0.0.100', 9000, 1472);
 *   host.runFor(host.ms(5));
 *   caps.writeFiles('/tmp/run1');   // vif1.0.pcap, xenbr0.pcap, eth0.pcap, wire.pcap
 *
 * What each point sees, as on a real dom0:
 *   - a vif (`vif<domid>.0`): the guest's frames as netback hands them to dom0's stack ("rx" on
 *     the vif) and the frames dom0 queues to the guest ("tx"). Frames the guest sent with
 *     CHECKSUM_PARTIAL (NETTXF_csum_blank) still carry the pseudo-header sum in their UDP/TCP
 *     checksum field here, exactly what tcpdump shows on vifX.0 ("bad udp cksum"); GSO packets
 *     appear as one large frame (netback builds one skb per guest packet);
 *   - xenbr0: the bridge device itself, i.e. frames delivered to or sent by dom0's own IP;
 *   - the NIC (`eth0`, enslaved to xenbr0): what the driver is handed (before TSO/checksum
 *     offload) and what it receives;
 *   - the wire: every frame that enters the cable, lost ones included, with offloads done.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { FrameCapture, type FrameCaptureOptions } from '../net/capture';
import type { PcapPrecision } from '../wire/pcap';
import type { XenHost } from './host';

export interface HostCaptureOptions {
  /** Guests whose vif to capture, by name (default: every guest). */
  guests?: string[];
  /** Capture on the bridge device xenbr0 (default true). */
  bridge?: boolean;
  /** Capture on the physical NIC (default true). */
  nic?: boolean;
  /** Capture on the wire (default true). */
  wire?: boolean;
  /** Bytes kept per frame (default 65535). */
  snaplen?: number;
  /** Frames kept per capture point before further frames are counted as dropped (default 1,000,000). */
  maxFrames?: number;
}

/** One capture point of a host. */
export interface HostCapturePoint {
  /** The interface name (`vif1.0`, `xenbr0`, `eth0`) or the link name (`wire`). */
  readonly name: string;
  readonly kind: 'vif' | 'bridge' | 'nic' | 'wire';
  readonly tap: FrameCapture;
}

export class HostCaptures {
  readonly points: HostCapturePoint[] = [];

  constructor(readonly host: XenHost, opts: HostCaptureOptions = {}) {
    const base: FrameCaptureOptions = {};
    if (opts.snaplen !== undefined) base.snaplen = opts.snaplen;
    if (opts.maxFrames !== undefined) base.maxFrames = opts.maxFrames;
    const sim = host.sim;
    const names = opts.guests ?? host.guests.map((g) => g.name);
    if (!Array.isArray(names)) {
      throw new Error(`captureHost: guests ${JSON.stringify(names)} is not allowed; use an array of guest names`);
    }
    for (const n of names) {
      const vif = host.guest(n).vif;
      this.points.push({ name: vif.name, kind: 'vif', tap: FrameCapture.onDevice(sim, vif, base) });
    }
    if (opts.bridge ?? true) this.points.push({ name: host.br0.name, kind: 'bridge', tap: FrameCapture.onDevice(sim, host.br0, base) });
    if (opts.nic ?? true) this.points.push({ name: host.nic.name, kind: 'nic', tap: FrameCapture.onDevice(sim, host.nic, base) });
    if (opts.wire ?? true) this.points.push({ name: host.wire.name, kind: 'wire', tap: FrameCapture.onLink(sim, host.wire, base) });
  }

  /** The capture point named `name` (`vif1.0`, `xenbr0`, `eth0`, `wire`). */
  point(name: string): FrameCapture {
    const p = this.points.find((x) => x.name === name);
    if (p === undefined) {
      throw new Error(`HostCaptures.point: no capture point '${name}'; points: ${this.points.map((x) => x.name).join(', ')}`);
    }
    return p.tap;
  }

  /** The capture of guest `guest`'s vif. */
  vif(guest: string): FrameCapture {
    return this.point(this.host.guest(guest).vif.name);
  }

  /** Frames captured per point: { 'vif1.0': 12, xenbr0: 0, eth0: 12, wire: 24 }. */
  counts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const p of this.points) out[p.name] = p.tap.capture.frames;
    return out;
  }

  /**
   * Writes one `<point>.pcap` per capture point into `dir` (created if missing); returns the
   * file paths in point order.
   */
  writeFiles(dir: string, opts: { precision?: PcapPrecision } = {}): string[] {
    if (typeof dir !== 'string' || dir.length === 0) {
      throw new Error(`HostCaptures.writeFiles: dir ${JSON.stringify(dir)} is not allowed; use a directory path`);
    }
    mkdirSync(dir, { recursive: true });
    return this.points.map((p) => {
      const path = join(dir, `${p.name}.pcap`);
      p.tap.capture.writeFile(path, opts);
      return path;
    });
  }

  /** Stops every capture (the frames stay). */
  detach(): void {
    for (const p of this.points) p.tap.detach();
  }
}

/** Starts capturing on a host's vifs, bridge, NIC and wire (see the file comment). */
export function captureHost(host: XenHost, opts: HostCaptureOptions = {}): HostCaptures {
  return new HostCaptures(host, opts);
}
