/**
 * The drivers read their parameter groups on every packet (`costs.netif_rx_ns`, `p.tx_slot_ns`, …).
 * V8 keeps an object built by many keyed stores as a hash table; `Params.group` hands out a copy
 * with fast (in-map) properties instead. This checks V8's own view of it, for every group that
 * has more than a dozen values (the ones that would fall back).
 */
import { describe, expect, it } from 'vitest';
import * as v8 from 'node:v8';
import { Params } from '../../src/params';
import { NET_PARAMS } from '../../src/net/costs';
import { NETBACK_PARAMS } from '../../src/drivers/netback/params';
import { NETFRONT_PARAMS } from '../../src/drivers/netfront/params';

v8.setFlagsFromString('--allow-natives-syntax');
// eslint-disable-next-line @typescript-eslint/no-implied-eval
const hasFastProperties = new Function('o', 'return %HasFastProperties(o)') as (o: object) => boolean;

describe('Params.group values', () => {
  it('a plain object grown key by key past a dozen keys is slow in V8 (what the check detects)', () => {
    const grown: Record<string, number> = {};
    for (let i = 0; i < 30; i++) grown[`k${i}`] = i;
    expect(hasFastProperties(grown)).toBe(false);
  });

  it('have fast properties, are frozen and hold every value of the group', () => {
    const p = Params.defaults().with({ 'net.netif_rx_ns': 123 });
    for (const g of [NET_PARAMS, NETBACK_PARAMS, NETFRONT_PARAMS]) {
      const v = p.group(g);
      expect(Object.keys(v).length).toBeGreaterThan(16);
      expect(hasFastProperties(v)).toBe(true);
      expect(Object.isFrozen(v)).toBe(true);
      expect(Object.keys(v).sort()).toEqual(Object.keys(g.specs).sort());
    }
    expect(p.group(NET_PARAMS).netif_rx_ns).toBe(123);
  });
});
