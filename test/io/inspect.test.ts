import { describe, expect, it } from 'vitest';
import {
  NETIF_RSP_OKAY,
  NETRXF_extra_info,
  NETRXF_more_data,
  RING_GET_REQUEST,
  RING_GET_RESPONSE,
  RING_PUSH_REQUESTS,
  RING_PUSH_REQUESTS_AND_CHECK_NOTIFY,
  RING_PUSH_RESPONSES,
  XEN_NETIF_EXTRA_FLAG_MORE,
  XEN_NETIF_GSO_TYPE_TCPV4,
  createRingPair,
  hexdumpRing,
  ringPageRows,
  writeExtraGso,
  writeExtraHash,
  writeRxRequest,
  writeRxResponse,
  writeTxNullResponse,
  writeTxRequest,
  writeTxResponse,
} from '../../src/io';

/** Tx ring: request+GSO extra answered (OKAY + NULL), one request in flight, one unpushed. */
function txScene() {
  const page = new Uint8Array(4096);
  const view = new DataView(page.buffer);
  const { front, back } = createRingPair(page, 12);
  writeTxRequest(view, RING_GET_REQUEST(front, front.req_prod_pvt++), 0x11223344, 0x0102, 0x0f, 5, 1514);
  writeExtraGso(view, RING_GET_REQUEST(front, front.req_prod_pvt++), 0, 1448, XEN_NETIF_GSO_TYPE_TCPV4);
  writeTxRequest(view, RING_GET_REQUEST(front, front.req_prod_pvt++), 0x55, 0, 0, 6, 60);
  RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(front);
  writeTxRequest(view, RING_GET_REQUEST(front, front.req_prod_pvt++), 0x56, 0, 0, 7, 60);
  back.req_cons = 3;
  writeTxResponse(view, RING_GET_RESPONSE(back, back.rsp_prod_pvt++), 5, NETIF_RSP_OKAY);
  writeTxNullResponse(view, RING_GET_RESPONSE(back, back.rsp_prod_pvt++));
  RING_PUSH_RESPONSES(back);
  return { page, front, back };
}

