// Runs the engine in process on a validated input and returns its attempts in
// start order: the engine-level tests' common step.
import assert from 'node:assert/strict';
import { runProbes, validateProbeInput } from '../../src/probe/index.js';
import type { AttemptResult, ProbeInput, ProbeLimits } from '../../src/probe/types.js';

export async function runInput(input: ProbeInput, limits?: ProbeLimits): Promise<AttemptResult[]> {
  const spec = validateProbeInput({ timeoutMs: 5000, ...input }, limits);
  const out: AttemptResult[] = [];
  for await (const a of runProbes(spec)) out.push(a);
  return out.sort((x, y) => x.seq - y.seq);
}

/** The attempt, asserted present and successful. */
export function ok(a: AttemptResult | undefined): AttemptResult {
  assert.ok(a);
  assert.equal(a.error, undefined, a.error?.message);
  return a;
}
