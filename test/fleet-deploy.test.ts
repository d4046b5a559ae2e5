// deploy/ for a fleet of regions: Kubernetes manifests (base + one kustomize
// overlay per region) rendered here and validated against the Kubernetes and
// Prometheus Operator schemas (kubernetes-models); the per-region and global
// Prometheus configs checked with promtool; the systemd unit checked with
// systemd-analyze; the Dockerfile referring to files that exist.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Service } from 'kubernetes-models/v1/Service';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { Probe } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/Probe';

const run = promisify(execFile);
const root = (p: string): string => fileURLToPath(new URL(`../${p}`, import.meta.url));
const K8S = root('deploy/kubernetes');
const REGIONS = ['eu', 'us', 'ap'] as const;

function binary(name: string, apt: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const path = found.status === 0 ? found.stdout.trim() : undefined;
  if (!path && process.env.CI) throw new Error(`${name} is required in CI (apt-get install -y ${apt})`);
  return path;
}
const promtool = binary('promtool', 'prometheus');
const systemdAnalyze = binary('systemd-analyze', 'systemd');
// Optional: only to cross-check the test's own kustomize rendering.
const kubectl = spawnSync('sh', ['-c', 'command -v kubectl'], { encoding: 'utf8' }).stdout.trim() || undefined;

// biome-ignore lint/suspicious/noExplicitAny: manifests are free-form YAML
type Obj = Record<string, any>;

// ---- a minimal kustomize: exactly the features the overlays use ----------

interface Kustomization {
  resources: string[];
  namePrefix?: string;
  labels?: Array<{ pairs: Record<string, string>; includeSelectors?: boolean }>;
  patches?: Array<{ target: { kind: string; name: string }; patch: string }>;
}
const SUPPORTED = new Set(['apiVersion', 'kind', 'resources', 'namePrefix', 'labels', 'patches']);

async function loadYamlDocs(file: string): Promise<Obj[]> {
  const docs = parseAllDocuments(await readFile(file, 'utf8'));
  for (const d of docs) assert.deepEqual(d.errors, [], `${file}: YAML errors`);
  return docs.map((d) => d.toJS() as Obj).filter((d) => d !== null);
}

/** RFC 6902 `add` / `replace` (the only ops the overlays use). */
function applyJsonPatch(doc: Obj, ops: Array<{ op: string; path: string; value: unknown }>): void {
  for (const { op, path, value } of ops) {
    assert.ok(op === 'add' || op === 'replace', `unsupported patch op ${op}`);
    const keys = path
      .split('/')
      .slice(1)
      .map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = keys.pop()!;
    let at: Obj = doc;
    for (const k of keys) {
      at = Array.isArray(at) ? at[Number(k)] : at[k];
      assert.ok(at && typeof at === 'object', `patch path ${path} does not exist`);
    }
    if (Array.isArray(at)) {
      if (last === '-') at.push(value);
      else if (op === 'add') at.splice(Number(last), 0, value);
      else at[Number(last)] = value;
    } else {
      if (op === 'replace') assert.ok(last in at, `replace of missing ${path}`);
      at[last] = value;
    }
  }
}

/** Where kustomize's label transformer puts selector labels, for the kinds used here. */
function selectorMaps(r: Obj): Obj[] {
  const maps: Obj[] = [];
  const want = (o: Obj | undefined, ...path: string[]): void => {
    let at = o;
    for (const k of path.slice(0, -1)) at = at?.[k];
    if (!at) return;
    const last = path.at(-1)!;
    at[last] ??= {};
    maps.push(at[last]);
  };
  switch (r.kind) {
    case 'Deployment':
      want(r.spec, 'selector', 'matchLabels');
      want(r.spec.template, 'metadata', 'labels');
      for (const c of r.spec.template.spec.topologySpreadConstraints ?? []) want(c, 'labelSelector', 'matchLabels');
      break;
    case 'Service':
      want(r, 'spec', 'selector');
      break;
    case 'PodDisruptionBudget':
      want(r.spec, 'selector', 'matchLabels');
      break;
    case 'NetworkPolicy':
      want(r.spec, 'podSelector', 'matchLabels');
      for (const rule of [...(r.spec.ingress ?? []), ...(r.spec.egress ?? [])])
        for (const peer of [...(rule.from ?? []), ...(rule.to ?? [])])
          if (peer.podSelector) want(peer.podSelector, 'matchLabels');
      break;
  }
  return maps;
}

