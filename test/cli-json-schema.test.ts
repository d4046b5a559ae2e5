// The documented JSON (docs/json.md) checked against real output: every line
// of `probe --json` and `stream --json` from local targets must validate
// against docs/json-schema/prober.v1.json, whose objects allow no
// undocumented field.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { run } from '../src/cli/run.js';
import { EXIT } from '../src/cli/outcome.js';
import { formatSummary, summaryLine } from '../src/cli/format.js';
import { RunStats } from '../src/stats/index.js';
import { ERROR_REASONS } from '../src/probe/types.js';
import { startEmbeddedServer } from '../src/server/server.js';
import { startTarget, type Target } from './helpers/target.js';
import { testIo } from './helpers/cli-io.js';

type Line = Record<string, unknown>;

const schemaUrl = new URL('../docs/json-schema/prober.v1.json', import.meta.url);
const schema = JSON.parse(readFileSync(schemaUrl, 'utf8')) as {
  $defs: { summary: { properties: Record<string, unknown> }; attempt: { properties: Record<string, unknown> } };
};
const validate = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true }).compile(schema);

function check(line: Line, what: string): void {
  assert.ok(validate(line), `${what}: ${JSON.stringify(validate.errors, null, 1)}\n${JSON.stringify(line)}`);
}

let target: Target;
let dead: string;
before(async () => {
  target = await startTarget();
  // A port that was just closed refuses connections.
  const gone = await startTarget();
  await gone.close();
  dead = gone.url;
});
after(async () => {
  await target.close();
});

async function lines(argv: string[], want: number, opts: { signal?: AbortSignal } = {}): Promise<Line[]> {
  const io = testIo(opts);
  const code = await run(argv, io);
  assert.equal(code, want, `${argv.join(' ')}: ${io.stderr.text()}`);
  const out = io.stdout
    .text()
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Line);
  for (const [i, l] of out.entries()) check(l, `${argv.join(' ')} line ${i + 1}`);
  return out;
}

const isoRecent = (v: unknown): void => {
  const t = Date.parse(v as string);
  assert.ok(Math.abs(Date.now() - t) < 120_000, String(v));
};

test('probe --json: one summary line, valid, with run facts; stream-only facts null', { timeout: 60_000 }, async () => {
  const [s] = await lines(['probe', `${target.url}/ok`, '-n', '3', '--json'], EXIT.OK);
  assert.equal(s!['type'], 'summary');
  assert.equal(s!['schema'], 1);
  assert.equal(s!['endpoint'], `${target.url}/ok`);
  assert.equal(s!['server'], 'embedded');
  assert.equal(s!['interrupted'], false);
  assert.equal(s!['requested'], 3);
  assert.equal(s!['deadlineMs'], 30_000);
  assert.equal(s!['eventsSent'], null);
  assert.equal(s!['backpressureWaitMs'], null);
  isoRecent(s!['startedAt']);
  assert.ok((s!['startedAt'] as string) <= (s!['endedAt'] as string));
  assert.equal(s!['aborted'], 0);
});

test('probe --json in interval mode behind a slow target: intendedLatency and eventLoopDelay validate', {
  timeout: 60_000,
}, async () => {
  const [s] = await lines(['probe', `${target.url}/delay/20`, '-n', '5', '-i', '5ms', '--json'], EXIT.OK);
  const i = s!['intendedLatency'] as Record<string, number>;
  assert.ok(i !== null && typeof i === 'object');
  assert.ok(i['p99Ms']! > (s!['p99Ms'] as number), 'late starts: intended p99 above service p99');
  const loop = s!['eventLoopDelay'] as Record<string, unknown>;
  assert.ok(loop !== null && typeof loop['overloaded'] === 'boolean');
  // Back to back: no intended start.
  const [b2b] = await lines(['probe', `${target.url}/ok`, '-n', '2', '--json'], EXIT.OK);
  assert.equal(b2b!['intendedLatency'], null);
});

