/** dom0's L3 forwarding for Xen's routed (vif-route) and NAT (vif-nat) modes. */
export {
  Dom0Router, vifNatGuestIp, vifNatRouterIp, ipv4HeaderChecksumOk,
  type Dom0Mode, type UplinkConfig, type VifConfig, type L3Output, type L3Result,
} from './router';
export { L3_PARAMS } from './params';
