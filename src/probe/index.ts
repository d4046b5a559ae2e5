// Public surface of the probe engine.
export * from './types.js';
export {
  InvalidArgumentError,
  isInvalidArgumentError,
  attemptError,
  classifyError,
  classifyTimeout,
  abortError,
  resetError,
  badStatusError,
  declaredLengthError,
  bodyLengthError,
  isTemporaryStatus,
} from './errors.js';
export type { FailureContext, TimeoutContext, TimeoutLimit } from './errors.js';
export { PhaseClock } from './clock.js';
export type { ClockEvent } from './clock.js';
export {
  validateProbeInput,
  DEFAULT_LIMITS,
  DEFAULT_EXPECTED_STATUS,
  DEFAULT_CONTINUOUS_INTERVAL_MS,
  statusExpected,
} from './validate.js';
export { prepareSpec, runAttempt, USER_AGENT } from './attempt.js';
export { earliestExpiry, MAX_PEM_BYTES, TLS_FIELDS, tlsInfo } from './tls.js';
export {
  checkAddress,
  parseCidr,
  policyLookup,
  preflightTarget,
  literalDenial,
  isPolicyDeniedError,
  PolicyDeniedError,
  DEFAULT_TARGET_POLICY,
  PRIVATE_RANGES,
  ALWAYS_DENIED,
} from './policy.js';
export type { TargetPolicy, SelfEndpoint, PolicyVerdict } from './policy.js';
export type { AttemptOptions } from './attempt.js';
export { runProbes, LAUNCH_ON_PULL_BELOW_MS, MIN_ATTEMPT_MS, slipToleranceMs } from './schedule.js';
export type { ProbeRun, RunOptions } from './schedule.js';
export { connectTarget, MAX_PROXY_URL_BYTES, DEFAULT_PROXY_PORT, ProxyRefusedError } from './proxy.js';
export { LOOP_SAMPLE_MS } from './loop-delay.js';
export { warmUp, WARM_UP_ATTEMPTS } from './warmup.js';
export type { WarmUpReport } from './warmup.js';
