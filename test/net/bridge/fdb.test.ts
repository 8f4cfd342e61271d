/**
 * The FDB's hash table against a plain Map (seeded, model-based): any sequence of creates, deletes,
 * lookups and clears from a small table that must grow, over keys crowded into few hash slots, leaves
 * the same answers — so the probe chains survive backward-shift deletion and rehashing on growth — and
 * the newest-first list holds exactly the live entries.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FdbTable, hashHL } from '../../../src/net/bridge/fdb';

/** A unicast MAC key: a small pool of hosts, so operations revisit the same keys. */
const macArb = fc.oneof(
  fc.integer({ min: 0, max: 15 }).map((i) => 0x02_00_00_00_00_00 + i), // neighbours in the low bits
  fc.integer({ min: 0, max: 15 }).map((i) => 0x02_00_00_00_00_00 + i * 0x1_0000_0000), // differ only in the upper 16 bits
  fc.integer({ min: 0, max: 15 }).map((i) => 0x00_16_3e_00_00_00 + i * 0x1_0101), // a third family
);

type Op = { op: 'create' | 'delete' | 'find'; key: number; port: number } | { op: 'clear' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('create' as const), key: macArb, port: fc.integer({ min: 0, max: 1023 }) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('delete' as const), key: macArb, port: fc.constant(0) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('find' as const), key: macArb, port: fc.constant(0) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('clear' as const) }) },
);

/** The entry numbers on the table's list, newest first. */
function listed(t: FdbTable): number[] {
  const out: number[] = [];
  for (let e = t.head; e >= 0; e = t.next[e]!) out.push(e);
  return out;
}

describe('FdbTable', () => {
  it('answers as a Map does through creates, deletes, clears and growth', () => {
    fc.assert(fc.property(fc.array(opArb, { minLength: 1, maxLength: 300 }), (ops) => {
      const t = new FdbTable(16); // grows past 16, 32, 64 ... as entries accumulate
      const model = new Map<number, { e: number; port: number }>();
      let now = 0;
      for (const o of ops) {
        now += 1000;
        if (o.op === 'clear') {
          t.clear();
          model.clear();
        } else if (o.op === 'create') {
          if (model.has(o.key)) continue; // the bridge only creates a key it did not find
          const e = t.create(o.key, o.port, 0, now);
          model.set(o.key, { e, port: o.port });
        } else if (o.op === 'delete') {
          const m = model.get(o.key);
          if (m === undefined) continue;
          t.remove(m.e);
          model.delete(o.key);
        }
        const e = t.find(o.op === 'clear' ? 0 : o.key);
        const m = o.op === 'clear' ? undefined : model.get(o.key);
        expect(e).toBe(m === undefined ? -1 : m.e);
      }
      // every live key is found, with its port; the list holds exactly the live entries
      expect(t.size).toBe(model.size);
      for (const [key, m] of model) {
        expect(t.find(key)).toBe(m.e);
        expect(t.findHL(Math.floor(key / 0x1_0000_0000), key | 0)).toBe(m.e);
        expect([t.mac[m.e], t.port[m.e]]).toEqual([key, m.port]);
      }
      expect(listed(t).sort((a, b) => a - b)).toEqual([...model.values()].map((m) => m.e).sort((a, b) => a - b));
    }), { numRuns: 400, seed: 20261125 });
  });

  it('keeps the newest entry first and finds every entry after growing from 16 to 4096 and deleting every other one', () => {
    const t = new FdbTable(16);
    const keys = Array.from({ length: 3000 }, (_, i) => 0x02_00_00_00_00_00 + i * 0x1_0001);
    const ents = keys.map((k, i) => t.create(k, i % 1024, 0, i));
    expect(t.head).toBe(ents[ents.length - 1]);
    keys.forEach((k, i) => { if (i % 2 === 1) t.remove(ents[i]!); });
    keys.forEach((k, i) => expect(t.find(k)).toBe(i % 2 === 1 ? -1 : ents[i]));
    expect(t.size).toBe(1500);
    expect(listed(t)).toEqual(ents.filter((_, i) => i % 2 === 0).reverse());
  });

  it('deleting the head of a probe chain that wraps past the last slot keeps the wrapped entries where their lookups find them', () => {
    // 16 entries' room: 32 slots. Keys whose home slots are 30, 31 and 0: after inserting them in that
    // order they sit at 30, 31, 0; deleting the first must leave the other two in place (their homes lie
    // within the shifted range, cyclically).
    const home = (k: number) => hashHL(Math.floor(k / 0x1_0000_0000), k | 0) & 31;
    const keyWithHome = (h: number, from: number) => {
      let k = from;
      while (home(k) !== h) k++;
      return k;
    };
    const a = keyWithHome(30, 0x02_00_00_00_00_00);
    const c = keyWithHome(31, 0x02_00_00_00_00_00);
    const e = keyWithHome(0, 0x02_00_00_00_00_00);
    const t = new FdbTable(16);
    const ea = t.create(a, 1, 0, 0);
    const ec = t.create(c, 2, 0, 0);
    const ee = t.create(e, 3, 0, 0);
    t.remove(ea);
    expect([t.find(a), t.find(c), t.find(e)]).toEqual([-1, ec, ee]);
    // and a chain that must shift back across the wrap: two keys at home 31 (at 31 and 0), a third at 0 (at 1)
    const t2 = new FdbTable(16);
    const c2 = keyWithHome(31, c + 1);
    const x = t2.create(c, 1, 0, 0);
    const y = t2.create(c2, 2, 0, 0);
    const z = t2.create(e, 3, 0, 0);
    t2.remove(x);
    expect([t2.find(c), t2.find(c2), t2.find(e)]).toEqual([-1, y, z]);
  });
});
