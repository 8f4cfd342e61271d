/**
 * Trace events of xen-netfront. Every packet step also emits the shared `pkt.step` event (see
 * src/net/walk.ts); the events here describe the driver's own decisions: pushes and whether they
 * notified, completions reaped, queue stop/wake, rx refills, polls, errors and the broken state.
 *
 * Directions are the guest's: `tx` is what the guest sends, `rx` what it receives (dom0's vif
 * counters use the opposite view).
 */
import { defineTraceEvents } from '../../sim/trace';

declare module '../../sim/trace' {
  interface TraceEvents {
    'netfront.tx.push': { dev: string; queue: number; prod: number; notify: boolean; slots: number };
    'netfront.tx.gc': { dev: string; queue: number; cons: number; responses: number; freed: number };
    'netfront.tx.stop': { dev: string; queue: number; outstanding: number };
    'netfront.tx.wake': { dev: string; queue: number; outstanding: number };
    'netfront.rx.refill': { dev: string; queue: number; prod: number; posted: number; pushed: boolean; notify: boolean; outstanding: number; target: number };
    'netfront.rx.poll': { dev: string; queue: number; work: number; budget: number; cons: number };
    'netfront.rx.error': { dev: string; queue: number; reason: string; cons: number };
    'netfront.broken': { dev: string; queue: number; reason: string };
    'netfront.state': { dev: string; from: number; to: number; name: string };
  }
}

defineTraceEvents({
  'netfront.tx.push': 'netfront published tx requests (RING_PUSH_REQUESTS_AND_CHECK_NOTIFY); notify says whether the backend was kicked.',
  'netfront.tx.gc': 'xennet_tx_buf_gc consumed tx responses, ending grants and freeing the skbs of completed packets.',
  'netfront.tx.stop': 'netfront stopped its transmit queue: too few free tx slots for a maximal packet.',
  'netfront.tx.wake': 'netfront woke its transmit queue after completions freed enough tx slots.',
  'netfront.rx.refill': 'xennet_alloc_rx_buffers posted receive buffers; pushed is false when fewer than the minimum would be outstanding.',
  'netfront.rx.poll': 'xennet_poll ran with a NAPI budget and delivered `work` packets.',
  'netfront.rx.error': 'A receive response chain was bad (status, offset, missing slots, bad extra) and its packet was dropped.',
  'netfront.broken': 'netfront found a protocol violation by the backend and disabled the device for further use.',
  'netfront.state': 'The frontend switched its XenbusState.',
});
