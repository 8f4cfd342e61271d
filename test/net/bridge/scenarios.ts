/**
 * Bridge scenarios shared by the real-bridge conformance test and the model tests: each step is
 * applied to a `BridgeUnderTest` (the real kernel bridge in a network namespace, or the model),
 * and the observations are compared step by step.
 *
 * Topology: bridge br0 with ports p0..p3 (MAC 02:00:00:00:01:0N), added in that order, STP off.
 * Stations S(n) = 02:aa:00:00:00:nn. Every frame carries the marker "XNLB" + step number so the
 * real side ignores any other traffic.
 */

export const PORTS = ['p0', 'p1', 'p2', 'p3'] as const;
export const PORT_MAC = (i: number) => `02:00:00:00:01:0${i}`;
export const S = (n: number) => `02:aa:00:00:00:${n.toString(16).padStart(2, '0')}`;
export const MARKER = [0x58, 0x4e, 0x4c, 0x42]; // "XNLB"
export const MARKER_HEX = '584e4c42';

export interface Observation {
  /** Egress port names, sorted. */
  egress: string[];
  local: boolean;
  /** Lengths of the copies, sorted by port (as captured / as the model forwards them). */
  lens: number[];
}

export interface FdbView {
  mac: string;
  port: string;
  state: string;
  sticky: boolean;
}

export type ConfigOp =
  | { op: 'portFlags'; port: string; flags: Record<string, boolean | number> }
  | { op: 'portState'; port: string; state: 'disabled' | 'listening' | 'learning' | 'forwarding' | 'blocking' }
  | { op: 'carrier'; port: string; up: boolean }
  | { op: 'portMtu'; port: string; mtu: number }
  | { op: 'ageing'; cs: number }
  | { op: 'groupFwdMask'; mask: number }
  | { op: 'noLinklocalLearn'; on: boolean }
  | { op: 'nfCallIptables'; on: boolean }
  | { op: 'fdbAdd'; mac: string; port: string; state: 'permanent' | 'static'; sticky?: boolean }
  | { op: 'fdbDel'; mac: string; port: string };

export type Step =
  | { kind: 'send'; port: string; frame: number[]; note: string }
  | { kind: 'xmit'; frame: number[]; note: string }
  | { kind: 'config'; config: ConfigOp; note: string }
  | { kind: 'wait'; ms: number; note: string }
  | { kind: 'checkFdb'; note: string }
  | { kind: 'checkPorts'; note: string }
  | { kind: 'checkAgeing'; note: string };

/** What both the real bridge and the model provide. */
export interface BridgeUnderTest {
  send(port: string, frame: Uint8Array, step: number): Promise<Observation>;
  xmit(frame: Uint8Array, step: number): Promise<Observation>;
  /** Applies a configuration; returns 'ok' or 'refused' (the kernel returned an error). */
  config(op: ConfigOp): Promise<'ok' | 'refused'>;
  wait(ms: number): Promise<void>;
  fdb(): Promise<FdbView[]>;
  portStates(): Promise<Record<string, string>>;
  ageingTime(): Promise<number>;
}

function macBytes(mac: string): number[] {
  return mac.split(':').map((h) => parseInt(h, 16));
}

/** A frame: dst, src, EtherType, marker, step id (filled in at send time), padding to `len`. */
export function frame(dst: string, src: string, opts: { etype?: number; len?: number; vlan?: number; body?: number[] } = {}): number[] {
  const out: number[] = [...macBytes(dst), ...macBytes(src)];
  if (opts.vlan !== undefined) out.push(0x81, 0x00, (opts.vlan >> 8) & 0x0f, opts.vlan & 0xff);
  const etype = opts.etype ?? 0x88b5;
  out.push(etype >> 8, etype & 0xff);
  if (opts.body) out.push(...opts.body);
  out.push(...MARKER, 0, 0); // step id at marker + 4
  const len = opts.len ?? 60;
  while (out.length < len) out.push(0);
  return out;
}

