// The one source of truth for docs/bad-inputs.md: every bad input, the
// server (or CLI) it is sent to, and the exact status and message. The gRPC
// and CLI tests walk these rows; docs/bad-inputs.md is generated from them
// (test/helpers/bad-inputs-doc.ts) and a test fails when the two disagree.
//
// Placeholders, replaced at run time: {addr} the server's host:port, {port}
// its port.

/** Server setups the rows run against (see SERVERS in test/bad-inputs-grpc.test.ts). */
export type ServerKind = 'default' | 'policy' | 'allowlist' | 'auth' | 'proxies';

export const SERVER_FLAGS: Readonly<Record<ServerKind, string>> = {
  default: '(no flags; built-in policy only)',
  policy: '--deny-private-targets --deny-target 192.0.2.0/24',
  allowlist: '--allow-target 198.51.100.0/24',
  auth: '--auth-token-file (token `ci`)',
  proxies: '--allow-proxies --deny-private-targets',
};

export interface WireDuration {
  readonly seconds: number;
  readonly nanos?: number;
}

/** A ProbeRequest as plain data (proto field names). */
export interface WireRequest {
  readonly endpoint?: string;
  readonly repetitions?: number;
  readonly timeout?: WireDuration;
  readonly interval?: WireDuration;
  readonly concurrency?: number;
  readonly reuse_connections?: boolean;
  readonly expected_status?: readonly { readonly min: number; readonly max?: number }[];
  readonly method?: number;
  readonly headers?: readonly { readonly name: string; readonly value: string }[];
  /** A body of this many bytes ('a'). */
  readonly body_size?: number;
  readonly expect_body?: readonly string[];
  readonly fail_if_body?: readonly string[];
  readonly expect_header?: readonly { readonly name: string; readonly regex: string }[];
  readonly fail_if_header?: readonly {
    readonly name: string;
    readonly regex: string;
    readonly allow_missing?: boolean;
  }[];
  readonly follow_redirects?: boolean;
  readonly max_redirects?: number;
  readonly ip_family?: number;
  readonly resolve?: readonly string[];
  readonly proxy_url?: string;
  readonly http_version?: number;
}

/** An exact message, or a regex (documented as /…/). */
export type Expected = string | RegExp;

export interface GrpcRow {
  readonly id: string;
  readonly server: ServerKind;
  /** Probe/ProbeStream with `request`; Health.Check; or raw bytes to `path`. */
  readonly rpc: 'Probe' | 'ProbeStream' | 'Check' | 'raw';
  readonly request?: WireRequest;
  /** rpc 'raw': method path and body bytes (hex). */
  readonly raw?: { readonly path: string; readonly hex: string };
  /** authorization metadata to send (server 'auth'). */
  readonly authorization?: string;
  /** How the doc shows the input when the request is too long to print. */
  readonly show?: string;
  readonly code: string;
  readonly message: Expected;
  readonly note?: string;
}

export interface CliRow {
  readonly id: string;
  /** argv after `prober`; {addr} is the server of `server`. */
  readonly argv: readonly string[];
  readonly server?: ServerKind;
  readonly env?: Readonly<Record<string, string>>;
  /** The one stderr line (without the newline). */
  readonly stderr: Expected;
  readonly exit: number;
  readonly note?: string;
}

/** The token the 'auth' server accepts. */
export const GOOD_TOKEN = 'Ke7Wq1Zr4Tx8Yp2Mn5Lb9Vc3Hs6Jd0Fg';

/** Nothing listens on port 1 on loopback: an accepted request ends at once with CONNECT_REFUSED. */
const CLOSED = 'http://127.0.0.1:1';

const ABS = (got: string): string => `endpoint must be an absolute http:// or https:// URL (got ${got})`;
const TIMEOUT = (got: string): string => `timeout must be greater than 0 ms and at most 60000 ms (got ${got})`;
const INTERVAL = (got: string): string => `interval must be between 0 and 3600000 ms (got ${got})`;
const DENIED = (addr: string, rule: string): string =>
  `target address ${addr} is denied by the target policy (${rule})`;
const METADATA = 'always denied: 169.254.0.0/16 (link-local/metadata)';
const ok = (id: string, endpoint: string, extra: Partial<GrpcRow> = {}): GrpcRow => ({
  id,
  server: 'default',
  rpc: 'Probe',
  request: { endpoint, repetitions: 1, timeout: { seconds: 1 } },
  code: 'OK',
  message: '',
  ...extra,
});

