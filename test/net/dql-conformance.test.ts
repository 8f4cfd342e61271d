/**
 * Conformance of src/net/dql.ts (Byte Queue Limits' dynamic queue limits) with the kernel's own
 * lib/dynamic_queue_limits.c, compiled from Debian's linux-source (see test/linux-source.ts) with
 * test/net/conformance/dql.c, and driven with the same operations as the model:
 *
 * - driver-like runs: a NIC posting packets of every size (and 64 KiB TSO skbs) while
 *   dql_avail() allows, completion rounds of part or all of what is in flight at jiffies that
 *   stand still, tick or jump past the slack hold time — the limit grows when starved and comes
 *   down after the hold time;
 * - states near the 2^32 wrap of the counters, and sysfs limit_min / limit_max in force;
 * - the BUG_ONs: more than DQL_MAX_OBJECT queued at once, more completed than in flight.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DQL_MAX_LIMIT, DQL_MAX_OBJECT, Dql, dql_avail, dql_completed, dql_init, dql_queued } from '../../src/net/dql';
import { RandomStream } from '../../src/sim/rng';
import { cBlock, compileC, linuxSources, runHarness, skipWithoutLinuxSource } from '../linux-source';

const HARNESS = join(__dirname, 'conformance', 'dql.c');
const skip = skipWithoutLinuxSource('test/net/dql-conformance');

function buildHarness(): { dir: string; exe: string } {
  const [hdr, src] = linuxSources(['include/linux/dynamic_queue_limits.h', 'lib/dynamic_queue_limits.c']) as [string, string];
  const defines = hdr.split('\n').filter((l) => /^#define DQL_MAX_(OBJECT|LIMIT)\b/.test(l));
  if (defines.length !== 2) throw new Error('DQL_MAX_OBJECT / DQL_MAX_LIMIT not found in dynamic_queue_limits.h');
  const header = [
    `${cBlock(hdr, hdr.indexOf('struct dql {'), 'struct dql')};`,
    ...defines,
    cBlock(hdr, hdr.indexOf('static inline void dql_queued('), 'dql_queued'),
    cBlock(hdr, hdr.indexOf('static inline int dql_avail('), 'dql_avail'),
  ].join('\n\n');
  const macros = src.split('\n').filter((l) => /^#define (POSDIFF|AFTER_EQ)\(/.test(l));
  if (macros.length !== 2) throw new Error('POSDIFF / AFTER_EQ not found in dynamic_queue_limits.c');
  const body = [...macros, ...['void dql_completed(', 'void dql_reset(', 'void dql_init('].map((f) => cBlock(src, src.indexOf(f), f))].join('\n\n');
  const dir = join(tmpdir(), `xen-netlab-dql-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'dql_kernel.h'), `${header}\n`);
  writeFileSync(join(dir, 'dql_kernel.c'), `${body}\n`);
  const exe = join(dir, 'dql');
  compileC(exe, dir, [HARNESS]);
  return { dir, exe };
}

function state(d: Dql): string {
  return [d.num_queued, d.adj_limit, d.last_obj_cnt, d.limit, d.num_completed, d.prev_ovlimit, d.prev_num_queued,
    d.prev_last_obj_cnt, d.lowest_slack, d.slack_start_time, d.max_limit, d.min_limit, d.slack_hold_time, dql_avail(d)].join(' ');
}

/** One operation: its line for the harness, and the same on the model's dql. */
interface Op { line: string; model: (d: Dql) => void }

const HZ = 250;
const SIZES = [60, 64, 128, 576, 1000, 1514, 9018, 65226];

