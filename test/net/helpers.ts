/** Test doubles for the stack tests: a device whose driver accepts a set number of frames. */
import { NetDevice, NETDEV_TX_BUSY, NETDEV_TX_OK, type NetdevTx } from '../../src/net/netdevice';
import { CHECKSUM_PARTIAL, SKB_GSO_TCPV4, type SkbPool, type SkBuff } from '../../src/net/skb';
import { buildTcpFrame, type TcpFrameSpec } from '../../src/wire/build';
import type { NetStack, ProtocolHandler } from '../../src/net/stack';

/** A driver with `slots` transmit slots: it keeps the skbs it accepts (in `sent`) until `complete()`. */
export class SlotDevice extends NetDevice {
  readonly sent: SkBuff[] = [];
  calls = 0;
  busy = 0;
  constructor(readonly stack: NetStack, name: string, public slots: number, txQueueLen = 1000) {
    super(name, new Uint8Array([2, 0, 0, 0, 0, name.length]), 1500);
    this.txQueueLen = txQueueLen;
    stack.register_netdev(this);
  }
  ndo_start_xmit(skb: SkBuff): NetdevTx {
    this.calls++;
    if (this.sent.length >= this.slots) {
      this.netif_stop_queue();
      this.busy++;
      return NETDEV_TX_BUSY;
    }
    this.sent.push(skb);
    if (this.sent.length >= this.slots) this.netif_stop_queue();
    return NETDEV_TX_OK;
  }
  /** Frees `n` transmitted skbs and wakes the queue. */
  complete(n = this.sent.length): void {
    for (const skb of this.sent.splice(0, n)) this.stack.pool.free(skb);
    this.netif_wake_queue();
  }
}

/** A protocol handler that records packet ids and frees. */
export class Sink implements ProtocolHandler {
  readonly ids: number[] = [];
  constructor(readonly stack: NetStack) {}
  protoRcv(skb: SkBuff): void {
    this.ids.push(skb.id);
    this.stack.consume_skb(skb);
  }
}

/** An skb of `len` bytes received on `dev`. */
export function rxSkb(stack: NetStack, dev: NetDevice, len = 100): SkBuff {
  const skb = stack.pool.alloc();
  skb.put(len);
  skb.head.fill(0xab, skb.data, skb.data + len);
  skb.dev = dev;
  skb.bornAt = stack.sim.now;
  return skb;
}

/**
 * A TCPv4 GSO skb as netback builds one: the first 200 bytes linear, the rest in page frags,
 * CHECKSUM_PARTIAL, MSS 1448. Its payload is `payloadLength` bytes of (i × 7) & 0xff; `frame` is
 * the whole packet as one buffer.
 */
export function tcpGsoSkb(pool: SkbPool, spec: Omit<TcpFrameSpec, 'payload' | 'checksum'>, payloadLength = 10_000) {
  const payload = new Uint8Array(payloadLength);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 7) & 0xff;
  const frame = buildTcpFrame({ ...spec, payload, checksum: 'partial' });
  const skb = pool.alloc();
  skb.head.set(frame.subarray(0, 200), skb.put(200));
  for (let off = 200; off < frame.length; off += 4096) {
    const page = new Uint8Array(4096);
    const n = Math.min(4096, frame.length - off);
    page.set(frame.subarray(off, off + n));
    skb.addFrag(page, 0, n);
  }
  skb.ipSummed = CHECKSUM_PARTIAL;
  skb.csumStart = 34;
  skb.csumOffset = 16;
  skb.gsoSize = 1448;
  skb.gsoType = SKB_GSO_TCPV4;
  return { skb, payload, frame };
}
