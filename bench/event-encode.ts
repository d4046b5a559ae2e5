// What one ProbeStream attempt event costs the server to serialize: the
// google-protobuf path (attemptEvent + the generated serializer) against the
// hand-written encoder the server uses, same attempts, same run, CPU time.
import type { AttemptResult } from '../src/probe/types.js';
import { attemptEvent, encodeAttemptEvent, serializeProbeStreamMessage } from '../src/wire/index.js';

export interface EncodeRow {
  readonly name: string;
  readonly nsPerEvent: number;
  readonly bytesPerEvent: number;
}

/** What a c=32 keep-alive stream sends: mostly reused-connection successes, some fresh, one failure. */
function attempts(): AttemptResult[] {
  const ok = (seq: number, fresh: boolean): AttemptResult => ({
    seq,
    startedAt: 1_764_590_000_000 + seq * 0.731,
    latencyMs: 0.8 + (seq % 17) * 0.0137,
    phases: fresh
      ? { connectMs: 0.11, ttfbMs: 0.52 + seq * 1e-4, transferMs: 0.05 }
      : { ttfbMs: 0.52 + seq * 1e-4, transferMs: 0.05 },
    status: 200,
    bodyBytes: 2,
    httpVersion: '1.1',
    remoteAddress: '127.0.0.1:40123',
    ipFamily: 4,
    reused: !fresh,
  });
  const list = Array.from({ length: 64 }, (_, i) => ok(i + 1, i % 16 === 0));
  list.push({
    ...ok(65, true),
    status: undefined,
    httpVersion: undefined,
    bodyBytes: 0,
    error: {
      reason: 'CONNECT_REFUSED',
      message: 'connect ECONNREFUSED 127.0.0.1:1',
      temporary: true,
      code: 'ECONNREFUSED',
    },
  });
  return list;
}

function cpuNsPer(n: number, list: readonly AttemptResult[], one: (a: AttemptResult) => Buffer): number {
  let bytes = 0;
  for (let i = 0; i < 20_000; i++) bytes += one(list[i % list.length] as AttemptResult).length; // warm up
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) bytes += one(list[i % list.length] as AttemptResult).length;
  const c = process.cpuUsage(c0);
  if (bytes === 0) throw new Error('nothing encoded');
  return ((c.user + c.system) * 1000) / n;
}

export function benchEventEncode(n: number): EncodeRow[] {
  const list = attempts();
  const bytesPer = (f: (a: AttemptResult) => Buffer): number => list.reduce((s, a) => s + f(a).length, 0) / list.length;
  const generic = (a: AttemptResult): Buffer => serializeProbeStreamMessage(attemptEvent(a));
  const byHand = (a: AttemptResult): Buffer => serializeProbeStreamMessage(encodeAttemptEvent(a));
  const rows: EncodeRow[] = [];
  // Interleaved twice; the lower of each pair is kept (noise only adds).
  const g = [cpuNsPer(n, list, generic), 0];
  const h = [cpuNsPer(n, list, byHand), 0];
  g[1] = cpuNsPer(n, list, generic);
  h[1] = cpuNsPer(n, list, byHand);
  rows.push({ name: 'google-protobuf ProbeEvent', nsPerEvent: Math.min(...g), bytesPerEvent: bytesPer(generic) });
  rows.push({ name: 'encodeAttemptEvent', nsPerEvent: Math.min(...h), bytesPerEvent: bytesPer(byHand) });
  return rows;
}
