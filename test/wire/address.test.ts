import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Ipv4Addr, MacAddr, macKeyAt, macKeyIsMulticast, writeMacKey } from '../../src/wire';

describe('MacAddr', () => {
  it('MacAddr.parse() round-trips through toString() and octets()', () => {
    const m = MacAddr.parse('fe:ff:ff:ff:ff:ff');
    expect(m.toString()).toBe('fe:ff:ff:ff:ff:ff');
    expect(Array.from(m.octets())).toEqual([0xfe, 0xff, 0xff, 0xff, 0xff, 0xff]);
    expect(m.key).toBe(0xfeffffffffff);
    expect(MacAddr.parse('00-16-3E-01-02-03').toString()).toBe('00:16:3e:01:02:03');
  });

  it('MacAddr.parse() throws naming the parameter and the value when the string is not a MAC', () => {
    expect(() => MacAddr.parse('fe:ff:ff:ff:ff')).toThrow(/MacAddr\.parse: s 'fe:ff:ff:ff:ff' is not allowed/);
    expect(() => MacAddr.parse('gg:ff:ff:ff:ff:ff')).toThrow(/six hex octets/);
  });

  it('classifies broadcast, multicast, unicast, zero, locally administered and 802.1D link-local groups', () => {
    const b = MacAddr.BROADCAST;
    expect(b.isBroadcast() && b.isMulticast() && !b.isUnicast()).toBe(true);
    const mc = MacAddr.parse('01:00:5e:00:00:01');
    expect(mc.isMulticast() && !mc.isBroadcast() && !mc.isLinkLocalGroup()).toBe(true);
    const xen = MacAddr.parse('00:16:3e:12:34:56');
    expect(xen.isUnicast() && !xen.isLocal() && !xen.isZero()).toBe(true);
    expect(MacAddr.parse('fe:ff:ff:ff:ff:ff').isLocal()).toBe(true);
    expect(MacAddr.ZERO.isZero()).toBe(true);
    for (let x = 0; x < 16; x++) expect(MacAddr.parse(`01:80:c2:00:00:${x.toString(16).padStart(2, '0')}`).isLinkLocalGroup()).toBe(true);
    expect(MacAddr.parse('01:80:c2:00:00:10').isLinkLocalGroup()).toBe(false);
    expect(MacAddr.parse('01:80:c2:00:01:00').isLinkLocalGroup()).toBe(false);
  });

  it('equals() compares by value', () => {
    expect(MacAddr.parse('02:00:00:00:00:01').equals(MacAddr.fromKey(0x020000000001))).toBe(true);
    expect(MacAddr.parse('02:00:00:00:00:01').equals(MacAddr.parse('02:00:00:00:00:02'))).toBe(false);
  });

  it('macKeyAt() reads the same 48-bit key the MacAddr holds, at any offset, and writeMacKey() inverts it', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 6, maxLength: 6 }), fc.nat(10), (oct, pad) => {
        const buf = new Uint8Array(pad + 6).fill(0xa5);
        buf.set(oct, pad);
        const key = macKeyAt(buf, pad);
        const m = MacAddr.fromBytes(oct);
        expect(key).toBe(m.key);
        expect(macKeyIsMulticast(key)).toBe((oct[0]! & 1) === 1);
        const out = new Uint8Array(6);
        writeMacKey(out, 0, key);
        expect(Array.from(out)).toEqual(Array.from(oct));
      }),
    );
  });
});

describe('Ipv4Addr', () => {
  it('Ipv4Addr.parse() round-trips and holds the u32 in network order', () => {
    const a = Ipv4Addr.parse('10.0.0.1');
    expect(a.value).toBe(0x0a000001);
    expect(a.toString()).toBe('10.0.0.1');
    expect(Array.from(a.octets())).toEqual([10, 0, 0, 1]);
    expect(Ipv4Addr.parse('255.255.255.255').value).toBe(0xffffffff);
  });

  it('Ipv4Addr.parse() throws naming the value when it is not a dotted quad', () => {
    for (const bad of ['10.0.0', '10.0.0.256', '10.0.0.01', 'a.b.c.d', '1.2.3.4.5', '']) {
      expect(() => Ipv4Addr.parse(bad)).toThrow(/Ipv4Addr\.parse: s '.*' is not allowed; use a dotted quad/);
    }
  });

  it('classifies broadcast, multicast, zero, link-local, loopback and unicast', () => {
    expect(Ipv4Addr.BROADCAST.isBroadcast()).toBe(true);
    expect(Ipv4Addr.parse('224.0.0.1').isMulticast()).toBe(true);
    expect(Ipv4Addr.parse('239.255.255.255').isMulticast()).toBe(true);
    expect(Ipv4Addr.parse('240.0.0.1').isMulticast()).toBe(false);
    expect(Ipv4Addr.ANY.isZero()).toBe(true);
    expect(Ipv4Addr.parse('169.254.3.4').isLinkLocal()).toBe(true);
    expect(Ipv4Addr.parse('127.0.0.1').isLoopback()).toBe(true);
    expect(Ipv4Addr.parse('10.0.0.1').isUnicast()).toBe(true);
    expect(Ipv4Addr.parse('10.0.0.1').equals(Ipv4Addr.fromU32(0x0a000001))).toBe(true);
  });
});
