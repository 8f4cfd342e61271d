import { describe, expect, test } from 'vitest';
import { EAGAIN, ENOENT, XenbusDevice, libxl_device_nic_add, hotplugConnected, renderXenstore, xenbus_read_unsigned, xenbus_scan_u32 } from '../../src/xen';
import {
  XenbusStateClosed, XenbusStateClosing, XenbusStateConnected, XenbusStateInitWait, XenbusStateInitialising, GNTST_okay,
  GNTMAP_host_map,
} from '../../src/io/xen-constants';
import { gnttab_set_map_op } from '../../src/xen';
import { host } from './helpers';

describe('xenstore', () => {
  test('write creates parents; read/exists/directory/rm', () => {
    const { hv } = host();
    const st = hv.xenstore;
    st.write('/a/b/c', 'x');
    expect(st.read('/a/b')).toBe('');
    expect(st.read('/a/b/c')).toBe('x');
    st.write('/a/b/d', 'y');
    expect(st.directory('/a/b')).toEqual(['c', 'd']);
    expect(st.read('/nope')).toBeUndefined();
    expect(st.rm('/a/b/zzz')).toBe(0); // parent exists: success
    expect(st.rm('/q/r')).toBe(-ENOENT);
    expect(st.rm('/a/b')).toBe(0);
    expect(st.exists('/a/b/c')).toBe(false);
    expect(st.directory('/a')).toEqual([]);
    expect(() => st.read('a/b')).toThrow(/not allowed; use an absolute path/);
  });

  test('watches fire once on registration, then for changes at or below the path, as sim events after the latency', () => {
    const { hv, sim } = host();
    const st = hv.xenstore;
    const seen: string[] = [];
    st.watch('/local/domain/1/device', 'tok', (p, t) => seen.push(`${p}|${t}@${sim.now}`));
    st.write('/local/domain/1/device/vif/0/state', '1');
    st.write('/local/domain/1/other', 'z');
    expect(seen).toEqual([]);
    sim.run();
    const L = hv.costs.xenstore_latency_ns;
    expect(seen).toEqual([`/local/domain/1/device|tok@${L}`, `/local/domain/1/device/vif/0/state|tok@${L}`]);
  });

  test('removing a parent fires watches set below it with the watch\'s own path', () => {
    const { hv, sim } = host();
    const st = hv.xenstore;
    st.write('/x/y/z', '1');
    const seen: string[] = [];
    st.watch('/x/y/z', 't', (p) => seen.push(p));
    sim.run();
    seen.length = 0;
    st.rm('/x');
    sim.run();
    expect(seen).toEqual(['/x/y/z']);
  });

  test('transactions: private view, watches fire at commit, -EAGAIN when a touched node changed meanwhile', () => {
    const { hv, sim } = host();
    const st = hv.xenstore;
    st.write('/t/a', '1');
    const seen: string[] = [];
    st.watch('/t', 'w', (p) => seen.push(p));
    sim.run();
    seen.length = 0;
    const tx = st.transaction_start();
    expect(st.read('/t/a', tx)).toBe('1');
    st.write('/t/b', '2', tx);
    expect(st.read('/t/b')).toBeUndefined();
    expect(st.read('/t/b', tx)).toBe('2');
    sim.run();
    expect(seen).toEqual([]);
    expect(st.transaction_end(tx)).toBe(0);
    expect(st.read('/t/b')).toBe('2');
    sim.run();
    expect(seen).toEqual(['/t/b']);
    const t2 = st.transaction_start();
    st.read('/t/a', t2);
    st.write('/t/a', 'changed'); // outside the transaction
    st.write('/t/c', '3', t2);
    expect(st.transaction_end(t2)).toBe(-EAGAIN);
    expect(st.read('/t/c')).toBeUndefined();
    const t3 = st.transaction_start();
    st.write('/t/d', '4', t3);
    expect(st.transaction_end(t3, true)).toBe(0);
    expect(st.exists('/t/d')).toBe(false);
    expect(EAGAIN).toBe(11);
  });

  test('xenbus_read_unsigned reads decimal values and falls back to the default', () => {
    const { hv } = host();
    hv.xenstore.write('/k/n', '18');
    hv.xenstore.write('/k/bad', 'yes');
    expect(xenbus_read_unsigned(hv.xenstore, '/k', 'n', 0)).toBe(18);
    expect(xenbus_read_unsigned(hv.xenstore, '/k', 'bad', 7)).toBe(7);
    expect(xenbus_read_unsigned(hv.xenstore, '/k', 'missing', 1)).toBe(1);
    hv.xenstore.write('/k/big', '4294967297');
    expect(xenbus_read_unsigned(hv.xenstore, '/k', 'big', 0)).toBe(1);
  });

  test('xenbus_scan_u32 reads a value as the kernel\'s sscanf "%u" does: leading digits, modulo 2^32', () => {
    const cases: [string, number | null][] = [
      ['7', 7], [' \t\n7', 7], ['0', 0], ['007', 7], ['12ab', 12], ['1.5', 1], ['0x10', 0], ['7 8', 7],
      ['4294967295', 4294967295], ['4294967296', 0], ['4294967297', 1],
      // simple_strntoull wraps modulo 2^64, the unsigned int keeps the low 32 bits
      ['99999999999999999999', 1661992959],
      ['', null], [' ', null], ['-1', null], ['+1', null], ['abc', null], ['x1', null],
    ];
    for (const [v, want] of cases) expect([v, xenbus_scan_u32(v)]).toEqual([v, want]);
  });
});

