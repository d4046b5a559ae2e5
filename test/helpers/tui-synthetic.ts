// Synthetic attempts and sources for TUI tests: no network, deterministic.
import { sleep } from './wait.js';
import type { AttemptResult, ErrorReason } from '../../src/probe/types.js';
import type { Summary } from '../../src/stats/index.js';
import type { WatchEvent, WatchSource } from '../../src/tui/feed.js';

export function okAttempt(seq: number, latencyMs: number, status = 200): AttemptResult {
  const ttfb = latencyMs * 0.7;
  const connect = latencyMs * 0.2;
  return {
    seq,
    startedAt: 1_700_000_000_000 + seq,
    latencyMs,
    phases: { connectMs: connect, ttfbMs: ttfb, transferMs: latencyMs - ttfb - connect },
    status,
    bodyBytes: 3,
    httpVersion: '1.1',
    remoteAddress: '127.0.0.1:8080',
    reused: false,
    ...(status >= 400
      ? { error: { reason: 'BAD_STATUS', message: `unexpected status ${status}`, temporary: status >= 500 } }
      : {}),
  };
}

export function failedAttempt(
  seq: number,
  latencyMs: number,
  reason: ErrorReason = 'CONNECT_REFUSED',
  message = 'connect ECONNREFUSED 127.0.0.1:1',
): AttemptResult {
  return {
    seq,
    startedAt: 1_700_000_000_000 + seq,
    latencyMs,
    phases: {},
    bodyBytes: 0,
    reused: false,
    error: { reason, message, temporary: false },
  };
}

/** A source that yields the given events (optionally spaced in time), then ends. */
export function scriptedSource(label: string, events: readonly WatchEvent[], gapMs = 0): WatchSource {
  return {
    label,
    open(signal: AbortSignal): AsyncIterable<WatchEvent> {
      return (async function* () {
        for (const ev of events) {
          if (signal.aborted) throw signal.reason;
          if (gapMs > 0) await sleep(gapMs);
          yield ev;
        }
      })();
    },
  };
}

/** A source that never ends until aborted (continuous mode), one attempt per `everyMs`. */
export function endlessSource(label: string, everyMs: number, latency: (seq: number) => number): WatchSource {
  return {
    label,
    open(signal: AbortSignal): AsyncIterable<WatchEvent> {
      return (async function* () {
        for (let seq = 1; ; seq++) {
          await sleep(everyMs, signal);
          yield { kind: 'attempt', attempt: okAttempt(seq, latency(seq)) } as const;
        }
      })();
    },
  };
}

export function summaryEvent(s: Summary): WatchEvent {
  return { kind: 'summary', summary: s };
}

/** A source that yields nothing and ends when aborted: the test drives its feed with fold(). */
export function idleSource(label: string): WatchSource {
  return {
    label,
    open(signal: AbortSignal): AsyncIterable<WatchEvent> {
      return (async function* () {
        if (!signal.aborted) await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      })();
    },
  };
}
