// What the prober sends besides the URL: the caller's headers and body,
// validated once (validate.ts calls in here), and the raw header array the
// engine builds once per spec. Field names are passed in so this file needs
// nothing from validate.ts.
import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from './errors.js';
import type { HeaderField, HttpMethod, ProbeLimits, ProbeSpec } from './types.js';

function packageVersion(): string {
  try {
    // src/probe and dist/probe are both two levels below the package root.
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** Default User-Agent; a caller's User-Agent header replaces it. */
export const USER_AGENT = `prober/${packageVersion()}`;

/** Methods that may carry a body; GET and HEAD never send one. */
export const BODY_METHODS: readonly HttpMethod[] = ['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
// Methods whose empty body still says Content-Length: 0 (as curl and Node do).
const LENGTH_ALWAYS: readonly HttpMethod[] = ['POST', 'PUT', 'PATCH'];

export const MAX_HEADER_NAME_BYTES = 256;
// RFC 9110 token.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// RFC 9110 field-value bytes, as Node checks them: HTAB, SP, VCHAR, obs-text. No CR, LF or NUL.
const BAD_VALUE_CHAR = /[^\t\x20-\x7e\x80-\xff]/;
// The prober frames the body itself; a caller's framing header would contradict it.
const OWN_HEADERS = new Set(['content-length', 'transfer-encoding']);

function quoted(s: string): string {
  return JSON.stringify(s.length > 100 ? `${s.slice(0, 100)}...` : s);
}

function codePoint(s: string): string {
  return `U+${s.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
}

/** A header name (request header or expect_header): a token of at most 256 bytes. */
export function checkHeaderName(name: unknown, at: string): string {
  if (typeof name !== 'string' || name.length > MAX_HEADER_NAME_BYTES || !TOKEN.test(name)) {
    const got = typeof name === 'string' ? quoted(name) : 'nothing';
    throw new InvalidArgumentError(
      at.replace(/\[.*$/, ''),
      `${at}.name must be a header name (1 to ${MAX_HEADER_NAME_BYTES} letters, digits or !#$%&'*+-.^_\`|~) (got ${got})`,
    );
  }
  return name;
}

function checkHeaderValue(value: unknown, at: string, field: string): string {
  if (typeof value !== 'string') throw new InvalidArgumentError(field, `${at}.value must be a string`);
  const m = BAD_VALUE_CHAR.exec(value);
  if (m !== null) {
    throw new InvalidArgumentError(
      field,
      `${at}.value must not contain CR, LF, NUL, other control characters or characters above U+00FF (found ${codePoint(m[0])} at index ${m.index})`,
    );
  }
  return value;
}

/** The caller's headers: count, names, values, then total size. */
export function validateHeaders(value: unknown, field: string, limits: ProbeLimits): readonly HeaderField[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new InvalidArgumentError(field, `${field} must be a list of headers`);
  if (value.length > limits.maxHeaders) {
    throw new InvalidArgumentError(
      field,
      `${field} must have at most ${limits.maxHeaders} entries (got ${value.length})`,
    );
  }
  let bytes = 0;
  const out = value.map((h: unknown, i): HeaderField => {
    const at = `${field}[${i}]`;
    const { name, value: v } = (h ?? {}) as { name?: unknown; value?: unknown };
    checkHeaderName(name, at);
    const n = name as string;
    if (OWN_HEADERS.has(n.toLowerCase())) {
      throw new InvalidArgumentError(field, `${at}: ${n} is set by the prober from the body`);
    }
    const checked = checkHeaderValue(v, at, field);
    bytes += n.length + checked.length;
    return Object.freeze({ name: n, value: checked });
  });
  if (bytes > limits.maxHeaderBytes) {
    throw new InvalidArgumentError(
      field,
      `${field} must be at most ${limits.maxHeaderBytes} bytes of names and values (got ${bytes})`,
    );
  }
  return Object.freeze(out);
}

/** The body: bytes, within the cap, and only with a method that carries one. Empty = none. */
export function validateBody(
  value: unknown,
  method: HttpMethod,
  field: string,
  limits: ProbeLimits,
): Uint8Array | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof Uint8Array)) throw new InvalidArgumentError(field, `${field} must be bytes`);
  if (value.length === 0) return undefined;
  if (value.length > limits.maxRequestBodyBytes) {
    throw new InvalidArgumentError(
      field,
      `${field} must be at most ${limits.maxRequestBodyBytes} bytes (got ${value.length})`,
    );
  }
  if (!BODY_METHODS.includes(method)) {
    throw new InvalidArgumentError(
      field,
      `${field} is only sent with ${BODY_METHODS.join(', ')} (method is ${method})`,
    );
  }
  return value;
}

/**
 * The raw header array of every attempt of `spec`: the defaults a caller's
 * header of the same name does not replace, then the caller's, then the
 * body's Content-Length.
 */
export function requestHeaders(spec: ProbeSpec, auth: string | null | undefined): string[] {
  const defaults: [string, string][] = [
    ['Host', spec.url.host],
    ['User-Agent', USER_AGENT],
    ['Accept', '*/*'],
  ];
  if (auth) defaults.push(['Authorization', `Basic ${Buffer.from(auth).toString('base64')}`]);
  const given = new Set(spec.headers.map((h) => h.name.toLowerCase()));
  const out: string[] = [];
  for (const [name, value] of defaults) if (!given.has(name.toLowerCase())) out.push(name, value);
  for (const h of spec.headers) out.push(h.name, h.value);
  const length = spec.body?.length ?? 0;
  if (length > 0 || LENGTH_ALWAYS.includes(spec.method)) out.push('Content-Length', String(length));
  return out;
}
