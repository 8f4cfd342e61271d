import { describe, expect, it } from 'vitest';
import { Simulator } from '../../src/sim/simulator';
import { defineTraceEvents, traceCatalogue } from '../../src/sim/trace';

declare module '../../src/sim/trace' {
  interface TraceEvents {
    'test.tick': { n: number };
    'test.other': { s: string };
  }
}
defineTraceEvents({ 'test.tick': 'A test tick.', 'test.other': 'Another test event.' });

describe('Simulator', () => {
  it('run() dispatches handlers at their virtual times with their arguments', () => {
    const sim = new Simulator();
    const seen: [number, number, number][] = [];
    const h = sim.register('t', (a, b) => seen.push([sim.now, a, b]));
    sim.at(300, h, 3, 30);
    sim.after(100, h, 1, 10);
    sim.at(200, h, 2, 20);
    const r = sim.run();
    expect(r.reason).toBe('empty');
    expect(seen).toEqual([[100, 1, 10], [200, 2, 20], [300, 3, 30]]);
  });

  it('run() stops at until, at maxEvents and on a condition', () => {
    const sim = new Simulator();
    let count = 0;
    const h = sim.register('tick', () => { count++; sim.after(10, h); });
    sim.at(0, h);
    expect(sim.run({ until: 95 })).toEqual({ reason: 'until', events: 10, now: 95 });
    expect(sim.run({ maxEvents: 5 }).reason).toBe('maxEvents');
    expect(count).toBe(15);
    expect(sim.run({ stopWhen: () => count >= 20 }).reason).toBe('condition');
    expect(count).toBe(20);
  });

  it('run() gives up with an error naming the handler when events keep coming at one virtual time', () => {
    const sim = new Simulator({ sameTimeLimit: 1000 });
    let spins = 0;
    const spin = sim.register('model.spin', () => { spins++; sim.after(0, spin); });
    sim.after(5, spin);
    expect(() => sim.run({ until: 100 })).toThrow(/run: 1000 events ran at virtual time 5 ns and the next is due then too \('model.spin'\)/);
    expect(spins).toBe(1000);
    // The event that was due is still queued: the next run (with a stop condition) starts with it.
    expect(sim.queue.length).toBe(1);
    expect(() => sim.run({ until: 100, stopWhen: () => false })).toThrow(/\('model.spin'\)/);
    expect(spins).toBe(2000);
    const fresh = new Simulator({ sameTimeLimit: 1000 });
    const t = fresh.register('model.tick', () => {});
    for (let i = 0; i < 1000; i++) fresh.after(7, t); // a burst at one time, up to the limit
    fresh.after(8, t);
    expect(fresh.run().events).toBe(1001);
    expect(fresh.now).toBe(8);
    expect(() => new Simulator({ sameTimeLimit: 0 })).toThrow(/sameTimeLimit 0 is not allowed; use a positive integer/);
  });

  it('runSlices() reports progress after each slice', () => {
    const sim = new Simulator();
    const h = sim.register('tick', () => sim.after(1, h));
    sim.at(0, h);
    const slices: number[] = [];
    sim.runSlices(1000, 250, (now) => slices.push(now));
    expect(slices).toEqual([250, 500, 750, 1000]);
  });

  it('at() rejects a time in the past or a fractional time', () => {
    const sim = new Simulator();
    const h = sim.register('x', () => {});
    sim.at(10, h);
    sim.run();
    expect(() => sim.at(5, h)).toThrow(/time 5 is not allowed/);
    expect(() => sim.at(10.5, h)).toThrow(/time 10.5 is not allowed/);
    expect(() => sim.at(20, 99)).toThrow(/handler 99 is not registered/);
  });

  it('trace points are off until subscribed and deliver stamped records by name and prefix', () => {
    const sim = new Simulator();
    const tick = sim.trace.point('test.tick');
    expect(tick.on).toBe(false);
    const rec = sim.trace.record('test.');
    expect(tick.on).toBe(true);
    const other = sim.trace.point('test.other'); // created after subscribing
    expect(other.on).toBe(true);
    const h = sim.register('emit', (n) => { tick.emit({ n }); other.emit({ s: 'x' }); });
    sim.at(5, h, 1);
    sim.at(7, h, 2);
    sim.run();
    expect(rec.of('test.tick')).toEqual([{ n: 1, t: 5, ev: 'test.tick' }, { n: 2, t: 7, ev: 'test.tick' }]);
    expect(rec.records).toHaveLength(4);
    expect(rec.toJsonl().split('\n')[0]).toBe('{"n":1,"t":5,"ev":"test.tick"}');
    rec.stop();
    expect(tick.on).toBe(false);
  });

  it('trace.on() rejects an unknown event name and point() an undeclared one', () => {
    const sim = new Simulator();
    expect(() => sim.trace.on('test.nope', () => {})).toThrow(/no event is named 'test.nope'/);
    expect(() => sim.trace.point('nope' as never)).toThrow(/not defined/);
    expect(traceCatalogue().find((e) => e.event === 'test.tick')?.help).toBe('A test tick.');
  });

  it('drops are counted under component and reason and traced', () => {
    const sim = new Simulator();
    const rec = sim.trace.record('drop');
    sim.drops.count('bridge', 'invalid_src_mac', 60);
    sim.drops.count('bridge', 'invalid_src_mac', 64);
    sim.drops.count('netback', 'no_rx_slots', 1514, 42);
    expect(sim.drops.total()).toBe(3);
    expect(sim.drops.total({ where: 'bridge' })).toBe(2);
    expect(sim.drops.table()).toEqual([
      { where: 'bridge', reason: 'invalid_src_mac', packets: 2, bytes: 124 },
      { where: 'netback', reason: 'no_rx_slots', packets: 1, bytes: 1514 },
    ]);
    expect(rec.records.map((r) => [r.reason, r.pkt])).toEqual([['invalid_src_mac', 0], ['invalid_src_mac', 0], ['no_rx_slots', 42]]);
  });

  it('counters are registered per component and snapshot', () => {
    const sim = new Simulator();
    const c = sim.counters.register('nic0', { txPackets: 0, txBytes: 0 });
    c.txPackets += 2;
    expect(sim.counters.snapshot()).toEqual({ nic0: { txPackets: 2, txBytes: 0 } });
    expect(() => sim.counters.register('nic0', {})).toThrow(/already registered/);
    expect(() => sim.counters.get('nope')).toThrow(/no component 'nope'/);
  });
});
