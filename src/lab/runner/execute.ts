/**
 * Runs one notebook in a fresh kernel, cell by cell, and returns the executed notebook.
 *
 * Per notebook: start a session (`POST /api/sessions`, path relative to the server root, so
 * the kernel's cwd is the notebook's folder), wait for `kernel_info`, execute every code cell,
 * shut the session down. Per cell:
 *
 *   execute_request ──▶ iopub: stream (merged), display_data, update_display_data (replaces
 *                      the output with that display_id, in any earlier cell), execute_result,
 *                      error, clear_output
 *                 ◀── execute_reply: status ok | error | abort, execution_count
 *
 * tslab specifics (see reference/jupyter-stack.md): errors arrive as stderr text plus a reply
 * with status 'error' and no ename/evalue, so the reply status decides failure. After a failed
 * cell tslab answers `abort` to anything sent within 200 ms, so the runner waits 250 ms before
 * the next cell. A cell tagged `raises-exception` may fail without failing the notebook. A
 * cell that runs past the time limit is interrupted (SIGINT via the server); if no reply comes
 * within a few seconds the kernel is restarted and the rest of the notebook is skipped.
 */
import { basename, isAbsolute, relative, resolve } from 'node:path';
import { KernelConnection, KernelSpecAPI, SessionAPI, type KernelMessage } from '@jupyterlab/services';
import { cellSource, cellTags, readNotebook, RunnerInputError, type NbCell, type NbOutput, type Notebook } from './notebook';
import type { JupyterServer } from './server';

export interface ExecuteOptions {
  /** Kernel to use; default the notebook's metadata.kernelspec.name. */
  kernelName?: string;
  /** Per-cell time limit in ms; default 120 000. */
  cellTimeoutMs?: number;
  /** Time allowed for the kernel to start and answer kernel_info; default 60 000. */
  kernelStartTimeoutMs?: number;
  /** While waiting for that answer, kernel_info is asked again this often (ms); default 5 000. */
  kernelInfoRetryMs?: number;
  /** Time allowed for a reply after an interrupt before restarting; default 5 000. */
  interruptGraceMs?: number;
  /** Keep executing after an unexpected error (default false: stop at the first). */
  continueOnError?: boolean;
}

export interface CellRun {
  /** Index of the cell in the notebook (all cells, not just code). */
  index: number;
  status: 'ok' | 'error' | 'abort' | 'timeout' | 'skipped';
  /** True when the cell is tagged raises-exception. */
  expectError: boolean;
  executionCount: number | null;
  /** Wall time of the cell, ms. */
  ms: number;
}

export interface NotebookRun {
  path: string;
  ok: boolean;
  /** Human-readable reasons for failure (empty when ok). */
  failures: string[];
  cells: CellRun[];
  /** The executed notebook (outputs and execution counts filled in). */
  notebook: Notebook;
  /** Wall time from session start to shutdown, ms. */
  ms: number;
  /** Kernel start (session POST to kernel_info reply), ms. */
  kernelStartMs: number;
}

/** Milliseconds of wall time. The runner is tooling, not model code: it may read the clock. */
function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

function sleep(ms: number): Promise<void> {
  return new Promise((ok) => setTimeout(ok, ms));
}

