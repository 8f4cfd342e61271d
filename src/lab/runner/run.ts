/**
 * Runs a set of notebooks: checks every input first, starts (or connects to) a Jupyter
 * server, executes each notebook in a fresh kernel, writes the executed notebooks, prints one
 * line per notebook and a final `N passed, N failed`.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { executeNotebook, kernelNames, notebookKernel, outputPath, type ExecuteOptions, type NotebookRun } from './execute';
import { readNotebook, RunnerInputError, writeNotebook } from './notebook';
import { connectJupyterServer, projectRoot, startJupyterServer, type JupyterServer } from './server';

export interface RunOptions extends ExecuteOptions {
  /** Where executed notebooks go; default `<project>/out/labs`; null to write nothing. */
  outDir?: string | null;
  /** Use this running server instead of starting one (with `token`). */
  url?: string;
  token?: string;
  /** Port for the server we start; default a free random one. */
  port?: number;
  /** Use this server (already started or connected); it is not stopped afterwards. */
  server?: JupyterServer;
  /** Line printer; default console.log. */
  log?: (line: string) => void;
}

export interface RunSummary {
  passed: number;
  failed: number;
  results: NotebookRun[];
  /** Notebooks that could not be run at all (bad input), with the reason. */
  errors: { path: string; message: string }[];
}

/** Expands folders to the *.ipynb files directly inside them (sorted); files pass through. */
export function collectNotebooks(paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    let isDir = false;
    try {
      isDir = statSync(p).isDirectory();
    } catch {
      isDir = false; // readNotebook reports the missing file
    }
    if (isDir) {
      const found = readdirSync(p)
        .filter((f) => f.endsWith('.ipynb') && !f.startsWith('.'))
        .sort()
        .map((f) => join(p, f));
      if (found.length === 0) throw new RunnerInputError(`${p}: folder has no .ipynb notebooks`);
      out.push(...found);
    } else {
      out.push(p);
    }
  }
  return out;
}

/**
 * Silences @jupyterlab/services' console.debug chatter ("Starting WebSocket: …") while `fn`
 * runs, and its one-off reconnect warning against classic Notebook servers.
 */
export async function quietServices<T>(fn: () => Promise<T>): Promise<T> {
  const debug = console.debug;
  const warn = console.warn;
  console.debug = () => {};
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].startsWith('Connection lost, reconnecting')) return;
    warn(...args);
  };
  try {
    return await fn();
  } finally {
    console.debug = debug;
    console.warn = warn;
  }
}

function secs(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/**
 * Runs notebooks (files or folders) and reports. Bad input (missing file, invalid JSON,
 * unknown kernel, port in use) throws RunnerInputError before any kernel starts, and leaves
 * no server running.
 */
export async function runNotebooks(paths: readonly string[], options: RunOptions = {}): Promise<RunSummary> {
  const log = options.log ?? ((line: string) => console.log(line));
  if (paths.length === 0) throw new RunnerInputError('no notebooks given; pass .ipynb files or folders');
  const files = collectNotebooks(paths);
  // Check every file before starting anything.
  const parsed = files.map((f) => ({ path: f, nb: readNotebook(f) }));
  for (const { path, nb } of parsed) notebookKernel(nb, path, options.kernelName);

  return quietServices(async () => {
    const own = !options.server;
    const server =
      options.server ??
      (options.url !== undefined
        ? await connectJupyterServer(options.url, options.token ?? '')
        : await startJupyterServer({ ...(options.port !== undefined ? { port: options.port } : {}) }));
    try {
      const names = await kernelNames(server);
      for (const { path, nb } of parsed) {
        const k = notebookKernel(nb, path, options.kernelName);
        if (!names.includes(k)) throw new RunnerInputError(`${path}: unknown kernel ${JSON.stringify(k)}; this server offers: ${names.join(', ') || '(none)'}`);
      }
      const root = server.root ?? projectRoot();
      const outDir = options.outDir === undefined ? join(projectRoot(), 'out', 'labs') : options.outDir;
      const summary: RunSummary = { passed: 0, failed: 0, results: [], errors: [] };
      for (const { path } of parsed) {
        let run: NotebookRun;
        try {
          run = await executeNotebook(server, path, options);
        } catch (err) {
          summary.failed++;
          const message = (err as Error).message;
          summary.errors.push({ path, message });
          log(`FAIL ${path}  ${message}`);
          continue;
        }
        summary.results.push(run);
        let where = '';
        if (outDir !== null) {
          const out = outputPath(outDir, root, path);
          writeNotebook(out, run.notebook);
          where = `  → ${relative(process.cwd(), out) || out}`;
        }
        const codeCells = run.cells.filter((c) => c.status !== 'skipped').length;
        if (run.ok) {
          summary.passed++;
          log(`ok   ${path}  ${secs(run.ms)} (kernel ${secs(run.kernelStartMs)}, ${codeCells} code cells)${where}`);
        } else {
          summary.failed++;
          log(`FAIL ${path}  ${secs(run.ms)}${where}`);
          for (const f of run.failures) log(f.replace(/^/gm, '     '));
        }
      }
      log(`${summary.passed} passed, ${summary.failed} failed`);
      return summary;
    } finally {
      if (own) await server.stop();
    }
  });
}

