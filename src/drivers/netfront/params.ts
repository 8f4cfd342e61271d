/**
 * Parameters of xen-netfront (group `netfront`): the module parameters and driver choices of the
 * guest driver, and the guest-CPU cost of each of its steps.
 *
 * Hypercall and event-channel costs (EVTCHNOP_send, upcalls, multicalls for page flipping) belong to
 * the `xen` group and are charged by the hypervisor model; the costs here are the driver's own
 * work between hypercalls. Where no published per-step figure exists the default is an estimate
 * and `models` says so; reference/performance.md bounds the totals (a PV guest spends on the order
 * of 1-3 µs of CPU per packet in netfront on current x86).
 */
import { bool, choice, defineParams, int, num } from '../../params';
import type { GroupValues } from '../../params/registry';

export const NETFRONT_PARAMS = defineParams('netfront', {
  design: choice({
    default: 'modern', choices: ['modern', 'classic'] as const,
    help: "Which netfront to model: 'modern' (Linux 6.x: fill every rx slot, broken-state checks) or 'classic' (2.6.18-xen: adaptive rx_target, optional page flipping, half-outstanding tx event).",
    models: 'torvalds/linux drivers/net/xen-netfront.c vs bronson/linux-2.6.18.8-ovz-xen drivers/xen/netfront/netfront.c',
  }),
  rx_mode: choice({
    default: 'copy', choices: ['copy', 'flip'] as const,
    help: "Classic netfront only: ask the backend to copy into our buffers ('copy', MODPARM_rx_copy) or to transfer pages ('flip', MODPARM_rx_flip). Modern netfront always copies.",
    models: '2.6.18 netfront module params rx_copy / rx_flip; copying_receiver = (rx_copy && feature-rx-copy) || (rx_flip && !feature-rx-flip)',
  }),
  max_queues: int({
    default: 1, min: 1, max: 8, unit: 'queues',
    help: 'Most queues the frontend asks for; the number used is min(this, backend multi-queue-max-queues).',
    models: 'xen-netfront module_param max_queues (default min(8, online CPUs); 1 vCPU guests get 1)',
  }),
  trusted: bool({
    default: true,
    help: 'Whether the backend is trusted; when false every transmitted skb is bounced into freshly zeroed pages (XSA-403).',
    models: 'xen-netfront module_param trusted (and the frontend xenstore node `trusted`)',
  }),
  lateeoi: bool({
    default: true,
    help: "Modern netfront binds its event channels with Linux's lateeoi irq chip (XSA-391): an event masks its port until the handler EOIs, flagged spurious when it found no new tx or rx responses, and a run of spurious events delays the unmask by jiffies (a backend storming events cannot keep the guest's vCPU busy); an rx rsp_prod going backwards marks the device broken and its channels stay masked. false models netfront before that fix. Classic (2.6.18) netfront never uses it.",
    models: 'torvalds/linux drivers/net/xen-netfront.c bind_evtchn_to_irqhandler_lateeoi(), xennet_tx_interrupt(), xennet_rx_interrupt() (Linux 5.16 and the XSA-391 stable backports)',
  }),
  tx_gc_in_xmit: bool({
    default: false,
    help: "Modern netfront also reaps tx responses at the end of xennet_start_xmit (xennet_tx_buf_gc), as Linux did until 2025. With lateeoi the tx interrupt then often finds the responses already reaped: a spurious event, and a run of them delays the EOI by a jiffy while the queue waits for slots — the throughput loss XCP-ng measured (4.5 Gb/s vm → dom0, 11.5 Gb/s once fixed). false: only the interrupt handler reaps them (the fix). Classic (2.6.18) netfront always reaps in network_start_xmit.",
    models: 'torvalds/linux drivers/net/xen-netfront.c xennet_start_xmit(): the xennet_tx_buf_gc() call removed by "xen/netfront: Fix TX response spurious interrupts" (Anthoine Bourgeois, July 2025, Linux 6.17 and stable backports)',
  }),
  hz: int({
    default: 250, min: 100, max: 1000, unit: 'Hz',
    help: "CONFIG_HZ of the guest kernel: the lateeoi unmask delay after spurious events counts jiffies of 1/HZ s (100, 250 or 1000).",
    models: 'linux include/linux/jiffies.h; drivers/xen/events/events_base.c xen_irq_lateeoi_locked() delays in jiffies; Debian kernels use CONFIG_HZ=250',
  }),
  spurious_threshold: int({
    default: 0, min: 0, max: 65535, unit: 'events',
    help: "How many spurious events in a row (events that found no new responses) a netfront channel may raise before its unmask is delayed; 0 is the kernel's default, 1. The delay is then 1 << (count - 1 - threshold) jiffies, at most HZ (netfront.hz).",
    models: 'torvalds/linux drivers/xen/xenbus/xenbus_probe.c sysfs spurious_threshold of the vif xenbus device (guest side); drivers/xen/events/events_base.c xen_irq_lateeoi_locked()',
  }),
  rx_pool_pages: int({
    default: 512, min: 32, max: 8192, unit: 'pages',
    help: 'Guest pages in each queue\'s receive page pool: 256 can sit in the ring, the rest in skbs the stack still holds. When it runs dry the refill is deferred to the timer.',
    models: 'xen-netfront page_pool (pool_size NET_RX_RING_SIZE, backed by the page allocator); the model bounds it',
  }),
  gro: bool({
    default: true,
    help: "Generic Receive Offload in the guest (ethtool -K eth0 gro on|off in the domU): netfront hands what it receives to napi_gro_receive, which merges the in-order TCP/IPv4 segments of a flow that one poll delivers. The 2.6.18 netfront has no GRO.",
    models: 'linux xen-netfront handle_incoming_queue napi_gro_receive(); NETIF_F_GRO on by default (NETIF_F_SOFT_FEATURES)',
  }),
  napi_budget: int({
    default: 64, min: 1, max: 1024, unit: 'packets',
    help: 'NAPI weight of each queue: packets xennet_poll may deliver per call before yielding.',
    models: 'netif_napi_add default weight NAPI_POLL_WEIGHT = 64',
  }),
  rx_refill_timer_ns: int({
    default: 100_000_000, min: 1, unit: 'ns',
    help: 'Delay of the rx refill timer armed when too few buffers could be posted (HZ/10).',
    models: 'xen-netfront xennet_alloc_rx_buffers mod_timer(jiffies + HZ/10)',
  }),
  softirq_latency_ns: int({
    default: 1000, min: 0, unit: 'ns',
    help: 'Time from napi_schedule (in the interrupt handler) to xennet_poll running in NET_RX softirq.',
    models: 'estimate: raise_softirq on irq exit runs the softirq immediately unless the CPU is busy',
  }),
  start_xmit_ns: int({
    default: 250, min: 0, unit: 'ns',
    help: 'Guest CPU per transmitted packet for xennet_start_xmit itself (queue select, checks, tx_lock, stats), excluding slots.',
    models: 'estimate (a few hundred ns of driver code per packet on current x86)',
  }),
  tx_slot_ns: int({
    default: 60, min: 0, unit: 'ns',
    help: 'Guest CPU per tx request slot: id from the free list, claim a grant ref, write the grant entry and the 12-byte request.',
    models: 'estimate (xennet_tx_setup_grant + gnttab_grant_foreign_access_ref: a few cache lines)',
  }),
  tx_gc_ns: int({
    default: 80, min: 0, unit: 'ns',
    help: 'Guest CPU per tx response reaped by xennet_tx_buf_gc (end foreign access, release the ref, free the id and the skb).',
    models: 'estimate (gnttab_end_foreign_access_ref is a cmpxchg on the grant entry)',
  }),
  irq_ns: int({
    default: 150, min: 0, unit: 'ns',
    help: 'Guest CPU of the netfront interrupt handler (xennet_tx_interrupt / xennet_rx_interrupt) excluding the work it does.',
    models: 'estimate (handler entry, lock, lateeoi)',
  }),
  napi_schedule_ns: int({
    default: 100, min: 0, unit: 'ns',
    help: 'Guest CPU to schedule NAPI and enter the NET_RX softirq for one poll.',
    models: 'estimate (napi_schedule + net_rx_action overhead per poll)',
  }),
  rx_refill_ns: int({
    default: 120, min: 0, unit: 'ns',
    help: 'Guest CPU per rx buffer posted: allocate a page from the page pool, claim a ref, grant it writable, write the request.',
    models: 'estimate (xennet_alloc_one_rx_buffer + gnttab_page_grant_foreign_access_ref_one)',
  }),
  rx_slot_ns: int({
    default: 100, min: 0, unit: 'ns',
    help: 'Guest CPU per rx response slot in xennet_get_responses (copy the response, end foreign access, release the ref).',
    models: 'estimate',
  }),
  rx_packet_ns: int({
    default: 300, min: 0, unit: 'ns',
    help: 'Guest CPU per received packet to build the skb (frags, checksum state, eth_type_trans) before it is handed to the stack.',
    models: 'estimate (xennet_poll per-packet work + handle_incoming_queue)',
  }),
  copy_byte_ns: num({
    default: 0.1, min: 0, unit: 'ns/byte',
    help: 'Guest CPU per byte copied by the driver (the up to 256-byte header pull on receive, bounce buffers on transmit).',
    models: 'performance.md: ~10 GB/s memcpy on current x86',
  }),
  flip_remap_ns: int({
    default: 1500, min: 0, unit: 'ns',
    help: 'Classic page flipping: guest CPU per received page to remap it (update_va_mapping + MMU_MACHPHYS_UPDATE in a multicall).',
    models: 'estimate; Menon et al. ATC 2006 and Santos et al. ATC 2008 found flipping more expensive than copying',
  }),
  flip_release_ns: int({
    default: 800, min: 0, unit: 'ns',
    help: 'Classic page flipping: guest CPU per posted buffer to zap its PTE and give the page back (XENMEM_decrease_reservation).',
    models: 'estimate (2.6.18 network_alloc_rx_buffers multicall per batch)',
  }),
});

export type NetfrontParams = GroupValues<typeof NETFRONT_PARAMS.specs>;
