// HTTP basic auth for the metrics port, as exporter-toolkit does it
// (web/handler.go): bcrypt hashes from the web config, one bcrypt at a time,
// verdicts cached per (user, hash, password) so a scrape every 15 s does not
// pay ~100 ms of bcrypt each time, and unknown users checked against a fixed
// hash so timing does not tell which user names exist.
import { createHash } from 'node:crypto';

/** Entries kept (exporter-toolkit keeps 100 too); oldest tenth dropped when full. */
export const AUTH_CACHE_SIZE = 100;
/** bcrypt checks waiting at once; more get 503 rather than an unbounded queue. */
export const MAX_PENDING_CHECKS = 64;
/** bcrypt("fakepassword", cost 10), made for this file: checked for unknown users. */
const DECOY_HASH = '$2b$10$uFc3IKmb8rFbabCTZCvz6uHYwnBKHtEj0KTV9WhZ6cY4PcBqh9l76';

export interface Credentials {
  readonly user: string;
  readonly password: string;
}

/** `Authorization: Basic base64(user:password)`; undefined if absent or malformed (Go's Request.BasicAuth). */
export function parseBasicAuth(header: string | undefined): Credentials | undefined {
  if (header === undefined || header.length < 6 || header.slice(0, 6).toLowerCase() !== 'basic ') return undefined;
  const b64 = header.slice(6);
  // Strict base64, as Go's StdEncoding: Buffer.from() would accept anything.
  if (b64.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) return undefined;
  const text = Buffer.from(b64, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) return undefined;
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

export type AuthVerdict = 'ok' | 'denied' | 'busy';

export interface BasicAuthChecker {
  /** Whether `header` names a user of `users` with the right password. */
  check(users: ReadonlyMap<string, string>, header: string | undefined): Promise<AuthVerdict>;
  /** Cached verdicts now (tests). */
  readonly cached: number;
}

type Compare = (password: string, hash: string) => Promise<boolean>;

async function bcryptCompare(password: string, hash: string): Promise<boolean> {
  // Loaded on the first check: only a port with users pays for it.
  const { default: bcrypt } = await import('bcryptjs');
  return bcrypt.compare(password, hash);
}

/** Length-prefixed digest: the cache holds no plaintext password and no two inputs share a key. */
function cacheKey(user: string, hash: string, password: string): string {
  const h = createHash('sha256');
  for (const part of [user, hash, password]) h.update(`${Buffer.byteLength(part)}:`).update(part);
  return h.digest('hex');
}

/** One checker per metrics port; it outlives web config reloads (the key includes the hash). */
export function createBasicAuth(compare: Compare = bcryptCompare): BasicAuthChecker {
  const cache = new Map<string, boolean>();
  let queue: Promise<unknown> = Promise.resolve();
  let pending = 0;

  const remember = (key: string, ok: boolean): void => {
    if (cache.size >= AUTH_CACHE_SIZE) {
      let drop = Math.max(1, Math.floor(AUTH_CACHE_SIZE / 10));
      for (const k of cache.keys()) {
        if (drop-- <= 0) break;
        cache.delete(k);
      }
    }
    cache.set(key, ok);
  };

  return {
    get cached() {
      return cache.size;
    },
    async check(users, header) {
      const creds = parseBasicAuth(header);
      if (creds === undefined) return 'denied';
      const known = users.get(creds.user);
      const hash = known ?? DECOY_HASH;
      const key = cacheKey(creds.user, hash, creds.password);
      let ok = cache.get(key);
      if (ok === undefined) {
        if (pending >= MAX_PENDING_CHECKS) return 'busy';
        pending++;
        // bcrypt is CPU-bound: one at a time, like exporter-toolkit's bcryptMtx.
        const run = queue.then(() => compare(creds.password, hash));
        queue = run.catch(() => undefined);
        try {
          ok = (await run) && known !== undefined;
        } finally {
          pending--;
        }
        remember(key, ok);
      }
      return ok && known !== undefined ? 'ok' : 'denied';
    },
  };
}
