// `prober demo`: `watch` against a small HTTP target started in this process
// on 127.0.0.1 (free port), so the quick start works at once, without
// network. Every watch flag applies; they are handed to watch as given.
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Command } from '@commander-js/extra-typings';
import type { CommandContext } from '../context.js';
import { watchCommand } from './watch.js';

/** The demo's pace unless --interval says otherwise: the target is our own, so no need to be polite. */
const DEMO_INTERVAL = '50ms';

export interface DemoTarget {
  readonly url: string;
  close(): Promise<void>;
}

/** Standard normal deviate (Box-Muller). */
function gaussian(): number {
  return Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random());
}

/**
 * A target that looks like a real service: latency log-normal around 15 ms,
 * about 1 in 40 answers a 503, about 1 in 200 is a slow outlier (300-500 ms).
 */
export async function startDemoTarget(): Promise<DemoTarget> {
  const server = http.createServer((_req, res) => {
    const slow = Math.random() < 0.005;
    const ms = slow ? 300 + Math.random() * 200 : Math.min(250, 15 * Math.exp(0.6 * gaussian()));
    const timer = setTimeout(() => {
      res.statusCode = Math.random() < 0.025 ? 503 : 200;
      res.end('demo\n');
    }, ms);
    res.on('close', () => clearTimeout(timer));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/api`,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close').catch(() => undefined);
    },
  };
}

export function demoCommand(ctx: CommandContext) {
  return new Command('demo')
    .description('watch a demo target started in this process (varied latency, some 503s): needs no network')
    .usage('[watch options]')
    .addHelpText(
      'after',
      `\nEvery option of 'prober watch' applies (see prober watch --help); default --interval ${DEMO_INTERVAL}.`,
    )
    .action(async (_opts, cmd) => {
      const target = await startDemoTarget();
      try {
        // The user's flags come last, so their --interval wins over the demo's.
        await watchCommand(ctx)
          .copyInheritedSettings(cmd)
          .parseAsync([target.url, '--interval', DEMO_INTERVAL, ...cmd.args], { from: 'user' });
      } finally {
        await target.close();
      }
    });
}
