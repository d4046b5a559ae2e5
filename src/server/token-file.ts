// The bearer tokens a server accepts, read from a file (`serve
// --auth-token-file`). Only SHA-256 digests are kept; a call's token is
// hashed and compared with crypto.timingSafeEqual against every digest, so
// neither the time taken nor a log line tells anything about a token.
// Format (docs/security.md), one token per line:
//   # comment            blank lines are ignored too
//   ci-east: <token>     a named token: the RPC log line says token="ci-east"
//   <token>              unnamed: logged as its fingerprint, sha256:ab12cd34
// Tokens are RFC 6750 b64token characters (A-Z a-z 0-9 - . _ ~ + / and
// trailing =), at least 16 of them; names are [A-Za-z0-9._@-], up to 64.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../common/errors.js';

export const MIN_TOKEN_LENGTH = 16;

export interface TokenEntry {
  /** The name given in the file, else the token's fingerprint. */
  readonly name: string;
  readonly digest: Buffer;
}

export interface TokenSet {
  readonly entries: readonly TokenEntry[];
}

const TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const NAME = /^[A-Za-z0-9._@-]{1,64}$/;

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** "sha256:" and the first 8 hex digits of the token's SHA-256: tells tokens apart, reveals nothing usable. */
export function tokenFingerprint(token: string): string {
  return `sha256:${digest(token).toString('hex').slice(0, 8)}`;
}

/** Parses the file's text; errors name the line, never its content. */
export function parseTokenFile(text: string, where: string, option: string): TokenSet {
  const entries: TokenEntry[] = [];
  const lineOf = new Map<string, number>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const at = `${option}: ${where}:${i + 1}`;
    const colon = line.indexOf(':');
    const name = colon === -1 ? undefined : line.slice(0, colon).trim();
    const token = colon === -1 ? line : line.slice(colon + 1).trim();
    if (name !== undefined && !NAME.test(name))
      throw new ConfigError(option, `${at}: a name is 1-64 of A-Z a-z 0-9 . _ @ -`);
    if (!TOKEN.test(token))
      throw new ConfigError(option, `${at}: a token is one word of A-Z a-z 0-9 - . _ ~ + / (then =)`);
    if (token.length < MIN_TOKEN_LENGTH)
      throw new ConfigError(option, `${at}: token shorter than ${MIN_TOKEN_LENGTH} characters`);
    const label = name ?? tokenFingerprint(token);
    const key = digest(token).toString('hex');
    const seen = lineOf.get(key) ?? lineOf.get(`name:${label}`);
    if (seen !== undefined) throw new ConfigError(option, `${at}: same token or name as line ${seen}`);
    lineOf.set(key, i + 1);
    lineOf.set(`name:${label}`, i + 1);
    entries.push(Object.freeze({ name: label, digest: digest(token) }));
  }
  if (entries.length === 0) throw new ConfigError(option, `${option}: ${where} has no tokens (every call would fail)`);
  return Object.freeze({ entries: Object.freeze(entries) });
}

export function loadTokenFile(path: string, option: string): TokenSet {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as { code?: string }).code ?? String(err);
    throw new ConfigError(option, `${option}: cannot read ${path} (${code})`);
  }
  return parseTokenFile(text, path, option);
}

/** The entry whose token this is, comparing against every digest (no early exit) in constant time. */
export function matchToken(set: TokenSet, presented: string): TokenEntry | undefined {
  const d = digest(presented);
  let found: TokenEntry | undefined;
  for (const e of set.entries) if (timingSafeEqual(d, e.digest) && found === undefined) found = e;
  return found;
}
