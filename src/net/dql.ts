/**
 * Dynamic queue limits: the algorithm behind Byte Queue Limits (BQL), which keeps a NIC's
 * transmit ring only as full as it must be to never run dry, so that the rest of the backlog
 * waits in the qdisc (where it can be scheduled) instead of in the hardware ring.
 *
 * The driver reports bytes it posts (`dql_queued`, through netdev_tx_sent_queue) and bytes the
 * hardware finished (`dql_completed`, once per completion round, through
 * netdev_tx_completed_queue). When the queue ran dry while over its limit (starved), the limit
 * grows by what was sent and completed in the interval; when it stayed busy, the smallest excess
 * ("slack") seen over `slack_hold_time` jiffies is taken off it.
 *
 * Every field is a C `unsigned int` and wraps at 2^32 as in the kernel (`>>> 0` after each
 * operation); jiffies are the caller's (the model's HZ), compared with time_after().
 *
 * @models torvalds/linux lib/dynamic_queue_limits.c dql_completed(), dql_reset(), dql_init();
 *   include/linux/dynamic_queue_limits.h dql_queued(), dql_avail()
 */

/** UINT_MAX */
const UINT_MAX = 0xffffffff;
/** DQL_MAX_OBJECT: UINT_MAX / 16, the most one dql_queued may add. */
export const DQL_MAX_OBJECT = Math.floor(UINT_MAX / 16);
/** DQL_MAX_LIMIT: (UINT_MAX / 2) - DQL_MAX_OBJECT, the default and largest limit_max. */
export const DQL_MAX_LIMIT = Math.floor(UINT_MAX / 2) - DQL_MAX_OBJECT;

/** POSDIFF(A, B): (int)(A - B) > 0 ? A - B : 0, in unsigned int. */
function posdiff(a: number, b: number): number {
  const d = (a - b) | 0;
  return d > 0 ? d >>> 0 : 0;
}

/** struct dql */
export class Dql {
  // Fields accessed in enqueue path (dql_queued)
  /** Total ever queued. */
  num_queued = 0;
  /** limit + num_completed */
  adj_limit = 0;
  /** Count at last queuing. */
  last_obj_cnt = 0;
  // Fields accessed only by the completion path (dql_completed)
  /** Current limit. */
  limit = 0;
  /** Total ever completed. */
  num_completed = 0;
  /** Previous over limit. */
  prev_ovlimit = 0;
  /** Previous queue total. */
  prev_num_queued = 0;
  /** Previous queuing count. */
  prev_last_obj_cnt = 0;
  /** Lowest slack found. */
  lowest_slack = UINT_MAX;
  /** Time (jiffies) slacks seen. */
  slack_start_time = 0;
  // Configuration
  max_limit = DQL_MAX_LIMIT;
  min_limit = 0;
  /** Jiffies over which the lowest slack is measured before the limit is lowered by it. */
  slack_hold_time = 0;
}

/**
 * Sets the configuration (max DQL_MAX_LIMIT, min 0, the hold time) and resets the state;
 * `netdev_init_one_queue` calls it with HZ (one second).
 * @models torvalds/linux lib/dynamic_queue_limits.c dql_init()
 */
export function dql_init(dql: Dql, holdTime: number, jiffies: number): void {
  dql.max_limit = DQL_MAX_LIMIT;
  dql.min_limit = 0;
  dql.slack_hold_time = holdTime >>> 0;
  dql_reset(dql, jiffies);
}

/** @models torvalds/linux lib/dynamic_queue_limits.c dql_reset() */
export function dql_reset(dql: Dql, jiffies: number): void {
  dql.limit = dql.min_limit;
  dql.num_queued = 0;
  dql.num_completed = 0;
  dql.last_obj_cnt = 0;
  dql.prev_num_queued = 0;
  dql.prev_last_obj_cnt = 0;
  dql.prev_ovlimit = 0;
  dql.lowest_slack = UINT_MAX;
  dql.slack_start_time = jiffies;
}

