// gRPC operability: the health checking protocol and server reflection, and
// setupObservability(), which composes them with metrics and logging for
// startServer.
// Reflection is fed buf's descriptor set (real file names and imports) rather
// than proto-loader's, whose made-up file names break reflection clients.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Server, ServerInterceptor } from '@grpc/grpc-js';
import { HealthImplementation, type ServingStatus } from 'grpc-health-check';
import { ReflectionService } from '@grpc/reflection';
import descriptorPb from 'google-protobuf/google/protobuf/descriptor_pb.js';
import { Registry } from 'prom-client';
import type { ProbeObserver } from './observer.js';
import { createMetrics } from './metrics.js';
import { createServerInterceptor } from './interceptors.js';
import type { ObservabilityInput, ServerSettings } from './config.js';
import { serveMetrics, type RunningMetricsServer } from './http.js';

export const PROBER_SERVICE = 'prober.v1.Prober';
export const HEALTH_SERVICE = 'grpc.health.v1.Health';

// Beside the generated code: src/generated from source, dist/generated once
// built (the build copies it there).
const DESCRIPTOR_CANDIDATES = ['../generated/prober.binpb'];

/** Path of the descriptor set written by scripts/gen.sh, or a clear error. */
export function findDescriptorSet(): string {
  const tried: string[] = [];
  for (const rel of DESCRIPTOR_CANDIDATES) {
    const path = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(path)) return path;
    tried.push(path);
  }
  throw new Error(`descriptor set for reflection not found (run scripts/gen.sh); tried ${tried.join(', ')}`);
}

/** The serialized FileDescriptorProtos of a FileDescriptorSet (`buf build` output). */
export function fileDescriptorProtos(set: Uint8Array): Buffer[] {
  const parsed = descriptorPb.FileDescriptorSet.deserializeBinary(set);
  return parsed.getFileList().map((f) => Buffer.from(f.serializeBinary()));
}

/**
 * Descriptor of grpc/health/v1/health.proto (the file grpc-health-check
 * serves), built here: proto-loader's version has unqualified type names
 * and a misnamed map entry, which reflection clients reject.
 */
export function healthFileDescriptorProto(): Buffer {
  const d = descriptorPb;
  const T = d.FieldDescriptorProto.Type;
  const L = d.FieldDescriptorProto.Label;
  const field = (name: string, type: number, typeName?: string): descriptorPb.FieldDescriptorProto => {
    const f = new d.FieldDescriptorProto().setName(name).setNumber(1).setLabel(L.LABEL_OPTIONAL).setType(type);
    f.setJsonName(name);
    return typeName ? f.setTypeName(typeName) : f;
  };
  const message = (name: string, ...fields: descriptorPb.FieldDescriptorProto[]): descriptorPb.DescriptorProto =>
    new d.DescriptorProto().setName(name).setFieldList(fields);
  const pkg = '.grpc.health.v1';

  const statusEnum = new d.EnumDescriptorProto()
    .setName('ServingStatus')
    .setValueList(
      ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'].map((n, i) =>
        new d.EnumValueDescriptorProto().setName(n).setNumber(i),
      ),
    );
  const response = message(
    'HealthCheckResponse',
    field('status', T.TYPE_ENUM, `${pkg}.HealthCheckResponse.ServingStatus`),
  );
  response.setEnumTypeList([statusEnum]);
  const entry = message(
    'StatusesEntry',
    field('key', T.TYPE_STRING),
    field('value', T.TYPE_MESSAGE, `${pkg}.HealthCheckResponse`).setNumber(2),
  ).setOptions(new d.MessageOptions().setMapEntry(true));
  const listResponse = message(
    'HealthListResponse',
    field('statuses', T.TYPE_MESSAGE, `${pkg}.HealthListResponse.StatusesEntry`).setLabel(L.LABEL_REPEATED),
  ).setNestedTypeList([entry]);
  const method = (
    name: string,
    input: string,
    output: string,
    serverStreaming = false,
  ): descriptorPb.MethodDescriptorProto => {
    const m = new d.MethodDescriptorProto()
      .setName(name)
      .setInputType(`${pkg}.${input}`)
      .setOutputType(`${pkg}.${output}`);
    return serverStreaming ? m.setServerStreaming(true) : m;
  };
  const file = new d.FileDescriptorProto()
    .setName('grpc/health/v1/health.proto')
    .setPackage('grpc.health.v1')
    .setSyntax('proto3')
    .setMessageTypeList([
      message('HealthListRequest'),
      listResponse,
      message('HealthCheckRequest', field('service', T.TYPE_STRING)),
      response,
    ])
    .setServiceList([
      new d.ServiceDescriptorProto()
        .setName('Health')
        .setMethodList([
          method('Check', 'HealthCheckRequest', 'HealthCheckResponse'),
          method('Watch', 'HealthCheckRequest', 'HealthCheckResponse', true),
          method('List', 'HealthListRequest', 'HealthListResponse'),
        ]),
    ]);
  return Buffer.from(file.serializeBinary());
}

