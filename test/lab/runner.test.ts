/**
 * The notebook runner against a real Jupyter Server and real tslab kernels.
 * Fixtures live in test/lab/fixtures/ (inside the project, so kernels resolve 'xen-netlab').
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KernelAPI } from '@jupyterlab/services';
import {
  connectJupyterServer,
  executeNotebook,
  quietServices,
  readNotebook,
  RunnerInputError,
  startJupyterServer,
  type JupyterServer,
  type NbOutput,
} from '../../src/lab/runner';
import { parseArgs } from '../../src/lab/runner/cli';
import { waitForKernelInfo } from '../../src/lab/runner/execute';
import { leftovers, nbformatErrors, nbformatPython } from './helpers';

const ROOT = resolve(__dirname, '../..');
const FIX = 'test/lab/fixtures';
const CLI = join(ROOT, 'dist/lab/runner/cli.js');

/** Runs the built CLI with a marker in its environment; resolves with its exit and output. */
function runCli(args: string[], mark: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((ok) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, XEN_NETLAB_TEST_MARK: mark } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b) => (stdout += b));
    child.stderr.on('data', (b) => (stderr += b));
    child.on('exit', (code) => ok({ code, stdout, stderr }));
  });
}

function text(outputs: NbOutput[] | undefined, name: 'stdout' | 'stderr'): string {
  return (outputs ?? []).map((o) => (o.output_type === 'stream' && o.name === name ? o.text : '')).join('');
}

