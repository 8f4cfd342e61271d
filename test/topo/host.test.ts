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

  it('refuses a guest with fewer pages than its netfront sets up, naming the least; the host stays usable', () => {
    // 64 kernel pages + per queue 256 tx pages + 512 rx pool pages + 2 rings.
    expect(buildXenHost({ guests: [{ name: 'g', pages: 834 }] }).guest('g').netfront.queues).toHaveLength(1);
    expect(() => buildXenHost({ guests: [{ name: 'g', pages: 833 }] })).toThrow(/guest 'g' pages 833 is not allowed; use an integer >= 834 /);
    expect(() => buildXenHost({ guests: [{ name: 'g', pages: 900.5 }] })).toThrow(/pages 900.5 is not allowed/);
    expect(() => buildXenHost({ guests: [{ name: 'g', pages: 900, params: { 'netfront.rx_pool_pages': 128 } }] })).not.toThrow();
    // Four queues negotiated: four times the per-queue pages.
    const mq = { 'netfront.max_queues': 4, 'netback.max_queues': 4 };
    expect(() => buildXenHost({ params: mq, guests: [{ name: 'g', pages: 3143 }] })).toThrow(/use an integer >= 3144 /);
    expect(() => buildXenHost({ params: mq, guests: [{ name: 'g', pages: 3143, design: 'classic' }] })).not.toThrow();
    const h = buildXenHost({ guests: [{ name: 'a' }] });
    const domains = h.hv.allDomains.length;
    expect(() => h.addGuest({ name: 'b', pages: 100 })).toThrow(/guest 'b' pages 100/);
    expect(h.hv.allDomains.length).toBe(domains);
    expect(h.addGuest({ name: 'b' }).netfront.queues).toHaveLength(1);
  });

  it('runFor and the time helpers refuse what is not a duration', () => {
    const h = buildXenHost();
    expect(() => h.runFor(-5)).toThrow(/runFor: durationNs -5 is not allowed; use an integer number of ns >= 0/);
    expect(() => h.runFor(1.5)).toThrow(/durationNs 1.5/);
    expect(() => h.ms('a' as never)).toThrow(/host.ms: 'a' is not allowed; use a finite number/);
    expect(() => h.us(Infinity)).toThrow(/host.us: Infinity/);
    expect(h.ms(1.5)).toBe(1_500_000);
    const t = h.now;
    h.runFor(h.us(3));
    expect(h.now).toBe(t + 3000);
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
