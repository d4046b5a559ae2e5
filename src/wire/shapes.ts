// The wire shapes of prober.v1's messages, for checkWireFormat (wire-check.ts).
// test/wire-event-decode.test.ts checks every one against the descriptor set
// (src/generated/prober.binpb): a field added to the proto must be added here.
import type { FieldKind, MessageShape } from './wire-check.js';

function shape(name: string, fields: Record<number, readonly [string, FieldKind]>): MessageShape {
  return { name, fields: new Map(Object.entries(fields).map(([n, f]) => [Number(n), f])) };
}

const DURATION = shape('google.protobuf.Duration', { 1: ['seconds', 'varint'], 2: ['nanos', 'varint'] });
const TIMESTAMP = shape('google.protobuf.Timestamp', { 1: ['seconds', 'varint'], 2: ['nanos', 'varint'] });

// ---------------------------------------------------------------- request

const HEADER = shape('prober.v1.Header', { 1: ['name', 'string'], 2: ['value', 'string'] });
const HEADER_MATCH = shape('prober.v1.HeaderMatch', {
  1: ['name', 'string'],
  2: ['regex', 'string'],
  3: ['allow_missing', 'varint'],
});
const STATUS_RANGE = shape('prober.v1.StatusRange', { 1: ['min', 'varint'], 2: ['max', 'varint'] });

export const PROBE_REQUEST = shape('prober.v1.ProbeRequest', {
  1: ['endpoint', 'string'],
  2: ['repetitions', 'varint'],
  3: ['timeout', DURATION],
  4: ['interval', DURATION],
  5: ['concurrency', 'varint'],
  6: ['reuse_connections', 'varint'],
  7: ['expected_status', STATUS_RANGE],
  8: ['method', 'varint'],
  20: ['headers', HEADER],
  21: ['body', 'bytes'],
  22: ['expect_body', 'string'],
  23: ['fail_if_body', 'string'],
  24: ['expect_header', HEADER_MATCH],
  40: ['tls_insecure', 'varint'],
  41: ['tls_ca_pem', 'string'],
  42: ['tls_cert_pem', 'string'],
  43: ['tls_key_pem', 'string'],
  44: ['tls_server_name', 'string'],
  45: ['tls_min_version', 'string'],
  60: ['follow_redirects', 'varint'],
  61: ['max_redirects', 'varint'],
  80: ['ip_family', 'varint'],
  81: ['resolve', 'string'],
  100: ['module', 'string'],
  120: ['http_version', 'varint'],
  140: ['proxy_url', 'string'],
  160: ['fail_if_header', HEADER_MATCH],
  180: ['batch_attempts', 'varint'],
});

// ---------------------------------------------------------------- replies

const PHASES = shape('prober.v1.Phases', {
  1: ['dns', DURATION],
  2: ['connect', DURATION],
  3: ['tls', DURATION],
  4: ['ttfb', DURATION],
  5: ['transfer', DURATION],
  6: ['proxy', DURATION],
});

const PROBE_ERROR = shape('prober.v1.ProbeError', {
  1: ['reason', 'varint'],
  2: ['message', 'string'],
  3: ['temporary', 'varint'],
  4: ['code', 'string'],
});

const HOP = shape('prober.v1.Hop', {
  1: ['url', 'string'],
  2: ['http_status', 'varint'],
  3: ['location', 'string'],
  4: ['phases', PHASES],
  5: ['latency', DURATION],
  6: ['remote_address', 'string'],
});

const TLS_INFO = shape('prober.v1.TlsInfo', {
  1: ['version', 'string'],
  2: ['cipher', 'string'],
  3: ['alpn_protocol', 'string'],
  4: ['session_resumed', 'varint'],
  5: ['earliest_cert_expiry', 'varint'],
});

export const ATTEMPT = shape('prober.v1.Attempt', {
  1: ['seq', 'varint'],
  2: ['start_time', TIMESTAMP],
  3: ['latency', DURATION],
  4: ['phases', PHASES],
  5: ['http_status', 'varint'],
  6: ['body_bytes', 'varint'],
  7: ['http_version', 'string'],
  8: ['remote_address', 'string'],
  9: ['error', PROBE_ERROR],
  10: ['connection_reused', 'varint'],
  11: ['schedule_delay', DURATION],
  50: ['tls', TLS_INFO],
  70: ['hops', HOP],
  90: ['ip_family', 'varint'],
  130: ['proxied', 'varint'],
});

const COUNT = (name: string, key: string): MessageShape => shape(name, { 1: [key, 'varint'], 2: ['count', 'varint'] });

export const SUMMARY = shape('prober.v1.Summary', {
  1: ['attempts', 'varint'],
  2: ['successes', 'varint'],
  3: ['failures', 'varint'],
  4: ['responses', 'varint'],
  5: ['average_latency', DURATION],
  6: ['min', DURATION],
  7: ['max', DURATION],
  8: ['p50', DURATION],
  9: ['p90', DURATION],
  10: ['p95', DURATION],
  11: ['p99', DURATION],
  12: ['stddev', DURATION],
  13: ['histogram', shape('prober.v1.HistogramBucket', { 1: ['upper_bound', DURATION], 2: ['count', 'varint'] })],
  14: ['histogram_overflow', 'varint'],
  15: ['statuses', COUNT('prober.v1.StatusCount', 'status')],
  16: ['errors', COUNT('prober.v1.ReasonCount', 'reason')],
  17: ['deadline_reached', 'varint'],
  18: ['schedule_slips', 'varint'],
  19: ['backpressure_wait', DURATION],
  20: ['elapsed', DURATION],
  21: ['events_sent', 'varint'],
  22: ['phase_medians', PHASES],
  23: ['aborted', 'varint'],
  24: [
    'intended_latency',
    shape('prober.v1.IntendedLatency', {
      1: ['samples', 'varint'],
      2: ['average', DURATION],
      3: ['p50', DURATION],
      4: ['p90', DURATION],
      5: ['p95', DURATION],
      6: ['p99', DURATION],
      7: ['max', DURATION],
    }),
  ],
  25: [
    'event_loop_delay',
    shape('prober.v1.EventLoopDelay', { 1: ['p99', DURATION], 2: ['max', DURATION], 3: ['overloaded', 'varint'] }),
  ],
  26: ['shutdown', 'varint'],
  27: [
    'latency_sketch',
    shape('prober.v1.LatencySketch', {
      1: ['count', 'varint'],
      2: ['sum_ms', 'fixed64'],
      3: ['sum_squares_ms2', 'fixed64'],
      4: ['min_ms', 'fixed64'],
      5: ['max_ms', 'fixed64'],
      6: ['buckets', COUNT('prober.v1.SketchBucket', 'index')],
    }),
  ],
  28: ['region', 'string'],
});

export const PROBE_REPLY = shape('prober.v1.ProbeReply', { 1: ['summary', SUMMARY] });

export const ATTEMPT_BATCH = shape('prober.v1.AttemptBatch', { 1: ['attempts', ATTEMPT] });

export const PROBE_EVENT = shape('prober.v1.ProbeEvent', {
  1: ['attempt', ATTEMPT],
  2: ['summary', SUMMARY],
  3: ['region', 'string'],
  4: ['attempts', ATTEMPT_BATCH],
});
