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
import { warmUp } from '../probe/index.js';
import { ProberService, type RunProbesFn } from './service.js';
import { TokenAuth } from './auth.js';
import { Admission } from './admission.js';
import { ReloadableCertificates, type TlsMaterial } from './tls.js';
import type { ErrorLogger } from './status.js';
import type { ConfigReload, LiveConfig } from './live-config.js';

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
  /**
   * Re-reads the TLS files, the token file and the --config file (SIGHUP).
   * Each part that fails keeps what it had; established connections and
   * running calls go on.
   */
  reload(): ReloadResult;
  /**
   * Re-reads the --config file only (POST /-/reload): resolves once its
   * targets are swapped; rejects with the ConfigError of a refused file (the
   * old config keeps running). Rejects when the server has no --config.
   */
  reloadConfig(): Promise<ConfigReload>;
  /** Names of the scheduled targets running now (empty without --config). */
  targets(): string[];
  /**
   * Stop accepting calls, let running ones finish for `graceMs` (default: the
   * settings'); a margin before it ends, calls still running stop launching
   * and send their summary marked `shutdown` (streams then end UNAVAILABLE);
   * whatever still runs at the end is cancelled. Idempotent.
   */
  close(graceMs?: number): Promise<void>;
}

export interface ReloadResult {
  /** The certificate now served, when TLS is on and its files were good. */
  readonly tls?: TlsMaterial['describe'];
  /** Tokens now accepted, when tokens are on and the file was good. */
  readonly tokens?: number;
  /** The --config file now in use, when one was given and it was good (its targets swap in the background). */
  readonly config?: string;
  /** What could not be reloaded (ConfigError messages naming the option); those parts kept their old values. */
  readonly errors: readonly Error[];
  /** Why the --config file was refused (it keeps its old value); the server has logged it already. */
  readonly configError?: Error;
}

/** TLS credentials watching `certs`, so a reload reaches the bound listener. */
function tlsCredentials(certs: ReloadableCertificates): grpc.ServerCredentials {
  // grpc-js names the first parameter caCertificateProvider, but its
  // constructor takes it as the identity provider and the second as the CA one.
  return grpc.experimental.createCertificateProviderServerCredentials(
    certs,
    certs.requiresClientCertificate ? certs : null,
    certs.requiresClientCertificate,
  );
}

function reloader(
  certs: ReloadableCertificates | undefined,
  auth: TokenAuth | undefined,
  live: LiveConfig | undefined,
): () => ReloadResult {
  return () => {
    const errors: Error[] = [];
    const attempt = <T>(fn: () => T): T | undefined => {
      try {
        return fn();
      } catch (err) {
        errors.push(err instanceof Error ? err : new Error(String(err)));
        return undefined;
      }
    };
    const tls = certs && attempt(() => certs.reload().describe);
    const tokens = auth && attempt(() => auth.reload());
    let config: string | undefined;
    let configError: Error | undefined;
    try {
      const r = live?.reload();
      r?.targets.catch(() => {}); // logged by LiveConfig; SIGHUP has no one to answer
      config = r?.file.file;
    } catch (err) {
      configError = err instanceof Error ? err : new Error(String(err));
    }
    return {
      ...(tls ? { tls } : {}),
      ...(tokens !== undefined ? { tokens } : {}),
      ...(config !== undefined ? { config } : {}),
      ...(configError !== undefined ? { configError } : {}),
      errors,
    };
  };
}

/**
 * Starts a server from an input (resolved here; a bad setting throws
 * ConfigError before anything binds) or from settings resolved earlier.
 */
