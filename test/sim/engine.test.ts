import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ENGINE_FLAGS } from '../../src/sim/engine';

const ROOT = join(__dirname, '..', '..');

/** Runs `script` in a fresh node (the built package, as a notebook kernel loads it). */
function node(script: string, env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: r.status, stdout: r.stdout.trim(), stderr: r.stderr.trim() };
}

describe('the engine flags (src/sim/engine.ts)', () => {
  it('every flag is one this Node knows (an unknown one would print "unrecognized flag" into every notebook)', () => {
    expect(ENGINE_FLAGS.length).toBeGreaterThan(0);
    const r = spawnSync(process.execPath, [...ENGINE_FLAGS, '-e', 'process.stdout.write("ran")'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('ran');
  });

  it('loading the package sets them once, silently; XEN_NETLAB_ENGINE_DEFAULTS=1 keeps V8 defaults', () => {
    const script = "require('./dist/index.js'); const e = require('./dist/sim/engine.js'); process.stdout.write(String(e.tuneEngine()))";
    expect(node(script)).toEqual({ status: 0, stdout: 'true', stderr: '' });
    expect(node(script, { XEN_NETLAB_ENGINE_DEFAULTS: '1' })).toEqual({ status: 0, stdout: 'false', stderr: '' });
  });
});
