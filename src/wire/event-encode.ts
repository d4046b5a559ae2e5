// A ProbeStream attempt event, encoded by hand: the bytes
// `attemptEvent(a, region).serializeBinary()` gives (fields in number order,
// zero/empty scalars left out, phases always present), written in one pass
// straight into the slab region it is handed out as, without the
// google-protobuf objects (Attempt, Timestamp, Durations, Phases ...) the
// generic path builds per event. The server sends one per attempt, so its
// main thread paid for those objects and their garbage on every event. test/wire-event-encode.test.ts checks it
// against the generic path.
//
// A value the wire cannot carry throws, as the generic path does: a
// non-finite duration or time the same RangeError as msToDuration; an integer
// out of its field's range (or fractional) a RangeError naming the field,
// where google-protobuf's writer failed an assertion.
//
// One difference: a lone UTF-16 surrogate in a string is written as U+FFFD
// (Buffer's UTF-8), where google-protobuf writes invalid UTF-8 or drops it.
import type { AttemptResult, Hop, Phases, TlsInfo } from '../probe/types.js';
import { ERROR_REASONS } from '../probe/types.js';
import { reasonToProto } from './codec.js';

const NS_PER_MS = 1e6;
const NS_PER_S = 1e9;
const TWO_32 = 4294967296;
const TWO_63 = 2 ** 63;
const TWO_64 = 2 ** 64;
/** Events are written one after another into a slab this big, then a new one. */
const SLAB = 64 * 1024;

const REASON: ReadonlyMap<string, number> = new Map(ERROR_REASONS.map((r) => [r, reasonToProto(r)]));

let buf = Buffer.allocUnsafeSlow(SLAB);
/** Where the next event starts in buf: everything before it was handed out. */
let used = 0;
let pos = 0;

// ---------------------------------------------------------------- primitives

