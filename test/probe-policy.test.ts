// The target policy in the engine: every rule of checkAddress, the resolver
// hook (a test resolver, so no /etc/hosts and no real DNS), the pre-flight
// check, and POLICY_DENIED per attempt when resolution changes mid-run.
// Loopback only: denied non-loopback addresses never reach a socket.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { isIP, type LookupFunction } from 'node:net';
import { status } from '@grpc/grpc-js';
import {
  DEFAULT_LIMITS,
  DEFAULT_TARGET_POLICY,
  checkAddress,
  isPolicyDeniedError,
  parseCidr,
  preflightTarget,
  runAttempt,
  runProbes,
  validateProbeInput,
  type ProbeSpec,
  type TargetPolicy,
} from '../src/probe/index.js';
import { reasonFromProto, reasonToProto, decodeStatusDetails, STATUS_DETAILS_KEY } from '../src/wire/index.js';
import { toServiceError } from '../src/server/status.js';
import { PolicyDeniedError } from '../src/probe/policy.js';
import { startTarget, type Target } from './helpers/target.js';

let target: Target;
before(async () => {
  target = await startTarget();
});
after(async () => {
  await target.close();
});

function policy(p: Partial<TargetPolicy>): TargetPolicy {
  return { ...DEFAULT_TARGET_POLICY, ...p };
}

function verdict(p: TargetPolicy, ip: string, port?: number): string {
  const v = checkAddress(p, ip, port);
  return v.allowed ? 'allowed' : v.rule;
}

test('always denied without any flag: link-local, metadata, unspecified; IPv4-mapped IPv6 judged as IPv4', () => {
  const p = DEFAULT_TARGET_POLICY;
  assert.equal(verdict(p, '169.254.169.254'), 'always denied: 169.254.0.0/16 (link-local/metadata)');
  assert.equal(verdict(p, 'fe80::1'), 'always denied: fe80::/10 (link-local)');
  assert.equal(verdict(p, 'fd00:ec2::254'), 'always denied: fd00:ec2::254/128 (metadata)');
  assert.equal(verdict(p, '0.0.0.0'), 'always denied: 0.0.0.0/8 (unspecified)');
  assert.equal(verdict(p, '::'), 'always denied: ::/128 (unspecified)');
  assert.equal(verdict(p, '::ffff:169.254.169.254'), 'always denied: 169.254.0.0/16 (link-local/metadata)');
  assert.equal(verdict(p, '[::ffff:a9fe:a9fe]'), 'always denied: 169.254.0.0/16 (link-local/metadata)');
  // Private and loopback are fine until --deny-private-targets.
  for (const ip of ['127.0.0.1', '10.1.2.3', '::1', '192.0.2.1', '2001:db8::1'])
    assert.equal(verdict(p, ip), 'allowed');
});

test('--deny-private-targets: RFC 1918, loopback, CGNAT, ULA; mapped loopback too', () => {
  const p = policy({ denyPrivate: true });
  const cases: Record<string, string> = {
    '10.0.0.1': '10.0.0.0/8',
    '172.31.255.1': '172.16.0.0/12',
    '192.168.1.1': '192.168.0.0/16',
    '127.0.0.1': '127.0.0.0/8',
    '127.8.9.10': '127.0.0.0/8',
    '100.64.0.1': '100.64.0.0/10',
    '::1': '::1/128',
    'fd12:3456::1': 'fc00::/7',
    '::ffff:127.0.0.1': '127.0.0.0/8',
    '::ffff:10.0.0.1': '10.0.0.0/8',
  };
  for (const [ip, range] of Object.entries(cases)) assert.equal(verdict(p, ip), `deny-private-targets: ${range}`, ip);
  assert.equal(verdict(p, '172.32.0.1'), 'allowed');
  assert.equal(verdict(p, '100.128.0.1'), 'allowed');
  assert.equal(verdict(p, '2001:db8::1'), 'allowed');
  // The metadata address inside fc00::/7 keeps its more specific rule.
  assert.equal(verdict(p, 'fd00:ec2::254'), 'always denied: fd00:ec2::254/128 (metadata)');
});