async function build(dir: string): Promise<Obj[]> {
  const k = parse(await readFile(join(dir, 'kustomization.yaml'), 'utf8')) as Kustomization;
  for (const key of Object.keys(k))
    assert.ok(SUPPORTED.has(key), `${dir}: kustomization field ${key} not rendered by this test`);
  const out: Obj[] = [];
  for (const res of k.resources) {
    const path = join(dir, res);
    if (existsSync(join(path, 'kustomization.yaml'))) out.push(...(await build(path)));
    else out.push(...(await loadYamlDocs(path)));
  }
  for (const p of k.patches ?? []) {
    const hits = out.filter((r) => r.kind === p.target.kind && r.metadata.name === p.target.name);
    assert.equal(hits.length, 1, `${dir}: patch target ${p.target.kind}/${p.target.name}`);
    applyJsonPatch(hits[0]!, parse(p.patch));
  }
  for (const r of out) {
    if (k.namePrefix) r.metadata.name = k.namePrefix + r.metadata.name;
    for (const l of k.labels ?? []) {
      r.metadata.labels ??= {};
      Object.assign(r.metadata.labels, l.pairs);
      if (l.includeSelectors) for (const m of selectorMaps(r)) Object.assign(m, l.pairs);
    }
  }
  return out;
}

const one = (rs: Obj[], kind: string, suffix = ''): Obj => {
  const hits = rs.filter((r) => r.kind === kind && r.metadata.name.endsWith(`prober${suffix}`));
  assert.equal(hits.length, 1, `one ${kind} named *prober${suffix}`);
  return hits[0]!;
};
const matches = (selector: Obj, labels: Obj): boolean => Object.entries(selector).every(([k, v]) => labels[k] === v);

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment,
  'v1/Service': Service,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
  'monitoring.coreos.com/v1/Probe': Probe,
};

function validate(r: Obj, where: string): void {
  const Model = MODELS[`${r.apiVersion}/${r.kind}`];
  assert.ok(Model, `${where}: no schema for ${r.apiVersion} ${r.kind}`);
  try {
    new Model(r as never).validate();
  } catch (err) {
    assert.fail(`${where}: ${r.kind}/${r.metadata?.name} does not match the schema: ${(err as Error).message}`);
  }
}

// ---- Kubernetes -----------------------------------------------------------

test('kubernetes: the minimal kustomize honours patches, prefixes and selector labels', () => {
  const d: Obj = { a: { list: [1], m: { x: 1 } } };
  applyJsonPatch(d, [
    { op: 'add', path: '/a/list/-', value: 2 },
    { op: 'add', path: '/a/m/y', value: 2 },
    { op: 'replace', path: '/a/m/x', value: 3 },
  ]);
  assert.deepEqual(d, { a: { list: [1, 2], m: { x: 3, y: 2 } } });
  assert.throws(() => applyJsonPatch(d, [{ op: 'replace', path: '/a/nope', value: 1 }]));
  assert.throws(() => applyJsonPatch(d, [{ op: 'remove', path: '/a', value: 1 }]));
});

test('kubernetes: base and every overlay validate against the Kubernetes and Prometheus Operator schemas', async () => {
  const base = await build(join(K8S, 'base'));
  assert.deepEqual(base.map((r) => r.kind).sort(), [
    'Deployment',
    'NetworkPolicy',
    'PodDisruptionBudget',
    'Probe',
    'Service',
    'Service',
    'ServiceMonitor',
  ]);
  for (const r of base) validate(r, 'base');
  for (const region of REGIONS) {
    const rs = await build(join(K8S, 'overlays', region));
    assert.equal(rs.length, base.length);
    for (const r of rs) validate(r, `overlays/${region}`);
  }
  // The validation is real: a wrong type is caught.
  const bad = structuredClone(one(base, 'Deployment'));
  bad.spec.template.spec.containers[0].ports[0].containerPort = 'grpc';
  assert.throws(() => validate(bad, 'mutated'), /containerPort must be integer/);
});

