// Start-up cost: a command loads only what it runs (docs/performance.md).
// `--version` and `--help` must not load gRPC, the server's logging and
// metrics, or React; checked in a fresh process through require.cache, where
// Node lists the CommonJS packages (all of these are) that ESM imported.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

const ROOT = new URL('..', import.meta.url);
const HEAVY = /[\\/]node_modules[\\/](@grpc[\\/]grpc-js|pino|prom-client|grpc-health-check|react|yaml)[\\/]/;

function loadedAfter(argv: string[]): string[] {
  const script = `
    import { createRequire } from 'node:module';
    import { Writable } from 'node:stream';
    const { run } = await import(${JSON.stringify(new URL('src/cli/run.ts', ROOT).href)});
    const sink = () => new Writable({ write(_c, _e, cb) { cb(); } });
    const code = await run(${JSON.stringify(argv)}, { stdout: sink(), stderr: sink(), env: {} });
    process.stdout.write(JSON.stringify({ code, loaded: Object.keys(createRequire(import.meta.url).cache) }));
  `;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: new URL('.', ROOT),
    encoding: 'utf8',
  });
  const { code, loaded } = JSON.parse(out) as { code: number; loaded: string[] };
  assert.equal(code, 0, `${argv.join(' ')} exit code`);
  return loaded;
}

for (const argv of [['--version'], ['--help'], ['probe', '--help'], ['watch', '--help'], ['serve', '--help']]) {
  test(`\`${argv.join(' ')}\` loads no gRPC, pino, prom-client, React or yaml`, { timeout: 60_000 }, () => {
    const heavy = loadedAfter(argv).filter((p) => HEAVY.test(p));
    assert.deepEqual(heavy, [], `loaded:\n${heavy.join('\n')}`);
  });
}

test('the check sees a heavy package once it is loaded', { timeout: 60_000 }, () => {
  const script = `
    import { createRequire } from 'node:module';
    await import('@grpc/grpc-js');
    process.stdout.write(JSON.stringify(Object.keys(createRequire(import.meta.url).cache)));
  `;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: new URL('.', ROOT),
    encoding: 'utf8',
  });
  assert.ok((JSON.parse(out) as string[]).some((p) => HEAVY.test(p)));
});
