/**
 * Conformance of src/drivers/nic/itr.ts with ixgbe's adaptive interrupt moderation as Linux
 * compiles it.
 *
 * Debian's `linux-source` package holds the kernel tree as a tarball. The test extracts
 * ixgbe_main.c, ixgbe.h and ixgbe_type.h from it (into a cache directory, never the repository),
 * cuts out ixgbe_update_itr() and ixgbe_set_itr() and the constants and struct they use, compiles
 * them with test/drivers/nic/conformance/itr.c (stubs for the kernel names around them), and
 * drives both the C and the model over a grid of moderation states: packet and byte counts on both
 * sides of every threshold, stale and due updates, every vector ITR class and link speed.
 *
 * In CI (CI=true) a missing gcc or kernel tarball fails the suite; elsewhere it is skipped with a
 * printed reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  IXGBE_20K_ITR, IXGBE_MAX_EITR, ITR_ADAPTIVE_LATENCY, ITR_ADAPTIVE_MIN_INC, ITR_ADAPTIVE_MIN_USECS,
  ITR_ADAPTIVE_MAX_USECS, ixgbe_set_itr, ixgbe_update_itr, slowItrLink, type RingContainer,
} from '../../../src/drivers/nic/itr';
import { cBlock, compileC, linuxSources, runHarness, skipWithoutLinuxSource } from '../../linux-source';

const HARNESS = join(__dirname, 'conformance', 'itr.c');
const IXGBE = 'drivers/net/ethernet/intel/ixgbe';
const skip = skipWithoutLinuxSource('test/drivers/nic/itr-conformance');

const DEFINES = [
  'IXGBE_ITR_ADAPTIVE_MIN_INC', 'IXGBE_ITR_ADAPTIVE_MIN_USECS', 'IXGBE_ITR_ADAPTIVE_MAX_USECS', 'IXGBE_ITR_ADAPTIVE_LATENCY',
  'IXGBE_ITR_ADAPTIVE_BULK', 'IXGBE_20K_ITR', 'IXGBE_MAX_EITR', 'IXGBE_LINK_SPEED_10_FULL', 'IXGBE_LINK_SPEED_100_FULL',
  'IXGBE_LINK_SPEED_1GB_FULL', 'IXGBE_LINK_SPEED_2_5GB_FULL', 'IXGBE_LINK_SPEED_10GB_FULL',
];

/** Compiles the kernel's functions with the harness; returns its build directory, the executable and the link-speed codes. */
function buildHarness(): { dir: string; exe: string; speeds: Map<string, number> } {
  const [main, hdr, type] = linuxSources([`${IXGBE}/ixgbe_main.c`, `${IXGBE}/ixgbe.h`, `${IXGBE}/ixgbe_type.h`]) as [string, string, string];
  const defs = new Map<string, string>();
  for (const line of `${hdr}\n${type}`.split('\n')) {
    const m = /^#define\s+(\w+)\s+(\S.*?)\s*(?:\/\*.*)?$/.exec(line);
    if (m && DEFINES.includes(m[1]!) && !defs.has(m[1]!)) defs.set(m[1]!, m[2]!);
  }
  for (const d of DEFINES) if (!defs.has(d)) throw new Error(`#define ${d} not found in ixgbe.h / ixgbe_type.h`);
  const container = cBlock(hdr, hdr.indexOf('struct ixgbe_ring_container {'), 'struct ixgbe_ring_container');
  const fn = (name: string) => cBlock(main, main.indexOf(`static void ${name}(struct ixgbe_q_vector *q_vector`), name);
  const dir = join(tmpdir(), `xen-netlab-itr-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'ixgbe_defs.h'), `${[...defs].map(([k, v]) => `#define ${k} ${v}`).join('\n')}\n${container};\n`);
  writeFileSync(join(dir, 'ixgbe_itr.c'), `${fn('ixgbe_update_itr')}\n\n${fn('ixgbe_set_itr')}\n`);
  const exe = join(dir, 'itr');
  compileC(exe, dir, [HARNESS]);
  const speeds = new Map([...defs].filter(([k]) => k.startsWith('IXGBE_LINK_SPEED_')).map(([k, v]) => [k, Number(v)]));
  return { dir, exe, speeds };
}

/** The model's line rate for each of ixgbe's link speeds. */
const LINE_RATE: Record<string, number> = {
  IXGBE_LINK_SPEED_10GB_FULL: 10e9, IXGBE_LINK_SPEED_2_5GB_FULL: 2.5e9, IXGBE_LINK_SPEED_1GB_FULL: 1e9,
  IXGBE_LINK_SPEED_100_FULL: 100e6, IXGBE_LINK_SPEED_10_FULL: 10e6,
};

const J = 100;
const NEXT = [98, 99, 100, 101]; // stale, stale, due, due
const PACKETS = [0, 1, 2, 3, 4, 5, 20, 47, 48, 60, 95, 96, 200, 255, 256, 257, 1000];
const AVG = [40, 60, 61, 98, 200, 316, 317, 500, 1084, 1085, 1514, 1967, 1968, 2000, 9000];
const CONTAINER_ITR = [126 | 0x80, 10 | 0x80, 60, 0x80];
const VECTOR_ITR = [0, 8, 40, 56, 100, 200, 472, 504, 4088];

/** Byte counts for a packet count: averages on both sides of each size step, and 8999/9000 for small counts. */
function byteCounts(packets: number): number[] {
  if (packets === 0) return [0];
  const out = AVG.map((a) => a * packets);
  out.push(AVG[10]! * packets + packets - 1); // bytes / packets truncates
  if (packets < 4) out.push(8999, 9000);
  return out;
}

interface Case { line: string; model: () => string }

function updateCases(speeds: Map<string, number>): Case[] {
  const cases: Case[] = [];
  for (const [name, code] of speeds) {
    const slow = slowItrLink(LINE_RATE[name]!);
    for (const vitr of VECTOR_ITR) for (const next of NEXT) for (const packets of PACKETS) for (const bytes of byteCounts(packets)) for (const citr of CONTAINER_ITR) {
      cases.push({
        line: `U ${J} ${vitr} ${code} ${next} ${packets} ${bytes} ${citr}`,
        model: () => {
          const rc: RingContainer = { itr: citr, total_packets: packets, total_bytes: bytes, next_update: next };
          ixgbe_update_itr(vitr, rc, J, slow);
          return `U ${rc.itr} ${rc.next_update} ${rc.total_packets} ${rc.total_bytes}`;
        },
      });
    }
  }
  return cases;
}

function setCases(speeds: Map<string, number>): Case[] {
  const sides: [number, number, number, number][] = [];
  for (const next of [99, 100]) for (const packets of [0, 1, 3, 30, 60, 100, 300]) for (const bytes of [packets * 98, packets * 1514]) for (const itr of [126 | 0x80, 60]) sides.push([next, packets, bytes, itr]);
  const cases: Case[] = [];
  for (const [name, code] of speeds) {
    if (name !== 'IXGBE_LINK_SPEED_10GB_FULL' && name !== 'IXGBE_LINK_SPEED_1GB_FULL') continue;
    const slow = slowItrLink(LINE_RATE[name]!);
    for (const vitr of [40, 200, 472]) for (const tx of sides) for (const rx of sides) {
      cases.push({
        line: `S ${J} ${vitr} ${code} ${tx.join(' ')} ${rx.join(' ')}`,
        model: () => {
          const t: RingContainer = { next_update: tx[0], total_packets: tx[1], total_bytes: tx[2], itr: tx[3] };
          const r: RingContainer = { next_update: rx[0], total_packets: rx[1], total_bytes: rx[2], itr: rx[3] };
          const v = ixgbe_set_itr(vitr, t, r, J, slow);
          return `S ${v} ${v !== vitr ? 1 : 0} ${t.itr} ${r.itr}`;
        },
      });
    }
  }
  return cases;
}

describe.skipIf(skip)('ixgbe adaptive interrupt moderation against the kernel\'s own code (gcc + linux-source)', () => {
  let dir = '';
  let exe: string;
  let speeds: Map<string, number>;
  beforeAll(() => {
    ({ dir, exe, speeds } = buildHarness());
  }, 120_000);
  afterAll(() => { if (dir !== '') rmSync(dir, { recursive: true, force: true }); });

  function runCases(cases: Case[]): string[] {
    return runHarness(exe, cases.map((c) => c.line)).filter((l) => !l.startsWith('C '));
  }

  /** Runs the cases through the kernel's code and the model; returns the kernel's lines and the first differences. */
  function compare(cases: Case[]): { out: string[]; diffs: string[] } {
    const out = runCases(cases);
    expect(out.length).toBe(cases.length);
    const diffs: string[] = [];
    for (let i = 0; i < cases.length && diffs.length < 10; i++) {
      const m = cases[i]!.model();
      if (m !== out[i]) diffs.push(`${cases[i]!.line}: kernel ${out[i]}, model ${m}`);
    }
    return { out, diffs };
  }

  it('has the kernel\'s constants', () => {
    const consts = Object.fromEntries(runHarness(exe, []).filter((l) => l.startsWith('C ')).map((l) => l.split(' ').slice(1)).map(([k, v]) => [k, Number(v)]));
    expect(consts).toEqual({
      IXGBE_ITR_ADAPTIVE_MIN_INC: ITR_ADAPTIVE_MIN_INC, IXGBE_ITR_ADAPTIVE_MIN_USECS: ITR_ADAPTIVE_MIN_USECS,
      IXGBE_ITR_ADAPTIVE_MAX_USECS: ITR_ADAPTIVE_MAX_USECS, IXGBE_ITR_ADAPTIVE_LATENCY: ITR_ADAPTIVE_LATENCY,
      IXGBE_20K_ITR, IXGBE_MAX_EITR,
    });
  });

  it('ixgbe_update_itr: the same delay, flag and next update over the grid, at every link speed', () => {
    const cases = updateCases(speeds);
    expect(cases.length).toBeGreaterThan(100_000);
    expect(compare(cases).diffs).toEqual([]);
  });

  it('ixgbe_set_itr: the same vector ITR (and an EITR write exactly when it changes), 10 GbE and 1 GbE', () => {
    const { out, diffs } = compare(setCases(speeds));
    expect(diffs).toEqual([]);
    // the grid reaches every kind of outcome: no change, bulk, latency-mode and stale resets
    expect(new Set(out.map((l) => l.split(' ')[2])).size).toBe(2);
    expect(new Set(out.map((l) => Number(l.split(' ')[1]))).size).toBeGreaterThan(10);
  });
});