test('kubernetes: each overlay sets --region, a name prefix and region selectors that fit together', async () => {
  for (const region of REGIONS) {
    const rs = await build(join(K8S, 'overlays', region));
    for (const r of rs) {
      assert.ok(r.metadata.name.startsWith(`${region}-`), `${r.kind} ${r.metadata.name} prefixed`);
      assert.equal(r.metadata.labels.region, region);
      assert.equal(r.metadata.namespace, 'prober');
    }
    const dep = one(rs, 'Deployment');
    const pod = dep.spec.template.metadata.labels as Obj;
    const args = dep.spec.template.spec.containers[0].args as string[];
    assert.equal(args[0], 'serve');
    const at = args.indexOf('--region');
    assert.ok(at > 0 && args.indexOf('--region', at + 1) === -1, `${region}: exactly one --region`);
    assert.equal(args[at + 1], region);
    assert.ok(matches(dep.spec.selector.matchLabels, pod) && dep.spec.selector.matchLabels.region === region);

    const grpc = one(rs, 'Service');
    const metrics = one(rs, 'Service', '-metrics');
    for (const s of [grpc, metrics]) assert.ok(matches(s.spec.selector, pod) && s.spec.selector.region === region);
    assert.deepEqual(
      grpc.spec.ports.map((p: Obj) => p.port),
      [50051],
      'only gRPC is exposed beyond the cluster',
    );
    assert.equal(metrics.spec.type, 'ClusterIP');

    const pdb = one(rs, 'PodDisruptionBudget');
    assert.ok(matches(pdb.spec.selector.matchLabels, pod) && pdb.spec.selector.matchLabels.region === region);
    assert.ok(pdb.spec.minAvailable < dep.spec.replicas, 'the PDB lets a node drain');

    const np = one(rs, 'NetworkPolicy');
    assert.ok(matches(np.spec.podSelector.matchLabels, pod) && np.spec.podSelector.matchLabels.region === region);
    assert.deepEqual(np.spec.policyTypes, ['Ingress', 'Egress']);
    const ports = np.spec.ingress.flatMap((r: Obj) => r.ports.map((p: Obj) => p.port)).sort();
    assert.deepEqual(ports, [50051, 9464]);
    const metricsRule = np.spec.ingress.find((r: Obj) => r.ports.some((p: Obj) => p.port === 9464));
    assert.ok(metricsRule.from?.length, 'metrics and /probe only from the monitoring namespace');
    const egress = np.spec.egress.flatMap((r: Obj) => r.to ?? []);
    assert.ok(
      egress.some((p: Obj) => p.ipBlock?.except?.includes('169.254.0.0/16')),
      'no egress to link-local/metadata',
    );

    const sm = one(rs, 'ServiceMonitor');
    assert.ok(
      matches(sm.spec.selector.matchLabels, metrics.metadata.labels),
      'ServiceMonitor selects the metrics Service',
    );
    assert.ok(!matches(sm.spec.selector.matchLabels, grpc.metadata.labels), 'and not the gRPC one');
    assert.equal(sm.spec.selector.matchLabels.region, region, 'and only its own region');
    assert.deepEqual(
      sm.spec.endpoints.map((e: Obj) => [e.port, e.path]),
      [['metrics', '/metrics']],
    );

    const probe = one(rs, 'Probe');
    assert.equal(probe.spec.prober.url, `${metrics.metadata.name}.${metrics.metadata.namespace}.svc:9464`);
    assert.equal(probe.spec.prober.path, '/probe');
    assert.equal(probe.spec.jobName, 'prober_probe', 'same job as rules.yml and the dashboard expect');
    assert.ok(['http_2xx', 'http_head', 'http_2xx_3xx'].includes(probe.spec.module), 'a module /probe knows');
    assert.ok(probe.spec.targets.staticConfig.static.length > 0);
  }
});