describe('ringPageRows()', () => {
  it('decodes the header with the writer of each index', () => {
    const { page } = txScene();
    const rows = ringPageRows(page, 'tx');
    expect(rows.nr_ents).toBe(256);
    expect(rows.header.map((h) => [h.field, h.offset, h.value, h.hex, h.writer])).toEqual([
      ['req_prod', 0, 3, '03 00 00 00', 'front'],
      ['req_event', 4, 1, '01 00 00 00', 'back'],
      ['rsp_prod', 8, 2, '02 00 00 00', 'back'],
      ['rsp_event', 12, 1, '01 00 00 00', 'front'],
    ]);
  });

  it('marks each slot with its state given both ends\' private indices', () => {
    const { page, front, back } = txScene();
    const rows = ringPageRows(page, 'tx', { front, back });
    expect(rows.slots.map((s) => [s.index, s.slot, s.offset, s.state, s.role])).toEqual([
      [0, 0, 64, 'response unconsumed', 'response'],
      [1, 1, 76, 'response unconsumed', 'null'],
      [2, 2, 88, 'request in flight', 'request'],
      [3, 3, 100, 'request unpushed', 'request'],
    ]);
    expect(rows.slots[0]!.hex).toBe('05 00 00 00 02 01 0f 00 05 00 ea 05');
    expect(rows.slots[0]!.decoded).toBe('tx rsp id=5 status=OKAY');
    expect(rows.slots[1]!.decoded).toMatch(/NULL/);
    expect(rows.slots[3]!.fields).toMatchObject({ gref: 0x56, id: 7, size: 60 });
    expect(rows.summary).toEqual({
      requestsPublishedUnanswered: 1, responsesUnconsumed: 2, requestsUnconsumed: 0, requestsUnpushed: 1, responsesUnpushed: 0,
    });
  });

  it('recognises a tx extra after NETTXF_extra_info and names the flags', () => {
    const { page, front, back } = txScene();
    const p2 = new Uint8Array(4096);
    const v2 = new DataView(p2.buffer);
    const r = createRingPair(p2, 12);
    writeTxRequest(v2, RING_GET_REQUEST(r.front, r.front.req_prod_pvt++), 1, 0, 0x0f, 5, 1514);
    writeExtraGso(v2, RING_GET_REQUEST(r.front, r.front.req_prod_pvt++), 0, 1448, XEN_NETIF_GSO_TYPE_TCPV4);
    RING_PUSH_REQUESTS(r.front);
    const rows = ringPageRows(p2, 'tx', { front: r.front, back: r.back });
    expect(rows.slots.map((s) => [s.state, s.role])).toEqual([['request unconsumed', 'request'], ['request unconsumed', 'extra']]);
    expect(rows.slots[0]!.decoded).toBe('tx req id=5 gref=0x1 offset=0 size=1514 flags=csum_blank|data_validated|more_data|extra_info');
    expect(rows.slots[1]!.decoded).toBe('tx extra GSO size=1448 gso_type=TCPV4');
    expect(rows.slots[1]!.fields).toMatchObject({ typeName: 'GSO', 'u.gso.size': 1448 });
    expect(ringPageRows(page, 'tx', { front, back, slots: 'all' }).slots).toHaveLength(256);
    // Without the front's req_prod_pvt the newest index shown is req_prod - 1.
    expect(ringPageRows(page, 'tx', { slots: 2 }).slots.map((s) => s.index)).toEqual([1, 2]);
    expect(ringPageRows(page, 'tx', { front, slots: 2 }).slots.map((s) => s.index)).toEqual([2, 3]);
  });

  it('decodes rx responses with extras chained by XEN_NETIF_EXTRA_FLAG_MORE', () => {
    const page = new Uint8Array(4096);
    const view = new DataView(page.buffer);
    const { front, back } = createRingPair(page, 8);
    for (let i = 0; i < 4; i++) writeRxRequest(view, RING_GET_REQUEST(front, front.req_prod_pvt++), i, 0x100 + i);
    RING_PUSH_REQUESTS(front);
    writeRxResponse(view, RING_GET_RESPONSE(back, 0), 0, 0, NETRXF_extra_info | NETRXF_more_data, 4096);
    writeExtraGso(view, RING_GET_RESPONSE(back, 1), XEN_NETIF_EXTRA_FLAG_MORE, 1448, XEN_NETIF_GSO_TYPE_TCPV4);
    writeExtraHash(view, RING_GET_RESPONSE(back, 2), 0, 1, 1, 0xdeadbeef);
    writeRxResponse(view, RING_GET_RESPONSE(back, 3), 3, 0, 0, -10);
    back.req_cons = back.rsp_prod_pvt = 4;
    RING_PUSH_RESPONSES(back);
    const rows = ringPageRows(page, 'rx', { front, back });
    expect(rows.slots.map((s) => s.role)).toEqual(['response', 'extra', 'extra', 'response']);
    expect(rows.slots.map((s) => s.decoded)).toEqual([
      'rx rsp id=0 offset=0 flags=more_data|extra_info status=4096 bytes',
      'rx extra GSO MORE size=1448 gso_type=TCPV4',
      'rx extra HASH hash_type=1 algorithm=1 value=0xdeadbeef',
      'rx rsp id=3 offset=0 flags=0 status=-10 (error)',
    ]);
  });

  it('without private indices, shows published responses from rsp_event - 1 and pending requests', () => {
    const { page } = txScene();
    const rows = ringPageRows(page, 'tx');
    expect(rows.slots.map((s) => [s.index, s.state])).toEqual([
      [0, 'response published'],
      [1, 'response published'],
      [2, 'request pending'],
    ]);
  });

  it('throws on a bad kind, slots option or ring size', () => {
    const page = new Uint8Array(4096);
    expect(() => ringPageRows(page, 'foo' as 'tx')).toThrow(/kind "foo" is not a ring kind; use 'tx', 'rx' or 'ctrl'/);
    expect(() => ringPageRows(page, 'tx', { slots: -1 })).toThrow(/slots -1 is not allowed/);
    expect(() => ringPageRows(page, 'tx', { ringSize: 3 })).toThrow(/power of two/);
    expect(() => ringPageRows(new Uint8Array(40), 'tx')).toThrow(/page too small/);
  });
});

describe('hexdumpRing()', () => {
  it('prints the indices and one annotated line per slot', () => {
    const { page, front, back } = txScene();
    const text = hexdumpRing(page, 'tx', { front, back });
    const lines = text.split('\n');
    expect(lines[0]).toBe('netif_tx ring: 256 slots of 12 bytes at offset 64');
    expect(lines[1]).toMatch(/^ {2}0000 {2}03 00 00 00 {2}req_prod {2}= 3 +\(front\)/);
    expect(lines[4]).toMatch(/rsp_event = 1 .*front end asks for an event when rsp_prod reaches 1/);
    expect(text).toContain('unconsumed responses: 2');
    expect(lines.filter((l) => /^\s+\d+\s+\d+\s+[0-9a-f]{4}\s{2}/.test(l))).toHaveLength(4);
    expect(text).toMatch(/0 +0 +0040 +05 00 00 00 02 01 0f 00 05 00 ea 05 +response unconsumed +tx rsp id=5 status=OKAY/);
    expect(text).toMatch(/3 +3 +0064 .*request unpushed +tx req id=7/);
  });

  it('says when no slot is in use', () => {
    const page = new Uint8Array(4096);
    const { front, back } = createRingPair(page, 16);
    expect(hexdumpRing(page, 'ctrl', { front, back })).toContain('(no slots in use)');
  });
});
