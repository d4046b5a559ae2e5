// Fan-out: loopback servers with different --region, one CLI run over all.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Registry } from 'prom-client';
import { run } from '../src/cli/run.js';
import { EXIT } from '../src/cli/outcome.js';
import { parseServers, parseServersFile } from '../src/cli/servers.js';
import { startServer, type RunningServer } from '../src/server/server.js';
import { startTarget, freePort, type Target } from './helpers/target.js';
import { testIo } from './helpers/cli-io.js';

let target: Target;
const servers: RunningServer[] = [];
const registry = new Registry();
let dead: string;
before(async () => {
  target = await startTarget();
  for (const region of ['eu', 'us']) {
    servers.push(
      await startServer({
        listen: '127.0.0.1:0',
        region,
        engine: 'inline',
        warmUp: false,
        ...(region === 'eu' ? { observability: { metrics: { registry, defaultMetrics: false } } } : {}),
      }),
    );
  }
  dead = `127.0.0.1:${await freePort()}`;
});
after(async () => {
  for (const s of servers) await s.close(0);
  await target.close();
});

const addr = (i: number): string => `127.0.0.1:${servers[i]!.port}`;

test('probe fans out: a row per region, a merged row, exit 0; region on /metrics', { timeout: 60_000 }, async () => {
  const io = testIo();
  const code = await run(['probe', `${target.url}/ok`, '-n', '4', '-s', `eu=${addr(0)}`, '-s', `us=${addr(1)}`], io);
  assert.equal(code, EXIT.OK, io.stderr.text());
  const out = io.stdout.text();
  assert.match(out, /^region\s+status\s+count\s+success\s+p50\s+p90\s+p99\s+avg\s+errors/m);
  assert.match(out, /^eu\s+OK\s+4\s+100\.0%/m);
  assert.match(out, /^us\s+OK\s+4\s+100\.0%/m);
  assert.match(out, /^all regions\s+2\/2 up\s+8\s+100\.0%/m);
  assert.match(await registry.metrics(), /prober_\w+\{[^}]*region="eu"/);
});

test('--json: a line per region with the server region, then the merged line', { timeout: 60_000 }, async () => {
  const io = testIo();
  const code = await run(['probe', `${target.url}/ok`, '-n', '3', '--json', '-s', `eu=${addr(0)}`, '-s', addr(1)], io);
  assert.equal(code, EXIT.OK, io.stderr.text());
  const lines = io.stdout
    .text()
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(
    lines.map((l) => [l.type, l.region, l.serverRegion ?? null]),
    [
      ['summary', 'eu', 'eu'],
      ['summary', addr(1), 'us'],
      ['merged', 'all regions', null],
    ],
  );
  assert.equal(lines[2]!.attempts, 6);
  assert.equal(lines[2]!.answered, 2);
});

test('one region down: its row says UNAVAILABLE, the others complete, exit 1', { timeout: 60_000 }, async () => {
  const io = testIo();
  const code = await run(['probe', `${target.url}/ok`, '-n', '2', '-s', `eu=${addr(0)}`, '-s', `gone=${dead}`], io);
  assert.equal(code, EXIT.PROBE_FAILED, io.stderr.text());
  const out = io.stdout.text();
  assert.match(out, /^eu\s+OK\s+2/m);
  assert.match(out, /^gone\s+UNAVAILABLE/m);
  assert.match(out, /^all regions\s+1\/2 up\s+2/m);
});

test('all regions down: exit 3', { timeout: 60_000 }, async () => {
  const io = testIo();
  const code = await run(['probe', `${target.url}/ok`, '-n', '2', '-s', `a=${dead}`, '-s', `b=${dead}`], io);
  assert.equal(code, EXIT.RPC, io.stdout.text());
  assert.match(io.stdout.text(), /^all regions\s+0\/2 up/m);
});

