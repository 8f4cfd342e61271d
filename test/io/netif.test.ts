import { describe, expect, it } from 'vitest';
import {
  NETIF_RSP_DROPPED,
  NETIF_RSP_ERROR,
  NETIF_RSP_NULL,
  NETIF_RSP_OKAY,
  NETRXF_csum_blank,
  NETRXF_data_validated,
  NETTXF_csum_blank,
  NETTXF_data_validated,
  NETTXF_extra_info,
  NETTXF_more_data,
  XEN_NETIF_EXTRA_FLAG_MORE,
  XEN_NETIF_EXTRA_TYPE_GSO,
  XEN_NETIF_EXTRA_TYPE_HASH,
  XEN_NETIF_EXTRA_TYPE_MCAST_DEL,
  XEN_NETIF_GSO_TYPE_TCPV6,
  extraGsoSize,
  extraGsoType,
  extraHashValue,
  extraMcastAddr,
  extraType,
  extraTypeName,
  gntstMessage,
  gntstName,
  netifRspName,
  readCtrlRequest,
  readCtrlResponse,
  readExtraInfo,
  readRxRequest,
  readRxResponse,
  readTxRequest,
  readTxRequestInto,
  readTxResponse,
  rxFlagNames,
  setTxRequestFlags,
  setTxRequestSize,
  txFlagNames,
  txRequestFlags,
  txRequestGref,
  txRequestOffset,
  txRequestSize,
  writeCtrlRequest,
  writeCtrlResponse,
  writeExtraGso,
  writeExtraHash,
  writeExtraMcast,
  writeRxRequest,
  writeRxResponse,
  writeTxNullResponse,
  writeTxRequest,
  writeTxResponse,
  xenbusStateName,
  type TxRequest,
} from '../../src/io';

/** A 16-byte buffer pre-filled with 0xa5 so a forgotten or extra store shows. */
function slot(): { bytes: Uint8Array; view: DataView } {
  const bytes = new Uint8Array(16).fill(0xa5);
  return { bytes, view: new DataView(bytes.buffer) };
}
const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');

describe('emitters write exactly their struct bytes (0xa5 pre-filled)', () => {
  it('writeTxRequest() writes 12 bytes little-endian', () => {
    const { bytes, view } = slot();
    writeTxRequest(view, 0, 0x11223344, 0x0102, NETTXF_csum_blank | NETTXF_more_data, 0xbeef, 1514);
    expect(hex(bytes)).toBe('44 33 22 11 02 01 05 00 ef be ea 05 a5 a5 a5 a5');
  });
  it('writeTxResponse() writes only bytes 0..3 and status is signed', () => {
    const { bytes, view } = slot();
    writeTxResponse(view, 0, 7, NETIF_RSP_DROPPED);
    expect(hex(bytes)).toBe('07 00 fe ff a5 a5 a5 a5 a5 a5 a5 a5 a5 a5 a5 a5');
    expect(readTxResponse(view, 0)).toEqual({ id: 7, status: -2 });
  });
  it('writeTxNullResponse() writes only status (bytes 2..3), as make_tx_response() does for extras', () => {
    const { bytes, view } = slot();
    writeTxNullResponse(view, 0);
    expect(hex(bytes)).toBe('a5 a5 01 00 a5 a5 a5 a5 a5 a5 a5 a5 a5 a5 a5 a5');
  });
  it('writeRxRequest() leaves pad untouched', () => {
    const { bytes, view } = slot();
    writeRxRequest(view, 0, 3, 0x100);
    expect(hex(bytes)).toBe('03 00 a5 a5 00 01 00 00 a5 a5 a5 a5 a5 a5 a5 a5');
    expect(readRxRequest(view, 0)).toEqual({ id: 3, pad: 0xa5a5, gref: 0x100 });
  });
  it('writeRxResponse() writes 8 bytes; a negative status reads back negative', () => {
    const { bytes, view } = slot();
    writeRxResponse(view, 0, 1, 0, NETRXF_data_validated, NETIF_RSP_ERROR);
    expect(hex(bytes)).toBe('01 00 00 00 01 00 ff ff a5 a5 a5 a5 a5 a5 a5 a5');
    expect(readRxResponse(view, 0)).toEqual({ id: 1, offset: 0, flags: 1, status: -1 });
  });
  it('writeExtraGso() writes 8 bytes and leaves the tx padding (8..11)', () => {
    const { bytes, view } = slot();
    writeExtraGso(view, 0, XEN_NETIF_EXTRA_FLAG_MORE, 9000, XEN_NETIF_GSO_TYPE_TCPV6);
    expect(hex(bytes)).toBe('01 01 28 23 02 00 00 00 a5 a5 a5 a5 a5 a5 a5 a5');
    expect([extraType(view, 0), extraGsoSize(view, 0), extraGsoType(view, 0)]).toEqual([1, 9000, 2]);
    expect(readExtraInfo(view, 0)).toEqual({ type: XEN_NETIF_EXTRA_TYPE_GSO, flags: 1, gso: { size: 9000, type: 2, pad: 0, features: 0 } });
  });
  it('writeExtraHash() stores the value LSB first', () => {
    const { bytes, view } = slot();
    writeExtraHash(view, 0, 0, 1, 1, 0xaabbccdd);
    expect(hex(bytes.subarray(0, 8))).toBe('04 00 01 01 dd cc bb aa');
    expect(extraHashValue(view, 0)).toBe(0xaabbccdd);
    expect(readExtraInfo(view, 0)).toEqual({ type: XEN_NETIF_EXTRA_TYPE_HASH, flags: 0, hash: { type: 1, algorithm: 1, value: 0xaabbccdd } });
  });
  it('writeExtraMcast() writes the 6-byte address; bad type or length throws', () => {
    const { bytes, view } = slot();
    writeExtraMcast(view, 0, XEN_NETIF_EXTRA_TYPE_MCAST_DEL, 0, [0x33, 0x33, 0, 0, 0, 1]);
    expect(hex(bytes.subarray(0, 8))).toBe('03 00 33 33 00 00 00 01');
    expect(readExtraInfo(view, 0)).toEqual({ type: 3, flags: 0, mcast: { addr: [0x33, 0x33, 0, 0, 0, 1] } });
    expect(Array.from(extraMcastAddr(view, 0, new Uint8Array(8), 1))).toEqual([0, 0x33, 0x33, 0, 0, 0, 1, 0]);
    expect(() => writeExtraMcast(view, 0, XEN_NETIF_EXTRA_TYPE_GSO, 0, [1, 2, 3, 4, 5, 6])).toThrow(/type 1 is not XEN_NETIF_EXTRA_TYPE_MCAST_ADD \(2\) or _MCAST_DEL \(3\)/);
    expect(() => writeExtraMcast(view, 0, XEN_NETIF_EXTRA_TYPE_MCAST_DEL, 0, [1, 2, 3])).toThrow(/addr has 3 bytes; a MAC address has exactly 6/);
  });
  it('readExtraInfo() returns the raw union for a type the header does not define (never throws)', () => {
    const { view } = slot();
    view.setUint8(0, 9);
    view.setUint8(1, 0);
    expect(readExtraInfo(view, 0)).toEqual({ type: 9, flags: 0, raw: [0xa5a5, 0xa5a5, 0xa5a5] });
  });
  it('control-ring request is 16 bytes, response 12', () => {
    const { bytes, view } = slot();
    writeCtrlRequest(view, 0, 1, 2, 3, 4, 5);
    expect(readCtrlRequest(view, 0)).toEqual({ id: 1, type: 2, data: [3, 4, 5] });
    writeCtrlResponse(view, 0, 9, 2, 0, 0x44);
    expect(readCtrlResponse(view, 0)).toEqual({ id: 9, type: 2, status: 0, data: 0x44 });
    expect(hex(bytes.subarray(12))).toBe('05 00 00 00');
  });
});

