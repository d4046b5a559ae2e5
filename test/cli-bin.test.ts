// The real executable: build dist/ with tsc, spawn bin/prober.js.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startTarget, type Target } from './helpers/target.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const bin = fileURLToPath(new URL('../bin/prober.js', import.meta.url));

/** dist/ is missing or older than some source file (npm test builds first; a lone run may not have). */
function distIsStale(): boolean {
  const main = join(root, 'dist/cli/main.js');
  if (!existsSync(main)) return true;
  const built = statSync(main).mtimeMs;
  const src = join(root, 'src');
  return readdirSync(src, { recursive: true, encoding: 'utf8' }).some(
    (f) => /\.tsx?$/.test(f) && statSync(join(src, f)).mtimeMs > built,
  );
}

let target: Target;
before(async () => {
  // tsc exits non-zero on type errors but still emits; what matters here is dist/cli.
  if (distIsStale())
    await run(
      process.execPath,
      [fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url)), '-p', 'tsconfig.json'],
      {
        cwd: root,
        timeout: 180_000,
      },
    ).catch((err: { stdout?: string }) => {
      if (!existsSync(new URL('../dist/cli/main.js', import.meta.url))) throw err;
    });
  target = await startTarget();
});
after(async () => {
  await target?.close();
});

/** Runs bin/prober.js; resolves with the exit code and output whatever the code. */
async function prober(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], {
      cwd: root,
      timeout: 60_000,
      env: { ...process.env, NO_COLOR: '1' },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

test('bin/prober.js probe --json prints one Summary object and exits 0', async () => {
  const r = await prober(['probe', `${target.url}/ok`, '-n', '3', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout) as { attempts: number; successes: number; averageMs: number };
  assert.equal(s.attempts, 3);
  assert.equal(s.successes, 3);
  assert.equal(typeof s.averageMs, 'number');
  assert.ok((target.hits.get('/ok') ?? 0) >= 3);
});

test('bin/prober.js with a bad flag exits 2 without a stack trace', async () => {
  const r = await prober(['probe', `${target.url}/ok`, '--timeout', 'soon']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--timeout/);
  assert.doesNotMatch(r.stderr, /^\s+at /m);
});

/** Runs `prober <args> | <reader>` in bash with pipefail: the status is prober's (the reader exits 0). */
async function piped(args: string, reader: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const script = `set -o pipefail; ${JSON.stringify(process.execPath)} ${JSON.stringify(bin)} ${args} | ${reader}`;
  try {
    const { stdout, stderr } = await run('bash', ['-c', script], {
      cwd: root,
      timeout: 60_000,
      env: { ...process.env, NO_COLOR: '1' },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

test('a closed stdout (| head) ends every command quietly: exit 0, no stack trace, no summary', {
  timeout: 120_000,
}, async () => {
  for (const [args, reader] of [
    [`watch ${target.url}/ok -i 5ms`, 'head -3'],
    [`watch ${target.url}/ok --no-tui -n 50 -i 5ms`, 'head -3'],
    [`stream ${target.url}/ok -n 0 -i 5ms`, 'head -3'],
    [`stream ${target.url}/ok -n 50 -i 5ms --json`, 'head -3'],
    // The summary is probe's only output: a reader that is already gone.
    [`probe ${target.url}/ok -n 3`, 'true'],
  ] as const) {
    const r = await piped(args, reader);
    assert.equal(r.code, 0, `${args} | ${reader}: exit ${r.code}\n${r.stderr}`);
    assert.equal(r.stderr, '', `${args} | ${reader}: quiet`);
    if (reader === 'head -3') {
      assert.equal(r.stdout.trimEnd().split('\n').length, 3, r.stdout);
      assert.doesNotMatch(r.stdout, /average latency|"summary"/);
    }
  }
});

/** Spawns bin/prober.js, waits for `ready` on stdout, sends `sig`, resolves with the exit code and output. */
async function interrupted(
  args: string[],
  ready: RegExp,
  sig: NodeJS.Signals,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [bin, ...args], { cwd: root, env: { ...process.env, NO_COLOR: '1' } });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = once(child, 'exit');
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`never saw ${ready}: ${stdout}${stderr}`)), 30_000);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (ready.test(stdout)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  child.kill(sig);
  const [code] = (await exited) as [number | null];
  return { code, stdout, stderr };
}

test('SIGINT gives the shell convention 130 (SIGTERM 143), after the summary', { timeout: 120_000 }, async () => {
  const s = await interrupted(['stream', `${target.url}/ok`, '-n', '0', '-i', '50ms'], /^#2 /m, 'SIGINT');
  assert.equal(s.code, 130, s.stderr);
  assert.match(s.stdout, /average latency/);
  assert.doesNotMatch(s.stderr, /^\s+at /m);
  const w = await interrupted(['watch', `${target.url}/ok`, '-n', '1000', '-i', '50ms'], /^#2 /m, 'SIGINT');
  assert.equal(w.code, 130, w.stderr);
  assert.match(w.stdout, /average latency/);
  const t = await interrupted(['stream', `${target.url}/ok`, '-n', '0', '-i', '50ms'], /^#2 /m, 'SIGTERM');
  assert.equal(t.code, 143, t.stderr);
});

test("the README's main command works at once after npm install: npm run demo, no npx, no network", {
  timeout: 120_000,
}, async () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const quick = /## Quick start\s+```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
  assert.match(quick, /^npm install\b/m);
  assert.match(quick, /^npm run demo\b/m);
  assert.match(quick, /^npm test\b/m);
  assert.doesNotMatch(
    readme.replace(/not with `npx prober`/, ''),
    /npx prober/,
    'npx builds a cache entry first and breaks when interrupted',
  );
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  assert.equal(pkg.scripts['demo'], 'node bin/prober.js demo');
  const { stdout } = await run('npm', ['run', '--silent', 'demo', '--', '-n', '5', '--no-tui'], {
    cwd: root,
    timeout: 60_000,
    env: { ...process.env, NO_COLOR: '1' },
  }).catch((err: { code?: number; stdout?: string }) => {
    // A 503 from the demo target is exit 1; the run itself worked.
    if (err.code === 1 && err.stdout !== undefined) return { stdout: err.stdout };
    throw err;
  });
  assert.match(stdout, /http:\/\/127\.0\.0\.1:\d+\/api: 5 of 5 attempts/);
});

test('--version and -V print the package version, before any command module loads', async () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  for (const flag of ['--version', '-V']) {
    const r = await prober([flag]);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `${pkg.version}\n`);
  }
  // The fast path in main.ts: commander (and every command's flags) stays unloaded.
  const { stdout } = await run(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `process.argv = [process.argv[0], 'prober', '--version'];
       const { createRequire } = await import('node:module');
       await (await import(${JSON.stringify(new URL('../dist/cli/main.js', import.meta.url).href)})).main();
       const loaded = Object.keys(createRequire(import.meta.url).cache).filter((p) => p.includes('node_modules'));
       process.stdout.write(JSON.stringify(loaded));`,
    ],
    { cwd: root, timeout: 60_000 },
  );
  assert.deepEqual(JSON.parse(stdout.slice(stdout.indexOf('['))), []);
});
