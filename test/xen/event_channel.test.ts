import { describe, expect, test } from 'vitest';
import { DOMID_SELF, EVTCHNSTAT_closed, EVTCHNSTAT_interdomain, EVTCHNSTAT_unbound } from '../../src/io/xen-constants';
import { EINVAL, ENOSPC, EPERM, ESRCH, evtchnRows } from '../../src/xen';
import { host } from './helpers';

/** Guest allocates an unbound port for dom0; dom0 binds with a handler; returns both ports. */
function connect(h: ReturnType<typeof host>, log: string[]) {
  const gport = h.guest.xenbus_alloc_evtchn(0);
  const bport = h.dom0.bind_interdomain_evtchn_to_irqhandler(1, gport, (p) => log.push(`d0:${p}@${h.sim.now}`));
  h.guest.bind_evtchn_to_irqhandler(gport, (p) => log.push(`d1:${p}@${h.sim.now}`));
  return { gport, bport };
}

describe('event channels', () => {
  test('alloc_unbound takes the lowest free port (port 0 is reserved); status reports unbound', () => {
    const h = host();
    expect(h.guest.xenbus_alloc_evtchn(0)).toBe(1);
    expect(h.guest.xenbus_alloc_evtchn(0)).toBe(2);
    const st = { dom: DOMID_SELF, port: 1, status: -1, vcpu: -1, remote_dom: -1, remote_port: -1 };
    expect(h.hv.evtchn_status(1, st)).toBe(0);
    expect(st).toMatchObject({ status: EVTCHNSTAT_unbound, remote_dom: 0 });
    const st0 = { ...st, port: 0 };
    h.hv.evtchn_status(1, st0);
    expect(st0.status).toBe(EVTCHNSTAT_closed);
    // A closed port's union is left as the caller passed it (only status and vcpu are written).
    expect([st0.remote_dom, st0.remote_port]).toEqual([0, -1]);
  });

  test('an event that arrived while masked is taken the moment the guest unmasks its own port (no hypercall, no remote kick)', () => {
    const h = host();
    const log: string[] = [];
    const { gport, bport } = connect(h, log);
    h.sim.run();
    log.length = 0;
    h.guest.mask_evtchn(gport);
    h.hv.evtchn_send(0, bport);
    h.sim.run({ until: h.sim.now + 50_000 });
    expect(log).toEqual([]);
    const t = h.sim.now;
    h.guest.unmask_evtchn(gport);
    h.sim.run();
    expect(log).toEqual([`d1:${gport}@${t}`]);
  });

  test('evtchn_status checks the port before the permission: a domU asking about dom0 gets -EINVAL for a bad port, -EPERM for a good one', () => {
    const h = host();
    const st = { dom: 0, port: 5000, status: -1, vcpu: -1, remote_dom: -1, remote_port: -1 };
    expect(h.hv.evtchn_status(1, st)).toBe(-EINVAL);
    expect(h.hv.evtchn_status(1, { ...st, port: 1 })).toBe(-EPERM);
  });

  test('alloc_unbound errors: -ESRCH unknown domain, -EPERM domU for another domain, -ENOSPC when full', () => {
    const h = host();
    expect(h.hv.evtchn_alloc_unbound(1, { dom: 9, remote_dom: 0, port: 0 })).toBe(-ESRCH);
    expect(h.hv.evtchn_alloc_unbound(1, { dom: 0, remote_dom: 1, port: 0 })).toBe(-EPERM);
    expect(h.hv.evtchn_alloc_unbound(0, { dom: 1, remote_dom: 0, port: 0 })).toBe(0);
    for (let i = 2; i < 4096; i++) h.guest.xenbus_alloc_evtchn(0);
    expect(h.guest.xenbus_alloc_evtchn(0)).toBe(-ENOSPC);
  });

  test('bind_interdomain sets the new local port pending; binding the handler unmasks it locally and it runs at once', () => {
    const h = host();
    const log: string[] = [];
    const { gport, bport } = connect(h, log);
    expect(h.hv.evtchnPending(0, bport)).toBe(true);
    expect(log).toEqual([]);
    h.sim.run();
    // The binder unmasks its own port (no hypercall): the pending event is taken on its CPU at once.
    expect(log).toEqual([`d0:${bport}@0`]);
    expect(h.hv.evtchnPending(0, bport)).toBe(false);
    const st = { dom: DOMID_SELF, port: gport, status: -1, vcpu: -1, remote_dom: -1, remote_port: -1 };
    h.hv.evtchn_status(1, st);
    expect(st).toMatchObject({ status: EVTCHNSTAT_interdomain, remote_dom: 0, remote_port: bport });
  });

  test('bind_interdomain errors: -ESRCH, -EINVAL for a port not unbound or not allocated for the caller', () => {
    const h = host();
    h.hv.createDomain({ name: 'guest2', pages: 8 });
    const gport = h.guest.xenbus_alloc_evtchn(0);
    expect(h.hv.evtchn_bind_interdomain(0, { remote_dom: 7, remote_port: gport, local_port: 0 })).toBe(-ESRCH);
    expect(h.hv.evtchn_bind_interdomain(2, { remote_dom: 1, remote_port: gport, local_port: 0 })).toBe(-EINVAL);
    expect(h.hv.evtchn_bind_interdomain(0, { remote_dom: 1, remote_port: 77, local_port: 0 })).toBe(-EINVAL);
    expect(h.hv.evtchn_bind_interdomain(0, { remote_dom: 1, remote_port: 99999, local_port: 0 })).toBe(-EINVAL);
  });

  test('repeated sends before the upcall coalesce into one pending bit and one handler call', () => {
    const h = host();
    const log: string[] = [];
    const { gport } = connect(h, log);
    h.sim.run();
    log.length = 0;
    const c0 = { ...h.sim.counters.get('xen.evtchn') };
    for (let i = 0; i < 5; i++) expect(h.guest.notify_remote_via_evtchn(gport)).toBe(0);
    h.sim.run();
    expect(log.length).toBe(1);
    const c = h.sim.counters.get('xen.evtchn');
    expect(c.delivered! - c0.delivered!).toBe(1);
    expect(c.coalesced! - c0.coalesced!).toBe(4);
    expect(c.upcalls! - c0.upcalls!).toBe(1);
  });

  test('send on an unbound port is dropped with rc 0; on a free or invalid port -EINVAL', () => {
    const h = host();
    const gport = h.guest.xenbus_alloc_evtchn(0);
    expect(h.guest.notify_remote_via_evtchn(gport)).toBe(0);
    expect(h.sim.counters.get('xen.evtchn').dropped_unbound).toBe(1);
    expect(h.guest.notify_remote_via_evtchn(200)).toBe(-EINVAL);
    expect(h.guest.notify_remote_via_evtchn(0)).toBe(-EINVAL);
    expect(h.guest.notify_remote_via_evtchn(5000)).toBe(-EINVAL);
    h.sim.run();
    expect(h.sim.counters.get('xen.evtchn').upcalls).toBe(0);
  });

  test('a masked port stays pending without an upcall and is delivered on unmask', () => {
    const h = host();
    const log: string[] = [];
    const { gport, bport } = connect(h, log);
    h.sim.run();
    log.length = 0;
    h.dom0.mask_evtchn(bport);
    h.guest.notify_remote_via_evtchn(gport);
    h.sim.run();
    expect(log).toEqual([]);
    expect(h.hv.evtchnPending(0, bport)).toBe(true);
    expect(h.hv.evtchn_unmask(0, bport)).toBe(0);
    h.sim.run();
    expect(log.length).toBe(1);
  });

  test('events disabled on the vCPU (evtchn_upcall_mask) delay the upcall until re-enabled', () => {
    const h = host();
    const log: string[] = [];
    const { gport } = connect(h, log);
    h.sim.run();
    log.length = 0;
    h.dom0.xen_irq_disable();
    h.guest.notify_remote_via_evtchn(gport);
    h.sim.run();
    expect(log).toEqual([]);
    h.dom0.xen_irq_enable();
    h.sim.run();
    expect(log.length).toBe(1);
  });

  test('a handler that sends back triggers the peer; events sent during an upcall are handled by the same loop', () => {
    const h = host();
    const log: string[] = [];
    const gport = h.guest.xenbus_alloc_evtchn(0);
    const gport2 = h.guest.xenbus_alloc_evtchn(0);
    const b1 = h.dom0.bind_interdomain_evtchn_to_irqhandler(1, gport, (p) => { log.push(`b${p}`); h.dom0.notify_remote_via_evtchn(p); });
    h.guest.bind_evtchn_to_irqhandler(gport, (p) => log.push(`g${p}`));
    h.guest.bind_evtchn_to_irqhandler(gport2, (p) => log.push(`g${p}`));
    const b2 = h.dom0.bind_interdomain_evtchn_to_irqhandler(1, gport2, (p) => log.push(`b${p}`));
    h.sim.run();
    // d0's pending-on-bind ports 1 and 2 run in one upcall; b1's handler notifies the guest.
    expect(log).toEqual([`b${b1}`, `b${b2}`, `g${gport}`]);
    expect(h.sim.counters.get('xen.evtchn').upcalls).toBe(2);
  });

  test('close: the peer goes back to unbound (re-bindable by the closer); closing a free port is -EINVAL', () => {
    const h = host();
    const log: string[] = [];
    const { gport, bport } = connect(h, log);
    h.sim.run();
    expect(h.dom0.unbind_from_irqhandler(bport)).toBe(0);
    const st = { dom: DOMID_SELF, port: gport, status: -1, vcpu: -1, remote_dom: -1, remote_port: -1 };
    h.hv.evtchn_status(1, st);
    expect(st).toMatchObject({ status: EVTCHNSTAT_unbound, remote_dom: 0 });
    expect(h.hv.evtchn_close(0, bport)).toBe(-EINVAL);
    expect(h.hv.evtchn_close(0, 0)).toBe(-EINVAL);
    expect(h.guest.notify_remote_via_evtchn(gport)).toBe(0);
    expect(h.sim.counters.get('xen.evtchn').dropped_unbound).toBe(1);
    const again = h.dom0.bind_interdomain_evtchn_to_irqhandler(1, gport, () => log.push('again'));
    expect(again).toBe(bport);
  });

  test('the pending bits are real bits of shared_info (port 1 of dom0 -> byte 2048 bit 1, sel bit 0, upcall byte 0)', () => {
    const h = host();
    const gport = h.guest.xenbus_alloc_evtchn(0);
    const bport = h.dom0.bind_interdomain_evtchn_to_irqhandler(1, gport, () => {});
    expect(bport).toBe(1);
    const si = h.hv.sharedInfo(0);
    expect(si[2048]).toBe(0b10);
    expect(si[2560]).toBe(0xfd); // all masked (Linux boot) except the bound port 1
    expect(si[8]).toBe(1); // evtchn_pending_sel bit 0
    expect(si[0]).toBe(1); // evtchn_upcall_pending
    h.sim.run();
    expect([si[0], si[8], si[2048]]).toEqual([0, 0, 0]);
    expect(evtchnRows(h.hv, 0)).toEqual([
      { port: 0, state: 'reserved', remoteDom: null, remotePort: null, pending: false, masked: true, handler: false },
      { port: 1, state: 'interdomain', remoteDom: 1, remotePort: gport, pending: false, masked: false, handler: true },
    ]);
  });

  /** dom0 ports p1 and p2 bound to the guest's g1 and g2, in one selector word, nothing pending. */
  function twoPortsOneWord() {
    const h = host();
    const g1 = h.guest.xenbus_alloc_evtchn(0);
    const g2 = h.guest.xenbus_alloc_evtchn(0);
    const p1 = h.dom0.bind_interdomain_evtchn_to_irqhandler(1, g1, () => {});
    const p2 = h.dom0.bind_interdomain_evtchn_to_irqhandler(1, g2, () => {});
    h.sim.run();
    expect(Math.floor(p1 / 64)).toBe(Math.floor(p2 / 64)); // one selector bit for both
    return { h, g1, g2, p1, p2, si: h.hv.sharedInfo(0) };
  }

  test('a send whose selector bit is already set leaves evtchn_upcall_pending alone (evtchn_2l_set_pending)', () => {
    const { h, g1, g2, p2, si } = twoPortsOneWord();
    expect([si[0], si[8]]).toEqual([0, 0]);
    h.guest.notify_remote_via_evtchn(g1);
    expect([si[0], si[8]]).toEqual([1, 1]);
    // The guest's upcall has cleared evtchn_upcall_pending but not yet taken the selector word.
    si[0] = 0;
    h.guest.notify_remote_via_evtchn(g2);
    expect(si[2048] & (1 << p2)).not.toBe(0); // pending set
    expect(si[0]).toBe(0); // selector bit was set already: no new upcall is marked
  });

  test('EVTCHNOP_unmask of a pending port whose selector bit is already set leaves evtchn_upcall_pending alone (evtchn_2l_unmask)', () => {
    const { h, g1, g2, p2, si } = twoPortsOneWord();
    h.hv.evtchn.mask_evtchn(h.dom0.domain, p2);
    h.guest.notify_remote_via_evtchn(g2); // pending, masked: no selector bit, no upcall
    expect([si[0], si[8]]).toEqual([0, 0]);
    h.guest.notify_remote_via_evtchn(g1); // sets the selector bit and marks the upcall
    expect([si[0], si[8]]).toEqual([1, 1]);
    si[0] = 0; // the upcall has begun: upcall_pending cleared, the selector word not yet taken
    expect(h.hv.evtchn_unmask(0, p2)).toBe(0);
    expect(si[0]).toBe(0); // the selector bit was set already: no new upcall is marked
  });

  test('the scan is round robin: the port after the last one handled goes first next time', () => {
    const h = host();
    const order: number[] = [];
    const ports: number[] = [];
    for (let i = 0; i < 3; i++) {
      const g = h.guest.xenbus_alloc_evtchn(0);
      ports.push(h.dom0.bind_interdomain_evtchn_to_irqhandler(1, g, (p) => order.push(p)));
    }
    h.sim.run();
    expect(order).toEqual([1, 2, 3]);
    order.length = 0;
    // The next scan starts at port 4: ports 4 and 5 (pending on bind) run before port 1.
    h.guest.notify_remote_via_evtchn(1);
    for (let i = 0; i < 2; i++) {
      const g = h.guest.xenbus_alloc_evtchn(0);
      h.dom0.bind_interdomain_evtchn_to_irqhandler(1, g, (p) => order.push(p));
    }
    h.sim.run();
    expect(order).toEqual([4, 5, 1]);
  });

  test('bind_evtchn_to_irqhandler misuse throws', () => {
    const h = host();
    expect(() => h.guest.bind_evtchn_to_irqhandler(5000, () => {})).toThrow(/port 5000 is out of range/);
    h.guest.bind_evtchn_to_irqhandler(3, () => {});
    expect(() => h.guest.bind_evtchn_to_irqhandler(3, () => {})).toThrow(/already has a handler/);
  });
});
