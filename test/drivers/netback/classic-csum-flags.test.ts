/**
 * Checksum state of the classic (2.6.18) netback, against the lines of
 * bronson/linux-2.6.18.8-ovz-xen that decide it:
 *
 *   net_tx_action:  if (txp->flags & (NETTXF_data_validated|NETTXF_csum_blank)) {
 *                           skb->ip_summed = CHECKSUM_UNNECESSARY; skb->proto_data_valid = 1;
 *                   } else { skb->ip_summed = CHECKSUM_NONE; skb->proto_data_valid = 0; }
 *                   skb->proto_csum_blank = !!(txp->flags & NETTXF_csum_blank);
 *   dev.c skb_checksum_setup (CONFIG_XEN): proto_csum_blank + IPv4 + TCP/UDP within the linear
 *                   area → CHECKSUM_HW, else -EPROTO (dev_queue_xmit drops the packet)
 *   net_rx_action:  CHECKSUM_HW → NETRXF_csum_blank|NETRXF_data_validated;
 *                   else proto_data_valid → NETRXF_data_validated
 */
import { describe, expect, it } from 'vitest';
import { makeHost, Frontend, udpFrame, type Host } from './harness';
import {
  NETIF_RSP_OKAY, NETRXF_csum_blank, NETRXF_data_validated, NETRXF_more_data, NETTXF_csum_blank, NETTXF_data_validated,
} from '../../../src/io/netif';
import { CHECKSUM_NONE, CHECKSUM_PARTIAL, CHECKSUM_UNNECESSARY, type SkBuff } from '../../../src/net/skb';
import { skb_checksum_setup } from '../../../src/net/xen-csum';
import type { AnyTraceRecord } from '../../../src/sim/trace';

const CSUM_FLAGS = NETRXF_csum_blank | NETRXF_data_validated;

/** udpFrame with the IPv4 protocol byte replaced (6 = TCP, 1 = ICMP). */
function ipv4Frame(len: number, proto: number): Uint8Array {
  const b = udpFrame(len);
  b[23] = proto;
  return b;
}

/** Ethernet + IPv6 + UDP. */
function udp6Frame(len: number): Uint8Array {
  const b = new Uint8Array(len);
  b.set([0x00, 0x16, 0x3e, 0x00, 0x00, 0x02, 0x00, 0x16, 0x3e, 0x00, 0x00, 0x01, 0x86, 0xdd], 0);
  const pl = len - 54;
  b.set([0x60, 0, 0, 0, pl >> 8, pl & 255, 17, 64], 14);
  b[21 + 16] = 1; // ::1 → ::2
  b[21 + 32] = 2;
  b.set([0x13, 0x88, 0x13, 0x89, pl >> 8, pl & 255, 0, 0], 54);
  return b;
}

/** Sends one single-slot packet from a connected classic frontend; returns dom0's skb and the tx_csum record. */
function txOne(h: Host, fe: Frontend, frame: Uint8Array, flags: number, id = 1): { skb: SkBuff | undefined; rec: AnyTraceRecord } {
  const rec = h.sim.trace.record('netback.classic.tx_csum');
  fe.sendOne(frame, id, flags);
  fe.pushTx();
  h.sim.run();
  rec.stop();
  expect(rec.records).toHaveLength(1);
  return { skb: h.stack.received.at(-1), rec: rec.records[0]! };
}

