/**
 * Xenstore: the hierarchical key-value store through which the toolstack, frontends and
 * backends negotiate (xenstored). Nodes hold string values and have children; writes create
 * missing parents; watches fire on the watched node and everything below it; transactions see a
 * private view and fail with EAGAIN at commit when a node they touched changed meanwhile.
 *
 * Modeled on xen-project/xen tools/xenstored (xenstored_core.c do_read/do_write/do_mkdir/do_rm/
 * send_directory, xenstored_watch.c do_watch/fire_watches, xenstored_transaction.c) and the
 * protocol in docs/misc/xenstore.txt.
 *
 * - A watch fires once when it is registered (xenstored does this so clients need no initial
 *   read), then for every change at or below its path; removing a node also fires watches set
 *   below it (with the watch's own path). Watch callbacks run as simulator events
 *   `xenstore_latency_ns` after the change, in the watching domain.
 * - Transactions: per-node generation counts; a transaction records the generation of every node
 *   it reads or writes and commit fails with -EAGAIN if any changed. Watches for a transaction's
 *   changes fire at commit.
 *
 * Differences: no permissions (every domain may read and write everything; xenstored checks
 * per-node ACLs), no quotas, no special `@introduceDomain` / `@releaseDomain` watches; operations
 * complete instantly (only watch delivery takes virtual time).
 */
import { EAGAIN, EINVAL, ENOENT } from './constants';
import type { Simulator } from '../sim/simulator';
import type { TracePoint } from '../sim/trace';

/** A watch callback: the changed path and the token given at registration. */
export type WatchCallback = (path: string, token: string) => void;

interface Node {
  value: string;
  children: string[];
  gen: number;
}

interface Watch {
  id: number;
  dom: number;
  path: string;
  token: string;
  cb: WatchCallback;
  active: boolean;
}

interface Transaction {
  id: number;
  dom: number;
  /** Private changes: the new node, or null for a removed one. */
  overlay: Map<string, Node | null>;
  /** Generation seen at first access; -1 when the node did not exist. */
  seen: Map<string, number>;
  /** Changes to announce at commit: [path, removed]. */
  changes: [string, boolean][];
}

/** One row of the tree, for tables. */
export interface XenstoreRow {
  path: string;
  value: string;
  depth: number;
}

/** Splits and validates an absolute path. */
function checkPath(path: string, what: string): void {
  if (typeof path !== 'string' || !path.startsWith('/') || (path.length > 1 && path.endsWith('/')) || path.includes('//')) {
    throw new Error(`xenstore.${what}: path ${JSON.stringify(path)} is not allowed; use an absolute path like /local/domain/1/device/vif/0 (no trailing or double '/')`);
  }
  if (path.length > 3072) throw new Error(`xenstore.${what}: path is ${path.length} characters; xenstored allows at most 3072`);
}

function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** True when `path` is `base` or below it. */
function isChild(path: string, base: string): boolean {
  if (base === '/') return true;
  return path === base || (path.startsWith(base) && path.charCodeAt(base.length) === 47 /* '/' */);
}

export interface XenstoreCounters {
  reads: number; writes: number; rms: number; watch_events: number; tx_started: number; tx_committed: number; tx_eagain: number;
}

export class XenStore {
  private readonly nodes = new Map<string, Node>();
  private gen = 1;
  private readonly watches: Watch[] = [];
  private readonly watchById = new Map<number, Watch>();
  private nextWatchId = 1;
  private readonly txs = new Map<number, Transaction>();
  private nextTx = 1;
  private readonly pendingEvents: { watch: Watch; path: string }[] = [];
  private readonly hFire: number;
  readonly counters: XenstoreCounters = { reads: 0, writes: 0, rms: 0, watch_events: 0, tx_started: 0, tx_committed: 0, tx_eagain: 0 };

  constructor(
    private readonly sim: Simulator,
    private readonly latencyNs: number,
    private readonly tp: {
      write: TracePoint<'xen.xenstore.write'>; rm: TracePoint<'xen.xenstore.rm'>;
      commit: TracePoint<'xen.xenstore.commit'>; watch: TracePoint<'xen.xenstore.watch'>;
    },
  ) {
    this.nodes.set('/', { value: '', children: [], gen: 0 });
    this.hFire = sim.register('xen.xenstore.watch', (id) => this.fireOne(id));
  }

  // ---- node access through an optional transaction ---------------------------------------------

  private tx(id: number, what: string): Transaction | undefined {
    if (id === 0) return undefined;
    const t = this.txs.get(id);
    if (t === undefined) throw new Error(`xenstore.${what}: transaction ${id} is not open; use 0 (none) or an id from transaction_start()`);
    return t;
  }

