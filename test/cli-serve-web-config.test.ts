// `prober serve --web-config` as a process: a bad file stops the start with
// exit 2 naming the flag, file and key; SIGHUP re-reads a good one and keeps
// the old one when the new one is bad.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import https from 'node:https';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { testPki } from './helpers/certs.js';
import { sleep } from './helpers/wait.js';

const MAIN = new URL('../src/cli/main.ts', import.meta.url).href;

function serve(args: string[]) {
  // `-e` puts the arguments at argv[1]; main() reads from argv[2].
  const script = `process.argv.splice(1, 0, 'prober'); const { main } = await import(${JSON.stringify(MAIN)}); await main();`;
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', script, 'serve', '--listen', '127.0.0.1:0', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return { child, output: () => out };
}

function status(url: string, ca: string, auth: string): Promise<number> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca, auth, agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      })
      .on('error', reject);
  });
}

test('serve --web-config: a bad file is a usage error naming the key', { timeout: 60_000 }, async (t) => {
  const pki = await testPki(t);
  const file = join(pki.dir, 'web.yml');
  await writeFile(file, 'tls_server_config:\n  cert_file: missing.crt\n  key_file: missing.key\n');
  const { child, output } = serve(['--metrics-addr', '127.0.0.1:0', '--web-config', file]);
  const [code] = await once(child, 'exit');
  assert.equal(code, 2, output());
  assert.match(output(), /web\.yml: tls_server_config\.cert_file: no such file: .*missing\.crt/);
});

test('serve --web-config: SIGHUP reloads users; a bad file on SIGHUP keeps the old config', {
  timeout: 90_000,
}, async (t) => {
  const pki = await testPki(t);
  const file = join(pki.dir, 'web.yml');
  const tls = `tls_server_config:\n  cert_file: ${pki.server.certFile}\n  key_file: ${pki.server.keyFile}\n`;
  const hash = bcrypt.hashSync('pw', 4);
  await writeFile(file, `${tls}basic_auth_users:\n  alice: ${hash}\n`);
  const { child, output } = serve(['--metrics-addr', '127.0.0.1:0', '--web-config', file, '--log-level', 'info']);
  t.after(async () => {
    if (child.exitCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  });
  let url: string | undefined;
  for (let i = 0; i < 300 && url === undefined; i++) {
    url = /"metrics":"(https:\/\/[^"]+)"/.exec(output())?.[1];
    if (child.exitCode !== null) assert.fail(`serve exited: ${output()}`);
    await sleep(100);
  }
  assert.ok(url, `no metrics URL in: ${output()}`);
  const ca = pki.ca.cert;
  assert.equal(await status(`${url}/metrics`, ca, 'alice:pw'), 200);

  await writeFile(file, `${tls}basic_auth_users:\n  bob: ${hash}\n`);
  child.kill('SIGHUP');
  for (let i = 0; i < 100 && !output().includes('web config reloaded'); i++) await sleep(100);
  assert.equal(await status(`${url}/metrics`, ca, 'bob:pw'), 200);
  assert.equal(await status(`${url}/metrics`, ca, 'alice:pw'), 401);

  await writeFile(file, `${tls}basic_auth_users:\n  carol: plain\n`);
  child.kill('SIGHUP');
  for (let i = 0; i < 100 && !output().includes('keeping the previous one'); i++) await sleep(100);
  assert.match(output(), /basic_auth_users\.carol: must be a bcrypt hash/);
  assert.equal(await status(`${url}/metrics`, ca, 'bob:pw'), 200, 'still running with the previous config');

  child.kill('SIGTERM');
  const [code] = await once(child, 'exit');
  assert.equal(code, 0, output());
});
