// Server wiring: a grpc-js Server with the Prober service, bound to one
// address, with graceful shutdown. Configuration is resolved in config.ts;
// this file only acts on the ServerSettings it gets.
import * as grpc from '@grpc/grpc-js';
import type { Registry } from 'prom-client';
import { formatHostPort } from '../common/address.js';
import { onStopSignals, signalExitCode } from '../common/signals.js';
import { timerDelay } from '../common/timers.js';
import {
  DEFAULT_GRACE_MS,
  isServerSettings,
  resolveServerConfig,
  type ServerInput,
  type ServerSettings,
  type ServiceInstaller,
} from './config.js';
import type { RunningMetricsServer } from './http.js';
import { NOOP_OBSERVER } from './observer.js';
import type { Observability } from './operability.js';
import { ProberService } from './service.js';
import type { ErrorLogger } from './status.js';

export {
  DEFAULT_GRACE_MS,
  DEFAULT_LISTEN,
  DEFAULT_SERVER_OPTIONS,
  parseListen,
  resolveLimits,
  resolveServerConfig,
  type ServerInput,
  type ServerSettings,
} from './config.js';

/** What startServer takes before resolution (see ServerInput in config.ts). */
export type ServerConfig = ServerInput;

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
  /** Stop accepting calls, let running ones finish for `graceMs` (default: the settings'), then cancel them. Idempotent. */
  close(graceMs?: number): Promise<void>;
}

/**
 * Starts a server from an input (resolved here; a bad setting throws
 * ConfigError before anything binds) or from settings resolved earlier.
 */
export async function startServer(config: ServerInput | ServerSettings = {}): Promise<RunningServer> {
  const settings = isServerSettings(config) ? config : resolveServerConfig(config);
  const obs = await observability(settings);
  const server = new grpc.Server({
    ...settings.grpc.options,
    interceptors: [...obs.interceptors, ...(settings.grpc.options.interceptors ?? [])],
  });
  const service = new ProberService({
    limits: settings.limits,
    observer: settings.observer ?? obs.observer ?? NOOP_OBSERVER,
    logger: settings.errorLogger,
    ...(settings.deadlineMarginMs !== undefined ? { deadlineMarginMs: settings.deadlineMarginMs } : {}),
    ...(settings.targetPolicy ? { targetPolicy: settings.targetPolicy } : {}),
  });
  service.addToServer(server);
  obs.addToServer(server);
  const cleanups = installServices(server, settings.grpc.services);

  const port = await bind(server, settings);
  settings.targetPolicy?.addListener('gRPC listener', settings.listen.host, port);
  let metrics: RunningMetricsServer | undefined;
  try {
    metrics = await obs.start(); // metrics port, then health SERVING
  } catch (err) {
    server.forceShutdown();
    throw err;
  }
  return {
    address: formatHostPort(settings.listen.host, port),
    port,
    server,
    service,
    close: closer(server, obs, cleanups, settings),
    ...(metrics ? { metrics } : {}),
    ...(obs.registry ? { registry: obs.registry } : {}),
  };
}

/** Observability with nothing to do: what the embedded prober has. */
const NO_OBSERVABILITY: Observability = {
  observer: undefined,
  interceptors: [],
  registry: undefined,
  operability: undefined,
  addToServer: () => {},
  start: () => Promise.resolve(undefined),
  draining: () => {},
  close: () => Promise.resolve(),
};

/**
 * Loads health, reflection, metrics and logging (grpc-health-check,
 * @grpc/reflection, prom-client: slow to load) only when a setting asks for one.
 */
async function observability(settings: ServerSettings): Promise<Observability> {
  const none =
    !settings.health &&
    settings.reflection === 'off' &&
    settings.metrics === undefined &&
    settings.logger === undefined;
  if (none) return NO_OBSERVABILITY;
  const { setupObservability } = await import('./operability.js');
  return setupObservability(settings);
}

type Cleanup = () => void | Promise<void>;

function installServices(server: grpc.Server, services: readonly ServiceInstaller[]): Cleanup[] {
  const cleanups: Cleanup[] = [];
  for (const add of services) {
    const cleanup = add(server);
    if (typeof cleanup === 'function') cleanups.push(cleanup);
  }
  return cleanups;
}

function bind(server: grpc.Server, settings: ServerSettings): Promise<number> {
  const { host, port } = settings.listen;
  const credentials = settings.grpc.credentials ?? grpc.ServerCredentials.createInsecure();
  return new Promise<number>((resolve, reject) => {
    server.bindAsync(formatHostPort(host, port), credentials, (err, p) => (err ? reject(err) : resolve(p)));
  });
}

/** Lets running calls finish for `graceMs`, then cancels the rest. */
function drain(server: grpc.Server, graceMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
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
}

function closer(
  server: grpc.Server,
  obs: Observability,
  cleanups: Cleanup[],
  settings: ServerSettings,
): RunningServer['close'] {
  const log: ErrorLogger = settings.errorLogger;
  let closing: Promise<void> | undefined;
  return (graceMs = settings.graceMs) => {
    closing ??= (async () => {
      obs.draining(); // health NOT_SERVING while calls drain
      await drain(server, graceMs);
      for (const c of cleanups) {
        try {
          await c();
        } catch (err) {
          log.error({ err }, 'error while closing a service');
        }
      }
      await obs.close().catch((err: unknown) => log.error({ err }, 'error while closing the metrics port'));
    })();
    return closing;
  };
}

/** The CLI/TUI's one-command mode: loopback, free port, no metrics. */
export function startEmbeddedServer(config: Pick<ServerInput, 'limits' | 'logger'> = {}): Promise<RunningServer> {
  return startServer({
    ...config,
    listen: '127.0.0.1:0',
    observer: NOOP_OBSERVER,
    observability: { health: false, reflection: false },
    // Its one caller is the local user, who can reach any address anyway.
    targetPolicy: false,
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
