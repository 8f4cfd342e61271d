/**
 * The parameter registry: every tunable of the model is declared exactly once — name, type,
 * default, range or choices, unit, one sentence of help, and what it models (a Linux module
 * parameter, a Xen constant, a cost measured somewhere) — as ns-3 declares its attributes. The
 * declaration feeds validation, the notebooks' `describe()` tables and the docs.
 *
 *   export const NETBACK_PARAMS = defineParams('netback', {
 *     fatal_skb_slots: int({ default: 20, min: 18, unit: 'slots',
 *       help: 'A guest packet spanning more tx slots than this is malicious; the vif is disabled.',
 *       models: 'linux drivers/net/xen-netback/netback.c module_param fatal_skb_slots' }),
 *   });
 *
 *   const params = Params.defaults().with({ 'netback.fatal_skb_slots': 30 });
 *   params.group(NETBACK_PARAMS).fatal_skb_slots   // 30, typed as number
 *
 * `Params` values are immutable: `with()` returns a new set and never changes the old one.
 */
import { PARAM_MESSAGES as M } from './messages';

interface SpecBase<T> {
  default: T;
  /** One sentence: what the parameter does. */
  help: string;
  /** What it models, with its source: a module parameter, a constant, a measurement. */
  models: string;
  unit?: string;
}
export interface IntSpec extends SpecBase<number> { kind: 'int'; min: number; max: number }
export interface NumberSpec extends SpecBase<number> { kind: 'number'; min: number; max: number }
export interface BoolSpec extends SpecBase<boolean> { kind: 'bool' }
export interface ChoiceSpec<C extends string = string> extends SpecBase<C> { kind: 'choice'; choices: readonly C[] }
export type ParamSpec = IntSpec | NumberSpec | BoolSpec | ChoiceSpec;

type ValueOf<S> = S extends ChoiceSpec<infer C> ? C : S extends BoolSpec ? boolean : number;
export type GroupValues<G extends Record<string, ParamSpec>> = { readonly [K in keyof G]: ValueOf<G[K]> };

export interface ParamGroup<G extends Record<string, ParamSpec> = Record<string, ParamSpec>> {
  readonly name: string;
  readonly specs: G;
}

type Decl<T> = Omit<SpecBase<T>, never>;

/** An integer parameter in [min, max] (max defaults to 2^53-1). */
export function int(d: Decl<number> & { min?: number; max?: number }): IntSpec {
  return { ...d, kind: 'int', min: d.min ?? Number.MIN_SAFE_INTEGER, max: d.max ?? Number.MAX_SAFE_INTEGER };
}
/** A real-valued parameter in [min, max]. */
export function num(d: Decl<number> & { min?: number; max?: number }): NumberSpec {
  return { ...d, kind: 'number', min: d.min ?? -Infinity, max: d.max ?? Infinity };
}
export function bool(d: Decl<boolean>): BoolSpec {
  return { ...d, kind: 'bool' };
}
export function choice<C extends string>(d: Decl<C> & { choices: readonly C[] }): ChoiceSpec<C> {
  return { ...d, kind: 'choice' };
}

const GROUPS = new Map<string, ParamGroup>();

/** Declares a group of parameters named `<group>.<name>`; each group is declared once. */
export function defineParams<G extends Record<string, ParamSpec>>(group: string, specs: G): ParamGroup<G> {
  if (GROUPS.has(group)) throw new Error(M.duplicateGroup(group));
  for (const [name, spec] of Object.entries(specs)) {
    const full = `${group}.${name}`;
    if (!spec.help || !spec.help.trim()) throw new Error(M.badDeclaration(full, 'help text is required'));
    if (!spec.models || !spec.models.trim()) throw new Error(M.badDeclaration(full, "'models' (what it models, from where) is required"));
    const problem = check(full, spec, spec.default);
    if (problem !== undefined) throw new Error(M.badDeclaration(full, `its default fails its own check: ${problem}`));
  }
  const g: ParamGroup<G> = { name: group, specs };
  GROUPS.set(group, g as unknown as ParamGroup);
  return g;
}

function rangeText(spec: IntSpec | NumberSpec): string {
  const lo = spec.min === Number.MIN_SAFE_INTEGER || spec.min === -Infinity ? '-∞' : String(spec.min);
  const hi = spec.max === Number.MAX_SAFE_INTEGER || spec.max === Infinity ? '∞' : String(spec.max);
  return `[${lo}, ${hi}]${spec.unit ? ` ${spec.unit}` : ''}`;
}

function check(name: string, spec: ParamSpec, value: unknown): string | undefined {
  switch (spec.kind) {
    case 'int':
      if (typeof value !== 'number' || !Number.isInteger(value)) return M.notInteger(name, value, rangeText(spec));
      if (value < spec.min || value > spec.max) return M.outOfRange(name, value, rangeText(spec));
      return undefined;
    case 'number':
      if (typeof value !== 'number' || Number.isNaN(value)) return M.notNumber(name, value, rangeText(spec));
      if (value < spec.min || value > spec.max) return M.outOfRange(name, value, rangeText(spec));
      return undefined;
    case 'bool':
      return typeof value === 'boolean' ? undefined : M.notBoolean(name, value);
    case 'choice':
      return typeof value === 'string' && (spec.choices as readonly string[]).includes(value) ? undefined : M.notChoice(name, value, spec.choices);
  }
}

