// curl's HTTP version flags: --http2 (h2 via ALPN over TLS, else HTTP/1.1)
// and --http2-prior-knowledge (h2c; over TLS h2 with no fallback). Only
// collected here; validation (src/probe/validate.ts) owns the meaning.
import { type Command, Option, type OptionValues } from '@commander-js/extra-typings';
import type { ProbeInput } from '../probe/types.js';

/** Adds --http2 and --http2-prior-knowledge (one or the other). */
export function addHttpVersionOptions<A extends unknown[], O extends OptionValues>(cmd: Command<A, O>) {
  return cmd
    .addOption(
      new Option(
        '--http2',
        'HTTP/2 over TLS if the server offers h2 in ALPN, else HTTP/1.1 (http:// stays HTTP/1.1: no Upgrade)',
      ).conflicts('http2PriorKnowledge'),
    )
    .addOption(
      new Option(
        '--http2-prior-knowledge',
        'HTTP/2 without negotiation: h2c for http://, h2 with no fallback to HTTP/1.1 over TLS',
      ),
    );
}

/** The parsed flags addHttpVersionOptions() adds. */
export interface HttpVersionOptions {
  readonly http2?: boolean | undefined;
  readonly http2PriorKnowledge?: boolean | undefined;
}

export function httpVersionInput(opts: HttpVersionOptions): Partial<ProbeInput> {
  if (opts.http2PriorKnowledge === true) return { httpVersion: '2-prior-knowledge' };
  return opts.http2 === true ? { httpVersion: '2' } : {};
}
