import { describe, expect, it } from 'vitest';
import { buildXenHost, type XenHost } from '../../src/topo';
import { skb_get_hash } from '../../src/net/flow-hash';
import { SkBuff } from '../../src/net/skb';
import { buildUdpFrame } from '../../src/wire/build';

/** Two guests with 4 queue pairs each (netfront.max_queues 4), sockets bound, ARP resolved. */
function mqHost(seed = 3, queues = 4): XenHost {
  const host = buildXenHost({ seed, params: { 'netfront.max_queues': queues, 'netback.max_queues': queues }, guests: [{ name: 'a', pages: 8192 }, { name: 'b', pages: 8192 }] });
  host.external.endpoint.bind(9000);
  host.guest('a').endpoint.bind(7000);
  host.guest('b').endpoint.bind(7000);
  host.guest('a').endpoint.sendUdp('10.0.0.100', 9000, 64);
  host.guest('a').endpoint.sendUdp(host.guest('b').ip, 7000, 64);
  host.external.endpoint.sendUdp(host.guest('a').ip, 7000, 64, 9000);
  host.runFor(host.ms(2));
  return host;
}

type QueueStat = 'rx_packets' | 'tx_packets';
const perQueue = (host: XenHost, guest: string, stat: QueueStat): number[] => host.guest(guest).vif.queues.map((q) => q.stats[stat]);

/** Sends `n` datagrams of one flow and returns the queue(s) whose `stat` moved on `guest`'s vif. */
function flowQueues(host: XenHost, vifOf: string, stat: QueueStat, send: () => void, n = 3): number[] {
  const before = perQueue(host, vifOf, stat);
  for (let i = 0; i < n; i++) send();
  host.runFor(host.ms(1));
  const after = perQueue(host, vifOf, stat);
  const moved: number[] = [];
  after.forEach((v, i) => { if (v !== before[i]) { expect(v - before[i]!).toBe(n); moved.push(i); } });
  return moved;
}

