/**
 * A scripted netfront for netback tests: a guest domain with real tx/rx ring pages granted to
 * dom0, an event channel, packet pages it grants read-only, and helpers to write requests
 * byte-exactly and read responses. dom0's stack is a capturing stub (netif_receive_skb /
 * netif_rx record the skb; the test frees it, as dom0 would after transmitting it).
 */
import { Simulator } from '../../../src/sim/simulator';
import { Cpu } from '../../../src/sim/cpu';
import { Params } from '../../../src/params';
import { Hypervisor } from '../../../src/xen/hypervisor';
import type { GuestHandle } from '../../../src/xen/hypervisor';
import { SkbPool, type SkBuff } from '../../../src/net/skb';
import {
  SharedRing, XEN_FRONT_RING_INIT, RING_GET_REQUEST, RING_GET_RESPONSE, RING_PUSH_REQUESTS_AND_CHECK_NOTIFY,
  type FrontRing,
} from '../../../src/io/ring';
import { writeTxRequest, writeRxRequest, txResponseId, txResponseStatus, readRxResponse, type RxResponse } from '../../../src/io/netif';
import { NetbackDriver, netbackHypervisor, type XenVif, type VifDesign } from '../../../src/drivers/netback';

export class CaptureStack {
  readonly pool = new SkbPool();
  readonly cpu = new Cpu('dom0');
  readonly received: SkBuff[] = [];
  readonly via: string[] = [];
  netif_receive_skb(skb: SkBuff): void { this.received.push(skb); this.via.push('netif_receive_skb'); }
  netif_rx(skb: SkBuff): void { this.received.push(skb); this.via.push('netif_rx'); }
  /** Frees every received skb (dom0 finished with them). */
  freeAll(): void { for (const s of this.received.splice(0)) this.pool.free(s); this.via.length = 0; }
}

export interface Host {
  sim: Simulator;
  hv: Hypervisor;
  stack: CaptureStack;
  nb: NetbackDriver;
}

export function makeHost(overrides: Record<string, number | boolean | string> = {}): Host {
  const sim = new Simulator({ seed: 7 });
  const params = Params.defaults().with(overrides);
  const hv = new Hypervisor(sim, params);
  hv.createDomain({ name: 'Domain-0', pages: 64 });
  const stack = new CaptureStack();
  const nb = new NetbackDriver(sim, params, netbackHypervisor(hv, 0), stack);
  return { sim, hv, stack, nb };
}

/** A scripted frontend in its own guest domain. */
export class Frontend {
  readonly g: GuestHandle;
  readonly tx: FrontRing;
  readonly rx: FrontRing;
  readonly txRef: number;
  readonly rxRef: number;
  readonly port: number;
  vif!: XenVif;
  notifications = 0;
  private nextPfn = 2;

  constructor(readonly host: Host, name: string) {
    this.g = host.hv.createDomain({ name, pages: 256 });
    this.tx = XEN_FRONT_RING_INIT(new SharedRing(this.g.page(0), 12));
    this.rx = XEN_FRONT_RING_INIT(new SharedRing(this.g.page(1), 8));
    this.txRef = this.g.gnttab.gnttab_grant_foreign_access(0, this.g.pfn_to_gfn(0), false);
    this.rxRef = this.g.gnttab.gnttab_grant_foreign_access(0, this.g.pfn_to_gfn(1), false);
    this.port = this.g.xenbus_alloc_evtchn(0);
    this.g.bind_evtchn_to_irqhandler(this.port, () => { this.notifications++; });
  }

  get domid(): number { return this.g.domid; }

  connect(design: VifDesign = 'modern', extra: { rxCopy?: boolean; rxNotify?: boolean } = {}): XenVif {
    this.vif = this.host.nb.xenvif_alloc(this.domid, 0, design);
    const rc = this.vif.connect({
      queues: [{ txRingRef: this.txRef, rxRingRef: this.rxRef, txEvtchn: this.port, rxEvtchn: this.port }],
      rxCopy: extra.rxCopy ?? true, rxNotify: extra.rxNotify ?? true, canSg: true, gsoTcpv4: true, gsoTcpv6: true,
    });
    if (rc !== 0) throw new Error(`connect failed: ${rc}`);
    return this.vif;
  }

