/**
 * A private Jupyter Server for running notebooks headless, or a connection to one already up.
 *
 * `startJupyterServer()` runs
 *
 *   jupyter server --ServerApp.ip=127.0.0.1 --ServerApp.port=<free port> --ServerApp.port_retries=0
 *                  --ServerApp.token=<random> --ServerApp.root_dir=<project> --ServerApp.open_browser=False
 *                  [--allow-root]
 *
 * with `JUPYTER_PATH=<project>/jupyter` (the project kernelspec), temporary
 * `JUPYTER_CONFIG_DIR`/`JUPYTER_RUNTIME_DIR` (so ~/.jupyter does not leak in; connection files
 * go away with the server) and `PYDEVD_DISABLE_FILE_VALIDATION=1` (silences a debugpy warning
 * on Debian). `root_dir` must be the project (or inside it): a kernel's cwd is its notebook's
 * folder, and tslab resolves `xen-netlab` and `node_modules` upward from there.
 *
 * The server runs in its own process group; kernels run in their own sessions (jupyter_client
 * starts them with `start_new_session`), so `stop()` shuts kernels down through the REST API
 * first, then sends SIGTERM to the server (which also cleans up kernels), then SIGKILL to the
 * group if it is still there after 5 s. A process `exit` hook kills whatever is left.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { KernelAPI, ServerConnection } from '@jupyterlab/services';
import { RunnerInputError } from './notebook';

/** A running (or external) Jupyter server. */
export interface JupyterServer {
  /** Base URL, ending in '/', e.g. `http://127.0.0.1:40123/`. */
  readonly url: string;
  readonly token: string;
  /** Settings for @jupyterlab/services calls. */
  readonly settings: ServerConnection.ISettings;
  /** The server's root folder when known (we started it), else null. */
  readonly root: string | null;
  /** Process id of the server when we started it, else null. */
  readonly pid: number | null;
  /** Shuts down kernels and the server (when we started it). Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartServerOptions {
  /** Folder the server serves (its root_dir); default the project root. */
  root?: string;
  /** TCP port on 127.0.0.1; default a free random port. */
  port?: number;
  /** Extra JUPYTER_PATH entries, searched before <project>/jupyter. */
  jupyterPath?: string[];
  /** The jupyter executable; default $JUPYTER or `jupyter` on PATH. */
  jupyter?: string;
  /** Give up if the server does not answer within this many ms; default 30 000. */
  startTimeoutMs?: number;
}

/** The project root: the nearest folder above this file with the xen-netlab package.json. */
export function projectRoot(): string {
  let dir = __dirname;
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'xen-netlab') return dir;
      } catch {
        /* keep looking */
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error(`projectRoot(): no xen-netlab package.json above ${__dirname}`);
    dir = up;
  }
}

/** Environment for a Jupyter process that should see the project kernel. */
export function jupyterEnv(root: string, extra: Record<string, string> = {}, jupyterPath: string[] = []): NodeJS.ProcessEnv {
  const paths = [...jupyterPath, join(root, 'jupyter'), ...(process.env.JUPYTER_PATH ? process.env.JUPYTER_PATH.split(delimiter) : [])];
  return { ...process.env, JUPYTER_PATH: paths.join(delimiter), PYDEVD_DISABLE_FILE_VALIDATION: '1', ...extra };
}

/** Finds an executable on PATH (or checks an explicit path). */
export function findExecutable(name: string): string | null {
  const candidates = name.includes('/') ? [name] : (process.env.PATH ?? '').split(delimiter).filter(Boolean).map((d) => join(d, name));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      /* next */
    }
  }
  return null;
}

/** What to tell someone whose machine has no Jupyter. */
export const INSTALL_HINT =
  'Jupyter is not installed. On Debian/Ubuntu: sudo apt-get install jupyter-notebook jupyter-server jupyter-client; ' +
  'elsewhere: pip install jupyterlab (or notebook). Then re-run.';

