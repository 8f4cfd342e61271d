/**
 * Static chart rendering in Node: vega-lite 5 spec → vega → SVG → PNG.
 *
 *   spec ──vl.compile──▶ vega spec ──new View({renderer:'none'}).toSVG()──▶ SVG
 *        ──resvg (2× zoom, DejaVu Sans)──▶ PNG
 *
 * Why a worker: vega's `View.toSVG()` is asynchronous (its dataflow re-runs after autosize),
 * but `show(chart)` must be synchronous. tslab prints a cell's last expression with
 * `console.log`, so an async `show()` would print `Promise { <pending> }`, and a display sent
 * after the cell's reply can land in the next cell. So rendering runs in one long-lived
 * worker thread; the calling thread blocks on `Atomics.wait` and takes the answer with
 * `receiveMessageOnPort` (the pattern of the `synckit` package). The worker is `unref()`ed,
 * so it never keeps a process alive, and it loads vega once per process (~0.4 s), after which
 * a chart renders in ~0.1-0.2 s.
 *
 * No canvas: without node-canvas vega estimates text widths, which is deterministic. Fonts
 * are fixed to DejaVu Sans (Debian's fonts-dejavu-core) when present, so the same spec gives
 * the same PNG bytes on every machine that has that font.
 */
import { existsSync } from 'node:fs';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import type { TopLevelSpec } from 'vega-lite';

/** A rendered PNG and the size (CSS pixels) it should be displayed at. */
export interface RenderedPng {
  /** PNG file bytes, rendered at `scale` × the chart's size. */
  png: Buffer;
  /** Display width in CSS pixels (the SVG's width). */
  width: number;
  /** Display height in CSS pixels (the SVG's height). */
  height: number;
}

export interface RenderPngOptions {
  /** Pixel density of the PNG relative to its display size; default 2 (sharp on HiDPI). Range 0.5-8. */
  scale?: number;
}

/** Fonts used for PNG text, in order of preference; the first file that exists is loaded. */
const FONT_FILES = [
  '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf',
  '/usr/share/fonts/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/TTF/DejaVuSans.ttf',
  '/Library/Fonts/DejaVuSans.ttf',
];

/** Longest a single render may take before the caller gives up (a runaway spec). */
const RENDER_TIMEOUT_MS = 60_000;

/**
 * The worker's source. Kept as plain CommonJS so it runs the same from `dist/` (tslab, CLI)
 * and from `src/` under vitest; module paths are resolved by the parent and passed in.
 */
const WORKER_SOURCE = String.raw`
const { parentPort, workerData } = require('node:worker_threads');
const vl = require(workerData.vegaLite);
const vega = require(workerData.vega);
const { Resvg } = require(workerData.resvg);
const font = workerData.fontFiles.length > 0
  ? { loadSystemFonts: false, fontFiles: workerData.fontFiles,
      defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans', serifFamily: 'DejaVu Sans', monospaceFamily: 'DejaVu Sans' }
  : { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' };

// vega-lite's and vega's warnings, collected per render and sent back with the answer: the
// worker's own console output reaches the parent's stderr asynchronously, so it could land in
// a later notebook cell (or not at all before a process exits).
function collectingLogger(warnings) {
  let level = 2; // vega's and vega-lite's Warn
  const logger = {
    level(l) { if (l === undefined) return level; level = l; return logger; },
    error(...args) { warnings.push('ERROR ' + args.map(String).join(' ')); return logger; },
    warn(...args) { if (level >= 2) warnings.push('WARN ' + args.map(String).join(' ')); return logger; },
    info() { return logger; },
    debug() { return logger; },
  };
  return logger;
}

async function toSvg(spec, warnings) {
  const logger = collectingLogger(warnings);
  const compiled = vl.compile(spec, { logger }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logger });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

function svgSize(svg) {
  const m = /<svg[^>]*\swidth="([0-9.]+)"[^>]*\sheight="([0-9.]+)"/.exec(svg);
  return m ? { width: Number(m[1]), height: Number(m[2]) } : { width: 0, height: 0 };
}

async function handle(req) {
  const warnings = [];
  const svg = await toSvg(req.spec, warnings);
  if (req.kind === 'svg') return { svg, warnings };
  const { width, height } = svgSize(svg);
  const png = new Resvg(svg, { fitTo: { mode: 'zoom', value: req.scale }, font }).render().asPng();
  return { png, width, height, warnings };
}

parentPort.on('message', async ({ req, port, flag }) => {
  let answer;
  try {
    answer = { ok: true, value: await handle(req) };
  } catch (err) {
    answer = { ok: false, message: err && err.message ? err.message : String(err) };
  }
  port.postMessage(answer);
  port.close();
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
});
`;

