// A local HTTP proxy for tests (127.0.0.1, port 0): CONNECT tunnels and
// absolute-form requests, as squid or tinyproxy answer them. It records what
// it was asked and can refuse CONNECT with a status or hold its reply back.
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo, Socket } from 'node:net';

export interface TestProxy {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly port: number;
  /** CONNECT authorities asked for, in order. */
  readonly connects: string[];
  /** Absolute-form request URLs forwarded, in order. */
  readonly requests: string[];
  /** Proxy-Authorization of every CONNECT and request (undefined when absent). */
  readonly authorizations: (string | undefined)[];
  /** Answer CONNECT with this status instead of tunnelling. */
  refuse: number | undefined;
  /** Wait this long before answering CONNECT (the "upstream connect" time). */
  delayMs: number;
  /** Client connections accepted so far / currently open. */
  connections(): { opened: number; open: number };
  close(): Promise<void>;
}

export async function startProxy(): Promise<TestProxy> {
  const sockets = new Set<Socket>();
  const clients = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let opened = 0;
  const server = http.createServer((req, res) => {
    // Absolute form: forward to the origin named in the request line.
    proxy.requests.push(req.url ?? '');
    proxy.authorizations.push(req.headers['proxy-authorization']);
    let target: URL;
    try {
      target = new URL(req.url ?? '');
    } catch {
      res.writeHead(400).end('not absolute form\n');
      return;
    }
    const headers = { ...req.headers };
    delete headers['proxy-authorization'];
    const upstream = http.request(
      { host: target.hostname, port: target.port, path: target.pathname + target.search, method: req.method, headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.writeHead(502).end('upstream failed\n'));
    req.pipe(upstream);
  });
  server.on('connection', (s: Socket) => {
    opened++;
    sockets.add(s);
    clients.add(s);
    s.on('close', () => {
      sockets.delete(s);
      clients.delete(s);
    });
  });
  server.on('connect', (req: http.IncomingMessage, client: Socket, head: Buffer) => {
    const authority = req.url ?? '';
    proxy.connects.push(authority);
    proxy.authorizations.push(req.headers['proxy-authorization']);
    client.on('error', () => {});
    let tunnelled = false;
    // The server half stays open after the client's FIN (http.Server allows half-open): close it while waiting.
    client.on('end', () => {
      if (!tunnelled) client.destroy();
    });
    const answer = (): void => {
      if (client.destroyed) return;
      if (proxy.refuse !== undefined) {
        client.end(`HTTP/1.1 ${proxy.refuse} Refused by test proxy\r\nContent-Length: 0\r\n\r\n`);
        return;
      }
      const { hostname, port } = new URL(`http://${authority}`);
      const upstream = net.connect(Number(port), hostname.replace(/^\[|\]$/g, ''));
      sockets.add(upstream);
      upstream.on('close', () => sockets.delete(upstream));
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      upstream.once('connect', () => {
        tunnelled = true;
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        if (head.length > 0) upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
      });
    };
    if (proxy.delayMs > 0) {
      const t = setTimeout(() => {
        timers.delete(t);
        answer();
      }, proxy.delayMs);
      timers.add(t);
    } else answer();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const proxy: TestProxy = {
    url: `http://127.0.0.1:${port}`,
    port,
    connects: [],
    requests: [],
    authorizations: [],
    refuse: undefined,
    delayMs: 0,
    connections: () => ({ opened, open: clients.size }),
    async close() {
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}