test('deny list, allow list, and the most specific range deciding', () => {
  const deny = policy({ deny: ['192.0.2.0/24', '2001:db8::/32'] });
  assert.equal(verdict(deny, '192.0.2.7'), 'deny-target: 192.0.2.0/24');
  assert.equal(verdict(deny, '2001:db8::5'), 'deny-target: 2001:db8::/32');
  assert.equal(verdict(deny, '::ffff:192.0.2.7'), 'deny-target: 192.0.2.0/24');
  assert.equal(verdict(deny, '198.51.100.1'), 'allowed');

  const allow = policy({ allow: ['198.51.100.0/24'] });
  assert.equal(verdict(allow, '198.51.100.9'), 'allowed');
  assert.equal(verdict(allow, '203.0.113.1'), 'allow-target: in no allowed range');
  assert.equal(verdict(allow, '::1'), 'allow-target: in no allowed range');

  // A narrower deny inside an allow wins, and a narrower allow inside a deny.
  const nested = policy({ allow: ['10.0.0.0/8', '192.0.2.9'], deny: ['10.1.0.0/16', '192.0.2.0/24'] });
  assert.equal(verdict(nested, '10.2.0.1'), 'allowed');
  assert.equal(verdict(nested, '10.1.0.1'), 'deny-target: 10.1.0.0/16');
  assert.equal(verdict(nested, '192.0.2.9'), 'allowed');
  assert.equal(verdict(nested, '192.0.2.8'), 'deny-target: 192.0.2.0/24');
  // Same range in both: the deny wins.
  assert.equal(verdict(policy({ allow: ['10.0.0.0/8'], deny: ['10.0.0.0/8'] }), '10.0.0.1'), 'deny-target: 10.0.0.0/8');
});

test('an explicit allow lifts a built-in rule only when at least as specific', () => {
  const priv = policy({ denyPrivate: true, allow: ['10.0.0.0/8'] });
  assert.equal(verdict(priv, '10.9.9.9'), 'allowed');
  assert.equal(verdict(priv, '192.168.0.1'), 'deny-private-targets: 192.168.0.0/16');
  assert.equal(verdict(priv, '192.0.2.1'), 'allow-target: in no allowed range');
  const everything = policy({ allow: ['0.0.0.0/0', '::/0'], denyPrivate: true });
  assert.equal(verdict(everything, '169.254.169.254'), 'always denied: 169.254.0.0/16 (link-local/metadata)');
  assert.equal(verdict(everything, '10.0.0.1'), 'deny-private-targets: 10.0.0.0/8');
  assert.equal(verdict(everything, '8.8.8.8'), 'allowed');
  assert.equal(verdict(policy({ allow: ['169.254.169.254'] }), '169.254.169.254'), 'allowed');
});

test("the server's own listeners: denied by address and port, whatever is allowed", () => {
  const p = policy({
    allow: ['127.0.0.0/8'],
    self: [{ name: 'metrics listener', port: 9464, cidrs: ['127.0.0.0/8', '::1/128'] }],
  });
  assert.equal(verdict(p, '127.0.0.1', 9464), "self: the server's own metrics listener (port 9464)");
  assert.equal(verdict(p, '::ffff:127.0.0.2', 9464), "self: the server's own metrics listener (port 9464)");
  assert.equal(verdict(p, '127.0.0.1', 9465), 'allowed');
});

test('parseCidr: CIDRs and bare addresses; garbage is undefined', () => {
  assert.deepEqual(parseCidr('10.0.0.0/8')?.[1], 8);
  assert.deepEqual(parseCidr('10.0.0.1')?.[1], 32);
  assert.deepEqual(parseCidr('::1')?.[1], 128);
  assert.equal(parseCidr('::ffff:10.0.0.0/104')?.[0].kind(), 'ipv4');
  for (const bad of ['10.0.0.0/33', 'example.com', '', '10.0.0/8x', 'fe80::/129'])
    assert.equal(parseCidr(bad), undefined, bad);
});

/** A resolver answering from a list per call: the n-th lookup gets answers[min(n, last)]. */
function testResolver(answers: string[][]): { lookup: LookupFunction; calls: () => number } {
  let n = 0;
  const lookup = ((_host: string, options: { all?: boolean }, cb: (...a: unknown[]) => void) => {
    const list = answers[Math.min(n++, answers.length - 1)]!;
    const addrs = list.map((address) => ({ address, family: isIP(address) }));
    setImmediate(() => (options.all ? cb(null, addrs) : cb(null, addrs[0]!.address, addrs[0]!.family)));
  }) as unknown as LookupFunction;
  return { lookup, calls: () => n };
}

function spec(host: string, p: TargetPolicy, lookup?: LookupFunction, repetitions = 1): ProbeSpec {
  const s = validateProbeInput({ endpoint: `http://${host}:${target.port}/ok`, repetitions }, DEFAULT_LIMITS, p);
  return lookup ? { ...s, lookup } : s;
}

test('a host name resolving to a denied address: the attempt fails POLICY_DENIED and nothing connects', async () => {
  const before = target.connections().opened;
  const { lookup } = testResolver([['127.0.0.1']]);
  const r = await runAttempt(spec('probe.test', policy({ denyPrivate: true }), lookup), { seq: 1, timeoutMs: 5000 });
  assert.equal(r.error?.reason, 'POLICY_DENIED');
  assert.match(r.error!.message, /127\.0\.0\.1 is denied .*deny-private-targets: 127\.0\.0\.0\/8/);
  assert.equal(r.error?.temporary, false);
  assert.equal(r.remoteAddress, undefined);
  assert.equal(target.connections().opened, before);
});

