// Following redirects (curl -L): which responses are followed, where to, and
// with what request. Each hop becomes a ProbeSpec of its own (its URL, method,
// headers, body), so the engine sends it like any first request: through the
// target policy again (literalDenial, lookupFor), on a clock of its own.
import { redactUrl } from '../common/redact.js';
import { badLocationError, redirectLoopError, tooManyRedirectsError } from './errors.js';
import type { PhaseClock } from './clock.js';
import type { AttemptError, HeaderField, Hop, HttpMethod, ProbeSpec } from './types.js';

/** The statuses followed; other 3xx (300, 304, ...) are final responses. */
export const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

// Sent only to the origin the caller named (curl drops Authorization and Cookie on a new host).
const ORIGIN_BOUND = new Set(['authorization', 'proxy-authorization', 'cookie', 'host']);
// Describe a body that a method change drops.
const BODY_HEADERS = new Set(['content-type', 'content-encoding', 'content-language']);

/** What a response leads to: the next hop's spec, a typed error, or (undefined) nothing: it is final. */
export type RedirectStep = { readonly next: ProbeSpec } | { readonly error: AttemptError };

/** 303 turns every method but HEAD into GET; 301 and 302 turn POST into GET (as curl and browsers); 307/308 keep it. */
export function redirectMethod(status: number, method: HttpMethod): HttpMethod {
  if (status === 303) return method === 'HEAD' ? 'HEAD' : 'GET';
  if ((status === 301 || status === 302) && method === 'POST') return 'GET';
  return method;
}

function hopHeaders(spec: ProbeSpec, next: URL, dropBody: boolean): readonly HeaderField[] {
  const crossOrigin = next.origin !== spec.url.origin;
  return Object.freeze(
    spec.headers.filter((h) => {
      const n = h.name.toLowerCase();
      return !(crossOrigin && ORIGIN_BOUND.has(n)) && !(dropBody && BODY_HEADERS.has(n));
    }),
  );
}

/**
 * The response of `spec` (the current hop) had `status` and `location`;
 * `followed` redirects were followed before it and `visited` holds every URL
 * requested so far. Loop before count: a repeated URL is REDIRECT_LOOP even
 * within max_redirects.
 */
export function redirectStep(
  spec: ProbeSpec,
  status: number | undefined,
  location: string | undefined,
  followed: number,
  visited: ReadonlySet<string>,
): RedirectStep | undefined {
  if (!spec.followRedirects || status === undefined || !REDIRECT_STATUSES.has(status)) return undefined;
  if (location === undefined || location === '') return undefined;
  let next: URL;
  try {
    next = new URL(location, spec.url);
  } catch {
    return { error: badLocationError(`Location ${JSON.stringify(redactUrl(location).slice(0, 200))} is not a URL`) };
  }
  if (next.protocol !== 'http:' && next.protocol !== 'https:') {
    return { error: badLocationError(`Location scheme ${next.protocol} is not http: or https:`) };
  }
  next.hash = '';
  if (visited.has(next.href)) return { error: redirectLoopError(redactUrl(next.href), followed) };
  if (followed >= spec.maxRedirects) return { error: tooManyRedirectsError(spec.maxRedirects) };
  const method = redirectMethod(status, spec.method);
  const dropBody = method !== spec.method;
  const { body, ...rest } = spec;
  return {
    next: Object.freeze({
      ...rest,
      url: next,
      method,
      headers: hopHeaders(spec, next, dropBody),
      ...(body && !dropBody ? { body } : {}),
    }),
  };
}

/** A followed redirect as reported: its clock must have been marked 'end'. */
export function hopOf(spec: ProbeSpec, status: number, next: URL, clock: PhaseClock, remoteAddress?: string): Hop {
  const hop = {
    url: redactUrl(spec.url.href),
    status,
    location: redactUrl(next.href),
    phases: clock.phases(),
    latencyMs: clock.latencyMs(),
  };
  return remoteAddress === undefined ? hop : { ...hop, remoteAddress };
}