describe('classic netback checksum state (2.6.18)', () => {
  it('net_tx_action() gives a csum_blank request CHECKSUM_UNNECESSARY, proto_data_valid and proto_csum_blank; skb_checksum_setup() (dom0\'s dev_queue_xmit) then makes it CHECKSUM_HW at the UDP checksum', () => {
    const h = makeHost();
    const fe = new Frontend(h, 'guest1');
    fe.connect('classic');
    const { skb, rec } = txOne(h, fe, udpFrame(1000), NETTXF_csum_blank | NETTXF_data_validated);
    expect(rec).toMatchObject({ vif: fe.vif.name, ipSummed: CHECKSUM_UNNECESSARY, protoDataValid: true, protoCsumBlank: true });
    // What dom0's stack receives from netif_rx: net_tx_action's state, unchanged.
    expect(skb).toBeDefined();
    expect({ s: skb!.ipSummed, v: skb!.protoDataValid, b: skb!.protoCsumBlank }).toEqual({ s: CHECKSUM_UNNECESSARY, v: true, b: true });
    // What dev_queue_xmit makes of it on the way out.
    expect(skb_checksum_setup(skb!)).toBe(0);
    expect({ s: skb!.ipSummed, b: skb!.protoCsumBlank, at: skb!.csumStart, off: skb!.csumOffset }).toEqual({ s: CHECKSUM_PARTIAL, b: false, at: 34, off: 6 });
    // An old frontend that sets csum_blank alone gets the same (data_validated is inferred).
    const old = txOne(h, fe, ipv4Frame(1000, 6), NETTXF_csum_blank, 2);
    expect(old.rec).toMatchObject({ ipSummed: CHECKSUM_UNNECESSARY, protoDataValid: true, protoCsumBlank: true });
    expect(skb_checksum_setup(old.skb!)).toBe(0);
    expect([old.skb!.csumStart, old.skb!.csumOffset]).toEqual([34, 16]);
  });

  it('net_tx_action(): data_validated alone is CHECKSUM_UNNECESSARY + proto_data_valid (no setup); no flag is CHECKSUM_NONE without proto_data_valid', () => {
    const h = makeHost();
    const fe = new Frontend(h, 'guest1');
    fe.connect('classic');
    const dv = txOne(h, fe, udpFrame(300), NETTXF_data_validated, 1);
    expect(dv.rec).toMatchObject({ ipSummed: CHECKSUM_UNNECESSARY, protoDataValid: true, protoCsumBlank: false });
    expect([dv.skb!.ipSummed, dv.skb!.protoDataValid]).toEqual([CHECKSUM_UNNECESSARY, true]);
    const none = txOne(h, fe, udpFrame(300), 0, 2);
    expect(none.rec).toMatchObject({ ipSummed: CHECKSUM_NONE, protoDataValid: false, protoCsumBlank: false });
    expect([none.skb!.ipSummed, none.skb!.protoDataValid]).toEqual([CHECKSUM_NONE, false]);
  });

  it('skb_checksum_setup() refuses what 2.6.18 refuses: an IPv6 csum_blank packet (netback still passes it up and answers OKAY), but sets up an IPv4 fragment', () => {
    const h = makeHost();
    const fe = new Frontend(h, 'guest1');
    fe.connect('classic');
    // `if (skb->protocol != htons(ETH_P_IP)) goto out;` — the modern setup would take it.
    const v6 = txOne(h, fe, udp6Frame(600), NETTXF_csum_blank | NETTXF_data_validated, 1);
    expect(v6.rec).toMatchObject({ protoCsumBlank: true });
    expect(h.stack.received).toHaveLength(1);
    expect(skb_checksum_setup(v6.skb!)).toBe(-71);
    expect(h.sim.drops.total({ where: fe.vif.name })).toBe(0);
    h.stack.freeAll(); // dev_queue_xmit's out_kfree_skb; the pages go back and the guest is answered
    h.sim.run();
    expect(fe.txRsp(0)).toEqual({ id: 1, status: NETIF_RSP_OKAY });
    // 2.6.18 does not look at the fragment bits (the modern setup refuses a fragment).
    const frag = udpFrame(600);
    frag[20] = 0x20; // MF
    const f = txOne(h, fe, frag, NETTXF_csum_blank, 2);
    expect(skb_checksum_setup(f.skb!)).toBe(0);
    expect([f.skb!.ipSummed, f.skb!.csumStart, f.skb!.csumOffset]).toEqual([CHECKSUM_PARTIAL, 34, 6]);
  });

  it('skb_checksum_setup() finds the checksum in the linear area only and only for TCP/UDP over IPv4', () => {
    const h = makeHost();
    const mk = (bytes: Uint8Array, headLen = bytes.length, blank = true): SkBuff => {
      const skb = h.stack.pool.alloc();
      const at = skb.put(bytes.length);
      skb.head.set(bytes, at);
      skb.headLen = headLen; // the rest would be frags; only the linear area is looked at
      skb.ipSummed = CHECKSUM_UNNECESSARY;
      skb.protoCsumBlank = blank;
      return skb;
    };
    const tcp = mk(ipv4Frame(200, 6), 64);
    expect(skb_checksum_setup(tcp)).toBe(0);
    expect([tcp.ipSummed, tcp.csumStart, tcp.csumOffset, tcp.protoCsumBlank]).toEqual([CHECKSUM_PARTIAL, 34, 16, false]);
    expect(skb_checksum_setup(mk(ipv4Frame(200, 1)))).toBe(-71); // ICMP: "Attempting to checksum a non-TCP/UDP packet"
    // 40 bytes of IP options put the TCP checksum at 74..76, past netback's 64 linear bytes.
    const opts = ipv4Frame(200, 6);
    opts[14] = 0x4f;
    expect(skb_checksum_setup(mk(opts, 64))).toBe(-71);
    expect(skb_checksum_setup(mk(opts, 200))).toBe(0);
    const vlan = udpFrame(200);
    vlan[12] = 0x81;
    expect(skb_checksum_setup(mk(vlan))).toBe(-71);
    // Without proto_csum_blank it does nothing.
    const plain = mk(udpFrame(200), 200, false);
    expect(skb_checksum_setup(plain)).toBe(0);
    expect(plain.ipSummed).toBe(CHECKSUM_UNNECESSARY);
  });

  it('guest to guest: csum_blank arrives as csum_blank|data_validated, data_validated as data_validated, neither as 0; the sender gets OKAY after the copy', () => {
    const h = makeHost();
    const a = new Frontend(h, 'guestA');
    a.connect('classic');
    const b = new Frontend(h, 'guestB');
    b.connect('classic');
    b.postRx(40); // 2.6.18 keeps MAX_SKB_FRAGS + 2 requests free beyond rx_req_cons_peek
    h.sim.run();
    const rx = h.sim.trace.record('netback.classic.rx_csum');
    const sent: [number, number][] = [
      [NETTXF_csum_blank | NETTXF_data_validated, 1], [NETTXF_csum_blank, 2], [NETTXF_data_validated, 3], [0, 4],
    ];
    for (const [flags, id] of sent) {
      txOne(h, a, udpFrame(1400, id), flags, id);
      // dom0's bridge transmits it on B's vif (dev_queue_xmit: skb_checksum_setup, then netif_be_start_xmit).
      const skb = h.stack.received.pop()!;
      expect(skb_checksum_setup(skb)).toBe(0);
      b.vif.ndo_start_xmit(skb);
      h.sim.run();
    }
    // The first response of each packet carries the checksum flags (a frag's response follows it).
    const flags: number[] = [];
    let first = true;
    for (let i = 0; i < b.rx.sring.rsp_prod; i++) {
      const r = b.rxRsp(i);
      if (first) flags.push(r.flags & CSUM_FLAGS);
      first = (r.flags & NETRXF_more_data) === 0;
    }
    expect(flags).toEqual([CSUM_FLAGS, CSUM_FLAGS, NETRXF_data_validated, 0]);
    expect(rx.records.map((r) => [r.ipSummed, r.protoDataValid, r.rxFlags])).toEqual([
      [CHECKSUM_PARTIAL, true, CSUM_FLAGS], [CHECKSUM_PARTIAL, true, CSUM_FLAGS],
      [CHECKSUM_UNNECESSARY, true, NETRXF_data_validated], [CHECKSUM_NONE, false, 0],
    ]);
    expect([0, 1, 2, 3].map((i) => a.txRsp(i))).toEqual([1, 2, 3, 4].map((id) => ({ id, status: NETIF_RSP_OKAY })));
  });
});

describe('classic netback connect_rings() and feature-rx-notify', () => {
  it('netif_map() sets the vif\'s tx_queue_len to 1 when the frontend lacks feature-rx-notify, and leaves it otherwise', () => {
    // `if (val) be->netif->can_queue = 1; else be->netif->dev->tx_queue_len = 1;`
    const h = makeHost();
    const quiet = new Frontend(h, 'quiet');
    const before = quiet.connect('classic', { rxNotify: false }).txQueueLen;
    const notify = new Frontend(h, 'notify');
    notify.connect('classic', { rxNotify: true });
    expect(before).toBe(1);
    expect(notify.vif.txQueueLen).toBe(500); // netbk_queue_length
  });
});
