/**
 * MAC addresses as 48-bit integer keys, read straight from frame bytes — the bridge's hot path.
 *
 *    octet   0      1      2      3      4      5
 *          +------+------+------+------+------+------+
 *          | I/G bit = bit 0 of octet 0 (group address) ; U/L bit = bit 1 (locally administered)
 *
 * A key is `octet0..1 * 2^32 + octet2..5`, exact in a JS number (48 < 53 bits). These helpers
 * mirror `include/linux/etherdevice.h` (is_valid_ether_addr, is_multicast_ether_addr,
 * is_broadcast_ether_addr, is_link_local_ether_addr). They are kept local to the bridge so it
 * depends on nothing but the frame bytes.
 */

const TWO32 = 0x1_0000_0000;
export const MAC_BROADCAST = 0xffff_ffff_ffff;
/** 01:80:c2:00:00:00, the IEEE 802.1D bridge group address; 01:80:c2:00:00:0X are link-local. */
export const MAC_LINK_LOCAL_BASE = 0x0180_c200_0000;
/** The dummy MAC every Xen vif carries (drivers/net/xen-netback/interface.c). */
export const XEN_VIF_MAC = 0xfeff_ffff_ffff;

/** The 48-bit key of the MAC at bytes[off..off+6); the caller guarantees the bytes exist. */
export function macKeyFrom(bytes: Uint8Array, off: number): number {
  return ((bytes[off]! << 8) | bytes[off + 1]!) * TWO32
    + (((bytes[off + 2]! << 24) | (bytes[off + 3]! << 16) | (bytes[off + 4]! << 8) | bytes[off + 5]!) >>> 0);
}

/** I/G bit set: multicast or broadcast (is_multicast_ether_addr). */
export function isMulticastKey(key: number): boolean {
  return ((key / TWO32) & 0x100) !== 0;
}

/** Neither multicast/broadcast nor all-zero (is_valid_ether_addr). */
export function isValidKey(key: number): boolean {
  return key !== 0 && !isMulticastKey(key);
}

/** 01:80:c2:00:00:0X with the low four bits ignored (is_link_local_ether_addr). */
export function isLinkLocalKey(key: number): boolean {
  return key - (key % 16) === MAC_LINK_LOCAL_BASE;
}

// A small direct-mapped cache of formatted MACs: traced runs format the same few addresses for
// every frame (bridge.forward and friends).
const FMT_KEYS = new Float64Array(64).fill(-1);
const FMT_STRS: string[] = new Array<string>(64).fill('');

/** "02:00:5e:00:00:01" for a key. */
export function formatMac(key: number): string {
  const slot = (key ^ (key / 0x1_0000_0000)) & 63;
  if (FMT_KEYS[slot] === key) return FMT_STRS[slot]!;
  let s = '';
  for (let i = 5; i >= 0; i--) {
    const octet = Math.floor(key / 2 ** (8 * i)) % 256;
    s += (octet < 16 ? '0' : '') + octet.toString(16) + (i > 0 ? ':' : '');
  }
  FMT_KEYS[slot] = key;
  FMT_STRS[slot] = s;
  return s;
}

const MAC_RE = /^([0-9a-fA-F]{2})[:-]([0-9a-fA-F]{2})[:-]([0-9a-fA-F]{2})[:-]([0-9a-fA-F]{2})[:-]([0-9a-fA-F]{2})[:-]([0-9a-fA-F]{2})$/;

/**
 * The key of a MAC given as "aa:bb:cc:dd:ee:ff", a 48-bit integer, or six bytes.
 * Throws an Error naming `param` on anything else (API input, not frame bytes).
 */
export function parseMac(value: unknown, param: string): number {
  if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= 0 && value <= MAC_BROADCAST) return value;
  } else if (typeof value === 'string') {
    const m = MAC_RE.exec(value);
    if (m !== null) {
      let key = 0;
      for (let i = 1; i <= 6; i++) key = key * 256 + parseInt(m[i]!, 16);
      return key;
    }
  } else if (value instanceof Uint8Array && value.length === 6) {
    return macKeyFrom(value, 0);
  } else if (value !== null && typeof value === 'object' && typeof (value as { key?: unknown }).key === 'number') {
    return parseMac((value as { key: number }).key, param); // a MacAddr from src/wire
  }
  throw new Error(`${param}: ${JSON.stringify(value)} is not a MAC address; use six hex octets such as "02:00:00:00:00:01", a 48-bit integer, or a MacAddr`);
}