test('a summary line with an overload verdict validates; the human summary says so', () => {
  const base = new RunStats({ intervalMs: 10 });
  base.add({ latencyMs: 2, status: 200 });
  base.add({ latencyMs: 2, status: 200, scheduleDelayMs: 35 });
  const sum = base.summary({ eventLoopDelay: { p99Ms: 30, maxMs: 34.2, samples: 9 } });
  const run = {
    endpoint: 'http://x/',
    server: undefined,
    requested: 2,
    deadlineMs: undefined,
    startedAt: new Date(),
    endedAt: new Date(),
    interrupted: false,
    streamed: false,
  };
  check(summaryLine(sum, run), 'synthetic summary');
  const text = formatSummary(sum, { endpoint: 'http://x/', requested: 2 });
  assert.match(text, /^ {2}prober overloaded: readings may be inflated by up to 35 ms$/m);
  assert.match(text, /^ {2}from intended start: p50 .+ p99 .+ max /m);
  // On schedule and calm: neither line.
  const calm = new RunStats({ intervalMs: 10 });
  calm.add({ latencyMs: 2, status: 200 });
  const plain = formatSummary(calm.summary({ eventLoopDelay: { p99Ms: 1, maxMs: 2, samples: 9 } }), {
    endpoint: 'http://x/',
    requested: 1,
  });
  assert.doesNotMatch(plain, /overloaded|intended/);
});

test('probe --json: failures and the deadline case validate', { timeout: 60_000 }, async () => {
  const [refused] = await lines(['probe', `${dead}/ok`, '-n', '2', '--json'], EXIT.PROBE_FAILED);
  assert.deepEqual(refused!['errors'], [{ reason: 'CONNECT_REFUSED', count: 2 }]);
  assert.equal(refused!['averageMs'], null);
  const [bad] = await lines(['probe', `${target.url}/status/503`, '-n', '2', '--json'], EXIT.PROBE_FAILED);
  assert.equal(bad!['failures'], 2);
  const [cut] = await lines(
    ['probe', `${target.url}/hang`, '-n', '3', '--deadline', '500ms', '--timeout', '10s', '--json'],
    EXIT.PROBE_FAILED,
  );
  assert.equal(cut!['deadlineReached'], true);
  assert.equal(cut!['aborted'], 1);
  assert.equal(cut!['failures'], 0);
});

test('stream --json: attempt lines then the same summary object as probe', { timeout: 60_000 }, async () => {
  const out = await lines(['stream', `${target.url}/ok`, '-n', '3', '--json'], EXIT.OK);
  assert.equal(out.length, 4);
  for (const a of out.slice(0, 3)) {
    assert.equal(a['type'], 'attempt');
    assert.equal(a['schema'], 1);
  }
  const s = out[3]!;
  assert.equal(s['type'], 'summary');
  assert.equal(s['eventsSent'], 3);
  assert.equal(typeof s['backpressureWaitMs'], 'number');
  const [p] = await lines(['probe', `${target.url}/ok`, '-n', '3', '--json'], EXIT.OK);
  assert.deepEqual(Object.keys(s), Object.keys(p!), 'probe and stream summaries have the same keys, in the same order');
});

test('stream --json: failures, the deadline, an interrupt and a --server validate', { timeout: 60_000 }, async () => {
  const failed = await lines(['stream', `${target.url}/reset`, '-n', '2', '--json'], EXIT.PROBE_FAILED);
  assert.ok(failed.slice(0, 2).every((a) => (a['error'] as { reason: string }).reason === 'RESET'));
  await lines(['stream', `${dead}/ok`, '-n', '1', '--json'], EXIT.PROBE_FAILED);
  await lines(['stream', `${target.url}/status/404`, '-n', '1', '--json'], EXIT.PROBE_FAILED);

  const cut = await lines(
    ['stream', `${target.url}/hang`, '-n', '3', '--deadline', '500ms', '--timeout', '10s', '--json'],
    EXIT.PROBE_FAILED,
  );
  assert.equal((cut[0]!['error'] as { reason: string }).reason, 'ABORTED');
  assert.equal(cut.at(-1)!['deadlineReached'], true);

  const ac = new AbortController();
  const io = testIo({ signal: ac.signal });
  const done = run(['stream', `${target.url}/delay/5`, '-n', '0', '--interval', '0', '--json'], io);
  await io.stdout.waitFor(/"seq":2\b/);
  ac.abort();
  assert.equal(await done, EXIT.OK, io.stderr.text());
  const stopped = io.stdout
    .text()
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Line);
  for (const l of stopped) check(l, 'interrupted stream');
  const s = stopped.at(-1)!;
  assert.equal(s['interrupted'], true);
  assert.equal(s['requested'], 0);
  assert.equal(s['deadlineMs'], null);
  assert.equal(s['eventsSent'], null, 'the server never said: not a local guess');

  const server = await startEmbeddedServer();
  try {
    const out = await lines(['stream', `${target.url}/ok`, '-n', '1', '--server', server.address, '--json'], EXIT.OK);
    assert.equal(out.at(-1)!['server'], server.address);
  } finally {
    await server.close(1000);
  }
});

