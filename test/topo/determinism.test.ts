/**
 * Determinism: a scenario with three guests (both netback designs), traffic both ways and a
 * lossy wire gives byte-identical traces for the same seed and run number — the digest is a
 * SHA-256 of the JSONL of every trace record — and a different run number (another replication
 * of the same seed) draws other losses and so another digest.
 */
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { buildXenHost } from '../../src/topo';

function scenario(seed: number, run: number, wasm = true): { digest: string; records: number; lost: number; delivered: number; memory: string } {
  const host = buildXenHost({
    seed, run,
    params: { 'link.loss_rate': 0.1, 'xen.host_memory_wasm': wasm },
    guests: [
      { name: 'a', ip: '10.0.0.11', pages: 2048 },
      { name: 'b', ip: '10.0.0.12', pages: 2048, design: 'classic' },
      { name: 'c', ip: '10.0.0.13', pages: 2048 },
    ],
  });
  if (host.hv.mem.inWasm !== wasm) throw new Error(`host memory inWasm ${host.hv.mem.inWasm}, asked for ${wasm}`);
  const hash = createHash('sha256');
  let records = 0;
  const stop = host.sim.trace.jsonl((line) => { hash.update(line); records++; });
  const ext = host.external.endpoint;
  ext.bind(9000);
  for (const g of host.guests) g.endpoint.bind(7000);
  for (let r = 0; r < 40; r++) {
    for (const g of host.guests) {
      g.endpoint.sendUdp('10.0.0.100', 9000, 200 + 30 * r);
      ext.sendUdp(g.ip, 7000, 900);
    }
    host.guest('a').endpoint.sendUdp('10.0.0.13', 7000, 300);
    if (r % 10 === 0) ext.ping('10.0.0.12', { ident: 5, seq: r });
    host.runFor(host.us(150));
  }
  host.runFor(host.ms(50));
  stop();
  const delivered = ext.socket(9000)!.packets + host.guests.reduce((n, g) => n + g.endpoint.socket(7000)!.packets, 0);
  const memory = createHash('sha256').update(host.hv.mem.bytes).digest('hex');
  return { digest: hash.digest('hex'), records, lost: host.sim.drops.total({ reason: 'wire_loss' }), delivered, memory };
}

describe('determinism of a lossy multi-guest scenario', () => {
  it('the same seed and run give the same trace digest', () => {
    const x = scenario(3, 0);
    const y = scenario(3, 0);
    expect(x.records).toBeGreaterThan(5000);
    expect(x.lost).toBeGreaterThan(0);
    expect(y).toEqual(x);
  });

  it('machine memory in a WebAssembly.Memory or an ArrayBuffer: the same trace and the same bytes in every frame', () => {
    const w = scenario(3, 0, true);
    const a = scenario(3, 0, false);
    expect(a).toEqual(w);
    expect(w.delivered).toBeGreaterThan(100);
  });

  it('another run number (or seed) draws other losses: another digest', () => {
    const x = scenario(3, 0);
    const z = scenario(3, 1);
    const w = scenario(4, 0);
    expect(z.digest).not.toBe(x.digest);
    expect(w.digest).not.toBe(x.digest);
    expect(z.lost).toBeGreaterThan(0);
  });
});