test('kubernetes: hardened pod, resources, TLS and token from Secrets, health checks that work with TLS', async () => {
  const dep = one(await build(join(K8S, 'base')), 'Deployment');
  const pod = dep.spec.template.spec;
  assert.equal(pod.securityContext.runAsNonRoot, true);
  assert.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault');
  assert.equal(pod.automountServiceAccountToken, false);
  assert.ok(dep.spec.replicas >= 2);
  const [c, ...rest] = pod.containers as Obj[];
  assert.equal(rest.length, 0);
  const sc = c!.securityContext;
  assert.equal(sc.readOnlyRootFilesystem, true);
  assert.equal(sc.allowPrivilegeEscalation, false);
  assert.equal(sc.runAsNonRoot, true);
  assert.deepEqual(sc.capabilities.drop, ['ALL']);
  assert.equal(sc.capabilities.add, undefined);
  for (const k of ['requests', 'limits']) {
    assert.ok(c!.resources[k].cpu && c!.resources[k].memory, `resources.${k}`);
  }

  // Every file flag points into a volume mounted from the named Secret.
  const args = c!.args as string[];
  const flag = (f: string): string => {
    const i = args.indexOf(f);
    assert.ok(i >= 0, `${f} given`);
    return args[i + 1]!;
  };
  const secretOf = (file: string): string => {
    const m = (c!.volumeMounts as Obj[]).find((vm) => file.startsWith(`${vm.mountPath}/`));
    assert.ok(m, `${file} is on a mounted volume`);
    assert.equal(m.readOnly, true);
    const v = (pod.volumes as Obj[]).find((x) => x.name === m.name);
    assert.ok(v?.secret, `${file} comes from a Secret`);
    return `${v.secret.secretName}:${file.slice(m.mountPath.length + 1)}`;
  };
  assert.equal(secretOf(flag('--tls-cert')), 'prober-tls:tls.crt');
  assert.equal(secretOf(flag('--tls-key')), 'prober-tls:tls.key');
  assert.equal(secretOf(flag('--auth-token-file')), 'prober-tokens:tokens');
  assert.ok(args.includes('--deny-private-targets'));
  assert.ok(
    (c!.volumeMounts as Obj[]).some((vm) => vm.mountPath === '/tmp'),
    'a writable /tmp',
  );
  // Modes are numbers both YAML 1.1 (kubectl) and 1.2 read alike: no leading 0.
  for (const v of pod.volumes as Obj[])
    if (v.secret) assert.equal(v.secret.defaultMode, 0o440, `${v.name}: secret files owner+group read-only`);

  // Kubelet's gRPC probe is plaintext only: against a TLS port it can never
  // pass. With --tls-cert no probe may be `grpc:` on the gRPC port.
  const probes = ['startupProbe', 'livenessProbe', 'readinessProbe'].map((p) => c![p] as Obj);
  for (const p of probes) assert.ok(p, 'startup, liveness and readiness probes');
  const grpcPort = (c!.ports as Obj[]).find((p) => p.name === 'grpc')?.containerPort;
  assert.equal(grpcPort, 50051);
  for (const p of probes) assert.ok(!(p.grpc && p.grpc.port === grpcPort), 'no plaintext gRPC probe on the TLS port');
  assert.equal(c!.livenessProbe.httpGet.path, '/-/healthy');
  assert.equal(c!.livenessProbe.httpGet.port, 'metrics');
  assert.equal(c!.readinessProbe.tcpSocket.port, 'grpc');
});

test('kubernetes: our rendering equals `kubectl kustomize`', {
  skip: kubectl ? false : 'kubectl not installed (optional cross-check)',
}, async () => {
  for (const region of REGIONS) {
    const dir = join(K8S, 'overlays', region);
    const { stdout } = await run(kubectl!, ['kustomize', dir], { maxBuffer: 1 << 24 });
    const theirs = parseAllDocuments(stdout).map((d) => d.toJS() as Obj);
    const key = (r: Obj): string => `${r.kind}/${r.metadata.name}`;
    const sort = (rs: Obj[]): Obj[] => [...rs].sort((a, b) => key(a).localeCompare(key(b)));
    assert.deepEqual(sort(await build(dir)), sort(theirs), region);
  }
});

