// `prober serve`: the gRPC prober. startServer() wires health, reflection,
// per-RPC logs and metrics (+ the /metrics and /probe HTTP port); this
// command maps flags onto one ServerInput (resolveServerConfig checks it),
// logs where it listens and stops gracefully on
// the first SIGINT/SIGTERM (io.signal): health goes NOT_SERVING, running
// calls get --grace to finish, then are cancelled.
import { once } from 'node:events';
import { Command, InvalidArgumentError, Option, type OptionValues } from '@commander-js/extra-typings';
import {
  DEFAULT_GRACE_MS,
  DEFAULT_LISTEN,
  DEFAULT_MAX_ATTEMPTS_IN_FLIGHT,
  DEFAULT_MAX_CALLS,
  DEFAULT_MAX_ENDPOINTS,
  DEFAULT_SERIES_TTL_MS,
  DEFAULT_MAX_STREAMS_PER_CONNECTION,
  DEFAULT_METRICS_ADDR,
  parseListen,
  parseMetricsAddr,
  resolveServerConfig,
  type ServerInput,
  type ServerSettings,
  type SettingNames,
} from '../../server/config.js';
import { ConfigError, isConfigError } from '../../common/errors.js';
// Types only: pino, grpc-js and the server load when serve runs (see run.ts).
import type { Logger } from '../../server/logger.js';
import type { RunningServer } from '../../server/server.js';
import { isLoopbackHost } from '../../common/address.js';
import type { CommandContext } from '../context.js';
import { EXIT } from '../exit.js';
import { durationFlag, parseDuration, parsePositive } from '../options.js';

function parseListenFlag(value: string): string {
  try {
    parseListen(value);
    return value;
  } catch (err) {
    throw new InvalidArgumentError(err instanceof Error ? err.message.replace(/^listen /, '') : String(err));
  }
}

function parseMetricsAddrFlag(value: string): string {
  try {
    parseMetricsAddr(value);
    return value;
  } catch (err) {
    throw new InvalidArgumentError(err instanceof Error ? err.message.replace(/^metrics address /, '') : String(err));
  }
}

/** Attempts per second: a positive number, fractions allowed (0.5 = one every two seconds). */
function parseRate(value: string): number {
  const n = Number(value.trim());
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0)
    throw new InvalidArgumentError(`expected a positive number of attempts per second, got ${JSON.stringify(value)}`);
  return n;
}

function parseMaxTimeout(value: string): number {
  const ms = parseDuration(value, '--max-timeout');
  if (ms <= 0) throw new InvalidArgumentError('must be greater than 0');
  return ms;
}

/** The flags resolveServerConfig reads. */
interface ServeFlags {
  readonly region?: string | undefined;
  readonly listen: string;
  readonly logLevel?: string | undefined;
  readonly metricsAddr: string;
  readonly metricsListen?: string | undefined;
  readonly metrics: boolean;
  readonly metricsMaxEndpoints: number;
  readonly metricsSeriesTtl?: number | undefined;
  readonly maxRepetitions?: number | undefined;
  readonly maxConcurrency?: number | undefined;
  readonly maxTimeout?: number | undefined;
  readonly maxUrlBytes?: number | undefined;
  readonly maxCalls: number;
  readonly maxAttemptsInFlight: number;
  readonly maxStreamsPerConnection: number;
  readonly rateLimit?: number | undefined;
  readonly grace: number;
  readonly reflection: boolean;
  readonly tlsCert?: string | undefined;
  readonly tlsKey?: string | undefined;
  readonly tlsClientCa?: string | undefined;
  readonly authTokenFile?: string | undefined;
  readonly webConfig?: string | undefined;
  readonly allowTarget?: string[] | undefined;
  readonly denyTarget?: string[] | undefined;
  readonly denyPrivateTargets?: true | undefined;
  readonly allowProxies?: true | undefined;
  readonly config?: string | undefined;
  readonly check?: true | undefined;
}

