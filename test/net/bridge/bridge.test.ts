import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Simulator, MS, SEC } from '../../../src/sim';
import { Params } from '../../../src/params';
import { Bridge, BR_MAX_PORTS } from '../../../src/net/bridge';
import { SCENARIOS, S, frame } from './scenarios';
import { ModelBridge, observe, type LogEntry } from './harness';

const VIF = 'fe:ff:ff:ff:ff:ff';
const f = (dst: string, src: string, len = 60) => Uint8Array.from(frame(dst, src, { len }));

function xenHost(params = Params.defaults()) {
  const sim = new Simulator({ seed: 1 });
  const br = new Bridge(sim, params, { name: 'xenbr0' });
  br.addPort({ name: 'eth0', mac: '00:16:3e:aa:00:01', kind: 'nic' });
  br.addPort({ name: 'vif1.0', mac: VIF, kind: 'vif' });
  br.addPort({ name: 'vif2.0', mac: VIF, kind: 'vif' });
  br.addPort({ name: 'vif3.0', mac: VIF, kind: 'vif' });
  return { sim, br };
}

describe('model replay of what the real kernel bridge did (recorded golden)', () => {
  const golden = JSON.parse(readFileSync(join(__dirname, 'real-bridge.golden.json'), 'utf8')) as Record<string, LogEntry[]>;
  let first = 0;
  for (const [name, steps] of Object.entries(SCENARIOS)) {
    const base = first;
    first += 100;
    it(`${name}: the model reproduces the kernel's observations`, async () => {
      expect(golden[name], `golden has no entry for '${name}'; re-record with XNL_UPDATE_GOLDEN=1 as root`).toBeDefined();
      const log = await observe(steps, new ModelBridge(), base);
      expect(log).toEqual(golden[name]);
    });
  }
});

describe('br_add_if() with Xen vifs', () => {
  it('gives the shared fe:ff:ff:ff:ff:ff local entry to the first vif and takes the bridge MAC from the NIC', () => {
    const { br } = xenHost();
    const rows = br.fdb();
    expect(rows.filter((r) => r.mac === VIF)).toEqual([expect.objectContaining({ port: 'vif1.0', state: 'permanent' })]);
    expect(br.mac).toBe(0x00163eaa0001);
    expect(rows.find((r) => r.port === 'xenbr0')).toBeUndefined(); // the random MAC's entry went away
  });

  it('hands the shared local entry to the newest remaining vif when the first is removed', () => {
    const { br } = xenHost();
    br.delPort('vif1.0');
    expect(br.fdbLookup(VIF)?.port).toBe('vif3.0');
  });

  it('adopts fe:ff:ff:ff:ff:ff with only vifs, and 00:00:00:00:00:00 with no ports, as the kernel does', () => {
    const { br } = xenHost();
    br.delPort('eth0');
    expect(br.mac).toBe(0xfeffffffffff);
    for (const p of ['vif1.0', 'vif2.0', 'vif3.0']) br.delPort(p);
    expect(br.mac).toBe(0);
    expect(br.fdb()).toEqual([]);
  });

  it('keeps a MAC set by the user', () => {
    const sim = new Simulator();
    const br = new Bridge(sim, Params.defaults(), { mac: '02:00:00:00:00:55' });
    br.addPort({ name: 'eth0', mac: '00:16:3e:00:00:01' });
    expect(br.mac).toBe(0x020000000055);
    expect(br.fdb().map((r) => [r.mac, r.port]).sort()).toEqual([['00:16:3e:00:00:01', 'eth0'], ['02:00:00:00:00:55', 'br0']]);
  });

  it('picks the same random initial MAC for the same seed', () => {
    const a = new Bridge(new Simulator({ seed: 3 }), Params.defaults());
    const b = new Bridge(new Simulator({ seed: 3 }), Params.defaults());
    expect(a.mac).toBe(b.mac);
    expect(Math.floor(a.mac / 2 ** 40) & 3).toBe(2); // locally administered unicast
  });

  it('refuses more than 1023 ports (BR_PORT_BITS 10)', () => {
    const br = new Bridge(new Simulator(), Params.defaults());
    for (let i = 1; i < BR_MAX_PORTS; i++) br.addPort({ name: `v${i}`, mac: VIF, kind: 'vif' });
    expect(() => br.addPort({ name: 'one-more', mac: VIF })).toThrow(/1023 ports/);
  });

  it('frames guests send to fe:ff:ff:ff:ff:ff go to dom0 only; as a source it is forwarded but not learned', () => {
    const { br } = xenHost();
    expect(br.inject('vif2.0', f(VIF, S(2)))).toMatchObject({ egress: [], local: true, action: 'local' });
    const r = br.inject('vif2.0', f('ff:ff:ff:ff:ff:ff', VIF));
    expect(r.egress.sort()).toEqual(['eth0', 'vif1.0', 'vif3.0']);
    expect(br.fdbLookup(VIF)?.port).toBe('vif1.0');
    expect(br.counters.own_src_seen).toBe(1);
  });
});

