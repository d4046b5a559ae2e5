// Local HTTP targets for tests: 127.0.0.1, port 0, never the internet.
// Behaviour is chosen by path:
//   /ok                      200, small body
//   /status/NNN              status NNN
//   /delay/MS                200 after MS milliseconds
//   /hang                    accepts, never answers
//   /reset                   destroys the socket without answering
//   /garbage                 writes bytes that are not HTTP, then closes
//   /slow-body?chunks=N&every=MS   200, N chunks MS apart
//   /big?bytes=N             200 with an N-byte body
//   /echo                    200, JSON {method, headers (raw pairs), body}, with
//                            x-echo-method: <method>
//   /redirect/N              302 to /redirect/N-1 (relative Location); /redirect/0 is /ok's 200
//                            (?status=303|307|... picks the redirect status for every hop)
//   /redirect-loop           302 to itself
//   /redirect-to?url=U&status=S   S (default 302) with Location U
//   /mixed                   by request count: every 40th 200 after 300 ms,
//                            every 5th 503 after 2 ms, else 200 after 2 ms
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { once } from 'node:events';

/** A status Node can send (100-999), else `fallback`: the fuzz test sends /status/anything. */
function statusOf(text: string | undefined, fallback: number): number {
  const n = Number(text);
  return Number.isInteger(n) && n >= 100 && n <= 999 ? n : fallback;
}

export interface Target {
  readonly url: string;
  readonly port: number;
  /** Requests received, by path (without query). */
  readonly hits: Map<string, number>;
  /** Total requests received. */
  requests(): number;
  /** Requests whose client went away before the response finished. */
  clientAborts(): number;
  /** TCP connections accepted / closed so far. */
  connections(): { opened: number; closed: number };
  /** Resolves when `n` client aborts have been seen (or rejects after ms). */
  waitForClientAborts(n: number, ms?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startTarget(): Promise<Target> {
  const hits = new Map<string, number>();
  const sockets = new Set<Socket>();
  let total = 0;
  let aborts = 0;
  let opened = 0;
  let closed = 0;
  const abortWaiters: Array<() => void> = [];
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void): NodeJS.Timeout => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
    return t;
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    total++;
    const key = path.replace(/\/\d+$/, '/:n');
    hits.set(key, (hits.get(key) ?? 0) + 1);
    res.on('close', () => {
      if (!res.writableFinished) {
        aborts++;
        for (const w of abortWaiters.splice(0)) w();
      }
    });

    const [, first, arg] = path.split('/');
    switch (first) {
      case 'ok':
        res.end('ok\n');
        return;
      case 'status':
        res.statusCode = statusOf(arg, 400);
        res.end(`status ${arg}\n`);
        return;
      case 'delay': {
        const t = later(Number(arg), () => res.end('late\n'));
        // A client that left must not leave a timer behind (leak tests count them).
        res.on('close', () => {
          clearTimeout(t);
          timers.delete(t);
        });
        return;
      }
      case 'mixed': {
        const n = hits.get(key)!;
        if (n % 5 === 0 && n % 40 !== 0) res.statusCode = 503;
        const t = later(n % 40 === 0 ? 300 : 2, () => res.end('mixed\n'));
        res.on('close', () => {
          clearTimeout(t);
          timers.delete(t);
        });
        return;
      }
      case 'echo': {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          res.writeHead(200, { 'content-type': 'application/json', 'x-echo-method': req.method ?? '' });
          res.end(
            req.method === 'HEAD' ? undefined : JSON.stringify({ method: req.method, headers: req.rawHeaders, body }),
          );
        });
        return;
      }
      case 'redirect': {
        const n = Number(arg);
        const status = url.searchParams.get('status') ?? '302';
        if (n <= 0) {
          res.end('ok\n');
          return;
        }
        res.writeHead(statusOf(status, 302), { location: `${n - 1}${url.search}` });
        res.end('redirect\n');
        return;
      }
      case 'redirect-loop':
        res.writeHead(302, { location: '/redirect-loop' });
        res.end();
        return;
      case 'redirect-to':
        res.writeHead(statusOf(url.searchParams.get('status') ?? undefined, 302), {
          location: url.searchParams.get('url') ?? '/',
        });
        res.end();
        return;
      case 'hang':
        return;
      case 'reset':
        req.socket.destroy();
        return;
      case 'garbage':
        req.socket.end('SSH-2.0-not-http\r\n\r\n');
        return;
      case 'slow-body': {
        const chunks = Number(url.searchParams.get('chunks') ?? 5);
        const every = Number(url.searchParams.get('every') ?? 50);
        res.writeHead(200, { 'content-type': 'text/plain' });
        let sent = 0;
        const tick = (): void => {
          if (res.destroyed) return;
          res.write('x'.repeat(100));
          if (++sent >= chunks) res.end();
          else later(every, tick);
        };
        later(every, tick);
        return;
      }
      case 'big': {
        const bytes = Number(url.searchParams.get('bytes') ?? 1024);
        res.writeHead(200, { 'content-length': String(bytes) });
        const chunk = Buffer.alloc(64 * 1024, 0x61);
        let left = bytes;
        const pump = (): void => {
          while (left > 0) {
            const n = Math.min(left, chunk.length);
            left -= n;
            if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
              res.once('drain', pump);
              return;
            }
          }
          res.end();
        };
        pump();
        return;
      }
      default:
        res.statusCode = 404;
        res.end('not found\n');
    }
  });
  server.on('connection', (s: Socket) => {
    opened++;
    sockets.add(s);
    s.on('close', () => {
      closed++;
      sockets.delete(s);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    hits,
    requests: () => total,
    clientAborts: () => aborts,
    connections: () => ({ opened, closed }),
    waitForClientAborts(n, ms = 5000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`saw ${aborts} client aborts, wanted ${n}`)), ms);
        const check = (): void => {
          if (aborts >= n) {
            clearTimeout(timer);
            resolve();
          } else abortWaiters.push(check);
        };
        check();
      });
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, 'close').catch(() => undefined);
    },
  };
}

/** A port on 127.0.0.1 with nothing listening (bound, then closed): connections to it are refused. */
export async function freePort(): Promise<number> {
  const s = net.createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as AddressInfo;
  s.close();
  await once(s, 'close');
  return port;
}