/** An integer in [-2^63, 2^64) as a varint; negatives as 64-bit two's complement (10 bytes), as int32/int64 are. */
function varint(v: number): void {
  if (v >= 0 && v < TWO_32) {
    while (v > 127) {
      buf[pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[pos++] = v;
    return;
  }
  const high = Math.floor(v / TWO_32);
  let lo = v - high * TWO_32; // exact: 0 <= lo < 2^32
  let hi = high >>> 0;
  while (hi > 0 || lo > 127) {
    buf[pos++] = (lo & 0x7f) | 0x80;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  buf[pos++] = lo;
}

function tag(field: number, wireType: number): void {
  varint(field * 8 + wireType);
}

function unrepresentable(field: string, v: number): RangeError {
  return new RangeError(`${field} cannot go on the wire (got ${v})`);
}

function uint32(field: number, v: number, name: string): void {
  if (v === 0) return;
  if (!(Number.isInteger(v) && v >= 0 && v < TWO_32)) throw unrepresentable(name, v);
  tag(field, 0);
  varint(v);
}

function uint64(field: number, v: number, name: string): void {
  if (v === 0) return;
  if (!(Number.isInteger(v) && v >= 0 && v < TWO_64)) throw unrepresentable(name, v);
  tag(field, 0);
  varint(v);
}

function int64(field: number, v: number, name: string): void {
  if (v === 0) return;
  if (!(Number.isInteger(v) && v >= -TWO_63 && v < TWO_63)) throw unrepresentable(name, v);
  tag(field, 0);
  varint(v);
}

function int32(field: number, v: number, name: string): void {
  if (v === 0) return;
  if (!(Number.isInteger(v) && v >= -0x80000000 && v < 0x80000000)) throw unrepresentable(name, v);
  tag(field, 0);
  varint(v);
}

function bool(field: number, v: boolean): void {
  if (!v) return;
  tag(field, 0);
  buf[pos++] = 1;
}

/** A non-empty string: short ASCII copied byte by byte, anything else through Buffer's UTF-8. */
function string(field: number, s: string): void {
  const n = s.length;
  if (n === 0) return;
  tag(field, 2);
  if (n < 128) {
    const lenAt = pos++;
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      buf[pos++] = c;
    }
    if (i === n) {
      buf[lenAt] = n;
      return;
    }
    pos = lenAt;
  }
  const len = Buffer.byteLength(s, 'utf8');
  varint(len);
  pos += buf.write(s, pos, len, 'utf8');
}

/** Opens a length-delimited field; one byte is kept for its length. */
function begin(field: number): number {
  tag(field, 2);
  return ++pos;
}

/** Closes begin(): writes the length, moving the contents up when it needs more than a byte. */
function end(start: number): void {
  const len = pos - start;
  if (len < 128) {
    buf[start - 1] = len;
    return;
  }
  let extra = 0;
  for (let v = len >>> 7; v > 0; v >>>= 7) extra++;
  buf.copyWithin(start + extra, start, pos);
  pos = start - 1;
  varint(len);
  pos += len;
}

// ---------------------------------------------------------------- messages

/** google.protobuf.Duration as msToDuration makes it (sign shared, -0 -> 0). */
function duration(field: number, ms: number): void {
  if (!Number.isFinite(ms)) throw new RangeError(`duration must be a finite number of milliseconds, got ${ms}`);
  const totalNs = Math.round(ms * NS_PER_MS);
  secondsNanos(field, Math.trunc(totalNs / NS_PER_S), totalNs, 'duration seconds', 'duration nanos');
}

/** google.protobuf.Timestamp as epochMsToTimestamp makes it (nanos 0..999999999). */
function timestamp(field: number, ms: number): void {
  if (!Number.isFinite(ms)) throw new RangeError(`timestamp must be finite, got ${ms}`);
  const totalNs = Math.round(ms * NS_PER_MS);
  secondsNanos(field, Math.floor(totalNs / NS_PER_S), totalNs, 'timestamp seconds', 'timestamp nanos');
}

/** The {seconds, nanos} message both are, with `seconds` already rounded as each type wants. */
function secondsNanos(field: number, seconds: number, totalNs: number, secondsName: string, nanosName: string): void {
  const at = begin(field);
  int64(1, seconds, secondsName);
  int32(2, totalNs - seconds * NS_PER_S, nanosName);
  end(at);
}

/** prober.v1.Phases, always present (empty when no phase happened); fields in number order. */
function phases(field: number, p: Phases): void {
  const at = begin(field);
  if (p.dnsMs !== undefined) duration(1, p.dnsMs);
  if (p.connectMs !== undefined) duration(2, p.connectMs);
  if (p.tlsMs !== undefined) duration(3, p.tlsMs);
  if (p.ttfbMs !== undefined) duration(4, p.ttfbMs);
  if (p.transferMs !== undefined) duration(5, p.transferMs);
  if (p.proxyMs !== undefined) duration(6, p.proxyMs);
  end(at);
}

function tlsInfo(field: number, t: TlsInfo): void {
  const at = begin(field);
  string(1, t.version);
  string(2, t.cipher);
  string(3, t.alpnProtocol ?? '');
  bool(4, t.sessionResumed);
  int64(5, t.earliestCertExpiry ?? 0, 'tls.earliest_cert_expiry');
  end(at);
}

function hop(field: number, h: Hop): void {
  const at = begin(field);
  string(1, h.url);
  uint32(2, h.status, 'hops.http_status');
  string(3, h.location);
  phases(4, h.phases);
  duration(5, h.latencyMs);
  string(6, h.remoteAddress ?? '');
  end(at);
}

function attempt(field: number, a: AttemptResult): void {
  const at = begin(field);
  uint64(1, a.seq, 'seq');
  timestamp(2, a.startedAt);
  duration(3, a.latencyMs);
  phases(4, a.phases);
  uint32(5, a.status ?? 0, 'http_status');
  uint64(6, a.bodyBytes, 'body_bytes');
  string(7, a.httpVersion ?? '');
  string(8, a.remoteAddress ?? '');
  const e = a.error;
  if (e !== undefined) {
    const errAt = begin(9);
    int32(1, REASON.get(e.reason) ?? reasonToProto(e.reason), 'error.reason');
    string(2, e.message);
    bool(3, e.temporary);
    string(4, e.code ?? '');
    end(errAt);
  }
  bool(10, a.reused);
  if (a.scheduleDelayMs !== undefined) duration(11, a.scheduleDelayMs);
  if (a.tls !== undefined) tlsInfo(50, a.tls);
  if (a.hops !== undefined) for (const h of a.hops) hop(70, h);
  uint32(90, a.ipFamily ?? 0, 'ip_family');
  bool(130, a.proxied === true);
  end(at);
}

// ---------------------------------------------------------------- event

/** Bytes per UTF-16 unit at most, plus a field's tag and length. */
const strMax = (s: string | undefined): number => (s === undefined ? 0 : s.length * 3 + 8);

/** An upper bound on the encoded size: fixed fields generously, strings at 3 bytes per UTF-16 unit. */
function sizeBound(a: AttemptResult, region: string | undefined): number {
  let n = 512 + strMax(region) + strMax(a.httpVersion) + strMax(a.remoteAddress);
  if (a.error !== undefined) n += strMax(a.error.message) + strMax(a.error.code);
  if (a.tls !== undefined) n += strMax(a.tls.version) + strMax(a.tls.cipher) + strMax(a.tls.alpnProtocol);
  for (const h of a.hops ?? []) n += 256 + strMax(h.url) + strMax(h.location) + strMax(h.remoteAddress);
  return n;
}

/**
 * A prober.v1.ProbeEvent carrying `a`, serialized; `region` (the server's,
 * first event only) is written when non-empty. The bytes are a view of a slab
 * region no other call writes again (grpc-js holds them until the event is
 * written), so nothing is copied.
 */
export function encodeAttemptEvent(a: AttemptResult, region?: string): Buffer {
  const bound = sizeBound(a, region);
  if (bound > buf.length - used) {
    buf = Buffer.allocUnsafeSlow(Math.max(SLAB, bound));
    used = 0;
  }
  pos = used;
  attempt(1, a);
  if (region) string(3, region);
  const out = buf.subarray(used, pos);
  used = pos; // on a throw, `used` stays: the region was never handed out
  return out;
}

/**
 * A prober.v1.ProbeEvent carrying `as` as one AttemptBatch (for a client that
 * set ProbeRequest.batch_attempts), in the same slab as encodeAttemptEvent.
 */
export function encodeAttemptBatch(as: readonly AttemptResult[], region?: string): Buffer {
  let bound = 16 + strMax(region);
  for (const a of as) bound += sizeBound(a, undefined);
  if (bound > buf.length - used) {
    buf = Buffer.allocUnsafeSlow(Math.max(SLAB, bound));
    used = 0;
  }
  pos = used;
  const at = begin(4);
  for (const a of as) attempt(1, a);
  end(at);
  if (region) string(3, region);
  const out = buf.subarray(used, pos);
  used = pos;
  return out;
}
