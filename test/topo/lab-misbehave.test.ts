/**
 * The misbehaving-guest lab helpers drive netback through its real paths: each case checks what
 * the drivers did (responses on the ring page, drops, fatal records, carrier), not the helper.
 */
import { describe, expect, it } from 'vitest';
import { buildXenHost, type XenHost } from '../../src/topo';
import {
  grantGuestPage, hangGuestRx, injectTxSlots, netbackKernelLog, rewriteTxSlot, scheduleAt, sendMalformedTx,
  txResponseRows, txStatusName, vifRxState, type MalformedTx,
} from '../../src/topo/lab-misbehave';
import { NETIF_RSP_ERROR, NETIF_RSP_OKAY, NETTXF_more_data } from '../../src/io/netif';
import { buildUdpFrame } from '../../src/wire/build';
import { Ipv4Addr, MacAddr } from '../../src/wire/address';

function twoGuests(design: 'modern' | 'classic' = 'modern', params: Record<string, number> = {}): XenHost {
  const host = buildXenHost({ seed: 3, params, guests: [{ name: 'rogue', design, pages: 2048 }, { name: 'good', pages: 2048 }] });
  host.external.endpoint.bind(9001);
  host.external.endpoint.bind(9002);
  host.guest('rogue').endpoint.bind(7000);
  host.guest('good').endpoint.bind(7000);
  host.guest('rogue').endpoint.sendUdp('10.0.0.100', 9001, 64);
  host.guest('good').endpoint.sendUdp('10.0.0.100', 9002, 64);
  host.runFor(host.ms(2));
  return host;
}

function goodStillDelivers(host: XenHost): void {
  const s = host.external.endpoint.socket(9002)!;
  const before = s.packets;
  for (let i = 0; i < 3; i++) host.guest('good').endpoint.sendUdp('10.0.0.100', 9002, 500);
  host.runFor(host.ms(2));
  expect(s.packets - before).toBe(3);
}

