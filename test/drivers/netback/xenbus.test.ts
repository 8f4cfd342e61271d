/**
 * netback's xenbus backend against the REAL netfront (src/drivers/netfront) and the real
 * xenstore, grant tables and event channels of the hypervisor model: the §7.4 handshake, the
 * §7.2/§7.3 keys, traffic after connect, multi-queue, misbehaving frontends (scripted), classic
 * vifs with page flipping, teardown, reconnect and toolstack removal.
 */
import { describe, expect, it } from 'vitest';
import {
  netback_probe, toolstackCreateVif, toolstackRemoveVif, vifBridgeHotplug, xen_net_read_rate,
} from '../../../src/drivers/netback';
import { netfront_probe, xenbus_switch_state, xenbusOf } from '../../../src/drivers/netfront';
import type { AnyTraceRecord } from '../../../src/sim/trace';
import { Frontend, udpFrame } from './harness';
import { addScriptedFrontend, dom0Sends, guestSends, guestSkb, makeHost, read, via, type TestHost } from './xenbus-host';

describe('netback xenbus (modern) with the real netfront', () => {
  it('netback_probe() + netfront_probe(): both ends reach Connected in the §7.4 order', () => {
    const h = makeHost();
    expect(read(h, `${h.paths.backend}/state`)).toBe('4');
    expect(read(h, `${h.paths.frontend}/state`)).toBe('4');
    // Backend: Initialising (toolstack) -> InitWait -> Connected; frontend: Initialising -> Connected.
    expect(h.beStates).toEqual([2, 4]);
    expect(h.be.stateLog).toEqual([2, 4]);
    expect(h.feStates).toEqual([1, 4]);
    const vif = h.be.vif!;
    expect(vif.name).toBe(`vif${h.guest}.0`);
    expect(vif.connected).toBe(true);
    expect(vif.carrier).toBe(true);
    expect(h.np.netdev.carrier).toBe(true);
    expect(h.attached).toEqual([`xenbr0:vif${h.guest}.0`]);
    expect(Array.from(h.be.feDevAddr)).toEqual([0x00, 0x16, 0x3e, 0, 0, 1]);
    expect(h.be.error).toBe('');
  });

  it('the backend and frontend keys in xenstore are those of §7.2 and §7.3', () => {
    const h = makeHost();
    const b = (k: string): string | undefined => read(h, `${h.paths.backend}/${k}`);
    const f = (k: string): string | undefined => read(h, `${h.paths.frontend}/${k}`);
    for (const k of ['feature-sg', 'feature-gso-tcpv4', 'feature-gso-tcpv6', 'feature-ipv6-csum-offload', 'feature-rx-copy',
      'feature-multicast-control', 'feature-dynamic-multicast-control', 'feature-split-event-channels', 'feature-ctrl-ring']) {
      expect(b(k), k).toBe('1');
    }
    expect(b('feature-rx-flip')).toBe('0');
    expect(b('multi-queue-max-queues')).toBe('1'); // min(8, online CPUs) for a one-CPU dom0
    expect(b('hotplug-status')).toBe('connected');
    expect(b('frontend')).toBe(h.paths.frontend);
    expect(f('backend')).toBe(h.paths.backend);
    // Frontend keys (one queue: top level; split channels because the backend offered them).
    const q = h.np.queues[0]!;
    expect(f('multi-queue-num-queues')).toBe('1');
    expect(f('tx-ring-ref')).toBe(String(q.tx_ring_ref));
    expect(f('rx-ring-ref')).toBe(String(q.rx_ring_ref));
    expect(f('event-channel-tx')).toBe(String(q.tx_evtchn));
    expect(f('event-channel-rx')).toBe(String(q.rx_evtchn));
    expect(f('event-channel')).toBeUndefined();
    for (const k of ['request-rx-copy', 'feature-rx-notify', 'feature-sg', 'feature-gso-tcpv4', 'feature-gso-tcpv6', 'feature-ipv6-csum-offload']) {
      expect(f(k), k).toBe('1');
    }
    // What connect() handed the vif.
    expect(h.be.connectConfig).toEqual({
      queues: [{ txRingRef: q.tx_ring_ref, rxRingRef: q.rx_ring_ref, txEvtchn: q.tx_evtchn, rxEvtchn: q.rx_evtchn }],
      rxCopy: true, rxNotify: true, canSg: true, gsoTcpv4: true, gsoTcpv6: true, ipCsum: true, ipv6Csum: true,
      multicastControl: false, // Linux netfront never writes request-multicast-control
    });
    const vif = h.be.vif!;
    expect(vif.canSg).toBe(true);
    expect(vif.gsoMask).toBe((1 << 1) | (1 << 2));
    expect(vif.queues[0]!.txIrq).not.toBe(vif.queues[0]!.rxIrq);
  });

  it('a packet flows guest → dom0 and dom0 → guest after the handshake', () => {
    const h = makeHost();
    const out = udpFrame(1000, 3);
    expect(Array.from(guestSends(h, h.np, out))).toEqual(Array.from(out));
    expect(via.last).toBe('netif_receive_skb');
    expect(h.be.vif!.counters.tx_responses).toBeGreaterThanOrEqual(1);
    const back = udpFrame(700, 9);
    expect(Array.from(dom0Sends(h, h.be.vif!, back))).toEqual(Array.from(back));
  });

  it('trace: netback.xenbus.frontend shows each frontend state seen, netback.xenbus.hotplug the completed Connected', () => {
    const h = makeHost({ hotplug: false });
    const rec = h.sim.trace.record('netback.xenbus.');
    vifBridgeHotplug(h.be);
    h.run();
    rec.stop();
    expect(rec.records.map((r) => [r.ev, r.status, r.completes])).toEqual([['netback.xenbus.hotplug', 'connected', 4]]);
    // Teardown as frontend_changed sees it.
    const seen: number[] = [];
    const h2 = makeHost();
    h2.sim.trace.on('netback.xenbus.frontend', (r: AnyTraceRecord) => { seen.push(r.frontend as number); });
    xenbus_switch_state(h2.np, 5);
    h2.run();
    expect(seen).toEqual([5, 6]);
  });

  it('Connected is deferred until the hotplug script writes hotplug-status = connected', () => {
    const h = makeHost({ hotplug: false });
    // The vif is connected and the frontend is Connected, but the backend has not said so.
    expect(h.be.vif!.connected).toBe(true);
    expect(h.be.state).toBe(4);
    expect(h.be.haveHotplugStatusWatch).toBe(true);
    expect(read(h, `${h.paths.backend}/state`)).toBe('2');
    expect(read(h, `${h.paths.frontend}/state`)).toBe('4');
    vifBridgeHotplug(h.be);
    h.run();
    expect(read(h, `${h.paths.backend}/state`)).toBe('4');
    expect(h.be.haveHotplugStatusWatch).toBe(false);
    expect(h.beStates).toEqual([2, 4]);
  });

  it('by default a frontend asking for 4 queues gets 1: the one-CPU dom0 offers min(8, CPUs) = 1', () => {
    const h = makeHost({ params: { 'netfront.max_queues': 4 } });
    expect(read(h, `${h.paths.backend}/multi-queue-max-queues`)).toBe('1');
    expect(read(h, `${h.paths.frontend}/multi-queue-num-queues`)).toBe('1'); // written: the backend has the key
    expect(read(h, `${h.paths.frontend}/tx-ring-ref`)).toBe(String(h.np.queues[0]!.tx_ring_ref));
    expect(h.be.vif!.queues).toHaveLength(1);
  });

  it('multi-queue: 2 queues read from queue-0/ and queue-1/, traffic on both', () => {
    const h = makeHost({ params: { 'netfront.max_queues': 2, 'netback.max_queues': 2 } });
    const f = (k: string): string | undefined => read(h, `${h.paths.frontend}/${k}`);
    expect(f('multi-queue-num-queues')).toBe('2');
    expect(f('tx-ring-ref')).toBeUndefined();
    const vif = h.be.vif!;
    expect(vif.queues).toHaveLength(2);
    for (let i = 0; i < 2; i++) {
      const q = h.np.queues[i]!;
      expect(f(`queue-${i}/tx-ring-ref`)).toBe(String(q.tx_ring_ref));
      expect(f(`queue-${i}/event-channel-rx`)).toBe(String(q.rx_evtchn));
      expect(h.be.connectConfig!.queues[i]).toEqual({ txRingRef: q.tx_ring_ref, rxRingRef: q.rx_ring_ref, txEvtchn: q.tx_evtchn, rxEvtchn: q.rx_evtchn });
    }
    const a = udpFrame(400, 1);
    const b = udpFrame(500, 2);
    expect(Array.from(guestSends(h, h.np, a, 0))).toEqual(Array.from(a));
    expect(Array.from(guestSends(h, h.np, b, 1))).toEqual(Array.from(b));
    expect(vif.queues[1]!.tx!.req_cons).toBe(1);
    expect(vif.queues[0]!.tx!.req_cons).toBe(1);
  });

  it('the rate key sets each queue\'s credit, and a change of rate is applied through the watch', () => {
    const h = makeHost({ rate: '100000,50000' });
    const q = h.be.vif!.queues[0]!;
    expect([q.credit_bytes, q.credit_usec, q.remaining_credit]).toEqual([100000, 50000, 100000]);
    h.hv.xenstore.write(`${h.paths.backend}/rate`, '2000,1000');
    h.run();
    expect([q.credit_bytes, q.credit_usec, q.remaining_credit]).toEqual([2000, 1000, 2000]);
    h.hv.xenstore.write(`${h.paths.backend}/rate`, 'garbage');
    h.run();
    expect(xen_net_read_rate(h.be)).toEqual({ bytes: Number.MAX_SAFE_INTEGER, usec: 0 });
    expect(q.credit_bytes).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('a change of rate while a packet waits for credit fires the credit timer at once (mod_timer_pending(&queue->credit_timeout, jiffies))', () => {
    // 2000 bytes per second: the first 1500-byte frame passes, the second waits for the timer.
    const h = makeHost({ rate: '2000,1000000' });
    const q = h.be.vif!.queues[0]!;
    guestSends(h, h.np, udpFrame(1458, 1));
    h.dom0.freeAll();
    h.np.netdev.ndo_start_xmit(guestSkb(h.guestPool, udpFrame(1458, 2)));
    h.run();
    expect(h.dom0.received).toHaveLength(0);
    expect(q.creditTimerPending).toBe(true);
    h.hv.xenstore.write(`${h.paths.backend}/rate`, '100000,50000');
    h.run(1_000_000);
    // Sent within a millisecond of the change, not at the end of the 1 s credit window.
    expect(h.dom0.received).toHaveLength(1);
    expect(q.creditTimerPending).toBe(false);
    // No timer pending: surplus credit is cut to the new credit_bytes.
    h.dom0.freeAll();
    h.hv.xenstore.write(`${h.paths.backend}/rate`, '1000,50000');
    h.run();
    expect(q.remaining_credit).toBe(1000);
  });

  it('teardown: frontend Closing → backend disconnects → Closing → Closed on both ends; then a new frontend reconnects', () => {
    const h = makeHost();
    const vif = h.be.vif!;
    xenbus_switch_state(h.np, 5);
    h.run();
    expect(read(h, `${h.paths.backend}/state`)).toBe('6');
    expect(read(h, `${h.paths.frontend}/state`)).toBe('6');
    expect(h.beStates).toEqual([2, 4, 5, 6]);
    expect(h.feStates).toEqual([1, 4, 5, 6]);
    expect(vif.connected).toBe(false);
    expect(vif.queues).toHaveLength(0);
    expect(vif.carrier).toBe(false);
    expect(h.be.removed).toBe(false); // still online
    // Reconnect: Closed -> InitWait -> Connected with a fresh frontend instance.
    xenbusOf(h.np).unwatch?.();
    const np2 = h.probeFrontend('eth1');
    h.run();
    expect(h.beStates).toEqual([2, 4, 5, 6, 2, 4]);
    expect(read(h, `${h.paths.frontend}/state`)).toBe('4');
    expect(h.be.vif).toBe(vif);
    expect(vif.connected).toBe(true);
    const frame = udpFrame(300, 4);
    expect(Array.from(guestSends(h, np2, frame))).toEqual(Array.from(frame));
  });

  it('toolstackRemoveVif(): online = 0 + Closing → the frontend closes and netback removes the device', () => {
    const h = makeHost();
    const name = h.be.vif!.name;
    toolstackRemoveVif(h.hv, h.paths);
    h.run();
    expect(read(h, `${h.paths.frontend}/state`)).toBe('6');
    expect(read(h, `${h.paths.backend}/state`)).toBe('6');
    expect(h.be.removed).toBe(true);
    expect(h.be.vif).toBeNull();
    expect(h.nb.vifs.map((v) => v.name)).not.toContain(name);
    expect(read(h, `${h.paths.backend}/hotplug-status`)).toBeUndefined();
  });
});

describe('netback xenbus with a misbehaving (scripted) frontend', () => {
  /** A scripted frontend on a host without a real one ('' removes a key); returns the host after it connects. */
  function scripted(keys: Record<string, string>): { h: TestHost; fe: Frontend } {
    return addScriptedFrontend(makeHost({ noFrontend: true }), Object.fromEntries(Object.entries(keys).map(([k, v]) => [k, v === '' ? null : v])));
  }

  const errorNode = (h: TestHost): string | undefined =>
    read(h, `/local/domain/0/error/backend/vif/${h.be.dev.otherendId}/0/error`);

  it('multi-queue-num-queues = 0 → xenbus error node, Closing, nothing connected', () => {
    const { h } = scripted({ 'multi-queue-num-queues': '0' });
    expect(errorNode(h)).toBe('-22 guest requested 0 queues, at least 1 is needed.');
    expect(read(h, `${h.paths.backend}/state`)).toBe('5');
    expect(h.be.vif!.connected).toBe(false);
    expect(h.be.vif!.queues).toHaveLength(0);
  });

  it('multi-queue-num-queues > max_queues → xenbus error node, no connect; the frontend closing ends in Closed', () => {
    const { h } = scripted({ 'multi-queue-num-queues': '2' });
    expect(errorNode(h)).toBe('-22 guest requested 2 queues, exceeding the maximum of 1.');
    expect(read(h, `${h.paths.backend}/state`)).toBe('5');
    expect(h.be.vif!.connected).toBe(false);
    h.hv.xenstore.write(`${h.paths.frontend}/state`, '6');
    h.run();
    expect(read(h, `${h.paths.backend}/state`)).toBe('6');
  });

  it('a frontend without feature-rx-notify gets a 30 ms drain timeout and no stall detection (read_xenbus_vif_flags)', () => {
    const without = scripted({ 'feature-rx-notify': '' }).h.be.vif!;
    expect(without.connected).toBe(true);
    expect([without.drainTimeoutNs, without.stallTimeoutNs]).toEqual([30_000_000, 0]);
    const withIt = scripted({}).h.be.vif!;
    expect([withIt.drainTimeoutNs, withIt.stallTimeoutNs]).toEqual([10_000_000_000, 60_000_000_000]);
  });

  it('a frontend without request-rx-copy gets -EOPNOTSUPP (flip-only frontends are refused by modern netback)', () => {
    const { h } = scripted({ 'request-rx-copy': '' });
    expect(errorNode(h)).toMatch(/^-95 /);
    expect(h.be.vif!.connected).toBe(false);
  });

  it('a single event-channel key is used for both directions (split fallback)', () => {
    const { h, fe } = scripted({});
    expect(read(h, `${h.paths.backend}/state`)).toBe('4');
    expect(h.be.connectConfig!.queues[0]).toEqual({ txRingRef: fe.txRef, rxRingRef: fe.rxRef, txEvtchn: fe.port, rxEvtchn: fe.port });
    expect(h.be.vif!.queues[0]!.txIrq).toBe(h.be.vif!.queues[0]!.rxIrq);
  });

  it('request-multicast-control = 1 turns on the vif\'s multicast filter (vif->multicast_control); absent leaves it off', () => {
    expect(scripted({ 'request-multicast-control': '1' }).h.be.vif!.multicastControl).toBe(true);
    expect(scripted({}).h.be.vif!.multicastControl).toBe(false);
  });

  it('missing ring refs → error node naming the path', () => {
    const { h } = scripted({ 'tx-ring-ref': '' });
    expect(h.be.error).toBe(`-2 reading ${h.paths.frontend}/ring-ref`);
    expect(errorNode(h)).toBe(`-2 reading ${h.paths.frontend}/ring-ref`);
    expect(h.be.vif!.connected).toBe(false);
  });
});

describe('netback xenbus (classic 2.6.18) with the classic netfront', () => {
  it('probe writes only the 2.6.18 keys and goes InitWait at once; feature-rx-flip=1 + a flipping netfront → page flipping', () => {
    const h = makeHost({ design: 'classic', classicRxFlip: true, params: { 'netfront.design': 'classic', 'netfront.rx_mode': 'flip' } });
    const b = (k: string): string | undefined => read(h, `${h.paths.backend}/${k}`);
    expect([b('feature-sg'), b('feature-gso-tcpv4'), b('feature-rx-copy'), b('feature-rx-flip')]).toEqual(['1', '1', '1', '1']);
    for (const k of ['feature-gso-tcpv6', 'multi-queue-max-queues', 'feature-split-event-channels', 'feature-ctrl-ring']) expect(b(k), k).toBeUndefined();
    expect(h.beStates).toEqual([2, 4]);
    expect(read(h, `${h.paths.frontend}/state`)).toBe('4');
    expect(read(h, `${h.paths.frontend}/request-rx-copy`)).toBe('0');
    expect(read(h, `${h.paths.frontend}/event-channel`)).toBeDefined();
    const vif = h.be.vif!;
    expect(vif.design).toBe('classic');
    expect(vif.rxCopy).toBe(false);
    expect(h.np.copyingReceiver).toBe(false);
    const out = udpFrame(800, 5);
    expect(Array.from(guestSends(h, h.np, out))).toEqual(Array.from(out));
    expect(via.last).toBe('netif_rx');
    const back = udpFrame(600, 6);
    expect(Array.from(dom0Sends(h, vif, back))).toEqual(Array.from(back));
    expect(vif.counters.rx_transfer_ops).toBeGreaterThan(0);
  });

  it('with the 2.6.18.8 default feature-rx-flip=0 a flip-preferring netfront falls back to copying', () => {
    const h = makeHost({ design: 'classic', params: { 'netfront.design': 'classic', 'netfront.rx_mode': 'flip' } });
    expect(read(h, `${h.paths.backend}/feature-rx-flip`)).toBe('0');
    expect(read(h, `${h.paths.frontend}/request-rx-copy`)).toBe('1');
    const vif = h.be.vif!;
    expect(vif.rxCopy).toBe(true);
    const back = udpFrame(600, 7);
    expect(Array.from(dom0Sends(h, vif, back))).toEqual(Array.from(back));
    expect(vif.counters.rx_transfer_ops).toBe(0);
    expect(vif.counters.rx_copy_ops).toBeGreaterThan(0);
  });

  it('classic teardown Closing → Closed and reconnect on a new Initialising', () => {
    const h = makeHost({ design: 'classic', params: { 'netfront.design': 'classic' } });
    const vif = h.be.vif!;
    xenbus_switch_state(h.np, 5);
    h.run();
    expect(h.beStates).toEqual([2, 4, 5, 6]);
    expect(vif.connected).toBe(false);
    xenbusOf(h.np).unwatch?.();
    const np2 = h.probeFrontend('eth1');
    h.run();
    expect(h.beStates).toEqual([2, 4, 5, 6, 2, 4]);
    expect(vif.connected).toBe(true);
    const frame = udpFrame(256, 8);
    expect(Array.from(guestSends(h, np2, frame))).toEqual(Array.from(frame));
  });
});

describe('netback_probe() and toolstack input checks', () => {
  it('netback_probe() names the missing option and refuses a directory the toolstack did not write', () => {
    const h = makeHost();
    expect(() => netback_probe({ nb: h.nb, hv: h.hv, nodename: undefined as unknown as string })).toThrow(/option 'nodename' is required/);
    expect(() => netback_probe({ nb: h.nb, hv: h.hv, nodename: '/local/domain/0/backend/vif/9/0' })).toThrow(/does not exist/);
    expect(() => toolstackCreateVif(h.hv, { frontDomid: h.guest, devid: 1, mac: '00:16:3e:00:00:02', ip: 'nope' })).toThrow(/ip "nope" is not allowed/);
  });
});
