// The timed phases of one attempt, in the order they happen. This list is the
// one definition: renderers keep a Record<Phase, ...> so the compiler points
// at every one that must learn a phase when one is added.
// proxy: from TCP connected to a proxy until its CONNECT reply (proxy_url, https:// targets).
export const PHASES = ['dns', 'connect', 'proxy', 'tls', 'ttfb', 'transfer'] as const;
export type Phase = (typeof PHASES)[number];

/** The domain field of a phase: `dnsMs`, `connectMs`, ... */
export type PhaseField = `${Phase}Ms`;

/** Field name per phase, built once (no string building per attempt). */
export const PHASE_FIELD: Readonly<Record<Phase, PhaseField>> = Object.freeze({
  dns: 'dnsMs',
  connect: 'connectMs',
  proxy: 'proxyMs',
  tls: 'tlsMs',
  ttfb: 'ttfbMs',
  transfer: 'transferMs',
});

/** Milliseconds per phase; a phase that did not happen is absent, not 0. */
export type PhaseTimes = { readonly [F in PhaseField]?: number };