test('denied addresses are dropped, allowed ones kept: a mixed answer connects to the allowed one', async () => {
  const { lookup } = testResolver([['169.254.169.254', '127.0.0.1']]);
  const r = await runAttempt(spec('mixed.test', DEFAULT_TARGET_POLICY, lookup), { seq: 1, timeoutMs: 5000 });
  assert.equal(r.error, undefined, r.error?.message);
  assert.equal(r.remoteAddress, `127.0.0.1:${target.port}`);
});

test('an IP-literal host is checked before any socket opens (no lookup happens)', async () => {
  const before = target.connections().opened;
  const r = await runAttempt(spec('127.0.0.1', policy({ deny: ['127.0.0.1'] })), { seq: 1, timeoutMs: 5000 });
  assert.equal(r.error?.reason, 'POLICY_DENIED');
  assert.match(r.error!.message, /deny-target: 127\.0\.0\.1/);
  assert.equal(target.connections().opened, before);
});

test('an IP literal denied by the policy: every attempt of a run is POLICY_DENIED (verdict taken once per spec)', async () => {
  const before = target.connections().opened;
  const reasons: string[] = [];
  for await (const r of runProbes(spec('127.0.0.1', policy({ deny: ['127.0.0.0/8'] }), undefined, 3))) {
    reasons.push(r.error?.reason ?? 'ok');
  }
  assert.deepEqual(reasons, ['POLICY_DENIED', 'POLICY_DENIED', 'POLICY_DENIED']);
  assert.equal(target.connections().opened, before);
});

test('DNS rebinding: resolution changes mid-run, later attempts fail POLICY_DENIED', async () => {
  // Allowed for the pre-flight and the first two attempts, then the name "moves" to a denied address.
  const { lookup, calls } = testResolver([['127.0.0.1'], ['127.0.0.1'], ['127.0.0.1'], ['127.0.0.2']]);
  const s = spec('rebind.test', policy({ deny: ['127.0.0.2'] }), lookup, 4);
  await preflightTarget(s, 1000);
  const reasons: (string | undefined)[] = [];
  for await (const a of runProbes(s)) reasons.push(a.error?.reason);
  assert.deepEqual(reasons, [undefined, undefined, 'POLICY_DENIED', 'POLICY_DENIED']);
  assert.equal(calls(), 5, 'one lookup per fresh connection, plus the pre-flight');
});

test('pre-flight: an IP literal or a name whose addresses are all denied throws PolicyDeniedError; DNS failures pass', async () => {
  const deny = policy({ denyPrivate: true });
  await assert.rejects(
    preflightTarget(spec('10.0.0.1', deny), 1000),
    (e) => isPolicyDeniedError(e) && /10\.0\.0\.0\/8/.test(e.rule),
  );
  const all = testResolver([['127.0.0.1', '::1']]);
  await assert.rejects(preflightTarget(spec('both.test', deny, all.lookup), 1000), isPolicyDeniedError);
  const some = testResolver([['127.0.0.1', '192.0.2.1']]);
  await preflightTarget(spec('some.test', deny, some.lookup), 1000);
  const failing = ((_h: string, _o: unknown, cb: (e: Error) => void) =>
    cb(Object.assign(new Error('nope'), { code: 'ENOTFOUND' }))) as unknown as LookupFunction;
  await preflightTarget(spec('nx.test', deny, failing), 1000);
});

test('POLICY_DENIED crosses the wire by name, and PERMISSION_DENIED carries an ErrorInfo detail', () => {
  assert.equal(reasonFromProto(reasonToProto('POLICY_DENIED')), 'POLICY_DENIED');
  const err = toServiceError(
    new PolicyDeniedError('169.254.169.254', 'always denied: 169.254.0.0/16 (link-local/metadata)'),
  );
  assert.equal(err.code, status.PERMISSION_DENIED);
  assert.match(err.details, /169\.254\.169\.254 is denied by the target policy \(always denied: 169\.254\.0\.0\/16/);
  const bytes = err.metadata.get(STATUS_DETAILS_KEY)[0] as Buffer;
  const d = decodeStatusDetails(bytes);
  assert.equal(d?.code, status.PERMISSION_DENIED);
  assert.deepEqual(d?.errorInfo, {
    reason: 'POLICY_DENIED',
    domain: 'prober',
    metadata: { rule: 'always denied: 169.254.0.0/16 (link-local/metadata)', address: '169.254.169.254' },
  });
});

test('the policy is plain data: it survives a thread boundary (structuredClone) and still applies', async () => {
  const p = policy({ deny: ['127.0.0.1'], self: [{ name: 'gRPC listener', port: 1, cidrs: ['127.0.0.0/8'] }] });
  const { url, ...rest } = spec('127.0.0.1', p);
  const cloned: ProbeSpec = { ...structuredClone(rest), url: new URL(url.href) };
  assert.notEqual(cloned.targetPolicy, p);
  const r = await runAttempt(cloned, { seq: 1, timeoutMs: 5000 });
  assert.equal(r.error?.reason, 'POLICY_DENIED');
});