/** A NIC's life on one queue: post while dql_avail allows, complete part or all of the in-flight bytes. */
function driverRun(rng: RandomStream, steps: number, minLimit = 0, maxLimit = DQL_MAX_LIMIT): Op[] {
  const ops: Op[] = [];
  const start = 1000 + rng.int(1000);
  let jiffies = start;
  ops.push({ line: `I ${HZ} ${start}`, model: (d) => dql_init(d, HZ, start) });
  if (minLimit !== 0 || maxLimit !== DQL_MAX_LIMIT) {
    ops.push({ line: `M ${minLimit} ${maxLimit}`, model: (d) => { d.min_limit = minLimit; d.max_limit = maxLimit; } });
  }
  // The harness's state is mirrored here to choose what a driver would do next.
  const mirror = new Dql();
  dql_init(mirror, HZ, jiffies);
  mirror.min_limit = minLimit;
  mirror.max_limit = maxLimit;
  const inflight: number[] = [];
  const size = SIZES.length;
  for (let s = 0; s < steps; s++) {
    // Post packets until BQL says stop (or the burst ends).
    const burst = 1 + rng.int(rng.uniform() < 0.2 ? 200 : 16);
    for (let k = 0; k < burst && dql_avail(mirror) >= 0; k++) {
      const bytes = SIZES[rng.int(size)]!;
      ops.push({ line: `Q ${bytes}`, model: (d) => dql_queued(d, bytes) });
      dql_queued(mirror, bytes);
      inflight.push(bytes);
    }
    // A completion round: part of the in-flight packets, or all (the ring ran dry).
    const r = rng.uniform();
    const n = r < 0.3 ? inflight.length : rng.int(inflight.length + 1);
    let bytes = 0;
    for (const b of inflight.splice(0, n)) bytes += b;
    const t = rng.uniform();
    jiffies += t < 0.6 ? 0 : t < 0.95 ? 1 : HZ + rng.int(3);
    const j = jiffies;
    ops.push({ line: `C ${bytes} ${j}`, model: (d) => dql_completed(d, bytes, j) });
    dql_completed(mirror, bytes, j);
  }
  return ops;
}

/** Random states near the wrap of the unsigned counters, then driver-like steps on them. */
function wrapRun(rng: RandomStream, count: number): Op[] {
  const ops: Op[] = [];
  const near = () => (0x100000000 - 1 - rng.int(200_000)) >>> 0;
  for (let i = 0; i < count; i++) {
    const jiffies = 5000 + rng.int(1000);
    ops.push({ line: `I ${HZ} ${jiffies}`, model: (d) => dql_init(d, HZ, jiffies) });
    const nc = near();
    const inflight = rng.int(300_000);
    const nq = (nc + inflight) >>> 0;
    const limit = rng.int(400_000);
    const pq = (nc - rng.int(100_000) + (rng.uniform() < 0.5 ? 200_000 : 0)) >>> 0;
    const fields = [nq, (limit + nc) >>> 0, SIZES[rng.int(SIZES.length)]!, limit, nc, rng.uniform() < 0.5 ? 0 : rng.int(70_000), pq,
      SIZES[rng.int(SIZES.length)]!, rng.uniform() < 0.5 ? 0xffffffff : rng.int(100_000), jiffies - rng.int(2 * HZ)];
    ops.push({
      line: `S ${fields.join(' ')}`,
      model: (d) => {
        [d.num_queued, d.adj_limit, d.last_obj_cnt, d.limit, d.num_completed, d.prev_ovlimit, d.prev_num_queued,
          d.prev_last_obj_cnt, d.lowest_slack, d.slack_start_time] = fields as [number, number, number, number, number, number, number, number, number, number];
      },
    });
    for (let k = 0; k < 4; k++) {
      const q = SIZES[rng.int(SIZES.length)]!;
      ops.push({ line: `Q ${q}`, model: (d) => dql_queued(d, q) });
      const c = rng.int(inflight + 1);
      const j = jiffies + k * rng.int(HZ + 2);
      ops.push({ line: `C ${c} ${j}`, model: (d) => dql_completed(d, c, j) });
    }
  }
  return ops;
}

