/**
 * Pretty printing, tcpdump-like, for traces, notebooks and test failures.
 *
 *   prettyLine(frame)  → "EthernetII src=… dst=… type=IPv4 | IPv4 10.0.0.1 > 10.0.0.2 ttl=64 … | UDP 1000 > 2000 len=18"
 *   prettyTree(frame)  → one block per layer, one field per line (like `tshark -V`, smaller)
 *
 * Both walk the frame through the checked views, so a malformed frame prints what could be
 * decoded followed by the error (`IPv4 [malformed total_len: …]`); they never throw on bytes.
 * Wrong checksums are shown as `[bad cksum 0x…]` unless `checksums: false` (use that for
 * CHECKSUM_PARTIAL frames, whose L4 field holds only the pseudo-header sum).
 */
import { MacAddr } from './address';
import { ArpOperation, ArpPacket, ArpRepr } from './arp';
import { EthernetFrame, EtherType, etherTypeName } from './ethernet';
import { formatWireError, type WireError } from './error';
import { IcmpType, Icmpv4Packet, icmpTypeName } from './icmpv4';
import { IpProtocol, Ipv4Packet, ipProtocolName } from './ipv4';
import { TcpPacket, tcpFlagsString } from './tcp';
import { UdpPacket } from './udp';

export interface PrettyOptions {
  /** Check and flag wrong checksums (default true). */
  checksums?: boolean;
}

/** One decoded layer: a one-line summary and its fields. */
export interface PrettyLayer {
  name: string;
  summary: string;
  fields: Array<[string, string]>;
  error?: WireError;
}

const hex4 = (v: number): string => '0x' + v.toString(16).padStart(4, '0');