describe('accessors', () => {
  it('setTxRequestFlags()/setTxRequestSize() change only their field; readTxRequestInto() reuses the object', () => {
    const { view } = slot();
    writeTxRequest(view, 0, 1, 2, 0, 4, 5);
    setTxRequestFlags(view, 0, NETTXF_more_data | NETTXF_extra_info);
    setTxRequestSize(view, 0, 3000);
    expect([txRequestGref(view, 0), txRequestOffset(view, 0), txRequestFlags(view, 0), txRequestSize(view, 0)]).toEqual([1, 2, 12, 3000]);
    const out: TxRequest = { gref: 0, offset: 0, flags: 0, id: 0, size: 0 };
    expect(readTxRequestInto(view, 0, out)).toBe(out);
    expect(out).toEqual(readTxRequest(view, 0));
  });
});

describe('names', () => {
  it('txFlagNames()/rxFlagNames() show the swapped csum_blank / data_validated bits', () => {
    expect(txFlagNames(NETTXF_csum_blank)).toEqual(['csum_blank']);
    expect(rxFlagNames(NETRXF_csum_blank)).toEqual(['csum_blank']);
    expect(NETTXF_csum_blank).toBe(NETRXF_data_validated);
    expect(NETTXF_data_validated).toBe(NETRXF_csum_blank);
    expect(txFlagNames(0x3f)).toEqual(['csum_blank', 'data_validated', 'more_data', 'extra_info', '0x30']);
  });
  it('netifRspName(), extraTypeName(), gntstName(), gntstMessage(), xenbusStateName()', () => {
    expect([NETIF_RSP_DROPPED, NETIF_RSP_ERROR, NETIF_RSP_OKAY, NETIF_RSP_NULL, 60].map(netifRspName)).toEqual(['DROPPED', 'ERROR', 'OKAY', 'NULL', '60']);
    expect([1, 4, 5, 7].map(extraTypeName)).toEqual(['GSO', 'HASH', 'XDP', 'type7']);
    expect(gntstName(-3)).toBe('GNTST_bad_gntref');
    expect(gntstName(-99)).toBe('GNTST_unknown(-99)');
    expect(gntstMessage(-10)).toBe('copy arguments cross page boundary');
    expect(gntstMessage(5)).toBe('unknown status 5');
    expect(xenbusStateName(4)).toBe('Connected');
    expect(xenbusStateName(9)).toBe('Invalid(9)');
  });
});