function allNames(): string[] {
  const out: string[] = [];
  for (const g of GROUPS.values()) for (const k of Object.keys(g.specs)) out.push(`${g.name}.${k}`);
  return out.sort();
}

function lookup(full: string): ParamSpec | undefined {
  const dot = full.indexOf('.');
  if (dot < 0) return undefined;
  return GROUPS.get(full.slice(0, dot))?.specs[full.slice(dot + 1)];
}

function closest(name: string, names: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const n of names) {
    const d = editDistance(name, n);
    if (d < bestD) { bestD = d; best = n; }
  }
  return bestD <= Math.max(2, Math.floor(name.length / 4)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0]!;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j]!;
      dp[j] = Math.min(dp[j]! + 1, dp[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length]!;
}

export type Overrides = Readonly<Record<string, number | boolean | string>>;

export interface ParamRow {
  name: string;
  value: number | boolean | string;
  default: number | boolean | string;
  changed: boolean;
  allowed: string;
  unit: string;
  help: string;
  models: string;
}

/** Parameters an earlier version had, with what replaced them (notebooks written for it say so). */
const RETIRED: Readonly<Record<string, string>> = {
  'nic.itr_ns': "use 'nic.rx_usecs' as `ethtool -C rx-usecs` takes it: 1 adaptive (the default), 0 no moderation, 2-1022 a fixed interval in µs (a fixed 10 µs was the old default)",
};

/** The error for a name the catalogue does not have: what replaced it, the closest name, or the list. */
function unknownMessage(name: string): string {
  const instead = RETIRED[name];
  if (instead !== undefined) return M.retired(name, instead);
  const names = allNames();
  const s = closest(name, names);
  return s !== undefined ? M.unknownClose(name, s) : M.unknown(name, names);
}

/** An immutable set of parameter values: the defaults plus validated overrides. */
export class Params {
  private readonly overrides: ReadonlyMap<string, number | boolean | string>;
  private readonly cache = new Map<string, object>();

  private constructor(overrides: ReadonlyMap<string, number | boolean | string>) {
    this.overrides = overrides;
    Object.freeze(this);
  }

  static defaults(): Params {
    return new Params(new Map());
  }

  /** Validates `overrides` against the catalogue and returns a new set; this one is unchanged. */
  with(overrides: Overrides): Params {
    const next = new Map(this.overrides);
    for (const [name, value] of Object.entries(overrides)) {
      const spec = lookup(name);
      if (spec === undefined) throw new Error(unknownMessage(name));
      const problem = check(name, spec, value);
      if (problem !== undefined) throw new Error(problem);
      next.set(name, value);
    }
    return new Params(next);
  }

  /** One parameter's value by full name ("netback.fatal_skb_slots"). */
  get(name: string): number | boolean | string {
    const spec = lookup(name);
    if (spec === undefined) throw new Error(unknownMessage(name));
    return this.overrides.has(name) ? this.overrides.get(name)! : spec.default;
  }

  /** The typed values of one group (cached: cheap to call in constructors). */
  group<G extends Record<string, ParamSpec>>(group: ParamGroup<G>): GroupValues<G> {
    let v = this.cache.get(group.name) as GroupValues<G> | undefined;
    if (v === undefined) {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(group.specs)) out[k] = this.get(`${group.name}.${k}`);
      // A copy by spread: V8 turns an object grown by more than a dozen keyed stores into a hash
      // table, and the drivers read these values on every packet; the copy has fast properties.
      v = Object.freeze({ ...out }) as GroupValues<G>;
      this.cache.set(group.name, v);
    }
    return v;
  }

  /** The overrides in this set, as given. */
  changed(): Overrides {
    return Object.fromEntries(this.overrides);
  }

  /** Rows describing every parameter (or those whose full name starts with `prefix`). */
  describe(prefix = ''): ParamRow[] {
    const rows: ParamRow[] = [];
    for (const name of allNames()) {
      if (!name.startsWith(prefix)) continue;
      const spec = lookup(name)!;
      rows.push({
        name,
        value: this.get(name),
        default: spec.default,
        changed: this.overrides.has(name),
        allowed: spec.kind === 'int' || spec.kind === 'number' ? rangeText(spec)
          : spec.kind === 'bool' ? 'true | false' : spec.choices.join(' | '),
        unit: spec.unit ?? '',
        help: spec.help,
        models: spec.models,
      });
    }
    return rows;
  }
}

/** Every declared group (for docs and the notebooks' catalogue). */
export function paramGroups(): ParamGroup[] {
  return [...GROUPS.values()];
}
