/**
 * Parameters of xen-netback (group `netback`): the real module parameters of
 * drivers/net/xen-netback (modern) and drivers/xen/netback (2.6.18), the design chosen per vif,
 * and the CPU cost of each modeled step.
 *
 * Costs are virtual nanoseconds charged to dom0's CPU. Hypercall costs (grant copy/map/unmap/
 * transfer, event-channel send) are NOT here: they belong to the hypervisor (group `xen`) and are
 * added to the cost of the step that makes the hypercall.
 */
import { bool, choice, defineParams, int, num } from '../../params';

export const NETBACK_PARAMS = defineParams('netback', {
  design: choice({
    default: 'modern', choices: ['modern', 'classic'] as const,
    help: "Which netback a new vif runs: 'modern' (NAPI, grant copy of the header + grant map, kthreads) or 'classic' (2.6.18: tasklets, grant map of every slot, page flipping on receive).",
    models: 'torvalds/linux drivers/net/xen-netback vs bronson/linux-2.6.18.8-ovz-xen drivers/xen/netback',
  }),
  fatal_skb_slots: int({
    default: 20, min: 18, max: 256, unit: 'slots',
    help: 'A guest packet chaining this many tx slots is treated as malicious: the vif is disabled (modern design).',
    models: 'torvalds/linux drivers/net/xen-netback/netback.c module_param fatal_skb_slots (FATAL_SKB_SLOTS_DEFAULT 20; never below XEN_NETBK_LEGACY_SLOTS_MAX)',
  }),
  max_queues: int({
    default: 1, min: 1, max: 64, unit: 'queues',
    help: "Most queue pairs per vif the backend offers in multi-queue-max-queues. Linux's default is min(8, dom0's online CPUs): 1 for the model's one-CPU dom0; raise it (with netfront.max_queues) for several queues.",
    models: 'torvalds/linux drivers/net/xen-netback/netback.c module_param max_queues (0: min(MAX_QUEUES_DEFAULT 8, num_online_cpus()) at module init)',
  }),
  rx_drain_timeout_msecs: int({
    default: 10000, min: 1, max: 3_600_000, unit: 'ms',
    help: 'Packets waiting longer than this on a guest-receive queue are dropped (30 ms when the frontend lacks feature-rx-notify).',
    models: 'torvalds/linux drivers/net/xen-netback/netback.c module_param rx_drain_timeout_msecs',
  }),
  rx_stall_timeout_msecs: int({
    default: 60000, min: 0, max: 3_600_000, unit: 'ms',
    help: 'A guest that posts no rx buffers for this long is considered stalled and the vif carrier goes off (0 disables).',
    models: 'torvalds/linux drivers/net/xen-netback/netback.c module_param rx_stall_timeout_msecs',
  }),
  separate_tx_rx_irq: bool({
    default: true,
    help: 'Offer split tx/rx event channels (feature-split-event-channels).',
    models: 'torvalds/linux drivers/net/xen-netback/netback.c module_param separate_tx_rx_irq',
  }),
  rx_queue_max_bytes: int({
    default: 128 * 4096, min: 4096, max: 1 << 30, unit: 'bytes',
    help: 'Bytes a guest-receive queue may hold; beyond this the vif queue stops and packets are dropped (XSA-392).',
    models: 'torvalds/linux drivers/net/xen-netback/interface.c XENVIF_RX_QUEUE_BYTES (XEN_NETIF_RX_RING_SIZE/2 * PAGE_SIZE)',
  }),
  lateeoi: bool({
    default: true,
    help: "Modern netback binds its event channels with Linux's lateeoi irq chip (XSA-332): an event masks its port until netback has done the work, and events that find no work delay the unmask (a guest storming events cannot keep dom0 busy). false models netback before that fix: handlers re-enabled at once. Classic (2.6.18) vifs never use it.",
    models: 'torvalds/linux drivers/net/xen-netback/interface.c bind_interdomain_evtchn_to_irqhandler_lateeoi() (Linux 5.10 and the XSA-332 stable backports)',
  }),
  spurious_threshold: int({
    default: 0, min: 0, max: 65535, unit: 'events',
    help: "How many spurious events in a row (events that found no work) a vif's event channel may raise before its unmask is delayed; 0 is the kernel's default, 1. The delay is then 1 << (count - 1 - threshold) jiffies, at most HZ (dom0's HZ is the bridge.hz parameter).",
    models: 'torvalds/linux drivers/xen/xenbus/xenbus_probe.c sysfs spurious_threshold of the vif xenbus device; drivers/xen/events/events_base.c xen_irq_lateeoi_locked()',
  }),
  napi_weight: int({
    default: 64, min: 1, max: 1024, unit: 'packets',
    help: 'NAPI budget of one xenvif_poll (guest-transmit packets per poll).',
    models: 'torvalds/linux drivers/net/xen-netback/interface.c XENVIF_NAPI_WEIGHT 64',
  }),
  classic_queue_length: int({
    default: 500, min: 1, max: 100000, unit: 'packets',
    help: 'tx_queue_len of a classic (2.6.18) vif.',
    models: 'bronson/linux-2.6.18.8-ovz-xen drivers/xen/netback/interface.c netbk_queue_length 500',
  }),
  // ---- CPU costs (estimates: no per-step figures are published; order of magnitude from
  //      perf profiles of netback, cf. reference/performance.md) -------------------------------
  irq_ns: int({
    default: 300, min: 0, unit: 'ns',
    help: "CPU cost of netback's event-channel interrupt handler (xenvif_tx_interrupt / netif_be_int) including napi_schedule or tasklet_schedule.",
    models: 'estimate: irq entry, lateeoi bookkeeping and raising the softirq',
  }),
  poll_ns: int({
    default: 400, min: 0, unit: 'ns',
    help: 'Fixed CPU cost of one NAPI poll or tasklet run (softirq entry, ring checks, final check).',
    models: 'estimate (net_rx_action / tasklet_action overhead plus RING_FINAL_CHECK_FOR_REQUESTS)',
  }),
  tx_req_ns: int({
    default: 120, min: 0, unit: 'ns',
    help: 'CPU cost per tx slot read and validated (RING_COPY_REQUEST, count_requests, op setup).',
    models: 'estimate',
  }),
  tx_skb_ns: int({
    default: 350, min: 0, unit: 'ns',
    help: 'CPU cost per guest packet built into an skb (alloc, check_gop, fill_frags, checksum_setup, eth_type_trans).',
    models: 'estimate (alloc_skb ~100 ns, header parsing, frag setup)',
  }),
  tx_response_ns: int({
    default: 60, min: 0, unit: 'ns',
    help: 'CPU cost of writing one tx response and pushing it (make_tx_response + RING_PUSH_RESPONSES_AND_CHECK_NOTIFY).',
    models: 'estimate',
  }),
  dealloc_ns: int({
    default: 300, min: 0, unit: 'ns',
    help: 'Fixed CPU cost of one dealloc run (kthread wake-up or tasklet) before its unmap hypercall.',
    models: 'estimate',
  }),
  rx_skb_ns: int({
    default: 250, min: 0, unit: 'ns',
    help: 'CPU cost per packet placed into guest rx slots (dequeue, slot and response setup, copy op setup).',
    models: 'estimate',
  }),
  rx_kick_ns: int({
    default: 1500, min: 0, unit: 'ns',
    help: 'Latency from queueing a packet for the guest to the rx kthread (modern) or rx tasklet (classic) running.',
    models: 'estimate: wake_up() of a sleeping kthread and a context switch (~1-3 us); a tasklet runs sooner',
  }),
  kthread_cpu_share: num({
    default: 0.5, min: 0, max: 1, unit: 'fraction',
    help: 'Share of dom0\'s CPU a netback kthread (guest-rx, dealloc) gets while it stays runnable and softirq work keeps the CPU busy; 0 = it runs only when the CPU is idle.',
    models: 'linux: softirq work past MAX_SOFTIRQ_TIME (2 ms) moves to ksoftirqd, and CFS gives two runnable nice-0 tasks (ksoftirqd, the kthread) equal shares',
  }),
  xmit_ns: int({
    default: 150, min: 0, unit: 'ns',
    help: 'CPU cost of the vif ndo_start_xmit (xenvif_start_xmit / netif_be_start_xmit) queueing one packet.',
    models: 'estimate',
  }),
  memcpy_byte_ns_x1000: int({
    default: 100, min: 0, unit: 'ns/1000 bytes',
    help: 'CPU cost of a dom0 memcpy per 1000 bytes (classic header copy from a mapped page, flip-mode skb copy).',
    models: 'reference/performance.md: a 1500-byte copy costs ~100-150 ns on this class of machine',
  }),
});
