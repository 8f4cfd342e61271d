/**
 * A scripted netback for netfront's tests: it speaks the xenbus handshake, maps the rings with
 * the hypervisor's real GNTTABOP_map_grant_ref, binds the event channels, reads transmitted bytes
 * with real GNTTABOP_copy from the guest's grants, and writes whatever responses a test scripts —
 * including wrong ones.
 */
import { Simulator } from '../../../src/sim/simulator';
import { Cpu } from '../../../src/sim/cpu';
import { Params } from '../../../src/params';
import { SkbPool, type SkBuff } from '../../../src/net/skb';
import type { NetDevice } from '../../../src/net/netdevice';
import { Hypervisor } from '../../../src/xen/hypervisor';
import { gnttab_set_map_op } from '../../../src/xen/grant_table';
import { libxl_device_nic_add } from '../../../src/xen/xenbus';
import {
  BACK_RING_ATTACH, RING_GET_REQUEST, RING_GET_RESPONSE, RING_PUSH_RESPONSES_AND_CHECK_NOTIFY, SharedRing, type BackRing,
} from '../../../src/io/ring';
import {
  NETRXF_more_data, NETTXF_extra_info, NETTXF_more_data, readExtraInfo, readTxRequest, rxRequestGref, rxRequestId, writeExtraGso,
  writeRxResponse, writeTxNullResponse, writeTxResponse, type ExtraInfo, type TxRequest,
} from '../../../src/io/netif';
import { DOMID_SELF, GNTCOPY_dest_gref, GNTCOPY_source_gref, GNTMAP_host_map, GNTST_okay } from '../../../src/io/xen-constants';
import { hypervisorPort, netfront_probe, type NetfrontInfo } from '../../../src/drivers/netfront';

export interface TxPacket {
  /** Ring index of the first slot. */
  first: number;
  /** Every slot in order: a request or an extra. */
  slots: ({ kind: 'req'; req: TxRequest } | { kind: 'extra'; extra: ExtraInfo })[];
  reqs: TxRequest[];
  extras: ExtraInfo[];
  /** The packet bytes read through grant copies (first slot: its own piece = total - others). */
  data: Uint8Array;
}

export class ScriptedBackend {
  tx!: BackRing;
  rx!: BackRing;
  txPort = 0;
  rxPort = 0;
  txEvents = 0;
  rxEvents = 0;
  connected = false;
  /** dom0 scratch page for copies. */
  readonly scratchPfn = 20;
  onTx: (() => void) | null = null;

  constructor(readonly hv: Hypervisor, readonly be: string, readonly fe: string, readonly guest: number, features: Record<string, string>) {
    const st = hv.xenstore;
    for (const [k, v] of Object.entries(features)) st.write(`${be}/${k}`, v);
    st.write(`${be}/state`, '2'); // InitWait
    st.watch(`${fe}/state`, 'be', () => {
      if (st.read(`${fe}/state`) === '4' && !this.connected) this.connect();
    });
  }

  private mapRing(ref: number, entry: number): BackRing {
    const op = gnttab_set_map_op(0x1000 + ref, GNTMAP_host_map, ref, this.guest);
    this.hv.gnttab_map_grant_ref(0, [op]);
    if (op.status !== GNTST_okay) throw new Error(`map ring ref ${ref}: status ${op.status}`);
    const s = new SharedRing(this.hv.mappedPage(0, op.handle), entry);
    return BACK_RING_ATTACH(s, s.rsp_prod);
  }

  connect(): void {
    const st = this.hv.xenstore;
    const dom0 = this.hv.guest(0);
    // Queue 0 only (flat keys, or queue-0/ when several queues were negotiated).
    const dir = Number(st.read(`${this.fe}/multi-queue-num-queues`) ?? '1') > 1 ? `${this.fe}/queue-0` : this.fe;
    this.tx = this.mapRing(Number(st.read(`${dir}/tx-ring-ref`)), 12);
    this.rx = this.mapRing(Number(st.read(`${dir}/rx-ring-ref`)), 8);
    const single = st.read(`${dir}/event-channel`);
    if (single !== undefined) {
      this.txPort = this.rxPort = dom0.bind_interdomain_evtchn_to_irqhandler(this.guest, Number(single), () => { this.txEvents++; this.onTx?.(); });
    } else {
      this.txPort = dom0.bind_interdomain_evtchn_to_irqhandler(this.guest, Number(st.read(`${dir}/event-channel-tx`)), () => { this.txEvents++; this.onTx?.(); });
      this.rxPort = dom0.bind_interdomain_evtchn_to_irqhandler(this.guest, Number(st.read(`${dir}/event-channel-rx`)), () => { this.rxEvents++; });
    }
    this.connected = true;
    st.write(`${this.be}/state`, '4');
  }

  /** Unconsumed tx requests published by the frontend. */
  get txPending(): number {
    return (this.tx.sring.req_prod - this.tx.req_cons) >>> 0;
  }

