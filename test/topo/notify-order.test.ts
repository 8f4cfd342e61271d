/**
 * netback's notify_remote_via_irq runs on dom0's CPU after the work charged before it (grant
 * copies or page transfers, responses): at every EVTCHNOP_send dom0 makes, its CPU has finished
 * everything netback charged, so a frontend's upcall never overtakes the work it announces.
 */
import { describe, expect, it } from 'vitest';
import { twoWayBursts, twoWayHost } from './two-way';

describe.each([
  ['modern', undefined], ['classic', undefined], ['classic', 'flip'],
] as const)('notify after the work, %s %s', (design, rxMode) => {
  it('every dom0 event-channel send happens once dom0\'s CPU has done the work charged before netback asked for it', () => {
    const t = twoWayHost(2, design, rxMode);
    const host = t.host;
    // When netback asks for a notification, the work charged so far ends at `due`.
    const due: number[] = [];
    const nb = host.netback;
    const notifyRemote = nb.notifyRemote.bind(nb);
    nb.notifyRemote = (port: number) => {
      const end = host.dom0.cpu.busyUntil + nb.stepCost;
      due.push(end > host.now ? end : host.now);
      notifyRemote(port);
    };
    let sends = 0;
    let late = 0;
    host.sim.trace.on('xen.evtchn.send', (r) => {
      if (r.dom !== 0) return;
      sends++;
      const d = due.shift();
      if (d === undefined || r.t < d) late++;
    });
    twoWayBursts(t, 20, 8, 50);
    expect(sends).toBeGreaterThanOrEqual(10);
    expect(due).toHaveLength(0);
    expect(late).toBe(0);
  });
});
