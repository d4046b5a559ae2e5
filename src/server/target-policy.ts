// The server's target policy: the resolved flags (frozen data) plus its own
// listeners, which are known only once each has bound (port 0 picks one).
// Calls read current() when they start and carry that plain data in their
// ProbeSpec, so the engine applies it wherever it runs (a worker thread too).
import os from 'node:os';
import { isIP } from 'node:net';
import type { TargetPolicy } from '../probe/policy.js';

/** Addresses a wildcard (or named) bind answers on: loopback, unspecified, every interface. */
function wildcardCidrs(): string[] {
  const local = Object.values(os.networkInterfaces()).flatMap((list) =>
    (list ?? []).map((i) => (i.family === 'IPv4' ? `${i.address}/32` : `${i.address.replace(/%.*$/, '')}/128`)),
  );
  return ['127.0.0.0/8', '::1/128', '0.0.0.0/8', '::/128', ...local];
}

export class TargetPolicyRef {
  private policy: TargetPolicy;

  constructor(base: TargetPolicy) {
    this.policy = base;
  }

  /** The policy as plain data, for a ProbeSpec. */
  current(): TargetPolicy {
    return this.policy;
  }

  /** A listener of this server bound `host:port`: requests may never reach it. */
  addListener(name: string, host: string, port: number): void {
    const ip = host.replace(/^\[|\]$/g, '');
    const wildcard = isIP(ip) === 0 || ip === '0.0.0.0' || ip === '::';
    const cidrs = Object.freeze(wildcard ? wildcardCidrs() : [ip]);
    this.policy = Object.freeze({
      ...this.policy,
      self: Object.freeze([...this.policy.self, Object.freeze({ name, port, cidrs })]),
    });
  }
}
