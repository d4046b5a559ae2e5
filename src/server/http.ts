// The HTTP side port (default :9464): /metrics for Prometheus, /probe for the
// blackbox-style multi-target pattern, /-/healthy for liveness.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from 'pino';
import { DEFAULT_LIMITS } from '../probe/index.js';
import type { ProbeLimits } from '../probe/types.js';
import { formatHostPort, splitHostPort } from '../common/address.js';
import {
  BLACKBOX_MODULES,
  BlackboxRequestError,
  blackboxRegistry,
  runBlackboxProbe,
  SCRAPE_TIMEOUT_HEADER,
  type BlackboxOptions,
} from './blackbox.js';

export const DEFAULT_METRICS_ADDR = ':9464';
export const DEFAULT_MAX_CONCURRENT_PROBES = 100;

/** "host:port", "[v6]:port" or ":port" (all interfaces), as Prometheus exporters take it. */
export function parseMetricsAddr(addr: string): { host: string; port: number } {
  const hp = splitHostPort(addr);
  if (hp === undefined) {
    throw new RangeError(`metrics address must be [host]:port with port 0..65535, e.g. :9464 or 127.0.0.1:9464 (got ${JSON.stringify(addr)})`);
  }
  return { host: hp.host ?? '0.0.0.0', port: hp.port };
}

export interface MetricsServerOptions {
  /** Default ":9464". Port 0 picks a free port. */
  readonly listen?: string;
  readonly registry: Registry;
  /** Serve /probe (default true) with the same limits as the gRPC API. */
  readonly probe?: boolean;
  readonly limits?: ProbeLimits;
  readonly blackbox?: Omit<BlackboxOptions, 'limits'>;
  /** /probe requests running at once; more get 503. */
  readonly maxConcurrentProbes?: number;
  readonly logger?: Logger;
}

export interface RunningMetricsServer {
  readonly address: string;
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

const TEXT = 'text/plain; charset=utf-8';

function send(res: http.ServerResponse, status: number, body: string, type = TEXT, headers: http.OutgoingHttpHeaders = {}): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function indexPage(probe: boolean): string {
  const modules = Object.entries(BLACKBOX_MODULES)
    .map(([name, m]) => `  ${name}: ${m.description}`)
    .join('\n');
  return [
    'prober metrics endpoint',
    '',
    '/metrics            Prometheus metrics of this server',
    probe ? '/probe?target=URL[&module=NAME]   one fresh probe, blackbox_exporter metric names' : '',
    '/-/healthy          liveness',
    '',
    probe ? `modules:\n${modules}` : '',
    '',
  ].join('\n');
}

export async function startMetricsServer(options: MetricsServerOptions): Promise<RunningMetricsServer> {
  const { host, port: wantedPort } = parseMetricsAddr(options.listen ?? DEFAULT_METRICS_ADDR);
  const { registry, logger } = options;
  const probeEnabled = options.probe ?? true;
  const limits = options.limits ?? DEFAULT_LIMITS;
  const maxProbes = options.maxConcurrentProbes ?? DEFAULT_MAX_CONCURRENT_PROBES;
  let probesRunning = 0;

  const handleProbe = async (req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> => {
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
        { ...options.blackbox, limits },
      );
      const reg = blackboxRegistry(result);
      const body = await reg.metrics();
      logger?.debug(
        {
          target: result.endpoint,
          module: result.module,
          success: result.success,
          ...(result.attempt.error ? { reason: result.attempt.error.reason, error: result.attempt.error.message } : {}),
          duration_ms: Math.round(result.durationSeconds * 1e6) / 1e3,
        },
        'probe',
      );
      send(res, 200, body, reg.contentType);
    } catch (err) {
      if (err instanceof BlackboxRequestError) {
        logger?.debug({ field: err.field, error: err.message }, 'probe rejected');
        send(res, 400, `${err.message}\n`);
        return;
      }
      throw err;
    } finally {
      probesRunning--;
    }
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
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
          if (!probeEnabled) break;
          await handleProbe(req, res, url);
          return;
        case '/-/healthy':
          send(res, 200, 'OK\n');
          return;
        case '/':
          send(res, 200, indexPage(probeEnabled));
          return;
      }
      send(res, 404, `not found: ${url.pathname} (try /metrics)\n`);
    };
    route().catch((err: unknown) => {
      logger?.error({ err, path: url.pathname }, 'metrics endpoint failed');
      if (!res.headersSent) send(res, 500, 'internal error\n');
      else res.destroy();
    });
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      reject(new Error(`cannot listen on metrics address ${options.listen ?? DEFAULT_METRICS_ADDR}: ${err.message}`));
    };
    server.once('error', onError);
    server.listen(wantedPort, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (err) => logger?.error({ err }, 'metrics server error'));
  const { port } = server.address() as AddressInfo;
  // All interfaces: the URL points at loopback, which is among them.
  const urlHost = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;

  let closing: Promise<void> | undefined;
  return {
    address: formatHostPort(host, port),
    port,
    url: `http://${formatHostPort(urlHost, port)}`,
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
