/** Helpers for tests that run real Jupyter servers and kernels. */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** A python3 that has nbformat (Debian's python3-nbformat), or null. */
export function nbformatPython(): string | null {
  for (const py of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(py, ['-c', 'import nbformat'], { encoding: 'utf8' });
    if (r.status === 0) return py;
  }
  return null;
}

/** Validates a notebook file with the reference implementation; returns the error text or ''. */
export function nbformatErrors(python: string, file: string): string {
  const r = spawnSync(python, ['-c', 'import nbformat, sys; nbformat.validate(nbformat.read(sys.argv[1], as_version=4))', file], { encoding: 'utf8' });
  return r.status === 0 ? '' : `${r.stdout}${r.stderr}`;
}

/**
 * Processes (other than this one) whose environment contains `mark`. Children inherit the
 * environment, so this finds a server or kernel started on our behalf even after it was
 * re-parented to init.
 */
export function processesWithMark(mark: string): { pid: number; cmd: string }[] {
  const found: { pid: number; cmd: string }[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${d}/environ`, 'latin1').includes(mark)) {
        found.push({ pid: Number(d), cmd: readFileSync(`/proc/${d}/cmdline`, 'latin1').split('\0').join(' ').trim() });
      }
    } catch {
      /* exited or not ours */
    }
  }
  return found;
}

/** Waits up to `ms` for no process to carry `mark`; returns the ones left. */
export async function leftovers(mark: string, ms = 3000): Promise<{ pid: number; cmd: string }[]> {
  let left = processesWithMark(mark);
  for (let waited = 0; left.length > 0 && waited < ms; waited += 100) {
    await new Promise((r) => setTimeout(r, 100));
    left = processesWithMark(mark);
  }
  return left;
}

/** True when a Jupyter server can be started here. */
export function haveJupyter(): boolean {
  return spawnSync('jupyter', ['--version'], { encoding: 'utf8' }).status === 0;
}