/** Each setting serve maps, by the flag that sets it, so a ConfigError names the flag. */
const FLAG_NAMES: SettingNames = {
  region: '--region',
  listen: '--listen',
  graceMs: '--grace',
  'limits.maxRepetitions': '--max-repetitions',
  'limits.maxConcurrency': '--max-concurrency',
  'limits.maxTimeoutMs': '--max-timeout',
  'limits.maxUrlBytes': '--max-url-bytes',
  'admission.maxCalls': '--max-calls',
  'admission.maxAttemptsInFlight': '--max-attempts-in-flight',
  'admission.maxStreamsPerConnection': '--max-streams-per-connection',
  'admission.rateLimit': '--rate-limit',
  'observability.metrics.listen': '--metrics-addr',
  'observability.metrics.maxEndpoints': '--metrics-max-endpoints',
  'observability.metrics.seriesTtlMs': '--metrics-series-ttl',
  'tls.certFile': '--tls-cert',
  'tls.keyFile': '--tls-key',
  'tls.clientCaFile': '--tls-client-ca',
  'auth.tokenFile': '--auth-token-file',
  'observability.metrics.webConfigFile': '--web-config',
  'targetPolicy.allow': '--allow-target',
  'targetPolicy.deny': '--deny-target',
  configFile: '--config',
};

/** Repeatable flags; resolveServerConfig checks each CIDR and names the flag. */
function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** --tls-cert and --tls-key come together; --tls-client-ca needs them. */
function tlsInput(opts: ServeFlags): ServerInput['tls'] {
  const { tlsCert, tlsKey, tlsClientCa } = opts;
  if (tlsCert === undefined && tlsKey === undefined) {
    if (tlsClientCa !== undefined)
      throw new ConfigError('--tls-client-ca', '--tls-client-ca needs --tls-cert and --tls-key');
    return undefined;
  }
  if (tlsCert === undefined || tlsKey === undefined) {
    throw new ConfigError(
      tlsCert === undefined ? '--tls-key' : '--tls-cert',
      'TLS needs both --tls-cert and --tls-key',
    );
  }
  return { certFile: tlsCert, keyFile: tlsKey, ...(tlsClientCa !== undefined ? { clientCaFile: tlsClientCa } : {}) };
}

/** The one warning for a server anyone on the network may use; undefined when it is locked down or local. */
export function exposureWarning(settings: Pick<ServerSettings, 'listen' | 'tls' | 'auth'>): string | undefined {
  if (settings.tls !== undefined || settings.auth !== undefined || isLoopbackHost(settings.listen.host))
    return undefined;
  return (
    `gRPC on ${settings.listen.text} has neither TLS nor tokens: anyone who can reach it can make this server fetch any URL, ` +
    'internal ones included; lock it down with --auth-token-file and --tls-cert/--tls-key (or --listen 127.0.0.1:PORT)'
  );
}

/** Flags onto the one server input; resolveServerConfig checks and completes it. */
function serverInput(opts: ServeFlags, log: Logger): ServerInput {
  const tls = tlsInput(opts);
  return {
    ...(opts.region !== undefined ? { region: opts.region } : {}),
    listen: opts.listen,
    ...(tls !== undefined ? { tls } : {}),
    ...(opts.authTokenFile !== undefined ? { auth: { tokenFile: opts.authTokenFile } } : {}),
    limits: {
      ...(opts.maxRepetitions !== undefined ? { maxRepetitions: opts.maxRepetitions } : {}),
      ...(opts.maxConcurrency !== undefined ? { maxConcurrency: opts.maxConcurrency } : {}),
      ...(opts.maxTimeout !== undefined ? { maxTimeoutMs: opts.maxTimeout } : {}),
      ...(opts.maxUrlBytes !== undefined ? { maxUrlBytes: opts.maxUrlBytes } : {}),
    },
    admission: {
      maxCalls: opts.maxCalls,
      maxAttemptsInFlight: opts.maxAttemptsInFlight,
      maxStreamsPerConnection: opts.maxStreamsPerConnection,
      ...(opts.rateLimit !== undefined ? { rateLimit: opts.rateLimit } : {}),
    },
    graceMs: opts.grace,
    ...(opts.config !== undefined ? { configFile: opts.config } : {}),
    targetPolicy: {
      allow: opts.allowTarget ?? [],
      deny: opts.denyTarget ?? [],
      denyPrivate: opts.denyPrivateTargets === true,
    },
    ...(opts.allowProxies === true ? { allowProxies: true } : {}),
    // One logger: RPC lines, warnings, and (by default) unexpected errors.
    observability: {
      logger: log,
      metrics: {
        maxEndpoints: opts.metricsMaxEndpoints,
        ...(opts.metricsSeriesTtl !== undefined ? { seriesTtlMs: opts.metricsSeriesTtl } : {}),
        ...(opts.metrics ? { listen: opts.metricsListen ?? opts.metricsAddr } : {}),
        ...(opts.webConfig !== undefined ? { webConfigFile: opts.webConfig } : {}),
      },
      // Only --no-reflection disables it; a missing descriptor set is logged.
      ...(opts.reflection ? {} : { reflection: false }),
    },
  };
}

