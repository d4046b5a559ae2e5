// Server wiring: a grpc-js Server with the Prober service, bound to one
// address, with graceful shutdown.
import * as grpc from '@grpc/grpc-js';
import { DEFAULT_LIMITS } from '../probe/index.js';
import type { ProbeLimits } from '../probe/types.js';
import { NOOP_OBSERVER, type ProbeObserver } from './observer.js';
import { ProberService, type ProberServiceOptions } from './service.js';
import { STDERR_LOGGER, type ErrorLogger } from './status.js';
import { setupObservability, type ObservabilityConfig } from './operability.js';
import type { RunningMetricsServer } from './http.js';
import type { Registry } from 'prom-client';
import { formatHostPort, splitHostPort } from '../common/address.js';
import { onStopSignals, signalExitCode } from '../common/signals.js';
import { timerDelay } from '../common/timers.js';

export const DEFAULT_LISTEN = '0.0.0.0:50051';
export const DEFAULT_GRACE_MS = 5_000;

/**
 * Defaults for the grpc-js server. Keepalive pings find callers that vanished
 * without closing (a continuous stream would otherwise probe for nobody).
 */
export const DEFAULT_SERVER_OPTIONS: grpc.ServerOptions = Object.freeze({
  'grpc.keepalive_time_ms': 60_000,
  'grpc.keepalive_timeout_ms': 20_000,
});

export interface ServerConfig {
  /** "host:port" ("[::]:port" for IPv6); port 0 picks a free port. Default 0.0.0.0:50051. */
  readonly listen?: string;
  /** Request limits; missing ones from DEFAULT_LIMITS (documented in src/probe/validate.ts). */
  readonly limits?: Partial<ProbeLimits>;
  /** Per-attempt/stream callbacks (metrics). Default: no-op. */
  readonly observer?: ProbeObserver;
  /** Unexpected errors (INTERNAL replies) go here; pino's Logger fits. Default: JSON on stderr. */
  readonly logger?: ErrorLogger;
  /** ms kept before the call deadline for the summary; default 10% of the budget within 50..250 ms. */
  readonly deadlineMarginMs?: ProberServiceOptions['deadlineMarginMs'];
  /** Extra grpc-js options merged over DEFAULT_SERVER_OPTIONS; `interceptors` goes here. */
  readonly serverOptions?: grpc.ServerOptions;
  /** Default: insecure (plaintext). */
  readonly credentials?: grpc.ServerCredentials;
  /**
   * More services to add before binding (health, reflection ...). Each gets
   * the grpc Server; what it returns (if a function) runs at close().
   */
  readonly services?: ReadonlyArray<(server: grpc.Server) => void | (() => void | Promise<void>)>;
  /**
   * Metrics (+ HTTP port), per-RPC logging, health and reflection; see
   * src/server/operability.ts. Default: health and reflection only.
   */
  readonly observability?: ObservabilityConfig;
}

export interface RunningServer {
  /** host:port actually bound (the requested host, the real port). */
  readonly address: string;
  readonly port: number;
  readonly server: grpc.Server;
  readonly service: ProberService;
  /** The metrics HTTP port, when observability.metrics.listen was set. */
  readonly metrics?: RunningMetricsServer;
  /** The metrics registry, when observability.metrics was set. */
  readonly registry?: Registry;
  /** Stop accepting calls, let running ones finish for `graceMs`, then cancel them. Idempotent. */
  close(graceMs?: number): Promise<void>;
}

/** Split "host:port" / "[v6]:port" (":port" is all interfaces); RangeError naming `listen` otherwise. */
export function parseListen(listen: string): { host: string; port: number } {
  const hp = splitHostPort(listen);
  if (hp === undefined) {
    throw new RangeError(`listen must be host:port with port 0..65535, e.g. 0.0.0.0:50051 or [::]:0 (got ${JSON.stringify(listen)})`);
  }
  return { host: hp.host ?? '0.0.0.0', port: hp.port };
}