describe('multi-queue vifs: which queue a packet takes', () => {
  it('connects four queue pairs when netfront asks for them', () => {
    const host = mqHost();
    expect(host.guest('a').netfront.queues).toHaveLength(4);
    expect(host.guest('a').vif.queues).toHaveLength(4);
  });

  it('guest transmit: xennet_select_queue puts each flow on one queue (its hash % 4) and spreads the flows', () => {
    const host = mqHost();
    const a = host.guest('a');
    const used = new Set<number>();
    for (let port = 2000; port < 2016; port++) {
      const qs = flowQueues(host, 'a', 'rx_packets', () => a.endpoint.sendUdp('10.0.0.100', 9000, 100, port));
      expect(qs).toHaveLength(1);
      // The same choice from the flow hash with the guest kernel's secret.
      const probe = new SkBuff();
      probe.head.set(buildUdpFrame({ srcMac: a.mac, dstMac: '00:00:00:00:00:01', srcIp: a.ip, dstIp: '10.0.0.100', srcPort: port, dstPort: 9000, payloadLength: 100 }), probe.put(142));
      expect(qs[0]).toBe(skb_get_hash(probe, a.stack.hashrnd) % 4);
      used.add(qs[0]!);
    }
    expect(used.size).toBeGreaterThanOrEqual(3);
  });

  it('the walk shows the choice, and a single-queue guest has no such step', () => {
    const host = mqHost();
    const rec = host.sim.trace.record('pkt.step');
    host.guest('a').endpoint.sendUdp('10.0.0.100', 9000, 100, 2001);
    host.runFor(host.ms(1));
    rec.stop();
    const sel = rec.records.filter((r) => r['fn'] === 'xennet_select_queue');
    expect(sel).toHaveLength(1);
    expect(String(sel[0]!['detail'])).toMatch(/^hash [0-9a-f]{8} % 4 queues = queue [0-3]$/);

    const one = mqHost(3, 1);
    const rec1 = one.sim.trace.record('pkt.step');
    one.guest('a').endpoint.sendUdp('10.0.0.100', 9000, 100, 2001);
    one.runFor(one.ms(1));
    rec1.stop();
    expect(rec1.records.some((r) => r['fn'] === 'xennet_select_queue' || r['fn'] === 'xenvif_select_queue')).toBe(false);
    expect(one.guest('a').vif.queues).toHaveLength(1);
  });

  it('from the wire: every flow uses vif queue 0, the rx queue ixgbe recorded (netdev_pick_tx)', () => {
    const host = mqHost();
    const ext = host.external.endpoint;
    const rec = host.sim.trace.record('pkt.step');
    for (let port = 3000; port < 3012; port++) {
      expect(flowQueues(host, 'a', 'tx_packets', () => ext.sendUdp(host.guest('a').ip, 7000, 100, port))).toEqual([0]);
    }
    rec.stop();
    const sel = rec.records.filter((r) => r['fn'] === 'xenvif_select_queue');
    expect(sel.length).toBe(36);
    expect(sel.every((r) => String(r['detail']) === 'rx queue 0 recorded by the NIC: queue 0')).toBe(true);
  });

  it('guest to guest: dom0 hashes the flow onto one of the destination vif queues (reciprocal_scale)', () => {
    const host = mqHost();
    const a = host.guest('a');
    const used = new Set<number>();
    const rec = host.sim.trace.record('pkt.step');
    for (let port = 4000; port < 4016; port++) {
      const qs = flowQueues(host, 'b', 'tx_packets', () => a.endpoint.sendUdp(host.guest('b').ip, 7000, 100, port));
      expect(qs).toHaveLength(1);
      used.add(qs[0]!);
    }
    rec.stop();
    expect(used.size).toBeGreaterThanOrEqual(3);
    expect(rec.records.filter((r) => r['fn'] === 'xenvif_select_queue').every((r) => /^hash [0-9a-f]{8} scaled to 4 queues: queue [0-3]$/.test(String(r['detail'])))).toBe(true);
  });

  it('the per-queue counters add up to the vif counters', () => {
    const host = mqHost();
    for (let port = 5000; port < 5020; port++) host.guest('a').endpoint.sendUdp(host.guest('b').ip, 7000, 300, port);
    host.runFor(host.ms(2));
    for (const g of ['a', 'b']) {
      const vif = host.guest(g).vif;
      expect(perQueue(host, g, 'rx_packets').reduce((s, v) => s + v, 0)).toBe(vif.stats.rx_packets);
      expect(perQueue(host, g, 'tx_packets').reduce((s, v) => s + v, 0)).toBe(vif.stats.tx_packets);
    }
  });

  it('the secret differs per kernel and per seed, and one seed always gives the same spread', () => {
    const spread = (seed: number): number[] => {
      const host = mqHost(seed);
      const out: number[] = [];
      for (let port = 2000; port < 2008; port++) out.push(flowQueues(host, 'a', 'rx_packets', () => host.guest('a').endpoint.sendUdp('10.0.0.100', 9000, 100, port), 1)[0]!);
      return out;
    };
    expect(spread(3)).toEqual(spread(3));
    expect(spread(3)).not.toEqual(spread(4));
    const host = mqHost();
    expect(host.guest('a').stack.hashrnd).not.toBe(host.guest('b').stack.hashrnd);
    expect(host.guest('a').stack.hashrnd).not.toBe(host.dom0.hashrnd);
  });
});