export function createReflection(
  descriptorSetPath: string = findDescriptorSet(),
  options: { readonly health?: boolean } = {},
): ReflectionService {
  const protos = fileDescriptorProtos(readFileSync(descriptorSetPath));
  if (protos.length === 0) throw new Error(`descriptor set ${descriptorSetPath} holds no files`);
  // The reflection service only reads `fileDescriptorProtos` of each entry.
  const pkg: Record<string, { fileDescriptorProtos: Buffer[] }> = {
    [PROBER_SERVICE]: { fileDescriptorProtos: protos },
  };
  const services = [PROBER_SERVICE];
  if (options.health) {
    pkg[HEALTH_SERVICE] = { fileDescriptorProtos: [healthFileDescriptorProto()] };
    services.push(HEALTH_SERVICE);
  }
  return new ReflectionService(pkg as unknown as ConstructorParameters<typeof ReflectionService>[0], { services });
}

export interface OperabilityOptions {
  /** Serve grpc.health.v1 (default true). */
  readonly health?: boolean;
  /** Serve reflection (default true). */
  readonly reflection?: boolean;
  readonly descriptorSetPath?: string;
}

/** Health + reflection for one server. Health starts NOT_SERVING until setServing(). */
export class Operability {
  readonly health: HealthImplementation | undefined;
  private readonly reflection: ReflectionService | undefined;
  private current: ServingStatus = 'NOT_SERVING';

  constructor(options: OperabilityOptions = {}) {
    this.health =
      options.health === false
        ? undefined
        : new HealthImplementation({ '': 'NOT_SERVING', [PROBER_SERVICE]: 'NOT_SERVING' });
    this.reflection =
      options.reflection === false
        ? undefined
        : createReflection(options.descriptorSetPath, { health: this.health !== undefined });
  }

  addToServer(server: Server): void {
    this.health?.addToServer(server);
    this.reflection?.addToServer(server);
  }

  get status(): ServingStatus {
    return this.current;
  }

  /** Ready: the server is bound and the service accepts calls. */
  setServing(): void {
    this.set('SERVING');
  }

  /** Draining on shutdown: health watchers see NOT_SERVING before calls stop. */
  setNotServing(): void {
    this.set('NOT_SERVING');
  }

  private set(status: ServingStatus): void {
    this.current = status;
    this.health?.setStatus('', status);
    this.health?.setStatus(PROBER_SERVICE, status);
  }
}

/** The input form of the observability settings (kept under its earlier name). */
export type ObservabilityConfig = ObservabilityInput;

export interface Observability {
  readonly observer: ProbeObserver | undefined;
  readonly interceptors: ServerInterceptor[];
  readonly registry: Registry | undefined;
  readonly operability: Operability | undefined;
  addToServer(server: Server): void;
  /** After bind: start the metrics port, then report SERVING. */
  start(): Promise<RunningMetricsServer | undefined>;
  /** close() began: report NOT_SERVING while calls drain. */
  draining(): void;
  /** After the gRPC server stopped. */
  close(): Promise<void>;
}

/** Health and reflection as resolved; a missing descriptor set is fatal only when reflection is required. */
function createOperability(settings: ServerSettings): Operability | undefined {
  if (!settings.health && settings.reflection === 'off') return undefined;
  const base = {
    health: settings.health,
    ...(settings.descriptorSetPath !== undefined ? { descriptorSetPath: settings.descriptorSetPath } : {}),
  };
  try {
    return new Operability({ ...base, reflection: settings.reflection !== 'off' });
  } catch (err) {
    if (settings.reflection === 'required') throw err;
    settings.logger?.warn({ err }, 'server reflection disabled');
    return new Operability({ ...base, reflection: false });
  }
}

/** Metrics, per-RPC logging, health and reflection for one server, from its resolved settings. */
export function setupObservability(settings: ServerSettings): Observability {
  const { logger, metrics: metricsSettings } = settings;
  const registry = metricsSettings ? (metricsSettings.registry ?? new Registry()) : undefined;
  // One Prometheus can hold several regions: every series carries its region.
  registry?.setDefaultLabels({ region: settings.region });
  const metrics =
    metricsSettings && registry
      ? createMetrics(registry, {
          maxEndpoints: metricsSettings.maxEndpoints,
          seriesTtlMs: metricsSettings.seriesTtlMs,
          ...(metricsSettings.now ? { now: metricsSettings.now } : {}),
          defaultMetrics: metricsSettings.defaultMetrics,
        })
      : undefined;
  const operability = createOperability(settings);
  let draining = false;
  const shuttingDown = (): boolean => draining;
  const interceptors =
    metrics || logger
      ? [
          createServerInterceptor({
            ...(metrics ? { metrics: metrics.grpc } : {}),
            ...(logger ? { logger } : {}),
            shuttingDown,
          }),
        ]
      : [];
  let http: RunningMetricsServer | undefined;

  return {
    observer: metrics,
    interceptors,
    registry,
    operability,
    addToServer(server) {
      operability?.addToServer(server);
    },
    async start() {
      if (metricsSettings?.http && registry) http = await serveMetrics(metricsSettings.http, registry, logger);
      operability?.setServing();
      return http;
    },
    draining() {
      draining = true;
      operability?.setNotServing();
    },
    async close() {
      await http?.close();
    },
  };
}
