// The instants of one attempt on a monotonic clock, and the phases they make
// (as oha keeps a RequestResult with its ConnectionTime). Events are marked as
// they happen; the phases are computed once, at the end.
import { performance } from 'node:perf_hooks';
import { PHASES, PHASE_FIELD, type Phase } from '../stats/phases.js';
import type { Phases } from './types.js';

/** What a request reports, in the order it usually happens. */
export type ClockEvent = 'lookup' | 'connect' | 'proxy' | 'secure' | 'response' | 'end';

export class PhaseClock {
  /** Start of the attempt. */
  t0: number;
  /** The connection came from a keep-alive pool: no dns/connect/tls of its own. */
  reused = false;
  lookupAt: number | undefined;
  connectAt: number | undefined;
  /** A proxy's CONNECT reply arrived (proxy_url, https:// targets). */
  proxyAt: number | undefined;
  secureAt: number | undefined;
  responseAt: number | undefined;
  endAt: number | undefined;

  constructor(t0: number = performance.now()) {
    this.t0 = t0;
  }

  /** Moves t0 to now: for set-up done before the first mark that is not the attempt's to time. */
  restart(at: number = performance.now()): void {
    this.t0 = at;
  }

  mark(event: ClockEvent, at: number = performance.now()): void {
    switch (event) {
      case 'lookup':
        this.lookupAt = at;
        break;
      case 'connect':
        this.connectAt = at;
        break;
      case 'proxy':
        this.proxyAt = at;
        break;
      case 'secure':
        this.secureAt = at;
        break;
      case 'response':
        this.responseAt = at;
        break;
      case 'end':
        this.endAt = at;
        break;
    }
  }

  markReused(): void {
    this.reused = true;
  }

  /** A TCP connection is up (or a kept-alive one was taken). */
  get connected(): boolean {
    return this.reused || this.connectAt !== undefined;
  }

  /** The TLS handshake finished (or a kept-alive connection was taken). */
  get secured(): boolean {
    return this.reused || this.secureAt !== undefined;
  }

  /** When the request could go out: after TLS, else after a tunnel or connect; at once on a reused connection. */
  get readyAt(): number | undefined {
    return this.reused ? this.t0 : (this.secureAt ?? this.proxyAt ?? this.connectAt);
  }

  /** Start to end (to now while the attempt runs). */
  latencyMs(): number {
    return (this.endAt ?? performance.now()) - this.t0;
  }

  /** Each phase that happened; one that did not is absent, not 0. */
  phases(): Phases {
    const out: { -readonly [K in keyof Phases]: Phases[K] } = {};
    const end = this.endAt ?? performance.now();
    for (const phase of PHASES) {
      const ms = SPAN[phase](this, end);
      if (ms !== undefined) out[PHASE_FIELD[phase]] = ms;
    }
    return out;
  }
}

// How long each phase lasted, from the marked instants. A Record so that a new
// phase in PHASES does not compile until it says how it is measured here.
const SPAN: Readonly<Record<Phase, (c: PhaseClock, end: number) => number | undefined>> = Object.freeze({
  dns: (c) => (c.reused || c.lookupAt === undefined ? undefined : c.lookupAt - c.t0),
  connect: (c) => (c.reused || c.connectAt === undefined ? undefined : c.connectAt - (c.lookupAt ?? c.t0)),
  proxy: (c) =>
    c.reused || c.proxyAt === undefined || c.connectAt === undefined ? undefined : c.proxyAt - c.connectAt,
  tls: (c) =>
    c.reused || c.secureAt === undefined || c.connectAt === undefined
      ? undefined
      : c.secureAt - (c.proxyAt ?? c.connectAt),
  ttfb: (c) => {
    const ready = c.readyAt;
    return c.responseAt === undefined || ready === undefined ? undefined : c.responseAt - ready;
  },
  transfer: (c, end) => (c.responseAt === undefined ? undefined : end - c.responseAt),
});