/** Decodes as many layers as possible (for the printers below, and for notebook tables). */
export function describeFrame(buf: Uint8Array, off = 0, len = buf.length - off, opts: PrettyOptions = {}): PrettyLayer[] {
  const check = opts.checksums !== false;
  const layers: PrettyLayer[] = [];
  const eth = new EthernetFrame(buf, off, len);
  const ee = eth.checkLen();
  if (ee !== undefined) {
    layers.push({ name: 'EthernetII', summary: `EthernetII [malformed ${ee.field}: ${ee.message}]`, fields: [], error: ee });
    return layers;
  }
  const type = eth.etherType;
  const fields: Array<[string, string]> = [['dst', eth.dst.toString() + macNote(eth.dst)], ['src', eth.src.toString()]];
  let tag = '';
  if (eth.hasVlan) {
    const tci = eth.tci;
    tag = ` vlan=${tci & 0xfff} pcp=${tci >>> 13}${tci & 0x1000 ? ' dei' : ''}`;
    fields.push(['802.1Q', `vid=${tci & 0xfff} pcp=${tci >>> 13} dei=${(tci >>> 12) & 1} (tci ${hex4(tci)})`]);
  }
  fields.push(['type', `${etherTypeName(type)} (${hex4(type)})`]);
  layers.push({ name: 'EthernetII', summary: `EthernetII src=${eth.src} dst=${eth.dst}${tag} type=${etherTypeName(type)}`, fields });

  const at = eth.payloadOffset;
  const rest = eth.payloadLength;
  if (type === EtherType.ARP) {
    const p = new ArpPacket(buf, at, rest);
    const r = ArpRepr.parse(p);
    if (!r.ok) return bad(layers, 'ARP', r.error);
    const a = r.value;
    const summary =
      a.operation === ArpOperation.Request ? `ARP who-has ${a.targetIp} tell ${a.senderIp} (${a.senderMac})`
      : a.operation === ArpOperation.Reply ? `ARP reply ${a.senderIp} is-at ${a.senderMac} to ${a.targetIp} (${a.targetMac})`
      : `ARP op=${a.operation} ${a.senderIp} (${a.senderMac}) > ${a.targetIp} (${a.targetMac})`;
    layers.push({
      name: 'ARP', summary,
      fields: [
        ['htype', '1 (Ethernet)'], ['ptype', 'IPv4 (0x0800)'], ['hlen', '6'], ['plen', '4'],
        ['oper', `${a.operation}${a.operation === 1 ? ' (request)' : a.operation === 2 ? ' (reply)' : ''}`],
        ['sender', `${a.senderMac} ${a.senderIp}`], ['target', `${a.targetMac} ${a.targetIp}`],
      ],
    });
    return layers;
  }
  if (type !== EtherType.IPv4) {
    if (rest > 0) layers.push(payloadLayer(buf, at, rest));
    return layers;
  }

  const ip = new Ipv4Packet(buf, at, rest);
  const ie = ip.checkLen();
  if (ie !== undefined) return bad(layers, 'IPv4', ie);
  if (ip.version !== 4) return bad(layers, 'IPv4', { layer: 'ipv4', field: 'version', message: `version ${ip.version} is not 4` });
  const ipOk = !check || ip.verifyChecksum();
  const frag = ip.moreFrags || ip.fragOffset !== 0;
  const flags = [ip.dontFrag ? 'DF' : '', ip.moreFrags ? 'MF' : ''].filter(Boolean).join(',');
  layers.push({
    name: 'IPv4',
    summary: `IPv4 ${ip.src} > ${ip.dst} ttl=${ip.ttl} id=${ip.ident} len=${ip.totalLen}${flags ? ` [${flags}]` : ''}${frag ? ` frag=${ip.fragOffset * 8}` : ''}${ipOk ? '' : ` [bad cksum ${hex4(ip.checksum)}]`}`,
    fields: [
      ['version', String(ip.version)],
      ['header length', `${ip.headerLen} bytes (ihl ${ip.headerLen >>> 2})`],
      ['dscp/ecn', `${ip.dscp}/${ip.ecn}`],
      ['total length', String(ip.totalLen)],
      ['identification', `${hex4(ip.ident)} (${ip.ident})`],
      ['flags', `${hex4(ip.flagsFrag & 0xe000)}${flags ? ` (${flags})` : ''}`],
      ['fragment offset', String(ip.fragOffset * 8)],
      ['ttl', String(ip.ttl)],
      ['protocol', `${ipProtocolName(ip.protocol)} (${ip.protocol})`],
      ['checksum', `${hex4(ip.checksum)} ${check ? (ipOk ? '[correct]' : '[incorrect]') : '[unverified]'}`],
      ['src', ip.src.toString()],
      ['dst', ip.dst.toString()],
      ...(ip.headerLen > 20 ? ([['options', `${ip.headerLen - 20} bytes`]] as Array<[string, string]>) : []),
    ],
  });
  const l4 = ip.payloadOffset;
  const l4Len = ip.payloadLength;
  if (frag) {
    if (l4Len > 0) layers.push(payloadLayer(buf, l4, l4Len));
    return layers;
  }
  const src = ip.srcU32;
  const dst = ip.dstU32;
  switch (ip.protocol) {
    case IpProtocol.ICMP: {
      const m = new Icmpv4Packet(buf, l4, l4Len);
      const e = m.checkLen();
      if (e !== undefined) return bad(layers, 'ICMPv4', e);
      const good = !check || m.verifyChecksum();
      const echo = m.type === IcmpType.EchoRequest || m.type === IcmpType.EchoReply;
      const what = m.type === IcmpType.EchoRequest ? 'echo request' : m.type === IcmpType.EchoReply ? 'echo reply' : `type=${m.type} code=${m.code}`;
      layers.push({
        name: 'ICMPv4',
        summary: `ICMPv4 ${what}${echo ? ` id=${m.ident} seq=${m.seqNo}` : ''} len=${m.payloadLength}${good ? '' : ` [bad cksum ${hex4(m.checksum)}]`}`,
        fields: [
          ['type', `${m.type} (${icmpTypeName(m.type)})`],
          ['code', String(m.code)],
          ['checksum', `${hex4(m.checksum)} ${check ? (good ? '[correct]' : '[incorrect]') : '[unverified]'}`],
          ...(echo ? ([['identifier', String(m.ident)], ['sequence', String(m.seqNo)]] as Array<[string, string]>) : [['rest of header', `${hex4(m.ident)}${hex4(m.seqNo).slice(2)}`] as [string, string]]),
        ],
      });
      if (m.payloadLength > 0) layers.push(payloadLayer(buf, m.payloadOffset, m.payloadLength));
      return layers;
    }
    case IpProtocol.UDP: {
      const u = new UdpPacket(buf, l4, l4Len);
      const e = u.checkLen();
      if (e !== undefined) return bad(layers, 'UDP', e);
      const good = !check || u.verifyChecksum(src, dst);
      layers.push({
        name: 'UDP',
        summary: `UDP ${u.srcPort} > ${u.dstPort} len=${u.payloadLength}${u.checksum === 0 ? ' cksum=none' : ''}${good ? '' : ` [bad cksum ${hex4(u.checksum)}]`}`,
        fields: [
          ['src port', String(u.srcPort)],
          ['dst port', String(u.dstPort)],
          ['length', String(u.length)],
          ['checksum', u.checksum === 0 ? '0x0000 [none]' : `${hex4(u.checksum)} ${check ? (good ? '[correct]' : '[incorrect]') : '[unverified]'}`],
        ],
      });
      if (u.payloadLength > 0) layers.push(payloadLayer(buf, u.payloadOffset, u.payloadLength));
      return layers;
    }
    case IpProtocol.TCP: {
      const t = new TcpPacket(buf, l4, l4Len);
      const e = t.checkLen();
      if (e !== undefined) return bad(layers, 'TCP', e);
      const good = !check || t.verifyChecksum(src, dst);
      const fl = tcpFlagsString(t.flags);
      layers.push({
        name: 'TCP',
        summary: `TCP ${t.srcPort} > ${t.dstPort} [${fl}] seq=${t.seq} ack=${t.ack} win=${t.window} len=${t.payloadLength}${good ? '' : ` [bad cksum ${hex4(t.checksum)}]`}`,
        fields: [
          ['src port', String(t.srcPort)],
          ['dst port', String(t.dstPort)],
          ['seq', String(t.seq)],
          ['ack', String(t.ack)],
          ['header length', `${t.headerLen} bytes`],
          ['flags', `${hex4(t.flags)} [${fl}]`],
          ['window', String(t.window)],
          ['checksum', `${hex4(t.checksum)} ${check ? (good ? '[correct]' : '[incorrect]') : '[unverified]'}`],
          ['urgent', String(t.urgent)],
          ...(t.headerLen > 20 ? ([['options', `${t.headerLen - 20} bytes`]] as Array<[string, string]>) : []),
        ],
      });
      if (t.payloadLength > 0) layers.push(payloadLayer(buf, t.payloadOffset, t.payloadLength));
      return layers;
    }
    default:
      if (l4Len > 0) layers.push(payloadLayer(buf, l4, l4Len));
      return layers;
  }
}

