/**
 * Parameters of the Linux bridge model (`ip link add br0 type bridge ...` options and the kernel
 * configuration they depend on). Each can also be changed at run time on a `Bridge` with the
 * setter of the same meaning (`setAgeingTime`, `setGroupFwdMask`, ...).
 */
import { bool, defineParams, int } from '../../params';

export const BRIDGE_PARAMS = defineParams('bridge', {
  ageing_time: int({
    default: 30000, min: 0, max: 100_000_000, unit: 'cs',
    help: 'How long a learned address stays in the forwarding database without being seen again, in 1/100 s as `ip link ... ageing_time` takes it; 0 learns nothing and makes the bridge a hub.',
    models: 'linux net/bridge/br_device.c BR_DEFAULT_AGEING_TIME (300 s); br_stp.c br_set_ageing_time() (clock_t -> jiffies)',
  }),
  hz: int({
    default: 250, min: 100, max: 1000, unit: 'Hz',
    help: 'CONFIG_HZ of the dom0 kernel: ageing times are converted to jiffies of 1/HZ s and truncated, and the gc runs on jiffy ticks (100, 250 or 1000).',
    models: 'linux include/linux/jiffies.h clock_t_to_jiffies(), msecs_to_jiffies(); Debian kernels use CONFIG_HZ=250',
  }),
  group_fwd_mask: int({
    default: 0, min: 0, max: 0xffff,
    help: 'Bit N forwards frames to the link-local group 01:80:c2:00:00:0N instead of passing them up on the port; bits 0-2 (STP, PAUSE, LACP) cannot be set.',
    models: 'linux net/bridge/br_netlink.c IFLA_BR_GROUP_FWD_MASK, br_private.h BR_GROUPFWD_RESTRICTED',
  }),
  no_linklocal_learn: bool({
    default: false,
    help: 'When true, source addresses of link-local frames (01:80:c2:00:00:0X) that are not forwarded are not learned.',
    models: 'linux net/bridge/br_input.c __br_handle_local_finish() BROPT_NO_LL_LEARN',
  }),
  promisc: bool({
    default: false,
    help: 'When true, the bridge device is promiscuous and receives a copy of every frame it forwards or floods.',
    models: 'linux net/bridge/br_input.c br_handle_frame_finish() local_rcv = IFF_PROMISC',
  }),
  mcast_snooping: bool({
    default: true,
    help: 'Multicast snooping parses multicast IPv4/IPv6 frames; a malformed IP header makes the bridge drop the frame (group membership itself is not modeled: with no querier everything floods).',
    models: 'linux net/bridge/br_multicast.c br_multicast_rcv(), net/ipv4/igmp.c ip_mc_check_igmp()',
  }),
  nf_call_iptables: bool({
    default: false,
    help: 'br_netfilter with bridge-nf-call-iptables=1: untagged IPv4 frames with a malformed header are dropped before learning, and frames are trimmed to the IPv4 total length.',
    models: 'linux net/bridge/br_netfilter_hooks.c br_nf_pre_routing(), br_validate_ipv4()',
  }),
});
