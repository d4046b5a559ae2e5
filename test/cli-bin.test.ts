// The real executable: build dist/ with tsc, spawn bin/prober.js.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
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
  if (distIsStale()) await run(process.execPath, [fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url)), '-p', 'tsconfig.json'], {
    cwd: root,
    timeout: 180_000,
  }).catch((err: { stdout?: string }) => {
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
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { cwd: root, timeout: 60_000, env: { ...process.env, NO_COLOR: '1' } });
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
