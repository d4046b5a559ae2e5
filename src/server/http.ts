// The HTTP side port (default :9464): /metrics for Prometheus, /probe for the
// blackbox-style multi-target pattern, /-/healthy for liveness.
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Registry } from 'prom-client';
import type { Logger } from 'pino';
import { isPolicyDeniedError } from '../probe/policy.js';
import type { ProbeLimits } from '../probe/types.js';
import { formatHostPort } from '../common/address.js';
import { ConfigError } from '../common/errors.js';
import {
  BlackboxRequestError,
  blackboxRegistry,
  blackboxDebugOutput,
  runBlackboxProbe,
  SCRAPE_TIMEOUT_HEADER,
} from './blackbox.js';
import {
  resolveLimits,
  resolveMetricsHttp,
  resolveTargetPolicy,
  type BlackboxInput,
  type ListenAddress,
  type MetricsHttpSettings,
  type ProbeEndpointSettings,
} from './config.js';
import { createBasicAuth } from './basic-auth.js';
import { loadWebConfig, secureContextOptions, type WebConfig, type WebTlsSettings } from './web-config.js';
import { redactUrl } from '../common/redact.js';
import type { ModuleTable } from './modules.js';

export { DEFAULT_MAX_CONCURRENT_PROBES, DEFAULT_METRICS_ADDR, parseMetricsAddr } from './config.js';

/** startMetricsServer's input, for a metrics port without a gRPC server (tests, embedding). */
export interface MetricsServerOptions {
  /** Default ":9464". Port 0 picks a free port. */
  readonly listen?: string;
  readonly registry: Registry;
  /** Serve /probe (default true) with the same limits as the gRPC API. */
  readonly probe?: boolean;
  /** Default DEFAULT_LIMITS. */
  readonly limits?: Partial<ProbeLimits>;
  readonly blackbox?: BlackboxInput;
  /** /probe requests running at once; more get 503. */
  readonly maxConcurrentProbes?: number;
  /** exporter-toolkit web config file: TLS, basic auth, headers. */
  readonly webConfigFile?: string;
  readonly logger?: Logger;
}

export interface RunningMetricsServer {
  readonly address: string;
  readonly port: number;
  /** http://… or, with TLS from the web config, https://… */
  readonly url: string;
  /**
   * Re-reads the web config file (certificates, users, headers): new
   * connections and requests use it, running ones finish as they were. On a
   * bad file it throws ConfigError and the previous config stays.
   */
  reloadWebConfig(): WebConfig | undefined;
  /** The web config in use; undefined: none given. */
  readonly webConfig: WebConfig | undefined;
  /** Modules /probe may name from now on (a config reload). */
  setModules(modules: ModuleTable): void;
  /**
   * Serves `POST /-/reload` (Prometheus's lifecycle endpoint): `reload`
   * resolves on success (200) and rejects with the reason on a refused
   * config (500, the reason as the body). Unset: /-/reload is 404.
   */
  onReload(reload: () => Promise<void>): void;
  close(): Promise<void>;
}

const TEXT = 'text/plain; charset=utf-8';

function send(
  res: http.ServerResponse,
  status: number,
  body: string,
  type = TEXT,
  headers: http.OutgoingHttpHeaders = {},
): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function indexPage(probe: ProbeEndpointSettings | undefined): string {
  const modules = Object.entries(probe?.modules ?? {})
    .map(([name, m]) => `  ${name}: ${m.description}`)
    .join('\n');
  return [
    'prober metrics endpoint',
    '',
    '/metrics            Prometheus metrics of this server',
    probe ? '/probe?target=URL[&module=NAME]   one fresh probe, blackbox_exporter metric names' : '',
    '/-/healthy          liveness',
    '/-/reload           POST: re-read the --config file (modules, targets)',
    '',
    probe ? `modules:\n${modules}` : '',
    '',
  ].join('\n');
}

/** Resolves `options` the way resolveServerConfig does, then serves them. */
export function startMetricsServer(options: MetricsServerOptions): Promise<RunningMetricsServer> {
  const settings = resolveMetricsHttp(options, resolveLimits(options.limits), undefined, resolveTargetPolicy({}));
  return serveMetrics(settings, options.registry, options.logger);
}

/** What a config reload swaps under a running metrics port. */
interface Live {
  modules: ModuleTable | undefined;
  reload: (() => Promise<void>) | undefined;
}

