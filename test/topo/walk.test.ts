/**
 * The packet walk at host level (issue #5 item 6, issue #6 item 6): the exact, ordered list of
 * `pkt.step` function names of one UDP packet, for both netback designs, asserted with toEqual.
 *
 * Guest transmit (modern, Linux 6.x): udp_sendmsg → dev_queue_xmit → xennet_start_xmit (one
 * read-only grant per slot, xennet_mark_tx_pending, RING_PUSH_REQUESTS_AND_CHECK_NOTIFY,
 * notify_remote_via_irq) → Xen → dom0's xenvif_tx_interrupt → NAPI xenvif_poll →
 * xenvif_tx_action: xenvif_tx_build_gops (xenvif_count_requests, xenvif_get_requests),
 * gnttab_batch_copy + gnttab_map_refs, xenvif_tx_submit (xenvif_tx_check_gop, xenvif_fill_frags,
 * checksum_setup for the guest's CHECKSUM_PARTIAL datagram) → netif_receive_skb → the bridge → dev_queue_xmit → ixgbe_xmit_frame → the wire → the
 * external host; the NIC's completion frees the skb, xenvif_zerocopy_callback queues the pending
 * slot for the dealloc thread (xenvif_tx_dealloc_action, gnttab_unmap_refs, make_tx_response),
 * and netfront's xennet_tx_interrupt → xennet_tx_buf_gc ends the grant and frees the skb.
 *
 * Classic (2.6.18): netif_be_int → the net_tx_action tasklet (netbk_count_requests,
 * netbk_get_requests, GNTTABOP_map_grant_ref, netbk_tx_check_mop, netbk_fill_frags) → netif_rx →
 * process_backlog; the unmap happens after dom0 frees the pages (netif_idx_release →
 * net_tx_action_dealloc → gnttab_unmap_grant_ref → make_tx_response).
 *
 * Guest receive: the NIC's ixgbe_clean_rx_irq → the bridge → the vif's start_xmit → netback rx
 * (modern: xenvif_rx_action/xenvif_rx_skb/xenvif_rx_copy_flush with gnttab_batch_copy; classic:
 * net_rx_action/netbk_gop_skb, GNTTABOP_copy, netbk_check_gop, make_rx_response) → netfront's
 * rx interrupt → NAPI poll → the guest stack's udp_rcv.
 *
 * The 2.6.18 netfront (`netfront.design: 'classic'`, bronson/linux-2.6.18.8-ovz-xen
 * drivers/xen/netfront/netfront.c) walks under its own names: network_start_xmit (grants, then
 * RING_PUSH_REQUESTS_AND_CHECK_NOTIFY and notify_remote_via_irq; there is no
 * xennet_mark_tx_pending), one handler netif_int for both rings (network_tx_buf_gc →
 * gnttab_end_foreign_access_ref; netif_rx_schedule), netif_poll → xennet_get_responses (same name
 * in 2.6.18) → netif_receive_skb (no GRO).
 *
 * Every walk is taken after a warm-up packet has resolved ARP both ways, so no ARP step or
 * queueing appears.
 */
import { describe, expect, it } from 'vitest';
import { buildXenHost, type XenHost } from '../../src/topo';
import type { Overrides } from '../../src/params';

type Design = 'modern' | 'classic';

function warmHost(design: Design, params: Overrides = {}): XenHost {
  const host = buildXenHost({ guests: [{ name: 'web', ip: '10.0.0.11', design }], params });
  const g = host.guest('web');
  host.external.endpoint.bind(9000);
  g.endpoint.bind(7000);
  // Warm-up: ARP in both directions, bridge FDB learned on both ports.
  g.endpoint.sendUdp('10.0.0.100', 9000, 64);
  host.runFor(host.ms(2));
  host.external.endpoint.sendUdp('10.0.0.11', 7000, 64);
  host.runFor(host.ms(2));
  return host;
}

/** The function names of one packet's steps, in order, and the lanes they ran in. */
function walk(host: XenHost, send: () => number): { fns: string[]; lanes: string[]; id: number } {
  const rec = host.sim.trace.record('pkt.step');
  const id = send();
  host.runFor(host.ms(2));
  rec.stop();
  const mine = rec.of('pkt.step').filter((r) => r.pkt === id);
  return { fns: mine.map((r) => r.fn), lanes: mine.map((r) => r.lane), id };
}

