import { describe, expect, it } from 'vitest';
import { buildXenHost } from '../../src/topo';

describe('buildXenHost', () => {
  it('connects every guest: both xenbus ends Connected, vif enslaved to xenbr0 with carrier on', () => {
    const host = buildXenHost({ guests: [{ name: 'a' }, { name: 'b', design: 'classic' }] });
    for (const g of host.guests) {
      expect(host.hv.xenstore.read(`${g.frontendPath}/state`)).toBe('4');
      expect(host.hv.xenstore.read(`${g.backendPath}/state`)).toBe('4');
      expect(g.vif.carrier).toBe(true);
      expect(host.bridge.fdb().length).toBeGreaterThan(0);
    }
    expect(host.guest('b').vif.design).toBe('classic');
    expect(() => host.guest('nope')).toThrow(/no guest named 'nope'; guests: a, b/);
  });

  it('delivers a UDP datagram from a guest to the external host after ARP, through the whole path', () => {
    const host = buildXenHost({ guests: [{ name: 'web' }] });
    const sock = host.external.endpoint.bind(9000);
    const walk = host.sim.trace.record('pkt.step');
    host.guest('web').endpoint.sendUdp('10.0.0.100', 9000, 1472);
    host.runFor(host.ms(5));
    expect(sock.packets).toBe(1);
    expect(sock.bytes).toBe(1472);
    const fns = walk.records.map((r) => r.fn);
    for (const fn of ['xennet_start_xmit', 'xenvif_tx_build_gops', 'br_handle_frame', 'ixgbe_xmit_frame', 'xenvif_rx_skb', 'xennet_poll', 'udp_rcv']) {
      expect(fns).toContain(fn);
    }
    expect(host.sim.drops.total()).toBe(0);
  });

  it('answers a ping from the external host to a guest (full round trip)', () => {
    const host = buildXenHost({ guests: [{ name: 'web', ip: '10.0.0.11' }] });
    const ping = host.external.endpoint.ping('10.0.0.11', { ident: 7, seq: 1 });
    host.runFor(host.ms(5));
    expect(ping.rttNs).toBeGreaterThan(0);
  });

  it('addGuest() hotplugs a guest at run time: the handshake is visible in the trace and the guest is reachable', () => {
    const host = buildXenHost({ guests: [{ name: 'a' }] });
    const front = host.sim.trace.record('netfront.state');
    const back = host.sim.trace.record('netback.xenbus.frontend');
    const g = host.addGuest({ name: 'late', ip: '10.0.0.50' });
    expect(g.domid).toBe(2);
    expect(front.records.map((r) => r.to)).toEqual([1, 4]); // netfront: Initialising, then Connected (it skips Initialised)
    expect(back.records.length).toBeGreaterThan(0);
    const ping = host.external.endpoint.ping('10.0.0.50');
    host.runFor(host.ms(5));
    expect(ping.rttNs).toBeGreaterThan(0);
  });

  it('rejects duplicate guest names and unknown modes with a clear message', () => {
    expect(() => buildXenHost({ guests: [{ name: 'x' }, { name: 'x' }] })).toThrow(/guest name 'x' is used twice/);
    expect(() => buildXenHost({ mode: 'tunnel' as never })).toThrow(/mode 'tunnel'/);
  });
});

describe('buildXenHost memory', () => {
  it('sizes the host for many guests unless xen.host_pages is given', () => {
    const host = buildXenHost({ guests: Array.from({ length: 6 }, (_, i) => ({ name: `g${i}` })) });
    expect(host.guests).toHaveLength(6);
    host.addGuest({ name: 'late1' });
    host.addGuest({ name: 'late2' });
    expect(() => buildXenHost({ params: { 'xen.host_pages': 8192 }, guests: [{ name: 'a' }, { name: 'b' }] }))
      .toThrow(/raise xen.host_pages/);
  });
});
