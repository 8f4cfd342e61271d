import { describe, expect, it } from 'vitest';
import { Params, bool, choice, defineParams, int, num } from '../../src/params';

const G = defineParams('testgrp', {
  slots: int({ default: 20, min: 18, max: 64, unit: 'slots', help: 'Fatal slot count.', models: 'test: module_param' }),
  ratio: num({ default: 0.5, min: 0, max: 1, help: 'A ratio.', models: 'test' }),
  on: bool({ default: true, help: 'A switch.', models: 'test' }),
  design: choice({ default: 'modern', choices: ['classic', 'modern'] as const, help: 'Design.', models: 'test' }),
});

describe('Params', () => {
  it('group() gives typed defaults', () => {
    const v = Params.defaults().group(G);
    expect(v).toEqual({ slots: 20, ratio: 0.5, on: true, design: 'modern' });
  });

  it('with() returns a new set and leaves the old one unchanged', () => {
    const a = Params.defaults();
    const b = a.with({ 'testgrp.slots': 30, 'testgrp.design': 'classic' });
    expect(a.group(G).slots).toBe(20);
    expect(b.group(G).slots).toBe(30);
    expect(b.group(G).design).toBe('classic');
    expect(b.changed()).toEqual({ 'testgrp.slots': 30, 'testgrp.design': 'classic' });
    expect(Object.isFrozen(b.group(G))).toBe(true);
  });

  it('with() rejects out-of-range, mistyped and unknown values naming the parameter, value and what is allowed', () => {
    const p = Params.defaults();
    expect(() => p.with({ 'testgrp.slots': 17 })).toThrow("parameter 'testgrp.slots' = 17 is out of range: allowed [18, 64] slots");
    expect(() => p.with({ 'testgrp.slots': 18.5 })).toThrow(/must be an integer in \[18, 64\]/);
    expect(() => p.with({ 'testgrp.on': 1 })).toThrow("parameter 'testgrp.on' = 1 is not allowed: it must be true or false");
    expect(() => p.with({ 'testgrp.design': 'new' })).toThrow("parameter 'testgrp.design' = 'new' is not allowed: choose one of 'classic', 'modern'");
    expect(() => p.with({ 'testgrp.slot': 3 })).toThrow("unknown parameter 'testgrp.slot'; did you mean 'testgrp.slots'?");
    expect(() => p.with({ 'zzz.qqqqqqqq': 3 })).toThrow(/unknown parameter 'zzz.qqqqqqqq'; known parameters: .*testgrp.slots/);
  });

  it('names what replaced a parameter an earlier version had (a notebook written for it gets told)', () => {
    expect(() => Params.defaults().with({ 'nic.itr_ns': 0 })).toThrow("parameter 'nic.itr_ns' no longer exists; use 'nic.rx_usecs'");
    expect(() => Params.defaults().get('nic.itr_ns')).toThrow(/no longer exists; use 'nic.rx_usecs' .*1 adaptive/);
  });

  it('describe() lists each parameter with value, default, allowed range, help and what it models', () => {
    const rows = Params.defaults().with({ 'testgrp.ratio': 0.25 }).describe('testgrp.');
    expect(rows.map((r) => r.name)).toEqual(['testgrp.design', 'testgrp.on', 'testgrp.ratio', 'testgrp.slots']);
    const ratio = rows.find((r) => r.name === 'testgrp.ratio')!;
    expect(ratio).toMatchObject({ value: 0.25, default: 0.5, changed: true, allowed: '[0, 1]', help: 'A ratio.', models: 'test' });
  });

  it('defineParams() requires help, models, a valid default and a unique group', () => {
    expect(() => defineParams('testgrp', {})).toThrow(/declared twice/);
    expect(() => defineParams('bad1', { x: int({ default: 1, help: '', models: 'm' }) })).toThrow(/help text is required/);
    expect(() => defineParams('bad2', { x: int({ default: 1, help: 'h', models: '' }) })).toThrow(/'models'/);
    expect(() => defineParams('bad3', { x: int({ default: 0, min: 1, help: 'h', models: 'm' }) })).toThrow(/default fails/);
  });
});