const GUEST_TX_HEAD = [
  'udp_sendmsg', 'dev_queue_xmit', 'dev_hard_start_xmit',
  'xennet_start_xmit', 'gnttab_grant_foreign_access_ref', 'xennet_mark_tx_pending',
  'RING_PUSH_REQUESTS_AND_CHECK_NOTIFY', 'notify_remote_via_irq',
];
const DOM0_BRIDGE_TO_WIRE = [
  '__netif_receive_skb_core', 'br_handle_frame', 'br_forward', 'dev_queue_xmit', 'dev_hard_start_xmit',
  'ixgbe_xmit_frame', 'phy_tx', 'phy_rx', 'ixgbe_clean_tx_irq',
];
/**
 * The same for a 2.6.18 guest's packet: dev_queue_xmit on dom0's NIC first runs the Xen
 * skb_checksum_setup (proto_csum_blank → CHECKSUM_HW).
 */
const DOM0_BRIDGE_TO_WIRE_2618 = [
  '__netif_receive_skb_core', 'br_handle_frame', 'br_forward', 'dev_queue_xmit', 'skb_checksum_setup', 'dev_hard_start_xmit',
  'ixgbe_xmit_frame', 'phy_tx', 'phy_rx', 'ixgbe_clean_tx_irq',
];
const EXTERNAL_RX = ['ixgbe_clean_rx_irq', 'napi_gro_receive', 'netif_receive_skb', '__netif_receive_skb_core', 'ip_rcv', 'udp_rcv'];
const GUEST_TX_DONE = ['xennet_tx_interrupt', 'gnttab_end_foreign_access_ref', 'xennet_tx_buf_gc'];

const EXTERNAL_TX_TO_BRIDGE = [
  'udp_sendmsg', 'dev_queue_xmit', 'dev_hard_start_xmit', 'ixgbe_xmit_frame', 'phy_tx', 'phy_rx',
  'ixgbe_clean_tx_irq', 'ixgbe_clean_rx_irq', 'napi_gro_receive', 'netif_receive_skb', '__netif_receive_skb_core',
  'br_handle_frame', 'br_forward', 'dev_queue_xmit', 'dev_hard_start_xmit',
];
const GUEST_RX_TAIL = ['xennet_rx_interrupt', 'xennet_poll', 'xennet_get_responses', 'napi_gro_receive',
  'netif_receive_skb', '__netif_receive_skb_core', 'ip_rcv', 'udp_rcv'];

// The 2.6.18 netfront: network_start_xmit grants each slot and pushes (no xennet_mark_tx_pending);
// netif_int runs network_tx_buf_gc (gnttab_end_foreign_access_ref, dev_kfree_skb_irq) and, for
// rx, netif_rx_schedule → netif_poll → xennet_get_responses → netif_receive_skb.
const GUEST_TX_HEAD_2618 = [
  'udp_sendmsg', 'dev_queue_xmit', 'dev_hard_start_xmit',
  'network_start_xmit', 'gnttab_grant_foreign_access_ref',
  'RING_PUSH_REQUESTS_AND_CHECK_NOTIFY', 'notify_remote_via_irq',
];
const GUEST_TX_DONE_2618 = ['netif_int', 'gnttab_end_foreign_access_ref', 'network_tx_buf_gc'];
const GUEST_RX_TAIL_2618 = ['netif_int', 'netif_poll', 'xennet_get_responses',
  'netif_receive_skb', '__netif_receive_skb_core', 'ip_rcv', 'udp_rcv'];

/** Steps of Linux's xen-netfront with no function of that name in 2.6.18's netfront.c. */
const MODERN_NETFRONT_ONLY = [
  'xennet_start_xmit', 'xennet_mark_tx_pending', 'xennet_tx_interrupt', 'xennet_tx_buf_gc',
  'xennet_rx_interrupt', 'xennet_interrupt', 'xennet_poll', 'napi_gro_receive',
];
/** 2.6.18 netfront functions that Linux's xen-netfront no longer has. */
const CLASSIC_NETFRONT_ONLY = ['network_start_xmit', 'network_tx_buf_gc', 'netif_int', 'netif_poll'];