/** /probe with a cap on probes running at once. */
function probeHandler(initial: ProbeEndpointSettings, live: Live, logger: Logger | undefined) {
  const maxProbes = initial.maxConcurrent;
  let probesRunning = 0;
  return async (req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> => {
    if (probesRunning >= maxProbes) {
      send(res, 503, `too many concurrent probes (limit ${maxProbes})\n`, TEXT, { 'retry-after': '1' });
      return;
    }
    probesRunning++;
    // Prometheus gave up (scrape timeout) or the client left: stop probing.
    const ac = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) ac.abort();
    });
    try {
      const header = req.headers[SCRAPE_TIMEOUT_HEADER];
      const result = await runBlackboxProbe(
        {
          target: url.searchParams.get('target'),
          module: url.searchParams.get('module'),
          scrapeTimeoutHeader: Array.isArray(header) ? header[0] : header,
          signal: ac.signal,
        },
        live.modules === undefined ? initial : { ...initial, modules: live.modules },
      );
      const reg = blackboxRegistry(result);
      // debug=true: the log, the metrics and the module as text, as blackbox answers it.
      const debug = url.searchParams.get('debug') === 'true';
      const body = debug ? await blackboxDebugOutput(result, reg) : await reg.metrics();
      logger?.debug(
        {
          target: redactUrl(result.endpoint),
          module: result.module,
          success: result.success,
          ...(result.attempt.error ? { reason: result.attempt.error.reason, error: result.attempt.error.message } : {}),
          duration_ms: Math.round(result.durationSeconds * 1e6) / 1e3,
        },
        'probe',
      );
      send(res, 200, body, debug ? TEXT : reg.contentType);
    } catch (err) {
      if (err instanceof BlackboxRequestError) {
        logger?.debug({ field: err.field, error: err.message }, 'probe rejected');
        send(res, 400, `${err.message}\n`);
        return;
      }
      if (isPolicyDeniedError(err)) {
        logger?.debug({ rule: err.rule, address: err.address }, 'probe denied by the target policy');
        send(res, 403, `${err.message}\n`);
        return;
      }
      throw err;
    } finally {
      probesRunning--;
    }
  };
}

/** POST /-/reload as Prometheus answers it: 200, or 500 with the reason; other methods 405. */
function reloadHandler(live: Live, logger: Logger | undefined): http.RequestListener {
  return (req, res) => {
    const reload = live.reload;
    if (reload === undefined) {
      send(res, 404, 'not found: /-/reload (the server has no --config file to reload)\n');
      return;
    }
    if (req.method !== 'POST' && req.method !== 'PUT') {
      send(res, 405, 'Only POST or PUT requests allowed\n', TEXT, { allow: 'POST, PUT' });
      return;
    }
    reload().then(
      () => send(res, 200, ''),
      (err: unknown) => {
        logger?.debug({ err: err instanceof Error ? err.message : String(err) }, 'reload via /-/reload refused');
        send(res, 500, `failed to reload config: ${err instanceof Error ? err.message : String(err)}\n`);
      },
    );
  };
}

function requestHandler(
  settings: MetricsHttpSettings,
  registry: Registry,
  logger: Logger | undefined,
  live: Live,
): http.RequestListener {
  const handleProbe = settings.probe ? probeHandler(settings.probe, live, logger) : undefined;
  const handleReload = reloadHandler(live, logger);
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/-/reload') {
      handleReload(req, res);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'method not allowed: use GET\n', TEXT, { allow: 'GET, HEAD' });
      return;
    }
    const route = async (): Promise<void> => {
      switch (url.pathname) {
        case '/metrics':
          send(res, 200, await registry.metrics(), registry.contentType);
          return;
        case '/probe':
          if (!handleProbe) break;
          await handleProbe(req, res, url);
          return;
        case '/-/healthy':
          send(res, 200, 'OK\n');
          return;
        case '/':
          send(
            res,
            200,
            indexPage(settings.probe && live.modules ? { ...settings.probe, modules: live.modules } : settings.probe),
          );
          return;
      }
      send(res, 404, `not found: ${url.pathname} (try /metrics)\n`);
    };
    route().catch((err: unknown) => {
      logger?.error({ err, path: url.pathname }, 'metrics endpoint failed');
      if (!res.headersSent) send(res, 500, 'internal error\n');
      else res.destroy();
    });
  };
}

/**
 * Basic auth and headers from the web config, in front of every path
 * (/metrics, /probe, /-/healthy), as exporter-toolkit wraps the whole handler.
 * `current` is read per request, so a reload applies to the next one.
 */
function webGuard(
  current: () => WebConfig | undefined,
  inner: http.RequestListener,
  logger: Logger | undefined,
): http.RequestListener {
  const auth = createBasicAuth();
  return (req, res) => {
    const web = current();
    for (const [name, value] of Object.entries(web?.headers ?? {})) res.setHeader(name, value);
    if (web === undefined || web.users.size === 0) {
      inner(req, res);
      return;
    }
    auth.check(web.users, req.headers.authorization).then(
      (verdict) => {
        if (verdict === 'ok') return inner(req, res);
        if (verdict === 'busy') {
          send(res, 503, 'too many authentication checks in progress\n', TEXT, { 'retry-after': '1' });
          return;
        }
        // Path only: a /probe query may carry credentials of its own.
        logger?.debug({ path: (req.url ?? '/').split('?')[0], peer: req.socket.remoteAddress }, 'unauthorized');
        send(res, 401, 'Unauthorized\n', TEXT, { 'www-authenticate': 'Basic' });
      },
      (err: unknown) => {
        logger?.error({ err }, 'basic auth check failed');
        if (!res.headersSent) send(res, 500, 'internal error\n');
      },
    );
  };
}

