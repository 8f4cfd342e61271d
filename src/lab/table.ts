/**
 * Tables of structured state (ring slots, grant entries, counters) as an HTML + text pair.
 *
 * `table(rows)` builds a `Table` — nothing is displayed until `show(table)`. The HTML is a
 * plain `<table>` (escaped, numbers right-aligned, monospace) that renders in JupyterLab,
 * Notebook, VS Code, nbconvert and GitHub; the text is an aligned grid for terminals, tests
 * and `text/plain`.
 *
 * ```ts
 * show(table(ringSlots, { columns: ['slot', 'id', 'gref', 'size'], title: 'tx ring' }));
 * ```
 */
import type { Row } from './chart';

/** A table ready for `show()`. */
export interface Table {
  readonly kind: 'table';
  readonly title?: string;
  /** Column names, in display order. */
  readonly columns: readonly string[];
  /** Cell texts, one array per row, aligned with `columns`. */
  readonly cells: readonly (readonly string[])[];
  /** Which columns hold only numbers (right-aligned). */
  readonly numeric: readonly boolean[];
  /** `text/html` representation. */
  readonly html: string;
  /** `text/plain` representation (aligned grid). */
  readonly text: string;
}

export interface TableOptions {
  /** Columns to show, in order; default: the keys of all rows in first-seen order. */
  columns?: readonly string[];
  /** Caption above the table. */
  title?: string;
  /** At most this many rows are shown (the rest are counted in a last line); default 200, range 1-100000. */
  maxRows?: number;
}

const DEFAULT_MAX_ROWS = 200;

/** Text of one cell: bigint without `n`, numbers as JavaScript prints them, null/undefined empty. */
function cellText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (v instanceof Uint8Array) return Array.from(v, (b) => b.toString(16).padStart(2, '0')).join(' ');
  try {
    return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? Number(x) : x)) ?? String(v);
  } catch {
    return String(v);
  }
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Display width of a string (code points; good enough for the ASCII the labs print). */
function width(s: string): number {
  return [...s].length;
}

function pad(s: string, w: number, right: boolean): string {
  const fill = ' '.repeat(Math.max(0, w - width(s)));
  return right ? fill + s : s + fill;
}

/**
 * Builds a table from an array of records (any object type; interfaces included).
 * @throws when `rows` is not an array of objects, or `columns`/`maxRows` are malformed.
 */
export function table<R extends object>(input: readonly R[], options: TableOptions = {}): Table {
  const rows = input as unknown as readonly Row[];
  if (!Array.isArray(rows)) throw new Error(`table(rows): rows must be an array of records, got ${rows === null ? 'null' : typeof rows}`);
  rows.forEach((r, i) => {
    if (r === null || typeof r !== 'object' || Array.isArray(r)) {
      throw new Error(`table(rows): rows[${i}] must be a record (plain object), got ${r === null ? 'null' : Array.isArray(r) ? 'an array' : typeof r}`);
    }
  });
  if (options.columns !== undefined) {
    if (!Array.isArray(options.columns) || options.columns.some((c) => typeof c !== 'string')) {
      throw new Error('table(options.columns): must be an array of column names (strings)');
    }
  }
  const maxRows = options.maxRows ?? DEFAULT_MAX_ROWS;
  if (!Number.isInteger(maxRows) || maxRows < 1 || maxRows > 100_000) {
    throw new Error(`table(options.maxRows): ${String(maxRows)} is not allowed; use an integer from 1 to 100000`);
  }
  let columns: string[];
  if (options.columns) {
    columns = [...options.columns];
  } else {
    const seen = new Set<string>();
    for (const r of rows) for (const k of Object.keys(r)) seen.add(k);
    columns = [...seen];
  }
  const shown = rows.slice(0, maxRows);
  const cells = shown.map((r) => columns.map((c) => cellText(r[c])));
  const numeric = columns.map((c) => {
    let any = false;
    for (const r of shown) {
      const v = r[c];
      if (v === null || v === undefined) continue;
      if (typeof v !== 'number' && typeof v !== 'bigint') return false;
      any = true;
    }
    return any;
  });
  const hidden = rows.length - shown.length;
  const more = hidden > 0 ? `… ${hidden} more row${hidden === 1 ? '' : 's'} (${rows.length} in all)` : '';

  // text/plain: title, header, rule, rows.
  const widths = columns.map((c, j) => Math.max(width(c), ...cells.map((row) => width(row[j]))));
  const line = (vals: readonly string[]) => vals.map((v, j) => pad(v, widths[j], numeric[j])).join('  ').replace(/\s+$/, '');
  const textLines: string[] = [];
  if (options.title) textLines.push(options.title);
  textLines.push(line(columns));
  textLines.push(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of cells) textLines.push(line(row));
  if (rows.length === 0) textLines.push('(no rows)');
  if (more) textLines.push(more);
  const text = textLines.join('\n');

  // text/html: a self-contained table; inline styles only (nbconvert and GitHub drop <style>).
  const th = columns
    .map((c, j) => `<th style="text-align:${numeric[j] ? 'right' : 'left'}">${escapeHtml(c)}</th>`)
    .join('');
  const trs = cells
    .map((row) => `<tr>${row.map((v, j) => `<td style="text-align:${numeric[j] ? 'right' : 'left'}">${escapeHtml(v)}</td>`).join('')}</tr>`)
    .join('\n');
  const caption = options.title ? `<caption style="text-align:left;font-weight:bold">${escapeHtml(options.title)}</caption>` : '';
  const foot = more || rows.length === 0 ? `<tfoot><tr><td colspan="${Math.max(1, columns.length)}">${escapeHtml(more || '(no rows)')}</td></tr></tfoot>` : '';
  const html = `<table class="xen-netlab-table" style="font-family:monospace;border-collapse:collapse">${caption}<thead><tr>${th}</tr></thead>\n<tbody>\n${trs}\n</tbody>${foot}</table>`;

  const t: Table = { kind: 'table', ...(options.title ? { title: options.title } : {}), columns, cells, numeric, html, text };
  Object.defineProperty(t, Symbol.for('nodejs.util.inspect.custom'), { value: () => text, enumerable: false });
  return t;
}

/** True when `x` is a Table made by `table()`. */
export function isTable(x: unknown): x is Table {
  return x !== null && typeof x === 'object' && (x as { kind?: unknown }).kind === 'table' && typeof (x as Table).html === 'string';
}