export const GRPC_ROWS: readonly GrpcRow[] = [
  // ---- endpoint
  {
    id: 'endpoint-empty',
    server: 'default',
    rpc: 'Probe',
    request: { repetitions: 1 },
    code: 'INVALID_ARGUMENT',
    message: ABS('nothing'),
  },
  {
    id: 'endpoint-spaces',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: '   ', repetitions: 1 },
    code: 'INVALID_ARGUMENT',
    message: ABS('"   "'),
  },
  {
    id: 'endpoint-relative',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: '/ok', repetitions: 1 },
    code: 'INVALID_ARGUMENT',
    message: ABS('"/ok"'),
  },
  {
    id: 'endpoint-no-scheme',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: 'example.com/ok', repetitions: 1 },
    code: 'INVALID_ARGUMENT',
    message: ABS('"example.com/ok"'),
  },
  {
    id: 'endpoint-ftp',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: 'ftp://example.com/', repetitions: 1 },
    code: 'INVALID_ARGUMENT',
    message: ABS('"ftp://example.com/"'),
  },
  {
    id: 'endpoint-file',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: 'file:///etc/passwd', repetitions: 1 },
    code: 'INVALID_ARGUMENT',
    message: ABS('"file:///etc/passwd"'),
  },
  {
    id: 'endpoint-javascript',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: 'javascript:alert(1)', repetitions: 1 },
    code: 'INVALID_ARGUMENT',
    message: ABS('"javascript:alert(1)"'),
  },
  {
    id: 'endpoint-no-host',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: 'http://', repetitions: 1 },
    code: 'INVALID_ARGUMENT',
    message: ABS('"http://"'),
  },
  {
    id: 'endpoint-port-only',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: 'http://:80/', repetitions: 1 },
    code: 'INVALID_ARGUMENT',
    message: ABS('"http://:80/"'),
  },
  {
    id: 'endpoint-space-in-host',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: 'http://exa mple.com/', repetitions: 1 },
    code: 'INVALID_ARGUMENT',
    message: ABS('"http://exa mple.com/"'),
  },
  {
    id: 'endpoint-nul-in-host',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: 'http://a\u0000b/', repetitions: 1 },
    show: 'endpoint: "http://a\\u0000b/"',
    code: 'INVALID_ARGUMENT',
    message: 'endpoint must not contain control characters (found U+0000 at index 8)',
  },
  {
    id: 'endpoint-bad-unicode-host',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: 'http://\uFFFD/', repetitions: 1 },
    code: 'INVALID_ARGUMENT',
    message: ABS('"http://\uFFFD/"'),
  },
  {
    id: 'endpoint-bad-punycode',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: 'http://xn--/', repetitions: 1 },
    code: 'INVALID_ARGUMENT',
    message: ABS('"http://xn--/"'),
  },
  {
    id: 'endpoint-ipv6-unclosed',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: 'http://[::1/', repetitions: 1 },
    code: 'INVALID_ARGUMENT',
    message: ABS('"http://[::1/"'),
  },
  {
    id: 'endpoint-ipv6-zone',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: 'http://[fe80::1%25eth0]/', repetitions: 1 },
    code: 'INVALID_ARGUMENT',
    message: ABS('"http://[fe80::1%25eth0]/"'),
  },
  {
    id: 'endpoint-ipv6-link-local',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: 'http://[fe80::1]/', repetitions: 1 },
    code: 'PERMISSION_DENIED',
    message: DENIED('fe80::1', 'always denied: fe80::/10 (link-local)'),
  },
  {
    id: 'endpoint-ipv6-mapped-metadata',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: 'http://[::ffff:169.254.169.254]/', repetitions: 1 },
    code: 'PERMISSION_DENIED',
    message: DENIED('::ffff:a9fe:a9fe', METADATA),
    note: 'judged as the IPv4 address it carries; named as the URL spells it',
  },
  {
    id: 'endpoint-ipv6-unspecified',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: 'http://[::]/', repetitions: 1 },
    code: 'PERMISSION_DENIED',
    message: DENIED('::', 'always denied: ::/128 (unspecified)'),
  },
  {
    id: 'endpoint-ipv6-aws-metadata',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: 'http://[fd00:ec2::254]/', repetitions: 1 },
    code: 'PERMISSION_DENIED',
    message: DENIED('fd00:ec2::254', 'always denied: fd00:ec2::254/128 (metadata)'),
  },
  {
    id: 'endpoint-metadata',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: 'http://169.254.169.254/latest/meta-data/', repetitions: 1 },
    code: 'PERMISSION_DENIED',
    message: DENIED('169.254.169.254', METADATA),
  },
  {
    id: 'endpoint-unspecified',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: 'http://0.0.0.0/', repetitions: 1 },
    code: 'PERMISSION_DENIED',
    message: DENIED('0.0.0.0', 'always denied: 0.0.0.0/8 (unspecified)'),
  },
  {
    id: 'endpoint-self',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: 'http://127.0.0.1:{port}/', repetitions: 1 },
    code: 'PERMISSION_DENIED',
    message: DENIED('127.0.0.1', "self: the server's own gRPC listener (port {port})"),
  },
  {
    id: 'endpoint-userinfo-denied',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: 'http://user:secret@169.254.169.254/', repetitions: 1 },
    code: 'PERMISSION_DENIED',
    message: DENIED('169.254.169.254', METADATA),
    note: 'the message names the address, never the userinfo',
  },
  {
    id: 'endpoint-userinfo-redacted',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: 'ftp://user:secret@example.com/', repetitions: 1 },
    code: 'INVALID_ARGUMENT',
    message:
      /^endpoint must be an absolute http:\/\/ or https:\/\/ URL \(got "ftp:\/\/[^"]*example\.com\/"\)$(?<!secret.*)/,
    note: 'userinfo redacted (no "secret")',
  },
  {
    id: 'endpoint-userinfo-unparsable',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: 'http://user:secret@exa mple.com/', repetitions: 1 },
    code: 'INVALID_ARGUMENT',
    message:
      /^endpoint must be an absolute http:\/\/ or https:\/\/ URL \(got "http:\/\/[^"]*exa mple\.com\/"\)$(?<!secret.*)/,
    note: 'redacted even when the URL does not parse',
  },
  ok('endpoint-fragment', `${CLOSED}/ok#frag`, { note: 'accepted; the fragment is dropped (never sent)' }),
  {
    id: 'endpoint-port-0',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: 'http://127.0.0.1:0/', repetitions: 1 },
    code: 'INVALID_ARGUMENT',
    message: 'endpoint port must be between 1 and 65535 (got 0)',
  },
  {
    id: 'endpoint-tab',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: `${CLOSED}/a\tb`, repetitions: 1 },
    show: 'endpoint: "http://127.0.0.1:1/a\\tb"',
    code: 'INVALID_ARGUMENT',
    message: /^endpoint must not contain control characters \(found U\+0009 at index 20\)$/,
  },
  {
    id: 'endpoint-del',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: `${CLOSED}/a\u007fb`, repetitions: 1 },
    show: 'endpoint: "http://127.0.0.1:1/a\\u007fb"',
    code: 'INVALID_ARGUMENT',
    message: /^endpoint must not contain control characters \(found U\+007F at index 20\)$/,
  },
  {
    id: 'endpoint-9k',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: `${CLOSED}/${'a'.repeat(9000)}`, repetitions: 1 },
    show: 'endpoint: 9 KiB URL',
    code: 'INVALID_ARGUMENT',
    message: /^endpoint must be at most 8192 bytes long \(got 9\d{3}\)$/,
    note: 'URL length cap 8 KiB',
  },
  // ---- repetitions
  {
    id: 'repetitions-0-probe',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: `${CLOSED}/`, repetitions: 0 },
    code: 'INVALID_ARGUMENT',
    message: 'repetitions must be between 1 and 10000 (got 0)',
  },
  {
    id: 'repetitions-over-probe',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: `${CLOSED}/`, repetitions: 10_001 },
    code: 'INVALID_ARGUMENT',
    message: 'repetitions must be between 1 and 10000 (got 10001)',
  },
  {
    id: 'repetitions-over-stream',
    server: 'default',
    rpc: 'ProbeStream',
    request: { endpoint: `${CLOSED}/`, repetitions: 10_001 },
    code: 'INVALID_ARGUMENT',
    message: 'repetitions must be between 0 and 10000 (0 = continuous) (got 10001)',
  },
  {
    id: 'repetitions-uint32-max',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: `${CLOSED}/`, repetitions: 4_294_967_295 },
    code: 'INVALID_ARGUMENT',
    message: 'repetitions must be between 1 and 10000 (got 4294967295)',
  },
  // ---- timeout
  {
    id: 'timeout-negative',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: `${CLOSED}/`, repetitions: 1, timeout: { seconds: -1 } },
    code: 'INVALID_ARGUMENT',
    message: TIMEOUT('-1000'),
  },
  {
    id: 'timeout-zero',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: `${CLOSED}/`, repetitions: 1, timeout: { seconds: 0 } },
    code: 'INVALID_ARGUMENT',
    message: TIMEOUT('0'),
  },
  {
    id: 'timeout-over-max',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: `${CLOSED}/`, repetitions: 1, timeout: { seconds: 61 } },
    code: 'INVALID_ARGUMENT',
    message: TIMEOUT('61000'),
  },
  {
    id: 'timeout-huge',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: `${CLOSED}/`, repetitions: 1, timeout: { seconds: 315_576_000_000 } },
    code: 'INVALID_ARGUMENT',
    message: TIMEOUT('315576000000000'),
  },
  {
    id: 'timeout-nanos-overflow',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: `${CLOSED}/`, repetitions: 1, timeout: { seconds: 0, nanos: 1_000_000_000 } },
    code: 'INVALID_ARGUMENT',
    message:
      'timeout is not a valid duration: nanos must be within ±999999999 and have the sign of seconds (got seconds 0, nanos 1000000000)',
  },
  {
    id: 'timeout-nanos-sign',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: `${CLOSED}/`, repetitions: 1, timeout: { seconds: 1, nanos: -1 } },
    code: 'INVALID_ARGUMENT',
    message:
      'timeout is not a valid duration: nanos must be within ±999999999 and have the sign of seconds (got seconds 1, nanos -1)',
  },
  {
    id: 'timeout-negative-nanos',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: `${CLOSED}/`, repetitions: 1, timeout: { seconds: 0, nanos: -1 } },
    code: 'INVALID_ARGUMENT',
    message: TIMEOUT('-0.000001'),
  },
  // ---- interval
  {
    id: 'interval-negative',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: `${CLOSED}/`, repetitions: 1, interval: { seconds: -1 } },
    code: 'INVALID_ARGUMENT',
    message: INTERVAL('-1000'),
  },
  {
    id: 'interval-over-max',
    server: 'default',
    rpc: 'ProbeStream',
    request: { endpoint: `${CLOSED}/`, repetitions: 0, interval: { seconds: 3601 } },
    code: 'INVALID_ARGUMENT',
    message: INTERVAL('3601000'),
  },
  {
    id: 'interval-nanos-overflow',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: `${CLOSED}/`, repetitions: 1, interval: { seconds: 0, nanos: -1_000_000_000 } },
    code: 'INVALID_ARGUMENT',
    message:
      'interval is not a valid duration: nanos must be within ±999999999 and have the sign of seconds (got seconds 0, nanos -1000000000)',
  },
  // ---- concurrency
  {
    id: 'concurrency-over-max',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: `${CLOSED}/`, repetitions: 1, concurrency: 101 },
    code: 'INVALID_ARGUMENT',
    message: 'concurrency must be between 1 and 100 (0 means 1) (got 101)',
  },
  {
    id: 'concurrency-uint32-max',
    server: 'default',
    rpc: 'ProbeStream',
    request: { endpoint: `${CLOSED}/`, repetitions: 0, concurrency: 4_294_967_295 },
    code: 'INVALID_ARGUMENT',
    message: 'concurrency must be between 1 and 100 (0 means 1) (got 4294967295)',
  },
  // ---- expected_status
  {
    id: 'expected-min-low',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: `${CLOSED}/`, repetitions: 1, expected_status: [{ min: 99 }] },
    code: 'INVALID_ARGUMENT',
    message: 'expected_status[0].min must be between 100 and 599 (got 99)',
  },
  {
    id: 'expected-min-zero',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: `${CLOSED}/`, repetitions: 1, expected_status: [{ min: 0, max: 0 }] },
    code: 'INVALID_ARGUMENT',
    message: 'expected_status[0].min must be between 100 and 599 (got 0)',
  },
  {
    id: 'expected-min-high',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: `${CLOSED}/`, repetitions: 1, expected_status: [{ min: 600 }] },
    code: 'INVALID_ARGUMENT',
    message: 'expected_status[0].min must be between 100 and 599 (got 600)',
  },
  {
    id: 'expected-max-below-min',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: `${CLOSED}/`, repetitions: 1, expected_status: [{ min: 300, max: 200 }] },
    code: 'INVALID_ARGUMENT',
    message: 'expected_status[0].max must be between min (300) and 599, or 0 for "same as min" (got 200)',
  },
  {
    id: 'expected-max-high',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: `${CLOSED}/`, repetitions: 1, expected_status: [{ min: 200, max: 600 }] },
    code: 'INVALID_ARGUMENT',
    message: 'expected_status[0].max must be between min (200) and 599, or 0 for "same as min" (got 600)',
  },
  {
    id: 'expected-second-range',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: `${CLOSED}/`, repetitions: 1, expected_status: [{ min: 200, max: 299 }, { min: 700 }] },
    code: 'INVALID_ARGUMENT',
    message: 'expected_status[1].min must be between 100 and 599 (got 700)',
  },
  // ---- method
  {
    id: 'method-unknown',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: `${CLOSED}/`, repetitions: 1, method: 8 },
    code: 'INVALID_ARGUMENT',
    message: 'method must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS (got "HTTP_METHOD_8")',
  },
  {
    id: 'method-negative',
    server: 'default',
    rpc: 'ProbeStream',
    request: { endpoint: `${CLOSED}/`, repetitions: 1, method: -1 },
    code: 'INVALID_ARGUMENT',
    message: 'method must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS (got "HTTP_METHOD_-1")',
  },
  // ---- headers, body, response checks
  {
    id: 'header-bad-name',
    server: 'default',
    rpc: 'Probe',
    request: {
      endpoint: `${CLOSED}/`,
      repetitions: 1,
      headers: [
        { name: 'X-Ok', value: '1' },
        { name: 'Bad Name', value: 'x' },
      ],
    },
    code: 'INVALID_ARGUMENT',
    message: `headers[1].name must be a header name (1 to 256 letters, digits or !#$%&'*+-.^_\`|~) (got "Bad Name")`,
  },
  {
    id: 'header-crlf',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: `${CLOSED}/`, repetitions: 1, headers: [{ name: 'X-A', value: 'a\r\nX-Injected: 1' }] },
    code: 'INVALID_ARGUMENT',
    message:
      'headers[0].value must not contain CR, LF, NUL, other control characters or characters above U+00FF (found U+000D at index 1)',
  },
  {
    id: 'header-too-many',
    server: 'default',
    rpc: 'Probe',
    request: {
      endpoint: `${CLOSED}/`,
      repetitions: 1,
      headers: Array.from({ length: 65 }, (_, i) => ({ name: `X-${i}`, value: 'v' })),
    },
    show: '65 headers X-0: v ... X-64: v',
    code: 'INVALID_ARGUMENT',
    message: 'headers must have at most 64 entries (got 65)',
  },
  {
    id: 'header-content-length',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: `${CLOSED}/`, repetitions: 1, method: 3, headers: [{ name: 'content-length', value: '5' }] },
    code: 'INVALID_ARGUMENT',
    message: 'headers[0]: content-length is set by the prober from the body',
  },
  {
    id: 'body-too-large',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: `${CLOSED}/`, repetitions: 1, method: 3, body_size: 1024 * 1024 + 1 },
    show: 'method POST, body of 1048577 bytes',
    code: 'INVALID_ARGUMENT',
    message: 'body must be at most 1048576 bytes (got 1048577)',
  },
  {
    id: 'body-with-get',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: `${CLOSED}/`, repetitions: 1, body_size: 3 },
    code: 'INVALID_ARGUMENT',
    message: 'body is only sent with POST, PUT, PATCH, DELETE, OPTIONS (method is GET)',
  },
  {
    id: 'expect-body-bad-regex',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: `${CLOSED}/`, repetitions: 1, expect_body: ['ok', '(unclosed'] },
    code: 'INVALID_ARGUMENT',
    message:
      'expect_body[1] is not a valid regular expression: Invalid regular expression: /(unclosed/: Unterminated group',
  },
  {
    id: 'fail-if-body-too-long',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: `${CLOSED}/`, repetitions: 1, fail_if_body: ['a'.repeat(1025)] },
    show: "fail_if_body: ['a' x 1025]",
    code: 'INVALID_ARGUMENT',
    message: 'fail_if_body[0] must be at most 1024 bytes long (got 1025)',
  },
  {
    id: 'expect-header-bad-regex',
    server: 'default',
    rpc: 'ProbeStream',
    request: { endpoint: `${CLOSED}/`, repetitions: 1, expect_header: [{ name: 'Content-Type', regex: '[' }] },
    code: 'INVALID_ARGUMENT',
    message:
      'expect_header[0].regex is not a valid regular expression: Invalid regular expression: /[/: Unterminated character class',
  },
  {
    id: 'fail-if-header-bad-regex',
    server: 'default',
    rpc: 'Probe',
    request: {
      endpoint: `${CLOSED}/`,
      repetitions: 1,
      fail_if_header: [
        { name: 'Server', regex: 'ok', allow_missing: true },
        { name: 'Server', regex: '(?<' },
      ],
    },
    code: 'INVALID_ARGUMENT',
    message:
      'fail_if_header[1].regex is not a valid regular expression: Invalid regular expression: /(?</: Invalid capture group name',
  },
  // ---- redirects
  {
    id: 'max-redirects-over-cap',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: `${CLOSED}/`, repetitions: 1, follow_redirects: true, max_redirects: 21 },
    code: 'INVALID_ARGUMENT',
    message: 'max_redirects must be between 1 and 20 (got 21)',
  },
  {
    id: 'max-redirects-without-follow',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: `${CLOSED}/`, repetitions: 1, max_redirects: 3 },
    code: 'INVALID_ARGUMENT',
    message: 'max_redirects is only used with follow_redirects (set it too)',
  },
  // ---- HTTP version
  {
    id: 'http-version-unknown',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: `${CLOSED}/`, repetitions: 1, http_version: 9 },
    code: 'INVALID_ARGUMENT',
    message: 'http_version must be one of 1.1, 2, 2-prior-knowledge (got "HTTP_VERSION_9")',
    note: 'an HttpVersion number this server does not know',
  },
  // ---- address family and pinning
  {
    id: 'ip-family-5',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: `${CLOSED}/`, repetitions: 1, ip_family: 5 },
    code: 'INVALID_ARGUMENT',
    message: 'ip_family must be 4, 6, or 0 for either (got 5)',
  },
  {
    id: 'resolve-no-address',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: `${CLOSED}/`, repetitions: 1, resolve: ['example.com:443'] },
    code: 'INVALID_ARGUMENT',
    message: 'resolve[0] must be "host:port:address[,address...]", IPv6 in brackets (got "example.com:443")',
  },
  {
    id: 'resolve-bare-ipv6',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: `${CLOSED}/`, repetitions: 1, resolve: ['example.com:443:2001:db8::1'] },
    code: 'INVALID_ARGUMENT',
    message:
      'resolve[0] address "2001:db8::1" is not an IPv4 address or a bracketed IPv6 one (got "example.com:443:2001:db8::1")',
  },
  {
    id: 'resolve-pinned-denied',
    server: 'policy',
    rpc: 'Probe',
    request: { endpoint: 'http://example.com/', repetitions: 1, resolve: ['example.com:80:10.0.0.1'] },
    code: 'PERMISSION_DENIED',
    message: DENIED('10.0.0.1', 'deny-private-targets: 10.0.0.0/8'),
    note: 'a pinned address is judged like a resolved one',
  },
  // ---- proxy_url
  {
    id: 'proxy-not-allowed',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: `${CLOSED}/`, repetitions: 1, proxy_url: 'http://u:hunter2@proxy.example:3128' },
    code: 'INVALID_ARGUMENT',
    message: 'proxy_url is not allowed on this server (its operator enables proxies with prober serve --allow-proxies)',
    note: 'proxies are off unless the operator allows them',
  },
  {
    id: 'proxy-scheme',
    server: 'proxies',
    rpc: 'Probe',
    request: { endpoint: `${CLOSED}/`, repetitions: 1, proxy_url: 'socks5://u:hunter2@proxy.example:1080' },
    code: 'INVALID_ARGUMENT',
    message:
      'proxy_url must use the http:// scheme (https:// and socks proxies are not supported) (got "socks5://proxy.example:1080")',
    note: 'credentials are never echoed',
  },
  {
    id: 'proxy-path',
    server: 'proxies',
    rpc: 'Probe',
    request: { endpoint: `${CLOSED}/`, repetitions: 1, proxy_url: 'http://proxy.example:3128/path' },
    code: 'INVALID_ARGUMENT',
    message: 'proxy_url must have no path, query or fragment (got "http://proxy.example:3128/path")',
  },
  {
    id: 'proxy-with-http2',
    server: 'proxies',
    rpc: 'Probe',
    request: { endpoint: `${CLOSED}/`, repetitions: 1, proxy_url: 'http://proxy.example:3128', http_version: 2 },
    code: 'INVALID_ARGUMENT',
    message: 'proxy_url cannot be combined with http_version: HTTP/2 through a proxy is not supported yet',
  },
  {
    id: 'proxy-port-0',
    server: 'proxies',
    rpc: 'Probe',
    request: { endpoint: `${CLOSED}/`, repetitions: 1, proxy_url: 'http://proxy.example:0' },
    code: 'INVALID_ARGUMENT',
    message: 'proxy_url port must be between 1 and 65535 (got "http://proxy.example:0")',
  },
  {
    id: 'proxy-too-long',
    server: 'proxies',
    rpc: 'Probe',
    request: { endpoint: `${CLOSED}/`, repetitions: 1, proxy_url: `http://${'p'.repeat(2050)}.example` },
    show: 'proxy_url: "http://ppp…" (2,065 bytes)',
    code: 'INVALID_ARGUMENT',
    message: 'proxy_url must be at most 2048 bytes long (got 2065)',
  },
  {
    id: 'proxy-policy-denied',
    server: 'proxies',
    rpc: 'Probe',
    request: { endpoint: 'http://example.com/', repetitions: 1, proxy_url: 'http://10.0.0.1:3128' },
    code: 'PERMISSION_DENIED',
    message: DENIED('10.0.0.1', 'deny-private-targets: 10.0.0.0/8'),
    note: "the proxy's address is judged (the connection the prober opens), not the endpoint's",
  },
  // ---- several bad fields: the first in proto order is named
  {
    id: 'first-bad-field',
    server: 'default',
    rpc: 'Probe',
    request: { endpoint: 'ftp://x/', repetitions: 0, concurrency: 101 },
    code: 'INVALID_ARGUMENT',
    message: ABS('"ftp://x/"'),
  },
  // ---- target policy
  {
    id: 'policy-loopback',
    server: 'policy',
    rpc: 'Probe',
    request: { endpoint: 'http://127.0.0.1:8080/', repetitions: 1 },
    code: 'PERMISSION_DENIED',
    message: DENIED('127.0.0.1', 'deny-private-targets: 127.0.0.0/8'),
  },
  {
    id: 'policy-loopback-decimal',
    server: 'policy',
    rpc: 'ProbeStream',
    request: { endpoint: 'http://2130706433/', repetitions: 0 },
    code: 'PERMISSION_DENIED',
    message: DENIED('127.0.0.1', 'deny-private-targets: 127.0.0.0/8'),
  },
  {
    id: 'policy-loopback-hex',
    server: 'policy',
    rpc: 'Probe',
    request: { endpoint: 'http://0x7f.1/', repetitions: 1 },
    code: 'PERMISSION_DENIED',
    message: DENIED('127.0.0.1', 'deny-private-targets: 127.0.0.0/8'),
  },
  {
    id: 'policy-ipv6-loopback',
    server: 'policy',
    rpc: 'Probe',
    request: { endpoint: 'http://[0:0:0:0:0:0:0:1]/', repetitions: 1 },
    code: 'PERMISSION_DENIED',
    message: DENIED('::1', 'deny-private-targets: ::1/128'),
  },
  {
    id: 'policy-rfc1918',
    server: 'policy',
    rpc: 'Probe',
    request: { endpoint: 'https://10.1.2.3/', repetitions: 1 },
    code: 'PERMISSION_DENIED',
    message: DENIED('10.1.2.3', 'deny-private-targets: 10.0.0.0/8'),
  },
  {
    id: 'policy-ula',
    server: 'policy',
    rpc: 'Probe',
    request: { endpoint: 'http://[fd12::1]/', repetitions: 1 },
    code: 'PERMISSION_DENIED',
    message: DENIED('fd12::1', 'deny-private-targets: fc00::/7'),
  },
  {
    id: 'policy-cgnat',
    server: 'policy',
    rpc: 'Probe',
    request: { endpoint: 'http://100.64.0.1/', repetitions: 1 },
    code: 'PERMISSION_DENIED',
    message: DENIED('100.64.0.1', 'deny-private-targets: 100.64.0.0/10'),
  },
  {
    id: 'policy-deny-target',
    server: 'policy',
    rpc: 'Probe',
    request: { endpoint: 'http://192.0.2.7/', repetitions: 1 },
    code: 'PERMISSION_DENIED',
    message: DENIED('192.0.2.7', 'deny-target: 192.0.2.0/24'),
  },
  {
    id: 'policy-not-allowed',
    server: 'allowlist',
    rpc: 'Probe',
    request: { endpoint: 'http://203.0.113.5/', repetitions: 1 },
    code: 'PERMISSION_DENIED',
    message: DENIED('203.0.113.5', 'allow-target: in no allowed range'),
  },
  // ---- tokens
  {
    id: 'auth-missing',
    server: 'auth',
    rpc: 'Probe',
    request: { endpoint: `${CLOSED}/`, repetitions: 1 },
    code: 'UNAUTHENTICATED',
    message: "missing 'authorization: Bearer <token>' metadata",
  },
  {
    id: 'auth-not-bearer',
    server: 'auth',
    rpc: 'ProbeStream',
    request: { endpoint: `${CLOSED}/`, repetitions: 1 },
    authorization: `Basic ${GOOD_TOKEN}`,
    code: 'UNAUTHENTICATED',
    message: "'authorization' metadata is not 'Bearer <token>'",
  },
  {
    id: 'auth-wrong',
    server: 'auth',
    rpc: 'Probe',
    request: { endpoint: `${CLOSED}/`, repetitions: 1 },
    authorization: 'Bearer wrong-token-wrong-token',
    code: 'UNAUTHENTICATED',
    message: 'token not recognised',
  },
  {
    id: 'auth-before-validation',
    server: 'auth',
    rpc: 'Probe',
    request: { endpoint: 'ftp://x/' },
    code: 'UNAUTHENTICATED',
    message: "missing 'authorization: Bearer <token>' metadata",
    note: 'no token: the request is never looked at',
  },
  { id: 'auth-health-exempt', server: 'auth', rpc: 'Check', code: 'OK', message: '', note: 'health needs no token' },
  // ---- method paths and undecodable bodies
  {
    id: 'unknown-method',
    server: 'default',
    rpc: 'raw',
    raw: { path: '/prober.v1.Prober/Nope', hex: '' },
    code: 'UNIMPLEMENTED',
    message: /^The server does not implement the method \/prober\.v1\.Prober\/Nope/,
  },
  {
    id: 'unknown-service',
    server: 'default',
    rpc: 'raw',
    raw: { path: '/nope.v1.Nope/Probe', hex: '0a00' },
    code: 'UNIMPLEMENTED',
    message: /^The server does not implement the method \/nope\.v1\.Nope\/Probe/,
  },
  {
    id: 'garbage-body',
    server: 'default',
    rpc: 'raw',
    raw: { path: '/prober.v1.Prober/Probe', hex: 'ffffffffffffffffffff' },
    code: 'INVALID_ARGUMENT',
    message: /^request is not a valid prober\.v1\.ProbeRequest: /,
  },
  {
    id: 'truncated-body',
    server: 'default',
    rpc: 'raw',
    raw: { path: '/prober.v1.Prober/ProbeStream', hex: '0a10687474703a2f2f' },
    code: 'INVALID_ARGUMENT',
    message: /^request is not a valid prober\.v1\.ProbeRequest: /,
    note: 'endpoint says 16 bytes, 8 follow',
  },
];