  private get(t: Transaction | undefined, path: string): Node | undefined {
    if (t !== undefined) {
      if (t.overlay.has(path)) return t.overlay.get(path) ?? undefined;
      const n = this.nodes.get(path);
      if (!t.seen.has(path)) t.seen.set(path, n === undefined ? -1 : n.gen);
      return n;
    }
    return this.nodes.get(path);
  }

  private put(t: Transaction | undefined, path: string, node: Node | null): void {
    if (t !== undefined) {
      if (!t.seen.has(path) && !t.overlay.has(path)) {
        const n = this.nodes.get(path);
        t.seen.set(path, n === undefined ? -1 : n.gen);
      }
      t.overlay.set(path, node);
      return;
    }
    if (node === null) this.nodes.delete(path);
    else this.nodes.set(path, node);
  }

  /** A writable copy of a node (in a transaction the base node is never modified). */
  private mutable(t: Transaction | undefined, path: string): Node | undefined {
    const n = this.get(t, path);
    if (n === undefined) return undefined;
    if (t === undefined) { n.gen = this.gen++; return n; }
    if (t.overlay.get(path) === n) return n;
    const copy = { value: n.value, children: n.children.slice(), gen: n.gen };
    this.put(t, path, copy);
    return copy;
  }

  /** Creates `path` and missing parents; returns the node. */
  private create(t: Transaction | undefined, path: string): Node {
    const existing = this.get(t, path);
    if (existing !== undefined) return existing;
    const parent = path === '/' ? undefined : this.create(t, parentOf(path));
    const node: Node = { value: '', children: [], gen: this.gen++ };
    this.put(t, path, node);
    if (parent !== undefined) {
      const p = this.mutable(t, parentOf(path))!;
      p.children.push(baseName(path));
    }
    return node;
  }

  // ---- operations ----------------------------------------------------------------------------

  /** The value at `path`, or undefined when there is no such node (xenstored: ENOENT). */
  read(path: string, tx = 0): string | undefined {
    checkPath(path, 'read');
    this.counters.reads++;
    return this.get(this.tx(tx, 'read'), path)?.value;
  }

  /** True when the node exists. */
  exists(path: string, tx = 0): boolean {
    checkPath(path, 'exists');
    return this.get(this.tx(tx, 'exists'), path) !== undefined;
  }

  /** Writes `value` at `path`, creating missing parents with empty values. */
  write(path: string, value: string, tx = 0, dom = 0): void {
    checkPath(path, 'write');
    if (typeof value !== 'string') throw new TypeError(`xenstore.write: value for ${path} must be a string, got ${typeof value}`);
    const t = this.tx(tx, 'write');
    this.counters.writes++;
    this.create(t, path);
    const n = this.mutable(t, path)!;
    n.value = value;
    if (this.tp.write.on) this.tp.write.emit({ dom, path, value, tx });
    this.changed(t, path, false);
  }

  /** Creates a node (and parents) with an empty value; an existing node is left as it is. */
  mkdir(path: string, tx = 0, dom = 0): void {
    checkPath(path, 'mkdir');
    const t = this.tx(tx, 'mkdir');
    if (this.get(t, path) !== undefined) return;
    this.create(t, path);
    if (this.tp.write.on) this.tp.write.emit({ dom, path, value: '', tx });
    this.changed(t, path, false);
  }

  /**
   * Removes a node and everything below it. Returns 0, or -ENOENT when neither the node nor its
   * parent exists (xenstored answers success when only the node is missing); -EINVAL for '/'.
   */
  rm(path: string, tx = 0, dom = 0): number {
    checkPath(path, 'rm');
    if (path === '/') return -EINVAL;
    const t = this.tx(tx, 'rm');
    const n = this.get(t, path);
    if (n === undefined) return this.get(t, parentOf(path)) !== undefined ? 0 : -ENOENT;
    this.counters.rms++;
    const drop = (p: string, node: Node): void => {
      for (const c of node.children) {
        const cp = p === '/' ? `/${c}` : `${p}/${c}`;
        const cn = this.get(t, cp);
        if (cn !== undefined) drop(cp, cn);
      }
      this.put(t, p, null);
    };
    drop(path, n);
    const parent = this.mutable(t, parentOf(path));
    if (parent !== undefined) parent.children = parent.children.filter((c) => c !== baseName(path));
    if (this.tp.rm.on) this.tp.rm.emit({ dom, path, tx });
    this.changed(t, path, true);
    return 0;
  }