  /** A fresh page of this guest holding `bytes` at `offset`; returns {pfn, page}. */
  page(bytes?: Uint8Array, offset = 0): { pfn: number; page: Uint8Array } {
    const pfn = this.nextPfn++;
    const page = this.g.page(pfn);
    page.fill(0);
    if (bytes) page.set(bytes, offset);
    return { pfn, page };
  }

  grantRO(pfn: number): number {
    return this.g.gnttab.gnttab_grant_foreign_access(0, this.g.pfn_to_gfn(pfn), true);
  }

  /** Writes one tx request slot (no push). */
  txReq(gref: number, offset: number, flags: number, id: number, size: number): number {
    const i = this.tx.req_prod_pvt;
    writeTxRequest(this.tx.sring.view, RING_GET_REQUEST(this.tx, i), gref, offset, flags, id, size);
    this.tx.req_prod_pvt = (i + 1) >>> 0;
    return i;
  }

  /** Writes raw 8 bytes of an extra_info into the next tx slot. */
  txExtra(bytes: number[]): number {
    const i = this.tx.req_prod_pvt;
    const o = RING_GET_REQUEST(this.tx, i);
    for (let k = 0; k < 8; k++) this.tx.sring.view.setUint8(o + k, bytes[k] ?? 0);
    this.tx.req_prod_pvt = (i + 1) >>> 0;
    return i;
  }

  /** Pushes requests and notifies if asked (RING_PUSH_REQUESTS_AND_CHECK_NOTIFY). */
  pushTx(): boolean {
    const notify = RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(this.tx);
    if (notify) this.g.notify_remote_via_evtchn(this.port);
    return notify;
  }

  /** Sends one packet in one slot: page with the bytes at `offset`. */
  sendOne(bytes: Uint8Array, id = 0, flags = 0, offset = 0): number {
    const { pfn } = this.page(bytes, offset);
    const gref = this.grantRO(pfn);
    this.txReq(gref, offset, flags, id, bytes.length);
    return gref;
  }

  txRsp(i: number): { id: number; status: number } {
    const o = RING_GET_RESPONSE(this.tx, i);
    return { id: txResponseId(this.tx.sring.view, o), status: txResponseStatus(this.tx.sring.view, o) };
  }

  /** Posts `n` rx buffers (one fresh granted page each); returns their grefs and pages. */
  postRx(n: number, push = true): { gref: number; page: Uint8Array; id: number }[] {
    const out = [];
    for (let k = 0; k < n; k++) {
      const { pfn, page } = this.page();
      const gref = this.g.gnttab.gnttab_grant_foreign_access(0, this.g.pfn_to_gfn(pfn), false);
      const i = this.rx.req_prod_pvt;
      const id = i & 255;
      writeRxRequest(this.rx.sring.view, RING_GET_REQUEST(this.rx, i), id, gref);
      this.rx.req_prod_pvt = (i + 1) >>> 0;
      out.push({ gref, page, id });
    }
    if (push) {
      const notify = RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(this.rx);
      if (notify) this.g.notify_remote_via_evtchn(this.port);
    }
    return out;
  }

  rxRsp(i: number): RxResponse {
    return readRxResponse(this.rx.sring.view, RING_GET_RESPONSE(this.rx, i));
  }
}

/** An Ethernet + IPv4 + UDP frame of `len` bytes with a recognisable payload. */
export function udpFrame(len: number, seed = 1): Uint8Array {
  const b = new Uint8Array(len);
  b.set([0x00, 0x16, 0x3e, 0x00, 0x00, 0x02, 0x00, 0x16, 0x3e, 0x00, 0x00, 0x01, 0x08, 0x00], 0);
  const ipLen = len - 14;
  b.set([0x45, 0, ipLen >> 8, ipLen & 255, 0, 1, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2], 14);
  const udpLen = ipLen - 20;
  b.set([0x13, 0x88, 0x13, 0x89, udpLen >> 8, udpLen & 255, 0, 0], 34);
  for (let i = 42; i < len; i++) b[i] = (i * 7 + seed) & 255;
  return b;
}

/** A dom0 skb from the host's pool holding `bytes` in its linear area. */
export function skbOf(h: Host, bytes: Uint8Array): SkBuff {
  const skb = h.stack.pool.alloc();
  const at = skb.put(bytes.length);
  skb.head.set(bytes, at);
  return skb;
}

/** All bytes of an skb (linear + frags). */
export function skbBytes(skb: SkBuff): Uint8Array {
  const out = new Uint8Array(skb.len);
  skb.copyBits(0, out, 0, skb.len);
  return out;
}
