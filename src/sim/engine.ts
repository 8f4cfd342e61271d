/**
 * The JavaScript engine's inlining budget, raised for the model.
 *
 * A packet crosses some forty modeled steps (xennet_start_xmit, xenvif_tx_build_gops,
 * netif_receive_skb, br_handle_frame, ixgbe_xmit_frame, …), each a small method calling a few
 * smaller ones (ring accessors, grant checks, Cpu.run, the skb helpers). V8's optimizing compiler
 * stops inlining callees into a function once it has inlined 920 bytes of their bytecode
 * (`--max-inlined-bytecode-size-cumulative`), and never inlines one over 460 bytes; past that
 * every step is a real call with its argument checks. Raising the budgets lets the hot paths
 * compile as the long straight chains they are.
 *
 * Measured with `npm run bench -- tx rx` against the defaults, alternating runs in one session on
 * the project machine: full guest-transmit path +10-20 %, guest-receive +15 %. `--stress-inline`
 * (no limits) is slower (-10 to -40 %): code grows past what the caches hold.
 *
 * The flags change only how V8 compiles, never what the model computes. They are set when the
 * package is loaded (src/index.ts, so the notebook kernel gets them) and by `npm run bench`, before
 * any model function has been optimized. Set XEN_NETLAB_ENGINE_DEFAULTS=1 to keep V8's defaults.
 */
import { setFlagsFromString } from 'node:v8';

/** The V8 flags, as `node` takes them on its command line. */
export const ENGINE_FLAGS: readonly string[] = [
  '--max-inlined-bytecode-size=2000',
  '--max-inlined-bytecode-size-cumulative=8000',
  '--max-inlined-bytecode-size-absolute=20000',
];

let tuned = false;

/**
 * Sets ENGINE_FLAGS once per process (later calls do nothing). Returns whether they are set.
 * Code already optimized keeps its old budget, so call it before running the model.
 */
export function tuneEngine(env: Record<string, string | undefined> = process.env): boolean {
  if (tuned) return true;
  if (env.XEN_NETLAB_ENGINE_DEFAULTS === '1') return false;
  setFlagsFromString(ENGINE_FLAGS.join(' '));
  tuned = true;
  return true;
}
