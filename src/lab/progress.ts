/**
 * Live progress for long runs: one display, updated in place.
 *
 * In a kernel, `progress(total)` sends one `display_data` with a `display_id`; every
 * `update()` that changes the shown percentage (or the note) replaces it with
 * `update_display_data`, so a run of a million steps sends at most ~100 updates and the
 * saved notebook keeps only the final state. Outside a kernel it prints a line at each
 * 10 % step and at `finish()`.
 *
 * ```ts
 * const p = progress(rounds, { label: 'simulating' });
 * for (let i = 0; i < rounds; i++) { step(); p.update(i + 1); }
 * p.finish('done');
 * ```
 */
import { inKernel, publishDisplayData, type MimeBundle } from './display';

export interface ProgressOptions {
  /** What is progressing, e.g. 'simulating'; default 'progress'. */
  label?: string;
  /** Unit of the counts, e.g. 'packets'; default none. */
  unit?: string;
}

/** A live progress display. */
export interface Progress {
  /** The total passed to `progress()`. */
  readonly total: number;
  /** The current count. */
  readonly value: number;
  /** Jupyter display id of the live output (null outside a kernel). */
  readonly displayId: string | null;
  /** Sets the count (0 ≤ value ≤ total) and an optional note. */
  update(value: number, note?: string): void;
  /** Adds `n` (default 1) to the count. */
  tick(n?: number): void;
  /** Marks the run complete (count = total) with an optional final note. */
  finish(note?: string): void;
}

/** Display ids must be unique across kernel restarts too; pid + counter is, without randomness. */
let displayCounter = 0;

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Starts a progress display for `total` steps.
 * @throws when `total` is not a positive integer up to 2^53.
 */
export function progress(total: number, options: ProgressOptions = {}): Progress {
  if (!Number.isSafeInteger(total) || total < 1) {
    throw new Error(`progress(total): ${String(total)} is not allowed; use a positive integer (the number of steps)`);
  }
  const label = options.label ?? 'progress';
  const unit = options.unit ? ` ${options.unit}` : '';
  const kernel = inKernel();
  const displayId = kernel ? `xen-netlab-progress-${process.pid}-${++displayCounter}` : null;
  let value = 0;
  let note = '';
  let finished = false;
  let shownPercent = -1;
  let shownNote = '';
  let printedDecile = -1;

  const percentOf = (v: number) => Math.floor((v * 100) / total);
  const text = () => `${label}: ${value}/${total}${unit} (${percentOf(value)}%)${note ? ` ${note}` : ''}`;
  const bundle = (): MimeBundle => ({
    data: {
      'text/plain': text(),
      'text/html': `<div class="xen-netlab-progress" style="font-family:monospace"><progress value="${value}" max="${total}" style="width:16em;vertical-align:middle"></progress> ${escapeHtml(text())}</div>`,
    },
    metadata: {},
  });

  const render = (force: boolean) => {
    const pct = percentOf(value);
    if (kernel) {
      if (!force && pct === shownPercent && note === shownNote) return;
      publishDisplayData(bundle(), { displayId: displayId as string, update: shownPercent >= 0 });
    } else {
      const decile = Math.floor(pct / 10);
      if (!force && decile === printedDecile) return;
      printedDecile = decile;
      process.stdout.write(`${text()}\n`);
    }
    shownPercent = pct;
    shownNote = note;
  };

  const p: Progress = {
    total,
    get value() {
      return value;
    },
    displayId,
    update(v: number, n?: string) {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > total) {
        throw new Error(`progress.update(value): ${String(v)} is not allowed; use a number from 0 to ${total}`);
      }
      if (finished) return;
      value = Math.floor(v);
      if (n !== undefined) note = String(n);
      render(false);
    },
    tick(n = 1) {
      p.update(Math.min(total, value + n));
    },
    finish(n?: string) {
      if (finished) return;
      value = total;
      if (n !== undefined) note = String(n);
      finished = true;
      render(true);
    },
  };
  if (kernel) render(true);
  return p;
}
