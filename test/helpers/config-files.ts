// Config files written by a test file into a temporary folder of its own,
// removed after the file's tests.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { isConfigError } from '../../src/common/errors.js';
import { DEFAULT_LIMITS } from '../../src/probe/index.js';
import { loadConfigFile } from '../../src/server/config-file.js';

/** Registers the folder's before/after hooks; the function writes `text` to a new file and returns its path. */
export function configFiles(prefix: string): (text: string) => Promise<string> {
  let dir: string;
  let n = 0;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), `prober-${prefix}-`));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  return async (text) => {
    const file = join(dir, `${prefix}-${n++}.yml`);
    await writeFile(file, text);
    return file;
  };
}

/**
 * Each `[text, path, problem]`: loading `text` fails with a ConfigError of
 * option --config whose message is "<file>: <path>: …" (no path: "<file>: …")
 * and matches `problem`.
 */
export async function assertRefused(
  write: (text: string) => Promise<string>,
  cases: ReadonlyArray<readonly [text: string, path: string, problem: RegExp]>,
): Promise<void> {
  for (const [text, path, problem] of cases) {
    const file = await write(text);
    assert.throws(
      () => loadConfigFile(file, DEFAULT_LIMITS),
      (err: unknown) => {
        assert.ok(isConfigError(err), text);
        assert.equal(err.option, '--config');
        assert.ok(err.message.startsWith(`${file}: ${path ? `${path}: ` : ''}`), `${text}\n -> ${err.message}`);
        assert.match(err.message, problem, text);
        return true;
      },
    );
  }
}
