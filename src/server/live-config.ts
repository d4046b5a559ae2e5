// The --config file while the server runs: its targets scheduled at start,
// and reloads (SIGHUP, POST /-/reload). A reload re-reads and checks the whole
// file first; a bad one is refused with the file and path and the old config
// keeps running. A good one swaps the modules (/probe and ProbeRequest.module,
// for calls that start from then on) and the targets (targets.ts: added ones
// start, removed ones stop and lose their series, changed ones restart).
// Only this file reloads: ports, TLS, tokens, limits and the policy are the
// start's (TLS, tokens and --web-config have their own SIGHUP reload).
import type { Registry } from 'prom-client';
import { runProbes as inlineRunProbes } from '../probe/index.js';
import { loadConfigFile, type ConfigFile } from './config-file.js';
import type { ServerSettings } from './config.js';
import { BLACKBOX_MODULES, type ModuleTable } from './modules.js';
import type { RunProbesFn } from './service.js';
import type { TargetMetrics } from './target-metrics.js';
import { type TargetChanges, type TargetLogger, TargetScheduler } from './targets.js';

export interface ConfigReload {
  readonly file: string;
  readonly modules: number;
  readonly targets: TargetChanges;
}

/** What a reload swaps: the service's and /probe's modules. */
export interface ModuleSinks {
  setModules(modules: ModuleTable): void;
}

export interface LiveConfigOptions {
  readonly settings: ServerSettings;
  /** The service, and the metrics port when open. */
  readonly sinks: readonly ModuleSinks[];
  /** undefined: the engine on this thread. */
  readonly runProbes: RunProbesFn | undefined;
  /** The server's registry, when metrics are on. */
  readonly registry: Registry | undefined;
}

export class LiveConfig {
  private current: ConfigFile;
  private readonly scheduler: TargetScheduler;
  private readonly metrics: TargetMetrics | undefined;
  private readonly log: TargetLogger & { info(obj: object, msg?: string): void };

  private constructor(
    private readonly o: LiveConfigOptions,
    file: ConfigFile,
    metrics: TargetMetrics | undefined,
  ) {
    this.current = file;
    this.metrics = metrics;
    const { settings } = o;
    const err = settings.errorLogger;
    this.log = settings.logger ?? { error: (o, m) => err.error(o, m), warn: (o, m) => err.error(o, m), info: () => {} };
    this.scheduler = new TargetScheduler({
      runProbes: o.runProbes ?? inlineRunProbes,
      limits: settings.limits,
      targetPolicy: settings.targetPolicy,
      ...(metrics ? { observer: metrics } : {}),
      logger: this.log,
    });
  }

  /** Starts the file's targets (the config was checked by resolveServerConfig). */
  static async start(o: LiveConfigOptions): Promise<LiveConfig> {
    const file = o.settings.configFile;
    if (file === undefined) throw new Error('LiveConfig needs a --config file');
    let metrics: TargetMetrics | undefined;
    if (o.registry !== undefined) {
      const { createTargetMetrics } = await import('./target-metrics.js');
      metrics = createTargetMetrics(o.registry, o.settings.errorLogger);
    }
    const live = new LiveConfig(o, file, metrics);
    await live.scheduler.apply(file.targets);
    metrics?.reloaded(true);
    if (file.targets.length > 0)
      live.log.info({ config: file.file, targets: file.targets.map((t) => t.name) }, 'scheduled targets started');
    if (file.targets.length > 0 && metrics === undefined)
      live.log.warn({ config: file.file }, 'scheduled targets are probed but metrics are off: nothing will show them');
    return live;
  }

  get file(): ConfigFile {
    return this.current;
  }

  /** Names of the targets running now. */
  targetNames(): string[] {
    return this.scheduler.names();
  }

  /**
   * Re-reads the file. A bad file throws ConfigError ("<file>: <path>:
   * <problem>") and nothing changes; a good one is in use for new calls and
   * /probe when this returns, and its targets once `targets` resolves.
   */
  reload(): { readonly file: ConfigFile; readonly targets: Promise<TargetChanges> } {
    const { settings } = this.o;
    const before = this.current;
    let next: ConfigFile;
    try {
      next = loadConfigFile(before.file, settings.limits, before.option);
    } catch (err) {
      this.metrics?.reloaded(false);
      this.log.error(
        { config: before.file, error: err instanceof Error ? err.message : String(err) },
        'config reload refused; the previous config keeps running',
      );
      throw err;
    }
    for (const w of next.warnings) this.log.warn({ config: next.file }, w);
    this.current = next;
    const modules: ModuleTable = Object.freeze({ ...BLACKBOX_MODULES, ...next.modules });
    for (const sink of this.o.sinks) sink.setModules(modules);
    this.metrics?.reloaded(true);
    const targets = this.scheduler.apply(next.targets).then(
      (changes) => {
        this.log.info({ config: next.file, modules: Object.keys(next.modules).length, ...changes }, 'config reloaded');
        return changes;
      },
      (err: unknown) => {
        this.log.error({ err, config: next.file }, 'scheduled targets not swapped');
        throw err;
      },
    );
    return { file: next, targets };
  }

  /** reload() for POST /-/reload: resolves once the targets are swapped. */
  async reloadAndWait(): Promise<ConfigReload> {
    const r = this.reload();
    const targets = await r.targets;
    return { file: r.file.file, modules: Object.keys(r.file.modules).length, targets };
  }

  /** Stops the targets (shutdown). */
  close(): Promise<void> {
    return this.scheduler.close();
  }
}
