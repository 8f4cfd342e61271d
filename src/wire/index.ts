/**
 * Packet formats as typed views over bytes, checksums and pcap.
 *
 * Each format has a field table (byte offsets), a view class (`new X(buf, off, len)` unchecked
 * for emitting; `X.checked(…)` for untrusted bytes, returning an error value) and a `Repr`
 * with `parse`/`emit`. `parseFrame()` parses a whole frame; `buildUdpFrame()` and friends build
 * frames; `prettyLine()`/`prettyTree()` print them; `Capture` records them for Wireshark.
 */
export * from './error';
export * from './view';
export * from './address';
export * from './checksum';
export * from './ethernet';
export * from './arp';
export * from './ipv4';
export * from './icmpv4';
export * from './udp';
export * from './tcp';
export * from './frame';
export * from './build';
export * from './pretty';
export * from './pcap';
export * from './copy';
