// A local target, an embedded prober and a client connection to it, all
// closed when the test ends.
import type { TestContext } from 'node:test';
import { connect, type ProberConnection } from '../../src/client/index.js';
import { startEmbeddedServer } from '../../src/server/server.js';
import { startTarget, type Target } from './target.js';

export async function proberFixture(t: TestContext): Promise<{ target: Target; conn: ProberConnection }> {
  const target = await startTarget();
  const server = await startEmbeddedServer();
  const conn = connect(server.address);
  t.after(async () => {
    conn.close();
    await server.close(1000);
    await target.close();
  });
  return { target, conn };
}
