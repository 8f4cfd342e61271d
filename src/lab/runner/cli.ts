#!/usr/bin/env node
/**
 * `npm run labs` — run notebooks headless and report.
 *
 *   node dist/lab/runner/cli.js [options] <notebook.ipynb | folder>...
 *
 * Exit status: 0 when every notebook passed, 1 when any failed, 2 on bad input.
 */
import { runNotebooks, type RunOptions } from './run';
import { RunnerInputError } from './notebook';
import { stopAllServers } from './server';

const USAGE = `usage: npm run labs -- [options] [notebook.ipynb | folder]...   (default: notebooks)

Runs each notebook in a fresh kernel of a private Jupyter Server (127.0.0.1, random port
and token) and writes the executed notebooks to out/labs/.

options:
  --out DIR       write executed notebooks to DIR (default out/labs)
  --no-out        do not write executed notebooks
  --timeout S     per-cell time limit in seconds (default 120)
  --kernel NAME   run with this kernel instead of the notebook's own
  --continue      keep running a notebook's cells after an unexpected error
  --port N        port for the private server (default: a free random port)
  --url URL       use a running Jupyter server instead (or env JUPYTER_URL)
  --token T       its token (or env JUPYTER_TOKEN)
  -h, --help      show this help`;

/** Parses argv into run options; throws RunnerInputError on bad flags. */
export function parseArgs(argv: readonly string[]): { paths: string[]; options: RunOptions; help: boolean } {
  const options: RunOptions = {};
  const paths: string[] = [];
  let help = false;
  const value = (i: number, flag: string): string => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new RunnerInputError(`${flag} needs a value`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    switch (a) {
      case '-h':
      case '--help':
        help = true;
        break;
      case '--out':
        options.outDir = value(i++, a);
        break;
      case '--no-out':
        options.outDir = null;
        break;
      case '--timeout': {
        const s = Number(value(i++, a));
        if (!Number.isFinite(s) || s <= 0 || s > 86_400) throw new RunnerInputError(`--timeout ${argv[i]} is not allowed; use seconds from 0 to 86400`);
        options.cellTimeoutMs = s * 1000;
        break;
      }
      case '--kernel':
        options.kernelName = value(i++, a);
        break;
      case '--continue':
        options.continueOnError = true;
        break;
      case '--port': {
        const p = Number(value(i++, a));
        if (!Number.isInteger(p) || p < 1 || p > 65535) throw new RunnerInputError(`--port ${argv[i]} is not allowed; use an integer from 1 to 65535`);
        options.port = p;
        break;
      }
      case '--url':
        options.url = value(i++, a);
        break;
      case '--token':
        options.token = value(i++, a);
        break;
      default:
        if (a.startsWith('-')) throw new RunnerInputError(`unknown option ${a} (see --help)`);
        paths.push(a);
    }
  }
  if (options.url === undefined && process.env.JUPYTER_URL) options.url = process.env.JUPYTER_URL;
  if (options.token === undefined && process.env.JUPYTER_TOKEN !== undefined) options.token = process.env.JUPYTER_TOKEN;
  if (options.url !== undefined && options.port !== undefined) throw new RunnerInputError('--port starts a private server; it cannot be combined with --url');
  return { paths: paths.length > 0 ? paths : ['notebooks'], options, help };
}

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`labs: ${(err as Error).message}`);
    return 2;
  }
  if (parsed.help) {
    console.log(USAGE);
    return 0;
  }
  try {
    const summary = await runNotebooks(parsed.paths, parsed.options);
    return summary.failed === 0 ? 0 : 1;
  } catch (err) {
    if (err instanceof RunnerInputError) {
      console.error(`labs: ${err.message}`);
      return 2;
    }
    console.error('labs: unexpected error:', err);
    return 1;
  }
}

if (require.main === module) {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      console.error(`labs: ${sig}, stopping the Jupyter server`);
      void stopAllServers().finally(() => process.exit(130));
    });
  }
  void main().then((code) => {
    process.exitCode = code;
  });
}