test('deploy/servers.example.yaml parses', () => {
  const entries = parseServersFile(new URL('../deploy/servers.example.yaml', import.meta.url).pathname);
  assert.deepEqual(
    entries.map((e) => e.name),
    ['eu-west', 'us-east', 'ap-south'],
  );
  assert.equal(entries[1]!.connection?.serverName, 'prober.us-east.example.com');
  assert.ok(entries[1]!.connection?.cert?.endsWith('deploy/certs/client.pem'));
  assert.equal(entries[2]!.connection?.tls, true);
});

test('servers file errors name the file and the key; exit 2', async () => {
  const bad: Array<[string, RegExp]> = [
    ['servers: []', /f\.yaml: servers: expected a non-empty list/],
    ['servers:\n  - name: eu\n', /f\.yaml: servers\[0\]\.address: expected a non-empty string/],
    ['servers:\n  - address: "nope"\n', /f\.yaml: servers\[0\]\.address: expected host:port/],
    ['servers:\n  - address: a:1\n    tls: {cafile: x}\n', /servers\[0\]\.tls\.cafile: unknown key/],
    ['{"servers": [{"name": "a", "address": "a:1"}, {"name": "a", "address": "b:1"}]}', /"a" given twice/],
    ['servers: [', /f\.yaml: \(file\): not YAML or JSON/],
  ];
  for (const [text, re] of bad) assert.throws(() => parseServers(text, 'f.yaml'), re, text);
  const dir = mkdtempSync(join(tmpdir(), 'prober-servers-'));
  const file = join(dir, 'servers.yaml');
  writeFileSync(file, 'servers:\n  - name: eu\n    adress: a:1\n');
  const io = testIo();
  assert.equal(await run(['probe', `${target.url}/ok`, '--servers', file], io), EXIT.USAGE);
  assert.match(io.stderr.text(), /servers\.yaml: servers\[0\]\.adress: unknown key/);
});

test('fan-out --json lines validate against the schema, a region down included', { timeout: 60_000 }, async () => {
  const { readFileSync } = await import('node:fs');
  const { Ajv2020 } = await import('ajv/dist/2020.js');
  const schema = JSON.parse(readFileSync(new URL('../docs/json-schema/prober.v1.json', import.meta.url), 'utf8'));
  const validate = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true }).compile(schema);
  const io = testIo();
  const code = await run(
    ['probe', `${target.url}/ok`, '-n', '2', '--json', '-s', `eu=${addr(0)}`, '-s', `x=${dead}`],
    io,
  );
  assert.equal(code, EXIT.PROBE_FAILED, io.stderr.text());
  const lines = io.stdout.text().trim().split('\n');
  assert.equal(lines.length, 3);
  for (const l of lines) assert.ok(validate(JSON.parse(l)), `${JSON.stringify(validate.errors)}\n${l}`);
  assert.equal(JSON.parse(lines[1]!).code, 'UNAVAILABLE');
});

const jsonLines = (text: string): Record<string, unknown>[] =>
  text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

test('stream fans out: every line has its region, then each summary, then merged = sum', {
  timeout: 60_000,
}, async () => {
  const io = testIo();
  const code = await run(
    ['stream', `${target.url}/ok`, '-n', '3', '--json', '-s', `eu=${addr(0)}`, '-s', `us=${addr(1)}`],
    io,
  );
  assert.equal(code, EXIT.OK, io.stderr.text());
  const lines = jsonLines(io.stdout.text());
  assert.ok(lines.every((l) => typeof l.region === 'string'));
  const attempts = lines.filter((l) => l.type === 'attempt');
  assert.equal(attempts.filter((l) => l.region === 'eu').length, 3);
  assert.equal(attempts.filter((l) => l.region === 'us').length, 3);
  const summaries = lines.filter((l) => l.type === 'summary');
  assert.deepEqual(summaries.map((l) => [l.region, l.serverRegion]).sort(), [
    ['eu', 'eu'],
    ['us', 'us'],
  ]);
  // A region's summary follows its own attempts.
  for (const s of summaries) {
    const at = lines.indexOf(s);
    assert.ok(lines.slice(at + 1).every((l) => l.region !== s.region));
  }
  const merged = lines.at(-1)!;
  assert.equal(merged.type, 'merged');
  for (const k of ['attempts', 'successes', 'responses'] as const) {
    assert.equal(merged[k], (summaries[0]![k] as number) + (summaries[1]![k] as number), k);
  }
  assert.equal(merged.attempts, 6);
  assert.equal(merged.answered, 2);
});

