/**
 * What netback needs from the rest of the host, as two narrow interfaces — the hypervisor
 * (grant-table ops, event channels, a dom0 page allocator) and dom0's network stack — so that
 * the driver depends on nothing it does not use. `src/topo` (or a test) builds them from the
 * real `src/xen` Hypervisor and dom0's NetStack.
 *
 * All hypercall methods return the virtual CPU ns the hypercall cost dom0 (the hypervisor also
 * charges the calling Domain), so netback adds it to the step that made the call.
 */
import type { GnttabCopyBatch, GnttabMapGrantRef, GnttabTransfer, GnttabUnmapGrantRef } from '../../xen/grant_table';
import type { HostMemory } from '../../xen/memory';
import type { Domain } from '../../xen/domain';
import type { SkBuff, SkbPool } from '../../net/skb';
import type { Cpu } from '../../sim/cpu';

export interface NetbackHypervisor {
  /** Machine memory of the host (to read mapped frames and to stage local copies). */
  readonly mem: HostMemory;
  /** The backend domain (dom0 or a driver domain). */
  readonly backend: Domain;
  /** GNTTABOP_copy over `n` ops; statuses land in the batch. Returns the cost in ns. */
  copy(ops: GnttabCopyBatch, n: number): number;
  /** GNTTABOP_map_grant_ref over `n` ops. Returns the cost in ns. */
  map(ops: GnttabMapGrantRef[], n: number): number;
  /** GNTTABOP_unmap_grant_ref over `n` ops. Returns the cost in ns. */
  unmap(ops: GnttabUnmapGrantRef[], n: number): number;
  /** GNTTABOP_transfer over `n` ops. Returns the cost in ns, or a negative errno for the whole call. */
  transfer(ops: GnttabTransfer[], n: number): number;
  /** EVTCHNOP_bind_interdomain + bind_evtchn_to_irqhandler: the local port, or a negative errno. */
  bindInterdomain(remoteDom: number, remotePort: number, handler: (port: number) => void): number;
  /** unbind_from_irqhandler + EVTCHNOP_close. */
  unbind(port: number): void;
  /** notify_remote_via_irq: EVTCHNOP_send on a bound local port. Returns the cost in ns. */
  send(port: number): number;
  /** A fresh dom0-owned RAM frame (balloon/increase_reservation); -1 when the host is out of memory. */
  allocPage(): number;
}

/** Dom0's network stack as netback uses it. */
export interface NetbackStack {
  /** The host's skb pool (netback allocates guest packets here and frees them after guest rx). */
  readonly pool: SkbPool;
  /** Dom0's CPU: netback's work is charged here. */
  readonly cpu: Cpu;
  /** Modern netback's guest-transmit delivery (from NAPI poll). */
  netif_receive_skb(skb: SkBuff): void;
  /** Classic netback's guest-transmit delivery (to the backlog). */
  netif_rx(skb: SkBuff): void;
  /** Dom0's flow-hash secret (NetStack.hashrnd), for picking a vif queue; 0 when absent. */
  readonly hashrnd?: number;
}
