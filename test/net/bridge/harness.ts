/**
 * The two sides of the bridge conformance test: the model (`ModelBridge`) and the real kernel
 * bridge in a network namespace (`RealBridge`), both driven through `BridgeUnderTest`.
 */
import { spawn, execFileSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { Simulator } from '../../../src/sim';
import { Params } from '../../../src/params';
import { Bridge } from '../../../src/net/bridge';
import {
  PORTS, PORT_MAC, MARKER_HEX, stamp, type BridgeUnderTest, type ConfigOp, type FdbView, type Observation, type Step,
} from './scenarios';

/** FDB rows the scenarios are about: stations (02:aa:…) and the ports' own addresses. */
export function relevantFdb(rows: FdbView[]): FdbView[] {
  return rows
    .filter((r) => r.mac.startsWith('02:aa:') || r.mac.startsWith('02:00:00:00:01:'))
    .sort((a, b) => (a.mac < b.mac ? -1 : a.mac > b.mac ? 1 : 0));
}

export class ModelBridge implements BridgeUnderTest {
  readonly sim = new Simulator({ seed: 7 });
  readonly br: Bridge;

  constructor() {
    this.br = new Bridge(this.sim, Params.defaults(), { name: 'br0' });
    PORTS.forEach((name, i) => this.br.addPort({ name, mac: PORT_MAC(i), kind: 'veth' }));
  }

  private obs(r: { egress: string[]; local: boolean; len: number }): Observation {
    const egress = [...r.egress].sort();
    return { egress, local: r.local, lens: egress.map(() => r.len) };
  }

  async send(port: string, frame: Uint8Array): Promise<Observation> {
    return this.obs(this.br.inject(port, frame));
  }

  async xmit(frame: Uint8Array): Promise<Observation> {
    return this.obs(this.br.xmit(frame));
  }

  async config(op: ConfigOp): Promise<'ok' | 'refused'> {
    const br = this.br;
    try {
      switch (op.op) {
        case 'portFlags': br.setPortFlags(op.port, op.flags); break;
        case 'portState': br.setPortState(op.port, op.state); break;
        case 'carrier': br.setCarrier(op.port, op.up); break;
        case 'portMtu': br.setPortMtu(op.port, op.mtu); break;
        case 'ageing': br.setAgeingTime(op.cs); break;
        case 'groupFwdMask': br.setGroupFwdMask(op.mask); break;
        case 'noLinklocalLearn': br.setNoLinklocalLearn(op.on); break;
        case 'nfCallIptables': br.nfCallIptables = op.on; break;
        case 'fdbAdd': br.fdbAdd(op.mac, op.port, { state: op.state, sticky: op.sticky }); break;
        case 'fdbDel': br.fdbDel(op.mac, op.port); break;
      }
      return 'ok';
    } catch {
      return 'refused';
    }
  }

  async wait(ms: number): Promise<void> {
    this.sim.run({ until: this.sim.now + ms * 1_000_000 });
  }

  async fdb(): Promise<FdbView[]> {
    return relevantFdb(this.br.fdb().map((r) => ({ mac: r.mac, port: r.port, state: r.state, sticky: r.flags.includes('sticky') })));
  }

  async portStates(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const name of PORTS) out[name] = this.br.port(name).stateName;
    return out;
  }

  async ageingTime(): Promise<number> {
    return this.br.ageingTime;
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The real bridge br0 with veth ports p0..p3 whose peers q0..q3 sit in the same namespace. */
export class RealBridge implements BridgeUnderTest {
  private helper: ChildProcessWithoutNullStreams | undefined;
  private lines: string[] = [];
  private waiters: ((line: string) => void)[] = [];
  private buf = '';
  /** What the model says the port states should be after a carrier change (to poll for). */
  expectStates: (() => Promise<Record<string, string>>) | undefined;

  constructor(readonly ns: string) {}

  ip(...args: string[]): string {
    return execFileSync('ip', ['-n', this.ns, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  }

  exec(cmd: string, ...args: string[]): string {
    return execFileSync('ip', ['netns', 'exec', this.ns, cmd, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  }

  async setup(): Promise<void> {
    this.ip('link', 'add', 'br0', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0');
    PORTS.forEach((p, i) => {
      this.ip('link', 'add', p, 'address', PORT_MAC(i), 'type', 'veth', 'peer', 'name', `q${i}`, 'address', `02:00:00:00:02:0${i}`);
      this.ip('link', 'set', p, 'master', 'br0');
    });
    for (let i = 0; i < PORTS.length; i++) {
      this.ip('link', 'set', PORTS[i]!, 'up');
      this.ip('link', 'set', `q${i}`, 'up');
    }
    this.ip('link', 'set', 'br0', 'up');
    this.exec('sysctl', '-qw', 'net.bridge.bridge-nf-call-iptables=0');
    await this.pollStates(Object.fromEntries(PORTS.map((p) => [p, 'forwarding'])), 5000);
    this.helper = spawn('ip', ['netns', 'exec', this.ns, 'python3', join(__dirname, 'rawsock.py'), 'q0', 'q1', 'q2', 'q3', 'br0']);
    this.helper.stdout.setEncoding('utf8');
    this.helper.stdout.on('data', (d: string) => {
      this.buf += d;
      let i: number;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        const w = this.waiters.shift();
        if (w) w(line); else this.lines.push(line);
      }
    });
    let stderr = '';
    this.helper.stderr.on('data', (d) => { stderr += String(d); });
    const ready = JSON.parse(await this.readLine(5000, () => stderr)) as { ok: boolean };
    if (!ready.ok) throw new Error('raw socket helper failed to start: ' + stderr);
  }

  private readLine(timeoutMs: number, why: () => string = () => ''): Promise<string> {
    const l = this.lines.shift();
    if (l !== undefined) return Promise.resolve(l);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('raw socket helper did not answer: ' + why())), timeoutMs);
      this.waiters.push((line) => { clearTimeout(t); resolve(line); });
    });
  }

  private async request(req: object): Promise<{ ok: boolean; error?: string; frames?: { ifname: string; hex: string }[] }> {
    this.helper!.stdin.write(JSON.stringify(req) + '\n');
    const res = JSON.parse(await this.readLine(10_000)) as { ok: boolean; error?: string; frames?: { ifname: string; hex: string }[] };
    if (!res.ok) throw new Error('raw socket helper: ' + res.error);
    return res;
  }

  private async sendOn(ifname: string, frame: Uint8Array, step: number): Promise<Observation> {
    await this.request({ op: 'send', ifname, hex: Buffer.from(frame).toString('hex') });
    const stepHex = MARKER_HEX + (step >> 8).toString(16).padStart(2, '0') + (step & 0xff).toString(16).padStart(2, '0');
    const res = await this.request({ op: 'collect', quiet_ms: 40, marker: stepHex });
    const copies = res.frames!.filter((f) => f.ifname !== 'br0').map((f) => ({ port: 'p' + f.ifname.slice(1), len: f.hex.length / 2 }));
    copies.sort((a, b) => (a.port < b.port ? -1 : 1));
    return { egress: copies.map((c) => c.port), local: res.frames!.some((f) => f.ifname === 'br0'), lens: copies.map((c) => c.len) };
  }

  send(port: string, frame: Uint8Array, step: number): Promise<Observation> {
    return this.sendOn('q' + port.slice(1), frame, step);
  }

  xmit(frame: Uint8Array, step: number): Promise<Observation> {
    return this.sendOn('br0', frame, step);
  }

  async config(op: ConfigOp): Promise<'ok' | 'refused'> {
    const onoff = (b: boolean | number) => (b ? 'on' : 'off');
    try {
      switch (op.op) {
        case 'portFlags':
          for (const [k, v] of Object.entries(op.flags)) {
            if (k === 'group_fwd_mask') this.ip('link', 'set', 'dev', op.port, 'type', 'bridge_slave', 'group_fwd_mask', String(v));
            else if (k === 'proxy_arp') this.ip('link', 'set', 'dev', op.port, 'type', 'bridge_slave', 'proxy_arp', onoff(v));
            else this.exec('bridge', 'link', 'set', 'dev', op.port, k, onoff(v));
          }
          break;
        case 'portState':
          this.exec('bridge', 'link', 'set', 'dev', op.port, 'state', op.state);
          break;
        case 'carrier':
          this.ip('link', 'set', 'q' + op.port.slice(1), op.up ? 'up' : 'down');
          if (this.expectStates) await this.pollStates(await this.expectStates(), 4000);
          break;
        case 'portMtu': this.ip('link', 'set', op.port, 'mtu', String(op.mtu)); break;
        case 'ageing': this.ip('link', 'set', 'br0', 'type', 'bridge', 'ageing_time', String(op.cs)); break;
        case 'groupFwdMask': this.ip('link', 'set', 'br0', 'type', 'bridge', 'group_fwd_mask', String(op.mask)); break;
        case 'noLinklocalLearn': this.ip('link', 'set', 'br0', 'type', 'bridge', 'no_linklocal_learn', op.on ? '1' : '0'); break;
        case 'nfCallIptables': this.exec('sysctl', '-qw', `net.bridge.bridge-nf-call-iptables=${op.on ? 1 : 0}`); break;
        case 'fdbAdd':
          this.exec('bridge', 'fdb', 'add', op.mac, 'dev', op.port, 'master', op.state, ...(op.sticky ? ['sticky'] : []));
          break;
        case 'fdbDel': this.exec('bridge', 'fdb', 'del', op.mac, 'dev', op.port, 'master'); break;
      }
      return 'ok';
    } catch {
      return 'refused';
    }
  }

  async wait(ms: number): Promise<void> {
    await sleep(ms);
  }

  async fdb(): Promise<FdbView[]> {
    const rows = JSON.parse(this.exec('bridge', '-j', 'fdb', 'show', 'br', 'br0')) as { mac: string; ifname: string; flags: string[]; state?: string }[];
    return relevantFdb(rows.filter((r) => !r.flags.includes('self')).map((r) => ({
      mac: r.mac, port: r.ifname, state: r.state === undefined || r.state === '' ? 'dynamic' : r.state, sticky: r.flags.includes('sticky'),
    })));
  }

  async portStates(): Promise<Record<string, string>> {
    const rows = JSON.parse(this.exec('bridge', '-j', 'link', 'show')) as { ifname: string; master?: string; state: string }[];
    const out: Record<string, string> = {};
    for (const name of PORTS) out[name] = rows.find((r) => r.ifname === name)?.state ?? 'absent';
    return out;
  }

  async pollStates(want: Record<string, string>, timeoutMs: number): Promise<void> {
    const t0 = Date.now();
    for (;;) {
      const got = await this.portStates();
      if (JSON.stringify(got) === JSON.stringify(want) || Date.now() - t0 > timeoutMs) return;
      await sleep(20);
    }
  }

  async ageingTime(): Promise<number> {
    const j = JSON.parse(this.ip('-j', '-d', 'link', 'show', 'br0')) as { linkinfo: { info_data: { ageing_time: number } } }[];
    return j[0]!.linkinfo.info_data.ageing_time;
  }

  async teardown(): Promise<void> {
    if (this.helper) {
      try { this.helper.stdin.write('{"op":"quit"}\n'); } catch { /* already gone */ }
      const h = this.helper;
      await new Promise<void>((r) => { const t = setTimeout(() => { h.kill(); r(); }, 1000); h.on('exit', () => { clearTimeout(t); r(); }); });
      this.helper = undefined;
    }
    for (const link of ['br0', ...PORTS]) {
      try { this.ip('link', 'del', link); } catch { /* gone with its peer */ }
    }
  }
}

export interface Mismatch {
  step: number;
  note: string;
  what: string;
  real: unknown;
  model: unknown;
}

export interface LogEntry {
  step: number;
  what: string;
  value: unknown;
}

/** Runs `steps` on one side only and logs every observation (for the recorded golden). */
export async function observe(steps: Step[], side: BridgeUnderTest, firstStep: number): Promise<LogEntry[]> {
  const log: LogEntry[] = [];
  let n = firstStep;
  for (const st of steps) {
    n++;
    switch (st.kind) {
      case 'send': log.push({ step: n, what: 'send', value: await side.send(st.port, stamp(st.frame, n), n) }); break;
      case 'xmit': log.push({ step: n, what: 'xmit', value: await side.xmit(stamp(st.frame, n), n) }); break;
      case 'config': log.push({ step: n, what: 'config ' + st.config.op, value: await side.config(st.config) }); break;
      case 'wait': await side.wait(st.ms); break;
      case 'checkFdb': log.push({ step: n, what: 'fdb', value: await side.fdb() }); break;
      case 'checkPorts': log.push({ step: n, what: 'port states', value: await side.portStates() }); break;
      case 'checkAgeing': log.push({ step: n, what: 'ageing_time', value: await side.ageingTime() }); break;
    }
  }
  return log;
}

/** Runs `steps` on both sides, returning every difference and the real side's log. */
export async function runScenario(steps: Step[], real: BridgeUnderTest, model: BridgeUnderTest, firstStep: number, log: LogEntry[] = []): Promise<Mismatch[]> {
  const out: Mismatch[] = [];
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  let n = firstStep;
  for (const st of steps) {
    n++;
    const note = st.note;
    switch (st.kind) {
      case 'send':
      case 'xmit': {
        const f = stamp(st.frame, n);
        const r = st.kind === 'send' ? await real.send(st.port, f, n) : await real.xmit(f, n);
        const m = st.kind === 'send' ? await model.send(st.port, f, n) : await model.xmit(f, n);
        log.push({ step: n, what: st.kind, value: r });
        if (!same(r, m)) out.push({ step: n, note, what: st.kind, real: r, model: m });
        break;
      }
      case 'config': {
        const m = await model.config(st.config); // first: the real side polls for the model's port states
        const r = await real.config(st.config);
        log.push({ step: n, what: 'config ' + st.config.op, value: r });
        if (r !== m) out.push({ step: n, note, what: 'config ' + st.config.op, real: r, model: m });
        break;
      }
      case 'wait':
        await Promise.all([real.wait(st.ms), model.wait(st.ms)]);
        break;
      case 'checkFdb': {
        const r = await real.fdb();
        const m = await model.fdb();
        log.push({ step: n, what: 'fdb', value: r });
        if (!same(r, m)) out.push({ step: n, note, what: 'fdb', real: r, model: m });
        break;
      }
      case 'checkPorts': {
        const r = await real.portStates();
        const m = await model.portStates();
        log.push({ step: n, what: 'port states', value: r });
        if (!same(r, m)) out.push({ step: n, note, what: 'port states', real: r, model: m });
        break;
      }
      case 'checkAgeing': {
        const r = await real.ageingTime();
        const m = await model.ageingTime();
        log.push({ step: n, what: 'ageing_time', value: r });
        if (r !== m) out.push({ step: n, note, what: 'ageing_time', real: r, model: m });
        break;
      }
    }
  }
  return out;
}
