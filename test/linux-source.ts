/**
 * Kernel source as a test's ground truth: Debian's `linux-source` package holds the tree as
 * /usr/src/linux-source-<version>.tar.xz. A conformance test extracts the files it needs into a
 * cache directory (never into the repository), cuts functions out of them and compiles them with
 * gcc and a small harness of its own (test/ * /conformance/*.c), then drives the C and the model
 * with the same inputs.
 *
 * In CI (CI=true) a missing gcc or kernel tarball fails the suite; elsewhere the suite is
 * skipped with a printed reason.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const inCI = !!process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0';

/** The newest /usr/src/linux-source-*.tar.xz, or null. */
export function kernelTarball(): string | null {
  if (!existsSync('/usr/src')) return null;
  const t = readdirSync('/usr/src').filter((f) => /^linux-source-[\d.]+\.tar\.xz$/.test(f)).sort();
  return t.length === 0 ? null : join('/usr/src', t[t.length - 1]!);
}

/** Why the kernel's code cannot be compiled here (gcc or the tarball missing), or null. */
export function linuxSourceMissing(): string | null {
  const gcc = spawnSync('gcc', ['--version'], { encoding: 'utf8' });
  if (gcc.error || gcc.status !== 0) return 'gcc is not installed (apt-get install gcc)';
  if (kernelTarball() === null) return 'no /usr/src/linux-source-*.tar.xz (apt-get install linux-source)';
  return null;
}

/**
 * Whether a suite needing the kernel's code is skipped (outside CI, with the reason printed as
 * `[label] SKIPPED …`). In CI the suite runs and its set-up fails with the reason.
 */
export function skipWithoutLinuxSource(label: string): boolean {
  const missing = linuxSourceMissing();
  if (missing !== null && !inCI) {
    console.warn(`[${label}] SKIPPED outside CI: ${missing}`);
    return true;
  }
  return false;
}

/** The text of `files` (paths inside the kernel tree), extracted once per tarball into a cache directory. */
export function linuxSources(files: string[]): string[] {
  const missing = linuxSourceMissing();
  if (missing !== null) throw new Error(`the kernel's code is needed: ${missing}`);
  const tarball = kernelTarball()!;
  const st = statSync(tarball);
  const top = tarball.slice('/usr/src/'.length, -'.tar.xz'.length);
  const dir = join(tmpdir(), `xen-netlab-${top}-${st.size}-${Math.floor(st.mtimeMs)}`);
  const at = (f: string) => join(dir, top, f);
  const absent = files.filter((f) => !existsSync(at(f)));
  if (absent.length > 0) {
    mkdirSync(dir, { recursive: true });
    const tar = spawnSync('tar', ['-xJf', tarball, '-C', dir, ...absent.map((f) => `${top}/${f}`)], { encoding: 'utf8' });
    if (tar.status !== 0) throw new Error(`tar could not extract ${absent.join(', ')} from ${tarball}:\n${tar.stderr}`);
  }
  return files.map((f) => readFileSync(at(f), 'utf8'));
}

/** The text from `start` to the brace closing the first block after it, comments skipped over. */
export function cBlock(src: string, start: number, what: string): string {
  if (start < 0) throw new Error(`${what} not found in the kernel source`);
  let depth = 0;
  for (let i = src.indexOf('{', start); i < src.length; i++) {
    if (src.startsWith('/*', i)) { i = src.indexOf('*/', i) + 1; continue; }
    if (src.startsWith('//', i)) { i = src.indexOf('\n', i); continue; }
    const c = src[i];
    if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return src.slice(start, i + 1);
  }
  throw new Error(`${what}: no closing brace`);
}

/** Compiles `sources` with gcc (-std=gnu11 -O1 -Wall -Werror) into `exe`; throws with gcc's errors. */
export function compileC(exe: string, includeDir: string, sources: string[]): void {
  const cc = spawnSync('gcc', ['-std=gnu11', '-O1', '-Wall', '-Werror', '-I', includeDir, ...sources, '-o', exe], { encoding: 'utf8' });
  if (cc.status !== 0) throw new Error(`gcc failed:\n${cc.stderr}`);
}

/** Runs a harness with `lines` on its stdin; returns its output lines (throws if it exits non-zero). */
export function runHarness(exe: string, lines: string[]): string[] {
  const run = spawnSync(exe, [], { input: lines.join('\n') + '\n', encoding: 'utf8', maxBuffer: 256 << 20 });
  if (run.status !== 0) throw new Error(`${exe} exited with ${run.status}:\n${run.stderr}`);
  return run.stdout.split('\n').filter((l) => l !== '');
}
