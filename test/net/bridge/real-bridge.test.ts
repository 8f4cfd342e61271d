/**
 * Conformance: the same scenarios run on a real Linux bridge (in a private network namespace, with
 * veth ports and raw sockets) and on the model; egress ports, frame lengths, delivery to br0, the
 * forwarding database, port states and ageing_time are compared step by step.
 *
 * Needs root and network namespaces. Without them the suite is skipped with the reason printed —
 * except under CI (CI=true), where that is a failure.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCENARIOS } from './scenarios';
import { ModelBridge, RealBridge, runScenario, type LogEntry } from './harness';

const NS = `xnl-br-${process.pid}-${Math.floor(Math.random() * 1e6)}`;

function probe(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not running as root';
  try {
    execFileSync('python3', ['-c', 'import socket; socket.AF_PACKET'], { stdio: 'ignore' });
  } catch {
    return 'python3 with AF_PACKET is not available';
  }
  try {
    execFileSync('ip', ['netns', 'add', NS], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    return `cannot create a network namespace: ${(e as { stderr?: Buffer }).stderr?.toString().trim() ?? String(e)}`;
  }
  return undefined;
}

const skipReason = probe();
const created = skipReason === undefined;
if (skipReason !== undefined) {
  console.warn(`real-bridge conformance SKIPPED: ${skipReason}`);
}

describe.skipIf(skipReason !== undefined && process.env.CI !== 'true')('real Linux bridge vs model', () => {
  beforeAll(() => {
    if (skipReason !== undefined) throw new Error(`CI=true but the real-bridge test cannot run: ${skipReason}`);
    const sys = (kv: string) => execFileSync('ip', ['netns', 'exec', NS, 'sysctl', '-qw', kv], { stdio: 'ignore' });
    sys('net.ipv6.conf.all.disable_ipv6=1');
    sys('net.ipv6.conf.default.disable_ipv6=1');
    sys('net.ipv4.igmp_link_local_mcast_reports=0');
  });

  const golden: Record<string, LogEntry[]> = {};

  afterAll(() => {
    if (created) execFileSync('ip', ['netns', 'del', NS], { stdio: 'ignore' });
    // XNL_UPDATE_GOLDEN=1 records what the kernel did, for the model-only replay test
    if (process.env.XNL_UPDATE_GOLDEN === '1' && Object.keys(golden).length === Object.keys(SCENARIOS).length) {
      writeFileSync(join(__dirname, 'real-bridge.golden.json'), JSON.stringify(golden, null, 1) + '\n');
    }
  });

  let stepBase = 0;
  for (const [name, steps] of Object.entries(SCENARIOS)) {
    const first = stepBase;
    stepBase += 100;
    it(`${name}: same egress ports, local delivery and FDB as the kernel`, async () => {
      const real = new RealBridge(NS);
      const model = new ModelBridge();
      real.expectStates = () => model.portStates();
      try {
        await real.setup();
        const log: LogEntry[] = [];
        const mismatches = await runScenario(steps, real, model, first, log);
        golden[name] = log;
        expect(mismatches, JSON.stringify(mismatches, null, 1)).toEqual([]);
      } finally {
        await real.teardown();
      }
    }, 30_000);
  }
});
