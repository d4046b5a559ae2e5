// Response checks (expect_body, fail_if_body, expect_header, fail_if_header): validated up
// front as RegExp sources, compiled once per spec on the engine's thread,
// applied when the response has ended. JS RegExp has no timeout, so the
// input is bounded instead: the body is at most the server's body cap, a
// pattern at most MAX_REGEX_BYTES.
import type { EventEmitter } from 'node:events';
import {
  InvalidArgumentError,
  bodyLengthError,
  bodyMismatchError,
  declaredLengthError,
  headerMatchError,
  headerMismatchError,
  sslCheckError,
} from './errors.js';
import { checkHeaderName } from './request.js';
import type { AttemptError, HeaderMatch, ProbeSpec } from './types.js';

export const MAX_REGEX_BYTES = 1024;
export const MAX_CHECKS_PER_FIELD = 16;

function checkRegex(value: unknown, at: string, field: string): string {
  if (typeof value !== 'string' || value === '') {
    throw new InvalidArgumentError(field, `${at} must be a non-empty regular expression`);
  }
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > MAX_REGEX_BYTES) {
    throw new InvalidArgumentError(field, `${at} must be at most ${MAX_REGEX_BYTES} bytes long (got ${bytes})`);
  }
  try {
    new RegExp(value);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new InvalidArgumentError(field, `${at} is not a valid regular expression: ${why}`);
  }
  return value;
}

function checkList(value: unknown, field: string): readonly unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new InvalidArgumentError(field, `${field} must be a list`);
  if (value.length > MAX_CHECKS_PER_FIELD) {
    throw new InvalidArgumentError(
      field,
      `${field} must have at most ${MAX_CHECKS_PER_FIELD} entries (got ${value.length})`,
    );
  }
  return value;
}

/** expect_body / fail_if_body: a list of valid, bounded RegExp sources. */
export function validateRegexList(value: unknown, field: string): readonly string[] {
  return Object.freeze(checkList(value, field).map((v, i) => checkRegex(v, `${field}[${i}]`, field)));
}

/** expect_header / fail_if_header: header names and valid, bounded RegExp sources. */
export function validateHeaderMatches(value: unknown, field: string): readonly HeaderMatch[] {
  return Object.freeze(
    checkList(value, field).map((m: unknown, i): HeaderMatch => {
      const at = `${field}[${i}]`;
      const { name, regex, allowMissing } = (m ?? {}) as { name?: unknown; regex?: unknown; allowMissing?: unknown };
      if (allowMissing !== undefined && typeof allowMissing !== 'boolean') {
        throw new InvalidArgumentError(field, `${at}.allow_missing must be true or false`);
      }
      return Object.freeze({
        name: checkHeaderName(name, at),
        regex: checkRegex(regex, `${at}.regex`, field),
        ...(allowMissing === true ? { allowMissing } : {}),
      });
    }),
  );
}

interface CompiledHeader {
  readonly name: string;
  readonly lower: string;
  readonly re: RegExp;
  readonly allowMissing: boolean;
}

interface Compiled {
  readonly expect: readonly RegExp[];
  readonly failIf: readonly RegExp[];
  readonly headers: readonly CompiledHeader[];
  readonly failIfHeaders: readonly CompiledHeader[];
}

function compileHeaders(list: readonly HeaderMatch[]): CompiledHeader[] {
  return list.map((h) => ({
    name: h.name,
    lower: h.name.toLowerCase(),
    re: new RegExp(h.regex),
    allowMissing: h.allowMissing === true,
  }));
}

const COMPILED = new WeakMap<ProbeSpec, Compiled>();

function compiled(spec: ProbeSpec): Compiled {
  let c = COMPILED.get(spec);
  if (c === undefined) {
    c = {
      expect: spec.expectBody.map((s) => new RegExp(s)),
      failIf: spec.failIfBody.map((s) => new RegExp(s)),
      headers: compileHeaders(spec.expectHeader),
      // A spec built by hand (not by validation) may lack it.
      failIfHeaders: compileHeaders(spec.failIfHeader ?? []),
    };
    COMPILED.set(spec, c);
  }
  return c;
}

/** Whether the body must be kept (up to the body cap) for the checks. */
export function needsBody(spec: ProbeSpec): boolean {
  return spec.expectBody.length > 0 || spec.failIfBody.length > 0;
}

/** What reading a body needs of an attempt (attempt.ts's Attempt). */
export interface BodySink {
  bodyBytes: number;
  chunks: Buffer[] | undefined;
  readonly next: unknown;
  finish(failure?: AttemptError): void;
}

/**
 * Counts a response body (HTTP/1.1 response or HTTP/2 stream) against the
 * cap, keeping its bytes only when a body check needs them. False: the
 * declared length is already over the cap and the attempt is finished.
 */
export function readBody(a: BodySink, spec: ProbeSpec, body: EventEmitter, contentLength: string | undefined): boolean {
  const declared = declaredLengthError(spec.method, contentLength, spec.maxBodyBytes);
  if (declared) {
    a.finish(declared);
    return false;
  }
  if (a.next === undefined && needsBody(spec)) a.chunks = [];
  body.on('data', (chunk: Buffer) => {
    a.bodyBytes += chunk.length;
    a.chunks?.push(chunk);
    const tooLarge = bodyLengthError(a.bodyBytes, spec.maxBodyBytes);
    if (tooLarge) a.finish(tooLarge);
  });
  return true;
}

/** Whether the header is present, and whether some value of it matches `h.re`. */
function matchHeader(h: CompiledHeader, rawHeaders: readonly string[]): { seen: boolean; matched: boolean } {
  let seen = false;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]?.toLowerCase() !== h.lower) continue;
    seen = true;
    if (h.re.test(rawHeaders[i + 1] ?? '')) return { seen, matched: true };
  }
  return { seen, matched: false };
}

/**
 * Header checks against the raw [name, value, ...] list (every value of a
 * repeated header counts). As blackbox: fail_if_header first, then
 * expect_header; a missing header fails either unless allow_missing.
 */
export function checkHeaders(spec: ProbeSpec, rawHeaders: readonly string[]): AttemptError | undefined {
  const c = compiled(spec);
  for (const h of c.failIfHeaders) {
    const { seen, matched } = matchHeader(h, rawHeaders);
    if (matched || (!seen && !h.allowMissing)) return headerMatchError(h.name, h.re.source, seen);
  }
  for (const h of c.headers) {
    const { seen, matched } = matchHeader(h, rawHeaders);
    if (!matched && (seen || !h.allowMissing)) return headerMismatchError(h.name, h.re.source, seen);
  }
  return undefined;
}

/** Body checks on the bytes read, decoded as UTF-8 (invalid sequences become U+FFFD). */
export function checkBody(spec: ProbeSpec, chunks: readonly Buffer[]): AttemptError | undefined {
  const c = compiled(spec);
  if (c.expect.length === 0 && c.failIf.length === 0) return undefined;
  const text = Buffer.concat(chunks).toString('utf8');
  for (const re of c.expect) if (!re.test(text)) return bodyMismatchError('expect_body', re.source);
  for (const re of c.failIf) if (re.test(text)) return bodyMismatchError('fail_if_body', re.source);
  return undefined;
}

/** A module's TLS checks on the final request (after redirects), last as in blackbox. */
export function checkTls(spec: ProbeSpec, overTls: boolean): AttemptError | undefined {
  if (overTls ? spec.failIfSsl === true : spec.failIfNotSsl === true) return sslCheckError(overTls);
  return undefined;
}