function macNote(m: MacAddr): string {
  return m.isBroadcast() ? ' (broadcast)' : m.isLinkLocalGroup() ? ' (802.1D link-local group)' : m.isMulticast() ? ' (multicast)' : '';
}

function bad(layers: PrettyLayer[], name: string, e: WireError): PrettyLayer[] {
  layers.push({ name, summary: `${name} [malformed ${e.field}: ${e.message}]`, fields: [['error', formatWireError(e)]], error: e });
  return layers;
}

function payloadLayer(buf: Uint8Array, at: number, n: number): PrettyLayer {
  const shown = Math.min(n, 16);
  let hex = '';
  for (let i = 0; i < shown; i++) hex += (i ? ' ' : '') + buf[at + i]!.toString(16).padStart(2, '0');
  return { name: 'Payload', summary: `${n} bytes`, fields: [['length', String(n)], ['bytes', hex + (n > shown ? ' …' : '')]] };
}

/** One line per frame: the layers' summaries joined by " | " (the payload layer is left out). */
export function prettyLine(buf: Uint8Array, off = 0, len = buf.length - off, opts: PrettyOptions = {}): string {
  return describeFrame(buf, off, len, opts)
    .filter((l) => l.name !== 'Payload')
    .map((l) => l.summary)
    .join(' | ');
}

/** A nested, multi-line description: each layer's summary, then its fields indented. */
export function prettyTree(buf: Uint8Array, off = 0, len = buf.length - off, opts: PrettyOptions = {}): string {
  const lines: string[] = [`Frame: ${len} bytes`];
  for (const l of describeFrame(buf, off, len, opts)) {
    lines.push(`  ${l.name === 'Payload' ? 'Payload' : l.summary}`);
    const w = Math.max(0, ...l.fields.map(([k]) => k.length));
    for (const [k, v] of l.fields) lines.push(`    ${(k + ':').padEnd(w + 1)} ${v}`);
  }
  return lines.join('\n');
}
