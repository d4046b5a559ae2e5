// Config files written by a test file into a temporary folder of its own,
// removed after the file's tests.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';

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