describe('runner CLI: bad input gives a clear message, exit 2, and leaves no process behind', () => {
  it('missing file', async () => {
    const mark = randomUUID();
    const r = await runCli([`${FIX}/does-not-exist.ipynb`], mark);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${FIX}/does-not-exist.ipynb: no such file`);
    expect(await leftovers(mark)).toEqual([]);
  });

  it('invalid notebook JSON', async () => {
    const mark = randomUUID();
    const r = await runCli([`${FIX}/invalid.ipynb`], mark);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/invalid\.ipynb: not valid JSON \(.*\); is it a Jupyter notebook\?/);
    expect(await leftovers(mark)).toEqual([]);
  });

  it('unknown kernel name (the server was started, and is gone afterwards)', async () => {
    const mark = randomUUID();
    const r = await runCli([`${FIX}/unknown-kernel.ipynb`], mark);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown-kernel\.ipynb: unknown kernel "no-such-kernel"; this server offers: .*xen-netlab/);
    expect(await leftovers(mark)).toEqual([]);
  }, 60_000);

  it('--port that is in use', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((ok) => blocker.listen(0, '127.0.0.1', ok));
    const port = (blocker.address() as { port: number }).port;
    try {
      const mark = randomUUID();
      const r = await runCli(['--port', String(port), `${FIX}/ok.ipynb`], mark);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`port ${port} on 127.0.0.1 is in use`);
      expect(await leftovers(mark)).toEqual([]);
    } finally {
      blocker.close();
    }
  });

  it('bad flags', () => {
    expect(() => parseArgs(['--timeout'])).toThrow('--timeout needs a value');
    expect(() => parseArgs(['--timeout', '-1'])).toThrow('--timeout -1 is not allowed; use seconds from 0 to 86400');
    expect(() => parseArgs(['--timeout', '0'])).toThrow('--timeout 0 is not allowed; use seconds from 0 to 86400');
    expect(() => parseArgs(['--port', '70000'])).toThrow('--port 70000 is not allowed; use an integer from 1 to 65535');
    expect(() => parseArgs(['--frobnicate'])).toThrow('unknown option --frobnicate (see --help)');
    expect(parseArgs([]).paths).toEqual(['notebooks']);
  });
});

describe('runner CLI: a passing and a failing notebook', () => {
  it('prints a line per notebook and "1 passed, 1 failed", exits 1, writes valid executed notebooks', async () => {
    const out = mkdtempSync(join(tmpdir(), 'labs-out-'));
    const mark = randomUUID();
    try {
      const r = await runCli(['--out', out, `${FIX}/pass.ipynb`, `${FIX}/fails.ipynb`], mark);
      expect(r.code).toBe(1);
      const lines = r.stdout.trim().split('\n');
      expect(lines[0]).toMatch(/^ok {3}test\/lab\/fixtures\/pass\.ipynb {2}\d+\.\d s \(kernel \d+\.\d s, 1 code cells\)/);
      expect(lines[1]).toMatch(/^FAIL test\/lab\/fixtures\/fails\.ipynb/);
      expect(r.stdout).toContain('cell 1 failed:');
      expect(r.stdout).toContain('Error: boom in cell 1');
      expect(lines.at(-1)).toBe('1 passed, 1 failed');
      for (const f of ['pass.ipynb', 'fails.ipynb']) {
        const file = join(out, FIX, f);
        expect(existsSync(file)).toBe(true);
        const py = nbformatPython();
        if (py) expect(nbformatErrors(py, file)).toBe('');
      }
      expect(await leftovers(mark)).toEqual([]);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('executeNotebook() on a private server', () => {
  let server: JupyterServer;
  beforeAll(async () => {
    server = await quietServices(() => startJupyterServer());
  });
  afterAll(async () => {
    await server?.stop();
  });
  const run = (nb: string, opts = {}) => quietServices(() => executeNotebook(server, `${FIX}/${nb}`, opts));

  it('collects streams (merged), displays, in-place updates and an expected error, with execution counts', async () => {
    const r = await run('ok.ipynb');
    expect(r.failures).toEqual([]);
    expect(r.ok).toBe(true);
    const code = r.notebook.cells.filter((c) => c.cell_type === 'code');
    expect(code.map((c) => c.execution_count)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(code[0].outputs).toEqual([{ output_type: 'stream', name: 'stdout', text: 'hello\nworld\n' }]);
    const chartOut = code[1].outputs![0] as Extract<NbOutput, { output_type: 'display_data' }>;
    expect(Object.keys(chartOut.data).sort()).toEqual(['application/vnd.vegalite.v5+json', 'image/png', 'text/plain']);
    expect(typeof chartOut.data['application/vnd.vegalite.v5+json']).toBe('object');
    expect(chartOut.metadata['image/png']).toMatchObject({ width: expect.any(Number), height: expect.any(Number) });
    expect(Object.keys((code[2].outputs![0] as any).data).sort()).toEqual(['text/html', 'text/plain']);
    // progress: one output, holding the final state after update_display_data messages.
    expect(code[3].outputs).toHaveLength(1);
    expect((code[3].outputs![0] as any).data['text/plain']).toBe('steps: 4/4 (100%) done');
    // raises-exception: tslab reports on stderr with status error; the kernel stays usable.
    expect(text(code[4].outputs, 'stderr')).toContain('Error: expected failure');
    expect(r.cells.filter((c) => c.status === 'error').map((c) => c.expectError)).toEqual([true]);
    expect(text(code[5].outputs, 'stdout')).toBe('after the error, rows has 4 rows\n2\n');
    // The library's types reach tslab: @ts-expect-error on a bad field name is satisfied.
    expect(code[6].outputs).toEqual([{ output_type: 'stream', name: 'stdout', text: 'function\n' }]);
    expect(r.notebook.metadata.language_info).toMatchObject({ name: 'typescript' });
    expect(await KernelAPI.listRunning(server.settings)).toEqual([]);
  }, 60_000);

  it('stops at the first unexpected error and reports the cell and its message', async () => {
    const r = await run('fails.ipynb');
    expect(r.ok).toBe(false);
    expect(r.failures).toHaveLength(1);
    expect(r.failures[0]).toMatch(/^cell 1 failed:\n[\s\S]*Error: boom in cell 1/);
    expect(r.cells.map((c) => c.status)).toEqual(['ok', 'error', 'skipped']);
  }, 60_000);

  it('interrupts a cell that runs past the limit; the kernel is usable for the next cell', async () => {
    const r = await run('slow.ipynb', { cellTimeoutMs: 1000, continueOnError: true });
    expect(r.cells.map((c) => c.status)).toEqual(['ok', 'timeout', 'ok']);
    const cells = r.notebook.cells;
    expect(cells[1].outputs!.at(-1)).toMatchObject({ output_type: 'error', ename: 'CellTimeoutError' });
    expect(text(cells[2].outputs, 'stdout')).toBe('kernel alive\n');
    expect(r.failures[0]).toMatch(/^cell 1 timed out/);
  }, 60_000);

  it('restarts a kernel that ignores the interrupt, and skips the rest', async () => {
    const r = await run('stuck.ipynb', { cellTimeoutMs: 1000, interruptGraceMs: 1000 });
    expect(r.cells.map((c) => c.status)).toEqual(['ok', 'timeout', 'skipped']);
    expect((r.notebook.cells[1].outputs!.at(-1) as any).evalue).toContain('the kernel did not answer and was restarted');
    expect(await KernelAPI.listRunning(server.settings)).toEqual([]);
  }, 60_000);

  it('runs against an already running server found by URL and token', async () => {
    const external = await connectJupyterServer(server.url, server.token);
    const r = await quietServices(() => executeNotebook(external, `${FIX}/pass.ipynb`));
    expect(r.ok).toBe(true);
    expect(text(r.notebook.cells[1].outputs, 'stdout')).toBe('answer 42\n');
    await expect(connectJupyterServer(server.url, 'wrong-token')).rejects.toThrow(RunnerInputError);
  }, 60_000);

  it('refuses an unknown kernel before starting one', async () => {
    await expect(run('unknown-kernel.ipynb')).rejects.toThrow(/unknown kernel "no-such-kernel"/);
    expect(readNotebook(`${FIX}/ok.ipynb`).metadata.kernelspec?.name).toBe('xen-netlab');
  });
});

describe('waitForKernelInfo (no server)', () => {
  /** A connection whose kernel answers only the `answerAt`-th kernel_info_request. */
  function fakeKernel(answerAt: number): { info: Promise<string>; requestKernelInfo(): Promise<unknown>; asked: number } {
    let resolve!: (v: string) => void;
    const k = {
      info: new Promise<string>((ok) => { resolve = ok; }),
      asked: 1, // services' own request when the websocket connected, never answered
      requestKernelInfo(): Promise<unknown> {
        k.asked++;
        if (k.asked === answerAt) resolve('reply');
        return Promise.resolve(undefined);
      },
    };
    return k;
  }

  it('asks again while no reply has come, and returns the first reply', async () => {
    const k = fakeKernel(3);
    expect(await waitForKernelInfo(k, 5_000, 20)).toBe('reply');
    expect(k.asked).toBe(3);
  });

  it('gives up with null after the time limit and stops asking', async () => {
    const k = fakeKernel(Infinity);
    expect(await waitForKernelInfo(k, 120, 20)).toBeNull();
    const asked = k.asked;
    expect(asked).toBeGreaterThanOrEqual(3);
    await new Promise((ok) => setTimeout(ok, 80));
    expect(k.asked).toBe(asked);
  });
});