describe('ageing (br_fdb_cleanup)', () => {
  it('removes an entry at updated + ageing_time, on the gc tick, and the default is 300 s', () => {
    const { sim, br } = xenHost();
    br.inject('vif1.0', f('ff:ff:ff:ff:ff:ff', S(1)), 1 * SEC);
    sim.run({ until: 300 * SEC });
    expect(br.fdbLookup(S(1))).toMatchObject({ state: 'dynamic', port: 'vif1.0', ageSeconds: 299 });
    sim.run({ until: 301 * SEC - 1 });
    expect(br.fdbLookup(S(1))).toBeDefined();
    sim.run({ until: 301 * SEC });
    expect(br.fdbLookup(S(1))).toBeUndefined();
    expect(br.counters.aged).toBe(1);
  });

  it('keeps using an expired entry the gc has not collected yet, which dumps show as stale', () => {
    const { sim, br } = xenHost(Params.defaults().with({ 'bridge.ageing_time': 100 }));
    br.inject('vif1.0', f('ff:ff:ff:ff:ff:ff', S(1)), 0);
    br.inject('vif2.0', f('ff:ff:ff:ff:ff:ff', S(2)), 5 * MS);
    // gc at 1.000 s removes S1; S2 expires at jiffy 251 (1.004 s) but the gc waits at least 10 ms (3 jiffies)
    sim.run({ until: 1006 * MS });
    expect(br.fdbLookup(S(1))).toBeUndefined();
    expect(br.fdbLookup(S(2))?.state).toBe('stale');
    expect(br.inject('vif3.0', f(S(2), S(3))).egress).toEqual(['vif2.0']);
    sim.run({ until: 1012 * MS });
    expect(br.fdbLookup(S(2))).toBeUndefined();
  });

  it('converts centiseconds to jiffies and back with truncation at HZ=250', () => {
    const { br } = xenHost();
    const readBack = [1, 3, 5, 200].map((cs) => { br.setAgeingTime(cs); return br.ageingTime; });
    expect(readBack).toEqual([0, 2, 4, 200]);
  });

  it('learns nothing and floods everything with ageing_time 0 (hub)', () => {
    const { br } = xenHost();
    br.inject('vif1.0', f(S(2), S(1)));
    br.setAgeingTime(0);
    expect(br.fdbLookup(S(1))).toBeUndefined();
    br.inject('vif2.0', f(S(1), S(2)));
    expect(br.inject('vif1.0', f(S(2), S(1))).action).toBe('flood');
  });

  it('lets the event queue drain when no dynamic entry is left', () => {
    const { sim, br } = xenHost();
    br.inject('vif1.0', f(S(2), S(1)));
    const r = sim.run({ until: 10_000 * SEC, maxEvents: 1000 });
    expect(br.fdb().some((x) => x.mac === S(1))).toBe(false);
    expect(sim.queue.peekTime()).toBe(Infinity);
    expect(r.events).toBeLessThan(10);
  });
});

