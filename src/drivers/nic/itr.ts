/**
 * ixgbe's interrupt moderation: the EITR interval of a queue vector, fixed (`ethtool -C eth0
 * rx-usecs N`, N ≥ 2), off (rx-usecs 0: interrupt at once) or adaptive (rx-usecs 1, the default).
 *
 * Adaptive moderation re-tunes the interval each time the vector's NAPI poll completes
 * (`ixgbe_poll` → `ixgbe_set_itr`). The driver keeps per direction (rx, tx) what the rings did
 * since the last update and turns it into a wanted delay, `ixgbe_update_itr`:
 *
 *   no update for over a jiffy ─────────► 10 µs, latency mode (the traffic is slow or NAPI is busy)
 *   0 packets ──────────────────────────► current + 2 µs (≤ 126), keeping the latency flag
 *   < 4 packets and < 9000 bytes ───────► latency mode, delay from the average frame size, halved
 *   4..47 packets ──────────────────────► current + 2 µs (≤ 126)
 *   48..95 ─────────────────────────────► current        ("goldilocks")
 *   96..255 ────────────────────────────► current / 2 (≥ 10)
 *   ≥ 256 ──────────────────────────────► bulk: delay from the average frame size
 *
 * and `ixgbe_set_itr` takes the smaller of the two, drops the latency flag and writes the EITR.
 * From the average frame size (bytes / packets), a delay of roughly 170 (size + 24) / (size + 640)
 * µs, in steps of 2 µs on a 10 GbE link: 1514-byte frames give 118 µs (~8.5 k interrupts/s) in bulk
 * mode, 60 µs in latency mode.
 *
 * Units as in the driver: `q_vector->itr` holds the interval in µs × 4 (IXGBE_20K_ITR = 200 is
 * 50 µs); the register keeps its bits 3–11 (IXGBE_MAX_EITR), so the hardware interval is
 * (itr & 0xFF8) / 4 µs. A ring container's `itr` holds µs plus the IXGBE_ITR_ADAPTIVE_LATENCY
 * flag (0x80).
 *
 * @models linux drivers/net/ethernet/intel/ixgbe/ixgbe_main.c ixgbe_update_itr(), ixgbe_set_itr(),
 *   ixgbe_write_eitr(), ixgbe_alloc_q_vector() (initial values); ixgbe_ethtool.c ixgbe_set_coalesce()
 */

/** IXGBE_ITR_ADAPTIVE_MIN_INC: the step of an adaptive delay, in µs. */
export const ITR_ADAPTIVE_MIN_INC = 2;
/** IXGBE_ITR_ADAPTIVE_MIN_USECS */
export const ITR_ADAPTIVE_MIN_USECS = 10;
/** IXGBE_ITR_ADAPTIVE_MAX_USECS */
export const ITR_ADAPTIVE_MAX_USECS = 126;
/** IXGBE_ITR_ADAPTIVE_LATENCY: the flag bit of a ring container's itr. */
export const ITR_ADAPTIVE_LATENCY = 0x80;
/** IXGBE_20K_ITR: a vector's itr (µs × 4) when adaptive moderation starts. */
export const IXGBE_20K_ITR = 200;
/** IXGBE_MAX_EITR: the bits of itr the EITR register keeps. */
export const IXGBE_MAX_EITR = 0x0ff8;
/** ixgbe_set_coalesce: the largest rx-usecs (IXGBE_MAX_EITR >> 2). */
export const RX_USECS_MAX = IXGBE_MAX_EITR >> 2;

/** What one direction's rings did since the last update (struct ixgbe_ring_container). */
export interface RingContainer {
  /** Wanted delay in µs, with ITR_ADAPTIVE_LATENCY or not (a u8, as in the driver). */
  itr: number;
  total_packets: number;
  total_bytes: number;
  /** The jiffy by which the next update is due. */
  next_update: number;
}

export function newRingContainer(): RingContainer {
  // ixgbe_alloc_q_vector: "maximum possible latency" until the first update.
  return { itr: ITR_ADAPTIVE_MAX_USECS | ITR_ADAPTIVE_LATENCY, total_packets: 0, total_bytes: 0, next_update: 0 };
}

/** The link speeds whose ITR register counts in 4× coarser steps than at 10 GbE (1G, 2.5G, 10M). */
export function slowItrLink(lineRateBps: number): boolean {
  return lineRateBps === 1e9 || lineRateBps === 2.5e9 || lineRateBps === 10e6;
}