describe('the guest-transmit walk, xennet_start_xmit to the wire and back to xennet_tx_buf_gc', () => {
  it('modern netback (NAPI, grant copy of the header + map of the rest, zero-copy completion)', () => {
    const host = warmHost('modern');
    const w = walk(host, () => host.guest('web').endpoint.sendUdp('10.0.0.100', 9000, 1000));
    expect(w.fns).toEqual([
      ...GUEST_TX_HEAD,
      'xenvif_tx_interrupt', 'xenvif_tx_build_gops', 'xenvif_count_requests', 'xenvif_get_requests',
      'gnttab_batch_copy', 'gnttab_map_refs',
      'xenvif_tx_submit', 'xenvif_tx_check_gop', 'xenvif_fill_frags', 'checksum_setup',
      'netif_receive_skb', ...DOM0_BRIDGE_TO_WIRE,
      'xenvif_zerocopy_callback',
      ...EXTERNAL_RX,
      'xenvif_tx_dealloc_action', 'gnttab_unmap_refs', 'make_tx_response',
      ...GUEST_TX_DONE,
    ]);
    // Lanes follow the packet across the host: the grant hypercalls run in Xen's lane.
    expect(w.lanes[w.fns.indexOf('gnttab_batch_copy')]).toBe('xen');
    expect(w.lanes[w.fns.indexOf('br_handle_frame')]).toBe('bridge');
    expect(w.lanes[w.fns.indexOf('phy_tx')]).toBe('wire');
    expect(w.lanes[w.fns.indexOf('udp_rcv')]).toBe('host');
    expect(w.lanes[w.fns.length - 1]).toBe('domU');
    expect(host.sim.drops.total()).toBe(0);
  });

  it('classic netback (netif_be_int, net_tx_action tasklet, grant map, netif_rx, dealloc after the free)', () => {
    const host = warmHost('classic');
    const w = walk(host, () => host.guest('web').endpoint.sendUdp('10.0.0.100', 9000, 1000));
    expect(w.fns).toEqual([
      ...GUEST_TX_HEAD,
      'netif_be_int', 'net_tx_action', 'netbk_count_requests', 'netbk_get_requests',
      'gnttab_map_grant_ref', 'netbk_tx_check_mop', 'netbk_fill_frags', 'net_tx_submit',
      'netif_rx', 'process_backlog', ...DOM0_BRIDGE_TO_WIRE_2618,
      'netif_idx_release', 'net_tx_action_dealloc', 'gnttab_unmap_grant_ref', 'make_tx_response',
      ...EXTERNAL_RX,
      ...GUEST_TX_DONE,
    ]);
    expect(w.lanes[w.fns.indexOf('gnttab_map_grant_ref')]).toBe('xen');
    expect(host.sim.drops.total()).toBe(0);
  });
});

describe('the 2.6.18 netfront walks under the 2.6.18 function names', () => {
  it('guest transmit on a classic backend: network_start_xmit … netif_int → network_tx_buf_gc', () => {
    const host = warmHost('classic', { 'netfront.design': 'classic' });
    const w = walk(host, () => host.guest('web').endpoint.sendUdp('10.0.0.100', 9000, 1000));
    expect(w.fns).toEqual([
      ...GUEST_TX_HEAD_2618,
      'netif_be_int', 'net_tx_action', 'netbk_count_requests', 'netbk_get_requests',
      'gnttab_map_grant_ref', 'netbk_tx_check_mop', 'netbk_fill_frags', 'net_tx_submit',
      'netif_rx', 'process_backlog', ...DOM0_BRIDGE_TO_WIRE_2618,
      'netif_idx_release', 'net_tx_action_dealloc', 'gnttab_unmap_grant_ref', 'make_tx_response',
      ...EXTERNAL_RX,
      ...GUEST_TX_DONE_2618,
    ]);
    expect(w.lanes[w.fns.indexOf('network_start_xmit')]).toBe('domU');
    expect(w.lanes.slice(-3)).toEqual(['domU', 'domU', 'domU']);
    expect(host.sim.drops.total()).toBe(0);
  });

  it('guest transmit on a modern backend: the same netfront steps around xenvif_*', () => {
    const host = warmHost('modern', { 'netfront.design': 'classic' });
    const w = walk(host, () => host.guest('web').endpoint.sendUdp('10.0.0.100', 9000, 1000));
    expect(w.fns.slice(0, GUEST_TX_HEAD_2618.length)).toEqual(GUEST_TX_HEAD_2618);
    expect(w.fns.slice(-GUEST_TX_DONE_2618.length)).toEqual(GUEST_TX_DONE_2618);
    expect(w.fns[GUEST_TX_HEAD_2618.length]).toBe('xenvif_tx_interrupt');
  });

  it('netif_int names the half that saw the packet: network_tx_buf_gc for tx, netif_rx_schedule for rx', () => {
    const host = warmHost('classic', { 'netfront.design': 'classic' });
    const rec = host.sim.trace.record('pkt.step');
    const tx = host.guest('web').endpoint.sendUdp('10.0.0.100', 9000, 1000);
    host.runFor(host.ms(2));
    const rx = host.external.endpoint.sendUdp('10.0.0.11', 7000, 1000);
    host.runFor(host.ms(2));
    rec.stop();
    const irq = (id: number) => rec.of('pkt.step').filter((r) => r.pkt === id && r.fn === 'netif_int').map((r) => r.detail ?? '');
    expect(irq(tx)).toHaveLength(1);
    expect(irq(tx)[0]).toMatch(/^network_tx_buf_gc: queue 0 rsp \d+$/);
    expect(irq(rx)).toHaveLength(1);
    expect(irq(rx)[0]).toMatch(/^netif_rx_schedule: queue 0 1 rsp$/);
  });

  it('no design mixes names: classic walks have no Linux-only netfront step, modern walks no 2.6.18-only one', () => {
    for (const backend of ['modern', 'classic'] as const) {
      for (const front of ['modern', 'classic'] as const) {
        const host = warmHost(backend, { 'netfront.design': front });
        const rec = host.sim.trace.record('pkt.step');
        host.guest('web').endpoint.sendUdp('10.0.0.100', 9000, 1000);
        host.runFor(host.ms(2));
        host.external.endpoint.sendUdp('10.0.0.11', 7000, 1000);
        host.runFor(host.ms(2));
        rec.stop();
        const guestFns = new Set(rec.of('pkt.step').filter((r) => r.lane === 'domU').map((r) => r.fn));
        const banned = front === 'classic' ? MODERN_NETFRONT_ONLY : CLASSIC_NETFRONT_ONLY;
        const wanted = front === 'classic' ? CLASSIC_NETFRONT_ONLY : MODERN_NETFRONT_ONLY.filter((f) => f !== 'xennet_interrupt');
        for (const fn of banned) expect(guestFns.has(fn), `${backend}/${front} has ${fn}`).toBe(false);
        for (const fn of wanted) expect(guestFns.has(fn), `${backend}/${front} lacks ${fn}`).toBe(true);
        expect(guestFns.has('xennet_get_responses')).toBe(true);
      }
    }
  });
});