export async function startServer(config: ServerInput | ServerSettings = {}): Promise<RunningServer> {
  const settings = isServerSettings(config) ? config : resolveServerConfig(config);
  // The engine's thread starts (and warms up) while the gRPC side loads.
  const starting = startEngine(settings);
  let obs: Observability;
  try {
    obs = await observability(settings);
  } catch (err) {
    void starting.then(
      (e) => e.close(),
      () => {},
    );
    throw err;
  }
  const engine = await starting;
  const auth = settings.auth && new TokenAuth(settings.auth);
  const tls = settings.tls && new ReloadableCertificates(settings.tls.files, settings.tls.names, settings.tls.material);
  const server = new grpc.Server({
    ...settings.grpc.options,
    // grpc-js nests later interceptors inside earlier ones: the log line sees auth's refusals.
    interceptors: [
      ...obs.interceptors,
      ...(auth ? [auth.interceptor()] : []),
      ...(settings.grpc.options.interceptors ?? []),
    ],
  });
  const service = new ProberService({
    limits: settings.limits,
    region: settings.region,
    modules: settings.modules,
    observer: settings.observer ?? obs.observer ?? NOOP_OBSERVER,
    logger: settings.errorLogger,
    ...(settings.deadlineMarginMs !== undefined ? { deadlineMarginMs: settings.deadlineMarginMs } : {}),
    ...(engine.runProbes ? { runProbes: engine.runProbes } : {}),
    ...(settings.targetPolicy ? { targetPolicy: settings.targetPolicy } : {}),
    admission: new Admission(settings.admission),
  });
  service.addToServer(server);
  obs.addToServer(server);
  const cleanups = installServices(server, settings.grpc.services);
  cleanups.push(engine.close);

  let port: number;
  let metrics: RunningMetricsServer | undefined;
  try {
    port = await bind(server, settings, tls && tlsCredentials(tls));
    settings.targetPolicy?.addListener('gRPC listener', settings.listen.host, port);
    metrics = await obs.start(); // metrics port, then health SERVING
  } catch (err) {
    server.forceShutdown();
    await engine.close();
    throw err;
  }
  // Scheduled targets start once every listener is bound (the policy knows them all).
  const live = await startLiveConfig(settings, service, metrics, obs.registry, engine.runProbes);
  const close = closer(server, service, obs, cleanups, settings);
  return {
    address: formatHostPort(settings.listen.host, port),
    port,
    server,
    service,
    reload: reloader(tls, auth, live),
    reloadConfig: () =>
      live ? live.reloadAndWait() : Promise.reject(new Error('the server was started without a --config file')),
    targets: () => live?.targetNames() ?? [],
    close: async (graceMs) => {
      await live?.close();
      return close(graceMs);
    },
    ...(metrics ? { metrics } : {}),
    ...(obs.registry ? { registry: obs.registry } : {}),
  };
}

/** The --config file's targets and its reloads (SIGHUP, POST /-/reload on the metrics port). */
async function startLiveConfig(
  settings: ServerSettings,
  service: ProberService,
  metrics: RunningMetricsServer | undefined,
  registry: Registry | undefined,
  runProbes: RunProbesFn | undefined,
): Promise<LiveConfig | undefined> {
  if (settings.configFile === undefined) return undefined;
  const { LiveConfig } = await import('./live-config.js');
  const live = await LiveConfig.start({
    settings,
    sinks: metrics ? [service, metrics] : [service],
    runProbes,
    registry,
  });
  metrics?.onReload(async () => {
    await live.reloadAndWait();
  });
  return live;
}

interface StartedEngine {
  /** undefined: the service's default, the engine on this thread. */
  readonly runProbes: RunProbesFn | undefined;
  readonly close: () => Promise<void>;
}

/** The engine on its own thread, or warmed up here when it runs inline. */
async function startEngine(settings: ServerSettings): Promise<StartedEngine> {
  if (settings.engine === 'inline') {
    if (settings.warmUpAttempts > 0) await warmUp(settings.warmUpAttempts);
    return { runProbes: undefined, close: () => Promise.resolve() };
  }
  const { startEngineThread } = await import('./engine-thread.js');
  const thread = await startEngineThread({ warmUpAttempts: settings.warmUpAttempts, logger: settings.errorLogger });
  return { runProbes: thread.runProbes, close: thread.close };
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

function bind(server: grpc.Server, settings: ServerSettings, tls: grpc.ServerCredentials | undefined): Promise<number> {
  const { host, port } = settings.listen;
  const credentials = tls ?? settings.grpc.credentials ?? grpc.ServerCredentials.createInsecure();
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
  service: ProberService,
  obs: Observability,
  cleanups: Cleanup[],
  settings: ServerSettings,
): RunningServer['close'] {
  const log: ErrorLogger = settings.errorLogger;
  let closing: Promise<void> | undefined;
  return (graceMs = settings.graceMs) => {
    closing ??= (async () => {
      obs.draining(); // health NOT_SERVING while calls drain
      // Calls wind down inside the grace, so each gets its summary before forceShutdown.
      service.shutdown(graceMs);
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

/**
 * Warm-up of the embedded server: start-up counts here (`probe URL -n 1`), so
 * fewer attempts than a long-running server's, for attempt #1 within ~1.1x of
 * the rest at ~40 ms.
 */
export const EMBEDDED_WARM_UP_ATTEMPTS = 20;

/**
 * The CLI/TUI's one-command mode: loopback, free port, no metrics. The engine
 * runs inline: the one caller's own work never overlaps a timed window (the
 * scheduler launches after it), `watch` already puts this whole server on a
 * thread of its own, and a worker would add its start-up to every command.
 */
export function startEmbeddedServer(
  config: Pick<ServerInput, 'limits' | 'logger' | 'engine' | 'warmUp'> = {},
): Promise<RunningServer> {
  return startServer({
    engine: 'inline',
    warmUp: EMBEDDED_WARM_UP_ATTEMPTS,
    ...config,
    listen: '127.0.0.1:0',
    observer: NOOP_OBSERVER,
    observability: { health: false, reflection: false },
    // Its one caller is the local user, who can reach any address anyway (and is the operator: proxies too).
    targetPolicy: false,
    allowProxies: true,
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