/** Resolves which Jupyter app to run: `jupyter server`, else `jupyter notebook`. */
export function jupyterApp(jupyter?: string): { exe: string; app: 'server' | 'notebook' } {
  const name = jupyter ?? process.env.JUPYTER ?? 'jupyter';
  const exe = findExecutable(name);
  if (!exe) throw new RunnerInputError(`${name}: not found. ${INSTALL_HINT}`);
  const dir = dirname(exe);
  const has = (sub: string) => existsSync(join(dir, `jupyter-${sub}`)) || findExecutable(`jupyter-${sub}`) !== null;
  if (has('server')) return { exe, app: 'server' };
  if (has('notebook')) return { exe, app: 'notebook' };
  throw new RunnerInputError(`${exe} has neither the "server" nor the "notebook" command. ${INSTALL_HINT}`);
}

/** A free TCP port on 127.0.0.1 (the OS picks one). */
export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => ok(port));
    });
  });
}

/** Resolves if `port` can be bound on 127.0.0.1, else rejects with a RunnerInputError. */
export function checkPortFree(port: number): Promise<void> {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    return Promise.reject(new RunnerInputError(`--port ${String(port)} is not allowed; use an integer from 1 to 65535`));
  }
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', (err: NodeJS.ErrnoException) => {
      fail(
        err.code === 'EADDRINUSE'
          ? new RunnerInputError(`port ${port} on 127.0.0.1 is in use; choose another --port, or leave --port out for a free random one`)
          : new RunnerInputError(`port ${port} on 127.0.0.1 cannot be used (${err.code ?? err.message})`),
      );
    });
    srv.listen(port, '127.0.0.1', () => srv.close(() => ok()));
  });
}

/** Settings for @jupyterlab/services against `url` with `token`. */
export function serverSettings(url: string, token: string): ServerConnection.ISettings {
  const baseUrl = url.endsWith('/') ? url : `${url}/`;
  return ServerConnection.makeSettings({ baseUrl, token, appendToken: true });
}

/** GET /api/status; true when the server answers 200 with our token. */
async function statusOk(url: string, token: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}api/status`, { headers: { Authorization: `token ${token}` }, signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((ok) => setTimeout(ok, ms));
}

/**
 * Connects to a server that is already running (e.g. `npm start`). Its kernels are not
 * ours, so `stop()` does nothing.
 * @throws RunnerInputError when the server does not answer /api/status with this token.
 */
export async function connectJupyterServer(url: string, token: string): Promise<JupyterServer> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RunnerInputError(`--url ${JSON.stringify(url)} is not a URL; expected e.g. http://127.0.0.1:8888/`);
  }
  const base = `${parsed.origin}${parsed.pathname.endsWith('/') ? parsed.pathname : `${parsed.pathname}/`}`;
  if (!(await statusOk(base, token))) {
    throw new RunnerInputError(`no Jupyter server answers at ${base} with the given token (check --url/--token or JUPYTER_URL/JUPYTER_TOKEN)`);
  }
  return { url: base, token, settings: serverSettings(base, token), root: null, pid: null, stop: async () => {} };
}

/** Servers started by this process, killed on exit if still running. */
const live = new Set<ChildProcess>();
/** Graceful stops of the servers started by this process. */
const stops = new Set<() => Promise<void>>();

/** Stops every server this process started (e.g. on Ctrl-C), kernels first. */
export async function stopAllServers(): Promise<void> {
  await Promise.all([...stops].map((s) => s()));
}
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  });
}

/** Recognisable reasons a Jupyter server exits at start-up, turned into advice. */
function explainStartFailure(log: string, port: number): string {
  if (/address already in use|Errno 98|port .* not available/i.test(log)) return `port ${port} on 127.0.0.1 is in use; choose another --port`;
  if (/Running as root is not recommended/i.test(log)) return 'the server refused to run as root (needs --allow-root)';
  if (/No module named|ModuleNotFoundError/.test(log)) return `a Python module is missing. ${INSTALL_HINT}`;
  const lines = log.trim().split('\n');
  return `jupyter exited during start-up; last output:\n${lines.slice(-12).join('\n')}`;
}

