// host:port in the forms gRPC and Prometheus exporters take. Callers word
// their own errors (a flag, a config key): this only splits and joins.

export interface HostPort {
  /** Without brackets; undefined for ":port" (all interfaces). */
  readonly host: string | undefined;
  readonly port: number;
}

const HOST_PORT = /^(?:\[([0-9a-fA-F:.%a-zA-Z]+)\]|([^\s:[\]/]*)):(\d{1,5})$/;

/** "host:port", "[v6]:port" or ":port"; undefined when malformed or port > 65535. */
export function splitHostPort(value: string): HostPort | undefined {
  const m = HOST_PORT.exec(value.trim());
  if (m === null) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  const host = m[1] ?? (m[2] === '' ? undefined : m[2]);
  return { host, port };
}

/** "host:port", bracketing IPv6; just the host when `port` is undefined. */
export function formatHostPort(host: string, port?: number): string {
  const h = host.includes(':') ? `[${host}]` : host;
  return port === undefined ? h : `${h}:${port}`;
}

/**
 * Whether `host` names this machine only: localhost, 127.0.0.0/8 or ::1
 * (also as ::ffff:127.x). Used to decide what may go unencrypted.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  return /^(?:::ffff:)?127(?:\.\d{1,3}){3}$/.test(h);
}