test('Dockerfile: node:20-slim, production dependencies, non-root, copies files that exist', async () => {
  const df = await readFile(root('deploy/Dockerfile'), 'utf8');
  const froms = [...df.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
  assert.ok(froms.length >= 1 && froms.every((f) => f === 'node:20-slim'), `FROM ${froms.join(', ')}`);
  assert.match(df, /^RUN npm ci --omit=dev/m);
  const users = [...df.matchAll(/^USER (\S+)/gm)].map((m) => m[1]!);
  assert.ok(users.length > 0, 'a USER line');
  assert.match(users.at(-1)!, /^[1-9]\d*(:\d+)?$/, 'a numeric non-root user (runAsNonRoot can check it)');
  const sources = [...df.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(/\s+/));
  assert.ok(sources.includes('package-lock.json') && sources.includes('src'));
  for (const s of sources) assert.ok(existsSync(root(s)), `COPY ${s}: exists in the repository`);
  // The build context filter lets every copied path through.
  const ignore = await readFile(root('deploy/Dockerfile.dockerignore'), 'utf8');
  for (const s of sources) assert.match(ignore, new RegExp(`^!${s.replace('.', '\\.')}/?$`, 'm'), `${s} not ignored`);
  const entry = /^ENTRYPOINT \[(.*)\]$/m.exec(df);
  assert.ok(entry && entry[1]!.includes('/app/bin/prober.js'));
  assert.ok(existsSync(root('bin/prober.js')));
  // The image named in the manifests is the documented placeholder.
  const dep = one(await build(join(K8S, 'base')), 'Deployment');
  const image = dep.spec.template.spec.containers[0].image as string;
  assert.match(df, new RegExp(image.replace(/[.:/]/g, '\\$&')));
  assert.match(await readFile(root('docs/deploy.md'), 'utf8'), new RegExp(image.replace(/[.:/]/g, '\\$&')));
});

// ---- Prometheus across regions ---------------------------------------------

const SKIP_PROMTOOL = promtool ? false : 'promtool not installed (Debian: apt-get install -y prometheus)';

test('promtool: the per-region and global Prometheus configs are valid', { skip: SKIP_PROMTOOL }, async () => {
  for (const f of ['region.yml', 'global.yml']) {
    const res = await run(promtool!, ['check', 'config', root(`deploy/prometheus/fleet/${f}`)]);
    assert.match(res.stdout, /SUCCESS.*is valid prometheus config/, f);
  }
  const region = parse(await readFile(root('deploy/prometheus/fleet/region.yml'), 'utf8')) as Obj;
  assert.ok(region.global.external_labels.region, 'a region external label');
  assert.ok(region.remote_write?.[0]?.url, 'remote-writes to the global one');
  assert.ok(region.remote_write[0].tls_config && region.remote_write[0].authorization, 'over TLS with a credential');
  const keep = region.remote_write[0].write_relabel_configs?.find((r: Obj) => r.action === 'keep');
  for (const name of ['prober_attempts_total', 'probe_success', 'up'])
    assert.match(name, new RegExp(`^(?:${keep.regex})$`), `${name} reaches the global Prometheus`);
  const global = parse(await readFile(root('deploy/prometheus/fleet/global.yml'), 'utf8')) as Obj;
  assert.deepEqual(global.rule_files, ['../rules.yml'], 'the global Prometheus evaluates the shared rules');
});

test('rules: the quorum alert and per-region rules use the region label', async () => {
  const rules = parse(await readFile(root('deploy/prometheus/rules.yml'), 'utf8')) as Obj;
  const all = (rules.groups as Obj[]).flatMap((g) => g.rules as Obj[]);
  const quorum = all.find((r) => r.alert === 'ProberEndpointDownInRegions');
  assert.ok(quorum, 'quorum alert');
  assert.match(quorum.expr, /count by \(endpoint\) \(prober:region_failing:rate2m == 1\) >= 2/);
  assert.equal(quorum.for, '2m');
  const failing = all.find((r) => r.record === 'prober:region_failing:rate2m');
  assert.ok(failing);
  const ratio = all.find((r) => r.record === 'prober:region_success_ratio:rate2m');
  assert.match(ratio?.expr, /by \(region, endpoint\)/);
  // promtool test rules (run by test/obs-deploy.test.ts) has both cases.
  const unit = await readFile(root('deploy/prometheus/rules.test.yml'), 'utf8');
  assert.match(unit, /alertname: ProberEndpointDownInRegions\n\s+exp_alerts: \[\]/);
  assert.match(unit, /alertname: ProberEndpointDownInRegions\n\s+exp_alerts:\n\s+- exp_labels:/);
});

// ---- Plain VMs: systemd ------------------------------------------------------

test('systemd: the unit verifies cleanly and is hardened', {
  skip: systemdAnalyze ? false : 'systemd-analyze not installed (Debian: apt-get install -y systemd)',
}, async () => {
  const unit = await readFile(root('deploy/systemd/prober.service'), 'utf8');
  for (const want of [
    /^DynamicUser=yes$/m,
    /^NoNewPrivileges=yes$/m,
    /^ProtectSystem=strict$/m,
    /^ProtectHome=yes$/m,
    /^PrivateTmp=yes$/m,
    /^CapabilityBoundingSet=$/m,
    /^RestrictAddressFamilies=AF_INET AF_INET6/m,
    /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m,
    /--region \$\{PROBER_REGION\}/,
    /--tls-cert \S+/,
    /--auth-token-file \S+/,
  ])
    assert.match(unit, want);
  // verify needs ExecStart's binary to exist: point it at this node.
  assert.match(unit, /^ExecStart=\/usr\/bin\/node /m);
  const dir = await mkdtemp(join(tmpdir(), 'prober-unit-'));
  try {
    const copy = join(dir, 'prober.service');
    await writeFile(copy, unit.replace(/^ExecStart=\/usr\/bin\/node /m, `ExecStart=${process.execPath} `));
    const verify = spawnSync(systemdAnalyze!, ['verify', copy], { encoding: 'utf8' });
    // Unknown or misspelt keys are only warnings (exit 0): stderr must be empty too.
    assert.equal(verify.status, 0, verify.stderr);
    assert.equal(verify.stderr.trim(), '', verify.stderr);
    const security = spawnSync(systemdAnalyze!, ['security', '--offline=true', copy], { encoding: 'utf8' });
    const level = /Overall exposure level for prober\.service: ([\d.]+)/.exec(security.stdout);
    if (level) assert.ok(Number(level[1]) <= 2, `exposure ${level[1]} (systemd-analyze security)`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

// ---- Grafana ------------------------------------------------------------------

test('Grafana: a region variable filters the prober queries; a panel compares regions', async () => {
  const dash = JSON.parse(await readFile(root('deploy/grafana/dashboards/prober.json'), 'utf8')) as Obj;
  const region = (dash.templating.list as Obj[]).find((v) => v.name === 'region');
  assert.ok(region && region.type === 'query' && region.includeAll && region.multi, 'a multi-value region variable');
  assert.match(region.definition, /^label_values\(prober_\w+\{.*\}, region\)$/);
  const exprs = (dash.panels as Obj[]).flatMap((p) => (p.targets ?? []).map((t: Obj) => t.expr as string));
  for (const e of exprs)
    for (const m of e.matchAll(/\bprober_[a-z_]+\{([^}]*)\}/g))
      assert.match(m[1]!, /region=~"\$region"/, `prober_* selector without the region filter: ${e}`);
  const compare = (dash.panels as Obj[]).filter((p) =>
    (p.targets ?? []).some((t: Obj) => /sum by \(region, le\)/.test(t.expr) && t.legendFormat?.includes('{{region}}')),
  );
  assert.ok(compare.length > 0, 'a per-region latency comparison panel');
});
