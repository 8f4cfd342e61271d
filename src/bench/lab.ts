/**
 * Lab platform figures, measured on a real Jupyter Server with real tslab kernels.
 *
 * - lab.kernel_start_to_first_chart: from asking the server for a new kernel to the first
 *   chart's display_data (vega-lite + PNG + text) arriving, for a cell that imports xen-netlab
 *   and shows a line chart. Baseline: from asking for a new kernel to the reply of `1 + 1`.
 * - lab.chart_rerender: in a running kernel that has already drawn a chart, a cell that changes
 *   a parameter, recomputes the rows and shows the chart again (request to reply). Baseline:
 *   the same round trip showing a one-point line chart (same cell path, minimal spec).
 *
 * Skipped (with the reason printed) in --quick mode and when Jupyter is not installed.
 */
import { KernelConnection, SessionAPI, type KernelMessage } from '@jupyterlab/services';
import { jupyterApp, projectRoot, quietServices, startJupyterServer, type JupyterServer } from '../lab/runner';
import { waitForKernelInfo } from '../lab/runner/execute';
import { wallNs, type BenchContext } from './harness';

const FIRST_CHART = `import { lineChart, show } from 'xen-netlab';
const rows = Array.from({ length: 120 }, (_, t) => ({ t, v: (t * 37) % 29 }));
show(lineChart(rows, { x: 't', y: 'v', title: 'first chart' }));`;

const rerender = (n: number) => `N = ${n};
show(lineChart(Array.from({ length: N }, (_, t) => ({ t, v: (t * 37) % 29 })), { x: 't', y: 'v', title: 'N = ' + N }));`;

const MINIMAL = `show(lineChart([{ t: 0, v: 0 }], { x: 't', y: 'v' }));`;

interface Timed {
  /** ms from the start mark to the first display_data carrying image/png (or NaN). */
  chartMs: number;
  /** ms from the start mark to the execute_reply. */
  replyMs: number;
  status: string;
}

async function execute(kernel: KernelConnection, code: string, t0: number): Promise<Timed> {
  let chartMs = NaN;
  const future = kernel.requestExecute({ code, stop_on_error: true });
  let stderr = '';
  future.onIOPub = (msg: KernelMessage.IIOPubMessage) => {
    if (msg.header.msg_type === 'display_data' && Number.isNaN(chartMs)) {
      const data = (msg.content as { data?: Record<string, unknown> }).data ?? {};
      if ('image/png' in data) chartMs = (wallNs() - t0) / 1e6;
    }
    if (msg.header.msg_type === 'stream' && (msg.content as { name?: string }).name === 'stderr') stderr += (msg.content as { text?: string }).text ?? '';
  };
  const reply = (await future.done) as KernelMessage.IExecuteReplyMsg;
  const status = reply.content.status;
  if (status !== 'ok') throw new Error(`bench cell failed (${status}):\n${stderr}\n--- cell ---\n${code}`);
  return { chartMs, replyMs: (wallNs() - t0) / 1e6, status };
}

/** Starts a fresh kernel and runs `cells` in it; returns the timings measured from the session request. */
async function freshKernel(server: JupyterServer, cells: string[], keep?: (k: KernelConnection) => Promise<void>): Promise<Timed[]> {
  const t0 = wallNs();
  const model = await SessionAPI.startSession(
    { path: 'notebooks/.bench-lab.ipynb', type: 'notebook', name: 'bench', kernel: { name: 'xen-netlab' } },
    server.settings,
  );
  const kernel = new KernelConnection({ model: model.kernel!, serverSettings: server.settings, handleComms: false });
  try {
    if ((await waitForKernelInfo(kernel, 60_000, 5_000)) === null) throw new Error('bench lab: the xen-netlab kernel did not answer kernel_info within 60 s');
    const out: Timed[] = [];
    for (const c of cells) out.push(await execute(kernel, c, t0));
    if (keep) await keep(kernel);
    return out;
  } finally {
    await SessionAPI.shutdownSession(model.id, server.settings).catch(() => {});
    kernel.dispose();
  }
}

export async function run(ctx: BenchContext): Promise<void> {
  if (ctx.quick) {
    console.error('lab: skipped in --quick mode (starts real Jupyter kernels, ~30 s)');
    return;
  }
  try {
    jupyterApp();
  } catch (err) {
    console.error(`lab: skipped: ${(err as Error).message}`);
    return;
  }
  await quietServices(async () => {
    const server = await startJupyterServer({ root: projectRoot() });
    try {
      const trials = 3;
      let bestChart = Infinity;
      let bestTrivial = Infinity;
      for (let i = 0; i < trials; i++) {
        const [trivial] = await freshKernel(server, ['1 + 1']);
        bestTrivial = Math.min(bestTrivial, trivial.replyMs);
        const [first] = await freshKernel(server, [FIRST_CHART]);
        if (Number.isNaN(first.chartMs)) throw new Error('lab bench: the first-chart cell sent no PNG');
        bestChart = Math.min(bestChart, first.chartMs);
      }
      ctx.report('lab.kernel_start_to_first_chart', {
        value: bestChart,
        unit: 'ms',
        vs_baseline: bestChart / bestTrivial,
        note: `new kernel → first chart on screen, best of ${trials}; baseline new kernel → reply to 1 + 1 (${bestTrivial.toFixed(0)} ms)`,
      });

      let bestRerender = Infinity;
      let bestMinimal = Infinity;
      await freshKernel(server, [FIRST_CHART, 'let N = 120;'], async (kernel) => {
        for (let i = 0; i < 5; i++) {
          const a = await execute(kernel, rerender(100 + 20 * i), wallNs());
          bestRerender = Math.min(bestRerender, a.replyMs);
          const b = await execute(kernel, MINIMAL, wallNs());
          bestMinimal = Math.min(bestMinimal, b.replyMs);
        }
      });
      ctx.report('lab.chart_rerender', {
        value: bestRerender,
        unit: 'ms',
        vs_baseline: bestRerender / bestMinimal,
        note: `parameter change → recompute → chart again in a warm kernel, best of 5; baseline a one-point chart (${bestMinimal.toFixed(0)} ms)`,
      });
    } finally {
      await server.stop();
    }
  });
}