/** Limits must be positive numbers: a typo in a flag must not disable a bound. */
export function resolveLimits(partial: Partial<ProbeLimits> = {}): ProbeLimits {
  const limits = { ...DEFAULT_LIMITS, ...partial };
  for (const key of ['maxRepetitions', 'maxConcurrency', 'maxTimeoutMs', 'defaultTimeoutMs', 'maxIntervalMs', 'maxBodyBytes'] as const) {
    const v = limits[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      throw new RangeError(`limit ${key} must be a positive number (got ${String(v)})`);
    }
  }
  for (const key of ['maxRepetitions', 'maxConcurrency', 'maxBodyBytes'] as const) {
    if (!Number.isInteger(limits[key])) throw new RangeError(`limit ${key} must be a whole number (got ${limits[key]})`);
  }
  if (limits.defaultTimeoutMs > limits.maxTimeoutMs) {
    throw new RangeError(`limit defaultTimeoutMs (${limits.defaultTimeoutMs}) must not exceed maxTimeoutMs (${limits.maxTimeoutMs})`);
  }
  return Object.freeze(limits);
}

export async function startServer(config: ServerConfig = {}): Promise<RunningServer> {
  const { host, port: wantedPort } = parseListen(config.listen ?? DEFAULT_LISTEN);
  const limits = resolveLimits(config.limits);
  const obs = setupObservability(config.observability);
  const logger = config.logger ?? config.observability?.logger ?? STDERR_LOGGER;
  const server = new grpc.Server({
    ...DEFAULT_SERVER_OPTIONS,
    ...config.serverOptions,
    interceptors: [...obs.interceptors, ...(config.serverOptions?.interceptors ?? [])],
  });

  const service = new ProberService({
    limits,
    observer: config.observer ?? obs.observer ?? NOOP_OBSERVER,
    logger,
    ...(config.deadlineMarginMs !== undefined ? { deadlineMarginMs: config.deadlineMarginMs } : {}),
  });
  service.addToServer(server);
  obs.addToServer(server);

  // Observability (metrics, RPC logs, health, reflection) comes from
  // `config.observability` above; more services arrive through `config.services`.
  const cleanups: Array<() => void | Promise<void>> = [];
  for (const add of config.services ?? []) {
    const cleanup = add(server);
    if (typeof cleanup === 'function') cleanups.push(cleanup);
  }

  const credentials = config.credentials ?? grpc.ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(formatHostPort(host, wantedPort), credentials, (err, p) => (err ? reject(err) : resolve(p)));
  });
  let metrics: RunningMetricsServer | undefined;
  try {
    metrics = await obs.start(limits); // metrics port, then health SERVING
  } catch (err) {
    server.forceShutdown();
    throw err;
  }

  let closing: Promise<void> | undefined;
  const close = (graceMs = DEFAULT_GRACE_MS): Promise<void> => {
    closing ??= (async () => {
      obs.draining(); // health NOT_SERVING while calls drain
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          // Calls still running (e.g. continuous streams): cancel them, which
          // aborts their probes through the 'cancelled' event.
          server.forceShutdown();
          resolve();
        }, timerDelay(graceMs));
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      for (const c of cleanups) {
        try {
          await c();
        } catch (err) {
          logger.error({ err }, 'error while closing a service');
        }
      }
      await obs.close().catch((err: unknown) => logger.error({ err }, 'error while closing the metrics port'));
    })();
    return closing;
  };

  return {
    address: formatHostPort(host, port),
    port,
    server,
    service,
    close,
    ...(metrics ? { metrics } : {}),
    ...(obs.registry ? { registry: obs.registry } : {}),
  };
}

/** The CLI/TUI's one-command mode: loopback, free port, no metrics. */
export function startEmbeddedServer(config: Pick<ServerConfig, 'limits' | 'logger'> = {}): Promise<RunningServer> {
  return startServer({
    ...config,
    listen: '127.0.0.1:0',
    observer: NOOP_OBSERVER,
    observability: { health: false, reflection: false },
  });
}

/**
 * SIGINT/SIGTERM: close gracefully (grace period, then cancel running calls);
 * a second signal exits at once with code 130/143. Returns an uninstaller.
 */
export function installSignalHandlers(
  running: Pick<RunningServer, 'close'>,
  log: (msg: string) => void = (msg) => process.stderr.write(`${msg}\n`),
  graceMs = DEFAULT_GRACE_MS,
): () => void {
  let signalled = false;
  const uninstall = onStopSignals((signal) => {
    if (signalled) {
      log(`${signal} again: exiting now`);
      process.exit(signalExitCode(signal));
    }
    signalled = true;
    log(`${signal}: shutting down (grace ${graceMs} ms)`);
    running.close(graceMs).then(
      () => {
        log('server stopped');
        uninstall();
      },
      (err: unknown) => {
        log(`shutdown failed: ${err instanceof Error ? err.message : String(err)}`);
        process.exitCode = 1;
        uninstall();
      },
    );
  });
  return uninstall;
}