test('stream fan-out, one region on a closed port: its error line, the other completes, exit 1', {
  timeout: 60_000,
}, async () => {
  const io = testIo();
  const code = await run(
    ['stream', `${target.url}/ok`, '-n', '2', '--json', '-s', `eu=${addr(0)}`, '-s', `gone=${dead}`],
    io,
  );
  assert.equal(code, EXIT.PROBE_FAILED, io.stderr.text());
  const lines = jsonLines(io.stdout.text());
  const gone = lines.find((l) => l.region === 'gone');
  assert.equal(gone?.type, 'regionError');
  assert.equal(gone?.code, 'UNAVAILABLE');
  assert.equal(lines.filter((l) => l.type === 'attempt' && l.region === 'eu').length, 2);
  assert.ok(lines.some((l) => l.type === 'summary' && l.region === 'eu' && l.attempts === 2));
  const merged = lines.at(-1)!;
  assert.deepEqual([merged.type, merged.attempts, merged.regions, merged.answered], ['merged', 2, 2, 1]);
});

test('stream fan-out, all regions down: exit 3', { timeout: 60_000 }, async () => {
  const io = testIo();
  const code = await run(['stream', `${target.url}/ok`, '-n', '2', '-s', `a=${dead}`, '-s', `b=${dead}`], io);
  assert.equal(code, EXIT.RPC, io.stdout.text());
  assert.match(io.stdout.text(), /^\[a\] prober at .*UNAVAILABLE/m);
  assert.match(io.stdout.text(), /^all regions\s+0\/2 up/m);
});

test('stream fan-out, human: [region] prefixes, a block per region, then the table', { timeout: 60_000 }, async () => {
  const io = testIo();
  const code = await run(['stream', `${target.url}/ok`, '-n', '2', '-s', `eu=${addr(0)}`, '-s', `us=${addr(1)}`], io);
  assert.equal(code, EXIT.OK, io.stderr.text());
  const out = io.stdout.text();
  for (const r of ['eu', 'us']) {
    assert.equal(out.split('\n').filter((l) => l.startsWith(`[${r}] #`)).length, 2, out);
    assert.match(out, new RegExp(`^== ${r}\\n.*2 of 2 attempts`, 'm'));
  }
  assert.match(out, /^all regions\s+2\/2 up\s+4\s+100\.0%/m);
});

test('stream with one named server: output exactly as without a name', { timeout: 60_000 }, async () => {
  const named = testIo();
  assert.equal(await run(['stream', `${target.url}/ok`, '-n', '1', '--json', '-s', `eu=${addr(0)}`], named), EXIT.OK);
  const lines = jsonLines(named.stdout.text());
  assert.deepEqual(
    lines.map((l) => [l.type, 'region' in l]),
    [
      ['attempt', false],
      ['summary', false],
    ],
  );
  assert.equal(lines[1]!.server, addr(0));
});

test('a region of replicas: ipv4:a,b and dns:/// targets are servers too (round robin); a malformed one is exit 2', {
  timeout: 60_000,
}, async () => {
  const io = testIo();
  const replicas = `ipv4:${addr(0)},${addr(1)}`;
  const code = await run(
    ['probe', `${target.url}/ok`, '-n', '2', '-s', `eu=${replicas}`, '-s', `us=dns:///${addr(1)}`],
    io,
  );
  assert.equal(code, EXIT.OK, io.stderr.text());
  assert.match(io.stdout.text(), /^eu\s+OK\s+2\s+100\.0%/m);
  assert.match(io.stdout.text(), /^us\s+OK\s+2\s+100\.0%/m);
  const bad = testIo();
  assert.equal(await run(['probe', `${target.url}/ok`, '-s', 'eu=dns:///no-port'], bad), EXIT.USAGE);
  assert.match(bad.stderr.text(), /expected dns:\/\/\/host:port, got "dns:\/\/\/no-port"/);
});
