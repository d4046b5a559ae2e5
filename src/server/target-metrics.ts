// Metrics of scheduled targets (targets.ts) on the server's /metrics:
// blackbox_exporter's gauges of each target's latest attempt, computed by the
// same code as /probe (blackbox.ts) and labelled `target` plus the target's
// extra labels; counters and a latency histogram by target; schedule slips;
// and the config reload gauges as Prometheus exposes them. A removed target's
// series are removed, so Prometheus marks them stale.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { AttemptResult, ProbeSpec } from '../probe/types.js';
import { blackboxRegistry, tlsFactsOf, type BlackboxResult } from './blackbox.js';
import type { TargetDefinition } from './config-targets.js';
import type { ErrorLogger } from './error-logger.js';
import { LATENCY_BUCKETS_SECONDS, reasonLabel } from './metrics.js';
import type { TargetObserver } from './targets.js';

export interface TargetMetrics extends TargetObserver {
  /** A config (re)load finished: Prometheus's prober_config_last_reload_* pair. */
  reloaded(success: boolean, atMs?: number): void;
}

type Labels = Record<string, string>;
type Metric = Gauge<string> | Counter<string> | Histogram<string>;

interface TargetState {
  readonly labels: Labels;
  readonly fingerprint: string;
  /** The latest attempt as /probe would report it, to show it again after a rebuild. */
  last?: BlackboxResult;
  /** Every series written for the target, by metric name + labels, to remove them with it. */
  readonly series: Map<string, { metric: Metric; labels: Labels }>;
  /** The blackbox gauges of the latest attempt (a gauge absent from the next attempt goes). */
  gauges: Set<string>;
  seq: number;
}

interface Fixed {
  readonly attempts: Counter<string>;
  readonly failures: Counter<string>;
  readonly duration: Histogram<string>;
  readonly slips: Counter<string>;
  readonly slipSeconds: Counter<string>;
  readonly lastAttempt: Gauge<string>;
  readonly interval: Gauge<string>;
}

const seriesKey = (name: string, labels: Labels): string => `${name}${JSON.stringify(labels)}`;

/** What the scrape of one attempt shows, as /probe would show it. */
function blackboxResult(def: TargetDefinition, spec: ProbeSpec, a: AttemptResult): BlackboxResult {
  return {
    attempt: a,
    success: a.error === undefined,
    // Measured on the engine's thread, like every attempt's latency.
    durationSeconds: a.latencyMs / 1000,
    tls: spec.url.protocol === 'https:',
    tlsFacts: a.status !== undefined ? tlsFactsOf(a) : {},
    module: def.module,
    endpoint: spec.url.toString(),
    spec,
  };
}

function reloadMetrics(registers: Registry[]): TargetMetrics['reloaded'] {
  const ok = new Gauge({
    name: 'prober_config_last_reload_successful',
    help: 'Whether the last configuration (--config) load or reload was successful.',
    registers,
  });
  const at = new Gauge({
    name: 'prober_config_last_reload_success_timestamp_seconds',
    help: 'Timestamp of the last successful configuration (--config) load or reload.',
    registers,
  });
  return (success, atMs = Date.now()) => {
    ok.set(success ? 1 : 0);
    if (success) at.set(atMs / 1000);
  };
}