/**
 * A scripted netfront/netback pair driving the §7.4 handshake through xenbus: the backend
 * advertises features and goes InitWait when it sees the frontend Initialising; the frontend
 * grants its rings, allocates an event channel, writes its keys in a transaction and goes
 * Connected; the backend reads them, maps the rings, binds the channel and goes Connected
 * (after hotplug-status = connected); teardown goes through Closing/Closed.
 */
describe('xenbus handshake (§7.4) with scripted front/back state machines', () => {
  test('Initialising -> InitWait -> Connected on both ends, keys negotiated, rings mapped, channel bound', () => {
    const { hv, sim, dom0, guest } = host();
    const paths = libxl_device_nic_add(hv, { frontDomid: 1, mac: '00:16:3e:00:00:01' });
    const fe = new XenbusDevice(hv, { domid: 1, nodename: paths.frontend, otherendKey: 'backend' });
    const be = new XenbusDevice(hv, { domid: 0, nodename: paths.backend, otherendKey: 'frontend' });
    const log: string[] = [];
    const negotiated: Record<string, number> = {};
    let backendKicks = 0;

    // --- backend (netback probe + frontend_changed) ---
    for (const [k, v] of [['feature-sg', 1], ['feature-gso-tcpv4', 1], ['feature-gso-tcpv6', 1], ['feature-ipv6-csum-offload', 1],
      ['feature-rx-copy', 1], ['feature-rx-flip', 0], ['feature-multicast-control', 1], ['feature-dynamic-multicast-control', 1],
      ['feature-split-event-channels', 1], ['multi-queue-max-queues', 2], ['feature-ctrl-ring', 1]] as const) be.printf(k, v);
    let connectWanted = false;
    const tryConnect = (): void => {
      if (!connectWanted || be.state === XenbusStateConnected) return;
      if (hv.xenstore.read(`${paths.backend}/hotplug-status`) !== 'connected') return;
      const fdir = be.otherend;
      negotiated.sg = be.readOtherendUnsigned('feature-sg', 0);
      negotiated.gso4 = be.readOtherendUnsigned('feature-gso-tcpv4', 0);
      negotiated.rxcopy = be.readOtherendUnsigned('request-rx-copy', 0);
      negotiated.rxnotify = be.readOtherendUnsigned('feature-rx-notify', 0);
      const tx = xenbus_read_unsigned(hv.xenstore, fdir, 'tx-ring-ref', -1);
      const rx = xenbus_read_unsigned(hv.xenstore, fdir, 'rx-ring-ref', -1);
      const evt = xenbus_read_unsigned(hv.xenstore, fdir, 'event-channel', -1);
      const maps = [gnttab_set_map_op(0x1000, GNTMAP_host_map, tx, 1), gnttab_set_map_op(0x2000, GNTMAP_host_map, rx, 1)];
      hv.gnttab_map_grant_ref(0, maps);
      expect(maps.map((m) => m.status)).toEqual([GNTST_okay, GNTST_okay]);
      const port = dom0.bind_interdomain_evtchn_to_irqhandler(1, evt, () => backendKicks++);
      expect(port).toBeGreaterThan(0);
      be.xenbus_switch_state(XenbusStateConnected);
      log.push('be:Connected');
    };
    be.xenbus_watch_otherend((dev, state) => {
      log.push(`be sees fe ${state}`);
      if (state === XenbusStateInitialising && dev.state === XenbusStateInitialising) dev.xenbus_switch_state(XenbusStateInitWait);
      else if (state === XenbusStateConnected) { connectWanted = true; tryConnect(); }
      else if (state === XenbusStateClosing) dev.xenbus_switch_state(XenbusStateClosing);
      else if (state === XenbusStateClosed) dev.xenbus_switch_state(XenbusStateClosed);
    });
    hv.xenstore.watch(`${paths.backend}/hotplug-status`, 'hotplug', () => tryConnect(), 0);

    // --- frontend (netfront netback_changed + talk_to_netback) ---
    fe.xenbus_watch_otherend((dev, state) => {
      log.push(`fe sees be ${state}`);
      if (state === XenbusStateInitWait && dev.state === XenbusStateInitialising) {
        expect(dev.readOtherendUnsigned('feature-rx-copy', 0)).toBe(1);
        expect(dev.readOtherendUnsigned('multi-queue-max-queues', 1)).toBe(2);
        const txRef = guest.gnttab.gnttab_grant_foreign_access(0, guest.pfn_to_gfn(1), false);
        const rxRef = guest.gnttab.gnttab_grant_foreign_access(0, guest.pfn_to_gfn(2), false);
        const port = guest.xenbus_alloc_evtchn(0);
        guest.bind_evtchn_to_irqhandler(port, () => {});
        for (;;) {
          const tx = hv.xenstore.transaction_start(1);
          dev.printf('multi-queue-num-queues', 1, tx);
          dev.printf('tx-ring-ref', txRef, tx);
          dev.printf('rx-ring-ref', rxRef, tx);
          dev.printf('event-channel', port, tx);
          dev.printf('request-rx-copy', 1, tx);
          dev.printf('feature-rx-notify', 1, tx);
          dev.printf('feature-sg', 1, tx);
          dev.printf('feature-gso-tcpv4', 1, tx);
          if (hv.xenstore.transaction_end(tx) !== -EAGAIN) break;
        }
        dev.xenbus_switch_state(XenbusStateConnected);
      } else if (state === XenbusStateClosing) {
        dev.xenbus_frontend_closed();
      }
    });

    sim.run();
    expect(fe.state).toBe(XenbusStateConnected);
    expect(be.state).toBe(XenbusStateInitWait); // waiting for the hotplug script
    hotplugConnected(hv, paths.backend);
    sim.run();
    expect(be.state).toBe(XenbusStateConnected);
    expect(hv.xenstore.read(`${paths.backend}/state`)).toBe('4');
    expect(hv.xenstore.read(`${paths.frontend}/state`)).toBe('4');
    expect(negotiated).toEqual({ sg: 1, gso4: 1, rxcopy: 1, rxnotify: 1 });
    expect(backendKicks).toBe(1); // the pending-on-bind event
    // Watch callbacks read the state when they run (as Linux's xenbus_otherend_changed does), so
    // the frontend's initial fire already sees InitWait, and sees it again for the change itself.
    expect(log.slice(0, 4)).toEqual(['be sees fe 1', 'fe sees be 2', 'fe sees be 2', 'be sees fe 4']);

    // Teardown: backend closes; frontend answers Closed; backend Closed.
    be.xenbus_switch_state(XenbusStateClosing);
    sim.run();
    expect(fe.state).toBe(XenbusStateClosed);
    expect(be.state).toBe(XenbusStateClosed);
    expect(renderXenstore(hv, paths.frontend)).toContain('tx-ring-ref = "8"');
  });

  test('XenbusDevice misuse throws; xenbus_dev_fatal writes the error node and goes Closing', () => {
    const { hv } = host();
    expect(() => new XenbusDevice(hv, { domid: 1, nodename: '/local/domain/1/device/vif/0', otherendKey: 'backend' })).toThrow(/does not exist in xenstore/);
    const paths = libxl_device_nic_add(hv, { frontDomid: 1, mac: '00:16:3e:00:00:02' });
    const be = new XenbusDevice(hv, { domid: 0, nodename: paths.backend, otherendKey: 'frontend' });
    expect(() => be.xenbus_switch_state(9)).toThrow(/not a XenbusState/);
    be.xenbus_dev_fatal(-95, 'frontend does not support rx-copy');
    expect(hv.xenstore.read('/local/domain/0/error/backend/vif/1/0/error')).toBe('-95 frontend does not support rx-copy');
    expect(hv.xenstore.read(`${paths.backend}/state`)).toBe(String(XenbusStateClosing));
    expect(XenbusStateClosed).toBe(6);
  });
});