interface WorkerAnswer {
  ok: boolean;
  value?: { svg?: string; png?: Uint8Array; width?: number; height?: number; warnings?: string[] };
  message?: string;
}

let worker: Worker | null = null;

function getWorker(): Worker {
  if (worker) return worker;
  const fontFiles = FONT_FILES.filter((f) => existsSync(f));
  const w = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: {
      vega: require.resolve('vega'),
      vegaLite: require.resolve('vega-lite'),
      resvg: require.resolve('@resvg/resvg-js'),
      fontFiles,
    },
    stdout: false,
    stderr: false,
  });
  w.unref();
  w.on('error', () => {
    // A crashed worker is replaced on the next render.
    if (worker === w) worker = null;
  });
  w.on('exit', () => {
    if (worker === w) worker = null;
  });
  worker = w;
  return w;
}

/** Sends one request to the render worker and blocks until it answers. */
function renderSync(req: { kind: 'svg' | 'png'; spec: unknown; scale?: number }): NonNullable<WorkerAnswer['value']> {
  const w = getWorker();
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new MessageChannel();
  try {
    w.postMessage({ req, port: port2, flag }, [port2 as unknown as MessagePort]);
    const waited = Atomics.wait(flag, 0, 0, RENDER_TIMEOUT_MS);
    if (waited === 'timed-out') {
      // The worker is stuck (or died while we were blocked): drop it, the next call makes a new one.
      void w.terminate();
      if (worker === w) worker = null;
      throw new Error(`renderSvg/renderPng: chart did not render within ${RENDER_TIMEOUT_MS / 1000} s`);
    }
    const msg = receiveMessageOnPort(port1);
    const answer = msg?.message as WorkerAnswer | undefined;
    if (!answer) throw new Error('renderSvg/renderPng: render worker sent no answer');
    if (!answer.ok || !answer.value) throw new Error(`vega-lite spec did not render: ${answer.message ?? 'unknown error'}`);
    // Written here, synchronously, so a warning belongs to the cell that drew the chart.
    for (const warning of answer.value.warnings ?? []) process.stderr.write(`vega-lite: ${warning}\n`);
    return answer.value;
  } finally {
    port1.close();
  }
}

function checkSpec(spec: unknown, fn: string): void {
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
    throw new Error(`${fn}(spec): spec must be a vega-lite 5 spec object, got ${spec === null ? 'null' : Array.isArray(spec) ? 'an array' : typeof spec}`);
  }
}

/**
 * Renders a vega-lite 5 spec to an SVG document string (synchronous).
 * Data must be inline (`data.values`); a spec that fails to compile throws with vega-lite's message.
 */
export function renderSvg(spec: TopLevelSpec): string {
  checkSpec(spec, 'renderSvg');
  const out = renderSync({ kind: 'svg', spec });
  return out.svg as string;
}

/**
 * Renders a vega-lite 5 spec to PNG bytes (synchronous), at `scale` × (default 2×) the chart's
 * size, with DejaVu Sans text. `width`/`height` are the size to display it at (1× CSS pixels).
 */
export function renderPng(spec: TopLevelSpec, options: RenderPngOptions = {}): RenderedPng {
  checkSpec(spec, 'renderPng');
  const scale = options.scale ?? 2;
  if (typeof scale !== 'number' || !Number.isFinite(scale) || scale < 0.5 || scale > 8) {
    throw new Error(`renderPng(options.scale): scale ${String(scale)} is not allowed; use a number from 0.5 to 8`);
  }
  const out = renderSync({ kind: 'png', spec, scale });
  const png = Buffer.from(out.png as Uint8Array);
  return { png, width: out.width as number, height: out.height as number };
}