function fixedMetrics(registers: Registry[], extra: readonly string[]): Fixed {
  const base = ['target', ...extra];
  return {
    attempts: new Counter({
      name: 'prober_target_attempts_total',
      help: 'Finished attempts of scheduled targets, by target and result (success or failure).',
      labelNames: [...base, 'result'],
      registers,
    }),
    failures: new Counter({
      name: 'prober_target_failures_total',
      help: 'Failed attempts of scheduled targets, by target and bounded reason (the ErrorReason enum, lower case).',
      labelNames: [...base, 'reason'],
      registers,
    }),
    duration: new Histogram({
      name: 'prober_target_attempt_duration_seconds',
      help: "Duration of scheduled targets' attempts (start to end of body, or to the failure), by target and result.",
      labelNames: [...base, 'result'],
      buckets: [...LATENCY_BUCKETS_SECONDS],
      registers,
    }),
    slips: new Counter({
      name: 'prober_target_schedule_slips_total',
      help: 'Attempts of a scheduled target that started late (a slow attempt or a busy engine delayed them beyond max(2 ms, 5% of the interval)).',
      labelNames: base,
      registers,
    }),
    slipSeconds: new Counter({
      name: 'prober_target_schedule_slip_seconds_total',
      help: 'Total delay of the late starts counted in prober_target_schedule_slips_total.',
      labelNames: base,
      registers,
    }),
    // With the interval, what tells a stuck schedule from a slow one: the alert
    // ProbeTargetNoFreshData fires when the latest attempt is over 2 intervals old.
    lastAttempt: new Gauge({
      name: 'prober_target_last_attempt_timestamp_seconds',
      help: "Unix time the scheduled target's latest attempt ended.",
      labelNames: base,
      registers,
    }),
    interval: new Gauge({
      name: 'prober_target_interval_seconds',
      help: "The scheduled target's configured interval between attempt starts.",
      labelNames: base,
      registers,
    }),
  };
}

/** Target metrics on `registry` (the server's; its default labels, e.g. region, apply). */
export function createTargetMetrics(registry: Registry, log?: ErrorLogger): TargetMetrics {
  const series = new TargetSeries(registry, log);
  return {
    reloaded: reloadMetrics([registry]),
    configured: (targets) => series.configured(targets),
    attempt: (def, spec, a) => series.attempt(def, spec, a),
    slip: (def, ms) => series.slip(def, ms),
    removed: (def) => series.removed(def),
  };
}

/** Every series of the scheduled targets, by target, so a target's go with it. */
class TargetSeries {
  private readonly registers: Registry[];
  private readonly configuredCount: Gauge<string>;
  /** Label names are fixed per metric: the union of the targets' extra label names. */
  private extra: string[] = [];
  private fixed: Fixed;
  private readonly gauges = new Map<string, Gauge<string>>();
  private readonly states = new Map<string, TargetState>();

  constructor(
    private readonly registry: Registry,
    private readonly log: ErrorLogger | undefined,
  ) {
    this.registers = [registry];
    this.configuredCount = new Gauge({
      name: 'prober_targets',
      help: 'Scheduled targets configured (targets: in --config).',
      registers: this.registers,
    });
    this.fixed = fixedMetrics(this.registers, this.extra);
  }

  configured(targets: readonly TargetDefinition[]): void {
    this.configuredCount.set(targets.length);
    const names = [...new Set(targets.flatMap((t) => Object.keys(t.labels)))].sort();
    if (names.join('\0') === this.extra.join('\0')) return;
    const before = new Map(this.states);
    this.rebuild(names);
    // Targets that run on show their latest attempt again at once (their counters restart at 0).
    for (const t of targets) {
      const old = before.get(t.name);
      if (old?.last !== undefined && old.fingerprint === t.fingerprint) this.show(t, this.stateOf(t), old.last);
    }
  }

  attempt(def: TargetDefinition, spec: ProbeSpec, a: AttemptResult): void {
    const state = this.stateOf(def);
    const f = this.fixed;
    const result = a.error ? 'failure' : 'success';
    f.attempts.inc(this.labels(state, f.attempts, { result }));
    f.duration.observe(this.labels(state, f.duration, { result }), a.latencyMs / 1000);
    if (a.error) f.failures.inc(this.labels(state, f.failures, { reason: reasonLabel(a.error.reason) }));
    f.lastAttempt.set(this.labels(state, f.lastAttempt), (a.startedAt + a.latencyMs) / 1000);
    this.show(def, state, blackboxResult(def, spec, a));
  }

