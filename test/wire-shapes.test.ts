// The hand-written wire shapes (src/wire/shapes.ts) that checkWireFormat walks
// untrusted bytes with must describe the proto exactly: a message field it does
// not know is walked as opaque bytes, and google-protobuf would then parse its
// contents unchecked.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor/index.js';
import { PROBE_EVENT, PROBE_REPLY, PROBE_REQUEST } from '../src/wire/shapes.js';
import type { FieldKind, MessageShape } from '../src/wire/wire-check.js';

const set = descriptor.FileDescriptorSet.decode(readFileSync('src/generated/prober.binpb'));
const root = (protobuf.Root as unknown as { fromDescriptor(s: unknown): protobuf.Root }).fromDescriptor(set);

const VARINT = new Set(['int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64', 'bool']);

function expectedKind(f: protobuf.Field): string {
  f.resolve();
  if (f.resolvedType instanceof protobuf.Type) return f.resolvedType.fullName.slice(1);
  if (f.resolvedType instanceof protobuf.Enum || VARINT.has(f.type)) return 'varint';
  if (f.type === 'double' || f.type === 'fixed64' || f.type === 'sfixed64') return 'fixed64';
  if (f.type === 'float' || f.type === 'fixed32' || f.type === 'sfixed32') return 'fixed32';
  return f.type; // string, bytes
}

const kindName = (k: FieldKind): string => (typeof k === 'string' ? k : k.name);

function compare(shape: MessageShape, seen: Set<string>): void {
  if (seen.has(shape.name)) return;
  seen.add(shape.name);
  const type = root.lookupType(shape.name);
  const want = type.fieldsArray.map((f) => [f.id, f.name, expectedKind(f)] as const).sort((a, b) => a[0] - b[0]);
  const have = [...shape.fields]
    .map(([n, [name, kind]]) => [n, name, kindName(kind)] as const)
    .sort((a, b) => a[0] - b[0]);
  assert.deepEqual(have, want, `${shape.name}: shapes.ts must list every field with its kind`);
  for (const f of type.fieldsArray) {
    // A packed repeated scalar arrives as wire type 2: the checker would refuse it.
    assert.ok(!f.repeated || expectedKind(f) !== 'varint', `${shape.name}.${f.name}: packed fields are not supported`);
  }
  for (const [, kind] of shape.fields.values()) if (typeof kind === 'object') compare(kind, seen);
}

it('every wire shape matches the descriptor set, nested messages included', () => {
  const seen = new Set<string>();
  for (const s of [PROBE_REQUEST, PROBE_REPLY, PROBE_EVENT]) compare(s, seen);
  assert.ok(seen.has('prober.v1.Hop') && seen.has('google.protobuf.Duration'), [...seen].join());
});
