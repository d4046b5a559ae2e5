// The connection flags, under curl's names: -4/--ipv4, -6/--ipv6,
// --resolve host:port:addr (repeatable) and --proxy URL. Only collected here;
// validation (src/probe/family.ts, proxy.ts) owns their syntax.
import { type Command, Option, type OptionValues } from '@commander-js/extra-typings';
import type { ProbeInput } from '../probe/types.js';

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Adds -4, -6, --resolve and --proxy. */
export function addNetOptions<A extends unknown[], O extends OptionValues>(cmd: Command<A, O>) {
  return cmd
    .addOption(
      new Option('-4, --ipv4', 'connect over IPv4 only (default: either, in the resolver order)').conflicts('ipv6'),
    )
    .addOption(new Option('-6, --ipv6', 'connect over IPv6 only (default: either, in the resolver order)'))
    .option(
      '--resolve <host:port:addr>',
      'connect to addr for host:port instead of asking DNS (repeatable; IPv6 in brackets; Host and SNI stay the host)',
      collect,
    )
    .option(
      '--proxy <url>',
      'probe through this HTTP proxy, http://[user:pass@]host[:port] (port 1080 if unset): CONNECT for https://, absolute form for http://',
    );
}

/** The parsed flags addNetOptions() adds. */
export interface NetOptions {
  readonly ipv4?: boolean | undefined;
  readonly ipv6?: boolean | undefined;
  readonly resolve?: string[] | undefined;
  readonly proxy?: string | undefined;
}

export function netInput(opts: NetOptions): Partial<ProbeInput> {
  const ipFamily = opts.ipv4 === true ? 4 : opts.ipv6 === true ? 6 : undefined;
  return {
    ...(ipFamily !== undefined ? { ipFamily } : {}),
    ...(opts.resolve ? { resolve: opts.resolve } : {}),
    ...(opts.proxy !== undefined ? { proxyUrl: opts.proxy } : {}),
  };
}
