// The client's decoders for a server's replies, which it must not trust: a
// hostile or broken prober must not stall a client (CLI, TUI) that talks to
// several, nor hand it a silently wrong number.
//
// decodeProbeEvent reads an attempt event straight into the AttemptResult
// that attemptFromProto would build from google-protobuf's decode (the same
// keys in the same order, the same numbers for any varint), with every length
// checked: about 10x cheaper than ProbeEvent.deserialize + attemptFromProto,
// and it runs once per event. A summary (once per call) and a unary reply are
// walked by checkWireFormat, then decoded by google-protobuf + summaryFromProto.
// Bytes that do not decode throw a WireFormatError naming the field; grpc-js
// ends the call with INTERNAL "Response message parsing error: <message>".
import { prober } from '../generated/prober/v1/prober.js';
import type { AttemptError, AttemptResult, Hop, Phases, TlsInfo } from '../probe/types.js';
import type { Summary } from '../stats/types.js';
import { reasonFromProto, summaryFromProto } from './codec.js';
import { ATTEMPT, ATTEMPT_BATCH, PROBE_EVENT, PROBE_REPLY, SUMMARY } from './shapes.js';
import { checkUtf8Steps, checkWireFormat, type MessageShape, WireFormatError, WireReader } from './wire-check.js';

import pb = prober.v1;

/** One ProbeStream message as the client sees it; `region` only when the server set it. */
export type DecodedEvent =
  | { readonly kind: 'attempt'; readonly attempt: AttemptResult; readonly region?: string }
  | { readonly kind: 'summary'; readonly summary: Summary; readonly region?: string }
  /** Several attempts in one message (ProbeEvent.attempts), in the order they finished. */
  | { readonly kind: 'attempts'; readonly attempts: AttemptResult[]; readonly region?: string }
  | { readonly kind: 'none'; readonly region?: string };

// The fast path's errors say only where it was; a failure is explained by
// checkWireFormat (explain), which names the field.
const AT = 'prober.v1.ProbeEvent';

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** google-protobuf's readString, over a range already stepped by checkUtf8Steps (never reads past it). */
function utf8LikeGoogle(b: Uint8Array, start: number, end: number): string {
  const codes: number[] = [];
  let out = '';
  let c = start;
  while (c < end) {
    const h = b[c++] as number;
    if (h < 0x80) codes.push(h);
    else if (h < 0xc0) continue;
    else if (h < 0xe0) codes.push(((h & 31) << 6) | ((b[c++] as number) & 63));
    else if (h < 0xf0) codes.push(((h & 15) << 12) | (((b[c++] as number) & 63) << 6) | ((b[c++] as number) & 63));
    else if (h < 0xf8) {
      const m = b[c++] as number;
      const t = b[c++] as number;
      const u = b[c++] as number;
      const cp = (((h & 7) << 18) | ((m & 63) << 12) | ((t & 63) << 6) | (u & 63)) - 65536;
      codes.push(((cp >> 10) & 1023) + 55296, (cp & 1023) + 56320);
    }
    if (codes.length >= 8192) {
      out += String.fromCharCode(...codes);
      codes.length = 0;
    }
  }
  return out + String.fromCharCode(...codes);
}

function str(r: WireReader, buf: Buffer, end: number): string {
  const stop = r.length(end, AT);
  const start = r.pos;
  r.pos = stop;
  for (let i = start; i < stop; i++) {
    if ((buf[i] as number) >= 0x80) {
      checkUtf8Steps(buf, start, stop, AT);
      return utf8LikeGoogle(buf, start, stop);
    }
  }
  return buf.toString('latin1', start, stop);
}

/** A field this decoder does not read: skipped if unknown, refused if known (it has the wrong wire type). */
function other(r: WireReader, tag: number, end: number, shape: MessageShape): void {
  if (shape.fields.has(tag >>> 3)) throw new WireFormatError(`${AT}: field ${tag >>> 3} has wire type ${tag & 7}`);
  r.skip(tag & 7, end, AT);
}

