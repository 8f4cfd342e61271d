/** Virtual-time units: every time in the model is an integer number of nanoseconds. */
export const NS = 1;
export const US = 1_000;
export const MS = 1_000_000;
export const SEC = 1_000_000_000;

/** Integer ns for a duration in microseconds (rounded to the nearest ns). */
export function us(n: number): number {
  return Math.round(n * US);
}
/** Integer ns for a duration in milliseconds. */
export function ms(n: number): number {
  return Math.round(n * MS);
}
/** Integer ns for a duration in seconds. */
export function sec(n: number): number {
  return Math.round(n * SEC);
}

/**
 * The length in ns of one jiffy (1/HZ s) of a kernel built with CONFIG_HZ `hz`. Only an HZ that
 * divides one second exactly keeps jiffy ticks on whole nanoseconds; anything else is refused with
 * an error that starts with `what` (the parameter or call it came from, e.g. "bridge.hz:").
 */
export function jiffyNs(hz: number, what: string): number {
  if (typeof hz !== 'number' || !Number.isInteger(hz) || hz < 1 || hz > 10_000 || SEC % hz !== 0) {
    throw new RangeError(`${what} ${String(hz)} is not allowed; use a CONFIG_HZ that divides one second exactly (100, 250 or 1000)`);
  }
  return SEC / hz;
}