describe('br_handle_frame() on bad input', () => {
  it('never throws on arbitrary bytes, never reflects without hairpin, and counts every drop', () => {
    const { sim, br } = xenHost();
    const ports = ['eth0', 'vif1.0', 'vif2.0', 'vif3.0'];
    fc.assert(fc.property(fc.integer({ min: 0, max: 3 }), fc.uint8Array({ minLength: 0, maxLength: 80 }), (pi, bytes) => {
      const before = sim.drops.total();
      const r = br.inject(ports[pi]!, bytes);
      expect(r.egress).not.toContain(ports[pi]);
      if (r.action === 'drop') expect(sim.drops.total()).toBeGreaterThan(before);
    }), { numRuns: 2000, seed: 42 });
  });

  it('drops short frames, zero and multicast sources with named reasons', () => {
    const { sim, br } = xenHost();
    expect(br.inject('vif1.0', new Uint8Array(13)).dropped).toBe('short_frame');
    expect(br.inject('vif1.0', f(S(1), '00:00:00:00:00:00')).dropped).toBe('invalid_src_mac');
    expect(br.inject('vif1.0', f(S(1), '01:00:5e:00:00:01')).dropped).toBe('invalid_src_mac');
    expect(br.inject('vif1.0', f('01:80:c2:00:00:01', S(1))).dropped).toBe('mac_ieee_mac_control');
    expect(sim.drops.table().map((r) => [r.where, r.reason, r.packets])).toEqual([
      ['bridge/xenbr0', 'invalid_src_mac', 2], ['bridge/xenbr0', 'mac_ieee_mac_control', 1], ['bridge/xenbr0', 'short_frame', 1],
    ]);
    expect(br.fdb().some((r) => r.mac === S(1))).toBe(false);
  });

  it('throws a clear Error for an unknown port name, listing the known ones', () => {
    const { br } = xenHost();
    expect(() => br.inject('vif9.0', f(S(1), S(2)))).toThrow('bridge xenbr0: no port named "vif9.0"; ports: eth0, vif1.0, vif2.0, vif3.0');
  });

  it('refuses restricted group_fwd_mask bits in params and setters', () => {
    expect(() => xenHost(Params.defaults().with({ 'bridge.group_fwd_mask': 4 }))).toThrow(/bridge.group_fwd_mask: 4 is not allowed/);
    const { br } = xenHost();
    expect(() => br.setPortFlags('vif1.0', { group_fwd_mask: 2 })).toThrow(/without bit 1/);
    expect(() => br.setPortFlags('vif1.0', { hairpinn: true } as never)).toThrow(/flag 'hairpinn' is not known/);
  });

  it('drops a frame br0 sends to its own address (local entry without port)', () => {
    const sim = new Simulator();
    const br = new Bridge(sim, Params.defaults(), { mac: '02:00:00:00:00:55' });
    br.addPort({ name: 'eth0', mac: '00:16:3e:00:00:01' });
    expect(br.xmit(f('02:00:00:00:00:55', S(1))).dropped).toBe('no_port');
  });
});

describe('trace events', () => {
  it('explains learning, moves, forwarding, flooding, local delivery, pass-up, ageing and flushes', () => {
    const { sim, br } = xenHost(Params.defaults().with({ 'bridge.ageing_time': 100 }));
    const rec = sim.trace.record('bridge.');
    br.inject('vif1.0', f(S(2), S(1)));
    br.inject('vif2.0', f(S(1), S(2)));
    br.inject('vif3.0', f(S(2), S(1)));
    br.inject('vif1.0', f('01:80:c2:00:00:0e', S(4)));
    br.inject('vif1.0', f(VIF, S(4)));
    br.setCarrier('vif2.0', false);
    br.inject('vif3.0', f(S(5), S(1)), 3 * SEC);
    const evs = rec.records.map((r) => r.ev);
    for (const e of ['bridge.learn', 'bridge.move', 'bridge.forward', 'bridge.flood', 'bridge.local', 'bridge.pass', 'bridge.flush', 'bridge.port', 'bridge.age']) {
      expect(evs, e).toContain(e);
    }
    expect(rec.of('bridge.move')[0]).toMatchObject({ mac: S(1), from: 'vif1.0', to: 'vif3.0' });
    expect(rec.of('bridge.forward')[0]).toMatchObject({ in: 'vif2.0', out: 'vif1.0', dst: S(1) });
  });
});

describe('br_handle_frame() hot path', () => {
  it('forwards known unicast by port number through the reusable verdict', () => {
    const { br } = xenHost();
    br.inject('vif1.0', f('ff:ff:ff:ff:ff:ff', S(1)));
    const bytes = f(S(1), S(2));
    const v = br.br_handle_frame(br.portNo('vif2.0'), bytes, 0, bytes.length);
    expect(v.action).toBe('forward');
    expect([...v.egress.subarray(0, v.egressCount)]).toEqual([br.portNo('vif1.0')]);
    expect(br.br_handle_frame(br.portNo('vif2.0'), bytes, 0, bytes.length)).toBe(v);
  });

  it('floods in port-list order, newest port first, as br_flood walks br->port_list', () => {
    const { br } = xenHost();
    expect(br.inject('eth0', f('ff:ff:ff:ff:ff:ff', S(1))).egress).toEqual(['vif3.0', 'vif2.0', 'vif1.0']);
  });
});
