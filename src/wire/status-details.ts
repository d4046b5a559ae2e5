// google.rpc.Status with a google.rpc.BadRequest detail, as carried in the
// `grpc-status-details-bin` trailer (the gRPC richer error model). Encoded by
// hand with google-protobuf's BinaryWriter/Reader: four tiny messages, kept
// out of the generated tree (and so out of the reflection descriptor set).
// Field numbers are the official ones from googleapis:
//   google/rpc/status.proto         Status { int32 code = 1; string message = 2; repeated Any details = 3; }
//   google/protobuf/any.proto       Any { string type_url = 1; bytes value = 2; }
//   google/rpc/error_details.proto  BadRequest { repeated FieldViolation field_violations = 1; }
//                                   FieldViolation { string field = 1; string description = 2; }
//                                   ErrorInfo { string reason = 1; string domain = 2; map<string, string> metadata = 3; }
//                                   RetryInfo { google.protobuf.Duration retry_delay = 1; }
//   google/protobuf/duration.proto  Duration { int64 seconds = 1; int32 nanos = 2; }
import { BinaryReader, BinaryWriter } from 'google-protobuf';

/** The trailer key gRPC implementations read the rich status from. */
export const STATUS_DETAILS_KEY = 'grpc-status-details-bin';
export const BAD_REQUEST_TYPE_URL = 'type.googleapis.com/google.rpc.BadRequest';
export const ERROR_INFO_TYPE_URL = 'type.googleapis.com/google.rpc.ErrorInfo';
export const RETRY_INFO_TYPE_URL = 'type.googleapis.com/google.rpc.RetryInfo';

/** google.rpc.ErrorInfo: a machine-readable reason (e.g. POLICY_DENIED) and facts about it. */
export interface ErrorInfo {
  readonly reason: string;
  readonly domain: string;
  readonly metadata: Readonly<Record<string, string>>;
}

export interface FieldViolation {
  /** Path to the bad request field, e.g. `expected_status`. */
  readonly field: string;
  readonly description: string;
}

export interface RpcStatusDetails {
  readonly code: number;
  readonly message: string;
  /** From the first google.rpc.BadRequest detail; empty when there is none. */
  readonly fieldViolations: readonly FieldViolation[];
  /** The first google.rpc.ErrorInfo detail, if any. */
  readonly errorInfo?: ErrorInfo;
  /** From a google.rpc.RetryInfo detail: how long to wait before retrying, ms. */
  readonly retryDelayMs?: number;
}

function encodeBadRequest(violations: readonly FieldViolation[]): Uint8Array {
  const w = new BinaryWriter();
  for (const v of violations) {
    w.writeMessage(1, v, (fv: FieldViolation, fw: BinaryWriter) => {
      if (fv.field !== '') fw.writeString(1, fv.field);
      if (fv.description !== '') fw.writeString(2, fv.description);
    });
  }
  return w.getResultBuffer();
}

function encodeStatus(code: number, message: string, typeUrl: string, value: Uint8Array): Uint8Array {
  const w = new BinaryWriter();
  if (code !== 0) w.writeInt32(1, code);
  if (message !== '') w.writeString(2, message);
  w.writeMessage(3, value, (bytes: Uint8Array, aw: BinaryWriter) => {
    aw.writeString(1, typeUrl);
    aw.writeBytes(2, bytes);
  });
  return w.getResultBuffer();
}

/** Serialized google.rpc.Status{code, message, details: [Any(BadRequest)]}. */
export function encodeBadRequestStatus(
  code: number,
  message: string,
  violations: readonly FieldViolation[],
): Uint8Array {
  return encodeStatus(code, message, BAD_REQUEST_TYPE_URL, encodeBadRequest(violations));
}

/** Serialized google.rpc.Status{code, message, details: [Any(ErrorInfo)]}. */
export function encodeErrorInfoStatus(code: number, message: string, info: ErrorInfo): Uint8Array {
  const w = new BinaryWriter();
  if (info.reason !== '') w.writeString(1, info.reason);
  if (info.domain !== '') w.writeString(2, info.domain);
  for (const [k, v] of Object.entries(info.metadata)) {
    // A proto map entry is a message {key = 1; value = 2}.
    w.writeMessage(3, [k, v], (kv: string[], mw: BinaryWriter) => {
      mw.writeString(1, kv[0]!);
      mw.writeString(2, kv[1]!);
    });
  }
  return encodeStatus(code, message, ERROR_INFO_TYPE_URL, w.getResultBuffer());
}

/** Serialized google.rpc.Status{code, message, details: [Any(RetryInfo)]}. */
export function encodeRetryInfoStatus(code: number, message: string, retryDelayMs: number): Uint8Array {
  const ms = Math.max(0, Math.ceil(retryDelayMs));
  const w = new BinaryWriter();
  w.writeMessage(1, ms, (v: number, dw: BinaryWriter) => {
    const seconds = Math.floor(v / 1000);
    const nanos = (v % 1000) * 1_000_000;
    if (seconds !== 0) dw.writeInt64(1, seconds);
    if (nanos !== 0) dw.writeInt32(2, nanos);
  });
  return encodeStatus(code, message, RETRY_INFO_TYPE_URL, w.getResultBuffer());
}

