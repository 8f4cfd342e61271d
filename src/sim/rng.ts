/**
 * Seeded random streams.
 *
 * A seed fixes the experiment and a run number picks the replication (ns-3's RngSeedManager
 * contract). Each component asks for a stream by *name* ("netfront.dom1.jitter"), and the stream's
 * state is derived from (seed, run, name) alone — so adding a stream in one component never
 * shifts the draws of another.
 *
 * Generator: xoshiro128** (Blackman & Vigna), 32-bit state words seeded through splitmix32 from
 * a 32-bit FNV-1a hash of the name mixed with the seed and run. All arithmetic is u32.
 */

export class RandomStream {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(readonly name: string, seed: number, run: number) {
    let h = fnv1a(name);
    let x = (Math.imul(h ^ (seed >>> 0), 0x9e3779b1) ^ Math.imul(run >>> 0, 0x85ebca6b) ^ (seed / 0x100000000 >>> 0)) >>> 0;
    const next = () => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
      z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
      return (z ^ (z >>> 15)) >>> 0;
    };
    h = next();
    this.s0 = h ^ next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** A stream with an explicit xoshiro128** state (for reference vectors in tests). */
  static fromState(name: string, state: readonly [number, number, number, number]): RandomStream {
    const s = new RandomStream(name, 0, 0);
    [s.s0, s.s1, s.s2, s.s3] = state.map((x) => x >>> 0) as [number, number, number, number];
    return s;
  }

  /** The next uniformly distributed unsigned 32-bit integer. */
  nextU32(): number {
    const s0 = this.s0, s1 = this.s1, s2 = this.s2, s3 = this.s3;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    this.s2 = s2 ^ s0;
    this.s3 = s3 ^ s1;
    this.s1 = s1 ^ this.s2;
    this.s0 = s0 ^ this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  uniform(): number {
    return this.nextU32() / 0x100000000;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 0x100000000) {
      throw new RangeError(`RandomStream.int: n ${n} is not allowed; use an integer in 1..2^32`);
    }
    return Math.floor(this.uniform() * n);
  }

  /** Exponentially distributed value with the given mean. */
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.uniform());
  }
}

/** Hands out named streams for one (seed, run). */
export class RandomStreams {
  private readonly streams = new Map<string, RandomStream>();

  constructor(readonly seed: number, readonly run = 0) {
    if (!Number.isInteger(seed) || seed < 0 || seed > Number.MAX_SAFE_INTEGER) {
      throw new RangeError(`seed ${seed} is not allowed; use a non-negative integer`);
    }
    if (!Number.isInteger(run) || run < 0 || run > 0xffffffff) {
      throw new RangeError(`run ${run} is not allowed; use an integer in 0..4294967295`);
    }
  }

  /** The stream with this name (created on first use; the same object afterwards). */
  stream(name: string): RandomStream {
    let s = this.streams.get(name);
    if (s === undefined) {
      s = new RandomStream(name, this.seed, this.run);
      this.streams.set(name, s);
    }
    return s;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
