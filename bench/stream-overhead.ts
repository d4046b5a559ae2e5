// What the gRPC stream costs per attempt: the same back-to-back attempts run
// by the engine alone and through ProbeStream (server + client in this
// process, so the CPU of both ends is counted).
import { runProbes, validateProbeInput, DEFAULT_LIMITS } from '../src/probe/index.js';
import { connect, probeStream } from '../src/client/index.js';
import { startEmbeddedServer } from '../src/server/server.js';
import { startChildTarget, measure } from './target.js';

export interface StreamRow {
  readonly name: string;
  readonly cpuUsPerAttempt: number;
  readonly attemptsPerSec: number;
}

export async function benchStreamOverhead(n: number): Promise<StreamRow[]> {
  const target = await startChildTarget();
  const server = await startEmbeddedServer();
  const conn = connect(server.address);
  try {
    const input = { endpoint: target.url, repetitions: n, reuseConnections: true, concurrency: 1 };
    const alone = async (): Promise<void> => {
      let seen = 0;
      for await (const _ of runProbes(validateProbeInput(input, DEFAULT_LIMITS))) seen++;
      if (seen !== n) throw new Error(`engine gave ${seen}/${n}`);
    };
    const viaGrpc = async (): Promise<void> => {
      let seen = 0;
      for await (const ev of probeStream(conn, input, { deadlineMs: 120_000 })) if (ev.kind === 'attempt') seen++;
      if (seen !== n) throw new Error(`stream gave ${seen}/${n}`);
    };
    await alone();
    await viaGrpc();
    const a = await measure(alone);
    const g = await measure(viaGrpc);
    return [
      { name: 'engine alone', cpuUsPerAttempt: a.cpuUs / n, attemptsPerSec: (n / a.wallMs) * 1000 },
      { name: 'ProbeStream', cpuUsPerAttempt: g.cpuUs / n, attemptsPerSec: (n / g.wallMs) * 1000 },
    ];
  } finally {
    conn.close();
    await server.close(1000);
    target.close();
  }
}
