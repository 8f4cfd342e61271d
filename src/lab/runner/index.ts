/**
 * The headless notebook runner as a library (the CLI is ./cli.ts, `npm run labs`).
 *
 * ```ts
 * const server = await startJupyterServer();
 * try {
 *   const run = await executeNotebook(server, 'notebooks/00-getting-started.ipynb');
 *   console.log(run.ok, run.failures);
 * } finally {
 *   await server.stop();
 * }
 * ```
 */
export { executeNotebook, kernelNames, notebookKernel, outputPath } from './execute';
export type { CellRun, ExecuteOptions, NotebookRun } from './execute';
export { cellSource, cellTags, normalizeForCompare, readNotebook, RunnerInputError, writeNotebook } from './notebook';
export type { NbCell, NbOutput, Notebook } from './notebook';
export { collectNotebooks, quietServices, runNotebooks } from './run';
export type { RunOptions, RunSummary } from './run';
export {
  checkPortFree,
  connectJupyterServer,
  findExecutable,
  freePort,
  INSTALL_HINT,
  jupyterApp,
  jupyterEnv,
  projectRoot,
  serverSettings,
  startJupyterServer,
  stopAllServers,
} from './server';
export type { JupyterServer, StartServerOptions } from './server';