/**
 * Computes the delay one direction wants from what its rings did, and clears the counts.
 * `vectorItr` is the vector's current itr (µs × 4); `jiffies` now.
 * @models linux ixgbe_main.c ixgbe_update_itr()
 */
export function ixgbe_update_itr(vectorItr: number, rc: RingContainer, jiffies: number, slowLink: boolean): void {
  let itr = ITR_ADAPTIVE_MIN_USECS | ITR_ADAPTIVE_LATENCY;
  update: {
    if (jiffies > rc.next_update) break update; // no update within 1-2 jiffies
    const packets = rc.total_packets;
    if (packets === 0) {
      itr = Math.min((vectorItr >>> 2) + ITR_ADAPTIVE_MIN_INC, ITR_ADAPTIVE_MAX_USECS) + (rc.itr & ITR_ADAPTIVE_LATENCY);
      break update;
    }
    const bytes = rc.total_bytes;
    if (packets < 4 && bytes < 9000) {
      itr = ITR_ADAPTIVE_LATENCY;
    } else if (packets < 48) {
      itr = Math.min((vectorItr >>> 2) + ITR_ADAPTIVE_MIN_INC, ITR_ADAPTIVE_MAX_USECS);
      break update;
    } else if (packets < 96) {
      itr = vectorItr >>> 2;
      break update;
    } else if (packets < 256) {
      itr = Math.max(vectorItr >>> 3, ITR_ADAPTIVE_MIN_USECS);
      break update;
    } else {
      itr = 0; // IXGBE_ITR_ADAPTIVE_BULK
    }
    itr += delayForSize(Math.floor(bytes / packets), (itr & ITR_ADAPTIVE_LATENCY) !== 0, slowLink);
  }
  rc.itr = itr & 0xff; // ring_container->itr is a u8
  rc.next_update = jiffies + 1;
  rc.total_bytes = 0;
  rc.total_packets = 0;
}

/** The delay (µs, a multiple of 2) for frames of `avgWireSize` bytes (ixgbe_update_itr's adjust_by_size). */
function delayForSize(avgWireSize: number, latency: boolean, slowLink: boolean): number {
  // ~ 256 × 170 (size + 24) / (size + 640), piecewise linear
  let v: number;
  if (avgWireSize <= 60) v = 5120; // 50 k interrupts/s
  else if (avgWireSize <= 316) v = avgWireSize * 40 + 2720;
  else if (avgWireSize <= 1084) v = avgWireSize * 15 + 11452;
  else if (avgWireSize < 1968) v = avgWireSize * 5 + 22420;
  else v = 32256; // 8 k interrupts/s
  if (latency) v >>>= 1;
  if (!slowLink) return Math.ceil(v / (ITR_ADAPTIVE_MIN_INC * 256)) * ITR_ADAPTIVE_MIN_INC;
  return Math.ceil(Math.min(v, 8064) / (ITR_ADAPTIVE_MIN_INC * 64)) * ITR_ADAPTIVE_MIN_INC;
}

/**
 * Both directions' updates, then the smaller delay, without the latency flag, as the vector's
 * itr (µs × 4). Returns the new itr.
 * @models linux ixgbe_main.c ixgbe_set_itr()
 */
export function ixgbe_set_itr(vectorItr: number, tx: RingContainer, rx: RingContainer, jiffies: number, slowLink: boolean): number {
  ixgbe_update_itr(vectorItr, tx, jiffies, slowLink);
  ixgbe_update_itr(vectorItr, rx, jiffies, slowLink);
  return (Math.min(rx.itr, tx.itr) & ~ITR_ADAPTIVE_LATENCY) << 2;
}

/** The vector's itr when the interface comes up with rx-usecs `rxUsecs` (ixgbe_set_coalesce, ixgbe_alloc_q_vector). */
export function initialItr(rxUsecs: number): number {
  return rxUsecs === 1 ? IXGBE_20K_ITR : rxUsecs << 2;
}

/** The interval the hardware throttles to for a vector itr, in ns (ixgbe_write_eitr: itr & IXGBE_MAX_EITR, µs × 4). */
export function eitrIntervalNs(vectorItr: number): number {
  return (vectorItr & IXGBE_MAX_EITR) * 250;
}