/**
 * SIGHUP: re-read the gRPC certificates and tokens, and --web-config (the
 * metrics port's certificates and users). A bad file is logged and the old
 * material kept; running calls and scrapes are not touched.
 */
function reloadOnHangup(running: RunningServer, log: Logger): () => void {
  const metrics = running.metrics;
  const onHup = (): void => {
    const r = running.reload();
    for (const err of r.errors) log.warn({ err: err.message }, 'reload failed; keeping the previous value');
    if (r.tls !== undefined || r.tokens !== undefined)
      log.info({ certificate: r.tls, tokens: r.tokens }, 'reloaded TLS certificate and tokens');
    // LiveConfig logs the --config file's outcome itself: 'config reloaded', or the refusal (r.configError).
    if (metrics?.webConfig === undefined) return;
    try {
      const web = metrics.reloadWebConfig();
      log.info({ web_config: web?.file }, 'web config reloaded');
    } catch (err) {
      log.error(
        { error: err instanceof Error ? err.message : String(err) },
        'web config not reloaded, keeping the previous one',
      );
    }
  };
  process.on('SIGHUP', onHup);
  return () => process.off('SIGHUP', onHup);
}

/** Where a server's requests may go: the target policy and proxies. */
function targetPolicyOptions<A extends unknown[], O extends OptionValues, G extends OptionValues>(
  cmd: Command<A, O, G>,
) {
  return cmd
    .option(
      '--allow-target <cidr>',
      'only let requests probe addresses in this range (repeatable); the most specific matching range decides',
      collect,
    )
    .option('--deny-target <cidr>', 'never probe addresses in this range (repeatable)', collect)
    .option(
      '--deny-private-targets',
      'never probe private, loopback, ULA or CGNAT addresses (10/8, 172.16/12, 192.168/16, 127/8, 100.64/10, ::1, fc00::/7)',
    )
    .option(
      '--allow-proxies',
      "let requests set proxy_url (probe through an HTTP proxy); the target policy then judges the proxy's address, not the endpoint's",
    );
}

