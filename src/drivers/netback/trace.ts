/**
 * Trace events of xen-netback. Directions are named from the GUEST's point of view ("tx" = the
 * guest transmits, netback receives), as the Xen drivers name their rings; the vif's own
 * net_device counters use dom0's view (a guest's transmit is the vif's rx_packets).
 */
import { defineTraceEvents } from '../../sim/trace';

declare module '../../sim/trace' {
  interface TraceEvents {
    'netback.tx.batch': { vif: string; queue: number; design: string; reqs: number; skbs: number; copies: number; maps: number; costNs: number };
    'netback.tx.dealloc': { vif: string; queue: number; design: string; unmaps: number; costNs: number };
    'netback.tx.response': { vif: string; queue: number; id: number; status: number; nulls: number; notify: boolean };
    'netback.rx.batch': { vif: string; queue: number; design: string; skbs: number; slots: number; copies: number; transfers: number; errors: number; notify: boolean; costNs: number };
    'netback.fatal': { vif: string; queue: number; reason: string };
    'netback.carrier': { vif: string; on: boolean; reason: string };
    'netback.connect': { vif: string; queues: number; rxCopy: boolean; sg: boolean; gsoMask: number; split: boolean; rc: number; reason: string };
    'netback.disconnect': { vif: string };
  }
}

defineTraceEvents({
  'netback.tx.batch': 'One NAPI poll (modern) or net_tx_action tasklet run (classic) consumed guest tx requests and made one batch of grant copies and maps.',
  'netback.tx.dealloc': 'Dom0 released guest pages of transmitted packets; netback unmapped them in one batch and answered the requests.',
  'netback.tx.response': 'Netback wrote a tx response (with NULL responses for extra slots) and pushed the ring.',
  'netback.rx.batch': 'One guest-receive run placed packets into the guest\'s posted rx buffers (grant copy, or page transfer in classic flip mode) and pushed responses.',
  'netback.fatal': 'Netback judged the frontend malicious or broken and disabled the vif (xenvif_fatal_tx_err); other vifs are unaffected.',
  'netback.carrier': 'The vif carrier went on or off (connect, guest rx stall or recovery, fatal error, disconnect).',
  'netback.connect': 'The backend read the frontend\'s xenstore keys, mapped the rings and bound the event channels (rc 0), or refused (rc < 0, reason says why).',
  'netback.disconnect': 'The backend unbound the event channels, unmapped the rings and dropped what was queued.',
});
