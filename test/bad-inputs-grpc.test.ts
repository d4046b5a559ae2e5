// docs/bad-inputs.md, gRPC half: every row through a real server on
// 127.0.0.1:0, asserting the status code and message (rows: test/helpers/bad-inputs.ts).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { startServer, type RunningServer, type ServerInput } from '../src/server/server.js';
import { type Expected, GOOD_TOKEN, GRPC_ROWS, type GrpcRow, type ServerKind } from './helpers/bad-inputs.js';
import { docTables, renderTables } from './helpers/bad-inputs-doc.js';
import {
  encodeRequest,
  HEALTH_CHECK_PATH,
  PROBE_PATH,
  rawClient,
  rawStream,
  rawUnary,
  STREAM_PATH,
  statusName,
  type RawOutcome,
} from './helpers/raw-grpc.js';

const SILENT = { error: () => {} };

function settings(kind: ServerKind, tokenFile: string): ServerInput {
  const base: ServerInput = { listen: '127.0.0.1:0', warmUp: false, engine: 'inline', logger: SILENT };
  switch (kind) {
    case 'default':
      return base;
    case 'policy':
      return { ...base, targetPolicy: { denyPrivate: true, deny: ['192.0.2.0/24'] } };
    case 'allowlist':
      return { ...base, targetPolicy: { allow: ['198.51.100.0/24'] } };
    case 'auth':
      return { ...base, auth: { tokenFile } };
    case 'proxies':
      return { ...base, allowProxies: true, targetPolicy: { denyPrivate: true } };
  }
}

/** {addr} and {port} of the server the row runs against. */
export function fill(text: string, server: { address: string; port: number }): string {
  return text.replaceAll('{addr}', server.address).replaceAll('{port}', String(server.port));
}

function assertMessage(actual: string, want: Expected, server: RunningServer, id: string): void {
  if (typeof want === 'string') assert.equal(actual, fill(want, server), id);
  else assert.match(actual, want, id);
}

async function call(row: GrpcRow, server: RunningServer, client: grpc.Client): Promise<RawOutcome> {
  const opts = row.authorization !== undefined ? { authorization: row.authorization } : {};
  switch (row.rpc) {
    case 'Check':
      return rawUnary(client, HEALTH_CHECK_PATH, Buffer.alloc(0), opts);
    case 'raw':
      return rawUnary(client, row.raw!.path, Buffer.from(row.raw!.hex, 'hex'), opts);
    default: {
      const req = row.request ?? {};
      const body = encodeRequest({ ...req, ...(req.endpoint ? { endpoint: fill(req.endpoint, server) } : {}) });
      return row.rpc === 'Probe'
        ? rawUnary(client, PROBE_PATH, body, opts)
        : rawStream(client, STREAM_PATH, body, opts);
    }
  }
}

describe('bad inputs through the gRPC server (docs/bad-inputs.md)', () => {
  const servers = new Map<ServerKind, { server: RunningServer; client: grpc.Client }>();

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bad-inputs-'));
    const tokenFile = join(dir, 'tokens');
    writeFileSync(tokenFile, `ci: ${GOOD_TOKEN}\n`);
    for (const kind of new Set(GRPC_ROWS.map((r) => r.server))) {
      const server = await startServer(settings(kind, tokenFile));
      servers.set(kind, { server, client: rawClient(server.address) });
    }
  });
  after(async () => {
    for (const { server, client } of servers.values()) {
      client.close();
      await server.close(0);
    }
  });

  it('docs/bad-inputs.md is generated from the rows', () => {
    assert.equal(
      docTables(),
      renderTables(),
      'docs/bad-inputs.md is stale: run `node --import tsx test/helpers/bad-inputs-doc.ts`',
    );
  });

  it('has at least 40 rows that run today, with unique ids', () => {
    assert.ok(GRPC_ROWS.length >= 40);
    assert.equal(new Set(GRPC_ROWS.map((r) => r.id)).size, GRPC_ROWS.length);
  });

  for (const row of GRPC_ROWS) {
    it(`${row.id}: ${row.code}`, async () => {
      const { server, client } = servers.get(row.server)!;
      const out = await call(row, server, client);
      assert.equal(statusName(out.code), row.code, `${row.id}: ${out.details}`);
      if (row.code !== 'OK') assertMessage(out.details, row.message, server, row.id);
      // A refused call never streams an attempt first.
      else assert.ok(out.messages >= 1, row.id);
      if (row.code !== 'OK') assert.equal(out.messages, 0, row.id);
    });
  }
});