/** The retry_delay of a RetryInfo, ms; undefined when it has none (or not as a message). */
function decodeRetryDelayMs(bytes: Uint8Array): number | undefined {
  let d: { seconds: number; nanos: number } | undefined;
  const r = new BinaryReader(bytes);
  while (r.nextField() && !r.isEndGroup()) {
    // Wire type 2: length-delimited, as a Duration must be.
    if (r.getFieldNumber() !== 1 || r.getWireType() !== 2) {
      r.skipField();
      continue;
    }
    d = { seconds: 0, nanos: 0 };
    r.readMessage(d, (v: { seconds: number; nanos: number }, dr: BinaryReader) => {
      while (dr.nextField() && !dr.isEndGroup()) {
        const f = dr.getFieldNumber();
        if (f === 1) v.seconds = dr.readInt64();
        else if (f === 2) v.nanos = dr.readInt32();
        else dr.skipField();
      }
    });
  }
  return d === undefined ? undefined : d.seconds * 1000 + d.nanos / 1_000_000;
}

function decodeErrorInfo(bytes: Uint8Array): ErrorInfo {
  let reason = '';
  let domain = '';
  const metadata: Record<string, string> = {};
  const r = new BinaryReader(bytes);
  while (r.nextField() && !r.isEndGroup()) {
    const n = r.getFieldNumber();
    if (n === 1) reason = r.readString();
    else if (n === 2) domain = r.readString();
    else if (n === 3) {
      const kv = { key: '', value: '' };
      r.readMessage(kv, (e: typeof kv, er: BinaryReader) => {
        while (er.nextField() && !er.isEndGroup()) {
          const f = er.getFieldNumber();
          if (f === 1) e.key = er.readString();
          else if (f === 2) e.value = er.readString();
          else er.skipField();
        }
      });
      metadata[kv.key] = kv.value;
    } else r.skipField();
  }
  return { reason, domain, metadata };
}

function decodeViolations(bytes: Uint8Array): FieldViolation[] {
  const out: FieldViolation[] = [];
  const r = new BinaryReader(bytes);
  while (r.nextField() && !r.isEndGroup()) {
    if (r.getFieldNumber() !== 1) {
      r.skipField();
      continue;
    }
    const v = { field: '', description: '' };
    r.readMessage(v, (fv: typeof v, fr: BinaryReader) => {
      while (fr.nextField() && !fr.isEndGroup()) {
        const n = fr.getFieldNumber();
        if (n === 1) fv.field = fr.readString();
        else if (n === 2) fv.description = fr.readString();
        else fr.skipField();
      }
    });
    out.push(v);
  }
  return out;
}

/**
 * Parse a serialized google.rpc.Status. Unknown fields and detail types are
 * skipped; malformed bytes give undefined (a peer's trailer is not trusted).
 */
export function decodeStatusDetails(bytes: Uint8Array): RpcStatusDetails | undefined {
  try {
    let code = 0;
    let message = '';
    let violations: FieldViolation[] | undefined;
    let errorInfo: ErrorInfo | undefined;
    let retryDelayMs: number | undefined;
    const r = new BinaryReader(bytes);
    while (r.nextField() && !r.isEndGroup()) {
      const n = r.getFieldNumber();
      if (n === 1) code = r.readInt32();
      else if (n === 2) message = r.readString();
      else if (n === 3) {
        const any: { typeUrl: string; value: Uint8Array } = { typeUrl: '', value: new Uint8Array() };
        r.readMessage(any, (a: typeof any, ar: BinaryReader) => {
          while (ar.nextField() && !ar.isEndGroup()) {
            const f = ar.getFieldNumber();
            if (f === 1) a.typeUrl = ar.readString();
            else if (f === 2) a.value = ar.readBytes();
            else ar.skipField();
          }
        });
        if (violations === undefined && any.typeUrl === BAD_REQUEST_TYPE_URL) violations = decodeViolations(any.value);
        if (errorInfo === undefined && any.typeUrl === ERROR_INFO_TYPE_URL) errorInfo = decodeErrorInfo(any.value);
        if (retryDelayMs === undefined && any.typeUrl === RETRY_INFO_TYPE_URL)
          retryDelayMs = decodeRetryDelayMs(any.value);
      } else r.skipField();
    }
    return {
      code,
      message,
      fieldViolations: violations ?? [],
      ...(errorInfo ? { errorInfo } : {}),
      ...(retryDelayMs !== undefined ? { retryDelayMs } : {}),
    };
  } catch {
    return undefined;
  }
}