  slip(def: TargetDefinition, delayMs: number): void {
    const state = this.stateOf(def);
    this.fixed.slips.inc(this.labels(state, this.fixed.slips));
    this.fixed.slipSeconds.inc(this.labels(state, this.fixed.slipSeconds), delayMs / 1000);
  }

  removed(def: TargetDefinition): void {
    const state = this.states.get(def.name);
    if (state === undefined) return;
    this.states.delete(def.name);
    for (const { metric, labels } of state.series.values()) metric.remove(labels);
  }

  /** Forget every target series (the extra label names changed): metrics are made again on use. */
  private rebuild(names: string[]): void {
    for (const name of [...Object.values(this.fixed).map((m: Metric) => metricName(m)), ...this.gauges.keys()])
      this.registry.removeSingleMetric(name);
    this.gauges.clear();
    this.states.clear();
    this.extra = names;
    this.fixed = fixedMetrics(this.registers, this.extra);
  }

  /** The target's labels plus `own`, recorded as a series of `metric` (so removal finds it). */
  private labels(state: TargetState, metric: Metric, own: Labels = {}): Labels {
    const labels = { ...state.labels, ...own };
    this.write(state, metric, labels);
    return labels;
  }

  private write(state: TargetState, metric: Metric, labels: Labels): string {
    const key = seriesKey(metricName(metric), labels);
    state.series.set(key, { metric, labels });
    return key;
  }

  private stateOf(def: TargetDefinition): TargetState {
    const known = this.states.get(def.name);
    if (known !== undefined) return known;
    const s: TargetState = {
      labels: { target: def.name, ...def.labels },
      fingerprint: def.fingerprint,
      series: new Map(),
      gauges: new Set(),
      seq: 0,
    };
    this.states.set(def.name, s);
    const f = this.fixed;
    // Created at 0 so rate() and alerts work from the first scrape.
    for (const result of ['success', 'failure']) f.attempts.inc(this.labels(s, f.attempts, { result }), 0);
    f.slips.inc(this.labels(s, f.slips), 0);
    f.slipSeconds.inc(this.labels(s, f.slipSeconds), 0);
    // Fixed per state: a target whose interval changes is removed and made again (its fingerprint).
    f.interval.set(this.labels(s, f.interval), def.intervalMs / 1000);
    return s;
  }

  private gauge(name: string, help: string, own: readonly string[]): Gauge<string> {
    let g = this.gauges.get(name);
    if (g === undefined) {
      g = new Gauge({ name, help, labelNames: ['target', ...this.extra, ...own], registers: this.registers });
      this.gauges.set(name, g);
    }
    return g;
  }

  private show(def: TargetDefinition, state: TargetState, r: BlackboxResult): void {
    this.setGauges(def, state, r).catch((err: unknown) =>
      this.log?.error({ err, target: def.name }, 'target gauges not updated'),
    );
  }

  /** The blackbox gauges of the latest attempt; series the previous attempt had and this one has not are removed. */
  private async setGauges(def: TargetDefinition, state: TargetState, r: BlackboxResult): Promise<void> {
    const seq = ++state.seq;
    state.last = r;
    const json = await blackboxRegistry(r).getMetricsAsJSON();
    // A newer attempt, a removal or a rebuild overtook this one: drop it.
    if (this.states.get(def.name) !== state || state.seq !== seq) return;
    const now = new Set<string>();
    for (const m of json) {
      for (const v of m.values) {
        const own = v.labels as Labels;
        const g = this.gauge(m.name, m.help, Object.keys(own));
        const labels = { ...state.labels, ...own };
        g.set(labels, v.value);
        now.add(this.write(state, g, labels));
      }
    }
    for (const key of state.gauges) {
      if (now.has(key)) continue;
      const s = state.series.get(key);
      s?.metric.remove(s.labels);
      state.series.delete(key);
    }
    state.gauges = now;
  }
}

/** prom-client keeps the name on the metric object. */
function metricName(m: Metric): string {
  return (m as unknown as { name: string }).name;
}
