// Bearer-token check for every call but health (`serve --auth-token-file`).
// A grpc-js server interceptor placed after the logging one in the list, so
// it runs inside it: a rejected call is still logged and counted, as
// UNAUTHENTICATED. The token's name (or fingerprint) goes into the call's
// CallRecord for the log line; the token itself is removed from the metadata
// before the service sees it and is never logged.
import {
  ResponderBuilder,
  ServerInterceptingCall,
  ServerListenerBuilder,
  status as Status,
  type ServerInterceptor,
} from '@grpc/grpc-js';
import { callRecord } from './observer.js';
import { loadTokenFile, matchToken, type TokenSet } from './token-file.js';

/** Reachable without a token: load balancers and orchestrators probe health unauthenticated. */
export const AUTH_EXEMPT_SERVICES: ReadonlySet<string> = new Set(['grpc.health.v1.Health']);

export interface AuthSettings {
  readonly tokenFile: string;
  /** The option naming the file in errors, e.g. `--auth-token-file`. */
  readonly option: string;
  /** As read when the settings were resolved. */
  readonly tokens: TokenSet;
}

function serviceOf(path: string): string {
  return /^\/([^/]+)\//.exec(path)?.[1] ?? '';
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/** The verdict for one call's metadata: the token's name, or why it was refused. */
export function authenticate(tokens: TokenSet, header: unknown): { name: string } | { refused: string } {
  if (typeof header !== 'string') return { refused: "missing 'authorization: Bearer <token>' metadata" };
  const m = BEARER.exec(header);
  if (m === null) return { refused: "'authorization' metadata is not 'Bearer <token>'" };
  const entry = matchToken(tokens, m[1]!);
  return entry === undefined ? { refused: 'token not recognised' } : { name: entry.name };
}

/** Tokens from a file, re-readable (SIGHUP); the interceptor always checks against the latest good set. */
export class TokenAuth {
  private tokens: TokenSet;

  constructor(private readonly settings: AuthSettings) {
    this.tokens = settings.tokens;
  }

  get count(): number {
    return this.tokens.entries.length;
  }

  /** Throws ConfigError and keeps the current tokens when the file is not usable. */
  reload(): number {
    this.tokens = loadTokenFile(this.settings.tokenFile, this.settings.option);
    return this.count;
  }

  interceptor(): ServerInterceptor {
    return (descriptor, call) => {
      // Exempt: pass everything through untouched.
      if (AUTH_EXEMPT_SERVICES.has(serviceOf(descriptor.path))) return new ServerInterceptingCall(call);
      let refused = false;
      const listener = new ServerListenerBuilder()
        .withOnReceiveMetadata((md, next) => {
          const verdict = authenticate(this.tokens, md.get('authorization')[0]);
          md.remove('authorization');
          if ('refused' in verdict) {
            refused = true;
            call.sendStatus({ code: Status.UNAUTHENTICATED, details: verdict.refused });
            return;
          }
          callRecord(md).caller = verdict.name;
          next(md);
        })
        // Nothing of a refused call reaches the service.
        .withOnReceiveMessage((msg, next) => {
          if (!refused) next(msg);
        })
        .withOnReceiveHalfClose((next) => {
          if (!refused) next();
        })
        .build();
      const responder = new ResponderBuilder().withStart((next) => next(listener)).build();
      return new ServerInterceptingCall(call, responder);
    };
  }
}