/** Duration or Timestamp -> ms (durationToMs / timestampToEpochMs). */
function ms(r: WireReader, end: number): number {
  const stop = r.length(end, AT);
  let seconds = 0;
  let nanos = 0;
  while (r.pos < stop) {
    const tag = r.u32(stop, AT) >>> 0;
    if (tag === 0x08) seconds = r.i64(stop, AT);
    else if (tag === 0x10) nanos = r.i32(stop, AT);
    else if ((tag & 7) !== 0 && (tag >>> 3 === 1 || tag >>> 3 === 2)) throw new WireFormatError(`${AT}: bad Duration`);
    else r.skip(tag & 7, stop, AT);
  }
  return seconds * 1e3 + nanos / 1e6;
}

type MutablePhases = { -readonly [K in keyof Phases]: Phases[K] };

/** phasesFromProto: keys in PHASES order (dns, connect, proxy, tls, ttfb, transfer). */
function phases(r: WireReader, end: number): Phases {
  const stop = r.length(end, AT);
  let dns: number | undefined;
  let connect: number | undefined;
  let tls: number | undefined;
  let ttfb: number | undefined;
  let transfer: number | undefined;
  let proxy: number | undefined;
  while (r.pos < stop) {
    const tag = r.u32(stop, AT) >>> 0;
    if (tag === 0x0a) dns = ms(r, stop);
    else if (tag === 0x12) connect = ms(r, stop);
    else if (tag === 0x1a) tls = ms(r, stop);
    else if (tag === 0x22) ttfb = ms(r, stop);
    else if (tag === 0x2a) transfer = ms(r, stop);
    else if (tag === 0x32) proxy = ms(r, stop);
    else if (tag >>> 3 >= 1 && tag >>> 3 <= 6) throw new WireFormatError(`${AT}: bad Phases`);
    else r.skip(tag & 7, stop, AT);
  }
  const out: MutablePhases = {};
  if (dns !== undefined) out.dnsMs = dns;
  if (connect !== undefined) out.connectMs = connect;
  if (proxy !== undefined) out.proxyMs = proxy;
  if (tls !== undefined) out.tlsMs = tls;
  if (ttfb !== undefined) out.ttfbMs = ttfb;
  if (transfer !== undefined) out.transferMs = transfer;
  return out;
}

function probeError(r: WireReader, buf: Buffer, end: number): AttemptError {
  const stop = r.length(end, AT);
  let reason = 0;
  let message = '';
  let temporary = false;
  let code = '';
  while (r.pos < stop) {
    const tag = r.u32(stop, AT) >>> 0;
    if (tag === 0x08) reason = r.i64(stop, AT);
    else if (tag === 0x12) message = str(r, buf, stop);
    else if (tag === 0x18) temporary = r.u32(stop, AT) !== 0;
    else if (tag === 0x22) code = str(r, buf, stop);
    else if (tag >>> 3 >= 1 && tag >>> 3 <= 4) throw new WireFormatError(`${AT}: bad ProbeError`);
    else r.skip(tag & 7, stop, AT);
  }
  const e: { -readonly [K in keyof AttemptError]: AttemptError[K] } = {
    reason: reasonFromProto(reason),
    message,
    temporary,
  };
  if (code !== '') e.code = code;
  return e;
}

function tlsInfo(r: WireReader, buf: Buffer, end: number): TlsInfo {
  const stop = r.length(end, AT);
  let version = '';
  let cipher = '';
  let alpn = '';
  let resumed = false;
  let expiry = 0;
  while (r.pos < stop) {
    const tag = r.u32(stop, AT) >>> 0;
    if (tag === 0x0a) version = str(r, buf, stop);
    else if (tag === 0x12) cipher = str(r, buf, stop);
    else if (tag === 0x1a) alpn = str(r, buf, stop);
    else if (tag === 0x20) resumed = r.u32(stop, AT) !== 0;
    else if (tag === 0x28) expiry = r.i64(stop, AT);
    else if (tag >>> 3 >= 1 && tag >>> 3 <= 5) throw new WireFormatError(`${AT}: bad TlsInfo`);
    else r.skip(tag & 7, stop, AT);
  }
  const t = { version, cipher } as { -readonly [K in keyof TlsInfo]: TlsInfo[K] };
  if (alpn !== '') t.alpnProtocol = alpn;
  t.sessionResumed = resumed;
  if (expiry !== 0) t.earliestCertExpiry = expiry;
  return t;
}