export function serveCommand(ctx: CommandContext) {
  return targetPolicyOptions(
    new Command('serve')
      .description('run the prober gRPC server (Probe, ProbeStream, health, reflection, Prometheus metrics)')
      .option(
        '-l, --listen <host:port>',
        'gRPC address to listen on; port 0 picks a free one',
        parseListenFlag,
        DEFAULT_LISTEN,
      )
      .option(
        '--region <name>',
        'region this server reports in every summary and as the region label on /metrics (default: the host name)',
      )
      .option(
        '--metrics-addr <[host]:port>',
        'HTTP address for Prometheus metrics (/metrics) and blackbox-style probes (/probe); port 0 picks a free one',
        parseMetricsAddrFlag,
        DEFAULT_METRICS_ADDR,
      )
      // Earlier name of --metrics-addr, kept working.
      .addOption(new Option('--metrics-listen <host:port>').hideHelp().argParser(parseMetricsAddrFlag))
      .option('--no-metrics', 'do not open the metrics HTTP port')
      .option(
        '--web-config <file>',
        'TLS and basic auth for the metrics port, in the Prometheus exporter-toolkit web-config format; re-read on SIGHUP',
      )
      .option(
        '--metrics-max-endpoints <n>',
        'distinct endpoint label values in metrics; further endpoints are counted as endpoint="other"',
        parsePositive,
        DEFAULT_MAX_ENDPOINTS,
      )
      .option(
        '--metrics-series-ttl <duration>',
        `remove an endpoint's series from /metrics after this long without an attempt, e.g. 10m; 0 = never (default: ${DEFAULT_SERIES_TTL_MS / 60_000}m)`,
        durationFlag('--metrics-series-ttl'),
      )
      .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent (default: $PROBER_LOG_LEVEL or info)')
      .option('--max-repetitions <n>', 'largest repetitions a request may ask for (default 10000)', parsePositive)
      .option('--max-concurrency <n>', 'largest concurrency a request may ask for (default 100)', parsePositive)
      .option(
        '--max-timeout <duration>',
        'largest per-attempt timeout a request may ask for (default 60s)',
        parseMaxTimeout,
      )
      .option('--max-url-bytes <n>', 'longest endpoint URL a request may give, in bytes (default 8192)', parsePositive)
      .option(
        '--max-calls <n>',
        'Probe + ProbeStream calls running at once; more get RESOURCE_EXHAUSTED',
        parsePositive,
        DEFAULT_MAX_CALLS,
      )
      .option(
        '--max-attempts-in-flight <n>',
        "sum of the running calls' concurrency; a call that does not fit gets RESOURCE_EXHAUSTED",
        parsePositive,
        DEFAULT_MAX_ATTEMPTS_IN_FLIGHT,
      )
      .option(
        '--max-streams-per-connection <n>',
        'Probe + ProbeStream calls at once on one HTTP/2 connection; more get RESOURCE_EXHAUSTED',
        parsePositive,
        DEFAULT_MAX_STREAMS_PER_CONNECTION,
      )
      .option(
        '--rate-limit <n>',
        'attempts per second per client (token name, else address); new calls over it get RESOURCE_EXHAUSTED and running ones slow down (default: off)',
        parseRate,
      )
      .option(
        '--grace <duration>',
        'on shutdown, time running calls get to finish',
        durationFlag('--grace'),
        DEFAULT_GRACE_MS,
      )
      .option('--no-reflection', 'do not serve gRPC server reflection')
      .option('--tls-cert <file>', 'serve gRPC over TLS with this PEM certificate chain (re-read on SIGHUP)')
      .option('--tls-key <file>', 'PEM private key of --tls-cert (re-read on SIGHUP)')
      .option('--tls-client-ca <file>', 'require client certificates signed by this PEM CA (mTLS; re-read on SIGHUP)')
      .option(
        '--auth-token-file <file>',
        "require 'authorization: Bearer <token>' on every call but health; one token per line, '[name:] token' (re-read on SIGHUP)",
      ),
  )
    .option(
      '--config <file>',
      "YAML config: 'modules:' in blackbox_exporter's syntax (http modules) for /probe?module= and ProbeRequest.module; 'targets:' probed on the server's own schedule; re-read on SIGHUP and POST /-/reload",
    )
    .option('--check', 'validate the flags and --config, print a summary and exit (0: valid, 2: not) without serving')
    .action((opts) => runServe(ctx, opts));
}

