// A ProbeRequest's bytes come from anyone who can reach the server. Found by
// test/fuzz.test.ts (FUZZ_SEED=407359493): google-protobuf's readString does
// not check a declared length against the bytes that follow, so 39 bytes
// declaring a 259 MB endpoint kept the event loop busy for 1.3 s (and a 4 GB
// one for far longer) before failing. decodeProbeRequest must refuse such
// bytes from the wire format alone, naming the field.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor/index.js';
import { MESSAGE_FIELDS, decodeProbeRequest, undecodableReason } from '../src/wire/request-decode.js';
import { encodeRequest } from './helpers/raw-grpc.js';

const varint = (n: number): number[] => {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
};
const field = (n: number, wireType: number): number[] => varint(n * 8 + wireType);

it('a top-level string longer than the bytes that follow is refused, naming the field', () => {
  // Field 1 (endpoint), declared 4 GiB - 1, 8 bytes present: on the old decoder this ran for tens of seconds.
  const bytes = Buffer.from([...field(1, 2), ...varint(0xffff_ffff), ...Buffer.from('http://x')]);
  const reason = undecodableReason(decodeProbeRequest(bytes));
  assert.match(reason ?? '', /field 1 declares 4294967295 bytes, 8 remain/);
});

it('the fuzzer’s 39 bytes are refused from the wire format', () => {
  const bytes = Buffer.from('0ad4f7da7bd58930cd7fab235b733bc227e66a91b2d6ffea5160d7b09abedf938d00a1110027b4', 'hex');
  assert.match(undecodableReason(decodeProbeRequest(bytes)) ?? '', /^field 1 declares \d+ bytes, \d+ remain/);
});

it('a string inside a nested message is held to that message’s own length', () => {
  // headers (20): one Header whose name (1) declares 1 MiB inside a 6-byte message.
  const header = [...field(1, 2), ...varint(1 << 20), ...Buffer.from('abc')];
  const bytes = Buffer.from([...field(20, 2), ...varint(header.length), ...header]);
  assert.match(undecodableReason(decodeProbeRequest(bytes)) ?? '', /field 20\.1 declares 1048576 bytes, 3 remain/);
});

it('a truncated varint, a group and a reserved wire type are refused', () => {
  for (const [bytes, why] of [
    [[...field(2, 0), 0x80, 0x80], /truncated varint/],
    [[...field(2, 3)], /wire type 3/],
    [[...field(2, 7)], /wire type 7/],
    [[...field(2, 5), 1, 2], /field 2 declares 4 bytes, 2 remain/],
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

it('MESSAGE_FIELDS lists every message-typed field of ProbeRequest (from the descriptor set)', () => {
  const set = descriptor.FileDescriptorSet.decode(readFileSync('src/generated/prober.binpb'));
  const root = (protobuf.Root as unknown as { fromDescriptor(s: unknown): protobuf.Root }).fromDescriptor(set);
  const type = root.lookupType('prober.v1.ProbeRequest');
  const fromDescriptor = type.fieldsArray
    .filter((f) => f.resolve().resolvedType instanceof protobuf.Type)
    .map((f) => f.id)
    .sort((a, b) => a - b);
  assert.deepEqual(
    [...MESSAGE_FIELDS.keys()].sort((a, b) => a - b),
    fromDescriptor,
  );
  // Their own fields are scalars and strings only: one level of nesting is the whole depth.
  for (const f of type.fieldsArray.filter((x) => x.resolvedType instanceof protobuf.Type)) {
    const inner = f.resolvedType as protobuf.Type;
    assert.ok(
      inner.fieldsArray.every((x) => !(x.resolve().resolvedType instanceof protobuf.Type)),
      `${inner.name} has a message field: MESSAGE_FIELDS must describe it`,
    );
  }
});
