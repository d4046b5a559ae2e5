// The CLI's TLS and token flags: one clear line and exit 3 for each TLS or
// token failure, the exposure warning of `serve`, and SIGHUP reloading.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../src/cli/run.js';
import { exposureWarning } from '../src/cli/commands/serve.js';
import { startServer, type RunningServer } from '../src/server/server.js';
import { resolveServerConfig } from '../src/server/config.js';
import { makeTlsFiles, type TlsFiles } from './helpers/tls-certs.js';
import { startTarget, type Target } from './helpers/target.js';
import { testIo } from './helpers/cli-io.js';

const TOKEN = 'cli-test-token-0123456789';
let files: TlsFiles;
let target: Target;
let tokenFile: string;
let clientTokenFile: string;
let tokens: RunningServer; // TLS + tokens
let mtls: RunningServer;

before(async () => {
  files = await makeTlsFiles();
  target = await startTarget();
  tokenFile = join(files.dir, 'tokens');
  writeFileSync(tokenFile, `cli: ${TOKEN}\n`);
  clientTokenFile = join(files.dir, 'client-token');
  writeFileSync(clientTokenFile, `${TOKEN}\n`);
  const base = { listen: '127.0.0.1:0', observability: { health: false, reflection: false } } as const;
  tokens = await startServer({
    ...base,
    tls: { certFile: files.serverCert, keyFile: files.serverKey },
    auth: { tokenFile },
  });
  mtls = await startServer({
    ...base,
    tls: { certFile: files.serverCert, keyFile: files.serverKey, clientCaFile: files.caCert },
  });
});
after(async () => {
  await tokens.close(0);
  await mtls.close(0);
  await target.close();
  await files.remove();
});

async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; err: string }> {
  const io = testIo({ env });
  const code = await run(['probe', `${target.url}/ok`, '-n', '1', ...args], io);
  return { code, err: io.stderr.text() };
}

function oneLine(err: string, re: RegExp): void {
  const lines = err.trim().split('\n');
  assert.equal(lines.length, 1, err);
  assert.match(lines[0]!, re);
}

test('--ca with the token from $PROBER_TOKEN or --token-file (the flag wins): exit 0', async () => {
  const s = `localhost:${tokens.port}`;
  assert.equal((await cli(['-s', s, '--ca', files.caCert], { PROBER_TOKEN: TOKEN })).code, 0);
  const r = await cli(['-s', s, '--ca', files.caCert, '--token-file', clientTokenFile], {
    PROBER_TOKEN: 'wrong-wrong-wrong-wrong',
  });
  assert.equal(r.code, 0, r.err);
  const io = testIo();
  assert.equal(
    await run(
      ['stream', `${target.url}/ok`, '-n', '2', '-s', s, '--ca', files.caCert, '--token-file', clientTokenFile],
      io,
    ),
    0,
  );
});

test('TLS and token failures: one line naming what failed, exit 3', async () => {
  const s = `localhost:${tokens.port}`;
  const cases: Array<[string[], Record<string, string>, RegExp]> = [
    [['-s', s, '--tls'], { PROBER_TOKEN: TOKEN }, /certificate not trusted: .* \(is --ca right\?\)$/],
    [
      ['-s', `127.0.0.1:${tokens.port}`, '--ca', files.caCert, '--server-name', 'prober.example'],
      { PROBER_TOKEN: TOKEN },
      /name mismatch: certificate is for DNS:localhost, IP Address:127\.0\.0\.1, IP Address:0:0:0:0:0:0:0:1, not prober\.example \(use --server-name\)$/,
    ],
    [
      ['-s', s, '--ca', files.caCert],
      { PROBER_TOKEN: 'wrong-wrong-wrong-wrong' },
      /token rejected \(UNAUTHENTICATED: token not recognised\)$/,
    ],
    [['-s', s, '--ca', files.caCert], {}, /server requires a token \(--token-file or \$PROBER_TOKEN\)/],
    [
      ['-s', `localhost:${mtls.port}`, '--ca', files.caCert],
      {},
      /server requires a client certificate \(--cert\/--key\)$/,
    ],
    [
      [
        '-s',
        `localhost:${mtls.port}`,
        '--ca',
        files.caCert,
        '--cert',
        files.otherClientCert,
        '--key',
        files.otherClientKey,
      ],
      {},
      /does not trust the client certificate \(--cert\)$/,
    ],
    [['-s', s], {}, /server closed the connection: it may require TLS \(try --tls or --ca\)$/],
  ];
  for (const [args, env, re] of cases) {
    const r = await cli(args, env);
    assert.equal(r.code, 3, `${args.join(' ')}: ${r.err}`);
    oneLine(r.err, re);
  }
  const good = await cli([
    '-s',
    `localhost:${mtls.port}`,
    '--ca',
    files.caCert,
    '--cert',
    files.clientCert,
    '--key',
    files.clientKey,
  ]);
  assert.equal(good.code, 0, good.err);
});

