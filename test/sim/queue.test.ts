import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EventQueue, type PoppedEvent } from '../../src/sim/queue';

const out = (): PoppedEvent => ({ time: 0, handler: 0, a: 0, b: 0 });

function drain(q: EventQueue): PoppedEvent[] {
  const res: PoppedEvent[] = [];
  const e = out();
  while (q.pop(e)) res.push({ ...e });
  return res;
}

describe('EventQueue', () => {
  it('pop() returns events in time order', () => {
    const q = new EventQueue(2);
    for (const t of [50, 10, 40, 20, 30]) q.push(t, 0, t, 0);
    expect(drain(q).map((e) => e.time)).toEqual([10, 20, 30, 40, 50]);
  });

  it('pop() runs equal-time events in insertion (FIFO) order', () => {
    const q = new EventQueue(4);
    for (let i = 0; i < 100; i++) q.push(7, 0, i, 0);
    expect(drain(q).map((e) => e.a)).toEqual([...Array(100).keys()]);
  });

  it('cancel() removes a pending event and ignores stale ids after the slot is reused', () => {
    const q = new EventQueue(4);
    const a = q.push(10, 0, 1, 0);
    const b = q.push(20, 0, 2, 0);
    q.push(30, 0, 3, 0);
    expect(q.cancel(b)).toBe(true);
    expect(q.cancel(b)).toBe(false);
    const e = out();
    q.pop(e);
    expect(e.a).toBe(1);
    expect(q.cancel(a)).toBe(false); // already ran
    const c = q.push(5, 0, 4, 0); // reuses a freed slot
    expect(q.cancel(a)).toBe(false);
    expect(drain(q).map((x) => x.a)).toEqual([4, 3]);
    expect(q.cancel(c)).toBe(false);
  });

  it('grows past its initial capacity and keeps order', () => {
    const q = new EventQueue(1);
    for (let i = 1000; i > 0; i--) q.push(i, 0, i, 0);
    expect(q.capacity).toBeGreaterThanOrEqual(1000);
    const times = drain(q).map((e) => e.time);
    expect(times).toEqual([...Array(1000).keys()].map((i) => i + 1));
  });

  it('does not grow when events are scheduled and dispatched in steady state', () => {
    const q = new EventQueue(64);
    const e = out();
    for (let i = 0; i < 64; i++) q.push(i, 0, 0, 0);
    for (let i = 0; i < 100_000; i++) {
      q.pop(e);
      q.push(e.time + 64, 0, 0, 0);
    }
    expect(q.capacity).toBe(64);
  });

  it('matches a stable sort for any mix of pushes and cancels (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 50 }), fc.boolean()), { maxLength: 200 }), (ops) => {
        const q = new EventQueue(1);
        const live: { time: number; a: number }[] = [];
        ops.forEach(([time, cancel], i) => {
          const id = q.push(time, 0, i, 0);
          if (cancel) q.cancel(id);
          else live.push({ time, a: i });
        });
        const expected = [...live].sort((x, y) => x.time - y.time || x.a - y.a).map((x) => x.a);
        expect(drain(q).map((x) => x.a)).toEqual(expected);
      }),
    );
  });

  it('rejects a bad initial capacity with a message naming it', () => {
    expect(() => new EventQueue(0)).toThrow(/initialCapacity 0 is not allowed/);
  });
});