  /** Child names of `path` in creation order, or undefined when there is no such node. */
  directory(path: string, tx = 0): string[] | undefined {
    checkPath(path, 'directory');
    const n = this.get(this.tx(tx, 'directory'), path);
    return n === undefined ? undefined : n.children.slice();
  }

  // ---- transactions ---------------------------------------------------------------------------

  /** Starts a transaction; returns its id (never 0). */
  transaction_start(dom = 0): number {
    const id = this.nextTx++;
    this.txs.set(id, { id, dom, overlay: new Map(), seen: new Map(), changes: [] });
    this.counters.tx_started++;
    return id;
  }

  /**
   * Ends a transaction: with `abort` its changes are dropped; otherwise they are applied unless a
   * node it read or wrote changed since it first touched it, in which case nothing is applied
   * and -EAGAIN is returned (the caller retries the whole transaction, as Linux drivers do).
   */
  transaction_end(tx: number, abort = false): number {
    const t = this.tx(tx, 'transaction_end');
    if (t === undefined) throw new Error('xenstore.transaction_end: transaction 0 is not a transaction');
    this.txs.delete(tx);
    if (abort) return 0;
    for (const [path, g] of t.seen) {
      const n = this.nodes.get(path);
      if ((n === undefined ? -1 : n.gen) !== g) {
        this.counters.tx_eagain++;
        if (this.tp.commit.on) this.tp.commit.emit({ dom: t.dom, tx, rc: -EAGAIN, changes: 0 });
        return -EAGAIN;
      }
    }
    for (const [path, node] of t.overlay) {
      if (node === null) this.nodes.delete(path);
      else { node.gen = this.gen++; this.nodes.set(path, node); }
    }
    this.counters.tx_committed++;
    if (this.tp.commit.on) this.tp.commit.emit({ dom: t.dom, tx, rc: 0, changes: t.changes.length });
    for (const [path, removed] of t.changes) this.fireWatches(path, removed);
    return 0;
  }

  // ---- watches --------------------------------------------------------------------------------

  /**
   * Watches `path` and everything below it for domain `dom`; `cb(path, token)` runs as a
   * simulator event for each change, and once right after registration. Returns a watch id.
   */
  watch(path: string, token: string, cb: WatchCallback, dom = 0): number {
    checkPath(path, 'watch');
    if (typeof cb !== 'function') throw new TypeError('xenstore.watch: callback must be a function (path, token) => void');
    const w: Watch = { id: this.nextWatchId++, dom, path, token, cb, active: true };
    this.watches.push(w);
    this.watchById.set(w.id, w);
    this.queue(w, path);
    return w.id;
  }

  /** Removes a watch; events already queued for it are discarded. */
  unwatch(id: number): void {
    const w = this.watchById.get(id);
    if (w === undefined) throw new Error(`xenstore.unwatch: no watch ${id}`);
    w.active = false;
    this.watchById.delete(id);
    this.watches.splice(this.watches.indexOf(w), 1);
  }

  private changed(t: Transaction | undefined, path: string, removed: boolean): void {
    if (t !== undefined) t.changes.push([path, removed]);
    else this.fireWatches(path, removed);
  }

  /** @models xen-project/xen tools/xenstored/xenstored_watch.c fire_watches() */
  private fireWatches(path: string, recurse: boolean): void {
    for (const w of this.watches) {
      if (isChild(path, w.path)) this.queue(w, path);
      else if (recurse && isChild(w.path, path)) this.queue(w, w.path);
    }
  }

  private queue(w: Watch, path: string): void {
    this.pendingEvents.push({ watch: w, path });
    this.sim.after(this.latencyNs, this.hFire, 0);
  }

  private fireOne(_unused: number): void {
    const ev = this.pendingEvents.shift();
    if (ev === undefined || !ev.watch.active) return;
    this.counters.watch_events++;
    if (this.tp.watch.on) this.tp.watch.emit({ dom: ev.watch.dom, path: ev.path, token: ev.watch.token });
    ev.watch.cb(ev.path, ev.watch.token);
  }

  // ---- inspection -----------------------------------------------------------------------------

  /** Every node below `root` (inclusive), depth-first in creation order. */
  rows(root = '/'): XenstoreRow[] {
    checkPath(root, 'rows');
    const out: XenstoreRow[] = [];
    const walk = (p: string, depth: number): void => {
      const n = this.nodes.get(p);
      if (n === undefined) return;
      out.push({ path: p, value: n.value, depth });
      for (const c of n.children) walk(p === '/' ? `/${c}` : `${p}/${c}`, depth + 1);
    };
    walk(root, 0);
    return out;
  }
}