test('stream --json with several servers: region-tagged attempts, regionError, summaries and merged validate', {
  timeout: 60_000,
}, async () => {
  const [a, b] = [await startEmbeddedServer(), await startEmbeddedServer()];
  try {
    const deadServer = `127.0.0.1:${new URL(dead).port}`;
    const out = await lines(
      [
        'stream',
        `${target.url}/ok`,
        '-n',
        '2',
        '--json',
        '-s',
        `a=${a.address}`,
        '-s',
        `b=${b.address}`,
        '-s',
        `x=${deadServer}`,
      ],
      EXIT.PROBE_FAILED,
    );
    assert.deepEqual(
      out
        .filter((l) => l['type'] === 'attempt')
        .map((l) => l['region'])
        .sort(),
      ['a', 'a', 'b', 'b'],
    );
    assert.deepEqual(
      out
        .filter((l) => l['type'] !== 'attempt')
        .map((l) => [l['type'], l['region']])
        .sort(),
      [
        ['merged', 'all regions'],
        ['regionError', 'x'],
        ['summary', 'a'],
        ['summary', 'b'],
      ],
    );
    assert.equal(out.at(-1)!['type'], 'merged');
    assert.equal(validate({ ...out.find((l) => l['type'] === 'attempt'), region: 7 }), false);
  } finally {
    await a.close(1000);
    await b.close(1000);
  }
});

test('the schema rejects an undocumented field, a missing one and a wrong version', { timeout: 60_000 }, async () => {
  const [s] = await lines(['probe', `${target.url}/ok`, '-n', '1', '--json'], EXIT.OK);
  assert.equal(validate({ ...s, surprise: 1 }), false);
  const { aborted: _gone, ...missing } = s!;
  assert.equal(validate(missing), false);
  assert.equal(validate({ ...s, schema: 2 }), false);
  assert.equal(validate({ ...s, phases: { ...(s!['phases'] as object), extraMs: 1 } }), false);
});

test('docs/json.md documents every field of the schema', () => {
  const doc = readFileSync(new URL('../docs/json.md', import.meta.url), 'utf8');
  for (const def of ['attempt', 'summary'] as const) {
    for (const field of Object.keys(schema.$defs[def].properties)) {
      assert.match(doc, new RegExp(`^\\| \`${field}\` \\|`, 'm'), `${def}.${field} is not in docs/json.md`);
    }
  }
});

test("every reason enum in the schema is the engine's ERROR_REASONS, and docs/json.md names each", () => {
  const enums: string[][] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node !== null && typeof node === 'object') {
      const o = node as Record<string, unknown>;
      if (Array.isArray(o.enum) && o.enum.includes('DNS')) enums.push(o.enum as string[]);
      Object.values(o).forEach(walk);
    }
  };
  walk(JSON.parse(readFileSync(new URL('../docs/json-schema/prober.v1.json', import.meta.url), 'utf8')));
  assert.ok(enums.length >= 1, 'the schema enumerates reasons');
  for (const e of enums) assert.deepEqual([...e].sort(), [...ERROR_REASONS].sort());
  const doc = readFileSync(new URL('../docs/json.md', import.meta.url), 'utf8');
  for (const r of ERROR_REASONS) assert.match(doc, new RegExp(`\`${r}\``), `docs/json.md names ${r}`);
});

test('stream -L --json: hops validate and the final response is on top', { timeout: 60_000 }, async () => {
  const out = await lines(['stream', `${target.url}/redirect/2`, '-n', '1', '-L', '--json'], EXIT.OK);
  const a = out.find((l) => l['type'] === 'attempt')!;
  assert.equal(a['status'], 200);
  const hops = a['hops'] as { status: number; location: string }[];
  assert.deepEqual(
    hops.map((h) => [h.status, h.location]),
    [
      [302, `${target.url}/redirect/1`],
      [302, `${target.url}/redirect/0`],
    ],
  );
  const tooMany = await lines(
    ['stream', `${target.url}/redirect/5`, '-n', '1', '-L', '--max-redirects', '1', '--json'],
    EXIT.PROBE_FAILED,
  );
  const t = tooMany.find((l) => l['type'] === 'attempt')!;
  assert.equal((t['error'] as { reason: string }).reason, 'TOO_MANY_REDIRECTS');
});
