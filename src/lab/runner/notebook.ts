/**
 * Notebook files (nbformat 4): reading with clear errors, writing, and the normal form used
 * to compare two executions of the same notebook.
 *
 * Only what the runner needs is typed; unknown fields are kept as they are.
 * Reference: https://nbformat.readthedocs.io/en/latest/format_description.html
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** One output of a code cell, as stored in the .ipynb file. */
export type NbOutput =
  | { output_type: 'stream'; name: 'stdout' | 'stderr'; text: string }
  | { output_type: 'display_data'; data: Record<string, unknown>; metadata: Record<string, unknown> }
  | { output_type: 'execute_result'; data: Record<string, unknown>; metadata: Record<string, unknown>; execution_count: number | null }
  | { output_type: 'error'; ename: string; evalue: string; traceback: string[] };

export interface NbCell {
  cell_type: 'code' | 'markdown' | 'raw';
  id?: string;
  metadata: Record<string, unknown> & { tags?: string[] };
  source: string | string[];
  outputs?: NbOutput[];
  execution_count?: number | null;
  [other: string]: unknown;
}

export interface Notebook {
  nbformat: number;
  nbformat_minor: number;
  metadata: Record<string, unknown> & {
    kernelspec?: { name: string; display_name?: string; language?: string };
    language_info?: Record<string, unknown>;
  };
  cells: NbCell[];
}

/** Bad input given to the runner (missing file, not a notebook, unknown kernel, port in use, …). */
export class RunnerInputError extends Error {
  override name = 'RunnerInputError';
}

/** The source of a cell as one string. */
export function cellSource(cell: NbCell): string {
  return Array.isArray(cell.source) ? cell.source.join('') : cell.source;
}

/** The cell's tags (metadata.tags), or none. */
export function cellTags(cell: NbCell): string[] {
  const tags = cell.metadata?.tags;
  return Array.isArray(tags) ? tags.filter((t): t is string => typeof t === 'string') : [];
}

/**
 * Reads and checks a notebook file.
 * @throws RunnerInputError naming the file and what is wrong with it.
 */
export function readNotebook(path: string): Notebook {
  let text: string;
  try {
    if (!statSync(path).isFile()) throw new RunnerInputError(`${path}: not a file (expected a .ipynb notebook)`);
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (err instanceof RunnerInputError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new RunnerInputError(code === 'ENOENT' ? `${path}: no such file` : `${path}: cannot read (${(err as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new RunnerInputError(`${path}: not valid JSON (${(err as Error).message}); is it a Jupyter notebook?`);
  }
  const nb = json as Partial<Notebook> | null;
  if (nb === null || typeof nb !== 'object' || Array.isArray(nb)) throw new RunnerInputError(`${path}: not a Jupyter notebook (top level is not an object)`);
  if (nb.nbformat !== 4) {
    throw new RunnerInputError(`${path}: nbformat ${JSON.stringify(nb.nbformat)} is not supported; the runner reads nbformat 4 notebooks`);
  }
  if (!Array.isArray(nb.cells)) throw new RunnerInputError(`${path}: not a Jupyter notebook ("cells" is missing or not an array)`);
  nb.cells.forEach((c, i) => {
    if (c === null || typeof c !== 'object' || !['code', 'markdown', 'raw'].includes(c.cell_type)) {
      throw new RunnerInputError(`${path}: cell ${i} has no valid cell_type (code, markdown or raw)`);
    }
    if (typeof c.source !== 'string' && !(Array.isArray(c.source) && c.source.every((s) => typeof s === 'string'))) {
      throw new RunnerInputError(`${path}: cell ${i} has no source (string or list of strings)`);
    }
  });
  return {
    nbformat: 4,
    nbformat_minor: typeof nb.nbformat_minor === 'number' ? nb.nbformat_minor : 4,
    metadata: nb.metadata && typeof nb.metadata === 'object' ? nb.metadata : {},
    cells: nb.cells,
  };
}

/** Writes a notebook as Jupyter does: 1-space indent, sorted keys, trailing newline. */
export function writeNotebook(path: string, nb: Notebook): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(sortKeys(nb), null, 1)}\n`);
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v === null || typeof v !== 'object') return v;
  const o: Record<string, unknown> = {};
  for (const k of Object.keys(v as object).sort()) o[k] = sortKeys((v as Record<string, unknown>)[k]);
  return o;
}

/**
 * The normal form used to compare two executions: cell ids, per-cell `execution` metadata
 * (timestamps), `transient` and the notebook's `language_info` removed; keys sorted.
 * Everything else — sources, outputs (including PNG bytes), execution counts — must match.
 */
export function normalizeForCompare(nb: Notebook): string {
  const cells = nb.cells.map((c) => {
    const { id: _id, metadata, ...rest } = c;
    const { execution: _execution, collapsed: _c, scrolled: _s, ...meta } = (metadata ?? {}) as Record<string, unknown>;
    const outputs = c.outputs?.map((o) => {
      const { transient: _t, ...keep } = o as NbOutput & { transient?: unknown };
      return keep;
    });
    return { ...rest, metadata: meta, ...(outputs ? { outputs } : {}) };
  });
  const { language_info: _li, ...metadata } = nb.metadata;
  return JSON.stringify(sortKeys({ ...nb, metadata, cells }), null, 1);
}
