#!/usr/bin/env node
/**
 * `npm start` — Jupyter on 127.0.0.1 with the project kernel, serving notebooks/.
 *
 * Runs classic `jupyter notebook` when installed (Debian's notebook 6), else `jupyter server`
 * (which serves JupyterLab if that is installed), with JUPYTER_PATH=<project>/jupyter so the
 * "Xen NetLab (TypeScript)" kernel is listed. Prints the URL with its token. Extra arguments
 * are passed to Jupyter (e.g. `npm start -- --port=8899`). Ctrl-C stops it.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { findExecutable, INSTALL_HINT, jupyterEnv, projectRoot } from './server';

function main(): void {
  const root = projectRoot();
  const jupyter = findExecutable(process.env.JUPYTER ?? 'jupyter');
  if (!jupyter) {
    console.error(`start: ${INSTALL_HINT}`);
    process.exit(2);
  }
  const dir = dirname(jupyter);
  const has = (sub: string) => existsSync(join(dir, `jupyter-${sub}`)) || findExecutable(`jupyter-${sub}`) !== null;
  const app = has('notebook') ? 'notebook' : has('server') ? 'server' : null;
  if (!app) {
    console.error(`start: ${jupyter} has neither "notebook" nor "server". ${INSTALL_HINT}`);
    process.exit(2);
  }
  const A = app === 'notebook' ? 'NotebookApp' : 'ServerApp';
  const token = process.env.JUPYTER_TOKEN ?? randomBytes(24).toString('hex');
  const extra = process.argv.slice(2);
  const args = [
    app,
    `--${A}.ip=127.0.0.1`,
    `--${A}.token=${token}`,
    app === 'notebook' ? `--NotebookApp.notebook_dir=${join(root, 'notebooks')}` : `--ServerApp.root_dir=${join(root, 'notebooks')}`,
    ...(process.getuid?.() === 0 ? ['--allow-root'] : []),
    ...(extra.some((a) => a.includes('open_browser') || a === '--no-browser') ? [] : [`--${A}.open_browser=False`]),
    ...extra,
  ];
  const child = spawn(jupyter, args, { cwd: join(root, 'notebooks'), env: jupyterEnv(root), stdio: ['inherit', 'pipe', 'pipe'] });
  let announced = false;
  const scan = (chunk: Buffer, out: NodeJS.WriteStream) => {
    const text = chunk.toString();
    out.write(text);
    const m = /(http:\/\/127\.0\.0\.1:\d+\/\S*)/.exec(text);
    if (m && !announced) {
      announced = true;
      const url = new URL(m[1]);
      url.search = `?token=${token}`;
      process.stdout.write(
        `\n  Xen NetLab is running. Open:\n\n      ${url.toString()}\n\n  Choose the "Xen NetLab (TypeScript)" kernel; start with 00-getting-started.ipynb. Ctrl-C stops.\n\n`,
      );
    }
  };
  child.stdout.on('data', (c: Buffer) => scan(c, process.stdout));
  child.stderr.on('data', (c: Buffer) => scan(c, process.stderr));
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 0 : 1)));
}

main();
