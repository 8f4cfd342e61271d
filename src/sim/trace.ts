/**
 * The trace bus: typed, named events that make every modeled step visible.
 *
 * Each component declares its events once, with one sentence of help each, by augmenting the
 * `TraceEvents` interface and calling `defineTraceEvents`:
 *
 *   declare module '../sim/trace' {
 *     interface TraceEvents {
 *       'ring.push': { ring: string; side: 'front' | 'back'; oldProd: number; newProd: number; notify: boolean };
 *     }
 *   }
 *   defineTraceEvents({ 'ring.push': 'A producer published new entries and decided whether to notify.' });
 *
 * At run time a component takes a `TracePoint` from the bus once (`bus.point('ring.push')`) and
 * emits through it guarded by its `on` flag:
 *
 *   if (this.tpPush.on) this.tpPush.emit({ ring, side: 'front', oldProd, newProd, notify });
 *
 * With nothing subscribed the cost is one property load and a branch; the record object is never
 * built. Subscribing by exact name or by prefix ("netback." or "*") flips `on` for every matching
 * point, including points created later.
 */

import type { SimTime } from './queue';

/** Augmented by each component with its own events (see the file comment). */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface TraceEvents {}

export type TraceName = keyof TraceEvents & string;

/** What a subscriber receives: the event's fields plus its time and name. */
export type TraceRecord<K extends TraceName = TraceName> = TraceEvents[K] & { t: SimTime; ev: K };

/** Any record, for code that handles all events alike (recorders, JSONL, charts). */
export interface AnyTraceRecord {
  t: SimTime;
  ev: string;
  [field: string]: unknown;
}

const HELP = new Map<string, string>();

/** Registers the help sentence of each event name; a name can be defined only once. */
export function defineTraceEvents<K extends TraceName>(help: { [P in K]: string }): void {
  for (const [name, text] of Object.entries(help) as [string, string][]) {
    if (typeof text !== 'string' || text.trim().length === 0) {
      throw new Error(`defineTraceEvents: event '${name}' needs one sentence of help`);
    }
    const old = HELP.get(name);
    if (old !== undefined && old !== text) {
      throw new Error(`defineTraceEvents: event '${name}' is already defined with other help`);
    }
    HELP.set(name, text);
  }
}

/** Every declared event with its help sentence, sorted by name. */
export function traceCatalogue(): { event: string; help: string }[] {
  return [...HELP.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([event, help]) => ({ event, help }));
}

export type TraceListener = (record: AnyTraceRecord) => void;

export class TracePoint<K extends TraceName = TraceName> {
  /** True when at least one subscriber wants this event; check it before building the record. */
  on = false;
  /** @internal */
  listeners: TraceListener[] = [];

  constructor(readonly name: K, private readonly bus: TraceBus) {}

  /** Delivers one event. The fields object is completed in place with `t` and `ev`. */
  emit(fields: TraceEvents[K]): void {
    const rec = fields as unknown as AnyTraceRecord;
    rec.t = this.bus.now();
    rec.ev = this.name;
    const ls = this.listeners;
    for (let i = 0; i < ls.length; i++) ls[i]!(rec);
  }
}

interface Subscription {
  pattern: string;
  listener: TraceListener;
}

function matches(pattern: string, name: string): boolean {
  if (pattern === '*' || pattern === name) return true;
  return pattern.endsWith('.') || pattern.endsWith('*')
    ? name.startsWith(pattern.endsWith('*') ? pattern.slice(0, -1) : pattern)
    : false;
}

export class TraceBus {
  private readonly points = new Map<string, TracePoint>();
  private subs: Subscription[] = [];

  /** @param now the clock the records are stamped with (the simulator's virtual time). */
  constructor(readonly now: () => SimTime) {}

  /** The trace point for an event name; create once per component, keep it, emit through it. */
  point<K extends TraceName>(name: K): TracePoint<K> {
    if (!HELP.has(name)) {
      throw new Error(`trace event '${name}' is not defined; declare it with defineTraceEvents() (known: ${HELP.size} events)`);
    }
    let p = this.points.get(name) as TracePoint<K> | undefined;
    if (p === undefined) {
      p = new TracePoint(name, this);
      for (const s of this.subs) if (matches(s.pattern, name)) p.listeners.push(s.listener);
      p.on = p.listeners.length > 0;
      this.points.set(name, p as unknown as TracePoint);
    }
    return p;
  }

  /**
   * Subscribes to an exact event name, a prefix ending in '.' or '*' ("netback.", "ring*"), or '*'.
   * Returns a function that unsubscribes.
   */
  on(pattern: string, listener: TraceListener): () => void {
    if (typeof pattern !== 'string' || pattern.length === 0) {
      throw new Error(`trace.on: pattern ${JSON.stringify(pattern)} is not allowed; use an event name, a prefix ending in '.' or '*', or '*'`);
    }
    const exactOrPrefix = pattern === '*' || pattern.endsWith('.') || pattern.endsWith('*') || HELP.has(pattern);
    if (!exactOrPrefix) {
      throw new Error(`trace.on: no event is named '${pattern}'; use a defined event name, a prefix ending in '.' or '*', or '*'`);
    }
    const sub: Subscription = { pattern, listener };
    this.subs.push(sub);
    for (const p of this.points.values()) {
      if (matches(pattern, p.name)) {
        p.listeners.push(listener);
        p.on = true;
      }
    }
    return () => {
      this.subs = this.subs.filter((s) => s !== sub);
      for (const p of this.points.values()) {
        const i = p.listeners.indexOf(listener);
        if (i >= 0) p.listeners.splice(i, 1);
        p.on = p.listeners.length > 0;
      }
    };
  }

  /** Records every matching event in memory; `stop()` detaches. */
  record(pattern = '*'): TraceRecorder {
    const rec = new TraceRecorder();
    rec.stop = this.on(pattern, (r) => rec.records.push({ ...r }));
    return rec;
  }

  /** Streams every matching event as one JSON line each to `write`. */
  jsonl(write: (line: string) => void, pattern = '*'): () => void {
    return this.on(pattern, (r) => write(JSON.stringify(r) + '\n'));
  }

  /** True when anything subscribes to any event (used by tests and the benchmark). */
  get active(): boolean {
    return this.subs.length > 0;
  }
}

export class TraceRecorder {
  readonly records: AnyTraceRecord[] = [];
  stop: () => void = () => {};

  /** The records of one event name, typed. */
  of<K extends TraceName>(name: K): TraceRecord<K>[] {
    return this.records.filter((r) => r.ev === name) as unknown as TraceRecord<K>[];
  }

  /** All records as JSON Lines. */
  toJsonl(): string {
    return this.records.map((r) => JSON.stringify(r)).join('\n') + (this.records.length ? '\n' : '');
  }
}
