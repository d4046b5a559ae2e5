// A ProbeRequest that cannot be decoded is the caller's mistake. grpc-js
// answers a throwing requestDeserialize with INTERNAL ("Error deserializing
// request"), counted and logged as the server's own fault; so the service
// definition's deserializer never throws: it hands the handler an empty
// request marked as undecodable, and the service answers INVALID_ARGUMENT.
//
// The bytes are checked against the wire format first (checkWireFormat):
// google-protobuf's readString does not check a declared length against the
// bytes that follow, so 39 bytes declaring a 259 MB string kept the event
// loop busy for 1.3 s before failing (found by test/fuzz.test.ts).
import { prober } from '../generated/prober/v1/prober.js';

import pb = prober.v1;

const undecodable = new WeakMap<pb.ProbeRequest, string>();

/** What the decoder said, at most this long (it is echoed to the caller and logged). */
const MAX_REASON = 200;

/**
 * ProbeRequest's message-typed fields (Duration, StatusRange, Header,
 * HeaderMatch), whose own fields are scalars and strings only. A test checks
 * this against the descriptor set, so a new message field cannot be missed.
 */
export const MESSAGE_FIELDS: ReadonlySet<number> = new Set([3, 4, 7, 20, 24, 160]);

class WireFormatError extends Error {}

/** Reads a varint at `at` (below `end`); returns [value, next offset]. Values past 2^53 lose precision, which only makes a length larger. */
function varintAt(b: Uint8Array, at: number, end: number, path: string): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = at; i < end && i < at + 10; i++) {
    const byte = b[i] as number;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return [value, i + 1];
    scale *= 128;
  }
  throw new WireFormatError(`${path}: truncated varint`);
}

/**
 * Walks one message's fields in b[start, end): every length or fixed width
 * must fit, and a message field's own fields are walked within its length.
 */
function checkWireFormat(b: Uint8Array, start: number, end: number, prefix: string, nested: boolean): void {
  let at = start;
  while (at < end) {
    const [tag, afterTag] = varintAt(b, at, end, prefix === '' ? 'tag' : `field ${prefix}tag`);
    const num = Math.floor(tag / 8);
    const wireType = tag % 8;
    const path = `${prefix}${num}`;
    let width: number;
    at = afterTag;
    if (wireType === 0) {
      at = varintAt(b, at, end, `field ${path}`)[1];
      continue;
    }
    if (wireType === 1) width = 8;
    else if (wireType === 5) width = 4;
    else if (wireType === 2) [width, at] = varintAt(b, at, end, `field ${path}`);
    else throw new WireFormatError(`field ${path}: wire type ${wireType} is not used by ProbeRequest`);
    if (width > end - at) throw new WireFormatError(`field ${path} declares ${width} bytes, ${end - at} remain`);
    if (wireType === 2 && !nested && MESSAGE_FIELDS.has(num)) checkWireFormat(b, at, at + width, `${path}.`, true);
    at += width;
  }
}

/** Decodes like the generated deserializer; on failure returns a marked empty request instead of throwing. */
export function decodeProbeRequest(bytes: Buffer): pb.ProbeRequest {
  try {
    const view = new Uint8Array(bytes);
    checkWireFormat(view, 0, view.length, '', false);
    return pb.ProbeRequest.deserialize(view);
  } catch (err) {
    const req = new pb.ProbeRequest();
    const why = err instanceof Error && err.message !== '' ? err.message : String(err);
    undecodable.set(req, why.length > MAX_REASON ? `${why.slice(0, MAX_REASON)}…` : why);
    return req;
  }
}

/** Why `req` could not be decoded (decodeProbeRequest), or undefined for a real request. */
export function undecodableReason(req: unknown): string | undefined {
  return typeof req === 'object' && req !== null ? undecodable.get(req as pb.ProbeRequest) : undefined;
}

/**
 * A ProbeStream message: a pb.ProbeEvent, or one already serialized
 * (encodeAttemptEvent), which the definition's serializer passes through.
 */
export type ProbeStreamMessage = pb.ProbeEvent | Uint8Array;

export function serializeProbeStreamMessage(m: ProbeStreamMessage): Buffer {
  if (!(m instanceof Uint8Array)) return Buffer.from(m.serialize());
  return Buffer.isBuffer(m) ? m : Buffer.from(m.buffer, m.byteOffset, m.byteLength);
}

type Generated = typeof pb.UnimplementedProberService.definition;

/** The Prober service, as registered on the server (a type, not an interface: grpc-js wants an index signature). */
export type ProberServiceDefinition = {
  readonly Probe: Generated['Probe'];
  readonly ProbeStream: Omit<Generated['ProbeStream'], 'responseSerialize'> & {
    readonly responseSerialize: (m: ProbeStreamMessage) => Buffer;
  };
};

/**
 * The Prober service definition with decodeProbeRequest as both methods'
 * request deserializer; ProbeStream's serializer also takes encoded events.
 */
export function proberServiceDefinition(): ProberServiceDefinition {
  const d = pb.UnimplementedProberService.definition;
  return {
    Probe: { ...d.Probe, requestDeserialize: decodeProbeRequest },
    ProbeStream: {
      ...d.ProbeStream,
      requestDeserialize: decodeProbeRequest,
      responseSerialize: serializeProbeStreamMessage,
    },
  };
}