/** Writes the step number after the marker. */
export function stamp(bytes: number[], step: number): Uint8Array {
  const b = Uint8Array.from(bytes);
  for (let i = 0; i + 5 < b.length; i++) {
    if (b[i] === MARKER[0] && b[i + 1] === MARKER[1] && b[i + 2] === MARKER[2] && b[i + 3] === MARKER[3]) {
      b[i + 4] = step >> 8;
      b[i + 5] = step & 0xff;
      break;
    }
  }
  return b;
}

function csum(bytes: number[]): number {
  let s = 0;
  for (let i = 0; i < bytes.length; i += 2) s += (bytes[i]! << 8) | (bytes[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** A valid IPv4 header (+ UDP-ish payload of `payloadLen` bytes) ahead of the marker. */
export function ipv4Body(dstIp: number[], payloadLen: number, totLenOverride?: number): number[] {
  const tot = totLenOverride ?? 20 + payloadLen;
  const h = [0x45, 0, tot >> 8, tot & 0xff, 0, 1, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, ...dstIp];
  const c = csum(h);
  h[10] = c >> 8;
  h[11] = c & 0xff;
  return h;
}

const send = (port: string, f: number[], note: string): Step => ({ kind: 'send', port, frame: f, note });
const xmit = (f: number[], note: string): Step => ({ kind: 'xmit', frame: f, note });
const cfg = (config: ConfigOp, note: string): Step => ({ kind: 'config', config, note });
const checkFdb = (note: string): Step => ({ kind: 'checkFdb', note });
const checkPorts = (note: string): Step => ({ kind: 'checkPorts', note });
const wait = (ms: number, note: string): Step => ({ kind: 'wait', ms, note });

const BCAST = 'ff:ff:ff:ff:ff:ff';

export const SCENARIOS: Record<string, Step[]> = {
  'learning, flooding, local delivery, bad sources, station move': [
    send('p0', frame(S(2), S(1)), 'unknown unicast floods to every other port, not to br0'),
    send('p1', frame(S(1), S(2)), 'reply goes only to the learned port'),
    send('p0', frame(S(2), S(1)), 'now known both ways'),
    send('p2', frame(BCAST, S(3)), 'broadcast floods and goes up to br0'),
    send('p3', frame('01:00:5e:00:00:fb', S(4)), 'non-IP multicast floods and goes up to br0'),
    send('p3', frame('33:33:00:00:00:01', S(4)), 'IPv6-style multicast MAC, non-IP payload'),
    send('p0', frame(PORT_MAC(1), S(1)), 'frame to another port\'s own MAC goes to br0 only'),
    send('p0', frame(PORT_MAC(0), S(1)), 'frame to br0\'s MAC (= lowest port MAC) goes to br0 only'),
    send('p0', frame(S(1), S(5)), 'destination known on the ingress port: no reflection'),
    send('p1', frame(S(1), '00:00:00:00:00:00'), 'zero source: dropped before anything'),
    send('p1', frame(S(1), '01:00:5e:00:00:01'), 'multicast source: dropped'),
    send('p2', frame(S(1), PORT_MAC(1)), 'own port address as source: forwarded, not learned'),
    checkFdb('after learning'),
    send('p2', frame(S(2), S(1)), 'station S1 moves from p0 to p2'),
    send('p1', frame(S(1), S(2)), 'traffic to S1 now goes to p2'),
    checkFdb('after the move'),
  ],
  'link-local groups and group_fwd_mask': [
    send('p0', frame('01:80:c2:00:00:00', S(1)), 'STP group with STP off: forwarded like multicast'),
    send('p0', frame('01:80:c2:00:00:01', S(2)), 'PAUSE: always dropped, source not learned'),
    send('p0', frame('01:80:c2:00:00:02', S(3)), 'LACP: not forwarded, source learned'),
    send('p0', frame('01:80:c2:00:00:0e', S(4)), 'LLDP: not forwarded, source learned'),
    send('p0', frame('01:80:c2:00:00:03', S(5)), '802.1X: not forwarded'),
    checkFdb('link-local sources learned'),
    cfg({ op: 'groupFwdMask', mask: 0x4008 }, 'forward 802.1X and LLDP'),
    send('p0', frame('01:80:c2:00:00:03', S(5)), '802.1X now forwarded and delivered up'),
    send('p1', frame('01:80:c2:00:00:0e', S(6)), 'LLDP now forwarded'),
    cfg({ op: 'groupFwdMask', mask: 0x0001 }, 'bit 0 (STP) is refused'),
    cfg({ op: 'groupFwdMask', mask: 0x0004 }, 'bit 2 (LACP) is refused on the bridge'),
    cfg({ op: 'portFlags', port: 'p1', flags: { group_fwd_mask: 0x0004 } }, 'per-port mask may forward LACP'),
    send('p1', frame('01:80:c2:00:00:02', S(7)), 'LACP from p1 forwarded'),
    send('p0', frame('01:80:c2:00:00:02', S(8)), 'LACP from p0 still not forwarded'),
    cfg({ op: 'portFlags', port: 'p1', flags: { group_fwd_mask: 0x0002 } }, 'per-port mask refuses PAUSE'),
    cfg({ op: 'noLinklocalLearn', on: true }, 'no_linklocal_learn on'),
    send('p2', frame('01:80:c2:00:00:04', S(9)), 'not learned now'),
    send('p2', frame('01:80:c2:00:00:03', S(10)), 'forwarded link-local is learned as normal traffic'),
    checkFdb('final'),
  ],
  'hairpin, flood flags, isolation, learning off, frames from br0': [
    send('p0', frame(S(2), S(1)), 'learn S1 on p0'),
    send('p1', frame(S(1), S(2)), 'learn S2 on p1'),
    send('p0', frame(S(1), S(3)), 'known on the ingress port: dropped'),
    cfg({ op: 'portFlags', port: 'p0', flags: { hairpin: true } }, 'hairpin on p0'),
    send('p0', frame(S(1), S(3)), 'hairpin: back out of p0'),
    send('p0', frame(BCAST, S(3)), 'hairpin: broadcast includes p0'),
    cfg({ op: 'portFlags', port: 'p0', flags: { hairpin: false } }, 'hairpin off'),
    cfg({ op: 'portFlags', port: 'p2', flags: { flood: false, mcast_flood: false } }, 'p2 no unicast/multicast floods'),
    cfg({ op: 'portFlags', port: 'p3', flags: { bcast_flood: false } }, 'p3 no broadcast floods'),
    send('p0', frame(S(99), S(1)), 'unknown unicast skips p2'),
    send('p0', frame('01:00:5e:01:02:03', S(1)), 'multicast skips p2'),
    send('p0', frame(BCAST, S(1)), 'broadcast skips p3'),
    send('p3', frame(S(99), S(4)), 'ingress p3 still floods to p2? no: p2 flood off'),
    xmit(frame(BCAST, S(20)), 'br0 broadcast ignores bcast_flood'),
    xmit(frame('01:00:5e:01:02:03', S(20)), 'br0 multicast ignores mcast_flood'),
    xmit(frame(S(98), S(20)), 'br0 unknown unicast honours flood'),
    xmit(frame(S(1), S(20)), 'br0 known unicast'),
    xmit(frame(PORT_MAC(2), S(20)), 'br0 to a port\'s local address goes out of that port'),
    cfg({ op: 'portFlags', port: 'p2', flags: { flood: true, mcast_flood: true } }, 'p2 floods again'),
    cfg({ op: 'portFlags', port: 'p3', flags: { bcast_flood: true } }, 'p3 floods again'),
    cfg({ op: 'portFlags', port: 'p1', flags: { learning: false } }, 'learning off on p1'),
    send('p1', frame(S(1), S(10)), 'forwarded, S10 not learned'),
    cfg({ op: 'portFlags', port: 'p0', flags: { isolated: true } }, 'p0 isolated'),
    cfg({ op: 'portFlags', port: 'p1', flags: { isolated: true } }, 'p1 isolated'),
    send('p0', frame(BCAST, S(1)), 'isolated p0 does not reach isolated p1'),
    send('p1', frame(S(1), S(2)), 'known unicast between isolated ports: dropped'),
    send('p2', frame(S(1), S(3)), 'non-isolated p2 reaches isolated p0'),
    cfg({ op: 'portFlags', port: 'p3', flags: { proxy_arp: true } }, 'proxy_arp on p3: no floods there'),
    send('p2', frame(BCAST, S(3)), 'broadcast skips proxy_arp p3'),
    checkFdb('final'),
  ],
  'port states and carrier': [
    send('p0', frame(S(2), S(1)), 'learn S1 on p0'),
    send('p1', frame(S(1), S(2)), 'learn S2 on p1'),
    send('p2', frame(S(1), S(3)), 'learn S3 on p2'),
    cfg({ op: 'portState', port: 'p1', state: 'learning' }, 'p1 learning'),
    checkPorts('p1 learning sticks'),
    send('p1', frame(S(1), S(4)), 'learning port: source learned, frame dropped'),
    send('p0', frame(S(2), S(1)), 'to a learning port: not delivered'),
    send('p0', frame(BCAST, S(1)), 'floods skip the learning port'),
    cfg({ op: 'portState', port: 'p1', state: 'blocking' }, 'blocking is promoted to forwarding with STP off'),
    checkPorts('p1 forwarding again'),
    cfg({ op: 'portState', port: 'p1', state: 'listening' }, 'p1 listening'),
    send('p1', frame(S(1), S(5)), 'listening port: dropped, not learned'),
    cfg({ op: 'portState', port: 'p1', state: 'disabled' }, 'p1 disabled by hand'),
    send('p1', frame(S(1), S(5)), 'disabled port: dropped'),
    send('p1', frame('01:80:c2:00:00:0e', S(6)), 'link-local on a disabled port: passed up, not learned'),
    cfg({ op: 'portState', port: 'p1', state: 'forwarding' }, 'p1 forwarding'),
    checkPorts('all forwarding'),
    checkFdb('before carrier loss'),
    cfg({ op: 'carrier', port: 'p2', up: false }, 'carrier loss on p2'),
    checkPorts('p2 disabled'),
    checkFdb('p2 dynamic entries flushed'),
    cfg({ op: 'portState', port: 'p2', state: 'forwarding' }, 'no carrier: only disabled can be set'),
    send('p0', frame(S(3), S(1)), 'S3 unknown now: floods, but not to p2'),
    cfg({ op: 'carrier', port: 'p2', up: true }, 'carrier back'),
    checkPorts('p2 forwarding'),
    send('p0', frame(S(3), S(1)), 'floods to p2 again'),
    checkFdb('final'),
  ],
  'ageing': [
    { kind: 'checkAgeing', note: 'default 30000' },
    cfg({ op: 'ageing', cs: 5 }, '5 cs'),
    { kind: 'checkAgeing', note: '5 cs reads back as 4 with HZ=250' },
    cfg({ op: 'ageing', cs: 3 }, '3 cs'),
    { kind: 'checkAgeing', note: 'reads back as 2' },
    cfg({ op: 'ageing', cs: 200 }, '2 s'),
    { kind: 'checkAgeing', note: '200' },
    send('p0', frame(S(2), S(1)), 'learn S1'),
    send('p1', frame(S(1), S(2)), 'learn S2'),
    wait(1000, 'one second'),
    send('p0', frame(S(3), S(1)), 'refresh S1'),
    checkFdb('both present at ~1 s'),
    wait(1500, 'to ~2.5 s'),
    checkFdb('S2 aged out at 2 s, S1 (refreshed at 1 s) still there'),
    send('p3', frame(S(2), S(4)), 'S2 unknown again: flood'),
    send('p1', frame(S(1), S(2)), 'S1 still known'),
    cfg({ op: 'ageing', cs: 0 }, 'ageing 0: hub'),
    checkFdb('every dynamic entry deleted'),
    send('p0', frame(S(2), S(1)), 'flooded, not learned'),
    checkFdb('still empty'),
    cfg({ op: 'ageing', cs: 30000 }, 'back to 300 s'),
  ],
  'MTU': [
    cfg({ op: 'portMtu', port: 'p2', mtu: 1000 }, 'p2 MTU 1000'),
    send('p0', frame(BCAST, S(1), { len: 1018 }), '1018 bytes fit MTU + 18'),
    send('p0', frame(BCAST, S(1), { len: 1019 }), '1019 bytes: dropped on p2 only'),
    send('p0', frame(BCAST, S(1), { len: 1022, vlan: 5 }), 'tagged: the tag does not count'),
    send('p0', frame(BCAST, S(1), { len: 1023, vlan: 5 }), 'tagged 1023: dropped on p2'),
    send('p2', frame(S(9), S(2)), 'learn S2 on p2'),
    send('p0', frame(S(2), S(1), { len: 1019 }), 'known unicast too long for p2: dropped'),
    send('p0', frame(S(2), S(1), { len: 1000 }), 'fits'),
  ],
  'user entries: static, sticky, permanent': [
    cfg({ op: 'fdbAdd', mac: S(1), port: 'p1', state: 'static' }, 'static S1 on p1'),
    send('p2', frame(S(1), S(3)), 'to the static entry'),
    send('p0', frame(S(2), S(1)), 'S1 seen on p0: a non-sticky static entry moves'),
    checkFdb('static moved'),
    cfg({ op: 'fdbAdd', mac: S(2), port: 'p2', state: 'static', sticky: true }, 'sticky static S2 on p2'),
    send('p3', frame(S(1), S(2)), 'S2 seen on p3: sticky, stays on p2'),
    send('p0', frame(S(2), S(1)), 'to S2 via p2'),
    cfg({ op: 'fdbAdd', mac: S(3), port: 'p3', state: 'permanent' }, 'permanent (local) S3 on p3'),
    send('p0', frame(S(3), S(1)), 'to a local entry: br0 only'),
    send('p3', frame(S(1), S(3)), 'local address as source: not learned'),
    checkFdb('user entries'),
    cfg({ op: 'fdbDel', mac: S(3), port: 'p3' }, 'delete S3'),
    send('p0', frame(S(3), S(1)), 'S3 unknown: flood'),
    checkFdb('final'),
  ],
  'IP multicast snooping and br_netfilter': [
    send('p0', frame('01:00:5e:00:00:05', S(1), { etype: 0x0800 }), 'bad IPv4 header in multicast: learned, then dropped'),
    send('p1', frame('01:00:5e:00:00:05', S(2), { etype: 0x0800, body: ipv4Body([224, 0, 0, 5], 26) }), 'valid IPv4 multicast: flooded and delivered up'),
    send('p2', frame('01:00:5e:00:00:05', S(3), { etype: 0x0800, body: ipv4Body([224, 0, 0, 5], 26, 200) }), 'IPv4 total length beyond the frame: dropped'),
    send('p2', frame(S(9), S(3), { etype: 0x0800 }), 'bad IPv4 header in unicast: bridged (no br_netfilter)'),
    checkFdb('S1, S2, S3 learned'),
    cfg({ op: 'nfCallIptables', on: true }, 'bridge-nf-call-iptables=1'),
    send('p3', frame(S(1), S(4), { etype: 0x0800 }), 'bad IPv4 unicast: dropped before learning'),
    send('p3', frame(S(1), S(5), { etype: 0x0800, body: ipv4Body([10, 0, 0, 9], 10), len: 60 }), 'valid IPv4 with padding: trimmed to its total length'),
    send('p3', frame(S(1), S(6), { etype: 0x0800, vlan: 7, len: 64 }), 'tagged frames skip br_netfilter'),
    checkFdb('S4 not learned'),
    cfg({ op: 'nfCallIptables', on: false }, 'bridge-nf-call-iptables=0'),
  ],
};