export const CLI_ROWS: readonly CliRow[] = [
  { id: 'cli-no-url', argv: ['probe'], stderr: "error: missing required argument 'url'", exit: 2 },
  {
    id: 'cli-ftp',
    argv: ['probe', 'ftp://example.com/'],
    stderr: `prober probe: invalid argument: ${ABS('"ftp://example.com/"')} (URL)`,
    exit: 2,
  },
  {
    id: 'cli-relative',
    argv: ['stream', '/ok'],
    stderr: `prober stream: invalid argument: ${ABS('"/ok"')} (URL)`,
    exit: 2,
  },
  {
    id: 'cli-repetitions-0',
    argv: ['probe', `${CLOSED}/`, '-n', '0'],
    stderr: "prober probe: -n/--repetitions must be at least 1 (use 'prober stream -n 0' to probe continuously)",
    exit: 2,
    note: 'checked by the CLI, with a hint',
  },
  {
    id: 'cli-repetitions-word',
    argv: ['probe', `${CLOSED}/`, '-n', 'ten'],
    stderr: `error: option '-n, --repetitions <count>' argument 'ten' is invalid. expected a whole number >= 0, got "ten"`,
    exit: 2,
  },
  {
    id: 'cli-timeout-negative',
    argv: ['probe', `${CLOSED}/`, '--timeout=-1s'],
    stderr: `error: option '--timeout <duration>' argument '-1s' is invalid. expected a duration like 250ms, 1.5s, 2m or 5 (seconds), got "-1s"`,
    exit: 2,
  },
  {
    id: 'cli-timeout-bare-ms',
    argv: ['probe', `${CLOSED}/`, '--timeout', '5000'],
    stderr:
      "error: option '--timeout <duration>' argument '5000' is invalid. --timeout 5000: a bare number is seconds; write 5000ms or 5s",
    exit: 2,
  },
  {
    id: 'cli-timeout-zero',
    argv: ['probe', `${CLOSED}/`, '--timeout', '0'],
    stderr: `prober probe: invalid argument: ${TIMEOUT('0')} (--timeout)`,
    exit: 2,
  },
  {
    id: 'cli-timeout-over',
    argv: ['probe', `${CLOSED}/`, '--timeout', '61s'],
    stderr: `prober probe: invalid argument: ${TIMEOUT('61000')} (--timeout)`,
    exit: 2,
  },
  {
    id: 'cli-interval-over',
    argv: ['stream', `${CLOSED}/`, '--interval', '2h'],
    stderr: `prober stream: invalid argument: ${INTERVAL('7200000')} (--interval)`,
    exit: 2,
  },
  {
    id: 'cli-concurrency-over',
    argv: ['probe', `${CLOSED}/`, '-c', '101'],
    stderr:
      'prober probe: invalid argument: concurrency must be between 1 and 100 (0 means 1) (got 101) (--concurrency)',
    exit: 2,
  },
  {
    id: 'cli-max-redirects-zero',
    argv: ['probe', `${CLOSED}/`, '-L', '--max-redirects', '0'],
    stderr: 'prober probe: invalid argument: max_redirects must be between 1 and 20 (got 0) (--max-redirects)',
    exit: 2,
  },
  {
    id: 'cli-concurrency-zero',
    argv: ['probe', `${CLOSED}/`, '-c', '0'],
    stderr: "error: option '-c, --concurrency <n>' argument '0' is invalid. expected a whole number >= 1, got 0",
    exit: 2,
  },
  {
    id: 'cli-expect-600',
    argv: ['probe', `${CLOSED}/`, '--expect', '600'],
    stderr: "error: option '--expect <statuses>' argument '600' is invalid. status codes must be 100..599, got 600",
    exit: 2,
  },
  {
    id: 'cli-resolve-bad',
    argv: ['probe', `${CLOSED}/`, '--resolve', 'example.com:80'],
    stderr:
      'prober probe: invalid argument: resolve[0] must be "host:port:address[,address...]", IPv6 in brackets (got "example.com:80") (--resolve)',
    exit: 2,
  },
  {
    id: 'cli-proxy-scheme',
    argv: ['probe', `${CLOSED}/`, '--proxy', 'https://u:hunter2@proxy.example:3128'],
    stderr:
      'prober probe: invalid argument: proxy_url must use the http:// scheme (https:// and socks proxies are not supported) (got "https://proxy.example:3128/") (--proxy)',
    exit: 2,
  },
  {
    id: 'cli-proxy-remote-not-allowed',
    argv: ['probe', `${CLOSED}/`, '--proxy', 'http://proxy.example:3128', '--server', '{addr}'],
    server: 'default',
    stderr: /proxy_url is not allowed on this server .*--allow-proxies/,
    exit: 2,
  },
  {
    id: 'cli-http2-both',
    argv: ['probe', `${CLOSED}/`, '--http2', '--http2-prior-knowledge'],
    stderr: "error: option '--http2' cannot be used with option '--http2-prior-knowledge'",
    exit: 2,
  },
  {
    id: 'cli-ipv6-literal-v4',
    argv: ['probe', `${CLOSED}/`, '-6'],
    stderr: "prober probe: invalid argument: ip_family is 6 but the endpoint's host is an IPv4 address (-4/-6)",
    exit: 2,
  },
  {
    id: 'cli-method-trace',
    argv: ['probe', `${CLOSED}/`, '--method', 'TRACE'],
    stderr: `error: option '-X, --method <method>' argument 'TRACE' is invalid. expected GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, got "TRACE"`,
    exit: 2,
  },
  {
    id: 'cli-header-no-colon',
    argv: ['probe', `${CLOSED}/`, '-H', 'X-A'],
    stderr: `error: option '-H, --header <header>' argument 'X-A' is invalid. expected 'Name: value', got "X-A"`,
    exit: 2,
  },
  {
    id: 'cli-header-bad-name',
    argv: ['probe', `${CLOSED}/`, '-H', 'Bad Name: x'],
    stderr: `prober probe: invalid argument: headers[0].name must be a header name (1 to 256 letters, digits or !#$%&'*+-.^_\`|~) (got "Bad Name") (-H/--header)`,
    exit: 2,
  },
  {
    id: 'cli-data-with-head',
    argv: ['probe', `${CLOSED}/`, '-X', 'HEAD', '-d', 'x'],
    stderr:
      'prober probe: invalid argument: body is only sent with POST, PUT, PATCH, DELETE, OPTIONS (method is HEAD) (-d/--data)',
    exit: 2,
  },
  {
    id: 'cli-data-file-missing',
    argv: ['probe', `${CLOSED}/`, '--data-file', '/nonexistent/body'],
    stderr: `error: option '--data-file <file>' argument '/nonexistent/body' is invalid. cannot read "/nonexistent/body" (ENOENT)`,
    exit: 2,
  },
  {
    id: 'cli-expect-body-bad-regex',
    argv: ['probe', `${CLOSED}/`, '--expect-body', '('],
    stderr:
      'prober probe: invalid argument: expect_body[0] is not a valid regular expression: Invalid regular expression: /(/: Unterminated group (--expect-body)',
    exit: 2,
  },
  {
    id: 'cli-fail-if-header-bad-regex',
    argv: ['probe', `${CLOSED}/`, '--fail-if-header', 'Server: nginx/[0-9', '--server', '{addr}'],
    server: 'default',
    stderr:
      'prober probe: invalid argument: fail_if_header[0].regex is not a valid regular expression: Invalid regular expression: /nginx/[0-9/: Unterminated character class (--fail-if-header)',
    exit: 2,
    note: 'refused before the call is sent',
  },
  {
    id: 'cli-policy',
    argv: ['probe', 'http://192.0.2.7/', '--server', '{addr}'],
    server: 'policy',
    stderr: `prober probe: prober at {addr}: PERMISSION_DENIED: ${DENIED('192.0.2.7', 'deny-target: 192.0.2.0/24')}`,
    exit: 3,
  },
  {
    id: 'cli-metadata',
    argv: ['stream', 'http://169.254.169.254/', '--server', '{addr}'],
    server: 'default',
    stderr: `prober stream: prober at {addr}: PERMISSION_DENIED: ${DENIED('169.254.169.254', METADATA)}`,
    exit: 3,
  },
  {
    id: 'cli-server-invalid',
    argv: ['probe', `${CLOSED}/`, '-n', '10001', '--server', '{addr}'],
    server: 'default',
    stderr: 'prober probe: invalid argument: repetitions must be between 1 and 10000 (got 10001) (-n/--repetitions)',
    exit: 2,
  },
  {
    id: 'cli-no-token',
    argv: ['probe', `${CLOSED}/`, '--server', '{addr}'],
    server: 'auth',
    stderr: `prober probe: prober at {addr}: server requires a token (--token-file or $PROBER_TOKEN) (UNAUTHENTICATED: missing 'authorization: Bearer <token>' metadata)`,
    exit: 3,
  },
  {
    id: 'cli-wrong-token',
    argv: ['probe', `${CLOSED}/`, '--server', '{addr}'],
    server: 'auth',
    env: { PROBER_TOKEN: 'wrong-token-wrong-token' },
    stderr: 'prober probe: prober at {addr}: token rejected (UNAUTHENTICATED: token not recognised)',
    exit: 3,
  },
  {
    id: 'cli-userinfo-redacted',
    argv: ['probe', 'ftp://user:secret@example.com/'],
    stderr:
      /^prober probe: invalid argument: endpoint must be an absolute http:\/\/ or https:\/\/ URL \(got "ftp:\/\/[^"]*example\.com\/"\) \(URL\)$(?<!secret.*)/,
    exit: 2,
  },
  {
    id: 'cli-port-0',
    argv: ['probe', 'http://127.0.0.1:0/'],
    stderr: 'prober probe: invalid argument: endpoint port must be between 1 and 65535 (got 0) (URL)',
    exit: 2,
  },
  {
    id: 'cli-serve-bad-cidr',
    argv: ['serve', '--listen', '127.0.0.1:0', '--no-metrics', '--deny-target', '10.0.0.0/33'],
    stderr:
      'prober serve: cannot start: --deny-target must be a CIDR such as 10.0.0.0/8 or fd00::/8, or an IP address (got "10.0.0.0/33")',
    exit: 2,
  },
  {
    id: 'cli-serve-bad-listen',
    argv: ['serve', '--listen', 'nope', '--no-metrics'],
    stderr: `error: option '-l, --listen <host:port>' argument 'nope' is invalid. must be host:port with port 0..65535, e.g. 0.0.0.0:50051 or [::]:0 (got "nope")`,
    exit: 2,
  },
];
