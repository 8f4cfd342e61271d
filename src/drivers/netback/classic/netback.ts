/**
 * Classic (linux-2.6.18-xen) netback — placeholder until the full model lands.
 */
import { NETDEV_TX_OK, type NetdevTx } from '../../../net/netdevice';
import type { SkBuff } from '../../../net/skb';
import type { NetbackDriver } from '../driver';
import type { XenVif } from '../interface';
import type { XenvifQueue } from '../common';

export class ClassicNetback {
  constructor(readonly nb: NetbackDriver) {}
  netif_map(_vif: XenVif): void {}
  netif_disconnect(_vif: XenVif): void {}
  netif_be_int(_vif: XenVif, _q: XenvifQueue): void {}
  rxInterrupt(_vif: XenVif): void {}
}

export function netif_be_start_xmit(vif: XenVif, skb: SkBuff): NetdevTx {
  vif.dropXmit(skb, 'not_connected');
  return NETDEV_TX_OK;
}