describe('lab-misbehave: transmit side', () => {
  it('rewriteTxSlot before-read: netback reads the bad gref, answers ERROR with netfront\'s id; netfront stays healthy', () => {
    const host = twoGuests();
    const rogue = host.guest('rogue');
    const rsp0 = rogue.netfront.queues[0]!.tx.sring.rsp_prod;
    const rw = rewriteTxSlot(host, rogue, { gref: 4000 }, 'before-read');
    const sock = host.external.endpoint.socket(9001)!;
    const before = sock.packets;
    rogue.endpoint.sendUdp('10.0.0.100', 9001, 1000);
    host.runFor(host.ms(1));
    expect(rw.written!.gref).not.toBe(4000);
    expect(rw.rewritten!.gref).toBe(4000);
    expect(rw.reqConsAtRewrite).toBe(rw.index); // netback had not read it
    const rsps = txResponseRows(rogue, rsp0);
    expect(rsps.map((r) => [r.index, r.id, r.status])).toEqual([[rw.index, rw.written!.id, NETIF_RSP_ERROR]]);
    expect(rsps[0]!.status_name).toBe('NETIF_RSP_ERROR');
    expect(host.sim.drops.total({ where: rogue.vif.name, reason: 'bad_grant' })).toBe(1);
    expect(sock.packets).toBe(before);
    expect(rogue.netfront.broken).toBe(false);
    rogue.endpoint.sendUdp('10.0.0.100', 9001, 1000);
    host.runFor(host.ms(1));
    expect(sock.packets).toBe(before + 1);
    expect(rogue.vif.disabled || !rogue.vif.carrier).toBe(false);
  });

  it('rewriteTxSlot after-read: netback uses its private copy, the packet goes through with OKAY', () => {
    const host = twoGuests();
    const rogue = host.guest('rogue');
    const rsp0 = rogue.netfront.queues[0]!.tx.sring.rsp_prod;
    const rw = rewriteTxSlot(host, rogue, { gref: 4000, offset: 4000, size: 9000 }, 'after-read');
    const sock = host.external.endpoint.socket(9001)!;
    const before = sock.packets;
    rogue.endpoint.sendUdp('10.0.0.100', 9001, 1000);
    host.runFor(host.ms(1));
    expect(rw.rewritten).toEqual({ ...rw.written!, gref: 4000, offset: 4000, size: 9000 });
    expect((rw.reqConsAtRewrite - rw.index) | 0).toBeGreaterThan(0);
    expect(sock.packets).toBe(before + 1);
    expect(txResponseRows(rogue, rsp0).map((r) => [r.id, r.status])).toEqual([[rw.written!.id, NETIF_RSP_OKAY]]);
    expect(rogue.vif.disabled).toBe(false);
    expect(host.sim.drops.total()).toBe(0);
  });

  const reasons: Record<MalformedTx, RegExp> = {
    offset: /^txreq\.offset: 4000, size: 200, end: 4200$/,
    slots: /^Malicious frontend using 20 slots, threshold 20$/,
    req_prod: /^Impossible number of requests\. req_prod \d+, req_cons \d+, size 256$/,
    extra: /^Invalid extra type: 9$/,
  };
  for (const kind of Object.keys(reasons) as MalformedTx[]) {
    it(`sendMalformedTx '${kind}': modern netback disables the vif and logs it; the other guest keeps sending`, () => {
      const host = twoGuests();
      const rogue = host.guest('rogue');
      const rec = host.sim.trace.record('netback.');
      sendMalformedTx(rogue, kind, { fatalSlots: host.netback.params.fatal_skb_slots });
      host.runFor(host.ms(2));
      const fatal = rec.records.filter((r) => r.ev === 'netback.fatal');
      expect(fatal.map((r) => String(r.reason))).toHaveLength(1);
      expect(String(fatal[0]!.reason)).toMatch(reasons[kind]);
      const log = netbackKernelLog(rec.records).map((l) => l.line);
      expect(log).toHaveLength(2);
      expect(log[0]).toMatch(/^\[ {4}0\.\d{6}\] vif vif-1-0 vif1\.0: /);
      expect(log[0]!.endsWith(String(fatal[0]!.reason))).toBe(true);
      expect(log[1]).toMatch(/vif1\.0: fatal error; disabling device$/);
      expect(rogue.vif.disabled).toBe(true);
      expect(rogue.vif.carrier).toBe(false);
      goodStillDelivers(host);
    });
  }

  it('sendMalformedTx against a classic (2.6.18) vif: ERROR responses, nothing fatal', () => {
    const host = twoGuests('classic');
    const rogue = host.guest('rogue');
    const rsp0 = rogue.netfront.queues[0]!.tx.sring.rsp_prod;
    const rec = host.sim.trace.record('netback.fatal');
    const w = sendMalformedTx(rogue, 'offset');
    host.runFor(host.ms(2));
    expect(rec.records).toHaveLength(0);
    expect(txResponseRows(rogue, rsp0).map((r) => [r.index, r.id, r.status])).toEqual([[w.first, 200, NETIF_RSP_ERROR]]);
    expect(rogue.vif.disabled).toBe(false);
    goodStillDelivers(host);
  });

  it('injectTxSlots writes at req_prod_pvt and publishes req_prod; grantGuestPage grants a readable page', () => {
    const host = twoGuests();
    const rogue = host.guest('rogue');
    const q = rogue.netfront.queues[0]!;
    const page = grantGuestPage(rogue, new Uint8Array([1, 2, 3]));
    expect(page.size).toBe(3);
    expect(rogue.netfront.xen.page(page.pfn)[2]).toBe(3);
    const prod0 = q.tx.req_prod_pvt;
    const r = injectTxSlots(rogue, [{ gref: page.gref, offset: 0, flags: 0, id: 201, size: 3 }]);
    expect(r).toEqual({ first: prod0, reqProd: (prod0 + 1) >>> 0 });
    host.runFor(host.ms(1));
    // 3 bytes < ETH_HLEN: a per-packet error, answered ERROR, the vif stays up.
    expect(txResponseRows(rogue, prod0).map((x) => [x.id, x.status])).toEqual([[201, NETIF_RSP_ERROR]]);
    expect(rogue.vif.disabled).toBe(false);
    expect(() => injectTxSlots(rogue, [{ gref: -1, offset: 0, flags: 0, id: 1, size: 1 }])).toThrow(/gref -1 is not allowed/);
    expect(() => sendMalformedTx(rogue, 'nope' as MalformedTx)).toThrow(/kind "nope" is not allowed/);
    expect(txStatusName(-2)).toBe('NETIF_RSP_DROPPED');
  });
});

