// Waiting in tests: a plain delay, and polling that always gives up.
import { setTimeout as delay } from 'node:timers/promises';

/** Resolves after `ms`; rejects with the signal's reason if it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return delay(ms, undefined, signal === undefined ? undefined : { signal });
}

/**
 * Polls `cond` every `everyMs` until it holds: true, or false once `ms` have
 * passed (for tests that assert on the result with their own message).
 */
export async function waitFor(cond: () => boolean | Promise<boolean>, ms: number, everyMs = 20): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() >= end) return false;
    await sleep(everyMs);
  }
}

/** Polls `cond` until it holds; throws "timed out after N ms waiting for <what>" after `ms`. */
export async function until(
  cond: () => boolean | Promise<boolean>,
  ms: number,
  what: string,
  everyMs = 10,
): Promise<void> {
  if (!(await waitFor(cond, ms, everyMs))) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}