test('connection flags that cannot work are usage errors (exit 2)', async () => {
  oneLine((await cli(['--tls'])).err, /--tls needs --server/);
  const r = await cli(['-s', `localhost:${mtls.port}`, '--cert', files.clientCert]);
  assert.equal(r.code, 2);
  oneLine(r.err, /--cert: a client certificate needs both --cert and --key/);
  const missing = await cli(['-s', `localhost:${mtls.port}`, '--ca', join(files.dir, 'nope.pem')]);
  assert.equal(missing.code, 2);
  oneLine(missing.err, /--ca: cannot read .*nope\.pem \(ENOENT\)/);
});

test('exposureWarning: all interfaces without TLS and tokens warn; loopback, TLS or tokens do not', () => {
  const w = exposureWarning(resolveServerConfig({ listen: '0.0.0.0:50051' }));
  assert.match(
    w ?? '',
    /0\.0\.0\.0:50051 has neither TLS nor tokens: anyone who can reach it can make this server fetch any URL/,
  );
  assert.match(w ?? '', /--auth-token-file/);
  for (const listen of ['127.0.0.1:0', '[::1]:0', 'localhost:0'])
    assert.equal(exposureWarning(resolveServerConfig({ listen })), undefined, listen);
  assert.equal(exposureWarning(resolveServerConfig({ listen: '0.0.0.0:0', auth: { tokenFile } })), undefined);
  const tls = { certFile: files.serverCert, keyFile: files.serverKey };
  assert.equal(exposureWarning(resolveServerConfig({ listen: '[::]:0', tls })), undefined);
});

/** Runs `serve` until its listening line, then `during`, then stops it; returns stdout (JSON log lines). */
async function serve(args: string[], during: () => Promise<void> = async () => {}): Promise<string> {
  const ac = new AbortController();
  const io = testIo({ signal: ac.signal });
  const done = run(['serve', '--no-metrics', '--no-reflection', '--grace', '0', ...args], io);
  await io.stdout.waitFor(/prober listening/);
  await during();
  ac.abort('SIGTERM');
  assert.equal(await done, 0, io.stderr.text());
  return io.stdout.text();
}

test('serve on 0.0.0.0 without TLS or tokens logs one warning; 127.0.0.1 stays quiet', async () => {
  const open = await serve(['--listen', '0.0.0.0:0']);
  assert.equal(open.split('\n').filter((l) => l.includes('neither TLS nor tokens')).length, 1, open);
  const local = await serve(['--listen', '127.0.0.1:0']);
  assert.ok(!local.includes('neither TLS nor tokens'), local);
});

test('serve: bad TLS or token flags name the flag (exit 2); SIGHUP reloads', async () => {
  const io = testIo();
  assert.equal(await run(['serve', '--listen', '127.0.0.1:0', '--tls-cert', files.serverCert], io), 2);
  assert.match(io.stderr.text(), /needs both --tls-cert and --tls-key/);
  const bad = testIo();
  assert.equal(
    await run(['serve', '--listen', '127.0.0.1:0', '--tls-cert', files.serverCert, '--tls-key', files.caCert], bad),
    2,
  );
  assert.match(bad.stderr.text(), /--tls-key: unusable with --tls-cert/);
  const out = await serve(
    [
      '--listen',
      '127.0.0.1:0',
      '--tls-cert',
      files.serverCert,
      '--tls-key',
      files.serverKey,
      '--auth-token-file',
      tokenFile,
    ],
    async () => {
      process.emit('SIGHUP', 'SIGHUP');
    },
  );
  const reload = out.split('\n').find((l) => l.includes('reloaded'));
  assert.ok(reload, out);
  assert.match(reload, /"tokens":1/);
  assert.ok(!out.includes(TOKEN));
});
