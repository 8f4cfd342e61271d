/**
 * The simulator: virtual time, the event queue, handlers, random streams, the trace bus,
 * drop counters and component counters — the context every modeled component is built with.
 *
 * Handlers are registered once (`register`) and scheduled by number with two numeric
 * arguments, so scheduling allocates nothing. A component that needs its `this` binds once at
 * construction:
 *
 *   this.hPoll = sim.register('netback.poll', (queue) => this.poll(queue));
 *   sim.after(this.costs.napiScheduleNs, this.hPoll, queueIndex);
 */
import { EventQueue, type EventHandler, type EventId, type PoppedEvent, type SimTime } from './queue';
import { RandomStreams } from './rng';
import { TraceBus } from './trace';
import { CounterRegistry, DropCounters } from './drops';

export interface RunLimits {
  /** Stop before running any event later than this virtual time (ns); `now` becomes this time. */
  until?: SimTime;
  /** Stop after this many events. */
  maxEvents?: number;
  /** Checked after every event; stop when it returns true. */
  stopWhen?: () => boolean;
}

export type StopReason = 'until' | 'maxEvents' | 'condition' | 'empty';

export interface RunResult {
  reason: StopReason;
  events: number;
  now: SimTime;
}

export interface SimulatorOptions {
  seed?: number;
  run?: number;
  /**
   * Most events run back to back at one virtual time before `run` gives up with an error
   * (default 10,000,000, about a second of wall time): a model loop that keeps rescheduling itself
   * with no delay would otherwise never return, and a notebook kernel cannot interrupt it.
   */
  sameTimeLimit?: number;
}

export class Simulator {
  /** Current virtual time in integer nanoseconds. */
  now: SimTime = 0;
  /** Events dispatched since creation. */
  dispatched = 0;
  readonly queue = new EventQueue();
  readonly random: RandomStreams;
  readonly trace: TraceBus;
  readonly drops: DropCounters;
  readonly counters = new CounterRegistry();
  private readonly handlers: EventHandler[] = [];
  private readonly handlerNames: string[] = [];
  private readonly popped: PoppedEvent = { time: 0, handler: 0, a: 0, b: 0 };
  private readonly sameTimeLimit: number;
  /** Events run so far at the current virtual time. */
  private sameTime = 0;

  constructor(options: SimulatorOptions = {}) {
    const limit = options.sameTimeLimit ?? 10_000_000;
    if (!Number.isInteger(limit) || limit < 1) {
      throw new RangeError(`Simulator: sameTimeLimit ${String(limit)} is not allowed; use a positive integer number of events`);
    }
    this.sameTimeLimit = limit;
    this.random = new RandomStreams(options.seed ?? 1, options.run ?? 0);
    this.trace = new TraceBus(() => this.now);
    this.drops = new DropCounters(this.trace);
  }

  /** Registers a handler once; returns the number to schedule it by. */
  register(name: string, fn: EventHandler): number {
    if (typeof fn !== 'function') throw new Error(`register: handler for '${name}' must be a function`);
    this.handlers.push(fn);
    this.handlerNames.push(name);
    return this.handlers.length - 1;
  }

  /** The name a handler was registered under (for traces and errors). */
  handlerName(handler: number): string {
    return this.handlerNames[handler] ?? `#${handler}`;
  }

  /** Schedules `handler(a, b)` at absolute virtual time `time` (integer ns, not in the past). */
  at(time: SimTime, handler: number, a = 0, b = 0): EventId {
    if (!(time >= this.now) || time !== Math.floor(time)) {
      throw new RangeError(`schedule: time ${time} is not allowed; use an integer number of ns >= now (${this.now})`);
    }
    if (handler >>> 0 !== handler || handler >= this.handlers.length) {
      throw new RangeError(`schedule: handler ${handler} is not registered (${this.handlers.length} handlers)`);
    }
    return this.queue.push(time, handler, a, b);
  }

  /** Schedules `handler(a, b)` after `delay` ns (an integer >= 0). */
  after(delay: number, handler: number, a = 0, b = 0): EventId {
    if (!(delay >= 0) || delay !== Math.floor(delay)) {
      throw new RangeError(`schedule: delay ${delay} is not allowed; use an integer number of ns >= 0`);
    }
    if (handler >>> 0 !== handler || handler >= this.handlers.length) {
      throw new RangeError(`schedule: handler ${handler} is not registered (${this.handlers.length} handlers)`);
    }
    return this.queue.push(this.now + delay, handler, a, b);
  }

  cancel(id: EventId): boolean {
    return this.queue.cancel(id);
  }

  /** Runs events in time order until a limit is reached or the queue is empty. */
  run(limits: RunLimits = {}): RunResult {
    const until = limits.until ?? Infinity;
    const maxEvents = limits.maxEvents ?? Infinity;
    const stopWhen = limits.stopWhen;
    if (until < this.now) throw new RangeError(`run: until ${until} is before now (${this.now})`);
    const q = this.queue;
    const ev = this.popped;
    const handlers = this.handlers;
    let n = 0;
    let reason: StopReason = 'empty';
    if (stopWhen === undefined) {
      // The common case, kept tight: no condition to test after each event.
      while (n < maxEvents && q.popUntil(until, ev)) {
        if (ev.time !== this.now) this.sameTime = 1;
        else if (++this.sameTime > this.sameTimeLimit) this.stalled(ev);
        this.now = ev.time;
        handlers[ev.handler]!(ev.a, ev.b);
        n++;
      }
      reason = n >= maxEvents ? 'maxEvents' : q.length === 0 ? 'empty' : 'until';
    } else {
      for (;;) {
        if (n >= maxEvents) { reason = 'maxEvents'; break; }
        if (!q.popUntil(until, ev)) { reason = q.length === 0 ? 'empty' : 'until'; break; }
        if (ev.time !== this.now) this.sameTime = 1;
        else if (++this.sameTime > this.sameTimeLimit) this.stalled(ev);
        this.now = ev.time;
        handlers[ev.handler]!(ev.a, ev.b);
        n++;
        if (stopWhen()) { reason = 'condition'; break; }
      }
    }
    if (reason === 'until' || (reason === 'empty' && until !== Infinity)) this.now = until;
    this.dispatched += n;
    return { reason, events: n, now: this.now };
  }

  /**
   * Throws the error of a run stuck at one virtual time (see SimulatorOptions.sameTimeLimit). The
   * event that was due goes back on the queue (behind any other event due then), so nothing is lost
   * and a later run() starts with it.
   */
  private stalled(ev: PoppedEvent): never {
    this.sameTime = 0;
    this.queue.push(ev.time, ev.handler, ev.a, ev.b);
    throw new Error(`run: ${this.sameTimeLimit} events ran at virtual time ${this.now} ns and the next is due then too ` +
      `('${this.handlerName(ev.handler)}'); something keeps rescheduling itself with no delay`);
  }

  /**
   * Runs until `until` in slices of `sliceNs` of virtual time, calling `onSlice` after each
   * (a notebook updates its progress display there). Returns the total events run.
   */
  runSlices(until: SimTime, sliceNs: number, onSlice: (now: SimTime, events: number) => void): number {
    if (!(sliceNs > 0) || sliceNs !== Math.floor(sliceNs)) {
      throw new RangeError(`runSlices: sliceNs ${sliceNs} is not allowed; use a positive integer number of ns`);
    }
    let total = 0;
    while (this.now < until) {
      const r = this.run({ until: Math.min(until, this.now + sliceNs) });
      total += r.events;
      onSlice(this.now, total);
    }
    return total;
  }
}