/** What a config file gave, one line each, for --check and the start log. */
export function configSummary(settings: ServerSettings): string[] {
  const file = settings.configFile;
  const proxies =
    settings.limits.allowProxy === true
      ? "proxy_url: allowed (--allow-proxies); the target policy judges the proxy's address"
      : "proxy_url: refused (no --allow-proxies); a module's own proxy_url still applies";
  if (file === undefined) return ['no --config file given; built-in modules only', proxies];
  const names = Object.keys(file.modules);
  return [
    `${file.file}: ${names.length} http module(s) loaded${names.length > 0 ? `: ${names.join(', ')}` : ''}`,
    ...(file.unsupported.length > 0
      ? [
          `${file.unsupported.length} module(s) not supported: ${file.unsupported.map((u) => `${u.name} (${u.prober})`).join(', ')}`,
        ]
      : []),
    `modules available: ${Object.keys(settings.modules).join(', ')}`,
    proxies,
    `${file.targets.length} scheduled target(s)${file.targets.length > 0 ? `: ${file.targets.map((t) => `${t.name} (${t.module}, every ${t.intervalMs / 1000}s)`).join(', ')}` : ''}`,
    ...file.warnings.map((w) => `warning: ${w}`),
  ];
}

/** --check: resolve everything (files included) as a start would, print a summary, never bind. */
function checkConfig(ctx: CommandContext, opts: ServeFlags, log: Logger): void {
  const { io } = ctx;
  try {
    const settings = resolveServerConfig(serverInput(opts, log), { names: FLAG_NAMES });
    io.stdout.write(`${['SUCCESS: the configuration is valid', ...configSummary(settings)].join('\n')}\n`);
    ctx.exitCode = EXIT.OK;
  } catch (err) {
    io.stderr.write(`FAILED: ${err instanceof Error ? err.message : String(err)}\n`);
    ctx.exitCode = err instanceof ConfigError || isConfigError(err) ? EXIT.USAGE : EXIT.RPC;
  }
}

/** The serve action: start from one resolved config, log where it listens, stop gracefully. */
async function runServe(ctx: CommandContext, opts: ServeFlags): Promise<void> {
  const { io } = ctx;
  const [{ createLogger }, { startServer }, { exitCodeForStartup }] = await Promise.all([
    import('../../server/logger.js'),
    import('../../server/server.js'),
    import('../outcome.js'),
  ]);
  let log: Logger;
  try {
    log = createLogger({
      level: opts.logLevel,
      env: io.env as NodeJS.ProcessEnv,
      pretty: io.stdout.isTTY === true,
      destination: io.stdout,
    });
  } catch (err) {
    io.stderr.write(`prober serve: --log-level: ${err instanceof Error ? err.message : String(err)}\n`);
    ctx.exitCode = EXIT.USAGE;
    return;
  }

  if (opts.check) {
    checkConfig(ctx, opts, log);
    return;
  }
  let running: RunningServer;
  let settings: ServerSettings;
  try {
    settings = resolveServerConfig(serverInput(opts, log), { names: FLAG_NAMES });
    for (const w of settings.configFile?.warnings ?? []) log.warn({ config: settings.configFile?.file }, w);
    running = await startServer(settings);
  } catch (err) {
    io.stderr.write(`prober serve: cannot start: ${err instanceof Error ? err.message : String(err)}\n`);
    ctx.exitCode = exitCodeForStartup(err);
    return;
  }
  const warning = exposureWarning(settings);
  if (warning !== undefined) log.warn({ listen: settings.listen.text }, warning);
  const stopReload = reloadOnHangup(running, log);
  const metricsUrl = running.metrics?.url;
  log.info(
    {
      address: running.address,
      metrics: metricsUrl,
      reflection: opts.reflection,
      tls:
        settings.tls === undefined
          ? false
          : { ...settings.tls.material.describe, mtls: opts.tlsClientCa !== undefined },
      tokens: settings.auth?.tokens.entries.length ?? 0,
    },
    `prober listening on ${running.address}${metricsUrl !== undefined ? `, metrics on ${metricsUrl}/metrics` : ''}`,
  );

  const signal = io.signal;
  if (signal === undefined)
    await new Promise<never>(() => undefined); // nothing can stop us: serve forever
  else if (!signal.aborted) await once(signal, 'abort');
  stopReload();
  log.info({ grace_ms: opts.grace }, 'shutting down');
  await running.close();
  log.info('server stopped');
  ctx.exitCode = EXIT.OK;
}