describe('lab-misbehave: a classic guest\'s widest legal packets', () => {
  // 2.6.18 takes up to MAX_SKB_FRAGS (18) more slots: with 17, the first slot's bytes past
  // PKT_PROT_LEN become an 18th fragment; with 18, the whole first slot stays in the head. Both
  // are legal there, so both must cross dom0 to the wire (the model's skbs used to stop at 17).
  for (const frags of [17, 18]) {
    it(`a first slot of 100 bytes plus ${frags} fragments reaches the external host; every slot answered OKAY`, () => {
      const host = twoGuests('classic');
      const rogue = host.guest('rogue');
      const sock = host.external.endpoint.socket(9001)!;
      const got = sock.packets;
      const frame = buildUdpFrame({
        srcMac: MacAddr.fromBytes(rogue.eth0.mac), dstMac: MacAddr.fromBytes(host.external.nic.mac), srcIp: Ipv4Addr.parse(rogue.ip),
        dstIp: host.external.endpoint.ip, srcPort: 9001, dstPort: 9001, payloadLength: 100 - 42,
      });
      const page = grantGuestPage(rogue, frame);
      const prod0 = rogue.netfront.queues[0]!.tx.req_prod_pvt;
      const slots = [{ gref: page.gref, offset: 0, flags: NETTXF_more_data, id: 300, size: 100 + frags * 8 }];
      for (let f = 0; f < frags; f++) slots.push({ gref: page.gref, offset: 0, flags: f < frags - 1 ? NETTXF_more_data : 0, id: 301 + f, size: 8 });
      injectTxSlots(rogue, slots);
      host.runFor(host.ms(2));
      // The frame's IP length says 86 bytes: the receiver trims the fragments' trailing bytes.
      expect(sock.packets - got).toBe(1);
      expect(txResponseRows(rogue, prod0).map((r) => [r.id, r.status])).toEqual(slots.map((x) => [x.id, NETIF_RSP_OKAY]));
      goodStillDelivers(host);
    });
  }
});

describe('lab-misbehave: receive side', () => {
  it('hangGuestRx: netback queues, drains by timeout, stalls (carrier off, logged), recovers when the guest wakes', () => {
    const host = twoGuests('modern', { 'netback.rx_drain_timeout_msecs': 10, 'netback.rx_stall_timeout_msecs': 20 });
    const rogue = host.guest('rogue');
    const rec = host.sim.trace.record('netback.carrier');
    hangGuestRx(host, rogue, true);
    const ext = host.external.endpoint;
    const states: ReturnType<typeof vifRxState>[] = [];
    const h = host.sim.register('test.stream', (k) => {
      ext.sendUdp(rogue.ip, 7000, 1000);
      if (k === 300) states.push(vifRxState(rogue));
      if (k + 1 < 800) host.sim.after(50_000, h, k + 1);
    });
    host.sim.after(0, h, 0);
    host.runFor(host.ms(35));
    expect(Math.max(...states.map((s) => s.queued))).toBeGreaterThan(0);
    expect(states[0]!.free_requests).toBe(0);
    expect(host.sim.drops.total({ where: rogue.vif.name, reason: 'drain_timeout' })).toBeGreaterThan(0);
    expect(rogue.vif.carrier).toBe(false);
    expect(vifRxState(rogue).stalled).toBe(true);
    let woke = false;
    scheduleAt(host, host.now + host.ms(1), () => { woke = true; hangGuestRx(host, rogue, false); });
    expect(() => scheduleAt(host, host.now - 1, () => undefined)).toThrow(/atNs .* is not allowed/);
    host.runFor(host.ms(3));
    expect(woke).toBe(true);
    expect(rogue.vif.carrier).toBe(true);
    expect(vifRxState(rogue).free_requests).toBeGreaterThan(0);
    const log = netbackKernelLog(rec.records).map((l) => l.line.replace(/^\[[ \d.]+\] /, ''));
    expect(log).toEqual(['vif vif-1-0 vif1.0: Guest Rx stalled', 'vif vif-1-0 vif1.0: Guest Rx ready']);
    goodStillDelivers(host);
  });
});
