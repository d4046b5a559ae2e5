// CPU per request over TLS (issue 12's Measure): prober's engine against
// undici doing the same requests in the same run, for HTTPS fresh
// connections (HTTP/1.1), HTTP/2 fresh connections (ALPN h2) and HTTP/2 on
// one reused connection (multiplexing). The target (an h2 server that also
// speaks 1.1) runs in a child process so only the client side is measured.
// A sibling of engine-cpu.ts (plain HTTP) with the same method: warm-up,
// then alternating rounds.
import { spawn } from 'node:child_process';
import { Agent } from 'undici';
import { runAttempt, validateProbeInput, DEFAULT_LIMITS } from '../src/probe/index.js';
import { H2Pool } from '../src/probe/h2.js';
import { createPki } from '../test/helpers/certs.js';
import { interleavedRounds } from './target.js';
import type { Row } from './engine-cpu.js';

const SCRIPT = `
const http2 = require('node:http2');
const body = Buffer.from('ok\\n');
const s = http2.createSecureServer({ cert: process.env.CERT, key: process.env.KEY, allowHTTP1: true }, (req, res) => res.end(body));
s.listen(0, '127.0.0.1', () => process.stdout.write(String(s.address().port) + '\\n'));
`;

async function startTlsTarget(cert: string, key: string): Promise<{ url: string; close(): void }> {
  const child = spawn(process.execPath, ['-e', SCRIPT], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, CERT: cert, KEY: key },
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
  });
  return { url: `https://127.0.0.1:${port}/`, close: () => child.kill() };
}

async function undiciGet(agent: Agent, origin: string): Promise<void> {
  const res = await agent.request({ origin, path: '/', method: 'GET' });
  for await (const _ of res.body) void _;
}

export async function benchEngineCpuTls(n: number): Promise<Row[]> {
  const pki = await createPki();
  const target = await startTlsTarget(pki.server.cert, pki.server.key);
  const origin = new URL(target.url).origin;
  const ca = pki.ca.cert;
  try {
    const input = { endpoint: target.url, repetitions: 1, tlsCaPem: ca };
    const https11 = validateProbeInput(input, DEFAULT_LIMITS);
    const h2 = validateProbeInput({ ...input, httpVersion: '2' }, DEFAULT_LIMITS);
    const h2Reuse = validateProbeInput({ ...input, httpVersion: '2', reuseConnections: true }, DEFAULT_LIMITS);
    const pool = new H2Pool();
    // maxCachedSessions 0 would be the engine's choice; undici's fresh Agent has no session to resume anyway.
    const shared = new Agent({ allowH2: true, connect: { ca } });
    const prober =
      (spec: typeof h2, extra: { h2Pool?: H2Pool } = {}) =>
      async () => {
        const r = await runAttempt(spec, { seq: 1, timeoutMs: 5000, ...extra });
        if (r.error) throw new Error(r.error.message);
      };
    const undiciFresh = (allowH2: boolean) => async () => {
      const agent = new Agent({ allowH2, connect: { ca } });
      await undiciGet(agent, origin);
      await agent.close();
    };
    const cases: Array<[string, () => Promise<void>]> = [
      ['prober https fresh', prober(https11)],
      ['undici https fresh', undiciFresh(false)],
      ['prober h2 fresh', prober(h2)],
      ['undici h2 fresh', undiciFresh(true)],
      ['prober h2 reuse', prober(h2Reuse, { h2Pool: pool })],
      ['undici h2 reuse', () => undiciGet(shared, origin)],
    ];
    const rows = await interleavedRounds(cases, n, 100);
    pool.close();
    await shared.close();
    return rows;
  } finally {
    target.close();
    await pki.cleanup();
  }
}
