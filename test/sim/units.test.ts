import { describe, expect, it } from 'vitest';
import { jiffyNs } from '../../src/sim/units';
import { buildXenHost } from '../../src/topo';

describe('jiffyNs', () => {
  it('is 1/HZ s in ns for the CONFIG_HZ values that divide a second', () => {
    expect(jiffyNs(100, 'hz:')).toBe(10_000_000);
    expect(jiffyNs(250, 'hz:')).toBe(4_000_000);
    expect(jiffyNs(1000, 'hz:')).toBe(1_000_000);
  });

  it('refuses an HZ whose ticks would fall between nanoseconds, naming where it came from', () => {
    expect(() => jiffyNs(300, 'bridge.hz:')).toThrow(/^bridge\.hz: 300 is not allowed; use a CONFIG_HZ that divides one second exactly/);
    expect(() => jiffyNs(0, 'x:')).toThrow(/x: 0 is not allowed/);
    expect(() => jiffyNs(2.5, 'x:')).toThrow(/x: 2\.5 is not allowed/);
    // dom0's HZ drives the bridge's gc and netback's credit windows: refused when the host is built.
    expect(() => buildXenHost({ params: { 'bridge.hz': 300 } })).toThrow(/bridge\.hz: 300 is not allowed/);
  });
});
