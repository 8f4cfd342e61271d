/**
 * Capture points: a tap that records the frames a device sends and receives, or the frames on a
 * wire, into the wire module's pcap `Capture` — `tcpdump -i vif1.0 -w vif.pcap` for the model.
 *
 *   const cap = FrameCapture.onDevice(sim, nic, { name: 'eth0' });
 *   …run…
 *   cap.capture.writeFile('eth0.pcap');
 *
 * A device tap sees frames where Linux's AF_PACKET taps do: received frames in
 * __netif_receive_skb_core before the rx handler (the bridge), transmitted frames in
 * dev_hard_start_xmit before the driver. A frame with CHECKSUM_PARTIAL is recorded as it is in
 * the skb (the checksum field holds the pseudo-header sum, as tcpdump shows it on the sender). A
 * wire tap sees every frame that enters the link (lost ones included), with the time its first
 * bit is sent and with offloads done (checksums finished, TSO segments).
 */
import type { Simulator } from '../sim/simulator';
import { Capture, type CaptureOptions } from '../wire/pcap';
import type { FrameTap, NetDevice } from './netdevice';
import type { EthernetLink, LinkTap } from './link';
import type { SkBuff } from './skb';

export interface FrameCaptureOptions extends CaptureOptions {
  /** Which frames of a device to keep (default 'both'). */
  direction?: 'rx' | 'tx' | 'both';
}

export class FrameCapture implements FrameTap, LinkTap {
  readonly capture: Capture;
  private readonly want: 'rx' | 'tx' | 'both';
  private scratch = new Uint8Array(2048);
  private detachFn: (() => void) | null = null;

  constructor(readonly sim: Simulator, opts: FrameCaptureOptions = {}) {
    const d = opts.direction ?? 'both';
    if (d !== 'rx' && d !== 'tx' && d !== 'both') {
      throw new Error(`FrameCapture: direction ${JSON.stringify(d)} is not allowed; use 'rx', 'tx' or 'both'`);
    }
    this.want = d;
    this.capture = new Capture(opts);
  }

  /** Starts capturing on a device. */
  static onDevice(sim: Simulator, dev: NetDevice, opts: FrameCaptureOptions = {}): FrameCapture {
    const c = new FrameCapture(sim, { name: dev.name, ...opts });
    dev.taps.push(c);
    c.detachFn = () => {
      const i = dev.taps.indexOf(c);
      if (i >= 0) dev.taps.splice(i, 1);
    };
    return c;
  }

  /** Starts capturing on a wire (both directions). */
  static onLink(sim: Simulator, link: EthernetLink, opts: FrameCaptureOptions = {}): FrameCapture {
    const c = new FrameCapture(sim, { name: link.name, ...opts });
    link.addTap(c);
    c.detachFn = () => link.removeTap(c);
    return c;
  }

  /** Stops capturing (the frames stay in `capture`). */
  detach(): void {
    if (this.detachFn !== null) this.detachFn();
    this.detachFn = null;
  }

  tap(_dev: NetDevice, direction: 'rx' | 'tx', skb: SkBuff): void {
    if (this.want !== 'both' && this.want !== direction) return;
    if (skb.nrFrags === 0) {
      this.capture.record(this.sim.now, skb.head, skb.data, skb.len);
      return;
    }
    if (this.scratch.length < skb.len) this.scratch = new Uint8Array(Math.max(skb.len, this.scratch.length * 2));
    skb.copyBits(0, this.scratch, 0, skb.len);
    this.capture.record(this.sim.now, this.scratch, 0, skb.len);
  }

  linkFrame(_link: EthernetLink, _direction: 0 | 1, timeNs: number, buf: Uint8Array, off: number, len: number): void {
    this.capture.record(timeNs, buf, off, len);
  }
}
