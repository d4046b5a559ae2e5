// docs/bad-inputs.md, CLI half: every CLI row through run(argv, io),
// asserting the first stderr line and the exit code. Rows with a server run
// against a real one on 127.0.0.1:0; the rest use the embedded prober (or
// fail before it starts).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../src/cli/run.js';
import { startServer, type RunningServer, type ServerInput } from '../src/server/server.js';
import { CLI_ROWS, GOOD_TOKEN, type ServerKind } from './helpers/bad-inputs.js';
import { testIo } from './helpers/cli-io.js';

const SILENT = { error: () => {} };

function settings(kind: ServerKind, tokenFile: string): ServerInput {
  const base: ServerInput = { listen: '127.0.0.1:0', warmUp: false, engine: 'inline', logger: SILENT };
  if (kind === 'policy') return { ...base, targetPolicy: { denyPrivate: true, deny: ['192.0.2.0/24'] } };
  if (kind === 'allowlist') return { ...base, targetPolicy: { allow: ['198.51.100.0/24'] } };
  if (kind === 'auth') return { ...base, auth: { tokenFile } };
  if (kind === 'proxies') return { ...base, allowProxies: true, targetPolicy: { denyPrivate: true } };
  return base;
}

describe('bad inputs through the CLI (docs/bad-inputs.md)', () => {
  const servers = new Map<ServerKind, RunningServer>();

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bad-inputs-cli-'));
    const tokenFile = join(dir, 'tokens');
    writeFileSync(tokenFile, `ci: ${GOOD_TOKEN}\n`);
    for (const kind of new Set(CLI_ROWS.flatMap((r) => (r.server ? [r.server] : [])))) {
      servers.set(kind, await startServer(settings(kind, tokenFile)));
    }
  });
  after(async () => {
    for (const s of servers.values()) await s.close(0);
  });

  for (const row of CLI_ROWS) {
    it(`${row.id}: exit ${row.exit}`, async () => {
      const addr = row.server ? servers.get(row.server)!.address : '';
      const fill = (s: string): string => s.replaceAll('{addr}', addr);
      const io = testIo({ env: { ...row.env } });
      const code = await run(row.argv.map(fill), io);
      // Commander adds "(add --help for usage)" on a second line; the message is the first.
      const first = io.stderr.text().split('\n')[0]!;
      if (typeof row.stderr === 'string') assert.equal(first, fill(row.stderr), row.id);
      else assert.match(first, row.stderr, row.id);
      assert.equal(code, row.exit, `${row.id}: ${io.stderr.text()}`);
    });
  }
});
