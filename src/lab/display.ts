/**
 * Display: the one module that talks to the tslab kernel.
 *
 * Inside a tslab kernel, `show(x)` sends ONE `display_data` message whose MIME bundle holds
 * every representation of `x`; the frontend picks the richest it can render:
 *
 * | shown    | bundle                                                                     |
 * | -------- | -------------------------------------------------------------------------- |
 * | Chart    | `application/vnd.vegalite.v5+json` (spec object) — JupyterLab, VS Code     |
 * |          | `image/png` (2× pixels, `metadata['image/png'] = {width, height}` at 1×)  |
 * |          |   — classic Notebook, nbconvert HTML, GitHub                               |
 * |          | `text/plain` (the chart's summary) — terminals, logs                      |
 * | Table    | `text/html` + `text/plain`                                                 |
 * | string   | `text/plain`                                                               |
 *
 * Charts carry no `image/svg+xml` (nbconvert 6.5 strips SVG children, GitHub shows SVG
 * outputs unreliably) and no `text/html` (JupyterLab ranks html above its vega renderer).
 *
 * How the kernel is found: tslab keeps the current cell's display writer in
 * `require('tslab/dist/jupyter').lastWriteDisplayData` (not a public API; it is the only way
 * to send a multi-MIME bundle). We never load tslab ourselves: if that module is not already
 * in Node's module cache, or has no writer yet, we are not in a kernel and `show()` prints
 * the text form to stdout instead. The library must resolve the *same* tslab as the kernel,
 * which the project kernelspec guarantees (both come from the project's node_modules).
 */
import { isChart, type Chart } from './chart';
import { renderPng } from './render';
import { isTable, type Table } from './table';

/** MIME type under which charts are sent (JupyterLab and VS Code render v5, not v6). */
export const VEGALITE_MIME = 'application/vnd.vegalite.v5+json';

/** A Jupyter MIME bundle: representations by MIME type, plus per-type metadata. */
export interface MimeBundle {
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
}

/** What `show()` accepts. */
export type Displayable = Chart | Table | string;

/** tslab's `DisplayData` as far as we use it. */
interface TslabDisplayData {
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
  transient: { display_id?: string };
}
type TslabWriter = (data: TslabDisplayData, update: boolean) => void;

/** Returns tslab's display writer when this process is a tslab kernel executing cells. */
function kernelWriter(): TslabWriter | null {
  let path: string;
  try {
    path = require.resolve('tslab/dist/jupyter');
  } catch {
    return null;
  }
  const mod = require.cache[path];
  if (!mod) return null;
  const writer = (mod.exports as { lastWriteDisplayData?: unknown }).lastWriteDisplayData;
  return typeof writer === 'function' ? (writer as TslabWriter) : null;
}

/** True when running inside a tslab kernel (so `show()` sends MIME bundles). */
export function inKernel(): boolean {
  return kernelWriter() !== null;
}

/**
 * The MIME bundle for a chart: vega-lite spec (object), 2× PNG with 1× size metadata, and
 * the text summary. Renders synchronously (~0.1-0.3 s; the first call in a process ~0.5 s).
 */
export function chartBundle(chart: Chart): MimeBundle {
  if (!isChart(chart)) throw new Error('chartBundle(chart): expected a Chart from lineChart()/barChart()/…/chart()');
  const { png, width, height } = renderPng(chart.spec, { scale: 2 });
  // A JSON round trip drops undefined fields and any non-JSON value, exactly as the
  // notebook file will store the spec.
  const spec = JSON.parse(JSON.stringify(chart.spec)) as Record<string, unknown>;
  return {
    data: {
      [VEGALITE_MIME]: spec,
      'image/png': png.toString('base64'),
      'text/plain': chart.summary,
    },
    metadata: { 'image/png': { width, height } },
  };
}

/** The MIME bundle for a table: HTML and aligned text. */
export function tableBundle(t: Table): MimeBundle {
  if (!isTable(t)) throw new Error('tableBundle(table): expected a Table from table()');
  return { data: { 'text/html': t.html, 'text/plain': t.text }, metadata: {} };
}

/** The MIME bundle for anything `show()` accepts. */
export function bundleOf(item: Displayable): MimeBundle {
  if (typeof item === 'string') return { data: { 'text/plain': item }, metadata: {} };
  if (isChart(item)) return chartBundle(item);
  if (isTable(item)) return tableBundle(item);
  throw new Error(`show(item): cannot display ${item === null ? 'null' : typeof item}; pass a Chart (lineChart(), barChart(), …), a Table (table()) or a string`);
}

/** The `text/plain` form of anything `show()` accepts (no rendering). */
export function textOf(item: Displayable): string {
  if (typeof item === 'string') return item;
  if (isChart(item)) return item.summary;
  if (isTable(item)) return item.text;
  throw new Error(`textOf(item): cannot display ${item === null ? 'null' : typeof item}; pass a Chart, a Table or a string`);
}

/**
 * Sends a bundle to the frontend. With `displayId`, the output can later be replaced in
 * place by calling again with `update: true` (Jupyter's `update_display_data`).
 * Returns false (and sends nothing) when not in a kernel.
 */
export function publishDisplayData(bundle: MimeBundle, options: { displayId?: string; update?: boolean } = {}): boolean {
  const writer = kernelWriter();
  if (!writer) return false;
  if (options.update && !options.displayId) throw new Error('publishDisplayData(options.update): an update needs options.displayId');
  writer(
    { data: bundle.data, metadata: bundle.metadata, transient: options.displayId ? { display_id: options.displayId } : {} },
    options.update === true,
  );
  return true;
}

/**
 * Shows a chart, table or string. In a kernel: one display with every representation
 * (see the table at the top of this file). Elsewhere: prints the text form to stdout.
 * Returns nothing, so `show(x)` as a cell's last line prints nothing extra.
 */
export function show(item: Displayable): void {
  if (inKernel()) {
    publishDisplayData(bundleOf(item));
  } else {
    process.stdout.write(`${textOf(item)}\n`);
  }
}
