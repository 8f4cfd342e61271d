/*
 * Drives ixgbe's adaptive interrupt moderation as Linux compiles it. The test
 * (test/drivers/nic/itr-conformance.test.ts) extracts from Debian's linux-source into the build
 * directory, never into the repository:
 *   ixgbe_defs.h   the IXGBE_* constants it needs and struct ixgbe_ring_container (ixgbe.h,
 *                  ixgbe_type.h)
 *   ixgbe_itr.c    ixgbe_update_itr() and ixgbe_set_itr() (ixgbe_main.c), verbatim
 * and compiles them with the kernel-side names they use stubbed below.
 *
 * Input, one case per line:
 *   U jiffies vector_itr link_speed next_update packets bytes itr
 *       -> "U itr next_update packets bytes" of the container after ixgbe_update_itr()
 *   S jiffies vector_itr link_speed  (next_update packets bytes itr) for tx, then for rx
 *       -> "S vector_itr eitr_writes tx_itr rx_itr" after ixgbe_set_itr()
 * First line out: the constants, "C name value" each.
 */
#include <stdio.h>

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;

#define min(a, b) ((a) < (b) ? (a) : (b))
#define DIV_ROUND_UP(n, d) (((n) + (d) - 1) / (d))
#define time_after(a, b) ((long)((b) - (a)) < 0)

static unsigned long jiffies;

struct ixgbe_ring {
	int unused;
};

#include "ixgbe_defs.h"

struct ixgbe_adapter {
	u32 link_speed;
};

struct ixgbe_q_vector {
	struct ixgbe_adapter *adapter;
	struct ixgbe_ring_container rx, tx;
	u16 itr;
};

static int eitr_writes;

static void ixgbe_write_eitr(struct ixgbe_q_vector *q_vector)
{
	(void)q_vector;
	eitr_writes++;
}

#include "ixgbe_itr.c"

static struct ixgbe_ring a_ring;

static int read_container(struct ixgbe_ring_container *rc)
{
	unsigned long next;
	unsigned int packets, bytes, itr;

	if (scanf("%lu %u %u %u", &next, &packets, &bytes, &itr) != 4)
		return 0;
	rc->ring = &a_ring;
	rc->next_update = next;
	rc->total_packets = packets;
	rc->total_bytes = bytes;
	rc->itr = (u8)itr;
	return 1;
}

int main(void)
{
	struct ixgbe_adapter adapter = { 0 };
	struct ixgbe_q_vector qv = { 0 };
	char op;

	printf("C IXGBE_ITR_ADAPTIVE_MIN_INC %d\n", IXGBE_ITR_ADAPTIVE_MIN_INC);
	printf("C IXGBE_ITR_ADAPTIVE_MIN_USECS %d\n", IXGBE_ITR_ADAPTIVE_MIN_USECS);
	printf("C IXGBE_ITR_ADAPTIVE_MAX_USECS %d\n", IXGBE_ITR_ADAPTIVE_MAX_USECS);
	printf("C IXGBE_ITR_ADAPTIVE_LATENCY %d\n", IXGBE_ITR_ADAPTIVE_LATENCY);
	printf("C IXGBE_20K_ITR %d\n", IXGBE_20K_ITR);
	printf("C IXGBE_MAX_EITR %d\n", IXGBE_MAX_EITR);
	qv.adapter = &adapter;
	while (scanf(" %c", &op) == 1) {
		unsigned long j;
		unsigned int vitr, speed;

		if (scanf("%lu %u %u", &j, &vitr, &speed) != 3)
			return 2;
		jiffies = j;
		qv.itr = (u16)vitr;
		adapter.link_speed = speed;
		if (op == 'U') {
			if (!read_container(&qv.rx))
				return 2;
			ixgbe_update_itr(&qv, &qv.rx);
			printf("U %u %lu %u %u\n", qv.rx.itr, qv.rx.next_update, qv.rx.total_packets, qv.rx.total_bytes);
		} else if (op == 'S') {
			if (!read_container(&qv.tx) || !read_container(&qv.rx))
				return 2;
			eitr_writes = 0;
			ixgbe_set_itr(&qv);
			printf("S %u %d %u %u\n", qv.itr, eitr_writes, qv.tx.itr, qv.rx.itr);
		} else {
			return 2;
		}
	}
	return 0;
}
