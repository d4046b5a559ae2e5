// SIGINT/SIGTERM, installed and removed as one.
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

/** Exit code the shell convention gives a process ended by `sig` (130, 143). */
export function signalExitCode(sig: StopSignal): number {
  return sig === 'SIGINT' ? 130 : 143;
}

/** Calls `fn` on each SIGINT/SIGTERM until the returned function is called. */
export function onStopSignals(fn: (sig: StopSignal) => void): () => void {
  const handlers = STOP_SIGNALS.map((sig) => {
    const h = (): void => fn(sig);
    process.on(sig, h);
    return [sig, h] as const;
  });
  return () => {
    for (const [sig, h] of handlers) process.off(sig, h);
  };
}
