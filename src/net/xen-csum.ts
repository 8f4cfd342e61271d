/**
 * The Xen patches to the 2.6.18 network core that a classic (2.6.18) dom0 runs for every packet:
 * the checksum state a Xen frontend's packets carry through the host.
 *
 *   netif_receive_skb():  #ifdef CONFIG_XEN
 *                         switch (skb->ip_summed) {
 *                         case CHECKSUM_UNNECESSARY: skb->proto_data_valid = 1; break;
 *                         case CHECKSUM_HW: (XXX Implement me.)
 *                         default: skb->proto_data_valid = 0; break;
 *                         }
 *   dev_queue_xmit():     if (skb_checksum_setup(skb)) goto out_kfree_skb;
 *
 * So a frame the NIC verified (CHECKSUM_UNNECESSARY) is proto_data_valid when classic netback
 * passes it to a guest (NETRXF_data_validated), and a guest packet with a blank checksum
 * (proto_csum_blank, set by classic netback's net_tx_action) becomes CHECKSUM_HW — the model's
 * CHECKSUM_PARTIAL — at the top of dev_queue_xmit on each device it leaves by, for the NIC or
 * the next netback to finish. The model's stack (./stack) calls both for every packet; modern
 * Linux has neither, and nothing modern reads the two fields.
 *
 * @models bronson/linux-2.6.18.8-ovz-xen net/core/dev.c netif_receive_skb(), dev_queue_xmit(),
 *   skb_checksum_setup() (CONFIG_XEN)
 */
import { CHECKSUM_PARTIAL, CHECKSUM_UNNECESSARY, type SkBuff } from './skb';
import { defineTraceEvents } from '../sim/trace';

declare module '../sim/trace' {
  interface TraceEvents {
    'dev.checksum_setup': {
      /** The output device whose dev_queue_xmit ran it. */
      dev: string;
      pkt: number;
      /** 0, or -EPROTO (-71): the packet was dropped (checksum_setup). */
      result: number;
      /** Where the checksum is to be finished (-1 when refused). */
      csumStart: number;
      csumOffset: number;
    };
  }
}

defineTraceEvents({
  'dev.checksum_setup': 'dev_queue_xmit ran the 2.6.18 Xen skb_checksum_setup on a packet with proto_csum_blank (from a classic netback guest): result 0 and where the checksum is to be finished, or -EPROTO and the packet dropped.',
});

const EPROTO = 71;
const ETH_HLEN = 14;
const ETH_P_IP = 0x0800;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;

/**
 * netif_receive_skb's CONFIG_XEN switch: proto_data_valid is whether the packet's checksum is
 * known good (CHECKSUM_UNNECESSARY) as it enters the stack.
 * @models bronson/linux-2.6.18.8-ovz-xen net/core/dev.c netif_receive_skb() (CONFIG_XEN)
 */
export function xenProtoDataValid(skb: SkBuff): void {
  skb.protoDataValid = skb.ipSummed === CHECKSUM_UNNECESSARY;
}

/**
 * The Xen-patched 2.6.18 core's skb_checksum_setup(): a packet whose transport checksum a Xen
 * frontend left blank (proto_csum_blank) gets CHECKSUM_HW (CHECKSUM_PARTIAL here) and the
 * position of its TCP or UDP checksum, found in the linear area only; proto_csum_blank is
 * cleared. Returns 0 (also for a packet without proto_csum_blank), or -EPROTO for anything else
 * (not IPv4, headers beyond the linear area, not TCP/UDP), which dev_queue_xmit drops. Unlike the
 * modern skb_checksum_setup (netback's skbChecksumSetup) it takes no IPv6 and does not look at IP
 * fragment bits or a short IHL.
 *
 *   if (skb->proto_csum_blank) {
 *           if (skb->protocol != htons(ETH_P_IP)) goto out;
 *           skb->h.raw = (unsigned char *)skb->nh.iph + 4*skb->nh.iph->ihl;
 *           if (skb->h.raw >= skb->tail) goto out;
 *           switch (skb->nh.iph->protocol) {
 *           case IPPROTO_TCP: skb->csum = offsetof(struct tcphdr, check); break;
 *           case IPPROTO_UDP: skb->csum = offsetof(struct udphdr, check); break;
 *           default: ... goto out;
 *           }
 *           if ((skb->h.raw + skb->csum + 2) > skb->tail) goto out;
 *           skb->ip_summed = CHECKSUM_HW;
 *           skb->proto_csum_blank = 0;
 *   }
 *   return 0;
 *   out: return -EPROTO;
 *
 * @models bronson/linux-2.6.18.8-ovz-xen net/core/dev.c skb_checksum_setup() (CONFIG_XEN)
 * @simplified skb->protocol is read from the frame's EtherType (what eth_type_trans put there);
 *   an IP protocol byte beyond the linear area counts as -EPROTO (2.6.18 would read whatever lay
 *   past the tail).
 */
export function skb_checksum_setup(skb: SkBuff): number {
  if (!skb.protoCsumBlank) return 0;
  const h = skb.head;
  const d = skb.data;
  const tail = skb.headLen;
  if (tail < ETH_HLEN + 10 || ((h[d + 12]! << 8) | h[d + 13]!) !== ETH_P_IP) return -EPROTO;
  const th = ETH_HLEN + 4 * (h[d + ETH_HLEN]! & 0x0f);
  if (th >= tail) return -EPROTO;
  const proto = h[d + ETH_HLEN + 9]!;
  const csum = proto === IPPROTO_TCP ? 16 : proto === IPPROTO_UDP ? 6 : -1;
  if (csum < 0 || th + csum + 2 > tail) return -EPROTO;
  skb.csumStart = th;
  skb.csumOffset = csum;
  skb.ipSummed = CHECKSUM_PARTIAL;
  skb.protoCsumBlank = false;
  return 0;
}
