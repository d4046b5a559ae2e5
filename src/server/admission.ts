// Admission: server-wide caps on what callers can make the server do at once,
// checked when a Probe/ProbeStream call starts. Over a cap the call is
// refused at once (RESOURCE_EXHAUSTED naming the cap), never queued: a queue
// would only move the overload into memory and into every caller's latency.
//   - calls: Probe + ProbeStream running at once, server-wide;
//   - streams per connection: the same, per HTTP/2 connection;
//   - attempts in flight: the sum of the running calls' concurrency (a call
//     whose concurrency does not fit is refused, not clamped: it gets what
//     it asked for or an answer saying why not);
//   - rate limit (optional): attempts/s per client, a token bucket.

/** Resolved admission settings (config.ts fills and checks them). */
export interface AdmissionSettings {
  readonly maxCalls: number;
  readonly maxAttemptsInFlight: number;
  readonly maxStreamsPerConnection: number;
  /** Attempts per second per client; undefined: no rate limit. */
  readonly rateLimit: number | undefined;
  /** Tokens a client may spend at once (the bucket's size). */
  readonly rateBurst: number;
  /** How the user spells each cap (`--max-calls`), for messages. */
  readonly names: Readonly<Record<AdmissionCap, string>>;
}

export type AdmissionCap = 'maxCalls' | 'maxAttemptsInFlight' | 'maxStreamsPerConnection' | 'rateLimit';

/** A call refused by a cap; status.ts makes it RESOURCE_EXHAUSTED (with RetryInfo when retryAfterMs is set). */
export class ResourceExhaustedError extends Error {
  readonly code = 'RESOURCE_EXHAUSTED';

  constructor(
    readonly cap: AdmissionCap,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'ResourceExhaustedError';
  }
}

/** Who is calling: `connection` is per HTTP/2 connection, `client` is the token name or the peer's address. */
export interface Caller {
  readonly connection: string;
  readonly client: string;
}

/** What an admitted call holds; release() exactly once when it ends. */
export interface Ticket {
  /** One attempt was taken; returns how long (ms) to wait before the next (0 without a rate limit). */
  charge(): number;
  release(): void;
}

/** grpc-js's peer string ("1.2.3.4:5678", "::1:5678") without the port: the client's address. */
export function peerAddress(peer: string): string {
  const i = peer.lastIndexOf(':');
  return i > 0 && /^\d+$/.test(peer.slice(i + 1)) ? peer.slice(0, i) : peer;
}

/** Clients remembered at most; past it, idle ones (full buckets) are dropped, then the least recently used. */
export const MAX_RATE_CLIENTS = 10_000;
const SWEEP_EVERY_MS = 60_000;

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Token buckets per client: `rate` tokens/s up to `burst`. A bucket may go
 * into debt (attempts already launched are charged); a new call needs a
 * whole token. A full bucket is the same as none, so idle clients are
 * dropped: memory stays bounded by the clients active in the last seconds.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private lastSweep: number;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    private readonly maxClients = MAX_RATE_CLIENTS,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.lastSweep = now();
  }

  get size(): number {
    return this.buckets.size;
  }

  /** ms until `client` has a whole token (0: now). */
  waitMs(client: string): number {
    const b = this.bucket(client, false);
    return b === undefined || b.tokens >= 1 ? 0 : ((1 - b.tokens) / this.rate) * 1000;
  }

  /** Takes one token, into debt if need be; returns ms until the debt is repaid (0: none). */
  take(client: string): number {
    const b = this.bucket(client, true)!;
    b.tokens -= 1;
    return b.tokens >= 0 ? 0 : (-b.tokens / this.rate) * 1000;
  }

  private bucket(client: string, create: boolean): Bucket | undefined {
    const t = this.now();
    if (t - this.lastSweep >= SWEEP_EVERY_MS) this.sweep(t);
    let b = this.buckets.get(client);
    if (b !== undefined) {
      b.tokens = Math.min(this.burst, b.tokens + ((t - b.at) / 1000) * this.rate);
      b.at = t;
      this.buckets.delete(client); // re-inserted last: Map order is least recently used first
    } else {
      if (!create) return undefined;
      if (this.buckets.size >= this.maxClients) this.sweep(t);
      if (this.buckets.size >= this.maxClients) this.buckets.delete(this.buckets.keys().next().value!);
      b = { tokens: this.burst, at: t };
    }
    this.buckets.set(client, b);
    return b;
  }

  private sweep(t: number): void {
    this.lastSweep = t;
    for (const [k, b] of this.buckets) {
      if (b.tokens + ((t - b.at) / 1000) * this.rate >= this.burst) this.buckets.delete(k);
    }
  }
}

function seconds(ms: number): string {
  return `${Math.max(0.1, Math.ceil(ms / 100) / 10)} s`;
}

/** The server's counters; admit() either reserves a call's share or throws ResourceExhaustedError. */
export class Admission {
  private calls = 0;
  private attempts = 0;
  private readonly perConnection = new Map<string, number>();
  private readonly limiter: RateLimiter | undefined;

  constructor(private readonly settings: AdmissionSettings) {
    const { rateLimit, rateBurst } = settings;
    this.limiter = rateLimit === undefined ? undefined : new RateLimiter(rateLimit, rateBurst);
  }

  /** Calls and attempts reserved right now. */
  get inUse(): { calls: number; attempts: number; connections: number } {
    return { calls: this.calls, attempts: this.attempts, connections: this.perConnection.size };
  }

  admit(caller: Caller, concurrency: number): Ticket {
    this.check(caller, concurrency);
    this.calls++;
    this.attempts += concurrency;
    this.perConnection.set(caller.connection, (this.perConnection.get(caller.connection) ?? 0) + 1);
    let released = false;
    const limiter = this.limiter;
    return {
      charge: () => (limiter === undefined ? 0 : limiter.take(caller.client)),
      release: () => {
        if (released) return;
        released = true;
        this.calls--;
        this.attempts -= concurrency;
        const n = (this.perConnection.get(caller.connection) ?? 1) - 1;
        if (n <= 0) this.perConnection.delete(caller.connection);
        else this.perConnection.set(caller.connection, n);
      },
    };
  }

  private check(caller: Caller, concurrency: number): void {
    const s = this.settings;
    const n = s.names;
    if (this.calls >= s.maxCalls) {
      throw new ResourceExhaustedError(
        'maxCalls',
        `server at its cap of ${s.maxCalls} concurrent calls (${n.maxCalls}); retry later`,
      );
    }
    if ((this.perConnection.get(caller.connection) ?? 0) >= s.maxStreamsPerConnection) {
      throw new ResourceExhaustedError(
        'maxStreamsPerConnection',
        `connection at its cap of ${s.maxStreamsPerConnection} concurrent calls (${n.maxStreamsPerConnection}); retry later or open another connection`,
      );
    }
    if (this.attempts + concurrency > s.maxAttemptsInFlight) {
      throw new ResourceExhaustedError(
        'maxAttemptsInFlight',
        `server at its cap of ${s.maxAttemptsInFlight} attempts in flight (${n.maxAttemptsInFlight}): ${this.attempts} in flight, this call asks for ${concurrency}; retry later or lower concurrency`,
      );
    }
    const wait = this.limiter?.waitMs(caller.client) ?? 0;
    if (wait > 0) {
      throw new ResourceExhaustedError(
        'rateLimit',
        `client over its rate limit of ${s.rateLimit} attempts/s (${n.rateLimit}); retry in ${seconds(wait)}`,
        wait,
      );
    }
  }
}
