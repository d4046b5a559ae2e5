// A ProbeRequest that cannot be decoded is the caller's mistake. grpc-js
// answers a throwing requestDeserialize with INTERNAL ("Error deserializing
// request"), counted and logged as the server's own fault; so the service
// definition's deserializer never throws: it hands the handler an empty
// request marked as undecodable, and the service answers INVALID_ARGUMENT.
//
// The bytes are checked against the wire format first (checkWireFormat):
// google-protobuf's readString does not check a declared length against the
// bytes that follow, so 39 bytes declaring a 259 MB string kept the event
// loop busy for 1.3 s before failing (found by test/fuzz.test.ts); and 11
// bytes ending a string on a UTF-8 lead byte sent it parsing from the wrong
// offset, past the check, into a hidden 256 MB length (1.4 s).
import { prober } from '../generated/prober/v1/prober.js';
import { PROBE_REQUEST } from './shapes.js';
import { checkWireFormat } from './wire-check.js';

import pb = prober.v1;

const undecodable = new WeakMap<pb.ProbeRequest, string>();

/** What the decoder said, at most this long (it is echoed to the caller and logged). */
const MAX_REASON = 200;

/** Decodes like the generated deserializer; on failure returns a marked empty request instead of throwing. */
export function decodeProbeRequest(bytes: Buffer): pb.ProbeRequest {
  try {
    const view = new Uint8Array(bytes);
    checkWireFormat(view, 0, view.length, PROBE_REQUEST);
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
