/**
 * xen-netfront, the guest's paravirtual network driver (torvalds/linux drivers/net/xen-netfront.c,
 * and the 2.6.18-xen netfront for the classic receive policy and page flipping).
 *
 *   const np = netfront_probe({ sim, params, xen, stack, nodename: '/local/domain/1/device/vif/0' });
 *   guestStack.attach(np.netdev);          // eth0: ndo_start_xmit = xennet_start_xmit
 *
 * `xen` is a NetfrontXen (xen-port.ts): the guest-side grant, event-channel, memory and xenbus
 * helpers; `stack` is a NetfrontStack (the guest's SkbPool, vCPU and napi_gro_receive).
 */
export * from './constants';
export { NETFRONT_PARAMS, type NetfrontParams } from './params';
export type { NetfrontXen, NetfrontXenbus, GrantRefPool } from './xen-port';
export { GuestPagePool } from './pages';
export { NetfrontQueue, add_id_to_list, get_id_from_list } from './queue';
export { NetfrontInfo, XennetDevice, type NetfrontStack, type NetfrontCounters, type NetfrontInfoOptions } from './info';
export {
  xennet_start_xmit, xennet_count_skb_slots, gnttab_count_grant, netfront_tx_slot_available, xennet_tx_buf_gc,
  xennet_mark_tx_pending, xennet_make_txreqs, xennet_tx_setup_grant, xennet_maybe_wake_tx, xennet_handle_tx,
  xennet_tx_interrupt, xennet_handle_tx_irq,
} from './tx';
export {
  xennet_alloc_rx_buffers, xennet_poll, xennet_get_responses, xennet_get_extras, xennet_move_rx_slot,
  xennet_set_rx_rsp_cons, xennet_set_skb_gso, checksum_setup, handle_incoming_queue, xennet_handle_rx,
  xennet_rx_interrupt, xennet_interrupt, napi_schedule, rx_refill_timeout,
} from './rx';
export {
  netfront_probe, netback_changed, xennet_connect, talk_to_netback, setup_netfront, xennet_init_queue,
  xennet_fix_features, xennet_disconnect_backend, xenbus_frontend_closed, xenbus_switch_state, xenbusOf,
} from './xenbus';
export { hypervisorPort, type HypervisorPortOptions } from './xen-binding';
