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
