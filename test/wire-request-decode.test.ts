// A ProbeRequest's bytes come from anyone who can reach the server. Found by
// test/fuzz.test.ts (FUZZ_SEED=407359493): google-protobuf's readString does
// not check a declared length against the bytes that follow, so 39 bytes
// declaring a 259 MB endpoint kept the event loop busy for 1.3 s (and a 4 GB
// one for far longer) before failing. decodeProbeRequest must refuse such
// bytes from the wire format alone, naming the field.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { decodeProbeRequest, undecodableReason } from '../src/wire/request-decode.js';
import { encodeRequest } from './helpers/raw-grpc.js';

import { tag as field, varint } from './helpers/wire-bytes.js';

it('a top-level string longer than the bytes that follow is refused, naming the field', () => {
  // Field 1 (endpoint), declared 4 GiB - 1, 8 bytes present: on the old decoder this ran for tens of seconds.
  const bytes = Buffer.from([...field(1, 2), ...varint(0xffff_ffff), ...Buffer.from('http://x')]);
  const reason = undecodableReason(decodeProbeRequest(bytes));
  assert.match(reason ?? '', /field 1 \(endpoint\) declares 4294967295 bytes, 8 remain/);
});

it('the fuzzer’s 39 bytes are refused from the wire format', () => {
  const bytes = Buffer.from('0ad4f7da7bd58930cd7fab235b733bc227e66a91b2d6ffea5160d7b09abedf938d00a1110027b4', 'hex');
  assert.match(
    undecodableReason(decodeProbeRequest(bytes)) ?? '',
    /^field 1 \(endpoint\) declares \d+ bytes, \d+ remain/,
  );
});

it('a string inside a nested message is held to that message’s own length', () => {
  // headers (20): one Header whose name (1) declares 1 MiB inside a 6-byte message.
  const header = [...field(1, 2), ...varint(1 << 20), ...Buffer.from('abc')];
  const bytes = Buffer.from([...field(20, 2), ...varint(header.length), ...header]);
  assert.match(
    undecodableReason(decodeProbeRequest(bytes)) ?? '',
    /field 20\.1 \(headers\.name\) declares 1048576 bytes, 3 remain/,
  );
});

it('a UTF-8 lead byte at a string’s end cannot make the decoder read on from the wrong offset', () => {
  // endpoint (1) is the one byte 0xF0: google-protobuf's readString takes the
  // next 3 bytes with it (the tag and length of an unknown field 999), then
  // parses that field's payload as fields: an endpoint declaring 256 MiB that
  // the walk, skipping field 999 whole, never saw (1.4 s of event loop).
  const hidden = [...field(1, 2), ...varint(0x0fff_ffff)];
  const bytes = Buffer.from([...field(1, 2), 1, 0xf0, ...field(999, 2), ...varint(hidden.length), ...hidden]);
  assert.match(undecodableReason(decodeProbeRequest(bytes)) ?? '', /field 1 \(endpoint\): a UTF-8 sequence runs past/);
  // The same sequence ending inside its string decodes.
  const fine = Buffer.from([...field(1, 2), 4, 0xf0, 0x9f, 0x98, 0x80]);
  assert.equal(decodeProbeRequest(fine).endpoint, '\u{1F600}');
});

it('a tag with bits past 32 names the field google-protobuf will read it as', () => {
  // google-protobuf keeps a tag's low 32 bits: 20*8+2 + 2^35 is headers (20).
  // Read as field 2^32+20 (unknown, skipped whole), the header inside, whose
  // name declares 256 MiB, went unchecked (1.9 s before this fix).
  const header = [...field(1, 2), ...varint(0x0fff_ffff)];
  const bytes = Buffer.from([...varint(20 * 8 + 2 + 2 ** 35), header.length, ...header]);
  assert.match(
    undecodableReason(decodeProbeRequest(bytes)) ?? '',
    /field 20\.1 \(headers\.name\) declares 268435455 bytes/,
  );
});

it('a truncated varint, a group, a reserved wire type and a known field’s wrong wire type are refused', () => {
  for (const [bytes, why] of [
    [[...field(2, 0), 0x80, 0x80], /truncated varint/],
    [[...field(2, 3)], /wire type 3/],
    [[...field(2, 7)], /wire type 7/],
    [[...field(999, 5), 1, 2], /field 999 declares 4 bytes, 2 remain/],
    [[...field(2, 5), 1, 2, 3, 4], /field 2 \(repetitions\): wire type 5, expected 0/],
  ] as const) {
    assert.match(undecodableReason(decodeProbeRequest(Buffer.from(bytes))) ?? '', why, JSON.stringify(bytes));
  }
});

it('well-formed requests still decode, nested messages and unknown fields included', () => {
  const bytes = Buffer.concat([
    encodeRequest({
      endpoint: 'http://127.0.0.1:1/',
      repetitions: 3,
      headers: [{ name: 'X-A', value: 'b' }],
      expect_header: [{ name: 'Server', regex: 'x' }],
    }),
    // An unknown length-delimited field (a newer client's) that fits.
    Buffer.from([...field(999, 2), 2, 0x41, 0x42]),
  ]);
  const req = decodeProbeRequest(bytes);
  assert.equal(undecodableReason(req), undefined);
  assert.equal(req.endpoint, 'http://127.0.0.1:1/');
  assert.equal(req.repetitions, 3);
  assert.equal(req.headers[0]?.name, 'X-A');
  assert.equal(req.expect_header[0]?.regex, 'x');
});