describe('the guest-receive walk, wire to the guest socket', () => {
  it('modern netback: xenvif_start_xmit, the rx kthread with one grant-copy batch, netfront NAPI', () => {
    const host = warmHost('modern');
    const sock = host.guest('web').endpoint.socket(7000)!;
    const before = sock.packets;
    const w = walk(host, () => host.external.endpoint.sendUdp('10.0.0.11', 7000, 1000));
    expect(w.fns).toEqual([
      ...EXTERNAL_TX_TO_BRIDGE,
      'xenvif_start_xmit', 'xenvif_rx_action', 'xenvif_rx_skb', 'xenvif_rx_copy_flush', 'gnttab_batch_copy',
      ...GUEST_RX_TAIL,
    ]);
    expect(w.lanes.slice(-5)).toEqual(['domU', 'domU', 'domU', 'domU', 'domU']);
    expect(sock.packets).toBe(before + 1);
  });

  it('classic netback, copy mode: netif_be_start_xmit, net_rx_action, GNTTABOP_copy, make_rx_response', () => {
    const host = warmHost('classic');
    const w = walk(host, () => host.external.endpoint.sendUdp('10.0.0.11', 7000, 1000));
    // The NIC verified the frame, so 2.6.18's netif_receive_skb made it proto_data_valid and the
    // guest gets NETRXF_data_validated: it does not check the checksum again.
    expect(w.fns).toEqual([
      ...EXTERNAL_TX_TO_BRIDGE,
      'netif_be_start_xmit', 'net_rx_action', 'netbk_gop_skb', 'gnttab_copy', 'netbk_check_gop', 'make_rx_response',
      ...GUEST_RX_TAIL,
    ]);
    expect(w.lanes[w.fns.indexOf('gnttab_copy')]).toBe('xen');
  });

  it('classic netback with the 2.6.18 netfront: netif_receive_skb straight from the poll (no GRO)', () => {
    const host = warmHost('classic', { 'netfront.design': 'classic' });
    const w = walk(host, () => host.external.endpoint.sendUdp('10.0.0.11', 7000, 1000));
    expect(w.fns).toEqual([
      ...EXTERNAL_TX_TO_BRIDGE,
      'netif_be_start_xmit', 'net_rx_action', 'netbk_gop_skb', 'gnttab_copy', 'netbk_check_gop', 'make_rx_response',
      ...GUEST_RX_TAIL_2618,
    ]);
    expect(w.lanes.slice(-7)).toEqual(['domU', 'domU', 'domU', 'domU', 'domU', 'domU', 'domU']);
  });

  it('one id per packet end to end: the guest skb, the dom0 skb and the frame on the wire share it', () => {
    const host = warmHost('modern');
    const w = walk(host, () => host.guest('web').endpoint.sendUdp('10.0.0.100', 9000, 200));
    const doms = new Set(w.lanes);
    for (const lane of ['domU', 'xen', 'dom0', 'bridge', 'nic', 'wire', 'host']) expect(doms.has(lane)).toBe(true);
  });
});