  /** Reads one packet's slots at req_cons and copies its bytes out with GNTTABOP_copy. */
  readTxPacket(): TxPacket | null {
    if (this.txPending === 0) return null;
    const view = this.tx.sring.view;
    const first = this.tx.req_cons;
    const slots: TxPacket['slots'] = [];
    const reqs: TxRequest[] = [];
    const extras: ExtraInfo[] = [];
    let i = first;
    const req0 = readTxRequest(view, RING_GET_REQUEST(this.tx, i++));
    slots.push({ kind: 'req', req: req0 });
    reqs.push(req0);
    if (req0.flags & NETTXF_extra_info) {
      for (;;) {
        const e = readExtraInfo(view, RING_GET_REQUEST(this.tx, i++));
        slots.push({ kind: 'extra', extra: e });
        extras.push(e);
        if (!(e.flags & 1)) break;
      }
    }
    let prev = req0;
    while (prev.flags & NETTXF_more_data) {
      prev = readTxRequest(view, RING_GET_REQUEST(this.tx, i++));
      slots.push({ kind: 'req', req: prev });
      reqs.push(prev);
    }
    this.tx.req_cons = i >>> 0;
    let others = 0;
    for (let k = 1; k < reqs.length; k++) others += reqs[k]!.size;
    const data = new Uint8Array(req0.size);
    let at = 0;
    const dom0 = this.hv.guest(0);
    const mfn = dom0.pfn_to_gfn(this.scratchPfn);
    const scratch = dom0.page(this.scratchPfn);
    reqs.forEach((r, k) => {
      const len = k === 0 ? req0.size - others : r.size;
      const st = this.hv.gnttab_copy_one(0, GNTCOPY_source_gref, r.gref, this.guest, r.offset, mfn, DOMID_SELF, 0, len);
      if (st !== GNTST_okay) throw new Error(`grant copy of ref ${r.gref}: ${st}`);
      data.set(scratch.subarray(0, len), at);
      at += len;
    });
    return { first, slots, reqs, extras, data };
  }

  /** Writes responses for a packet (NULL for extras), status for requests. Does not push. */
  respond(p: TxPacket, status = 0): void {
    const view = this.tx.sring.view;
    for (const s of p.slots) {
      const off = RING_GET_RESPONSE(this.tx, this.tx.rsp_prod_pvt);
      if (s.kind === 'req') writeTxResponse(view, off, s.req.id, status);
      else writeTxNullResponse(view, off);
      this.tx.rsp_prod_pvt = (this.tx.rsp_prod_pvt + 1) >>> 0;
    }
  }

  /** Writes one raw tx response {id, status} at rsp_prod_pvt. */
  rawTxResponse(id: number, status: number): void {
    writeTxResponse(this.tx.sring.view, RING_GET_RESPONSE(this.tx, this.tx.rsp_prod_pvt), id, status);
    this.tx.rsp_prod_pvt = (this.tx.rsp_prod_pvt + 1) >>> 0;
  }

  pushTx(): boolean {
    const notify = RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(this.tx);
    if (notify) this.hv.guest(0).notify_remote_via_evtchn(this.txPort);
    return notify;
  }

  /** Rx requests posted by the frontend and not yet used. */
  get rxAvailable(): number {
    return (this.rx.sring.req_prod - this.rx.req_cons) >>> 0;
  }

  /**
   * Places one rx response slot: copies `bytes` (may be empty) into the request's gref at
   * `offset` unless `noCopy`, and writes {id, offset, flags, status}. Returns the request's gref.
   */
  rxSlot(bytes: Uint8Array, flags: number, opts: { offset?: number; status?: number; noCopy?: boolean } = {}): number {
    const view = this.rx.sring.view;
    const idx = this.rx.req_cons;
    const reqOff = RING_GET_REQUEST(this.rx, idx);
    const id = rxRequestId(view, reqOff);
    const gref = rxRequestGref(view, reqOff);
    this.rx.req_cons = (idx + 1) >>> 0;
    const offset = opts.offset ?? 0;
    if (!opts.noCopy && bytes.length > 0) {
      const dom0 = this.hv.guest(0);
      dom0.page(this.scratchPfn).set(bytes, 0);
      const st = this.hv.gnttab_copy_one(0, GNTCOPY_dest_gref, dom0.pfn_to_gfn(this.scratchPfn), DOMID_SELF, 0, gref, this.guest, offset, bytes.length);
      if (st !== GNTST_okay) throw new Error(`rx grant copy to ref ${gref}: ${st}`);
    }
    writeRxResponse(view, RING_GET_RESPONSE(this.rx, idx), id, offset, flags, opts.status ?? bytes.length);
    this.rx.rsp_prod_pvt = this.rx.req_cons;
    return gref;
  }

