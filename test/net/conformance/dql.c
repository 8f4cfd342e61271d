/*
 * Drives Linux's dynamic queue limits (the algorithm behind Byte Queue Limits) as the kernel
 * compiles it. The test (test/net/dql-conformance.test.ts) extracts from Debian's linux-source
 * into the build directory, never into the repository:
 *   dql_kernel.h   struct dql, DQL_MAX_OBJECT, DQL_MAX_LIMIT, dql_queued() and dql_avail()
 *                  (include/linux/dynamic_queue_limits.h), verbatim
 *   dql_kernel.c   the POSDIFF and AFTER_EQ macros, dql_completed(), dql_reset() and
 *                  dql_init() (lib/dynamic_queue_limits.c), verbatim
 * and compiles them with the kernel-side names they use stubbed below.
 *
 * Input, one operation per line:
 *   I hold_time jiffies    dql_init()
 *   Q count                dql_queued()
 *   C count jiffies        dql_completed()
 *   M min_limit max_limit  the sysfs limit_min / limit_max
 *   S num_queued adj_limit last_obj_cnt limit num_completed prev_ovlimit prev_num_queued
 *     prev_last_obj_cnt lowest_slack slack_start_time
 *                          sets the state (to reach states near the 2^32 wrap)
 * Output after each: the whole state and dql_avail(), or "BUG" where a BUG_ON fired (the state is
 * then left as it was).
 * First lines out: the constants, "K name value" each.
 */
#include <stdio.h>
#include <stdbool.h>
#include <limits.h>

#define ____cacheline_aligned_in_smp
#define READ_ONCE(x) (x)
#define barrier() do { } while (0)
#define max(a, b) ((a) > (b) ? (a) : (b))
#define min(a, b) ((a) < (b) ? (a) : (b))
#define clamp(val, lo, hi) min(max(val, lo), hi)
#define time_after(a, b) ((long)((b) - (a)) < 0)
#define EXPORT_SYMBOL(sym)

static int bug;
#define BUG_ON(cond) do { if (cond) { bug = 1; return; } } while (0)

static unsigned long jiffies;

#include "dql_kernel.h"
#include "dql_kernel.c"

static void print_state(const struct dql *d)
{
	if (bug) {
		printf("BUG\n");
		bug = 0;
		return;
	}
	printf("%u %u %u %u %u %u %u %u %u %lu %u %u %u %d\n",
	       d->num_queued, d->adj_limit, d->last_obj_cnt, d->limit, d->num_completed,
	       d->prev_ovlimit, d->prev_num_queued, d->prev_last_obj_cnt, d->lowest_slack,
	       d->slack_start_time, d->max_limit, d->min_limit, d->slack_hold_time, dql_avail(d));
}

int main(void)
{
	struct dql d = { 0 };
	char op;

	printf("K DQL_MAX_OBJECT %u\n", (unsigned int)DQL_MAX_OBJECT);
	printf("K DQL_MAX_LIMIT %u\n", (unsigned int)DQL_MAX_LIMIT);
	while (scanf(" %c", &op) == 1) {
		unsigned int a, b;
		unsigned long j;

		if (op == 'I') {
			if (scanf("%u %lu", &a, &j) != 2)
				return 2;
			jiffies = j;
			dql_init(&d, a);
		} else if (op == 'Q') {
			if (scanf("%u", &a) != 1)
				return 2;
			dql_queued(&d, a);
		} else if (op == 'C') {
			if (scanf("%u %lu", &a, &j) != 2)
				return 2;
			jiffies = j;
			dql_completed(&d, a);
		} else if (op == 'M') {
			if (scanf("%u %u", &a, &b) != 2)
				return 2;
			d.min_limit = a;
			d.max_limit = b;
		} else if (op == 'S') {
			if (scanf("%u %u %u %u %u %u %u %u %u %lu", &d.num_queued, &d.adj_limit,
				  &d.last_obj_cnt, &d.limit, &d.num_completed, &d.prev_ovlimit,
				  &d.prev_num_queued, &d.prev_last_obj_cnt, &d.lowest_slack,
				  &d.slack_start_time) != 10)
				return 2;
		} else {
			return 2;
		}
		print_state(&d);
	}
	return 0;
}
