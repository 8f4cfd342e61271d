/**
 * Guest-receive full-path figures (issue #6, "Figures to reach"):
 *
 * - rx.full_path_pps (= the default design, modern), rx.full_path_pps_modern, _classic: the
 *   external host sends 1500-byte IP packets (1472 bytes of UDP payload) to a socket in the guest:
 *   its NIC, the wire, dom0's ixgbe, netif_receive_skb, xenbr0, the vif, netback's guest-receive
 *   path (grant copy; classic: page flipping or copy as negotiated), the rx ring, netfront's poll
 *   and the guest stack, tracing off. Packets per wall-clock second counted at the guest socket.
 * - rx.full_path_pps_traced: the same (modern) with a recorder subscribed to every trace event.
 *
 * Offered load and the baseline: see src/bench/fullpath.ts. vs_baseline = the model's rate over
 * the baseline's rate (a bare ring push/pop plus one 1500-byte copy per packet), same run.
 */
import type { BenchContext } from './harness';
import { reportFullPath } from './fullpath-report';

export function run(ctx: BenchContext): void {
  reportFullPath(ctx, 'rx');
}
