/**
 * Golden frames for the wire tests. Every checksum here was computed by hand (the working is
 * in the comments) and is also confirmed independently by tshark in tshark.test.ts.
 */
export const hex = (s: string): Uint8Array => Uint8Array.from((s.replace(/[^0-9a-fA-F]/g, '').match(/../g) ?? []).map((b) => parseInt(b, 16)));
export const toHex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');

export const MAC_A = '02:00:00:00:00:01';
export const MAC_B = '02:00:00:00:00:02';
export const IP_A = '10.0.0.1';
export const IP_B = '10.0.0.2';

/**
 * UDP 10.0.0.1:1000 → 10.0.0.2:2000, payload "hi", DF, TTL 64, id 0.
 *
 * IPv4 checksum: 4500+001e+0000+4000+4011+0000+0a00+0001+0a00+0002 = 0xd932 → ~ = 0x26cd.
 * UDP checksum: pseudo 0a00+0001+0a00+0002+0011+000a = 0x141e; header 03e8+07d0+000a+0000 =
 * 0x0bc2; payload 0x6869; total 0x141e+0x0bc2+0x6869 = 0x8849 → ~ = 0x77b6.
 * Left CHECKSUM_PARTIAL, the field holds the folded pseudo-header sum 0x141e.
 */
export const UDP_HI = hex(`
  02 00 00 00 00 02  02 00 00 00 00 01  08 00
  45 00 00 1e 00 00 40 00 40 11 26 cd 0a 00 00 01 0a 00 00 02
  03 e8 07 d0 00 0a 77 b6
  68 69`);
export const UDP_HI_PSEUDO_SUM = 0x141e;

/**
 * The same frame with an 802.1Q tag vid 10, pcp 5 (TCI = 5<<13 | 10 = 0xa00a).
 */
export const UDP_HI_VLAN = hex(`
  02 00 00 00 00 02  02 00 00 00 00 01  81 00 a0 0a 08 00
  45 00 00 1e 00 00 40 00 40 11 26 cd 0a 00 00 01 0a 00 00 02
  03 e8 07 d0 00 0a 77 b6
  68 69`);

/**
 * ICMP echo request 10.0.0.1 → 10.0.0.2, id 1, seq 1, no data.
 * IPv4: 4500+001c+0000+4000+4001+0a00+0001+0a00+0002 = 0xd920 → ~ = 0x26df.
 * ICMP: 0800+0000+0001+0001 = 0x0802 → ~ = 0xf7fd.
 */
export const ICMP_ECHO_REQ = hex(`
  02 00 00 00 00 02  02 00 00 00 00 01  08 00
  45 00 00 1c 00 00 40 00 40 01 26 df 0a 00 00 01 0a 00 00 02
  08 00 f7 fd 00 01 00 01`);

/**
 * The reply (addresses swapped, type 0): ICMP 0000+0000+0001+0001 = 0x0002 → ~ = 0xfffd.
 * IPv4 checksum unchanged (same words, swapped).
 */
export const ICMP_ECHO_REPLY = hex(`
  02 00 00 00 00 01  02 00 00 00 00 02  08 00
  45 00 00 1c 00 00 40 00 40 01 26 df 0a 00 00 02 0a 00 00 01
  00 00 ff fd 00 01 00 01`);

/** ARP who-has 10.0.0.2 tell 10.0.0.1, broadcast, zero target MAC (as Linux sends it). */
export const ARP_REQ = hex(`
  ff ff ff ff ff ff  02 00 00 00 00 01  08 06
  00 01 08 00 06 04 00 01  02 00 00 00 00 01 0a 00 00 01  00 00 00 00 00 00 0a 00 00 02`);

/**
 * TCP SYN 10.0.0.1:40000 → 10.0.0.2:80, seq 1, window 64240, no options.
 * IPv4: 4500+0028+0000+4000+4006+0a00+0001+0a00+0002 = 0xd931 → ~ = 0x26ce.
 * TCP: pseudo 0a00+0001+0a00+0002+0006+0014 = 0x141d; header 9c40+0050+0000+0001+0000+0000
 * +5002+faf0+0000+0000 = 0x1e783 (9c40+0050=9c90, +1=9c91, +5002=ec93, +faf0=1e783);
 * 0x141d+0x1e783 = 0x1fba0 → fold 0xfba1 → ~ = 0x045e.
 */
export const TCP_SYN = hex(`
  02 00 00 00 00 02  02 00 00 00 00 01  08 00
  45 00 00 28 00 00 40 00 40 06 26 ce 0a 00 00 01 0a 00 00 02
  9c 40 00 50 00 00 00 01 00 00 00 00 50 02 fa f0 04 5e 00 00`);