/** "DNS:a.example, IP Address:127.0.0.1, URI:spiffe://x" -> the values. */
function subjectAltNames(text: string | undefined): string[] {
  return (text ?? '')
    .split(', ')
    .map((entry) => entry.slice(entry.indexOf(':') + 1))
    .filter((v) => v !== '');
}

/** Client certificate rules the handshake itself does not enforce in Node; undefined: accepted. */
export function clientCertProblem(socket: TLSSocket, t: WebTlsSettings): string | undefined {
  if (t.clientAuth === 'NoClientCert' || t.clientAuth === 'RequestClientCert') return undefined;
  const cert = socket.getPeerCertificate();
  const given = cert !== null && Object.keys(cert).length > 0;
  if (!given) return t.clientAuth === 'VerifyClientCertIfGiven' ? undefined : 'no client certificate';
  if (t.clientAuth !== 'RequireAnyClientCert' && !socket.authorized)
    return `client certificate not trusted (${String(socket.authorizationError)})`;
  const allowed = t.clientAllowedSans;
  if (allowed !== undefined && !subjectAltNames(cert.subjectaltname).some((san) => allowed.includes(san)))
    return 'client certificate has none of client_allowed_sans';
  return undefined;
}

function applyTls(server: https.Server, t: WebTlsSettings): void {
  const options = secureContextOptions(t);
  server.setSecureContext(options);
  // Read per connection by node:tls; set here too so a reload can change the client auth type.
  Object.assign(server, { requestCert: options.requestCert, rejectUnauthorized: options.rejectUnauthorized });
}

function createWebServer(
  web: () => WebConfig | undefined,
  handler: http.RequestListener,
  logger: Logger | undefined,
): http.Server {
  const tls = web()?.tls;
  if (tls === undefined) return http.createServer(handler);
  const server = https.createServer(secureContextOptions(tls), handler);
  // Before the HTTP layer sees the connection: refused clients send no request.
  server.prependListener('secureConnection', (socket: TLSSocket) => {
    const current = web()?.tls;
    const problem = current && clientCertProblem(socket, current);
    if (problem === undefined) return;
    logger?.debug({ peer: socket.remoteAddress, problem }, 'metrics port refused a client certificate');
    socket.destroy();
  });
  server.on('tlsClientError', (err) => logger?.debug({ err: err.message }, 'metrics port TLS handshake failed'));
  return server;
}

function listen(server: http.Server, at: ListenAddress): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      reject(new Error(`cannot listen on metrics address ${at.text}: ${err.message}`));
    };
    server.once('error', onError);
    server.listen(at.port, at.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** The metrics port from resolved settings (see resolveServerConfig). */
export async function serveMetrics(
  settings: MetricsHttpSettings,
  registry: Registry,
  logger?: Logger,
): Promise<RunningMetricsServer> {
  let web = settings.web;
  const current = (): WebConfig | undefined => web;
  const live: Live = { modules: undefined, reload: undefined };
  const server = createWebServer(
    current,
    webGuard(current, requestHandler(settings, registry, logger, live), logger),
    logger,
  );
  for (const warning of web?.warnings ?? []) logger?.warn({ web_config: web?.file }, warning);
  await listen(server, settings.listen);
  server.on('error', (err) => logger?.error({ err }, 'metrics server error'));
  const { port } = server.address() as AddressInfo;
  const { host } = settings.listen;
  settings.targetPolicy?.addListener('metrics listener', host, port);
  // All interfaces: the URL points at loopback, which is among them.
  const urlHost = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;

  let closing: Promise<void> | undefined;
  return {
    address: formatHostPort(host, port),
    port,
    url: `${web?.tls ? 'https' : 'http'}://${formatHostPort(urlHost, port)}`,
    get webConfig() {
      return web;
    },
    setModules(modules) {
      live.modules = modules;
    },
    onReload(reload) {
      live.reload = reload;
    },
    reloadWebConfig() {
      if (web === undefined) return undefined;
      const next = loadWebConfig(web.file, web.option);
      if ((next.tls === undefined) !== (web.tls === undefined))
        throw new ConfigError(web.option, `${web.file}: TLS can not be turned on or off by a reload; restart prober`);
      if (next.tls) applyTls(server as https.Server, next.tls);
      for (const warning of next.warnings) logger?.warn({ web_config: next.file }, warning);
      web = next;
      return next;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Prometheus keeps connections alive; do not wait for them.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
