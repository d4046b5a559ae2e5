// gRPC operability: the health checking protocol and server reflection.
// Reflection is fed buf's descriptor set (real file names and imports) rather
// than proto-loader's, whose made-up file names break reflection clients.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Server } from '@grpc/grpc-js';
import { HealthImplementation, type ServingStatus } from 'grpc-health-check';
import { ReflectionService } from '@grpc/reflection';
import descriptorPb from 'google-protobuf/google/protobuf/descriptor_pb.js';

export const PROBER_SERVICE = 'prober.v1.Prober';

// src/server -> src/generated; dist/server -> src/generated (tsc does not copy it).
const DESCRIPTOR_CANDIDATES = ['../generated/prober.binpb', '../../src/generated/prober.binpb'];

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

export function createReflection(descriptorSetPath: string = findDescriptorSet()): ReflectionService {
  const protos = fileDescriptorProtos(readFileSync(descriptorSetPath));
  if (protos.length === 0) throw new Error(`descriptor set ${descriptorSetPath} holds no files`);
  // The reflection service only reads `fileDescriptorProtos` of each entry.
  const pkg = { [PROBER_SERVICE]: { fileDescriptorProtos: protos } };
  return new ReflectionService(pkg as unknown as ConstructorParameters<typeof ReflectionService>[0], {
    services: [PROBER_SERVICE],
  });
}

export interface OperabilityOptions {
  /** Serve reflection (default true). */
  readonly reflection?: boolean;
  readonly descriptorSetPath?: string;
}

/** Health + reflection for one server. Health starts NOT_SERVING until setServing(). */
export class Operability {
  readonly health = new HealthImplementation({ '': 'NOT_SERVING', [PROBER_SERVICE]: 'NOT_SERVING' });
  private readonly reflection: ReflectionService | undefined;
  private current: ServingStatus = 'NOT_SERVING';

  constructor(options: OperabilityOptions = {}) {
    this.reflection = options.reflection === false ? undefined : createReflection(options.descriptorSetPath);
  }

  addToServer(server: Server): void {
    this.health.addToServer(server);
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
    this.health.setStatus('', status);
    this.health.setStatus(PROBER_SERVICE, status);
  }
}