/** Resolves to the promise's value, or to `timedOut` after `ms` (timer cleared either way). */
async function within<T, U>(p: Promise<T>, ms: number, timedOut: U): Promise<T | U> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<U>((ok) => {
    timer = setTimeout(() => ok(timedOut), ms);
    timer.unref();
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

/** What waitForKernelInfo needs of a kernel connection. */
export interface KernelInfoSource<T> {
  readonly info: Promise<T>;
  requestKernelInfo(): Promise<unknown>;
}

/**
 * The kernel's first kernel_info reply, or null after `ms`. Asks again every `retryMs`, as
 * nbclient's wait_for_ready does: services sends one kernel_info_request when its websocket
 * connects, and a kernel that never answers that one (seen once in a full test run on a loaded
 * machine: no reply within 60 s) would otherwise never be asked again.
 */
export async function waitForKernelInfo<T>(kernel: KernelInfoSource<T>, ms: number, retryMs: number): Promise<T | null> {
  const retry = setInterval(() => {
    kernel.requestKernelInfo().catch(() => undefined);
  }, retryMs);
  retry.unref();
  try {
    return await within(kernel.info, ms, null);
  } finally {
    clearInterval(retry);
  }
}

/** Names of the kernels a server offers, fetched once per server. */
const specCache = new WeakMap<JupyterServer, Promise<string[]>>();
export function kernelNames(server: JupyterServer): Promise<string[]> {
  let p = specCache.get(server);
  if (!p) {
    p = KernelSpecAPI.getSpecs(server.settings).then((s) => Object.keys(s.kernelspecs).sort());
    specCache.set(server, p);
  }
  return p;
}

/** Which kernel a notebook asks for. */
export function notebookKernel(nb: Notebook, path: string, override?: string): string {
  const name = override ?? nb.metadata.kernelspec?.name;
  if (typeof name !== 'string' || name === '') {
    throw new RunnerInputError(`${path}: metadata.kernelspec.name is missing; set the notebook's kernel (e.g. xen-netlab) or pass --kernel`);
  }
  return name;
}

/** The session path of a notebook: relative to the server root, so the kernel starts in its folder. */
async function sessionPath(server: JupyterServer, abs: string): Promise<string> {
  if (server.root !== null) {
    const rel = relative(server.root, abs);
    if (!rel.startsWith('..') && !isAbsolute(rel)) return rel.split('\\').join('/');
    return basename(abs); // outside the root: run with the root as cwd
  }
  // External server: find the suffix of the path the server knows (e.g. npm start serves notebooks/).
  const parts = abs.split('/').filter(Boolean);
  for (let i = 0; i < parts.length; i++) {
    const candidate = parts.slice(i).join('/');
    try {
      const res = await fetch(`${server.url}api/contents/${candidate.split('/').map(encodeURIComponent).join('/')}?content=0`, {
        headers: { Authorization: `token ${server.token}` },
      });
      await res.arrayBuffer();
      if (res.ok) return candidate;
    } catch {
      /* try a shorter suffix */
    }
  }
  return basename(abs);
}

type IOPubMsg = KernelMessage.IIOPubMessage;

/**
 * Collects a notebook's outputs. One instance per notebook run: display ids live across cells.
 */
class OutputCollector {
  /** display_id → every output shown with that id (all are updated together). */
  private readonly displays = new Map<string, Extract<NbOutput, { output_type: 'display_data' }>[]>();

  /** Returns an iopub handler that fills `outputs` for one cell. */
  handler(outputs: NbOutput[]): (msg: IOPubMsg) => void {
    let clearPending = false;
    const add = (o: NbOutput) => {
      if (clearPending) {
        outputs.length = 0;
        clearPending = false;
      }
      const last = outputs[outputs.length - 1];
      if (o.output_type === 'stream' && last?.output_type === 'stream' && last.name === o.name) {
        last.text += o.text; // nbformat wants consecutive stream texts merged
      } else {
        outputs.push(o);
      }
    };
    return (msg) => {
      const c = msg.content as Record<string, unknown>;
      switch (msg.header.msg_type) {
        case 'stream':
          add({ output_type: 'stream', name: c.name === 'stderr' ? 'stderr' : 'stdout', text: String(c.text ?? '') });
          break;
        case 'display_data': {
          const o = { output_type: 'display_data' as const, data: (c.data ?? {}) as Record<string, unknown>, metadata: (c.metadata ?? {}) as Record<string, unknown> };
          add(o);
          const id = (c.transient as { display_id?: string } | undefined)?.display_id;
          if (id) {
            const list = this.displays.get(id) ?? [];
            list.push(o);
            this.displays.set(id, list);
          }
          break;
        }
        case 'update_display_data': {
          const id = (c.transient as { display_id?: string } | undefined)?.display_id;
          for (const o of (id && this.displays.get(id)) || []) {
            o.data = (c.data ?? {}) as Record<string, unknown>;
            o.metadata = (c.metadata ?? {}) as Record<string, unknown>;
          }
          break;
        }
        case 'execute_result':
          add({
            output_type: 'execute_result',
            data: (c.data ?? {}) as Record<string, unknown>,
            metadata: (c.metadata ?? {}) as Record<string, unknown>,
            execution_count: typeof c.execution_count === 'number' ? c.execution_count : null,
          });
          break;
        case 'error':
          add({
            output_type: 'error',
            ename: String(c.ename ?? 'Error'),
            evalue: String(c.evalue ?? ''),
            traceback: Array.isArray(c.traceback) ? c.traceback.map(String) : [],
          });
          break;
        case 'clear_output':
          if (c.wait) clearPending = true;
          else outputs.length = 0;
          break;
        default:
          break; // status, execute_input, comm_*: not stored
      }
    };
  }
}

/** First lines of a cell's stderr (what tslab prints for a failure). */
function stderrOf(outputs: NbOutput[]): string {
  const text = outputs
    .map((o) => (o.output_type === 'stream' && o.name === 'stderr' ? o.text : o.output_type === 'error' ? `${o.ename}: ${o.evalue}` : ''))
    .join('')
    .trim();
  const lines = text.split('\n');
  return lines.length > 8 ? `${lines.slice(0, 8).join('\n')}\n…` : text;
}

/**
 * Executes a notebook on `server` and returns the executed notebook and per-cell results.
 * Never leaves its kernel running. Bad input (missing file, invalid JSON, unknown kernel)
 * throws RunnerInputError before any kernel starts.
 */
export async function executeNotebook(server: JupyterServer, path: string, options: ExecuteOptions = {}): Promise<NotebookRun> {
  const abs = resolve(path);
  const source = readNotebook(path);
  const kernelName = notebookKernel(source, path, options.kernelName);
  const names = await kernelNames(server);
  if (!names.includes(kernelName)) {
    throw new RunnerInputError(`${path}: unknown kernel ${JSON.stringify(kernelName)}; this server offers: ${names.join(', ') || '(none)'}`);
  }
  const cellTimeoutMs = options.cellTimeoutMs ?? 120_000;
  const nb: Notebook = JSON.parse(JSON.stringify(source)) as Notebook;
  const failures: string[] = [];
  const cells: CellRun[] = [];
  const collector = new OutputCollector();
  const t0 = nowMs();

  const model = await SessionAPI.startSession(
    { path: await sessionPath(server, abs), type: 'notebook', name: basename(abs), kernel: { name: kernelName } },
    server.settings,
  );
  if (!model.kernel) throw new Error(`${path}: the server started a session without a kernel`);
  const kernel = new KernelConnection({ model: model.kernel, serverSettings: server.settings, handleComms: false });
  let kernelStartMs = 0;
  try {
    const info = await waitForKernelInfo(kernel, options.kernelStartTimeoutMs ?? 60_000, options.kernelInfoRetryMs ?? 5_000);
    if (!info) throw new Error(`kernel ${kernelName} did not start within ${(options.kernelStartTimeoutMs ?? 60_000) / 1000} s`);
    kernelStartMs = nowMs() - t0;
    nb.metadata.language_info = info.language_info as unknown as Record<string, unknown>;
    if (!nb.metadata.kernelspec) nb.metadata.kernelspec = { name: kernelName, display_name: kernelName };

    let stopped = false;
    for (let index = 0; index < nb.cells.length; index++) {
      const cell: NbCell = nb.cells[index];
      if (cell.cell_type !== 'code') continue;
      const expectError = cellTags(cell).includes('raises-exception');
      const outputs: NbOutput[] = [];
      cell.outputs = outputs;
      cell.execution_count = null;
      const code = cellSource(cell);
      if (stopped) {
        cells.push({ index, status: 'skipped', expectError, executionCount: null, ms: 0 });
        continue;
      }
      if (code.trim() === '') {
        cells.push({ index, status: 'ok', expectError, executionCount: null, ms: 0 });
        continue;
      }
      const c0 = nowMs();
      const future = kernel.requestExecute({ code, stop_on_error: false, store_history: true, allow_stdin: false, silent: false });
      future.onIOPub = collector.handler(outputs);
      const done = future.done.then(
        (reply) => reply as KernelMessage.IExecuteReplyMsg,
        () => null,
      );
      let reply = await within(done, cellTimeoutMs, 'timeout' as const);
      let status: CellRun['status'];
      if (reply === 'timeout') {
        await kernel.interrupt().catch(() => {});
        const late = await within(done, options.interruptGraceMs ?? 5_000, 'timeout' as const);
        outputs.push({
          output_type: 'error',
          ename: 'CellTimeoutError',
          evalue: `cell ${index} ran longer than ${cellTimeoutMs / 1000} s and was interrupted${late === 'timeout' ? '; the kernel did not answer and was restarted' : ''}`,
          traceback: [],
        });
        if (late === 'timeout') {
          future.dispose();
          await kernel.restart().catch(() => {});
          stopped = true; // state is gone: the remaining cells cannot run meaningfully
        }
        reply = late === 'timeout' ? null : late;
        status = 'timeout';
      } else if (reply === null) {
        status = 'abort'; // future cancelled (kernel died or restarted)
      } else {
        status = reply.content.status === 'ok' ? 'ok' : reply.content.status === 'abort' ? 'abort' : 'error';
      }
      const executionCount = reply && typeof reply.content.execution_count === 'number' ? reply.content.execution_count : null;
      cell.execution_count = executionCount;
      for (const o of outputs) if (o.output_type === 'execute_result') o.execution_count = executionCount;
      cells.push({ index, status, expectError, executionCount, ms: nowMs() - c0 });

      if (status !== 'ok') {
        const unexpected = !(status === 'error' && expectError);
        if (unexpected) {
          const why = status === 'timeout' ? 'timed out' : status === 'abort' ? 'was aborted by the kernel' : 'failed';
          const err = stderrOf(outputs);
          failures.push(`cell ${index} ${why}${err ? `:\n${err.replace(/^/gm, '  ')}` : ''}`);
          if (!options.continueOnError) stopped = true;
        }
        // tslab rejects requests for 200 ms after a failure (execQueue.reset(200)).
        await sleep(250);
      }
    }
  } finally {
    await SessionAPI.shutdownSession(model.id, server.settings).catch(() => {});
    kernel.dispose();
  }
  return { path, ok: failures.length === 0, failures, cells, notebook: nb, ms: nowMs() - t0, kernelStartMs };
}

/** Where `runNotebooks` writes an executed notebook: `<outDir>/<path relative to notebooks/ or the root>`. */
export function outputPath(outDir: string, root: string, path: string): string {
  const abs = resolve(path);
  for (const base of [resolve(root, 'notebooks'), resolve(root)]) {
    const rel = relative(base, abs);
    if (!rel.startsWith('..') && !isAbsolute(rel)) return resolve(outDir, rel);
  }
  return resolve(outDir, basename(abs));
}

