// The probe flags of probe, stream and watch, and how they become a request
// (toProbeInput) and a call deadline (callDeadlineMs). Values are only
// parsed here; the server's validation owns defaults and ranges.
import type { Command, OptionValues } from '@commander-js/extra-typings';
import { InvalidArgumentError } from '../probe/errors.js';
import type { HttpMethod, ProbeInput, ProbeLimits, StatusRange } from '../probe/types.js';
import { assumeModuleCompletes, DEFAULT_LIMITS, INPUT_FIELDS, validateProbeInput } from '../probe/validate.js';
import { addHttpVersionOptions, type HttpVersionOptions, httpVersionInput } from './http-version-flags.js';
import { addNetOptions, type NetOptions, netInput } from './net-flags.js';
import { addRequestOptions, type RequestOptions, requestInput } from './request-flags.js';
import { addTargetTlsOptions, type TargetTlsOptions, targetTlsInput } from './target-tls-flags.js';
import { BLACKBOX_MODULES, findModule, withModule } from '../server/modules.js';
import { durationFlag, parseCount, parseDeadline, parseMethod, parsePositive, parseStatusRanges } from './options.js';

/**
 * Default call deadline for a finite run. 30 s rather than the 1 s of the
 * original exercise: it leaves room for several attempts at the default 5 s
 * per-attempt timeout, while still bounding a run against a dead target.
 */
export const DEFAULT_DEADLINE_MS = 30_000;
export const DEFAULT_REPETITIONS = 10;

/** The options addProbeOptions() adds, as parsed. */
export interface ProbeOptions extends RequestOptions, TargetTlsOptions, NetOptions, HttpVersionOptions {
  readonly repetitions: number;
  /** Call deadline in ms; 0 = none; unset = DEFAULT_DEADLINE_MS for finite runs, none for continuous. */
  readonly deadline?: number | undefined;
  /** Per-attempt timeout; unset = the server's default (5 s). */
  readonly timeout?: number | undefined;
  readonly concurrency: number;
  /** Unset = validation's default (back to back; 1 s for a continuous run). */
  readonly interval?: number | undefined;
  readonly reuse?: boolean | undefined;
  /** Unset = GET, or POST with a body (request-flags.ts). */
  readonly method?: HttpMethod | undefined;
  readonly expect?: StatusRange[] | undefined;
  /** host:port of a running prober; unset = an embedded in-process one. */
  readonly server?: string | undefined;
  /** A module configured on the server (ProbeRequest.module). */
  readonly module?: string | undefined;
}

export interface ProbeOptionDefaults {
  /** Default of -n (10). Pass 0 for commands that run until stopped. */
  readonly repetitions?: number;
}

/**
 * Adds the probe flags to a command (probe, stream, watch): -n, --deadline,
 * --timeout, -c/--concurrency, -i/--interval, --reuse, -X/--method, --expect,
 * and the request and check flags of request-flags.ts.
 * Each command adds its own -s/--server (one, or repeatable for watch). Turn
 * the parsed result into a request with toProbeInput().
 */
export function addProbeOptions<A extends unknown[], O extends OptionValues>(
  cmd: Command<A, O>,
  defaults: ProbeOptionDefaults = {},
) {
  const withProbe = addTargetTlsOptions(cmd)
    .option(
      '-n, --repetitions <count>',
      'attempts to make; 0 = until stopped (streaming commands only)',
      parseCount,
      defaults.repetitions ?? DEFAULT_REPETITIONS,
    )
    .option(
      '--deadline <duration>',
      `deadline for the whole run, e.g. 30s (a bare number is seconds); 0 = none (default: ${DEFAULT_DEADLINE_MS / 1000}s, none when -n 0)`,
      parseDeadline,
    )
    .option(
      '--timeout <duration>',
      'per-attempt timeout, DNS to last body byte, e.g. 2s or 500ms (default: server default, 5s)',
      durationFlag('--timeout'),
    )
    .option('-c, --concurrency <n>', 'attempts in flight at once', parsePositive, 1)
    .option(
      '-i, --interval <duration>',
      'time between attempt starts; 0 = back to back (default: 0; 1s when -n 0)',
      durationFlag('--interval'),
    )
    .option('--reuse', 'reuse kept-alive connections (default: a fresh connection per attempt)')
    .option(
      '-X, --method <method>',
      'GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS (default: GET; POST with -d)',
      parseMethod,
    )
    .option(
      '--expect <statuses>',
      'statuses that count as success, e.g. 200-299,404 or 2xx (default: 200-399)',
      parseStatusRanges,
    )
    .option(
      '--module <name>',
      `a module of the server's --config (blackbox syntax) fills every setting not given as a flag; without --server only the built-in ${Object.keys(BLACKBOX_MODULES).join(', ')}`,
    );
  return addHttpVersionOptions(addNetOptions(addRequestOptions(withProbe)));
}

