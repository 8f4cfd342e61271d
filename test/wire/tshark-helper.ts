/**
 * Validate a capture with the real Wireshark dissectors (Debian's `tshark`), checksum checks on.
 *
 *   import { tsharkValidate, requireTshark } from '../wire/tshark-helper';
 *   const report = tsharkValidate('/tmp/vif1.0.pcap');
 *   expect(report.problems).toEqual([]);
 *   expect(report.protocols[0]).toEqual(['eth', 'ethertype', 'ip', 'udp', 'data']);
 *
 * A problem is: a malformed packet, an expert-info item in the Checksum or Malformed group or of
 * severity Warning or Error, a checksum whose status is Bad, an IP/UDP/TCP checksum left
 * Unverified (the checks did not run), or tshark failing. Expert items of severity Chat/Note
 * (e.g. "Connection establish request (SYN)") are reported in `frames[i].expert` but are not
 * problems; pass `ignore` to accept more (e.g. an expected duplicate-address warning).
 */
import { spawnSync } from 'node:child_process';

/** tshark 4.0 preference names for checksum validation (ICMP is always verified). */
export const TSHARK_CHECKSUM_PREFS = ['ip.check_checksum:TRUE', 'udp.check_checksum:TRUE', 'tcp.check_checksum:TRUE'];

// epan/proto.h expert severities and groups
const PI_WARN = 0x00600000;
const PI_CHECKSUM = 0x01000000;
const PI_MALFORMED = 0x07000000;
const SEVERITY: Record<number, string> = { 0x00100000: 'Comment', 0x00200000: 'Chat', 0x00400000: 'Note', 0x00600000: 'Warning', 0x00800000: 'Error' };
// epan/proto.h proto_checksum_enum_e
const CHECKSUM_STATUS = ['Bad', 'Good', 'Unverified', 'Not present', 'Illegal'];
const CHECKSUM_FIELDS = ['ip.checksum.status', 'udp.checksum.status', 'tcp.checksum.status', 'icmp.checksum.status'];
const MUST_VERIFY = new Set(['ip.checksum.status', 'udp.checksum.status', 'tcp.checksum.status']);

export interface TsharkExpert {
  message: string;
  severity: string;
  group: number;
}

export interface TsharkFrame {
  number: number;
  /** frame.protocols split on ':' (e.g. eth, ethertype, vlan, ethertype, ip, udp, data). */
  protocols: string[];
  /** e.g. { 'ip.checksum.status': 'Good', 'udp.checksum.status': 'Not present' } */
  checksums: Record<string, string>;
  expert: TsharkExpert[];
  malformed: boolean;
}

export interface TsharkReport {
  frames: number;
  /** Protocols per frame, in frame order. */
  protocols: string[][];
  perFrame: TsharkFrame[];
  /** Human-readable problems, empty when the capture is clean. */
  problems: string[];
}

export interface TsharkAvailability {
  ok: boolean;
  /** "TShark (Wireshark) 4.0.17 …", or why it is unavailable. */
  detail: string;
}

let cached: TsharkAvailability | undefined;

/** Whether tshark can be run here. */
export function tsharkAvailable(): TsharkAvailability {
  if (cached) return cached;
  const r = spawnSync('tshark', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    cached = { ok: false, detail: `tshark is not runnable (${r.error?.message ?? `exit ${r.status}`}); install Debian's tshark package` };
  } else {
    cached = { ok: true, detail: r.stdout.split('\n')[0]!.trim() };
  }
  return cached;
}

/**
 * For test files: true if tshark tests should run. In CI (CI=true) a missing tshark throws, so
 * the suite fails instead of silently skipping; elsewhere it prints the reason and returns false.
 */
export function requireTshark(): boolean {
  const a = tsharkAvailable();
  if (a.ok) return true;
  if (process.env.CI === 'true' || process.env.CI === '1') throw new Error(`tshark conformance tests cannot run in CI: ${a.detail}`);
  console.warn(`SKIPPING tshark conformance tests: ${a.detail}`);
  return false;
}

type JsonPacket = { _source: { layers: Record<string, string[] | undefined> } };

/** Runs tshark over a pcap with checksum checks on and reports every problem it finds. */
export function tsharkValidate(pcapPath: string, opts: { ignore?: RegExp[] } = {}): TsharkReport {
  const a = tsharkAvailable();
  if (!a.ok) throw new Error(a.detail);
  const args = ['-n', '-r', pcapPath];
  for (const p of TSHARK_CHECKSUM_PREFS) args.push('-o', p);
  args.push('-T', 'json', '-e', 'frame.number', '-e', 'frame.protocols', '-e', '_ws.expert.message', '-e', '_ws.expert.severity', '-e', '_ws.expert.group', '-e', '_ws.malformed');
  for (const f of CHECKSUM_FIELDS) args.push('-e', f);
  const r = spawnSync('tshark', args, { encoding: 'utf8', maxBuffer: 1 << 30 });
  const problems: string[] = [];
  const stderr = (r.stderr ?? '').split('\n').filter((l) => l.trim() && !/Running as user "root"/.test(l));
  if (r.status !== 0) problems.push(`tshark exited with ${r.status}: ${stderr.join(' ')}`);
  else for (const l of stderr) problems.push(`tshark: ${l}`);
  let packets: JsonPacket[] = [];
  try {
    packets = r.stdout.trim() ? (JSON.parse(r.stdout) as JsonPacket[]) : [];
  } catch (e) {
    problems.push(`tshark output is not JSON: ${(e as Error).message}`);
  }
  const ignored = (m: string) => (opts.ignore ?? []).some((re) => re.test(m));
  const perFrame: TsharkFrame[] = packets.map((p) => {
    const L = p._source.layers;
    const n = Number(L['frame.number']?.[0]);
    const messages = L['_ws.expert.message'] ?? [];
    const sev = L['_ws.expert.severity'] ?? [];
    const grp = L['_ws.expert.group'] ?? [];
    const expert = messages.map((message, i) => {
      const s = Number(sev[i]);
      return { message, severity: SEVERITY[s] ?? String(s), group: Number(grp[i]), sevNum: s };
    });
    const checksums: Record<string, string> = {};
    for (const f of CHECKSUM_FIELDS) {
      for (const v of L[f] ?? []) checksums[f] = CHECKSUM_STATUS[Number(v)] ?? v;
    }
    const malformed = (L['_ws.malformed'] ?? []).length > 0;
    if (malformed && !ignored('Malformed')) problems.push(`frame ${n}: malformed packet`);
    for (const x of expert) {
      const bad = x.sevNum >= PI_WARN || x.group === PI_CHECKSUM || x.group === PI_MALFORMED;
      if (bad && !ignored(x.message)) problems.push(`frame ${n}: ${x.severity}: ${x.message}`);
    }
    for (const [f, s] of Object.entries(checksums)) {
      if (s === 'Bad' || s === 'Illegal') problems.push(`frame ${n}: ${f} is ${s}`);
      else if (s === 'Unverified' && MUST_VERIFY.has(f)) problems.push(`frame ${n}: ${f} is Unverified (checksum checks did not run)`);
    }
    return {
      number: n,
      protocols: (L['frame.protocols']?.[0] ?? '').split(':').filter(Boolean),
      checksums,
      expert: expert.map(({ message, severity, group }) => ({ message, severity, group })),
      malformed,
    };
  });
  return { frames: perFrame.length, protocols: perFrame.map((f) => f.protocols), perFrame, problems: [...new Set(problems)] };
}
