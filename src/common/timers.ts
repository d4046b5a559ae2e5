// setTimeout fires at once for delays above 2^31-1 ms (~24.8 days) and for
// negative ones: every long timer goes through this clamp.
export const MAX_TIMER_MS = 2 ** 31 - 1;

export function timerDelay(ms: number): number {
  return Math.min(Math.max(0, ms), MAX_TIMER_MS);
}
