// The connection flags, under curl's names: -4/--ipv4, -6/--ipv6 and
// --resolve host:port:addr (repeatable). Only collected here; validation
// (src/probe/family.ts) owns the syntax of --resolve.
import { type Command, Option, type OptionValues } from '@commander-js/extra-typings';
import type { ProbeInput } from '../probe/types.js';

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Adds -4, -6 and --resolve. */
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
    );
}

/** The parsed flags addNetOptions() adds. */
export interface NetOptions {
  readonly ipv4?: boolean | undefined;
  readonly ipv6?: boolean | undefined;
  readonly resolve?: string[] | undefined;
}

export function netInput(opts: NetOptions): Partial<ProbeInput> {
  const ipFamily = opts.ipv4 === true ? 4 : opts.ipv6 === true ? 6 : undefined;
  return {
    ...(ipFamily !== undefined ? { ipFamily } : {}),
    ...(opts.resolve ? { resolve: opts.resolve } : {}),
  };
}