function hop(r: WireReader, buf: Buffer, end: number): Hop {
  const stop = r.length(end, AT);
  let url = '';
  let status = 0;
  let location = '';
  let hopPhases: Phases | undefined;
  let latencyMs = 0;
  let remote = '';
  while (r.pos < stop) {
    const tag = r.u32(stop, AT) >>> 0;
    if (tag === 0x0a) url = str(r, buf, stop);
    else if (tag === 0x10) status = r.u32(stop, AT);
    else if (tag === 0x1a) location = str(r, buf, stop);
    else if (tag === 0x22) hopPhases = phases(r, stop);
    else if (tag === 0x2a) latencyMs = ms(r, stop);
    else if (tag === 0x32) remote = str(r, buf, stop);
    else if (tag >>> 3 >= 1 && tag >>> 3 <= 6) throw new WireFormatError(`${AT}: bad Hop`);
    else r.skip(tag & 7, stop, AT);
  }
  const h: { -readonly [K in keyof Hop]: Hop[K] } = { url, status, location, phases: hopPhases ?? {}, latencyMs };
  if (remote !== '') h.remoteAddress = remote;
  return h;
}

type MutableAttempt = { -readonly [K in keyof AttemptResult]: AttemptResult[K] };

/** attemptFromProto(Attempt.deserialize(...)): same keys, same order, same numbers. */
function attempt(r: WireReader, buf: Buffer, stop: number): AttemptResult {
  let seq = 0;
  let startedAt = 0;
  let latencyMs = 0;
  let ph: Phases | undefined;
  let status = 0;
  let bodyBytes = 0;
  let httpVersion = '';
  let remote = '';
  let error: AttemptError | undefined;
  let reused = false;
  let scheduleDelayMs: number | undefined;
  let tls: TlsInfo | undefined;
  let hops: Hop[] | undefined;
  let ipFamily = 0;
  let proxied = false;
  while (r.pos < stop) {
    // Tags are field number << 3 | wire type.
    const tag = r.u32(stop, AT) >>> 0;
    switch (tag) {
      case 0x08:
        seq = r.u64(stop, AT);
        break;
      case 0x12:
        startedAt = ms(r, stop);
        break;
      case 0x1a:
        latencyMs = ms(r, stop);
        break;
      case 0x22:
        ph = phases(r, stop);
        break;
      case 0x28:
        status = r.u32(stop, AT);
        break;
      case 0x30:
        bodyBytes = r.u64(stop, AT);
        break;
      case 0x3a:
        httpVersion = str(r, buf, stop);
        break;
      case 0x42:
        remote = str(r, buf, stop);
        break;
      case 0x4a:
        error = probeError(r, buf, stop);
        break;
      case 0x50:
        reused = r.u32(stop, AT) !== 0;
        break;
      case 0x5a:
        scheduleDelayMs = ms(r, stop);
        break;
      case 0x192: // field 50
        tls = tlsInfo(r, buf, stop);
        break;
      case 0x232: // field 70, repeated
        hops ??= [];
        hops.push(hop(r, buf, stop));
        break;
      case 0x2d0: // field 90
        ipFamily = r.u32(stop, AT);
        break;
      case 0x410: // field 130
        proxied = r.u32(stop, AT) !== 0;
        break;
      default:
        other(r, tag, stop, ATTEMPT);
    }
  }
  // attemptFromProto's key order, leaving out what it leaves out.
  const out = { seq, startedAt, latencyMs, phases: ph ?? {} } as MutableAttempt;
  if (status !== 0) out.status = status;
  out.bodyBytes = bodyBytes;
  if (httpVersion !== '') out.httpVersion = httpVersion;
  if (remote !== '') out.remoteAddress = remote;
  if (error !== undefined) out.error = error;
  if (ipFamily === 4 || ipFamily === 6) out.ipFamily = ipFamily;
  out.reused = reused;
  if (scheduleDelayMs !== undefined) out.scheduleDelayMs = scheduleDelayMs;
  if (tls !== undefined) out.tls = tls;
  if (hops !== undefined) out.hops = hops;
  if (proxied) out.proxied = true;
  return out;
}