  /** An extra_info GSO slot in the rx ring (consumes a request). */
  rxGsoExtra(size: number, type: number, flags = 0): void {
    const idx = this.rx.req_cons;
    writeExtraGso(this.rx.sring.view, RING_GET_RESPONSE(this.rx, idx), flags, size, type, 0);
    this.rx.req_cons = (idx + 1) >>> 0;
    this.rx.rsp_prod_pvt = this.rx.req_cons;
  }

  pushRx(): boolean {
    const notify = RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(this.rx);
    if (notify) this.hv.guest(0).notify_remote_via_evtchn(this.rxPort);
    return notify;
  }
}

export interface Rig {
  sim: Simulator;
  hv: Hypervisor;
  np: NetfrontInfo;
  be: ScriptedBackend;
  pool: SkbPool;
  received: { bytes: Uint8Array; skb: { len: number; headLen: number; nrFrags: number; ipSummed: number; gsoSize: number; gsoType: number } }[];
  /** Frees received skbs immediately (true) or keeps them (false). */
  keep: SkBuff[];
}

export interface RigOptions {
  params?: Record<string, number | boolean | string>;
  features?: Record<string, string>;
  trusted?: boolean;
  keepRx?: boolean;
  /** Count received packets only (no copies): for throughput measurements. */
  countOnly?: boolean;
}

export const DEFAULT_FEATURES = {
  'feature-sg': '1', 'feature-gso-tcpv4': '1', 'feature-gso-tcpv6': '1', 'feature-rx-copy': '1', 'feature-rx-flip': '0',
  'feature-split-event-channels': '1', 'multi-queue-max-queues': '8',
};

/** A host with dom0 (scripted backend) and one guest running netfront, connected. */
export function makeRig(o: RigOptions = {}): Rig {
  const sim = new Simulator({ seed: 1 });
  const params = Params.defaults().with({ 'xen.host_pages': 8192, ...(o.params ?? {}) });
  const hv = new Hypervisor(sim, params);
  hv.createDomain({ name: 'Domain-0', pages: 256 });
  const g = hv.createDomain({ name: 'guest1', pages: 2048 });
  const paths = libxl_device_nic_add(hv, { frontDomid: g.domid, mac: '00:16:3e:00:00:01', trusted: o.trusted });
  const be = new ScriptedBackend(hv, paths.backend, paths.frontend, g.domid, o.features ?? DEFAULT_FEATURES);
  const pool = new SkbPool();
  const received: Rig['received'] = [];
  const keep: SkBuff[] = [];
  const stack = {
    skbs: pool,
    cpu: new Cpu('guest1'),
    napi_gro_receive(_dev: NetDevice, skb: SkBuff): void {
      if (o.countOnly) { received.length++; pool.free(skb); return; }
      const bytes = new Uint8Array(skb.len);
      skb.copyBits(0, bytes, 0, skb.len);
      received.push({ bytes, skb: { len: skb.len, headLen: skb.headLen, nrFrags: skb.nrFrags, ipSummed: skb.ipSummed, gsoSize: skb.gsoSize, gsoType: skb.gsoType } });
      if (o.keepRx) keep.push(skb);
      else pool.free(skb);
    },
  };
  const np = netfront_probe({ sim, params, xen: hypervisorPort(hv, g.domid), stack, nodename: paths.frontend });
  sim.run({ until: sim.now + 1_000_000 });
  return { sim, hv, np, be, pool, received, keep };
}

/** An skb with `len` bytes of pattern data in the linear area. */
export function linearSkb(pool: SkbPool, len: number, seed = 1): SkBuff {
  const skb = pool.alloc();
  const at = skb.put(len);
  for (let i = 0; i < len; i++) skb.head[at + i] = (i * 7 + seed) & 0xff;
  return skb;
}

/**
 * An Ethernet/IPv4/TCP frame of `len` bytes, patterned from `seed`, with the headers
 * checksum_setup reads: IPv4, ihl 5, DF and no fragment offset, TCP.
 */
export function tcpFrame(len: number, seed = 0): Uint8Array {
  const f = new Uint8Array(len);
  for (let i = 0; i < len; i++) f[i] = (i * 29 + seed) & 0xff;
  if (len >= 24) {
    f[12] = 0x08; f[13] = 0x00;
    f[14] = 0x45; f[20] = 0x40; f[21] = 0; f[23] = 6;
  }
  return f;
}

/** Writes a receive chain of `n` data slots (the first `first` bytes, the others 1000 each) of one TCP frame; returns the frame. */
export function rxChain(r: Rig, n: number, first: number): Uint8Array {
  const f = tcpFrame(first + (n - 1) * 1000, n);
  r.be.rxSlot(f.subarray(0, first), n > 1 ? NETRXF_more_data : 0);
  for (let k = 1; k < n; k++) r.be.rxSlot(f.subarray(first + (k - 1) * 1000, first + k * 1000), k < n - 1 ? NETRXF_more_data : 0);
  return f;
}

/** Runs the simulation for `ns` of virtual time. */
export function run(r: Rig, ns = 1_000_000): void {
  r.sim.run({ until: r.sim.now + ns });
}
