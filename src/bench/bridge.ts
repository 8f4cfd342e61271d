/**
 * Bridge figures:
 *
 * - bridge.fdb_decision_1k / _100k: ns per forwarding decision (br_handle_frame: source check,
 *   learning refresh, FDB lookup, should_deliver, MTU check) for known unicast frames, with 1,000
 *   and 100,000 entries in the FDB; baseline: a bare Map<number, number> lookup of the
 *   destination MAC key read from the same frames.
 * - bridge.256_guests_vs_1: ns per packet from the NIC to guests with 256 vifs on the bridge,
 *   against the same with 1 vif (vs_baseline = the ratio; target <= 1.2).
 */
import { Simulator } from '../sim';
import { Params } from '../params';
import { Bridge } from '../net/bridge';
import { bestNsPerOp, type BenchContext } from './harness';

const FRAME = 64;

function writeMac(b: Uint8Array, off: number, key: number): void {
  const hi = Math.floor(key / 0x1_0000_0000);
  b[off] = hi >>> 8; b[off + 1] = hi & 0xff;
  b[off + 2] = key >>> 24; b[off + 3] = (key >>> 16) & 0xff; b[off + 4] = (key >>> 8) & 0xff; b[off + 5] = key & 0xff;
}

/** Station MAC n: 02:00:xx:xx:xx:xx, spread so consecutive stations do not share hash low bits. */
function station(n: number): number {
  return 0x0200_0000_0000 + ((Math.imul(n + 1, 0x9e3779b1) >>> 0));
}

/** `count` frames back to back, to stations dst(i) from src(i), EtherType 0x88b5. */
function frames(count: number, dst: (i: number) => number, src: (i: number) => number): Uint8Array {
  const buf = new Uint8Array(count * FRAME);
  for (let i = 0; i < count; i++) {
    writeMac(buf, i * FRAME, dst(i));
    writeMac(buf, i * FRAME + 6, src(i));
    buf[i * FRAME + 12] = 0x88; buf[i * FRAME + 13] = 0xb5;
  }
  return buf;
}

function fdbDecision(ctx: BenchContext, entries: number, figure: string): void {
  const sim = new Simulator({ seed: 1 });
  const br = new Bridge(sim, Params.defaults());
  const a = br.addPort({ name: 'eth0', mac: '00:16:3e:00:00:01', kind: 'nic' });
  const b = br.addPort({ name: 'vif1.0', mac: 'fe:ff:ff:ff:ff:ff', kind: 'vif' });
  // learn `entries` stations behind vif1.0
  const learn = frames(entries, () => 0xffff_ffff_ffff, (i) => station(i));
  for (let i = 0; i < entries; i++) br.br_handle_frame(b, learn, i * FRAME, FRAME);
  // traffic from one host behind eth0 to stations spread over the whole table
  const n = 4096;
  const traffic = frames(n, (i) => station((i * 7919) % entries), () => 0x0200_ffff_0001);
  br.br_handle_frame(a, traffic, 0, FRAME);
  const map = new Map<number, number>();
  for (let i = 0; i < entries; i++) map.set(station(i), b);
  const iters = ctx.quick ? 100_000 : 1_000_000;
  let sink = 0;
  const modelRun = (it: number) => {
    for (let k = 0; k < it; k++) {
      const off = (k & (n - 1)) * FRAME;
      const v = br.br_handle_frame(a, traffic, off, FRAME);
      sink += v.egressCount;
    }
  };
  const baseRun = (it: number) => {
    for (let k = 0; k < it; k++) {
      const off = (k & (n - 1)) * FRAME;
      const key = ((traffic[off]! << 8) | traffic[off + 1]!) * 0x1_0000_0000
        + (((traffic[off + 2]! << 24) | (traffic[off + 3]! << 16) | (traffic[off + 4]! << 8) | traffic[off + 5]!) >>> 0);
      sink += map.get(key) ?? 0;
    }
  };
  // interleaved rounds, best of each: both sides see the same background load
  let model = Infinity;
  let base = Infinity;
  for (let r = 0; r < (ctx.quick ? 2 : 6); r++) {
    model = Math.min(model, bestNsPerOp(modelRun, iters, 3));
    base = Math.min(base, bestNsPerOp(baseRun, iters, 3));
  }
  if (sink === 0.5) console.log(sink);
  if (br.fdbTable.size < entries) throw new Error(`bench ${figure}: FDB holds ${br.fdbTable.size} entries, expected ${entries}`);
  ctx.report(figure, {
    value: model, unit: 'ns/frame', vs_baseline: model / base,
    note: `known unicast through br_handle_frame with ${entries.toLocaleString('en-US')} FDB entries; baseline: bare Map lookup of the dst key`,
  });
}

function guestsCost(guests: number, iters: number): number {
  const sim = new Simulator({ seed: 1 });
  const br = new Bridge(sim, Params.defaults());
  const nic = br.addPort({ name: 'eth0', mac: '00:16:3e:00:00:01', kind: 'nic' });
  const vifs: number[] = [];
  for (let g = 0; g < guests; g++) vifs.push(br.addPort({ name: `vif${g + 1}.0`, mac: 'fe:ff:ff:ff:ff:ff', kind: 'vif' }));
  const guestMac = (g: number) => 0x0016_3e10_0000 + g;
  // each guest announces itself (learned on its vif)
  const hello = frames(guests, () => 0xffff_ffff_ffff, guestMac);
  for (let g = 0; g < guests; g++) br.br_handle_frame(vifs[g]!, hello, g * FRAME, FRAME);
  const n = 1024;
  const traffic = frames(n, (i) => guestMac(i % guests), () => 0x0200_ffff_0001);
  let sink = 0;
  const ns = bestNsPerOp((it) => {
    for (let k = 0; k < it; k++) sink += br.br_handle_frame(nic, traffic, (k & (n - 1)) * FRAME, FRAME).egressCount;
  }, iters);
  if (sink === 0.5) console.log(sink);
  return ns;
}

export function run(ctx: BenchContext): void {
  fdbDecision(ctx, 1_000, 'bridge.fdb_decision_1k');
  fdbDecision(ctx, 100_000, 'bridge.fdb_decision_100k');
  const iters = ctx.quick ? 100_000 : 1_000_000;
  // interleave to share the machine's noise
  let one = Infinity;
  let many = Infinity;
  for (let r = 0; r < (ctx.quick ? 2 : 6); r++) {
    one = Math.min(one, guestsCost(1, iters));
    many = Math.min(many, guestsCost(256, iters));
  }
  ctx.report('bridge.256_guests_vs_1', {
    value: many, unit: 'ns/packet', vs_baseline: many / one,
    note: `NIC-to-guest known unicast with 256 vifs vs 1 vif (${one.toFixed(1)} ns/packet); target ratio <= 1.2`,
  });
}