/** AttemptBatch's attempts in buf up to `stop`, appended to `into` (a repeated field's parts concatenate). */
function attemptBatch(r: WireReader, buf: Buffer, stop: number, into: AttemptResult[]): void {
  while (r.pos < stop) {
    const tag = r.u32(stop, AT) >>> 0;
    if (tag === 0x0a) into.push(attempt(r, buf, r.length(stop, AT)));
    else other(r, tag, stop, ATTEMPT_BATCH);
  }
}

function fastEvent(bytes: Uint8Array): DecodedEvent {
  const buf = asBuffer(bytes);
  const end = buf.length;
  const r = new WireReader(buf);
  let which = 0;
  let a: AttemptResult | undefined;
  let sumStart = 0;
  let sumEnd = 0;
  let region = '';
  let batch: AttemptResult[] = [];
  while (r.pos < end) {
    const tag = r.u32(end, AT) >>> 0;
    if (tag === 0x0a) {
      const stop = r.length(end, AT);
      a = attempt(r, buf, stop);
      which = 1;
    } else if (tag === 0x12) {
      sumEnd = r.length(end, AT);
      sumStart = r.pos;
      checkWireFormat(buf, sumStart, sumEnd, SUMMARY);
      r.pos = sumEnd;
      which = 2;
    } else if (tag === 0x1a) region = str(r, buf, end);
    else if (tag === 0x22) {
      const stop = r.length(end, AT);
      if (which !== 3) batch = [];
      attemptBatch(r, buf, stop, batch);
      which = 3;
    } else other(r, tag, end, PROBE_EVENT);
  }
  // A oneof: the last of attempt and summary is the event.
  if (which === 2) {
    const summary = summaryFromProto(pb.Summary.deserialize(buf.subarray(sumStart, sumEnd)));
    return region === '' ? { kind: 'summary', summary } : { kind: 'summary', summary, region };
  }
  if (which === 3)
    return region === '' ? { kind: 'attempts', attempts: batch } : { kind: 'attempts', attempts: batch, region };
  if (which === 1 && a !== undefined)
    return region === '' ? { kind: 'attempt', attempt: a } : { kind: 'attempt', attempt: a, region };
  return region === '' ? { kind: 'none' } : { kind: 'none', region };
}

/** The checker's account of bytes the fast path refused (it names the field), else the fast path's own error. */
function explain(bytes: Uint8Array, shape: MessageShape, err: unknown): Error {
  try {
    checkWireFormat(bytes, 0, bytes.length, shape);
  } catch (why) {
    if (why instanceof WireFormatError) return new WireFormatError(`${shape.name} ${why.message}`);
  }
  return err instanceof Error ? err : new WireFormatError(String(err));
}

/** A ProbeStream message -> the client's event; throws WireFormatError on bytes that do not decode. */
export function decodeProbeEvent(bytes: Uint8Array): DecodedEvent {
  try {
    return fastEvent(bytes);
  } catch (err) {
    throw explain(bytes, PROBE_EVENT, err);
  }
}

/** A Probe reply, checked, then decoded by google-protobuf. */
export function decodeProbeReply(bytes: Uint8Array): pb.ProbeReply {
  try {
    checkWireFormat(bytes, 0, bytes.length, PROBE_REPLY);
  } catch (err) {
    throw explain(bytes, PROBE_REPLY, err);
  }
  return pb.ProbeReply.deserialize(bytes);
}

/** The Prober service definition for clients: both replies decoded by the checked decoders above. */
export function proberClientDefinition() {
  const d = pb.UnimplementedProberService.definition;
  return {
    Probe: { ...d.Probe, responseDeserialize: decodeProbeReply },
    ProbeStream: { ...d.ProbeStream, responseDeserialize: decodeProbeEvent },
  };
}