/**
 * Starts a private Jupyter Server (see the file header).
 * @throws RunnerInputError when jupyter is missing, the port is in use, or it does not start.
 */
export async function startJupyterServer(options: StartServerOptions = {}): Promise<JupyterServer> {
  const root = resolve(options.root ?? projectRoot());
  const { exe, app } = jupyterApp(options.jupyter);
  let port: number;
  if (options.port !== undefined) {
    await checkPortFree(options.port);
    port = options.port;
  } else {
    port = await freePort();
  }
  const token = randomBytes(24).toString('hex');
  const tmp = mkdtempSync(join(tmpdir(), 'xen-netlab-jupyter-'));
  const A = app === 'server' ? 'ServerApp' : 'NotebookApp';
  const args = [
    app,
    `--${A}.ip=127.0.0.1`,
    `--${A}.port=${port}`,
    `--${A}.port_retries=0`,
    `--${A}.token=${token}`,
    `--${A}.open_browser=False`,
    app === 'server' ? `--ServerApp.root_dir=${root}` : `--NotebookApp.notebook_dir=${root}`,
  ];
  if (process.getuid?.() === 0) args.push('--allow-root');
  const child = spawn(exe, args, {
    cwd: root,
    env: jupyterEnv(root, { JUPYTER_CONFIG_DIR: join(tmp, 'config'), JUPYTER_RUNTIME_DIR: join(tmp, 'runtime') }, options.jupyterPath),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  live.add(child);
  installExitHook();
  let log = '';
  const keep = (b: Buffer) => {
    log = (log + b.toString()).slice(-16_384);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited = false;
  let spawnError: Error | null = null;
  const exitedPromise = new Promise<void>((ok) => {
    child.on('exit', () => {
      exited = true;
      live.delete(child);
      ok();
    });
    child.on('error', (err) => {
      spawnError = err;
      exited = true;
      live.delete(child);
      ok();
    });
  });
  // Let the runner's own process exit without waiting for the server's pipes.
  for (const pipe of [child.stdout, child.stderr]) (pipe as unknown as { unref?: () => void } | null)?.unref?.();
  child.unref();

  const url = `http://127.0.0.1:${port}/`;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    stops.delete(stop);
    if (!exited) {
      try {
        const settings = serverSettings(url, token);
        const kernels = await KernelAPI.listRunning(settings);
        await Promise.all(kernels.map((k) => KernelAPI.shutdownKernel(k.id, settings).catch(() => {})));
      } catch {
        /* server already unresponsive: SIGTERM below */
      }
      try {
        child.kill('SIGTERM');
      } catch {
        /* gone */
      }
      const timer = setTimeout(() => {
        try {
          if (child.pid) process.kill(-child.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }, 5000);
      await exitedPromise;
      clearTimeout(timer);
    }
    rmSync(tmp, { recursive: true, force: true });
  };

  stops.add(stop);
  const deadline = options.startTimeoutMs ?? 30_000;
  let waited = 0;
  for (;;) {
    if (exited) {
      rmSync(tmp, { recursive: true, force: true });
      stopped = true;
      stops.delete(stop);
      if (spawnError) throw new RunnerInputError(`cannot run ${exe}: ${(spawnError as Error).message}. ${INSTALL_HINT}`);
      throw new RunnerInputError(`Jupyter server did not start: ${explainStartFailure(log, port)}`);
    }
    if (await statusOk(url, token)) break;
    if (waited >= deadline) {
      await stop();
      throw new RunnerInputError(`Jupyter server did not answer on ${url} within ${deadline / 1000} s; last output:\n${log.trim().split('\n').slice(-12).join('\n')}`);
    }
    await sleep(100);
    waited += 100;
  }
  return { url, token, settings: serverSettings(url, token), root, pid: child.pid ?? null, stop };
}