function bugRun(): Op[] {
  return [
    { line: `I ${HZ} 100`, model: (d) => dql_init(d, HZ, 100) },
    { line: `Q ${DQL_MAX_OBJECT + 1}`, model: (d) => dql_queued(d, DQL_MAX_OBJECT + 1) },
    { line: `Q ${DQL_MAX_OBJECT}`, model: (d) => dql_queued(d, DQL_MAX_OBJECT) },
    { line: 'Q 1514', model: (d) => dql_queued(d, 1514) },
    { line: `C ${DQL_MAX_OBJECT + 1515} 101`, model: (d) => dql_completed(d, DQL_MAX_OBJECT + 1515, 101) },
    { line: `C ${DQL_MAX_OBJECT + 1514} 101`, model: (d) => dql_completed(d, DQL_MAX_OBJECT + 1514, 101) },
  ];
}

describe.skipIf(skip)('dynamic queue limits against the kernel\'s own lib/dynamic_queue_limits.c (gcc + linux-source)', () => {
  let dir = '';
  let exe = '';
  beforeAll(() => {
    ({ dir, exe } = buildHarness());
  }, 120_000);
  afterAll(() => { if (dir !== '') rmSync(dir, { recursive: true, force: true }); });

  /** Runs the ops through the kernel's code and the model; returns the kernel's lines and the first differences. */
  function compare(ops: Op[]): { out: string[]; diffs: string[] } {
    const out = runHarness(exe, ops.map((o) => o.line)).filter((l) => !l.startsWith('K '));
    expect(out.length).toBe(ops.length);
    const d = new Dql();
    const diffs: string[] = [];
    for (let i = 0; i < ops.length && diffs.length < 10; i++) {
      let m: string;
      try {
        ops[i]!.model(d);
        m = state(d);
      } catch (e) {
        m = /BUG_ON/.test(String(e)) ? 'BUG' : `threw ${String(e)}`;
      }
      if (m !== out[i]) diffs.push(`op ${i} '${ops[i]!.line}': kernel ${out[i]}, model ${m}`);
    }
    return { out, diffs };
  }

  it('has the kernel\'s constants', () => {
    const k = Object.fromEntries(runHarness(exe, []).filter((l) => l.startsWith('K ')).map((l) => l.split(' ').slice(1)).map(([n, v]) => [n, Number(v)]));
    expect(k).toEqual({ DQL_MAX_OBJECT, DQL_MAX_LIMIT });
  });

  it('a driver posting and completing: the same limit, slack and state after every operation', () => {
    const rng = new RandomStream('dql', 1, 0);
    const ops: Op[] = [];
    for (let r = 0; r < 40; r++) ops.push(...driverRun(rng, 2000));
    expect(ops.length).toBeGreaterThan(200_000);
    const { out, diffs } = compare(ops);
    expect(diffs).toEqual([]);
    // The runs reach both branches: the limit grows (starved) and comes down (slack after the hold time).
    const limits = out.map((l) => Number(l.split(' ')[3]));
    let grew = 0;
    let shrank = 0;
    for (let i = 1; i < limits.length; i++) {
      if (ops[i]!.line.startsWith('C') && limits[i]! > limits[i - 1]!) grew++;
      if (ops[i]!.line.startsWith('C') && limits[i]! < limits[i - 1]!) shrank++;
    }
    expect(grew).toBeGreaterThan(100);
    expect(shrank).toBeGreaterThan(20);
  });

  it('limit_min and limit_max bound the limit as in the kernel', () => {
    const rng = new RandomStream('dql-bounds', 1, 0);
    const ops = [...driverRun(rng, 3000, 30_000, DQL_MAX_LIMIT), ...driverRun(rng, 3000, 0, 20_000), ...driverRun(rng, 1000, DQL_MAX_LIMIT, DQL_MAX_LIMIT)];
    expect(compare(ops).diffs).toEqual([]);
  });

  it('counters near the 2^32 wrap', () => {
    expect(compare(wrapRun(new RandomStream('dql-wrap', 1, 0), 5000)).diffs).toEqual([]);
  });

  it('the BUG_ONs: too much queued at once, more completed than in flight', () => {
    const { out, diffs } = compare(bugRun());
    expect(diffs).toEqual([]);
    expect(out.filter((l) => l === 'BUG').length).toBe(2);
  });
});