describe('multi-queue: a stopped transmit queue stops only itself (netif_tx_stop_queue)', () => {
  /** Two source ports of guest a's flows to the client that netfront puts on different queues. */
  function twoPorts(host: XenHost): [number, number] {
    const np = host.guest('a').netfront;
    const queueOf = (sport: number): number => {
      const before = np.queues.map((q) => q.tx.req_prod_pvt);
      host.guest('a').endpoint.sendUdp('10.0.0.100', 9000, 64, sport);
      host.runFor(host.ms(1));
      return np.queues.findIndex((q, i) => q.tx.req_prod_pvt !== before[i]);
    };
    let b = 20001;
    const qa = queueOf(20000);
    while (queueOf(b) === qa) b++;
    return qa === 0 ? [20000, b] : [b, 20000];
  }

  it('netfront: queue 0 full and stopped (237 outstanding), a flow on queue 1 still reaches ring 1; queue 0 restarts when dom0 answers', () => {
    const host = mqHost(3, 2);
    const a = host.guest('a');
    const np = a.netfront;
    const [p0, p1] = twoPorts(host);
    // The guest runs alone at one instant: dom0 answers nothing meanwhile.
    for (let i = 0; i < 300 && !np.netdev.netif_tx_queue_stopped(0); i++) a.endpoint.sendUdp('10.0.0.100', 9000, 64, p0);
    expect(np.queues[0]!.txOutstanding).toBe(237);
    expect([np.netdev.netif_tx_queue_stopped(0), np.netdev.netif_tx_queue_stopped(1)]).toEqual([true, false]);
    const prod1 = np.queues[1]!.tx.req_prod_pvt;
    for (let i = 0; i < 5; i++) a.endpoint.sendUdp('10.0.0.100', 9000, 64, p1);
    expect(np.queues[1]!.tx.req_prod_pvt - prod1).toBe(5);
    // More for queue 0 waits in its own qdisc, and goes once netback has answered.
    for (let i = 0; i < 5; i++) a.endpoint.sendUdp('10.0.0.100', 9000, 64, p0);
    expect(a.stack.qdiscStats(np.netdev, 0).qlen).toBe(5);
    expect(a.stack.qdiscStats(np.netdev, 1).qlen).toBe(0);
    host.runFor(host.ms(2));
    expect(np.netdev.netif_tx_queue_stopped(0)).toBe(false);
    expect(a.stack.qdiscStats(np.netdev).qlen).toBe(0);
    expect(host.sim.drops.total()).toBe(0);
  });

  it('netback: a guest that stops receiving on queue 0 fills that queue (the vif\'s txq 0 stops); a flow on queue 1 is still delivered', () => {
    const host = mqHost(3, 2);
    const a = host.guest('a');
    const vq = a.vif.queues;
    const sock = a.endpoint.socket(7000)!;
    host.dom0Endpoint.sendUdp(a.ip, 7000, 64, 1999); // ARP first
    host.runFor(host.ms(1));
    // Source ports of dom0's flows that land on vif queues 0 and 1.
    const portFor: number[] = [];
    for (let port = 2000; port < 2100 && (portFor[0] === undefined || portFor[1] === undefined); port++) {
      const before = vq.map((q) => q.stats.tx_packets);
      host.dom0Endpoint.sendUdp(a.ip, 7000, 100, port);
      host.runFor(host.ms(1));
      vq.forEach((q, i) => { if (q.stats.tx_packets !== before[i] && portFor[i] === undefined) portFor[i] = port; });
    }
    expect(portFor[0]).toBeDefined();
    expect(portFor[1]).toBeDefined();
    host.hv.guest(a.domid).mask_evtchn(a.netfront.queues[0]!.rx_evtchn);
    for (let k = 0; k < 40; k++) {
      for (let i = 0; i < 20; i++) host.dom0Endpoint.sendUdp(a.ip, 7000, 1400, portFor[0]);
      host.runFor(host.ms(1));
    }
    expect(vq[0]!.rx_queue_len).toBeGreaterThanOrEqual(vq[0]!.rx_queue_max);
    expect([a.vif.netif_tx_queue_stopped(0), a.vif.netif_tx_queue_stopped(1)]).toEqual([true, false]);
    const got = sock.packets;
    for (let i = 0; i < 10; i++) host.dom0Endpoint.sendUdp(a.ip, 7000, 100, portFor[1]);
    host.runFor(host.ms(5));
    expect(sock.packets - got).toBe(10);
  });

  it('a device refuses a queue outside its real_num_tx_queues by name', () => {
    const host = mqHost(3, 2);
    const dev = host.guest('a').netfront.netdev;
    expect(dev.numTxQueues).toBe(2);
    expect(() => dev.netif_tx_stop_queue(2)).toThrow(/netif_tx_stop_queue: eth0 queue 2 is not allowed; use an integer in 0\.\.1/);
    expect(() => dev.netif_set_real_num_tx_queues(0)).toThrow(/n 0 is not allowed; use an integer in 1\.\.64/);
  });
});