export const SERVER_HELP =
  'prober server to use: host:port, or a region of replicas as dns:///name:port or ipv4:a:port,b:port (default: an embedded in-process one)';

/** Parsed flags -> the request the server validates. */
export function toProbeInput(url: string, opts: ProbeOptions): ProbeInput {
  return {
    endpoint: url,
    repetitions: opts.repetitions,
    timeoutMs: opts.timeout,
    // Only when given: validation picks the default (1 s for continuous runs).
    ...(opts.interval !== undefined ? { intervalMs: opts.interval } : {}),
    concurrency: opts.concurrency,
    reuseConnections: opts.reuse === true,
    expectedStatus: opts.expect,
    ...requestInput(opts, opts.module !== undefined),
    ...targetTlsInput(opts),
    ...netInput(opts),
    ...(opts.module !== undefined ? { module: opts.module } : {}),
    ...httpVersionInput(opts),
  };
}

/** The call deadline (ms from now) these options ask for; undefined = none. */
export function callDeadlineMs(opts: Pick<ProbeOptions, 'deadline' | 'repetitions'>): number | undefined {
  if (opts.deadline !== undefined) return opts.deadline === 0 ? undefined : opts.deadline;
  return opts.repetitions === 0 ? undefined : DEFAULT_DEADLINE_MS;
}

/**
 * Caps for checking a request meant for a remote server: its limits may be
 * higher than ours, so only what no server accepts fails here.
 */
const ANY_SERVER_LIMITS: ProbeLimits = Object.freeze({
  ...DEFAULT_LIMITS,
  maxRepetitions: Number.MAX_SAFE_INTEGER,
  maxConcurrency: Number.MAX_SAFE_INTEGER,
  maxTimeoutMs: Number.MAX_SAFE_INTEGER,
  maxIntervalMs: Number.MAX_SAFE_INTEGER,
  // Whether a server allows proxies is its call; the URL's syntax is checked here.
  allowProxy: true,
});

/**
 * What to validate locally: the request itself; with a module, as the
 * embedded prober applies a built-in one, or (remote) with whatever a
 * module could supply assumed, since only the server knows its modules.
 */
function localCheckInput(input: ProbeInput, remote: boolean): ProbeInput | InvalidArgumentError {
  if (input.module === undefined) return input;
  if (remote) return assumeModuleCompletes(input);
  const mod = findModule(BLACKBOX_MODULES, input.module);
  // The embedded prober has no --config: say so rather than let it answer "not configured".
  if (mod === undefined) {
    return new InvalidArgumentError(
      INPUT_FIELDS.module.proto,
      `module ${JSON.stringify(input.module)} is not built in (${Object.keys(BLACKBOX_MODULES).join(', ')}); the embedded prober has no --config modules: use --server with a prober serve --config that defines it`,
    );
  }
  return withModule(mod, input);
}

/**
 * Validates the request here, before any connection or screen, as the
 * server would: with the embedded prober's own limits, or permissive ones
 * for a remote server. Returns the error (the server's INVALID_ARGUMENT
 * message), or undefined when the request may go.
 */
export function checkProbeInput(
  input: ProbeInput,
  where: { readonly remote: boolean; readonly stream: boolean },
): InvalidArgumentError | undefined {
  // The embedded prober allows proxies: its user is its operator.
  const limits = where.remote ? ANY_SERVER_LIMITS : { ...DEFAULT_LIMITS, allowProxy: true };
  const checked = localCheckInput(input, where.remote);
  if (checked instanceof InvalidArgumentError) return checked;
  try {
    validateProbeInput(checked, { ...limits, allowContinuous: where.stream });
    return undefined;
  } catch (err) {
    if (err instanceof InvalidArgumentError) return err;
    throw err;
  }
}