/**
 * Records `count` objects (bytes) queued; the caller has checked dql_avail.
 * @models torvalds/linux include/linux/dynamic_queue_limits.h dql_queued()
 */
export function dql_queued(dql: Dql, count: number): void {
  if (count > DQL_MAX_OBJECT) throw new Error(`dql_queued: count ${count} > DQL_MAX_OBJECT ${DQL_MAX_OBJECT} (BUG_ON in Linux)`);
  dql.last_obj_cnt = count;
  dql.num_queued = (dql.num_queued + count) >>> 0;
}

/**
 * How many more objects may be queued; negative means over the limit.
 * @models torvalds/linux include/linux/dynamic_queue_limits.h dql_avail()
 */
export function dql_avail(dql: Dql): number {
  return (dql.adj_limit - dql.num_queued) | 0;
}

/**
 * Records `count` objects completed and recalculates the limit. `jiffies` is the time now.
 * @models torvalds/linux lib/dynamic_queue_limits.c dql_completed()
 */
export function dql_completed(dql: Dql, count: number, jiffies: number): void {
  const num_queued = dql.num_queued;
  // Can't complete more than what's in queue.
  if (count > ((num_queued - dql.num_completed) >>> 0)) {
    throw new Error(`dql_completed: count ${count} > ${(num_queued - dql.num_completed) >>> 0} in the queue (BUG_ON in Linux)`);
  }
  const completed = (dql.num_completed + count) >>> 0;
  let limit = dql.limit;
  let ovlimit = posdiff((num_queued - dql.num_completed) >>> 0, limit);
  const inprogress = (num_queued - completed) >>> 0;
  const prev_inprogress = (dql.prev_num_queued - dql.num_completed) >>> 0;
  const all_prev_completed = ((completed - dql.prev_num_queued) | 0) >= 0;

  if ((ovlimit !== 0 && inprogress === 0) || (dql.prev_ovlimit !== 0 && all_prev_completed)) {
    // Starved: over the limit in the last interval and now empty (or possibly emptied between
    // completion and the next enqueue): grow by what was sent and completed, plus the previous
    // over-limit.
    limit = (limit + posdiff(completed, dql.prev_num_queued) + dql.prev_ovlimit) >>> 0;
    dql.slack_start_time = jiffies;
    dql.lowest_slack = UINT_MAX;
  } else if (inprogress !== 0 && prev_inprogress !== 0 && !all_prev_completed) {
    // Busy the whole interval: the excess over twice what completed (or the last queuing's part
    // not over the previous limit) is slack; the lowest over the hold time comes off the limit.
    let slack = posdiff((limit + dql.prev_ovlimit) >>> 0, (2 * ((completed - dql.num_completed) >>> 0)) >>> 0);
    const slack_last_objs = dql.prev_ovlimit !== 0 ? posdiff(dql.prev_last_obj_cnt, dql.prev_ovlimit) : 0;
    if (slack_last_objs > slack) slack = slack_last_objs;
    if (slack < dql.lowest_slack) dql.lowest_slack = slack;
    // time_after(jiffies, slack_start_time + slack_hold_time)
    if (jiffies > dql.slack_start_time + dql.slack_hold_time) {
      limit = posdiff(limit, dql.lowest_slack);
      dql.slack_start_time = jiffies;
      dql.lowest_slack = UINT_MAX;
    }
  }

  // Enforce bounds on limit: clamp(limit, min_limit, max_limit).
  limit = Math.min(Math.max(limit, dql.min_limit), dql.max_limit);
  if (limit !== dql.limit) {
    dql.limit = limit;
    ovlimit = 0;
  }
  dql.adj_limit = (limit + completed) >>> 0;
  dql.prev_ovlimit = ovlimit;
  dql.prev_last_obj_cnt = dql.last_obj_cnt;
  dql.num_completed = completed;
  dql.prev_num_queued = num_queued;
}
